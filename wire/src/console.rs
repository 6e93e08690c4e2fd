//! The partner console's own routes (`/console/…`) and the partner API answers made for it:
//! the sign-in, the funnel, the test event.

use serde::{Deserialize, Serialize};

/// Body of `POST /console/login`: a partner API key, exchanged for a cookie session. Its
/// `Debug` is redacted (it is the partner API's credential).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleLogin {
    /// One of `PARTNER_API_KEYS`.
    pub key: String,
}

impl std::fmt::Debug for ConsoleLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleLogin { key: <redacted> }")
    }
}

/// Answer of `GET /console/session`: the signed-in console's CSRF token (sent back as
/// `X-CSRF-Token` on every write) and when the sign-in ends.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// Send as `X-CSRF-Token` with every write.
    pub csrf_token: String,
    /// RFC 3339: the cookie stops working then.
    pub expires_at: String,
}

/// Answer of `POST /api/partner/webhook-test`: the `ping` posted to the partner's webhook.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookTest {
    /// The `ping`'s `webhook-id`.
    pub id: String,
}

/// One bar of a funnel's breakdown: a popup step where customers cancelled, or a popup
/// error code, and how often.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelCount {
    /// The step (`current_step`) or the error code; `unknown` when the popup named none.
    pub key: String,
    /// How many.
    pub count: u64,
}

/// Answer of `GET /api/partner/funnel`: how far customers got, counted over the last `days`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    /// The window: 7 or 30.
    pub days: u32,
    /// RFC 3339: the window's start.
    pub since: String,
    /// Sessions (links) created.
    pub sessions_created: u64,
    /// Links opened: sessions whose token the page checked for the first time.
    pub links_opened: u64,
    /// Popups launched (`LAUNCH` signup events); none when this proxy records no popup
    /// outcomes.
    pub popups_launched: Option<u64>,
    /// Sign-ups finished in the popup: onboardings created.
    pub finished: u64,
    /// Of those, onboardings now connected.
    pub connected: u64,
    /// Popups closed before the end, by the step the customer left at.
    pub cancelled: Vec<FunnelCount>,
    /// Popups ending in an error, by error code.
    pub errors: Vec<FunnelCount>,
}

/// One setting the setup check looks at: whether it is set, and whether this deployment
/// needs it (its value is never shown).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupSetting {
    /// The environment variable, e.g. `YCLOUD_WEBHOOK_SECRET`.
    pub name: String,
    /// Whether it is set.
    pub present: bool,
    /// Whether this mode and provider need it (otherwise it is optional here).
    pub needed: bool,
}

/// The partner webhook's most recent delivery attempt.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastDelivery {
    /// The event.
    pub event_id: String,
    /// Where its delivery stands.
    pub state: crate::DeliveryState,
    /// Why its last attempt failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Answer of `GET /api/partner/setup`: how this proxy is configured, for the console's
/// setup check. Values of secrets are never part of it, only whether they are set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// `live` or `sandbox`.
    pub mode: crate::ProxyMode,
    /// `ycloud` or `meta` (`WHATSAPP_PROVIDER`).
    pub provider: String,
    /// `PUBLIC_URL`: where customers and webhooks reach this proxy.
    pub public_url: String,
    /// Where YCloud's webhook must point (`{PUBLIC_URL}/webhooks/ycloud`).
    pub ycloud_webhook_url: String,
    /// Where Meta's webhook must point (`{PUBLIC_URL}/webhooks/meta`), verified with
    /// `META_WEBHOOK_VERIFY_TOKEN`.
    pub meta_webhook_url: String,
    /// The settings looked at.
    pub settings: Vec<SetupSetting>,
    /// The partner webhook's most recent delivery attempt, if any was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivery: Option<LastDelivery>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_never_prints_its_key() {
        let login: ConsoleLogin = serde_json::from_str(r#"{"key":"secret-key"}"#).unwrap();
        assert_eq!(login.key, "secret-key");
        assert!(!format!("{login:?}").contains("secret-key"));
        assert!(serde_json::from_str::<ConsoleLogin>(r#"{"key":"k","x":1}"#).is_err());
    }
}
