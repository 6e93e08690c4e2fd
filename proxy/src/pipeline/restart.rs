//! Starting over: a new onboarding of the same WABA and number for one that ended `failed`
//! or `deregistered`, asked for by the partner (`POST /api/partner/onboardings/{id}/restart`).
//! (The customer's own new sign-up starts over in [`Pipeline::insert_post`].)
//!
//! The new onboarding names the old (`previous_onboarding_id`) and takes its WABA + number
//! key over in the transaction that inserts it; the old stays as it ended. With a provider
//! that keeps the business token and PIN (Meta's), they go with it, sealed again for the new id (a
//! sealed value opens only for its own onboarding).

use secrecy::ExposeSecret;
use wire::{CreateOnboarding, Onboarding, OnboardingState};

use super::{detached, Pipeline};
use crate::store::{Customer, Insert, StoreError};
use crate::vault::Field;

/// Why `restart` started nothing.
#[derive(Debug, thiserror::Error)]
pub enum RestartError {
    /// No onboarding has this id.
    #[error("not found")]
    NotFound,
    /// It has not ended, or was started over already.
    #[error("{0}")]
    NotRestartable(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Pipeline {
    /// Starts onboarding `id` over: a new onboarding of its WABA and number for its customer
    /// and session (not counted against the session), whose steps run before the answer.
    ///
    /// # Errors
    /// See [`RestartError`].
    pub async fn restart(&self, id: &str) -> Result<Onboarding, RestartError> {
        let pipeline = self.clone();
        let id = id.to_owned();
        detached(async move { pipeline.restart_here(&id).await }).await
    }

    async fn restart_here(&self, id: &str) -> Result<Onboarding, RestartError> {
        let store = &self.inner.store;
        let view = store
            .partner_onboarding(id)
            .await?
            .ok_or(RestartError::NotFound)?;
        let old = &view.onboarding;
        if !matches!(
            old.state,
            OnboardingState::Failed | OnboardingState::Deregistered
        ) {
            return Err(RestartError::NotRestartable(format!(
                "this onboarding is {}; only a failed or deregistered one can start over",
                old.state
            )));
        }
        let req = CreateOnboarding {
            mode: old.mode,
            waba_id: old.waba_id.clone(),
            phone_number_id: old.phone_number_id.clone(),
            business_id: old.business_id.clone(),
            code: None,
            event: None,
            customer_ref: old.customer_ref.clone(),
            session: None,
        };
        let customer = Customer {
            customer_ref: old.customer_ref.clone(),
            verified: view.customer_ref_verified,
            session_id: view.session_id.clone(),
            metadata: view.metadata.clone(),
            // The partner asks: the mode it ran before is the one it runs again.
            modes: None,
        };
        let first = self.inner.provider.first_step(old.mode);
        let inner = &self.inner;
        let lease = (inner.instance.as_str(), inner.clock.now() + inner.lease_for);
        let new = match store
            .insert_started_over(
                &req,
                old.launched_mode.unwrap_or(old.mode),
                &customer,
                None,
                Some((first, OnboardingState::Binding)),
                Some(lease),
                id,
                false,
            )
            .await?
        {
            Insert::Created(new) => new,
            // The session is not counted here, so neither of its refusals can come back.
            Insert::Existing(_) | Insert::SessionExhausted | Insert::SessionEnded => {
                return Err(RestartError::NotRestartable(
                    "this onboarding was started over already, or is being worked on".to_owned(),
                ))
            }
        };
        tracing::info!(id = %new.id, previous = id, "onboarding started over by the partner");
        self.carry_credentials(id, &new.id).await?;
        self.notify(&new.id).await;
        let ran = self.advance_from(new, first).await?;
        Ok(self.answer(ran).await?)
    }

    /// The sealed business token and PIN of `from` (when the provider keeps them), sealed
    /// again for `to`. A value that does not open is left behind: the run then asks the
    /// customer to sign up again.
    async fn carry_credentials(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let Some(vault) = self.vault() else {
            return Ok(());
        };
        let store = &self.inner.store;
        let Some(creds) = store.meta_credentials(from).await? else {
            return Ok(());
        };
        let reseal = |field, sealed: Option<&String>| {
            let open = vault.open(from, field, sealed?).ok()?;
            vault.seal(to, field, open.expose_secret()).ok()
        };
        if let Some(token) = reseal(Field::BusinessToken, creds.business_token.as_ref()) {
            store
                .save_meta_onboarding(to, &token, creds.data_localization_region.as_deref())
                .await?;
        }
        if let (Some(pin), Some(origin)) =
            (reseal(Field::Pin, creds.pin.as_ref()), creds.pin_origin)
        {
            store.save_pin(to, &pin, origin).await?;
        }
        Ok(())
    }
}
