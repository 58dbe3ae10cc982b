//! The hotel catalog in memory: every hotel by id, and those on sale ranked most popular first
//! (then best rated, then by id), overall and per city.
//!
//! A request never reads `hotels`: it reads the current snapshot, and never waits for MongoDB
//! (only [`start`] waits for the first load). A background task keeps the snapshot current
//! with work that follows the *changes*, not the size of the catalog:
//!
//! - The consumer records every change it makes to a hotel or its popularity in a change log
//!   in Redis ([`CatalogLog`], [`tripnest_common::changelog`]): a catalog or rating change names
//!   the hotel; a popularity change carries the new count and its version.
//! - Every `catalog_refresh_ms` the task reads the log's generation (one `GET`); when it moved,
//!   it reads the new entries, re-reads each named hotel by `_id`, applies each popularity that
//!   is newer than the one it holds, and swaps in a new snapshot.
//! - It loads the whole catalog at start, when the log cannot say what changed (trimmed past,
//!   Redis failing), and every `catalog_full_reload_secs` in case a change was written to
//!   MongoDB but never logged (the bound on staleness without Redis). Without Redis configured
//!   it loads the whole catalog every `catalog_refresh_ms`.
//!
//! The snapshot is persistent ([`rpds`] maps and trees sharing structure): a changed hotel is
//! put into the held catalog in O(log n), and the new snapshot the requests read is a clone of
//! it in O(1), so a refresh costs what changed, not a copy of every hotel.
//!
//! Catalog, rating and popularity changes show within one refresh interval on every replica;
//! the same task evicts the profiles the consumer's profile log names ([`crate::profiles`]).

use crate::{
    profiles::ProfileCache,
    store::{HotelDoc, Store},
};
use futures::{StreamExt, TryStreamExt};
use redis::aio::ConnectionManager;
use rpds::{HashTrieMapSync, RedBlackTreeMapSync};
use serde::{Deserialize, Serialize};
use std::{
    cmp::Ordering,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tripnest_common::changelog::{self, Log};

/// Entries the catalog's change log keeps: a reader further behind loads the whole catalog.
pub const LOG_LEN: u64 = 8192;

/// One change the consumer made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogChange {
    /// The hotel.
    pub hotel: String,
    /// Its popularity now, with its version; `None`: the hotel document changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity: Option<(i64, i64)>,
}

/// The consumer's change logs in Redis: the catalog's, and the profiles' ([`crate::profiles`]).
#[derive(Clone)]
pub struct CatalogLog {
    conn: ConnectionManager,
    log: Log,
    profiles: Log,
}

impl std::fmt::Debug for CatalogLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogLog").field("log", &self.log).finish()
    }
}

impl CatalogLog {
    /// The log under the key prefix `prefix` on the Redis at `url` (connecting lazily).
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Ok(Self { conn: changelog::connect(url)?, log: Log::under(prefix), profiles: Log::under(&format!("{prefix}:profiles")) })
    }

    /// Record `change`. A failure is logged and counted, not returned: the readers' full
    /// reloads bound how long a change may go unseen.
    pub async fn record(&self, change: &CatalogChange) {
        if let Err(e) = changelog::record(&mut self.conn.clone(), &[], std::slice::from_ref(&self.log), LOG_LEN, change).await {
            metrics::counter!("recommendation_catalog_log_errors_total").increment(1);
            tracing::warn!(error = %e, hotel = change.hotel, "cannot record a catalog change; readers see it at their next full reload");
        }
    }

    /// Record that `user`'s profile changed (failures as in [`Self::record`]).
    pub async fn record_profile(&self, user: &str) {
        if let Err(e) = changelog::record(&mut self.conn.clone(), &[], std::slice::from_ref(&self.profiles), LOG_LEN, &user).await {
            metrics::counter!("recommendation_catalog_log_errors_total").increment(1);
            tracing::warn!(error = %e, user, "cannot record a profile change; replicas see it when their copy expires");
        }
    }

    pub(crate) async fn profile_generation(&self) -> redis::RedisResult<u64> {
        changelog::generation(&mut self.conn.clone(), &self.profiles).await
    }

    pub(crate) async fn profile_changes(&self, since: u64, until: u64) -> redis::RedisResult<Option<Vec<String>>> {
        changelog::changes(&mut self.conn.clone(), &self.profiles, LOG_LEN, since, until).await
    }

    async fn generation(&self) -> redis::RedisResult<u64> {
        changelog::generation(&mut self.conn.clone(), &self.log).await
    }

    async fn changes(&self, since: u64, until: u64) -> redis::RedisResult<Option<Vec<CatalogChange>>> {
        changelog::changes(&mut self.conn.clone(), &self.log, LOG_LEN, since, until).await
    }
}

/// Where a hotel on sale ranks: most popular first, then best rated, then by id.
#[derive(Debug, Clone)]
struct Rank {
    popularity: i64,
    rating: f64,
    id: String,
}

impl Rank {
    fn of(h: &HotelDoc) -> Self {
        Self { popularity: h.popularity, rating: h.rating, id: h.id.clone() }
    }
}

impl Ord for Rank {
    fn cmp(&self, other: &Self) -> Ordering {
        other.popularity.cmp(&self.popularity).then_with(|| other.rating.total_cmp(&self.rating)).then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Rank {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Rank {}

/// Hotels on sale in rank order.
type Ranked = RedBlackTreeMapSync<Rank, Arc<HotelDoc>>;

/// One snapshot of the catalog; cloning it is O(1).
#[derive(Debug, Clone)]
pub struct Catalog {
    by_id: HashTrieMapSync<String, Arc<HotelDoc>>,
    ranked: Ranked,
    by_city: HashTrieMapSync<String, Ranked>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self { by_id: HashTrieMapSync::new_sync(), ranked: Ranked::new_sync(), by_city: HashTrieMapSync::new_sync() }
    }
}

impl Catalog {
    /// Index `hotels`.
    pub fn new(hotels: impl IntoIterator<Item = HotelDoc>) -> Self {
        let mut catalog = Self::default();
        for hotel in hotels {
            catalog.put(hotel);
        }
        catalog
    }

    /// Add `hotel`, or replace the one with its id: O(log n), sharing the rest with every
    /// earlier clone.
    pub fn put(&mut self, hotel: HotelDoc) {
        let hotel = Arc::new(hotel);
        if let Some(old) = self.by_id.get(&hotel.id).cloned() {
            self.unrank(&old);
        }
        if hotel.on_sale {
            let rank = Rank::of(&hotel);
            self.ranked.insert_mut(rank.clone(), hotel.clone());
            let mut city = self.by_city.get(&hotel.city_key).cloned().unwrap_or_else(Ranked::new_sync);
            city.insert_mut(rank, hotel.clone());
            self.by_city.insert_mut(hotel.city_key.clone(), city);
        }
        self.by_id.insert_mut(hotel.id.clone(), hotel);
    }

    /// Take `old` out of the rankings it is in.
    fn unrank(&mut self, old: &HotelDoc) {
        if !old.on_sale {
            return;
        }
        let rank = Rank::of(old);
        self.ranked.remove_mut(&rank);
        if let Some(mut city) = self.by_city.get(&old.city_key).cloned() {
            city.remove_mut(&rank);
            if city.is_empty() {
                self.by_city.remove_mut(&old.city_key);
            } else {
                self.by_city.insert_mut(old.city_key.clone(), city);
            }
        }
    }

    /// A hotel by id, on sale or not.
    pub fn hotel(&self, id: &str) -> Option<&HotelDoc> {
        self.by_id.get(id).map(Arc::as_ref)
    }

    /// Hotels on sale (in `city`, a match key, when given), most popular first.
    pub fn on_sale(&self, city: Option<&str>) -> impl Iterator<Item = &HotelDoc> {
        let list = match city {
            Some(city) => self.by_city.get(city),
            None => Some(&self.ranked),
        };
        list.into_iter().flat_map(Ranked::values).map(Arc::as_ref)
    }
}

/// The current snapshot, replaced in the background.
#[derive(Debug, Clone)]
pub struct CatalogCache(watch::Receiver<Arc<Catalog>>);

impl CatalogCache {
    /// The snapshot now.
    pub fn current(&self) -> Arc<Catalog> {
        self.0.borrow().clone()
    }
}

/// How the background task refreshes the snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Refresh {
    /// How often it looks for changes.
    pub every: Duration,
    /// How often it loads the whole catalog anyway (when a change log is there).
    pub full_every: Duration,
}

/// The catalog the task holds: every hotel, with the popularity version it shows.
struct Held {
    catalog: Catalog,
    /// The log's generation the copy includes; `None`: unknown (load everything next).
    generation: Option<u64>,
    loaded: Instant,
}

impl Held {
    async fn load(store: &Store) -> mongodb::error::Result<Self> {
        // The generation first: a change logged after it is applied again later (harmless);
        // one logged before it was written to MongoDB before the load reads it.
        let generation = match store.log() {
            Some(log) => log.generation().await.ok(),
            None => None,
        };
        let catalog = Catalog::new(store.load_catalog().await?);
        metrics::counter!("recommendation_catalog_loads_total", "kind" => "full").increment(1);
        Ok(Self { catalog, generation, loaded: Instant::now() })
    }

    /// Apply what the log says changed since the copy's generation: `Ok(false)` when the log
    /// cannot say (the caller loads everything), `Ok(true)` when the copy is current.
    async fn follow(&mut self, store: &Store, log: &CatalogLog) -> anyhow::Result<bool> {
        let Some(since) = self.generation else { return Ok(false) };
        let Ok(now) = log.generation().await else { return Ok(false) };
        if now == since {
            return Ok(true);
        }
        let Ok(Some(changes)) = log.changes(since, now).await else { return Ok(false) };
        let mut reread: Vec<String> = Vec::new();
        for change in &changes {
            match change.popularity {
                Some((value, version)) => {
                    let held = self.catalog.hotel(&change.hotel).cloned();
                    let mut hotel = held.unwrap_or_else(|| HotelDoc { id: change.hotel.clone(), ..HotelDoc::default() });
                    if version > hotel.popularity_version {
                        (hotel.popularity, hotel.popularity_version) = (value, version);
                        self.catalog.put(hotel);
                    }
                }
                None if !reread.contains(&change.hotel) => reread.push(change.hotel.clone()),
                None => {}
            }
        }
        let lookups = reread.iter().cloned().map(|id| {
            let store = store.clone();
            async move { store.hotel(&id).await }
        });
        let fresh: Vec<Option<HotelDoc>> = futures::stream::iter(lookups).buffered(8).try_collect().await?;
        for (id, doc) in reread.iter().zip(fresh) {
            let Some(mut doc) = doc else { continue };
            if let Some(held) = self.catalog.hotel(id).filter(|held| held.popularity_version > doc.popularity_version) {
                (doc.popularity, doc.popularity_version) = (held.popularity, held.popularity_version);
            }
            self.catalog.put(doc);
        }
        metrics::counter!("recommendation_catalog_loads_total", "kind" => "changes").increment(1);
        self.generation = Some(now);
        Ok(true)
    }

    fn snapshot(&self) -> Arc<Catalog> {
        Arc::new(self.catalog.clone())
    }
}

/// Load the catalog once, then keep it current (see the module docs) until `shutdown`.
/// The task also keeps `profiles` in step with the profile log ([`crate::profiles`]).
pub async fn start(
    store: Store,
    refresh: Refresh,
    profiles: ProfileCache,
    shutdown: CancellationToken,
) -> mongodb::error::Result<CatalogCache> {
    if let Some(log) = store.log() {
        profiles.follow(log).await;
    }
    let mut held = Held::load(&store).await?;
    let (tx, rx) = watch::channel(held.snapshot());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(refresh.every) => {}
            }
            if let Some(log) = store.log() {
                profiles.follow(log).await;
            }
            let started = Instant::now();
            let before = held.generation;
            let followed = match store.log() {
                Some(log) if held.loaded.elapsed() < refresh.full_every => held.follow(&store, log).await,
                _ => Ok(false),
            };
            match followed {
                Ok(true) if held.generation == before => continue, // nothing changed
                Ok(true) => {}
                Ok(false) => match Held::load(&store).await {
                    Ok(fresh) => held = fresh,
                    Err(e) => {
                        tracing::warn!(error = %e, "catalog reload failed; serving the previous snapshot");
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "catalog refresh failed; serving the previous snapshot");
                    continue;
                }
            }
            metrics::histogram!("recommendation_catalog_load_seconds").record(started.elapsed().as_secs_f64());
            tx.send_replace(held.snapshot());
        }
    });
    Ok(CatalogCache(rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hotel(id: &str, city: &str, popularity: i64, rating: f64) -> HotelDoc {
        HotelDoc {
            id: id.into(),
            on_sale: true,
            city: city.into(),
            city_key: city.to_lowercase(),
            popularity,
            rating,
            ..HotelDoc::default()
        }
    }

    fn ids<'a>(hotels: impl Iterator<Item = &'a HotelDoc>) -> Vec<&'a str> {
        hotels.map(|h| h.id.as_str()).collect()
    }

    #[test]
    fn hotels_on_sale_rank_most_popular_then_best_rated_then_by_id() {
        let catalog = Catalog::new([
            hotel("a", "Porto", 3, 4.0),
            hotel("b", "Porto", 5, 3.0),
            hotel("c", "Lisbon", 3, 4.5),
            hotel("d", "Porto", 3, 4.0),
            HotelDoc { on_sale: false, ..hotel("e", "Porto", 9, 5.0) },
        ]);
        assert_eq!(ids(catalog.on_sale(None)), ["b", "c", "a", "d"]);
        assert_eq!(ids(catalog.on_sale(Some("porto"))), ["b", "a", "d"]);
        assert_eq!(ids(catalog.on_sale(Some("faro"))), Vec::<&str>::new());
        assert_eq!(catalog.hotel("e").map(|h| h.popularity), Some(9), "off sale, still found by id");
    }

    #[test]
    fn a_put_moves_the_hotel_and_leaves_earlier_snapshots_alone() {
        let mut catalog = Catalog::new([hotel("a", "Porto", 1, 4.0), hotel("b", "Porto", 2, 4.0), hotel("c", "Lisbon", 3, 4.0)]);
        let before = catalog.clone();
        catalog.put(hotel("a", "Porto", 7, 4.0));
        assert_eq!(ids(catalog.on_sale(Some("porto"))), ["a", "b"]);
        assert_eq!(ids(catalog.on_sale(None)), ["a", "c", "b"]);
        catalog.put(hotel("b", "Lisbon", 2, 4.0));
        assert_eq!(ids(catalog.on_sale(Some("porto"))), ["a"]);
        assert_eq!(ids(catalog.on_sale(Some("lisbon"))), ["c", "b"]);
        catalog.put(HotelDoc { on_sale: false, ..hotel("a", "Porto", 7, 4.0) });
        assert_eq!(ids(catalog.on_sale(Some("porto"))), Vec::<&str>::new());
        assert_eq!(ids(catalog.on_sale(None)), ["c", "b"]);
        assert_eq!(ids(before.on_sale(None)), ["c", "b", "a"], "the earlier snapshot is unchanged");
        assert_eq!(ids(before.on_sale(Some("porto"))), ["b", "a"]);
    }
}
