//! Who is calling: the bearer token is verified here, once, against the user service's JWKS
//! (cached; an unknown key id triggers a refresh, so key rotation needs no restart). Services
//! receive the result as `x-user-id` and `x-user-roles`; copies of those headers sent by a
//! client never get past the gateway.

use axum::http::{
    HeaderMap, HeaderName, HeaderValue,
    header::{AUTHORIZATION, InvalidHeaderValue},
};
use tripnest_common::{
    ApiError,
    auth::{Claims, JwksVerifier, Role},
};

/// The verified user id, set by the gateway for the services.
pub const USER_ID: HeaderName = HeaderName::from_static("x-user-id");
/// The verified roles, comma-separated (`traveller,admin`), set by the gateway.
pub const USER_ROLES: HeaderName = HeaderName::from_static("x-user-roles");

/// The bearer token of a request: `Ok(None)` when there is no `Authorization` header, an
/// error when there is one that is not a bearer token.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else { return Ok(None) };
    let malformed = || ApiError::Unauthorized("the Authorization header must be `Bearer <access token>`".to_owned());
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(malformed());
    }
    Ok(Some(token))
}

/// The verified claims of the request's token, `None` for an anonymous request, or the 401
/// for a token that is malformed, expired, tampered with or signed by an unknown key.
pub async fn identify(verifier: &JwksVerifier, headers: &HeaderMap) -> Result<Option<Claims>, ApiError> {
    match bearer_token(headers)? {
        Some(token) => verifier.verify(token).await.map(Some),
        None => Ok(None),
    }
}

/// The headers a service gets for verified claims: `x-user-id`, `x-user-roles`, and the
/// token's `Authorization` in the canonical `Bearer <token>` form the services parse.
pub fn identity_headers(claims: &Claims, token: &str) -> Result<[(HeaderName, HeaderValue); 3], InvalidHeaderValue> {
    let roles: Vec<&str> = claims.roles.iter().map(|r| role_name(*r)).collect();
    Ok([
        (USER_ID, HeaderValue::from_str(&claims.sub.to_string())?),
        (USER_ROLES, HeaderValue::from_str(&roles.join(","))?),
        (AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}"))?),
    ])
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Traveller => "traveller",
        Role::Manager => "manager",
        Role::Admin => "admin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripnest_common::auth::{AUDIENCE, ISSUER};
    use uuid::Uuid;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, value.parse().expect("header"));
        h
    }

    #[test]
    fn bearer_tokens_are_read_and_other_schemes_refused() {
        assert_eq!(bearer_token(&HeaderMap::new()).expect("anonymous"), None);
        assert_eq!(bearer_token(&with_authorization("Bearer abc.def.ghi")).expect("bearer"), Some("abc.def.ghi"));
        assert_eq!(bearer_token(&with_authorization("bearer abc")).expect("scheme is case-insensitive"), Some("abc"));
        for bad in ["Basic dXNlcjpwYXNz", "Bearer ", "Bearer", "abc"] {
            assert_eq!(bearer_token(&with_authorization(bad)).expect_err(bad).status(), 401, "{bad}");
        }
    }

    #[test]
    fn identity_headers_name_the_user_and_every_role() {
        let claims = Claims {
            sub: Uuid::now_v7(),
            email: "ada@example.test".into(),
            name: None,
            phone: None,
            roles: vec![Role::Traveller, Role::Admin],
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: 0,
            exp: 0,
        };
        let [(id_name, id), (roles_name, roles), (auth_name, auth)] = identity_headers(&claims, "t.o.k").expect("headers");
        assert_eq!((id_name, id.to_str().expect("ascii")), (USER_ID, claims.sub.to_string().as_str()));
        assert_eq!((roles_name, roles.to_str().expect("ascii")), (USER_ROLES, "traveller,admin"));
        assert_eq!((auth_name, auth.to_str().expect("ascii")), (AUTHORIZATION, "Bearer t.o.k"));
    }
}
