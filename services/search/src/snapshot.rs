//! An in-process copy of one city's part of the read model (its hotels on sale and their
//! calendars), so a search the Redis cache misses is computed in memory instead of from two
//! collection scans in FerretDB.
//!
//! MongoDB stays the data of record: a snapshot is only ever *loaded* from it, never written
//! by events, so every replica and every restart sees the same thing. A snapshot is tagged with
//! the cache generation of its city (see [`crate::cache`]), read *before* the load, and is used
//! only while that generation is still current: the consumer bumps it after every change it
//! writes, so the first search after a change reloads the city, exactly when the cached
//! results would have been recomputed. Without a generation (no Redis, or Redis failing) every
//! search loads afresh. A snapshot also ages out after the cache TTL, the same staleness bound
//! as a cached result whose generation bump was lost.

use crate::{
    calendar::Nights,
    store::{HotelDoc, Store},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Most cities kept at once; the least recently loaded goes first.
pub const MAX_CITIES: usize = 256;
/// Most hotels kept over all cities (memory bound); the least recently loaded city goes first.
pub const MAX_HOTELS_HELD: usize = 50_000;

/// One city's hotels on sale and their nights.
#[derive(Debug, Default)]
pub struct CitySnapshot {
    /// Hotels on sale, by id.
    pub hotels: Vec<HotelDoc>,
    /// Hotel → room type → nights.
    pub calendars: HashMap<String, HashMap<String, Nights>>,
}

impl CitySnapshot {
    /// Load the hotels of `city` (or everywhere) and their calendars: two queries.
    pub async fn load(store: &Store, city: Option<&str>, max_hotels: i64) -> mongodb::error::Result<Self> {
        let hotels = store.hotels_in(city, max_hotels).await?;
        let ids: Vec<String> = hotels.iter().map(|h| h.id.clone()).collect();
        let mut calendars: HashMap<String, HashMap<String, Nights>> = HashMap::new();
        for cal in store.calendars_of(&ids).await? {
            calendars.entry(cal.hotel_id).or_default().insert(cal.room_type, cal.nights);
        }
        Ok(Self { hotels, calendars })
    }
}

struct Entry {
    generation: u64,
    loaded_at: Instant,
    snapshot: Arc<CitySnapshot>,
}

/// The snapshots of the cities searched lately.
#[derive(Clone)]
pub struct Snapshots {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    /// One load at a time per city: concurrent misses after a change wait for it and share it.
    loading: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    max_age: Duration,
    max_hotels: i64,
}

impl std::fmt::Debug for Snapshots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshots").field("max_age", &self.max_age).field("max_hotels", &self.max_hotels).finish()
    }
}

impl Snapshots {
    /// Snapshots that live at most `max_age` and hold at most `max_hotels` hotels each.
    pub fn new(max_age: Duration, max_hotels: i64) -> Self {
        Self { entries: Arc::default(), loading: Arc::default(), max_age, max_hotels }
    }

    /// The snapshot of `city` (or everywhere) as of `generation`, loading it when the one held
    /// is older or absent. `None` for the generation means it is unknown: load, keep nothing.
    pub async fn get(&self, store: &Store, city: Option<&str>, generation: Option<u64>) -> mongodb::error::Result<Arc<CitySnapshot>> {
        // Distinct from every city key, whatever a city is called.
        let key = &city.map_or_else(|| "everywhere".to_owned(), |c| format!("city:{c}"));
        let Some(generation) = generation else { return Ok(Arc::new(CitySnapshot::load(store, city, self.max_hotels).await?)) };
        if let Some(held) = self.held(key, generation) {
            metrics::counter!("search_snapshot_total", "outcome" => "reused").increment(1);
            return Ok(held);
        }
        let lock = self.loading.lock().unwrap_or_else(|e| e.into_inner()).entry(key.to_owned()).or_default().clone();
        let _loading = lock.lock().await;
        if let Some(held) = self.held(key, generation) {
            metrics::counter!("search_snapshot_total", "outcome" => "shared").increment(1);
            return Ok(held);
        }
        let started = Instant::now();
        let loaded = CitySnapshot::load(store, city, self.max_hotels).await.map(Arc::new);
        if let Ok(snapshot) = &loaded {
            metrics::counter!("search_snapshot_total", "outcome" => "loaded").increment(1);
            tracing::debug!(
                city = key,
                hotels = snapshot.hotels.len(),
                ms = started.elapsed().as_millis() as u64,
                "loaded a city snapshot"
            );
            self.keep(key, generation, snapshot.clone());
        }
        // Forget the city's lock when nobody else waits on it, so the map stays small.
        let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&lock) <= 2 {
            loading.remove(key);
        }
        loaded
    }

    fn held(&self, key: &str, generation: u64) -> Option<Arc<CitySnapshot>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(key)?;
        (entry.generation == generation && entry.loaded_at.elapsed() < self.max_age).then(|| entry.snapshot.clone())
    }

    fn keep(&self, key: &str, generation: u64, snapshot: Arc<CitySnapshot>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // A slower load of an older generation must not replace a newer one (while it is fresh).
        if entries.get(key).is_some_and(|e| e.generation > generation && e.loaded_at.elapsed() < self.max_age) {
            return;
        }
        entries.remove(key);
        let mut held: usize = entries.values().map(|e| e.snapshot.hotels.len()).sum();
        while entries.len() >= MAX_CITIES || held + snapshot.hotels.len() > MAX_HOTELS_HELD {
            let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.loaded_at).map(|(k, _)| k.clone()) else { break };
            held -= entries.remove(&oldest).map_or(0, |e| e.snapshot.hotels.len());
        }
        entries.insert(key.to_owned(), Entry { generation, loaded_at: Instant::now(), snapshot });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_generation(s: &Snapshots, key: &str, generation: u64) -> bool {
        s.held(key, generation).is_some()
    }

    #[test]
    fn a_snapshot_serves_only_its_own_generation_while_fresh() {
        let s = Snapshots::new(Duration::from_secs(60), 10);
        s.keep("lisbon", 3, Arc::default());
        assert!(held_generation(&s, "lisbon", 3));
        assert!(!held_generation(&s, "lisbon", 4), "a change since the load: reload");
        assert!(!held_generation(&s, "porto", 3));
        s.keep("lisbon", 2, Arc::default());
        assert!(held_generation(&s, "lisbon", 3), "a slower load of an older generation does not replace a newer one");
        s.keep("lisbon", 5, Arc::default());
        assert!(held_generation(&s, "lisbon", 5) && !held_generation(&s, "lisbon", 3));

        let expired = Snapshots::new(Duration::ZERO, 10);
        expired.keep("lisbon", 1, Arc::default());
        assert!(!held_generation(&expired, "lisbon", 1), "older than the cache TTL: reload");
        expired.keep("lisbon", 0, Arc::default());
        assert!(expired.entries.lock().expect("lock")["lisbon"].generation == 0, "a reset generation replaces an expired one");
    }

    #[test]
    fn at_most_max_cities_are_kept() {
        let s = Snapshots::new(Duration::from_secs(60), 10);
        for i in 0..MAX_CITIES + 5 {
            s.keep(&format!("city-{i}"), 1, Arc::default());
        }
        let entries = s.entries.lock().expect("lock");
        assert_eq!(entries.len(), MAX_CITIES);
        assert!(entries.contains_key(&format!("city-{}", MAX_CITIES + 4)), "the newest stays");
        drop(entries);

        let big = |n: usize| Arc::new(CitySnapshot { hotels: vec![HotelDoc::default(); n], calendars: HashMap::new() });
        s.keep("big-1", 1, big(MAX_HOTELS_HELD / 2));
        s.keep("big-2", 1, big(MAX_HOTELS_HELD / 2));
        s.keep("big-3", 1, big(MAX_HOTELS_HELD / 2));
        let entries = s.entries.lock().expect("lock");
        assert!(
            !entries.contains_key("big-1") && entries.contains_key("big-2") && entries.contains_key("big-3"),
            "hotels held stay bounded"
        );
    }
}
