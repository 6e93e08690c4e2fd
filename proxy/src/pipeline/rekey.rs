//! Changing `TOKEN_ENCRYPTION_KEY` without stranding anything: at start-up every stored
//! secret that opens only with an earlier key (`TOKEN_ENCRYPTION_OLD_KEYS`) is sealed again
//! with the current one.
//!
//! A key that opens none of the stored secrets stops start-up, naming it, while some secret
//! opens with no key at all (a mistyped key would otherwise strand them); once everything
//! opens with the current key, an earlier key that opens nothing is only reported (the
//! rotation is done and it can be removed). A secret sealed with an unknown key is never
//! deleted.

use secrecy::ExposeSecret;

use super::Pipeline;
use crate::store::{SealedColumn, StoreError};
use crate::vault::{Field, Opener};

/// Why start-up must stop.
#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    /// A configured key opens nothing stored while some secret opens with no key.
    #[error("{var}: {message}")]
    Key {
        /// The variable naming the key.
        var: &'static str,
        /// Which key, and what it failed to open (never the key).
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`Pipeline::reseal_secrets`] found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resealed {
    /// Stored secrets in all.
    pub stored: usize,
    /// Those the current key opened as they were.
    pub current: usize,
    /// Per earlier key, those it opened (each now sealed with the current key).
    pub by_old: Vec<usize>,
    /// Those no key opened.
    pub unreadable: usize,
}

impl Pipeline {
    /// Seals again with the current key what only an earlier key opens (Meta provider;
    /// nothing to do with YCloud). `strict`: refuse keys that open nothing (false for a
    /// sandbox's made-up key, which cannot open what an earlier run stored).
    ///
    /// # Errors
    /// See [`ResealError`].
    pub async fn reseal_secrets(&self, strict: bool) -> Result<Resealed, ResealError> {
        let Some(vault) = self.vault() else {
            return Ok(Resealed::default());
        };
        let store = &self.inner.store;
        let mut found = Resealed {
            by_old: vec![0; vault.old_keys()],
            ..Resealed::default()
        };
        for (id, column, sealed) in store.sealed_secrets().await? {
            found.stored += 1;
            let field = match column {
                SealedColumn::BusinessToken => Field::BusinessToken,
                SealedColumn::Pin => Field::Pin,
            };
            match vault.open_saying(&id, field, &sealed) {
                Ok((_, Opener::Current)) => found.current += 1,
                Ok((secret, Opener::Old(i))) => {
                    found.by_old[i] += 1;
                    let Ok(fresh) = vault.seal(&id, field, secret.expose_secret()) else {
                        continue;
                    };
                    store.replace_sealed(&id, column, &sealed, &fresh).await?;
                }
                Err(_) => found.unreadable += 1,
            }
        }
        let resealed: usize = found.by_old.iter().sum();
        if resealed > 0 {
            tracing::info!(
                resealed,
                "stored secrets sealed with an earlier key are now sealed with TOKEN_ENCRYPTION_KEY"
            );
        }
        if found.unreadable > 0 && strict {
            let of = format!(
                "of the {} stored secrets ({} open with no configured key)",
                found.stored, found.unreadable
            );
            if let Some(i) = found.by_old.iter().position(|n| *n == 0) {
                return Err(ResealError::Key {
                    var: "TOKEN_ENCRYPTION_OLD_KEYS",
                    message: format!("key {} opens none {of}: check it", i + 1),
                });
            }
            if found.current == 0 {
                return Err(ResealError::Key {
                    var: "TOKEN_ENCRYPTION_KEY",
                    message: format!(
                        "opens none {of}: if the key was changed, put the earlier one in \
                         TOKEN_ENCRYPTION_OLD_KEYS"
                    ),
                });
            }
        }
        if found.unreadable > 0 {
            tracing::warn!(
                unreadable = found.unreadable,
                "stored secrets open with no configured key; their customers must sign up again"
            );
        }
        for (i, n) in found.by_old.iter().enumerate() {
            if *n == 0 && found.unreadable == 0 {
                tracing::info!(
                    key = i + 1,
                    "TOKEN_ENCRYPTION_OLD_KEYS: this key opens nothing stored any more and can be removed"
                );
            }
        }
        Ok(found)
    }
}
