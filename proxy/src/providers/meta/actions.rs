//! What the customer and the partner ask of a Meta onboarding after its run: the
//! customer's two-step verification PIN, the partner's credentials, and deregistering the
//! number. Each holds the onboarding's lease and runs `detached`, as the run does.

use secrecy::ExposeSecret;
use serde_json::json;
use wire::{Credentials, ErrorCode, Mode, Onboarding, OnboardingState, Pin};

use crate::budget;
use crate::pipeline::{detached, DeregisterError, PinError, Pipeline};
use crate::providers::meta::{Direct, Op, NOT_REGISTERED};
use crate::store::{
    reauthorizable, Budget, CallKind, CountedCall, Record, Step, StepStatus, Steps, StoreError,
    Update,
};
use crate::vault::Field;

use super::run::{done, token_lost, PIN_ATTEMPTS, PIN_WINDOW};

impl Pipeline {
    /// The customer's existing PIN, for an onboarding Meta refused the proxy's PIN for
    /// (`pin_required`, `pin_locked`): stored sealed, then the register runs again with it,
    /// holding the onboarding's lease (refused as busy while another runner holds it). The
    /// register budget is checked first; a wrong PIN stops in `pin_required` again. Runs in
    /// a task of its own: a client hanging up does not stop the register mid-call.
    ///
    /// # Errors
    /// See [`PinError`].
    pub async fn submit_pin(&self, id: &str, pin: Pin) -> Result<Onboarding, PinError> {
        if self.direct().is_none() {
            return Err(PinError::NotExpected(
                "this proxy registers numbers through YCloud (WHATSAPP_PROVIDER=ycloud), which \
                 asks for no PIN"
                    .to_owned(),
            ));
        }
        let pipeline = self.clone();
        let id = id.to_owned();
        detached(async move { pipeline.submit_pin_here(&id, pin).await }).await
    }

    /// [`Pipeline::submit_pin`], in the task it runs in.
    async fn submit_pin_here(&self, id: &str, pin: Pin) -> Result<Onboarding, PinError> {
        if self.inner.store.get(id).await?.is_none() {
            return Err(PinError::NotFound);
        }
        let Some(lease) = self.lease(id).await? else {
            return Err(PinError::NotExpected(
                "this onboarding is being worked on; send the PIN once it stops".to_owned(),
            ));
        };
        let (onboarding, steps) = match self.store_pin(id, &pin).await {
            Ok(ready) => ready,
            Err(e) => {
                lease.release().await;
                return Err(e);
            }
        };
        tracing::info!(id, "the customer sent a PIN; registering again");
        let ran = self.run(lease, onboarding, steps).await;
        // Tried or not, it is not kept for a later run.
        self.inner
            .customer_pins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
        let ran = ran?;
        Ok(self.answer(ran).await?)
    }

    /// With the lease held: checks that onboarding `id` waits for a PIN, that its number may
    /// be registered and that the customer has a PIN attempt left, then counts `pin` and
    /// hands it to the next register run (in memory: the run stores it once Meta accepted
    /// it, so a wrong PIN never replaces a right one). Answers the onboarding and its steps.
    async fn store_pin(&self, id: &str, pin: &Pin) -> Result<(Record, Steps), PinError> {
        if self.direct().is_none() {
            return Err(PinError::NotExpected(
                "this proxy registers numbers through YCloud, which asks for no PIN".to_owned(),
            ));
        }
        let onboarding = self.inner.store.get(id).await?.ok_or(PinError::NotFound)?;
        let awaited = onboarding.state == OnboardingState::ActionRequired
            && onboarding
                .error
                .as_ref()
                .is_some_and(|e| matches!(e.code, ErrorCode::PinRequired | ErrorCode::PinLocked));
        let Some(phone) = onboarding.phone_number_id.as_ref().filter(|_| awaited) else {
            return Err(PinError::NotExpected(format!(
                "this onboarding is {} and is not waiting for a PIN",
                onboarding.state
            )));
        };
        if let Some(until) = self.budget_spent_until(phone).await? {
            return Err(PinError::BudgetSpent(until));
        }
        let store = &self.inner.store;
        let since = self.inner.clock.now() - PIN_WINDOW;
        if store.pin_attempts_since(id, since).await? >= PIN_ATTEMPTS {
            return Err(PinError::AttemptsExhausted);
        }
        // Counted before it is sent; handed to the run in memory, stored once accepted.
        store.record_pin_attempt(id).await?;
        self.inner
            .customer_pins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_owned(), pin.clone());
        let steps = store.steps(id).await?;
        Ok((onboarding, steps))
    }

    /// What the proxy keeps for onboarding `id`, opened: `None` when nothing is stored (or
    /// the provider is YCloud, which keeps nothing).
    ///
    /// # Errors
    /// Store failures.
    pub async fn credentials(&self, id: &str) -> Result<Option<Credentials>, StoreError> {
        let Some(direct) = self.direct() else {
            return Ok(None);
        };
        let Some(creds) = self.inner.store.meta_credentials(id).await? else {
            return Ok(None);
        };
        let open = |field, sealed: Option<String>| {
            sealed.and_then(|s| match direct.vault.open(id, field, &s) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::error!(id, error = %e, "a stored secret does not open with TOKEN_ENCRYPTION_KEY");
                    None
                }
            })
        };
        let pin = open(Field::Pin, creds.pin).and_then(|p| Pin::parse(p.expose_secret()).ok());
        let business_token =
            open(Field::BusinessToken, creds.business_token).map(|t| t.expose_secret().to_owned());
        if pin.is_none() && business_token.is_none() {
            return Ok(None);
        }
        Ok(Some(Credentials {
            pin,
            business_token,
        }))
    }

    /// Deregisters the number of onboarding `id` at Meta (`deregistered`, which emits
    /// `onboarding.deregistered`), holding the onboarding's lease (refused as busy while
    /// another runner holds it). The call is counted in the number's 10 per 72 hours first,
    /// with the step's start, under the number's lock (as register calls are); a refusal
    /// leaves the onboarding as it was. Runs in a task of its own.
    ///
    /// # Errors
    /// See [`DeregisterError`].
    pub async fn deregister(&self, id: &str) -> Result<Record, DeregisterError> {
        let exists = self.inner.store.get(id).await?.is_some();
        let Some(direct) = self.direct() else {
            return Err(match exists {
                false => DeregisterError::NotFound,
                true => DeregisterError::NotDeregistrable(
                    "this proxy onboards through YCloud (WHATSAPP_PROVIDER=ycloud), which \
                     deregisters numbers itself: deregister it in YCloud's console"
                        .to_owned(),
                ),
            });
        };
        if !exists {
            return Err(DeregisterError::NotFound);
        }
        let pipeline = self.clone();
        let id = id.to_owned();
        detached(async move {
            let Some(lease) = pipeline.lease(&id).await? else {
                return Err(DeregisterError::NotDeregistrable(
                    "this onboarding is being worked on; deregister it once it stops".to_owned(),
                ));
            };
            let result = pipeline.deregister_leased(&direct, &id).await;
            if !lease.is_lost() {
                lease.release().await;
            }
            result
        })
        .await
    }

    /// [`Pipeline::deregister`], with the lease held.
    async fn deregister_leased(
        &self,
        direct: &Direct,
        id: &str,
    ) -> Result<Record, DeregisterError> {
        let inner = &self.inner;
        let o = inner
            .store
            .get(id)
            .await?
            .ok_or(DeregisterError::NotFound)?;
        if o.mode == Mode::Coexistence {
            return Err(DeregisterError::NotDeregistrable(
                "a coexistence number stays with the WhatsApp Business App, and Meta's \
                 deregister does not apply to it: the customer disconnects it in the app"
                    .to_owned(),
            ));
        }
        if o.state == OnboardingState::Deregistered {
            return Err(DeregisterError::NotDeregistrable(
                "this number is already deregistered".to_owned(),
            ));
        }
        let steps = inner.store.steps(id).await?;
        let phone = match &o.phone_number_id {
            Some(phone) if done(&steps, Step::Register) => phone.clone(),
            _ => {
                return Err(DeregisterError::NotDeregistrable(
                    "this onboarding's number was never registered".to_owned(),
                ))
            }
        };
        let Some(token) = self.business_token(direct, id).await? else {
            return Err(DeregisterError::Meta(token_lost()));
        };
        let mut w = inner
            .store
            .writes()
            .leased_to(&inner.instance, inner.lease_for);
        let now = inner.clock.now();
        let call = CountedCall {
            kind: CallKind::Deregister,
            waba_id: o.waba_id.clone(),
            phone_number_id: phone.clone(),
            at: now,
            since: budget::since(now),
            limit: budget::CALLS,
        };
        w.start_counted_side_step(Step::Deregister, call);
        if let Budget::Spent { oldest } = inner.store.commit_counted(id, &mut w).await? {
            return Err(DeregisterError::BudgetSpent(budget::free_at(oldest, now)));
        }
        self.notify(id).await;
        let answer = match direct.api.deregister(&token, &phone).await {
            Ok(answer) => Ok(answer),
            // "The account is not registered": the number is deregistered already.
            Err(e) if e.code() == Some(NOT_REGISTERED) => Ok(json!({"not_registered": true})),
            Err(e) => Err(e),
        };
        match answer {
            Ok(answer) => {
                w.finish_step(
                    Step::Deregister,
                    StepStatus::Done,
                    Some(&answer),
                    Update {
                        state: Some(OnboardingState::Deregistered),
                        error: Some(None),
                        ..Update::default()
                    },
                );
                inner.store.commit(id, &mut w).await?;
                self.notify(id).await;
                tracing::info!(id, "number deregistered");
                Ok(self.current(id).await?)
            }
            Err(e) => {
                let error = e.to_onboarding_error(Op::Deregister, inner.clock.now());
                tracing::warn!(id, error = %e, code = %error.code, "deregister failed");
                let result = serde_json::to_value(&error).ok();
                // A refused token: the onboarding waits for the customer to sign in again.
                let update = match e.is_token_invalid() && reauthorizable(o.state) {
                    true => Update {
                        state: Some(OnboardingState::ActionRequired),
                        error: Some(Some(error.clone())),
                        ..Update::default()
                    },
                    false => Update::default(),
                };
                w.finish_step(
                    Step::Deregister,
                    StepStatus::Failed,
                    result.as_ref(),
                    update,
                );
                inner.store.commit(id, &mut w).await?;
                self.notify(id).await;
                Err(DeregisterError::Meta(error))
            }
        }
    }
}
