//! YCloud's runs: standard (bind, payment check, register) and coexistence (`smb/bind`), each
//! step recorded as `started` before its upstream call and as `done`/`failed` after it.
//!
//! # Rules
//! Standard mode (`tp/bind`, then register):
//! 1. `binding`: `tp/bind`. Failure → `failed` (see `UpstreamError::to_onboarding_error`).
//! 2. `paymentMethodAttached: false` → `action_required`, code `payment_method_missing`
//!    (contact YCloud). It is retryable: `retry` re-reads the WABA (a harmless GET) and goes
//!    on once YCloud has attached its credit line. An absent flag counts as attached:
//!    YCloud's Embedded Signup guide only says what `false` means.
//! 3. No phone number id (`FINISH_ONLY_WABA`) → `action_required`, code
//!    `phone_number_missing`, not retryable: the WABA is bound, but there is nothing to
//!    register and no number can connect. `pending` would promise a change that cannot come,
//!    `connected` would claim a number that does not exist. The customer adds a number in
//!    WhatsApp Manager and signs up again; that posts the same WABA with the number, which is
//!    a new onboarding (the idempotency key is WABA + number), whose `tp/bind` is a re-bind.
//! 4. `registering`: register, unless the number's 10 register calls in 72 hours are spent
//!    (then `failed`, `register_limit`, with `retry_after`; nothing is called). Every call is
//!    counted in `register_attempts` before it is made, in the transaction that counts the
//!    calls before it under a lock of the number (`Store::commit_counted`), so instances
//!    sharing a database cannot together exceed the budget.
//! 5. The answer's status `CONNECTED` → `connected`; otherwise `pending`, and a background
//!    follower polls the number (by its E.164 from the register answer) until `CONNECTED`.
//!    `BANNED`/`BLOCKED` → `action_required`. The follower backs off (×1.5 per unchanged
//!    answer, ×2 per failure, at most 8 intervals apart), gives up after
//!    `UpstreamTuning::poll_for` and leaves `pending` for the webhook, or for the health
//!    schedule, which follows an unfollowed pending onboarding again once per period.
//! 6. Webhooks (`apply_event`, each recorded as seen in the transaction that applies it, in
//!    the order of their `createTime` per WABA and number): a number turning `CONNECTED` →
//!    `connected`; `BANNED`/`BLOCKED` → `action_required`; a deleted number or WABA, or a WABA ban → `failed`; the WABA removed
//!    from the partner, the partner app uninstalled, a ban scheduled or a rejected review →
//!    `action_required`. Each with a sentence saying what the person can do.
//!
//! Coexistence mode: `binding`: `smb/bind` (answers the number; never register), then as 5.

use std::sync::Arc;

use serde_json::Value;
use wire::{ErrorCode, OnboardingError, OnboardingState, PhoneNumberId, WabaId};

use super::{name_ready, Object, PhoneNumber, Upstream, UpstreamError, Waba};
use crate::budget;
use crate::pipeline::follower::Polled;
use crate::pipeline::lease::Lease;
use crate::pipeline::{Flow, Pipeline};
use crate::store::{
    Budget, CallKind, CountedCall, Record, Step, StepStatus, Steps, StoreError, Update, Writes,
};

impl Pipeline {
    /// Standard mode: bind, check the payment method, register.
    pub(crate) async fn run_standard(
        &self,
        upstream: &Upstream,
        onboarding: &Record,
        steps: &Steps,
        w: &mut Writes,
    ) -> Result<Flow, StoreError> {
        let id = onboarding.id.as_str();
        let store = &self.inner.store;

        // 1. Bind.
        let bind = steps.get(Step::Bind);
        let mut waba: Option<Value> = onboarding.waba.clone();
        if !bind.as_ref().is_some_and(|s| s.status == StepStatus::Done) {
            self.start_bind(id, w, steps, Step::Bind).await?;
            self.lease_current(id)?;
            match upstream.tp_bind(&onboarding.waba_id).await {
                Ok(bound) => {
                    let update = Update {
                        waba: Some(bound.raw.clone()),
                        ..Update::default()
                    };
                    w.finish_step(Step::Bind, StepStatus::Done, Some(&bound.raw), update);
                    waba = Some(bound.raw);
                }
                Err(e) => {
                    return self
                        .fail(id, w, Step::Bind, &e, "bind the WhatsApp Business Account")
                        .await
                }
            }
        } else if waba.is_none() {
            waba = bind.and_then(|s| s.result);
        }

        // 2. Payment method. The first time, the bind's answer decides; after an
        //    `action_required`, a retry re-reads the WABA.
        let check = steps.get(Step::CheckPayment);
        if !check.as_ref().is_some_and(|s| s.status == StepStatus::Done) {
            w.start_step(Step::CheckPayment, OnboardingState::Binding);
            if check.is_some() {
                store.commit(id, w).await?;
                self.lease_current(id)?;
                match upstream.retrieve_waba(&onboarding.waba_id).await {
                    Ok(read) => waba = Some(read.raw),
                    Err(e) => {
                        return self
                            .fail(
                                id,
                                w,
                                Step::CheckPayment,
                                &e,
                                "read the WhatsApp Business Account",
                            )
                            .await
                    }
                }
            }
            let attached = waba
                .as_ref()
                .and_then(|w| serde_json::from_value::<Waba>(w.clone()).ok())
                .and_then(|w| w.payment_method_attached);
            if attached == Some(false) {
                let error = OnboardingError {
                    code: ErrorCode::PaymentMethodMissing,
                    message: "YCloud could not attach a payment method to this WhatsApp Business \
                              Account (often because an existing account with its own payment \
                              method was chosen); contact YCloud support, then retry."
                        .to_owned(),
                    retryable: true,
                    upstream_request_id: None,
                    retry_after: None,
                    candidates: Vec::new(),
                };
                // The WABA as just read is kept with the stop.
                w.update(Update {
                    waba: waba.clone(),
                    ..Update::default()
                });
                let failed = Some((Step::CheckPayment, waba.as_ref()));
                return self
                    .stop(id, w, OnboardingState::ActionRequired, error, failed)
                    .await;
            }
            if attached.is_none() {
                tracing::warn!(
                    id,
                    "YCloud's WABA has no paymentMethodAttached field; assuming attached"
                );
            }
            let update = Update {
                waba: waba.clone(),
                ..Update::default()
            };
            w.finish_step(Step::CheckPayment, StepStatus::Done, None, update);
        }

        // 3. A number to register?
        let Some(phone_id) = onboarding.phone_number_id.as_ref() else {
            let error = OnboardingError {
                code: ErrorCode::PhoneNumberMissing,
                message: "The WhatsApp Business Account is bound, but no phone number was added; \
                          add one in WhatsApp Manager, then sign up again with it."
                    .to_owned(),
                retryable: false,
                upstream_request_id: None,
                retry_after: None,
                candidates: Vec::new(),
            };
            return self
                .stop(id, w, OnboardingState::ActionRequired, error, None)
                .await;
        };

        // 4. Register, once the display name is ready: a register that Meta refused with
        //    100/2388001 waits for it (`awaiting_display_name`), and the name's webhook or the
        //    follower resumes the run here.
        let register = steps.get(Step::Register);
        let phone: Option<Object<PhoneNumber>> = match register {
            Some(s) if s.status == StepStatus::Done => None,
            _ => {
                let awaiting = steps
                    .get(Step::AwaitingDisplayName)
                    .is_some_and(|s| s.status == StepStatus::Started);
                if awaiting {
                    self.lease_current(id)?;
                    match upstream
                        .find_phone_number(&onboarding.waba_id, phone_id)
                        .await
                    {
                        Ok(Some(raw)) if name_ready(&raw) == Some(false) => {
                            return self.await_display_name(id, w, steps, Some(raw)).await
                        }
                        // Ready, or not known: the register's own answer says.
                        other => {
                            if let Err(e) = other {
                                tracing::warn!(id, error = %e, "reading the display name failed");
                            }
                            tracing::info!(id, "display name ready; registering");
                            w.finish_step(
                                Step::AwaitingDisplayName,
                                StepStatus::Done,
                                None,
                                Update::default(),
                            );
                        }
                    }
                }
                // The step's start and the counted call in one commit, before the call, if
                // the number's budget has a call left (counted under its lock).
                let now = self.inner.clock.now();
                let call = CountedCall {
                    kind: CallKind::Register,
                    waba_id: onboarding.waba_id.clone(),
                    phone_number_id: phone_id.clone(),
                    at: now,
                    since: budget::since(now),
                    limit: budget::CALLS,
                };
                w.start_counted_step(Step::Register, OnboardingState::Registering, call);
                if let Budget::Spent { oldest } = store.commit_counted(id, w).await? {
                    let error = budget::register_spent(budget::free_at(oldest, now));
                    return self.stop(id, w, OnboardingState::Failed, error, None).await;
                }
                self.notify(id).await;
                self.lease_current(id)?;
                match upstream.register(&onboarding.waba_id, phone_id).await {
                    Ok(p) => Some(p),
                    // Registered before the display name was ready: wait for it, as with
                    // Meta directly.
                    Err(e) if e.is_display_name_pending() => {
                        tracing::info!(id, error = %e, "display name not ready; waiting for it");
                        let error = e.to_onboarding_error(
                            "register the phone number",
                            self.inner.clock.now(),
                        );
                        let result = serde_json::to_value(&error).ok();
                        w.finish_step(
                            Step::Register,
                            StepStatus::Failed,
                            result.as_ref(),
                            Update::default(),
                        );
                        return self.await_display_name(id, w, steps, None).await;
                    }
                    Err(e) => {
                        return self
                            .fail(id, w, Step::Register, &e, "register the phone number")
                            .await
                    }
                }
            }
        };
        self.settle(id, w, Step::Register, phone).await
    }

    /// Coexistence mode: `smb/bind`, which answers the number; nothing is registered.
    pub(crate) async fn run_coexistence(
        &self,
        upstream: &Upstream,
        id: &str,
        waba: &WabaId,
        steps: &Steps,
        w: &mut Writes,
    ) -> Result<Flow, StoreError> {
        let phone = match steps.get(Step::SmbBind) {
            Some(s) if s.status == StepStatus::Done => None,
            _ => {
                self.start_bind(id, w, steps, Step::SmbBind).await?;
                self.lease_current(id)?;
                match upstream.smb_bind(waba).await {
                    Ok(p) => Some(p),
                    Err(e) => {
                        return self
                            .fail(
                                id,
                                w,
                                Step::SmbBind,
                                &e,
                                "bind the WhatsApp Business App number",
                            )
                            .await
                    }
                }
            }
        };
        self.settle(id, w, Step::SmbBind, phone).await
    }

    /// After the last step: records the number (when just answered) and moves to
    /// `connected` or `pending`. With `None`, the step was done before (a resume): the stored
    /// number decides.
    async fn settle(
        &self,
        id: &str,
        w: &mut Writes,
        step: Step,
        answer: Option<Object<PhoneNumber>>,
    ) -> Result<Flow, StoreError> {
        let store = &self.inner.store;
        match answer {
            Some(p) => {
                let state = if p.typed.is_connected() {
                    OnboardingState::Connected
                } else {
                    OnboardingState::Pending
                };
                let update = Update {
                    state: Some(state),
                    phone_number: Some(p.raw.clone()),
                    error: Some(None),
                    ..Update::default()
                };
                w.finish_step(step, StepStatus::Done, Some(&p.raw), update);
                // The follower of a pending number keeps the lease.
                w.end_run(state != OnboardingState::Pending);
                store.commit(id, w).await?;
                tracing::info!(id, %state, status = p.typed.status.as_deref(), "number answered");
            }
            None => {
                // What is queued (steps done before a resume) is stored before reading.
                store.commit(id, w).await?;
                let current = self.current(id).await?;
                if current.state.is_final() {
                    return Ok(Flow::Stop);
                }
                let stored = match current.phone_number {
                    Some(p) => Some(p),
                    None => store.step(id, step).await?.and_then(|s| s.result),
                };
                let connected = stored
                    .as_ref()
                    .and_then(|p| serde_json::from_value::<PhoneNumber>(p.clone()).ok())
                    .is_some_and(|p| p.is_connected());
                let state = if connected {
                    OnboardingState::Connected
                } else {
                    OnboardingState::Pending
                };
                w.update(Update {
                    state: Some(state),
                    phone_number: stored,
                    ..Update::default()
                });
                w.end_run(state != OnboardingState::Pending);
                store.commit(id, w).await?;
            }
        }
        self.notify(id).await;
        Ok(Flow::Continue)
    }

    /// A failed upstream call: `failed`, with the error it becomes, stored as the step's
    /// result too.
    async fn fail(
        &self,
        id: &str,
        w: &mut Writes,
        step: Step,
        e: &UpstreamError,
        what: &str,
    ) -> Result<Flow, StoreError> {
        let error = e.to_onboarding_error(what, self.inner.clock.now());
        tracing::warn!(
            id, step = step.as_str(), error = %e, code = %error.code,
            upstream_request_id = error.upstream_request_id.as_deref(), "onboarding step failed"
        );
        let result = serde_json::to_value(&error).ok();
        self.stop(
            id,
            w,
            OnboardingState::Failed,
            error,
            Some((step, result.as_ref())),
        )
        .await
    }

    /// YCloud's follower: polls the number by its E.164 (from the register answer); a number
    /// waiting for its display name is read in the WABA's list of numbers (only its id is
    /// known) until the name is ready, and the run then goes on to register it.
    pub(crate) fn follow_ycloud(&self, upstream: Arc<Upstream>, onboarding: &Record, lease: Lease) {
        let e164 = onboarding
            .phone_number
            .as_ref()
            .and_then(|p| serde_json::from_value::<PhoneNumber>(p.clone()).ok())
            .and_then(|p| p.phone_number);
        let pipeline = self.clone();
        let id = onboarding.id.clone();
        let waba = onboarding.waba_id.clone();
        let phone_id = onboarding.phone_number_id.clone();
        tokio::spawn(async move {
            let awaiting_name = matches!(
                pipeline.inner.store.step(&id, Step::AwaitingDisplayName).await,
                Ok(Some(s)) if s.status == StepStatus::Started
            );
            let resume = match (awaiting_name, phone_id, e164) {
                (true, Some(phone_id), _) => {
                    pipeline
                        .poll_display_name(&upstream, &id, &waba, &phone_id, &lease)
                        .await
                }
                (false, _, Some(e164)) => {
                    pipeline
                        .poll_number(&upstream, &id, &waba, &e164, &lease)
                        .await;
                    false
                }
                _ => {
                    tracing::warn!(
                        id,
                        "pending number without an E.164 number: waiting for the webhook"
                    );
                    false
                }
            };
            pipeline.end_follow(&id, lease, resume).await;
        });
    }

    /// Reads the number in its WABA's list until its display name is ready (true: the run
    /// goes on), the follower gives up, or another instance took the onboarding over.
    async fn poll_display_name(
        &self,
        upstream: &Upstream,
        id: &str,
        waba: &WabaId,
        phone_id: &PhoneNumberId,
        lease: &Lease,
    ) -> bool {
        self.poll_until_settled(id, lease, || async move {
            match upstream.find_phone_number(waba, phone_id).await {
                Ok(Some(raw)) if name_ready(&raw) != Some(false) => Polled::Resume,
                Ok(Some(raw)) => Polled::Number(raw),
                Ok(None) => Polled::Again,
                Err(e @ UpstreamError::Status { status: 400..=499, .. })
                    if !matches!(e, UpstreamError::Status { status: 429, .. }) =>
                {
                    tracing::warn!(id, error = %e, "YCloud refuses to list the numbers; stopped polling");
                    Polled::Stop
                }
                Err(e) => {
                    tracing::warn!(id, error = %e, "reading the display name failed; will read again");
                    Polled::Again
                }
            }
        })
        .await
    }

    /// Polls the number through YCloud until it settles, the follower gives up, or another
    /// instance took the onboarding over.
    async fn poll_number(
        &self,
        upstream: &Upstream,
        id: &str,
        waba: &WabaId,
        e164: &str,
        lease: &Lease,
    ) {
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
}
