//! Property tests: the origin check and the session-info parser never panic, whatever a
//! page posts, and their verdicts obey the documented rules.
//!
//! 107,500 cases per run. Proptest's regex and recursive strategies cost hundreds of
//! microseconds per case in a debug build, so the high-volume tests build their inputs
//! from sequences of pieces (cheap), and the structured JSON strategies run fewer cases.

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use wa_signup::protocol::{
    is_facebook_origin, parse_session_info, FinishKind, OriginPolicy, SessionInfo,
};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failure persistence writes files next to the test; not wanted in CI.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Pieces origins are made of: URL punctuation, facebook.com fragments, Unicode
/// look-alikes (Cyrillic es and a, full-width w), stray bytes.
const ORIGIN_PIECES: &[&str] = &[
    "https://",
    "http://",
    "HTTPS://",
    "https:",
    "//",
    "facebook.com",
    "FACEBOOK.COM",
    "www.",
    "web.",
    "evil",
    ".",
    "..",
    ":443",
    ":8443",
    ":",
    "@",
    "/",
    "\\",
    "?",
    "#",
    "xn--",
    "-",
    "\u{0441}",
    "\u{0430}",
    "\u{ff57}",
    "%2e",
    "[::1]",
    "127.0.0.1",
    " ",
    "\t",
    "a",
    "z",
    "0",
    "null",
    "\u{0}",
    "\u{200b}",
];

/// Origin-like text: a sequence of [`ORIGIN_PIECES`].
fn origin_like() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ORIGIN_PIECES), 0..9).prop_map(|p| p.concat())
}

/// JSON-ish fragments: whole keys and values the parser looks at, and bare punctuation.
const JSON_PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    r#""type":"#,
    r#""WA_EMBEDDED_SIGNUP""#,
    r#""event":"#,
    r#""FINISH""#,
    r#""FINISH_ONLY_WABA""#,
    r#""FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING""#,
    r#""FINISH_OBO_MIGRATION""#,
    r#""FINISH_NOT_YET_NAMED""#,
    r#""CANCEL""#,
    r#""ERROR""#,
    r#""data":"#,
    r#""version":"#,
    "3",
    r#""waba_id":"#,
    r#""phone_number_id":"#,
    r#""business_id":"#,
    r#""businessId":"#,
    r#""104996122399160""#,
    "104996122399160",
    "-1",
    "1.5e3",
    r#""""#,
    "null",
    "true",
    "false",
    r#""is_wa_login_user":"#,
    r#""current_step":"#,
    r#""PHONE_NUMBER_SETUP""#,
    r#""error_message":"#,
    r#""error_code":"#,
    r#""error_id":"#,
    r#""session_id":"#,
    r#""timestamp":"#,
    r#""\u0000""#,
    r#""\ud800""#,
    "\u{e9}",
    " ",
    "\n",
    "9",
];

/// JSON-ish text: a sequence of [`JSON_PIECES`]; some are envelopes, most break somewhere.
fn json_text_like() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(JSON_PIECES), 0..32).prop_map(|p| p.concat())
}

/// Any text at all: up to 48 characters from the whole Unicode range.
fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..48).prop_map(|c| c.into_iter().collect())
}

/// Session-info-like JSON: the keys and values the parser looks at, nested at random.
fn json_like() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // A few fixed floats: serde_json's default float parsing may differ from its
        // printing in the last digit, which would make text and object inputs differ.
        prop::sample::select(&[1.5, -0.0, 1e300, 104_996_122_399_160.0][..])
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(
            &[
                "WA_EMBEDDED_SIGNUP",
                "FINISH",
                "FINISH_ONLY_WABA",
                "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
                "CANCEL",
                "ERROR",
                "PHONE_NUMBER_SETUP",
                "104996122399160",
                "",
                "true",
            ][..]
        )
        .prop_map(|s| Value::String(s.to_owned())),
        any_text().prop_map(Value::String),
        prop::collection::vec(prop::char::range('0', '9'), 0..40)
            .prop_map(|c| Value::String(c.into_iter().collect())),
    ];
    let key = prop::sample::select(
        &[
            "type",
            "event",
            "data",
            "version",
            "waba_id",
            "phone_number_id",
            "business_id",
            "businessId",
            "is_wa_login_user",
            "current_step",
            "error_message",
            "error_code",
            "error_id",
            "session_id",
            "timestamp",
        ][..],
    )
    .prop_map(str::to_owned);
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A message that is ours by type, with a random event and data.
fn envelope() -> impl Strategy<Value = Value> {
    (json_like(), json_like(), any::<bool>()).prop_map(|(event, data, string_event)| {
        let event = match (string_event, event) {
            (true, Value::String(s)) => Value::String(s),
            (true, _) => Value::String("FINISH".into()),
            (false, other) => other,
        };
        json!({"type": "WA_EMBEDDED_SIGNUP", "event": event, "data": data, "version": 3})
    })
}

/// What the parser promises for every input it accepts.
fn check_invariants(info: &SessionInfo) {
    if let SessionInfo::Finish(f) = info {
        assert!(f.waba_id.as_str().bytes().all(|b| b.is_ascii_digit()));
        let known = [
            "FINISH",
            "FINISH_ONLY_WABA",
            "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            "FINISH_OBO_MIGRATION",
            "FINISH_GRANT_ONLY_API_ACCESS",
        ];
        let event = f.event.as_str();
        assert!(event == "FINISH" || event.starts_with("FINISH_"), "{event}");
        // A finish of unknown kind is exactly a finish event this app does not name.
        assert_eq!(
            f.kind == FinishKind::Unrecognized,
            !known.contains(&event),
            "{event}"
        );
    }
    // Serializing a finish for the `wa-signup:finish` detail never fails.
    if let SessionInfo::Finish(f) = info {
        assert!(serde_json::to_string(f).is_ok());
    }
}

proptest! {
    #![proptest_config(config(25_000))]

    #[test]
    fn origin_check_never_panics_on_any_text(s in any_text()) {
        let facebook = is_facebook_origin(&s);
        prop_assert_eq!(OriginPolicy::facebook_only().allows(&s), facebook);
        prop_assert!(!facebook || s.to_ascii_lowercase().starts_with("https://"), "{}", s);
    }

    #[test]
    fn parser_never_panics_on_any_text(s in any_text()) {
        if let Some(info) = parse_session_info(&s) {
            check_invariants(&info);
        }
    }

    #[test]
    fn origin_check_on_origin_like_text(s in origin_like()) {
        if is_facebook_origin(&s) {
            // Whatever was accepted really is facebook.com or a plain subdomain of it.
            let url = url::Url::parse(&s).expect("accepted origins parse");
            let host = url.host_str().unwrap_or_default();
            prop_assert!(url.scheme() == "https" && url.port().is_none(), "{}", s);
            prop_assert!(host == "facebook.com" || host.ends_with(".facebook.com"), "{}", s);
            // No punycode label; `xn--` inside a label (`1xn--www`) is ordinary text.
            prop_assert!(s.is_ascii() && !host.split('.').any(|l| l.starts_with("xn--")), "{}", s);
            prop_assert!(url.username().is_empty() && url.path() == "/", "{}", s);
        }
        let policy = OriginPolicy::sandbox("http://127.0.0.1:8080").expect("valid sandbox origin");
        let _ = policy.allows(&s);
    }

    #[test]
    fn parser_on_json_like_text(s in json_text_like()) {
        if let Some(info) = parse_session_info(&s) {
            check_invariants(&info);
            // Whatever was read from text reads the same once re-serialized, as the browser
            // layer re-serializes an object with JSON.stringify.
            let value: Value = serde_json::from_str(&s).expect("accepted text is JSON");
            prop_assert_eq!(parse_session_info(&value.to_string()), Some(info));
        }
    }
}

proptest! {
    #![proptest_config(config(2_500))]

    #[test]
    fn parser_on_session_info_like_json(value in envelope()) {
        let text = value.to_string();
        if let Some(info) = parse_session_info(&text) {
            check_invariants(&info);
        }
    }

    #[test]
    fn parser_on_mangled_json_text(
        value in envelope(),
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        // Truncated and corrupted JSON: the shapes a broken sender would post.
        let mut bytes = value.to_string().into_bytes();
        let at = cut.index(bytes.len() + 1);
        bytes.truncate(at.max(1));
        if let Some(last) = bytes.last_mut() {
            *last = byte;
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Some(info) = parse_session_info(&text) {
            check_invariants(&info);
        }
    }

    #[test]
    fn parser_on_arbitrary_json_values(value in json_like()) {
        let text = value.to_string();
        let pretty = serde_json::to_string_pretty(&value).expect("values serialize");
        // Layout never changes the reading.
        prop_assert_eq!(parse_session_info(&text), parse_session_info(&pretty));
    }
}
