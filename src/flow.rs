//! The onboarding flow of one widget: configuration, SDK, popup, submission, progress.
//!
//! [`Flow`] is `Copy` (signals and stored values only), so every callback can hold it. It
//! talks to JavaScript only through `crate::browser` and to the proxy only through
//! `crate::api`; the decisions about messages are `crate::protocol`'s.

use std::time::Duration;

use leptos::prelude::*;
use serde::Serialize;
use wire::{
    ClientToken, CreateOnboarding, CustomerRef, ErrorMessage, EsVersion, FlowErrorCode, FlowStep,
    MetaSessionId, Mode, Onboarding, OnboardingState, Pin, PublicConfig, ReportSignupEvent,
    SessionToken, SignupEventKind, StartRedirect,
};

use crate::api::{ApiFailure, Proxy};
use crate::browser::dom::{self, session, Timeout};
use crate::browser::messages::SessionInfoListener;
use crate::browser::sdk::{self, SdkError, SdkSettings};
use crate::browser::stream::EventStream;
use crate::protocol::redirect::BLOCKED_WITHIN_MS;
use crate::protocol::widget_event::{CancelDetail, WidgetEvent};
use crate::protocol::{
    event_detail, in_app_browser, popup_blocked, CancelStep, Correlator, Failure, LaunchOptions,
    LoginResult, OriginPolicy, Outcome, ReportedError, SessionInfo, Timeouts,
};
use crate::screen::{admission, offered_modes, Admission, ErrorEvent, PinTry, SessionRefusal};
pub use crate::screen::{Action, Blocked, Problem, Request, Screen};

/// How long the SDK may take before the widget calls it blocked.
pub const SDK_TIMEOUT_MS: i32 = 10_000;
/// How often progress is polled when server-sent events are unavailable.
const POLL_MS: u32 = 2_000;
/// Where a reload finds the onboarding in progress (one per proxy and customer).
const STORAGE_PREFIX: &str = "wa-signup:onboarding";
/// Where a reload finds that onboarding's client token (the standalone page only).
const TOKEN_PREFIX: &str = "wa-signup-token:onboarding";

/// Which launch buttons a widget shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Modes {
    /// Both modes.
    #[default]
    Both,
    /// Only one.
    Only(Mode),
}

impl Modes {
    /// Reads `standard`, `coexistence` or `both`.
    pub fn parse(s: &str) -> Option<Modes> {
        match s.trim() {
            "both" => Some(Modes::Both),
            one => one.parse().ok().map(Modes::Only),
        }
    }

    /// Whether `mode` gets a button.
    pub fn includes(self, mode: Mode) -> bool {
        match self {
            Modes::Both => true,
            Modes::Only(m) => m == mode,
        }
    }
}

/// The onboarding session a widget was handed by the partner's page or link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GivenSession {
    /// A token of the right shape; the proxy says whether it is live.
    Token(SessionToken),
    /// Text that cannot be a token (a link cut short, say): as dead as an expired one, and
    /// shown as such rather than as a page that does not load.
    Malformed,
}

impl GivenSession {
    /// Reads a token as the page or link gave it.
    pub fn parse(text: &str) -> GivenSession {
        SessionToken::parse(text).map_or(GivenSession::Malformed, GivenSession::Token)
    }

    fn token(&self) -> Option<&SessionToken> {
        match self {
            GivenSession::Token(t) => Some(t),
            GivenSession::Malformed => None,
        }
    }
}

/// A widget's options (docs/API.md); `None` values come from `{proxy}/api/config`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WidgetOptions {
    /// The proxy's base URL; empty for the page's own origin.
    pub proxy_url: String,
    /// Which launch buttons to show.
    pub modes: Modes,
    /// Meta app id.
    pub app_id: Option<String>,
    /// Embedded Signup configuration id.
    pub config_id: Option<String>,
    /// YCloud's solution id.
    pub solution_id: Option<String>,
    /// Graph API version.
    pub graph_version: Option<String>,
    /// Embedded Signup version; the proxy's (`FB_ES_VERSION`) otherwise.
    pub es_version: Option<EsVersion>,
    /// Where to load the SDK from.
    pub sdk_url: Option<String>,
    /// A BCP 47 language tag; the browser's languages otherwise.
    pub locale: Option<String>,
    /// The partner's reference for this customer.
    pub customer_ref: Option<CustomerRef>,
    /// The onboarding session from the partner's backend (`session`, `data-session`, or the
    /// standalone page's `?session=`).
    pub session: Option<GivenSession>,
    /// The level of the widget's title (1 to 6; 2 when not given), so it fits the host
    /// page's outline: the standalone page makes it its level-one heading.
    pub heading_level: Option<u8>,
}

impl WidgetOptions {
    /// The whole configuration when the options give every value (no proxy round trip;
    /// sandbox off, since only the proxy can say it is one).
    fn complete(&self) -> Option<PublicConfig> {
        Some(PublicConfig {
            app_id: self.app_id.clone()?,
            config_id: self.config_id.clone()?,
            solution_id: self.solution_id.clone()?,
            graph_version: self.graph_version.clone()?,
            es_version: self.es_version.unwrap_or_default(),
            sdk_url: self.sdk_url.clone()?,
            sandbox: false,
            verification: false,
            sessions_required: false,
            redirect_flow: false,
            partner_name: None,
        })
    }

    /// The proxy's configuration with this widget's own values on top.
    fn apply(&self, mut config: PublicConfig) -> PublicConfig {
        let pick = |own: &Option<String>, theirs: &mut String| {
            if let Some(v) = own.as_ref().filter(|v| !v.is_empty()) {
                v.clone_into(theirs);
            }
        };
        pick(&self.app_id, &mut config.app_id);
        pick(&self.config_id, &mut config.config_id);
        pick(&self.solution_id, &mut config.solution_id);
        pick(&self.graph_version, &mut config.graph_version);
        pick(&self.sdk_url, &mut config.sdk_url);
        if let Some(version) = self.es_version {
            config.es_version = version;
        }
        // A relative SDK URL (the sandbox stand-in) is relative to the proxy, not the page.
        if config.sdk_url.starts_with('/') && !config.sdk_url.starts_with("//") {
            config.sdk_url = Proxy::new(&self.proxy_url).url(&config.sdk_url);
        }
        config
    }
}

/// What the correlator is fed.
enum Input {
    Login(LoginResult),
    SessionInfo(SessionInfo),
    /// Its deadline passed.
    Tick,
}

struct Active {
    mode: Mode,
    correlator: Correlator,
}

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
    active: StoredValue<Option<Active>, LocalStorage>,
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

    fn storage_key(self, prefix: &str) -> String {
        self.options.with_value(|o| {
            let customer = o.customer_ref.as_ref().map_or("", |c| c.as_str());
            format!("{prefix}:{}:{customer}", o.proxy_url)
        })
    }

    /// Whether a reload may find the onboarding: only on the proxy's own page (its own
    /// origin), where no other site's script reads `sessionStorage`; a widget embedded on a
    /// partner's page keeps the client token in memory only.
    fn resumable(self) -> bool {
        self.options.with_value(|o| o.proxy_url.is_empty())
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
    /// sandbox mode ([`event_detail`]).
    fn emit(self, event: WidgetEvent, detail: &impl Serialize) {
        let sandbox = self
            .config
            .with_untracked(|c| c.as_ref().is_some_and(|c| c.sandbox));
        let detail = event_detail(detail, sandbox);
        self.root.with_value(|root| {
            if let Some(root) = root {
                dom::dispatch(root, event.name(), &detail);
            }
        });
    }

    /// Fetches the configuration, listens for Meta's messages, loads the SDK, and picks up
    /// an onboarding a reload interrupted.
    pub fn start(self) {
        self.set(Screen::LoadingSdk);
        leptos::task::spawn_local(async move {
            let config = match self.options.with_value(WidgetOptions::complete) {
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
                        Ok(c) => self.options.with_value(|o| o.apply(c)),
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

    /// "Continue in this window": asks the proxy for a `state`, then leaves for Meta's
    /// full-page dialog with the same launch as the popup's (`locale`: the page's language,
    /// for the proxy's pages on the way back).
    pub fn continue_redirect(self, mode: Mode, locale: wire::Locale) {
        let session = self
            .options
            .with_value(|o| o.session.as_ref().and_then(GivenSession::token).cloned());
        self.redirect(StartRedirect {
            mode,
            session,
            locale: Some(locale),
        });
    }

    fn redirect(self, start: StartRedirect) {
        let Some(config) = self.config.get_untracked() else {
            return;
        };
        let Ok(options) = LaunchOptions::new(
            start.mode,
            config.es_version,
            &config.config_id,
            &config.solution_id,
        ) else {
            self.set(Screen::Failed(Problem::PopupFailed));
            return;
        };
        // Meta's dialog gets the very extras the popup would, pre-filled data included.
        let prefill = self
            .session
            .with_untracked(|s| s.as_ref().and_then(|s| s.prefill.clone()));
        let options = options.with_prefill(prefill.as_ref());
        self.set(Screen::Redirecting);
        leptos::task::spawn_local(async move {
            let started = match self.proxy().start_redirect(&start).await {
                Ok(started) => started,
                Err(failure) => return self.fail_request(failure, Request::Redirect(start)),
            };
            let mut query =
                options.dialog_query(&config.app_id, &started.redirect_uri, &started.state);
            let extras = crate::browser::json::to_text(options.extras()).unwrap_or_default();
            query.push(("extras", extras));
            let dialog = match started.dialog_url.starts_with('/') {
                // The sandbox's stand-in, relative to the proxy.
                true => self.proxy().url(&started.dialog_url),
                false => started.dialog_url,
            };
            if !dom::leave_for(&dialog, &query) {
                self.set(Screen::Failed(Problem::PopupFailed));
            }
        });
    }

    /// Shows the onboarding a full-page sign-in created, by the handle it came back with.
    async fn pick_up(self, handle: String) {
        self.set(Screen::Submitting);
        match self.proxy().redirect_result(handle).await {
            Ok(created) => {
                // As after a popup's submit: the token of the onboarding's other routes.
                self.token.set_value(Some(created.client_token));
                self.show(created.onboarding);
            }
            Err(failure) => self.fail_request(failure, Request::Config),
        }
    }

    fn retry_onboarding(self, onboarding: Onboarding) {
        self.set(Screen::Submitting);
        leptos::task::spawn_local(async move {
            let Some(token) = self.client_token() else {
                return self.fail_request(ApiFailure::Unreachable, Request::Retry(onboarding));
            };
            match self.proxy().retry(&onboarding.id, &token).await {
                Ok(answer) => self.show(answer),
                Err(failure) => self.fail_request(failure, Request::Retry(onboarding)),
            }
        });
    }

    /// The PIN form's submit with what the customer typed, parsed once
    /// ([`crate::screen::parse_pin`]); `None`: it was not six digits, and nothing is sent.
    /// The PIN goes only into the request's body: never into a log, the address,
    /// `sessionStorage` or an event's detail.
    pub fn submit_pin(self, pin: Option<Pin>) {
        let Some(Screen::PinRequired(onboarding, tried)) = self.screen.try_get_untracked() else {
            return;
        };
        if tried == PinTry::Sending {
            return;
        }
        let Some(pin) = pin else {
            self.set(Screen::PinRequired(onboarding, PinTry::Invalid));
            return;
        };
        self.set(Screen::PinRequired(onboarding.clone(), PinTry::Sending));
        leptos::task::spawn_local(async move {
            let sent = match self.client_token() {
                Some(token) => self.proxy().send_pin(&onboarding.id, &token, pin).await,
                None => Err(ApiFailure::Unreachable),
            };
            match sent {
                Ok(answer) => self.present(answer, Screen::after_pin),
                Err(failure) => {
                    let error = match failure {
                        ApiFailure::Refused { error, .. } => Some(error),
                        ApiFailure::Unreachable | ApiFailure::Malformed(_) => None,
                    };
                    // The proxy's code and sentence only: neither holds the digits.
                    let event = match &error {
                        Some(e) => ErrorEvent {
                            code: e.code.as_str().to_owned(),
                            message: e.message.clone(),
                        },
                        None => ErrorEvent {
                            code: "proxy_unreachable".into(),
                            message: String::new(),
                        },
                    };
                    self.emit(WidgetEvent::Error, &event);
                    self.set(Screen::pin_refused(onboarding, error));
                }
            }
        });
    }

    /// Opens Meta's popup. Call straight from the click handler: `FB.login` must run before
    /// any `await`, or the browser blocks the popup.
    pub fn launch(self, mode: Mode) {
        if !self.screen.get_untracked().can_launch() {
            return;
        }
        let Some(config) = self.config.get_untracked() else {
            return;
        };
        let Ok(options) = LaunchOptions::new(
            mode,
            config.es_version,
            &config.config_id,
            &config.solution_id,
        ) else {
            self.set(Screen::Failed(Problem::PopupFailed));
            return;
        };
        // The partner's pre-filled data travels with the session the page was opened with.
        let prefill = self
            .session
            .with_untracked(|s| s.as_ref().and_then(|s| s.prefill.clone()));
        let options = options.with_prefill(prefill.as_ref());
        self.active.set_value(Some(Active {
            mode,
            correlator: Correlator::new(Timeouts::default()),
        }));
        self.set(Screen::InPopup(mode));
        let redirect = config.redirect_flow;
        let launch = signup_report(mode, SignupEventKind::Launch, None, None);
        if redirect {
            // Only a popup that opened counts as a launch: wait until FB.login could have
            // said it was blocked. (A timer, no request: nothing here delays the popup.)
            let held = Timeout::new(BLOCKED_WITHIN_MS as u32, move || self.release_launch());
            self.held_launch.set_value(Some((launch.clone(), held)));
        }
        let launched_at = dom::now_ms();
        let called = sdk::login(&options, move |response| {
            let elapsed = dom::now_ms().saturating_sub(launched_at);
            // An empty answer at once, and not a word from a popup before it (a popup that
            // posted a cancel or an error was open, however fast it was closed): the
            // browser never showed the popup.
            let silent = self
                .active
                .with_value(|a| a.as_ref().is_some_and(|a| a.correlator.heard_nothing()));
            let empty = popup_blocked(&response.status, response.code.is_some(), elapsed);
            if redirect && silent && empty {
                self.held_launch.set_value(None);
                self.active.set_value(None);
                self.timer.set_value(None);
                self.set(Screen::PopupBlocked(Blocked::Popup(mode)));
                return;
            }
            // The popup opened: its launch is counted before whatever it ended in.
            self.release_launch();
            let result = LoginResult::from_parts(Some(&response.status), response.code.as_deref());
            self.step(Input::Login(result));
        });
        if called.is_err() {
            self.held_launch.set_value(None);
            self.active.set_value(None);
            self.set(match redirect {
                true => Screen::PopupBlocked(Blocked::Popup(mode)),
                false => Screen::Failed(Problem::PopupFailed),
            });
            return;
        }
        if !redirect {
            // After FB.login: the report must not delay the popup.
            self.report(launch);
        }
    }

    /// Sends the held `LAUNCH` report, if one is still held.
    fn release_launch(self) {
        if let Some(Some((report, _timer))) = self.held_launch.try_update_value(Option::take) {
            self.report(report);
        }
    }

    /// Tells the proxy of a popup outcome that creates no onboarding (and of launches), for
    /// the partner's funnel; in the background, its answer unread.
    fn report(self, mut report: ReportSignupEvent) {
        report.session = self
            .options
            .with_value(|o| o.session.as_ref().and_then(GivenSession::token).cloned());
        let proxy = self.proxy();
        leptos::task::spawn_local(async move { proxy.report_signup_event(&report).await });
    }

    fn on_session_info(self, info: SessionInfo) {
        // A popup that posts a message was open: its launch counts, before its outcome.
        self.release_launch();
        self.step(Input::SessionInfo(info));
    }

    /// Feeds the correlator, re-arms its one timer, and acts on an outcome.
    fn step(self, input: Input) {
        let now = Duration::from_millis(dom::now_ms());
        let Some(Some((mode, outcome, deadline))) = self.active.try_update_value(|active| {
            active.as_mut().map(|a| {
                let c = &mut a.correlator;
                let outcome = match input {
                    Input::Login(result) => c.on_login(result, now),
                    Input::SessionInfo(info) => c.on_session_info(info, now),
                    Input::Tick => c.poll(now),
                };
                (a.mode, outcome, a.correlator.deadline())
            })
        }) else {
            return; // no popup open: a stray message
        };
        self.timer.set_value(deadline.map(|at| {
            let wait = at.saturating_sub(now).as_millis().min(u32::MAX as u128) as u32;
            Timeout::new(wait, move || self.step(Input::Tick))
        }));
        if let Some(outcome) = outcome {
            self.active.set_value(None);
            self.timer.set_value(None);
            self.finish_popup(mode, outcome);
        }
    }

    fn finish_popup(self, mode: Mode, outcome: Outcome) {
        match outcome {
            Outcome::Ready { finish, code } => {
                self.emit(WidgetEvent::Finish, &finish);
                let (customer_ref, session) = self.options.with_value(|o| {
                    let session = o.session.as_ref().and_then(GivenSession::token).cloned();
                    (o.customer_ref.clone(), session)
                });
                self.submit(finish.onboarding_request(mode, code, customer_ref, session));
            }
            Outcome::Cancelled { step } => {
                self.emit(
                    WidgetEvent::Cancel,
                    &CancelDetail {
                        current_step: step.as_ref().map(CancelStep::as_str),
                    },
                );
                self.report(signup_report(
                    mode,
                    SignupEventKind::Cancel,
                    step.as_ref(),
                    None,
                ));
                self.set(Screen::Cancelled(step));
            }
            Outcome::Failed { reason } => {
                let problem = match reason {
                    Failure::Reported(e) => {
                        self.report(signup_report(mode, SignupEventKind::Error, None, Some(&e)));
                        Problem::Reported(e)
                    }
                    Failure::NotAuthorized => Problem::NotAuthorized,
                    Failure::InvalidFinish(_) => Problem::InvalidFinish,
                };
                self.fail(problem);
            }
            Outcome::TimedOut => self.time_out(),
        }
    }

    /// The login brought a code but no finish message came: say what was waited for, and
    /// from where, so a page whose origin is not trusted is found at once.
    fn time_out(self) {
        let trusted = match self.config.get_untracked() {
            Some(config) => self.origin_policy(&config).describe(),
            None => OriginPolicy::facebook_only().describe(),
        };
        let wait = Timeouts::default().finish_after_code.as_secs();
        let message = format!(
            "FB.login returned a code, but no WA_EMBEDDED_SIGNUP FINISH message came within \
             {wait} s; messages are accepted from {trusted} only (is this page's domain in the \
             Facebook app's allowed domains?)"
        );
        dom::console_warn(&format!("wa-signup: {message}"));
        self.emit(
            WidgetEvent::Error,
            &ErrorEvent {
                code: Problem::TimedOut.error_event().code,
                message,
            },
        );
        self.set(Screen::failed(Problem::TimedOut));
    }

    fn fail(self, problem: Problem) {
        self.emit(WidgetEvent::Error, &problem.error_event());
        self.set(Screen::failed(problem));
    }

    fn submit(self, request: CreateOnboarding) {
        self.set(Screen::Submitting);
        leptos::task::spawn_local(async move {
            match self.proxy().create_onboarding(&request).await {
                Ok(created) => {
                    self.token.set_value(Some(created.client_token));
                    self.show(created.onboarding);
                }
                Err(failure) => self.fail_request(failure, Request::Create(request)),
            }
        });
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

    /// Shows an onboarding and follows it until it settles.
    fn show(self, onboarding: Onboarding) {
        let changed = self
            .screen
            .with_untracked(|s| s.onboarding() != Some(&onboarding));
        if changed {
            self.present(onboarding, Screen::of);
        }
    }

    /// Shows `onboarding` as `screen` decides (always: the proxy's answer to a PIN may be
    /// the very onboarding on screen, now with the PIN refused) and follows it until it
    /// settles.
    fn present(self, onboarding: Onboarding, screen: fn(Onboarding) -> Screen) {
        let settled = onboarding.state.is_final();
        let (id_key, token_key) = (
            self.storage_key(STORAGE_PREFIX),
            self.storage_key(TOKEN_PREFIX),
        );
        if settled || !self.resumable() {
            session::remove(&id_key);
            session::remove(&token_key);
        } else if let Some(token) = self.client_token() {
            session::set(&id_key, &onboarding.id);
            session::set(&token_key, token.as_str());
        }
        self.emit(WidgetEvent::Onboarding, &onboarding);
        let id = onboarding.id.clone();
        match onboarding.state {
            OnboardingState::Connected => {
                self.emit(WidgetEvent::Connected, &onboarding);
                self.set(screen(onboarding));
            }
            OnboardingState::Failed => self.fail(Problem::Onboarding(onboarding)),
            _ => self.set(screen(onboarding)),
        }
        if settled {
            self.stream.set_value(None);
        } else if self.stream.with_value(Option::is_none) {
            self.follow(id);
        }
    }

    /// Server-sent events, falling back to polling when the stream fails.
    fn follow(self, id: String) {
        let Some(token) = self.client_token() else {
            return;
        };
        let url = self.proxy().events_url(&id);
        let fallback = {
            let id = id.clone();
            move || {
                self.stream.set_value(None);
                leptos::task::spawn_local(self.poll(id));
            }
        };
        let stream =
            EventStream::open::<Onboarding>(&url, token.as_str(), move |o| self.show(o), fallback);
        if stream.is_none() {
            leptos::task::spawn_local(self.poll(id));
        }
        self.stream.set_value(stream);
    }

    async fn poll(self, id: String) {
        loop {
            dom::sleep(POLL_MS).await;
            // Stop once the widget is gone or the onboarding settled.
            let Some(Screen::Progress(_)) = self.screen.try_get_untracked() else {
                return;
            };
            let Some(token) = self.client_token() else {
                return;
            };
            if let Ok(onboarding) = self.proxy().onboarding(&id, &token).await {
                self.show(onboarding);
            }
        }
    }

    /// Finds the onboarding a reload interrupted; true when one is shown.
    async fn resume(self) -> bool {
        let (id_key, token_key) = (
            self.storage_key(STORAGE_PREFIX),
            self.storage_key(TOKEN_PREFIX),
        );
        let stored = session::get(&id_key)
            .zip(session::get(&token_key).and_then(|t| ClientToken::parse(t).ok()));
        let Some((id, token)) = stored.filter(|_| self.resumable()) else {
            return false;
        };
        match self.proxy().onboarding(&id, &token).await {
            Ok(onboarding) => {
                self.token.set_value(Some(token));
                self.show(onboarding);
                true
            }
            Err(_) => {
                // Settled elsewhere, or the session ended: nothing to find again.
                session::remove(&id_key);
                session::remove(&token_key);
                false
            }
        }
    }
}

/// The report of a popup outcome: what Meta sent, each value kept only when it has the
/// shape the proxy accepts (a malformed one is left out, not the whole report).
fn signup_report(
    mode: Mode,
    event: SignupEventKind,
    step: Option<&CancelStep>,
    error: Option<&ReportedError>,
) -> ReportSignupEvent {
    let message = error.and_then(|e| e.message.as_deref()).map(|m| {
        m.chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .take(wire::MAX_ERROR_MESSAGE_CHARS)
            .collect::<String>()
    });
    ReportSignupEvent {
        session: None,
        mode,
        event,
        current_step: step.and_then(|s| FlowStep::parse(s.as_str()).ok()),
        error_code: error
            .and_then(|e| e.code.as_deref())
            .and_then(|c| FlowErrorCode::parse(c.trim()).ok()),
        error_message: message.and_then(|m| ErrorMessage::parse(m).ok()),
        meta_session_id: error
            .and_then(|e| e.session_id.as_deref())
            .and_then(|s| MetaSessionId::parse(s).ok()),
    }
}
