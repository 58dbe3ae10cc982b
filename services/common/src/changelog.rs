//! Change logs in Redis: how a read model tells its in-memory copies what changed, so that
//! they reload only that, never the whole collection.
//!
//! A log is two keys: a *generation* counter and a list of the last `len` changes, each entry
//! `"<generation> <json>"`. [`record`] bumps the generation and appends the entry in one Lua
//! script, so every generation has exactly one entry. A reader remembers the generation its
//! copy is at; [`changes`] then gives the entries from there to the current generation, or
//! `None` when the log no longer covers all of them (trimmed past, a generation bumped
//! without an entry, an unreadable entry) — and the reader reloads everything instead.
//!
//! The writer changes the store first and records the change after, so a reader that sees an
//! entry finds the change in the store. A change whose record is lost (Redis down, a crash in
//! between) is caught by the reader's periodic full reload: the log is an optimisation, and
//! every reader must keep a bound on staleness without it.
//!
//! Used by search (a log per city of its result cache) and recommendation (one log for its
//! catalog snapshot).

use redis::aio::ConnectionManager;
use serde::{Serialize, de::DeserializeOwned};
use std::time::Duration;

/// INCR the first `ARGV[3]` keys; then, per (generation, log) pair of the remaining keys,
/// INCR the generation, append `"<generation> ARGV[2]"` to the log and trim it to `ARGV[1]`.
const RECORD: &str = r"
local plain = tonumber(ARGV[3])
for i = 1, plain do redis.call('INCR', KEYS[i]) end
for i = plain + 1, #KEYS, 2 do
  local g = redis.call('INCR', KEYS[i])
  redis.call('RPUSH', KEYS[i + 1], string.format('%d ', g) .. ARGV[2])
  redis.call('LTRIM', KEYS[i + 1], -tonumber(ARGV[1]), -1)
end
return 0
";

/// One log: its generation key and its list key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// The generation counter.
    pub generation: String,
    /// The list of the last entries.
    pub entries: String,
}

impl Log {
    /// The log under `prefix`: `<prefix>:gen` and `<prefix>:log`.
    pub fn under(prefix: &str) -> Self {
        Self { generation: format!("{prefix}:gen"), entries: format!("{prefix}:log") }
    }
}

/// A connection that connects lazily and gives up quickly, for optional Redis use: a reader
/// or writer must never wait long on it.
pub fn connect(url: &str) -> redis::RedisResult<ConnectionManager> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_millis(500)))
        .set_number_of_retries(1);
    redis::Client::open(url)?.get_connection_manager_lazy(config)
}

/// Bump every key of `counters`, and record `change` in each of `logs` (each keeping its last
/// `len` entries), atomically.
pub async fn record(
    conn: &mut ConnectionManager,
    counters: &[String],
    logs: &[Log],
    len: u64,
    change: &impl Serialize,
) -> anyhow::Result<()> {
    let entry = serde_json::to_string(change)?;
    let mut eval = redis::cmd("EVAL");
    eval.arg(RECORD).arg(counters.len() + 2 * logs.len());
    for key in counters {
        eval.arg(key);
    }
    for log in logs {
        eval.arg(&log.generation).arg(&log.entries);
    }
    eval.arg(len).arg(entry).arg(counters.len());
    eval.query_async::<()>(conn).await?;
    Ok(())
}

/// The current generation of `log` (0 before its first change).
pub async fn generation(conn: &mut ConnectionManager, log: &Log) -> redis::RedisResult<u64> {
    redis::cmd("GET").arg(&log.generation).query_async::<Option<u64>>(conn).await.map(Option::unwrap_or_default)
}

/// The changes of `log` from generation `since` (exclusive) to `until` (inclusive), oldest
/// first; `Ok(None)` when the log (of `len` entries) does not cover all of them.
pub async fn changes<T: DeserializeOwned>(
    conn: &mut ConnectionManager,
    log: &Log,
    len: u64,
    since: u64,
    until: u64,
) -> redis::RedisResult<Option<Vec<T>>> {
    let Some(wanted) = until.checked_sub(since) else { return Ok(None) };
    if wanted == 0 {
        return Ok(Some(Vec::new()));
    }
    if wanted > len {
        return Ok(None);
    }
    // Entries newer than `until` may have been appended since: read a little more, and the
    // whole log if that was not enough.
    for tail in [wanted + 16, len] {
        let start = -isize::try_from(tail).unwrap_or(isize::MAX);
        let entries: Vec<String> = redis::cmd("LRANGE").arg(&log.entries).arg(start).arg(-1).query_async(conn).await?;
        if let Some(found) = covering(&entries, since, until) {
            return Ok(Some(found));
        }
        if (entries.len() as u64) < tail {
            return Ok(None);
        }
    }
    Ok(None)
}

/// The changes of `entries` (`"<generation> <json>"`, oldest first) for the generations
/// `(since, until]`, when every one of them is there.
pub fn covering<T: DeserializeOwned>(entries: &[String], since: u64, until: u64) -> Option<Vec<T>> {
    let mut out = Vec::new();
    let mut expected = since + 1;
    for entry in entries {
        let (generation, json) = entry.split_once(' ')?;
        let generation: u64 = generation.parse().ok()?;
        if generation <= since || generation > until {
            continue;
        }
        if generation != expected {
            return None;
        }
        out.push(serde_json::from_str(json).ok()?);
        expected += 1;
    }
    (expected == until + 1).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(generation: u64, hotel: &str) -> String {
        format!("{generation} {}", serde_json::to_string(hotel).expect("json"))
    }

    #[test]
    fn the_log_answers_only_when_it_covers_every_generation_asked() {
        let log: Vec<String> = (5..=9).map(|g| entry(g, &format!("h{g}"))).collect();
        assert_eq!(covering::<String>(&log, 6, 8), Some(vec!["h7".to_owned(), "h8".to_owned()]), "newer entries are left out");
        assert_eq!(covering::<String>(&log, 4, 9).map(|h| h.len()), Some(5));
        assert_eq!(covering::<String>(&log, 9, 9), Some(vec![]));
        assert_eq!(covering::<String>(&log, 3, 9), None, "generation 4 was trimmed");
        assert_eq!(covering::<String>(&log, 6, 10), None, "generation 10 is not there");
        let gap: Vec<String> = [5, 6, 8].iter().map(|g| entry(*g, "h")).collect();
        assert_eq!(covering::<String>(&gap, 4, 8), None, "generation 7 was bumped without an entry");
        assert_eq!(covering::<String>(&["x y".to_owned()], 0, 1), None, "an unreadable entry");
    }
}
