//! What the proxy makes of a sign-up: submitting it, following the onboarding until it
//! settles (server-sent events, else polling), "Try again", the PIN, and finding it again
//! after a reload.

use leptos::prelude::*;
use wire::{ClientToken, CreateOnboarding, Onboarding, OnboardingState, Pin};

use super::{Flow, Problem, Request, Screen};
use crate::api::ApiFailure;
use crate::browser::dom::{self, session};
use crate::browser::stream::EventStream;
use crate::protocol::widget_event::WidgetEvent;
use crate::screen::{ErrorEvent, PinTry};

/// How often progress is polled when server-sent events are unavailable.
const POLL_MS: u32 = 2_000;
/// How often a connected onboarding is asked whether its first message arrived (its event
/// stream ends at `connected`), and for how long at most.
const FIRST_MESSAGE_POLL_MS: u32 = 3_000;
const FIRST_MESSAGE_FOR_MS: u32 = 30 * 60 * 1_000;
/// Where a reload finds the onboarding in progress (one per proxy and customer).
const STORAGE_PREFIX: &str = "wa-signup:onboarding";
/// Where a reload finds that onboarding's client token (the standalone page only).
const TOKEN_PREFIX: &str = "wa-signup-token:onboarding";

impl Flow {
    pub(super) fn submit(self, request: CreateOnboarding) {
        self.set(Screen::Submitting);
        leptos::task::spawn_local(async move {
            match self.proxy().create_onboarding(&request).await {
                Ok(created) => {
                    self.token.set_value(Some(created.client_token));
                    self.show(created.onboarding);
                }
                Err(failure) => self.fail_request(failure, Request::Create(request)),
            }
        });
    }

    /// Shows an onboarding and follows it until it settles.
    pub(super) fn show(self, onboarding: Onboarding) {
        let changed = self
            .screen
            .with_untracked(|s| s.onboarding() != Some(&onboarding));
        if changed {
            self.present(onboarding, Screen::of);
        }
    }

    /// Shows `onboarding` as `screen` decides (always: the proxy's answer to a PIN may be
    /// the very onboarding on screen, now with the PIN refused) and follows it until it
    /// settles.
    fn present(self, onboarding: Onboarding, screen: fn(Onboarding) -> Screen) {
        let settled = onboarding.state.is_final();
        let onboarding_syncing = onboarding.is_syncing();
        let (id_key, token_key) = (
            self.storage_key(STORAGE_PREFIX),
            self.storage_key(TOKEN_PREFIX),
        );
        if settled || !self.resumable() {
            session::remove(&id_key);
            session::remove(&token_key);
        } else if let Some(token) = self.client_token() {
            session::set(&id_key, &onboarding.id);
            session::set(&token_key, token.as_str());
        }
        self.emit(WidgetEvent::Onboarding, &onboarding);
        let id = onboarding.id.clone();
        match onboarding.state {
            OnboardingState::Connected => {
                // Once per onboarding on this page: a syncing number's later changes are
                // `wa-signup:onboarding` only, and one follower of the first message.
                let followed = self
                    .screen
                    .with_untracked(|s| matches!(s, Screen::Connected(o) if o.id == id));
                let waiting = onboarding.inbound_verified_at.is_none() && !followed;
                if !followed {
                    self.emit(WidgetEvent::Connected, &onboarding);
                }
                self.set(screen(onboarding));
                if waiting {
                    leptos::task::spawn_local(self.await_first_message(id.clone()));
                }
            }
            OnboardingState::Failed => self.fail(Problem::Onboarding(onboarding)),
            _ => self.set(screen(onboarding)),
        }
        // A connected coexistence number's sync is followed until it ends (its progress is
        // on screen).
        if settled && !onboarding_syncing {
            self.stream.set_value(None);
        } else if self.stream.with_value(Option::is_none) {
            self.follow(id);
        }
    }

    /// Server-sent events, falling back to polling when the stream fails.
    fn follow(self, id: String) {
        let Some(token) = self.client_token() else {
            return;
        };
        let url = self.proxy().events_url(&id);
        let fallback = {
            let id = id.clone();
            move || {
                self.stream.set_value(None);
                leptos::task::spawn_local(self.poll(id));
            }
        };
        let stream =
            EventStream::open::<Onboarding>(&url, token.as_str(), move |o| self.show(o), fallback);
        if stream.is_none() {
            leptos::task::spawn_local(self.poll(id));
        }
        self.stream.set_value(stream);
    }

    async fn poll(self, id: String) {
        loop {
            dom::sleep(POLL_MS).await;
            // Stop once the widget is gone or the onboarding settled (and synced).
            match self.screen.try_get_untracked() {
                Some(Screen::Progress(_)) => {}
                Some(Screen::Connected(o)) if o.is_syncing() => {}
                _ => return,
            }
            let Some(token) = self.client_token() else {
                return;
            };
            if let Ok(onboarding) = self.proxy().onboarding(&id, &token).await {
                self.show(onboarding);
            }
        }
    }

    /// After `connected`: asks for the onboarding until its number's first inbound message
    /// arrived (`inbound_verified_at`), which the finished page then says, for at most
    /// [`FIRST_MESSAGE_FOR_MS`]. Stops once the widget is gone or shows something else, or
    /// the proxy no longer answers for the onboarding (its session ended).
    async fn await_first_message(self, id: String) {
        for _ in 0..FIRST_MESSAGE_FOR_MS / FIRST_MESSAGE_POLL_MS {
            dom::sleep(FIRST_MESSAGE_POLL_MS).await;
            let Some(Screen::Connected(shown)) = self.screen.try_get_untracked() else {
                return;
            };
            if shown.id != id || shown.inbound_verified_at.is_some() {
                return;
            }
            let Some(token) = self.client_token() else {
                return;
            };
            match self.proxy().onboarding(&id, &token).await {
                Ok(o) if o.inbound_verified_at.is_some() => {
                    // Still the finished page: `wa-signup:connected` was said once already.
                    if o.state == OnboardingState::Connected {
                        self.emit(WidgetEvent::Onboarding, &o);
                        self.set(Screen::Connected(o));
                    }
                    return;
                }
                Err(ApiFailure::Refused {
                    status: 401 | 404, ..
                }) => return,
                _ => {}
            }
        }
    }

    /// Finds the onboarding a reload interrupted; true when one is shown.
    pub(super) async fn resume(self) -> bool {
        let (id_key, token_key) = (
            self.storage_key(STORAGE_PREFIX),
            self.storage_key(TOKEN_PREFIX),
        );
        let stored = session::get(&id_key)
            .zip(session::get(&token_key).and_then(|t| ClientToken::parse(t).ok()));
        let Some((id, token)) = stored.filter(|_| self.resumable()) else {
            return false;
        };
        match self.proxy().onboarding(&id, &token).await {
            Ok(onboarding) => {
                self.token.set_value(Some(token));
                self.show(onboarding);
                true
            }
            Err(_) => {
                // Settled elsewhere, or the session ended: nothing to find again.
                session::remove(&id_key);
                session::remove(&token_key);
                false
            }
        }
    }

    pub(super) fn retry_onboarding(self, onboarding: Onboarding) {
        self.set(Screen::Submitting);
        leptos::task::spawn_local(async move {
            let Some(token) = self.client_token() else {
                return self.fail_request(ApiFailure::Unreachable, Request::Retry(onboarding));
            };
            match self.proxy().retry(&onboarding.id, &token).await {
                Ok(answer) => self.show(answer),
                Err(failure) => self.fail_request(failure, Request::Retry(onboarding)),
            }
        });
    }

    /// The PIN form's submit with what the customer typed, parsed once
    /// ([`crate::screen::parse_pin`]); `None`: it was not six digits, and nothing is sent.
    /// The PIN goes only into the request's body: never into a log, the address,
    /// `sessionStorage` or an event's detail.
    pub fn submit_pin(self, pin: Option<Pin>) {
        let Some(Screen::PinRequired(onboarding, tried)) = self.screen.try_get_untracked() else {
            return;
        };
        if tried == PinTry::Sending {
            return;
        }
        let Some(pin) = pin else {
            self.set(Screen::PinRequired(onboarding, PinTry::Invalid));
            return;
        };
        self.set(Screen::PinRequired(onboarding.clone(), PinTry::Sending));
        leptos::task::spawn_local(async move {
            let sent = match self.client_token() {
                Some(token) => self.proxy().send_pin(&onboarding.id, &token, pin).await,
                None => Err(ApiFailure::Unreachable),
            };
            match sent {
                Ok(answer) => self.present(answer, Screen::after_pin),
                Err(failure) => {
                    let error = match failure {
                        ApiFailure::Refused { error, .. } => Some(error),
                        ApiFailure::Unreachable | ApiFailure::Malformed(_) => None,
                    };
                    // The proxy's code and sentence only: neither holds the digits.
                    let event = match &error {
                        Some(e) => ErrorEvent {
                            code: e.code.as_str().to_owned(),
                            message: e.message.clone(),
                        },
                        None => ErrorEvent {
                            code: "proxy_unreachable".into(),
                            message: String::new(),
                        },
                    };
                    self.emit(WidgetEvent::Error, &event);
                    self.set(Screen::pin_refused(onboarding, error));
                }
            }
        });
    }

    fn storage_key(self, prefix: &str) -> String {
        self.options.with_value(|o| {
            let customer = o.customer_ref.as_ref().map_or("", |c| c.as_str());
            format!("{prefix}:{}:{customer}", o.proxy_url)
        })
    }

    /// Whether a reload may find the onboarding: only on the proxy's own page (its own
    /// origin), where no other site's script reads `sessionStorage`; a widget embedded on a
    /// partner's page keeps the client token in memory only.
    fn resumable(self) -> bool {
        self.options.with_value(|o| o.proxy_url.is_empty())
    }
}
