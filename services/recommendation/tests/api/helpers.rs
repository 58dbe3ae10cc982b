use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    Event,
    kafka::Producer,
    saga::{HotelRatingUpdated, HotelUpserted, ReviewCreated, RoomTypeInfo, Stay},
};
use tripnest_e2e::{Stack, TestMongo, TestTopics, TokenIssuer, http_client};
use uuid::Uuid;

pub use tripnest_e2e::{
    WAIT,
    fixtures::{Popularities, day, stay},
};

pub struct TestApp {
    pub url: String,
    pub http: reqwest::Client,
    pub issuer: TokenIssuer,
    pub producer: Producer,
    _shutdown: tokio_util::sync::DropGuard,
    _topics: TestTopics,
    /// The database, when this app owns it (else the test does).
    owned: Option<TestMongo>,
}

pub async fn spawn_app() -> TestApp {
    let database = fresh_database();
    let mut app = spawn_app_on(&database, 100).await;
    app.owned = Some(database);
    app
}

/// The service on MongoDB database `database`, looking for catalog changes every `refresh_ms`
/// (through its change log in the stack's Redis).
pub async fn spawn_app_on(database: &str, refresh_ms: u64) -> TestApp {
    let stack = Stack::load();
    let topics = TestTopics::create(&stack).await.kept();
    let issuer = TokenIssuer::start().await;
    let mut cfg = tripnest_recommendation::Config::default();
    cfg.common.kafka.bootstrap_servers = topics.bootstrap.clone();
    cfg.common.kafka.topic_prefix = topics.prefix.clone();
    cfg.mongodb_uri = Some(stack.get("MONGODB_URI").into());
    cfg.mongodb_database = database.to_owned();
    cfg.jwks_url = issuer.jwks_url.clone();
    cfg.catalog_refresh_ms = refresh_ms;
    cfg.redis_url = Some(stack.get("REDIS_URL").into());
    let producer = Producer::new(&cfg.common.kafka).expect("producer");
    let shutdown = CancellationToken::new();
    let running = tripnest_recommendation::start(cfg, shutdown.clone()).await.expect("recommendation starts");
    TestApp { url: running.url(), http: http_client(), issuer, producer, _shutdown: shutdown.drop_guard(), _topics: topics, owned: None }
}

pub fn hotel(id: &str, city: &str, amenities: &[&str], nightly_cents: i64) -> Event<HotelUpserted> {
    let data = HotelUpserted {
        hotel_id: id.into(),
        name: format!("Hotel {id}"),
        city: city.into(),
        country: "PT".into(),
        address: String::new(),
        lat: None,
        lon: None,
        stars: 4,
        amenities: amenities.iter().map(|a| a.to_string()).collect(),
        currency: "EUR".into(),
        description: String::new(),
        room_types: vec![RoomTypeInfo { name: "double".into(), capacity: 2, base_rate_cents: nightly_cents, amenities: vec![] }],
    };
    Event::new("booking", id, data)
}

pub fn rating(hotel: &str, average: f64, count: i64) -> Event<HotelRatingUpdated> {
    Event::new("review", hotel, HotelRatingUpdated { hotel_id: hotel.into(), average, count })
}

pub fn reviewed(stay: &Stay, rating: u8) -> Event<ReviewCreated> {
    let data = ReviewCreated {
        review_id: Uuid::now_v7(),
        hotel_id: stay.hotel_id.clone(),
        booking_id: stay.booking_id,
        user_id: stay.user_id,
        rating,
    };
    Event::new("review", &stay.hotel_id, data)
}

impl TestApp {
    pub async fn publish<T: serde::Serialize>(&self, event: &Event<T>) {
        self.producer.publish(event, None).await.expect("publish");
    }

    /// `GET /recommendations?{query}`, as `token` when given.
    pub async fn recommend(&self, token: Option<&str>, query: &str) -> (StatusCode, Value) {
        let mut req = self.http.get(format!("{}/recommendations?{query}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("get");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// The basis and hotel ids of a successful answer.
    pub async fn ids(&self, token: Option<&str>, query: &str) -> (String, Vec<String>) {
        let (status, body) = self.recommend(token, query).await;
        assert_eq!(status, 200, "{body}");
        let ids = body["items"].as_array().expect("items").iter().map(|h| h["id"].as_str().expect("id").to_owned()).collect();
        (body["basis"].as_str().expect("basis").to_owned(), ids)
    }

    /// Wait until the answer is `basis` with exactly `want`, and `settled` holds for it.
    pub async fn wait_ids(&self, token: Option<&str>, query: &str, basis: &str, want: &[&str], settled: impl Fn(&Value) -> bool) -> Value {
        tripnest_e2e::wait_until(&format!("recommendations {query} to be {basis} {want:?}"), WAIT, || async {
            let (status, body) = self.recommend(token, query).await;
            let ids: Vec<&str> = body["items"].as_array()?.iter().filter_map(|h| h["id"].as_str()).collect();
            (status == 200 && body["basis"] == basis && ids == want && settled(&body)).then_some(body)
        })
        .await
    }
}

/// The scores of an answer's items, in order.
pub fn scores(body: &Value) -> Vec<f64> {
    body["items"].as_array().map(|items| items.iter().filter_map(|h| h["score"].as_f64()).collect()).unwrap_or_default()
}

/// A store on a fresh database of the stack's MongoDB, with its own client (as a replica has).
pub async fn fresh_store(database: &str) -> tripnest_recommendation::store::Store {
    tripnest_recommendation::store::Store::new(fresh_db(database).await)
}

/// `database` on the stack's MongoDB, through a client of its own.
pub async fn fresh_db(database: &str) -> mongodb::Database {
    mongodb::Client::with_uri_str(Stack::load().get("MONGODB_URI")).await.expect("mongodb client").database(database)
}

/// The commands a client started, each as (command name, the collection it names).
pub type Commands = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// `database` through a client of its own that records every command it starts (the driver's
/// command events): what a change costs in round trips, counted rather than timed.
pub async fn counted_db(database: &str) -> (mongodb::Database, Commands) {
    use mongodb::{
        event::{EventHandler, command::CommandEvent},
        options::ClientOptions,
    };
    let commands = Commands::default();
    let mut options = ClientOptions::parse(Stack::load().get("MONGODB_URI")).await.expect("options");
    let seen = commands.clone();
    options.command_event_handler = Some(EventHandler::callback(move |e: CommandEvent| {
        if let CommandEvent::Started(started) = e {
            let collection = started.command.get_str(&started.command_name).unwrap_or_default().to_owned();
            seen.lock().expect("commands").push((started.command_name, collection));
        }
    }));
    (mongodb::Client::with_options(options).expect("client").database(database), commands)
}

/// A database no other test uses, dropped with the guard.
pub fn fresh_database() -> TestMongo {
    TestMongo::new(&Stack::load(), "reco")
}

/// The 50th and 99th percentiles of `samples`, in milliseconds.
pub fn percentiles(mut samples: Vec<std::time::Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}
