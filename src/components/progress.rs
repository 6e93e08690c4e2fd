use leptos::prelude::*;
use wire::{Mode, Onboarding, OnboardingState, StepName, StepState};

use super::heading::heading;
use super::tree::{el, Node};
use super::Ctx;
use crate::i18n::Msg;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mark {
    Done,
    Active,
    Waiting,
    Failed,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Done => "✓",
            Mark::Active => "…",
            Mark::Waiting => "○",
            Mark::Failed => "!",
        }
    }

    /// The `data-mark` value, for styles.
    fn name(self) -> &'static str {
        match self {
            Mark::Done => "done",
            Mark::Active => "active",
            Mark::Waiting => "waiting",
            Mark::Failed => "failed",
        }
    }

    fn word(self) -> Msg {
        match self {
            Mark::Done => Msg::StepDone,
            Mark::Active => Msg::StepActive,
            Mark::Waiting => Msg::StepWaiting,
            Mark::Failed => Msg::StepFailed,
        }
    }
}

/// The steps of an onboarding and how far each got, from the steps the proxy recorded.
///
/// Each step the proxy records is one line (`check_payment` only in standard mode, `register`
/// only with a number); the last line is the number turning `CONNECTED`. The first step not
/// done is where the onboarding is: active while it runs, needing attention once the
/// onboarding stopped there.
fn steps(o: &Onboarding) -> Vec<(Msg, Mark)> {
    let stopped = matches!(
        o.state,
        OnboardingState::Failed | OnboardingState::ActionRequired
    );
    // Pending, connected or deregistered since: every step ran, whatever the list holds.
    let past_steps = matches!(
        o.state,
        OnboardingState::Pending
            | OnboardingState::Connected
            | OnboardingState::Deregistered
            | OnboardingState::Disconnected
    );
    // Registered with Meta's Cloud API directly: the app is subscribed to the WABA instead of
    // a YCloud bind, and no payment check runs.
    let direct = o.steps.iter().any(|s| s.name == StepName::SubscribeApp);
    let mut lines: Vec<(StepName, Msg)> = match o.mode {
        _ if direct => vec![(StepName::SubscribeApp, Msg::StepBound)],
        Mode::Standard => vec![
            (StepName::Bind, Msg::StepBound),
            (StepName::CheckPayment, Msg::StepPayment),
        ],
        Mode::Coexistence => vec![(StepName::SmbBind, Msg::StepBound)],
    };
    if o.mode == Mode::Standard && o.phone_number_id.is_some() {
        lines.push((StepName::Register, Msg::StepRegistered));
    }
    let mut reached = false;
    let mut out: Vec<(Msg, Mark)> = lines
        .into_iter()
        .map(|(name, msg)| {
            let recorded = o.steps.iter().find(|s| s.name == name).map(|s| s.state);
            let mark = match recorded {
                _ if past_steps => Mark::Done,
                Some(StepState::Done) => Mark::Done,
                _ if reached => Mark::Waiting,
                Some(StepState::Failed) => Mark::Failed,
                _ if stopped => Mark::Failed,
                _ => Mark::Active,
            };
            reached |= mark != Mark::Done;
            (msg, mark)
        })
        .collect();
    let connected = match o.state {
        OnboardingState::Connected => Mark::Done,
        // Taken off the platform by the provider: no longer connected.
        OnboardingState::Deregistered | OnboardingState::Disconnected => Mark::Failed,
        _ if reached => Mark::Waiting,
        _ if stopped => Mark::Failed,
        OnboardingState::Pending => Mark::Active,
        _ => Mark::Waiting,
    };
    out.push((Msg::StepConnected, connected));
    out
}

/// A term and its value (`<dt>`, `<dd data-testid>`), in the number's and the ids' lists.
fn term(label: &'static str, testid: &'static str, value: String) -> [Node; 2] {
    [
        el("dt", &[]).text(label),
        el("dd", &[]).attr("data-testid", testid).text(value),
    ]
}

/// The live progress list of an onboarding, with its ids.
pub(super) fn progress(cx: Ctx) -> Option<Node> {
    let o = cx.flow.screen.with(|s| s.onboarding().cloned())?;
    let l = cx.locale.get();
    let items = steps(&o).into_iter().map(|(msg, mark)| {
        el("li", &[("class", "wa-step")])
            .attr("data-mark", mark.name())
            .kids([
                el(
                    "span",
                    &[("class", "wa-step-mark"), ("aria-hidden", "true")],
                )
                .text(mark.symbol()),
                el("span", &[]).text(l.t(msg)),
                el("span", &[("class", "wa-step-word")]).text(format!(" ({})", l.t(mark.word()))),
            ])
    });
    let number = o
        .phone_number
        .as_ref()
        .filter(|p| p.display_phone_number.is_some() || p.verified_name.is_some())
        .map(|p| {
            let shown = p
                .display_phone_number
                .clone()
                .map(|n| term(l.t(Msg::NumberShownLabel), "display-phone-number", n));
            let verified = p
                .verified_name
                .clone()
                .map(|n| term(l.t(Msg::VerifiedNameLabel), "verified-name", n));
            el("dl", &[("class", "wa-number"), ("data-testid", "number")])
                .kids(shown.into_iter().chain(verified).flatten())
        });
    let ids = term(l.t(Msg::WabaLabel), "waba-id", o.waba_id.to_string())
        .into_iter()
        .chain(
            o.phone_number_id
                .as_ref()
                .map(|p| term(l.t(Msg::NumberLabel), "phone-number-id", p.to_string()))
                .into_iter()
                .flatten(),
        );
    Some(
        el(
            "section",
            &[("class", "wa-progress"), ("data-testid", "progress")],
        )
        .attr("aria-label", l.t(Msg::ProgressTitle))
        .kids(
            [
                heading(cx.level.saturating_add(1).min(6), "wa-subtitle")
                    .text(l.t(Msg::ProgressTitle)),
                el("ol", &[("class", "wa-steps")]).kids(items),
            ]
            .into_iter()
            .chain(number)
            .chain(super::sync::sync_progress(&o, l))
            .chain([el("dl", &[("class", "wa-ids")]).kids(ids)]),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::{ErrorCode, OnboardingError, OnboardingStep, WabaId};

    fn onboarding(mode: Mode, state: OnboardingState) -> Onboarding {
        Onboarding {
            id: "id".into(),
            mode,
            launched_mode: None,
            waba_id: WabaId::parse("1").unwrap(),
            phone_number_id: Some(wire::PhoneNumberId::parse("2").unwrap()),
            business_id: None,
            customer_ref: None,
            state,
            steps: Vec::new(),
            waba: None,
            phone_number: None,
            error: None,
            previous_onboarding_id: None,
            inbound_verified_at: None,
            sync: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn step(name: StepName, state: StepState) -> OnboardingStep {
        OnboardingStep {
            name,
            state,
            started_at: "2026-11-23T10:00:00Z".into(),
            finished_at: None,
            error: None,
        }
    }

    fn marks(o: &Onboarding) -> Vec<Mark> {
        steps(o).into_iter().map(|x| x.1).collect()
    }

    #[test]
    fn standard_steps_follow_what_the_proxy_recorded() {
        use Mark::*;
        let mut o = onboarding(Mode::Standard, OnboardingState::Binding);
        o.steps = vec![step(StepName::Bind, StepState::Started)];
        assert_eq!(marks(&o), [Active, Waiting, Waiting, Waiting]);

        // No payment method: the payment line needs attention, nothing after it moves.
        o.state = OnboardingState::ActionRequired;
        o.steps = vec![
            step(StepName::Bind, StepState::Done),
            step(StepName::CheckPayment, StepState::Failed),
        ];
        assert_eq!(marks(&o), [Done, Failed, Waiting, Waiting]);

        o.state = OnboardingState::Pending;
        o.steps = vec![
            step(StepName::Bind, StepState::Done),
            step(StepName::CheckPayment, StepState::Done),
            step(StepName::Register, StepState::Done),
        ];
        assert_eq!(marks(&o), [Done, Done, Done, Active]);
        o.state = OnboardingState::Connected;
        assert_eq!(marks(&o), [Done, Done, Done, Done]);
        // Connected is connected, even from an answer without its steps.
        o.steps.clear();
        assert_eq!(marks(&o), [Done, Done, Done, Done]);
    }

    #[test]
    fn a_refused_register_is_where_the_onboarding_stopped() {
        // The register budget refused locally: no register step recorded, state failed.
        let mut o = onboarding(Mode::Standard, OnboardingState::Failed);
        o.steps = vec![
            step(StepName::Bind, StepState::Done),
            step(StepName::CheckPayment, StepState::Done),
        ];
        o.error = Some(OnboardingError {
            code: ErrorCode::RegisterLimit,
            message: "m".into(),
            retryable: true,
            upstream_request_id: None,
            retry_after: None,
            candidates: Vec::new(),
        });
        assert_eq!(
            marks(&o),
            [Mark::Done, Mark::Done, Mark::Failed, Mark::Waiting]
        );
    }

    #[test]
    fn a_waba_without_a_number_stops_before_connecting() {
        let mut o = onboarding(Mode::Standard, OnboardingState::ActionRequired);
        o.phone_number_id = None;
        o.steps = vec![
            step(StepName::Bind, StepState::Done),
            step(StepName::CheckPayment, StepState::Done),
        ];
        let s = steps(&o);
        assert_eq!(
            s.iter().map(|x| x.0).collect::<Vec<_>>(),
            [Msg::StepBound, Msg::StepPayment, Msg::StepConnected]
        );
        assert_eq!(marks(&o), [Mark::Done, Mark::Done, Mark::Failed]);
    }

    #[test]
    fn a_deregistered_number_ran_every_step_and_is_no_longer_connected() {
        use Mark::*;
        let mut o = onboarding(Mode::Standard, OnboardingState::Deregistered);
        assert_eq!(marks(&o), [Done, Done, Done, Failed]);
        o.mode = Mode::Coexistence;
        assert_eq!(marks(&o), [Done, Failed]);
    }

    #[test]
    fn with_meta_directly_a_refused_register_is_where_it_stopped() {
        // A number with a PIN: subscribed, then register refused (pin_required).
        let mut o = onboarding(Mode::Standard, OnboardingState::ActionRequired);
        o.steps = vec![
            step(StepName::SubscribeApp, StepState::Done),
            step(StepName::Register, StepState::Failed),
        ];
        let names: Vec<Msg> = steps(&o).into_iter().map(|x| x.0).collect();
        assert_eq!(
            names,
            [Msg::StepBound, Msg::StepRegistered, Msg::StepConnected]
        );
        assert_eq!(marks(&o), [Mark::Done, Mark::Failed, Mark::Waiting]);
        o.state = OnboardingState::Connected;
        o.steps[1].state = StepState::Done;
        assert_eq!(marks(&o), [Mark::Done, Mark::Done, Mark::Done]);
    }

    #[test]
    fn coexistence_has_no_payment_or_register_step() {
        let mut o = onboarding(Mode::Coexistence, OnboardingState::Binding);
        let names: Vec<Msg> = steps(&o).into_iter().map(|x| x.0).collect();
        assert_eq!(names, [Msg::StepBound, Msg::StepConnected]);
        o.state = OnboardingState::Pending;
        o.steps = vec![step(StepName::SmbBind, StepState::Done)];
        assert_eq!(marks(&o), [Mark::Done, Mark::Active]);
    }
}
