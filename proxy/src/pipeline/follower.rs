//! The follower: polls a `pending` number until its provider (YCloud, or Meta directly:
//! `direct.rs`) reports it settled, backing off while nothing changes; webhooks usually
//! bring the news first.

use serde_json::Value;
use wire::{OnboardingError, OnboardingState, WabaId};

use super::lease::Lease;
use super::webhook_rules::number_blocked;
use super::Pipeline;
use crate::providers::ycloud::{PhoneNumber, UpstreamError};
use crate::providers::Provider;
use crate::store::{Record, Update};

impl Pipeline {
    /// Starts the background follower of a `pending` number. It holds the run's lease
    /// while it polls (so no other instance follows the same number), and releases it when
    /// it stops.
    pub(crate) fn follow(&self, onboarding: &Record, lease: Lease) {
        if let Provider::Meta(direct) = &self.inner.provider {
            return self.follow_direct(direct.clone(), onboarding, lease);
        }
        let e164 = onboarding
            .phone_number
            .as_ref()
            .and_then(|p| serde_json::from_value::<PhoneNumber>(p.clone()).ok())
            .and_then(|p| p.phone_number);
        let pipeline = self.clone();
        let id = onboarding.id.clone();
        let waba = onboarding.waba_id.clone();
        tokio::spawn(async move {
            match e164 {
                Some(e164) => pipeline.poll_number(&id, &waba, &e164, &lease).await,
                None => tracing::warn!(
                    id,
                    "pending number without an E.164 number: waiting for the webhook"
                ),
            }
            if !lease.is_lost() {
                lease.release().await;
            }
        });
    }

    /// Polls the number through YCloud until it settles, the follower gives up, or another
    /// instance took the onboarding over.
    async fn poll_number(&self, id: &str, waba: &WabaId, e164: &str, lease: &Lease) {
        let Provider::YCloud(upstream) = &self.inner.provider else {
            return;
        };
        self.poll_until_settled(id, lease, || async move {
            match upstream.retrieve_phone_number(waba, e164).await {
                Ok(number) => Polled::Number(number.raw),
                // Polling again cannot make YCloud know the number: leave it to the
                // webhook instead of logging the same failure until the deadline.
                Err(e @ UpstreamError::Status { status: 404, .. }) => {
                    tracing::warn!(id, error = %e, "YCloud does not know the number; stopped polling");
                    Polled::Stop
                }
                Err(e) => {
                    tracing::warn!(id, error = %e, "polling the number failed; will poll again");
                    Polled::Again
                }
            }
        })
        .await;
    }

    /// The polling loop of both providers: asks `poll` with a growing interval until the
    /// number settles or `UpstreamTuning::poll_for` has passed, storing each change of its
    /// status while the onboarding is still `pending`.
    pub(crate) async fn poll_until_settled<F, Fut>(
        &self,
        id: &str,
        lease: &Lease,
        mut poll: F,
    ) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Polled>,
    {
        let tuning = &self.inner.tuning;
        let deadline = tokio::time::Instant::now() + tuning.poll_for;
        let mut last_status: Option<String> = None;
        // Backoff: a number that stays pending (or an upstream that keeps failing) is asked
        // less and less often, up to 8 intervals apart; a webhook usually comes first.
        let max_wait = tuning.poll_interval.saturating_mul(8);
        let mut wait = tuning.poll_interval;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(wait).await;
            if lease.is_lost() {
                return false;
            }
            wait = (wait.saturating_mul(3) / 2).min(max_wait);
            let raw = match poll().await {
                Polled::Number(raw) => raw,
                Polled::Resume => return true,
                Polled::Stop => return false,
                Polled::Again => {
                    wait = wait.saturating_mul(2).min(max_wait);
                    continue;
                }
            };
            let status = raw.get("status").and_then(Value::as_str).map(str::to_owned);
            let (state, error) = number_outcome(status.as_deref());
            if state.is_none() && status == last_status {
                continue;
            }
            last_status = status;
            let update = Update {
                state,
                phone_number: Some(raw),
                error: error.map(Some),
                ..Update::default()
            };
            match self
                .inner
                .store
                .update_if(id, OnboardingState::Pending, update)
                .await
            {
                Ok(true) => self.notify(id).await,
                // Someone else (a webhook, a retry) moved it on: stop following.
                Ok(false) => return false,
                Err(e) => tracing::error!(id, error = %e, "storing the polled number failed"),
            }
            if let Some(state) = state {
                tracing::info!(id, %state, "number settled");
                return false;
            }
        }
        tracing::info!(
            id,
            "number still pending; leaving it to the webhook or the next start"
        );
        false
    }
}

/// What one poll of the number found.
pub(crate) enum Polled {
    /// The number's object as the upstream answered it.
    Number(Value),
    /// A failed poll: ask again, after a longer wait.
    Again,
    /// Stop following: asking again cannot help.
    Stop,
    /// The number's display name is ready: the waiting run goes on.
    Resume,
}

/// What a number's status means: its new state (when it settles) and its error.
pub(crate) fn number_outcome(
    status: Option<&str>,
) -> (Option<OnboardingState>, Option<OnboardingError>) {
    match status {
        Some("CONNECTED") => (Some(OnboardingState::Connected), None),
        Some(s @ ("BANNED" | "BLOCKED")) => (
            Some(OnboardingState::ActionRequired),
            Some(number_blocked(s)),
        ),
        _ => (None, None),
    }
}
