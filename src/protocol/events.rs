//! Session-info messages (`type: "WA_EMBEDDED_SIGNUP"`) that Meta's popup posts to its
//! opener, parsed into typed values (their path through the app: docs/ARCHITECTURE.md).
//!
//! Parsing reads a [`Json`] value rather than a derived tagged enum: the same `event` means
//! different things depending on `data` (`FINISH` with `is_wa_login_user`, `CANCEL` carrying
//! a user-reported error), ids may come as strings or numbers, and every oddity must end in a
//! value or `None`, never in an error the caller has to handle. The browser builds that value
//! from what its own `JSON.parse` made of the message (`src/browser/messages.rs`), so the
//! bundle carries no JSON parser; natively, [`parse_session_info`] reads text.

use serde::Serialize;
use wire::{
    AuthCode, BusinessId, CreateOnboarding, CustomerRef, EventName, Mode, PhoneNumberId,
    SessionToken, WabaId,
};

/// The `type` of every Embedded Signup session-info message.
pub const MESSAGE_TYPE: &str = "WA_EMBEDDED_SIGNUP";

/// One session-info message from Meta's popup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionInfo {
    /// The customer finished the flow: a WABA exists.
    Finish(Finish),
    /// The customer closed the popup at some step.
    Cancel(Cancel),
    /// The customer reported an error in the popup (arrives as `CANCEL` or `ERROR`).
    Error(ReportedError),
    /// A finish event whose `waba_id` is missing or malformed, or whose optional ids are
    /// present but malformed.
    ///
    /// Kept rather than dropped: the message came from Facebook and says the flow ended, so
    /// waiting for a better one would only end in a timeout. Dropping a malformed
    /// `phone_number_id` instead would silently skip registering the number.
    InvalidFinish {
        /// The raw event name, e.g. `FINISH`.
        event: String,
    },
    /// An event this app does not know (Meta adds some from time to time); kept as text.
    Unknown {
        /// The raw event name.
        event: String,
    },
}

/// Which finish event ended the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishKind {
    /// `FINISH`: a WABA, usually with a phone number and business portfolio.
    Finish,
    /// `FINISH_ONLY_WABA`: a WABA without a phone number.
    OnlyWaba,
    /// `FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING`: coexistence with the Business App.
    #[serde(rename = "whatsapp_business_app_onboarding")]
    WhatsAppBusinessAppOnboarding,
    /// `FINISH` whose data has `is_wa_login_user: true`: the coexistence flow as YCloud's
    /// sample reports it (YCloud's Embedded Signup guide).
    WaLoginUser,
    /// `FINISH_OBO_MIGRATION`: an on-behalf-of WABA migrated.
    OboMigration,
    /// `FINISH_GRANT_ONLY_API_ACCESS`: access granted to an existing WABA.
    GrantOnlyApiAccess,
    /// A `FINISH_…` event this app does not know yet, carrying a valid `waba_id`. Meta keeps
    /// adding finishes; the flow has ended either way, so it is submitted like the others,
    /// with its event name ([`Finish::event`]) for the proxy to record.
    #[serde(rename = "unknown")]
    Unrecognized,
}

impl FinishKind {
    /// Every kind (the typed package's `WaSignupFinishKind` lists their spellings).
    pub const ALL: [FinishKind; 7] = [
        FinishKind::Finish,
        FinishKind::OnlyWaba,
        FinishKind::WhatsAppBusinessAppOnboarding,
        FinishKind::WaLoginUser,
        FinishKind::OboMigration,
        FinishKind::GrantOnlyApiAccess,
        FinishKind::Unrecognized,
    ];
}

/// A finished flow: the ids to hand to the proxy. Serialized as the detail of the widget's
/// `wa-signup:finish` event: `{"event":"FINISH","kind":"finish","waba_id":"…",…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finish {
    /// The event name as received, e.g. `FINISH_ONLY_WABA` (posted to the proxy).
    pub event: EventName,
    /// What kind of finish this is.
    pub kind: FinishKind,
    /// The WhatsApp Business Account: the one id every finish carries.
    pub waba_id: WabaId,
    /// The phone number id, when a number was added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<PhoneNumberId>,
    /// The customer's business portfolio, when reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_id: Option<BusinessId>,
}

impl Finish {
    /// The event name to post to the proxy (`CreateOnboarding::event`), which takes the
    /// onboarding's mode from it: a `FINISH` with `is_wa_login_user` is posted as the
    /// coexistence finish it means.
    pub fn event_name(&self) -> EventName {
        match self.kind {
            FinishKind::WaLoginUser => EventName::parse("FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING")
                .unwrap_or_else(|_| self.event.clone()),
            _ => self.event.clone(),
        }
    }

    /// The body of `POST /api/onboardings` for this finish.
    ///
    /// `mode` is the flow the customer launched: the proxy, not the popup, decides what a
    /// mismatch between mode and finish kind means. `session` is the page's token: the proxy
    /// takes who the customer is from it.
    pub fn onboarding_request(
        &self,
        mode: Mode,
        code: Option<AuthCode>,
        customer_ref: Option<CustomerRef>,
        session: Option<SessionToken>,
    ) -> CreateOnboarding {
        CreateOnboarding {
            mode,
            waba_id: self.waba_id.clone(),
            phone_number_id: self.phone_number_id.clone(),
            business_id: self.business_id.clone(),
            code,
            event: Some(self.event_name()),
            customer_ref,
            session,
        }
    }
}

/// A `CANCEL` without error details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancel {
    /// Where the customer left, when Meta said so.
    pub step: Option<CancelStep>,
}

/// The step at which the customer abandoned the flow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CancelStep {
    /// `BUSINESS_ACCOUNT_SELECTION`
    BusinessAccountSelection,
    /// `WABA_PHONE_PROFILE_PICKER`
    WabaPhoneProfilePicker,
    /// `WHATSAPP_BUSINESS_PROFILE_SETUP`
    WhatsAppBusinessProfileSetup,
    /// `PHONE_NUMBER_SETUP`
    PhoneNumberSetup,
    /// `PHONE_NUMBER_VERIFICATION`
    PhoneNumberVerification,
    /// `PERMISSIONS`
    Permissions,
    /// A step this app does not know yet, as received.
    Other(String),
}

impl CancelStep {
    /// Reads Meta's spelling; unknown steps are kept as [`CancelStep::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "BUSINESS_ACCOUNT_SELECTION" => CancelStep::BusinessAccountSelection,
            "WABA_PHONE_PROFILE_PICKER" => CancelStep::WabaPhoneProfilePicker,
            "WHATSAPP_BUSINESS_PROFILE_SETUP" => CancelStep::WhatsAppBusinessProfileSetup,
            "PHONE_NUMBER_SETUP" => CancelStep::PhoneNumberSetup,
            "PHONE_NUMBER_VERIFICATION" => CancelStep::PhoneNumberVerification,
            "PERMISSIONS" => CancelStep::Permissions,
            other => CancelStep::Other(other.to_owned()),
        }
    }

    /// Meta's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            CancelStep::BusinessAccountSelection => "BUSINESS_ACCOUNT_SELECTION",
            CancelStep::WabaPhoneProfilePicker => "WABA_PHONE_PROFILE_PICKER",
            CancelStep::WhatsAppBusinessProfileSetup => "WHATSAPP_BUSINESS_PROFILE_SETUP",
            CancelStep::PhoneNumberSetup => "PHONE_NUMBER_SETUP",
            CancelStep::PhoneNumberVerification => "PHONE_NUMBER_VERIFICATION",
            CancelStep::Permissions => "PERMISSIONS",
            CancelStep::Other(s) => s,
        }
    }
}

/// An error the customer reported from inside the popup.
///
/// Every field is optional: the popup's error report is free-form and an error without a
/// message is still an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportedError {
    /// `error_message`, for the support conversation.
    pub message: Option<String>,
    /// `error_code`, or `error_id` when that is what arrived (both are seen).
    pub code: Option<String>,
    /// `session_id`, which Meta support asks for.
    pub session_id: Option<String>,
    /// `timestamp` as received (numbers are written in decimal).
    pub timestamp: Option<String>,
}

/// A JSON value as the browser's `JSON.parse` made it: the one shape [`session_info`] reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as text the way JavaScript writes it (`String(n)`): ids are read from their
    /// digits, never through a float.
    Number(String),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members, in order; a repeated key keeps its last value (as `JSON.parse`).
    Object(Vec<(String, Json)>),
}

/// An object's members.
type Members = [(String, Json)];

impl Json {
    fn as_object(&self) -> Option<&Members> {
        match self {
            Json::Object(members) => Some(members),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
}

/// The value of `key` in an object's members (the last, as `JSON.parse` keeps it).
fn get<'a>(members: &'a Members, key: &str) -> Option<&'a Json> {
    members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Parses a message's data, as text, into session info: what the browser does with the
/// [`Json`] value it builds, for native callers and tests. The size limit is the same: the
/// browser measures a string as it arrived and an object as `JSON.stringify` wrote it.
///
/// `None` as for [`session_info`], and for text that is not JSON or is longer than
/// [`wire::MAX_BODY_BYTES`]. Never panics.
#[cfg(any(test, not(target_arch = "wasm32")))]
pub fn parse_session_info(text: &str) -> Option<SessionInfo> {
    if text.len() > wire::MAX_BODY_BYTES {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    session_info(&Json::from(value))
}

#[cfg(any(test, not(target_arch = "wasm32")))]
impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Json {
        use serde_json::Value;
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => Json::Number(n.to_string()),
            Value::String(s) => Json::String(s),
            Value::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            Value::Object(members) => Json::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k, Json::from(v)))
                    .collect(),
            ),
        }
    }
}

/// Reads one message's data as session info.
///
/// `None` means "not ours, ignore silently": not an object, another `type`, or no string
/// `event`. Every other message from a trusted origin yields a value (see
/// [`SessionInfo::InvalidFinish`] and [`SessionInfo::Unknown`]). Never panics.
pub fn session_info(value: &Json) -> Option<SessionInfo> {
    let message = value.as_object()?;
    if get(message, "type")?.as_str()? != MESSAGE_TYPE {
        return None;
    }
    let event = get(message, "event")?.as_str()?;
    // `data` should be an object; anything else reads as an empty one so that, e.g., a
    // `CANCEL` without data is still a cancel.
    let data = get(message, "data")
        .and_then(Json::as_object)
        .unwrap_or_default();

    let kind = match event {
        "FINISH" if is_true(get(data, "is_wa_login_user")) => FinishKind::WaLoginUser,
        "FINISH" => FinishKind::Finish,
        "FINISH_ONLY_WABA" => FinishKind::OnlyWaba,
        "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING" => FinishKind::WhatsAppBusinessAppOnboarding,
        "FINISH_OBO_MIGRATION" => FinishKind::OboMigration,
        "FINISH_GRANT_ONLY_API_ACCESS" => FinishKind::GrantOnlyApiAccess,
        "CANCEL" if has_error_details(data) => return Some(SessionInfo::Error(reported(data))),
        "CANCEL" => {
            let step = get(data, "current_step")
                .and_then(Json::as_str)
                .map(CancelStep::parse);
            return Some(SessionInfo::Cancel(Cancel { step }));
        }
        "ERROR" => return Some(SessionInfo::Error(reported(data))),
        // Only with a usable WABA id: without one an unfamiliar event is no proof the flow
        // ended, and waiting (then timing out) is the safer reading.
        other
            if other.starts_with("FINISH_")
                && matches!(id::<WabaId>(get(data, "waba_id")), Ok(Some(_))) =>
        {
            FinishKind::Unrecognized
        }
        other => {
            return Some(SessionInfo::Unknown {
                event: other.to_owned(),
            })
        }
    };
    Some(finish(kind, event, data))
}

fn finish(kind: FinishKind, event: &str, data: &Members) -> SessionInfo {
    let invalid = || SessionInfo::InvalidFinish {
        event: event.to_owned(),
    };
    // YCloud's standard-mode sample reads `businessId`; Meta documents `business_id`.
    let business = match get(data, "business_id") {
        Some(v) if !is_absent(v) => Some(v),
        _ => get(data, "businessId"),
    };
    let (Some(waba_id), Ok(phone_number_id), Ok(business_id), Ok(event)) = (
        id::<WabaId>(get(data, "waba_id")).ok().flatten(),
        id::<PhoneNumberId>(get(data, "phone_number_id")),
        id::<BusinessId>(business),
        EventName::parse(event),
    ) else {
        return invalid();
    };
    SessionInfo::Finish(Finish {
        event,
        kind,
        waba_id,
        phone_number_id,
        business_id,
    })
}

/// An id field: absent (`None`, `null`, `""`) is `Ok(None)`; digits as a string or a
/// non-negative integer (up to `u64::MAX`) are `Ok(Some(_))`; anything else is `Err(())`.
fn id<T: TryFrom<String>>(value: Option<&Json>) -> Result<Option<T>, ()> {
    let text = match value {
        None => return Ok(None),
        Some(v) if is_absent(v) => return Ok(None),
        Some(Json::String(s)) => s.clone(),
        // Ids are strings in every sample, but a JSON number of digits means the same id.
        Some(Json::Number(n)) if n.parse::<u64>().is_ok() && !n.starts_with('+') => n.clone(),
        Some(_) => return Err(()),
    };
    T::try_from(text).map(Some).map_err(|_| ())
}

fn is_absent(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::String(s) => s.is_empty(),
        _ => false,
    }
}

fn is_true(value: Option<&Json>) -> bool {
    matches!(value, Some(Json::Bool(true))) || value.and_then(Json::as_str) == Some("true")
}

fn has_error_details(data: &Members) -> bool {
    ["error_message", "error_code", "error_id"]
        .iter()
        .any(|key| get(data, key).is_some_and(|v| !is_absent(v)))
}

fn reported(data: &Members) -> ReportedError {
    ReportedError {
        message: text(get(data, "error_message")),
        code: text(get(data, "error_code")).or_else(|| text(get(data, "error_id"))),
        session_id: text(get(data, "session_id")),
        timestamp: text(get(data, "timestamp")),
    }
}

/// A free-text field: strings as they are, numbers and booleans written out, empty or
/// other shapes dropped.
fn text(value: Option<&Json>) -> Option<String> {
    match value? {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.clone()),
        Json::Bool(true) => Some("true".to_owned()),
        Json::Bool(false) => Some("false".to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Option<SessionInfo> {
        parse_session_info(text)
    }

    fn finish_of(text: &str) -> Finish {
        match parse(text) {
            Some(SessionInfo::Finish(f)) => f,
            other => panic!("{text}: {other:?}"),
        }
    }

    /// Real finish payloads (Meta's Embedded Signup docs, YCloud's Embedded Signup guide) with what they mean:
    /// (payload, kind, event, waba, phone, business).
    #[allow(clippy::type_complexity)]
    const FINISHES: &[(&str, FinishKind, &str, &str, Option<&str>, Option<&str>)] = &[
        (
            r#"{"data":{"phone_number_id":"106540352242922","waba_id":"104996122399160","business_id":"2729063490586005"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","version":3}"#,
            FinishKind::Finish,
            "FINISH",
            "104996122399160",
            Some("106540352242922"),
            Some("2729063490586005"),
        ),
        (
            r#"{"data":{"phone_number_id":"106540352242922","waba_id":"104996122399160","business_id":"2729063490586005","ad_account_ids":["1"],"page_ids":["2"],"dataset_ids":["3"],"catalog_ids":[],"instagram_account_ids":[],"waba_ids":["104996122399160"]},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","version":3}"#,
            FinishKind::Finish,
            "FINISH",
            "104996122399160",
            Some("106540352242922"),
            Some("2729063490586005"),
        ),
        (
            r#"{"data":{"waba_id":"104996122399160","business_id":"2729063490586005"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_ONLY_WABA","version":3}"#,
            FinishKind::OnlyWaba,
            "FINISH_ONLY_WABA",
            "104996122399160",
            None,
            Some("2729063490586005"),
        ),
        (
            r#"{"data":{"waba_id":"104996122399160"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_ONLY_WABA","version":3}"#,
            FinishKind::OnlyWaba,
            "FINISH_ONLY_WABA",
            "104996122399160",
            None,
            None,
        ),
        (
            r#"{"data":{"phone_number_id":"106540352242922","waba_id":"104996122399160","business_id":"2729063490586005"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING","version":3}"#,
            FinishKind::WhatsAppBusinessAppOnboarding,
            "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            "104996122399160",
            Some("106540352242922"),
            Some("2729063490586005"),
        ),
        (
            r#"{"data":{"waba_id":"104996122399160"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"}"#,
            FinishKind::WhatsAppBusinessAppOnboarding,
            "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            "104996122399160",
            None,
            None,
        ),
        (
            r#"{"data":{"phone_number_id":"106540352242922","waba_id":"104996122399160","business_id":"2729063490586005","is_wa_login_user":true},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","version":3}"#,
            FinishKind::WaLoginUser,
            "FINISH",
            "104996122399160",
            Some("106540352242922"),
            Some("2729063490586005"),
        ),
        (
            r#"{"data":{"waba_id":"104996122399160","is_wa_login_user":false},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH"}"#,
            FinishKind::Finish,
            "FINISH",
            "104996122399160",
            None,
            None,
        ),
        (
            r#"{"data":{"waba_id":"104996122399160"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_OBO_MIGRATION","version":3}"#,
            FinishKind::OboMigration,
            "FINISH_OBO_MIGRATION",
            "104996122399160",
            None,
            None,
        ),
        (
            r#"{"data":{"waba_id":"104996122399160"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_GRANT_ONLY_API_ACCESS","version":3}"#,
            FinishKind::GrantOnlyApiAccess,
            "FINISH_GRANT_ONLY_API_ACCESS",
            "104996122399160",
            None,
            None,
        ),
        // YCloud's standard sample destructures `businessId`.
        (
            r#"{"data":{"phone_number_id":"1","waba_id":"2","businessId":"3"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH"}"#,
            FinishKind::Finish,
            "FINISH",
            "2",
            Some("1"),
            Some("3"),
        ),
        // Ids as numbers, empty and null optional ids, unknown fields.
        (
            r#"{"data":{"waba_id":104996122399160,"phone_number_id":"","business_id":null,"extra":{"x":[1,2]}},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","future":true}"#,
            FinishKind::Finish,
            "FINISH",
            "104996122399160",
            None,
            None,
        ),
    ];

    #[test]
    fn every_finish_payload_parses_to_its_kind_and_ids() {
        for (payload, kind, event, waba, phone, business) in FINISHES {
            let f = finish_of(payload);
            assert_eq!(f.kind, *kind, "{payload}");
            assert_eq!(f.event.as_str(), *event, "{payload}");
            assert_eq!(f.waba_id.as_str(), *waba, "{payload}");
            assert_eq!(
                f.phone_number_id.as_ref().map(|p| p.as_str()),
                *phone,
                "{payload}"
            );
            assert_eq!(
                f.business_id.as_ref().map(|b| b.as_str()),
                *business,
                "{payload}"
            );
        }
    }

    #[test]
    fn unknown_finish_events_with_a_valid_waba_are_finishes_of_unknown_kind() {
        let f = finish_of(
            r#"{"data":{"waba_id":"104996122399160","phone_number_id":"106540352242922"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_SOMETHING_NEW","version":3}"#,
        );
        assert_eq!(f.kind, FinishKind::Unrecognized);
        assert_eq!(f.event.as_str(), "FINISH_SOMETHING_NEW");
        assert_eq!(f.waba_id.as_str(), "104996122399160");
        assert_eq!(f.phone_number_id.unwrap().as_str(), "106540352242922");
        // Submitted like any finish, with its own event name.
        let f = finish_of(
            r#"{"data":{"waba_id":"1"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_ONLY_WABA_V2"}"#,
        );
        let body = f.onboarding_request(Mode::Standard, None, None, None);
        assert_eq!(body.event.unwrap().as_str(), "FINISH_ONLY_WABA_V2");
        assert_eq!(serde_json::to_value(&f).unwrap()["kind"], "unknown");
        // A valid WABA with a malformed number is an invalid finish, as for known kinds.
        assert_eq!(
            parse(
                r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_NEW","data":{"waba_id":"1","phone_number_id":"x"}}"#
            ),
            Some(SessionInfo::InvalidFinish {
                event: "FINISH_NEW".into()
            })
        );
    }

    #[test]
    fn unknown_finish_events_without_a_valid_waba_stay_unknown() {
        for data in [
            json!({}),
            json!({"waba_id": "12a"}),
            json!({"waba_id": ""}),
            json!("x"),
        ] {
            let payload = json!({"type": MESSAGE_TYPE, "event": "FINISH_NEW", "data": data});
            assert_eq!(
                parse(&payload.to_string()),
                Some(SessionInfo::Unknown {
                    event: "FINISH_NEW".into()
                }),
                "{payload}"
            );
        }
    }

    #[test]
    fn finishes_without_a_valid_waba_or_with_bad_ids_are_invalid_finishes() {
        for payload in [
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH"}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":"waba_id"}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":""}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":null}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":"12a"}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":-12}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":1.5}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":["1"]}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":"123456789012345678901234567890123"}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":"1","phone_number_id":"x"}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":"1","business_id":" 1"}}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_ONLY_WABA","data":{"wabaId":"1"}}"#,
        ] {
            let info = parse(payload).unwrap_or_else(|| panic!("{payload} ignored"));
            assert!(
                matches!(info, SessionInfo::InvalidFinish { .. }),
                "{payload}: {info:?}"
            );
        }
    }

    #[test]
    fn cancels_keep_known_and_unknown_steps() {
        let cases: &[(&str, Option<CancelStep>)] = &[
            (
                r#"{"data":{"current_step":"BUSINESS_ACCOUNT_SELECTION"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","version":3}"#,
                Some(CancelStep::BusinessAccountSelection),
            ),
            (
                r#"{"data":{"current_step":"WABA_PHONE_PROFILE_PICKER"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#,
                Some(CancelStep::WabaPhoneProfilePicker),
            ),
            (
                r#"{"data":{"current_step":"WHATSAPP_BUSINESS_PROFILE_SETUP"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#,
                Some(CancelStep::WhatsAppBusinessProfileSetup),
            ),
            (
                r#"{"data":{"current_step":"PHONE_NUMBER_SETUP"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#,
                Some(CancelStep::PhoneNumberSetup),
            ),
            (
                r#"{"data":{"current_step":"PHONE_NUMBER_VERIFICATION"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#,
                Some(CancelStep::PhoneNumberVerification),
            ),
            (
                r#"{"data":{"current_step":"PERMISSIONS"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#,
                Some(CancelStep::Permissions),
            ),
            (
                r#"{"data":{"current_step":"NEW_STEP_2027"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#,
                Some(CancelStep::Other("NEW_STEP_2027".into())),
            ),
            (
                r#"{"data":{},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#,
                None,
            ),
            (r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#, None),
            (
                r#"{"data":{"current_step":7},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#,
                None,
            ),
        ];
        for (payload, step) in cases {
            assert_eq!(
                parse(payload),
                Some(SessionInfo::Cancel(Cancel { step: step.clone() })),
                "{payload}"
            );
        }
        for step in ["PERMISSIONS", "NEW_STEP_2027", ""] {
            assert_eq!(CancelStep::parse(step).as_str(), step);
        }
    }

    #[test]
    fn user_reported_errors_arrive_as_cancel_or_error() {
        let cases: &[(&str, ReportedError)] = &[
            (
                r#"{"data":{"error_message":"Your business portfolio could not be verified","error_id":"524126","session_id":"f34b51dab5e0498","timestamp":1689289630},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","version":3}"#,
                ReportedError {
                    message: Some("Your business portfolio could not be verified".into()),
                    code: Some("524126".into()),
                    session_id: Some("f34b51dab5e0498".into()),
                    timestamp: Some("1689289630".into()),
                },
            ),
            (
                r#"{"data":{"error_message":"Phone number already registered","error_code":2388091,"session_id":"s1","timestamp":"2025-01-01T00:00:00Z"},"type":"WA_EMBEDDED_SIGNUP","event":"ERROR"}"#,
                ReportedError {
                    message: Some("Phone number already registered".into()),
                    code: Some("2388091".into()),
                    session_id: Some("s1".into()),
                    timestamp: Some("2025-01-01T00:00:00Z".into()),
                },
            ),
            (
                r#"{"data":{"error_code":"X"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#,
                ReportedError {
                    code: Some("X".into()),
                    ..ReportedError::default()
                },
            ),
            (
                r#"{"data":{"error_code":"A","error_id":"B"},"type":"WA_EMBEDDED_SIGNUP","event":"ERROR"}"#,
                ReportedError {
                    code: Some("A".into()),
                    ..ReportedError::default()
                },
            ),
            (
                r#"{"type":"WA_EMBEDDED_SIGNUP","event":"ERROR"}"#,
                ReportedError::default(),
            ),
        ];
        for (payload, want) in cases {
            assert_eq!(
                parse(payload),
                Some(SessionInfo::Error(want.clone())),
                "{payload}"
            );
        }
    }

    #[test]
    fn unknown_events_are_kept_as_text() {
        for event in ["PHONE_NUMBER_VERIFIED", "finish", "", "ÉVÉNEMENT"] {
            let payload = json!({"type": MESSAGE_TYPE, "event": event, "data": {"waba_id": "1"}});
            assert_eq!(
                parse(&payload.to_string()),
                Some(SessionInfo::Unknown {
                    event: event.to_owned()
                }),
                "{event:?}"
            );
        }
    }

    #[test]
    fn messages_that_are_not_ours_are_ignored() {
        let big = format!(
            r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{{"waba_id":"1","pad":"{}"}}}}"#,
            "x".repeat(wire::MAX_BODY_BYTES)
        );
        for payload in [
            "",
            "null",
            "42",
            "\"WA_EMBEDDED_SIGNUP\"",
            "[]",
            "{}",
            "not json",
            "{\"type\":\"WA_EMBEDDED_SIGNUP\"",
            r#"{"type":"WA_EMBEDDED_SIGNUP"}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":null}"#,
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":3}"#,
            r#"{"type":"wa_embedded_signup","event":"FINISH","data":{"waba_id":"1"}}"#,
            r#"{"type":"XD_RPC","event":"FINISH","data":{"waba_id":"1"}}"#,
            r#"{"event":"FINISH","data":{"waba_id":"1"}}"#,
            // Facebook's SDK sends such strings over the same channel.
            "_FB_xd_fragment#cb=f2b&origin=https%3A%2F%2Fexample.com",
            &big,
        ] {
            assert_eq!(parse(payload), None, "{payload:.80}");
        }
    }

    #[test]
    fn exactly_the_size_limit_is_still_read() {
        let head = r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":"1","pad":""#;
        let tail = r#""}}"#;
        let pad = "x".repeat(wire::MAX_BODY_BYTES - head.len() - tail.len());
        let payload = format!("{head}{pad}{tail}");
        assert_eq!(payload.len(), wire::MAX_BODY_BYTES);
        assert!(matches!(parse(&payload), Some(SessionInfo::Finish(_))));
        assert_eq!(parse(&format!("{head}x{pad}{tail}")), None);
    }

    #[test]
    fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
        let deep = format!(
            r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{}1{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert_eq!(parse(&deep), None);
    }

    #[test]
    fn a_finish_serializes_as_the_finish_event_detail() {
        let f = finish_of(FINISHES[0].0);
        assert_eq!(
            serde_json::to_value(&f).unwrap(),
            json!({"event": "FINISH", "kind": "finish",
                   "waba_id": "104996122399160", "phone_number_id": "106540352242922",
                   "business_id": "2729063490586005"})
        );
        assert_eq!(
            serde_json::to_value(finish_of(FINISHES[6].0)).unwrap()["kind"],
            json!("wa_login_user")
        );
    }

    #[test]
    fn a_finish_becomes_the_proxy_request() {
        let f = finish_of(FINISHES[2].0);
        let code = AuthCode::parse("AQB_x-1").unwrap();
        let req = f.onboarding_request(Mode::Standard, Some(code.clone()), None, None);
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"mode": "standard", "waba_id": "104996122399160",
                   "business_id": "2729063490586005", "code": "AQB_x-1",
                   "event": "FINISH_ONLY_WABA"})
        );
        // The page's session goes with the ids; the proxy takes the customer from it.
        let session = SessionToken::parse("ses_AbC-09_xyz").unwrap();
        let req = f.onboarding_request(Mode::Standard, Some(code), None, Some(session));
        assert_eq!(
            serde_json::to_value(&req).unwrap()["session"],
            json!("ses_AbC-09_xyz")
        );
    }
}
