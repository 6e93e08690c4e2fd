//! Meta's webhooks (`/webhooks/meta`): the subscription handshake, the
//! `X-Hub-Signature-256` check on the raw body (an extractor, before any parsing), and the
//! notification's envelope.
//!
//! Meta signs each POST with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body,
//! keyed with the app secret>`. Notifications carry no event id and Meta repeats a
//! notification it could not deliver, so the SHA-256 of the body identifies one.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Why a Meta webhook is refused before anything is applied; `crate::error` says how each is
/// answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `X-Hub-Signature-256` header.
    SignatureMissing,
    /// A header that is not `sha256=<64 hex digits>`, and why.
    SignatureMalformed(&'static str),
    /// The HMAC does not match the body.
    SignatureInvalid,
    /// A body that is not a notification.
    InvalidEvent(String),
}

/// The header Meta signs its webhooks with.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// The settings `/webhooks/meta` needs.
#[derive(Debug, Clone, Default)]
pub struct MetaWebhooks {
    /// `FB_APP_SECRET`: the key of `X-Hub-Signature-256`.
    pub app_secret: Option<SecretString>,
    /// `META_WEBHOOK_VERIFY_TOKEN`: what the handshake must present.
    pub verify_token: Option<SecretString>,
}

/// The `X-Hub-Signature-256` value Meta would send for `body`. For tests and local tools.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks `X-Hub-Signature-256` against the raw body.
///
/// # Errors
/// 400 for a header that is not `sha256=<64 hex digits>`, 401 when it does not match.
pub fn verify(app_secret: &SecretString, header: &str, body: &[u8]) -> Result<(), Refusal> {
    let hex_mac = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(Refusal::SignatureMalformed("expected sha256=<hex>"))?;
    let given = hex::decode(hex_mac)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or(Refusal::SignatureMalformed("the HMAC is not 64 hex digits"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    // Compares in constant time.
    mac.verify_slice(&given)
        .map_err(|_| Refusal::SignatureInvalid)
}

/// A notification: `{"object":"whatsapp_business_account","entry":[…]}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    /// `whatsapp_business_account` for the fields the proxy reads.
    pub object: String,
    /// One per WABA (or, for `PARTNER_*` events, per partner business).
    #[serde(default)]
    pub entry: Vec<Entry>,
}

/// One entry of a notification.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// The WABA's id (the partner's business id for `PARTNER_*` `account_update`s).
    pub id: String,
    /// When Meta sent it (Unix seconds): the order changes about one object are applied in.
    #[serde(default)]
    pub time: Option<i64>,
    /// What changed.
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One change: `{"field":"account_update","value":{…}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    /// The webhook field, e.g. `account_update`, `phone_number_quality_update`.
    pub field: String,
    /// The field's payload.
    #[serde(default)]
    pub value: Value,
}

impl Notification {
    /// Reads a verified body.
    ///
    /// # Errors
    /// 400 `invalid_event` when it is not a notification.
    pub fn parse(body: &[u8]) -> Result<Self, Refusal> {
        serde_json::from_slice::<Notification>(body)
            .map_err(|e| Refusal::InvalidEvent(e.to_string().chars().take(200).collect()))
    }

    /// The id the notification is stored once under: `meta_` and the body's SHA-256.
    pub fn id_of(body: &[u8]) -> String {
        format!("meta_{}", hex::encode(Sha256::digest(body)))
    }

    /// The kinds of change it carries, for the stored event's type.
    pub fn kinds(&self) -> String {
        let mut fields: Vec<&str> = self
            .entry
            .iter()
            .flat_map(|e| e.changes.iter().map(|c| c.field.as_str()))
            .collect();
        fields.sort_unstable();
        fields.dedup();
        let joined = format!("meta.{}", fields.join(","));
        joined.chars().take(128).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_in_the_documented_form() {
        let secret = SecretString::from("app-secret");
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let good = sign("app-secret", body);
        assert!(good.starts_with("sha256=") && good.len() == 7 + 64);
        assert!(verify(&secret, &good, body).is_ok());
        assert!(matches!(
            verify(&secret, &sign("other", body), body),
            Err(Refusal::SignatureInvalid)
        ));
        assert!(matches!(
            verify(&secret, &good, b"{}"),
            Err(Refusal::SignatureInvalid)
        ));
        for bad in [
            "",
            "sha1=abcd",
            "sha256=zz",
            "sha256=abcd",
            good.trim_start_matches("sha256="),
        ] {
            assert!(
                matches!(
                    verify(&secret, bad, body),
                    Err(Refusal::SignatureMalformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn notifications_parse_leniently() {
        let n = Notification::parse(
            br#"{"object":"whatsapp_business_account","entry":[{"id":"1","time":1,
                "changes":[{"field":"account_update","value":{"event":"PARTNER_REMOVED"}},
                           {"field":"messages","value":{}}]}]}"#,
        )
        .unwrap();
        assert_eq!(n.kinds(), "meta.account_update,messages");
        assert!(Notification::parse(b"[1]").is_err());
        assert_eq!(Notification::id_of(b"x"), Notification::id_of(b"x"));
    }
}
