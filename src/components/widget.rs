use leptos::html;
use leptos::prelude::*;
use wire::Mode;

use super::heading::heading;
use super::tree::{el, Node};
use super::{live, Ctx};
use crate::browser::{dom, http, json};
use crate::embed::WidgetOptions;
use crate::flow::{Flow, Screen};
use crate::i18n::{self, Locale, Msg};

/// The onboarding widget: language switch, one launch button per enabled mode, the status
/// region and the live progress of the onboarding.
#[component]
pub fn Widget(
    /// Options from `mount(element, options)`, `data-*` attributes or the standalone page.
    #[prop(optional)]
    options: WidgetOptions,
) -> impl IntoView {
    let explicit = options.locale.clone();
    let browser = dom::browser_languages();
    let choose = move |session| {
        Locale::initial(
            explicit.as_deref(),
            session,
            browser.iter().map(String::as_str),
        )
    };
    let initial = choose(None);
    let level = options.heading_level.unwrap_or(2);
    let flow = Flow::new(options);
    // `wanted` is the language asked for, `locale` the one shown: they differ while a
    // language other than English is on its way (the bundle speaks only English by itself).
    let wanted = RwSignal::new(initial);
    let locale = RwSignal::new(if initial.is_ready() {
        initial
    } else {
        Locale::En
    });
    let cx = Ctx {
        flow,
        locale,
        wanted,
        level,
    };
    show(cx, initial);
    let root = NodeRef::<html::Section>::new();
    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        match root.get() {
            Some(el) => {
                flow.set_root(el.into());
                flow.start();
                true
            }
            None => false,
        }
    });

    // The session's language, once the proxy has named it, unless the page chose one or the
    // customer already switched.
    Effect::new(move |_| {
        let session = flow.session.with(|s| s.as_ref().and_then(|s| s.locale));
        if session.is_some() && wanted.get_untracked() == initial {
            show(cx, choose(session));
        }
    });

    // One list of parts, each drawn by the same closure type: the section's rendering is
    // compiled once for all of them rather than once per position.
    let parts: [fn(Ctx) -> Option<Node>; 11] = [
        header,
        sandbox_badge,
        intro,
        connecting_to,
        launch_buttons,
        super::status::status,
        continue_buttons,
        return_link,
        super::first_message::first_message,
        super::pin::pin_form,
        super::progress::progress,
    ];
    let parts: Vec<_> = parts.into_iter().map(|draw| live(cx, draw)).collect();
    view! {
        <section class="wa-signup" node_ref=root lang=move || locale.get().tag()>
            {parts}
        </section>
    }
}

/// Shows the widget in `l`, once its sentences are here (fetched unless built in).
fn show(cx: Ctx, l: Locale) {
    let Ctx {
        flow,
        locale,
        wanted,
        ..
    } = cx;
    wanted.set(l);
    if l.is_ready() {
        locale.set(l);
        return;
    }
    let url = flow.proxy().url(&format!("/i18n/{}.json", l.tag()));
    leptos::task::spawn_local(async move {
        if let Ok(answer) = http::fetch("GET", &url, None, None).await {
            if let Some(sentences) = json::from_text::<Vec<String>>(&answer.text) {
                i18n::deliver(l, sentences);
            }
        }
        // Only the last choice counts; one that did not arrive leaves the page as it was.
        if l.is_ready() && wanted.try_get_untracked() == Some(l) {
            locale.try_set(l);
        }
    });
}

fn finished(cx: Ctx) -> bool {
    cx.flow.screen.with(Screen::is_finished)
}

fn partner_name(cx: Ctx) -> Option<String> {
    cx.flow
        .config
        .with(|c| c.as_ref().and_then(|c| c.partner_name.clone()))
}

/// The title and the language switch.
fn header(cx: Ctx) -> Option<Node> {
    let l = cx.locale.get();
    let options = Locale::ALL.into_iter().map(|o| {
        el("option", &[])
            .attr("value", o.tag())
            .flag("selected", o == l)
            .text(o.native_name())
    });
    let select = el("select", &[("data-testid", "locale")])
        .kids(options)
        .on("change", move |ev| {
            if let Some(l) = Locale::from_tag(&event_target_value(&ev)) {
                show(cx, l);
            }
        });
    Some(
        el("header", &[("class", "wa-header")]).kids([
            heading(cx.level, "wa-title").text(l.t(Msg::Title)),
            el("label", &[("class", "wa-language")])
                .kids([el("span", &[]).text(l.t(Msg::Language)), select]),
        ]),
    )
}

/// Said in words (not only a colour) and announced as a note.
fn sandbox_badge(cx: Ctx) -> Option<Node> {
    let sandbox = cx
        .flow
        .config
        .with(|c| c.as_ref().is_some_and(|c| c.sandbox));
    sandbox.then(|| {
        el(
            "p",
            &[
                ("class", "wa-sandbox-badge"),
                ("data-testid", "sandbox-badge"),
                ("role", "note"),
            ],
        )
        .kids([el(
            "span",
            &[("class", "wa-sandbox-mark"), ("aria-hidden", "true")],
        )
        .text("!")])
        .text(cx.locale.get().t(Msg::SandboxBadge))
    })
}

fn intro(cx: Ctx) -> Option<Node> {
    (!finished(cx)).then(|| el("p", &[("class", "wa-intro")]).text(cx.locale.get().t(Msg::Intro)))
}

/// Whom the sign-up connects, before the buttons: the partner (`PARTNER_NAME`) and the
/// customer (the session's `customer_name`), as far as known; text only, never markup.
fn connecting_to(cx: Ctx) -> Option<Node> {
    let partner = partner_name(cx);
    let customer = cx.flow.session.with(|s| {
        s.as_ref()
            .and_then(|s| s.customer_name.as_ref().map(|n| n.as_str().to_owned()))
    });
    let text = cx
        .locale
        .get()
        .connecting(partner.as_deref(), customer.as_deref())?;
    (!finished(cx)).then(|| {
        el(
            "p",
            &[("class", "wa-connecting"), ("data-testid", "connecting-to")],
        )
        .text(text)
    })
}

/// One launch button per mode, known once the configuration and the session are: none
/// before, none for a page that may not start an onboarding.
fn launch_buttons(cx: Ctx) -> Option<Node> {
    let flow = cx.flow;
    let l = cx.locale.get();
    let shown = flow.screen.with(Screen::offers_launch);
    let disabled = !flow.screen.with(Screen::can_launch);
    let buttons = flow
        .offered
        .get()
        .into_iter()
        .filter(|_| shown)
        .map(|mode| {
            let (label, explain, testid) = match mode {
                Mode::Standard => (Msg::LaunchStandard, Msg::ExplainStandard, "launch-standard"),
                Mode::Coexistence => (
                    Msg::LaunchCoexistence,
                    Msg::ExplainCoexistence,
                    "launch-coexistence",
                ),
            };
            let explain_id = format!("wa-explain-{}", mode.as_str());
            el("div", &[("class", "wa-mode")]).kids([
                el(
                    "button",
                    &[("type", "button"), ("class", "wa-button wa-launch")],
                )
                .attr("data-testid", testid)
                .attr("aria-describedby", explain_id.clone())
                .flag("disabled", disabled)
                .on("click", move |_| flow.launch(mode))
                .text(l.t(label)),
                el("p", &[("class", "wa-explain")])
                    .attr("id", explain_id)
                    .text(l.t(explain)),
            ])
        });
    Some(el("div", &[("class", "wa-modes")]).kids(buttons))
}

/// "Continue in this window": where the popup cannot work and the proxy offers the
/// full-page sign-in (one button per mode the screen names).
fn continue_buttons(cx: Ctx) -> Option<Node> {
    let Ctx { flow, locale, .. } = cx;
    let l = locale.get();
    let redirect = flow
        .config
        .with(|c| c.as_ref().is_some_and(|c| c.redirect_flow));
    let offered = flow.offered.get();
    let modes = flow.screen.with(|s| s.redirect_modes(&offered, redirect));
    let several = modes.len() > 1;
    let buttons = modes.into_iter().map(|mode| {
        let label = match mode {
            _ if !several => l.t(Msg::ContinueRedirect).to_owned(),
            Mode::Standard => format!(
                "{}: {}",
                l.t(Msg::ContinueRedirect),
                l.t(Msg::LaunchStandard)
            ),
            Mode::Coexistence => format!(
                "{}: {}",
                l.t(Msg::ContinueRedirect),
                l.t(Msg::LaunchCoexistence)
            ),
        };
        el(
            "button",
            &[
                ("type", "button"),
                ("class", "wa-button wa-continue"),
                ("data-testid", "continue-redirect"),
            ],
        )
        .attr("data-mode", mode.as_str())
        .on("click", move |_| {
            flow.continue_redirect(mode, locale.get_untracked().into())
        })
        .text(label)
    });
    Some(el("div", &[("class", "wa-redirect")]).kids(buttons))
}

/// Back to the partner, once finished, when its session gave a way back. The proxy
/// checked the URL (https on one of ALLOWED_ORIGINS); the scheme is checked again here
/// since an `href` is no place for anything else.
fn return_link(cx: Ctx) -> Option<Node> {
    let url = cx
        .flow
        .session
        .with(|s| s.as_ref().and_then(|s| s.return_url.clone()))
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))?;
    finished(cx).then_some(())?;
    let l = cx.locale.get();
    let label = match partner_name(cx) {
        Some(p) => l.fill(Msg::ReturnTo, &[("partner", &p)]),
        None => l.t(Msg::ReturnBack).to_owned(),
    };
    Some(
        el(
            "a",
            &[
                ("class", "wa-button wa-return"),
                ("data-testid", "return-to-partner"),
            ],
        )
        .attr("href", url)
        .text(label),
    )
}
