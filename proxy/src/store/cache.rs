//! The in-memory copies of `GET /api/onboardings/{id}`'s answers, of the client tokens'
//! grants it checks, and of the sessions each POST checks (SQLite only, where this process
//! is the database's one writer).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{Store, StoreError};

/// How many entries each cache keeps (an onboarding's JSON is about 1 KB, a grant a few
/// dozen bytes); all of one cache are dropped when it is full.
const CACHE_ENTRIES: usize = 4096;

/// Values by key, each dropped by the write that changes it.
#[derive(Debug)]
pub(super) struct Kept<V>(Mutex<Entries<V>>);

impl<V> Default for Kept<V> {
    fn default() -> Self {
        Self(Mutex::new(Entries {
            generation: 0,
            entries: HashMap::new(),
        }))
    }
}

/// `generation` counts writes, so a read that raced one is not kept.
#[derive(Debug)]
struct Entries<V> {
    generation: u64,
    entries: HashMap<String, V>,
}

impl<V: Clone> Kept<V> {
    /// The kept value of `key`; otherwise `read`'s answer, kept unless a write raced it.
    /// Without a cache (PostgreSQL), `read`'s answer.
    pub(super) async fn through<E>(
        kept: Option<&Self>,
        key: &str,
        read: impl std::future::Future<Output = Result<Option<V>, E>>,
    ) -> Result<Option<V>, E> {
        let Some(kept) = kept else {
            return read.await;
        };
        let generation = match kept.lookup(key) {
            Ok(value) => return Ok(Some(value)),
            Err(generation) => generation,
        };
        let value = read.await?;
        if let Some(value) = &value {
            kept.keep(key, value.clone(), generation);
        }
        Ok(value)
    }

    /// The kept value; otherwise the generation a read starting now must still see to be
    /// kept by [`Kept::keep`].
    fn lookup(&self, key: &str) -> Result<V, u64> {
        let cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.entries.get(key) {
            Some(value) => Ok(value.clone()),
            None => Err(cache.generation),
        }
    }

    /// Keeps a read's answer, unless a write happened since the read began.
    fn keep(&self, key: &str, value: V, generation: u64) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // A write committed since the read began may have been missed by it: keep
        // nothing then (the next read caches the new row).
        if cache.generation == generation {
            if cache.entries.len() >= CACHE_ENTRIES {
                cache.entries.clear();
            }
            cache.entries.insert(key.to_owned(), value);
        }
    }

    /// Drops a key's value and counts the write.
    pub(super) fn forget(&self, key: &str) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        cache.generation += 1;
        cache.entries.remove(key);
    }

    /// Drops the values `stale` picks and counts the write: for a write that knows what it
    /// changed but not by its key (a session by its id, kept by its token's hash).
    pub(super) fn forget_where(&self, stale: impl Fn(&V) -> bool) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        cache.generation += 1;
        cache.entries.retain(|_, value| !stale(value));
    }
}

impl Store {
    /// One onboarding by id, as the API's JSON: the same text as serializing
    /// [`Store::get`]'s answer, built without parsing the stored JSON objects into trees
    /// (`GET /api/onboardings/{id}`, the hot read). With SQLite the answer is kept in memory
    /// until the next write to the onboarding through this store (every write goes through
    /// it: the database file belongs to this process).
    ///
    /// # Errors
    /// Database failures, or a corrupt row.
    pub async fn get_json(&self, id: &str) -> Result<Option<String>, StoreError> {
        let kept = self.cache.as_deref().map(|c| &c.json);
        Kept::through(kept, id, self.read_json(id)).await
    }

    /// Drops session `id`'s kept record (it was opened, or revoked); with `revoked`, its
    /// client tokens' grants too. A grant does not say its session, so all of them go: a
    /// revocation is rare, a first opening comes with every customer.
    pub(super) fn forget_session(&self, id: &str, revoked: bool) {
        if let Some(cache) = &self.cache {
            cache.sessions.forget_where(|s| s.id == id);
            if revoked {
                cache.grants.forget_where(|_| true);
            }
        }
    }

    /// Drops a changed onboarding's cached JSON; called after every write to its row
    /// (committed or not).
    pub(super) fn forget(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.json.forget(id);
        }
    }
}
