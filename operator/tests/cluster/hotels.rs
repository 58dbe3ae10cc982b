use crate::helpers::{TestEnv, has_condition, hotel};
use k8s_openapi::api::events::v1::Event;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams},
};
use std::time::Duration;
use tripnest_common::{Event as CloudEvent, kafka::Producer, saga::HotelRatingUpdated};
use tripnest_e2e::{Stack, wait_until};
use tripnest_operator::resources::Hotel;

fn ready(h: &Hotel) -> bool {
    h.status.as_ref().is_some_and(|s| has_condition(&s.conditions, "Ready", "True") && s.observed_generation == h.metadata.generation)
}

#[tokio::test]
async fn a_hotel_is_upserted_into_the_catalog_becomes_ready_and_leaves_sale_on_delete() {
    let env = TestEnv::start().await;
    env.apply::<Hotel>(hotel("riverside", &["double", "suite"])).await;

    let h = env.wait_for::<Hotel>("riverside", "the Hotel to be Ready", ready).await;
    assert!(h.finalizers().iter().any(|f| f == "tripnest.io/catalog"), "finalizer added: {:?}", h.finalizers());
    assert!(has_condition(&h.status.as_ref().expect("status").conditions, "Synced", "True"));
    let (status, body) = env.booking_get("/hotels/riverside").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Riverside Lisbon", "displayName maps to booking's name");
    assert_eq!(body["roomTypes"].as_array().map(Vec::len), Some(2));

    // A spec change is followed, including who manages the hotel.
    let mut changed = hotel("riverside", &["double", "suite"]);
    changed["spec"]["displayName"] = "Riverside Lisbon & Spa".into();
    changed["spec"]["managers"] = serde_json::json!(["Marta@Example.test"]);
    env.apply::<Hotel>(changed).await;
    wait_until("booking to show the new name", Duration::from_secs(30), || async {
        (env.booking_get("/hotels/riverside").await.1["name"] == "Riverside Lisbon & Spa").then_some(())
    })
    .await;
    let managers: Vec<String> =
        sqlx::query_scalar("SELECT managers FROM hotels WHERE id = 'riverside'").fetch_one(&env.booking_db).await.expect("managers");
    assert_eq!(managers, ["marta@example.test"], "spec.managers reaches the catalog, normalized");

    // The operator recorded why it acted.
    let events: Api<Event> = env.api();
    let synced = wait_until("a Synced event", Duration::from_secs(30), || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("Synced") && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("riverside"))
    })
    .await;
    assert_eq!(synced.reporting_controller.as_deref(), Some("tripnest-operator"));

    // Delete: the finalizer takes it off sale first.
    env.api::<Hotel>().delete("riverside", &DeleteParams::default()).await.expect("delete");
    env.wait_gone::<Hotel>("riverside", "the Hotel to be deleted").await;
    assert_eq!(env.booking_get("/hotels/riverside").await.0, 404, "off sale after delete");
    let kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM hotels WHERE id = 'riverside'").fetch_one(&env.booking_db).await.expect("count");
    assert_eq!(kept, 1, "the catalog row (and its bookings) stay; only on_sale changes");
    env.teardown().await;
}

#[tokio::test]
async fn a_rating_event_lands_in_the_hotel_status() {
    let env = TestEnv::start().await;
    env.apply::<Hotel>(hotel("harbour", &["double"])).await;
    env.wait_for::<Hotel>("harbour", "the Hotel to be Ready", ready).await;

    let kafka = tripnest_common::config::KafkaConfig {
        bootstrap_servers: Stack::load().get("KAFKA_BOOTSTRAP_SERVERS").to_owned(),
        topic_prefix: env.topic_prefix.clone(),
        ..Default::default()
    };
    let producer = Producer::new(&kafka).expect("producer");
    let rating = HotelRatingUpdated { hotel_id: "harbour".into(), average: 4.25, count: 8 };
    producer.publish(&CloudEvent::new("review", "harbour", rating), None).await.expect("publish");

    let h = env.wait_for::<Hotel>("harbour", "the rating in status", |h| h.status.as_ref().is_some_and(|s| s.rating == Some(4.25))).await;
    let status = h.status.expect("status");
    assert_eq!(status.review_count, Some(8));
    assert!(has_condition(&status.conditions, "Ready", "True"), "the rest of the status is intact");
    env.teardown().await;
}
