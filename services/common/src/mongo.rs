//! The MongoDB connection, and compare-and-set documents on MongoDB *and* FerretDB v1.
//!
//! FerretDB v1 (our local server, on PostgreSQL) answers only `{_id: …}` from an index, and it
//! runs an update as "read the matching document, apply the operators in Go, write the whole
//! document back by `_id`" with nothing held in between. So neither `$inc` nor a
//! `{_id, rev}` guard in the filter is atomic there: two writers that read the same revision
//! both succeed, and one change is lost. The only atomic steps it has are an insert (the
//! `_id` is unique) and a delete. [`Versioned`] builds compare-and-set from the insert:
//!
//! - Revision `r` of key `k` is an immutable document `{_id: "k#r", rev, state}` in
//!   `<name>_revisions`. Writing revision `r + 1` is `insert_one`; of two writers that both
//!   read revision `r`, exactly one insert succeeds and the other gets a duplicate key, reads
//!   again and retries its change on the new state. No update is ever lost, on either server.
//! - The head `{_id: "k", rev, state}` in `<name>` is what readers read (one lookup by `_id`)
//!   and where writers start. A writer publishes its revision to the head and then looks up
//!   `k#(r + 1)`: if a faster writer got there, it publishes the newer one, so the last head
//!   write always carries the latest revision. A writer that finds revisions past the head
//!   (a writer crashed between its insert and its publish) publishes them too.
//! - Old revisions are deleted once [`KEEP_REVISIONS`] newer ones exist; a head can only lag
//!   by as many revisions as writers race on one key, far fewer.
//!
//! Every step is a lookup, insert, replace or delete by `_id`, so the cost of a change does not
//! depend on the size of the collection, and MongoDB gives identical answers.
//!
//! FerretDB's cost per operation grows with the *structure* of the documents it reads and
//! writes, not their bytes: it converts every stored value between PostgreSQL's JSON and BSON.
//! Measured on the local server (FerretDB CPU per lookup by `_id`): a small document 0.8 ms,
//! a counter with 64 tokens as an array 1.4 ms, a profile of 50 stay documents 7.2 ms (8.6 ms
//! to replace), the same 10 KB as one string 1.2 ms. So lists that are only ever read and
//! written whole are stored as one JSON string ([`packed`]); older documents that hold them
//! as arrays are still read.

use anyhow::Context as _;
use futures::future::BoxFuture;
use mongodb::{
    Collection, Database,
    bson::doc,
    error::{ErrorKind, Result, WriteFailure},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The database `database` of the server at `uri` (`APP_MONGODB_URI`), for `service` (its name
/// is the client's app name in the server's logs). Connecting is lazy: a server that is down
/// shows in [`readiness`], not here.
pub async fn connect(service: &'static str, uri: Option<&secrecy::SecretString>, database: &str) -> anyhow::Result<Database> {
    use secrecy::ExposeSecret as _;
    let uri = uri.with_context(|| format!("the {service} service needs MongoDB: set APP_MONGODB_URI"))?;
    let mut options =
        mongodb::options::ClientOptions::parse(uri.expose_secret()).await.context("APP_MONGODB_URI is not a valid MongoDB URI")?;
    options.app_name = Some(service.into());
    options.server_selection_timeout = Some(std::time::Duration::from_secs(5));
    Ok(mongodb::Client::with_options(options)?.database(database))
}

/// A readiness check: one `ping` round trip to the server of `db`.
pub fn readiness(db: Database) -> impl Fn() -> BoxFuture<'static, std::result::Result<(), String>> + Send + Sync + 'static {
    move || {
        let db = db.clone();
        Box::pin(async move { db.run_command(doc! { "ping": 1 }).await.map(|_| ()).map_err(|e| e.to_string()) })
    }
}

/// A field stored as one JSON string (`#[serde(with = "tripnest_common::mongo::packed")]`):
/// read from that string, or from the field's own BSON form as documents written before it
/// was packed hold it. MongoDB stores it as a plain string too.
pub mod packed {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::DeserializeOwned, de::Error as _, ser::Error as _};

    /// Write `value` as its JSON text.
    pub fn serialize<T: Serialize, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&serde_json::to_string(value).map_err(S::Error::custom)?)
    }

    /// Read the JSON text, or the unpacked form.
    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored<T> {
            Packed(String),
            Unpacked(T),
        }
        match Stored::<T>::deserialize(deserializer)? {
            Stored::Packed(text) => serde_json::from_str(&text).map_err(D::Error::custom),
            Stored::Unpacked(value) => Ok(value),
        }
    }
}

/// The document `_id = id` of `collection`, inserting `fresh` when there is none. Of two
/// writers inserting at once, one gets a duplicate key and reads the other's document.
pub async fn find_or_insert<T>(collection: &Collection<T>, id: &str, fresh: T) -> Result<T>
where
    T: Serialize + DeserializeOwned + Send + Sync,
{
    if let Some(found) = collection.find_one(doc! { "_id": id }).await? {
        return Ok(found);
    }
    match collection.insert_one(&fresh).await {
        Ok(_) => Ok(fresh),
        Err(e) if is_duplicate_key(&e) => Ok(collection.find_one(doc! { "_id": id }).await?.unwrap_or(fresh)),
        Err(e) => Err(e),
    }
}

/// Sets `set` on the document `_id = id` of `collection` when its `version_field` is below
/// `version`, in one round trip (`findOneAndUpdate`), and returns the document as it was
/// before. `None` when nothing was set: there is no such document, it holds `version` or a
/// newer one, or it lacks the field; callers then read it and decide as before. Like every
/// update on FerretDB v1 (see the module docs) the guard is not atomic there: callers are the
/// single writer of the document (a read model's consumer, ordered by hotel).
pub async fn set_if_newer<T>(
    collection: &Collection<T>,
    id: &str,
    version_field: &str,
    version: i64,
    set: mongodb::bson::Document,
) -> Result<Option<T>>
where
    T: Serialize + DeserializeOwned + Send + Sync,
{
    collection.find_one_and_update(doc! { "_id": id, version_field: { "$lt": version } }, doc! { "$set": set }).await
}

/// Revisions kept per key; older ones are deleted as new ones are written.
pub const KEEP_REVISIONS: i64 = 32;

/// One revision of a key's state (also the shape of the head).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Revision<T> {
    #[serde(rename = "_id")]
    id: String,
    rev: i64,
    state: T,
}

/// What [`Versioned::update`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Updated<T> {
    /// The state now.
    pub state: T,
    /// Its revision: revisions of one key only grow, so of two states the later has the higher.
    pub rev: i64,
    /// Whether this call changed it.
    pub changed: bool,
}

/// Documents by key whose changes are compare-and-set on every MongoDB-wire server.
#[derive(Debug, Clone)]
pub struct Versioned<T: Send + Sync> {
    heads: Collection<Revision<T>>,
    revisions: Collection<Revision<T>>,
}

fn revision_id(key: &str, rev: i64) -> String {
    format!("{key}#{rev}")
}

/// Whether `e` is a duplicate key on insert (code 11000).
pub fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    matches!(&*e.kind, ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000)
}

impl<T> Versioned<T>
where
    T: Serialize + DeserializeOwned + Default + Clone + Send + Sync + Unpin,
{
    /// The heads in collection `name` of `db`, their revisions in `<name>_revisions`.
    pub fn new(db: &Database, name: &str) -> Self {
        Self { heads: db.collection(name), revisions: db.collection(&format!("{name}_revisions")) }
    }

    /// The published state of `key` (the default when it was never written).
    pub async fn get(&self, key: &str) -> Result<T> {
        Ok(self.heads.find_one(doc! { "_id": key }).await?.map(|h| h.state).unwrap_or_default())
    }

    /// The head of `key`: its revision and state (0 and the default when never written).
    async fn head(&self, key: &str) -> Result<(i64, T)> {
        Ok(match self.heads.find_one(doc! { "_id": key }).await? {
            Some(h) => (h.rev, h.state),
            None => (0, T::default()),
        })
    }

    /// The latest revision of `key` from a head read at revision `rev` with `state`, and
    /// whether that head already shows it.
    async fn latest_from(&self, key: &str, mut rev: i64, mut state: T) -> Result<(i64, T, bool)> {
        let mut published = true;
        while let Some(next) = self.revisions.find_one(doc! { "_id": revision_id(key, rev + 1) }).await? {
            (rev, state, published) = (next.rev, next.state, false);
        }
        Ok((rev, state, published))
    }

    /// Make the head show revision `rev` or a later one.
    async fn publish(&self, key: &str, mut rev: i64, mut state: T) -> Result<()> {
        loop {
            let head = Revision { id: key.to_owned(), rev, state };
            let written = self.heads.replace_one(doc! { "_id": key }, &head).upsert(true).await;
            state = head.state;
            match written {
                Ok(_) => {}
                Err(e) if is_duplicate_key(&e) => continue, // two first writes raced; replace now
                Err(e) => return Err(e),
            }
            let mut newer = false;
            while let Some(next) = self.revisions.find_one(doc! { "_id": revision_id(key, rev + 1) }).await? {
                (rev, state, newer) = (next.rev, next.state, true);
            }
            if !newer {
                return Ok(());
            }
        }
    }

    /// Apply `change` to the latest state of `key` as one compare-and-set, retried on conflict.
    /// `change` returns whether it changed anything; it may run more than once.
    ///
    /// The first attempt trusts the head and writes the revision after it: the insert fails
    /// exactly when a later revision exists (revisions are written one after another), and only
    /// then, or when `change` changes nothing, is the latest revision looked up (after a change
    /// that changes nothing, from the head just read). An uncontended change costs four round
    /// trips (five when an old revision is deleted), one that changes nothing two.
    pub async fn update(&self, key: &str, mut change: impl FnMut(&mut T) -> bool) -> Result<Updated<T>> {
        let mut optimistic = true;
        // A head read by the optimistic attempt, to look for later revisions from.
        let mut read: Option<(i64, T)> = None;
        loop {
            let (rev, current, published) = if optimistic {
                let (rev, state) = self.head(key).await?;
                (rev, state, true)
            } else {
                let (rev, state) = match read.take() {
                    Some(head) => head,
                    None => self.head(key).await?,
                };
                self.latest_from(key, rev, state).await?
            };
            let mut next = current.clone();
            if !change(&mut next) {
                if optimistic {
                    // The head may lag a revision that already holds the change, or one that
                    // needs it: look for revisions after the head just read.
                    optimistic = false;
                    read = Some((rev, current));
                    continue;
                }
                if !published {
                    self.publish(key, rev, current.clone()).await?;
                }
                return Ok(Updated { state: current, rev, changed: false });
            }
            let revision = Revision { id: revision_id(key, rev + 1), rev: rev + 1, state: next };
            match self.revisions.insert_one(&revision).await {
                Ok(_) => {}
                Err(e) if is_duplicate_key(&e) => {
                    optimistic = false;
                    continue;
                }
                Err(e) => return Err(e),
            }
            self.publish(key, revision.rev, revision.state.clone()).await?;
            if revision.rev > KEEP_REVISIONS {
                let old = revision_id(key, revision.rev - KEEP_REVISIONS);
                if let Err(e) = self.revisions.delete_one(doc! { "_id": &old }).await {
                    tracing::warn!(error = %e, revision = old, "cannot delete an old revision; the next write retries");
                }
            }
            return Ok(Updated { state: revision.state, rev: revision.rev, changed: true });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{Bson, from_document, to_document};

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Counter {
        value: i64,
        #[serde(with = "packed")]
        tokens: Vec<String>,
    }

    #[test]
    fn a_packed_field_is_stored_as_one_string_and_read_from_its_unpacked_form_too() {
        let counter = Counter { value: 2, tokens: vec!["b-1+".into(), "b 2\"+".into()] };
        let stored = to_document(&counter).expect("bson");
        assert_eq!(stored.get("tokens"), Some(&Bson::String(r#"["b-1+","b 2\"+"]"#.into())), "packed: {stored}");
        assert_eq!(from_document::<Counter>(stored).expect("read"), counter);
        let unpacked = doc! { "value": 2_i64, "tokens": ["b-1+", "b 2\"+"] };
        assert_eq!(from_document::<Counter>(unpacked).expect("read the array form"), counter);
        assert!(from_document::<Counter>(doc! { "value": 1_i64, "tokens": "not json" }).is_err(), "a damaged string is an error");
    }
}
