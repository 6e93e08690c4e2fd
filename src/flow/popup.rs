//! One launch through Meta's popup: `FB.login`, the correlator fed with its answer and
//! Meta's messages, and what each outcome leads to.

use std::time::Duration;

use leptos::prelude::*;
use wire::{
    ErrorMessage, FlowErrorCode, FlowStep, MetaSessionId, Mode, ReportSignupEvent, SignupEventKind,
};

use super::{Flow, Problem, Screen};
use crate::browser::dom::{self, Timeout};
use crate::browser::sdk::{self, PopupWindow};
use crate::embed::GivenSession;
use crate::protocol::redirect::BLOCKED_WITHIN_MS;
use crate::protocol::widget_event::{CancelDetail, WidgetEvent};
use crate::protocol::{
    popup_blocked, CancelStep, Correlator, Failure, LaunchOptions, LoginResult, OriginPolicy,
    Outcome, ReportedError, SessionInfo, Timeouts,
};
use crate::screen::{Blocked, ErrorEvent};

/// What the correlator is fed.
enum Input {
    Login(LoginResult),
    SessionInfo(SessionInfo),
    /// Its deadline passed.
    Tick,
}

/// The popup open now, and the correlator pairing its two answers.
pub(super) struct Active {
    mode: Mode,
    correlator: Correlator,
}

impl Flow {
    /// Opens Meta's popup. Call straight from the click handler: `FB.login` must run before
    /// any `await`, or the browser blocks the popup.
    pub fn launch(self, mode: Mode) {
        if !self.screen.get_untracked().can_launch() {
            return;
        }
        let Some(config) = self.config.get_untracked() else {
            return;
        };
        let Ok(options) = LaunchOptions::new(
            mode,
            config.es_version,
            &config.config_id,
            &config.solution_id,
        ) else {
            self.set(Screen::Failed(Problem::PopupFailed));
            return;
        };
        // The partner's pre-filled data, and the WABA of an onboarding whose access is
        // renewed, travel with the session the page was opened with.
        let (prefill, reauthorize) = self.session.with_untracked(|s| {
            s.as_ref()
                .map_or((None, None), |s| (s.prefill.clone(), s.reauthorize.clone()))
        });
        let options = options
            .with_prefill(prefill.as_ref())
            .with_reauthorize(reauthorize.as_ref());
        self.active.set_value(Some(Active {
            mode,
            correlator: Correlator::new(Timeouts::default()),
        }));
        self.set(Screen::InPopup(mode));
        let redirect = config.redirect_flow;
        let launch = signup_report(mode, SignupEventKind::Launch, None, None);
        if redirect {
            // Only a popup that opened counts as a launch: wait until FB.login could have
            // said it was blocked. (A timer, no request: nothing here delays the popup.)
            let held = Timeout::new(BLOCKED_WITHIN_MS as u32, move || self.release_launch());
            self.held_launch.set_value(Some((launch.clone(), held)));
        }
        let launched_at = dom::now_ms();
        let called = sdk::login(&options, move |response| {
            let elapsed = dom::now_ms().saturating_sub(launched_at);
            let blocked = match response.window {
                PopupWindow::Refused => true,
                // A window opened: a popup closed at once is a cancel, not a blocked popup.
                PopupWindow::Opened => false,
                // The SDK opened no window while FB.login ran (it may still), so only the
                // timing tells: an empty answer at once, and not a word from a popup before
                // it (a popup that posted a cancel or an error was open, however fast it
                // was closed).
                PopupWindow::Unseen => {
                    let silent = self
                        .active
                        .with_value(|a| a.as_ref().is_some_and(|a| a.correlator.heard_nothing()));
                    silent && popup_blocked(&response.status, response.code.is_some(), elapsed)
                }
            };
            if redirect && blocked {
                // Already shown when FB.login returned without a window.
                if matches!(self.screen.get_untracked(), Screen::InPopup(_)) {
                    self.show_popup_blocked(mode);
                }
                return;
            }
            // The popup opened: its launch is counted before whatever it ended in.
            self.release_launch();
            let result = LoginResult::from_parts(Some(&response.status), response.code.as_deref());
            self.step(Input::Login(result));
        });
        match called {
            Err(_) => {
                self.held_launch.set_value(None);
                self.active.set_value(None);
                self.set(match redirect {
                    true => Screen::PopupBlocked(Blocked::Popup(mode)),
                    false => Screen::Failed(Problem::PopupFailed),
                });
            }
            // No window: blocked, whether or not (and whenever) the SDK answers.
            Ok(PopupWindow::Refused) if redirect => {
                if matches!(self.screen.get_untracked(), Screen::InPopup(_)) {
                    self.show_popup_blocked(mode);
                }
            }
            // The popup is open: its launch counts now.
            Ok(PopupWindow::Opened) if redirect => self.release_launch(),
            // After FB.login: the report must not delay the popup.
            Ok(_) if !redirect => self.report(launch),
            Ok(_) => {}
        }
    }

    /// The browser showed no popup: nothing was launched, and the full-page sign-in is
    /// offered.
    fn show_popup_blocked(self, mode: Mode) {
        self.held_launch.set_value(None);
        self.active.set_value(None);
        self.timer.set_value(None);
        self.set(Screen::PopupBlocked(Blocked::Popup(mode)));
    }

    /// Sends the held `LAUNCH` report, if one is still held.
    fn release_launch(self) {
        if let Some(Some((report, _timer))) = self.held_launch.try_update_value(Option::take) {
            self.report(report);
        }
    }

    /// Tells the proxy of a popup outcome that creates no onboarding (and of launches), for
    /// the partner's funnel; in the background, its answer unread.
    fn report(self, mut report: ReportSignupEvent) {
        report.session = self
            .options
            .with_value(|o| o.session.as_ref().and_then(GivenSession::token).cloned());
        let proxy = self.proxy();
        leptos::task::spawn_local(async move { proxy.report_signup_event(&report).await });
    }

    pub(super) fn on_session_info(self, info: SessionInfo) {
        // A popup that posts a message was open: its launch counts, before its outcome.
        self.release_launch();
        self.step(Input::SessionInfo(info));
    }

    /// Feeds the correlator, re-arms its one timer, and acts on an outcome.
    fn step(self, input: Input) {
        let now = Duration::from_millis(dom::now_ms());
        let Some(Some((mode, outcome, deadline))) = self.active.try_update_value(|active| {
            active.as_mut().map(|a| {
                let c = &mut a.correlator;
                let outcome = match input {
                    Input::Login(result) => c.on_login(result, now),
                    Input::SessionInfo(info) => c.on_session_info(info, now),
                    Input::Tick => c.poll(now),
                };
                (a.mode, outcome, a.correlator.deadline())
            })
        }) else {
            return; // no popup open: a stray message
        };
        self.timer.set_value(deadline.map(|at| {
            let wait = at.saturating_sub(now).as_millis().min(u32::MAX as u128) as u32;
            Timeout::new(wait, move || self.step(Input::Tick))
        }));
        if let Some(outcome) = outcome {
            self.active.set_value(None);
            self.timer.set_value(None);
            self.finish_popup(mode, outcome);
        }
    }

    fn finish_popup(self, mode: Mode, outcome: Outcome) {
        match outcome {
            Outcome::Ready { finish, code } => {
                self.emit(WidgetEvent::Finish, &finish);
                let (customer_ref, session) = self.options.with_value(|o| {
                    let session = o.session.as_ref().and_then(GivenSession::token).cloned();
                    (o.customer_ref.clone(), session)
                });
                self.submit(finish.onboarding_request(mode, code, customer_ref, session));
            }
            Outcome::Cancelled { step } => {
                self.emit(
                    WidgetEvent::Cancel,
                    &CancelDetail {
                        current_step: step.as_ref().map(CancelStep::as_str),
                    },
                );
                self.report(signup_report(
                    mode,
                    SignupEventKind::Cancel,
                    step.as_ref(),
                    None,
                ));
                self.set(Screen::Cancelled(step));
            }
            Outcome::Failed { reason } => {
                let problem = match reason {
                    Failure::Reported(e) => {
                        self.report(signup_report(mode, SignupEventKind::Error, None, Some(&e)));
                        Problem::Reported(e)
                    }
                    Failure::NotAuthorized => Problem::NotAuthorized,
                    Failure::InvalidFinish(_) => Problem::InvalidFinish,
                };
                self.fail(problem);
            }
            Outcome::TimedOut => self.time_out(),
        }
    }

    /// The login brought a code but no finish message came: say what was waited for, and
    /// from where, so a page whose origin is not trusted is found at once.
    fn time_out(self) {
        let trusted = match self.config.get_untracked() {
            Some(config) => self.origin_policy(&config).describe(),
            None => OriginPolicy::facebook_only().describe(),
        };
        let wait = Timeouts::default().finish_after_code.as_secs();
        let message = format!(
            "FB.login returned a code, but no WA_EMBEDDED_SIGNUP FINISH message came within \
             {wait} s; messages are accepted from {trusted} only (is this page's domain in the \
             Facebook app's allowed domains?)"
        );
        dom::console_warn(&format!("wa-signup: {message}"));
        self.emit(
            WidgetEvent::Error,
            &ErrorEvent {
                code: Problem::TimedOut.error_event().code,
                message,
            },
        );
        self.set(Screen::failed(Problem::TimedOut));
    }
}

/// The report of a popup outcome: what Meta sent, each value kept only when it has the
/// shape the proxy accepts (a malformed one is left out, not the whole report).
fn signup_report(
    mode: Mode,
    event: SignupEventKind,
    step: Option<&CancelStep>,
    error: Option<&ReportedError>,
) -> ReportSignupEvent {
    let message = error.and_then(|e| e.message.as_deref()).map(|m| {
        m.chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .take(wire::MAX_ERROR_MESSAGE_CHARS)
            .collect::<String>()
    });
    ReportSignupEvent {
        session: None,
        mode,
        event,
        current_step: step.and_then(|s| FlowStep::parse(s.as_str()).ok()),
        error_code: error
            .and_then(|e| e.code.as_deref())
            .and_then(|c| FlowErrorCode::parse(c.trim()).ok()),
        error_message: message.and_then(|m| ErrorMessage::parse(m).ok()),
        meta_session_id: error
            .and_then(|e| e.session_id.as_deref())
            .and_then(|s| MetaSessionId::parse(s).ok()),
    }
}
