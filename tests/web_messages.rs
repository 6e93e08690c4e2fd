//! Browser tests of the session-info listener: real `MessageEvent`s dispatched on `window`.
//!
//! `dispatch_event` delivers synchronously, so each check runs right after its dispatch.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use wa_signup::browser::messages::SessionInfoListener;
use wa_signup::protocol::{CancelStep, FinishKind, OriginPolicy, SessionInfo};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;
use web_sys::{MessageEvent, MessageEventInit};

wasm_bindgen_test_configure!(run_in_browser);

const FINISH: &str = r#"{"data":{"phone_number_id":"106540352242922","waba_id":"104996122399160","business_id":"2729063490586005"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","version":3}"#;
const CANCEL: &str = r#"{"data":{"current_step":"PHONE_NUMBER_SETUP"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","version":3}"#;

/// Posts a `message` event with this origin and data to `window`.
fn dispatch(origin: &str, data: &JsValue) {
    let init = MessageEventInit::new();
    init.set_origin(origin);
    init.set_data(data);
    let event = MessageEvent::new_with_event_init_dict("message", &init).unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

fn object(s: &str) -> JsValue {
    js_sys::JSON::parse(s).unwrap()
}

/// A listener that records what it receives.
fn listen(policy: OriginPolicy) -> (SessionInfoListener, Rc<RefCell<Vec<SessionInfo>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let listener =
        SessionInfoListener::new(policy, move |info| sink.borrow_mut().push(info)).unwrap();
    (listener, seen)
}

fn page_origin() -> String {
    web_sys::window().unwrap().location().origin().unwrap()
}

#[wasm_bindgen_test]
fn facebook_messages_reach_the_callback_as_string_or_object() {
    let (_listener, seen) = listen(OriginPolicy::facebook_only());

    dispatch("https://www.facebook.com", &text(FINISH));
    dispatch("https://business.facebook.com", &object(CANCEL));
    dispatch("https://web.facebook.com", &object(FINISH));

    let seen = seen.borrow();
    assert_eq!(seen.len(), 3, "{seen:?}");
    match &seen[0] {
        SessionInfo::Finish(f) => {
            assert_eq!(f.kind, FinishKind::Finish);
            assert_eq!(f.waba_id.as_str(), "104996122399160");
            assert_eq!(
                f.phone_number_id.as_ref().unwrap().as_str(),
                "106540352242922"
            );
        }
        other => panic!("{other:?}"),
    }
    match &seen[1] {
        SessionInfo::Cancel(c) => assert_eq!(c.step, Some(CancelStep::PhoneNumberSetup)),
        other => panic!("{other:?}"),
    }
    assert_eq!(seen[2], seen[0]);
}

#[wasm_bindgen_test]
fn untrusted_origins_and_foreign_data_never_reach_the_callback() {
    let (_listener, seen) = listen(OriginPolicy::facebook_only());

    for origin in [
        "https://evilfacebook.com",
        "http://www.facebook.com",
        "https://facebook.com.evil.io",
        "https://www.facebook.com.",
        "https://www.facebook.com:8443",
        "null",
        "",
        "https://www.xn--fabook-dmg.com",
    ] {
        dispatch(origin, &text(FINISH));
        dispatch(origin, &object(FINISH));
    }
    // The page's own origin is not trusted outside sandbox mode.
    dispatch(&page_origin(), &text(FINISH));

    // Trusted origin, but not session info.
    for data in [
        text("not json"),
        text("_FB_xd_fragment#cb=f1"),
        text(r#"{"type":"XD","event":"FINISH","data":{"waba_id":"1"}}"#),
        text(&"x".repeat(wire::MAX_BODY_BYTES + 1)),
        JsValue::from_f64(42.0),
        JsValue::NULL,
        JsValue::UNDEFINED,
        object("[1,2,3]"),
        object(r#"{"type":"WA_EMBEDDED_SIGNUP"}"#),
    ] {
        dispatch("https://www.facebook.com", &data);
    }

    assert!(seen.borrow().is_empty(), "{:?}", seen.borrow());
}

#[wasm_bindgen_test]
fn sandbox_mode_adds_the_page_origin_only() {
    let (_listener, seen) = listen(OriginPolicy::sandbox(&page_origin()).unwrap());

    dispatch(&page_origin(), &text(FINISH));
    dispatch("https://www.facebook.com", &text(CANCEL));
    dispatch("http://127.0.0.2:1", &text(FINISH));
    dispatch("https://evilfacebook.com", &text(FINISH));

    let seen = seen.borrow();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(matches!(seen[0], SessionInfo::Finish(_)));
    assert!(matches!(seen[1], SessionInfo::Cancel(_)));
}

#[wasm_bindgen_test]
fn unknown_events_and_invalid_finishes_are_delivered_as_such() {
    let (_listener, seen) = listen(OriginPolicy::facebook_only());

    dispatch(
        "https://www.facebook.com",
        &text(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"SOMETHING_NEW","data":{}}"#),
    );
    dispatch(
        "https://www.facebook.com",
        &text(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":"x"}}"#),
    );

    assert_eq!(
        *seen.borrow(),
        vec![
            SessionInfo::Unknown {
                event: "SOMETHING_NEW".into()
            },
            SessionInfo::InvalidFinish {
                event: "FINISH".into()
            },
        ]
    );
}

#[wasm_bindgen_test]
fn dropping_the_guard_stops_delivery() {
    let (listener, seen) = listen(OriginPolicy::facebook_only());
    dispatch("https://www.facebook.com", &text(FINISH));
    assert_eq!(seen.borrow().len(), 1);

    drop(listener);
    dispatch("https://www.facebook.com", &text(FINISH));
    dispatch("https://www.facebook.com", &object(CANCEL));
    assert_eq!(seen.borrow().len(), 1);
}

#[wasm_bindgen_test]
fn two_listeners_are_independent() {
    let (first, seen_first) = listen(OriginPolicy::facebook_only());
    let (_second, seen_second) = listen(OriginPolicy::facebook_only());
    dispatch("https://www.facebook.com", &text(CANCEL));
    drop(first);
    dispatch("https://www.facebook.com", &text(FINISH));
    assert_eq!(seen_first.borrow().len(), 1);
    assert_eq!(seen_second.borrow().len(), 2);
}

#[wasm_bindgen_test]
fn the_callback_may_drop_its_own_listener() {
    // A listener dropped from inside its own callback must neither crash nor deliver
    // anything afterwards.
    let slot: Rc<RefCell<Option<SessionInfoListener>>> = Rc::new(RefCell::new(None));
    let count = Rc::new(RefCell::new(0));
    let (slot_in, count_in) = (Rc::clone(&slot), Rc::clone(&count));
    let listener = SessionInfoListener::new(OriginPolicy::facebook_only(), move |_| {
        *count_in.borrow_mut() += 1;
        drop(slot_in.borrow_mut().take());
    })
    .unwrap();
    *slot.borrow_mut() = Some(listener);

    dispatch("https://www.facebook.com", &text(FINISH));
    dispatch("https://www.facebook.com", &text(FINISH));
    assert_eq!(*count.borrow(), 1);
    assert!(slot.borrow().is_none());
}
