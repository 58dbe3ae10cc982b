//! The MongoDB read model, written only by the event consumer. Searches read it by `_id` alone:
//! FerretDB v1 answers only `{_id: …}` from an index and reads and decodes every document of a
//! collection for any other filter (`$in`, other fields, sorts), however small the answer.
//!
//! - `hotels`: one document per hotel, `_id` = hotel id, with its room types. Each aspect has
//!   one source topic and its own version (the event time in nanoseconds): the catalog
//!   (`hotel.upserted` / `hotel.removed`, `catalogVersion`) and the rating
//!   (`hotel.rating.updated`, `ratingVersion`). An event older than the stored version of its
//!   aspect is skipped, so redelivery and cross-topic reordering never roll a hotel back.
//! - `calendars`: one document per hotel and room type, `_id` = `hotel|roomType` (so a hotel's
//!   calendars are found from its room types by key), holding its nights (rooms left and price)
//!   packed in one string, see [`crate::calendar`]. A window of nights is replaced with what
//!   booking says is true now (read, merged, written back when it differs); nights before
//!   today are pruned on the way.
//! - `cityIndex`: `{_id: "city:<cityKey>", hotelIds}` per city and `{_id: "cities", cityKeys}`,
//!   so a city's hotels (and every city) are found by key. The catalog events keep them: a
//!   hotel is added to its city's list before its document is written and taken out of the old
//!   city's list when it moves or leaves sale, so a list may briefly name a hotel that is not
//!   (or no longer) on sale there, never miss one; readers check each hotel's own document.
//!   FerretDB v1 applies an update as a read and then a write, so two replicas adding hotels to
//!   one city at once would lose one: each write of an index document holds a Redis lock.
//!   Deployments from before the index get it built once at startup
//!   ([`Store::build_city_index`]).
//! - `popularity` on the hotel is the count booking publishes with `booking.confirmed` and
//!   `booking.cancelled` ([`Popularity`]), stored with its version (`popularityVersion`): an
//!   event carrying an older version than the stored one is skipped. One lookup and one write
//!   per event, whatever the number of bookings. (Earlier versions counted bookings here, in
//!   `bookings` and `popularity` collections that are no longer read.)
//!
//! Only plain operators are used (equality, `$set`, `$addToSet`, `$pull`): FerretDB v1 and
//! MongoDB answer these identically.

use chrono::NaiveDate;
use futures::TryStreamExt;
use mongodb::{
    Collection, Database,
    bson::{Document, doc, to_bson},
};
use serde::{Deserialize, Serialize};
use tripnest_common::{
    mongo::{find_or_insert, is_duplicate_key, set_if_newer},
    saga::{HotelUpserted, NightAvailability, Popularity, RoomTypeInfo},
};

use crate::cache::ResultCache;
pub use crate::calendar::{CalendarDoc, NightCell};

/// A hotel as the read model stores it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HotelDoc {
    /// Hotel id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Whether the hotel is on sale (false until its catalog arrives, and after removal).
    pub on_sale: bool,
    /// Display name.
    pub name: String,
    /// City as written.
    pub city: String,
    /// Lowercased city, for matching.
    pub city_key: String,
    /// Country code.
    pub country: String,
    /// Street address.
    pub address: String,
    /// Stars, 1–5.
    pub stars: i32,
    /// Hotel amenities as written.
    pub amenities: Vec<String>,
    /// Lowercased amenities, for matching.
    pub amenity_keys: Vec<String>,
    /// ISO 4217 currency.
    pub currency: String,
    /// Free-text description from the catalog.
    pub description: String,
    /// Room types on sale.
    pub room_types: Vec<RoomTypeDoc>,
    /// Cheapest base nightly rate of any room type, minor units.
    pub from_price_cents: i64,
    /// Largest room capacity.
    pub max_capacity: i32,
    /// Mean review rating (0 when unreviewed).
    pub rating: f64,
    /// Number of reviews.
    pub review_count: i64,
    /// Confirmed, not cancelled bookings, as booking last counted them.
    pub popularity: i64,
    /// The version of that count ([`Popularity::version`]).
    pub popularity_version: i64,
    /// Event time (ns) of the catalog state stored.
    pub catalog_version: i64,
    /// Event time (ns) of the rating stored.
    pub rating_version: i64,
}

/// A room type as stored in its hotel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoomTypeDoc {
    /// Room type name, unique within the hotel.
    pub name: String,
    /// Guests per room.
    pub capacity: i32,
    /// Base nightly rate, minor units.
    pub base_rate_cents: i64,
    /// Room amenities.
    pub amenities: Vec<String>,
}

impl From<&RoomTypeInfo> for RoomTypeDoc {
    fn from(r: &RoomTypeInfo) -> Self {
        Self { name: r.name.clone(), capacity: r.capacity, base_rate_cents: r.base_rate_cents, amenities: r.amenities.clone() }
    }
}

/// Whether an event changed the read model, and which cities' results it affects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Lowercased cities whose cached results are now stale (empty: nothing changed).
    pub cities: Vec<String>,
    /// Whether anything changed at all.
    pub changed: bool,
}

impl Applied {
    fn in_cities(cities: impl IntoIterator<Item = String>) -> Self {
        let mut cities: Vec<String> = cities.into_iter().filter(|c| !c.is_empty()).collect();
        cities.sort();
        cities.dedup();
        Self { cities, changed: true }
    }
}

/// The read model's collections.
#[derive(Debug, Clone)]
pub struct Store {
    /// The database.
    pub db: Database,
    hotels: Collection<HotelDoc>,
    calendars: Collection<CalendarDoc>,
    city_index: Collection<Document>,
    /// Serialises writes of one `cityIndex` document across replicas (see [`Store::with_locks`]).
    locks: Option<ResultCache>,
}

/// The version of [`Store::build_city_index`]'s one-time build (bump to rebuild).
const CITY_INDEX_BUILD: i32 = 1;

/// The `_id` of a calendar.
pub fn calendar_id(hotel: &str, room_type: &str) -> String {
    format!("{hotel}|{room_type}")
}

fn city_index_id(city: &str) -> String {
    format!("city:{city}")
}

/// The lowercased, trimmed form used for matching cities and amenities.
pub fn match_key(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Store {
    /// The collections of `db`.
    pub fn new(db: Database) -> Self {
        Self {
            hotels: db.collection("hotels"),
            calendars: db.collection("calendars"),
            city_index: db.collection("cityIndex"),
            locks: None,
            db,
        }
    }

    /// Take `locks`' Redis lock around each write of a `cityIndex` document: unlike a hotel or
    /// a calendar, one is written by events of many hotels, so by several replicas at once.
    pub fn with_locks(mut self, locks: ResultCache) -> Self {
        self.locks = Some(locks);
        self
    }

    /// The stored hotel, creating an empty (not on sale) one when it is new.
    async fn ensure_hotel(&self, id: &str) -> mongodb::error::Result<HotelDoc> {
        find_or_insert(&self.hotels, id, HotelDoc { id: id.to_owned(), ..HotelDoc::default() }).await
    }

    /// Apply `update` to the city index document `id`, creating it when missing. Two writers
    /// creating it at once: one gets a duplicate key error, and its retry finds the document.
    async fn update_index(&self, id: &str, update: Document) -> mongodb::error::Result<()> {
        let write = || async {
            match self.city_index.update_one(doc! { "_id": id }, update.clone()).upsert(true).await {
                Err(e) if is_duplicate_key(&e) => self.city_index.update_one(doc! { "_id": id }, update).upsert(true).await.map(|_| ()),
                other => other.map(|_| ()),
            }
        };
        match &self.locks {
            Some(locks) => locks.exclusively(&format!("cityIndex:{id}"), write).await,
            None => write().await,
        }
    }

    /// List `hotel` under `city` (and the city among all cities).
    async fn index_hotel(&self, city: &str, hotel: &str) -> mongodb::error::Result<()> {
        self.update_index(&city_index_id(city), doc! { "$addToSet": { "hotelIds": hotel } }).await?;
        self.update_index("cities", doc! { "$addToSet": { "cityKeys": city } }).await
    }

    /// Take `hotel` off `city`'s list.
    async fn unindex_hotel(&self, city: &str, hotel: &str) -> mongodb::error::Result<()> {
        self.update_index(&city_index_id(city), doc! { "$pull": { "hotelIds": hotel } }).await
    }

    /// Apply `hotel.upserted` at `version`.
    pub async fn upsert_hotel(&self, h: &HotelUpserted, version: i64) -> mongodb::error::Result<Applied> {
        let stored = self.ensure_hotel(&h.hotel_id).await?;
        if stored.catalog_version > version {
            return Ok(Applied::default());
        }
        if stored.on_sale && stored.city_key != match_key(&h.city) {
            self.unindex_hotel(&stored.city_key, &h.hotel_id).await?;
        }
        self.index_hotel(&match_key(&h.city), &h.hotel_id).await?;
        let room_types: Vec<RoomTypeDoc> = h.room_types.iter().map(RoomTypeDoc::from).collect();
        let set = doc! {
            "onSale": true,
            "name": &h.name,
            "city": &h.city,
            "cityKey": match_key(&h.city),
            "country": &h.country,
            "address": &h.address,
            "stars": i32::from(h.stars),
            "amenities": &h.amenities,
            "amenityKeys": h.amenities.iter().map(|a| match_key(a)).collect::<Vec<_>>(),
            "currency": &h.currency,
            "description": &h.description,
            "roomTypes": to_bson(&room_types)?,
            "fromPriceCents": room_types.iter().map(|r| r.base_rate_cents).min().unwrap_or(0),
            "maxCapacity": room_types.iter().map(|r| r.capacity).max().unwrap_or(0),
            "catalogVersion": version,
        };
        self.hotels.update_one(doc! { "_id": &h.hotel_id }, doc! { "$set": set }).await?;
        Ok(Applied::in_cities([stored.city_key, match_key(&h.city)]))
    }

    /// Apply `hotel.removed` at `version`.
    pub async fn remove_hotel(&self, id: &str, version: i64) -> mongodb::error::Result<Applied> {
        let stored = self.ensure_hotel(id).await?;
        if stored.catalog_version > version {
            return Ok(Applied::default());
        }
        self.unindex_hotel(&stored.city_key, id).await?;
        self.hotels.update_one(doc! { "_id": id }, doc! { "$set": { "onSale": false, "catalogVersion": version } }).await?;
        Ok(Applied::in_cities([stored.city_key]))
    }

    /// Apply `hotel.rating.updated` at `version`.
    pub async fn set_rating(&self, id: &str, average: f64, count: i64, version: i64) -> mongodb::error::Result<Applied> {
        let stored = self.ensure_hotel(id).await?;
        if stored.rating_version > version {
            return Ok(Applied::default());
        }
        let set = doc! { "rating": average, "reviewCount": count, "ratingVersion": version };
        self.hotels.update_one(doc! { "_id": id }, doc! { "$set": set }).await?;
        Ok(Applied::in_cities([stored.city_key]))
    }

    /// Apply a hotel's popularity as booking counted it; a count older than the stored one
    /// changes nothing, and a newer one with the same value only stores its version.
    /// One round trip when the hotel is known and the count newer ([`set_if_newer`]).
    pub async fn set_popularity(&self, hotel_id: &str, popularity: Popularity) -> mongodb::error::Result<Applied> {
        let set = doc! { "popularity": popularity.stays, "popularityVersion": popularity.version };
        let stored = match set_if_newer(&self.hotels, hotel_id, "popularityVersion", popularity.version, set.clone()).await? {
            Some(before) => before,
            None => {
                let stored = self.ensure_hotel(hotel_id).await?;
                if stored.popularity_version >= popularity.version {
                    return Ok(Applied::default());
                }
                self.hotels.update_one(doc! { "_id": hotel_id }, doc! { "$set": set }).await?;
                stored
            }
        };
        if stored.popularity == popularity.stays {
            return Ok(Applied::default());
        }
        Ok(Applied::in_cities([stored.city_key]))
    }

    /// Store `nights` in a room type's calendar and drop nights before `today`; with `exact`,
    /// also remove the nights of that range `nights` does not list (booking no longer sells
    /// them). The calendar is read, changed in memory and written back whole (it is one packed
    /// string, see [`crate::calendar`]), only when it differs. The consumer orders events by
    /// hotel (`saga::hotel_key`), so two writers of one calendar overlap only during a
    /// partition handover.
    pub async fn replace_nights(
        &self,
        hotel: &str,
        room_type: &str,
        exact: Option<(NaiveDate, NaiveDate)>,
        nights: &[NightAvailability],
        today: NaiveDate,
    ) -> mongodb::error::Result<Applied> {
        let listed = nights.iter().map(|n| n.night);
        let (Some(from), Some(last)) = (listed.clone().chain(exact.map(|e| e.0)).min(), listed.chain(exact.map(|e| e.1)).max()) else {
            return Ok(Applied::default());
        };
        let to = last.succ_opt().unwrap_or(last);
        let id = calendar_id(hotel, room_type);
        let stored = self.calendars.find_one(doc! { "_id": &id }).await?;
        let mut next =
            CalendarDoc { id: id.clone(), hotel_id: hotel.to_owned(), room_type: room_type.to_owned(), nights: Default::default() };
        if let Some(stored) = &stored {
            let cleared = |night: &NaiveDate| exact.is_some_and(|(from, to)| *night >= from && *night < to);
            next.nights = stored.nights.range(today..).filter(|(night, _)| !cleared(night)).map(|(n, c)| (*n, *c)).collect();
        }
        for n in nights.iter().filter(|n| n.night >= today) {
            next.nights.insert(n.night, NightCell { available: n.available, price_cents: n.price_cents });
        }
        let window_of = |c: &CalendarDoc| c.nights.range(from..to).map(|(n, c)| (*n, *c)).collect::<Vec<_>>();
        let changed = stored.as_ref().map(window_of).unwrap_or_default() != window_of(&next);
        if stored.as_ref() == Some(&next) {
            return Ok(Applied::default());
        }
        self.calendars.replace_one(doc! { "_id": &id }, &next).upsert(true).await?;
        if !changed {
            return Ok(Applied::default());
        }
        let city = self.hotels.find_one(doc! { "_id": hotel }).await?.map(|h| h.city_key);
        Ok(Applied::in_cities(city))
    }

    /// The ids listed for `city` in the city index (hotels on sale there, and possibly a few
    /// that just left; see the module docs).
    pub async fn city_hotel_ids(&self, city: &str) -> mongodb::error::Result<Vec<String>> {
        self.listed(&city_index_id(city), "hotelIds").await
    }

    /// Every city that ever had a hotel on sale (lowercased).
    pub async fn city_keys(&self) -> mongodb::error::Result<Vec<String>> {
        self.listed("cities", "cityKeys").await
    }

    async fn listed(&self, id: &str, field: &str) -> mongodb::error::Result<Vec<String>> {
        let Some(found) = self.city_index.find_one(doc! { "_id": id }).await? else { return Ok(Vec::new()) };
        let Ok(list) = found.get_array(field) else { return Ok(Vec::new()) };
        Ok(list.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
    }

    /// One room type's calendar, by `_id`.
    pub async fn calendar(&self, hotel: &str, room_type: &str) -> mongodb::error::Result<Option<CalendarDoc>> {
        self.calendars.find_one(doc! { "_id": calendar_id(hotel, room_type) }).await
    }

    /// Build the city index from the hotels already stored, once per deployment (a marker
    /// document remembers it): the one full read of `hotels`, at startup, for data written
    /// before the index existed. Idempotent, so replicas starting together may both run it.
    /// Returns whether it ran.
    pub async fn build_city_index(&self) -> mongodb::error::Result<bool> {
        let marker = self.city_index.find_one(doc! { "_id": "built" }).await?;
        if marker.and_then(|m| m.get_i32("version").ok()).is_some_and(|v| v >= CITY_INDEX_BUILD) {
            return Ok(false);
        }
        let mut by_city: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut hotels = self.hotels.find(doc! { "onSale": true }).await?;
        while let Some(h) = hotels.try_next().await? {
            by_city.entry(h.city_key).or_default().push(h.id);
        }
        for (city, ids) in &by_city {
            self.update_index(&city_index_id(city), doc! { "$addToSet": { "hotelIds": { "$each": ids } } }).await?;
        }
        let cities: Vec<&String> = by_city.keys().collect();
        self.update_index("cities", doc! { "$addToSet": { "cityKeys": { "$each": cities } } }).await?;
        self.update_index("built", doc! { "$set": { "version": CITY_INDEX_BUILD } }).await?;
        tracing::info!(cities = by_city.len(), hotels = by_city.values().map(Vec::len).sum::<usize>(), "built the city index");
        Ok(true)
    }

    /// One hotel on sale (looked up by `_id` alone, which FerretDB answers from its index).
    pub async fn hotel(&self, id: &str) -> mongodb::error::Result<Option<HotelDoc>> {
        Ok(self.hotels.find_one(doc! { "_id": id }).await?.filter(|h| h.on_sale))
    }
}
