//! Embedding in a partner's page: `mount`, auto-mount on `[data-wa-signup]`, several
//! widgets, unmounting, events, languages.
#![cfg(target_arch = "wasm32")]

use wa_signup::mount::{auto_mount, mount};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, MessageEvent, MessageEventInit};

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::eventually;

const FAKE_SDK: &str = r#"
window.__fb = { logins: [], callbacks: [] };
window.FB = {
  init: function () {},
  login: function (cb, o) { window.__fb.logins.push(o); window.__fb.callbacks.push(cb); },
};
setTimeout(function () { window.fbAsyncInit(); }, 0);
"#;

fn js(code: &str) -> JsValue {
    js_sys::eval(code).unwrap_or_else(|e| panic!("{code}: {e:?}"))
}

fn sdk_url() -> String {
    format!(
        "data:text/javascript;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(FAKE_SDK))
    )
}

fn host(html_attrs: &str) -> HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let wrapper = document.create_element("div").unwrap();
    wrapper.set_inner_html(&format!("<div {html_attrs}></div>"));
    document.body().unwrap().append_child(&wrapper).unwrap();
    wrapper.first_element_child().unwrap().unchecked_into()
}

fn options(extra: &str) -> JsValue {
    let url = sdk_url().replace('\'', "\\'");
    js(&format!(
        "({{appId: '1', configId: '2', solutionId: '3', graphVersion: 'v22.0', sdkUrl: '{url}', locale: 'en' {extra}}})"
    ))
}

fn find(root: &Element, testid: &str) -> Option<HtmlElement> {
    root.query_selector(&format!("[data-testid=\"{testid}\"]"))
        .unwrap()
        .map(JsCast::unchecked_into)
}

fn state(root: &Element) -> String {
    find(root, "status")
        .and_then(|s| s.get_attribute("data-state"))
        .unwrap_or_default()
}

async fn wait_for(cond: impl Fn() -> bool, what: &str) {
    assert!(eventually(cond).await, "timed out waiting for {what}");
}

fn post_from_facebook(data: &str) {
    let init = MessageEventInit::new();
    init.set_origin("https://web.facebook.com");
    init.set_data(&JsValue::from_str(data));
    let event = MessageEvent::new_with_event_init_dict("message", &init).unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn mount_renders_and_unmount_removes_everything() {
    wa_signup::browser::sdk::reset_for_tests();
    let el = host("");
    let mut handle = mount(el.clone().into(), options(", mode: 'coexistence'")).unwrap();
    wait_for(|| state(&el) == "ready", "ready").await;
    assert!(find(&el, "launch-coexistence").is_some());
    assert!(
        find(&el, "launch-standard").is_none(),
        "mode coexistence shows one button"
    );
    // Mounting twice on one element is refused.
    assert!(mount(el.clone().into(), options("")).is_err());

    // Start a popup, then unmount: a later message must not reach the widget (no events).
    find(&el, "launch-coexistence").unwrap().click();
    js("window.__seen = 0; document.addEventListener('wa-signup:cancel', () => window.__seen++)");
    handle.unmount();
    assert_eq!(el.inner_html(), "", "unmount leaves the element empty");
    post_from_facebook(
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{"current_step":"PERMISSIONS"}}"#,
    );
    wa_signup::browser::dom::sleep(50).await;
    assert_eq!(
        js("window.__seen").as_f64(),
        Some(0.0),
        "the listener went with the widget"
    );
    // The element can hold a new widget.
    let mut again = mount(el.clone().into(), options("")).unwrap();
    again.unmount();
}

#[wasm_bindgen_test]
fn bad_options_throw_an_error_naming_the_option() {
    let el = host("");
    for (extra, option) in [
        (", mode: 'premium'", "mode"),
        (", proxyUrl: 'ftp://x'", "proxyUrl"),
        (", customerRef: 42", "customerRef"),
        (", colour: 'red'", "colour"),
    ] {
        let err = match mount(el.clone().into(), options(extra)) {
            Ok(_) => panic!("{extra} was accepted"),
            Err(e) => JsValue::from(e),
        };
        let message = js_sys::Reflect::get(&err, &"message".into())
            .unwrap()
            .as_string()
            .unwrap();
        assert!(message.contains(option), "{message}");
        assert!(!el.has_attribute("data-wa-signup-mounted"));
    }
}

#[wasm_bindgen_test]
async fn auto_mount_reads_data_attributes_and_two_widgets_work_independently() {
    wa_signup::browser::sdk::reset_for_tests();
    // `data-sdk-url` and `data-proxy-url` are ignored (markup must not choose the script the
    // widget loads): this element fetches `/api/config` from the page's origin instead, and
    // the other script is never added.
    let ignored = host(
        r#"data-wa-signup data-mode="standard" data-sdk-url="https://evil.example/sdk.js" data-proxy-url="https://evil.example""#,
    );
    let bad = host(r#"data-wa-signup data-mode="sideways""#);
    assert_eq!(
        auto_mount(JsValue::UNDEFINED),
        1,
        "one good element, one refused"
    );
    assert_eq!(auto_mount(JsValue::UNDEFINED), 0, "never twice");
    assert!(ignored.has_attribute("data-wa-signup-mounted"));
    assert!(!bad.has_attribute("data-wa-signup-mounted"));
    wa_signup::browser::dom::sleep(50).await;
    assert_eq!(
        js("document.querySelectorAll('script[src*=\"evil.example\"]').length").as_f64(),
        Some(0.0)
    );

    // The SDK's address comes from `mount` only: two widgets mounted with it.
    let a = host(r#"data-mode="standard""#);
    let b = host(r#"data-mode="coexistence""#);
    let _a = mount(
        a.clone().into(),
        options(", mode: 'standard', locale: 'zh-TW', customerRef: 'a-1'"),
    )
    .unwrap();
    let _b = mount(
        b.clone().into(),
        options(", mode: 'coexistence', locale: 'xx-unknown'"),
    )
    .unwrap();
    wait_for(
        || state(&a) == "ready" && state(&b) == "ready",
        "both ready",
    )
    .await;

    // Languages: zh-TW reads Traditional Chinese; an unknown tag falls back to the browser's.
    let title_a = a
        .query_selector(".wa-title")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert_eq!(title_a, "連結 WhatsApp");
    assert_eq!(
        a.query_selector("[lang]")
            .unwrap()
            .unwrap()
            .get_attribute("lang")
            .as_deref(),
        Some("zh-Hant")
    );
    assert!(find(&b, "launch-standard").is_none());

    js("window.__events = []; ['wa-signup:cancel'].forEach(n => document.addEventListener(n, e => window.__events.push([e.target.closest('[data-wa-signup-mounted]') === null ? 'none' : e.target.closest('[data-wa-signup-mounted]').dataset.mode, e.detail])))");
    // Only widget A launches; B stays ready and ignores the popup's messages.
    find(&a, "launch-standard").unwrap().click();
    wait_for(|| state(&a) == "in-popup", "A in popup").await;
    post_from_facebook(
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{"current_step":"PERMISSIONS"},"version":3}"#,
    );
    js("window.__fb.callbacks[0]({status: 'unknown'})");
    wait_for(|| state(&a) == "cancelled", "A cancelled").await;
    assert_eq!(state(&b), "ready");
    assert_eq!(js("window.__events.length").as_f64(), Some(1.0));
    assert_eq!(
        js("window.__events[0][0]").as_string().as_deref(),
        Some("standard")
    );
    assert_eq!(
        js("window.__events[0][1].current_step")
            .as_string()
            .as_deref(),
        Some("PERMISSIONS")
    );
    let status = find(&a, "status").unwrap().inner_text();
    assert!(
        status.contains("檢視權限"),
        "the step's name is translated: {status}"
    );

    // The language switch changes every sentence.
    let select: web_sys::HtmlSelectElement = find(&a, "locale").unwrap().unchecked_into();
    select.set_value("vi");
    select
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    leptos::task::tick().await;
    let status = find(&a, "status").unwrap().inner_text();
    assert!(status.contains("xem lại quyền"), "{status}");
}

/// Forces garbage collection until an object dropped now has been finalized: a fact, not a
/// guess at timing. Chromium runs with `--js-flags=--expose-gc` (webdriver.json); Firefox
/// exposes no `gc()` to pages, so there short-lived garbage is allocated until its
/// collector runs a full collection on its own.
async fn collect_garbage() {
    js("window.__collected = false; window.__sentinels = window.__sentinels || new FinalizationRegistry(() => { window.__collected = true; }); (function () { window.__sentinels.register({}, 0); })()");
    wait_for(
        || {
            js("if (typeof gc === 'function') { gc(); } else { window.__garbage = Array.from({ length: 200000 }, (_, i) => ({ i })); }");
            js("window.__collected").as_bool() == Some(true)
        },
        "a garbage collection",
    )
    .await;
    // Finalizers of one collection run as separate tasks: let the others run too.
    wa_signup::browser::dom::sleep(100).await;
}

#[wasm_bindgen_test]
async fn a_widget_outlives_its_collected_handle_until_its_element_leaves_the_page() {
    wa_signup::browser::sdk::reset_for_tests();
    let el = host("");
    // As a page that never keeps what `WaSignup.mount` returns: the handle becomes a
    // JavaScript object, then nothing refers to it.
    let handle = JsValue::from(mount(el.clone().into(), options("")).unwrap());
    drop(handle);
    // And a handle dropped on the Rust side, as the collected object's finalizer does.
    let other = host("");
    drop(mount(other.clone().into(), options("")).unwrap());
    collect_garbage().await;
    wait_for(
        || state(&el) == "ready" && state(&other) == "ready",
        "both ready",
    )
    .await;
    collect_garbage().await;
    assert_eq!(
        state(&el),
        "ready",
        "still mounted after garbage collection"
    );
    assert!(find(&el, "launch-standard").is_some());

    // An element mounted before it is in the document is not "gone".
    let document = web_sys::window().unwrap().document().unwrap();
    let detached = document.create_element("div").unwrap();
    let _kept = mount(detached.clone(), options("")).unwrap();
    let count = wa_signup::browser::embed::mounted_count();
    document
        .body()
        .unwrap()
        .append_child(&document.create_element("p").unwrap())
        .unwrap();
    wa_signup::browser::dom::sleep(20).await;
    assert_eq!(wa_signup::browser::embed::mounted_count(), count);

    // Removing the element unmounts its widget (listeners, timers and all).
    el.remove();
    other.remove();
    wait_for(
        || wa_signup::browser::embed::mounted_count() == count - 2,
        "the removed widgets unmounted",
    )
    .await;
    assert_eq!(el.inner_html(), "");
    assert!(!el.has_attribute("data-wa-signup-mounted"));
    document.body().unwrap().append_child(&detached).unwrap();
    // The insertion is seen (the observer runs after the task that made it), then removal.
    wa_signup::browser::dom::sleep(20).await;
    detached.remove();
    wait_for(
        || wa_signup::browser::embed::mounted_count() == count - 3,
        "the once-attached widget unmounted",
    )
    .await;
}

#[wasm_bindgen_test]
async fn heading_level_is_taken_as_a_number_or_a_string() {
    wa_signup::browser::sdk::reset_for_tests();
    for (extra, tag) in [(", headingLevel: 3", "H3"), (", headingLevel: '4'", "H4")] {
        let el = host("");
        let mut handle = mount(el.clone().into(), options(extra)).unwrap();
        wait_for(
            || el.query_selector(".wa-title").unwrap().is_some(),
            "the title",
        )
        .await;
        assert_eq!(
            el.query_selector(".wa-title").unwrap().unwrap().tag_name(),
            tag
        );
        handle.unmount();
    }
    let el = host("");
    assert!(mount(el.clone().into(), options(", headingLevel: 2.5")).is_err());
}

/// Every `wa-signup:*` detail is the value sent; in sandbox mode it also says
/// `"sandbox": true`, after its own fields, so that no listener takes it for real.
#[wasm_bindgen_test]
fn event_details_carry_the_sandbox_mark_only_in_the_sandbox() {
    use wa_signup::browser::dom::dispatch;
    use wa_signup::protocol::widget_event::CancelDetail;

    let document = web_sys::window().unwrap().document().unwrap();
    let target = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&target).unwrap();
    js("window.__details = []");
    let listener = Closure::<dyn Fn(web_sys::CustomEvent)>::new(|ev: web_sys::CustomEvent| {
        let details: js_sys::Array = js("window.__details").unchecked_into();
        details.push(&js_sys::JSON::stringify(&ev.detail()).unwrap());
    });
    target
        .add_event_listener_with_callback("wa-signup:cancel", listener.as_ref().unchecked_ref())
        .unwrap();
    let step = CancelDetail {
        current_step: Some("PERMISSIONS"),
    };
    let detail = |d: &CancelDetail| wa_signup::browser::json::to_js(d).unwrap();
    dispatch(&target, "wa-signup:cancel", &detail(&step), true);
    dispatch(&target, "wa-signup:cancel", &detail(&step), false);
    let nowhere = CancelDetail { current_step: None };
    dispatch(&target, "wa-signup:cancel", &detail(&nowhere), true);
    assert_eq!(
        js("window.__details.join(' ')").as_string().unwrap(),
        r#"{"current_step":"PERMISSIONS","sandbox":true} {"current_step":"PERMISSIONS"} {"current_step":null,"sandbox":true}"#
    );
    target.remove();
}
