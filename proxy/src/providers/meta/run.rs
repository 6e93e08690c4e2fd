//! Meta's Cloud API directly (`WHATSAPP_PROVIDER=meta`): the run and the follower (the PIN
//! the customer sends and deregistering are `actions.rs`'s), each step recorded like YCloud's (started before its
//! call, done or failed after, never run again once done).
//!
//! # Rules
//! Standard mode:
//! 1. `subscribe_app` (`binding`): `POST /{waba}/subscribed_apps` with the business token.
//! 2. No number (`FINISH_ONLY_WABA`): `action_required`, `phone_number_missing`.
//! 3. `register` (`registering`): the number's PIN (stored, else six fresh digits, sealed and
//!    stored before they are sent: a PIN Meta accepts becomes the number's) and the region
//!    chosen at creation; the call is counted in the number's 10 per 72 hours first, with
//!    the step's start, under the number's lock (`Store::commit_counted`, as YCloud's), and
//!    refused without calling when they are spent. Meta's PIN mismatch (133005) or guesses
//!    too fast (133009) → `action_required`, `pin_required`: the customer's PIN comes through
//!    [`Pipeline::submit_pin`], never a guess; 133008 → `action_required`, `pin_locked`.
//! 4. The number is read (`GET /{phone}`): `CONNECTED` → `connected`, else `pending` and a
//!    follower polls it like YCloud's.
//!
//! Coexistence: `subscribe_app`, then `sync_contacts` and `sync_history` (`smb_app_data`),
//! then 4; never registered. The syncs are asked only within 24 hours of the onboarding
//! (after that the onboarding's `sync` says why they were not), and what Meta answers (its
//! `request_id`) is kept on the onboarding's `sync`, which Meta's webhooks carry on. Meta accepts each sync once: a done one is never asked again, a
//! request left in flight by a restart is not repeated automatically (the onboarding stops
//! `failed`, retryable), and Meta's `(#4)` to a repeated request counts as done.
//!
//! Like YCloud's runs, each holds the onboarding's lease (`lease.rs`): the run and the
//! follower take it over from the creation, a retry or a PIN; a PIN or a deregister asked
//! while another runner (in this or another instance) holds it is refused as busy. Each runs
//! in a task of its own (`detached`), so a client hanging up does not stop it mid-call.

use std::sync::Arc;

use secrecy::SecretString;
use serde_json::Value;
use wire::{ErrorCode, Mode, OnboardingError, OnboardingState, PhoneNumberId, StorageRegion};

use crate::budget;
use crate::pipeline::follower::Polled;
use crate::pipeline::lease::Lease;
use crate::pipeline::{Flow, Pipeline};
use crate::providers::meta::{pin, Direct, MetaError, Op};
use crate::rules::number_outcome;
use crate::rules::person_error;
use crate::store::{
    Budget, CallKind, CountedCall, PinOrigin, Record, Step, StepStatus, Steps, StoreError, Update,
    Writes,
};
use crate::vault::Field;

/// PINs the customer may send for one onboarding within [`PIN_WINDOW`] (Meta allows a
/// number 10 registers in 72 hours, and locks two-step verification after a few wrong PINs).
pub const PIN_ATTEMPTS: i64 = 3;
/// The window of [`PIN_ATTEMPTS`].
pub const PIN_WINDOW: time::Duration = time::Duration::hours(24);

pub(super) fn done(steps: &Steps, step: Step) -> bool {
    steps
        .get(step)
        .is_some_and(|s| s.status == StepStatus::Done)
}

/// Whether a number read from Meta may be registered: its display name is approved (or
/// needs no review). A number without `name_status` is not held back.
pub(crate) fn name_ready(number: &Value) -> bool {
    match number.get("name_status").and_then(Value::as_str) {
        None | Some("APPROVED" | "AVAILABLE_WITHOUT_REVIEW") => true,
        Some(_) => false,
    }
}

/// The state a refused call leaves the onboarding in: a person acts on PINs and tokens.
pub(super) fn state_for(error: &OnboardingError) -> OnboardingState {
    match error.code {
        ErrorCode::PinRequired
        | ErrorCode::PinLocked
        | ErrorCode::BusinessTokenInvalid
        | ErrorCode::Reauthorize => OnboardingState::ActionRequired,
        _ => OnboardingState::Failed,
    }
}

/// Whether Meta's answer for a coexistence number says it is not on both the app and Cloud
/// API (an answer silent on both concludes nothing).
fn coexistence_unconfirmed(raw: &Value) -> bool {
    serde_json::from_value::<crate::biz_app::NumberFacts>(raw.clone())
        .ok()
        .and_then(|f| crate::biz_app::coexistence_confirmed(&f))
        == Some(false)
}

pub(super) fn token_lost() -> OnboardingError {
    person_error(
        ErrorCode::BusinessTokenInvalid,
        "The customer's business token cannot be read (it was not stored, or \
         TOKEN_ENCRYPTION_KEY changed); the customer must sign up again."
            .to_owned(),
    )
}

impl Pipeline {
    /// The Meta provider, when it is the one.
    pub(crate) fn direct(&self) -> Option<Arc<Direct>> {
        self.provider_as::<Direct>()
    }

    /// The business token of onboarding `id`, opened.
    pub(crate) async fn business_token(
        &self,
        direct: &Direct,
        id: &str,
    ) -> Result<Option<SecretString>, StoreError> {
        let creds = self.inner.store.meta_credentials(id).await?;
        Ok(creds
            .and_then(|c| c.business_token)
            .and_then(|t| direct.vault.open(id, Field::BusinessToken, &t).ok()))
    }

    /// A refused or failed call: the error it becomes, on the step and the onboarding.
    pub(super) async fn fail_direct(
        &self,
        id: &str,
        w: &mut Writes,
        step: Step,
        op: Op,
        e: &MetaError,
    ) -> Result<Flow, StoreError> {
        let error = e.to_onboarding_error(op, self.inner.clock.now());
        tracing::warn!(
            id, step = step.as_str(), error = %e, code = %error.code,
            fbtrace_id = error.upstream_request_id.as_deref(), "onboarding step failed (Meta)"
        );
        let result = serde_json::to_value(&error).ok();
        self.stop(
            id,
            w,
            state_for(&error),
            error,
            Some((step, result.as_ref())),
        )
        .await
    }

    /// The Meta run of an onboarding (module documentation).
    pub(crate) async fn run_direct(
        &self,
        direct: &Direct,
        onboarding: &Record,
        steps: &Steps,
        w: &mut Writes,
    ) -> Result<Flow, StoreError> {
        let id = onboarding.id.as_str();
        let store = &self.inner.store;
        let Some(token) = self.business_token(direct, id).await? else {
            let failed = steps
                .is_just_started(Step::SubscribeApp)
                .then_some((Step::SubscribeApp, None));
            return self
                .stop(id, w, OnboardingState::ActionRequired, token_lost(), failed)
                .await;
        };

        // 1. Subscribe the app to the WABA's webhooks.
        if !done(steps, Step::SubscribeApp) {
            self.start_bind(id, w, steps, Step::SubscribeApp).await?;
            self.lease_current(id)?;
            match direct.api.subscribe_app(&token, &onboarding.waba_id).await {
                Ok(answer) => w.finish_step(
                    Step::SubscribeApp,
                    StepStatus::Done,
                    Some(&answer),
                    Update::default(),
                ),
                Err(e) => {
                    return self
                        .fail_direct(id, w, Step::SubscribeApp, Op::SubscribeApp, &e)
                        .await
                }
            }
        }

        // 2. A number to register or sync? A coexistence finish may name none: the WABA's
        //    numbers say which could be meant (the sign-up's edge took the one on the
        //    Business app when there was exactly one).
        let Some(phone) = onboarding.phone_number_id.as_ref() else {
            if onboarding.mode == Mode::Coexistence {
                let numbers = match direct.api.numbers(&token, &onboarding.waba_id).await {
                    Ok(numbers) => numbers,
                    Err(e) => {
                        tracing::warn!(id, error = %e, "the WABA's numbers could not be read");
                        Vec::new()
                    }
                };
                let candidates = match crate::biz_app::resolve_coexistence_number(&numbers) {
                    crate::biz_app::Resolved::Ambiguous(c) => c,
                    crate::biz_app::Resolved::One(one) => numbers
                        .iter()
                        .filter(|n| n.id.as_deref() == Some(one.as_str()))
                        .filter_map(|n| {
                            Some(wire::NumberCandidate {
                                id: wire::PhoneNumberId::parse(n.id.as_deref()?).ok()?,
                                display_phone_number: n.display_phone_number.clone(),
                                is_on_biz_app: n.is_on_biz_app,
                            })
                        })
                        .collect(),
                };
                let mut error = person_error(
                    ErrorCode::PhoneNumberAmbiguous,
                    "The WhatsApp Business app sign-up did not say which number it connected; \
                     the customer signs up again and picks the number that is on the app \
                     (`candidates` lists the account's numbers)."
                        .to_owned(),
                );
                error.candidates = candidates;
                return self
                    .stop(id, w, OnboardingState::ActionRequired, error, None)
                    .await;
            }
            let error = person_error(
                ErrorCode::PhoneNumberMissing,
                "The app is subscribed to the WhatsApp Business Account, but no phone number was \
                 added; add one in WhatsApp Manager, then sign up again with it."
                    .to_owned(),
            );
            return self
                .stop(id, w, OnboardingState::ActionRequired, error, None)
                .await;
        };

        match onboarding.mode {
            // 3. Register, with the number's PIN, once its display name is ready.
            Mode::Standard if !done(steps, Step::Register) => {
                if !done(steps, Step::AwaitingDisplayName) {
                    match direct.api.number(&token, phone).await {
                        Ok(raw) if !name_ready(&raw) => {
                            return self.await_display_name(id, w, steps, Some(raw)).await
                        }
                        Ok(_) if steps.get(Step::AwaitingDisplayName).is_some() => {
                            tracing::info!(id, "display name ready; registering");
                            w.finish_step(
                                Step::AwaitingDisplayName,
                                StepStatus::Done,
                                None,
                                Update::default(),
                            );
                        }
                        Ok(_) => {}
                        // The register's own answer says whether the name was ready.
                        Err(e) => {
                            tracing::warn!(id, error = %e, "reading the display name failed")
                        }
                    }
                }
                let creds = store.meta_credentials(id).await?.unwrap_or_default();
                // The customer's PIN, when one was just sent: tried, and stored only once
                // Meta accepts it.
                let customer_pin = self
                    .inner
                    .customer_pins
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(id);
                let stored_pin = match &customer_pin {
                    Some(p) => Some(SecretString::from(p.as_str().to_owned())),
                    None => creds
                        .pin
                        .as_deref()
                        .and_then(|p| direct.vault.open(id, Field::Pin, p).ok()),
                };
                let pin = match stored_pin {
                    Some(pin) => pin,
                    None => {
                        let fresh = match pin::generate() {
                            Ok(p) => p,
                            Err(e) => {
                                tracing::error!(id, error = %e, "no PIN could be drawn");
                                return Err(StoreError::Corrupt {
                                    id: id.to_owned(),
                                    what: e,
                                });
                            }
                        };
                        let sealed =
                            direct
                                .vault
                                .seal(id, Field::Pin, fresh.as_str())
                                .map_err(|e| StoreError::Corrupt {
                                    id: id.to_owned(),
                                    what: e.to_string(),
                                })?;
                        // Stored before it is sent: Meta may make it the number's PIN.
                        store.save_pin(id, &sealed, PinOrigin::Generated).await?;
                        SecretString::from(String::from(fresh))
                    }
                };
                let region = creds
                    .data_localization_region
                    .as_deref()
                    .and_then(|r| StorageRegion::parse(r).ok());
                // The step's start and the counted call in one commit, before the call, if
                // the number's budget has a call left (counted under its lock).
                let now = self.inner.clock.now();
                let call = CountedCall {
                    kind: CallKind::Register,
                    waba_id: onboarding.waba_id.clone(),
                    phone_number_id: phone.clone(),
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
                // Never a register from an instance whose lease has passed: another may be
                // sending it (each counts towards the number's 10 in 72 hours).
                self.lease_current(id)?;
                match direct
                    .api
                    .register(&token, &onboarding.waba_id, phone, &pin, region.as_ref())
                    .await
                {
                    Ok(answer) => {
                        if let Some(accepted) = &customer_pin {
                            let sealed = direct
                                .vault
                                .seal(id, Field::Pin, accepted.as_str())
                                .map_err(|e| StoreError::Corrupt {
                                    id: id.to_owned(),
                                    what: e.to_string(),
                                })?;
                            store.save_pin(id, &sealed, PinOrigin::Customer).await?;
                        }
                        w.finish_step(
                            Step::Register,
                            StepStatus::Done,
                            Some(&answer),
                            Update::default(),
                        );
                    }
                    // Registered before the display name was ready: wait for it.
                    Err(e) if e.is_display_name_pending() => {
                        tracing::info!(id, error = %e, "display name not ready; waiting for it");
                        let result = serde_json::to_value(
                            e.to_onboarding_error(Op::Register, self.inner.clock.now()),
                        )
                        .ok();
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
                            .fail_direct(id, w, Step::Register, Op::Register, &e)
                            .await
                    }
                }
            }
            Mode::Standard => {}
            // 3'. Coexistence: ask for the contacts, then the history, once each, within
            //     24 hours of the onboarding (`sync.rs`).
            Mode::Coexistence => {
                if let Some(flow) = self
                    .ask_for_sync(direct, onboarding, steps, w, &token, phone)
                    .await?
                {
                    return Ok(flow);
                }
            }
        }

        // 4. Where the number stands.
        store.commit(id, w).await?;
        let current = self.current(id).await?;
        if current.state.is_final() {
            return Ok(Flow::Stop);
        }
        self.lease_current(id)?;
        let (state, phone_number, error) = match direct.api.number(&token, phone).await {
            // After a coexistence onboarding Meta reports the number on both the app and
            // Cloud API; anything else needs a person to look.
            Ok(raw) if onboarding.mode == Mode::Coexistence && coexistence_unconfirmed(&raw) => (
                OnboardingState::ActionRequired,
                Some(raw),
                Some(person_error(
                    ErrorCode::CoexistenceUnconfirmed,
                    "Meta does not report this number on both the WhatsApp Business app and \
                     Cloud API (is_on_biz_app, platform_type): check it in WhatsApp Manager, \
                     then sign up again."
                        .to_owned(),
                )),
            ),
            Ok(raw) => {
                let (state, error) = number_outcome(raw.get("status").and_then(Value::as_str));
                (state.unwrap_or(OnboardingState::Pending), Some(raw), error)
            }
            Err(e) => {
                tracing::warn!(id, error = %e, "reading the number failed; following it");
                (OnboardingState::Pending, None, None)
            }
        };
        w.update(Update {
            state: Some(state),
            phone_number,
            error: Some(error),
            ..Update::default()
        });
        store.commit(id, w).await?;
        tracing::info!(id, %state, "number answered (Meta)");
        self.notify(id).await;
        Ok(match state {
            OnboardingState::Pending => Flow::Continue,
            _ => Flow::Stop,
        })
    }

    /// Starts the follower of a `pending` number: polls it with the business token until it
    /// settles, backing off like the YCloud follower (Meta's webhooks usually bring the news
    /// first). It holds the run's lease while it polls, and releases it when it stops.
    pub(crate) fn follow_direct(&self, direct: Arc<Direct>, onboarding: &Record, lease: Lease) {
        let pipeline = self.clone();
        let id = onboarding.id.clone();
        let phone = onboarding.phone_number_id.clone();
        tokio::spawn(async move {
            let resume = match phone {
                Some(phone) => pipeline.poll_direct(&direct, &id, &phone, &lease).await,
                None => {
                    tracing::warn!(
                        id,
                        "pending onboarding without a number: waiting for the webhook"
                    );
                    false
                }
            };
            pipeline.end_follow(&id, lease, resume).await;
        });
    }

    /// Polls the number until it settles, the follower gives up, or another instance took
    /// the onboarding over. True when its display name became ready while the onboarding
    /// waited for it: the run goes on.
    async fn poll_direct(
        &self,
        direct: &Direct,
        id: &str,
        phone: &PhoneNumberId,
        lease: &Lease,
    ) -> bool {
        let token = match self.business_token(direct, id).await {
            Ok(Some(token)) => token,
            _ => return false,
        };
        let awaiting_name = matches!(
            self.inner.store.step(id, Step::AwaitingDisplayName).await,
            Ok(Some(s)) if s.status == StepStatus::Started
        );
        let token = &token;
        self.poll_until_settled(id, lease, || async move {
            match direct.api.number(token, phone).await {
                Ok(raw) if awaiting_name && name_ready(&raw) => Polled::Resume,
                Ok(raw) => Polled::Number(raw),
                Err(e) if e.is_token_invalid() => {
                    self.token_refused(id).await;
                    Polled::Stop
                }
                Err(
                    e @ MetaError::Graph {
                        status: 400..=499, ..
                    },
                ) => {
                    tracing::warn!(id, error = %e, "Meta refuses to show the number; stopped polling");
                    Polled::Stop
                }
                Err(e) => {
                    tracing::warn!(id, error = %e, "polling the number failed; will poll again");
                    Polled::Again
                }
            }
        })
        .await
    }
}
