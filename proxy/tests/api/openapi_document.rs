//! `GET /api/openapi.json`: the routes and the wire types as served.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::*;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_document_lists_every_route_and_matches_the_wire_types() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(format!("{}/api/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
    for (path, method) in [
        ("/healthz", "get"),
        ("/livez", "get"),
        ("/api/config", "get"),
        ("/api/onboardings", "post"),
        ("/api/onboardings/{id}", "get"),
        ("/api/onboardings/{id}/events", "get"),
        ("/api/onboardings/{id}/retry", "post"),
        ("/webhooks/ycloud", "post"),
        ("/api/session", "post"),
        ("/api/partner/sessions", "post"),
        ("/api/partner/sessions/{id}", "delete"),
        ("/api/partner/sessions", "get"),
        ("/api/partner/sessions/{id}", "get"),
        ("/api/partner/onboardings", "get"),
        ("/api/partner/onboardings/{id}", "get"),
        ("/api/partner/onboardings/{id}/retry", "post"),
        ("/api/partner/onboardings/{id}/deregister", "post"),
        ("/api/partner/events", "get"),
        ("/api/partner/events/{id}", "get"),
        ("/api/onboardings/{id}/pin", "post"),
        ("/api/partner/onboardings/{id}/credentials", "get"),
        ("/webhooks/meta", "get"),
        ("/webhooks/meta", "post"),
        ("/metrics", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        // The partner API declares its bearer key, an onboarding's browser routes its
        // client token; the other routes need none.
        let security = &doc["paths"][path][method]["security"];
        let scheme = match path {
            p if p.starts_with("/api/partner/") => Some("partner_key"),
            p if p.starts_with("/api/onboardings/") => Some("client_token"),
            _ => None,
        };
        match scheme {
            Some(name) => assert!(security[0][name].is_array(), "{method} {path}: {security}"),
            None => assert!(security.is_null(), "{method} {path}: {security}"),
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["partner_key"]["scheme"],
        "bearer"
    );
    // Each route documents its refusals, in the error shape.
    for (path, method, statuses) in [
        (
            "/api/onboardings",
            "post",
            &[
                "201", "200", "400", "401", "403", "409", "413", "415", "422", "429", "502",
            ][..],
        ),
        ("/api/onboardings/{id}", "get", &["200", "404"][..]),
        ("/api/onboardings/{id}/events", "get", &["200", "404"][..]),
        (
            "/api/onboardings/{id}/retry",
            "post",
            &["200", "404", "409", "429"][..],
        ),
        (
            "/webhooks/ycloud",
            "post",
            &["204", "400", "401", "413", "503"][..],
        ),
        (
            "/api/onboardings/{id}/pin",
            "post",
            &["200", "404", "409", "422", "429"][..],
        ),
        (
            "/api/partner/onboardings/{id}/deregister",
            "post",
            &["200", "401", "404", "409", "429", "502"][..],
        ),
        (
            "/api/partner/onboardings/{id}/credentials",
            "get",
            &["200", "401", "404"][..],
        ),
        ("/webhooks/meta", "get", &["200", "403", "503"][..]),
        (
            "/webhooks/meta",
            "post",
            &["200", "400", "401", "413", "503"][..],
        ),
    ] {
        let responses = &doc["paths"][path][method]["responses"];
        for status in statuses {
            let r = &responses[*status];
            assert!(r.is_object(), "{method} {path} {status}");
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let webhook = &doc["paths"]["/webhooks/ycloud"]["post"];
    assert!(webhook["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "YCloud-Signature" && p["in"] == "header"));
    assert_eq!(
        doc["paths"]["/api/onboardings/{id}/events"]["get"]["responses"]["200"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["text/event-stream"]
    );

    // Every field the API writes is documented under the same name.
    let onboarding = wire::Onboarding {
        id: "x".into(),
        mode: wire::Mode::Coexistence,
        launched_mode: Some(wire::Mode::Standard),
        waba_id: wire::WabaId::parse("1").unwrap(),
        phone_number_id: Some(wire::PhoneNumberId::parse("2").unwrap()),
        business_id: Some(wire::BusinessId::parse("3").unwrap()),
        customer_ref: Some(wire::CustomerRef::parse("c").unwrap()),
        state: wire::OnboardingState::Failed,
        steps: vec![wire::OnboardingStep {
            name: wire::StepName::Register,
            state: wire::StepState::Failed,
            started_at: "t".into(),
            finished_at: Some("t".into()),
            error: None,
        }],
        waba: Some(wire::WabaSummary {
            name: Some("n".into()),
            account_review_status: Some("APPROVED".into()),
            payment_method_attached: Some(true),
        }),
        phone_number: Some(wire::PhoneNumberSummary {
            display_phone_number: Some("+1".into()),
            verified_name: Some("v".into()),
            status: Some("PENDING".into()),
            quality_rating: Some("GREEN".into()),
        }),
        error: Some(wire::OnboardingError {
            code: wire::ErrorCode::RegisterLimit,
            message: "m".into(),
            retryable: true,
            upstream_request_id: Some("r".into()),
            retry_after: Some("t".into()),
            candidates: vec![wire::NumberCandidate {
                id: wire::PhoneNumberId::parse("2").unwrap(),
                display_phone_number: Some("+1".into()),
                is_on_biz_app: Some(true),
            }],
        }),
        previous_onboarding_id: Some("p".into()),
        inbound_verified_at: Some("t".into()),
        sync: Some(wire::CoexistenceSync {
            contacts: wire::SyncPart::new(wire::SyncState::Done),
            history: wire::SyncPart {
                progress: Some(1),
                phase: Some(0),
                request_id: Some("r".into()),
                reason: Some("r".into()),
                ..wire::SyncPart::new(wire::SyncState::InProgress)
            },
        }),
        created_at: "t".into(),
        updated_at: "t".into(),
    };
    let schemas = &doc["components"]["schemas"];
    let ob = serde_json::to_value(&onboarding).unwrap();
    assert_eq!(keys(&schemas["Onboarding"]["properties"]), keys(&ob));
    assert_eq!(
        keys(&schemas["OnboardingError"]["properties"]),
        keys(&ob["error"])
    );
    assert_eq!(
        keys(&schemas["SyncPart"]["properties"]),
        keys(&ob["sync"]["history"])
    );
    let create = json!({"mode": "standard", "waba_id": "1", "phone_number_id": "2", "business_id": "3",
        "code": "c", "event": "FINISH", "customer_ref": "r", "session": "ses_t"});
    serde_json::from_value::<wire::CreateOnboarding>(create.clone()).unwrap();
    assert_eq!(
        keys(&schemas["CreateOnboarding"]["properties"]),
        keys(&create)
    );
    let config: Value = app.get_json("/api/config").await;
    assert_eq!(keys(&schemas["PublicConfig"]["properties"]), keys(&config));
    // /healthz answers the Health schema, whose mode is live or sandbox.
    assert_eq!(
        doc["paths"]["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/Health"
    );
    let health: Value = app.get_json("/healthz").await;
    assert_eq!(keys(&schemas["Health"]["properties"]), keys(&health));
    let modes: BTreeSet<&str> = schemas["ProxyMode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(modes, BTreeSet::from(["live", "sandbox"]));
    let states: Vec<&str> = schemas["OnboardingState"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(states.len(), 8);
    assert!(states.contains(&"action_required"));
    assert!(states.contains(&"deregistered"));
    assert!(states.contains(&"disconnected"));
}
