//! The onboarding flow of one widget: configuration, SDK, popup, submission, progress.
//!
//! [`Flow`] is `Copy` (signals and stored values only), so every callback can hold it. It
//! talks to JavaScript only through `crate::browser` and to the proxy only through
//! `crate::api`; the decisions about messages are `crate::protocol`'s, those about the
//! screen `crate::screen`'s.
//!
//! This file starts a widget (configuration, session, SDK) and holds what every step
//! shares; `popup` carries a launch through Meta's popup, `redirect` the full-page
//! sign-in, and `onboarding` what the proxy makes of it (submitting, following, the PIN,
//! picking up after a reload).

mod onboarding;
mod popup;
mod redirect;

use leptos::prelude::*;
use serde::Serialize;
use wasm_bindgen::JsValue;
use wire::{ClientToken, Mode, PublicConfig, ReportSignupEvent};

use crate::api::{ApiFailure, Proxy};
use crate::browser::dom::{self, Timeout};
use crate::browser::json;
use crate::browser::messages::SessionInfoListener;
use crate::browser::sdk::{self, SdkError, SdkSettings};
use crate::browser::stream::EventStream;
use crate::embed::WidgetOptions;
use crate::protocol::widget_event::WidgetEvent;
use crate::protocol::{in_app_browser, OriginPolicy};
use crate::screen::{admission, offered_modes, Admission, SessionRefusal};
pub use crate::screen::{Action, Blocked, Problem, Request, Screen};

/// How long the SDK may take before the widget calls it blocked.
pub const SDK_TIMEOUT_MS: i32 = 10_000;

/// One widget's flow; cheap to copy into callbacks.
#[derive(Clone, Copy)]
pub struct Flow {
    /// What is on screen.
    pub screen: RwSignal<Screen>,
    /// The configuration in force, once fetched.
    pub config: RwSignal<Option<PublicConfig>>,
    /// The launch buttons to show: none until the configuration and the session are known.
    pub offered: RwSignal<Vec<Mode>>,
    /// What the proxy said the page's session allows, once it said so.
    pub session: RwSignal<Option<wire::SessionInfo>>,
    options: StoredValue<WidgetOptions>,
    root: StoredValue<Option<web_sys::Element>, LocalStorage>,
    active: StoredValue<Option<popup::Active>, LocalStorage>,
    timer: StoredValue<Option<Timeout>, LocalStorage>,
    listener: StoredValue<Option<SessionInfoListener>, LocalStorage>,
    stream: StoredValue<Option<EventStream>, LocalStorage>,
    /// The client token of the onboarding on screen: in memory, in no event detail and no
    /// URL.
    token: StoredValue<Option<ClientToken>, LocalStorage>,
    /// The funnel's `LAUNCH` report, held back while `FB.login` may still answer that the
    /// browser blocked the popup (then no popup opened, and nothing is reported); sent when
    /// its timer fires or `FB.login` answers otherwise.
    held_launch: StoredValue<Option<(ReportSignupEvent, Timeout)>, LocalStorage>,
}

impl Flow {
    /// A flow for `options`; call [`Flow::start`] once the root element exists.
    pub fn new(options: WidgetOptions) -> Flow {
        Flow {
            screen: RwSignal::new(Screen::LoadingSdk),
            config: RwSignal::new(None),
            offered: RwSignal::new(Vec::new()),
            session: RwSignal::new(None),
            options: StoredValue::new(options),
            root: StoredValue::new_local(None),
            active: StoredValue::new_local(None),
            timer: StoredValue::new_local(None),
            listener: StoredValue::new_local(None),
            stream: StoredValue::new_local(None),
            token: StoredValue::new_local(None),
            held_launch: StoredValue::new_local(None),
        }
    }

    pub fn proxy(self) -> Proxy {
        Proxy::new(&self.options.with_value(|o| o.proxy_url.clone()))
    }

    fn client_token(self) -> Option<ClientToken> {
        self.token.get_value()
    }

    fn set(self, screen: Screen) {
        self.screen.try_set(screen);
    }

    /// Where the widget dispatches its `wa-signup:*` events.
    pub fn set_root(self, root: web_sys::Element) {
        self.root.set_value(Some(root));
    }

    /// Dispatches `wa-signup:*` on the root; every detail carries `sandbox: true` in
    /// sandbox mode ([`crate::protocol::SANDBOX_MARK`]).
    fn emit(self, event: WidgetEvent, detail: &impl Serialize) {
        self.emit_value(event, json::to_js(detail).unwrap_or(JsValue::NULL));
    }

    /// [`Flow::emit`] with the detail serialized: compiled once, not once per detail type.
    fn emit_value(self, event: WidgetEvent, detail: JsValue) {
        let sandbox = self
            .config
            .with_untracked(|c| c.as_ref().is_some_and(|c| c.sandbox));
        self.root.with_value(|root| {
            if let Some(root) = root {
                dom::dispatch(root, event.name(), &detail, sandbox);
            }
        });
    }

    /// Fetches the configuration, listens for Meta's messages, loads the SDK, and picks up
    /// an onboarding a reload interrupted.
    pub fn start(self) {
        self.set(Screen::LoadingSdk);
        leptos::task::spawn_local(async move {
            let config = match self.options.with_value(complete_config) {
                Some(config) => config,
                None => {
                    // The standalone page fetched it already, for its own origin's proxy.
                    let same_origin = self.options.with_value(|o| o.proxy_url.is_empty());
                    let prefetched = match same_origin {
                        true => dom::prefetched_config().await,
                        false => None,
                    };
                    let fetched = match prefetched {
                        Some(c) => Ok(c),
                        None => self.proxy().config().await,
                    };
                    match fetched {
                        Ok(c) => self.options.with_value(|o| apply_options(o, c)),
                        Err(failure) => {
                            if matches!(failure, ApiFailure::Unreachable) && !same_origin {
                                // Browsers hide a CORS refusal from the page: say the likely
                                // cause where the page's developers look.
                                dom::console_warn(&format!(
                                    "wa-signup: {} could not be read; if this page's origin \
                                     ({}) is not in the proxy's ALLOWED_ORIGINS, the browser \
                                     hides its answers",
                                    self.proxy().url("/api/config"),
                                    dom::page_origin().unwrap_or_default()
                                ));
                            }
                            self.fail_request(failure, Request::Config);
                            return;
                        }
                    }
                }
            };
            self.config.try_set(Some(config.clone()));
            // Back from the full-page sign-in: its onboarding, and nothing to launch.
            if let Some(handle) = dom::take_redirect_result() {
                self.pick_up(handle).await;
                return;
            }
            // Nothing more for a page that may not start an onboarding: not even Facebook's
            // script, which would only follow the customer around.
            if !self.admit(&config).await {
                return;
            }
            // An app's browser never opens Meta's popup: the full-page sign-in comes first,
            // and the SDK is not loaded for nothing.
            if config.redirect_flow && in_app_browser(&dom::user_agent()) {
                self.resume().await;
                if self.screen.try_get_untracked() == Some(Screen::LoadingSdk) {
                    self.set(Screen::PopupBlocked(Blocked::InAppBrowser));
                }
                return;
            }
            self.listen(&config);
            // A resumed onboarding stays on screen; the SDK still loads for a new launch.
            self.resume().await;
            self.load_sdk(config).await;
        });
    }

    /// Settles the page's session: which launch buttons show, and the session's language.
    /// False when nothing may be launched (the screen then says why).
    async fn admit(self, config: &PublicConfig) -> bool {
        let (modes, given) = self.options.with_value(|o| (o.modes, o.session.clone()));
        let answer = match admission(given.as_ref(), config.sessions_required) {
            Admission::Open => {
                self.offered.try_set(offered_modes(modes, None));
                return true;
            }
            Admission::Refused(refusal) => {
                self.refuse_session(refusal);
                return false;
            }
            Admission::Ask(token) => self.proxy().session(&token).await,
        };
        match answer {
            Ok(info) => {
                let offered = offered_modes(modes, Some(&info.modes));
                if offered.is_empty() {
                    self.refuse_session(SessionRefusal::NoModeAllowed);
                    return false;
                }
                self.offered.try_set(offered);
                self.session.try_set(Some(info));
                true
            }
            Err(failure) => {
                self.fail_request(failure, Request::Config);
                false
            }
        }
    }

    fn refuse_session(self, refusal: SessionRefusal) {
        self.emit(WidgetEvent::Error, &refusal.error_event());
        self.set(Screen::SessionInvalid(refusal));
    }

    fn listen(self, config: &PublicConfig) {
        if self.listener.with_value(Option::is_some) {
            return;
        }
        let policy = self.origin_policy(config);
        let listener = SessionInfoListener::new(policy, move |info| self.on_session_info(info));
        self.listener.set_value(listener.ok());
    }

    /// Who may speak for Facebook: Facebook; in sandbox mode also the page, the proxy and
    /// the stand-in SDK's origin (its popup is served beside it).
    fn origin_policy(self, config: &PublicConfig) -> OriginPolicy {
        match dom::page_origin() {
            Some(origin) if config.sandbox => OriginPolicy::sandbox(&origin)
                .map(|p| {
                    p.also_trusting_url_of(&self.proxy().url("/"))
                        .also_trusting_url_of(&config.sdk_url)
                })
                .unwrap_or_else(|_| OriginPolicy::facebook_only()),
            _ => OriginPolicy::facebook_only(),
        }
    }

    async fn load_sdk(self, config: PublicConfig) {
        let settings = SdkSettings {
            sdk_url: config.sdk_url.clone(),
            app_id: config.app_id.clone(),
            version: config.graph_version.clone(),
            timeout_ms: SDK_TIMEOUT_MS,
        };
        let screen = match sdk::load(&settings).await {
            Ok(()) => Screen::Ready,
            Err(SdkError::Blocked | SdkError::TimedOut | SdkError::Broken) => Screen::SdkBlocked,
        };
        // A reload may have resumed an onboarding meanwhile; only replace the loading screen.
        if self.screen.try_get_untracked() == Some(Screen::LoadingSdk) {
            self.set(screen);
        }
    }

    /// The "Try again" button of each screen.
    pub fn retry(self) {
        match self.screen.with_untracked(Screen::action) {
            Some(Action::ReloadSdk) => {
                if let Some(config) = self.config.get_untracked() {
                    self.set(Screen::LoadingSdk);
                    leptos::task::spawn_local(self.load_sdk(config));
                }
            }
            Some(Action::Send(Request::Config)) => self.start(),
            Some(Action::Send(Request::Create(ids))) => self.submit(ids),
            Some(Action::Send(Request::Retry(onboarding))) => self.retry_onboarding(onboarding),
            Some(Action::Send(Request::Redirect(start))) => self.redirect(start),
            None => {}
        }
    }

    fn fail(self, problem: Problem) {
        self.emit(WidgetEvent::Error, &problem.error_event());
        self.set(Screen::failed(problem));
    }

    /// `request` did not get its answer: the screen keeps it for "Try again".
    fn fail_request(self, failure: ApiFailure, request: Request) {
        self.fail(match failure {
            ApiFailure::Refused { error, .. } => Problem::Refused { error, request },
            ApiFailure::Unreachable | ApiFailure::Malformed(_) => {
                Problem::ProxyUnreachable(request)
            }
        });
    }
}

/// The whole configuration when the widget's options give every value (no proxy round trip;
/// sandbox off, since only the proxy can say it is one).
fn complete_config(options: &WidgetOptions) -> Option<PublicConfig> {
    Some(PublicConfig {
        app_id: options.app_id.clone()?,
        config_id: options.config_id.clone()?,
        solution_id: options.solution_id.clone()?,
        graph_version: options.graph_version.clone()?,
        es_version: options.es_version.unwrap_or_default(),
        sdk_url: options.sdk_url.clone()?,
        sandbox: false,
        verification: false,
        sessions_required: false,
        redirect_flow: false,
        partner_name: None,
    })
}

/// The proxy's configuration with the widget's own values on top.
fn apply_options(options: &WidgetOptions, mut config: PublicConfig) -> PublicConfig {
    let pick = |own: &Option<String>, theirs: &mut String| {
        if let Some(v) = own.as_ref().filter(|v| !v.is_empty()) {
            v.clone_into(theirs);
        }
    };
    pick(&options.app_id, &mut config.app_id);
    pick(&options.config_id, &mut config.config_id);
    pick(&options.solution_id, &mut config.solution_id);
    pick(&options.graph_version, &mut config.graph_version);
    pick(&options.sdk_url, &mut config.sdk_url);
    if let Some(version) = options.es_version {
        config.es_version = version;
    }
    // A relative SDK URL (the sandbox stand-in) is relative to the proxy, not the page.
    if config.sdk_url.starts_with('/') && !config.sdk_url.starts_with("//") {
        config.sdk_url = Proxy::new(&options.proxy_url).url(&config.sdk_url);
    }
    config
}
