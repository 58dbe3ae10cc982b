//! `/internal/*`: called by operators and other services with the internal service token,
//! never exposed through the gateway.

use super::auth::create_account;
use crate::{AppState, users::Registration, users::User};
use axum::{
    Router,
    extract::{FromRef, State},
    http::StatusCode,
    routing::post,
};
use serde::{Deserialize, Serialize};
use tripnest_common::{
    ApiResult,
    auth::{InternalToken, Role, ServiceToken},
    http::ApiJson,
};

#[derive(Clone)]
struct InternalState {
    app: AppState,
    token: InternalToken,
}

impl FromRef<InternalState> for AppState {
    fn from_ref(s: &InternalState) -> Self {
        s.app.clone()
    }
}

impl FromRef<InternalState> for InternalToken {
    fn from_ref(s: &InternalState) -> Self {
        s.token.clone()
    }
}

pub(super) fn router(app: AppState, token: InternalToken) -> Router {
    Router::new()
        .route("/internal/users", post(create_user))
        .route("/internal/signing-keys/rotate", post(rotate_signing_key))
        .with_state(InternalState { app, token })
}

#[derive(Deserialize)]
struct NewAccount {
    #[serde(flatten)]
    registration: Registration,
    role: Role,
}

#[derive(Serialize)]
struct Created {
    user: User,
}

#[tracing::instrument(skip_all)]
async fn create_user(
    _: ServiceToken,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, ApiJson<Created>)> {
    let user = create_account(&state, body.registration, body.role).await?;
    Ok((StatusCode::CREATED, ApiJson(Created { user })))
}

#[derive(Serialize)]
struct Rotated {
    kid: String,
}

#[tracing::instrument(skip_all)]
async fn rotate_signing_key(_: ServiceToken, State(state): State<AppState>) -> ApiResult<ApiJson<Rotated>> {
    let kid = state.keys.rotate(state.cfg.retired_key_grace()).await?;
    Ok(ApiJson(Rotated { kid }))
}
