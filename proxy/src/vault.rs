//! Secrets at rest: the customers' business tokens and their numbers' PINs, sealed with
//! `TOKEN_ENCRYPTION_KEY` before they reach the database.
//!
//! ChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`), a fresh 96-bit nonce from the
//! operating system's generator for every value, and the onboarding id with the field's name
//! as associated data: a sealed value copied onto another onboarding, or a sealed PIN moved
//! into the token column, no longer opens. Stored as `v1:` and the base64 of nonce and
//! ciphertext, so a later key or scheme can be told apart.
//!
//! Earlier keys (`TOKEN_ENCRYPTION_OLD_KEYS`) still open what they sealed; what opens only
//! with one of them is sealed again with the current key at start-up
//! (`Pipeline::reseal_secrets`), so a key can be changed without stranding anything.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use secrecy::{ExposeSecret, SecretBox, SecretString};

/// The prefix of every sealed value this version writes.
const PREFIX: &str = "v1:";
/// ChaCha20-Poly1305's nonce length, in bytes.
const NONCE_BYTES: usize = 12;

/// `TOKEN_ENCRYPTION_KEY`: 32 bytes, never shown (`Debug` prints nothing of it).
#[derive(Clone)]
pub struct Key(std::sync::Arc<SecretBox<[u8; 32]>>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key([redacted])")
    }
}

impl Key {
    /// Reads the base64 (standard alphabet, padded or not) of exactly 32 bytes.
    ///
    /// # Errors
    /// A sentence saying what is wrong, never quoting the value.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let engine = base64::engine::general_purpose::STANDARD;
        let bytes = engine
            .decode(text.trim())
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim()))
            .map_err(|_| "must be base64 (value not shown)".to_owned())?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "must decode to exactly 32 bytes, got {} (value not shown); e.g. `openssl rand -base64 32`",
                b.len()
            )
        })?;
        Ok(Self(std::sync::Arc::new(SecretBox::new(Box::new(key)))))
    }

    /// A random key, for a sandbox that was given none (nothing it seals outlives it).
    ///
    /// # Errors
    /// When the operating system has no randomness to give.
    pub fn random() -> Result<Self, String> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| format!("no randomness for a key: {e}"))?;
        Ok(Self(std::sync::Arc::new(SecretBox::new(Box::new(key)))))
    }
}

/// Which secret a sealed value is, bound into its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The customer's business token.
    BusinessToken,
    /// The number's two-step verification PIN.
    Pin,
}

impl Field {
    fn as_str(self) -> &'static str {
        match self {
            Field::BusinessToken => "business_token",
            Field::Pin => "pin",
        }
    }
}

/// Why a sealed value could not be made or opened. Never carries the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// No randomness for a nonce.
    #[error("no randomness for a nonce")]
    Random,
    /// Not a value this vault wrote, tampered with, sealed for another onboarding or field,
    /// or sealed with another key.
    #[error("the sealed value does not open with this key")]
    Unreadable,
}

/// Seals with one key; opens with it or with earlier keys.
#[derive(Clone)]
pub struct Vault {
    cipher: ChaCha20Poly1305,
    /// `TOKEN_ENCRYPTION_OLD_KEYS`, in their order: they only open.
    old: Vec<ChaCha20Poly1305>,
}

/// Which key opened a sealed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opener {
    /// `TOKEN_ENCRYPTION_KEY`.
    Current,
    /// The earlier key at this index of `TOKEN_ENCRYPTION_OLD_KEYS`.
    Old(usize),
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault([redacted])")
    }
}

fn associated_data(onboarding_id: &str, field: Field) -> String {
    format!("{onboarding_id}/{}", field.as_str())
}

impl Vault {
    /// A vault over `key`.
    pub fn new(key: &Key) -> Self {
        Self::with_old_keys(key, &[])
    }

    /// A vault sealing with `key` that also opens what the earlier keys `old` sealed.
    pub fn with_old_keys(key: &Key, old: &[Key]) -> Self {
        let cipher =
            |k: &Key| ChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(k.0.expose_secret()));
        Self {
            cipher: cipher(key),
            old: old.iter().map(cipher).collect(),
        }
    }

    /// How many earlier keys it holds.
    pub fn old_keys(&self) -> usize {
        self.old.len()
    }

    /// Seals `secret` as `field` of onboarding `onboarding_id`.
    ///
    /// # Errors
    /// [`VaultError::Random`] when no nonce can be drawn.
    pub fn seal(
        &self,
        onboarding_id: &str,
        field: Field,
        secret: &str,
    ) -> Result<String, VaultError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|_| VaultError::Random)?;
        let aad = associated_data(onboarding_id, field);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            // Only a message longer than 256 GiB fails to encrypt.
            .map_err(|_| VaultError::Unreadable)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Opens what [`Vault::seal`] made for the same onboarding and field.
    ///
    /// # Errors
    /// [`VaultError::Unreadable`].
    pub fn open(
        &self,
        onboarding_id: &str,
        field: Field,
        sealed: &str,
    ) -> Result<SecretString, VaultError> {
        self.open_saying(onboarding_id, field, sealed)
            .map(|(secret, _)| secret)
    }

    /// [`Vault::open`], also saying which key opened it.
    ///
    /// # Errors
    /// [`VaultError::Unreadable`] when no key opens it.
    pub fn open_saying(
        &self,
        onboarding_id: &str,
        field: Field,
        sealed: &str,
    ) -> Result<(SecretString, Opener), VaultError> {
        let keys = std::iter::once((Opener::Current, &self.cipher)).chain(
            self.old
                .iter()
                .enumerate()
                .map(|(i, c)| (Opener::Old(i), c)),
        );
        for (opener, cipher) in keys {
            if let Ok(secret) = open_with(cipher, onboarding_id, field, sealed) {
                return Ok((secret, opener));
            }
        }
        Err(VaultError::Unreadable)
    }
}

fn open_with(
    cipher: &ChaCha20Poly1305,
    onboarding_id: &str,
    field: Field,
    sealed: &str,
) -> Result<SecretString, VaultError> {
    let bytes = sealed
        .strip_prefix(PREFIX)
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter(|b| b.len() > NONCE_BYTES)
        .ok_or(VaultError::Unreadable)?;
    let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
    let aad = associated_data(onboarding_id, field);
    let plain = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| VaultError::Unreadable)?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|_| VaultError::Unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new(&Key::random().unwrap())
    }

    #[test]
    fn values_round_trip_and_never_repeat() {
        let v = vault();
        let a = v.seal("id-1", Field::BusinessToken, "EAAG-token").unwrap();
        let b = v.seal("id-1", Field::BusinessToken, "EAAG-token").unwrap();
        assert_ne!(a, b, "a fresh nonce per value");
        assert!(a.starts_with("v1:") && !a.contains("EAAG"));
        let opened = v.open("id-1", Field::BusinessToken, &a).unwrap();
        assert_eq!(opened.expose_secret(), "EAAG-token");
    }

    #[test]
    fn a_value_opens_only_for_its_onboarding_field_and_key() {
        let v = vault();
        let sealed = v.seal("id-1", Field::Pin, "042917").unwrap();
        assert_eq!(
            v.open("id-2", Field::Pin, &sealed).unwrap_err(),
            VaultError::Unreadable
        );
        assert!(v.open("id-1", Field::BusinessToken, &sealed).is_err());
        assert!(vault().open("id-1", Field::Pin, &sealed).is_err());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(v.open("id-1", Field::Pin, &tampered).is_err());
        for junk in ["", "v1:", "v1:!!", "042917", "v2:AAAA"] {
            assert!(v.open("id-1", Field::Pin, junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn earlier_keys_open_what_they_sealed_and_only_the_current_one_seals() {
        let (old, new) = (Key::random().unwrap(), Key::random().unwrap());
        let sealed = Vault::new(&old).seal("id-1", Field::Pin, "042917").unwrap();
        assert!(Vault::new(&new).open("id-1", Field::Pin, &sealed).is_err());
        let rotated = Vault::with_old_keys(&new, &[Key::random().unwrap(), old.clone()]);
        let (pin, opener) = rotated.open_saying("id-1", Field::Pin, &sealed).unwrap();
        assert_eq!((pin.expose_secret(), opener), ("042917", Opener::Old(1)));
        let resealed = rotated.seal("id-1", Field::Pin, "042917").unwrap();
        assert_eq!(
            rotated
                .open_saying("id-1", Field::Pin, &resealed)
                .unwrap()
                .1,
            Opener::Current
        );
        assert!(Vault::new(&old)
            .open("id-1", Field::Pin, &resealed)
            .is_err());
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_never_quoted() {
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(Key::from_base64(&good).is_ok());
        assert!(Key::from_base64(good.trim_end_matches('=')).is_ok());
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let err = Key::from_base64(&short).unwrap_err();
        assert!(err.contains("32 bytes") && !err.contains(&short), "{err}");
        assert!(Key::from_base64("not base64 at all!").is_err());
        assert_eq!(
            format!("{:?}", Key::from_base64(&good).unwrap()),
            "Key([redacted])"
        );
    }
}
