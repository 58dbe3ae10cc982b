//! `POST /auth/register`, `/auth/login`, `/auth/refresh` and `/auth/logout`. A login spends
//! the account's failed-login budget before any password is checked (`login_throttle`).

use crate::{
    AppState,
    login_throttle::Admission,
    refresh_tokens,
    refresh_tokens::RefreshError,
    users::{self, NewUser, Registration, User},
};
use axum::{
    Extension,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use tripnest_common::{
    ApiError, ApiResult,
    auth::{AUDIENCE, Claims, ISSUER, Role},
    error::ErrorBody,
    http::ApiJson,
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register)).routes(routes!(login)).routes(routes!(refresh)).routes(routes!(logout))
}

/// A 401 whose code tells the client what to do, in the shared error shape.
#[derive(Debug)]
pub(super) enum AuthFailure {
    /// Wrong email or password; the same answer either way.
    InvalidCredentials,
    /// The refresh token cannot be used; log in again.
    InvalidRefreshToken(RefreshError),
    /// Anything else.
    Api(ApiError),
}

impl From<ApiError> for AuthFailure {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<anyhow::Error> for AuthFailure {
    fn from(e: anyhow::Error) -> Self {
        Self::Api(ApiError::Internal(e))
    }
}

impl IntoResponse for AuthFailure {
    fn into_response(self) -> Response {
        let (code, message) = match self {
            Self::InvalidCredentials => ("invalid_credentials", "invalid email or password".to_owned()),
            Self::InvalidRefreshToken(RefreshError::Internal(e)) => return ApiError::Internal(e).into_response(),
            Self::InvalidRefreshToken(why) => ("invalid_refresh_token", why.to_string()),
            Self::Api(e) => return e.into_response(),
        };
        ApiError::UnauthorizedAs { code: code.into(), message }.into_response()
    }
}

/// The account just created.
#[derive(Serialize, ToSchema)]
struct Registered {
    user: User,
}

/// A signed-in session: a fresh access token and refresh token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Session {
    /// A JWT to send as `Authorization: Bearer …`.
    access_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String)]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// Single-use token for `/auth/refresh`.
    refresh_token: String,
    user: User,
}

/// An email and password.
#[derive(Deserialize, ToSchema)]
struct Credentials {
    email: String,
    #[schema(value_type = String)]
    password: SecretString,
}

/// A refresh token to rotate or revoke.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RefreshRequest {
    refresh_token: String,
}

/// Validate, hash and store a new account with `role`.
pub(super) async fn create_account(state: &AppState, registration: Registration, role: Role) -> ApiResult<User> {
    let new: NewUser = registration.validate(role)?;
    let hash = state.passwords.hash(&new.password).await?;
    let user = users::insert(&state.pool, &new, &hash).await?;
    metrics::counter!("user_registrations_total", "role" => users::role_name(role)).increment(1);
    tracing::info!(user_id = %user.id, role = users::role_name(role), "account created");
    Ok(user)
}

/// Create a traveller account.
#[utoipa::path(
    post, path = "/auth/register", operation_id = "register", security(()),
    request_body = Registration,
    responses(
        (status = 201, description = "The new account.", body = Registered),
        (status = 400, description = "Malformed JSON.", body = ErrorBody),
        (status = 409, description = "`email_taken`.", body = ErrorBody),
        (status = 422, description = "Invalid fields, each named: besides the schema, a password that is easy to guess (common, a pattern, or made of the email or name) and an email with invisible or mixed-script characters are refused.", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn register(State(state): State<AppState>, ApiJson(body): ApiJson<Registration>) -> ApiResult<(StatusCode, ApiJson<Registered>)> {
    let user = create_account(&state, body, Role::Traveller).await?;
    Ok((StatusCode::CREATED, ApiJson(Registered { user })))
}

/// The address a login comes from: the client address the gateway forwarded, else the peer.
fn source_address(headers: &HeaderMap, peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> Option<IpAddr> {
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next()?.trim().parse().ok());
    forwarded.or(peer.map(|Extension(ConnectInfo(addr))| addr.ip()))
}

/// Sign in with email and password.
#[utoipa::path(
    post, path = "/auth/login", operation_id = "login", security(()),
    request_body = Credentials,
    responses(
        (status = 200, description = "A new session.", body = Session),
        (status = 400, description = "Malformed JSON.", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`: wrong email or password.", body = ErrorBody),
        (status = 422, description = "A field of the wrong type, or holding a NUL character (named in `details`).", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed sign-ins for this account; retry after `Retry-After` seconds.", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id))]
async fn login(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<ApiJson<Session>, AuthFailure> {
    let email = users::normalize_email(&body.email);
    let reservation = match state.throttle.admit(&email, source_address(&headers, peer)).await.map_err(ApiError::from)? {
        Admission::Admitted(reservation) => reservation,
        Admission::Refused { retry_after } => {
            metrics::counter!("user_logins_total", "outcome" => "throttled").increment(1);
            let retry_after_secs = retry_after.as_micros().div_ceil(1_000_000).max(1) as u64;
            return Err(ApiError::RateLimited { retry_after_secs }.into());
        }
    };
    let account = users::find_by_email(&state.pool, &email).await?;
    let matched = match &account {
        Some(account) => state.passwords.verify(&body.password, &account.password_hash).await?,
        None => {
            state.passwords.verify_decoy(&body.password).await?;
            false
        }
    };
    let Some(account) = account.filter(|_| matched) else {
        metrics::counter!("user_logins_total", "outcome" => "invalid_credentials").increment(1);
        return Err(AuthFailure::InvalidCredentials);
    };
    tracing::Span::current().record("user_id", tracing::field::display(account.user.id));
    state.throttle.refund(reservation).await.map_err(ApiError::from)?;
    let refresh = refresh_tokens::issue(&state.pool, account.user.id, state.cfg.refresh_token_ttl()).await?;
    let session = open_session(&state, account.user, refresh.token).await?;
    metrics::counter!("user_logins_total", "outcome" => "success").increment(1);
    Ok(ApiJson(session))
}

/// Trade a refresh token for a new session (the old token is spent).
#[utoipa::path(
    post, path = "/auth/refresh", operation_id = "refresh", security(()),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new session.", body = Session),
        (status = 400, description = "Malformed JSON.", body = ErrorBody),
        (status = 401, description = "`invalid_refresh_token`: sign in again.", body = ErrorBody),
        (status = 422, description = "A field of the wrong type, or holding a NUL character (named in `details`).", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id))]
async fn refresh(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshRequest>) -> Result<ApiJson<Session>, AuthFailure> {
    let rotated = match refresh_tokens::rotate(&state.pool, &body.refresh_token, state.cfg.refresh_token_ttl()).await {
        Ok(rotated) => rotated,
        Err(RefreshError::Internal(e)) => return Err(e.into()),
        Err(why) => {
            let outcome = if matches!(why, RefreshError::Reused) { "reuse_detected" } else { "invalid" };
            metrics::counter!("user_token_refreshes_total", "outcome" => outcome).increment(1);
            return Err(AuthFailure::InvalidRefreshToken(why));
        }
    };
    tracing::Span::current().record("user_id", tracing::field::display(rotated.user_id));
    let user = users::find_by_id(&state.pool, rotated.user_id).await?.ok_or(AuthFailure::InvalidRefreshToken(RefreshError::Invalid))?;
    let session = open_session(&state, user, rotated.token).await?;
    metrics::counter!("user_token_refreshes_total", "outcome" => "rotated").increment(1);
    Ok(ApiJson(session))
}

/// Revoke a refresh token (unknown tokens are ignored).
#[utoipa::path(
    post, path = "/auth/logout", operation_id = "logout", security(()),
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out."),
        (status = 400, description = "Malformed JSON.", body = ErrorBody),
        (status = 422, description = "A field of the wrong type, or holding a NUL character (named in `details`).", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
async fn logout(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshRequest>) -> ApiResult<StatusCode> {
    refresh_tokens::revoke(&state.pool, &body.refresh_token).await?;
    metrics::counter!("user_logouts_total").increment(1);
    Ok(StatusCode::NO_CONTENT)
}

async fn open_session(state: &AppState, user: User, refresh_token: String) -> anyhow::Result<Session> {
    let ttl = state.cfg.access_token_ttl();
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        phone: user.phone.clone(),
        roles: user.roles.clone(),
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        iat: now,
        exp: now + i64::try_from(ttl.as_secs())?,
    };
    let access_token = state.keys.sign(&claims).await?;
    Ok(Session { access_token, token_type: "Bearer", expires_in: ttl.as_secs(), refresh_token, user })
}
