//! The ownership check of a sign-up (on when `FB_APP_SECRET` is set), before anything is
//! stored or YCloud called.
//!
//! It runs before the idempotency lookup on purpose: a post that fails it must neither read
//! an existing onboarding (that would hand out another customer's record for a guessed WABA
//! id) nor create one (a forged post would occupy the WABA and number, and the real
//! customer's sign-up would then be answered with the forged record). So a refusal stores
//! nothing and the customer can sign up again with a fresh code.
//!
//! The code is single-use, so the SHA-256 of the code that verified an onboarding is stored
//! with it: the same post sent again is recognised by it and answered from the store.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wire::CreateOnboarding;

use crate::biz_app::{self, Resolved};
use crate::providers::graph::{GraphClient, Owned, VerifyError};
use crate::store::{Record, Store, StoreError};

/// The outcome of a passed ownership check.
#[derive(Debug)]
pub enum Verified {
    /// The same WABA and number were verified before with this very code: the existing
    /// onboarding, answered (to its own customer) without exchanging the code again.
    Again(Box<Record>),
    /// The code was exchanged and the WABA is the user's: its SHA-256 (hex), to store, and
    /// what the exchange gave: the customer's business token (kept only by the Meta
    /// provider) and the WABA's numbers.
    Code(String, Owned),
}

/// Why the check refused the sign-up.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No `code` came with the request.
    #[error("no code while verification is on")]
    CodeMissing,
    /// Meta refused the code, or the token does not reach the WABA or number; or the Graph
    /// API could not be asked.
    #[error(transparent)]
    Graph(#[from] VerifyError),
    /// Looking for an onboarding verified with the same code failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks that the user who signed in owns the posted WABA (and number), with `graph`;
/// `store` answers whether the same post was verified before.
///
/// # Errors
/// See [`Refusal`].
pub async fn verify(
    store: &Store,
    graph: &GraphClient,
    req: &CreateOnboarding,
) -> Result<Verified, Refusal> {
    let Some(code) = req.code.as_ref() else {
        tracing::info!(waba_id = %req.waba_id, "refused: no code while verification is on");
        return Err(Refusal::CodeMissing);
    };
    let hash = hex::encode(Sha256::digest(code.as_str().as_bytes()));
    if let Some((existing, Some(stored))) = store
        .find_by_key(&req.waba_id, req.phone_number_id.as_ref())
        .await?
    {
        if bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(Verified::Again(Box::new(existing)));
        }
    }
    match graph
        .verify_ownership(code.as_str(), &req.waba_id, req.phone_number_id.as_ref())
        .await
    {
        Ok(owned) => {
            tracing::info!(waba_id = %req.waba_id, "ownership verified");
            Ok(Verified::Code(hash, owned))
        }
        Err(e) => {
            tracing::warn!(waba_id = %req.waba_id, error = %e, "ownership verification refused the sign-up");
            Err(e.into())
        }
    }
}

/// Settles the sign-up's path from what Meta says of its number, with the token of a passed
/// check ([`crate::biz_app`]): `req.mode` (already the mode the finish event reported)
/// becomes coexistence when the number is on the WhatsApp Business app, so such a number
/// never reaches a register call; a coexistence finish without a number gets the WABA's one
/// on the Business app, when exactly one is (else it goes on without, and the run says
/// which numbers a person may choose from). A number Meta does not describe in the WABA's
/// list is read on its own; when that read fails, the event's word stands (logged).
pub async fn settle_path(graph: &GraphClient, owned: &Owned, req: &mut CreateOnboarding) {
    match req.phone_number_id.clone() {
        Some(phone) => {
            let listed = owned
                .numbers
                .iter()
                .find(|n| n.id.as_deref() == Some(phone.as_str()) && n.is_on_biz_app.is_some())
                .cloned();
            let facts = match listed {
                Some(facts) => Some(facts),
                None => match graph.number_facts(&owned.token, &phone).await {
                    Ok(facts) => Some(facts),
                    Err(e) => {
                        tracing::warn!(waba_id = %req.waba_id, error = %e, "the number's Business app status could not be read; the finish event decides");
                        None
                    }
                },
            };
            let decided = biz_app::decide(req.mode, facts.as_ref());
            if decided != req.mode {
                tracing::info!(waba_id = %req.waba_id, "Meta reports the number on the WhatsApp Business app: coexistence, never registered");
            }
            req.mode = decided;
        }
        None if req.mode == wire::Mode::Coexistence => {
            if let Resolved::One(phone) = biz_app::resolve_coexistence_number(&owned.numbers) {
                tracing::info!(waba_id = %req.waba_id, "the coexistence finish named no number; the WABA's one on the Business app is it");
                req.phone_number_id = Some(phone);
            }
        }
        None => {}
    }
}
