//! What the customer sees, and every decision about it, in one place: the screens, why a flow
//! stopped short, what "Try again" does, whether a launch may start, which launch buttons a
//! session allows, who can resolve a stopped onboarding, which onboarding a screen shows and
//! what the `wa-signup:error` event says, and where the customer's two-step verification PIN
//! stands.
//!
//! Pure Rust with native tests. The flow (`crate::flow`) acts on these decisions and the
//! components (`crate::components`) draw them; neither decides on its own, so a button the
//! view shows always has an action the flow carries out.

use serde::Serialize;
use wire::{
    ApiError, CreateOnboarding, ErrorCode, IdError, Mode, Onboarding, OnboardingError,
    OnboardingState, Pin, SessionToken,
};

use crate::embed::{GivenSession, Modes};
use crate::protocol::{CancelStep, ReportedError};

/// A request to the proxy that did not get its answer, kept so "Try again" sends it again.
// One at a time per widget, inside the screen: boxing would only add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// The start: `GET /api/config`, then `POST /api/session` when the page has a session.
    Config,
    /// `POST /api/onboardings` with a finished popup's ids: never lost, resent as they were.
    Create(CreateOnboarding),
    /// `POST /api/onboardings/{id}/retry` of this onboarding, which stays on screen.
    Retry(Onboarding),
    /// `POST /api/oauth/start`, to leave for the full-page sign-in.
    Redirect(wire::StartRedirect),
}

/// Why Meta's popup cannot be used here, so the full-page sign-in is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// The browser did not open the popup of a launch in this mode.
    Popup(Mode),
    /// An app's built-in browser (Facebook, Instagram, LinkedIn, WeChat, Line): the popup
    /// would not work, so the full-page sign-in comes first.
    InAppBrowser,
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
    /// The number already has a two-step verification PIN (`pin_required`): the customer
    /// types it into the PIN form.
    PinRequired(Onboarding, PinTry),
    /// The provider took the number off the WhatsApp Business Platform (`deregistered`).
    Deregistered(Onboarding),
    /// Something failed.
    Failed(Problem),
    /// The page has no session that may start an onboarding: no launch button at all.
    SessionInvalid(SessionRefusal),
    /// Meta's popup cannot work here: "Continue in this window" is offered.
    PopupBlocked(Blocked),
    /// Leaving for the full-page sign-in.
    Redirecting,
}

/// Why a page cannot start an onboarding with the session it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRefusal {
    /// The proxy requires a session and the page was given none.
    Missing,
    /// The token is unknown, expired, revoked or not a token at all.
    Invalid,
    /// The session allows none of the modes this widget offers.
    NoModeAllowed,
}

impl SessionRefusal {
    /// The detail of the `wa-signup:error` event announcing it, with the proxy's code.
    pub fn error_event(self) -> ErrorEvent {
        let code = match self {
            SessionRefusal::Missing => ErrorCode::SessionRequired,
            SessionRefusal::Invalid => ErrorCode::SessionInvalid,
            SessionRefusal::NoModeAllowed => ErrorCode::ModeNotAllowed,
        };
        ErrorEvent {
            code: code.as_str().to_owned(),
            message: String::new(),
        }
    }
}

/// What the widget does about its session once the configuration is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// No session and none needed: every mode the widget offers, no question asked.
    Open,
    /// Ask the proxy what this token allows (`POST /api/session`).
    Ask(SessionToken),
    /// Nothing may start: show [`Screen::SessionInvalid`] without asking.
    Refused(SessionRefusal),
}

/// Whether a page holding `given` may start, given the proxy's `sessions_required`. A token is
/// checked even when sessions are optional: a dead link must say so rather than quietly
/// create an onboarding the partner cannot tie to its customer.
pub fn admission(given: Option<&GivenSession>, sessions_required: bool) -> Admission {
    match given {
        Some(GivenSession::Token(token)) => Admission::Ask(token.clone()),
        Some(GivenSession::Malformed) => Admission::Refused(SessionRefusal::Invalid),
        None if sessions_required => Admission::Refused(SessionRefusal::Missing),
        None => Admission::Open,
    }
}

/// The launch buttons to show, in the usual order: the widget's own `mode` option narrowed by
/// the session's modes when there is a live session. Empty means nothing may be launched.
pub fn offered_modes(widget: Modes, session: Option<&[Mode]>) -> Vec<Mode> {
    Mode::ALL
        .into_iter()
        .filter(|m| widget.includes(*m))
        .filter(|m| session.is_none_or(|allowed| allowed.contains(m)))
        .collect()
}

/// Who can resolve why an onboarding stopped, and so what the customer is told to do.
///
/// Business customers do not know YCloud or Meta's partner programme: where only the provider
/// (the partner) can act, the screen says the provider has been told (the proxy sends it an
/// `onboarding.action_required` or `onboarding.failed` event) and what the customer can do
/// meanwhile, never to contact someone they have no account with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// The customer can resolve it on this page (add a number, wait out a limit).
    Customer,
    /// Only the provider can; once it has, the setup goes on: the customer waits.
    ProviderFinishes,
    /// The provider has been told; the customer may start again (another number, access
    /// shared again).
    StartAgain,
    /// The provider has been told; nothing more can happen on this page.
    Nothing,
    /// A passing failure of the service behind the provider: try again in a few minutes.
    Later,
}

/// The [`Remedy`] for an onboarding's error code.
pub fn remedy(code: &ErrorCode) -> Remedy {
    use ErrorCode as C;
    match code {
        C::PhoneNumberMissing | C::RegisterLimit | C::PinRequired => Remedy::Customer,
        // The provider attaches the payment method (or fixes its key) and retries.
        C::PaymentMethodMissing | C::UpstreamUnauthorized => Remedy::ProviderFinishes,
        C::PhoneNumberBlocked
        | C::PhoneNumberDeleted
        | C::WabaDeleted
        | C::PartnerRemoved
        | C::PartnerAppUninstalled
        // Signing up again settles which number, or how Meta sees it.
        | C::PhoneNumberAmbiguous
        | C::CoexistenceUnconfirmed => Remedy::StartAgain,
        C::UpstreamRateLimited
        | C::UpstreamConflict
        | C::UpstreamUnavailable
        | C::UpstreamTimeout
        | C::UpstreamUnreachable
        | C::UpstreamBadResponse => Remedy::Later,
        _ => Remedy::Nothing,
    }
}

/// Where the customer's PIN stands while the onboarding waits for it. Never holds the digits:
/// the screen is logged by nobody, but it is cloned into signals and compared freely.
#[derive(Debug, Clone, PartialEq)]
pub enum PinTry {
    /// Asked for; nothing sent from this page yet.
    Asked,
    /// What was typed is not six digits: nothing was sent.
    Invalid,
    /// On its way to the proxy (and Meta).
    Sending,
    /// Meta refused the PIN this page sent: the next wrong one brings the lock-out closer.
    Wrong,
    /// The PIN did not reach Meta: the proxy was unreachable (`None`) or refused it for a
    /// reason that says nothing about the digits (busy, rate limit, register budget).
    NotSent(Option<ApiError>),
}

/// Reads what the customer typed into the PIN field, once: six ASCII digits, with the spaces
/// a paste may bring around them ignored. Spaces inside, other scripts' digits and any other
/// length are refused rather than "fixed", since a wrong PIN counts towards Meta's lock-out.
///
/// # Errors
/// [`IdError`] as [`Pin::parse`] reports it.
pub fn parse_pin(typed: &str) -> Result<Pin, IdError> {
    Pin::parse(typed.trim())
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
            // A final state the customer may want to act on (ask the provider), not a failure;
            // the contract's list of states has no other fit.
            Screen::ActionRequired(_) | Screen::PinRequired(..) | Screen::Deregistered(_) => {
                "action-required"
            }
            Screen::Failed(_) => "failed",
            Screen::SessionInvalid(_) => "session-invalid",
            Screen::PopupBlocked(_) => "popup-blocked",
            Screen::Redirecting => "submitting",
        }
    }

    /// The modes whose "Continue in this window" button this screen shows, among `offered`,
    /// when the proxy has the full-page sign-in (`redirect`): the launch whose popup was
    /// blocked, or every offered mode where no popup can work (an app's browser, no SDK).
    pub fn redirect_modes(&self, offered: &[Mode], redirect: bool) -> Vec<Mode> {
        if !redirect {
            return Vec::new();
        }
        match self {
            Screen::PopupBlocked(Blocked::Popup(mode)) => vec![*mode],
            Screen::PopupBlocked(Blocked::InAppBrowser) | Screen::SdkBlocked => offered.to_vec(),
            _ => Vec::new(),
        }
    }

    /// The screen an onboarding from the proxy calls for.
    pub fn of(onboarding: Onboarding) -> Screen {
        match onboarding.state {
            OnboardingState::Connected => Screen::Connected(onboarding),
            OnboardingState::ActionRequired if waits_for_pin(&onboarding) => {
                Screen::PinRequired(onboarding, PinTry::Asked)
            }
            // Removed or deleted: the error says what happened and what the customer can do.
            OnboardingState::ActionRequired | OnboardingState::Disconnected => {
                Screen::ActionRequired(onboarding)
            }
            OnboardingState::Failed => Screen::Failed(Problem::Onboarding(onboarding)),
            OnboardingState::Deregistered => Screen::Deregistered(onboarding),
            OnboardingState::Binding | OnboardingState::Registering | OnboardingState::Pending => {
                Screen::Progress(onboarding)
            }
        }
    }

    /// The screen the proxy's answer to a PIN calls for: still waiting for one means Meta
    /// refused the PIN just sent; anything else is shown as usual (`pending`, `connected`, or
    /// `action_required` with `pin_locked`).
    pub fn after_pin(onboarding: Onboarding) -> Screen {
        match Screen::of(onboarding) {
            Screen::PinRequired(o, _) => Screen::PinRequired(o, PinTry::Wrong),
            screen => screen,
        }
    }

    /// The screen when the PIN sent for `onboarding` got no onboarding back: `error` is the
    /// proxy's refusal, `None` when it could not be reached. A refusal naming the PIN itself
    /// (`pin_required`, `pin_locked`) means what the same answer as an onboarding would.
    pub fn pin_refused(mut onboarding: Onboarding, error: Option<ApiError>) -> Screen {
        match error {
            Some(e) if e.code == ErrorCode::PinRequired => {
                Screen::PinRequired(onboarding, PinTry::Wrong)
            }
            Some(e) if e.code == ErrorCode::PinLocked => {
                onboarding.error = Some(OnboardingError {
                    code: e.code,
                    message: e.message,
                    retryable: false,
                    upstream_request_id: None,
                    retry_after: None,
                    candidates: Vec::new(),
                });
                Screen::ActionRequired(onboarding)
            }
            other => Screen::PinRequired(onboarding, PinTry::NotSent(other)),
        }
    }

    /// Where the PIN stands when this screen shows the PIN form; `None`: no form.
    pub fn pin_try(&self) -> Option<&PinTry> {
        match self {
            Screen::PinRequired(_, tried) => Some(tried),
            _ => None,
        }
    }

    /// The screen a problem calls for: a refusal saying the page's session is missing or dead
    /// ends in [`Screen::SessionInvalid`], since no launch could succeed any more.
    pub fn failed(problem: Problem) -> Screen {
        let refusal = match &problem {
            Problem::Refused { error, .. } => match error.code {
                ErrorCode::SessionRequired => Some(SessionRefusal::Missing),
                ErrorCode::SessionInvalid => Some(SessionRefusal::Invalid),
                _ => None,
            },
            _ => None,
        };
        match refusal {
            Some(refusal) => Screen::SessionInvalid(refusal),
            None => Screen::Failed(problem),
        }
    }

    /// Whether the launch buttons are shown at all (disabled or not): never without a session
    /// that may start an onboarding, so the page offers nothing that must fail.
    pub fn offers_launch(&self) -> bool {
        // Connected: the page is finished, the buttons give way to the result. An in-app
        // browser cannot open the popup: only "Continue in this window" is offered.
        !matches!(
            self,
            Screen::SessionInvalid(_)
                | Screen::Connected(_)
                | Screen::PopupBlocked(Blocked::InAppBrowser)
        )
    }

    /// Whether the sign-up is over and done: the finished page (result, the way back to the
    /// partner, the next step) replaces the introduction and the buttons.
    pub fn is_finished(&self) -> bool {
        matches!(self, Screen::Connected(_))
    }

    /// What "Try again" does here; `None`: the screen offers no such button.
    pub fn action(&self) -> Option<Action> {
        match self {
            Screen::SdkBlocked => Some(Action::ReloadSdk),
            Screen::Failed(Problem::ProxyUnreachable(request)) => {
                Some(Action::Send(request.clone()))
            }
            // A refusal that says when (a register budget) is not tried again on this page:
            // the screen says when, and another number may be tried meanwhile.
            Screen::Failed(Problem::Refused { error, request })
                if error.retryable && error.retry_after.is_none() =>
            {
                Some(Action::Send(request.clone()))
            }
            // After YCloud support attached the payment method, a retry carries on.
            Screen::Failed(Problem::Onboarding(o)) | Screen::ActionRequired(o)
                if retryable(o) && !says_when(o) =>
            {
                Some(Action::Send(Request::Retry(o.clone())))
            }
            _ => None,
        }
    }

    /// Whether a launch button may start a new popup now: never while something is under
    /// way, nor while "Try again" would finish what was started.
    pub fn can_launch(&self) -> bool {
        match self {
            Screen::Ready
            | Screen::Cancelled(_)
            | Screen::Deregistered(_)
            | Screen::PopupBlocked(Blocked::Popup(_)) => true,
            // Starting over with another number stays possible, but not while a PIN is out.
            Screen::PinRequired(_, tried) => *tried != PinTry::Sending,
            Screen::Failed(Problem::ProxyUnreachable(_)) => false,
            // The same session and page would be refused the same way again.
            Screen::Failed(Problem::Refused { error, .. })
                if matches!(
                    error.code,
                    ErrorCode::SessionExhausted | ErrorCode::CustomerRefMismatch
                ) =>
            {
                false
            }
            Screen::Failed(_) | Screen::ActionRequired(_) => self.action().is_none(),
            _ => false,
        }
    }

    /// The onboarding this screen is about, for the progress list and its ids.
    pub fn onboarding(&self) -> Option<&Onboarding> {
        match self {
            Screen::Progress(o)
            | Screen::Connected(o)
            | Screen::ActionRequired(o)
            | Screen::PinRequired(o, _)
            | Screen::Deregistered(o) => Some(o),
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

/// Whether `o` stopped for the customer's existing PIN (and not, say, for a locked one).
fn waits_for_pin(o: &Onboarding) -> bool {
    o.error
        .as_ref()
        .is_some_and(|e| e.code == ErrorCode::PinRequired)
}

/// Whether `o` stopped until a given time (`retry_after`, e.g. Meta's register limit).
fn says_when(o: &Onboarding) -> bool {
    o.error.as_ref().is_some_and(|e| e.retry_after.is_some())
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
    use wire::{OnboardingError, WabaId};

    fn onboarding(state: OnboardingState, error: Option<(ErrorCode, bool)>) -> Onboarding {
        Onboarding {
            id: "b7a1".into(),
            mode: Mode::Standard,
            launched_mode: None,
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
                candidates: Vec::new(),
            }),
            previous_onboarding_id: None,
            inbound_verified_at: None,
            sync: None,
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
    fn the_full_page_sign_in_is_offered_where_the_popup_cannot_work() {
        let both = [Mode::Standard, Mode::Coexistence];
        let blocked = Screen::PopupBlocked(Blocked::Popup(Mode::Coexistence));
        assert_eq!(blocked.data_state(), "popup-blocked");
        assert_eq!(blocked.redirect_modes(&both, true), vec![Mode::Coexistence]);
        assert!(
            blocked.can_launch() && blocked.offers_launch(),
            "the popup may be tried again"
        );
        let in_app = Screen::PopupBlocked(Blocked::InAppBrowser);
        assert_eq!(in_app.redirect_modes(&both, true), both.to_vec());
        assert!(!in_app.offers_launch(), "the full-page sign-in comes first");
        assert_eq!(
            Screen::SdkBlocked.redirect_modes(&both, true),
            both.to_vec()
        );
        assert_eq!(Screen::SdkBlocked.data_state(), "sdk-blocked");
        assert!(Screen::SdkBlocked.redirect_modes(&both, false).is_empty());
        assert!(Screen::Ready.redirect_modes(&both, true).is_empty());
        assert!(!Screen::Redirecting.can_launch());
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
    fn a_limit_that_says_when_offers_no_try_again_but_another_number() {
        let mut limited = refusal(ErrorCode::RegisterLimit, true);
        limited.retry_after = Some("2026-12-09T23:37:47.361977Z".into());
        let failed = onboarding(
            OnboardingState::Failed,
            Some((ErrorCode::UpstreamUnavailable, true)),
        );
        let screen = Screen::Failed(Problem::Refused {
            error: limited,
            request: Request::Retry(failed),
        });
        assert_eq!(screen.action(), None);
        assert!(screen.can_launch(), "the launch buttons stay usable");
        let mut stopped = onboarding(
            OnboardingState::Failed,
            Some((ErrorCode::RegisterLimit, true)),
        );
        if let Some(e) = stopped.error.as_mut() {
            e.retry_after = Some("2026-12-09T23:37:47Z".into());
        }
        let screen = Screen::of(stopped);
        assert_eq!(screen.action(), None);
        assert!(screen.can_launch());
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

    fn token() -> SessionToken {
        SessionToken::parse("ses_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG").unwrap()
    }

    #[test]
    fn a_page_without_a_session_starts_only_where_none_is_required() {
        assert_eq!(admission(None, false), Admission::Open);
        assert_eq!(
            admission(None, true),
            Admission::Refused(SessionRefusal::Missing)
        );
        // A token is asked about even when sessions are optional (sandbox, anonymous mode).
        for required in [false, true] {
            let given = GivenSession::Token(token());
            assert_eq!(admission(Some(&given), required), Admission::Ask(token()));
            assert_eq!(
                admission(Some(&GivenSession::Malformed), required),
                Admission::Refused(SessionRefusal::Invalid)
            );
        }
    }

    #[test]
    fn a_session_narrows_the_widget_s_own_modes() {
        use Mode::{Coexistence, Standard};
        assert_eq!(offered_modes(Modes::Both, None), [Standard, Coexistence]);
        assert_eq!(offered_modes(Modes::Only(Coexistence), None), [Coexistence]);
        assert_eq!(
            offered_modes(Modes::Both, Some(&[Coexistence])),
            [Coexistence]
        );
        // The order is the widget's, whatever order the session lists them in.
        assert_eq!(
            offered_modes(Modes::Both, Some(&[Coexistence, Standard])),
            [Standard, Coexistence]
        );
        assert_eq!(
            offered_modes(Modes::Only(Standard), Some(&[Standard, Coexistence])),
            [Standard]
        );
        assert!(offered_modes(Modes::Only(Standard), Some(&[Coexistence])).is_empty());
        assert!(offered_modes(Modes::Both, Some(&[])).is_empty());
    }

    #[test]
    fn a_session_invalid_page_offers_no_launch_and_no_retry() {
        for refusal in [
            SessionRefusal::Missing,
            SessionRefusal::Invalid,
            SessionRefusal::NoModeAllowed,
        ] {
            let screen = Screen::SessionInvalid(refusal);
            assert_eq!(screen.data_state(), "session-invalid");
            assert!(!screen.offers_launch());
            assert!(!screen.can_launch());
            assert_eq!(screen.action(), None);
            assert_eq!(screen.onboarding(), None);
        }
        assert!(Screen::Ready.offers_launch());
        assert!(Screen::LoadingSdk.offers_launch());
        assert_eq!(
            SessionRefusal::Missing.error_event().code,
            "session_required"
        );
        assert_eq!(
            SessionRefusal::Invalid.error_event().code,
            "session_invalid"
        );
        assert_eq!(
            SessionRefusal::NoModeAllowed.error_event().code,
            "mode_not_allowed"
        );
    }

    #[test]
    fn a_create_refused_for_its_session_ends_in_session_invalid() {
        for (code, refusal) in [
            (ErrorCode::SessionRequired, SessionRefusal::Missing),
            (ErrorCode::SessionInvalid, SessionRefusal::Invalid),
        ] {
            let screen = Screen::failed(Problem::Refused {
                error: refusal_error(code),
                request: Request::Create(ids()),
            });
            assert_eq!(screen, Screen::SessionInvalid(refusal));
        }
        // The lookup at start is refused the same way.
        let screen = Screen::failed(Problem::Refused {
            error: refusal_error(ErrorCode::SessionInvalid),
            request: Request::Config,
        });
        assert_eq!(screen.data_state(), "session-invalid");
        // Anything else stays a failure.
        let problem = Problem::Refused {
            error: refusal_error(ErrorCode::ModeNotAllowed),
            request: Request::Create(ids()),
        };
        assert_eq!(Screen::failed(problem.clone()), Screen::Failed(problem));
        assert_eq!(
            Screen::failed(Problem::TimedOut),
            Screen::Failed(Problem::TimedOut)
        );
    }

    fn refusal_error(code: ErrorCode) -> ApiError {
        refusal(code, false)
    }

    #[test]
    fn session_refusals_of_a_create_allow_a_new_launch_only_where_it_can_succeed() {
        for (code, launch) in [
            // Another mode or another number may be accepted.
            (ErrorCode::ModeNotAllowed, true),
            (ErrorCode::AlreadyOnboarded, true),
            // The same page and session would be refused again.
            (ErrorCode::CustomerRefMismatch, false),
            (ErrorCode::SessionExhausted, false),
        ] {
            let screen = Screen::failed(Problem::Refused {
                error: refusal_error(code.clone()),
                request: Request::Create(ids()),
            });
            assert_eq!(screen.data_state(), "failed", "{code}");
            assert_eq!(screen.action(), None, "{code}");
            assert_eq!(screen.can_launch(), launch, "{code}");
            assert!(screen.offers_launch(), "{code}");
        }
    }

    #[test]
    fn a_deregistered_onboarding_is_shown_as_final_not_in_progress() {
        let o = onboarding(OnboardingState::Deregistered, None);
        let screen = Screen::of(o.clone());
        assert_eq!(screen, Screen::Deregistered(o.clone()));
        assert_eq!(screen.data_state(), "action-required");
        assert_eq!(screen.onboarding(), Some(&o));
        assert_eq!(screen.action(), None);
        assert!(screen.can_launch());
        // Every state that moves on by itself is progress; no final state is.
        for state in OnboardingState::ALL {
            let progress = matches!(Screen::of(onboarding(state, None)), Screen::Progress(_));
            assert_eq!(progress, !state.is_final(), "{state}");
        }
    }

    #[test]
    fn problems_only_the_provider_can_solve_never_fall_to_the_customer() {
        use ErrorCode as C;
        for code in [
            C::PaymentMethodMissing,
            C::WabaBanned,
            C::WabaBanScheduled,
            C::WabaRejected,
            C::PartnerRemoved,
            C::PartnerAppUninstalled,
            C::UpstreamUnauthorized,
            C::PhoneNumberBlocked,
            C::OnPremisesRetired,
            C::UpstreamNotFound,
            C::UpstreamRejected,
        ] {
            assert!(
                matches!(
                    remedy(&code),
                    Remedy::ProviderFinishes | Remedy::StartAgain | Remedy::Nothing
                ),
                "{code}"
            );
        }
        assert_eq!(remedy(&C::PaymentMethodMissing), Remedy::ProviderFinishes);
        assert_eq!(remedy(&C::PhoneNumberBlocked), Remedy::StartAgain);
        assert_eq!(remedy(&C::PartnerRemoved), Remedy::StartAgain);
        assert_eq!(remedy(&C::WabaBanned), Remedy::Nothing);
        assert_eq!(remedy(&C::PhoneNumberMissing), Remedy::Customer);
        assert_eq!(remedy(&C::RegisterLimit), Remedy::Customer);
        assert_eq!(remedy(&C::UpstreamTimeout), Remedy::Later);
        assert_eq!(remedy(&C::Other("new_code".into())), Remedy::Nothing);
    }

    fn waiting_for_pin() -> Onboarding {
        let mut o = onboarding(
            OnboardingState::ActionRequired,
            Some((ErrorCode::PinRequired, false)),
        );
        o.phone_number_id = Some(wire::PhoneNumberId::parse("106540352242922").unwrap());
        o
    }

    #[test]
    fn a_number_with_a_pin_asks_for_it_in_a_form_and_stays_action_required() {
        let o = waiting_for_pin();
        let screen = Screen::of(o.clone());
        assert_eq!(screen, Screen::PinRequired(o.clone(), PinTry::Asked));
        assert_eq!(screen.data_state(), "action-required");
        assert_eq!(screen.pin_try(), Some(&PinTry::Asked));
        assert_eq!(screen.onboarding(), Some(&o));
        assert_eq!(
            screen.action(),
            None,
            "the form is the way on, not Try again"
        );
        assert!(screen.can_launch(), "another number may still be tried");
        let sending = Screen::PinRequired(o, PinTry::Sending);
        assert!(!sending.can_launch(), "not while a PIN is on its way");
        assert_eq!(remedy(&ErrorCode::PinRequired), Remedy::Customer);
        // A locked PIN is no form: only waiting helps.
        let locked = Screen::of(onboarding(
            OnboardingState::ActionRequired,
            Some((ErrorCode::PinLocked, false)),
        ));
        assert!(matches!(locked, Screen::ActionRequired(_)), "{locked:?}");
        assert_eq!(locked.pin_try(), None);
        assert_eq!(remedy(&ErrorCode::PinLocked), Remedy::Nothing);
        for screen in [Screen::Ready, Screen::Submitting] {
            assert_eq!(screen.pin_try(), None);
        }
    }

    #[test]
    fn the_answer_to_a_pin_says_whether_it_was_wrong() {
        // Still waiting for a PIN after one was sent: Meta refused that one.
        let wrong = Screen::after_pin(waiting_for_pin());
        assert_eq!(wrong.pin_try(), Some(&PinTry::Wrong));
        assert_eq!(wrong.data_state(), "action-required");
        for (state, data_state) in [
            (OnboardingState::Pending, "pending"),
            (OnboardingState::Connected, "connected"),
        ] {
            let screen = Screen::after_pin(onboarding(state, None));
            assert_eq!(screen.data_state(), data_state);
            assert_eq!(screen.pin_try(), None);
        }
        let locked = Screen::after_pin(onboarding(
            OnboardingState::ActionRequired,
            Some((ErrorCode::PinLocked, false)),
        ));
        assert!(matches!(locked, Screen::ActionRequired(_)), "{locked:?}");
    }

    #[test]
    fn a_refused_pin_keeps_the_form_unless_the_pin_is_locked() {
        let o = waiting_for_pin();
        assert_eq!(
            Screen::pin_refused(o.clone(), Some(refusal(ErrorCode::PinRequired, false))),
            Screen::PinRequired(o.clone(), PinTry::Wrong)
        );
        let locked = Screen::pin_refused(o.clone(), Some(refusal(ErrorCode::PinLocked, false)));
        let Screen::ActionRequired(stopped) = &locked else {
            panic!("{locked:?}");
        };
        assert_eq!(stopped.error.as_ref().unwrap().code, ErrorCode::PinLocked);
        assert!(locked.can_launch());
        for error in [
            None,
            Some(refusal(ErrorCode::RateLimited, true)),
            Some(refusal(ErrorCode::PinNotExpected, false)),
            Some(refusal(ErrorCode::RegisterLimit, true)),
        ] {
            let screen = Screen::pin_refused(o.clone(), error.clone());
            assert_eq!(
                screen,
                Screen::PinRequired(o.clone(), PinTry::NotSent(error))
            );
            assert!(screen.can_launch());
        }
    }

    #[test]
    fn a_typed_pin_is_six_ascii_digits() {
        assert_eq!(parse_pin("246810").unwrap().as_str(), "246810");
        assert_eq!(parse_pin("000000").unwrap().as_str(), "000000");
        // A paste may bring spaces around it, never inside it.
        assert_eq!(parse_pin(" 135790\n").unwrap().as_str(), "135790");
        for (typed, why) in [
            ("", IdError::Empty),
            ("   ", IdError::Empty),
            ("12345", IdError::TooShort(6)),
            ("1234567", IdError::TooLong(6)),
            ("123 456", IdError::BadCharacter),
            ("12-456", IdError::BadCharacter),
            ("abcdef", IdError::BadCharacter),
            // Full-width and Arabic-Indic digits are digits to people, not to Meta.
            ("１２３４５６", IdError::BadCharacter),
            ("١٢٣٤٥٦", IdError::BadCharacter),
        ] {
            assert_eq!(parse_pin(typed).unwrap_err(), why, "{typed:?}");
        }
    }
}
