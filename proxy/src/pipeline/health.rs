//! Reading every connected number's health on a schedule (`HEALTH_POLL_SECS`), both
//! providers, and telling the partner what changed (`number.health_changed`).
//!
//! Each connected onboarding has a due time (`health_due_at`; none yet: due now). One task
//! per process lists the due ones and reads them at `HEALTH_PER_SECOND`, so a restart with
//! thousands of connected numbers reaches the provider as a trickle, as resuming does. Before
//! a read the task claims it by moving the due time a jittered period ahead with one
//! conditional `UPDATE` (`Store::claim_health`): instances sharing a database never read the
//! same number twice in a period, and the jitter spreads numbers connected together over the
//! period instead of keeping them in step. A failed read waits for the next period; the
//! provider's webhooks still move the onboarding meanwhile.
//!
//! - YCloud: `GET /whatsapp/phoneNumbers/{wabaId}/{phoneNumber}` (status, quality rating,
//!   `whatsappBusinessManagerMessagingLimit`, name and code verification status). Its
//!   phone number object has no platform type nor webhook configuration: those stay `null`.
//! - Meta: `GET /{phone_number_id}` with [`crate::providers::meta::HEALTH_FIELDS`] and
//!   `GET /{waba_id}/subscribed_apps`, whose list must still hold `FB_APP_ID` for the
//!   number's webhooks to reach the proxy (`webhook_configured`).

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use wire::{NumberHealth, OnboardingState};

use super::Pipeline;
use crate::providers::Provider;
use crate::store::{format_time, Record, StoreError};

/// Due onboardings listed at a time.
const DUE_BATCH: u32 = 100;

/// Why a number's health could not be read.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Upstream(String),
    #[error("nothing to read it by: {0}")]
    Unreadable(&'static str),
}

/// A text field of a provider's object, under the first of `names` it has.
fn text(raw: &Value, names: &[&str]) -> Option<String> {
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
fn from_ycloud(raw: &Value, now: OffsetDateTime) -> NumberHealth {
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
fn from_meta(
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

/// `every`, give or take a tenth, from a fresh random number: numbers connected in the same
/// minute drift apart instead of being read in step forever.
fn jittered(every: Duration) -> Duration {
    let r = (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0;
    every.mul_f64(0.9 + 0.2 * r)
}

impl Pipeline {
    /// Reads connected numbers' health as they fall due, until the task is aborted. `passes`
    /// counts the passes done (a listing of due numbers and every claim and read it led to),
    /// so a test can wait for one instead of for a while.
    pub fn spawn_health_poller(
        &self,
        passes: tokio::sync::watch::Sender<u64>,
    ) -> tokio::task::JoinHandle<()> {
        let pipeline = self.clone();
        tokio::spawn(async move {
            let Some(every) = pipeline.inner.tuning.health_every else {
                return;
            };
            // How long to wait when nothing is due: a tenth of the period, within 100 ms–30 s.
            let idle = (every / 10).clamp(Duration::from_millis(100), Duration::from_secs(30));
            let mut pace = tokio::time::interval(pipeline.inner.tuning.health_pace);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let due = pipeline
                    .inner
                    .store
                    .health_due(pipeline.inner.clock.now(), DUE_BATCH)
                    .await;
                let ids = match due {
                    Ok(ids) if !ids.is_empty() => ids,
                    Ok(_) => {
                        passes.send_modify(|n| *n += 1);
                        tokio::time::sleep(idle).await;
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "listing numbers due for a health read failed");
                        tokio::time::sleep(idle).await;
                        continue;
                    }
                };
                for id in ids {
                    pace.tick().await;
                    let now = pipeline.inner.clock.now();
                    let next = now + jittered(every);
                    match pipeline.inner.store.claim_health(&id, now, next).await {
                        Ok(true) => {}
                        // Another instance read it, or it is no longer connected.
                        Ok(false) => continue,
                        Err(e) => {
                            tracing::error!(id, error = %e, "claiming a health read failed");
                            continue;
                        }
                    }
                    if let Err(e) = pipeline.check_health(&id).await {
                        tracing::warn!(id, error = %e, "reading the number's health failed; next period");
                    }
                }
                passes.send_modify(|n| *n += 1);
            }
        })
    }

    /// Reads onboarding `id`'s number and stores what was read, with an event per change.
    async fn check_health(&self, id: &str) -> Result<(), ReadError> {
        let record = self.current(id).await?;
        if record.state != OnboardingState::Connected {
            return Ok(());
        }
        let health = self.read_health(id, &record).await?;
        let changes = self.inner.store.record_health(id, &health).await?;
        for c in &changes {
            tracing::info!(id, field = c.field, before = %c.before, after = %c.after, "number health changed");
        }
        Ok(())
    }

    async fn read_health(&self, id: &str, record: &Record) -> Result<NumberHealth, ReadError> {
        let waba = &record.onboarding.waba_id;
        match &self.inner.provider {
            Provider::YCloud(upstream) => {
                // YCloud reads a number by its E.164, which its answers carried.
                let e164 = record
                    .phone_number
                    .as_ref()
                    .and_then(|p| text(p, &["phoneNumber"]))
                    .ok_or(ReadError::Unreadable("no E.164 number stored"))?;
                let number = upstream
                    .retrieve_phone_number(waba, &e164)
                    .await
                    .map_err(|e| ReadError::Upstream(e.to_string()))?;
                Ok(from_ycloud(&number.raw, self.inner.clock.now()))
            }
            Provider::Meta(direct) => {
                let phone = record
                    .onboarding
                    .phone_number_id
                    .as_ref()
                    .ok_or(ReadError::Unreadable("no phone number id"))?;
                let token = self
                    .business_token(direct, id)
                    .await?
                    .ok_or(ReadError::Unreadable("no business token stored"))?;
                let number = direct
                    .api
                    .health(&token, phone)
                    .await
                    .map_err(|e| ReadError::Upstream(e.to_string()))?;
                let subscribed = match direct.api.subscribed_apps(&token, waba).await {
                    Ok(s) => Some(s),
                    Err(e) => {
                        tracing::warn!(id, error = %e, "reading the WABA's subscribed apps failed");
                        None
                    }
                };
                Ok(from_meta(
                    &number,
                    subscribed.as_ref(),
                    &direct.app_id,
                    self.inner.clock.now(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn the_period_is_jittered_by_a_tenth_at_most() {
        let every = Duration::from_secs(21_600);
        for _ in 0..100 {
            let j = jittered(every);
            assert!(j >= every.mul_f64(0.9) && j <= every.mul_f64(1.1), "{j:?}");
        }
    }
}
