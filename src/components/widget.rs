use leptos::html;
use leptos::prelude::*;
use wire::Mode;

use super::first_message::FirstMessage;
use super::heading::heading;
use super::pin::PinForm;
use super::progress::Progress;
use super::status::Status;
use super::text;
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
    let show = move |l: Locale| {
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
    };
    show(initial);
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
            show(choose(session));
        }
    });

    let t = move |m: Msg| locale.get().t(m);
    let can_launch = move || flow.screen.with(|s| s.can_launch());
    let is_sandbox = move || flow.config.with(|c| c.as_ref().is_some_and(|c| c.sandbox));
    let launch_button = move |mode: Mode| {
        let (label, explain, testid) = match mode {
            Mode::Standard => (Msg::LaunchStandard, Msg::ExplainStandard, "launch-standard"),
            Mode::Coexistence => (
                Msg::LaunchCoexistence,
                Msg::ExplainCoexistence,
                "launch-coexistence",
            ),
        };
        let explain_id = format!("wa-explain-{}", mode.as_str());
        view! {
            <div class="wa-mode">
                <button type="button" class="wa-button wa-launch" data-testid=testid
                    aria-describedby=explain_id.clone()
                    disabled=move || !can_launch()
                    on:click=move |_| flow.launch(mode)>
                    {text(locale, label)}
                </button>
                <p class="wa-explain" id=explain_id>{text(locale, explain)}</p>
            </div>
        }
    };
    // Known once the configuration and the session are: none before, none for a page that
    // may not start an onboarding.
    let buttons = move || {
        let shown = flow.screen.with(Screen::offers_launch);
        flow.offered
            .get()
            .into_iter()
            .filter(|_| shown)
            .map(launch_button)
            .collect_view()
    };

    // "Continue in this window": where the popup cannot work and the proxy offers the
    // full-page sign-in (one button per mode the screen names).
    let continue_buttons = move || {
        let redirect = flow
            .config
            .with(|c| c.as_ref().is_some_and(|c| c.redirect_flow));
        let offered = flow.offered.get();
        let modes = flow.screen.with(|s| s.redirect_modes(&offered, redirect));
        let several = modes.len() > 1;
        modes
            .into_iter()
            .map(|mode| {
                let name = match mode {
                    Mode::Standard => Msg::LaunchStandard,
                    Mode::Coexistence => Msg::LaunchCoexistence,
                };
                let label = move || match several {
                    true => format!("{}: {}", t(Msg::ContinueRedirect), t(name)),
                    false => t(Msg::ContinueRedirect).to_owned(),
                };
                view! {
                    <button type="button" class="wa-button wa-continue" data-testid="continue-redirect"
                        data-mode=mode.as_str()
                        on:click=move |_| flow.continue_redirect(mode, locale.get_untracked().into())>
                        {label}
                    </button>
                }
            })
            .collect_view()
    };

    let finished = move || flow.screen.with(Screen::is_finished);
    // Back to the partner, once finished, when its session gave a way back. The proxy
    // checked the URL (https on one of ALLOWED_ORIGINS); the scheme is checked again here
    // since an `href` is no place for anything else.
    let return_link = move || {
        let url = flow
            .session
            .with(|s| s.as_ref().and_then(|s| s.return_url.clone()))
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))?;
        finished().then_some(())?;
        let label = move || {
            let partner = flow
                .config
                .with(|c| c.as_ref().and_then(|c| c.partner_name.clone()));
            match partner {
                Some(p) => locale.get().fill(Msg::ReturnTo, &[("partner", &p)]),
                None => t(Msg::ReturnBack).to_owned(),
            }
        };
        Some(view! {
            <a class="wa-button wa-return" data-testid="return-to-partner" href=url>{label}</a>
        })
    };

    // Whom the sign-up connects, before the buttons: the partner (`PARTNER_NAME`) and the
    // customer (the session's `customer_name`), as far as known; text only, never markup.
    let connecting_to = move || {
        let partner = flow
            .config
            .with(|c| c.as_ref().and_then(|c| c.partner_name.clone()));
        let customer = flow.session.with(|s| {
            s.as_ref()
                .and_then(|s| s.customer_name.as_ref().map(|n| n.as_str().to_owned()))
        });
        let text = locale
            .get()
            .connecting(partner.as_deref(), customer.as_deref())?;
        (!finished())
            .then(|| view! { <p class="wa-connecting" data-testid="connecting-to">{text}</p> })
    };

    view! {
        <section class="wa-signup" node_ref=root lang=move || locale.get().tag()>
            <header class="wa-header">
                {heading(level, "wa-title", text(locale, Msg::Title))}
                <label class="wa-language">
                    <span>{text(locale, Msg::Language)}</span>
                    <select data-testid="locale"
                        on:change=move |ev| {
                            if let Some(l) = Locale::from_tag(&event_target_value(&ev)) {
                                show(l);
                            }
                        }>
                        {Locale::ALL.into_iter().map(|l| view! {
                            <option value=l.tag() selected=move || locale.get() == l>{l.native_name()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </header>
            {move || is_sandbox().then(|| view! {
                // Said in words (not only a colour) and announced as a note.
                <p class="wa-sandbox-badge" data-testid="sandbox-badge" role="note">
                    <span class="wa-sandbox-mark" aria-hidden="true">"!"</span>
                    {text(locale, Msg::SandboxBadge)}
                </p>
            })}
            <Show when=move || !finished()>
                <p class="wa-intro">{text(locale, Msg::Intro)}</p>
            </Show>
            {connecting_to}
            <div class="wa-modes">{buttons}</div>
            <Status flow=flow locale=locale />
            <div class="wa-redirect">{continue_buttons}</div>
            {return_link}
            <FirstMessage flow=flow locale=locale />
            <PinForm flow=flow locale=locale />
            <Progress flow=flow locale=locale heading_level=(level + 1).min(6) />
        </section>
    }
}
