//! One onboarding: where it stands, its steps as a timeline, health and sync progress, the
//! events sent about it with their deliveries, and what can be done (each confirmed first).
//! Credentials are never asked for here: the partner API keeps them for the backend.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::{error_text, every_poll, set_if_changed, state_badge, Confirm, Notice};
use crate::auth::Auth;
use crate::format::{or_dash, text, time};
use crate::i18n::{t, Msg};

/// The actions, their route under the onboarding, and their confirmation question.
const ACTIONS: [(Msg, &str, Msg, &str); 4] = [
    (Msg::ActionRetry, "retry", Msg::ConfirmRetry, "action-retry"),
    (
        Msg::ActionRestart,
        "restart",
        Msg::ConfirmRestart,
        "action-restart",
    ),
    (
        Msg::ActionDeregister,
        "deregister",
        Msg::ConfirmDeregister,
        "action-deregister",
    ),
    (
        Msg::ActionReauthorize,
        "reauthorize",
        Msg::ConfirmReauthorize,
        "action-reauthorize",
    ),
];

/// The page of onboarding `id`.
#[component]
pub fn Detail(id: String) -> impl IntoView {
    let auth = expect_context::<Auth>();
    let confirm = expect_context::<Confirm>();
    let onboarding = RwSignal::new(None::<Value>);
    let events = RwSignal::new(Vec::<Value>::new());
    let notice = RwSignal::new(None::<(bool, String)>);
    let load = {
        let id = id.clone();
        move || {
            let id = id.clone();
            spawn_local(async move {
                match auth
                    .call("GET", &format!("/api/partner/onboardings/{id}"), None)
                    .await
                {
                    Ok(o) => set_if_changed(onboarding, Some(o)),
                    Err(e) => notice.set(Some((false, error_text(&e)))),
                }
                if let Ok(page) = auth
                    .call(
                        "GET",
                        &format!("/api/partner/events?onboarding_id={id}&limit=100"),
                        None,
                    )
                    .await
                {
                    set_if_changed(events, page["data"].as_array().cloned().unwrap_or_default());
                }
            });
        }
    };
    every_poll(load.clone());

    let act = {
        let id = id.clone();
        move |route: &'static str, label: Msg, question: Msg, button: &'static str| {
            let (id, load) = (id.clone(), load.clone());
            confirm.ask(question, label, button.to_owned(), move || {
                let (id, load) = (id.clone(), load.clone());
                spawn_local(async move {
                    match auth
                        .call(
                            "POST",
                            &format!("/api/partner/onboardings/{id}/{route}"),
                            None,
                        )
                        .await
                    {
                        Ok(answer) => {
                            notice.set(Some((true, outcome(&answer))));
                            // A restart answers the new onboarding: go there.
                            let new_id = answer["id"].as_str().unwrap_or_default();
                            if route == "restart" && !new_id.is_empty() && new_id != id {
                                let _ = window()
                                    .location()
                                    .set_hash(&format!("#/onboardings/{new_id}"));
                            }
                            load();
                        }
                        Err(e) if e.not_offered() => {
                            notice.set(Some((false, t(Msg::NotOffered).to_owned())))
                        }
                        Err(e) => notice.set(Some((false, error_text(&e)))),
                    }
                });
            });
        }
    };
    let redeliver = move |event: String| {
        let button = super::deliveries::redeliver_button_id(&event);
        confirm.ask(Msg::ConfirmRedeliver, Msg::Redeliver, button, move || {
            let event = event.clone();
            spawn_local(async move {
                match auth
                    .call(
                        "POST",
                        &format!("/api/partner/events/{event}/redeliver"),
                        None,
                    )
                    .await
                {
                    Ok(_) => notice.set(Some((true, t(Msg::RedeliverQueued).to_owned()))),
                    Err(e) => notice.set(Some((false, error_text(&e)))),
                }
            });
        });
    };

    view! {
        <p><a href="#/onboardings">{t(Msg::BackToOnboardings)}</a></p>
        <h1>{t(Msg::OnboardingTitle)}</h1>
        <Notice message=notice/>
        {move || onboarding.get().map(|o| {
            let act = act.clone();
            view! {
                <dl class="facts" data-testid="onboarding">
                    <dt>{t(Msg::State)}</dt><dd data-testid="onboarding-state">{state_badge(text(&o["state"]))}</dd>
                    <dt>{t(Msg::CustomerRef)}</dt><dd>{or_dash(&o["customer_ref"])}
                        {(o["customer_ref_verified"] == Value::Bool(false)).then(|| view! { " " <span class="muted">{t(Msg::Unverified)}</span> })}</dd>
                    <dt>{t(Msg::Mode)}</dt><dd>{or_dash(&o["mode"])}</dd>
                    <dt>{t(Msg::Waba)}</dt><dd>{or_dash(&o["waba_id"])}</dd>
                    <dt>{t(Msg::PhoneNumberId)}</dt><dd>{or_dash(&o["phone_number_id"])}</dd>
                    <dt>{t(Msg::PhoneNumber)}</dt><dd>{or_dash(&o["phone_number"]["display_phone_number"])}</dd>
                    <dt>{t(Msg::Created)}</dt><dd>{time(&text(&o["created_at"]))}</dd>
                    <dt>{t(Msg::Updated)}</dt><dd>{time(&text(&o["updated_at"]))}</dd>
                    <dt>{t(Msg::Id)}</dt><dd><code>{text(&o["id"])}</code></dd>
                </dl>
                {o["error"].is_object().then(|| view! {
                    <div class="callout error" data-testid="onboarding-error">
                        <strong>{text(&o["error"]["code"])}</strong>": "{text(&o["error"]["message"])}
                    </div>
                })}
                <h2>{t(Msg::Health)}</h2>
                {match o["health"].as_object() {
                    Some(h) => view! {
                        <dl class="facts" data-testid="health">
                            {h.iter().map(|(k, v)| view! { <dt>{k.replace('_', " ")}</dt><dd>{or_dash(v)}</dd> }).collect_view()}
                        </dl>
                    }.into_any(),
                    None => view! { <p class="muted">{t(Msg::NoHealth)}</p> }.into_any(),
                }}
                {o["sync"].is_object().then(|| view! {
                    <h2>{t(Msg::Sync)}</h2>
                    <p data-testid="sync">{format!("{}: {} · {}: {}{}",
                        t(Msg::Contacts), text(&o["sync"]["contacts"]["state"]),
                        t(Msg::History), text(&o["sync"]["history"]["state"]),
                        o["sync"]["history"]["progress"].as_u64().map(|p| format!(" ({p} %)")).unwrap_or_default())}</p>
                })}
                <h2>{t(Msg::Steps)}</h2>
                <ol class="timeline" data-testid="steps">
                    {o["steps"].as_array().cloned().unwrap_or_default().into_iter().map(|s| view! {
                        <li class=format!("step step-{}", text(&s["state"]))>
                            <strong>{text(&s["name"])}</strong>" "{state_badge(text(&s["state"]))}
                            <span class="muted">" "{time(&text(&s["started_at"]))}
                                {s["finished_at"].as_str().map(|f| format!(" → {}", time(f)))}</span>
                            {s["error"].is_object().then(|| view! { <div class="error">{text(&s["error"]["message"])}</div> })}
                        </li>
                    }).collect_view()}
                </ol>
                <h2>{t(Msg::Actions)}</h2>
                <div class="actions">
                    {ACTIONS.into_iter().map(|(label, route, question, testid)| {
                        let act = act.clone();
                        view! { <button type="button" class="secondary" id=testid data-testid=testid
                            on:click=move |_| act(route, label, question, testid)>{t(label)}</button> }
                    }).collect_view()}
                </div>
            }
        })}
        <h2>{t(Msg::EventsSent)}</h2>
        {move || {
            let list = events.get();
            if list.is_empty() {
                return view! { <p class="muted">{t(Msg::NoEvents)}</p> }.into_any();
            }
            view! { {super::deliveries::event_table(list, redeliver)} }.into_any()
        }}
    }
}

/// What an action left: the onboarding's state as its answer gives it (with its error's code,
/// e.g. `reauthorize`), or "Done." when the answer names none.
fn outcome(answer: &Value) -> String {
    let state = text(&answer["state"]);
    if state.is_empty() {
        return t(Msg::ActionDone).to_owned();
    }
    let code = text(&answer["error"]["code"]);
    let state = state.replace('_', " ");
    match code.is_empty() {
        true => format!("{} {state}", t(Msg::NowInState)),
        false => format!("{} {state} ({code})", t(Msg::NowInState)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_says_where_it_left_the_onboarding() {
        let reauthorize = serde_json::json!({"state": "action_required",
            "error": {"code": "reauthorize", "message": "…"}});
        assert_eq!(
            outcome(&reauthorize),
            "Done. The onboarding is now: action required (reauthorize)"
        );
        assert_eq!(
            outcome(&serde_json::json!({"state": "pending"})),
            "Done. The onboarding is now: pending"
        );
        assert_eq!(outcome(&Value::Null), "Done.");
    }
}
