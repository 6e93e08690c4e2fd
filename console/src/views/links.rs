//! Links: a session for a customer (modes, language, lifetime, metadata, pre-filled data,
//! the customer's name), its URL and QR code to hand over, and the list to revoke from.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{json, Map, Value};

use super::{error_text, Confirm, Notice};
use crate::api::encode;
use crate::auth::Auth;
use crate::format::{or_dash, text, time};
use crate::i18n::{t, Msg};

/// Lifetimes offered, in seconds.
const LIFETIMES: [(u32, Msg); 4] = [
    (3600, Msg::OneHour),
    (86_400, Msg::OneDay),
    (604_800, Msg::OneWeek),
    (2_592_000, Msg::ThirtyDays),
];

/// A JSON object typed into a text area: none when empty.
fn object_field(text: &str) -> Result<Option<Map<String, Value>>, ()> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        _ => Err(()),
    }
}

/// The page.
#[component]
pub fn Links() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let confirm = expect_context::<Confirm>();
    let customer = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let standard = RwSignal::new(true);
    let coexistence = RwSignal::new(true);
    let locale = RwSignal::new(String::new());
    let lifetime = RwSignal::new(86_400u32);
    let metadata = RwSignal::new(String::new());
    let prefill = RwSignal::new(String::new());
    let created = RwSignal::new(None::<Value>);
    let notice = RwSignal::new(None::<(bool, String)>);
    let list = RwSignal::new(None::<Result<Vec<Value>, String>>);
    let filter = RwSignal::new(String::new());

    let load = move || {
        let mut query = String::from("?limit=50");
        let f = filter.get_untracked();
        if !f.trim().is_empty() {
            query.push_str(&format!("&customer_ref={}", encode(f.trim())));
        }
        spawn_local(async move {
            let answer = auth
                .call("GET", &format!("/api/partner/sessions{query}"), None)
                .await;
            list.set(Some(match answer {
                Ok(page) => Ok(page["data"].as_array().cloned().unwrap_or_default()),
                Err(e) if e.not_offered() => Err(t(Msg::SessionListNotOffered).to_owned()),
                Err(e) => Err(error_text(&e)),
            }));
        });
    };
    load();

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut modes = Vec::new();
        if standard.get_untracked() {
            modes.push("standard");
        }
        if coexistence.get_untracked() {
            modes.push("coexistence");
        }
        if modes.is_empty() {
            notice.set(Some((false, t(Msg::PickAMode).to_owned())));
            return;
        }
        let mut body = json!({
            "customer_ref": customer.get_untracked().trim(),
            "modes": modes,
            "expires_in": lifetime.get_untracked(),
        });
        let (Ok(meta), Ok(pre)) = (
            object_field(&metadata.get_untracked()),
            object_field(&prefill.get_untracked()),
        ) else {
            notice.set(Some((false, t(Msg::NotAnObject).to_owned())));
            return;
        };
        if let Some(m) = meta {
            body["metadata"] = Value::Object(m);
        }
        if let Some(p) = pre {
            body["prefill"] = Value::Object(p);
        }
        let (l, n) = (locale.get_untracked(), name.get_untracked());
        if !l.is_empty() {
            body["locale"] = Value::String(l);
        }
        if !n.trim().is_empty() {
            body["customer_name"] = Value::String(n.trim().to_owned());
        }
        spawn_local(async move {
            match auth
                .call("POST", "/api/partner/sessions", Some(&body))
                .await
            {
                Ok(session) => {
                    created.set(Some(session));
                    notice.set(Some((true, t(Msg::LinkCreated).to_owned())));
                    load();
                }
                Err(e) => notice.set(Some((false, error_text(&e)))),
            }
        });
    };
    let revoke = move |id: String| {
        let button = format!("revoke-{id}");
        confirm.ask(Msg::ConfirmRevoke, Msg::Revoke, button, move || {
            let id = id.clone();
            spawn_local(async move {
                match auth
                    .call("DELETE", &format!("/api/partner/sessions/{id}"), None)
                    .await
                {
                    Ok(_) => {
                        notice.set(Some((true, t(Msg::LinkRevoked).to_owned())));
                        load();
                    }
                    Err(e) => notice.set(Some((false, error_text(&e)))),
                }
            });
        });
    };

    view! {
        <h1>{t(Msg::NavLinks)}</h1>
        <p class="muted">{t(Msg::LinksIntro)}</p>
        <form class="stack" on:submit=create data-testid="link-form">
            <label for="l-customer">{t(Msg::CustomerRef)}</label>
            <input id="l-customer" type="text" required maxlength="128" prop:value=move || customer.get()
                on:input=move |ev| customer.set(event_target_value(&ev))/>
            <label for="l-name">{t(Msg::CustomerName)}</label>
            <input id="l-name" type="text" maxlength="128" prop:value=move || name.get()
                on:input=move |ev| name.set(event_target_value(&ev))/>
            <fieldset>
                <legend>{t(Msg::Modes)}</legend>
                <label><input type="checkbox" prop:checked=move || standard.get()
                    on:change=move |ev| standard.set(event_target_checked(&ev))/>" standard"</label>
                <label><input type="checkbox" prop:checked=move || coexistence.get()
                    on:change=move |ev| coexistence.set(event_target_checked(&ev))/>" coexistence"</label>
            </fieldset>
            <label for="l-locale">{t(Msg::Language)}</label>
            <select id="l-locale" on:change=move |ev| locale.set(event_target_value(&ev))>
                <option value="">{t(Msg::CustomersBrowser)}</option>
                <option value="en">"English"</option>
                <option value="zh-Hans" lang="zh-Hans">"简体中文"</option>
                <option value="zh-Hant" lang="zh-Hant">"繁體中文"</option>
                <option value="vi" lang="vi">"Tiếng Việt"</option>
            </select>
            <label for="l-expiry">{t(Msg::Expires)}</label>
            <select id="l-expiry" on:change=move |ev| lifetime.set(event_target_value(&ev).parse().unwrap_or(86_400))>
                {LIFETIMES.into_iter().map(|(s, label)| view! {
                    <option value=s.to_string() selected=s == 86_400>{t(label)}</option>
                }).collect_view()}
            </select>
            <label for="l-metadata">{t(Msg::Metadata)}</label>
            <textarea id="l-metadata" rows="2" placeholder="{\"plan\": \"pro\"}"
                on:input=move |ev| metadata.set(event_target_value(&ev))></textarea>
            <label for="l-prefill">{t(Msg::Prefill)}</label>
            <textarea id="l-prefill" rows="2" placeholder="{\"business\": {\"name\": \"…\"}}"
                on:input=move |ev| prefill.set(event_target_value(&ev))></textarea>
            <button type="submit" data-testid="create-link">{t(Msg::CreateLink)}</button>
        </form>
        <Notice message=notice/>
        {move || created.get().map(|s| {
            let url = text(&s["url"]);
            let qr = crate::qr::svg_path(&url);
            view! {
                <section class="created" data-testid="created-link">
                    <h2>{t(Msg::NewLink)}</h2>
                    <label for="l-url">{t(Msg::LinkUrl)}</label>
                    <input id="l-url" type="text" readonly prop:value=url.clone() data-testid="link-url"/>
                    <p class="muted">{t(Msg::ShownOnce)}" "{t(Msg::ExpiresAt)}" "{time(&text(&s["expires_at"]))}</p>
                    {qr.map(|(side, path)| view! {
                        <svg class="qr" role="img" aria-label=t(Msg::QrLabel) data-testid="link-qr"
                            viewBox=format!("0 0 {side} {side}") width="200" height="200" shape-rendering="crispEdges">
                            <rect width="100%" height="100%" fill="#fff"/>
                            <path d=path fill="#000"/>
                        </svg>
                    })}
                </section>
            }
        })}
        <h2>{t(Msg::Links)}</h2>
        <form class="filters" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); load(); }>
            <div>
                <label for="l-filter">{t(Msg::CustomerRef)}</label>
                <input id="l-filter" type="text" prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))/>
            </div>
            <button type="submit" class="secondary">{t(Msg::Apply)}</button>
        </form>
        {move || match list.get() {
            None => view! { <p class="muted">{t(Msg::Loading)}</p> }.into_any(),
            Some(Err(message)) => view! { <p class="callout" data-testid="links-unavailable">{message}</p> }.into_any(),
            Some(Ok(rows)) if rows.is_empty() => view! { <p>{t(Msg::NothingHere)}</p> }.into_any(),
            Some(Ok(rows)) => view! {
                <table data-testid="links">
                    <thead><tr>
                        <th scope="col">{t(Msg::Created)}</th>
                        <th scope="col">{t(Msg::CustomerRef)}</th>
                        <th scope="col">{t(Msg::Modes)}</th>
                        <th scope="col">{t(Msg::Expires)}</th>
                        <th scope="col">{t(Msg::OnboardingsCreated)}</th>
                        <th scope="col">{t(Msg::State)}</th>
                        <th scope="col"><span class="visually-hidden">{t(Msg::Actions)}</span></th>
                    </tr></thead>
                    <tbody>
                        {rows.into_iter().map(|s| {
                            let id = text(&s["id"]);
                            let revoked = s["revoked_at"].is_string();
                            let row_id = id.clone();
                            view! {
                                <tr data-session=row_id>
                                    <td>{time(&text(&s["created_at"]))}</td>
                                    <td>{or_dash(&s["customer_ref"])}</td>
                                    <td>{s["modes"].as_array().map(|m| m.iter().map(text).collect::<Vec<_>>().join(", ")).unwrap_or_default()}</td>
                                    <td>{time(&text(&s["expires_at"]))}</td>
                                    <td>{or_dash(&s["onboardings_created"])}</td>
                                    <td>{if revoked { t(Msg::Revoked) } else { t(Msg::Active) }}</td>
                                    <td>{(!revoked).then(|| view! {
                                        <button type="button" class="secondary" data-testid="revoke" id=format!("revoke-{id}")
                                            aria-label=format!("{} {}", t(Msg::Revoke), text(&s["customer_ref"]))
                                            on:click=move |_| revoke(id.clone())>{t(Msg::Revoke)}</button>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_objects_pass_as_metadata() {
        assert_eq!(object_field("  "), Ok(None));
        assert!(object_field(r#"{"a":1}"#).unwrap().is_some());
        assert!(object_field("[1]").is_err());
        assert!(object_field("{").is_err());
    }
}
