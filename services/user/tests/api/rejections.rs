//! A NUL in any string of a sign-up or sign-in is a 422 naming the field (PostgreSQL cannot
//! store it, so it used to be a 500), and the framework's own refusals have the error shape.

use crate::helpers::*;
use serde_json::json;
use tripnest_e2e::raw_http::expect_error;

#[tokio::test]
async fn a_nul_in_register_or_login_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    let email = email();
    let cases = [
        ("email", json!({ "email": format!("{email}\u{0}"), "password": PASSWORD })),
        ("name", json!({ "email": email, "password": PASSWORD, "name": "Ada\u{0}" })),
        ("phone", json!({ "email": email, "password": PASSWORD, "phone": "+4477\u{0}" })),
    ];
    for (field, body) in cases {
        let error = expect_error(app.register(&body).await, 422, "validation_failed").await;
        assert_eq!(error["error"]["details"][0]["field"], field, "{error}");
    }
    let error = expect_error(app.login(&format!("{email}\u{0}"), PASSWORD).await, 422, "validation_failed").await;
    assert_eq!(error["error"]["details"][0]["field"], "email");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.pool).await.expect("count");
    assert_eq!(count, 0, "nothing was stored");
}

#[tokio::test]
async fn a_wrong_method_is_405_and_an_unknown_route_404() {
    let app = spawn_app().await;
    expect_error(app.http.get(format!("{}/auth/login", app.url)).send().await.expect("get"), 405, "method_not_allowed").await;
    expect_error(app.http.get(format!("{}/auth/nowhere", app.url)).send().await.expect("get"), 404, "not_found").await;
}
