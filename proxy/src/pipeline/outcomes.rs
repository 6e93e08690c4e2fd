//! What the pipeline's operations answer, and why each may refuse.

use time::OffsetDateTime;
use wire::{Onboarding, OnboardingError};

use crate::store::StoreError;

/// What `create` answered.
#[derive(Debug)]
pub enum Created {
    /// Stored now, its synchronous steps run.
    New(Onboarding),
    /// The same customer's onboarding of this WABA and number, stored before.
    Again(Onboarding),
}

/// Why `create` stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The session created all the onboardings it may.
    #[error("session exhausted")]
    SessionExhausted,
    /// The session was revoked or expired while the request ran.
    #[error("session ended")]
    SessionEnded,
    /// The WABA and number belong to another customer's onboarding.
    #[error("already onboarded for another customer")]
    AlreadyOnboarded,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a webhook event did ([`Pipeline::apply_event`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A type the proxy does not act on, or about no WABA or number: not stored.
    Ignored,
    /// Its id was seen before: not applied again.
    Duplicate,
    /// Stored and applied: this many onboardings changed.
    Changed(usize),
}

/// Why `retry` was refused.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// No onboarding has this id.
    #[error("not found")]
    NotFound,
    /// Nothing is retryable (connected, pending, running, or a non-retryable failure).
    #[error("{0}")]
    NothingToRetry(String),
    /// The number's register budget is spent until the given time.
    #[error("register budget spent")]
    BudgetSpent(time::OffsetDateTime),
    /// This onboarding was retried less than the retry cooldown ago; the wait left.
    #[error("retried too soon")]
    TooSoon(std::time::Duration),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why `submit_pin` was refused.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// No onboarding has this id.
    #[error("not found")]
    NotFound,
    /// The onboarding is not waiting for a PIN (or another request is working on it).
    #[error("{0}")]
    NotExpected(String),
    /// The customer sent as many PINs as the provider allows in its window.
    #[error("PIN attempts exhausted")]
    AttemptsExhausted,
    /// The number's register budget is spent until then.
    #[error("register budget spent")]
    BudgetSpent(OffsetDateTime),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The PIN could not be sealed.
    #[error("{0}")]
    Internal(String),
}

/// Why `deregister` did not deregister.
#[derive(Debug, thiserror::Error)]
pub enum DeregisterError {
    /// No onboarding has this id.
    #[error("not found")]
    NotFound,
    /// Not possible for this provider, mode or state.
    #[error("{0}")]
    NotDeregistrable(String),
    /// The number's deregister budget is spent until then.
    #[error("deregister budget spent")]
    BudgetSpent(OffsetDateTime),
    /// The provider (Meta) refused or failed; the onboarding is unchanged.
    #[error("{}", .0.message)]
    Meta(OnboardingError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
