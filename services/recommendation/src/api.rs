//! `GET /recommendations?city&checkIn&checkOut&limit`, signed in or not.
//!
//! Signed in with confirmed stays: every hotel on sale (in `city`, when given) is scored against
//! the guest's [`Profile`] and the best come first, each with its reasons (`basis: personal`,
//! `score` in points out of 100). Anonymous, or without stays yet: the most booked hotels
//! (`basis: popular`, `score` = confirmed stays). Either way, with `checkIn`/`checkOut`, hotels
//! the guest already booked for overlapping dates are left out.

use crate::{
    catalog::CatalogCache,
    profile::{self, Profile, Reason, Scorer},
    profiles::ProfileCache,
    store::{HotelDoc, Store, match_key},
};
use axum::{
    Json,
    extract::{FromRef, State},
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};
use tripnest_common::{
    ApiError, ApiResult,
    auth::{JwksVerifier, OptionalCaller},
    error::{ErrorBody, FieldError},
    http::ApiQuery,
};
use utoipa::{
    IntoParams, ToSchema,
    openapi::{ObjectBuilder, Type},
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Suggestions when no `limit` is given.
pub const DEFAULT_LIMIT: usize = 10;
/// Most suggestions per request.
pub const MAX_LIMIT: usize = 50;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The collections.
    pub store: Store,
    /// The catalog snapshot.
    pub catalog: CatalogCache,
    /// Travellers' profiles in memory.
    pub profiles: ProfileCache,
    /// Checks access tokens.
    pub verifier: Arc<JwksVerifier>,
    /// Most hotels scored per request.
    pub max_candidates: usize,
}

impl FromRef<AppState> for Arc<JwksVerifier> {
    fn from_ref(s: &AppState) -> Self {
        s.verifier.clone()
    }
}

/// The public routes, with their document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(recommend))
}

/// `?city&checkIn&checkOut&limit` as sent; parsed by hand so errors name their field.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RawQuery {
    /// Only hotels in this city.
    city: Option<String>,
    /// With `checkOut`: leave out hotels you already booked for overlapping dates.
    #[param(value_type = Option<NaiveDate>)]
    check_in: Option<String>,
    /// After `checkIn`.
    #[param(value_type = Option<NaiveDate>)]
    check_out: Option<String>,
    /// How many suggestions.
    #[param(schema_with = limit_schema)]
    limit: Option<String>,
}

fn limit_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(MAX_LIMIT)).default(Some(DEFAULT_LIMIT.into()))
}

struct Request {
    city: Option<String>,
    stay: Option<(NaiveDate, NaiveDate)>,
    limit: usize,
}

fn parse(q: RawQuery) -> ApiResult<Request> {
    let mut errors = Vec::new();
    let mut date = |raw: &Option<String>, name: &str| match raw.as_deref().map(|d| d.trim().parse::<NaiveDate>()) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => {
            errors.push(FieldError::new(name, "must be a date like 2027-05-01"));
            None
        }
    };
    let (check_in, check_out) = (date(&q.check_in, "checkIn"), date(&q.check_out, "checkOut"));
    let stay = match (check_in, check_out) {
        (Some(i), Some(o)) if o > i => Some((i, o)),
        (Some(_), Some(_)) => {
            errors.push(FieldError::new("checkOut", "must be after checkIn"));
            None
        }
        _ if q.check_in.is_some() != q.check_out.is_some() => {
            let missing = if q.check_in.is_none() { "checkIn" } else { "checkOut" };
            errors.push(FieldError::new(missing, "checkIn and checkOut go together"));
            None
        }
        _ => None,
    };
    let limit = match q.limit.as_deref().map(|l| l.trim().parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")));
            DEFAULT_LIMIT
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Request { city: q.city.map(|c| match_key(&c)).filter(|c| !c.is_empty()), stay, limit })
}

/// The answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Recommendations {
    /// `personal` (scored against your profile) or `popular` (most booked).
    #[schema(value_type = String)]
    basis: &'static str,
    profile: Option<Profile>,
    items: Vec<Suggestion>,
}

/// One suggested hotel.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Suggestion {
    id: String,
    name: String,
    city: String,
    country: String,
    stars: i32,
    rating: f64,
    review_count: i64,
    amenities: Vec<String>,
    currency: String,
    from_price_cents: i64,
    score: f64,
    reasons: Vec<Reason>,
}

impl Suggestion {
    fn new(h: &HotelDoc, score: f64, reasons: Vec<Reason>) -> Self {
        Self {
            id: h.id.clone(),
            name: h.name.clone(),
            city: h.city.clone(),
            country: h.country.clone(),
            stars: h.stars,
            rating: h.rating,
            review_count: h.review_count,
            amenities: h.amenities.clone(),
            currency: h.currency.clone(),
            from_price_cents: h.from_price_cents,
            score,
            reasons,
        }
    }
}

/// Hotels for you: personal when you are signed in and have stayed, popular otherwise.
#[utoipa::path(
    get, path = "/recommendations", operation_id = "recommendations",
    security((), ("bearerAuth" = [])),
    params(RawQuery),
    responses(
        (status = 200, description = "Suggestions, best first.", body = Recommendations),
        (status = 400, description = "A query string that cannot be read.", body = ErrorBody),
        (status = 401, description = "An invalid access token was sent.", body = ErrorBody),
        (status = 422, description = "Invalid dates or `limit`.", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(signed_in = caller.0.is_some()))]
async fn recommend(State(s): State<AppState>, caller: OptionalCaller, ApiQuery(q): ApiQuery<RawQuery>) -> ApiResult<Json<Recommendations>> {
    let req = parse(q)?;
    let catalog = s.catalog.current();
    let (profile, excluded) = match &caller.0 {
        Some(claims) => {
            let doc = s.profiles.get(&s.store, &claims.sub.to_string()).await.map_err(|e| ApiError::Internal(e.into()))?;
            let stays = &doc.stays;
            let excluded: HashSet<String> = stays
                .iter()
                .filter(|st| req.stay.is_some_and(|(i, o)| st.check_in.is_some_and(|si| si < o) && st.check_out.is_some_and(|so| so > i)))
                .map(|st| st.hotel_id.clone())
                .collect();
            let hotels: HashMap<&str, &HotelDoc> =
                stays.iter().filter_map(|st| catalog.hotel(&st.hotel_id)).map(|h| (h.id.as_str(), h)).collect();
            let ratings: HashMap<String, u8> =
                doc.ratings.iter().map(|r| (r.booking_id.clone(), u8::try_from(r.rating.clamp(1, 5)).unwrap_or(3))).collect();
            (Some(profile::build(stays, &hotels, &ratings)).filter(|p| p.stays > 0), excluded)
        }
        None => (None, HashSet::new()),
    };
    let candidates = catalog.on_sale(req.city.as_deref()).take(s.max_candidates).filter(|h| !excluded.contains(&h.id));
    let Some(profile) = profile else {
        let items = candidates.take(req.limit).map(|h| Suggestion::new(h, h.popularity as f64, profile::popular_reasons(h)));
        return Ok(Json(Recommendations { basis: "popular", profile: None, items: items.collect() }));
    };
    // Candidates come most popular first; a stable sort keeps that order among equal scores.
    // Every candidate is ranked by its points; only the hotels shown get their reasons in words.
    let scorer = Scorer::new(&profile);
    let mut ranked: Vec<(f64, &HotelDoc)> = candidates.map(|h| (scorer.points(h), h)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let items = ranked
        .into_iter()
        .take(req.limit)
        .map(|(_, h)| {
            let (score, reasons) = scorer.score(h);
            Suggestion::new(h, score, reasons)
        })
        .collect();
    Ok(Json(Recommendations { basis: "personal", profile: Some(profile), items }))
}
