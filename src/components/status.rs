use leptos::prelude::*;
use wire::ErrorCode;

use super::tree::{el, Node};
use super::Ctx;
use crate::i18n::{Locale, Msg};
use crate::protocol::{support_reference, CancelStep, FlowErrorFamily};
use crate::screen::{remedy, Blocked, PinTry, Problem, Remedy, Screen, SessionRefusal};

/// The name of a cancel step in the customer's language (unknown steps as Meta spells them).
fn step_name(locale: Locale, step: &CancelStep) -> String {
    let msg = match step {
        CancelStep::BusinessAccountSelection => Msg::StepBusinessAccountSelection,
        CancelStep::WabaPhoneProfilePicker => Msg::StepWabaPhoneProfilePicker,
        CancelStep::WhatsAppBusinessProfileSetup => Msg::StepWhatsAppBusinessProfileSetup,
        CancelStep::PhoneNumberSetup => Msg::StepPhoneNumberSetup,
        CancelStep::PhoneNumberVerification => Msg::StepPhoneNumberVerification,
        CancelStep::Permissions => Msg::StepPermissions,
        CancelStep::Other(raw) => return raw.clone(),
    };
    locale.t(msg).to_string()
}

/// The sentences for a screen: what happened, then what to do next.
pub fn describe(screen: &Screen, locale: Locale) -> (String, Vec<String>) {
    let t = |m| locale.t(m).to_string();
    match screen {
        Screen::LoadingSdk => (t(Msg::LoadingSdk), vec![]),
        Screen::SdkBlocked => (t(Msg::SdkBlocked), vec![t(Msg::SdkBlockedHelp)]),
        Screen::Ready => (t(Msg::Ready), vec![]),
        Screen::InPopup(_) => (t(Msg::InPopup), vec![t(Msg::InPopupHelp)]),
        Screen::Submitting => (t(Msg::Submitting), vec![]),
        Screen::Progress(_) => (t(Msg::Pending), vec![]),
        Screen::Connected(_) => (t(Msg::Connected), vec![]),
        Screen::Cancelled(step) => {
            let first = match step {
                Some(step) => locale.fill(Msg::CancelledAt, &[("step", &step_name(locale, step))]),
                None => t(Msg::Cancelled),
            };
            (first, vec![t(Msg::CancelledHelp)])
        }
        Screen::ActionRequired(o) => describe_stopped(o, locale),
        Screen::PinRequired(_, tried) => describe_pin(tried, locale),
        Screen::Deregistered(_) => (t(Msg::Deregistered), vec![t(Msg::DeregisteredHelp)]),
        Screen::Failed(problem) => describe_problem(problem, locale),
        Screen::SessionInvalid(refusal) => describe_session(*refusal, locale),
        Screen::PopupBlocked(Blocked::Popup(_)) => {
            (t(Msg::PopupBlocked), vec![t(Msg::PopupBlockedHelp)])
        }
        Screen::PopupBlocked(Blocked::InAppBrowser) => {
            (t(Msg::InAppBrowser), vec![t(Msg::InAppBrowserHelp)])
        }
        Screen::Redirecting => (t(Msg::Redirecting), vec![]),
    }
}

/// A budget refusal: when the number may be tried again, as a date and time in the
/// customer's language and time zone.
fn until(locale: Locale, rfc3339: &str) -> String {
    let when = crate::browser::dom::local_date_time(rfc3339, locale.tag());
    locale.fill(Msg::RegisterLimit, &[("when", &when)])
}

/// The PIN form's status: what the form is for, or what became of the PIN sent. Never the
/// digits, which the screen does not hold.
fn describe_pin(tried: &PinTry, locale: Locale) -> (String, Vec<String>) {
    let t = |m| locale.t(m).to_string();
    match tried {
        PinTry::Asked => (t(Msg::PinAsk), vec![]),
        PinTry::Invalid => (t(Msg::PinAsk), vec![t(Msg::PinInvalid)]),
        PinTry::Sending => (t(Msg::PinSending), vec![]),
        PinTry::Wrong => (t(Msg::PinWrong), vec![t(Msg::PinWrongHelp)]),
        PinTry::NotSent(Some(e)) if e.retry_after.is_some() => {
            let when = e.retry_after.as_deref().unwrap_or_default();
            (until(locale, when), vec![t(Msg::AnotherNumber)])
        }
        PinTry::NotSent(_) => (t(Msg::PinNotSent), vec![]),
    }
}

/// The PIN field's own error, tied to it with `aria-describedby`; `None` when there is none.
pub fn pin_error(tried: &PinTry, locale: Locale) -> Option<&'static str> {
    match tried {
        PinTry::Invalid => Some(locale.t(Msg::PinInvalid)),
        PinTry::Wrong => Some(locale.t(Msg::PinWrong)),
        PinTry::Asked | PinTry::Sending | PinTry::NotSent(_) => None,
    }
}

fn describe_session(refusal: SessionRefusal, locale: Locale) -> (String, Vec<String>) {
    let t = |m| locale.t(m).to_string();
    match refusal {
        SessionRefusal::Missing => (t(Msg::SessionMissing), vec![t(Msg::SessionMissingHelp)]),
        SessionRefusal::Invalid => (t(Msg::SessionInvalid), vec![t(Msg::AskNewLink)]),
        SessionRefusal::NoModeAllowed => (t(Msg::ModeNotAllowed), vec![t(Msg::AskNewLink)]),
    }
}

/// A stopped onboarding: what happened in the customer's words (each known code has its own
/// sentence; only a code this build does not know shows the proxy's), then what the customer
/// can do, from [`remedy`].
fn describe_stopped(o: &wire::Onboarding, locale: Locale) -> (String, Vec<String>) {
    let t = |m| locale.t(m).to_string();
    let Some(error) = o.error.as_ref() else {
        return (t(Msg::SetupStopped), vec![t(Msg::ProviderToldNothing)]);
    };
    let first = match (&error.code, error.retry_after.as_deref()) {
        (_, Some(when)) => until(locale, when),
        (ErrorCode::PaymentMethodMissing, _) => t(Msg::PaymentPending),
        (ErrorCode::PhoneNumberMissing, _) => t(Msg::NumberMissing),
        (ErrorCode::PinRequired, _) => t(Msg::PinAsk),
        (ErrorCode::PinLocked, _) => t(Msg::PinLocked),
        (ErrorCode::PhoneNumberBlocked, _) => t(Msg::NumberBlocked),
        (ErrorCode::PhoneNumberDeleted, _) => t(Msg::NumberDeleted),
        (ErrorCode::PartnerRemoved, _) => t(Msg::PartnerRemoved),
        (ErrorCode::PartnerAppUninstalled, _) => t(Msg::AppUninstalled),
        (ErrorCode::WabaBanned, _) => t(Msg::WabaBanned),
        (ErrorCode::WabaBanScheduled, _) => t(Msg::WabaBanScheduled),
        (ErrorCode::WabaRejected, _) => t(Msg::WabaRejected),
        (ErrorCode::WabaDeleted, _) => t(Msg::WabaDeleted),
        // A newer proxy's code: its own sentence says more than a generic one would.
        (ErrorCode::Other(_), _) => {
            locale.fill(Msg::OnboardingFailed, &[("message", &error.message)])
        }
        (code, _) if remedy(code) == Remedy::Later => t(Msg::ServiceUnavailable),
        _ => t(Msg::SetupStopped),
    };
    let remedy = remedy(&error.code);
    let mut next: Vec<String> = match remedy {
        Remedy::Customer if error.retry_after.is_some() => vec![t(Msg::AnotherNumber)],
        Remedy::Customer => vec![],
        Remedy::ProviderFinishes if error.retryable => {
            vec![t(Msg::ProviderFinishes), t(Msg::RetryOnceFixed)]
        }
        Remedy::ProviderFinishes => vec![t(Msg::ProviderFinishes)],
        Remedy::StartAgain => vec![t(Msg::ProviderToldStartAgain)],
        // Waiting is all that helps; the PIN may be reset meanwhile.
        Remedy::Nothing if error.code == ErrorCode::PinLocked => vec![t(Msg::PinLockedHelp)],
        Remedy::Nothing => vec![t(Msg::ProviderToldNothing)],
        Remedy::Later => vec![t(Msg::TryLater)],
    };
    // YCloud's request id is for the provider to quote; the customer passes it on.
    if remedy != Remedy::Customer {
        next.extend(upstream_reference(locale, o));
    }
    (first, next)
}

fn upstream_reference(locale: Locale, o: &wire::Onboarding) -> Option<String> {
    let request = o.error.as_ref()?.upstream_request_id.as_deref()?;
    Some(locale.fill(Msg::UpstreamRequest, &[("request", request)]))
}

/// The sentence for a family of Meta's popup errors.
fn flow_error_msg(family: FlowErrorFamily) -> Msg {
    match family {
        FlowErrorFamily::CoexNotEligible => Msg::FlowCoexNotEligible,
        FlowErrorFamily::CoexMarketing => Msg::FlowCoexMarketing,
        FlowErrorFamily::AppTooOld => Msg::FlowAppTooOld,
        FlowErrorFamily::SharedWithPartner => Msg::FlowSharedWithPartner,
        FlowErrorFamily::DisconnectWait => Msg::FlowDisconnectWait,
        FlowErrorFamily::AlreadyShared => Msg::FlowAlreadyShared,
        FlowErrorFamily::BusinessVerification => Msg::FlowBusinessVerification,
        FlowErrorFamily::VerificationElsewhere => Msg::FlowVerificationElsewhere,
        FlowErrorFamily::TooManyAttempts => Msg::FlowTooManyAttempts,
        FlowErrorFamily::Unknown => Msg::FlowUnknown,
    }
}

/// The support reference of a popup error on screen (Meta's `session_id`, the code).
fn reference_of(screen: &Screen, locale: Locale) -> Option<String> {
    let Screen::Failed(Problem::Reported(e)) = screen else {
        return None;
    };
    let reference = support_reference(e.session_id.as_deref(), e.code.as_deref())?;
    Some(locale.fill(Msg::SupportReference, &[("reference", &reference)]))
}

fn describe_problem(problem: &Problem, locale: Locale) -> (String, Vec<String>) {
    let t = |m| locale.t(m).to_string();
    match problem {
        // What the customer can do first; Meta's own words after, as text (Leptos writes
        // them into a text node, never as HTML); the reference is shown apart.
        Problem::Reported(e) => {
            let mut next = Vec::new();
            if let Some(message) = e.message.as_deref().filter(|m| !m.trim().is_empty()) {
                next.push(locale.fill(Msg::MetaError, &[("message", message)]));
            }
            (
                t(flow_error_msg(FlowErrorFamily::of(e.code.as_deref()))),
                next,
            )
        }
        Problem::NotAuthorized => (t(Msg::NotAuthorized), vec![]),
        Problem::InvalidFinish => (t(Msg::InvalidFinish), vec![]),
        Problem::TimedOut => (t(Msg::TimedOut), vec![t(Msg::TimedOutHelp)]),
        Problem::PopupFailed => (t(Msg::PopupFailed), vec![]),
        Problem::ProxyUnreachable(_) => {
            (t(Msg::ProxyUnreachable), vec![t(Msg::ProxyUnreachableHelp)])
        }
        Problem::Refused { error: e, .. } => match (&e.code, &e.retry_after) {
            (_, Some(when)) => (until(locale, when), vec![t(Msg::AnotherNumber)]),
            (ErrorCode::SessionRequired, _) => describe_session(SessionRefusal::Missing, locale),
            (ErrorCode::SessionInvalid, _) => describe_session(SessionRefusal::Invalid, locale),
            (ErrorCode::ModeNotAllowed, _) => {
                describe_session(SessionRefusal::NoModeAllowed, locale)
            }
            (ErrorCode::SessionExhausted, _) => {
                (t(Msg::SessionExhausted), vec![t(Msg::AskNewLink)])
            }
            (ErrorCode::CustomerRefMismatch, _) => (
                t(Msg::CustomerRefMismatch),
                vec![t(Msg::CustomerRefMismatchHelp)],
            ),
            (ErrorCode::AlreadyOnboarded, _) => {
                (t(Msg::AlreadyOnboarded), vec![t(Msg::AlreadyOnboardedHelp)])
            }
            _ => (
                locale.fill(Msg::Refused, &[("message", &e.message)]),
                vec![],
            ),
        },
        Problem::Onboarding(o) => describe_stopped(o, locale),
    }
}

/// The status region: announced politely, with a `data-state` for tests (docs/API.md).
pub(super) fn status(cx: Ctx) -> Option<Node> {
    let flow = cx.flow;
    let l = cx.locale.get();
    flow.screen.with(|screen| {
        let (first, next) = describe(screen, l);
        let reference = reference_of(screen, l).map(|r| {
            el(
                "p",
                &[
                    ("class", "wa-support-ref"),
                    ("data-testid", "support-reference"),
                ],
            )
            .text(r)
        });
        let retry = screen.action().is_some().then(|| {
            el(
                "button",
                &[
                    ("type", "button"),
                    ("class", "wa-button wa-retry"),
                    ("data-testid", "retry"),
                ],
            )
            .on("click", move |_| flow.retry())
            .text(l.t(Msg::TryAgain))
        });
        Some(
            el(
                "div",
                &[
                    ("class", "wa-status"),
                    ("data-testid", "status"),
                    ("role", "status"),
                    ("aria-live", "polite"),
                ],
            )
            .attr("data-state", screen.data_state())
            .kids(
                std::iter::once(el("p", &[("class", "wa-status-main")]).text(first))
                    .chain(
                        next.into_iter()
                            .map(|line| el("p", &[("class", "wa-status-next")]).text(line)),
                    )
                    .chain(reference)
                    .chain(retry),
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::Request;
    use wire::{ApiError, Mode, Onboarding, OnboardingError, OnboardingState, WabaId};

    fn stopped(state: OnboardingState, code: ErrorCode) -> Onboarding {
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
            error: Some(OnboardingError {
                code,
                // The proxy's sentences are written for the partner, and may name YCloud.
                message: "Contact YCloud support.".into(),
                retryable: false,
                upstream_request_id: Some("req-9".into()),
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

    fn all_text((first, next): (String, Vec<String>)) -> String {
        std::iter::once(first)
            .chain(next)
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn no_customer_is_sent_to_ycloud_and_the_provider_is_said_to_know() {
        for code in ErrorCode::KNOWN {
            for screen in [
                Screen::ActionRequired(stopped(OnboardingState::ActionRequired, code.clone())),
                Screen::Failed(Problem::Onboarding(stopped(
                    OnboardingState::Failed,
                    code.clone(),
                ))),
            ] {
                for locale in Locale::ALL {
                    let text = all_text(describe(&screen, locale));
                    assert!(!text.contains("YCloud"), "{code} {locale:?}: {text}");
                }
                let text = all_text(describe(&screen, Locale::En));
                match remedy(code) {
                    Remedy::ProviderFinishes | Remedy::StartAgain | Remedy::Nothing => {
                        assert!(
                            text.contains("Your provider has been told"),
                            "{code}: {text}"
                        );
                        assert!(text.contains("req-9"), "{code}: the reference is passed on");
                    }
                    Remedy::Customer | Remedy::Later => {
                        assert!(!text.contains("provider has been told"), "{code}: {text}")
                    }
                }
            }
        }
    }

    #[test]
    fn each_problem_only_the_provider_can_solve_says_what_the_customer_can_do() {
        let cases = [
            (
                ErrorCode::PaymentMethodMissing,
                "payment method",
                "you do not need to do anything",
            ),
            (ErrorCode::WabaBanned, "disabled", "will contact you"),
            (
                ErrorCode::WabaBanScheduled,
                "plans to disable",
                "will contact you",
            ),
            (ErrorCode::WabaRejected, "review", "will contact you"),
            (ErrorCode::PartnerRemoved, "access", "start again"),
            (
                ErrorCode::PartnerAppUninstalled,
                "app was removed",
                "start again",
            ),
            (
                ErrorCode::UpstreamUnauthorized,
                "could not be finished",
                "will finish the setup",
            ),
            (ErrorCode::PhoneNumberBlocked, "blocked", "start again"),
        ];
        for (code, what, next) in cases {
            let screen =
                Screen::ActionRequired(stopped(OnboardingState::ActionRequired, code.clone()));
            let (first, rest) = describe(&screen, Locale::En);
            assert!(first.contains(what), "{code}: {first}");
            assert!(rest.join(" ").contains(next), "{code}: {rest:?}");
        }
        // "Try again" is named only where the screen offers it.
        let mut o = stopped(
            OnboardingState::ActionRequired,
            ErrorCode::PaymentMethodMissing,
        );
        let (_, rest) = describe(&Screen::ActionRequired(o.clone()), Locale::En);
        assert!(!rest.join(" ").contains("Try again"), "{rest:?}");
        o.error.as_mut().unwrap().retryable = true;
        let screen = Screen::ActionRequired(o);
        assert!(screen.action().is_some());
        let (_, rest) = describe(&screen, Locale::En);
        assert!(
            rest.join(" ").contains("click Try again once it is fixed"),
            "{rest:?}"
        );
        // A code from a newer proxy still shows the proxy's own sentence.
        let other = stopped(
            OnboardingState::Failed,
            ErrorCode::Other("brand_new".into()),
        );
        let (first, _) = describe(&Screen::Failed(Problem::Onboarding(other)), Locale::En);
        assert!(first.contains("Contact YCloud support."), "{first}");
    }

    #[test]
    fn session_screens_and_refusals_say_to_ask_for_a_new_link() {
        let (first, next) = describe(&Screen::SessionInvalid(SessionRefusal::Invalid), Locale::En);
        assert_eq!(first, "This sign-up link is no longer valid.");
        assert_eq!(
            next,
            ["Please ask the business that sent it to you for a new link."]
        );
        let (first, next) = describe(&Screen::SessionInvalid(SessionRefusal::Missing), Locale::En);
        assert!(first.contains("personal sign-up link"), "{first}");
        assert!(next[0].contains("for your link"), "{next:?}");
        for locale in Locale::ALL {
            for refusal in [
                SessionRefusal::Missing,
                SessionRefusal::Invalid,
                SessionRefusal::NoModeAllowed,
            ] {
                let (first, next) = describe(&Screen::SessionInvalid(refusal), locale);
                assert!(
                    !first.is_empty() && next.len() == 1,
                    "{locale:?} {refusal:?}"
                );
            }
        }
        // Every refusal of a create about the session has its own sentence, never the
        // proxy's English one.
        for code in [
            ErrorCode::SessionRequired,
            ErrorCode::SessionInvalid,
            ErrorCode::ModeNotAllowed,
            ErrorCode::AlreadyOnboarded,
            ErrorCode::CustomerRefMismatch,
            ErrorCode::SessionExhausted,
        ] {
            let problem = Problem::Refused {
                error: ApiError {
                    code: code.clone(),
                    message: "proxy sentence".into(),
                    retryable: false,
                    retry_after: None,
                },
                request: Request::Config,
            };
            for locale in Locale::ALL {
                let (first, next) = describe_problem(&problem, locale);
                assert!(!first.contains("proxy sentence"), "{code} {locale:?}");
                assert_eq!(next.len(), 1, "{code} {locale:?}: says what to do");
            }
        }
    }

    #[test]
    fn the_pin_screens_say_what_became_of_the_pin() {
        let o = stopped(OnboardingState::ActionRequired, ErrorCode::PinRequired);
        let pin = |tried| all_text(describe(&Screen::PinRequired(o.clone(), tried), Locale::En));
        assert!(pin(PinTry::Asked).contains("already has a two-step verification PIN"));
        let wrong = pin(PinTry::Wrong);
        assert!(
            wrong.contains("not this number's two-step verification PIN"),
            "{wrong}"
        );
        assert!(wrong.contains("counts towards a lock-out"), "{wrong}");
        assert!(pin(PinTry::Invalid).contains("exactly 6 digits"));
        assert!(pin(PinTry::NotSent(None)).contains("could not be sent"));
        let spent = ApiError {
            code: ErrorCode::RegisterLimit,
            message: "m".into(),
            retryable: true,
            retry_after: Some("2026-11-26T10:00:00Z".into()),
        };
        assert!(pin(PinTry::NotSent(Some(spent))).contains("2026-11-26T10:00:00Z"));
        assert_eq!(pin_error(&PinTry::Asked, Locale::En), None);
        assert!(pin_error(&PinTry::Invalid, Locale::En).is_some());
        assert!(pin_error(&PinTry::Wrong, Locale::En).is_some());
        // Locked: wait, the provider knows; no form.
        let locked = stopped(OnboardingState::ActionRequired, ErrorCode::PinLocked);
        let text = all_text(describe(&Screen::ActionRequired(locked), Locale::En));
        assert!(text.contains("locked this number's PIN checks"), "{text}");
        assert!(text.contains("Your provider has been told"), "{text}");
        assert!(text.contains("wait"), "{text}");
        for locale in Locale::ALL {
            for tried in [
                PinTry::Asked,
                PinTry::Wrong,
                PinTry::Invalid,
                PinTry::Sending,
            ] {
                let (first, _) = describe(&Screen::PinRequired(o.clone(), tried), locale);
                assert!(!first.is_empty());
            }
        }
    }

    #[test]
    fn a_deregistered_number_says_who_did_it_and_whom_to_ask() {
        let o = stopped(OnboardingState::Deregistered, ErrorCode::Other("x".into()));
        let (first, next) = describe(&Screen::Deregistered(o), Locale::En);
        assert!(first.contains("disconnected this number"), "{first}");
        assert!(next[0].contains("ask your provider"), "{next:?}");
    }
}
