//! The recommendation service's MongoDB collections, written only by the event consumer:
//!
//! - `hotels` (`_id` = hotel id): the catalog from `hotel.upserted` / `hotel.removed`
//!   (versioned by event time, `catalogVersion`), the rating from `hotel.rating.updated`
//!   (`ratingVersion`), and `popularity`, recounted from `stays`.
//! - `stays` (`_id` = booking id): `{userId, hotelId, checkIn, checkOut, nightlyCents,
//!   confirmed, cancelled}` from `booking.confirmed` / `booking.cancelled`; a cancellation is
//!   final whichever arrives first.
//! - `reviews` (`_id` = review id): `{userId, hotelId, bookingId, rating}` from `review.created`.
//!
//! Every write is an idempotent upsert by id or a version-guarded `$set`, so redelivered and
//! reordered events leave the same state. Queries are plain finds (`$in`, equality, sort,
//! limit), which FerretDB v1 and MongoDB answer alike.

use chrono::NaiveDate;
use futures::TryStreamExt;
use mongodb::{
    Collection, Database, IndexModel,
    bson::{Document, doc},
    error::{ErrorKind, WriteFailure},
};
use serde::{Deserialize, Serialize};
use tripnest_common::saga::{HotelUpserted, ReviewCreated, Stay};

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
    /// Stars.
    pub stars: i32,
    /// Amenities as written.
    pub amenities: Vec<String>,
    /// Lowercased amenities.
    pub amenity_keys: Vec<String>,
    /// Currency.
    pub currency: String,
    /// Cheapest base nightly rate, minor units.
    pub from_price_cents: i64,
    /// Mean rating (0 when unreviewed).
    pub rating: f64,
    /// Reviews.
    pub review_count: i64,
    /// Confirmed, not cancelled stays.
    pub popularity: i64,
    /// Event time (ns) of the stored catalog.
    pub catalog_version: i64,
    /// Event time (ns) of the stored rating.
    pub rating_version: i64,
}

/// A booking as this service stores it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StayDoc {
    /// Booking id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Guest.
    pub user_id: String,
    /// Hotel.
    pub hotel_id: String,
    /// First night.
    pub check_in: Option<NaiveDate>,
    /// Departure.
    pub check_out: Option<NaiveDate>,
    /// Price of one room for one night, minor units.
    pub nightly_cents: i64,
    /// Currency.
    pub currency: String,
    /// A `booking.confirmed` arrived.
    pub confirmed: bool,
    /// A `booking.cancelled` arrived.
    pub cancelled: bool,
}

/// A review as this service stores it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviewDoc {
    /// Review id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Author.
    pub user_id: String,
    /// Hotel.
    pub hotel_id: String,
    /// The stay reviewed.
    pub booking_id: String,
    /// 1–5.
    pub rating: i32,
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
    stays: Collection<StayDoc>,
    reviews: Collection<ReviewDoc>,
}

impl Store {
    /// The collections of `db`.
    pub fn new(db: Database) -> Self {
        Self { hotels: db.collection("hotels"), stays: db.collection("stays"), reviews: db.collection("reviews"), db }
    }

    /// Create the indexes queries use (idempotent).
    pub async fn create_indexes(&self) -> mongodb::error::Result<()> {
        self.hotels.create_index(IndexModel::builder().keys(doc! { "onSale": 1, "cityKey": 1 }).build()).await?;
        self.stays.create_index(IndexModel::builder().keys(doc! { "userId": 1 }).build()).await?;
        self.stays.create_index(IndexModel::builder().keys(doc! { "hotelId": 1 }).build()).await?;
        self.reviews.create_index(IndexModel::builder().keys(doc! { "userId": 1 }).build()).await?;
        Ok(())
    }

    /// A round trip to the server, for readiness.
    pub async fn ping(&self) -> Result<(), String> {
        self.db.run_command(doc! { "ping": 1 }).await.map(|_| ()).map_err(|e| e.to_string())
    }

    async fn ensure_hotel(&self, id: &str) -> mongodb::error::Result<HotelDoc> {
        if let Some(h) = self.hotels.find_one(doc! { "_id": id }).await? {
            return Ok(h);
        }
        let fresh = HotelDoc { id: id.to_owned(), ..HotelDoc::default() };
        match self.hotels.insert_one(&fresh).await {
            Ok(_) => Ok(fresh),
            Err(e) if matches!(&*e.kind, ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000) => {
                Ok(self.hotels.find_one(doc! { "_id": id }).await?.unwrap_or(fresh))
            }
            Err(e) => Err(e),
        }
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
        Ok(())
    }

    /// Apply `hotel.removed` at `version`.
    pub async fn remove_hotel(&self, id: &str, version: i64) -> mongodb::error::Result<()> {
        if self.ensure_hotel(id).await?.catalog_version > version {
            return Ok(());
        }
        self.hotels.update_one(doc! { "_id": id }, doc! { "$set": { "onSale": false, "catalogVersion": version } }).await?;
        Ok(())
    }

    /// Apply `hotel.rating.updated` at `version`.
    pub async fn set_rating(&self, id: &str, average: f64, count: i64, version: i64) -> mongodb::error::Result<()> {
        if self.ensure_hotel(id).await?.rating_version > version {
            return Ok(());
        }
        let set = doc! { "rating": average, "reviewCount": count, "ratingVersion": version };
        self.hotels.update_one(doc! { "_id": id }, doc! { "$set": set }).await?;
        Ok(())
    }

    /// Record a confirmed or cancelled stay, then recount its hotel's popularity.
    pub async fn record_stay(&self, stay: &Stay, confirmed: bool, cancelled: bool) -> mongodb::error::Result<()> {
        let id = stay.booking_id.to_string();
        let old = self.stays.find_one(doc! { "_id": &id }).await?.unwrap_or_default();
        let nights = (stay.check_out - stay.check_in).num_days().max(1);
        let nightly = stay.amount_cents / nights / i64::from(stay.rooms.max(1));
        let set = doc! {
            "userId": stay.user_id.to_string(),
            "hotelId": &stay.hotel_id,
            "checkIn": stay.check_in.to_string(),
            "checkOut": stay.check_out.to_string(),
            "nightlyCents": nightly,
            "currency": &stay.currency,
            "confirmed": old.confirmed || confirmed,
            "cancelled": old.cancelled || cancelled,
        };
        self.stays.update_one(doc! { "_id": &id }, doc! { "$set": set }).upsert(true).await?;
        let popularity = self.stays.count_documents(doc! { "hotelId": &stay.hotel_id, "confirmed": true, "cancelled": false }).await?;
        self.ensure_hotel(&stay.hotel_id).await?;
        let popularity = i64::try_from(popularity).unwrap_or(i64::MAX);
        self.hotels.update_one(doc! { "_id": &stay.hotel_id }, doc! { "$set": { "popularity": popularity } }).await?;
        Ok(())
    }

    /// Record a review.
    pub async fn record_review(&self, r: &ReviewCreated) -> mongodb::error::Result<()> {
        let set = doc! {
            "userId": r.user_id.to_string(),
            "hotelId": &r.hotel_id,
            "bookingId": r.booking_id.to_string(),
            "rating": i32::from(r.rating),
        };
        self.reviews.update_one(doc! { "_id": r.review_id.to_string() }, doc! { "$set": set }).upsert(true).await?;
        Ok(())
    }

    /// A user's confirmed, not cancelled stays.
    pub async fn stays_of(&self, user: &str) -> mongodb::error::Result<Vec<StayDoc>> {
        self.stays.find(doc! { "userId": user, "confirmed": true, "cancelled": false }).await?.try_collect().await
    }

    /// A user's reviews.
    pub async fn reviews_of(&self, user: &str) -> mongodb::error::Result<Vec<ReviewDoc>> {
        self.reviews.find(doc! { "userId": user }).await?.try_collect().await
    }

    /// Hotels by id (on sale or not).
    pub async fn hotels_by_id(&self, ids: &[String]) -> mongodb::error::Result<Vec<HotelDoc>> {
        self.hotels.find(doc! { "_id": { "$in": ids } }).await?.try_collect().await
    }

    /// Hotels on sale (in `city`, when given), most popular first, at most `limit`.
    pub async fn hotels_on_sale(&self, city: Option<&str>, limit: i64) -> mongodb::error::Result<Vec<HotelDoc>> {
        let mut filter: Document = doc! { "onSale": true };
        if let Some(city) = city {
            filter.insert("cityKey", city);
        }
        let sort = doc! { "popularity": -1, "rating": -1, "_id": 1 };
        self.hotels.find(filter).sort(sort).limit(limit).await?.try_collect().await
    }
}
