//! A connected coexistence onboarding's sync in the mounted widget (headless browser, a
//! scripted `window.fetch` proxy): its progress, the request to keep the WhatsApp Business
//! app open while it runs, followed until it ends, in each language.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use wa_signup::components::Widget;
use wa_signup::embed::WidgetOptions;
use wa_signup::i18n::{Locale, Msg};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, MessageEvent, MessageEventInit};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::eventually;

const FAKE_SDK: &str = r#"
window.__fb = { callback: null };
window.FB = {
  init: function () {},
  login: function (cb) { window.__fb.callback = cb; },
};
setTimeout(function () { window.fbAsyncInit(); }, 0);
"#;

/// The proxy: the create answers the onboarding connected with its history at 40% (phase
/// 1); each later read answers `window.__next` (the sync as it goes on), counted in
/// `window.__reads`.
const PROXY: &str = r#"
  window.__reads = 0;
  window.__connected = 0;
  window.__onboarding = function (history, contacts) {
    return { id: 'c0e1', mode: 'coexistence', waba_id: '104996122399160',
      phone_number_id: '106540352242922', state: 'connected',
      steps: [{ name: 'subscribe_app', state: 'done', started_at: '2026-12-07T10:00:00Z' }],
      sync: { contacts: { state: contacts }, history: history },
      // Its first message arrived already: only the sync is followed here.
      inbound_verified_at: '2026-12-07T10:01:00Z',
      created_at: '2026-12-07T10:00:00Z', updated_at: '2026-12-07T10:00:00Z' };
  };
  window.__next = window.__onboarding({ state: 'in_progress', progress: 40, phase: 1 }, 'done');
  window.fetch = function (input, init) {
    var url = typeof input === 'string' ? input : input.url;
    var method = (init && init.method) || input.method || 'GET';
    var body;
    if (method === 'POST') {
      body = window.__onboarding({ state: 'in_progress', progress: 40, phase: 1 }, 'requested');
      body.client_token = 'cli_test_token';
    } else {
      window.__reads += 1;
      body = window.__next;
    }
    return Promise.resolve(new Response(JSON.stringify(body),
      { status: method === 'POST' ? 201 : 200, headers: { 'Content-Type': 'application/json' } }));
  };
  // The widget's poll timers (POLL_MS, 2 s, in src/flow/onboarding.rs), counted when set
  // and when they fire: none pending means the poll loop has ended.
  if (!window.__pollTimers) {
    window.__pollTimers = { set: 0, fired: 0 };
    var setTimeout0 = window.setTimeout.bind(window);
    window.setTimeout = function (f, ms) {
      if (ms !== 2000) return setTimeout0.apply(null, arguments);
      window.__pollTimers.set += 1;
      return setTimeout0(function () { window.__pollTimers.fired += 1; f(); }, ms);
    };
  }
  if (!window.__countsConnected) {
    window.__countsConnected = true;
    document.addEventListener('wa-signup:connected', function () { window.__connected += 1; });
  }
"#;

const FINISH: &str = r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING","data":{"phone_number_id":"106540352242922","waba_id":"104996122399160"},"version":3}"#;

fn js(code: &str) -> JsValue {
    js_sys::eval(code).unwrap_or_else(|e| panic!("{code}: {e:?}"))
}

fn mount(locale: Locale) -> HtmlElement {
    wa_signup::browser::sdk::reset_for_tests();
    let sdk = format!(
        "data:text/javascript;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(FAKE_SDK))
    );
    let options = WidgetOptions {
        app_id: Some("1234".into()),
        config_id: Some("5678".into()),
        solution_id: Some("9012".into()),
        graph_version: Some("v26.0".into()),
        sdk_url: Some(sdk),
        locale: Some(locale.tag().into()),
        ..WidgetOptions::default()
    };
    let document = web_sys::window().unwrap().document().unwrap();
    let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! { <Widget options=options /> }.into_any()
    });
    // The widget stays mounted for the rest of the page's tests.
    std::mem::forget(handle);
    root
}

fn sync_section(root: &HtmlElement) -> Option<HtmlElement> {
    root.query_selector("[data-testid=\"sync-progress\"]")
        .unwrap()
        .map(JsCast::unchecked_into)
}

fn status(root: &HtmlElement) -> String {
    root.query_selector("[data-testid=\"status\"]")
        .unwrap()
        .and_then(|s| s.get_attribute("data-state"))
        .unwrap_or_default()
}

fn post_from_facebook(data: &str) {
    let init = MessageEventInit::new();
    init.set_origin("https://www.facebook.com");
    init.set_data(&JsValue::from_str(data));
    let event = MessageEvent::new_with_event_init_dict("message", &init).unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
}

/// Signs up in `locale`; answers the widget's root once it shows the onboarding connected.
async fn connected(locale: Locale) -> HtmlElement {
    js(PROXY);
    let root = mount(locale);
    assert!(eventually(|| status(&root) == "ready").await);
    root.query_selector("[data-testid=\"launch-coexistence\"]")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    js("window.__fb.callback({status: 'connected', authResponse: {code: 'AQB-code'}})");
    post_from_facebook(FINISH);
    assert!(
        eventually(|| status(&root) == "connected").await,
        "{}",
        root.inner_text()
    );
    root
}

#[wasm_bindgen_test]
async fn the_sync_shows_its_progress_and_asks_to_keep_the_app_open_until_it_ends() {
    let root = connected(Locale::En).await;
    let section = sync_section(&root).expect("the sync is shown");
    let text = section.inner_text();
    assert!(text.contains("40%"), "{text}");
    assert!(text.contains(Locale::En.t(Msg::SyncKeepOpen)), "{text}");
    assert_eq!(
        section.get_attribute("data-running").as_deref(),
        Some("true")
    );
    let bar = section.query_selector("progress").unwrap().expect("a bar");
    assert_eq!(bar.get_attribute("value").as_deref(), Some("40"));

    // The widget keeps following a syncing number: the next reads move it on.
    js("window.__next = window.__onboarding({ state: 'in_progress', progress: 75, phase: 2 }, 'done')");
    assert!(
        eventually(|| sync_section(&root).is_some_and(|s| s.inner_text().contains("75%"))).await,
        "{}",
        root.inner_text()
    );
    js("window.__next = window.__onboarding({ state: 'done', progress: 100, phase: 2 }, 'done')");
    assert!(
        eventually(|| sync_section(&root)
            .is_some_and(|s| s.inner_text().contains(Locale::En.t(Msg::SyncDone))))
        .await,
        "{}",
        root.inner_text()
    );
    let section = sync_section(&root).unwrap();
    assert!(!section
        .inner_text()
        .contains(Locale::En.t(Msg::SyncKeepOpen)));
    assert_eq!(
        section.get_attribute("data-running").as_deref(),
        Some("false")
    );
    // Connected once, however often the sync changed.
    assert_eq!(js("window.__connected").as_f64(), Some(1.0));
    // Once it ended, the widget stops reading: its poll timer fires once more and is not
    // set again, and that wake-up read nothing.
    let reads = js("window.__reads").as_f64().unwrap();
    assert!(
        eventually(|| js("window.__pollTimers.set === window.__pollTimers.fired").is_truthy())
            .await,
        "the poll loop goes on: {:?}",
        js("JSON.stringify(window.__pollTimers)")
    );
    assert_eq!(js("window.__reads").as_f64().unwrap(), reads);
    js("delete window.fetch");
}

#[wasm_bindgen_test]
async fn a_declined_history_is_said_in_each_language() {
    for locale in [Locale::ZhHans, Locale::ZhHant, Locale::Vi] {
        let root = connected(locale).await;
        assert!(
            eventually(|| locale.is_ready()).await,
            "{} never arrived",
            locale.tag()
        );
        assert!(
            eventually(|| sync_section(&root)
                .is_some_and(|s| s.inner_text().contains(locale.t(Msg::SyncKeepOpen))))
            .await,
            "{}: {}",
            locale.tag(),
            root.inner_text()
        );
        js("window.__next = window.__onboarding({ state: 'declined' }, 'done')");
        assert!(
            eventually(|| sync_section(&root)
                .is_some_and(|s| s.inner_text().contains(locale.t(Msg::SyncDeclined))))
            .await,
            "{}: {}",
            locale.tag(),
            root.inner_text()
        );
        let text = sync_section(&root).unwrap().inner_text();
        assert!(!text.contains(locale.t(Msg::SyncKeepOpen)), "{text}");
        root.remove();
        js("delete window.fetch");
    }
}
