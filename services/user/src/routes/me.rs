//! `GET /me` and `GET /.well-known/jwks.json`.

use crate::{AppState, users, users::User};
use axum::{
    Router,
    extract::{FromRequestParts, State},
    http::{header::AUTHORIZATION, request::Parts},
    routing::get,
};
use jsonwebtoken::jwk::JwkSet;
use tripnest_common::{ApiError, ApiResult, auth::Claims, http::ApiJson};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/me", get(me)).route("/.well-known/jwks.json", get(jwks))
}

/// The signed-in user, from an access token this service issued (verified locally).
pub(super) struct SignedIn(pub Claims);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::Unauthorized("sign in: missing bearer token".to_owned()))?;
        Ok(Self(state.keys.verify(token).await?))
    }
}

#[tracing::instrument(skip_all, fields(user_id = %claims.sub))]
async fn me(SignedIn(claims): SignedIn, State(state): State<AppState>) -> ApiResult<ApiJson<User>> {
    let user = users::find_by_id(&state.pool, claims.sub).await?;
    user.map(ApiJson).ok_or_else(|| ApiError::Unauthorized("this account no longer exists".to_owned()))
}

async fn jwks(State(state): State<AppState>) -> ApiResult<ApiJson<JwkSet>> {
    Ok(ApiJson(state.keys.jwks().await?))
}
