//! The search query: raw `?…` parameters validated into a [`SearchQuery`], every bad field
//! named in one 422, and a canonical form of the query for the cache key (two spellings of the
//! same search share one cache entry).

use crate::store::match_key;
use chrono::NaiveDate;
use serde::Deserialize;
use tripnest_common::{
    ApiError,
    error::FieldError,
    page::{Page, PageQuery},
};
use utoipa::{
    IntoParams,
    openapi::{KnownFormat, ObjectBuilder, SchemaFormat, Type},
};

/// Longest stay one search covers (the same bound booking applies).
pub const MAX_NIGHTS: i64 = 30;
/// Most rooms one search asks for (the same bound booking applies).
pub const MAX_ROOMS: u32 = 9;
/// Most guests one search asks for.
pub const MAX_GUESTS: u32 = 50;
/// Highest star count and rating.
pub const MAX_STARS: u32 = 5;

/// The query string as sent; every value is parsed by hand so errors name their field. The
/// document states each bound (`schema_with`) from the same constants the parser uses.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RawSearch {
    /// City (any case and spacing).
    city: Option<String>,
    /// First night; with `checkOut`, only hotels with rooms on every night are listed.
    #[param(value_type = Option<NaiveDate>)]
    check_in: Option<String>,
    /// Departure day: after `checkIn`, at most `MAX_NIGHTS` nights later.
    #[param(value_type = Option<NaiveDate>)]
    check_out: Option<String>,
    /// Guests in total.
    #[param(schema_with = guests_schema)]
    guests: Option<String>,
    /// Rooms wanted.
    #[param(schema_with = rooms_schema)]
    rooms: Option<String>,
    /// Lowest price in minor units: total for the stay with dates, nightly base rate without.
    #[param(schema_with = price_schema)]
    min_price: Option<String>,
    /// Highest price in minor units (not below `minPrice`).
    #[param(schema_with = price_schema)]
    max_price: Option<String>,
    /// Comma-separated amenities the hotel must all have.
    amenities: Option<String>,
    /// Lowest mean rating.
    #[param(schema_with = rating_schema)]
    min_rating: Option<String>,
    /// Accepted star counts, comma-separated (`4,5`).
    #[param(schema_with = stars_schema)]
    stars: Option<String>,
    /// `price`, `rating` or `popularity` (default), optionally prefixed with `-` (descending) or `+`.
    #[param(schema_with = sort_schema)]
    sort: Option<String>,
    /// `asc` or `desc` (a `sort` prefix wins).
    #[param(schema_with = order_schema)]
    order: Option<String>,
    /// `?page&pageSize`, documented by [`PageQuery`] next to these.
    #[serde(flatten)]
    #[param(ignore)]
    paging: PageQuery,
}

fn whole_number(max: u32) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(max)).default(Some(1.into()))
}

/// `guests` as documented: 1 to [`MAX_GUESTS`].
pub fn guests_schema() -> ObjectBuilder {
    whole_number(MAX_GUESTS)
}

/// `rooms` as documented: 1 to [`MAX_ROOMS`].
pub fn rooms_schema() -> ObjectBuilder {
    whole_number(MAX_ROOMS)
}

fn price_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))).minimum(Some(0))
}

fn rating_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Number).minimum(Some(0)).maximum(Some(MAX_STARS))
}

fn stars_schema() -> ObjectBuilder {
    let star = format!(r"(\s*(\+?0*[1-{MAX_STARS}])?\s*)");
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(format!("^{star}(,{star})*$")))
}

fn sort_schema() -> ObjectBuilder {
    let keys = [SortKey::Price, SortKey::Rating, SortKey::Popularity].map(SortKey::name).join("|");
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(format!(r"^\s*[+-]?({keys})\s*$")))
}

fn order_schema() -> ObjectBuilder {
    // Matched case-insensitively, which an ECMA pattern cannot say with a flag.
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^\s*([aA][sS][cC]|[dD][eE][sS][cC])\s*$"))
}

/// What results are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Total for the stay (with dates) or cheapest base rate (without).
    Price,
    /// Mean review rating.
    Rating,
    /// Confirmed bookings.
    Popularity,
}

impl SortKey {
    fn name(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Rating => "rating",
            Self::Popularity => "popularity",
        }
    }
    /// The direction people expect when they do not say: cheapest, best rated, most booked first.
    fn natural_descending(self) -> bool {
        !matches!(self, Self::Price)
    }
}

/// The dates of a stay: nights `[check_in, check_out)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay {
    /// First night.
    pub check_in: NaiveDate,
    /// Departure day.
    pub check_out: NaiveDate,
}

impl Stay {
    /// Number of nights.
    pub fn nights(&self) -> i64 {
        (self.check_out - self.check_in).num_days()
    }
}

/// A validated search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Lowercased city, when filtering by city.
    pub city: Option<String>,
    /// Dates, when filtering by availability.
    pub stay: Option<Stay>,
    /// Guests in total.
    pub guests: u32,
    /// Rooms wanted.
    pub rooms: u32,
    /// Lowest price, minor units (total for the stay with dates, nightly base rate without).
    pub min_price: Option<i64>,
    /// Highest price, minor units.
    pub max_price: Option<i64>,
    /// Lowercased amenities the hotel must all have, sorted.
    pub amenities: Vec<String>,
    /// Lowest mean rating.
    pub min_rating: Option<f64>,
    /// Accepted star counts, sorted (empty: any).
    pub stars: Vec<i32>,
    /// Sort key.
    pub sort: SortKey,
    /// Whether the sort is descending.
    pub descending: bool,
    /// The page of results.
    pub page: Page,
}

impl SearchQuery {
    /// Validate `raw`; `today` bounds the check-in date.
    pub fn parse(raw: RawSearch, today: NaiveDate) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let mut field = |name: &str, message: String| errors.push(FieldError::new(name, message));
        let city = raw.city.map(|c| match_key(&c)).filter(|c| !c.is_empty());
        let check_in = parse_opt::<NaiveDate>(&raw.check_in, "checkIn", "a date like 2027-05-01", &mut field);
        let check_out = parse_opt::<NaiveDate>(&raw.check_out, "checkOut", "a date like 2027-05-03", &mut field);
        let stay = match (check_in, check_out, raw.check_in.is_some(), raw.check_out.is_some()) {
            (Some(check_in), Some(check_out), _, _) => {
                let stay = Stay { check_in, check_out };
                if check_in < today {
                    field("checkIn", "must be today or later".into());
                }
                if stay.nights() < 1 {
                    field("checkOut", "must be after checkIn".into());
                } else if stay.nights() > MAX_NIGHTS {
                    field("checkOut", format!("a stay is at most {MAX_NIGHTS} nights"));
                }
                Some(stay)
            }
            (_, _, true, false) => {
                field("checkOut", "is required with checkIn".into());
                None
            }
            (_, _, false, true) => {
                field("checkIn", "is required with checkOut".into());
                None
            }
            _ => None,
        };
        let guests = bounded(&raw.guests, "guests", 1, MAX_GUESTS, &mut field);
        let rooms = bounded(&raw.rooms, "rooms", 1, MAX_ROOMS, &mut field);
        let min_price = parse_opt::<i64>(&raw.min_price, "minPrice", "an amount in minor units (cents), 0 or more", &mut field);
        let max_price = parse_opt::<i64>(&raw.max_price, "maxPrice", "an amount in minor units (cents), 0 or more", &mut field);
        if min_price.is_some_and(|p| p < 0) {
            field("minPrice", "must be 0 or more".into());
        }
        if max_price.is_some_and(|p| p < 0) {
            field("maxPrice", "must be 0 or more".into());
        }
        if let (Some(lo), Some(hi)) = (min_price, max_price)
            && lo > hi
        {
            field("maxPrice", "must not be below minPrice".into());
        }
        let mut amenities: Vec<String> = raw.amenities.iter().flat_map(|a| a.split(',')).map(match_key).filter(|a| !a.is_empty()).collect();
        amenities.sort();
        amenities.dedup();
        let min_rating = parse_opt::<f64>(&raw.min_rating, "minRating", "a number from 0 to 5", &mut field);
        if min_rating.is_some_and(|r| !(0.0..=f64::from(MAX_STARS)).contains(&r)) {
            field("minRating", "must be from 0 to 5".into());
        }
        let mut stars = Vec::new();
        for s in raw.stars.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
            match s.parse::<i32>() {
                Ok(n) if (1..=MAX_STARS as i32).contains(&n) => stars.push(n),
                _ => field("stars", "must be 1 to 5, or a comma list like 4,5".into()),
            }
        }
        stars.sort_unstable();
        stars.dedup();
        let (sort, descending) = parse_sort(raw.sort.as_deref(), raw.order.as_deref(), &mut field);
        let page = raw.paging.validate_into(&mut errors);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Self { city, stay, guests, rooms, min_price, max_price, amenities, min_rating, stars, sort, descending, page })
    }

    /// The canonical text of this query: equal for equal searches, whatever the spelling.
    pub fn canonical(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_default();
        format!(
            "city={}&in={}&out={}&guests={}&rooms={}&min={}&max={}&amenities={}&rating={}&stars={}&sort={}{}&page={}&size={}",
            opt(self.city.clone()),
            opt(self.stay.map(|s| s.check_in.to_string())),
            opt(self.stay.map(|s| s.check_out.to_string())),
            self.guests,
            self.rooms,
            opt(self.min_price.map(|p| p.to_string())),
            opt(self.max_price.map(|p| p.to_string())),
            self.amenities.join(","),
            opt(self.min_rating.map(|r| r.to_string())),
            self.stars.iter().map(i32::to_string).collect::<Vec<_>>().join(","),
            if self.descending { "-" } else { "+" },
            self.sort.name(),
            self.page.page,
            self.page.page_size,
        )
    }

    /// Whether a price lies within the range.
    pub fn price_ok(&self, cents: i64) -> bool {
        self.min_price.is_none_or(|lo| cents >= lo) && self.max_price.is_none_or(|hi| cents <= hi)
    }

    /// Guests per room needed from a room type: `ceil(guests / rooms)`.
    pub fn capacity_needed(&self) -> i32 {
        i32::try_from(self.guests.div_ceil(self.rooms)).unwrap_or(i32::MAX)
    }
}

fn parse_opt<T: std::str::FromStr>(raw: &Option<String>, name: &str, expected: &str, field: &mut impl FnMut(&str, String)) -> Option<T> {
    let text = raw.as_deref()?.trim();
    match text.parse() {
        Ok(v) => Some(v),
        Err(_) => {
            field(name, format!("must be {expected}"));
            None
        }
    }
}

fn bounded(raw: &Option<String>, name: &str, lo: u32, hi: u32, field: &mut impl FnMut(&str, String)) -> u32 {
    let Some(text) = raw.as_deref() else { return lo };
    match text.trim().parse::<u32>() {
        Ok(n) if (lo..=hi).contains(&n) => n,
        _ => {
            field(name, format!("must be a whole number from {lo} to {hi}"));
            lo
        }
    }
}

/// `sort=price|rating|popularity`, optionally `-key` (descending) or `+key` (ascending), or a
/// separate `order=asc|desc`; without either, each key's natural direction.
fn parse_sort(sort: Option<&str>, order: Option<&str>, field: &mut impl FnMut(&str, String)) -> (SortKey, bool) {
    let text = sort.map(str::trim).unwrap_or("popularity");
    let (explicit, name) = match text.as_bytes().first() {
        Some(b'-') => (Some(true), &text[1..]),
        Some(b'+') => (Some(false), &text[1..]),
        _ => (None, text),
    };
    let key = match name {
        "price" => SortKey::Price,
        "rating" => SortKey::Rating,
        "popularity" => SortKey::Popularity,
        _ => {
            field("sort", "must be price, rating or popularity, optionally prefixed with - or +".into());
            SortKey::Popularity
        }
    };
    let ordered = match order.map(|o| o.trim().to_ascii_lowercase()) {
        None => None,
        Some(o) if o == "asc" => Some(false),
        Some(o) if o == "desc" => Some(true),
        Some(_) => {
            field("order", "must be asc or desc".into());
            None
        }
    };
    (key, explicit.or(ordered).unwrap_or_else(|| key.natural_descending()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        "2027-05-01".parse().expect("date")
    }

    fn raw(pairs: &[(&str, &str)]) -> RawSearch {
        let qs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        serde_urlencoded_from(&qs.join("&"))
    }

    fn serde_urlencoded_from(qs: &str) -> RawSearch {
        let uri: axum::http::Uri = format!("/hotels?{qs}").parse().expect("uri");
        axum::extract::Query::<RawSearch>::try_from_uri(&uri).expect("query").0
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(f) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn defaults_apply_and_spellings_normalize() {
        let q =
            SearchQuery::parse(raw(&[("city", "%20Lisbon%20"), ("amenities", "Pool,wifi,,pool"), ("stars", "5,4")]), today()).expect("ok");
        assert_eq!(q.city.as_deref(), Some("lisbon"));
        assert_eq!(q.amenities, ["pool", "wifi"]);
        assert_eq!(q.stars, [4, 5]);
        assert_eq!((q.guests, q.rooms, q.page), (1, 1, Page::default()));
        assert_eq!((q.sort, q.descending), (SortKey::Popularity, true));
        let same = SearchQuery::parse(raw(&[("amenities", "wifi,POOL"), ("city", "lisbon"), ("stars", "4,5")]), today()).expect("ok");
        assert_eq!(q.canonical(), same.canonical());
    }

    #[test]
    fn sort_direction_comes_from_prefix_order_or_nature() {
        let sort = |pairs: &[(&str, &str)]| {
            let q = SearchQuery::parse(raw(pairs), today()).expect("ok");
            (q.sort, q.descending)
        };
        assert_eq!(sort(&[("sort", "price")]), (SortKey::Price, false));
        assert_eq!(sort(&[("sort", "-price")]), (SortKey::Price, true));
        assert_eq!(sort(&[("sort", "rating")]), (SortKey::Rating, true));
        assert_eq!(sort(&[("sort", "rating"), ("order", "asc")]), (SortKey::Rating, false));
        assert_eq!(sort(&[("sort", "%2Brating")]), (SortKey::Rating, false));
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = SearchQuery::parse(
            raw(&[
                ("checkIn", "2027-04-30"),
                ("checkOut", "2027-04-29"),
                ("guests", "0"),
                ("rooms", "10"),
                ("minPrice", "abc"),
                ("minRating", "6"),
                ("stars", "7"),
                ("sort", "name"),
                ("pageSize", "500"),
            ]),
            today(),
        )
        .expect_err("invalid");
        assert_eq!(fields(err), ["checkIn", "checkOut", "guests", "rooms", "minPrice", "minRating", "stars", "sort", "pageSize"]);
        let err = SearchQuery::parse(raw(&[("checkIn", "2027-05-02")]), today()).expect_err("half a stay");
        assert_eq!(fields(err), ["checkOut"]);
        let err = SearchQuery::parse(raw(&[("checkIn", "2027-05-02"), ("checkOut", "2027-06-10")]), today()).expect_err("too long");
        assert_eq!(fields(err), ["checkOut"]);
        let err = SearchQuery::parse(raw(&[("minPrice", "500"), ("maxPrice", "100")]), today()).expect_err("inverted");
        assert_eq!(fields(err), ["maxPrice"]);
    }

    #[test]
    fn capacity_needed_rounds_up() {
        let q = SearchQuery::parse(raw(&[("guests", "5"), ("rooms", "2")]), today()).expect("ok");
        assert_eq!(q.capacity_needed(), 3);
    }
}
