//! `GET /hotels` (search, cached) and `GET /hotels/{id}` (one hotel from the read model).

use crate::{
    cache::ResultCache,
    query::{RawSearch, SearchQuery},
    results::{self, HotelHit, RoomOffer},
    snapshot::Snapshots,
    store::Store,
};
use anyhow::Context;
use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tripnest_common::{
    ApiError, ApiResult,
    error::ErrorBody,
    http::{ApiPath, ApiQuery},
    page::{PageQuery, Paged},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The read model.
    pub store: Store,
    /// The results cache.
    pub cache: ResultCache,
    /// The in-process city snapshots searches run on.
    pub snapshots: Snapshots,
}

/// The public routes, with their document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search)).routes(routes!(hotel))
}

/// The header telling whether a search came from the cache (`hit`) or MongoDB (`miss`).
pub const CACHE_HEADER: &str = "x-search-cache";

/// Search hotels: filters, availability for dates, sorting and pages.
#[utoipa::path(
    get, path = "/hotels", operation_id = "searchHotels",
    security((), ("bearerAuth" = [])),
    params(RawSearch, PageQuery),
    responses(
        (status = 200, description = "A page of hotels.", body = Paged<HotelHit>,
            headers(("x-search-cache" = String, description = "`hit` when served from the cache, `miss` otherwise."))),
        (status = 400, description = "A query string that cannot be read.", body = ErrorBody),
        (status = 401, description = "An invalid access token was sent.", body = ErrorBody),
        (status = 422, description = "Invalid filters; every bad one is named.", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn search(State(s): State<AppState>, ApiQuery(raw): ApiQuery<RawSearch>) -> ApiResult<Response> {
    let q = SearchQuery::parse(raw, chrono::Utc::now().date_naive())?;
    let canonical = q.canonical();
    let (hit, slot) = s.cache.lookup(q.city.as_deref(), &canonical).await;
    if let Some(json) = hit {
        return Ok(json_bytes(json, "hit"));
    }
    let page = match q.city.as_deref() {
        Some(city) => {
            let snapshot = s.snapshots.city(&s.store, &s.cache, city, slot.generation()).await.context("loading the city snapshot")?;
            results::search(snapshot.entries(), &q)
        }
        None => {
            let all = s.snapshots.everywhere(&s.store, &s.cache, slot.generation()).await.context("loading the city snapshots")?;
            results::search(all.iter().flat_map(|city| city.entries()), &q)
        }
    };
    let json = serde_json::to_vec(&page).context("serialising the results")?;
    s.cache.store(slot, &json).await;
    Ok(json_bytes(json, "miss"))
}

fn json_bytes(json: Vec<u8>, cache: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/json"), (header::HeaderName::from_static(CACHE_HEADER), cache)], json).into_response()
}

/// A hotel's detail page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Hotel)]
struct HotelDetail {
    id: String,
    name: String,
    city: String,
    country: String,
    address: String,
    stars: i32,
    amenities: Vec<String>,
    currency: String,
    description: String,
    rating: f64,
    review_count: i64,
    popularity: i64,
    from_price_cents: i64,
    room_types: Vec<RoomOffer>,
}

/// One hotel, with its room types and rating.
#[utoipa::path(
    get, path = "/hotels/{id}", operation_id = "getHotel",
    security((), ("bearerAuth" = [])),
    params(("id" = String, Path, description = "Hotel id.")),
    responses(
        (status = 200, description = "The hotel.", body = HotelDetail),
        (status = 401, description = "An invalid access token was sent.", body = ErrorBody),
        (status = 404, description = "No such hotel.", body = ErrorBody),
    )
)]
#[tracing::instrument(skip(s))]
async fn hotel(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<HotelDetail>> {
    let h = s.store.hotel(&id).await.context("loading the hotel")?.ok_or_else(|| ApiError::not_found("hotel"))?;
    Ok(Json(HotelDetail {
        room_types: h.room_types.iter().map(RoomOffer::catalog).collect(),
        id: h.id,
        name: h.name,
        city: h.city,
        country: h.country,
        address: h.address,
        stars: h.stars,
        amenities: h.amenities,
        currency: h.currency,
        description: h.description,
        rating: h.rating,
        review_count: h.review_count,
        popularity: h.popularity,
        from_price_cents: h.from_price_cents,
    }))
}
