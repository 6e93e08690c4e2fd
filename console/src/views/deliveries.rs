//! Webhook deliveries that need attention: failed ones and pending ones (each with its
//! attempts, one by one, and last error), redelivered on request; and a signed test event.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::{error_text, every_poll, set_if_changed, state_badge, Confirm, Notice};
use crate::auth::Auth;
use crate::format::{or_dash, text, time};
use crate::i18n::{t, Msg};

/// The id of event `event`'s "redeliver" button (focus returns there from the dialog).
pub fn redeliver_button_id(event: &str) -> String {
    format!("redeliver-{event}")
}

/// An attempt of the delivery's `history` in one line: `#3 · <time> · answered 500 · took
/// 12 ms · next attempt <time>`.
fn attempt_line(a: &Value) -> String {
    let result = match (a["error"].as_str(), a["status"].as_u64()) {
        (Some(error), _) => error.to_owned(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => t(Msg::NoAnswer).to_owned(),
    };
    let mut line = format!(
        "#{} · {} · {result} · {} {} ms",
        text(&a["attempt"]),
        time(&text(&a["at"])),
        t(Msg::Took),
        text(&a["duration_ms"])
    );
    if let Some(next) = a["next_attempt_at"].as_str() {
        line.push_str(&format!(" · {} {}", t(Msg::NextAttempt), time(next)));
    }
    line
}

/// The delivery's attempts: the count, and each attempt behind a disclosure (a proxy that
/// keeps no history shows the count alone).
fn attempts_cell(delivery: &Value, kind: &str) -> impl IntoView {
    let count = or_dash(&delivery["attempts"]);
    let history = delivery["history"].as_array().cloned().unwrap_or_default();
    if history.is_empty() {
        return view! { {count} }.into_any();
    }
    let label = format!("{} {kind}", t(Msg::AttemptsOf));
    view! {
        <details class="attempts" data-testid="attempts">
            <summary>{count}" "<span class="muted">{t(Msg::ShowEachAttempt)}</span></summary>
            <ol aria-label=label>
                {history.iter().map(|a| view! {
                    <li data-attempt=text(&a["attempt"]) data-status=text(&a["status"])>{attempt_line(a)}</li>
                }).collect_view()}
            </ol>
        </details>
    }
    .into_any()
}

/// Events as a table with their delivery and a "redeliver" button each.
pub fn event_table(list: Vec<Value>, redeliver: impl Fn(String) + Copy + 'static) -> impl IntoView {
    view! {
        <table data-testid="events">
            <thead><tr>
                <th scope="col">{t(Msg::Event)}</th>
                <th scope="col">{t(Msg::Created)}</th>
                <th scope="col">{t(Msg::Onboarding)}</th>
                <th scope="col">{t(Msg::Delivery)}</th>
                <th scope="col">{t(Msg::Attempts)}</th>
                <th scope="col">{t(Msg::LastError)}</th>
                <th scope="col">{t(Msg::NextAttempt)}</th>
                <th scope="col"><span class="visually-hidden">{t(Msg::Actions)}</span></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|e| {
                    let id = text(&e["id"]);
                    let onboarding = text(&e["data"]["id"]);
                    let state = text(&e["delivery"]["state"]);
                    let can = state != "disabled";
                    let (row_id, row_state) = (id.clone(), state.clone());
                    view! {
                        <tr data-event=row_id data-delivery=row_state>
                            <td><code>{text(&e["type"])}</code></td>
                            <td>{time(&text(&e["created_at"]))}</td>
                            <td>{if onboarding.is_empty() { view! { "–" }.into_any() } else {
                                view! { <a href=format!("#/onboardings/{onboarding}")>{onboarding.chars().take(8).collect::<String>()}</a> }.into_any()
                            }}</td>
                            <td>{state_badge(state)}</td>
                            <td>{attempts_cell(&e["delivery"], &text(&e["type"]))}</td>
                            <td>{or_dash(&e["delivery"]["last_error"])}</td>
                            <td>{e["delivery"]["next_attempt_at"].as_str().map(time).unwrap_or_else(|| "–".to_owned())}</td>
                            <td>{can.then(|| {
                                let label = format!("{} {}", t(Msg::Redeliver), text(&e["type"]));
                                view! { <button type="button" class="secondary" data-testid="redeliver" aria-label=label
                                    id=redeliver_button_id(&id)
                                    on:click=move |_| redeliver(id.clone())>{t(Msg::Redeliver)}</button> }
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The page.
#[component]
pub fn Deliveries() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let confirm = expect_context::<Confirm>();
    let failed = RwSignal::new(None::<Vec<Value>>);
    let pending = RwSignal::new(None::<Vec<Value>>);
    let notice = RwSignal::new(None::<(bool, String)>);
    let load = move || {
        spawn_local(async move {
            for (state, into) in [("failed", failed), ("pending", pending)] {
                match auth
                    .call(
                        "GET",
                        &format!("/api/partner/events?delivery_state={state}&limit=100"),
                        None,
                    )
                    .await
                {
                    Ok(page) => set_if_changed(
                        into,
                        Some(page["data"].as_array().cloned().unwrap_or_default()),
                    ),
                    Err(e) => notice.set(Some((false, error_text(&e)))),
                }
            }
        });
    };
    every_poll(load);
    let redeliver = move |event: String| {
        let button = redeliver_button_id(&event);
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
                    Ok(_) => {
                        notice.set(Some((true, t(Msg::RedeliverQueued).to_owned())));
                        load();
                    }
                    Err(e) => notice.set(Some((false, error_text(&e)))),
                }
            });
        });
    };
    let test_event = move |_| {
        spawn_local(async move {
            match auth.call("POST", "/api/partner/webhook-test", None).await {
                Ok(answer) => notice.set(Some((
                    true,
                    format!("{} {}", t(Msg::TestEventSent), text(&answer["id"])),
                ))),
                Err(e) => notice.set(Some((false, error_text(&e)))),
            }
        });
    };
    let section = move |title: Msg, rows: RwSignal<Option<Vec<Value>>>, testid: &'static str| {
        view! {
            <section data-testid=testid>
                <h2>{t(title)}</h2>
                {move || match rows.get() {
                    None => view! { <p class="muted">{t(Msg::Loading)}</p> }.into_any(),
                    Some(list) if list.is_empty() => view! { <p>{t(Msg::NothingHere)}</p> }.into_any(),
                    Some(list) => event_table(list, redeliver).into_any(),
                }}
            </section>
        }
    };
    view! {
        <h1>{t(Msg::NavDeliveries)}</h1>
        <p class="muted">{t(Msg::DeliveriesIntro)}</p>
        <p><button type="button" on:click=test_event data-testid="test-event">{t(Msg::SendTestEvent)}</button></p>
        <Notice message=notice/>
        {section(Msg::FailedDeliveries, failed, "failed")}
        {section(Msg::PendingDeliveries, pending, "pending")}
    }
}
