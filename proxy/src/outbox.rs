//! Delivering partner events to `PARTNER_WEBHOOK_URL` (docs/API.md, "Webhooks to the
//! partner"), in the Standard Webhooks format.
//!
//! Events are already durable when this runs: the store wrote each in the transaction of its
//! change. The deliverer takes due events with a lease (so two instances never post the same
//! event at once, and a crashed one's lease simply expires), POSTs each signed, and records
//! the outcome: delivered on 2xx; otherwise retried after the next delay of the schedule,
//! and `failed` once the schedule is spent. Redirects are not followed (the partner's URL is
//! configured, not discovered), and each attempt has its own timeout.
//!
//! Signing uses the `standardwebhooks` crate, the format's reference implementation, so the
//! signature is what every Standard Webhooks library verifies.

use futures_util::StreamExt;
use secrecy::ExposeSecret;
use standardwebhooks::Webhook;

use crate::clock::Clock;
use crate::config::{OutboxTuning, PartnerWebhook};
use crate::store::{Attempt, DueEvent, Posted, Store};

/// Events posted at once by one deliverer.
const CONCURRENCY: usize = 8;
/// Events taken per round.
const BATCH: u32 = 32;

/// The outbox's deliverer.
pub struct Deliverer {
    store: Store,
    clock: Clock,
    client: reqwest::Client,
    url: url::Url,
    signer: Webhook,
    tuning: OutboxTuning,
    /// Marks every body `"sandbox": true`, so no receiver takes a rehearsal for real.
    sandbox: bool,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Deliverer {
    /// A deliverer to `webhook`.
    ///
    /// # Errors
    /// A secret that does not decode, or an HTTP client that cannot be built.
    pub fn new(
        store: Store,
        clock: Clock,
        webhook: &PartnerWebhook,
        tuning: OutboxTuning,
    ) -> Result<Self, String> {
        let signer = Webhook::new(webhook.secret.expose_secret())
            .map_err(|_| "PARTNER_WEBHOOK_SECRET does not decode".to_owned())?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(tuning.attempt_timeout)
            .timeout(tuning.attempt_timeout)
            .user_agent(concat!("wa-signup-proxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            store,
            clock,
            client,
            url: webhook.url.clone(),
            signer,
            tuning,
            sandbox: false,
        })
    }

    /// Marks every delivered event `"sandbox": true` (a sandbox proxy's).
    #[must_use]
    pub fn in_sandbox(mut self, sandbox: bool) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Delivers until `stopping` turns true: woken by each new event, and at least every
    /// poll interval for retries that come due. An attempt cut short by the stop leaves its
    /// lease to expire, and the event is posted again later (at least once).
    pub async fn run(self: std::sync::Arc<Self>, mut stopping: tokio::sync::watch::Receiver<bool>) {
        loop {
            let round = tokio::select! {
                round = self.round() => round,
                _ = stopping.wait_for(|s| *s) => return,
            };
            match round {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox: cannot read due events"),
            }
            tokio::select! {
                () = self.store.outbox_woken() => {}
                () = tokio::time::sleep(self.tuning.poll_interval) => {}
                _ = stopping.wait_for(|s| *s) => return,
            }
        }
    }

    /// Takes the due events and posts them; answers how many were taken.
    async fn round(&self) -> Result<usize, crate::store::StoreError> {
        let now = self.clock.now();
        let lease = time::Duration::try_from(self.tuning.lease).unwrap_or(time::Duration::MINUTE);
        let due = self.store.take_due_events(now, now + lease, BATCH).await?;
        let n = due.len();
        let outcomes: Vec<(String, Posted)> = futures_util::stream::iter(due)
            .map(|event| async move { (event.id.clone(), self.deliver(&event).await) })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        if let Err(e) = self.store.record_attempts(&outcomes).await {
            // The leases expire and the events are posted again: at least once.
            tracing::error!(error = %e, events = outcomes.len(), "outbox: cannot record attempts");
        }
        Ok(n)
    }

    /// One attempt at one event, and what to record of it.
    async fn deliver(&self, event: &DueEvent) -> Posted {
        let at = self.clock.now();
        let started = std::time::Instant::now();
        let (status, attempt) = self.post(&event.id, &event.body).await;
        let duration = started.elapsed();
        let outcome = match attempt {
            Ok(()) => Attempt::Delivered,
            Err(error) => {
                let next = self
                    .tuning
                    .retry_delays
                    .get(event.attempts as usize)
                    .and_then(|d| time::Duration::try_from(*d).ok())
                    .map(|d| self.clock.now() + d);
                match next {
                    Some(_) => {
                        tracing::warn!(event = %event.id, attempt = event.attempts + 1, %error, "partner webhook failed; will retry")
                    }
                    None => {
                        tracing::error!(event = %event.id, attempts = event.attempts + 1, %error, "partner webhook failed; no attempts left")
                    }
                }
                Attempt::Failed { error, next }
            }
        };
        Posted {
            outcome,
            at,
            duration,
            status,
            before: event.attempts,
        }
    }

    /// Posts a signed `ping` event now (once, not stored: a test of the endpoint and its
    /// secret, `POST /api/partner/webhook-test`); answers its id at once and logs how the
    /// attempt went.
    pub fn ping(self: &std::sync::Arc<Self>) -> String {
        let id = format!("evt_{}", uuid::Uuid::now_v7().simple());
        let created_at = crate::clock::format_time(self.clock.now());
        let body =
            format!(r#"{{"id":"{id}","type":"ping","created_at":"{created_at}","data":{{}}}}"#);
        let this = self.clone();
        let event = id.clone();
        tokio::spawn(async move {
            match this.post(&event, &body).await.1 {
                Ok(()) => tracing::info!(event = %event, "partner webhook test delivered"),
                Err(error) => tracing::warn!(event = %event, %error, "partner webhook test failed"),
            }
        });
        id
    }

    /// One signed POST: the receiver's status, when one came, and `Err` with a short reason
    /// (a status, or the kind of transport failure: never a header or the body).
    async fn post(&self, id: &str, body: &str) -> (Option<u16>, Result<(), String>) {
        let timestamp = self.clock.now().unix_timestamp();
        // The stored body is an object: the flag goes first, before what it held.
        let body = match (self.sandbox, body.strip_prefix('{')) {
            (true, Some(rest)) => format!("{{\"sandbox\":true,{rest}"),
            _ => body.to_owned(),
        };
        let signature = match self.signer.sign(id, timestamp, body.as_bytes()) {
            Ok(signature) => signature,
            Err(e) => return (None, Err(format!("cannot sign: {e}"))),
        };
        let response = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                let why = match e {
                    e if e.is_timeout() => "timed out",
                    e if e.is_connect() => "connection refused or failed",
                    _ => "transport error",
                };
                return (None, Err(why.to_owned()));
            }
        };
        let status = response.status();
        // The answer's body is not read: a receiver has nothing to tell but its status.
        drop(response);
        let outcome = match status.is_success() {
            true => Ok(()),
            false => Err(format!("answered {}", status.as_u16())),
        };
        (Some(status.as_u16()), outcome)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_default_schedule_makes_eight_attempts_over_a_day() {
        let t = OutboxTuning::default();
        assert_eq!(t.retry_delays.len() + 1, 8);
        assert!(
            t.retry_delays[0] <= Duration::from_secs(10),
            "first retry within 10 s"
        );
        let span: Duration = t.retry_delays.iter().sum();
        assert!(span >= Duration::from_secs(24 * 3600));
        assert!(
            t.retry_delays.windows(2).all(|w| w[0] <= w[1]),
            "delays grow"
        );
        assert_eq!(t.attempt_timeout, Duration::from_secs(10));
    }
}
