//! The follower: polls a `pending` number until its provider (YCloud, or Meta directly:
//! `direct.rs`) reports it settled, backing off while nothing changes; webhooks usually
//! bring the news first.

use serde_json::Value;
use wire::OnboardingState;

use super::lease::Lease;
use super::Pipeline;
use crate::rules::number_outcome;
use crate::store::Update;

impl Pipeline {
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
            "number still pending; leaving it to the webhook or the next follow-up"
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
