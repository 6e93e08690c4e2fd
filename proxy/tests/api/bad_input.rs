//! Bad requests: each answered 4xx in the error shape, with no upstream call and nothing
//! stored.

use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::*;

const JSON: &str = "application/json";

#[tokio::test]
async fn bad_onboarding_bodies_are_refused_without_calls_or_records() {
    let app = spawn_app().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.ycloud)
        .await;

    let long_id = "1".repeat(33);
    let long_ref = "r".repeat(129);
    let huge = format!(
        r#"{{"mode":"standard","waba_id":"1","customer_ref":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let just_over = " ".repeat(wire::MAX_BODY_BYTES + 1);
    let w = |extra: &str| format!(r#"{{"mode":"standard","waba_id":"123"{extra}}}"#);
    let cases: Vec<(&str, String, &str, u16)> = vec![
        ("syntax: lone brace", "{".into(), JSON, 400),
        ("empty body", "".into(), JSON, 400),
        ("not JSON", "mode=standard".into(), JSON, 400),
        (
            "truncated",
            r#"{"mode":"standard","waba_id":"1""#.into(),
            JSON,
            400,
        ),
        (
            "trailing garbage",
            r#"{"mode":"standard","waba_id":"1"} x"#.into(),
            JSON,
            400,
        ),
        ("array", "[]".into(), JSON, 422),
        ("null", "null".into(), JSON, 422),
        ("string", r#""standard""#.into(), JSON, 422),
        ("empty object", "{}".into(), JSON, 422),
        (
            "unknown mode",
            r#"{"mode":"premium","waba_id":"1"}"#.into(),
            JSON,
            422,
        ),
        (
            "mode in capitals",
            r#"{"mode":"Standard","waba_id":"1"}"#.into(),
            JSON,
            422,
        ),
        (
            "mode as number",
            r#"{"mode":1,"waba_id":"1"}"#.into(),
            JSON,
            422,
        ),
        ("no waba_id", r#"{"mode":"standard"}"#.into(), JSON, 422),
        (
            "waba_id null",
            r#"{"mode":"standard","waba_id":null}"#.into(),
            JSON,
            422,
        ),
        (
            "waba_id number",
            r#"{"mode":"standard","waba_id":123}"#.into(),
            JSON,
            422,
        ),
        (
            "waba_id letters",
            r#"{"mode":"standard","waba_id":"12a"}"#.into(),
            JSON,
            422,
        ),
        (
            "waba_id empty",
            r#"{"mode":"standard","waba_id":""}"#.into(),
            JSON,
            422,
        ),
        (
            "waba_id 33 digits",
            format!(r#"{{"mode":"standard","waba_id":"{long_id}"}}"#),
            JSON,
            422,
        ),
        (
            "waba_id space",
            r#"{"mode":"standard","waba_id":" 123"}"#.into(),
            JSON,
            422,
        ),
        (
            "waba_id negative",
            r#"{"mode":"standard","waba_id":"-1"}"#.into(),
            JSON,
            422,
        ),
        (
            "waba_id full-width digits",
            r#"{"mode":"standard","waba_id":"１２３"}"#.into(),
            JSON,
            422,
        ),
        (
            "waba_id path traversal",
            r#"{"mode":"standard","waba_id":"../1"}"#.into(),
            JSON,
            422,
        ),
        (
            "phone id letters",
            w(r#","phone_number_id":"abc""#),
            JSON,
            422,
        ),
        ("phone id empty", w(r#","phone_number_id":"""#), JSON, 422),
        (
            "phone id number",
            w(r#","phone_number_id":12345"#),
            JSON,
            422,
        ),
        (
            "phone id 33 digits",
            w(&format!(r#","phone_number_id":"{long_id}""#)),
            JSON,
            422,
        ),
        ("business id letters", w(r#","business_id":"x""#), JSON, 422),
        (
            "customer_ref too long",
            w(&format!(r#","customer_ref":"{long_ref}""#)),
            JSON,
            422,
        ),
        (
            "customer_ref control char",
            w(r#","customer_ref":"a\nb""#),
            JSON,
            422,
        ),
        (
            "customer_ref bidi override",
            w(r#","customer_ref":"cust\u202Efdp.exe""#),
            JSON,
            422,
        ),
        (
            "customer_ref zero-width space",
            w(r#","customer_ref":"a\u200Bb""#),
            JSON,
            422,
        ),
        ("customer_ref empty", w(r#","customer_ref":"""#), JSON, 422),
        ("code with space", w(r#","code":"a b""#), JSON, 422),
        ("event lower-case", w(r#","event":"finish""#), JSON, 422),
        ("unknown field", w(r#","wabaId":"123""#), JSON, 422),
        (
            "duplicate field",
            r#"{"mode":"standard","mode":"standard","waba_id":"1"}"#.into(),
            JSON,
            422,
        ),
        ("text/plain", w(""), "text/plain", 415),
        ("form", w(""), "application/x-www-form-urlencoded", 415),
        ("no content type", w(""), "", 415),
        ("over 64 KiB of JSON", huge, JSON, 413),
        ("over 64 KiB of spaces", just_over, JSON, 413),
    ];
    assert!(cases.len() >= 30);
    for (name, body, content_type, status) in cases {
        let mut req = app
            .client
            .post(format!("{}/api/onboardings", app.address))
            .body(body);
        if !content_type.is_empty() {
            req = req.header("content-type", content_type);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{name}");
        let body = assert_error_shape(r, status).await;
        assert!(!body.error.retryable, "{name}");
    }
    assert_eq!(app.stored_onboardings().await, 0);
}

#[tokio::test]
async fn bad_routes_and_methods_answer_in_the_error_shape() {
    let app = spawn_app().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.ycloud)
        .await;
    let uuid = uuid::Uuid::new_v4();
    let cases: Vec<(reqwest::Method, String, u16, &str)> = vec![
        (
            reqwest::Method::GET,
            "/api/onboardings/not-a-uuid".into(),
            404,
            "onboarding_not_found",
        ),
        (
            reqwest::Method::GET,
            format!("/api/onboardings/{uuid}"),
            401,
            "unauthorized",
        ),
        (
            reqwest::Method::POST,
            format!("/api/onboardings/{uuid}/retry"),
            401,
            "unauthorized",
        ),
        (
            reqwest::Method::GET,
            format!("/api/onboardings/{uuid}/events"),
            401,
            "unauthorized",
        ),
        (
            reqwest::Method::GET,
            "/api/onboardings".into(),
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::DELETE,
            "/api/onboardings".into(),
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::GET,
            format!("/api/onboardings/{uuid}/retry"),
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::PUT,
            "/healthz".into(),
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::POST,
            "/api/config".into(),
            405,
            "method_not_allowed",
        ),
        (reqwest::Method::GET, "/api/nope".into(), 404, "not_found"),
        (reqwest::Method::POST, "/api/nope".into(), 404, "not_found"),
        (
            reqwest::Method::POST,
            "/index.html".into(),
            405,
            "method_not_allowed",
        ),
    ];
    for (method, path, status, code) in cases {
        let r = app
            .client
            .request(method.clone(), format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        let body = assert_error_shape(r, status).await;
        assert_eq!(body.error.code, code, "{method} {path}");
    }
}
