use leptos::prelude::*;
use wire::ErrorCode;

use crate::flow::Flow;
use crate::i18n::{Locale, Msg};
use crate::protocol::CancelStep;
use crate::screen::{Problem, Screen};

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
        // Each known reason has its own sentence; an unknown one shows the proxy's.
        Screen::ActionRequired(o) => {
            let reference = upstream_reference(locale, o);
            match o.error.as_ref().map(|e| (&e.code, e.message.as_str())) {
                Some((ErrorCode::PhoneNumberMissing, _)) => (t(Msg::NumberMissing), vec![]),
                Some((ErrorCode::PhoneNumberBlocked, _)) => (t(Msg::NumberBlocked), vec![]),
                Some((ErrorCode::PartnerRemoved, _)) => (t(Msg::PartnerRemoved), vec![]),
                Some((code, message)) if *code != ErrorCode::PaymentMethodMissing => (
                    locale.fill(Msg::OnboardingFailed, &[("message", message)]),
                    reference.into_iter().collect(),
                ),
                _ => {
                    let mut next = vec![t(Msg::ActionRequiredHelp)];
                    next.extend(reference);
                    (t(Msg::ActionRequired), next)
                }
            }
        }
        Screen::Failed(problem) => describe_problem(problem, locale),
    }
}

fn upstream_reference(locale: Locale, o: &wire::Onboarding) -> Option<String> {
    let request = o.error.as_ref()?.upstream_request_id.as_deref()?;
    Some(locale.fill(Msg::UpstreamRequest, &[("request", request)]))
}

fn describe_problem(problem: &Problem, locale: Locale) -> (String, Vec<String>) {
    let t = |m| locale.t(m).to_string();
    match problem {
        Problem::Reported(e) => {
            let message = e.message.as_deref().unwrap_or("—");
            let mut next = Vec::new();
            if let Some(session) = e.session_id.as_deref() {
                next.push(locale.fill(Msg::MetaErrorSession, &[("session", session)]));
            }
            (locale.fill(Msg::MetaError, &[("message", message)]), next)
        }
        Problem::NotAuthorized => (t(Msg::NotAuthorized), vec![]),
        Problem::InvalidFinish => (t(Msg::InvalidFinish), vec![]),
        Problem::TimedOut => (t(Msg::TimedOut), vec![t(Msg::TimedOutHelp)]),
        Problem::PopupFailed => (t(Msg::PopupFailed), vec![]),
        Problem::ProxyUnreachable(_) => {
            (t(Msg::ProxyUnreachable), vec![t(Msg::ProxyUnreachableHelp)])
        }
        Problem::Refused { error: e, .. } => match &e.retry_after {
            Some(when) => (locale.fill(Msg::RegisterLimit, &[("when", when)]), vec![]),
            None => (
                locale.fill(Msg::Refused, &[("message", &e.message)]),
                vec![],
            ),
        },
        Problem::Onboarding(o) => {
            let error = o.error.as_ref();
            let first = match error.and_then(|e| e.retry_after.as_deref()) {
                Some(when) => locale.fill(Msg::RegisterLimit, &[("when", when)]),
                None => locale.fill(
                    Msg::OnboardingFailed,
                    &[("message", error.map_or("—", |e| e.message.as_str()))],
                ),
            };
            (first, upstream_reference(locale, o).into_iter().collect())
        }
    }
}

/// The status region: announced politely, with a `data-state` for tests (docs/API.md).
#[component]
pub fn Status(
    /// The widget's flow.
    flow: Flow,
    /// The language to speak.
    locale: RwSignal<Locale>,
) -> impl IntoView {
    let text = move || flow.screen.with(|s| describe(s, locale.get()));
    view! {
        <div class="wa-status" data-testid="status" role="status" aria-live="polite"
            data-state=move || flow.screen.with(|s| s.data_state())>
            <p class="wa-status-main">{move || text().0}</p>
            {move || text().1.into_iter().map(|line| view! { <p class="wa-status-next">{line}</p> }).collect_view()}
            <Show when=move || flow.screen.with(|s| s.action().is_some())>
                <button type="button" class="wa-button wa-retry" data-testid="retry"
                    on:click=move |_| flow.retry()>
                    {move || locale.get().t(Msg::TryAgain)}
                </button>
            </Show>
        </div>
    }
}
