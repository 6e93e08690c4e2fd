//! The typed package's declarations (`package/index.d.ts`) against the Rust types they
//! describe: option names, the enums' spellings, the event names and each event's detail.
//! A name added, renamed or removed on either side fails here until both agree.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;

use serde_json::Value;
use wa_signup::embed::OPTION_NAMES;
use wa_signup::i18n::Locale;
use wa_signup::protocol::widget_event::CancelDetail;
use wa_signup::protocol::{parse_session_info, FinishKind, SessionInfo, WidgetEvent};
use wa_signup::screen::ErrorEvent;
use wire::{EsVersion, Mode, OnboardingState, StepName, StepState};

const DTS: &str = include_str!("../package/index.d.ts");

/// A member of an interface: its name (quotes removed), whether it is optional, its type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Member {
    name: String,
    optional: bool,
    ty: String,
}

/// The body of `interface NAME` (up to its closing brace at the start of a line).
fn interface_body(name: &str) -> &'static str {
    let start = [
        format!("export interface {name} {{"),
        format!("export interface {name} extends"),
        format!("  interface {name} {{"),
    ]
    .iter()
    .find_map(|head| DTS.find(head.as_str()))
    .unwrap_or_else(|| panic!("index.d.ts declares no interface {name}"));
    let body = &DTS[start..];
    let open = body.find('{').expect("an interface has a body") + 1;
    let close = body[open..]
        .find("\n}")
        .or_else(|| body[open..].find("\n  }"))
        .expect("an interface's body ends");
    &body[open..open + close]
}

/// The members of an interface, its comments skipped.
fn members(interface: &str) -> Vec<Member> {
    interface_body(interface)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("/*") && !l.starts_with('*'))
        .filter(|l| !l.starts_with("//"))
        .filter_map(|line| {
            let (name, rest) = match line.strip_prefix('\'') {
                Some(quoted) => quoted.split_once('\'')?,
                None => line.split_at(line.find([':', '?', '('])?),
            };
            let optional = rest.starts_with('?');
            let ty = rest.trim_start_matches('?').trim_start_matches(':').trim();
            Some(Member {
                name: name.to_owned(),
                optional,
                ty: ty.trim_end_matches(';').to_owned(),
            })
        })
        .collect()
}

fn names(interface: &str) -> BTreeSet<String> {
    members(interface).into_iter().map(|m| m.name).collect()
}

/// The string literals of `export type NAME = 'a' | 'b' …;`.
fn union(name: &str) -> BTreeSet<String> {
    let head = format!("export type {name} =");
    let start = DTS
        .find(&head)
        .unwrap_or_else(|| panic!("index.d.ts declares no type {name}"))
        + head.len();
    let end = start + DTS[start..].find(';').expect("a type alias ends with ;");
    DTS[start..end]
        .split('|')
        .map(|part| part.trim().trim_matches('\'').to_owned())
        .filter(|part| !part.is_empty())
        .collect()
}

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .expect("a detail is an object")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_options_are_the_ones_the_widget_parses() {
    assert_eq!(names("WaSignupOptions"), set(OPTION_NAMES));
    // Every option may be left out: missing ones come from the proxy.
    assert!(members("WaSignupOptions").iter().all(|m| m.optional));
}

#[test]
fn the_enums_are_spelled_as_in_rust() {
    let mut modes = set(Mode::ALL.map(Mode::as_str));
    assert_eq!(
        members("WaSignupOnboarding")
            .into_iter()
            .find(|m| m.name == "mode")
            .map(|m| m.ty),
        Some("'standard' | 'coexistence'".to_owned())
    );
    modes.insert("both".into());
    assert_eq!(union("WaSignupMode"), modes);
    assert_eq!(union("WaSignupLocale"), set(Locale::ALL.map(Locale::tag)));
    assert_eq!(
        union("WaSignupEsVersion"),
        set(EsVersion::ALL.map(EsVersion::as_str))
    );
    assert_eq!(
        union("WaSignupOnboardingState"),
        set(OnboardingState::ALL.map(OnboardingState::as_str))
    );
    let mut steps = set(StepName::ALL.map(StepName::as_str));
    steps.insert(StepName::Unknown.as_str().into());
    assert_eq!(union("WaSignupStepName"), steps);
    assert_eq!(
        union("WaSignupStepState"),
        set(StepState::ALL.map(StepState::as_str))
    );
    let kinds: BTreeSet<String> = FinishKind::ALL
        .iter()
        .map(|k| {
            serde_json::to_value(k)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(union("WaSignupFinishKind"), kinds);
}

#[test]
fn the_event_map_lists_every_event_the_widget_dispatches() {
    let declared = names("WaSignupEventMap");
    assert_eq!(declared, set(WidgetEvent::ALL.map(WidgetEvent::name)));
    let detail = |event: WidgetEvent| {
        members("WaSignupEventMap")
            .into_iter()
            .find(|m| m.name == event.name())
            .map(|m| m.ty)
            .unwrap()
    };
    assert_eq!(
        detail(WidgetEvent::Finish),
        "CustomEvent<WaSignupFinishDetail>"
    );
    assert_eq!(
        detail(WidgetEvent::Cancel),
        "CustomEvent<WaSignupCancelDetail>"
    );
    assert_eq!(
        detail(WidgetEvent::Error),
        "CustomEvent<WaSignupErrorDetail>"
    );
    for event in [WidgetEvent::Onboarding, WidgetEvent::Connected] {
        assert_eq!(detail(event), "CustomEvent<WaSignupOnboardingDetail>");
    }
}

#[test]
fn each_detail_has_the_fields_rust_serializes() {
    // A finish with every optional id, as Meta's popup sends it.
    let message = r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","version":3,
        "data":{"waba_id":"104996122399160","phone_number_id":"106540352242922",
        "business_id":"2729063490586005"}}"#;
    let Some(SessionInfo::Finish(finish)) = parse_session_info(message) else {
        panic!("the sample is a finish");
    };
    assert_eq!(
        names("WaSignupFinishDetail"),
        keys(&serde_json::to_value(&finish).unwrap())
    );
    let cancel = CancelDetail {
        current_step: Some("PHONE_NUMBER_SETUP"),
    };
    assert_eq!(
        names("WaSignupCancelDetail"),
        keys(&serde_json::to_value(&cancel).unwrap())
    );
    let error = ErrorEvent {
        code: "popup_failed".into(),
        message: String::new(),
    };
    assert_eq!(
        names("WaSignupErrorDetail"),
        keys(&serde_json::to_value(&error).unwrap())
    );
    // The sandbox mark is the one field every detail may add: the one the widget adds.
    assert_eq!(
        names("WaSignupSandboxMark"),
        BTreeSet::from([wa_signup::protocol::SANDBOX_MARK.to_owned()])
    );
}

/// An interface against the wire type `T`: the same fields as its OpenAPI schema, and a
/// field is optional in TypeScript exactly when `T` may leave it out of what it sends (a
/// value holding only the schema's required fields, `minimal`, sent back without it).
fn assert_matches<T>(interface: &str, minimal: Value)
where
    T: utoipa::PartialSchema + serde::Serialize + serde::de::DeserializeOwned,
{
    let schema = serde_json::to_value(T::schema()).unwrap();
    let required: BTreeSet<String> = schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        keys(&minimal),
        required,
        "{interface}: the sample holds the required fields"
    );
    let value: T = serde_json::from_value(minimal).unwrap();
    let always_sent = keys(&serde_json::to_value(&value).unwrap());
    let declared = members(interface);
    assert_eq!(
        declared
            .iter()
            .map(|m| m.name.clone())
            .collect::<BTreeSet<_>>(),
        keys(&schema["properties"]),
        "{interface}: fields"
    );
    for member in declared {
        assert_eq!(
            !member.optional,
            always_sent.contains(&member.name),
            "{interface}.{}: always sent in one, optional in the other",
            member.name
        );
    }
}

#[test]
fn the_onboarding_is_the_proxys_wire_type() {
    let at = "2026-12-07T00:00:00Z";
    assert_matches::<wire::Onboarding>(
        "WaSignupOnboarding",
        serde_json::json!({"id": "0193", "mode": "standard", "waba_id": "1",
            "state": "connected", "created_at": at, "updated_at": at}),
    );
    assert_matches::<wire::OnboardingStep>(
        "WaSignupOnboardingStep",
        serde_json::json!({"name": "bind", "state": "done", "started_at": at}),
    );
    assert_matches::<wire::OnboardingError>(
        "WaSignupOnboardingError",
        serde_json::json!({"code": "bind_failed", "message": "m", "retryable": true}),
    );
    assert_matches::<wire::NumberCandidate>(
        "WaSignupNumberCandidate",
        serde_json::json!({"id": "106540352242922"}),
    );
    assert_matches::<wire::WabaSummary>("WaSignupWabaSummary", serde_json::json!({}));
    assert_matches::<wire::PhoneNumberSummary>("WaSignupPhoneNumberSummary", serde_json::json!({}));
    assert_matches::<wire::CoexistenceSync>(
        "WaSignupCoexistenceSync",
        serde_json::json!({"contacts": {"state": "done"}, "history": {"state": "requested"}}),
    );
    assert_matches::<wire::SyncPart>(
        "WaSignupSyncPart",
        serde_json::json!({"state": "in_progress"}),
    );
    assert_eq!(
        union("WaSignupSyncState"),
        set(wire::SyncState::ALL.map(wire::SyncState::as_str))
    );
}

#[test]
fn the_package_version_is_the_crates() {
    let manifest: Value = serde_json::from_str(include_str!("../package/package.json")).unwrap();
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["types"], "./index.d.ts");
    assert_eq!(manifest["exports"]["."]["types"], "./index.d.ts");
}
