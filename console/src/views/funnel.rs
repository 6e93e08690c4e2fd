//! The funnel over 7 or 30 days, as a bar chart (SVG): links created, opened, popups
//! launched, sign-ups finished, connected; then where customers cancelled and which popup
//! errors they met.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::{error_text, Notice};
use crate::auth::Auth;
use crate::format::{text, time};
use crate::i18n::{t, Msg};

/// One bar: its label and count (none: not recorded by this proxy).
type Bar = (String, Option<u64>);

/// The funnel's bars, in order.
fn steps(f: &Value) -> Vec<Bar> {
    [
        (Msg::SessionsCreated, "sessions_created"),
        (Msg::LinksOpened, "links_opened"),
        (Msg::PopupsLaunched, "popups_launched"),
        (Msg::Finished, "finished"),
        (Msg::Connected, "connected"),
    ]
    .into_iter()
    .map(|(label, field)| (t(label).to_owned(), f[field].as_u64()))
    .collect()
}

/// A breakdown (`cancelled`, `errors`) as bars.
fn breakdown(list: &Value) -> Vec<Bar> {
    list.as_array()
        .map(|l| {
            l.iter()
                .map(|c| (text(&c["key"]), c["count"].as_u64()))
                .collect()
        })
        .unwrap_or_default()
}

/// A horizontal bar chart; its text alternative names every bar.
fn chart(title: String, bars: Vec<Bar>, testid: &'static str) -> impl IntoView {
    let max = bars.iter().filter_map(|b| b.1).max().unwrap_or(0).max(1);
    let row = 34;
    let height = row * bars.len().max(1) as i64 + 8;
    let summary = bars
        .iter()
        .map(|(label, n)| {
            format!(
                "{label}: {}",
                n.map(|n| n.to_string())
                    .unwrap_or_else(|| t(Msg::NotRecorded).to_owned())
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title.clone()}</figcaption>
            <svg role="img" aria-label=format!("{title}. {summary}") viewBox=format!("0 0 640 {height}") width="100%">
                {bars.into_iter().enumerate().map(|(i, (label, n))| {
                    let y = i as i64 * row + 4;
                    let width = n.map(|n| (n as f64 / max as f64 * 360.0).round() as i64).unwrap_or(0);
                    let value = n.map(|n| n.to_string()).unwrap_or_else(|| t(Msg::NotRecorded).to_owned());
                    let (bar, count) = (label.clone(), value.clone());
                    view! {
                        <g data-bar=bar data-count=count>
                            <text x="0" y=y + 20 class="bar-label">{label}</text>
                            <rect x="220" y=y width=width.max(1) height="24" class="bar" rx="2"/>
                            <text x=228 + width y=y + 18 class="bar-value">{value}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
        </figure>
    }
}

/// The page.
#[component]
pub fn FunnelView() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let days = RwSignal::new(7u32);
    let funnel = RwSignal::new(None::<Value>);
    let notice = RwSignal::new(None::<(bool, String)>);
    Effect::new(move |_| {
        let d = days.get();
        spawn_local(async move {
            match auth
                .call("GET", &format!("/api/partner/funnel?days={d}"), None)
                .await
            {
                Ok(f) => funnel.set(Some(f)),
                Err(e) => notice.set(Some((false, error_text(&e)))),
            }
        });
    });
    let pick = move |d: u32, label: Msg| {
        view! {
            <button type="button" class="toggle" aria-pressed=move || (days.get() == d).to_string()
                data-testid=format!("days-{d}") on:click=move |_| days.set(d)>{t(label)}</button>
        }
    };
    view! {
        <h1>{t(Msg::NavFunnel)}</h1>
        <p class="muted">{t(Msg::FunnelIntro)}</p>
        <div class="toggles" role="group" aria-label=t(Msg::Window)>
            {pick(7, Msg::SevenDays)}
            {pick(30, Msg::ThirtyDays)}
        </div>
        <Notice message=notice/>
        {move || funnel.get().map(|f| view! {
            <p class="muted">{t(Msg::Since)}" "{time(&text(&f["since"]))}</p>
            {f["popups_launched"].is_null().then(|| view! { <p class="callout">{t(Msg::PopupsNotRecorded)}</p> })}
            {chart(t(Msg::Funnel).to_owned(), steps(&f), "funnel-chart")}
            {chart(t(Msg::Cancelled).to_owned(), breakdown(&f["cancelled"]), "cancel-chart")}
            {chart(t(Msg::PopupErrors).to_owned(), breakdown(&f["errors"]), "error-chart")}
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_follow_the_funnel_and_missing_counts_stay_missing() {
        let f = serde_json::json!({"sessions_created": 4, "links_opened": 3, "popups_launched": null,
            "finished": 2, "connected": 1, "cancelled": [{"key": "PHONE_NUMBER_SETUP", "count": 2}], "errors": []});
        let bars = steps(&f);
        assert_eq!(bars.len(), 5);
        assert_eq!(bars[0].1, Some(4));
        assert_eq!(bars[2].1, None);
        assert_eq!(
            breakdown(&f["cancelled"]),
            vec![("PHONE_NUMBER_SETUP".to_owned(), Some(2))]
        );
        assert!(breakdown(&f["errors"]).is_empty());
    }
}
