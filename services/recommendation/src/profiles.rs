//! Travellers' profiles in memory, so a signed-in request does not read its profile document
//! from MongoDB every time.
//!
//! The consumer names every traveller whose profile it changed in a second change log in Redis
//! (`<prefix>:profiles`, next to the catalog's: [`CatalogLog::record_profile`]). The catalog's
//! background task follows it on every refresh and evicts the travellers it names; when the log
//! cannot say what changed (trimmed past, a generation without an entry) it empties the cache,
//! and while Redis fails it caches nothing. A request reads through the cache:
//!
//! - a profile held and younger than `max_age` is answered from memory;
//! - else it is read by `_id` and kept, *only if no eviction pass ran while it was read* (the
//!   pass's generation is noted before the read and checked after it). So a read that started
//!   before a change and finished after its eviction is never kept, and a read that finished
//!   before its eviction is evicted by it.
//!
//! A change whose log record is lost (Redis failing at that moment) is seen when the entry is
//! `max_age` old. Without Redis nothing is cached. The cache holds at most `capacity` profiles in
//! two halves: when the newer half fills, the older is dropped and the newer becomes it, and a
//! profile found in the older half moves to the newer (bounded memory, O(1) per request).

use crate::{
    catalog::CatalogLog,
    store::{ProfileDoc, Store},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

type Held = HashMap<String, (Instant, Arc<ProfileDoc>)>;

#[derive(Debug, Default)]
struct Inner {
    /// The profile log's generation every held profile is current with; `None`: unknown (cache
    /// nothing until the next follow).
    generation: Option<u64>,
    newer: Held,
    older: Held,
}

impl Inner {
    fn clear(&mut self, generation: Option<u64>) {
        self.generation = generation;
        self.newer.clear();
        self.older.clear();
    }
}

/// The profile cache shared by the handlers and the catalog's background task.
#[derive(Debug, Clone)]
pub struct ProfileCache {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
    max_age: Duration,
}

impl ProfileCache {
    /// At most `capacity` profiles (0: none), each kept at most `max_age`.
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self { inner: Arc::default(), capacity, max_age }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `user`'s profile, from memory when held and fresh, else read from `store` (and kept).
    pub async fn get(&self, store: &Store, user: &str) -> mongodb::error::Result<Arc<ProfileDoc>> {
        let noted = {
            let mut inner = self.lock();
            if let Some(found) = self.held(&mut inner, user) {
                metrics::counter!("recommendation_profile_cache_total", "outcome" => "hit").increment(1);
                return Ok(found);
            }
            inner.generation
        };
        metrics::counter!("recommendation_profile_cache_total", "outcome" => "miss").increment(1);
        let profile = Arc::new(store.profile_of(user).await?);
        let mut inner = self.lock();
        if noted.is_some() && inner.generation == noted && self.capacity > 0 {
            if inner.newer.len() >= self.capacity.div_ceil(2) {
                inner.older = std::mem::take(&mut inner.newer);
            }
            inner.newer.insert(user.to_owned(), (Instant::now(), profile.clone()));
        }
        Ok(profile)
    }

    fn held(&self, inner: &mut Inner, user: &str) -> Option<Arc<ProfileDoc>> {
        inner.generation?;
        if let Some((at, p)) = inner.newer.get(user) {
            return (at.elapsed() < self.max_age).then(|| p.clone());
        }
        let (at, p) = inner.older.remove(user)?;
        if at.elapsed() >= self.max_age {
            return None;
        }
        inner.newer.insert(user.to_owned(), (at, p.clone()));
        Some(p)
    }

    /// Evict every traveller the profile log names since the last call (see the module docs).
    pub async fn follow(&self, log: &CatalogLog) {
        let since = self.lock().generation;
        let now = match log.profile_generation().await {
            Ok(now) => now,
            Err(error) => {
                if since.is_some() {
                    tracing::warn!(%error, "cannot read the profile change log; profiles are read from MongoDB until it answers");
                }
                return self.lock().clear(None);
            }
        };
        let Some(since) = since.filter(|s| *s <= now) else { return self.lock().clear(Some(now)) };
        if since == now {
            return;
        }
        match log.profile_changes(since, now).await {
            Ok(Some(users)) => {
                let mut inner = self.lock();
                for user in users {
                    inner.newer.remove(&user);
                    inner.older.remove(&user);
                }
                inner.generation = Some(now);
            }
            _ => self.lock().clear(Some(now)),
        }
    }

    /// Profiles held (both halves).
    pub fn len(&self) -> usize {
        let inner = self.lock();
        inner.newer.len() + inner.older.len()
    }

    /// Whether no profile is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
