//! The full-page sign-in: leaving for Meta's dialog with the popup's launch, and picking up
//! the onboarding it created once the customer is back.

use leptos::prelude::*;
use wire::{Mode, StartRedirect};

use super::{Flow, Problem, Request, Screen};
use crate::browser::{dom, json};
use crate::embed::GivenSession;
use crate::protocol::LaunchOptions;

impl Flow {
    /// "Continue in this window": asks the proxy for a `state`, then leaves for Meta's
    /// full-page dialog with the same launch as the popup's (`locale`: the page's language,
    /// for the proxy's pages on the way back).
    pub fn continue_redirect(self, mode: Mode, locale: wire::Locale) {
        let session = self
            .options
            .with_value(|o| o.session.as_ref().and_then(GivenSession::token).cloned());
        self.redirect(StartRedirect {
            mode,
            session,
            locale: Some(locale),
        });
    }

    pub(super) fn redirect(self, start: StartRedirect) {
        let Some(config) = self.config.get_untracked() else {
            return;
        };
        let Ok(options) = LaunchOptions::new(
            start.mode,
            config.es_version,
            &config.config_id,
            &config.solution_id,
        ) else {
            self.set(Screen::Failed(Problem::PopupFailed));
            return;
        };
        // Meta's dialog gets the very extras the popup would, pre-filled data included.
        let (prefill, reauthorize) = self.session.with_untracked(|s| {
            s.as_ref()
                .map_or((None, None), |s| (s.prefill.clone(), s.reauthorize.clone()))
        });
        let options = options
            .with_prefill(prefill.as_ref())
            .with_reauthorize(reauthorize.as_ref());
        self.set(Screen::Redirecting);
        leptos::task::spawn_local(async move {
            let started = match self.proxy().start_redirect(&start).await {
                Ok(started) => started,
                Err(failure) => return self.fail_request(failure, Request::Redirect(start)),
            };
            let mut query =
                options.dialog_query(&config.app_id, &started.redirect_uri, &started.state);
            let extras = json::to_text(options.extras()).unwrap_or_default();
            query.push(("extras", extras));
            let dialog = match started.dialog_url.starts_with('/') {
                // The sandbox's stand-in, relative to the proxy.
                true => self.proxy().url(&started.dialog_url),
                false => started.dialog_url,
            };
            if !dom::leave_for(&dialog, &query) {
                self.set(Screen::Failed(Problem::PopupFailed));
            }
        });
    }

    /// Shows the onboarding a full-page sign-in created, by the handle it came back with.
    pub(super) async fn pick_up(self, handle: String) {
        self.set(Screen::Submitting);
        match self.proxy().redirect_result(handle).await {
            Ok(created) => {
                // As after a popup's submit: the token of the onboarding's other routes.
                self.token.set_value(Some(created.client_token));
                self.show(created.onboarding);
            }
            Err(failure) => self.fail_request(failure, Request::Config),
        }
    }
}
