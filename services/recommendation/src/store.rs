//! The recommendation service's MongoDB collections, written only by the event consumer. Every
//! read and write is keyed by `_id`, because FerretDB v1 (the local server) answers nothing
//! else from an index: any other filter decodes the whole collection.
//!
//! - `hotels` (`_id` = hotel id): the catalog from `hotel.upserted` / `hotel.removed`
//!   (versioned by event time, `catalogVersion`) and the rating from `hotel.rating.updated`
//!   (`ratingVersion`). Read whole only by the catalog's full loads ([`crate::catalog`]); every
//!   change to a hotel or its popularity is also recorded in the catalog's change log.
//!   The hotel's `popularity` is the count booking publishes with `booking.confirmed` and
//!   `booking.cancelled` ([`Popularity`]), kept with its version (`popularityVersion`): an
//!   older count than the stored one is skipped. (Earlier versions counted bookings here, in
//!   a `popularity` collection that is no longer read.)
//! - `bookings` (`_id` = booking id): `{hotelId, userId, confirmed, cancelled, profiled}`. A
//!   cancellation is final whichever event arrives first; `profiled` says whether the
//!   traveller's profile includes the stay.
//! - `profiles` (`_id` = user id): the traveller's [`ProfileDoc`], their [`PROFILE_STAYS`]
//!   most recent counted stays (by check-in) and their ratings, kept with set semantics (by
//!   booking id, by review id), so redelivery and order do not matter and a review may arrive
//!   before its stay. A request reads it with one lookup. Older stays fall out of the profile.
//!
//! A booking event sets its hotel's popularity, changes the profile when whether the stay counts
//! changed, then records the fact (an insert when it had none: one statement on FerretDB); a
//! crash in between redelivers the event, which finds the popularity's version and the
//! profile's set already holding it. The fact is not read first: the insert fails when there is
//! one (a redelivery, or the booking's other event came first), and only then is it read and the
//! profile set to the merged outcome, so the usual event saves a lookup.

use crate::catalog::{CatalogChange, CatalogLog};
use chrono::NaiveDate;
use futures::TryStreamExt;
use mongodb::{Collection, Database, bson::doc};
use serde::{Deserialize, Serialize};
use tripnest_common::{
    mongo::{Versioned, find_or_insert, is_duplicate_key, set_if_newer},
    saga::{HotelUpserted, Popularity, ReviewCreated, Stay},
};

/// A hotel as this service stores it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HotelDoc {
    /// Hotel id.
    #[serde(rename = "_id")]
    pub id: String,
    /// On sale (false until the catalog arrives, and after removal).
    pub on_sale: bool,
    /// Display name.
    pub name: String,
    /// City as written.
    pub city: String,
    /// Lowercased city.
    pub city_key: String,
    /// Country code.
    pub country: String,
    /// Star classification, 1 to 5.
    pub stars: i32,
    /// Amenities as written.
    pub amenities: Vec<String>,
    /// Lowercased amenities.
    pub amenity_keys: Vec<String>,
    /// ISO 4217 currency of the prices.
    pub currency: String,
    /// Cheapest base nightly rate, minor units.
    pub from_price_cents: i64,
    /// Mean rating (0 when unreviewed).
    pub rating: f64,
    /// Number of reviews behind `rating`.
    pub review_count: i64,
    /// Confirmed, not cancelled stays, as booking last counted them.
    pub popularity: i64,
    /// The version of that count ([`Popularity::version`]).
    pub popularity_version: i64,
    /// Event time (ns) of the stored catalog.
    pub catalog_version: i64,
    /// Event time (ns) of the stored rating.
    pub rating_version: i64,
}

/// A stay in a traveller's profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StayDoc {
    /// Booking id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The traveller who stayed.
    pub user_id: String,
    /// Hotel stayed at.
    pub hotel_id: String,
    /// First night.
    pub check_in: Option<NaiveDate>,
    /// Check-out date, when known.
    pub check_out: Option<NaiveDate>,
    /// Price of one room for one night, minor units.
    pub nightly_cents: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
    /// A `booking.confirmed` arrived.
    pub confirmed: bool,
    /// A `booking.cancelled` arrived.
    pub cancelled: bool,
}

/// A rating a traveller gave one of their stays.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RatingDoc {
    /// Review id.
    pub review_id: String,
    /// The stay reviewed.
    pub booking_id: String,
    /// 1–5.
    pub rating: i32,
}

/// A traveller's profile document (`_id` = user id): their most recent stays and ratings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProfileDoc {
    /// Confirmed, not cancelled stays, latest check-in first, at most [`PROFILE_STAYS`]
    /// (stored [`packed`](tripnest_common::mongo::packed): as 50 documents it cost FerretDB
    /// 7 ms to read and 9 ms to write, as one string about 1.3 ms).
    #[serde(with = "tripnest_common::mongo::packed")]
    pub stays: Vec<StayDoc>,
    /// Ratings by review, oldest first, at most [`PROFILE_RATINGS`] (stored packed).
    #[serde(with = "tripnest_common::mongo::packed")]
    pub ratings: Vec<RatingDoc>,
}

/// Stays a profile keeps (the most recent by check-in).
pub const PROFILE_STAYS: usize = 50;
/// Ratings a profile keeps.
pub const PROFILE_RATINGS: usize = 2 * PROFILE_STAYS;

impl ProfileDoc {
    /// Make `stay` part of the profile (`counts`) or not; whether anything changed.
    pub fn set_stay(&mut self, stay: &StayDoc, counts: bool) -> bool {
        let before = self.stays.clone();
        self.stays.retain(|s| s.id != stay.id);
        if counts {
            self.stays.push(stay.clone());
            self.stays.sort_by(|a, b| b.check_in.cmp(&a.check_in).then_with(|| a.id.cmp(&b.id)));
            self.stays.truncate(PROFILE_STAYS);
        }
        self.stays != before
    }

    /// Add a rating (once per review); whether anything changed. Past the limit, ratings of
    /// stays the profile no longer holds go first, then the oldest.
    pub fn add_rating(&mut self, rating: &RatingDoc) -> bool {
        if self.ratings.iter().any(|r| r.review_id == rating.review_id) {
            return false;
        }
        self.ratings.push(rating.clone());
        while self.ratings.len() > PROFILE_RATINGS {
            let stale = self.ratings.iter().position(|r| !self.stays.iter().any(|s| s.id == r.booking_id)).unwrap_or(0);
            self.ratings.remove(stale);
        }
        true
    }
}

/// What this service knows of one booking (`_id` = booking id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct BookingFact {
    #[serde(rename = "_id")]
    id: String,
    hotel_id: String,
    user_id: String,
    confirmed: bool,
    cancelled: bool,
    /// Listed in its traveller's profile.
    profiled: bool,
}

/// The lowercased, trimmed form used for matching.
pub fn match_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// The collections.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    hotels: Collection<HotelDoc>,
    bookings: Collection<BookingFact>,
    profiles: Versioned<ProfileDoc>,
    log: Option<CatalogLog>,
}

impl Store {
    /// The collections of `db`.
    pub fn new(db: Database) -> Self {
        Self {
            hotels: db.collection("hotels"),
            bookings: db.collection("bookings"),
            profiles: Versioned::new(&db, "profiles"),
            log: None,
            db,
        }
    }

    /// Record every change to a hotel or its popularity in `log` too ([`crate::catalog`]).
    pub fn with_log(self, log: CatalogLog) -> Self {
        Self { log: Some(log), ..self }
    }

    /// The catalog's change log, when there is one.
    pub fn log(&self) -> Option<&CatalogLog> {
        self.log.as_ref()
    }

    async fn logged(&self, hotel: &str, popularity: Option<(i64, i64)>) {
        if let Some(log) = &self.log {
            log.record(&CatalogChange { hotel: hotel.to_owned(), popularity }).await;
        }
    }

    /// Name `user` in the profile log after an update of their profile: even when it changed
    /// nothing, since a redelivery may follow a crash between the write and its record.
    async fn profile_logged(&self, user: &str) {
        if let Some(log) = &self.log {
            log.record_profile(user).await;
        }
    }

    /// One hotel by id.
    pub async fn hotel(&self, id: &str) -> mongodb::error::Result<Option<HotelDoc>> {
        self.hotels.find_one(doc! { "_id": id }).await
    }

    /// The database, for the readiness check.
    pub fn database(&self) -> Database {
        self.db.clone()
    }

    async fn ensure_hotel(&self, id: &str) -> mongodb::error::Result<HotelDoc> {
        find_or_insert(&self.hotels, id, HotelDoc { id: id.to_owned(), ..HotelDoc::default() }).await
    }

    /// Apply `hotel.upserted` at `version` (event time, ns); older catalog states are skipped.
    pub async fn upsert_hotel(&self, h: &HotelUpserted, version: i64) -> mongodb::error::Result<()> {
        if self.ensure_hotel(&h.hotel_id).await?.catalog_version > version {
            return Ok(());
        }
        let set = doc! {
            "onSale": true,
            "name": &h.name,
            "city": &h.city,
            "cityKey": match_key(&h.city),
            "country": &h.country,
            "stars": i32::from(h.stars),
            "amenities": &h.amenities,
            "amenityKeys": h.amenities.iter().map(|a| match_key(a)).collect::<Vec<_>>(),
            "currency": &h.currency,
            "fromPriceCents": h.room_types.iter().map(|r| r.base_rate_cents).min().unwrap_or(0),
            "catalogVersion": version,
        };
        self.hotels.update_one(doc! { "_id": &h.hotel_id }, doc! { "$set": set }).await?;
        self.logged(&h.hotel_id, None).await;
        Ok(())
    }

    /// Apply `hotel.removed` at `version`.
    pub async fn remove_hotel(&self, id: &str, version: i64) -> mongodb::error::Result<()> {
        if self.ensure_hotel(id).await?.catalog_version > version {
            return Ok(());
        }
        self.hotels.update_one(doc! { "_id": id }, doc! { "$set": { "onSale": false, "catalogVersion": version } }).await?;
        self.logged(id, None).await;
        Ok(())
    }

    /// Apply `hotel.rating.updated` at `version`.
    pub async fn set_rating(&self, id: &str, average: f64, count: i64, version: i64) -> mongodb::error::Result<()> {
        if self.ensure_hotel(id).await?.rating_version > version {
            return Ok(());
        }
        let set = doc! { "rating": average, "reviewCount": count, "ratingVersion": version };
        self.hotels.update_one(doc! { "_id": id }, doc! { "$set": set }).await?;
        self.logged(id, None).await;
        Ok(())
    }

    /// Apply a hotel's popularity as booking counted it; a count older than the stored one
    /// changes nothing.
    pub async fn set_popularity(&self, hotel: &str, popularity: Popularity) -> mongodb::error::Result<()> {
        let set = doc! { "popularity": popularity.stays, "popularityVersion": popularity.version };
        // One round trip when the hotel is known and the count newer.
        if set_if_newer(&self.hotels, hotel, "popularityVersion", popularity.version, set.clone()).await?.is_none() {
            if self.ensure_hotel(hotel).await?.popularity_version >= popularity.version {
                return Ok(());
            }
            self.hotels.update_one(doc! { "_id": hotel }, doc! { "$set": set }).await?;
        }
        self.logged(hotel, Some((popularity.stays, popularity.version))).await;
        Ok(())
    }

    /// Record a confirmed or cancelled stay: its hotel's popularity is what the event carries
    /// (when it does), and its traveller's profile follows whether it counts now (confirmed
    /// and not cancelled).
    pub async fn record_stay(
        &self,
        stay: &Stay,
        confirmed: bool,
        cancelled: bool,
        popularity: Option<Popularity>,
    ) -> mongodb::error::Result<()> {
        if let Some(p) = popularity {
            self.set_popularity(&stay.hotel_id, p).await?;
        }
        let id = stay.booking_id.to_string();
        // Set once this call changed the profile: after a lost race for the fact, the fact read
        // next may say the profile does not hold what this call just put in it.
        let mut profile_changed = false;
        // The first attempt does not read the fact: a booking's first event (nearly every event)
        // finds none, and its insert fails exactly when there is one, which is then read.
        let mut read = false;
        loop {
            let old = if read { self.bookings.find_one(doc! { "_id": &id }).await? } else { None };
            let known = old.is_some();
            let old = old.unwrap_or_default();
            let (confirmed, cancelled) = (old.confirmed || confirmed, old.cancelled || cancelled);
            let counts = confirmed && !cancelled;
            let fact = BookingFact {
                id: id.clone(),
                hotel_id: stay.hotel_id.clone(),
                user_id: stay.user_id.to_string(),
                confirmed,
                cancelled,
                profiled: counts,
            };
            // The profile follows the merged outcome: when whether the stay counts changed, or
            // again after a lost race (this call's change may not be the outcome).
            if old.profiled != counts || profile_changed {
                let nights = (stay.check_out - stay.check_in).num_days().max(1);
                let entry = StayDoc {
                    id: id.clone(),
                    user_id: fact.user_id.clone(),
                    hotel_id: stay.hotel_id.clone(),
                    check_in: Some(stay.check_in),
                    check_out: Some(stay.check_out),
                    nightly_cents: stay.amount_cents / nights / i64::from(stay.rooms.max(1)),
                    currency: stay.currency.clone(),
                    confirmed,
                    cancelled,
                };
                self.profiles.update(&fact.user_id, |p| p.set_stay(&entry, counts)).await?;
                self.profile_logged(&fact.user_id).await;
                profile_changed = true;
            }
            if known && fact == old {
                return Ok(());
            }
            // A fact new to the read model (every first event of a booking) is inserted: one
            // statement on FerretDB, where an upsert is a transaction with a read and a write.
            let written = if known {
                self.bookings.replace_one(doc! { "_id": &id }, &fact).upsert(true).await.map(drop)
            } else {
                self.bookings.insert_one(&fact).await.map(drop)
            };
            match written {
                // The booking has a fact (this attempt did not read it), or another writer
                // recorded it meanwhile (a partition handover): merge with it, and set the
                // profile to the merged outcome.
                Err(e) if !known && is_duplicate_key(&e) => {
                    read = true;
                    continue;
                }
                other => return other,
            }
        }
    }

    /// Record a review in its author's profile.
    pub async fn record_review(&self, r: &ReviewCreated) -> mongodb::error::Result<()> {
        let rating = RatingDoc { review_id: r.review_id.to_string(), booking_id: r.booking_id.to_string(), rating: i32::from(r.rating) };
        let user = r.user_id.to_string();
        self.profiles.update(&user, |p| p.add_rating(&rating)).await?;
        self.profile_logged(&user).await;
        Ok(())
    }

    /// A traveller's profile document (empty when they have none).
    pub async fn profile_of(&self, user: &str) -> mongodb::error::Result<ProfileDoc> {
        self.profiles.get(user).await
    }

    /// Every hotel (on sale or not) with its popularity: a read of the whole collection, for
    /// the background catalog load only.
    pub async fn load_catalog(&self) -> mongodb::error::Result<Vec<HotelDoc>> {
        self.hotels.find(doc! {}).await?.try_collect().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{Bson, from_document, to_bson, to_document};

    #[test]
    fn a_profile_is_stored_as_two_strings_and_profiles_stored_as_arrays_are_still_read() {
        let stay = StayDoc {
            id: "b-1".into(),
            user_id: "u-1".into(),
            hotel_id: "porto-1".into(),
            check_in: NaiveDate::from_ymd_opt(2027, 5, 1),
            check_out: NaiveDate::from_ymd_opt(2027, 5, 3),
            nightly_cents: 9_000,
            currency: "EUR".into(),
            confirmed: true,
            cancelled: false,
        };
        let rating = RatingDoc { review_id: "r-1".into(), booking_id: "b-1".into(), rating: 5 };
        let profile = ProfileDoc { stays: vec![stay.clone()], ratings: vec![rating.clone()] };
        let stored = to_document(&profile).expect("bson");
        assert!(matches!(stored.get("stays"), Some(Bson::String(_))), "{stored}");
        assert!(matches!(stored.get("ratings"), Some(Bson::String(_))), "{stored}");
        assert_eq!(from_document::<ProfileDoc>(stored).expect("read"), profile);

        let unpacked = doc! { "stays": [to_bson(&stay).expect("stay")], "ratings": [to_bson(&rating).expect("rating")] };
        assert_eq!(from_document::<ProfileDoc>(unpacked).expect("the array form"), profile);
        assert_eq!(from_document::<ProfileDoc>(doc! {}).expect("empty"), ProfileDoc::default());
    }
}
