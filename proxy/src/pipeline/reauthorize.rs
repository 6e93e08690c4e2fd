//! Reauthorization (a provider that keeps the customer's business token: Meta's): when Meta
//! refuses the business token (190: expired or revoked) on any call that uses it, or the
//! partner asks (`POST /api/partner/onboardings/{id}/reauthorize`), the onboarding waits in
//! `action_required` with code `reauthorize` (`onboarding.reauthorize_required`, once). The
//! partner then creates a session with `reauthorize_onboarding_id`; its page launches
//! Embedded Signup prefilled with the onboarding's WABA, and the sign-in is accepted only for
//! that WABA and number, reached by the new token (checked by the route before anything is
//! stored). The token is sealed again and replaces the stored one with
//! `onboarding.reauthorized` in one transaction, and the run takes the onboarding back to
//! where it stands with the new token (the number is read: `connected`, or `pending` and
//! followed; an interrupted run goes on from its stopped step).
//!
//! With YCloud there is nothing to renew: YCloud exchanged the customer's code and holds the
//! token, and no 190 reaches the proxy. Both the partner's request and a session naming an
//! onboarding are refused (`not_reauthorizable`).

use secrecy::{ExposeSecret, SecretString};
use wire::{CustomerRef, ErrorCode, Mode, Onboarding, OnboardingError, OnboardingState};
use wire::{PhoneNumberId, ReauthorizeTarget, WabaId};

use super::{detached, Pipeline};
use crate::rules::person_error;
use crate::store::{reauthorizable, Reauthorization, StoreError};
use crate::vault::Field;

/// What an onboarding whose business token Meta refuses (190) says to do.
pub const REAUTHORIZE_MESSAGE: &str = "Meta no longer accepts the customer's business token \
(190: expired, or the customer removed the app or changed their password): the customer signs \
in again through a session with reauthorize_onboarding_id, for the same WhatsApp Business \
Account and number.";

/// Why a reauthorization was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReauthorizeError {
    /// No onboarding has this id.
    #[error("not found")]
    NotFound,
    /// The provider or the onboarding's state (or customer) does not allow it.
    #[error("{0}")]
    NotReauthorizable(String),
    /// The sign-in is for another WABA or number.
    #[error("{0}")]
    Mismatch(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The error of an onboarding waiting for its customer to sign in again.
pub(crate) fn reauthorize_error() -> OnboardingError {
    person_error(ErrorCode::Reauthorize, REAUTHORIZE_MESSAGE.to_owned())
}

/// Whether a sign-in for `waba` and `phone` is for the onboarding `target` renews.
pub fn same_number(
    target: &ReauthorizeTarget,
    waba: &WabaId,
    phone: Option<&PhoneNumberId>,
) -> Result<(), ReauthorizeError> {
    if *waba != target.waba_id {
        return Err(ReauthorizeError::Mismatch(format!(
            "this sign-in is for WhatsApp Business Account {waba}, not {} whose access is being \
             renewed; sign in again and pick that account",
            target.waba_id
        )));
    }
    if phone != target.phone_number_id.as_ref() {
        return Err(ReauthorizeError::Mismatch(
            "this sign-in is for another phone number than the one whose access is being \
             renewed; sign in again and pick that number"
                .to_owned(),
        ));
    }
    Ok(())
}

impl Pipeline {
    /// Meta refused onboarding `id`'s business token (190) outside a run (a health read, the
    /// follower, a deregister): the onboarding asks for reauthorization.
    pub(crate) async fn token_refused(&self, id: &str) {
        match self
            .inner
            .store
            .ask_reauthorization(id, reauthorize_error())
            .await
        {
            Ok(Reauthorization::Asked) => {
                tracing::warn!(
                    id,
                    "Meta refused the business token (190): reauthorization required"
                );
                self.notify(id).await;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(id, error = %e, "asking for reauthorization failed"),
        }
    }

    /// The partner asks the customer of onboarding `id` to renew its business token.
    ///
    /// # Errors
    /// See [`ReauthorizeError`].
    pub async fn request_reauthorization(&self, id: &str) -> Result<Onboarding, ReauthorizeError> {
        let store = &self.inner.store;
        if let Err(why) = self.inner.provider.vault() {
            store.get(id).await?.ok_or(ReauthorizeError::NotFound)?;
            return Err(ReauthorizeError::NotReauthorizable(why.to_owned()));
        }
        match store.ask_reauthorization(id, reauthorize_error()).await? {
            Reauthorization::Asked => {
                tracing::info!(id, "reauthorization asked for by the partner");
                self.notify(id).await;
            }
            Reauthorization::Already => {}
            Reauthorization::Missing => return Err(ReauthorizeError::NotFound),
            Reauthorization::NotAllowed(state) => return Err(not_allowed(state)),
        }
        let o = store.get(id).await?.ok_or(ReauthorizeError::NotFound)?;
        Ok(o.onboarding)
    }

    /// What a session reauthorizing onboarding `id` for `customer` shows its page, and the
    /// mode its button launched: the onboarding must be this customer's, and in a state
    /// whose token may be renewed.
    ///
    /// # Errors
    /// See [`ReauthorizeError`].
    pub async fn reauthorize_target(
        &self,
        id: &str,
        customer: &CustomerRef,
    ) -> Result<(ReauthorizeTarget, Mode), ReauthorizeError> {
        let o = self
            .inner
            .store
            .get(id)
            .await?
            .ok_or(ReauthorizeError::NotFound)?
            .onboarding;
        if let Err(why) = self.inner.provider.vault() {
            return Err(ReauthorizeError::NotReauthorizable(why.to_owned()));
        }
        if o.customer_ref.as_ref() != Some(customer) {
            return Err(ReauthorizeError::NotReauthorizable(
                "reauthorize_onboarding_id names an onboarding of another customer_ref".to_owned(),
            ));
        }
        if !reauthorizable(o.state) {
            return Err(not_allowed(o.state));
        }
        let mode = o.launched_mode.unwrap_or(o.mode);
        Ok((
            ReauthorizeTarget {
                onboarding_id: o.id,
                waba_id: o.waba_id,
                phone_number_id: o.phone_number_id,
            },
            mode,
        ))
    }

    /// Accepts a reauthorization of onboarding `id` with `token`, whose reach of the
    /// onboarding's WABA and number was checked: replaces the stored token, then takes the
    /// onboarding back to where it stands (module documentation). Runs in a task of its own.
    ///
    /// # Errors
    /// See [`ReauthorizeError`].
    pub async fn reauthorize(
        &self,
        id: &str,
        token: SecretString,
    ) -> Result<Onboarding, ReauthorizeError> {
        let pipeline = self.clone();
        let id = id.to_owned();
        detached(async move { pipeline.reauthorize_here(&id, token).await }).await
    }

    async fn reauthorize_here(
        &self,
        id: &str,
        token: SecretString,
    ) -> Result<Onboarding, ReauthorizeError> {
        let vault = self
            .inner
            .provider
            .vault()
            .map_err(|why| ReauthorizeError::NotReauthorizable(why.to_owned()))?;
        let store = &self.inner.store;
        let o = store
            .get(id)
            .await?
            .ok_or(ReauthorizeError::NotFound)?
            .onboarding;
        if !reauthorizable(o.state) {
            return Err(not_allowed(o.state));
        }
        let sealed = vault
            .seal(id, Field::BusinessToken, token.expose_secret())
            .map_err(|e| StoreError::Corrupt {
                id: id.to_owned(),
                what: e.to_string(),
            })?;
        let waiting = o.state == OnboardingState::ActionRequired
            && o.error.as_ref().is_some_and(|e| {
                matches!(
                    e.code,
                    ErrorCode::Reauthorize | ErrorCode::BusinessTokenInvalid
                )
            });
        if !store.renew_business_token(id, &sealed, waiting).await? {
            return Err(ReauthorizeError::NotFound);
        }
        tracing::info!(id, "business token renewed (reauthorized)");
        self.notify(id).await;
        if !waiting {
            let o = store.get(id).await?.ok_or(ReauthorizeError::NotFound)?;
            return Ok(o.onboarding);
        }
        let ran = self.advance(id).await?;
        Ok(self.answer(ran).await?)
    }
}

/// The refusal for an onboarding in `state`.
fn not_allowed(state: OnboardingState) -> ReauthorizeError {
    ReauthorizeError::NotReauthorizable(match state {
        OnboardingState::Failed | OnboardingState::Deregistered | OnboardingState::Disconnected => {
            format!(
                "this onboarding is {state}: its number is no longer handed over, so there is no \
                 access to renew (start it over instead)"
            )
        }
        _ => format!(
            "this onboarding is {state} and still moving; ask again once it is connected, \
             pending or needs action"
        ),
    })
}
