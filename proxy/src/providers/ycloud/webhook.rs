//! YCloud webhooks: signature verification (on the raw body, before any parsing; the
//! extractor is `routes.rs`'s), the event envelope with its tagged `type`, and a signing
//! helper for tests.
//!
//! YCloud sends `YCloud-Signature: t={unix seconds},s={hex}` where
//! `s = HMAC-SHA256(key = endpoint secret, message = "{t}.{raw body}")`. The proxy accepts a
//! request when one `s` matches (compared in constant time) and `t` is within
//! [`TOLERANCE_SECS`] of the proxy's [`Clock`](crate::clock::Clock), in either direction. The
//! header's form and age are checked before the body is read.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use time::OffsetDateTime;

/// Why a YCloud webhook is refused before anything is applied; `crate::error` says how
/// each is answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `YCloud-Signature` header.
    SignatureMissing,
    /// A header that is not `t=<unix seconds>,s=<hex>`, and why.
    SignatureMalformed(&'static str),
    /// No `s` matches the body.
    SignatureInvalid,
    /// `t` is more than [`TOLERANCE_SECS`] from the proxy's clock.
    SignatureStale,
    /// A body that is not JSON.
    MalformedJson(String),
    /// JSON that is not an event.
    InvalidEvent(String),
}

/// The header YCloud signs its webhooks with.
pub const SIGNATURE_HEADER: &str = "YCloud-Signature";
/// How far the signature's timestamp may be from the proxy's clock (the common 5 minutes).
pub const TOLERANCE_SECS: i64 = 300;
type HmacSha256 = Hmac<Sha256>;

/// The `YCloud-Signature` value YCloud would send for `body` at unix time `t`:
/// `t={t},s={hex HMAC-SHA256(secret, "{t}.{body}")}`. For tests and local tools.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!(
        "t={t},s={}",
        hex::encode(mac(secret.as_bytes(), t, body).finalize().into_bytes())
    )
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The parts of a `YCloud-Signature` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Signature {
    t: i64,
    /// Every `s=` given (one normally; several while a secret is being rolled).
    s: Vec<Vec<u8>>,
}

/// Reads a `YCloud-Signature` header's value.
///
/// # Errors
/// [`Refusal::SignatureMalformed`] when it is not `t=<unix seconds>,s=<hex>`.
pub fn parse_header(value: &str) -> Result<Signature, Refusal> {
    let mut t = None;
    let mut s = Vec::new();
    for part in value.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            return Err(Refusal::SignatureMalformed(
                "expected t=<unix seconds>,s=<hex>",
            ));
        };
        match k.trim() {
            "t" => {
                let v = v.trim();
                if v.is_empty() || v.len() > 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Refusal::SignatureMalformed(
                        "t is not a unix time in seconds",
                    ));
                }
                t = v.parse::<i64>().ok();
            }
            "s" => match hex::decode(v.trim()) {
                Ok(bytes) if bytes.len() == 32 => s.push(bytes),
                _ => return Err(Refusal::SignatureMalformed("s is not a hex SHA-256 HMAC")),
            },
            // Later schemes may add keys; ignoring them keeps this endpoint working.
            _ => {}
        }
    }
    match (t, s.is_empty()) {
        (Some(t), false) => Ok(Signature { t, s }),
        (None, _) => Err(Refusal::SignatureMalformed("t is missing")),
        (Some(_), true) => Err(Refusal::SignatureMalformed("s is missing")),
    }
}

/// Checks a `YCloud-Signature` header against the raw body at time `now`.
///
/// # Errors
/// [`Refusal::SignatureMalformed`] (400) for a header that does not parse,
/// [`Refusal::SignatureStale`] (401) for a timestamp more than [`TOLERANCE_SECS`] away,
/// [`Refusal::SignatureInvalid`] (401) when no `s` matches.
pub fn verify(
    secret: &SecretString,
    header: &str,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    let sig = parse_header(header)?;
    sig.check_fresh(now)?;
    sig.check_mac(secret, body)
}

impl Signature {
    /// The timestamp's distance from `now`, in either direction, is within the tolerance.
    ///
    /// # Errors
    /// [`Refusal::SignatureStale`].
    pub fn check_fresh(&self, now: OffsetDateTime) -> Result<(), Refusal> {
        // Saturating: `t` is at most 12 digits, `now` any time the clock says.
        if now.unix_timestamp().saturating_sub(self.t).saturating_abs() > TOLERANCE_SECS {
            return Err(Refusal::SignatureStale);
        }
        Ok(())
    }

    /// One `s` is the HMAC of `"{t}.{body}"` with `secret` (compared in constant time).
    ///
    /// # Errors
    /// [`Refusal::SignatureInvalid`].
    pub fn check_mac(&self, secret: &SecretString, body: &[u8]) -> Result<(), Refusal> {
        let expected = mac(secret.expose_secret().as_bytes(), self.t, body);
        if self
            .s
            .iter()
            .any(|s| expected.clone().verify_slice(s).is_ok())
        {
            Ok(())
        } else {
            Err(Refusal::SignatureInvalid)
        }
    }
}

/// What a webhook is about, from its `type`. Types this proxy does not act on are kept as
/// text: YCloud adds event types, and an unknown one must be stored, not refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventType {
    /// `whatsapp.phone_number.{kind}`.
    PhoneNumber(PhoneNumberEvent),
    /// `whatsapp.business_account.{kind}`.
    BusinessAccount(BusinessAccountEvent),
    /// Anything else (messages, templates, contacts, ...), as sent.
    Other(String),
}

/// `whatsapp.phone_number.*` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneNumberEvent {
    /// `deleted`.
    Deleted,
    /// `name_updated`.
    NameUpdated,
    /// `quality_updated` (also carries status changes such as `FLAGGED`).
    QualityUpdated,
    /// `business_username_updated`.
    BusinessUsernameUpdated,
    /// Any other `whatsapp.phone_number.*` (e.g. a future `status_updated`), the suffix.
    Other(String),
}

/// `whatsapp.business_account.*` events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusinessAccountEvent {
    /// `deleted`.
    Deleted,
    /// `reviewed`.
    Reviewed,
    /// `updated` (bans, restrictions, partner removal: see `updateEvent`).
    Updated,
    /// Any other `whatsapp.business_account.*`, the suffix.
    Other(String),
}

impl EventType {
    /// Parses YCloud's `type`; never fails.
    pub fn parse(s: &str) -> Self {
        if let Some(kind) = s.strip_prefix("whatsapp.phone_number.") {
            EventType::PhoneNumber(match kind {
                "deleted" => PhoneNumberEvent::Deleted,
                "name_updated" => PhoneNumberEvent::NameUpdated,
                "quality_updated" => PhoneNumberEvent::QualityUpdated,
                "business_username_updated" => PhoneNumberEvent::BusinessUsernameUpdated,
                other => PhoneNumberEvent::Other(other.to_owned()),
            })
        } else if let Some(kind) = s.strip_prefix("whatsapp.business_account.") {
            EventType::BusinessAccount(match kind {
                "deleted" => BusinessAccountEvent::Deleted,
                "reviewed" => BusinessAccountEvent::Reviewed,
                "updated" => BusinessAccountEvent::Updated,
                other => BusinessAccountEvent::Other(other.to_owned()),
            })
        } else {
            EventType::Other(s.to_owned())
        }
    }
}

/// The envelope of every YCloud webhook (`Event` in YCloud's OpenAPI document). Only the
/// objects this proxy acts on are named; the stored body keeps everything.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = YCloudEvent)]
pub struct Envelope {
    /// Unique id of the event (YCloud retries with the same id).
    pub id: String,
    /// e.g. `whatsapp.phone_number.quality_updated`.
    #[serde(rename = "type")]
    pub kind: String,
    /// e.g. `v2`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub create_time: Option<String>,
    /// YCloud's `WhatsappPhoneNumber`, for `whatsapp.phone_number.*`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub whatsapp_phone_number: Option<Value>,
    /// YCloud's `WhatsappBusinessAccount`, for `whatsapp.business_account.*`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub whatsapp_business_account: Option<Value>,
    /// YCloud's `WhatsappInboundMessage`, for `whatsapp.inbound_message.received`: only its
    /// `wabaId` and `to` are read (that a message arrived), never its content.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub whatsapp_inbound_message: Option<Value>,
}

/// YCloud's type of an inbound message event.
pub const INBOUND_MESSAGE: &str = "whatsapp.inbound_message.received";

/// A parsed, verified event.
#[derive(Debug, Clone)]
pub struct Event {
    /// The envelope as sent.
    pub envelope: Envelope,
    /// Its `type`, parsed.
    pub kind: EventType,
}

impl Event {
    /// Parses a verified body.
    ///
    /// # Errors
    /// [`Refusal::MalformedJson`] when it is not JSON, [`Refusal::InvalidEvent`] when it is not
    /// an event (no string `id` of 1 to 128 characters, no `type`).
    pub fn parse(body: &[u8]) -> Result<Self, Refusal> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| Refusal::MalformedJson(e.to_string().chars().take(300).collect()))?;
        let envelope: Envelope = serde_json::from_value(value)
            .map_err(|e| Refusal::InvalidEvent(e.to_string().chars().take(300).collect()))?;
        if envelope.id.is_empty() || envelope.id.chars().count() > 128 {
            return Err(Refusal::InvalidEvent(
                "id must hold 1 to 128 characters".to_owned(),
            ));
        }
        if envelope.kind.is_empty() || envelope.kind.chars().count() > 128 {
            return Err(Refusal::InvalidEvent(
                "type must hold 1 to 128 characters".to_owned(),
            ));
        }
        let kind = EventType::parse(&envelope.kind);
        Ok(Self { envelope, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_unit";

    fn secret() -> SecretString {
        SecretString::from(SECRET)
    }

    fn at(t: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(t).unwrap()
    }

    #[test]
    fn a_signature_verifies_within_the_tolerance_only() {
        let body = br#"{"id":"evt_1","type":"x"}"#;
        let header = sign(SECRET, 1_700_000_000, body);
        for now in [1_700_000_000, 1_700_000_300, 1_699_999_700] {
            verify(&secret(), &header, body, at(now)).unwrap();
        }
        for now in [1_700_000_301, 1_699_999_699] {
            assert!(matches!(
                verify(&secret(), &header, body, at(now)),
                Err(Refusal::SignatureStale)
            ));
        }
        assert!(matches!(
            verify(
                &SecretString::from("other"),
                &header,
                body,
                at(1_700_000_000)
            ),
            Err(Refusal::SignatureInvalid)
        ));
        assert!(matches!(
            verify(&secret(), &header, b"{}", at(1_700_000_000)),
            Err(Refusal::SignatureInvalid)
        ));
    }

    #[test]
    fn headers_parse_strictly() {
        let good = "a".repeat(64);
        assert_eq!(
            parse_header(&format!(" t=5 , s={good}, v9=x")).unwrap().t,
            5
        );
        for bad in [
            "".to_owned(),
            "t=1".to_owned(),
            format!("s={good}"),
            format!("t=abc,s={good}"),
            format!("t=-1,s={good}"),
            "t=1,s=zz".to_owned(),
            "t=1,s=abcd".to_owned(),
            "garbage".to_owned(),
        ] {
            assert!(
                matches!(parse_header(&bad), Err(Refusal::SignatureMalformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn types_keep_unknown_values() {
        assert_eq!(
            EventType::parse("whatsapp.phone_number.quality_updated"),
            EventType::PhoneNumber(PhoneNumberEvent::QualityUpdated)
        );
        assert_eq!(
            EventType::parse("whatsapp.business_account.updated"),
            EventType::BusinessAccount(BusinessAccountEvent::Updated)
        );
        assert_eq!(
            EventType::parse("whatsapp.phone_number.status_updated"),
            EventType::PhoneNumber(PhoneNumberEvent::Other("status_updated".into()))
        );
        assert_eq!(
            EventType::parse("whatsapp.smb.history"),
            EventType::Other("whatsapp.smb.history".into())
        );
    }

    #[test]
    fn bodies_must_be_events() {
        assert!(matches!(
            Event::parse(b"nope"),
            Err(Refusal::MalformedJson(_))
        ));
        assert!(matches!(Event::parse(b"{}"), Err(Refusal::InvalidEvent(_))));
        assert!(matches!(
            Event::parse(br#"{"id":"","type":"x"}"#),
            Err(Refusal::InvalidEvent(_))
        ));
        assert!(matches!(
            Event::parse(br#"{"id":1,"type":"x"}"#),
            Err(Refusal::InvalidEvent(_))
        ));
        let e =
            Event::parse(br#"{"id":"evt","type":"whatsapp.template.reviewed","more":1}"#).unwrap();
        assert_eq!(
            e.kind,
            EventType::Other("whatsapp.template.reviewed".into())
        );
    }
}
