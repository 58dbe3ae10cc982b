//! An in-process copy of one city's part of the read model (its hotels on sale and their
//! calendars), so a search the Redis cache misses is computed in memory, and kept current by
//! re-reading only what changed, by `_id`.
//!
//! MongoDB stays the data of record: a snapshot is only ever *read* from it, never written by
//! events, so every replica and every restart sees the same thing. A snapshot is tagged with
//! its city's cache generation (see [`crate::cache`]), read *before* the reads it is built
//! from; the consumer bumps that generation after each change it writes, so a snapshot tagged
//! `g` holds every change up to `g`. A search that needs generation `G` of a city:
//!
//! - reuses the snapshot held when it is at `G` or newer;
//! - else refreshes it (**delta**): the city's change log names the hotel of every generation
//!   in `(g, G]`; each named hotel document (and its calendars when its room types changed or
//!   it is new to the city) or named calendar is re-read by `_id`, the rest is shared with the
//!   old snapshot;
//! - else (nothing held, the log no longer reaches back to `g`, a generation bumped without an
//!   entry) loads the city (**full**): its `cityIndex` document, then each hotel and each of its
//!   calendars by `_id`.
//!
//! A snapshot whose last full load is older than `snapshot_full_reload_secs` (less up to a
//! quarter, at random, so cities loaded together do not expire together) is still served, and
//! one full load of its city starts in the background (**reload**), replacing it when done. That
//! bounds how long a lost generation bump can hide a change, without ever making a search wait
//! for a whole city: in a bench run, twenty cities expiring at once made every search wait
//! ~1.2 s for theirs. The reloads re-read every city once per interval, a cost in proportion to
//! the catalog, so the interval is long (10 minutes by default, like recommendation's full
//! catalog reload): at the bench's large size (200 cities, 10,000 hotels) a 2-minute interval
//! kept ~190 `_id` reads a second going through FerretDB while nothing changed.
//!
//! Only one load or refresh of a city runs at a time; searches arriving meanwhile wait for it
//! and share it. Without a generation (no Redis, or Redis failing) a search loads afresh by
//! keys and keeps nothing. Should Redis lose its keys (generations start again lower), held
//! snapshots serve until their full load is older than `snapshot_full_reload_secs`: the same
//! staleness bound as a lost generation bump. Loads are counted in `search_snapshot_loads_total{kind}` and the
//! documents they read in `search_snapshot_documents_total` (and per instance, [`LoadStats`]).
//!
//! A search without a city runs over the snapshots of every city in the `cities` document (at
//! most [`MAX_CITIES`], by key), each got the same way at its own generation: the same answer
//! as scanning every hotel, with the same per-change cost. Its bound is the data held
//! ([`MAX_HOTELS_HELD`]). A replica loads every city this way when it starts, before it reports
//! ready, so no search waits for a cold city (a bench run's first searches over 20 cold cities
//! waited ~1 s each).

use crate::{
    cache::{Change, ResultCache},
    calendar::Nights,
    store::{HotelDoc, Store},
};
use futures::{StreamExt, TryStreamExt, stream};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    hash::{BuildHasher, RandomState},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// Most cities kept at once (and searched by a search without a city).
pub const MAX_CITIES: usize = 1024;
/// Most hotels kept over all cities (memory bound); the least recently loaded city goes first.
pub const MAX_HOTELS_HELD: usize = 50_000;
/// `_id` reads one load runs at once.
const READS_IN_FLIGHT: usize = 8;

/// A hotel on sale and the nights of its room types.
#[derive(Debug, Default)]
pub struct HotelEntry {
    /// The hotel.
    pub doc: HotelDoc,
    /// Room type → nights (room types without a calendar are absent).
    pub calendars: HashMap<String, Arc<Nights>>,
}

/// One city's hotels on sale and their nights.
#[derive(Debug, Default, Clone)]
pub struct CitySnapshot {
    /// Hotels on sale, by id.
    pub hotels: BTreeMap<String, Arc<HotelEntry>>,
    /// Whether the city has more hotels than a snapshot holds (then it is always fully loaded).
    pub truncated: bool,
}

impl CitySnapshot {
    /// The hotels, by id.
    pub fn entries(&self) -> impl Iterator<Item = &HotelEntry> {
        self.hotels.values().map(Arc::as_ref)
    }
}

/// Loads done by one [`Snapshots`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadStats {
    /// Whole cities loaded.
    pub full: u64,
    /// Snapshots refreshed from the change log.
    pub delta: u64,
    /// Hotel and calendar documents read by either.
    pub documents: u64,
}

#[derive(Debug, Default)]
struct Counters {
    full: AtomicU64,
    delta: AtomicU64,
    documents: AtomicU64,
}

impl Counters {
    fn read(&self, n: u64) {
        self.documents.fetch_add(n, Ordering::Relaxed);
        metrics::counter!("search_snapshot_documents_total").increment(n);
    }

    fn loaded(&self, kind: &'static str) {
        let counter = if kind == "full" { &self.full } else { &self.delta };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("search_snapshot_loads_total", "kind" => kind).increment(1);
    }
}

/// What changed in one hotel since a snapshot.
#[derive(Debug, Default)]
struct Changed {
    document: bool,
    calendars: BTreeSet<String>,
}

struct Entry {
    generation: u64,
    /// When the city was last loaded whole (refreshes keep it).
    loaded_at: Instant,
    /// When it is due a full reload (`loaded_at` + the TTL less some jitter).
    expires_at: Instant,
    snapshot: Arc<CitySnapshot>,
}

/// The snapshots of the cities searched lately.
#[derive(Clone)]
pub struct Snapshots {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    /// One load at a time per city: concurrent misses after a change wait for it and share it.
    loading: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// Cities with a background reload running.
    reloading: Arc<Mutex<BTreeSet<String>>>,
    counters: Arc<Counters>,
    max_age: Duration,
    max_hotels: usize,
}

impl std::fmt::Debug for Snapshots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshots").field("max_age", &self.max_age).field("max_hotels", &self.max_hotels).finish()
    }
}

impl Snapshots {
    /// Snapshots fully reloaded at least every `max_age`, holding at most `max_hotels` hotels
    /// per city.
    pub fn new(max_age: Duration, max_hotels: i64) -> Self {
        let max_hotels = usize::try_from(max_hotels).unwrap_or(0);
        Self { entries: Arc::default(), loading: Arc::default(), reloading: Arc::default(), counters: Arc::default(), max_age, max_hotels }
    }

    /// The loads this instance did so far.
    pub fn stats(&self) -> LoadStats {
        let c = &self.counters;
        LoadStats {
            full: c.full.load(Ordering::Relaxed),
            delta: c.delta.load(Ordering::Relaxed),
            documents: c.documents.load(Ordering::Relaxed),
        }
    }

    /// The snapshot of `city` as of `generation` or newer. `None` for the generation means it
    /// is unknown: load, keep nothing.
    pub async fn city(
        &self,
        store: &Store,
        cache: &ResultCache,
        city: &str,
        generation: Option<u64>,
    ) -> mongodb::error::Result<Arc<CitySnapshot>> {
        let Some(generation) = generation else {
            let loaded = self.load(store, city).await?;
            self.counters.loaded("full");
            return Ok(Arc::new(loaded));
        };
        if let Some((held, expired)) = self.held(city, generation) {
            metrics::counter!("search_snapshot_total", "outcome" => "reused").increment(1);
            self.reload_if(expired, store, city, generation);
            return Ok(held);
        }
        let lock = self.loading.lock().unwrap_or_else(|e| e.into_inner()).entry(city.to_owned()).or_default().clone();
        let _loading = lock.lock().await;
        let refreshed = match self.held(city, generation) {
            Some((held, expired)) => {
                metrics::counter!("search_snapshot_total", "outcome" => "shared").increment(1);
                Ok((held, expired))
            }
            None => self.refresh(store, cache, city, generation).await,
        };
        // Forget the city's lock when nobody else waits on it, so the map stays small.
        {
            let mut loading = self.loading.lock().unwrap_or_else(|e| e.into_inner());
            if Arc::strong_count(&lock) <= 2 {
                loading.remove(city);
            }
        }
        let (snapshot, expired) = refreshed?;
        self.reload_if(expired, store, city, generation);
        Ok(snapshot)
    }

    /// When `expired`, load `city` whole in the background (once at a time), tagged with
    /// `generation` (read before the load's first read), and replace what is held with it.
    fn reload_if(&self, expired: bool, store: &Store, city: &str, generation: u64) {
        if !expired || !self.reloading.lock().unwrap_or_else(|e| e.into_inner()).insert(city.to_owned()) {
            return;
        }
        let (this, store, city) = (self.clone(), store.clone(), city.to_owned());
        tokio::spawn(async move {
            match this.load(&store, &city).await {
                Ok(loaded) => {
                    this.counters.loaded("full");
                    this.keep(&city, generation, Instant::now(), Arc::new(loaded), true);
                }
                Err(error) => tracing::warn!(city, %error, "reloading a city snapshot failed; the held one is served meanwhile"),
            }
            this.reloading.lock().unwrap_or_else(|e| e.into_inner()).remove(&city);
        });
    }

    /// The snapshots of every city, for a search without one (`generation`: the global one,
    /// `None` when unknown).
    pub async fn everywhere(
        &self,
        store: &Store,
        cache: &ResultCache,
        generation: Option<u64>,
    ) -> mongodb::error::Result<Vec<Arc<CitySnapshot>>> {
        let mut cities = store.city_keys().await?;
        cities.sort();
        cities.truncate(MAX_CITIES);
        let generations = match generation {
            Some(_) => cache.generations(&cities).await.map(|g| g.into_iter().map(Some).collect()),
            None => None,
        };
        let generations: Vec<Option<u64>> = generations.unwrap_or_else(|| vec![None; cities.len()]);
        let work: Vec<_> = cities.iter().zip(generations).map(|(city, generation)| self.city(store, cache, city, generation)).collect();
        stream::iter(work).buffered(4).try_collect().await
    }

    /// The snapshot at `generation` from the change log or a full load; and whether its last full
    /// load has expired.
    /// Load every city's snapshot in the background, so that no search waits for a cold city;
    /// the flag turns true when done (or failed: cities then load as searched). The service is
    /// not ready until then. Without Redis snapshots are not kept: nothing to load, true at once.
    pub fn warm_up(&self, store: &Store, cache: &ResultCache) -> Arc<AtomicBool> {
        let warmed = Arc::new(AtomicBool::new(!cache.enabled()));
        if cache.enabled() {
            let (this, store, cache, done) = (self.clone(), store.clone(), cache.clone(), warmed.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                match this.everywhere(&store, &cache, Some(0)).await {
                    Ok(cities) => {
                        let hotels: usize = cities.iter().map(|c| c.hotels.len()).sum();
                        let ms = started.elapsed().as_millis() as u64;
                        tracing::info!(cities = cities.len(), hotels, ms, "city snapshots loaded");
                    }
                    Err(error) => tracing::warn!(%error, "cannot load the city snapshots at start; cities load as searched"),
                }
                done.store(true, Ordering::Release);
            });
        }
        warmed
    }

    async fn refresh(
        &self,
        store: &Store,
        cache: &ResultCache,
        city: &str,
        generation: u64,
    ) -> mongodb::error::Result<(Arc<CitySnapshot>, bool)> {
        let started = Instant::now();
        let base = self.base(city);
        let delta = match &base {
            Some((since, _, old)) if !old.truncated => cache.changes(city, *since, generation).await.map(|c| (old, c)),
            _ => None,
        };
        let (kind, loaded_at, snapshot) = match delta {
            Some((old, changes)) => {
                ("delta", base.as_ref().map_or_else(Instant::now, |b| b.1), self.apply(store, city, old, changes).await?)
            }
            None => ("full", Instant::now(), self.load(store, city).await?),
        };
        self.counters.loaded(kind);
        tracing::debug!(city, kind, hotels = snapshot.hotels.len(), ms = started.elapsed().as_millis() as u64, "city snapshot loaded");
        let snapshot = Arc::new(snapshot);
        let expired = self.keep(city, generation, loaded_at, snapshot.clone(), false);
        Ok((snapshot, expired))
    }

    /// Load `city` whole: its index document, then every hotel listed and its calendars.
    async fn load(&self, store: &Store, city: &str) -> mongodb::error::Result<CitySnapshot> {
        let mut ids = store.city_hotel_ids(city).await?;
        ids.sort();
        ids.dedup();
        let none = BTreeSet::new();
        let work: Vec<_> = ids.iter().map(|id| self.load_hotel(store, city, id, None, &none)).collect();
        let loaded: Vec<Option<HotelEntry>> = stream::iter(work).buffered(READS_IN_FLIGHT).try_collect().await?;
        let mut snapshot = CitySnapshot::default();
        for entry in loaded.into_iter().flatten() {
            snapshot.hotels.insert(entry.doc.id.clone(), Arc::new(entry));
        }
        self.bound(&mut snapshot);
        Ok(snapshot)
    }

    /// `old` with the `changes` applied: each changed hotel or calendar is read again.
    async fn apply(&self, store: &Store, city: &str, old: &CitySnapshot, changes: Vec<Change>) -> mongodb::error::Result<CitySnapshot> {
        let mut changed: BTreeMap<String, Changed> = BTreeMap::new();
        for Change { hotel, room_type } in changes {
            let parts = changed.entry(hotel).or_default();
            match room_type {
                Some(room_type) => {
                    parts.calendars.insert(room_type);
                }
                None => parts.document = true,
            }
        }
        // Only calendars of a hotel not on sale here: nothing to show (its arrival in the city is
        // a change of its document, which reads its calendars).
        let work: Vec<_> = changed
            .into_iter()
            .map(|(hotel, parts)| (old.hotels.get(&hotel).map(Arc::as_ref), hotel, parts))
            .filter(|(held, _, parts)| held.is_some() || parts.document)
            .map(|(held, hotel, parts)| async move {
                let entry = match held {
                    Some(held) if !parts.document => Some(self.reread_calendars(store, held, &parts.calendars).await?),
                    _ => self.load_hotel(store, city, &hotel, held, &parts.calendars).await?,
                };
                Ok::<_, mongodb::error::Error>((hotel, entry))
            })
            .collect();
        let reread: Vec<(String, Option<HotelEntry>)> = stream::iter(work).buffered(READS_IN_FLIGHT).try_collect().await?;
        let mut next = old.clone();
        for (hotel, entry) in reread {
            match entry {
                Some(entry) => next.hotels.insert(hotel, Arc::new(entry)),
                None => next.hotels.remove(&hotel),
            };
        }
        self.bound(&mut next);
        Ok(next)
    }

    /// Hotel `id` if it is on sale in `city`, with its calendars: those `held` (the copy in the
    /// snapshot) has are kept unless `stale`, the others read.
    async fn load_hotel(
        &self,
        store: &Store,
        city: &str,
        id: &str,
        held: Option<&HotelEntry>,
        stale: &BTreeSet<String>,
    ) -> mongodb::error::Result<Option<HotelEntry>> {
        self.counters.read(1);
        let Some(doc) = store.hotel(id).await?.filter(|h| h.city_key == city) else { return Ok(None) };
        let mut calendars = HashMap::new();
        let mut missing = Vec::new();
        for name in doc.room_types.iter().map(|r| &r.name) {
            match held.and_then(|h| h.calendars.get(name)).filter(|_| !stale.contains(name)) {
                Some(nights) => {
                    calendars.insert(name.clone(), nights.clone());
                }
                None => missing.push(name.as_str()),
            }
        }
        self.counters.read(missing.len() as u64);
        let read = futures::future::try_join_all(missing.iter().map(|rt| store.calendar(id, rt))).await?;
        for cal in read.into_iter().flatten() {
            calendars.insert(cal.room_type, Arc::new(cal.nights));
        }
        Ok(Some(HotelEntry { doc, calendars }))
    }

    /// `held` with the calendars of `room_types` (those it sells) read again.
    async fn reread_calendars(
        &self,
        store: &Store,
        held: &HotelEntry,
        room_types: &BTreeSet<String>,
    ) -> mongodb::error::Result<HotelEntry> {
        let sold: Vec<&String> = room_types.iter().filter(|rt| held.doc.room_types.iter().any(|r| &&r.name == rt)).collect();
        self.counters.read(sold.len() as u64);
        let read = futures::future::try_join_all(sold.iter().map(|rt| store.calendar(&held.doc.id, rt))).await?;
        let mut calendars = held.calendars.clone();
        for (rt, cal) in sold.into_iter().zip(read) {
            match cal {
                Some(cal) => calendars.insert(rt.clone(), Arc::new(cal.nights)),
                None => calendars.remove(rt),
            };
        }
        Ok(HotelEntry { doc: held.doc.clone(), calendars })
    }

    /// Keep at most `max_hotels` hotels (the first by id), remembering whether some were left out.
    fn bound(&self, snapshot: &mut CitySnapshot) {
        while snapshot.hotels.len() > self.max_hotels {
            snapshot.hotels.pop_last();
            snapshot.truncated = true;
        }
    }

    /// The snapshot held for `city` if it is at `generation` or newer, and whether it is due a
    /// full reload.
    fn held(&self, city: &str, generation: u64) -> Option<(Arc<CitySnapshot>, bool)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(city)?;
        (entry.generation >= generation).then(|| (entry.snapshot.clone(), entry.expires_at <= Instant::now()))
    }

    /// The snapshot held for `city` to refresh from: its generation, last full load and itself.
    fn base(&self, city: &str) -> Option<(u64, Instant, Arc<CitySnapshot>)> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(city)?;
        Some((entry.generation, entry.loaded_at, entry.snapshot.clone()))
    }

    /// Hold `snapshot` as `city` at `generation`; returns whether it is due a full reload. A
    /// `reload` (a newer full load) replaces whatever is held, even at a newer generation: a
    /// search needing that one refreshes from the change log. Otherwise a slower load of an
    /// older generation does not replace a newer one.
    fn keep(&self, city: &str, generation: u64, loaded_at: Instant, snapshot: Arc<CitySnapshot>, reload: bool) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = entries.get(city).filter(|e| !reload && e.generation > generation) {
            return held.expires_at <= Instant::now();
        }
        entries.remove(city);
        let mut held: usize = entries.values().map(|e| e.snapshot.hotels.len()).sum();
        while entries.len() >= MAX_CITIES || held + snapshot.hotels.len() > MAX_HOTELS_HELD {
            let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.loaded_at).map(|(k, _)| k.clone()) else { break };
            held -= entries.remove(&oldest).map_or(0, |e| e.snapshot.hotels.len());
        }
        // Up to a quarter less than the TTL, at random, so cities loaded together expire apart.
        let jitter = self.max_age.mul_f64(f64::from(RandomState::new().hash_one(city) as u16) / f64::from(u16::MAX) / 4.0);
        let expires_at = loaded_at + (self.max_age - jitter);
        entries.insert(city.to_owned(), Entry { generation, loaded_at, expires_at, snapshot });
        expires_at <= Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_generation(s: &Snapshots, key: &str, generation: u64) -> bool {
        s.held(key, generation).is_some()
    }

    fn keep(s: &Snapshots, key: &str, generation: u64, snapshot: Arc<CitySnapshot>) {
        s.keep(key, generation, Instant::now(), snapshot, false);
    }

    #[test]
    fn a_snapshot_serves_its_generation_and_older_while_fresh() {
        let s = Snapshots::new(Duration::from_secs(60), 10);
        keep(&s, "lisbon", 3, Arc::default());
        assert!(held_generation(&s, "lisbon", 3));
        assert!(held_generation(&s, "lisbon", 2), "a search that read an older generation may see newer data");
        assert!(!held_generation(&s, "lisbon", 4), "a change since the load: refresh");
        assert!(!held_generation(&s, "porto", 3));
        keep(&s, "lisbon", 2, Arc::default());
        assert!(held_generation(&s, "lisbon", 3), "a slower load of an older generation does not replace a newer one");
        keep(&s, "lisbon", 5, Arc::default());
        assert!(held_generation(&s, "lisbon", 5) && !held_generation(&s, "lisbon", 6));

        let expired = Snapshots::new(Duration::ZERO, 10);
        keep(&expired, "lisbon", 1, Arc::default());
        assert_eq!(expired.held("lisbon", 1).map(|(_, due)| due), Some(true), "older than the cache TTL: served, and due a reload");
        assert!(expired.base("lisbon").is_some(), "and still refreshed from");
        assert!(s.held("lisbon", 5).is_some_and(|(_, due)| !due), "fresh: not due");
        expired.keep("lisbon", 0, Instant::now(), Arc::default(), true);
        assert!(expired.entries.lock().expect("lock")["lisbon"].generation == 0, "a full reload replaces a newer generation");
    }

    #[test]
    fn cities_loaded_together_expire_apart() {
        let s = Snapshots::new(Duration::from_secs(400), 10);
        let now = Instant::now();
        for i in 0..20 {
            s.keep(&format!("city-{i}"), 1, now, Arc::default(), false);
        }
        let entries = s.entries.lock().expect("lock");
        let expiries: BTreeSet<Instant> = entries.values().map(|e| e.expires_at).collect();
        assert!(expiries.len() > 10, "{} distinct expiries of 20", expiries.len());
        assert!(expiries.iter().all(|t| *t > now + Duration::from_secs(299) && *t <= now + Duration::from_secs(400)));
    }

    #[test]
    fn at_most_max_cities_are_kept() {
        let s = Snapshots::new(Duration::from_secs(60), 10);
        for i in 0..MAX_CITIES + 5 {
            keep(&s, &format!("city-{i}"), 1, Arc::default());
        }
        let entries = s.entries.lock().expect("lock");
        assert_eq!(entries.len(), MAX_CITIES);
        assert!(entries.contains_key(&format!("city-{}", MAX_CITIES + 4)), "the newest stays");
        drop(entries);

        let big = |n: usize| {
            let hotels = (0..n).map(|i| (format!("h{i}"), Arc::default())).collect();
            Arc::new(CitySnapshot { hotels, truncated: false })
        };
        keep(&s, "big-1", 1, big(MAX_HOTELS_HELD / 2));
        keep(&s, "big-2", 1, big(MAX_HOTELS_HELD / 2));
        keep(&s, "big-3", 1, big(MAX_HOTELS_HELD / 2));
        let entries = s.entries.lock().expect("lock");
        assert!(
            !entries.contains_key("big-1") && entries.contains_key("big-2") && entries.contains_key("big-3"),
            "hotels held stay bounded"
        );
    }

    #[test]
    fn a_city_larger_than_a_snapshot_keeps_its_first_hotels_and_says_so() {
        let s = Snapshots::new(Duration::from_secs(60), 2);
        let mut snapshot = CitySnapshot::default();
        for id in ["c", "a", "b"] {
            snapshot.hotels.insert(id.to_owned(), Arc::default());
        }
        s.bound(&mut snapshot);
        assert_eq!(snapshot.hotels.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert!(snapshot.truncated);
    }
}
