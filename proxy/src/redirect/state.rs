//! The redirect flow's `state`: what the proxy hands the browser before it leaves for Meta's
//! dialog, and what Meta hands back on `/oauth/callback`.
//!
//! `v1.<base64url JSON claims>.<base64url HMAC-SHA256>`: the claims bind the flow to its
//! session and mode and say when it ends (30 minutes). The MAC makes a tampered or invented
//! state fail before the database is asked; the database makes it single use across every
//! instance (its SHA-256 is stored at issue and consumed by one conditional `UPDATE`).
//!
//! The key must be the same on every instance, and must not be a secret of its own to
//! configure: it is derived from `FB_APP_SECRET` (HMAC-SHA256 keyed with the app secret over
//! a fixed label), which the redirect flow needs anyway for the code exchange. Rotating the
//! app secret ends the flows under way (at most 30 minutes' worth). A sandbox without an app
//! secret draws a random key per process.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use wire::{Locale, Mode};

/// How long a state lives: Meta's dialog can take a while (a new business, a verification
/// SMS), but not all day.
pub const STATE_LIFETIME: Duration = Duration::minutes(30);
/// Longest state read: anything longer was not issued here.
const MAX_STATE_CHARS: usize = 1024;
/// What the key is derived for, so the app secret's HMAC under this label is used nowhere else.
const KEY_LABEL: &[u8] = b"wa-signup redirect-flow state v1";
const VERSION: &str = "v1";

type HmacSha256 = Hmac<Sha256>;

/// The key states are signed with.
#[derive(Clone)]
pub struct StateKey([u8; 32]);

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(..)")
    }
}

impl StateKey {
    /// The key every instance derives from the same `FB_APP_SECRET`.
    pub fn from_app_secret(secret: &SecretString) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(KEY_LABEL);
        StateKey(mac.finalize().into_bytes().into())
    }

    /// A key of this process only (sandbox mode without an app secret).
    ///
    /// # Errors
    /// When the operating system has no randomness to give.
    pub fn random() -> Result<Self, String> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| format!("no randomness for the state key: {e}"))?;
        Ok(StateKey(key))
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(VERSION.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac
    }
}

/// What a state says, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// 128 random bits, so two states of one session and mode differ.
    #[serde(rename = "n")]
    nonce: String,
    /// The onboarding session the flow belongs to (none: anonymous onboardings allowed).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The button's mode.
    #[serde(rename = "m")]
    pub mode: Mode,
    /// The page's language, for the proxy's pages on the way back.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// When it was issued and when it ends (unix seconds).
    #[serde(rename = "i")]
    pub issued_at: i64,
    #[serde(rename = "x")]
    expires_at: i64,
}

impl Claims {
    /// New claims for a flow starting at `now`.
    ///
    /// # Errors
    /// When the operating system has no randomness to give.
    pub fn new(
        session_id: Option<String>,
        mode: Mode,
        locale: Option<Locale>,
        now: OffsetDateTime,
    ) -> Result<Self, String> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| format!("no randomness for a state: {e}"))?;
        Ok(Claims {
            nonce: URL_SAFE_NO_PAD.encode(nonce),
            session_id,
            mode,
            locale,
            issued_at: now.unix_timestamp(),
            expires_at: (now + STATE_LIFETIME).unix_timestamp(),
        })
    }

    /// When the flow began.
    pub fn issued(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.issued_at).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// When the state stops working.
    pub fn expires(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.expires_at).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// Why a state was not accepted. The customer is told one sentence for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not of the issued shape (absent, cut, invented).
    #[error("malformed")]
    Malformed,
    /// The MAC does not match: tampered, or signed with another key.
    #[error("bad signature")]
    BadSignature,
    /// Older than its lifetime.
    #[error("expired")]
    Expired,
}

/// The state text for `claims`.
pub fn issue(key: &StateKey, claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let tag = key.mac(&payload).finalize().into_bytes();
    format!("{VERSION}.{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Reads a state Meta handed back: its MAC first (in constant time), then its claims and age.
///
/// # Errors
/// See [`StateError`].
pub fn open(key: &StateKey, text: &str, now: OffsetDateTime) -> Result<Claims, StateError> {
    if text.len() > MAX_STATE_CHARS {
        return Err(StateError::Malformed);
    }
    let mut parts = text.split('.');
    let (Some(VERSION), Some(payload), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(StateError::Malformed);
    };
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| StateError::Malformed)?;
    key.mac(payload)
        .verify_slice(&tag)
        .map_err(|_| StateError::BadSignature)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| StateError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| StateError::Malformed)?;
    if now.unix_timestamp() >= claims.expires_at {
        return Err(StateError::Expired);
    }
    Ok(claims)
}

/// The SHA-256 (hex) a state, or a result handle, is stored and looked up by.
pub fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StateKey {
        StateKey::from_app_secret(&SecretString::from("app-secret"))
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn claims(session: Option<&str>) -> Claims {
        Claims::new(
            session.map(str::to_owned),
            Mode::Standard,
            Some(Locale::Vi),
            now(),
        )
        .unwrap()
    }

    #[test]
    fn a_state_opens_with_the_same_key_until_it_expires() {
        let c = claims(Some("session-a"));
        let text = issue(&key(), &c);
        assert!(text.starts_with("v1."));
        assert_eq!(open(&key(), &text, now()), Ok(c.clone()));
        // Another instance derives the same key from the same app secret.
        let other_instance = StateKey::from_app_secret(&SecretString::from("app-secret"));
        assert_eq!(open(&other_instance, &text, now()), Ok(c.clone()));
        let later = now() + STATE_LIFETIME;
        assert_eq!(open(&key(), &text, later), Err(StateError::Expired));
        assert!(open(&key(), &text, later - Duration::seconds(1)).is_ok());
        assert_eq!(c.expires() - c.issued(), STATE_LIFETIME);
    }

    #[test]
    fn tampered_states_are_refused() {
        let text = issue(&key(), &claims(Some("session-a")));
        // Another session's claims under the first state's tag.
        let other = issue(&key(), &claims(Some("session-b")));
        let (_, payload_b) = other.split_once('.').unwrap();
        let payload_b = payload_b.split('.').next().unwrap();
        let tag_a = text.rsplit('.').next().unwrap();
        let swapped = format!("v1.{payload_b}.{tag_a}");
        assert_eq!(open(&key(), &swapped, now()), Err(StateError::BadSignature));
        // One changed character of the tag.
        let mut flipped = text.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        assert!(open(&key(), &flipped, now()).is_err());
        // Signed with another app's secret.
        let foreign = StateKey::from_app_secret(&SecretString::from("other-secret"));
        assert_eq!(open(&foreign, &text, now()), Err(StateError::BadSignature));
        for bad in [
            "",
            "v1",
            "v1..",
            "v2.a.b",
            "v1.a.b.c",
            "v1.!!.!!",
            &"x".repeat(2000),
        ] {
            assert!(open(&key(), bad, now()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn states_differ_and_bind_their_session_and_mode() {
        let a = claims(Some("s"));
        let b = claims(Some("s"));
        assert_ne!(issue(&key(), &a), issue(&key(), &b));
        let opened = open(&key(), &issue(&key(), &a), now()).unwrap();
        assert_eq!(opened.session_id.as_deref(), Some("s"));
        assert_eq!(opened.mode, Mode::Standard);
        assert_eq!(opened.locale, Some(Locale::Vi));
        assert_eq!(digest("x").len(), 64);
        assert_ne!(digest(&issue(&key(), &a)), digest(&issue(&key(), &b)));
    }
}
