//! The Redis cache of search results.
//!
//! Entries are keyed by the canonical query *and a generation*: `<ns>:gen` (every change) for
//! searches without a city, `<ns>:gen:city:<city>` for searches in one city. The consumer bumps
//! the generations an event affects right after writing it to MongoDB, so the next search reads
//! the new generation, misses, and computes fresh results: a sell-out shows in results as soon
//! as the event is applied, with no scan or delete of old keys (they expire after the TTL).
//!
//! A search reads the generation *before* it reads MongoDB, so a result computed from older
//! data can only be stored under an older generation, which nobody reads any more. The same
//! generation tags the in-process city snapshot a miss is computed from ([`crate::snapshot`]).
//!
//! Redis is an optimisation: when it is unreachable, searches go to MongoDB and the failure is
//! logged and counted (`search_cache_total{outcome="error"}`), never returned. If a generation
//! bump itself is lost, results cached before it may be served until their TTL
//! (`cache_ttl_secs`) ends; that TTL is the bound on staleness.

use redis::{AsyncCommands, aio::ConnectionManager};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The cache, or a no-op when no Redis is configured.
#[derive(Clone)]
pub struct ResultCache {
    conn: Option<ConnectionManager>,
    namespace: String,
    ttl_secs: u64,
}

impl std::fmt::Debug for ResultCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResultCache").field("enabled", &self.conn.is_some()).field("namespace", &self.namespace).finish()
    }
}

/// Where a result was looked up: the key to store fresh results under after a miss, and the
/// generation that was current (both `None` when Redis is off or failing).
#[derive(Debug, Clone, Default)]
pub struct Slot {
    key: Option<String>,
    generation: Option<u64>,
}

impl Slot {
    /// The generation of the searched city when the lookup began.
    pub fn generation(&self) -> Option<u64> {
        self.generation
    }
}

impl ResultCache {
    /// A cache on `url` (connecting lazily), with keys under `namespace`.
    pub fn new(url: Option<&str>, namespace: &str, ttl_secs: u64) -> anyhow::Result<Self> {
        let conn = match url {
            Some(url) => {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(1)))
                    .set_response_timeout(Some(Duration::from_millis(500)))
                    .set_number_of_retries(1);
                Some(redis::Client::open(url)?.get_connection_manager_lazy(config)?)
            }
            None => None,
        };
        Ok(Self { conn, namespace: namespace.to_owned(), ttl_secs })
    }

    fn generation_key(&self, city: Option<&str>) -> String {
        match city {
            Some(city) => format!("{}:gen:city:{city}", self.namespace),
            None => format!("{}:gen", self.namespace),
        }
    }

    /// Look up the results of `canonical` (a query in `city`, if any): the cached JSON on a
    /// hit, and the slot to store fresh results in on a miss.
    pub async fn lookup(&self, city: Option<&str>, canonical: &str) -> (Option<Vec<u8>>, Slot) {
        let Some(mut conn) = self.conn.clone() else { return (None, Slot::default()) };
        let generation: u64 = match conn.get::<_, Option<u64>>(self.generation_key(city)).await {
            Ok(g) => g.unwrap_or(0),
            Err(e) => return (None, failed("read generation", &e)),
        };
        let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
        let key = format!("{}:q:{}:{generation}:{digest}", self.namespace, city.unwrap_or("*"));
        match conn.get::<_, Option<Vec<u8>>>(&key).await {
            Ok(Some(hit)) => {
                metrics::counter!("search_cache_total", "outcome" => "hit").increment(1);
                (Some(hit), Slot::default())
            }
            Ok(None) => {
                metrics::counter!("search_cache_total", "outcome" => "miss").increment(1);
                (None, Slot { key: Some(key), generation: Some(generation) })
            }
            Err(e) => (None, failed("read entry", &e)),
        }
    }

    /// Store fresh results in the slot a miss returned.
    pub async fn store(&self, slot: Slot, json: &[u8]) {
        let (Some(mut conn), Some(key)) = (self.conn.clone(), slot.key) else { return };
        if let Err(e) = conn.set_ex::<_, _, ()>(&key, json, self.ttl_secs).await {
            failed("store entry", &e);
        }
    }

    /// Make every cached result for `cities` (and every city-less search) stale.
    pub async fn invalidate(&self, cities: &[String]) {
        let Some(mut conn) = self.conn.clone() else { return };
        let mut pipe = redis::pipe();
        pipe.incr(self.generation_key(None), 1).ignore();
        for city in cities {
            pipe.incr(self.generation_key(Some(city)), 1).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            failed("bump generation", &e);
        }
    }

    /// Whether Redis answers (for readiness details; the cache is optional).
    pub fn enabled(&self) -> bool {
        self.conn.is_some()
    }
}

fn failed(what: &str, e: &redis::RedisError) -> Slot {
    metrics::counter!("search_cache_total", "outcome" => "error").increment(1);
    tracing::warn!(error = %e, what, "search cache unavailable; answering from MongoDB");
    Slot::default()
}
