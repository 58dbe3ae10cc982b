//! Ad-hoc timings at a few thousand stays, run on demand:
//! `cargo test -p tripnest-recommendation --test api timing -- --ignored --nocapture`.

use crate::helpers::*;
use futures::StreamExt;
use std::time::Instant;
use uuid::Uuid;

const HOTELS: usize = 200;
const TRAVELLERS: usize = 200;
const STAYS: usize = 2000;

#[tokio::test]
#[ignore = "a measurement, not a check; run on demand"]
async fn time_a_request_and_a_booking_event_at_a_few_thousand_stays() {
    let database = fresh_database();
    let store = fresh_store(&database).await;
    let ada = Uuid::now_v7();
    for i in 0..HOTELS {
        let h = hotel(&format!("h{i}"), &format!("City {}", i % 20), &["wifi", "pool"], 8_000 + 10 * i as i64);
        store.upsert_hotel(&h.data, 1).await.expect("hotel");
    }
    let mut travellers: Vec<Uuid> = (1..TRAVELLERS).map(|_| Uuid::now_v7()).collect();
    travellers.insert(0, ada);
    let stays: Vec<_> = (0..STAYS)
        .map(|i| stay(travellers[i % TRAVELLERS], &format!("h{}", (i * 7) % HOTELS), 1 + (i / TRAVELLERS) as i64 * 3, 2, 9_000))
        .collect();
    let started = Instant::now();
    let done = std::sync::atomic::AtomicUsize::new(0);
    futures::stream::iter(&stays)
        .for_each_concurrent(8, |s| {
            let (store, done) = (store.clone(), &done);
            async move {
                store.record_stay(s, true, false, None).await.expect("seed stay");
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if n % 500 == 0 {
                    println!("{n} stays after {:?}", started.elapsed());
                }
            }
        })
        .await;
    let seeded = started.elapsed();
    for s in stays.iter().filter(|s| s.user_id == ada) {
        store.record_review(&reviewed(s, 4).data).await.expect("review");
    }
    println!("seeded {STAYS} stays in {seeded:?} ({:.2} ms/event at 8 in flight)", seeded.as_secs_f64() * 1000.0 / STAYS as f64);

    let mut events = Vec::new();
    for i in 0..100 {
        let s = stay(travellers[1 + (i * 13) % (TRAVELLERS - 1)], &format!("h{}", (i * 11) % HOTELS), 400, 2, 9_000);
        let t = Instant::now();
        store.record_stay(&s, true, false, None).await.expect("confirm");
        events.push(t.elapsed());
    }
    let (p50, p99) = percentiles(events);
    println!("booking.confirmed, one at a time: p50 {p50:.2} ms, p99 {p99:.2} ms");

    // The service's default catalog reload; started after seeding so the reload does not compete.
    let app = spawn_app_on(&database, 2000).await;
    let token = app.issuer.issue(&tripnest_common::auth::Claims {
        sub: ada,
        email: "ada@example.test".into(),
        name: None,
        phone: None,
        roles: vec![tripnest_common::auth::Role::Traveller],
        iss: tripnest_common::auth::ISSUER.into(),
        aud: tripnest_common::auth::AUDIENCE.into(),
        iat: chrono::Utc::now().timestamp(),
        exp: chrono::Utc::now().timestamp() + 900,
    });
    tripnest_e2e::wait_until("ada's personal answer", WAIT, || async {
        let (_, body) = app.recommend(Some(&token), "").await;
        (body["basis"] == "personal").then_some(())
    })
    .await;
    let mut requests = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let (status, _) = app.recommend(Some(&token), "").await;
        requests.push(t.elapsed());
        assert_eq!(status, 200);
    }
    let (p50, p99) = percentiles(requests);
    println!("GET /recommendations signed in: p50 {p50:.2} ms, p99 {p99:.2} ms");
}
