use chrono::{Days, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tripnest_common::{Event, kafka::Producer};
use tripnest_e2e::{Stack, TestDatabase, TestMongo, TestTopics, TokenIssuer, http_client, unique};

pub const INTERNAL_TOKEN: &str = "test-internal-token";
pub use tripnest_e2e::WAIT;

/// Search and a real booking service on one topic prefix.
pub struct TestApp {
    pub url: String,
    pub booking_url: String,
    pub http: reqwest::Client,
    pub issuer: TokenIssuer,
    pub producer: Producer,
    pub mongo: mongodb::Database,
    _shutdown: tokio_util::sync::DropGuard,
    pub booking_db: TestDatabase,
    _search_db: TestMongo,
    _topics: TestTopics,
}

pub async fn spawn_app() -> TestApp {
    let stack = Stack::load();
    let topics = TestTopics::create(&stack).await.kept();
    let (bootstrap, prefix) = (topics.bootstrap.clone(), topics.prefix.clone());
    let shutdown = CancellationToken::new();
    let issuer = TokenIssuer::start().await;

    let booking_db = stack.fresh_database().await;
    let mut booking = tripnest_booking::Config::default();
    booking.common.database_url = Some(booking_db.url.clone().into());
    booking.common.kafka.bootstrap_servers = bootstrap.clone();
    booking.common.kafka.topic_prefix = prefix.clone();
    booking.jwks_url = issuer.jwks_url.clone();
    booking.internal_token = Some(INTERNAL_TOKEN.into());
    let booking = tripnest_booking::start(booking, shutdown.clone()).await.expect("booking starts");

    let database = TestMongo::new(&stack, "search");
    let mut cfg = tripnest_search::Config::default();
    cfg.common.kafka.bootstrap_servers = bootstrap;
    cfg.common.kafka.topic_prefix = prefix;
    cfg.mongodb_uri = Some(stack.get("MONGODB_URI").into());
    cfg.mongodb_database = database.name.clone();
    cfg.redis_url = Some(stack.get("REDIS_URL").into());
    cfg.booking_url = booking.url();
    // One event at a time, in partition order: these tests publish markers after the events
    // they check and wait for the markers, which proves nothing when other hotels' lanes run
    // ahead (the markers are other hotels). Handling by lanes and batches is tested in
    // tripnest-common (`tests/consumer.rs`), search's ordering key in `consumer::tests` and its
    // batches in `tests/api/batches.rs`.
    cfg.common.kafka.read_model_concurrency = 1;
    cfg.common.kafka.read_model_batch = 1;
    let producer = Producer::new(&cfg.common.kafka).expect("producer");
    let search = tripnest_search::start(cfg, shutdown.clone()).await.expect("search starts");
    let mongo = database.database().await;
    TestApp {
        url: search.url(),
        booking_url: booking.url(),
        http: http_client(),
        issuer,
        producer,
        mongo,
        _shutdown: shutdown.drop_guard(),
        booking_db,
        _search_db: database,
        _topics: topics,
    }
}

pub fn days_from_now(n: u64) -> NaiveDate {
    Utc::now().date_naive().checked_add_days(Days::new(n)).expect("date")
}

/// A hotel spec for booking's catalog: `(name, capacity, base rate)` room types.
pub fn hotel(city: &str, stars: u8, amenities: &[&str], rooms: &[(&str, u32, i64)]) -> Value {
    let room_types: Vec<Value> =
        rooms.iter().map(|(name, capacity, rate)| json!({ "name": name, "capacity": capacity, "baseRateCents": rate })).collect();
    json!({ "name": format!("Hotel in {city}"), "city": city, "country": "PT", "stars": stars, "amenities": amenities,
            "currency": "EUR", "roomTypes": room_types })
}

impl TestApp {
    async fn internal_put(&self, path: &str, body: &Value) {
        let r = self.http.put(format!("{}{path}", self.booking_url)).bearer_auth(INTERNAL_TOKEN).json(body).send().await.expect("put");
        let status = r.status();
        assert_eq!(status, 200, "PUT {path}: {}", r.text().await.unwrap_or_default());
    }

    /// Put a hotel into booking's catalog.
    pub async fn add_hotel(&self, id: &str, spec: &Value) {
        self.internal_put(&format!("/internal/hotels/{id}"), spec).await;
    }

    /// Open `rooms` rooms of a room type for `horizon` nights from today (with extra spec fields).
    pub async fn open_rooms(&self, id: &str, room_type: &str, rooms: i32, horizon: i32, extra: Value) {
        let mut spec = json!({ "rooms": rooms, "horizonDays": horizon });
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        self.internal_put(&format!("/internal/inventory/{id}/{room_type}"), &spec).await;
    }

    /// Take a hotel off sale in booking.
    pub async fn remove_hotel(&self, id: &str) {
        let r = self
            .http
            .delete(format!("{}/internal/hotels/{id}", self.booking_url))
            .bearer_auth(INTERNAL_TOKEN)
            .send()
            .await
            .expect("delete");
        assert_eq!(r.status(), 204);
    }

    /// `GET /hotels?{query}`: status, body and the cache header.
    pub async fn search(&self, query: &str) -> (StatusCode, Value, String) {
        let r = self.http.get(format!("{}/hotels?{query}", self.url)).send().await.expect("search");
        let status = r.status();
        let cache = r.headers().get("x-search-cache").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        (status, r.json().await.unwrap_or(Value::Null), cache)
    }

    /// The ids of the hotels a successful search returns, in order.
    pub async fn ids(&self, query: &str) -> Vec<String> {
        let (status, body, _) = self.search(query).await;
        assert_eq!(status, 200, "{query}: {body}");
        body["items"].as_array().expect("items").iter().map(|h| h["id"].as_str().expect("id").to_owned()).collect()
    }

    /// Wait until `query` returns exactly `want`.
    pub async fn wait_ids(&self, query: &str, want: &[&str]) {
        tripnest_e2e::wait_until(&format!("search {query} to return {want:?}"), WAIT, || async {
            (self.ids(query).await == want).then_some(())
        })
        .await;
    }

    /// Wait until `query` is answered from the cache, and return that page. The consumer writes
    /// the read model before it bumps the cache's generation, so a search that already sees a
    /// change may be stored under the generation just before the bump and missed once more;
    /// from the next fill on the cache serves the fresh results (and never the stale ones).
    pub async fn wait_cached(&self, query: &str) -> Value {
        tripnest_e2e::wait_until(&format!("search {query} to be answered from the cache"), WAIT, || async {
            let (_, page, cache) = self.search(query).await;
            (cache == "hit").then_some(page)
        })
        .await
    }

    /// Wait until the read model holds `n` nights (over all calendars).
    pub async fn wait_nights(&self, n: usize) {
        let calendars = self.mongo.collection::<tripnest_search::store::CalendarDoc>("calendars");
        tripnest_e2e::wait_until(&format!("{n} nights in the read model"), WAIT, || async {
            let all: Vec<_> = futures::TryStreamExt::try_collect(calendars.find(mongodb::bson::doc! {}).await.ok()?).await.ok()?;
            (all.iter().map(|c: &tripnest_search::store::CalendarDoc| c.nights.len()).sum::<usize>() == n).then_some(())
        })
        .await;
    }

    pub async fn publish<T: serde::Serialize>(&self, event: &Event<T>) {
        self.producer.publish(event, None).await.expect("publish");
    }

    pub async fn book(&self, token: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(format!("{}/bookings", self.booking_url))
            .bearer_auth(token)
            .header("Idempotency-Key", unique("k"))
            .json(body)
            .send()
            .await
            .expect("book");
        assert_eq!(r.status(), 202);
        r.json().await.expect("booking")
    }

    pub async fn cancel(&self, token: &str, id: &str) {
        let r = self.http.post(format!("{}/bookings/{id}/cancel", self.booking_url)).bearer_auth(token).send().await.expect("cancel");
        assert_eq!(r.status(), 200);
    }
}

/// A fresh read model database (dropped with the returned guard) and a cache namespace of its
/// own, with no service running.
pub async fn fresh_read_model() -> (mongodb::Database, tripnest_search::cache::ResultCache, TestMongo) {
    let stack = Stack::load();
    let guard = TestMongo::new(&stack, "search");
    let db = guard.database().await;
    let cache =
        tripnest_search::cache::ResultCache::new(Some(stack.get("REDIS_URL")), &format!("search:{}", db.name()), 120).expect("cache");
    (db, cache, guard)
}

/// A `hotel.upserted` payload: `(name, capacity)` room types at 90.00.
pub fn catalog(id: &str, city: &str, rooms: &[(&str, i32)]) -> tripnest_common::saga::HotelUpserted {
    let room_types = rooms
        .iter()
        .map(|(name, capacity)| tripnest_common::saga::RoomTypeInfo {
            name: (*name).into(),
            capacity: *capacity,
            base_rate_cents: 9_000,
            amenities: vec![],
        })
        .collect();
    tripnest_common::saga::HotelUpserted {
        hotel_id: id.into(),
        name: id.into(),
        city: city.into(),
        country: "PT".into(),
        address: String::new(),
        lat: None,
        lon: None,
        stars: 3,
        amenities: vec!["wifi".into()],
        currency: "EUR".into(),
        description: "A hotel with a description of a realistic length.".into(),
        room_types,
    }
}
