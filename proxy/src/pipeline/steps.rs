//! The runs: standard (bind, payment check, register) and coexistence (`smb/bind`), each
//! step recorded as `started` before its upstream call and as `done`/`failed` after it.

use serde_json::Value;
use wire::{ErrorCode, Mode, OnboardingError, OnboardingState, WabaId};

use super::{Flow, Pipeline};
use crate::budget;
use crate::providers::ycloud::{Object, PhoneNumber, Upstream, UpstreamError, Waba};
use crate::providers::Provider;
use crate::store::{
    Budget, CallKind, CountedCall, Ended, Record, Step, StepStatus, Steps, StoreError, Update,
    Writes,
};

impl Pipeline {
    /// The onboarding's remaining steps, as its mode has them. Writes between two upstream
    /// calls are queued and committed together right before the next call (or at the end),
    /// so each call's `started` record is durable first.
    pub(crate) async fn run_steps(
        &self,
        onboarding: &Record,
        steps: &Steps,
    ) -> Result<(Flow, Option<Ended>), StoreError> {
        let inner = &self.inner;
        let mut w = inner
            .store
            .writes()
            .leased_to(&inner.instance, inner.lease_for);
        let flow = match (&inner.provider, onboarding.mode) {
            (Provider::Meta(direct), _) => {
                self.run_direct(direct, onboarding, steps, &mut w).await?
            }
            (Provider::YCloud(upstream), Mode::Standard) => {
                self.run_standard(upstream, onboarding, steps, &mut w)
                    .await?
            }
            (Provider::YCloud(upstream), Mode::Coexistence) => {
                let id = onboarding.id.as_str();
                self.run_coexistence(upstream, id, &onboarding.waba_id, steps, &mut w)
                    .await?
            }
        };
        Ok((flow, w.ended()))
    }

    /// Standard mode: bind, check the payment method, register.
    async fn run_standard(
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

        // 4. Register.
        let register = steps.get(Step::Register);
        let phone: Option<Object<PhoneNumber>> = match register {
            Some(s) if s.status == StepStatus::Done => None,
            _ => {
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
    async fn run_coexistence(
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

    /// Before a bind call: records the step as started (unless it was, with the onboarding
    /// itself), commits, and tells the event streams.
    pub(crate) async fn start_bind(
        &self,
        id: &str,
        w: &mut Writes,
        steps: &Steps,
        step: Step,
    ) -> Result<(), StoreError> {
        if !steps.is_just_started(step) {
            w.start_step(step, OnboardingState::Binding);
            self.inner.store.commit(id, w).await?;
        }
        self.notify(id).await;
        Ok(())
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

    /// Ends the run in `state` with `error`: recorded as the outcome of the step that
    /// failed (with what it answered) when there is one, else on the onboarding alone;
    /// committed with everything queued, and told to the event streams.
    pub(crate) async fn stop(
        &self,
        id: &str,
        w: &mut Writes,
        state: OnboardingState,
        error: OnboardingError,
        failed: Option<(Step, Option<&Value>)>,
    ) -> Result<Flow, StoreError> {
        let update = Update {
            state: Some(state),
            error: Some(Some(error)),
            ..Update::default()
        };
        match failed {
            Some((step, result)) => w.finish_step(step, StepStatus::Failed, result, update),
            None => w.update(update),
        }
        // A stopped run gives its lease up.
        w.end_run(true);
        self.inner.store.commit(id, w).await?;
        self.notify(id).await;
        Ok(Flow::Stop)
    }
}
