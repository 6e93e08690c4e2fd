//! Onboarding sessions: the partner's backend says who the customer is, the browser only
//! carries an opaque token.
//!
//! A token is 256 random bits, shown once (in the answer that creates the session) and
//! stored only as its SHA-256, so a copy of the database opens no session. Every
//! `POST /api/onboardings` is admitted here first ([`Sessions::admit`]): the onboarding's
//! customer comes from the session, never from the body.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use url::Url;
use wire::{
    ClientToken, CreateOnboarding, CreateSession, Mode, Session, SessionInfo, SessionToken,
};

use crate::clock::format_time;
use crate::clock::Clock;
use crate::error::Error;
use crate::store::{Customer, SessionRecord, Store};

/// Prefix of every token, so one found in a log or a ticket is recognisable.
const TOKEN_PREFIX: &str = "ses_";

/// A redirect flow's customer, and where their session sends them back to.
#[derive(Debug, Clone)]
pub struct FlowCustomer {
    /// Who the onboarding is for.
    pub customer: Customer,
    /// The session's `return_url`: where the customer lands with the result.
    pub return_url: Option<String>,
}

/// Creates, checks and revokes sessions.
#[derive(Debug, Clone)]
pub struct Sessions {
    store: Store,
    clock: Clock,
    /// Live mode without `ALLOW_ANONYMOUS_ONBOARDINGS`: no onboarding without a session.
    required: bool,
    /// `PUBLIC_URL`: where the hosted page's links point.
    public_url: Url,
}

/// The SHA-256 (hex) a token is stored and looked up by.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Prefix of every client token (`POST /api/onboardings`' answer).
const CLIENT_TOKEN_PREFIX: &str = "cli_";

/// `prefix` and 32 bytes from the operating system's generator, base64url.
fn random_token(prefix: &str) -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for a token: {e}")))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// A fresh session token.
fn new_token() -> Result<SessionToken, Error> {
    SessionToken::parse(random_token(TOKEN_PREFIX)?)
        .map_err(|e| Error::Internal(format!("token shape: {e}")))
}

impl Sessions {
    /// Sessions over `store`; `required`: onboardings need one.
    pub fn new(store: Store, clock: Clock, required: bool, public_url: Url) -> Self {
        Self {
            store,
            clock,
            required,
            public_url,
        }
    }

    /// Creates a session; the answer carries the token and the hosted link, shown this once.
    ///
    /// # Errors
    /// Store failures, or no randomness.
    pub async fn create(&self, req: &CreateSession) -> Result<Session, Error> {
        let token = new_token()?;
        let mut session = self
            .store
            .insert_session(req, &token_hash(token.as_str()))
            .await?;
        session.url = Some(format!(
            "{}/?session={}",
            self.public_url.as_str().trim_end_matches('/'),
            token.as_str()
        ));
        session.token = Some(token);
        tracing::info!(session = %session.id, "session created");
        Ok(session)
    }

    /// Revokes a session at once.
    ///
    /// # Errors
    /// [`Error::SessionNotFound`]; store failures.
    pub async fn revoke(&self, id: &str) -> Result<(), Error> {
        match self.store.revoke_session(id).await? {
            true => {
                tracing::info!(session = %id, "session revoked");
                Ok(())
            }
            false => Err(Error::SessionNotFound),
        }
    }

    /// The live session a token opens.
    ///
    /// # Errors
    /// [`Error::SessionInvalid`] when unknown, expired or revoked (one answer for the three,
    /// so a guesser learns nothing); store failures.
    pub async fn open(&self, token: &SessionToken) -> Result<SessionRecord, Error> {
        match self
            .store
            .session_by_token(&token_hash(token.as_str()))
            .await
        {
            Ok(Some(s)) if s.is_live(self.clock.now()) => Ok(s),
            Ok(_) => Err(Error::SessionInvalid),
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// What a page holding `token` may offer; the first time, notes that the link was
    /// opened.
    ///
    /// # Errors
    /// As [`Sessions::open`].
    pub async fn info(&self, token: &SessionToken) -> Result<SessionInfo, Error> {
        let s = self.open(token).await?;
        // The funnel's "link opened": the page asks this as soon as it has a token.
        if !s.opened {
            self.store.mark_session_opened(&s.id).await?;
        }
        // A reauthorizing page launches Embedded Signup for the onboarding's WABA.
        let reauthorize = match &s.reauthorize_onboarding_id {
            Some(id) => self.store.get(id).await?.map(|r| wire::ReauthorizeTarget {
                onboarding_id: r.onboarding.id,
                waba_id: r.onboarding.waba_id,
                phone_number_id: r.onboarding.phone_number_id,
            }),
            None => None,
        };
        Ok(SessionInfo {
            reauthorize,
            modes: s.modes,
            locale: s.locale,
            expires_at: format_time(s.expires_at),
            return_url: s.return_url,
            prefill: s.prefill,
            customer_name: s.customer_name,
        })
    }

    /// Whether a page holding `token` may start a `mode` sign-in (the redirect flow's
    /// start): the session, or none when anonymous onboardings are allowed.
    ///
    /// # Errors
    /// `session_required`, `session_invalid`, `mode_not_allowed`; store failures.
    pub async fn admit_start(
        &self,
        token: Option<&SessionToken>,
        mode: wire::Mode,
    ) -> Result<Option<SessionRecord>, Error> {
        let Some(token) = token else {
            return match self.required {
                true => Err(Error::SessionRequired),
                false => Ok(None),
            };
        };
        let session = self.open(token).await?;
        if !session.modes.contains(&mode) {
            return Err(Error::ModeNotAllowed(mode));
        }
        Ok(Some(session))
    }

    /// Who a redirect flow's onboarding is for, when Meta sends the customer back: the
    /// session the flow started with, which must still be live and allow `mode`; with its
    /// `return_url`.
    ///
    /// # Errors
    /// `session_invalid` (revoked, expired or gone meanwhile), `session_required`,
    /// `mode_not_allowed`; store failures.
    pub async fn customer_of(
        &self,
        session_id: Option<&str>,
        mode: wire::Mode,
    ) -> Result<FlowCustomer, Error> {
        let Some(id) = session_id else {
            return match self.required {
                true => Err(Error::SessionRequired),
                false => Ok(FlowCustomer {
                    customer: Customer {
                        customer_ref: None,
                        verified: false,
                        session_id: None,
                        metadata: None,
                        modes: None,
                    },
                    return_url: None,
                }),
            };
        };
        let session = match self.store.session_by_id(id).await? {
            Some(s) if s.is_live(self.clock.now()) => s,
            _ => return Err(Error::SessionInvalid),
        };
        if !session.modes.contains(&mode) {
            return Err(Error::ModeNotAllowed(mode));
        }
        Ok(FlowCustomer {
            customer: Customer {
                customer_ref: Some(session.customer_ref),
                verified: true,
                session_id: Some(session.id),
                metadata: session.metadata,
                modes: Some(session.modes),
            },
            return_url: session.return_url,
        })
    }

    /// Whether session `id` is still live (neither revoked nor expired).
    ///
    /// # Errors
    /// `session_invalid` when it is not (or is gone); store failures.
    pub async fn ensure_live(&self, id: &str) -> Result<(), Error> {
        match self.store.session_by_id(id).await? {
            Some(s) if s.is_live(self.clock.now()) => Ok(()),
            _ => Err(Error::SessionInvalid),
        }
    }

    /// A new client token for onboarding `onboarding_id`, answered to the customer whose
    /// session is `session_id`: it works as long as that session does.
    ///
    /// # Errors
    /// Store failures, or no randomness.
    pub async fn issue_client_token(
        &self,
        onboarding_id: &str,
        session_id: Option<&str>,
    ) -> Result<ClientToken, Error> {
        let token = ClientToken::parse(random_token(CLIENT_TOKEN_PREFIX)?)
            .map_err(|e| Error::Internal(format!("token shape: {e}")))?;
        self.store
            .insert_client_token(&token_hash(token.as_str()), onboarding_id, session_id)
            .await?;
        Ok(token)
    }

    /// Whether `authorization` (the request's header) carries a client token of onboarding
    /// `id` whose session is still live.
    ///
    /// # Errors
    /// [`Error::ClientTokenInvalid`] when missing, malformed, of another onboarding, or its
    /// session revoked or expired (one answer for all); store failures.
    pub async fn authorize(
        &self,
        authorization: Option<&axum::http::HeaderValue>,
        id: &str,
    ) -> Result<(), Error> {
        let token = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| ClientToken::parse(t.trim()).ok())
            .ok_or(Error::ClientTokenInvalid)?;
        let grant = self
            .store
            .client_grant(&token_hash(token.as_str()), self.clock.now())
            .await?
            .ok_or(Error::ClientTokenInvalid)?;
        if grant.onboarding_id != id || grant.session_live == Some(false) {
            return Err(Error::ClientTokenInvalid);
        }
        Ok(())
    }

    /// Who a `POST /api/onboardings` is for: the session's customer, or (anonymous
    /// onboardings allowed) the body's `customer_ref`, unverified.
    ///
    /// # Errors
    /// `session_required`, `session_invalid`, `mode_not_allowed`, `customer_ref_mismatch`;
    /// store failures.
    pub async fn admit(&self, req: &CreateOnboarding) -> Result<Customer, Error> {
        let Some(token) = &req.session else {
            return match self.required {
                true => Err(Error::SessionRequired),
                false => Ok(Customer::anonymous(req)),
            };
        };
        let session = self.open(token).await?;
        // The mode Meta reported, not the button's: the finish decides the path.
        let mode = crate::biz_app::reported_mode(req.mode, req.event.as_ref());
        if !session.modes.contains(&mode) {
            return Err(Error::ModeNotAllowed(mode));
        }
        if req
            .customer_ref
            .as_ref()
            .is_some_and(|c| *c != session.customer_ref)
        {
            return Err(Error::CustomerRefMismatch);
        }
        Ok(Customer {
            customer_ref: Some(session.customer_ref),
            verified: true,
            session_id: Some(session.id),
            metadata: session.metadata,
            modes: Some(session.modes),
        })
    }
}

impl Sessions {
    /// Who a popup outcome (`POST /api/signup-events`) is for: the session's customer, or
    /// nobody when sessions are not required and none came. The same rules as
    /// [`Sessions::admit`], for the button's `mode`.
    ///
    /// # Errors
    /// `session_required`, `session_invalid`, `mode_not_allowed`; store failures.
    pub async fn admit_report(
        &self,
        session: Option<&SessionToken>,
        mode: Mode,
    ) -> Result<Customer, Error> {
        let Some(token) = session else {
            return match self.required {
                true => Err(Error::SessionRequired),
                false => Ok(Customer::default()),
            };
        };
        let session = self.open(token).await?;
        if !session.modes.contains(&mode) {
            return Err(Error::ModeNotAllowed(mode));
        }
        Ok(Customer {
            customer_ref: Some(session.customer_ref),
            verified: true,
            session_id: Some(session.id),
            metadata: session.metadata,
            modes: Some(session.modes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with(TOKEN_PREFIX));
        // 32 bytes of base64 without padding: 43 characters, 256 bits.
        assert_eq!(a.as_str().len(), TOKEN_PREFIX.len() + 43);
        assert!(SessionToken::parse(a.as_str()).is_ok());
        assert_eq!(token_hash(a.as_str()).len(), 64);
        assert_ne!(token_hash(a.as_str()), token_hash(b.as_str()));
    }
}
