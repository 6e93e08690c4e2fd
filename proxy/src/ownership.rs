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

use crate::graph::{GraphClient, VerifyError};
use crate::store::{Record, Store, StoreError};

/// The outcome of a passed ownership check.
#[derive(Debug)]
pub enum Verified {
    /// The same WABA and number were verified before with this very code: the existing
    /// onboarding, answered (to its own customer) without exchanging the code again.
    Again(Box<Record>),
    /// The code was exchanged and the WABA is the user's: its SHA-256 (hex), to store, and
    /// the customer's business token (kept only by the Meta provider).
    Code(String, secrecy::SecretString),
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
        Ok(token) => {
            tracing::info!(waba_id = %req.waba_id, "ownership verified");
            Ok(Verified::Code(hash, token))
        }
        Err(e) => {
            tracing::warn!(waba_id = %req.waba_id, error = %e, "ownership verification refused the sign-up");
            Err(e.into())
        }
    }
}
