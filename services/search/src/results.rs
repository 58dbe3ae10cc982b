//! Running a [`SearchQuery`] over a city's [`CitySnapshot`], in memory.
//!
//! The hotel filters (amenities, rating, stars, party size), the per-night availability check
//! (every night of the stay open with enough rooms, for a room type big enough), pricing, the
//! price range, sorting and paging are all done here in Rust, on the hotels and calendars of the
//! snapshots (read by `_id`). So FerretDB v1 and MongoDB give the same answers, and a query the
//! Redis cache misses costs no database round trip while its city is unchanged. Only the page
//! returned is turned into results, so a search over every city copies a page, not every hotel.

use crate::{
    query::{SearchQuery, SortKey, Stay},
    snapshot::HotelEntry,
    store::{HotelDoc, RoomTypeDoc},
};
use serde::Serialize;
use std::cmp::Ordering;
use tripnest_common::page::Paged;

/// A page of results.
pub type SearchPage = Paged<HotelHit>;

/// One hotel in the results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HotelHit {
    /// Hotel id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// City as the hotel's manager wrote it.
    pub city: String,
    /// Country code.
    pub country: String,
    /// Star classification, 1 to 5.
    pub stars: i32,
    /// Mean rating (0 when unreviewed).
    pub rating: f64,
    /// Number of reviews behind `rating`.
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
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = SearchRoomType)]
#[serde(rename_all = "camelCase")]
pub struct RoomOffer {
    /// Room type name, unique within the hotel.
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
    /// The hit for `h`: with the stay and its offers (cheapest first) when dates were given,
    /// else with the catalog's room types. Copies only the fields a hit shows.
    fn new(h: &HotelDoc, stay: Option<(Stay, Vec<RoomOffer>)>) -> Self {
        let (total_cents, nights, room_types) = match stay {
            Some((stay, offers)) => (offers.first().and_then(|o| o.total_cents), Some(stay.nights()), offers),
            None => (None, None, h.room_types.iter().map(RoomOffer::catalog).collect()),
        };
        Self {
            id: h.id.clone(),
            name: h.name.clone(),
            city: h.city.clone(),
            country: h.country.clone(),
            stars: h.stars,
            rating: h.rating,
            review_count: h.review_count,
            popularity: h.popularity,
            amenities: h.amenities.clone(),
            currency: h.currency.clone(),
            from_price_cents: h.from_price_cents,
            total_cents,
            nights,
            room_types,
        }
    }
}

/// Whether `h` passes the hotel filters of `q` (city, amenities, rating, stars, party size).
pub fn hotel_matches(h: &HotelDoc, q: &SearchQuery) -> bool {
    h.on_sale
        && q.city.as_ref().is_none_or(|c| *c == h.city_key)
        && q.amenities.iter().all(|a| h.amenity_keys.contains(a))
        && q.min_rating.is_none_or(|r| h.rating >= r)
        && (q.stars.is_empty() || q.stars.contains(&h.stars))
        && (q.guests <= 1 || h.max_capacity >= q.capacity_needed())
}

/// A room type that fits the party and has enough rooms left on every night of the stay.
struct Fit<'a> {
    room: &'a RoomTypeDoc,
    total_cents: i64,
    available: i32,
}

impl Fit<'_> {
    fn offer(&self) -> RoomOffer {
        RoomOffer { total_cents: Some(self.total_cents), available: Some(self.available), ..RoomOffer::catalog(self.room) }
    }
}

/// A hotel that passed the filters: what it is sorted by, and its fits (dates given).
struct Candidate<'a> {
    hotel: &'a HotelDoc,
    fits: Option<Vec<Fit<'a>>>,
    price: i64,
}

/// Run `q` over `hotels` (those of its city, or of every city). Filtering and sorting borrow
/// the snapshot; only the hotels on the page returned are copied into results.
pub fn search<'a>(hotels: impl Iterator<Item = &'a HotelEntry>, q: &SearchQuery) -> SearchPage {
    let candidates = hotels.filter(|h| hotel_matches(&h.doc, q));
    let mut found: Vec<Candidate<'a>> = match q.stay {
        None => candidates
            .filter(|h| q.price_ok(h.doc.from_price_cents))
            .map(|h| Candidate { hotel: &h.doc, fits: None, price: h.doc.from_price_cents })
            .collect(),
        Some(stay) => candidates
            .filter_map(|h| {
                let fits = fits(h, stay, q);
                let best = fits.first()?.total_cents;
                q.price_ok(best).then_some(Candidate { hotel: &h.doc, fits: Some(fits), price: best })
            })
            .collect(),
    };
    found.sort_by(|a, b| {
        compare(
            q.sort,
            q.descending,
            (a.price, a.hotel.rating, a.hotel.popularity, &a.hotel.id),
            (b.price, b.hotel.rating, b.hotel.popularity, &b.hotel.id),
        )
    });
    let total = found.len() as i64;
    let skip = usize::try_from(q.page.offset()).unwrap_or(usize::MAX);
    let items = found
        .into_iter()
        .skip(skip)
        .take(q.page.page_size as usize)
        .map(|c| HotelHit::new(c.hotel, q.stay.zip(c.fits.map(|fits| fits.iter().map(Fit::offer).collect()))))
        .collect();
    q.page.of(items, total)
}

/// The room types of `h` that fit the party and have enough rooms left on every night of
/// `stay` (per its calendars), cheapest first, borrowed from the snapshot.
fn fits<'a>(h: &'a HotelEntry, stay: Stay, q: &SearchQuery) -> Vec<Fit<'a>> {
    let rooms = i32::try_from(q.rooms).unwrap_or(i32::MAX);
    let mut fits: Vec<Fit<'a>> = h
        .doc
        .room_types
        .iter()
        .filter(|r| r.capacity >= q.capacity_needed())
        .filter_map(|room| {
            let nights = h.calendars.get(&room.name)?;
            let (mut per_room, mut fewest) = (0_i64, i32::MAX);
            for night in stay.check_in.iter_days().take_while(|n| *n < stay.check_out) {
                let cell = nights.get(&night).filter(|c| c.available >= rooms)?;
                per_room = per_room.saturating_add(cell.price_cents);
                fewest = fewest.min(cell.available);
            }
            Some(Fit { room, total_cents: per_room.saturating_mul(i64::from(q.rooms)), available: fewest })
        })
        .collect();
    fits.sort_by(|a, b| a.total_cents.cmp(&b.total_cents).then_with(|| a.room.name.cmp(&b.room.name)));
    fits
}

/// The order of two hits by `key` given (price, rating, popularity, id); ties by id,
/// ascending, so pages are stable.
fn compare(key: SortKey, descending: bool, a: (i64, f64, i64, &str), b: (i64, f64, i64, &str)) -> Ordering {
    let primary = match key {
        SortKey::Price => a.0.cmp(&b.0),
        SortKey::Rating => a.1.total_cmp(&b.1),
        SortKey::Popularity => a.2.cmp(&b.2),
    };
    let primary = if descending { primary.reverse() } else { primary };
    primary.then_with(|| a.3.cmp(b.3))
}

/// Order hits by `key` (ties by id, ascending, so pages are stable). Price is the total for
/// the stay when dates were given, else the cheapest base rate.
pub fn sort_hits(hits: &mut [HotelHit], key: SortKey, descending: bool) {
    fn fields(h: &HotelHit) -> (i64, f64, i64, &str) {
        (h.total_cents.unwrap_or(h.from_price_cents), h.rating, h.popularity, &h.id)
    }
    hits.sort_by(|a, b| compare(key, descending, fields(a), fields(b)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{calendar::Nights, query::RawSearch, store::NightCell};
    use chrono::NaiveDate;
    use std::{collections::HashMap, sync::Arc};

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn nights(cells: &[(&str, i32, i64)]) -> Nights {
        cells.iter().map(|(n, available, price_cents)| (d(n), NightCell { available: *available, price_cents: *price_cents })).collect()
    }

    fn hotel(calendars: &HashMap<&str, Nights>) -> HotelEntry {
        let rt = |name: &str, capacity| RoomTypeDoc { name: name.into(), capacity, base_rate_cents: 100, amenities: vec![] };
        let doc = HotelDoc { id: "h".into(), room_types: vec![rt("double", 2), rt("suite", 4)], ..HotelDoc::default() };
        HotelEntry { doc, calendars: calendars.iter().map(|(rt, n)| ((*rt).to_owned(), Arc::new(n.clone()))).collect() }
    }

    fn offers_for(h: &HotelEntry, stay: Stay, q: &SearchQuery) -> Vec<RoomOffer> {
        fits(h, stay, q).iter().map(Fit::offer).collect()
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
        open.insert("double", nights(&[("2027-05-01", 3, 100), ("2027-05-02", 3, 100), ("2027-05-03", 3, 100)]));
        // The suite's 2027-05-02 is missing; the night after the stay does not count.
        open.insert("suite", nights(&[("2027-05-01", 1, 300), ("2027-05-03", 1, 300), ("2027-05-04", 0, 300)]));
        assert!(offers_for(&hotel(&open), stay, &q).is_empty(), "double too small for 3, suite missing a night");
        assert!(offers_for(&hotel(&HashMap::new()), stay, &q).is_empty(), "no calendars at all");

        open.get_mut("suite").expect("suite").insert(d("2027-05-02"), NightCell { available: 2, price_cents: 400 });
        let offers = offers_for(&hotel(&open), stay, &q);
        assert_eq!(offers.len(), 1);
        assert_eq!((offers[0].name.as_str(), offers[0].total_cents, offers[0].available), ("suite", Some(1000), Some(1)));

        // Two rooms: doubles fit (2 guests each) and 3 are left; the suite has 1 left on two nights.
        let two_rooms = query("3", "2");
        let offers = offers_for(&hotel(&open), stay, &two_rooms);
        assert_eq!(offers.iter().map(|o| (o.name.as_str(), o.total_cents)).collect::<Vec<_>>(), [("double", Some(600))]);
    }

    #[test]
    fn hits_sort_by_key_with_stable_ties() {
        let hit = |id: &str, total, rating, popularity| HotelHit {
            total_cents: Some(total),
            rating,
            popularity,
            ..HotelHit::new(&HotelDoc { id: id.into(), ..HotelDoc::default() }, None)
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
