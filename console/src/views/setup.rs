//! The setup check: mode and provider, which settings are set (never their values) and what
//! to do about each missing one, where the webhooks must point, and how the partner
//! webhook's last delivery went.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::{error_text, Notice};
use crate::auth::Auth;
use crate::format::text;
use crate::i18n::{t, Msg};

/// What to do when `setting` is missing.
pub fn fix_for(setting: &str) -> Msg {
    match setting {
        "YCLOUD_API_KEY" => Msg::FixYcloudKey,
        "YCLOUD_WEBHOOK_SECRET" => Msg::FixYcloudWebhook,
        "FB_APP_ID" | "FB_CONFIG_ID" => Msg::FixFbApp,
        "FB_APP_SECRET" => Msg::FixAppSecret,
        "PARTNER_WEBHOOK_URL" | "PARTNER_WEBHOOK_SECRET" => Msg::FixPartnerWebhook,
        "TOKEN_ENCRYPTION_KEY" => Msg::FixEncryptionKey,
        "META_WEBHOOK_VERIFY_TOKEN" => Msg::FixVerifyToken,
        _ => Msg::FixSetting,
    }
}

/// The page.
#[component]
pub fn SetupView() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let setup = RwSignal::new(None::<Value>);
    let notice = RwSignal::new(None::<(bool, String)>);
    spawn_local(async move {
        match auth.call("GET", "/api/partner/setup", None).await {
            Ok(s) => setup.set(Some(s)),
            Err(e) => notice.set(Some((false, error_text(&e)))),
        }
    });
    view! {
        <h1>{t(Msg::NavSetup)}</h1>
        <Notice message=notice/>
        {move || setup.get().map(|s| view! {
            <dl class="facts" data-testid="setup">
                <dt>{t(Msg::ModeOfProxy)}</dt><dd data-testid="setup-mode">{text(&s["mode"])}</dd>
                <dt>{t(Msg::Provider)}</dt><dd>{text(&s["provider"])}</dd>
                <dt>{t(Msg::PublicUrl)}</dt><dd><code>{text(&s["public_url"])}</code></dd>
                <dt>{t(Msg::YcloudWebhookUrl)}</dt><dd><code>{text(&s["ycloud_webhook_url"])}</code></dd>
                <dt>{t(Msg::MetaWebhookUrl)}</dt><dd><code>{text(&s["meta_webhook_url"])}</code></dd>
            </dl>
            <table data-testid="settings">
                <thead><tr>
                    <th scope="col">{t(Msg::Setting)}</th>
                    <th scope="col">{t(Msg::Status)}</th>
                    <th scope="col">{t(Msg::WhatToDo)}</th>
                </tr></thead>
                <tbody>
                    {s["settings"].as_array().cloned().unwrap_or_default().into_iter().map(|row| {
                        let name = text(&row["name"]);
                        let present = row["present"] == Value::Bool(true);
                        let needed = row["needed"] == Value::Bool(true);
                        let (status, class) = match (present, needed) {
                            (true, _) => (t(Msg::Set), "ok"),
                            (false, true) => (t(Msg::Missing), "bad"),
                            (false, false) => (t(Msg::NotNeeded), "muted"),
                        };
                        let fix = (!present && needed).then(|| t(fix_for(&name)));
                        let row_name = name.clone();
                        view! {
                            <tr data-setting=row_name>
                                <td><code>{name}</code></td>
                                <td class=class>{status}</td>
                                <td>{fix.unwrap_or("–")}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h2>{t(Msg::LastDelivery)}</h2>
            {match s["last_delivery"].as_object() {
                None => view! { <p class="muted" data-testid="last-delivery">{t(Msg::NoDeliveryYet)}</p> }.into_any(),
                Some(d) => view! {
                    <p data-testid="last-delivery">
                        <code>{text(&d["event_id"])}</code>": "{text(&d["state"])}
                        {d.get("last_error").map(|e| format!(" ({})", text(e)))}
                        {(text(&d["state"]) == "failed").then(|| view! { " " {t(Msg::FixDelivery)} })}
                    </p>
                }.into_any(),
            }}
        })}
    }
}
