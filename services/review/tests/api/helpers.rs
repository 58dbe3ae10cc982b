use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tripnest_common::{Event, events::topics, kafka::Producer, saga::Stay};
use tripnest_e2e::{EventTap, Stack, TestDatabase, TestTopics, TokenIssuer, http_client, unique};
use uuid::Uuid;

pub use tripnest_e2e::{
    WAIT,
    fixtures::{cancelled, confirmed},
};

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
    let stack = Stack::load();
    let (db, topics) = (stack.fresh_database().await, TestTopics::create(&stack).await.kept());
    let issuer = TokenIssuer::start().await;
    let mut cfg = tripnest_review::Config::default();
    cfg.common.database_url = Some(db.url.clone().into());
    cfg.common.kafka.bootstrap_servers = topics.bootstrap.clone();
    cfg.common.kafka.topic_prefix = topics.prefix.clone();
    cfg.jwks_url = issuer.jwks_url.clone();
    let tap = EventTap::start(
        &cfg.common.kafka.bootstrap_servers,
        &cfg.common.kafka.topic_prefix,
        &[topics::REVIEW_CREATED, topics::HOTEL_RATING_UPDATED],
    )
    .await;
    let producer = Producer::new(&cfg.common.kafka).expect("producer");
    let shutdown = CancellationToken::new();
    let running = tripnest_review::start(cfg, shutdown.clone()).await.expect("review starts");
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

/// A two-night stay of `user` at `hotel` from day `check_in` (negative: in the past), 100.00 a night.
pub fn stay(user: Uuid, hotel: &str, check_in: i64) -> Stay {
    tripnest_e2e::fixtures::stay(user, hotel, check_in, 2, 10_000)
}

impl TestApp {
    pub async fn publish<T: serde::Serialize>(&self, event: &Event<T>) {
        self.producer.publish(event, None).await.expect("publish");
    }

    /// Wait until the stay of `booking` is known with `status`.
    pub async fn wait_stay(&self, booking: Uuid, status: &str) {
        tripnest_e2e::wait_until(&format!("stay {booking} to be {status}"), WAIT, || async {
            let s: Option<String> =
                sqlx::query_scalar("SELECT status FROM stays WHERE booking_id = $1").bind(booking).fetch_optional(&self.pool).await.ok()?;
            (s.as_deref() == Some(status)).then_some(())
        })
        .await;
    }

    /// A confirmed stay of `user` at this app's hotel, known to the service.
    pub async fn confirmed_stay(&self, user: Uuid, check_in: i64) -> Stay {
        let s = stay(user, &self.hotel, check_in);
        self.publish(&confirmed(&s, None)).await;
        self.wait_stay(s.booking_id, "CONFIRMED").await;
        s
    }

    pub async fn post_review(&self, token: Option<&str>, hotel: &str, body: &Value) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}/hotels/{hotel}/reviews", self.url)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("post");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// Post a review of `stay` as `token`: (status, error code or review).
    pub async fn review(&self, token: &str, stay: &Stay, rating: Value, text: &str) -> (u16, Value) {
        let (s, body) =
            self.post_review(Some(token), &stay.hotel_id, &json!({ "bookingId": stay.booking_id, "rating": rating, "text": text })).await;
        (s.as_u16(), body)
    }

    pub async fn list(&self, query: &str) -> Value {
        let r = self.http.get(format!("{}/hotels/{}/reviews?{query}", self.url, self.hotel)).send().await.expect("get");
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }
}
