//! The taste profile and the score, as pure functions.
//!
//! A [`Profile`] is built from a user's confirmed stays (not cancelled) and the hotels they
//! were at. Each stay counts with a weight: 1, or `rating / 3` when the guest reviewed it (a
//! 5★ stay counts 1.67, a 1★ stay 0.33), so what guests liked pulls harder than what they
//! did not. From the weighted stays come three preferences: cities (share of weight), the
//! usual nightly price per room (weighted mean) and amenities (share of weight of the hotels
//! that had each one).
//!
//! A hotel scores up to 100 points, each factor with a reason the guest can read:
//!
//! | factor    | points | rule |
//! |-----------|--------|------|
//! | `city`    | 35     | the share of the guest's stays in the hotel's city |
//! | `price`   | 25     | full at the usual nightly price, falling to 0 at half or double |
//! | `amenities` | 25   | the weighted share of the guest's amenities the hotel has |
//! | `rating`  | 15     | `rating / 5`, when the hotel has reviews |

use crate::store::{HotelDoc, StayDoc};
use serde::Serialize;
use std::collections::HashMap;

/// Points a perfect match earns per factor.
pub const CITY_POINTS: f64 = 35.0;
/// See [`CITY_POINTS`].
pub const PRICE_POINTS: f64 = 25.0;
/// See [`CITY_POINTS`].
pub const AMENITY_POINTS: f64 = 25.0;
/// See [`CITY_POINTS`].
pub const RATING_POINTS: f64 = 15.0;

/// What a user's stays say they like.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Confirmed stays counted.
    pub stays: usize,
    /// City (as written) → share of stay weight, largest first.
    pub cities: Vec<(String, f64)>,
    /// Weighted mean nightly price of one room, minor units.
    pub nightly_cents: Option<i64>,
    /// Currency of most stays.
    pub currency: Option<String>,
    /// Amenity (lowercase) → share of stay weight, largest first.
    pub amenities: Vec<(String, f64)>,
}

/// One reason a hotel was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// `city`, `price`, `amenities`, `rating` or `popular`.
    #[schema(value_type = String)]
    pub factor: &'static str,
    /// Points it added (popular: confirmed stays).
    pub points: f64,
    /// The reason in words.
    pub text: String,
}

/// How much a stay counts, given the guest's review of it (if any).
pub fn stay_weight(review: Option<u8>) -> f64 {
    review.map_or(1.0, |r| f64::from(r) / 3.0)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Build the profile from `stays` (confirmed, not cancelled), the hotels they were at, and
/// the ratings the user gave (by booking id).
pub fn build(stays: &[StayDoc], hotels: &HashMap<&str, &HotelDoc>, ratings: &HashMap<String, u8>) -> Profile {
    let mut total = 0.0;
    let mut cities: HashMap<String, (String, f64)> = HashMap::new();
    let mut amenities: HashMap<String, f64> = HashMap::new();
    let mut currencies: HashMap<String, f64> = HashMap::new();
    let (mut price_sum, mut price_weight) = (0.0, 0.0);
    for stay in stays {
        let Some(hotel) = hotels.get(stay.hotel_id.as_str()) else { continue };
        let w = stay_weight(ratings.get(&stay.id).copied());
        total += w;
        let city = cities.entry(hotel.city_key.clone()).or_insert_with(|| (hotel.city.clone(), 0.0));
        city.1 += w;
        for a in &hotel.amenity_keys {
            *amenities.entry(a.clone()).or_default() += w;
        }
        if stay.nightly_cents > 0 {
            price_sum += stay.nightly_cents as f64 * w;
            price_weight += w;
        }
        *currencies.entry(stay.currency.clone()).or_default() += w;
    }
    if total == 0.0 {
        return Profile::default();
    }
    let mut cities: Vec<(String, f64)> = cities.into_values().map(|(name, w)| (name, w / total)).collect();
    cities.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut amenities: Vec<(String, f64)> = amenities.into_iter().map(|(a, w)| (a, w / total)).collect();
    amenities.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let currency = currencies.into_iter().max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0))).map(|(c, _)| c);
    Profile {
        stays: stays.iter().filter(|s| hotels.contains_key(s.hotel_id.as_str())).count(),
        cities,
        nightly_cents: (price_weight > 0.0).then(|| (price_sum / price_weight).round() as i64),
        currency,
        amenities,
    }
}

fn money(cents: i64, currency: &str) -> String {
    format!("{}.{:02} {currency}", cents / 100, cents % 100)
}

/// Scores hotels for one profile. A request ranks every candidate by [`Scorer::points`] (no
/// text is made) and puts the reasons into words ([`Scorer::score`]) only for the hotels it
/// shows; both add the same factors, so a hotel's shown score is the points it was ranked by.
#[derive(Debug)]
pub struct Scorer<'a> {
    profile: &'a Profile,
    /// The match key of each of the profile's cities, in its order.
    city_keys: Vec<String>,
    /// The sum of the profile's amenity weights.
    wanted: f64,
}

impl<'a> Scorer<'a> {
    /// The scorer for `profile`.
    pub fn new(profile: &'a Profile) -> Self {
        Self {
            profile,
            city_keys: profile.cities.iter().map(|(c, _)| crate::store::match_key(c)).collect(),
            wanted: profile.amenities.iter().map(|(_, w)| w).sum(),
        }
    }

    /// The profile's city the hotel is in, and its share of the stays.
    fn city(&self, hotel: &HotelDoc) -> Option<(&'a str, f64)> {
        let i = self.city_keys.iter().position(|k| *k == hotel.city_key)?;
        self.profile.cities.get(i).map(|(city, share)| (city.as_str(), *share))
    }

    /// The usual nightly price and how close the hotel's is to it (0 to 1).
    fn price(&self, hotel: &HotelDoc) -> Option<(i64, f64)> {
        let usual = self.profile.nightly_cents.filter(|p| *p > 0 && hotel.from_price_cents > 0)?;
        let distance = (hotel.from_price_cents as f64 / usual as f64).ln().abs() / std::f64::consts::LN_2;
        Some((usual, 1.0 - distance.min(1.0))).filter(|(_, closeness)| *closeness > 0.0)
    }

    /// The profile's amenities the hotel has.
    fn matched(&self, hotel: &HotelDoc) -> impl Iterator<Item = &'a (String, f64)> {
        self.profile.amenities.iter().filter(|(a, _)| hotel.amenity_keys.contains(a))
    }

    /// The weighted share of the profile's amenities the hotel has, when it has any.
    fn amenities(&self, hotel: &HotelDoc) -> Option<f64> {
        let (count, weight) = self.matched(hotel).fold((0, 0.0), |(n, sum), (_, w)| (n + 1, sum + w));
        (self.wanted > 0.0 && count > 0).then(|| weight / self.wanted)
    }

    /// Each factor's points, in the order reasons are listed (city, price, amenities, rating).
    fn factors(&self, hotel: &HotelDoc) -> [Option<f64>; 4] {
        [
            self.city(hotel).map(|(_, share)| round1(CITY_POINTS * share)),
            self.price(hotel).map(|(_, closeness)| round1(PRICE_POINTS * closeness)),
            self.amenities(hotel).map(|share| round1(AMENITY_POINTS * share)),
            (hotel.review_count > 0).then(|| round1(RATING_POINTS * hotel.rating / 5.0)),
        ]
    }

    /// The total `hotel` scores: the points [`Scorer::score`] gives it, without the reasons.
    pub fn points(&self, hotel: &HotelDoc) -> f64 {
        round1(self.factors(hotel).into_iter().flatten().filter(|p| *p > 0.0).sum())
    }

    /// Score `hotel`: total points and the reasons that earned them.
    pub fn score(&self, hotel: &HotelDoc) -> (f64, Vec<Reason>) {
        let [city_points, price_points, amenity_points, rating_points] = self.factors(hotel);
        let mut reasons = Vec::new();
        if let (Some((city, share)), Some(points)) = (self.city(hotel), city_points) {
            let stays = (share * self.profile.stays as f64).round().max(1.0);
            let text = if stays > 1.0 { format!("You often stay in {city}") } else { format!("You stayed in {city} before") };
            reasons.push(Reason { factor: "city", points, text });
        }
        if let (Some((usual, _)), Some(points)) = (self.price(hotel), price_points) {
            let currency = self.profile.currency.as_deref().unwrap_or(&hotel.currency);
            let text =
                format!("From {} a night, close to your usual {}", money(hotel.from_price_cents, &hotel.currency), money(usual, currency));
            reasons.push(Reason { factor: "price", points, text });
        }
        if let Some(points) = amenity_points {
            let names: Vec<&str> = self.matched(hotel).take(4).map(|(a, _)| a.as_str()).collect();
            let text = format!("Has {}, like the hotels you booked", names.join(", "));
            reasons.push(Reason { factor: "amenities", points, text });
        }
        if let Some(points) = rating_points {
            let text =
                format!("Rated {:.1}/5 by {} guest{}", hotel.rating, hotel.review_count, if hotel.review_count == 1 { "" } else { "s" });
            reasons.push(Reason { factor: "rating", points, text });
        }
        reasons.retain(|r| r.points > 0.0);
        (round1(reasons.iter().map(|r| r.points).sum()), reasons)
    }
}

/// The reasons a hotel is shown in the popular list.
pub fn popular_reasons(hotel: &HotelDoc) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if hotel.popularity > 0 {
        let text = format!("Booked {} time{} by other travellers", hotel.popularity, if hotel.popularity == 1 { "" } else { "s" });
        reasons.push(Reason { factor: "popular", points: hotel.popularity as f64, text });
    }
    if hotel.review_count > 0 {
        let text = format!("Rated {:.1}/5 by {} guest{}", hotel.rating, hotel.review_count, if hotel.review_count == 1 { "" } else { "s" });
        reasons.push(Reason { factor: "rating", points: round1(RATING_POINTS * hotel.rating / 5.0), text });
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hotel(id: &str, city: &str, amenities: &[&str], price: i64) -> HotelDoc {
        HotelDoc {
            id: id.into(),
            on_sale: true,
            name: id.into(),
            city: city.into(),
            city_key: city.to_lowercase(),
            amenity_keys: amenities.iter().map(|a| a.to_string()).collect(),
            amenities: amenities.iter().map(|a| a.to_string()).collect(),
            currency: "EUR".into(),
            from_price_cents: price,
            ..HotelDoc::default()
        }
    }

    fn stay(id: &str, hotel: &str, nightly: i64) -> StayDoc {
        StayDoc {
            id: id.into(),
            hotel_id: hotel.into(),
            nightly_cents: nightly,
            currency: "EUR".into(),
            confirmed: true,
            ..StayDoc::default()
        }
    }

    fn index(hotels: &[HotelDoc]) -> HashMap<&str, &HotelDoc> {
        hotels.iter().map(|h| (h.id.as_str(), h)).collect()
    }

    #[test]
    fn liked_stays_pull_harder_than_disliked_ones() {
        let docs = [hotel("p", "Porto", &["wifi", "pool"], 10_000), hotel("l", "Lisbon", &["spa"], 30_000)];
        let hotels = index(&docs);
        let stays = [stay("b1", "p", 10_000), stay("b2", "l", 30_000)];
        let ratings = HashMap::from([("b1".to_owned(), 5), ("b2".to_owned(), 1)]);
        let p = build(&stays, &hotels, &ratings);
        assert_eq!(p.stays, 2);
        assert_eq!(p.cities[0].0, "Porto");
        assert!((p.cities[0].1 - 5.0 / 6.0).abs() < 1e-9, "{p:?}");
        assert_eq!(p.nightly_cents, Some(13_333));
        assert_eq!(p.amenities.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(), ["pool", "wifi", "spa"]);
    }

    #[test]
    fn a_matching_hotel_scores_every_factor_with_reasons() {
        let docs = [hotel("p", "Porto", &["wifi", "pool"], 10_000)];
        let hotels = index(&docs);
        let p = build(&[stay("b1", "p", 10_000)], &hotels, &HashMap::new());
        let mut twin = hotel("t", "Porto", &["wifi", "pool", "gym"], 10_000);
        twin.rating = 4.0;
        twin.review_count = 3;
        let (points, reasons) = Scorer::new(&p).score(&twin);
        assert_eq!(points, 35.0 + 25.0 + 25.0 + 12.0);
        let factors: Vec<&str> = reasons.iter().map(|r| r.factor).collect();
        assert_eq!(factors, ["city", "price", "amenities", "rating"]);
        assert_eq!(reasons[0].text, "You stayed in Porto before");
        assert_eq!(reasons[1].text, "From 100.00 EUR a night, close to your usual 100.00 EUR");
        assert_eq!(reasons[2].text, "Has pool, wifi, like the hotels you booked");
        assert_eq!(reasons[3].text, "Rated 4.0/5 by 3 guests");

        let (points, reasons) = Scorer::new(&p).score(&hotel("far", "Faro", &["spa"], 40_000));
        assert_eq!((points, reasons.len()), (0.0, 0), "four times the price, other city, no shared amenity");
        let (points, _) = Scorer::new(&p).score(&hotel("half", "Faro", &[], 15_000));
        assert_eq!(points, 10.4, "1.5× the usual price earns part of the price points");
    }

    #[test]
    fn the_points_a_hotel_is_ranked_by_are_the_score_it_shows() {
        let docs = [hotel("p", "Porto", &["wifi", "pool"], 10_000), hotel("l", "Lisbon", &["spa", "wifi"], 30_000)];
        let hotels = index(&docs);
        let ratings = HashMap::from([("b1".to_owned(), 4), ("b3".to_owned(), 2)]);
        let p = build(&[stay("b1", "p", 10_000), stay("b2", "l", 30_000), stay("b3", "p", 12_000)], &hotels, &ratings);
        let scorer = Scorer::new(&p);
        let mut scored = 0;
        for (i, city) in ["Porto", " porto ", "Lisbon", "Faro"].into_iter().enumerate() {
            for (j, amenities) in [&[][..], &["wifi"], &["spa", "pool", "gym"]].into_iter().enumerate() {
                for price in [0, 5_000, 9_000, 14_000, 31_000, 90_000] {
                    let mut h = hotel("h", city, amenities, price);
                    h.city_key = crate::store::match_key(city);
                    (h.rating, h.review_count) = (1.0 + (i + j) as f64 * 0.7, (i * j) as i64);
                    let (points, reasons) = scorer.score(&h);
                    assert_eq!(scorer.points(&h), points, "{city} {amenities:?} {price}: {reasons:?}");
                    scored += usize::from(points > 0.0);
                }
            }
        }
        assert!(scored > 40, "most of the hotels earn points: {scored}");
    }

    #[test]
    fn no_stays_means_an_empty_profile() {
        assert_eq!(build(&[], &HashMap::new(), &HashMap::new()), Profile::default());
        let (points, reasons) = Scorer::new(&Profile::default()).score(&hotel("x", "Porto", &["wifi"], 100));
        assert_eq!((points, reasons.len()), (0.0, 0));
    }
}
