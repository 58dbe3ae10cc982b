//! `GET /hotels` (search, cached) and `GET /hotels/{id}` (one hotel from the read model).

use crate::{
    cache::ResultCache,
    query::{RawSearch, SearchQuery},
    results::{self, RoomOffer},
    snapshot::Snapshots,
    store::Store,
};
use anyhow::Context;
use axum::{
    Json, Router,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;
use tripnest_common::{
    ApiError, ApiResult,
    http::{ApiPath, ApiQuery},
};

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

/// The public routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/hotels", get(search)).route("/hotels/{id}", get(hotel))
}

/// The header telling whether a search came from the cache (`hit`) or MongoDB (`miss`).
pub const CACHE_HEADER: &str = "x-search-cache";

#[tracing::instrument(skip_all)]
async fn search(State(s): State<AppState>, ApiQuery(raw): ApiQuery<RawSearch>) -> ApiResult<Response> {
    let q = SearchQuery::parse(raw, chrono::Utc::now().date_naive())?;
    let canonical = q.canonical();
    let (hit, slot) = s.cache.lookup(q.city.as_deref(), &canonical).await;
    if let Some(json) = hit {
        return Ok(json_bytes(json, "hit"));
    }
    let city = s.snapshots.get(&s.store, q.city.as_deref(), slot.generation()).await.context("loading the city snapshot")?;
    let page = results::search(&city, &q);
    let json = serde_json::to_vec(&page).context("serialising the results")?;
    s.cache.store(slot, &json).await;
    Ok(json_bytes(json, "miss"))
}

fn json_bytes(json: Vec<u8>, cache: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/json"), (header::HeaderName::from_static(CACHE_HEADER), cache)], json).into_response()
}

/// A hotel's detail page.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
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
