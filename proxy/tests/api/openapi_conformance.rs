//! Every path, method and DTO field the YCloud client uses, checked against YCloud's own
//! OpenAPI document, kept unchanged in `tests/fixtures/ycloud/openapi.yaml` (MIT; where it
//! comes from and how to refresh it: `tests/fixtures/ycloud/README.md`). `tp/bind` and
//! `smb/bind` come from YCloud's Embedded Signup guide and are absent from the spec: the test
//! asserts that too, so it fails (and gets updated) the day YCloud documents them.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use proxy::config::UpstreamTuning;
use proxy::providers::ycloud::{self, YCloudClient};
use serde_yaml::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/ycloud/openapi.yaml"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_yaml::from_str(&text).expect("the spec parses")
    })
}

fn schema_properties(name: &str) -> BTreeSet<String> {
    let props = &spec()["components"]["schemas"][name]["properties"];
    props
        .as_mapping()
        .unwrap_or_else(|| panic!("schema {name} has properties"))
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect()
}

fn dto_fields<T: serde::Serialize + Default>() -> BTreeSet<String> {
    let v = serde_json::to_value(T::default()).unwrap();
    v.as_object().unwrap().keys().cloned().collect()
}

/// The spec's template matching a concrete path, e.g. `/a/{id}` for `/a/42`.
fn matching_templates(concrete: &str) -> Vec<String> {
    let segs: Vec<&str> = concrete.trim_start_matches('/').split('/').collect();
    spec()["paths"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .filter(|t| {
            let ts: Vec<&str> = t.trim_start_matches('/').split('/').collect();
            ts.len() == segs.len()
                && ts
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| (t.starts_with('{') && t.ends_with('}')) || t == s)
        })
        .map(str::to_owned)
        .collect()
}

/// The query parameters `method` on `template` documents, `$ref`s resolved.
fn query_parameters(template: &str, method: &str) -> BTreeSet<String> {
    let params = spec()["paths"][template][method]["parameters"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    params
        .iter()
        .map(|p| match p["$ref"].as_str() {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or_default();
                spec()["components"]["parameters"][name].clone()
            }
            None => p.clone(),
        })
        .filter(|p| p["in"].as_str() == Some("query"))
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

fn response_schema(template: &str, method: &str) -> String {
    spec()["paths"][template][method]["responses"]["200"]["content"]["application/json"]["schema"]
        ["$ref"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_client_uses_documented_paths_methods_and_auth() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let tuning = UpstreamTuning {
        request_timeout: Duration::from_secs(5),
        ..UpstreamTuning::default()
    };
    let client = YCloudClient::new(
        server.uri().parse().unwrap(),
        "k".to_owned().into(),
        tuning,
        proxy::clock::Clock::system(),
    )
    .unwrap();
    let waba = wire::WabaId::parse("104996122399160").unwrap();
    let phone = wire::PhoneNumberId::parse("106540352242922").unwrap();
    client.register(&waba, &phone).await.unwrap();
    client.retrieve_waba(&waba).await.unwrap();
    client
        .retrieve_phone_number(&waba, "+16315551111")
        .await
        .unwrap();
    client.list_phone_numbers(&waba).await.unwrap();
    client.tp_bind(&waba).await.unwrap();
    client.smb_bind(&waba).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 6);
    let expected_schema = [
        "#/components/schemas/WhatsappPhoneNumber",
        "#/components/schemas/WhatsappBusinessAccount",
        "#/components/schemas/WhatsappPhoneNumber",
        "#/components/schemas/WhatsappPhoneNumberPage",
    ];
    for (req, schema) in requests[..4].iter().zip(expected_schema) {
        let method = req.method.as_str().to_ascii_lowercase();
        let templates = matching_templates(req.url.path());
        let documented: Vec<&String> = templates
            .iter()
            .filter(|t| !spec()["paths"][t.as_str()][method.as_str()].is_null())
            .collect();
        assert_eq!(
            documented.len(),
            1,
            "{method} {} is documented once: {templates:?}",
            req.url.path()
        );
        assert_eq!(
            response_schema(documented[0], &method),
            schema,
            "{method} {}",
            req.url.path()
        );
        assert_eq!(req.headers.get(ycloud::API_KEY_HEADER).unwrap(), "k");
        // Every query parameter sent is one the operation documents.
        let documented_params = query_parameters(documented[0], &method);
        for (name, _) in req.url.query_pairs() {
            assert!(
                documented_params.contains(name.as_ref()),
                "{method} {}: parameter {name} is not in {documented_params:?}",
                req.url.path()
            );
        }
    }
    // Paths only YCloud's Embedded Signup guide documents: not (yet) in YCloud's spec.
    for req in &requests[4..] {
        assert_eq!(req.method.as_str(), "POST");
        let p = req.url.path();
        assert!(p.ends_with("/tp/bind") || p.ends_with("/smb/bind"), "{p}");
        assert!(
            matching_templates(p).is_empty(),
            "{p} is documented now: check it against the spec"
        );
    }
    let all_paths: Vec<&str> = spec()["paths"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .collect();
    assert!(!all_paths
        .iter()
        .any(|p| p.contains("/tp/") || p.contains("/smb/")));
}

#[test]
fn the_api_key_header_and_base_url_match_the_spec() {
    let scheme = &spec()["components"]["securitySchemes"]["api_key"];
    assert_eq!(scheme["in"].as_str(), Some("header"));
    assert_eq!(scheme["name"].as_str(), Some(ycloud::API_KEY_HEADER));
    assert_eq!(
        spec()["servers"][0]["url"].as_str(),
        Some(proxy::config::DEFAULT_YCLOUD_BASE_URL)
    );
    let request_id = spec()["components"]["schemas"]["Error"]["properties"]["requestId"]
        ["description"]
        .as_str()
        .unwrap();
    assert!(request_id.contains(ycloud::REQUEST_ID_HEADER));
}

#[test]
fn every_dto_field_is_in_the_spec() {
    let cases = [
        ("WhatsappBusinessAccount", dto_fields::<ycloud::Waba>()),
        ("WhatsappPhoneNumber", dto_fields::<ycloud::PhoneNumber>()),
        ("ErrorResponse", dto_fields::<ycloud::ErrorResponse>()),
        ("Error", dto_fields::<ycloud::ErrorDetail>()),
        ("WhatsappApiError", dto_fields::<ycloud::WhatsappApiError>()),
    ];
    for (schema, fields) in cases {
        let documented = schema_properties(schema);
        assert!(!fields.is_empty());
        let missing: Vec<&String> = fields.difference(&documented).collect();
        assert!(missing.is_empty(), "{schema} lacks {missing:?}");
    }
}

#[test]
fn the_statuses_the_pipeline_reads_are_documented() {
    let statuses: Vec<&str> = spec()["components"]["schemas"]["WhatsappPhoneNumberStatus"]["enum"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for s in ["PENDING", "CONNECTED", "BANNED", "BLOCKED"] {
        assert!(statuses.contains(&s), "{s}");
    }
    let waba = &spec()["components"]["schemas"]["WhatsappBusinessAccount"]["properties"];
    assert_eq!(
        waba["paymentMethodAttached"]["type"].as_str(),
        Some("boolean")
    );
}

fn enum_values(name: &str) -> BTreeSet<String> {
    spec()["components"]["schemas"][name]["enum"]
        .as_sequence()
        .unwrap_or_else(|| panic!("schema {name} is an enum"))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_webhook_fields_and_values_the_proxy_reads_are_documented() {
    // The envelope (`Event`) and the objects the proxy applies.
    let event = schema_properties("Event");
    for field in [
        "id",
        "type",
        "apiVersion",
        "createTime",
        "whatsappPhoneNumber",
        "whatsappBusinessAccount",
    ] {
        assert!(event.contains(field), "Event.{field}");
    }
    let number = schema_properties("WhatsappPhoneNumber");
    for field in ["id", "wabaId", "status", "phoneNumber"] {
        assert!(number.contains(field), "WhatsappPhoneNumber.{field}");
    }
    let waba = schema_properties("WhatsappBusinessAccount");
    for field in ["id", "updateEvent", "banState", "accountReviewStatus"] {
        assert!(waba.contains(field), "WhatsappBusinessAccount.{field}");
    }
    // Every type the proxy names is one YCloud sends.
    let types = enum_values("EventType");
    for t in [
        "whatsapp.phone_number.deleted",
        "whatsapp.phone_number.name_updated",
        "whatsapp.phone_number.quality_updated",
        "whatsapp.phone_number.business_username_updated",
        "whatsapp.business_account.deleted",
        "whatsapp.business_account.reviewed",
        "whatsapp.business_account.updated",
    ] {
        assert!(types.contains(t), "EventType {t}");
        assert!(
            !matches!(
                proxy::providers::ycloud::webhook::EventType::parse(t),
                proxy::providers::ycloud::webhook::EventType::Other(_)
            ),
            "{t} is parsed into a known variant"
        );
    }
    let updates = enum_values("WhatsappBusinessAccountUpdateEventEnum");
    for u in [
        "PARTNER_REMOVED",
        "PARTNER_APP_UNINSTALLED",
        "DISABLED_UPDATE",
    ] {
        assert!(updates.contains(u), "updateEvent {u}");
    }
    let bans = enum_values("WhatsappBusinessAccountBanState");
    for b in ["SCHEDULE_FOR_DISABLE", "DISABLE", "REINSTATE"] {
        assert!(bans.contains(b), "banState {b}");
    }
    let reviews = enum_values("WhatsappBusinessAccountReviewStatus");
    assert!(reviews.contains("REJECTED"));
    let statuses = enum_values("WhatsappPhoneNumberStatus");
    for s in ["CONNECTED", "BANNED", "BLOCKED"] {
        assert!(statuses.contains(s), "status {s}");
    }
}
