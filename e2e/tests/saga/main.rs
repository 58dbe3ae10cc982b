//! The booking saga end to end, through real processes of user, booking, payment and
//! notification, over the real Kafka, PostgreSQL and SMTP server of the local stack.

use chrono::{Days, Utc};
use futures::future::join_all;
use serde_json::{Value, json};
use std::time::Duration;
use tripnest_common::events::topics;
use tripnest_e2e::{WAIT, platform::Platform, unique, wait_until};

fn day(n: u64) -> String {
    Utc::now().date_naive().checked_add_days(Days::new(n)).expect("date").to_string()
}

fn stay(hotel: &str, from: u64, nights: u64, payment: &str) -> Value {
    json!({ "hotelId": hotel, "roomType": "double", "checkIn": day(from), "checkOut": day(from + nights), "guests": 2, "rooms": 1, "paymentMethod": payment })
}

async fn payment_of(p: &Platform, booking: &str) -> Value {
    let r = p.http.get(format!("{}/payments/{booking}", p.payment.url)).bearer_auth(&p.internal_token).send().await.expect("payment");
    r.json().await.expect("payment json")
}

#[tokio::test]
async fn a_booking_is_confirmed_and_the_guest_gets_an_email() {
    let p = Platform::start(&[]).await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 3).await;
    let email = format!("{}@example.test", unique("ada"));
    let token = p.traveller(&email).await;

    let (s, booking) = p.book(&token, "first-try", &stay(&hotel, 10, 2, "pm_card_visa")).await;
    assert_eq!((s.as_u16(), booking["status"].as_str()), (202, Some("PENDING")), "{booking}");
    let id = booking["id"].as_str().expect("id").to_owned();
    let confirmed = p.wait_status(&token, &id, "CONFIRMED").await;
    assert_eq!(confirmed["amountCents"], 20_000);

    let mail = wait_until("the confirmation email", WAIT, || async { p.mails_to(&email).await.into_iter().next() }).await;
    assert!(mail["Subject"].as_str().expect("subject").contains("confirmed"), "{mail}");
    let sent = p.tap.wait_for(topics::NOTIFICATION_SENT, &id, WAIT).await;
    assert_eq!(sent["data"]["channel"], "email");
    let payment = payment_of(&p, &id).await;
    assert_eq!((payment["status"].as_str(), payment["amountCents"].as_i64()), (Some("captured"), Some(20_000)));

    // The guest cancels; the refund and the cancellation email follow.
    let r = p.http.post(format!("{}/bookings/{id}/cancel", p.booking.url)).bearer_auth(&token).send().await.expect("cancel");
    assert_eq!(r.status(), 200);
    wait_until("the refund", WAIT, || async { (payment_of(&p, &id).await["refunded"] == true).then_some(()) }).await;
    wait_until("the cancellation email", WAIT, || async { (p.mails_to(&email).await.len() == 2).then_some(()) }).await;
    assert_eq!(p.rooms_left(&hotel, &day(10), &day(12)).await, 3);
}

#[tokio::test]
async fn a_declined_card_cancels_the_booking_and_releases_its_rooms() {
    let p = Platform::start(&[]).await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 1).await;
    let token = p.traveller(&format!("{}@example.test", unique("bob"))).await;
    let (s, booking) = p.book(&token, "k", &stay(&hotel, 4, 3, "pm_card_declined")).await;
    assert_eq!(s, 202);
    let id = booking["id"].as_str().expect("id");
    let cancelled = p.wait_status(&token, id, "CANCELLED").await;
    assert_eq!((cancelled["cancelReason"].as_str(), cancelled["paymentFailure"].as_str()), (Some("payment_failed"), Some("declined")));
    assert_eq!(p.rooms_left(&hotel, &day(4), &day(7)).await, 1, "the only room is for sale again");
    let (s, _) = p.book(&token, "k2", &stay(&hotel, 4, 3, "pm_card_visa")).await;
    assert_eq!(s, 202, "and can be booked");
}

#[tokio::test]
async fn twenty_identical_requests_make_one_booking_and_one_charge() {
    let p = Platform::start(&[]).await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 5).await;
    let token = p.traveller(&format!("{}@example.test", unique("cy"))).await;
    let body = stay(&hotel, 20, 2, "pm_card_visa");
    let results = join_all((0..20).map(|_| p.book(&token, "same-key", &body))).await;
    let ids: std::collections::HashSet<&str> = results.iter().filter(|(s, _)| *s == 202).filter_map(|(_, b)| b["id"].as_str()).collect();
    assert_eq!(ids.len(), 1);
    let id = *ids.iter().next().expect("one id");
    p.wait_status(&token, id, "CONFIRMED").await;
    let payment = payment_of(&p, id).await;
    assert_eq!((payment["status"].as_str(), payment["attempts"].as_i64()), (Some("captured"), Some(1)), "{payment}");
    let list: Value =
        p.http.get(format!("{}/bookings", p.booking.url)).bearer_auth(&token).send().await.expect("list").json().await.expect("json");
    assert_eq!(list["total"], 1);
    let mut other = body.clone();
    other["guests"] = json!(1);
    let (s, err) = p.book(&token, "same-key", &other).await;
    assert_eq!((s.as_u16(), err["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));
}

#[tokio::test]
async fn a_payment_crash_after_booking_created_still_confirms_exactly_once() {
    let mut p = Platform::start(&[]).await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 2).await;
    let email = format!("{}@example.test", unique("dee"));
    let token = p.traveller(&email).await;
    p.payment.kill().await;
    let (_, booking) = p.book(&token, "k", &stay(&hotel, 8, 1, "pm_card_visa")).await;
    let id = booking["id"].as_str().expect("id").to_owned();
    p.tap.wait_for(topics::BOOKING_CREATED, &id, WAIT).await;
    assert_eq!(p.booking(&token, &id).await["status"], "PENDING", "nobody paid while payment was down");
    p.payment = p.payment.restart();
    p.wait_status(&token, &id, "CONFIRMED").await;
    wait_until("the confirmation email", WAIT, || async { p.mails_to(&email).await.into_iter().next() }).await;
    // Give duplicates every chance to show: both consumers have caught up once notification.sent exists.
    p.tap.wait_for(topics::NOTIFICATION_SENT, &id, WAIT).await;
    assert_eq!(p.tap.about(topics::PAYMENT_SUCCESS, &id).len(), 1);
    assert_eq!(p.tap.about(topics::BOOKING_CONFIRMED, &id).len(), 1);
    assert_eq!(p.mails_to(&email).await.len(), 1);
}

#[tokio::test]
async fn a_redelivered_payment_success_changes_nothing() {
    let p = Platform::start(&[]).await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 2).await;
    let email = format!("{}@example.test", unique("eve"));
    let token = p.traveller(&email).await;
    let (_, booking) = p.book(&token, "k", &stay(&hotel, 9, 1, "pm_card_visa")).await;
    let id = booking["id"].as_str().expect("id").to_owned();
    p.wait_status(&token, &id, "CONFIRMED").await;
    p.tap.wait_for(topics::NOTIFICATION_SENT, &id, WAIT).await;
    // Deliver the very same payment.success again, byte for byte.
    let success = p.tap.about(topics::PAYMENT_SUCCESS, &id).remove(0);
    let producer = tripnest_common::kafka::Producer::new(&tripnest_common::config::KafkaConfig {
        bootstrap_servers: p.stack.get("KAFKA_BOOTSTRAP_SERVERS").into(),
        topic_prefix: p.prefix.clone(),
        ..Default::default()
    })
    .expect("producer");
    producer.send(topics::PAYMENT_SUCCESS, id.as_bytes(), &serde_json::to_vec(&success).expect("bytes"), &[]).await.expect("redeliver");
    // A later booking of the same guest goes all the way through, so the duplicate was consumed.
    let (_, later) = p.book(&token, "k2", &stay(&hotel, 12, 1, "pm_card_visa")).await;
    let later = later["id"].as_str().expect("id").to_owned();
    p.tap.wait_for(topics::NOTIFICATION_SENT, &later, WAIT).await;
    assert_eq!(p.tap.about(topics::BOOKING_CONFIRMED, &id).len(), 1, "no second transition");
    assert_eq!(p.mails_to(&email).await.len(), 2, "one email per booking, none for the duplicate");
}

/// Forty bookings at a steady 10/s each go through the whole saga once. How fast is measured by
/// `make bench` (the saga scenario, against a bare Kafka round trip), not asserted here: a timed
/// assertion failed on a loaded CI machine while every booking was confirmed.
#[tokio::test]
async fn a_steady_stream_of_bookings_is_each_confirmed_once() {
    let p = Platform::start(&[]).await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 100).await;
    let token = p.traveller(&format!("{}@example.test", unique("lat"))).await;
    // Warm up: the first booking also waits for every consumer group to get its partitions.
    let (_, first) = p.book(&token, "warm-up", &stay(&hotel, 40, 1, "pm_card_visa")).await;
    p.wait_status(&token, first["id"].as_str().expect("id"), "CONFIRMED").await;
    let mut ids = Vec::new();
    // A steady rate of 10 bookings per second, paced by the clock rather than by sleeps.
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    for i in 0..40u64 {
        pace.tick().await;
        let (s, b) = p.book(&token, &format!("k{i}"), &stay(&hotel, 1 + i % 30, 1, "pm_card_visa")).await;
        assert_eq!(s, 202);
        ids.push(b["id"].as_str().expect("id").to_owned());
    }
    let mut latencies = Vec::new();
    for id in &ids {
        let created = p.tap.wait_for(topics::BOOKING_CREATED, id, WAIT).await;
        let confirmed = p.tap.wait_for(topics::BOOKING_CONFIRMED, id, WAIT).await;
        let t = |e: &Value| chrono::DateTime::parse_from_rfc3339(e["time"].as_str().expect("time")).expect("rfc3339");
        latencies.push((t(&confirmed) - t(&created)).num_milliseconds());
    }
    latencies.sort_unstable();
    let pct = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "saga latency booking.created -> booking.confirmed over {} bookings: p50 {} ms, p99 {} ms, max {} ms",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies.last().expect("max")
    );
    for id in &ids {
        assert_eq!(p.tap.about(topics::BOOKING_CONFIRMED, id).len(), 1, "{id} confirmed once");
    }
    assert!(latencies[0] >= 0, "confirmed after created");
}

/// Whether one of `lines` ran in a span named `span` of trace `trace_id` (and of `topic`, for a
/// message span).
fn logged_in(lines: &[Value], span: &str, trace_id: &str, topic: Option<&str>) -> bool {
    lines
        .iter()
        .flat_map(|l| l["spans"].as_array().cloned().unwrap_or_default())
        .any(|s| s["name"] == span && s["trace_id"] == trace_id && topic.is_none_or(|t| s["topic"] == t))
}

#[tokio::test]
async fn one_booking_is_followed_by_its_trace_id_through_the_logs_of_five_services() {
    let p = Platform::start_full().await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 2).await;
    let email = format!("{}@example.test", unique("trace"));
    let token = p.traveller(&email).await;
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let r = p
        .http
        .post(format!("{}/bookings", p.api()))
        .bearer_auth(&token)
        .header("Idempotency-Key", unique("traced"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&stay(&hotel, 12, 1, "pm_card_visa"))
        .send()
        .await
        .expect("book through the gateway");
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    p.tap.wait_for(topics::NOTIFICATION_SENT, &id, WAIT).await;

    // gateway → booking → payment → booking → notification, each hop's log line in the span
    // that carries the trace the client started.
    let edge = p.edge.as_ref().expect("full platform");
    let hops = [
        ("gateway: POST /api/bookings", &edge.gateway, "request", None),
        ("booking: POST /bookings", &p.booking, "request", None),
        ("payment: booking.created", &p.payment, "message", Some(topics::BOOKING_CREATED)),
        ("booking: payment.success", &p.booking, "message", Some(topics::PAYMENT_SUCCESS)),
        ("notification: booking.confirmed", &p.notification, "message", Some(topics::BOOKING_CONFIRMED)),
    ];
    let missing = || hops.iter().filter(|(_, service, span, topic)| !logged_in(&service.logs(), span, &trace_id, *topic)).count();
    wait_until("every hop to log under the trace", Duration::from_secs(10), || async { (missing() == 0).then_some(()) }).await;
    for (hop, service, span, topic) in hops {
        let lines = service.logs();
        assert!(logged_in(&lines, span, &trace_id, topic), "{hop}: no log line in trace {trace_id}");
        // What a reader grepping for the trace id sees (`--nocapture`).
        let line = lines.iter().rev().find(|l| logged_in(std::slice::from_ref(l), span, &trace_id, topic)).expect("found above");
        eprintln!("{hop}: {line}");
    }
    // And nothing else shares it: another booking has a trace of its own.
    let (s, other) = p.book(&token, &unique("untraced"), &stay(&hotel, 14, 1, "pm_card_visa")).await;
    assert_eq!(s, 202, "{other}");
    let other_id = other["id"].as_str().expect("id");
    p.tap.wait_for(topics::NOTIFICATION_SENT, other_id, WAIT).await;
    let traces_of_booking_requests: std::collections::HashSet<String> = p
        .booking
        .logs()
        .iter()
        .flat_map(|l| l["spans"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["name"] == "request" && s["route"] == "/bookings" && s["method"] == "POST")
        .filter_map(|s| s["trace_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(traces_of_booking_requests.len(), 2, "each booking request has its own trace: {traces_of_booking_requests:?}");
}
