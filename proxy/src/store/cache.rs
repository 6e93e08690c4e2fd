//! The in-memory copy of `GET /api/onboardings/{id}`'s answers (SQLite only, where this
//! process is the database's one writer).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{Store, StoreError};

/// How many onboardings' JSON [`Store::get_json`] keeps (about 1 KB each); all are dropped
/// when full.
const JSON_CACHE_ENTRIES: usize = 4096;

/// See [`Store::get_json`].
#[derive(Debug, Default)]
pub(super) struct JsonCache(Mutex<Entries>);

/// `generation` counts writes, so a read that raced one is not kept.
#[derive(Debug, Default)]
struct Entries {
    generation: u64,
    entries: HashMap<String, String>,
}

impl JsonCache {
    /// The kept answer; otherwise the generation a read starting now must still see to be
    /// kept by [`JsonCache::keep`].
    fn lookup(&self, id: &str) -> Result<String, u64> {
        let cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.entries.get(id) {
            Some(json) => Ok(json.clone()),
            None => Err(cache.generation),
        }
    }

    /// Keeps a read's answer, unless a write happened since the read began.
    fn keep(&self, id: &str, json: &str, generation: u64) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // A write committed since the read began may have been missed by it: keep
        // nothing then (the next read caches the new row).
        if cache.generation == generation {
            if cache.entries.len() >= JSON_CACHE_ENTRIES {
                cache.entries.clear();
            }
            cache.entries.insert(id.to_owned(), json.to_owned());
        }
    }

    /// Drops an onboarding's answer and counts the write.
    fn forget(&self, id: &str) {
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        cache.generation += 1;
        cache.entries.remove(id);
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
        let Some(cache) = &self.cache else {
            return self.read_json(id).await;
        };
        let generation = match cache.lookup(id) {
            Ok(json) => return Ok(Some(json)),
            Err(generation) => generation,
        };
        let json = self.read_json(id).await?;
        if let Some(json) = &json {
            cache.keep(id, json, generation);
        }
        Ok(json)
    }

    /// Drops a changed onboarding's cached JSON; called after every write to its row
    /// (committed or not).
    pub(super) fn forget(&self, id: &str) {
        if let Some(cache) = &self.cache {
            cache.forget(id);
        }
    }
}
