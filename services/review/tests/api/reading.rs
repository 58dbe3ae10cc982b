use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn reviews_are_listed_newest_first_with_the_aggregate() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (i, rating) in [3, 4, 5].into_iter().enumerate() {
        let (user, token) = app.issuer.traveller(&format!("guest{i}@example.test"));
        let stay = app.confirmed_stay(user, -1).await;
        let (status, review) = app.review(&token, &stay, json!(rating), &format!("review {i}")).await;
        assert_eq!(status, 201);
        ids.push(review["id"].as_str().expect("id").to_owned());
    }
    let page = app.list("pageSize=2").await;
    assert_eq!((page["total"].as_i64(), page["page"].as_i64(), page["pageSize"].as_i64()), (Some(3), Some(1), Some(2)));
    assert_eq!((page["rating"]["average"].as_f64(), page["rating"]["count"].as_i64()), (Some(4.0), Some(3)));
    let listed: Vec<&str> = page["items"].as_array().expect("items").iter().map(|r| r["id"].as_str().expect("id")).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    let page = app.list("pageSize=2&page=2").await;
    assert_eq!(page["items"][0]["id"], ids[0].as_str());
    assert_eq!(page["items"][0]["text"], "review 0");

    let r = app.http.get(format!("{}/hotels/{}/reviews?pageSize=0&page=x", app.url, app.hotel)).send().await.expect("get");
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["details"][0]["field"], "page");
    assert_eq!(body["error"]["details"][1]["field"], "pageSize");

    // A hotel nobody reviewed yet.
    let r = app.http.get(format!("{}/hotels/unreviewed/reviews", app.url)).send().await.expect("get");
    let empty: serde_json::Value = r.json().await.expect("json");
    assert_eq!((empty["total"].as_i64(), empty["rating"]["average"].as_f64()), (Some(0), Some(0.0)));
}

#[tokio::test]
async fn the_largest_documented_page_is_empty_not_an_error() {
    use tripnest_common::page::{MAX_PAGE, MAX_PAGE_SIZE};
    let app = spawn_app().await;
    let page = app.list(&format!("page={MAX_PAGE}&pageSize={MAX_PAGE_SIZE}")).await;
    assert_eq!((page["items"].as_array().map(Vec::len), page["page"].as_u64()), (Some(0), Some(MAX_PAGE.into())), "{page}");
    let r = app.http.get(format!("{}/hotels/{}/reviews?page={}", app.url, app.hotel, u64::from(MAX_PAGE) + 1)).send().await.expect("get");
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn a_nul_in_the_hotel_or_a_bad_page_is_a_4xx_in_the_error_shape() {
    use tripnest_e2e::raw_http::expect_error;
    let app = spawn_app().await;
    let get = |path: String| app.http.get(format!("{}{path}", app.url)).send();
    let error = expect_error(get("/hotels/ab%00c/reviews".to_owned()).await.expect("get"), 422, "validation_failed").await;
    assert_eq!(error["error"]["details"][0]["field"], "id");
    let nul_query = format!("/hotels/{}/reviews?page=%00", app.hotel);
    let error = expect_error(get(nul_query).await.expect("get"), 422, "validation_failed").await;
    assert_eq!(error["error"]["details"][0]["field"], "page");
    for query in ["page=abc", "page=-1"] {
        expect_error(get(format!("/hotels/{}/reviews?{query}", app.hotel)).await.expect("get"), 422, "validation_failed").await;
    }
}
