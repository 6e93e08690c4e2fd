//! A connected number's health, as the proxy last read it from the provider (docs/API.md,
//! "Number health"), and one change of it (`number.health_changed`).

use serde::{Deserialize, Serialize};

/// What the provider said of the number at `checked_at`. Each field is the provider's own
/// spelling (`CONNECTED`, `GREEN`, `TIER_2K`...), `null` when the provider does not give it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberHealth {
    /// `CONNECTED`, `FLAGGED`, `RESTRICTED`, `BANNED`...
    pub status: Option<String>,
    /// `GREEN`, `YELLOW`, `RED` (or `UNKNOWN`).
    pub quality_rating: Option<String>,
    /// The business portfolio's messaging limit (`whatsapp_business_manager_messaging_limit`,
    /// e.g. `TIER_2K`).
    pub messaging_limit: Option<String>,
    /// The display name's review: `APPROVED`, `PENDING_REVIEW`, `DECLINED`...
    pub name_status: Option<String>,
    /// `VERIFIED`, `NOT_VERIFIED`, `EXPIRED`.
    pub code_verification_status: Option<String>,
    /// `CLOUD_API`, `ON_PREMISE`, `NOT_APPLICABLE` (Meta only).
    pub platform_type: Option<String>,
    /// Whether the partner's app is still subscribed to the number's WABA (Meta only).
    pub webhook_configured: Option<bool>,
    /// RFC 3339: when it was read.
    pub checked_at: String,
}

impl NumberHealth {
    /// The fields that differ from `before` (never `checked_at`), in the order above, each
    /// with its value before and after.
    pub fn changes_since(&self, before: &NumberHealth) -> Vec<HealthChange> {
        let text = |v: &Option<String>| v.clone().map_or(serde_json::Value::Null, Into::into);
        let flag = |v: &Option<bool>| v.map_or(serde_json::Value::Null, Into::into);
        let pairs = [
            ("status", text(&before.status), text(&self.status)),
            (
                "quality_rating",
                text(&before.quality_rating),
                text(&self.quality_rating),
            ),
            (
                "messaging_limit",
                text(&before.messaging_limit),
                text(&self.messaging_limit),
            ),
            (
                "name_status",
                text(&before.name_status),
                text(&self.name_status),
            ),
            (
                "code_verification_status",
                text(&before.code_verification_status),
                text(&self.code_verification_status),
            ),
            (
                "platform_type",
                text(&before.platform_type),
                text(&self.platform_type),
            ),
            (
                "webhook_configured",
                flag(&before.webhook_configured),
                flag(&self.webhook_configured),
            ),
        ];
        pairs
            .into_iter()
            .filter(|(_, b, a)| b != a)
            .map(|(field, before, after)| HealthChange {
                field: field.to_owned(),
                before,
                after,
            })
            .collect()
    }
}

/// One field of [`NumberHealth`] that changed between two reads.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthChange {
    /// The field's name, as in [`NumberHealth`].
    pub field: String,
    /// Its value before (`null`: not given).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub before: serde_json::Value,
    /// Its value now.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub after: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_fields_are_changes_and_checked_at_is_none() {
        let before = NumberHealth {
            status: Some("CONNECTED".into()),
            quality_rating: Some("GREEN".into()),
            webhook_configured: Some(true),
            checked_at: "2026-12-01T00:00:00Z".into(),
            ..NumberHealth::default()
        };
        let same_later = NumberHealth {
            checked_at: "2026-12-02T00:00:00Z".into(),
            ..before.clone()
        };
        assert!(same_later.changes_since(&before).is_empty());
        let worse = NumberHealth {
            quality_rating: Some("YELLOW".into()),
            webhook_configured: Some(false),
            messaging_limit: Some("TIER_2K".into()),
            ..same_later
        };
        let changes = worse.changes_since(&before);
        assert_eq!(
            serde_json::to_value(changes).unwrap(),
            json!([
                {"field": "quality_rating", "before": "GREEN", "after": "YELLOW"},
                {"field": "messaging_limit", "before": null, "after": "TIER_2K"},
                {"field": "webhook_configured", "before": true, "after": false},
            ])
        );
    }
}
