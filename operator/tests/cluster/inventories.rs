use crate::helpers::{TestEnv, has_condition, hotel, inventory};
use chrono::{Days, Utc};
use k8s_openapi::api::{batch::v1::CronJob, events::v1::Event};
use kube::{Api, api::ListParams};
use std::time::Duration;
use tripnest_e2e::wait_until;
use tripnest_operator::resources::{Hotel, Inventory};

fn ready(i: &Inventory) -> bool {
    i.status.as_ref().is_some_and(|s| has_condition(&s.conditions, "Ready", "True") && s.observed_generation == i.metadata.generation)
}

/// The fewest rooms of `room_type` available over the next week, as booking tells travellers.
async fn available(env: &TestEnv, hotel: &str, room_type: &str) -> Option<i64> {
    let today = Utc::now().date_naive();
    let (check_in, check_out) = (today.checked_add_days(Days::new(1))?, today.checked_add_days(Days::new(8))?);
    let (status, body) = env.booking_get(&format!("/hotels/{hotel}/availability?checkIn={check_in}&checkOut={check_out}")).await;
    if status != 200 {
        return None;
    }
    body["roomTypes"].as_array()?.iter().find(|o| o["roomType"] == room_type).and_then(|o| o["available"].as_i64())
}

#[tokio::test]
async fn an_inventory_owns_a_roll_cronjob_and_its_rooms_are_on_sale_at_once() {
    let env = TestEnv::start().await;
    env.apply::<Hotel>(hotel("riverside", &["double", "suite"])).await;
    env.apply::<Inventory>(inventory("riverside-double", "riverside", "double", 12)).await;

    let inv = env.wait_for::<Inventory>("riverside-double", "the Inventory to be Ready", ready).await;
    let status = inv.status.expect("status");
    let expected_end = Utc::now().date_naive().checked_add_days(Days::new(29));
    assert!(status.generated_through.is_some_and(|d| Some(d) >= expected_end.and_then(|e| e.pred_opt())), "{status:?}");
    assert!(status.last_run.is_some(), "{status:?}");
    assert_eq!(available(&env, "riverside", "double").await, Some(12), "availability appears at once");

    let cj = env.api::<CronJob>().get("riverside-double-roll").await.expect("cronjob exists");
    let owner = &cj.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.controller), ("Inventory", "riverside-double", Some(true)));
    let spec = cj.spec.expect("spec");
    assert_eq!(spec.schedule, "15 3 * * *");
    let container = &spec.job_template.spec.expect("job").template.spec.expect("pod").containers[0];
    assert_eq!(container.image.as_deref(), Some("registry.test/tripnest/booking:test"));
    assert_eq!(container.args.as_deref().expect("args"), ["roll-inventory", "--hotel", "riverside", "--room-type", "double"]);

    // Change the rooms (and the schedule): availability and the CronJob follow.
    let mut more = inventory("riverside-double", "riverside", "double", 20);
    more["spec"]["schedule"] = "0 4 * * *".into();
    env.apply::<Inventory>(more).await;
    wait_until("availability to follow the rooms", Duration::from_secs(30), || async {
        (available(&env, "riverside", "double").await == Some(20)).then_some(())
    })
    .await;
    env.wait_for::<CronJob>("riverside-double-roll", "the CronJob schedule to follow", |cj| {
        cj.spec.as_ref().is_some_and(|s| s.schedule == "0 4 * * *")
    })
    .await;
    env.wait_for::<Hotel>("riverside", "the Hotel to count the rooms", |h| h.status.as_ref().is_some_and(|s| s.rooms == Some(20))).await;
    env.teardown().await;
}

#[tokio::test]
async fn an_inventory_for_a_missing_hotel_or_room_type_says_why_and_recovers() {
    let env = TestEnv::start().await;
    env.apply::<Inventory>(inventory("lakeside-double", "lakeside", "double", 5)).await;
    let blocked = env
        .wait_for::<Inventory>("lakeside-double", "a HotelNotFound condition", |i| {
            i.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.reason == "HotelNotFound"))
        })
        .await;
    let condition = blocked.status.expect("status").conditions.into_iter().find(|c| c.type_ == "Ready").expect("ready");
    assert_eq!(condition.status, "False");
    assert!(condition.message.contains("lakeside"), "{}", condition.message);
    let events: Api<Event> = env.api();
    wait_until("a HotelNotFound warning event", Duration::from_secs(30), || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find(|e| e.reason.as_deref() == Some("HotelNotFound") && e.type_.as_deref() == Some("Warning"))
    })
    .await;

    // A Hotel without that room type: a different, equally clear reason.
    env.apply::<Hotel>(hotel("lakeside", &["suite"])).await;
    env.wait_for::<Inventory>("lakeside-double", "an UnknownRoomType condition", |i| {
        i.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.reason == "UnknownRoomType"))
    })
    .await;
    let metrics = env.metrics().await;
    assert!(
        metrics.lines().any(|l| l.starts_with("operator_reconcile_errors_total") && l.contains(r#"error="missing_hotel""#)),
        "errors are counted by kind: {metrics}"
    );

    // Fixing the Hotel unblocks it without touching the Inventory.
    env.apply::<Hotel>(hotel("lakeside", &["suite", "double"])).await;
    env.wait_for::<Inventory>("lakeside-double", "the Inventory to recover", ready).await;
    wait_until("rooms on sale", Duration::from_secs(30), || async {
        (available(&env, "lakeside", "double").await == Some(5)).then_some(())
    })
    .await;
    env.teardown().await;
}
