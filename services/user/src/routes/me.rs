//! `GET /me` and `GET /.well-known/jwks.json`.

use crate::{AppState, users, users::User};
use axum::{
    extract::{FromRequestParts, State},
    http::{header::AUTHORIZATION, request::Parts},
    routing::get,
};
use jsonwebtoken::jwk::JwkSet;
use tripnest_common::{ApiError, ApiResult, auth::Claims, error::ErrorBody, http::ApiJson};
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me)).route("/.well-known/jwks.json", get(jwks))
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

/// The signed-in user.
#[utoipa::path(
    get, path = "/me", operation_id = "me", security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Your account.", body = User),
        (status = 401, description = "No valid access token, or the account is gone.", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %claims.sub))]
async fn me(SignedIn(claims): SignedIn, State(state): State<AppState>) -> ApiResult<ApiJson<User>> {
    let user = users::find_by_id(&state.pool, claims.sub).await?;
    user.map(ApiJson).ok_or_else(|| ApiError::Unauthorized("this account no longer exists".to_owned()))
}

async fn jwks(State(state): State<AppState>) -> ApiResult<ApiJson<JwkSet>> {
    Ok(ApiJson(state.keys.jwks().await?))
}
