//! The shell: sign-in, navigation by the address's fragment (`#/onboardings`, `#/links`…),
//! sign-out, and the signed-in state every view reads.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

use crate::api;
use crate::auth::Auth;
use crate::i18n::{t, Msg};
use crate::views;

/// The console's pages.
#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    /// The list of onboardings.
    Onboardings,
    /// One onboarding.
    Onboarding(String),
    /// Create, list and revoke links.
    Links,
    /// Failed and pending webhook deliveries.
    Deliveries,
    /// The funnel.
    Funnel,
    /// The setup check.
    Setup,
}

impl Page {
    /// The page a fragment names (`#/onboardings/<id>`…); the list of onboardings otherwise.
    pub fn from_hash(hash: &str) -> Page {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let mut parts = path.splitn(2, '/');
        match (parts.next().unwrap_or_default(), parts.next()) {
            ("onboardings", Some(id)) if !id.is_empty() => Page::Onboarding(id.to_owned()),
            ("links", _) => Page::Links,
            ("deliveries", _) => Page::Deliveries,
            ("funnel", _) => Page::Funnel,
            ("setup", _) => Page::Setup,
            _ => Page::Onboardings,
        }
    }
}

fn current_hash() -> String {
    window().location().hash().unwrap_or_default()
}

/// The console.
#[component]
pub fn App() -> impl IntoView {
    let auth = Auth {
        csrf: RwSignal::new(None),
    };
    provide_context(auth);
    // Until the first answer: neither the sign-in form nor the console.
    let checked = RwSignal::new(false);
    spawn_local(async move {
        if let Ok(v) = api::call("GET", "/console/session", None, None).await {
            auth.csrf.set(v["csrf_token"].as_str().map(str::to_owned));
        }
        checked.set(true);
    });
    let page = RwSignal::new(Page::from_hash(&current_hash()));
    let handle = window_event_listener(leptos::ev::hashchange, move |_| {
        page.set(Page::from_hash(&current_hash()));
    });
    on_cleanup(move || handle.remove());
    move || {
        if !checked.get() {
            return view! { <p class="muted" role="status">{t(Msg::Loading)}</p> }.into_any();
        }
        match auth.csrf.get().is_some() {
            false => view! { <SignIn/> }.into_any(),
            true => view! { <Shell page=page/> }.into_any(),
        }
    }
}

/// The sign-in form: a partner API key, sent once, exchanged for a cookie.
#[component]
fn SignIn() -> impl IntoView {
    let auth = expect_context::<Auth>();
    let key = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let body = json!({ "key": key.get_untracked() });
        spawn_local(async move {
            let result = match api::call("POST", "/console/login", Some(&body), None).await {
                Ok(_) => api::call("GET", "/console/session", None, None).await,
                Err(e) => Err(e),
            };
            // The key is not kept: the cookie stands for it from now on.
            key.set(String::new());
            busy.set(false);
            match result {
                Ok(v) => auth.csrf.set(v["csrf_token"].as_str().map(str::to_owned)),
                Err(e) if e.status == 401 => error.set(Some(t(Msg::WrongKey).to_owned())),
                Err(e) => error.set(Some(views::error_text(&e))),
            }
        });
    };
    view! {
        <main class="signin" id="main">
            <h1>{t(Msg::ConsoleTitle)}</h1>
            <p>{t(Msg::SignInIntro)}</p>
            <form on:submit=submit data-testid="signin-form">
                <label for="key">{t(Msg::PartnerKey)}</label>
                <input id="key" type="password" autocomplete="off" required
                    prop:value=move || key.get()
                    on:input=move |ev| key.set(event_target_value(&ev))/>
                <button type="submit" disabled=move || busy.get() data-testid="signin">{t(Msg::SignIn)}</button>
                <p role="alert" class="error" data-testid="signin-error">{move || error.get()}</p>
            </form>
        </main>
    }
}

/// Navigation, sign-out, and the current page.
#[component]
fn Shell(page: RwSignal<Page>) -> impl IntoView {
    let auth = expect_context::<Auth>();
    provide_context(views::Confirm::new());
    let sign_out = move |_| {
        spawn_local(async move {
            let _ = auth.call("POST", "/console/logout", None).await;
            auth.csrf.set(None);
        });
    };
    let links = [
        ("#/onboardings", Msg::NavOnboardings, "nav-onboardings"),
        ("#/links", Msg::NavLinks, "nav-links"),
        ("#/deliveries", Msg::NavDeliveries, "nav-deliveries"),
        ("#/funnel", Msg::NavFunnel, "nav-funnel"),
        ("#/setup", Msg::NavSetup, "nav-setup"),
    ];
    let is_current = move |href: &str| {
        let p = Page::from_hash(href);
        let now = page.get();
        now == p || (p == Page::Onboardings && matches!(now, Page::Onboarding(_)))
    };
    view! {
        <header class="top">
            <span class="brand">{t(Msg::ConsoleTitle)}</span>
            <nav aria-label=t(Msg::NavLabel)>
                <ul>
                    {links.into_iter().map(|(href, msg, id)| view! {
                        <li><a href=href data-testid=id
                            aria-current=move || is_current(href).then_some("page")>{t(msg)}</a></li>
                    }).collect_view()}
                </ul>
            </nav>
            <button type="button" class="secondary" on:click=sign_out data-testid="signout">{t(Msg::SignOut)}</button>
        </header>
        <main id="main" tabindex="-1">
            {move || match page.get() {
                Page::Onboardings => view! { <views::onboardings::List/> }.into_any(),
                Page::Onboarding(id) => view! { <views::onboarding::Detail id=id/> }.into_any(),
                Page::Links => view! { <views::links::Links/> }.into_any(),
                Page::Deliveries => view! { <views::deliveries::Deliveries/> }.into_any(),
                Page::Funnel => view! { <views::funnel::FunnelView/> }.into_any(),
                Page::Setup => view! { <views::setup::SetupView/> }.into_any(),
            }}
            <views::ConfirmDialog/>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_name_pages() {
        assert_eq!(Page::from_hash(""), Page::Onboardings);
        assert_eq!(Page::from_hash("#/links"), Page::Links);
        assert_eq!(
            Page::from_hash("#/onboardings/abc"),
            Page::Onboarding("abc".to_owned())
        );
        assert_eq!(Page::from_hash("#/onboardings/"), Page::Onboardings);
        assert_eq!(Page::from_hash("#/funnel"), Page::Funnel);
        assert_eq!(Page::from_hash("#/nowhere"), Page::Onboardings);
    }
}
