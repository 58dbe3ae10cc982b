//! Running a [`SearchQuery`] against the read model.
//!
//! Without dates, MongoDB does everything: filter, sort, skip/limit and the count.
//!
//! With dates, MongoDB filters the hotels (city, stars, rating, amenities) and returns their
//! calendars projected to the nights of the stay; Rust then keeps the room types that are big
//! enough and have enough rooms left on *every* night, prices the stay, applies the price
//! range, sorts and pages. Doing that per-night aggregation in Rust (instead of `$group` /
//! `$lookup` pipelines) keeps the queries to plain finds that FerretDB v1 and MongoDB answer
//! identically; the candidate set is bounded by `max_candidates`.

use crate::{
    query::{SearchQuery, SortKey, Stay},
    store::{HotelDoc, OpenNight, RoomTypeDoc, Store},
};
use mongodb::bson::{Document, doc};
use serde::Serialize;
use std::collections::HashMap;

/// A page of results.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPage {
    /// The hotels on this page.
    pub items: Vec<HotelHit>,
    /// Hotels matching in total.
    pub total: u64,
    /// This page, from 1.
    pub page: u64,
    /// Page size.
    pub page_size: u64,
}

/// One hotel in the results.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HotelHit {
    /// Hotel id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// City.
    pub city: String,
    /// Country code.
    pub country: String,
    /// Stars.
    pub stars: i32,
    /// Mean rating (0 when unreviewed).
    pub rating: f64,
    /// Reviews.
    pub review_count: i64,
    /// Confirmed bookings.
    pub popularity: i64,
    /// Hotel amenities.
    pub amenities: Vec<String>,
    /// Currency of every price.
    pub currency: String,
    /// Cheapest base nightly rate, minor units.
    pub from_price_cents: i64,
    /// Cheapest total for the stay (dates given), minor units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cents: Option<i64>,
    /// Nights of the stay (dates given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nights: Option<i64>,
    /// Room types: bookable offers for the stay (dates given), or the catalog.
    pub room_types: Vec<RoomOffer>,
}

/// A room type in a result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomOffer {
    /// Name.
    pub name: String,
    /// Guests per room.
    pub capacity: i32,
    /// Base nightly rate, minor units.
    pub base_rate_cents: i64,
    /// Room amenities.
    pub amenities: Vec<String>,
    /// Total for the stay and rooms (dates given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cents: Option<i64>,
    /// Fewest rooms left on any night of the stay (dates given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i32>,
}

impl RoomOffer {
    /// The catalog view of a room type (no stay).
    pub fn catalog(r: &RoomTypeDoc) -> Self {
        Self {
            name: r.name.clone(),
            capacity: r.capacity,
            base_rate_cents: r.base_rate_cents,
            amenities: r.amenities.clone(),
            total_cents: None,
            available: None,
        }
    }
}

impl HotelHit {
    fn new(h: HotelDoc, stay: Option<(Stay, Vec<RoomOffer>)>) -> Self {
        let (total_cents, nights, room_types) = match stay {
            Some((stay, offers)) => (offers.first().and_then(|o| o.total_cents), Some(stay.nights()), offers),
            None => (None, None, h.room_types.iter().map(RoomOffer::catalog).collect()),
        };
        Self {
            id: h.id,
            name: h.name,
            city: h.city,
            country: h.country,
            stars: h.stars,
            rating: h.rating,
            review_count: h.review_count,
            popularity: h.popularity,
            amenities: h.amenities,
            currency: h.currency,
            from_price_cents: h.from_price_cents,
            total_cents,
            nights,
            room_types,
        }
    }
}

/// The filter on hotel fields shared by both paths.
pub fn hotel_filter(q: &SearchQuery) -> Document {
    let mut f = doc! { "onSale": true };
    if let Some(city) = &q.city {
        f.insert("cityKey", city);
    }
    if !q.amenities.is_empty() {
        f.insert("amenityKeys", doc! { "$all": &q.amenities });
    }
    if let Some(r) = q.min_rating {
        f.insert("rating", doc! { "$gte": r });
    }
    if !q.stars.is_empty() {
        f.insert("stars", doc! { "$in": &q.stars });
    }
    if q.guests > 1 {
        f.insert("maxCapacity", doc! { "$gte": q.capacity_needed() });
    }
    f
}

/// Run `q`. `max_candidates` bounds how many hotels a dated search considers.
pub async fn search(store: &Store, q: &SearchQuery, max_candidates: i64) -> mongodb::error::Result<SearchPage> {
    let skip = (q.page - 1).saturating_mul(q.page_size);
    let Some(stay) = q.stay else {
        let mut filter = hotel_filter(q);
        let mut price = Document::new();
        if let Some(lo) = q.min_price {
            price.insert("$gte", lo);
        }
        if let Some(hi) = q.max_price {
            price.insert("$lte", hi);
        }
        if !price.is_empty() {
            filter.insert("fromPriceCents", price);
        }
        let dir = if q.descending { -1 } else { 1 };
        let field = match q.sort {
            SortKey::Price => "fromPriceCents",
            SortKey::Rating => "rating",
            SortKey::Popularity => "popularity",
        };
        let sort = doc! { field: dir, "_id": 1 };
        let limit = i64::try_from(q.page_size).unwrap_or(i64::MAX);
        let hotels = store.find_hotels(filter.clone(), sort, skip, limit).await?;
        let total = store.count_hotels(filter).await?;
        let items = hotels.into_iter().map(|h| HotelHit::new(h, None)).collect();
        return Ok(SearchPage { items, total, page: q.page, page_size: q.page_size });
    };
    let candidates = store.find_hotels(hotel_filter(q), doc! { "_id": 1 }, 0, max_candidates).await?;
    let ids: Vec<String> = candidates.iter().map(|h| h.id.clone()).collect();
    let rooms = i32::try_from(q.rooms).unwrap_or(i32::MAX);
    let nights = if ids.is_empty() { Vec::new() } else { store.open_nights(&ids, stay.check_in, stay.check_out, rooms).await? };
    let mut open = group_nights(nights);
    let mut hits: Vec<HotelHit> = candidates
        .into_iter()
        .filter_map(|h| {
            let offers = offers_for(&h, open.remove(&h.id).unwrap_or_default(), stay, q);
            let best = offers.first()?.total_cents?;
            q.price_ok(best).then(|| HotelHit::new(h, Some((stay, offers))))
        })
        .collect();
    sort_hits(&mut hits, q.sort, q.descending);
    let total = hits.len() as u64;
    let items =
        hits.into_iter().skip(usize::try_from(skip).unwrap_or(usize::MAX)).take(usize::try_from(q.page_size).unwrap_or(0)).collect();
    Ok(SearchPage { items, total, page: q.page, page_size: q.page_size })
}

/// Open nights by hotel, then by room type.
fn group_nights(nights: Vec<OpenNight>) -> HashMap<String, HashMap<String, Vec<OpenNight>>> {
    let mut by_hotel: HashMap<String, HashMap<String, Vec<OpenNight>>> = HashMap::new();
    for n in nights {
        by_hotel.entry(n.hotel_id.clone()).or_default().entry(n.room_type.clone()).or_default().push(n);
    }
    by_hotel
}

/// The room types of `h` that fit the party and are open on every night of `stay`, cheapest
/// first. `open` holds the nights (per room type) that have enough rooms left.
pub fn offers_for(h: &HotelDoc, mut open: HashMap<String, Vec<OpenNight>>, stay: Stay, q: &SearchQuery) -> Vec<RoomOffer> {
    let needed = usize::try_from(stay.nights()).unwrap_or(0);
    let mut offers: Vec<RoomOffer> = h
        .room_types
        .iter()
        .filter(|r| r.capacity >= q.capacity_needed())
        .filter_map(|r| {
            let mut nights = open.remove(&r.name)?;
            nights.sort_by_key(|n| n.night);
            nights.dedup_by_key(|n| n.night);
            if nights.len() != needed {
                return None;
            }
            let per_room: i64 = nights.iter().map(|n| n.price_cents).sum();
            Some(RoomOffer {
                total_cents: Some(per_room.saturating_mul(i64::from(q.rooms))),
                available: nights.iter().map(|n| n.available).min(),
                ..RoomOffer::catalog(r)
            })
        })
        .collect();
    offers.sort_by(|a, b| a.total_cents.cmp(&b.total_cents).then_with(|| a.name.cmp(&b.name)));
    offers
}

/// Order hits by `key` (ties by id, ascending, so pages are stable).
pub fn sort_hits(hits: &mut [HotelHit], key: SortKey, descending: bool) {
    hits.sort_by(|a, b| {
        let primary = match key {
            SortKey::Price => a.total_cents.cmp(&b.total_cents),
            SortKey::Rating => a.rating.total_cmp(&b.rating),
            SortKey::Popularity => a.popularity.cmp(&b.popularity),
        };
        let primary = if descending { primary.reverse() } else { primary };
        primary.then_with(|| a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::RawSearch;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn night(room: &str, n: &str, available: i32, price: i64) -> OpenNight {
        OpenNight { hotel_id: "h".into(), room_type: room.into(), night: d(n), available, price_cents: price }
    }

    fn hotel() -> HotelDoc {
        let rt = |name: &str, capacity| RoomTypeDoc { name: name.into(), capacity, base_rate_cents: 100, amenities: vec![] };
        HotelDoc { id: "h".into(), room_types: vec![rt("double", 2), rt("suite", 4)], ..HotelDoc::default() }
    }

    fn query(guests: &str, rooms: &str) -> SearchQuery {
        let uri: axum::http::Uri =
            format!("/hotels?checkIn=2027-05-01&checkOut=2027-05-04&guests={guests}&rooms={rooms}").parse().expect("uri");
        let raw = axum::extract::Query::<RawSearch>::try_from_uri(&uri).expect("query").0;
        SearchQuery::parse(raw, d("2027-05-01")).expect("valid")
    }

    #[test]
    fn a_room_type_must_be_open_every_night_and_fit_the_party() {
        let q = query("3", "1");
        let stay = q.stay.expect("dates");
        let mut open = HashMap::new();
        open.insert(
            "double".into(),
            vec![night("double", "2027-05-01", 3, 100), night("double", "2027-05-02", 3, 100), night("double", "2027-05-03", 3, 100)],
        );
        open.insert("suite".into(), vec![night("suite", "2027-05-01", 1, 300), night("suite", "2027-05-03", 1, 300)]);
        assert!(offers_for(&hotel(), open.clone(), stay, &q).is_empty(), "double too small for 3, suite missing a night");

        open.get_mut("suite").expect("suite").push(night("suite", "2027-05-02", 2, 400));
        let offers = offers_for(&hotel(), open.clone(), stay, &q);
        assert_eq!(offers.len(), 1);
        assert_eq!((offers[0].name.as_str(), offers[0].total_cents, offers[0].available), ("suite", Some(1000), Some(1)));

        let two_rooms = query("3", "2");
        let offers = offers_for(&hotel(), open, stay, &two_rooms);
        assert_eq!(
            offers.iter().map(|o| (o.name.as_str(), o.total_cents)).collect::<Vec<_>>(),
            [("double", Some(600)), ("suite", Some(2000))]
        );
    }

    #[test]
    fn hits_sort_by_key_with_stable_ties() {
        let hit = |id: &str, total, rating, popularity| HotelHit {
            total_cents: Some(total),
            rating,
            popularity,
            ..HotelHit::new(HotelDoc { id: id.into(), ..HotelDoc::default() }, None)
        };
        let mut hits = vec![hit("b", 300, 4.0, 1), hit("a", 300, 4.5, 9), hit("c", 100, 3.0, 5)];
        let ids = |hits: &[HotelHit]| hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
        sort_hits(&mut hits, SortKey::Price, false);
        assert_eq!(ids(&hits), ["c", "a", "b"]);
        sort_hits(&mut hits, SortKey::Rating, true);
        assert_eq!(ids(&hits), ["a", "b", "c"]);
        sort_hits(&mut hits, SortKey::Popularity, true);
        assert_eq!(ids(&hits), ["a", "c", "b"]);
    }
}
