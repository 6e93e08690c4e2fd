//! A session's pre-filled data: checked when the partner creates the session, kept with it,
//! read back by the partner and handed to the page that launches Embedded Signup
//! (docs/API.md, "Sessions").

use reqwest::Method;
use serde_json::{json, Value};
use wire::SessionInfo;

use crate::helpers::*;

fn prefill() -> Value {
    json!({
        "business": {
            "name": "Acme Inc.",
            "email": "owner@acme.example",
            "phone": {"code": 1, "number": "6505551234"},
            "website": "https://www.acme.example",
            "address": {"streetAddress1": "1 Acme Way", "city": "Acme Town", "state": "CA",
                        "zipPostal": "94000", "country": "US"},
            "timezone": "UTC-08:00"
        },
        "phone": {"displayName": "Acme", "category": "RETAIL",
                  "description": "Everything, delivered."}
    })
}

#[tokio::test]
async fn a_sessions_prefill_is_kept_read_back_and_handed_to_the_page() {
    let app = spawn_app_with(Options {
        sessions_required: true,
        ..Options::default()
    })
    .await;
    let created: Value = app
        .partner(Method::POST, "/api/partner/sessions")
        .json(&json!({"customer_ref": "c", "prefill": prefill()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["prefill"], prefill());
    let id = created["id"].as_str().unwrap();

    let read: Value = app
        .partner_json(&format!("/api/partner/sessions/{id}"))
        .await;
    assert_eq!(read["prefill"], prefill());
    let listed: Value = app
        .partner_json("/api/partner/sessions?customer_ref=c")
        .await;
    assert_eq!(listed["data"][0]["prefill"], prefill());

    // The page learns it with what its token allows, and launches with it.
    let info: Value = app
        .open_session(created["token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["prefill"], prefill());
    let typed: SessionInfo = serde_json::from_value(info).unwrap();
    assert!(typed.prefill.is_some());

    // A session without prefill shows none.
    let plain = app.create_session(&json!({"customer_ref": "d"})).await;
    assert!(plain.prefill.is_none());
    let info: Value = app
        .open_session(plain.token.unwrap().as_str())
        .await
        .json()
        .await
        .unwrap();
    assert!(info.get("prefill").is_none(), "{info}");
}

#[tokio::test]
async fn a_bad_prefill_field_is_refused_by_name_and_nothing_is_stored() {
    let app = spawn_app_with(Options {
        sessions_required: true,
        ..Options::default()
    })
    .await;
    let with = |pointer: &str, value: Value| {
        let mut p = prefill();
        *p.pointer_mut(pointer).unwrap() = value;
        json!({"customer_ref": "c", "prefill": p})
    };
    for (body, names) in [
        (
            with("/business/email", json!("owner at acme")),
            "prefill.business.email",
        ),
        (
            with("/business/phone/number", json!("+1 650 555")),
            "prefill.business.phone.number",
        ),
        (
            with("/business/website", json!("ftp://acme.example")),
            "prefill.business.website",
        ),
        (
            with("/business/name", json!("x".repeat(129))),
            "prefill.business.name",
        ),
        (
            with("/phone/category", json!("retail")),
            "prefill.phone.category",
        ),
        (
            with("/phone/description", json!("x".repeat(513))),
            "prefill.phone.description",
        ),
        (
            with("/business/timezone", json!("")),
            "prefill.business.timezone",
        ),
        (
            json!({"customer_ref": "c", "prefill": {"solutionID": "1"}}),
            "solutionID",
        ),
        (
            json!({"customer_ref": "c", "prefill": "Acme"}),
            "PrefillFields",
        ),
    ] {
        let r = app
            .partner(Method::POST, "/api/partner/sessions")
            .json(&body)
            .send()
            .await
            .unwrap();
        let refused = assert_error_shape(r, 422).await;
        assert_eq!(refused.error.code, "invalid_body");
        assert!(
            refused.error.message.contains(names),
            "{names}: {}",
            refused.error.message
        );
    }
    let page: Value = app.partner_json("/api/partner/sessions").await;
    assert_eq!(page["data"], json!([]), "a refused session was stored");
}
