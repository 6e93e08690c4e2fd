//! Creating an onboarding with Meta's Cloud API: the code exchanged for the customer's
//! business token, sealed and stored with the onboarding before its run starts.

use secrecy::{ExposeSecret, SecretString};
use wire::{CreateOnboarding, Mode, StorageRegion};

use crate::pipeline::{detached, CreateError, Created, Pipeline};
use crate::store::{Customer, Step};
use crate::vault::Field;

impl Pipeline {
    /// [`Pipeline::create`] for the Meta provider: stores the onboarding, then its sealed
    /// business token and local-storage region (the session's, else the default; standard
    /// mode only), then runs its steps.
    ///
    /// # Errors
    /// See [`CreateError`].
    pub async fn create_direct(
        &self,
        req: CreateOnboarding,
        launched: Mode,
        customer: &Customer,
        code_sha256: Option<&str>,
        token: SecretString,
    ) -> Result<Created, CreateError> {
        if self.direct().is_none() {
            return self.create(req, launched, customer, code_sha256).await;
        }
        let pipeline = self.clone();
        let customer = customer.clone();
        let code_sha256 = code_sha256.map(str::to_owned);
        detached(async move {
            pipeline
                .create_direct_here(req, launched, &customer, code_sha256.as_deref(), token)
                .await
        })
        .await
    }

    /// [`Pipeline::create_direct`], in the task it runs in.
    async fn create_direct_here(
        &self,
        req: CreateOnboarding,
        launched: Mode,
        customer: &Customer,
        code_sha256: Option<&str>,
        token: SecretString,
    ) -> Result<Created, CreateError> {
        let Some(direct) = self.direct() else {
            return self.create_here(req, launched, customer, code_sha256).await;
        };
        let first = Step::SubscribeApp;
        let onboarding = match self
            .insert_post(&req, launched, customer, code_sha256, first)
            .await?
        {
            Ok(onboarding) => onboarding,
            Err(answered) => return Ok(answered),
        };
        let id = onboarding.id.clone();
        let region = match req.mode {
            // Local storage is not available for numbers shared with the app: a session's
            // region applies to its standard numbers only.
            Mode::Coexistence => {
                if let Some(session) = &customer.session_id {
                    if self.inner.store.session_region(session).await?.is_some() {
                        tracing::info!(id, "coexistence number: no local storage region (Meta offers none for numbers on the WhatsApp Business app)");
                    }
                }
                None
            }
            Mode::Standard => match &customer.session_id {
                Some(session) => self
                    .inner
                    .store
                    .session_region(session)
                    .await?
                    .and_then(|r| StorageRegion::parse(r).ok())
                    .or_else(|| direct.default_region.clone()),
                None => direct.default_region.clone(),
            },
        };
        match direct
            .vault
            .seal(&id, Field::BusinessToken, token.expose_secret())
        {
            Ok(sealed) => {
                self.inner
                    .store
                    .save_meta_onboarding(&id, &sealed, region.as_ref().map(|r| r.as_str()))
                    .await?
            }
            Err(e) => tracing::error!(id, error = %e, "the business token could not be sealed"),
        }
        tracing::debug!(id, mode = %req.mode, waba_id = %req.waba_id, "onboarding received (Meta)");
        self.notify(&id).await;
        let ran = self.advance_from(onboarding, first).await?;
        Ok(Created::New(self.answer(ran).await?))
    }
}
