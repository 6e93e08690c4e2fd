//! The widget mounted in headless Chromium, against a fake `window.FB` and a fake proxy
//! (`window.fetch` answered by the test).
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wa_signup::components::Widget;
use wa_signup::embed::WidgetOptions;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, MessageEvent, MessageEventInit};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{eventually, eventually_within};

/// A fake SDK: records `FB.init` and `FB.login`, keeps the login callback for the test.
const FAKE_SDK: &str = r#"
window.__fb = { inits: [], logins: [], callback: null };
window.FB = {
  init: function (o) { window.__fb.inits.push(o); },
  login: function (cb, o) { window.__fb.logins.push(o); window.__fb.callback = cb; },
};
setTimeout(function () { window.fbAsyncInit(); }, 0);
"#;

/// A fake proxy (`window.fetch`): POST answers pending and records its body in
/// `window.__posts`; every later GET answers connected.
const FAKE_PROXY: &str = r#"
      window.__posts = [];
      window.__reports = [];
      window.fetch = function (input, init) {
        var url = typeof input === 'string' ? input : input.url;
        var method = (init && init.method) || (input.method) || 'GET';
        var body = { id: 'b7a1', mode: 'standard', waba_id: '104996122399160',
          phone_number_id: '106540352242922', state: 'pending',
          waba: { paymentMethodAttached: true }, phone_number: { status: 'PENDING' },
          created_at: '2026-11-23T00:00:00Z', updated_at: '2026-11-23T00:00:00Z' };
        if (method === 'POST' && url.endsWith('/api/signup-events')) {
          return (input.text ? input.text() : Promise.resolve(init.body)).then(function (t) {
            window.__reports.push(JSON.parse(t));
            return new Response(null, { status: 202 });
          });
        }
        if (method === 'POST') {
          return (input.text ? input.text() : Promise.resolve(init.body)).then(function (t) {
            window.__posts.push(JSON.parse(t));
            body.client_token = 'cli_test_token';
            return new Response(JSON.stringify(body), { status: 201, headers: { 'Content-Type': 'application/json' } });
          });
        }
        delete body.client_token;
        body.state = 'connected';
        body.phone_number.status = 'CONNECTED';
        return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }));
      };
      window.__connected = 0;
      // Once per page, however many tests load this.
      if (!window.__countsConnected) {
        window.__countsConnected = true;
        document.addEventListener('wa-signup:connected', function () { window.__connected += 1; });
      }
"#;

fn js(code: &str) -> JsValue {
    js_sys::eval(code).unwrap_or_else(|e| panic!("{code}: {e:?}"))
}

fn data_url(source: &str) -> String {
    format!(
        "data:text/javascript;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(source))
    )
}

fn options(sdk_url: String) -> WidgetOptions {
    WidgetOptions {
        app_id: Some("1234".into()),
        config_id: Some("5678".into()),
        solution_id: Some("9012".into()),
        graph_version: Some("v26.0".into()),
        sdk_url: Some(sdk_url),
        locale: Some("en".into()),
        ..WidgetOptions::default()
    }
}

struct Mounted {
    root: HtmlElement,
    _handle: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

fn mount(options: WidgetOptions) -> Mounted {
    wa_signup::browser::sdk::reset_for_tests();
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! { <Widget options=options /> }.into_any()
    });
    Mounted {
        root,
        _handle: handle,
    }
}

fn find(root: &HtmlElement, testid: &str) -> HtmlElement {
    root.query_selector(&format!("[data-testid=\"{testid}\"]"))
        .unwrap()
        .unwrap_or_else(|| panic!("no [data-testid={testid}]"))
        .unchecked_into()
}

fn state(root: &HtmlElement) -> String {
    find(root, "status")
        .get_attribute("data-state")
        .unwrap_or_default()
}

async fn wait_for_state(root: &HtmlElement, want: &str) {
    assert!(
        eventually(|| state(root) == want).await,
        "data-state stayed {:?}, wanted {want:?}: {}",
        state(root),
        root.inner_text()
    );
}

fn post_from_facebook(data: &str) {
    let init = MessageEventInit::new();
    init.set_origin("https://www.facebook.com");
    init.set_data(&JsValue::from_str(data));
    let event = MessageEvent::new_with_event_init_dict("message", &init).unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn loads_the_sdk_then_cancelling_at_a_step_says_which() {
    let w = mount(options(data_url(FAKE_SDK)));
    let status = find(&w.root, "status");
    assert_eq!(status.get_attribute("aria-live").as_deref(), Some("polite"));
    wait_for_state(&w.root, "ready").await;
    assert_eq!(
        js("window.__fb.inits[0].appId").as_string().as_deref(),
        Some("1234")
    );
    assert_eq!(
        js("window.__fb.inits[0].version").as_string().as_deref(),
        Some("v26.0")
    );

    js("window.__cancels = []; document.addEventListener('wa-signup:cancel', e => window.__cancels.push(e.detail))");
    find(&w.root, "launch-standard").click();
    leptos::task::tick().await;
    assert_eq!(state(&w.root), "in-popup");
    assert_eq!(
        js("window.__fb.logins[0].config_id").as_string().as_deref(),
        Some("5678")
    );
    assert_eq!(
        js("window.__fb.logins[0].extras.setup.solutionID")
            .as_string()
            .as_deref(),
        Some("9012")
    );
    // A second click while the popup is open does nothing.
    find(&w.root, "launch-coexistence").click();
    assert_eq!(js("window.__fb.logins.length").as_f64(), Some(1.0));

    post_from_facebook(
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{"current_step":"PHONE_NUMBER_SETUP"},"version":3}"#,
    );
    js("window.__fb.callback({status: 'unknown', authResponse: null})");
    wait_for_state(&w.root, "cancelled").await;
    assert!(
        status.inner_text().contains("add a phone number"),
        "{}",
        status.inner_text()
    );
    assert_eq!(
        js("window.__cancels[0].current_step")
            .as_string()
            .as_deref(),
        Some("PHONE_NUMBER_SETUP")
    );
}

#[wasm_bindgen_test]
async fn an_unloadable_sdk_is_reported_as_blocked() {
    let w = mount(options("http://127.0.0.1:9/sdk.js".into()));
    wait_for_state(&w.root, "sdk-blocked").await;
    let text = find(&w.root, "status").inner_text();
    assert!(text.contains("blocker"), "{text}");
    find(&w.root, "retry");
    let launch: web_sys::HtmlButtonElement = find(&w.root, "launch-standard").unchecked_into();
    assert!(launch.disabled());
}

#[wasm_bindgen_test]
async fn a_finish_is_submitted_and_followed_to_connected() {
    js(FAKE_PROXY);
    let w = mount(options(data_url(FAKE_SDK)));
    wait_for_state(&w.root, "ready").await;
    find(&w.root, "launch-standard").click();
    js("window.__fb.callback({status: 'connected', authResponse: {code: 'AQB-code'}})");
    post_from_facebook(
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"phone_number_id":"106540352242922","waba_id":"104996122399160","business_id":"2729063490586005"},"version":3}"#,
    );
    wait_for_state(&w.root, "pending").await;
    let post = js("JSON.stringify(window.__posts[0])").as_string().unwrap();
    let post: serde_json::Value = serde_json::from_str(&post).unwrap();
    assert_eq!(post["mode"], "standard");
    assert_eq!(post["waba_id"], "104996122399160");
    assert_eq!(post["code"], "AQB-code");
    assert_eq!(post["event"], "FINISH");
    assert_eq!(find(&w.root, "waba-id").inner_text(), "104996122399160");

    // The event stream is unavailable here, so the widget falls back to polling.
    wait_for_state(&w.root, "connected").await;
    assert_eq!(js("window.__connected").as_f64(), Some(1.0));
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn v4_is_launched_and_an_unknown_finish_with_a_waba_is_submitted() {
    js(FAKE_PROXY);
    let w = mount(options(data_url(FAKE_SDK)));
    wait_for_state(&w.root, "ready").await;
    find(&w.root, "launch-coexistence").click();
    // The default version: v4 named in extras, no features, coexistence's featureType.
    let extras = js("JSON.stringify(window.__fb.logins.at(-1).extras)")
        .as_string()
        .unwrap();
    let extras: serde_json::Value = serde_json::from_str(&extras).unwrap();
    assert_eq!(
        extras,
        serde_json::json!({"setup": {"solutionID": "9012"}, "sessionInfoVersion": "3",
            "version": "v4", "featureType": "whatsapp_business_app_onboarding"})
    );
    js("window.__fb.callback({status: 'connected', authResponse: {code: 'AQB-code'}})");
    post_from_facebook(
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_A_KIND_NOT_YET_NAMED","data":{"waba_id":"104996122399160"},"version":3}"#,
    );
    // Submitted, not left waiting for a finish that will never come.
    wait_for_state(&w.root, "pending").await;
    let post = js("JSON.stringify(window.__posts[0])").as_string().unwrap();
    let post: serde_json::Value = serde_json::from_str(&post).unwrap();
    assert_eq!(post["mode"], "coexistence");
    assert_eq!(post["event"], "FINISH_A_KIND_NOT_YET_NAMED");
    assert_eq!(post["waba_id"], "104996122399160");
    wait_for_state(&w.root, "connected").await;
    js("delete window.fetch");
}

/// A scripted proxy (`window.fetch`): each request takes the first `window.__script` entry
/// with its method and path (entries with `keep: true` answer every time) and is recorded in
/// `window.__requests` as `{method, path, body}`.
const SCRIPTED_PROXY: &str = r#"
  window.__requests = [];
  window.fetch = function (input, init) {
    var url = typeof input === 'string' ? input : input.url;
    var method = (init && init.method) || input.method || 'GET';
    var path = new URL(url, location.href).pathname;
    var read = init && init.body ? Promise.resolve(init.body) : (input.text ? input.text() : Promise.resolve(''));
    return read.then(function (text) {
      var auth = (init && init.headers && init.headers.Authorization) || null;
      window.__requests.push({ method: method, path: path, body: text ? JSON.parse(text) : null, auth: auth, url: url });
      var i = window.__script.findIndex(function (s) { return s.method === method && s.path === path; });
      var answer = i < 0 ? { status: 500, body: {} } : window.__script[i];
      if (i >= 0 && !answer.keep) window.__script.splice(i, 1);
      var body = answer.body;
      // The proxy answers every created onboarding with its client token.
      if (method === 'POST' && path === '/api/onboardings' && answer.status < 300) {
        body = Object.assign({ client_token: 'cli_test_token' }, body);
      }
      return new Response(JSON.stringify(body), { status: answer.status, headers: { 'Content-Type': 'application/json' } });
    });
  };
  window.onboarding = function (state, error, steps) {
    return { id: 'b7a1', mode: 'standard', waba_id: '104996122399160', phone_number_id: '106540352242922',
      state: state, steps: (steps || []).map(function (s) {
        return { name: s[0], state: s[1], started_at: '2026-11-23T10:00:00Z' }; }),
      error: error, created_at: '2026-11-23T10:00:00Z', updated_at: '2026-11-23T10:00:00Z' };
  };
"#;

const FINISH: &str = r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"phone_number_id":"106540352242922","waba_id":"104996122399160"},"version":3}"#;

/// The requests the scripted proxy received with this method and path, bodies as JSON.
fn requests(method: &str, path: &str) -> Vec<serde_json::Value> {
    let all = js("JSON.stringify(window.__requests)").as_string().unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(&all).unwrap();
    all.into_iter()
        .filter(|r| r["method"] == method && r["path"] == path)
        .map(|r| r["body"].clone())
        .collect()
}

async fn launch_and_finish(root: &HtmlElement) {
    wait_for_state(root, "ready").await;
    find(root, "launch-standard").click();
    js("window.__fb.callback({status: 'connected', authResponse: {code: 'AQB-code'}})");
    post_from_facebook(FINISH);
}

#[wasm_bindgen_test]
async fn try_again_after_a_retryable_refusal_resends_the_same_ids() {
    js(SCRIPTED_PROXY);
    js(r#"window.__script = [
      { method: 'POST', path: '/api/onboardings', status: 502, body: { error: {
          code: 'verification_unavailable', retryable: true,
          message: "Meta's Graph API could not verify the sign-up right now; try again in a moment." } } },
      { method: 'POST', path: '/api/onboardings', status: 201,
        body: onboarding('pending', null, [['bind', 'done'], ['check_payment', 'done'], ['register', 'done']]) },
      { method: 'GET', path: '/api/onboardings/b7a1', status: 200, keep: true,
        body: onboarding('connected', null, [['bind', 'done'], ['check_payment', 'done'], ['register', 'done']]) },
    ];"#);
    let w = mount(options(data_url(FAKE_SDK)));
    launch_and_finish(&w.root).await;
    wait_for_state(&w.root, "failed").await;
    let launch: web_sys::HtmlButtonElement = find(&w.root, "launch-standard").unchecked_into();
    assert!(
        launch.disabled(),
        "the kept ids are sent again, not replaced"
    );
    find(&w.root, "retry").click();
    wait_for_state(&w.root, "connected").await;
    let posts = requests("POST", "/api/onboardings");
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0], posts[1], "the very same ids, code included");
    assert_eq!(posts[1]["code"], "AQB-code");
    // The onboarding's routes carry the client token in a header, never in the address.
    let all = js("JSON.stringify(window.__requests)").as_string().unwrap();
    let all: Vec<serde_json::Value> = serde_json::from_str(&all).unwrap();
    let followed: Vec<_> = all
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .starts_with("/api/onboardings/b7a1")
        })
        .collect();
    assert!(!followed.is_empty());
    for r in &followed {
        assert_eq!(r["auth"], "Bearer cli_test_token", "{r}");
        assert!(!r["url"].as_str().unwrap().contains("cli_"), "{r}");
    }
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn a_refused_retry_keeps_the_progress_and_its_button_retries_again() {
    js(SCRIPTED_PROXY);
    js(r#"window.__script = [
      { method: 'POST', path: '/api/onboardings', status: 201,
        body: onboarding('failed', { code: 'upstream_unavailable', retryable: true,
          message: 'YCloud failed while trying to register the phone number; retry in a moment.' },
          [['bind', 'done'], ['check_payment', 'done'], ['register', 'failed']]) },
      { method: 'POST', path: '/api/onboardings/b7a1/retry', status: 429, body: { error: {
          code: 'retry_too_soon', retryable: true,
          message: 'This onboarding was retried moments ago; try again in a few seconds.' } } },
      { method: 'POST', path: '/api/onboardings/b7a1/retry', status: 200,
        body: onboarding('pending', null, [['bind', 'done'], ['check_payment', 'done'], ['register', 'done']]) },
      { method: 'GET', path: '/api/onboardings/b7a1', status: 200, keep: true,
        body: onboarding('connected', null, [['bind', 'done'], ['check_payment', 'done'], ['register', 'done']]) },
    ];"#);
    let w = mount(options(data_url(FAKE_SDK)));
    launch_and_finish(&w.root).await;
    wait_for_state(&w.root, "failed").await;
    find(&w.root, "retry").click();
    // The retry is refused, for now (a refusal that names a time is another test's).
    eventually(|| {
        requests("POST", "/api/onboardings/b7a1/retry").len() == 1 && has(&w.root, "retry")
    })
    .await;
    assert_eq!(state(&w.root), "failed");
    // The onboarding stays on screen, and the button is there and does something.
    assert_eq!(find(&w.root, "waba-id").inner_text(), "104996122399160");
    let items = w
        .root
        .query_selector_all("[data-testid=progress] li")
        .unwrap();
    let marks: Vec<String> = (0..items.length())
        .filter_map(|i| items.item(i))
        .map(|li| {
            li.unchecked_into::<web_sys::Element>()
                .get_attribute("data-mark")
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(marks, ["done", "done", "failed", "waiting"]);
    find(&w.root, "retry").click();
    wait_for_state(&w.root, "connected").await;
    assert_eq!(requests("POST", "/api/onboardings/b7a1/retry").len(), 2);
    assert_eq!(requests("POST", "/api/onboardings").len(), 1);
    js("delete window.fetch");
}

const TOKEN: &str = "ses_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

fn with_session(mut options: WidgetOptions) -> WidgetOptions {
    let token = wire::SessionToken::parse(TOKEN).unwrap();
    options.session = Some(wa_signup::embed::GivenSession::Token(token));
    options
}

/// `GET /api/config` as a proxy answers it; `sessions_required` as given.
fn config_answer(sessions_required: bool) -> String {
    let config = serde_json::json!({
        "app_id": "1234", "config_id": "5678", "solution_id": "9012",
        "graph_version": "v26.0", "es_version": "v4", "sdk_url": data_url(FAKE_SDK),
        "sandbox": false, "verification": false, "sessions_required": sessions_required,
    });
    format!("{{ method: 'GET', path: '/api/config', status: 200, keep: true, body: {config} }}")
}

fn has(root: &HtmlElement, testid: &str) -> bool {
    root.query_selector(&format!("[data-testid=\"{testid}\"]"))
        .unwrap()
        .is_some()
}

fn assert_no_launch(root: &HtmlElement) {
    assert!(!has(root, "launch-standard"), "{}", root.inner_html());
    assert!(!has(root, "launch-coexistence"), "{}", root.inner_html());
    assert!(!has(root, "retry"), "nothing to try again");
}

#[wasm_bindgen_test]
async fn without_a_session_where_one_is_required_nothing_can_be_launched() {
    js(SCRIPTED_PROXY);
    js(&format!("window.__script = [{}];", config_answer(true)));
    js("window.__errors = []; document.addEventListener('wa-signup:error', e => window.__errors.push(e.detail))");
    // No configuration in the options: the proxy's says sessions are required.
    let w = mount(WidgetOptions {
        locale: Some("en".into()),
        ..WidgetOptions::default()
    });
    wait_for_state(&w.root, "session-invalid").await;
    assert_no_launch(&w.root);
    let text = find(&w.root, "status").inner_text();
    assert!(
        text.contains("only works with a personal sign-up link"),
        "{text}"
    );
    assert!(
        text.contains("Please ask the business that sent you here"),
        "{text}"
    );
    assert!(
        requests("POST", "/api/session").is_empty(),
        "no token to ask about"
    );
    assert_eq!(
        js("window.__errors.at(-1).code").as_string().as_deref(),
        Some("session_required")
    );
    // The language switch still works on this screen.
    let select: web_sys::HtmlSelectElement = find(&w.root, "locale").unchecked_into();
    select.set_value("zh-Hant");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    leptos::task::tick().await;
    let text = find(&w.root, "status").inner_text();
    assert!(text.contains("專屬註冊連結"), "{text}");
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn an_unknown_or_expired_token_shows_session_invalid_even_where_sessions_are_optional() {
    js(SCRIPTED_PROXY);
    js(r#"window.__script = [
      { method: 'POST', path: '/api/session', status: 401, body: { error: {
          code: 'session_invalid', retryable: false,
          message: 'This onboarding link is not valid any more (unknown, expired or revoked): ask your provider for a new one.' } } },
    ];"#);
    // Complete options: no configuration asked, sessions not required; the token still is.
    let w = mount(with_session(options(data_url(FAKE_SDK))));
    wait_for_state(&w.root, "session-invalid").await;
    assert_no_launch(&w.root);
    let text = find(&w.root, "status").inner_text();
    assert!(
        text.contains("This sign-up link is no longer valid."),
        "{text}"
    );
    assert!(
        text.contains("Please ask the business that sent it to you for a new link."),
        "{text}"
    );
    let lookups = requests("POST", "/api/session");
    assert_eq!(lookups, [serde_json::json!({ "session": TOKEN })]);
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn a_session_narrows_the_buttons_and_picks_the_language() {
    js(SCRIPTED_PROXY);
    js(r#"window.__script = [
      { method: 'POST', path: '/api/session', status: 200, keep: true,
        body: { modes: ['coexistence'], locale: 'vi', expires_at: '2026-11-24T10:00:00.000000Z' } },
    ];"#);
    let mut o = with_session(options(data_url(FAKE_SDK)));
    o.locale = None;
    let w = mount(o);
    wait_for_state(&w.root, "ready").await;
    assert!(
        !has(&w.root, "launch-standard"),
        "the session allows coexistence only"
    );
    assert!(has(&w.root, "launch-coexistence"));
    let section = w.root.query_selector("section").unwrap().unwrap();
    assert_eq!(section.get_attribute("lang").as_deref(), Some("vi"));
    assert!(find(&w.root, "status").inner_text().contains("Hãy chọn"));

    // The page's own choice of language wins; a widget offering only a mode the session does
    // not allow has nothing to launch.
    let mut o = with_session(options(data_url(FAKE_SDK)));
    o.modes = wa_signup::embed::Modes::Only(wire::Mode::Standard);
    let w = mount(o);
    wait_for_state(&w.root, "session-invalid").await;
    assert_no_launch(&w.root);
    let text = find(&w.root, "status").inner_text();
    assert!(
        text.contains("does not allow this way of connecting"),
        "{text}"
    );
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn the_session_travels_with_the_create_and_a_refusal_of_it_ends_the_page() {
    js(SCRIPTED_PROXY);
    js(r#"window.__script = [
      { method: 'POST', path: '/api/session', status: 200, keep: true,
        body: { modes: ['standard', 'coexistence'], expires_at: '2026-11-24T10:00:00.000000Z' } },
      { method: 'POST', path: '/api/onboardings', status: 201,
        body: onboarding('pending', null, [['bind', 'done'], ['check_payment', 'done'], ['register', 'done']]) },
      { method: 'GET', path: '/api/onboardings/b7a1', status: 200, keep: true,
        body: onboarding('connected', null, [['bind', 'done'], ['check_payment', 'done'], ['register', 'done']]) },
    ];"#);
    let w = mount(with_session(options(data_url(FAKE_SDK))));
    launch_and_finish(&w.root).await;
    wait_for_state(&w.root, "connected").await;
    let posts = requests("POST", "/api/onboardings");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["session"], TOKEN);
    assert_eq!(posts[0]["waba_id"], "104996122399160");
    drop(w);

    // The session is revoked between the page's load and the popup's finish.
    js(
        r#"window.__script.push({ method: 'POST', path: '/api/onboardings', status: 401, body: { error: {
        code: 'session_invalid', retryable: false, message: 'This onboarding link is not valid any more.' } } });"#,
    );
    js("window.__errors = []; document.addEventListener('wa-signup:error', e => window.__errors.push(e.detail))");
    let w = mount(with_session(options(data_url(FAKE_SDK))));
    launch_and_finish(&w.root).await;
    wait_for_state(&w.root, "session-invalid").await;
    assert_no_launch(&w.root);
    assert_eq!(
        js("window.__errors.at(-1).code").as_string().as_deref(),
        Some("session_invalid")
    );
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn markup_chooses_a_session_only_when_the_partners_script_allows_it() {
    js(SCRIPTED_PROXY);
    // The proxy names the partner; the session names the customer.
    let config = config_answer(true).replace(
        "\"sessions_required\":true",
        "\"sessions_required\":true,\"partner_name\":\"Acme CRM\"",
    );
    assert!(config.contains("Acme CRM"), "{config}");
    js(&format!(
        r#"window.__script = [{config}, {{ method: 'POST', path: '/api/session', status: 200, keep: true,
            body: {{ modes: ['standard'], expires_at: '2026-11-24T10:00:00.000000Z', customer_name: 'Kim <b>Cakes</b>' }} }}];"#
    ));
    wa_signup::browser::sdk::reset_for_tests();
    let document = web_sys::window().unwrap().document().unwrap();
    let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    for (name, value) in [
        ("data-wa-signup", ""),
        ("data-locale", "en"),
        ("data-session", TOKEN),
        ("data-app-id", "999"),
    ] {
        host.set_attribute(name, value).unwrap();
    }
    document.body().unwrap().append_child(&host).unwrap();
    // As the bundle's own start-up does: the element waits for the partner's leave.
    assert_eq!(wa_signup::mount::auto_mount(JsValue::UNDEFINED), 0);
    assert!(!host.has_attribute("data-wa-signup-mounted"));
    assert!(requests("POST", "/api/session").is_empty());
    // The partner's script allows it.
    let allow = js("({ sessionFromMarkup: true })");
    assert_eq!(wa_signup::mount::auto_mount(allow), 1);
    wait_for_state(&host, "ready").await;
    assert_eq!(
        requests("POST", "/api/session"),
        [serde_json::json!({ "session": TOKEN })]
    );
    // Whom it connects, before the buttons, as text (the name's markup is not markup).
    let line = host
        .query_selector("[data-testid=\"connecting-to\"]")
        .unwrap()
        .expect("the connecting-to line");
    assert_eq!(
        line.text_content().as_deref(),
        Some("Connecting WhatsApp to Acme CRM for Kim <b>Cakes</b>")
    );
    assert!(line.query_selector("b").unwrap().is_none());
    assert!(has(&host, "launch-standard"));
    host.remove();
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn the_standalone_page_takes_its_session_from_the_address_and_removes_it() {
    js(SCRIPTED_PROXY);
    js(&format!(
        r#"window.__script = [{}, {{ method: 'POST', path: '/api/session', status: 200, keep: true,
            body: {{ modes: ['standard'], expires_at: '2026-11-24T10:00:00.000000Z' }} }}];"#,
        config_answer(false)
    ));
    let before = js("location.pathname + location.search + location.hash")
        .as_string()
        .unwrap();
    js(&format!(
        "history.replaceState(null, '', location.pathname + '?keep=1&session={TOKEN}#top')"
    ));
    wa_signup::browser::sdk::reset_for_tests();
    let document = web_sys::window().unwrap().document().unwrap();
    let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    host.set_attribute("data-wa-signup", "").unwrap();
    host.set_attribute("data-locale", "en").unwrap();
    host.set_attribute("data-session-from-url", "").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    assert_eq!(wa_signup::mount::auto_mount(JsValue::UNDEFINED), 1);
    // Out of the address bar before anything is asked, every other part kept.
    assert_eq!(
        js("location.search + location.hash").as_string().as_deref(),
        Some("?keep=1#top")
    );
    wait_for_state(&host, "ready").await;
    assert_eq!(
        requests("POST", "/api/session"),
        [serde_json::json!({ "session": TOKEN })]
    );
    assert!(has(&host, "launch-standard"));
    assert!(!has(&host, "launch-coexistence"));

    // A reload: the address has no token any more, the tab still has it.
    host.remove();
    let again: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    for (name, value) in [
        ("data-wa-signup", ""),
        ("data-locale", "en"),
        ("data-session-from-url", ""),
    ] {
        again.set_attribute(name, value).unwrap();
    }
    document.body().unwrap().append_child(&again).unwrap();
    assert_eq!(wa_signup::mount::auto_mount(JsValue::UNDEFINED), 1);
    wait_for_state(&again, "ready").await;
    assert_eq!(requests("POST", "/api/session").len(), 2);
    assert_eq!(
        requests("POST", "/api/session")[1],
        serde_json::json!({ "session": TOKEN })
    );
    assert!(has(&again, "launch-standard"));
    again.remove();
    js("sessionStorage.removeItem('wa-signup:session')");
    js(&format!("history.replaceState(null, '', {before:?})"));
    js("delete window.fetch");
}

fn type_into(root: &HtmlElement, testid: &str, text: &str) {
    js_sys::Reflect::set(&find(root, testid), &"value".into(), &text.into()).unwrap();
}

async fn wait_for_text(root: &HtmlElement, testid: &str, want: &str) {
    assert!(
        eventually(|| find(root, testid).inner_text().contains(want)).await,
        "{testid} never said {want:?}: {}",
        find(root, testid).inner_text()
    );
}

#[wasm_bindgen_test]
async fn a_number_with_a_pin_gets_it_from_the_form_a_wrong_one_is_said_to_be_wrong() {
    js(SCRIPTED_PROXY);
    js(r#"
      window.__pinWanted = { code: 'pin_required', retryable: false,
        message: 'This number already has a two-step verification PIN (133005).' };
      window.__script = [
      { method: 'POST', path: '/api/onboardings', status: 201,
        body: onboarding('action_required', window.__pinWanted, [['register', 'failed']]) },
      { method: 'POST', path: '/api/onboardings/b7a1/pin', status: 200,
        body: onboarding('action_required', window.__pinWanted, [['register', 'failed']]) },
      { method: 'POST', path: '/api/onboardings/b7a1/pin', status: 200,
        body: onboarding('pending', null, [['register', 'done']]) },
      { method: 'GET', path: '/api/onboardings/b7a1', status: 200, keep: true,
        body: onboarding('connected', null, [['register', 'done']]) },
    ];
      window.__pinEvents = [];
      document.addEventListener('wa-signup:onboarding', function (e) {
        window.__pinEvents.push(JSON.stringify(e.detail));
      });"#);
    let w = mount(options(data_url(FAKE_SDK)));
    launch_and_finish(&w.root).await;
    wait_for_state(&w.root, "action-required").await;
    let input = find(&w.root, "pin-input");
    assert_eq!(input.get_attribute("inputmode").as_deref(), Some("numeric"));
    assert_eq!(
        input.get_attribute("autocomplete").as_deref(),
        Some("one-time-code")
    );
    assert_eq!(input.get_attribute("maxlength").as_deref(), Some("6"));
    assert!(find(&w.root, "status")
        .inner_text()
        .contains("already has a two-step verification PIN"));

    // Five digits: refused in the page, nothing sent.
    type_into(&w.root, "pin-input", "13579");
    find(&w.root, "pin-submit").click();
    wait_for_text(&w.root, "pin-error", "exactly 6 digits").await;
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert!(requests("POST", "/api/onboardings/b7a1/pin").is_empty());

    // Meta refuses the first PIN: the onboarding comes back still waiting for one.
    type_into(&w.root, "pin-input", "135790");
    find(&w.root, "pin-submit").click();
    wait_for_text(
        &w.root,
        "status",
        "not this number's two-step verification PIN",
    )
    .await;
    assert!(find(&w.root, "status")
        .inner_text()
        .contains("counts towards a lock-out"));
    assert_eq!(state(&w.root), "action-required");

    type_into(&w.root, "pin-input", " 246810 ");
    find(&w.root, "pin-submit").click();
    wait_for_state(&w.root, "connected").await;
    let pins = requests("POST", "/api/onboardings/b7a1/pin");
    assert_eq!(
        pins,
        [
            serde_json::json!({ "pin": "135790" }),
            serde_json::json!({ "pin": "246810" })
        ]
    );
    assert!(
        !has(&w.root, "pin-input"),
        "the form is gone once connected"
    );
    let events = js("JSON.stringify(window.__pinEvents)")
        .as_string()
        .unwrap();
    assert!(!events.contains("135790") && !events.contains("246810"));
    let storage = js("JSON.stringify(Object.entries(sessionStorage))")
        .as_string()
        .unwrap();
    assert!(!storage.contains("246810"), "{storage}");
    js("delete window.fetch");
}

fn post_from(origin: &str, data: &str) {
    let init = MessageEventInit::new();
    init.set_origin(origin);
    init.set_data(&JsValue::from_str(data));
    let event = MessageEvent::new_with_event_init_dict("message", &init).unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn a_sandbox_widget_on_another_origin_trusts_the_proxys_stand_in_popup() {
    js(SCRIPTED_PROXY);
    let config = serde_json::json!({
        "app_id": "1234", "config_id": "5678", "solution_id": "9012",
        "graph_version": "v26.0", "es_version": "v4", "sdk_url": data_url(FAKE_SDK),
        "sandbox": true, "verification": false, "sessions_required": false,
    });
    js(&format!(
        r#"window.__script = [
          {{ method: 'GET', path: '/api/config', status: 200, keep: true, body: {config} }},
          {{ method: 'POST', path: '/api/onboardings', status: 201, body: onboarding('pending') }},
          {{ method: 'GET', path: '/api/onboardings/b7a1', status: 200, keep: true, body: onboarding('pending') }},
        ];"#
    ));
    // The page is on the test server's origin; the proxy (and its stand-in popup) elsewhere.
    let w = mount(WidgetOptions {
        proxy_url: "http://proxy.test:9".into(),
        locale: Some("en".into()),
        ..WidgetOptions::default()
    });
    wait_for_state(&w.root, "ready").await;
    find(&w.root, "launch-standard").click();
    js("window.__fb.callback({status: 'connected', authResponse: {code: 'AQB-code'}})");
    // Another origin is still nobody.
    post_from("http://other.test:9", FINISH);
    leptos::task::tick().await;
    assert_eq!(state(&w.root), "in-popup");
    post_from("http://proxy.test:9", FINISH);
    wait_for_state(&w.root, "pending").await;
    assert_eq!(requests("POST", "/api/onboardings").len(), 1);
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn a_finished_page_shows_the_result_and_the_way_back_instead_of_the_buttons() {
    js(SCRIPTED_PROXY);
    let config = serde_json::json!({
        "app_id": "1234", "config_id": "5678", "solution_id": "9012",
        "graph_version": "v26.0", "es_version": "v4", "sdk_url": data_url(FAKE_SDK),
        "sandbox": false, "verification": false, "sessions_required": true,
        "partner_name": "Acme CRM",
    });
    js(&format!(
        r#"window.__script = [
          {{ method: 'GET', path: '/api/config', status: 200, keep: true, body: {config} }},
          {{ method: 'POST', path: '/api/session', status: 200, keep: true, body: {{ modes: ['standard', 'coexistence'],
             expires_at: '2026-11-24T10:00:00Z', return_url: 'https://crm.example/whatsapp?done=1' }} }},
          {{ method: 'POST', path: '/api/onboardings', status: 201, body: onboarding('connected') }},
        ];"#
    ));
    let w = mount(with_session(WidgetOptions {
        locale: Some("en".into()),
        ..WidgetOptions::default()
    }));
    wait_for_state(&w.root, "ready").await;
    assert!(
        !has(&w.root, "return-to-partner"),
        "no way back before the end"
    );
    launch_and_finish(&w.root).await;
    wait_for_state(&w.root, "connected").await;
    leptos::task::tick().await;
    assert!(!has(&w.root, "launch-standard") && !has(&w.root, "launch-coexistence"));
    assert!(
        !w.root.inner_text().contains("five minutes"),
        "{}",
        w.root.inner_text()
    );
    let link = find(&w.root, "return-to-partner");
    assert_eq!(link.inner_text(), "Return to Acme CRM");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://crm.example/whatsapp?done=1")
    );
    // The language switch relabels it.
    let select: web_sys::HtmlSelectElement = find(&w.root, "locale").unchecked_into();
    select.set_value("vi");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    leptos::task::tick().await;
    assert_eq!(
        find(&w.root, "return-to-partner").inner_text(),
        "Quay lại Acme CRM"
    );
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn a_register_limit_says_when_in_the_customers_words_and_leaves_another_number_open() {
    js(SCRIPTED_PROXY);
    js(r#"window.__script = [
      { method: 'POST', path: '/api/onboardings', status: 201, body: onboarding('failed', {
          code: 'register_limit', retryable: true, retry_after: '2026-12-09T23:37:47.361977Z',
          message: 'The register budget of this number is spent.' }) },
    ];"#);
    let w = mount(options(data_url(FAKE_SDK)));
    launch_and_finish(&w.root).await;
    wait_for_state(&w.root, "failed").await;
    let text = find(&w.root, "status").inner_text();
    assert!(!text.contains("2026-12-09T"), "no raw timestamp: {text}");
    assert!(text.contains("2026"), "{text}");
    assert!(text.contains("another number"), "{text}");
    assert!(
        !has(&w.root, "retry"),
        "no Try again before the time it names"
    );
    let launch: web_sys::HtmlButtonElement = find(&w.root, "launch-standard").unchecked_into();
    assert!(!launch.disabled(), "another number may be tried");
    let select: web_sys::HtmlSelectElement = find(&w.root, "locale").unchecked_into();
    select.set_value("zh-Hans");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    leptos::task::tick().await;
    let text = find(&w.root, "status").inner_text();
    assert!(text.contains("2026年"), "{text}");
    js("delete window.fetch");
}

/// Meta's error report, as the popup posts it.
fn popup_error(code: &str) -> String {
    format!(
        r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{{"error_message":"<img src=x onerror=alert(1)>","error_code":"{code}","session_id":"f1e2d3c4b5a6","timestamp":"1795430400"}},"version":3}}"#
    )
}

#[wasm_bindgen_test]
async fn each_popup_error_family_is_explained_in_each_language_with_a_support_reference() {
    use wa_signup::i18n::{Locale, Msg};
    let families = [
        ("3441045", Msg::FlowCoexNotEligible),
        ("3441047", Msg::FlowCoexMarketing),
        ("4563015", Msg::FlowAppTooOld),
        ("2655093", Msg::FlowSharedWithPartner),
        ("2655094", Msg::FlowDisconnectWait),
        ("2494028", Msg::FlowAlreadyShared),
        ("2388098", Msg::FlowBusinessVerification),
        ("2494143", Msg::FlowVerificationElsewhere),
        ("1675004", Msg::FlowTooManyAttempts),
        ("1", Msg::FlowUnknown),
    ];
    for locale in Locale::ALL {
        for (code, msg) in families {
            js(FAKE_PROXY);
            let mut o = options(data_url(FAKE_SDK));
            o.locale = Some(locale.tag().into());
            let w = mount(o);
            wait_for_state(&w.root, "ready").await;
            find(&w.root, "launch-coexistence").click();
            post_from_facebook(&popup_error(code));
            js("window.__fb.callback({status: 'unknown', authResponse: null})");
            wait_for_state(&w.root, "failed").await;
            let status = find(&w.root, "status");
            let text = status.inner_text();
            assert!(
                text.contains(locale.t(msg)),
                "{code} {}: {text}",
                locale.tag()
            );
            // Meta's text is shown as text, never as markup.
            assert!(text.contains("<img src=x"), "{text}");
            assert!(status.query_selector("img").unwrap().is_none());
            let reference = find(&w.root, "support-reference").inner_text();
            assert!(
                reference.contains("f1e2d3c4b5a6") && reference.contains(code),
                "{reference}"
            );
            w.root.remove();
        }
    }
}

#[wasm_bindgen_test]
async fn launches_cancels_and_errors_are_reported_to_the_proxy() {
    js(FAKE_PROXY);
    let w = mount(options(data_url(FAKE_SDK)));
    wait_for_state(&w.root, "ready").await;
    find(&w.root, "launch-standard").click();
    post_from_facebook(
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{"current_step":"PHONE_NUMBER_VERIFICATION"},"version":3}"#,
    );
    js("window.__fb.callback({status: 'unknown', authResponse: null})");
    wait_for_state(&w.root, "cancelled").await;
    find(&w.root, "launch-coexistence").click();
    post_from_facebook(&popup_error("2655093"));
    js("window.__fb.callback({status: 'unknown', authResponse: null})");
    wait_for_state(&w.root, "failed").await;
    eventually(|| js("window.__reports.length").as_f64() == Some(4.0)).await;
    let reports = js("JSON.stringify(window.__reports)").as_string().unwrap();
    let reports: Vec<serde_json::Value> = serde_json::from_str(&reports).unwrap();
    let kinds: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| (r["event"].as_str().unwrap(), r["mode"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("LAUNCH", "standard"),
            ("CANCEL", "standard"),
            ("LAUNCH", "coexistence"),
            ("ERROR", "coexistence")
        ]
    );
    assert_eq!(reports[1]["current_step"], "PHONE_NUMBER_VERIFICATION");
    assert_eq!(reports[3]["error_code"], "2655093");
    assert_eq!(reports[3]["meta_session_id"], "f1e2d3c4b5a6");
    assert!(
        js("window.__posts.length").as_f64() == Some(0.0),
        "no onboarding posted"
    );
}

/// An SDK whose first `FB.login` answers at once without a code, as Meta's does when the
/// browser blocked the popup; later ones wait for the test's answer, as an open popup does.
const BLOCKING_SDK: &str = r#"
window.__fb = { inits: [], logins: [], callback: null, blocked: false };
window.FB = {
  init: function (o) { window.__fb.inits.push(o); },
  login: function (cb, o) {
    window.__fb.logins.push(o);
    if (!window.__fb.blocked) {
      window.__fb.blocked = true;
      cb({ status: 'unknown', authResponse: null });
    } else {
      window.__fb.callback = cb;
    }
  },
};
setTimeout(function () { window.fbAsyncInit(); }, 0);
"#;

/// A fake proxy offering the full-page sign-in: `/api/config` says `redirect_flow: true`
/// (and names the SDK in `window.__sdkUrl`), `POST /api/oauth/result` answers an onboarding
/// with its client token, and every read of the onboarding records its `Authorization`.
const REDIRECT_PROXY: &str = r#"
      window.__reports = [];
      window.__results = [];
      window.__reads = [];
      window.fetch = function (input, init) {
        var url = typeof input === 'string' ? input : input.url;
        var method = (init && init.method) || 'GET';
        var headers = (init && init.headers) || {};
        var json = function (value) {
          return Promise.resolve(new Response(JSON.stringify(value),
            { status: 200, headers: { 'Content-Type': 'application/json' } }));
        };
        var onboarding = { id: 'b7a1', mode: 'standard', waba_id: '104996122399160',
          phone_number_id: '106540352242922', state: 'pending',
          waba: { paymentMethodAttached: true }, phone_number: { status: 'PENDING' },
          created_at: '2026-11-23T00:00:00Z', updated_at: '2026-11-23T00:00:00Z' };
        if (url.endsWith('/api/config')) {
          return json({ app_id: '1234', config_id: '5678', solution_id: '9012',
            graph_version: 'v26.0', es_version: 'v4', sdk_url: window.__sdkUrl, sandbox: false,
            verification: false, sessions_required: false, redirect_flow: true });
        }
        if (method === 'POST' && url.endsWith('/api/signup-events')) {
          window.__reports.push(JSON.parse(init.body));
          return Promise.resolve(new Response(null, { status: 202 }));
        }
        if (method === 'POST' && url.endsWith('/api/oauth/result')) {
          window.__results.push(JSON.parse(init.body));
          onboarding.client_token = 'cli_from_the_result';
          return json(onboarding);
        }
        window.__reads.push([url, headers.Authorization || null]);
        onboarding.state = 'connected';
        onboarding.phone_number.status = 'CONNECTED';
        return json(onboarding);
      };
"#;

/// Options that leave the configuration to the (fake) proxy's `/api/config`.
fn redirect_options(sdk_url: String) -> WidgetOptions {
    js(&format!("window.__sdkUrl = {sdk_url:?}"));
    WidgetOptions {
        locale: Some("en".into()),
        ..WidgetOptions::default()
    }
}

#[wasm_bindgen_test]
async fn a_blocked_popup_offers_the_full_page_sign_in_and_counts_no_launch() {
    js(REDIRECT_PROXY);
    let w = mount(redirect_options(data_url(BLOCKING_SDK)));
    wait_for_state(&w.root, "ready").await;
    find(&w.root, "launch-standard").click();
    wait_for_state(&w.root, "popup-blocked").await;
    let go = find(&w.root, "continue-redirect");
    assert_eq!(go.get_attribute("data-mode").as_deref(), Some("standard"));
    assert!(
        go.inner_text().contains("Continue in this window"),
        "{}",
        go.inner_text()
    );
    // The customer tries the popup once more, and this time it opens (and stays open).
    find(&w.root, "launch-coexistence").click();
    leptos::task::tick().await;
    assert_eq!(state(&w.root), "in-popup");
    // The opened popup's launch is reported once FB.login could have said otherwise; the
    // blocked one never is.
    eventually(|| js("window.__reports.length").as_f64() >= Some(1.0)).await;
    let reports = js("JSON.stringify(window.__reports)").as_string().unwrap();
    let reports: Vec<serde_json::Value> = serde_json::from_str(&reports).unwrap();
    let kinds: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| (r["event"].as_str().unwrap(), r["mode"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("LAUNCH", "coexistence")]);
    w.root.remove();
}

#[wasm_bindgen_test]
async fn a_full_page_result_is_picked_up_and_followed_with_its_client_token() {
    js(REDIRECT_PROXY);
    js("history.replaceState(null, '', location.pathname + location.search + '#wa-signup-result=h4ndle')");
    let w = mount(redirect_options(data_url(FAKE_SDK)));
    wait_for_state(&w.root, "connected").await;
    // The handle was traded once and left the address.
    assert_eq!(
        js("JSON.stringify(window.__results)")
            .as_string()
            .as_deref(),
        Some(r#"[{"result":"h4ndle"}]"#)
    );
    assert_eq!(js("location.hash").as_string().as_deref(), Some(""));
    // Every read of the onboarding carried the token the pick-up answered.
    let reads = js("JSON.stringify(window.__reads)").as_string().unwrap();
    let reads: Vec<(String, Option<String>)> = serde_json::from_str(&reads).unwrap();
    assert!(!reads.is_empty(), "the onboarding was followed");
    for (url, auth) in &reads {
        assert!(url.contains("/api/onboardings/b7a1"), "{url}");
        assert_eq!(auth.as_deref(), Some("Bearer cli_from_the_result"), "{url}");
    }
    w.root.remove();
}

#[wasm_bindgen_test]
async fn a_popup_closed_at_once_after_a_cancel_is_a_cancel_not_a_blocked_popup() {
    js(REDIRECT_PROXY);
    let w = mount(redirect_options(data_url(FAKE_SDK)));
    wait_for_state(&w.root, "ready").await;
    find(&w.root, "launch-standard").click();
    // The popup said it was cancelled, then FB.login answered without a code, all within
    // the time a blocked popup's answer takes: the popup was open.
    post_from_facebook(
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{"current_step":"PHONE_NUMBER_SETUP"},"version":3}"#,
    );
    js("window.__fb.callback({status: 'unknown', authResponse: null})");
    wait_for_state(&w.root, "cancelled").await;
    assert!(w
        .root
        .query_selector("[data-testid=\"continue-redirect\"]")
        .unwrap()
        .is_none());
    // Its launch counts, before its cancel.
    eventually(|| js("window.__reports.length").as_f64() >= Some(2.0)).await;
    let reports = js("JSON.stringify(window.__reports.map(r => [r.event, r.mode]))")
        .as_string()
        .unwrap();
    assert_eq!(reports, r#"[["LAUNCH","standard"],["CANCEL","standard"]]"#);
    w.root.remove();
}

#[wasm_bindgen_test]
async fn a_connected_number_offers_a_first_message_and_says_when_it_arrived() {
    js(SCRIPTED_PROXY);
    js(r#"
      window.__saidConnected = 0;
      if (!window.__countsSaidConnected) {
        window.__countsSaidConnected = true;
        document.addEventListener('wa-signup:connected', function () { window.__saidConnected += 1; });
      }
      var connected = onboarding('connected', null, [['bind', 'done'], ['check_payment', 'done'], ['register', 'done']]);
      connected.phone_number = { display_phone_number: '+1 555-000-1234', status: 'CONNECTED' };
      var arrived = JSON.parse(JSON.stringify(connected));
      arrived.inbound_verified_at = '2026-11-23T10:05:00Z';
      window.__script = [
        { method: 'POST', path: '/api/onboardings', status: 201, body: connected },
        { method: 'GET', path: '/api/onboardings/b7a1', status: 200, body: connected },
        { method: 'GET', path: '/api/onboardings/b7a1', status: 200, keep: true, body: arrived },
      ];"#);
    let w = mount(options(data_url(FAKE_SDK)));
    launch_and_finish(&w.root).await;
    wait_for_state(&w.root, "connected").await;
    leptos::task::tick().await;
    let block = find(&w.root, "first-message");
    assert_eq!(
        block.get_attribute("data-arrived").as_deref(),
        Some("false")
    );
    // The link is the way: WhatsApp's click-to-chat with the number's digits and a text.
    let link = find(&w.root, "first-message-link");
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://wa.me/15550001234?text=Hello%21%20This%20is%20a%20first%20message%20to%20check%20that%20the%20number%20works.")
    );
    assert_eq!(link.inner_text(), "Send a first message to +1 555-000-1234");
    // The code says in words what it is.
    let qr = find(&w.root, "first-message-qr");
    assert_eq!(qr.get_attribute("role").as_deref(), Some("img"));
    assert_eq!(
        qr.get_attribute("aria-label").as_deref(),
        Some("QR code of the link that sends a first message to +1 555-000-1234")
    );
    assert!(qr.inner_html().contains("<path"), "{}", qr.inner_html());
    // The page keeps asking until the message has arrived (every few seconds).
    let arrived = eventually_within(15_000, || {
        find(&w.root, "first-message")
            .get_attribute("data-arrived")
            .as_deref()
            == Some("true")
    })
    .await;
    assert!(arrived, "{}", w.root.inner_text());
    assert_eq!(
        find(&w.root, "first-message-status").inner_text(),
        "Your message arrived: your number receives messages."
    );
    assert_eq!(
        js("window.__saidConnected").as_f64(),
        Some(1.0),
        "connected is said once"
    );
    let asked = requests("GET", "/api/onboardings/b7a1").len();
    assert!(asked >= 2, "{asked}");
    // In the customer's language, the text the link fills in too.
    let select: web_sys::HtmlSelectElement = find(&w.root, "locale").unchecked_into();
    select.set_value("vi");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    leptos::task::tick().await;
    let link = find(&w.root, "first-message-link");
    assert_eq!(
        link.inner_text(),
        "Gửi tin nhắn đầu tiên đến +1 555-000-1234"
    );
    assert!(link
        .get_attribute("href")
        .unwrap()
        .starts_with("https://wa.me/15550001234?text=Xin%20ch%C3%A0o"));
    js("delete window.fetch");
}

/// An SDK that opens its popup with `window.open` within `FB.login`, as Meta's does, and
/// then says nothing until the test answers (`window.__fb.callback`); `window.__fb.opened`
/// keeps what `window.open` gave it.
const WINDOW_SDK: &str = r#"
window.__fb = { inits: [], logins: [], callback: null, opened: [] };
window.FB = {
  init: function (o) { window.__fb.inits.push(o); },
  login: function (cb, o) {
    window.__fb.logins.push(o);
    window.__fb.opened.push(window.open('https://www.facebook.com/dialog', 'fb_popup', 'width=560'));
    window.__fb.callback = cb;
  },
};
setTimeout(function () { window.fbAsyncInit(); }, 0);
"#;

#[wasm_bindgen_test]
async fn a_popup_blocker_is_seen_by_window_open_answering_null_even_when_the_sdk_stays_silent() {
    js(REDIRECT_PROXY);
    // A popup blocker: the page's window.open answers null.
    js("window.__pageOpen = window.open; window.__blocker = function () { return null; }; window.open = window.__blocker;");
    let w = mount(redirect_options(data_url(WINDOW_SDK)));
    wait_for_state(&w.root, "ready").await;
    find(&w.root, "launch-standard").click();
    // The SDK never answers, so no timing could tell: the missing window does.
    wait_for_state(&w.root, "popup-blocked").await;
    assert_eq!(js("window.__fb.opened.length").as_f64(), Some(1.0));
    assert_eq!(
        find(&w.root, "continue-redirect")
            .get_attribute("data-mode")
            .as_deref(),
        Some("standard")
    );
    // window.open is the page's own again.
    assert_eq!(js("window.open === window.__blocker").as_bool(), Some(true));
    // An answer the SDK gives later changes nothing, and no launch was counted.
    js("window.__fb.callback({status: 'unknown', authResponse: null})");
    leptos::task::tick().await;
    assert_eq!(state(&w.root), "popup-blocked");
    assert_eq!(js("window.__reports.length").as_f64(), Some(0.0));
    js("window.open = window.__pageOpen");
    w.root.remove();
}

#[wasm_bindgen_test]
async fn a_popup_that_opened_and_was_closed_at_once_is_a_cancel_not_a_blocked_popup() {
    js(REDIRECT_PROXY);
    // The browser gives a window (a stand-in for the one the customer closes at once).
    js("window.__pageOpen = window.open; window.__opener = function () { return { closed: true, close: function () {} }; }; window.open = window.__opener;");
    let w = mount(redirect_options(data_url(WINDOW_SDK)));
    wait_for_state(&w.root, "ready").await;
    find(&w.root, "launch-standard").click();
    // Closed before it posted anything: FB.login answers empty-handed at once.
    js("window.__fb.callback({status: 'unknown', authResponse: null})");
    wait_for_state(&w.root, "cancelled").await;
    assert!(w
        .root
        .query_selector("[data-testid=\"continue-redirect\"]")
        .unwrap()
        .is_none());
    assert_eq!(js("window.open === window.__opener").as_bool(), Some(true));
    // The popup opened, so its launch counts, before its cancel.
    eventually(|| js("window.__reports.length").as_f64() >= Some(2.0)).await;
    let reports = js("JSON.stringify(window.__reports.map(r => [r.event, r.mode]))")
        .as_string()
        .unwrap();
    assert_eq!(reports, r#"[["LAUNCH","standard"],["CANCEL","standard"]]"#);
    js("window.open = window.__pageOpen");
    w.root.remove();
}
