use leptos::prelude::*;
use wire::{Mode, Onboarding, OnboardingState};

use crate::flow::{Flow, Problem, Screen};
use crate::i18n::{Locale, Msg};

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

/// The steps of an onboarding and how far each got, read from its state and YCloud objects.
fn steps(o: &Onboarding) -> Vec<(Msg, Mark)> {
    use OnboardingState::*;
    let failed_here = |active: bool| {
        if !active {
            Mark::Waiting
        } else if matches!(o.state, Failed | ActionRequired) {
            Mark::Failed
        } else {
            Mark::Active
        }
    };
    let bound = o.waba.is_some() || (o.mode == Mode::Coexistence && o.phone_number.is_some());
    let payment = o
        .waba
        .as_ref()
        .and_then(|w| w.get("paymentMethodAttached"))
        .and_then(serde_json::Value::as_bool);
    let registered = o.phone_number.is_some();
    let connected = o.state == Connected;
    let mark = |done: bool, reached: bool| {
        if done {
            Mark::Done
        } else {
            failed_here(reached)
        }
    };

    let mut out = vec![(Msg::StepBound, mark(bound, true))];
    if o.mode == Mode::Standard {
        out.push((Msg::StepPayment, mark(payment == Some(true), bound)));
        if o.phone_number_id.is_some() {
            out.push((Msg::StepRegistered, mark(registered, payment == Some(true))));
        }
    }
    out.push((
        Msg::StepConnected,
        mark(
            connected,
            registered || (bound && o.phone_number_id.is_none()),
        ),
    ));
    out
}

/// The live progress list of an onboarding, with its ids.
#[component]
pub fn Progress(
    /// The widget's flow.
    flow: Flow,
    /// The language to speak.
    locale: RwSignal<Locale>,
) -> impl IntoView {
    let onboarding = move || {
        flow.screen.with(|s| match s {
            Screen::Progress(o) | Screen::Connected(o) | Screen::ActionRequired(o) => {
                Some(o.clone())
            }
            Screen::Failed(Problem::Onboarding(o)) => Some(o.clone()),
            _ => None,
        })
    };
    move || {
        onboarding().map(|o| {
            let l = locale.get();
            let items = steps(&o)
                .into_iter()
                .map(|(msg, mark)| {
                    view! {
                        <li class="wa-step" data-mark=mark.name()>
                            <span class="wa-step-mark" aria-hidden="true">{mark.symbol()}</span>
                            <span>{l.t(msg)}</span>
                            <span class="wa-step-word">{format!(" ({})", l.t(mark.word()))}</span>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <section class="wa-progress" data-testid="progress" aria-label=l.t(Msg::ProgressTitle)>
                    <h3 class="wa-subtitle">{l.t(Msg::ProgressTitle)}</h3>
                    <ol class="wa-steps">{items}</ol>
                    <dl class="wa-ids">
                        <dt>{l.t(Msg::WabaLabel)}</dt>
                        <dd data-testid="waba-id">{o.waba_id.to_string()}</dd>
                        {o.phone_number_id.as_ref().map(|p| view! {
                            <dt>{l.t(Msg::NumberLabel)}</dt>
                            <dd data-testid="phone-number-id">{p.to_string()}</dd>
                        })}
                    </dl>
                </section>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::WabaId;

    fn onboarding(mode: Mode, state: OnboardingState) -> Onboarding {
        Onboarding {
            id: "id".into(),
            mode,
            waba_id: WabaId::parse("1").unwrap(),
            phone_number_id: Some(wire::PhoneNumberId::parse("2").unwrap()),
            business_id: None,
            customer_ref: None,
            state,
            waba: None,
            phone_number: None,
            error: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn standard_steps_follow_the_onboarding() {
        let mut o = onboarding(Mode::Standard, OnboardingState::Binding);
        assert_eq!(steps(&o)[0], (Msg::StepBound, Mark::Active));
        o.waba = Some(serde_json::json!({"paymentMethodAttached": false}));
        o.state = OnboardingState::ActionRequired;
        assert_eq!(steps(&o)[1], (Msg::StepPayment, Mark::Failed));
        o.waba = Some(serde_json::json!({"paymentMethodAttached": true}));
        o.phone_number = Some(serde_json::json!({"status": "PENDING"}));
        o.state = OnboardingState::Pending;
        let s = steps(&o);
        assert_eq!(
            s.iter().map(|x| x.1).collect::<Vec<_>>(),
            [Mark::Done, Mark::Done, Mark::Done, Mark::Active]
        );
        o.state = OnboardingState::Connected;
        assert!(steps(&o).iter().all(|x| x.1 == Mark::Done));
    }

    #[test]
    fn coexistence_has_no_payment_or_register_step() {
        let o = onboarding(Mode::Coexistence, OnboardingState::Binding);
        let names: Vec<Msg> = steps(&o).into_iter().map(|x| x.0).collect();
        assert_eq!(names, [Msg::StepBound, Msg::StepConnected]);
    }
}
