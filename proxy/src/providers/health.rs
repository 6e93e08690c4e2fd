//! A connected number's health as each provider reports it, read into the same fields
//! (`pipeline::health` schedules the reads and stores what changed; each provider's
//! `provider.rs` makes them).
//!
//! - YCloud: `GET /whatsapp/phoneNumbers/{wabaId}/{phoneNumber}` (status, quality rating,
//!   `whatsappBusinessManagerMessagingLimit`, name and code verification status). Its
//!   phone number object has no platform type nor webhook configuration: those stay `null`.
//! - Meta: `GET /{phone_number_id}` with [`crate::providers::meta::HEALTH_FIELDS`] and
//!   `GET /{waba_id}/subscribed_apps`, whose list must still hold `FB_APP_ID` for the
//!   number's webhooks to reach the proxy (`webhook_configured`).

use serde_json::Value;
use time::OffsetDateTime;
use wire::NumberHealth;

use crate::clock::format_time;

/// A text field of a provider's object, under the first of `names` it has.
pub(crate) fn text(raw: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match raw.get(*n) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    })
}

/// A messaging limit as Meta or YCloud give it: a tier's name, or an object holding one.
fn limit(raw: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match raw.get(*n) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(o @ Value::Object(_)) => {
            text(o, &["current_limit", "tier", "messaging_limit"]).or_else(|| Some(o.to_string()))
        }
        _ => None,
    })
}

/// YCloud's phone number object (`WhatsappPhoneNumber`).
pub(crate) fn from_ycloud(raw: &Value, now: OffsetDateTime) -> NumberHealth {
    NumberHealth {
        status: text(raw, &["status"]),
        quality_rating: text(raw, &["qualityRating"]),
        // The portfolio's limit; the per-number one only where YCloud has nothing newer.
        messaging_limit: limit(
            raw,
            &["whatsappBusinessManagerMessagingLimit", "messagingLimit"],
        ),
        name_status: text(raw, &["nameStatus"]),
        code_verification_status: text(raw, &["codeVerificationStatus"]),
        platform_type: None,
        webhook_configured: None,
        checked_at: format_time(now),
    }
}

/// Meta's phone number node, and whether `app_id` is among the WABA's subscribed apps
/// (`None`: that list could not be read).
pub(crate) fn from_meta(
    raw: &Value,
    subscribed: Option<&Value>,
    app_id: &str,
    now: OffsetDateTime,
) -> NumberHealth {
    let webhook_configured = subscribed.map(|s| {
        s.get("data").and_then(Value::as_array).is_some_and(|apps| {
            apps.iter().any(|a| {
                a.pointer("/whatsapp_business_api_data/id")
                    .or_else(|| a.get("id"))
                    .and_then(Value::as_str)
                    == Some(app_id)
            })
        })
    });
    NumberHealth {
        status: text(raw, &["status"]),
        quality_rating: text(raw, &["quality_rating"]),
        messaging_limit: limit(raw, &["whatsapp_business_manager_messaging_limit"]),
        name_status: text(raw, &["name_status"]),
        code_verification_status: text(raw, &["code_verification_status"]),
        platform_type: text(raw, &["platform_type"]),
        webhook_configured,
        checked_at: format_time(now),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ycloud_and_meta_objects_read_into_the_same_fields() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let y = from_ycloud(
            &json!({"status": "CONNECTED", "qualityRating": "GREEN", "messagingLimit": "TIER_1K",
                    "whatsappBusinessManagerMessagingLimit": "TIER_2K", "nameStatus": "APPROVED",
                    "codeVerificationStatus": "VERIFIED"}),
            now,
        );
        assert_eq!(y.messaging_limit.as_deref(), Some("TIER_2K"));
        assert_eq!(y.platform_type, None);
        assert_eq!(y.webhook_configured, None);
        let m = from_meta(
            &json!({"status": "CONNECTED", "quality_rating": "YELLOW",
                    "whatsapp_business_manager_messaging_limit": "TIER_10K",
                    "name_status": "APPROVED", "code_verification_status": "VERIFIED",
                    "platform_type": "CLOUD_API"}),
            Some(&json!({"data": [{"whatsapp_business_api_data": {"id": "42", "name": "x"}}]})),
            "42",
            now,
        );
        assert_eq!(m.quality_rating.as_deref(), Some("YELLOW"));
        assert_eq!(m.messaging_limit.as_deref(), Some("TIER_10K"));
        assert_eq!(m.platform_type.as_deref(), Some("CLOUD_API"));
        assert_eq!(m.webhook_configured, Some(true));
        let gone = from_meta(&json!({}), Some(&json!({"data": []})), "42", now);
        assert_eq!(gone.webhook_configured, Some(false));
        assert_eq!(
            from_meta(&json!({}), None, "42", now).webhook_configured,
            None
        );
    }
}
