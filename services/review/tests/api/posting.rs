use crate::helpers::*;
use serde_json::json;
use tripnest_common::events::topics;

#[tokio::test]
async fn a_guest_reviews_their_stay_and_the_new_rating_is_published() {
    let app = spawn_app().await;
    let (ada, ada_token) = app.issuer.traveller("ada@example.test");
    let stay = app.confirmed_stay(ada, 0).await; // checks in today

    let (status, review) = app.review(&ada_token, &stay, json!(5), "Quiet room, lovely staff.").await;
    assert_eq!(status, 201, "{review}");
    assert_eq!((review["rating"].as_i64(), review["text"].as_str()), (Some(5), Some("Quiet room, lovely staff.")));
    assert_eq!(review["authorName"], "Test Traveller");
    assert!(review.get("userId").is_none() && review.get("bookingId").is_none(), "no ids of the guest are shown: {review}");

    let created = app.tap.wait_for(topics::REVIEW_CREATED, &app.hotel, WAIT).await;
    assert_eq!(created["data"]["bookingId"], stay.booking_id.to_string());
    assert_eq!((created["data"]["userId"].as_str(), created["data"]["rating"].as_i64()), (Some(ada.to_string().as_str()), Some(5)));
    assert_eq!(created["data"]["reviewId"], review["id"]);
    let rating = app.tap.wait_for(topics::HOTEL_RATING_UPDATED, &app.hotel, WAIT).await;
    assert_eq!((rating["data"]["average"].as_f64(), rating["data"]["count"].as_i64()), (Some(5.0), Some(1)));

    // A second guest, who stayed last week, rates it 2: the aggregate moves to 3.5 over 2.
    let (bob, bob_token) = app.issuer.traveller("bob@example.test");
    let older = app.confirmed_stay(bob, -7).await;
    assert_eq!(app.review(&bob_token, &older, json!(2), "Noisy.").await.0, 201);
    tripnest_e2e::wait_until("the second rating", WAIT, || async {
        let all = app.tap.about(topics::HOTEL_RATING_UPDATED, &app.hotel);
        (all.len() == 2).then(|| all[1].clone())
    })
    .await;
    let last = app.tap.about(topics::HOTEL_RATING_UPDATED, &app.hotel)[1].clone();
    assert_eq!((last["data"]["average"].as_f64(), last["data"]["count"].as_i64()), (Some(3.5), Some(2)));
}

#[tokio::test]
async fn text_is_stored_and_returned_exactly_as_written() {
    let app = spawn_app().await;
    let (ada, token) = app.issuer.traveller("ada@example.test");
    let stay = app.confirmed_stay(ada, -1).await;
    let text = "<script>alert('x')</script> & \"quotes\"; DROP TABLE reviews; --\nSecond line\twith a tab, émoji 🏨";
    let (status, body) = app
        .post_review(
            Some(&token),
            &app.hotel,
            &json!({ "bookingId": stay.booking_id, "rating": 4, "title": " <i>Fine</i> ", "text": text }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let page = app.list("").await;
    assert_eq!(page["items"][0]["text"], text);
    assert_eq!(page["items"][0]["title"], "<i>Fine</i>");
}
