//! The Redis cache of search results.
//!
//! Entries are keyed by the canonical query and *tagged with a generation*: `<ns>:gen` (every
//! change) for searches without a city, `<ns>:gen:city:<city>` for searches in one city. An
//! entry is `"<generation> <json>"`; a lookup reads the generation and the entry in one `MGET`
//! and serves the entry only when its tag is the current generation. The consumer bumps the
//! generations an event affects right after writing it to MongoDB, so the next search finds an
//! older tag, misses, and computes fresh results (stored over the stale entry): a sell-out shows
//! in results as soon as the event is applied, with no scan or delete of old keys, one round
//! trip per lookup, and one key per query (unused ones expire after the TTL).
//!
//! A search reads the generation *before* it reads MongoDB, so a result computed from older
//! data can only be stored tagged with an older generation, which no lookup serves any more. The same
//! generation tags the in-process city snapshot a miss is computed from ([`crate::snapshot`]).
//!
//! Next to each city's generation, a *change log* (`<ns>:log:city:<city>`, a list of the last
//! [`LOG_LEN`] entries) says which hotel each bump was for: `"<generation> <json Change>"`.
//! The consumer bumps and appends in one Lua script ([`ResultCache::record`], through
//! [`tripnest_common::changelog`]), so every logged generation has exactly one entry; a bump without an entry ([`ResultCache::invalidate`],
//! an unknown change) leaves a gap, and a reader that finds a gap or a log trimmed past what it
//! needs reloads the whole city instead of the named hotels ([`crate::snapshot`]).
//!
//! Redis is an optimisation: when it is unreachable, searches go to MongoDB and the failure is
//! logged and counted (`search_cache_total{outcome="error"}`), never returned. If a generation
//! bump itself is lost, results cached before it may be served until their TTL
//! (`cache_ttl_secs`) ends, and results computed after it until the city's snapshot is loaded
//! whole again (`snapshot_full_reload_secs`, see [`crate::snapshot`]): the bound on staleness.

use redis::{AsyncCommands, aio::ConnectionManager};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tripnest_common::changelog::{self, Log};

/// Entries each city's change log keeps (older ones are trimmed; a reader further behind
/// reloads the city).
pub const LOG_LEN: u64 = 512;

/// What one applied event changed: a hotel's document, or only one of its calendars.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The hotel.
    pub hotel: String,
    /// The room type whose calendar changed; `None`: the hotel document itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_type: Option<String>,
}

/// How long a lock lives at most, in milliseconds.
pub const LOCK_MS: u64 = 10_000;

/// Delete a lock only if it is still ours. KEYS: the lock; ARGV: our token.
const UNLOCK: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0";

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
        let conn = url.map(changelog::connect).transpose()?;
        Ok(Self { conn, namespace: namespace.to_owned(), ttl_secs })
    }

    fn log(&self, city: &str) -> Log {
        Log { generation: self.generation_key(Some(city)), entries: format!("{}:log:city:{city}", self.namespace) }
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
        let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
        let key = format!("{}:q:{}:{digest}", self.namespace, city.unwrap_or("*"));
        let mut mget = redis::cmd("MGET");
        mget.arg(self.generation_key(city)).arg(&key);
        let (generation, entry) = match mget.query_async::<(Option<u64>, Option<Vec<u8>>)>(&mut conn).await {
            Ok((generation, entry)) => (generation.unwrap_or(0), entry),
            Err(e) => return (None, failed("read entry", &e)),
        };
        match entry.and_then(|entry| current(entry, generation)) {
            Some(hit) => {
                metrics::counter!("search_cache_total", "outcome" => "hit").increment(1);
                (Some(hit), Slot::default())
            }
            None => {
                metrics::counter!("search_cache_total", "outcome" => "miss").increment(1);
                (None, Slot { key: Some(key), generation: Some(generation) })
            }
        }
    }

    /// Store fresh results in the slot a miss returned, tagged with the generation it read.
    pub async fn store(&self, slot: Slot, json: &[u8]) {
        let (Some(mut conn), Some(key), Some(generation)) = (self.conn.clone(), slot.key, slot.generation) else { return };
        let tag = format!("{generation} ");
        let mut entry = Vec::with_capacity(tag.len() + json.len());
        entry.extend_from_slice(tag.as_bytes());
        entry.extend_from_slice(json);
        if let Err(e) = conn.set_ex::<_, _, ()>(&key, entry, self.ttl_secs).await {
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

    /// Make every cached result for `cities` (and every city-less search) stale, and log that
    /// `change` is what changed in each of them (atomically with the bumps).
    pub async fn record(&self, cities: &[String], change: &Change) {
        let Some(mut conn) = self.conn.clone() else { return };
        let logs: Vec<Log> = cities.iter().map(|city| self.log(city)).collect();
        if let Err(e) = changelog::record(&mut conn, &[self.generation_key(None)], &logs, LOG_LEN, change).await {
            metrics::counter!("search_cache_total", "outcome" => "error").increment(1);
            tracing::warn!(error = %e, "search cache unavailable: a change was not recorded");
        }
    }

    /// The current generations of `cities` (`None` when Redis is off or failing).
    pub async fn generations(&self, cities: &[String]) -> Option<Vec<u64>> {
        let mut conn = self.conn.clone()?;
        if cities.is_empty() {
            return Some(Vec::new());
        }
        let keys: Vec<String> = cities.iter().map(|c| self.generation_key(Some(c))).collect();
        match redis::cmd("MGET").arg(keys).query_async::<Vec<Option<u64>>>(&mut conn).await {
            Ok(gens) => Some(gens.into_iter().map(Option::unwrap_or_default).collect()),
            Err(e) => {
                failed("read generations", &e);
                None
            }
        }
    }

    /// What changed in `city` from generation `since` (exclusive) to `until` (inclusive), one
    /// entry per generation; `None` when the log does not cover all of them (trimmed, a bump
    /// without an entry, Redis failing), so the caller must reload everything.
    pub async fn changes(&self, city: &str, since: u64, until: u64) -> Option<Vec<Change>> {
        let mut conn = self.conn.clone()?;
        match changelog::changes(&mut conn, &self.log(city), LOG_LEN, since, until).await {
            Ok(changes) => changes,
            Err(e) => {
                failed("read change log", &e);
                None
            }
        }
    }

    /// Run `write` holding the lock `name`, shared by every replica through Redis, so that
    /// read-modify-write updates of one document do not interleave (FerretDB v1 applies an
    /// update as a read, then a write: two at once lose one). The lock expires after
    /// [`LOCK_MS`] should its holder die; without Redis (or when it fails) `write` runs unlocked.
    pub async fn exclusively<T, F: Future<Output = T>>(&self, name: &str, write: impl FnOnce() -> F) -> T {
        let Some(mut conn) = self.conn.clone() else { return write().await };
        let key = format!("{}:lock:{name}", self.namespace);
        let token = format!("{}-{:?}", std::process::id(), std::time::SystemTime::now());
        let deadline = tokio::time::Instant::now() + Duration::from_millis(2 * LOCK_MS);
        let locked = loop {
            let set =
                redis::cmd("SET").arg(&key).arg(&token).arg("NX").arg("PX").arg(LOCK_MS).query_async::<Option<String>>(&mut conn).await;
            match set {
                Ok(Some(_)) => break true,
                Ok(None) if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(5)).await,
                Ok(None) => break false,
                Err(e) => {
                    failed("take lock", &e);
                    break false;
                }
            }
        };
        let out = write().await;
        if locked {
            let release = redis::cmd("EVAL").arg(UNLOCK).arg(1).arg(&key).arg(&token).query_async::<()>(&mut conn).await;
            if let Err(e) = release {
                failed("release lock", &e);
            }
        }
        out
    }

    /// Whether Redis answers (for readiness details; the cache is optional).
    pub fn enabled(&self) -> bool {
        self.conn.is_some()
    }
}

/// The JSON of `entry` (`"<generation> <json>"`) when it is tagged with `generation`.
fn current(mut entry: Vec<u8>, generation: u64) -> Option<Vec<u8>> {
    let space = entry.iter().position(|b| *b == b' ')?;
    let tag: u64 = std::str::from_utf8(&entry[..space]).ok()?.parse().ok()?;
    (tag == generation).then(|| entry.split_off(space + 1))
}

fn failed(what: &str, e: &redis::RedisError) -> Slot {
    metrics::counter!("search_cache_total", "outcome" => "error").increment(1);
    tracing::warn!(error = %e, what, "search cache unavailable; answering from MongoDB");
    Slot::default()
}

#[cfg(test)]
mod tests {
    use super::current;

    #[test]
    fn only_an_entry_of_the_current_generation_is_served() {
        assert_eq!(current(b"7 {\"items\":[]}".to_vec(), 7), Some(br#"{"items":[]}"#.to_vec()));
        assert_eq!(current(b"6 {}".to_vec(), 7), None, "written before the last change");
        assert_eq!(current(b"17 {}".to_vec(), 7), None);
        assert_eq!(current(b"{}".to_vec(), 7), None, "no tag");
        assert_eq!(current(b"x7 {}".to_vec(), 7), None);
        assert_eq!(current(b"0 ".to_vec(), 0), Some(Vec::new()));
    }
}
