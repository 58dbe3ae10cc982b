//! Restarting the Kafka broker in the middle of bookings loses none of them. This is its own
//! test binary because it stops the shared broker: cargo runs test binaries one at a time.

use chrono::{Days, Utc};
use serde_json::json;
use std::process::Command;
use tripnest_e2e::{platform::Platform, repo_root, unique};

fn stack(verb: &str) {
    let status = Command::new("bash").arg(repo_root().join("dev/stack.sh")).args([verb, "kafka"]).status().expect("dev/stack.sh");
    assert!(status.success(), "dev/stack.sh {verb} kafka");
}

#[tokio::test]
async fn restarting_kafka_mid_flow_loses_no_booking() {
    let p = Platform::start(&[]).await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 50).await;
    let token = p.traveller(&format!("{}@example.test", unique("kim"))).await;
    let day = |n: u64| Utc::now().date_naive().checked_add_days(Days::new(n)).expect("date").to_string();
    let mut ids = Vec::new();
    let mut book = async |i: u64| {
        let body = json!({ "hotelId": hotel, "roomType": "double", "checkIn": day(2 + i % 20), "checkOut": day(3 + i % 20), "guests": 1, "rooms": 1, "paymentMethod": "pm_card_visa" });
        let (s, b) = p.book(&token, &format!("k{i}"), &body).await;
        assert_eq!(s, 202, "bookings are accepted while the broker is down: {b}");
        ids.push(b["id"].as_str().expect("id").to_owned());
    };
    for i in 0..5 {
        book(i).await;
    }
    stack("down");
    for i in 5..10 {
        book(i).await;
    }
    stack("up");
    for i in 10..15 {
        book(i).await;
    }
    for id in &ids {
        let b = p.wait_status(&token, id, "CONFIRMED").await;
        assert_eq!(b["id"], id.as_str());
    }
    assert_eq!(ids.len(), 15);
}
