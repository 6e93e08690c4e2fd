//! What the customer sees, and every decision about it, in one place: the screens, why a flow
//! stopped short, what "Try again" does, whether a launch may start, which onboarding a
//! screen shows and what the `wa-signup:error` event says.
//!
//! Pure Rust with native tests. The flow (`crate::flow`) acts on these decisions and the
//! components (`crate::components`) draw them; neither decides on its own, so a button the
//! view shows always has an action the flow carries out.

use serde::Serialize;
use wire::{ApiError, CreateOnboarding, Mode, Onboarding, OnboardingState};

use crate::protocol::{CancelStep, ReportedError};

/// A request to the proxy that did not get its answer, kept so "Try again" sends it again.
// One at a time per widget, inside the screen: boxing would only add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `GET /api/config` at start.
    Config,
    /// `POST /api/onboardings` with a finished popup's ids: never lost, resent as they were.
    Create(CreateOnboarding),
    /// `POST /api/onboardings/{id}/retry` of this onboarding, which stays on screen.
    Retry(Onboarding),
}

/// Why the flow stopped short, worth a sentence and a next step.
// One value per widget, held in a signal: boxing the onboarding would save nothing that matters.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The customer reported an error in Meta's popup.
    Reported(ReportedError),
    /// Login was not authorized.
    NotAuthorized,
    /// A finish without a usable WABA id.
    InvalidFinish,
    /// Login ended but Meta sent no finish.
    TimedOut,
    /// `FB.login` could not be called.
    PopupFailed,
    /// The proxy could not be reached while sending this request.
    ProxyUnreachable(Request),
    /// The proxy refused this request.
    Refused {
        /// The error body's fields.
        error: ApiError,
        /// What was refused (sent again by "Try again" when the error is retryable).
        request: Request,
    },
    /// The onboarding failed at a step (see its `error`).
    Onboarding(Onboarding),
}

/// Everything the customer can see; [`Screen::data_state`] is the status region's
/// `data-state`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Fetching the configuration and loading the SDK.
    LoadingSdk,
    /// The SDK did not load.
    SdkBlocked,
    /// Ready to launch.
    Ready,
    /// Meta's popup is open.
    InPopup(Mode),
    /// Posting the ids (or a retry) to the proxy.
    Submitting,
    /// The proxy is working on it.
    Progress(Onboarding),
    /// Done.
    Connected(Onboarding),
    /// The customer left the popup.
    Cancelled(Option<CancelStep>),
    /// A person must act (payment method, a missing or blocked number...).
    ActionRequired(Onboarding),
    /// Something failed.
    Failed(Problem),
}

/// What "Try again" does on a screen.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Load the Facebook SDK again.
    ReloadSdk,
    /// Send this request to the proxy again.
    Send(Request),
}

/// The detail of a `wa-signup:error` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorEvent {
    /// A stable snake_case code: the proxy's, Meta's reported one, or the widget's own.
    pub code: String,
    /// A sentence, when one came with the error.
    pub message: String,
}

impl Screen {
    /// The `data-state` value partners' tests read.
    pub fn data_state(&self) -> &'static str {
        match self {
            Screen::LoadingSdk => "loading-sdk",
            Screen::SdkBlocked => "sdk-blocked",
            Screen::Ready => "ready",
            Screen::InPopup(_) => "in-popup",
            Screen::Submitting => "submitting",
            Screen::Progress(_) => "pending",
            Screen::Connected(_) => "connected",
            Screen::Cancelled(_) => "cancelled",
            Screen::ActionRequired(_) => "action-required",
            Screen::Failed(_) => "failed",
        }
    }

    /// The screen an onboarding from the proxy calls for.
    pub fn of(onboarding: Onboarding) -> Screen {
        match onboarding.state {
            OnboardingState::Connected => Screen::Connected(onboarding),
            OnboardingState::ActionRequired => Screen::ActionRequired(onboarding),
            OnboardingState::Failed => Screen::Failed(Problem::Onboarding(onboarding)),
            _ => Screen::Progress(onboarding),
        }
    }

    /// What "Try again" does here; `None`: the screen offers no such button.
    pub fn action(&self) -> Option<Action> {
        match self {
            Screen::SdkBlocked => Some(Action::ReloadSdk),
            Screen::Failed(Problem::ProxyUnreachable(request)) => {
                Some(Action::Send(request.clone()))
            }
            Screen::Failed(Problem::Refused { error, request }) if error.retryable => {
                Some(Action::Send(request.clone()))
            }
            // After YCloud support attached the payment method, a retry carries on.
            Screen::Failed(Problem::Onboarding(o)) | Screen::ActionRequired(o) if retryable(o) => {
                Some(Action::Send(Request::Retry(o.clone())))
            }
            _ => None,
        }
    }

    /// Whether a launch button may start a new popup now: never while something is under
    /// way, nor while "Try again" would finish what was started.
    pub fn can_launch(&self) -> bool {
        match self {
            Screen::Ready | Screen::Cancelled(_) => true,
            Screen::Failed(Problem::ProxyUnreachable(_)) => false,
            Screen::Failed(_) | Screen::ActionRequired(_) => self.action().is_none(),
            _ => false,
        }
    }

    /// The onboarding this screen is about, for the progress list and its ids.
    pub fn onboarding(&self) -> Option<&Onboarding> {
        match self {
            Screen::Progress(o) | Screen::Connected(o) | Screen::ActionRequired(o) => Some(o),
            Screen::Failed(Problem::Onboarding(o))
            | Screen::Failed(Problem::ProxyUnreachable(Request::Retry(o)))
            | Screen::Failed(Problem::Refused {
                request: Request::Retry(o),
                ..
            }) => Some(o),
            _ => None,
        }
    }
}

fn retryable(o: &Onboarding) -> bool {
    o.error.as_ref().is_some_and(|e| e.retryable)
}

impl Problem {
    /// The detail of the `wa-signup:error` event announcing this problem.
    pub fn error_event(&self) -> ErrorEvent {
        let own = |code: &str| ErrorEvent {
            code: code.to_owned(),
            message: String::new(),
        };
        match self {
            Problem::Reported(e) => ErrorEvent {
                code: e.code.clone().unwrap_or_else(|| "reported".into()),
                message: e.message.clone().unwrap_or_default(),
            },
            Problem::NotAuthorized => own("not_authorized"),
            Problem::InvalidFinish => own("invalid_finish"),
            Problem::TimedOut => own("timed_out"),
            Problem::PopupFailed => own("popup_failed"),
            Problem::ProxyUnreachable(_) => own("proxy_unreachable"),
            Problem::Refused { error, .. } => ErrorEvent {
                code: error.code.as_str().to_owned(),
                message: error.message.clone(),
            },
            Problem::Onboarding(o) => match &o.error {
                Some(e) => ErrorEvent {
                    code: e.code.as_str().to_owned(),
                    message: e.message.clone(),
                },
                None => own("failed"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::{ErrorCode, OnboardingError, WabaId};

    fn onboarding(state: OnboardingState, error: Option<(ErrorCode, bool)>) -> Onboarding {
        Onboarding {
            id: "b7a1".into(),
            mode: Mode::Standard,
            waba_id: WabaId::parse("104996122399160").unwrap(),
            phone_number_id: None,
            business_id: None,
            customer_ref: None,
            state,
            steps: Vec::new(),
            waba: None,
            phone_number: None,
            error: error.map(|(code, retryable)| OnboardingError {
                code,
                message: "m".into(),
                retryable,
                upstream_request_id: None,
                retry_after: None,
            }),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn refusal(code: ErrorCode, retryable: bool) -> ApiError {
        ApiError {
            code,
            message: "m".into(),
            retryable,
            retry_after: None,
        }
    }

    fn ids() -> CreateOnboarding {
        CreateOnboarding {
            mode: Mode::Standard,
            waba_id: WabaId::parse("104996122399160").unwrap(),
            phone_number_id: None,
            business_id: None,
            code: None,
            event: None,
            customer_ref: None,
            session: None,
        }
    }

    #[test]
    fn a_retryable_refusal_of_the_ids_resends_them() {
        // 502 verification_unavailable on create: the button resends the very same ids.
        let screen = Screen::Failed(Problem::Refused {
            error: refusal(ErrorCode::VerificationUnavailable, true),
            request: Request::Create(ids()),
        });
        assert_eq!(screen.action(), Some(Action::Send(Request::Create(ids()))));
        assert!(!screen.can_launch(), "retry first: the ids are not lost");
        assert_eq!(screen.onboarding(), None);
    }

    #[test]
    fn a_refused_retry_keeps_the_onboarding_on_screen_and_retries_it_again() {
        // 429 register_limit answering a retry: the progress list stays, the button retries.
        let failed = onboarding(
            OnboardingState::Failed,
            Some((ErrorCode::UpstreamUnavailable, true)),
        );
        let screen = Screen::Failed(Problem::Refused {
            error: refusal(ErrorCode::RegisterLimit, true),
            request: Request::Retry(failed.clone()),
        });
        assert_eq!(
            screen.action(),
            Some(Action::Send(Request::Retry(failed.clone())))
        );
        assert_eq!(screen.onboarding(), Some(&failed));
        assert!(!screen.can_launch());
    }

    #[test]
    fn a_final_refusal_offers_no_button_and_allows_starting_over() {
        for request in [Request::Create(ids()), Request::Config] {
            let screen = Screen::Failed(Problem::Refused {
                error: refusal(ErrorCode::CodeInvalid, false),
                request,
            });
            assert_eq!(screen.action(), None);
            assert!(screen.can_launch());
        }
    }

    #[test]
    fn an_unreachable_proxy_is_tried_again_with_what_was_being_sent() {
        for request in [
            Request::Config,
            Request::Create(ids()),
            Request::Retry(onboarding(OnboardingState::Failed, None)),
        ] {
            let screen = Screen::Failed(Problem::ProxyUnreachable(request.clone()));
            assert_eq!(screen.action(), Some(Action::Send(request)));
            assert!(!screen.can_launch());
        }
    }

    #[test]
    fn onboardings_retry_only_when_their_error_says_so() {
        let payment = onboarding(
            OnboardingState::ActionRequired,
            Some((ErrorCode::PaymentMethodMissing, true)),
        );
        let screen = Screen::of(payment.clone());
        assert_eq!(screen.data_state(), "action-required");
        assert_eq!(screen.action(), Some(Action::Send(Request::Retry(payment))));
        assert!(!screen.can_launch());

        let no_number = onboarding(
            OnboardingState::ActionRequired,
            Some((ErrorCode::PhoneNumberMissing, false)),
        );
        let screen = Screen::of(no_number);
        assert_eq!(screen.action(), None);
        assert!(screen.can_launch(), "start over where retrying cannot help");

        let failed = onboarding(
            OnboardingState::Failed,
            Some((ErrorCode::UpstreamUnavailable, true)),
        );
        let screen = Screen::of(failed.clone());
        assert_eq!(screen.data_state(), "failed");
        assert_eq!(screen.onboarding(), Some(&failed));
        assert!(screen.action().is_some());
    }

    #[test]
    fn screens_under_way_neither_launch_nor_retry() {
        for screen in [
            Screen::LoadingSdk,
            Screen::InPopup(Mode::Standard),
            Screen::Submitting,
            Screen::Progress(onboarding(OnboardingState::Pending, None)),
            Screen::Connected(onboarding(OnboardingState::Connected, None)),
        ] {
            assert_eq!(screen.action(), None, "{screen:?}");
            assert!(!screen.can_launch(), "{screen:?}");
        }
        assert_eq!(Screen::SdkBlocked.action(), Some(Action::ReloadSdk));
        assert!(Screen::Ready.can_launch());
        assert!(Screen::Cancelled(None).can_launch());
        assert!(Screen::Failed(Problem::TimedOut).can_launch());
        assert_eq!(Screen::Failed(Problem::TimedOut).action(), None);
    }

    #[test]
    fn error_events_carry_the_proxy_s_code_or_the_widget_s_own() {
        let refused = Problem::Refused {
            error: refusal(ErrorCode::WabaNotOwned, false),
            request: Request::Create(ids()),
        };
        assert_eq!(refused.error_event().code, "waba_not_owned");
        assert!(
            matches!(&refused, Problem::Refused { error, .. } if error.code == ErrorCode::WabaNotOwned)
        );
        assert_eq!(
            Problem::ProxyUnreachable(Request::Config)
                .error_event()
                .code,
            "proxy_unreachable"
        );
        let reported = Problem::Reported(ReportedError {
            code: Some("524126".into()),
            message: Some("x".into()),
            ..ReportedError::default()
        });
        assert_eq!(
            reported.error_event(),
            ErrorEvent {
                code: "524126".into(),
                message: "x".into()
            }
        );
    }
}
