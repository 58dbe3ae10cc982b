use chrono::{Days, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tripnest_common::{Event, kafka::Producer};
use tripnest_e2e::{EventTap, Stack, TestDatabase, TestTopics, TokenIssuer, http_client, unique};

pub const INTERNAL_TOKEN: &str = "test-internal-token";

/// A booking service on a free port with its own database and topic prefix.
pub struct TestApp {
    pub url: String,
    pub pool: PgPool,
    pub http: reqwest::Client,
    pub issuer: TokenIssuer,
    pub producer: Producer,
    pub tap: EventTap,
    pub hotel: String,
    _shutdown: tokio_util::sync::DropGuard,
    _db: TestDatabase,
    _topics: TestTopics,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut tripnest_booking::Config)) -> TestApp {
    let stack = Stack::load();
    let (db, topics) = (stack.fresh_database().await, TestTopics::create(&stack).await.kept());
    let issuer = TokenIssuer::start().await;
    let mut cfg = tripnest_booking::Config::default();
    cfg.common.database_url = Some(db.url.clone().into());
    cfg.common.kafka.bootstrap_servers = topics.bootstrap.clone();
    cfg.common.kafka.topic_prefix = topics.prefix.clone();
    cfg.jwks_url = issuer.jwks_url.clone();
    cfg.internal_token = Some(INTERNAL_TOKEN.into());
    cfg.sweep_interval_ms = 100;
    tweak(&mut cfg);
    let tap = EventTap::start(&topics.bootstrap, &topics.prefix, tripnest_common::events::topics::ALL).await;
    let producer = Producer::new(&cfg.common.kafka).expect("producer");
    let shutdown = CancellationToken::new();
    let running = tripnest_booking::start(cfg, shutdown.clone()).await.expect("booking starts");
    TestApp {
        url: running.url(),
        pool: db.pool.clone(),
        http: http_client(),
        issuer,
        producer,
        tap,
        hotel: unique("hotel"),
        _shutdown: shutdown.drop_guard(),
        _db: db,
        _topics: topics,
    }
}

pub fn days_from_now(n: u64) -> NaiveDate {
    Utc::now().date_naive().checked_add_days(Days::new(n)).expect("date")
}

pub fn hotel_spec() -> Value {
    json!({
        "name": "Riverside Lisbon", "city": "Lisbon", "country": "PT", "address": "Rua do Rio 1",
        "location": { "lat": 38.7, "lon": -9.1 }, "stars": 4, "amenities": ["wifi", "pool"], "currency": "EUR",
        "description": "By the river.",
        "roomTypes": [
            { "name": "double", "capacity": 2, "baseRateCents": 10000, "amenities": ["balcony"] },
            { "name": "suite", "capacity": 4, "baseRateCents": 25000 }
        ]
    })
}

pub fn booking(hotel: &str, check_in: u64, nights: u64, rooms: i32) -> Value {
    json!({
        "hotelId": hotel, "roomType": "double", "checkIn": days_from_now(check_in), "checkOut": days_from_now(check_in + nights),
        "guests": 2, "rooms": rooms, "paymentMethod": "pm_card_visa"
    })
}

impl TestApp {
    pub async fn internal_put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self.http.put(format!("{}{path}", self.url)).bearer_auth(INTERNAL_TOKEN).json(body).send().await.expect("put");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// A hotel with `rooms` doubles and suites open for 60 nights from today.
    pub async fn seed_hotel(&self, rooms: i32) {
        let (s, _) = self.internal_put(&format!("/internal/hotels/{}", self.hotel), &hotel_spec()).await;
        assert_eq!(s, 200);
        for rt in ["double", "suite"] {
            let (s, body) =
                self.internal_put(&format!("/internal/inventory/{}/{rt}", self.hotel), &json!({ "rooms": rooms, "horizonDays": 60 })).await;
            assert_eq!(s, 200, "{body}");
        }
    }

    pub async fn book(&self, token: &str, key: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/bookings", self.url))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("post");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(format!("{}{path}", self.url)).bearer_auth(token).send().await.expect("get");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn status_of(&self, id: &str) -> String {
        sqlx::query_scalar("SELECT status FROM bookings WHERE id = $1::uuid").bind(id).fetch_one(&self.pool).await.expect("status")
    }

    pub async fn wait_status(&self, id: &str, want: &str) {
        tripnest_e2e::wait_until(&format!("booking {id} to be {want}"), Duration::from_secs(20), || async {
            (self.status_of(id).await == want).then_some(())
        })
        .await;
    }

    /// (min available, max booked) over a room type's nights in `[from, to)`.
    pub async fn nights(&self, room_type: &str, from: NaiveDate, to: NaiveDate) -> (i32, i32) {
        sqlx::query_as(
            "SELECT min(available), max(booked) FROM availability WHERE hotel_id = $1 AND room_type = $2 AND night >= $3 AND night < $4",
        )
        .bind(&self.hotel)
        .bind(room_type)
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await
        .expect("nights")
    }

    pub async fn publish<T: serde::Serialize>(&self, event: &Event<T>) {
        self.producer.publish(event, None).await.expect("publish");
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.expect("count")
    }
}
