//! Onboardings: filtered by state and customer, searched by WABA id, phone number id or
//! phone number, newest first, page by page, read again every few seconds.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::{error_text, every_poll, set_if_changed, state_badge, Notice, STATES};
use crate::api::encode;
use crate::auth::Auth;
use crate::format::{or_dash, time};
use crate::i18n::{t, Msg};

/// The list.
#[component]
pub fn List() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let state = RwSignal::new(String::new());
    let customer = RwSignal::new(String::new());
    let search = RwSignal::new(String::new());
    // The filters applied (the form's fields apply on submit).
    let applied = RwSignal::new((String::new(), String::new(), String::new()));
    // Cursors of the pages before this one, and this page's.
    let cursors = RwSignal::new(Vec::<String>::new());
    let rows = RwSignal::new(None::<Vec<Value>>);
    let next = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<(bool, String)>);

    let load = move || {
        let (state, customer, search) = applied.get_untracked();
        let mut query = String::from("?limit=20");
        for (name, value) in [
            ("state", &state),
            ("customer_ref", &customer),
            ("search", &search),
        ] {
            if !value.trim().is_empty() {
                query.push_str(&format!("&{name}={}", encode(value.trim())));
            }
        }
        if let Some(cursor) = cursors.get_untracked().last() {
            query.push_str(&format!("&cursor={}", encode(cursor)));
        }
        spawn_local(async move {
            match auth
                .call("GET", &format!("/api/partner/onboardings{query}"), None)
                .await
            {
                Ok(page) => {
                    set_if_changed(
                        rows,
                        Some(page["data"].as_array().cloned().unwrap_or_default()),
                    );
                    set_if_changed(next, page["next_cursor"].as_str().map(str::to_owned));
                    set_if_changed(notice, None);
                }
                Err(e) => notice.set(Some((false, error_text(&e)))),
            }
        });
    };
    every_poll(load);
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        applied.set((
            state.get_untracked(),
            customer.get_untracked(),
            search.get_untracked(),
        ));
        cursors.set(Vec::new());
        load();
    };

    view! {
        <h1>{t(Msg::NavOnboardings)}</h1>
        <p class="muted">{t(Msg::OnboardingsIntro)}</p>
        <form class="filters" on:submit=apply data-testid="filters">
            <div>
                <label for="f-state">{t(Msg::State)}</label>
                <select id="f-state" on:change=move |ev| state.set(event_target_value(&ev))>
                    <option value="">{t(Msg::AnyState)}</option>
                    {STATES.iter().map(|s| view! { <option value=*s>{s.replace('_', " ")}</option> }).collect_view()}
                </select>
            </div>
            <div>
                <label for="f-customer">{t(Msg::CustomerRef)}</label>
                <input id="f-customer" type="text" prop:value=move || customer.get()
                    on:input=move |ev| customer.set(event_target_value(&ev))/>
            </div>
            <div>
                <label for="f-search">{t(Msg::SearchWabaOrNumber)}</label>
                <input id="f-search" type="search" inputmode="tel" prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev))/>
            </div>
            <button type="submit">{t(Msg::Apply)}</button>
        </form>
        <Notice message=notice/>
        {move || match rows.get() {
            None => view! { <p class="muted">{t(Msg::Loading)}</p> }.into_any(),
            Some(list) if list.is_empty() => view! { <p data-testid="no-onboardings">{t(Msg::NoOnboardings)}</p> }.into_any(),
            Some(list) => view! {
                <table data-testid="onboardings">
                    <caption class="visually-hidden">{t(Msg::NavOnboardings)}</caption>
                    <thead><tr>
                        <th scope="col">{t(Msg::Created)}</th>
                        <th scope="col">{t(Msg::CustomerRef)}</th>
                        <th scope="col">{t(Msg::Mode)}</th>
                        <th scope="col">{t(Msg::State)}</th>
                        <th scope="col">{t(Msg::Waba)}</th>
                        <th scope="col">{t(Msg::PhoneNumberId)}</th>
                    </tr></thead>
                    <tbody>
                        {list.into_iter().map(|o| {
                            let id = o["id"].as_str().unwrap_or_default().to_owned();
                            view! {
                                <tr data-onboarding=id.clone()>
                                    <td><a href=format!("#/onboardings/{id}") id=format!("open-{id}")>{time(o["created_at"].as_str().unwrap_or_default())}</a></td>
                                    <td>{or_dash(&o["customer_ref"])}</td>
                                    <td>{or_dash(&o["mode"])}</td>
                                    <td>{state_badge(o["state"].as_str().unwrap_or_default().to_owned())}</td>
                                    <td>{or_dash(&o["waba_id"])}</td>
                                    <td>{or_dash(&o["phone_number_id"])}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        }}
        <div class="pager">
            <button type="button" class="secondary" disabled=move || cursors.get().is_empty()
                on:click=move |_| { cursors.update(|c| { c.pop(); }); load(); }>{t(Msg::Newer)}</button>
            <button type="button" class="secondary" disabled=move || next.get().is_none()
                on:click=move |_| {
                    if let Some(n) = next.get_untracked() { cursors.update(|c| c.push(n)); load(); }
                }>{t(Msg::Older)}</button>
        </div>
    }
}
