//! Hot paths every request or event goes through: event (de)serialization and access-token
//! verification on the cached-key path.

use criterion::{Criterion, criterion_group, criterion_main};
use std::{hint::black_box, sync::Arc};
use tripnest_common::{
    Event,
    auth::{AUDIENCE, Claims, ISSUER, JwksVerifier, Role, Signer, VERIFIED_HELD, jwks},
    events::topics,
    saga::{BookingCreated, Contact, Stay},
};

fn created() -> Event<BookingCreated> {
    let stay = Stay {
        booking_id: uuid::Uuid::now_v7(),
        user_id: uuid::Uuid::now_v7(),
        hotel_id: "lisbon-riverside".into(),
        hotel_name: "Riverside Lisbon".into(),
        room_type: "double".into(),
        check_in: "2027-05-01".parse().expect("date"),
        check_out: "2027-05-04".parse().expect("date"),
        guests: 2,
        rooms: 1,
        amount_cents: 36_000,
        currency: "EUR".into(),
        contact: Contact { email: "ada@example.com".into(), phone: Some("+351912345678".into()), name: Some("Ada".into()) },
    };
    let data = BookingCreated { stay, payment_method: "pm_card_visa".into(), hold_expires_at: chrono::Utc::now() };
    Event::new("booking", "bk", data)
}

fn events(c: &mut Criterion) {
    let e = created();
    let bytes = e.to_bytes();
    c.bench_function("event_serialize_booking_created", |b| b.iter(|| black_box(&e).to_bytes()));
    c.bench_function("event_parse_booking_created", |b| {
        b.iter(|| Event::<BookingCreated>::from_slice(topics::BOOKING_CREATED, black_box(&bytes)).expect("parse"))
    });
}

fn jwt(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let signer = Arc::new(Signer::generate("bench"));
    let url = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/jwks", listener.local_addr().expect("addr"));
        let served = signer.clone();
        let app = axum::Router::new().route("/jwks", axum::routing::get(move || async move { axum::Json(jwks([&*served])) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    });
    let verifier = JwksVerifier::new(url);
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: uuid::Uuid::now_v7(),
        email: "ada@example.com".into(),
        name: None,
        phone: None,
        roles: vec![Role::Traveller],
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now,
        exp: now + 3600,
    };
    let token = signer.issue(&claims);
    rt.block_on(verifier.verify(&token)).expect("warm the key cache");
    // More distinct tokens than the verifier remembers, taken in turn: every one is checked.
    let fresh: Vec<String> = (0..3 * VERIFIED_HELD as i64).map(|i| signer.issue(&Claims { iat: now - i, ..claims.clone() })).collect();
    let mut next = fresh.iter().cycle();
    c.bench_function("jwt_verify_new_token", |b| {
        b.iter(|| rt.block_on(verifier.verify(black_box(next.next().expect("cycle")))).expect("valid"))
    });
    c.bench_function("jwt_verify_seen_token", |b| b.iter(|| rt.block_on(verifier.verify(black_box(&token))).expect("valid")));
    c.bench_function("jwt_sign", |b| b.iter(|| signer.issue(black_box(&claims))));
}

criterion_group!(benches, events, jwt);
criterion_main!(benches);
