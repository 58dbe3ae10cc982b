//! The booking saga's services as real processes on one shared environment: user, booking,
//! payment and notification, each with its own fresh database, all on one Kafka topic prefix,
//! talking to each other exactly as in production (JWKS from user, internal token for the
//! catalog API, events over Kafka, mail over SMTP).
//!
//! A platform is fresh by default (unique database names and topic prefix). A *pinned* one
//! ([`Platform::start_pinned`], used by the bench's cached seed) names everything after a
//! fixed name instead: databases `<name>_<service>`, topic prefix `<name>.`, consumer groups
//! `<name>.<service>`; started again with the same name it finds its data and its consumers
//! resume from their committed offsets. Its event tap starts at the end of the topics.

use crate::{
    EventTap, NamedDatabases, Stack, TestMongo, TestTopics, http_client, process::ServiceProcess, unique, wait_until, with_database,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::{collections::BTreeMap, time::Duration};

/// The running saga services.
#[derive(Debug)]
pub struct Platform {
    /// Local stack settings.
    pub stack: Stack,
    /// Kafka topic prefix of this platform.
    pub prefix: String,
    /// Service token for `/internal/*`.
    pub internal_token: String,
    /// User service.
    pub user: ServiceProcess,
    /// Booking service.
    pub booking: ServiceProcess,
    /// Payment service.
    pub payment: ServiceProcess,
    /// Notification service.
    pub notification: ServiceProcess,
    /// Search, review, recommendation and the gateway, when started with [`Platform::start_full`].
    pub edge: Option<Edge>,
    /// Every saga event this platform publishes.
    pub tap: EventTap,
    /// HTTP client.
    pub http: reqwest::Client,
    /// What an unpinned platform created, removed when it drops (after its processes).
    cleanup: Cleanup,
}

/// The topics and databases of an unpinned platform (a pinned one keeps everything).
#[derive(Debug)]
struct Cleanup {
    _topics: Option<TestTopics>,
    databases: NamedDatabases,
    mongo: Vec<TestMongo>,
}

/// The read side and the public entry point.
#[derive(Debug)]
pub struct Edge {
    /// Search service.
    pub search: ServiceProcess,
    /// Review service.
    pub review: ServiceProcess,
    /// Recommendation service.
    pub recommendation: ServiceProcess,
    /// The gateway, in front of everything; `gateway.url` + `/api/...`.
    pub gateway: ServiceProcess,
}

impl Platform {
    /// The saga services plus search, review, recommendation and the gateway in front.
    pub async fn start_full() -> Self {
        Self::start_full_with(&[]).await
    }

    /// [`Platform::start_full`] with extra gateway settings (e.g. rate limits).
    pub async fn start_full_with(gateway_settings: &[(&str, &str)]) -> Self {
        Self::start_pinned(None, gateway_settings).await
    }

    /// [`Platform::start_full_with`], every store and topic named after `pin` when given (see
    /// the module docs).
    pub async fn start_pinned(pin: Option<&str>, gateway_settings: &[(&str, &str)]) -> Self {
        let names = Names(pin.map(str::to_owned));
        let mut p = Self::start_named(&names, &[]).await;
        let mongo_names = std::cell::RefCell::new(Vec::new());
        let mongo_db = |s: &str| {
            let name = names.store(s);
            mongo_names.borrow_mut().push(name.clone());
            name
        };
        let common = |p: &Platform| -> BTreeMap<String, String> {
            BTreeMap::from([
                ("APP_KAFKA__BOOTSTRAP_SERVERS".into(), p.stack.get("KAFKA_BOOTSTRAP_SERVERS").into()),
                ("APP_KAFKA__TOPIC_PREFIX".into(), p.prefix.clone()),
                ("APP_JWKS_URL".into(), format!("{}/.well-known/jwks.json", p.user.url)),
                ("APP_MONGODB_URI".into(), p.stack.get("MONGODB_URI").into()),
                ("APP_REDIS_URL".into(), p.stack.get("REDIS_URL").into()),
                ("APP_BOOKING_URL".into(), p.booking.url.clone()),
            ])
        };
        let common = |p: &Platform, service: &str| {
            let mut env = common(p);
            names.group(&mut env, service);
            env
        };
        let mut search_env = common(&p, "search");
        search_env.insert("APP_MONGODB_DATABASE".into(), mongo_db("search"));
        search_env.insert("APP_CACHE_NAMESPACE".into(), unique("cache"));
        let search = ServiceProcess::spawn("search", search_env);
        let mut review_env = common(&p, "review");
        let review_db = names.store("review");
        review_env.insert("APP_DATABASE_URL".into(), with_database(p.stack.database_url(), &review_db));
        let review = ServiceProcess::spawn("review", review_env);
        let mut reco_env = common(&p, "recommendation");
        reco_env.insert("APP_MONGODB_DATABASE".into(), mongo_db("reco"));
        let recommendation = ServiceProcess::spawn("recommendation", reco_env);
        let mut gateway_env = common(&p, "gateway");
        for (name, url) in [
            ("USER", &p.user.url),
            ("BOOKING", &p.booking.url),
            ("NOTIFICATION", &p.notification.url),
            ("SEARCH", &search.url),
            ("REVIEW", &review.url),
            ("RECOMMENDATION", &recommendation.url),
        ] {
            gateway_env.insert(format!("APP_UPSTREAMS__{name}"), url.clone());
        }
        for (k, v) in gateway_settings {
            gateway_env.insert((*k).into(), (*v).into());
        }
        let gateway = ServiceProcess::spawn("gateway", gateway_env);
        p.edge = Some(Edge { search, review, recommendation, gateway });
        if names.0.is_none() {
            p.cleanup.databases.add(review_db);
            p.cleanup.mongo = mongo_names.take().into_iter().map(|n| TestMongo::named(&p.stack, n)).collect();
        }
        p
    }

    /// The gateway's base URL (`…/api/...`); panics unless started with [`Platform::start_full`].
    pub fn api(&self) -> String {
        format!("{}/api", self.edge.as_ref().expect("started with start_full").gateway.url)
    }

    /// Start the four saga services; `booking_env` adds or overrides booking settings.
    pub async fn start(booking_env: &[(&str, &str)]) -> Self {
        Self::start_named(&Names(None), booking_env).await
    }

    async fn start_named(names: &Names, booking_env: &[(&str, &str)]) -> Self {
        let stack = Stack::load();
        let topics = match names.0 {
            None => Some(TestTopics::create(&stack).await),
            Some(_) => {
                crate::create_topics(stack.get("KAFKA_BOOTSTRAP_SERVERS"), &names.prefix()).await;
                None
            }
        };
        let prefix = topics.as_ref().map_or_else(|| names.prefix(), |t| t.prefix.clone());
        let internal_token = unique("internal");
        let created = std::cell::RefCell::new(Vec::new());
        let base = |service: &str| -> BTreeMap<String, String> {
            let name = names.store(service);
            created.borrow_mut().push(name.clone());
            let db = with_database(stack.database_url(), &name);
            let mut env = BTreeMap::from([
                ("APP_DATABASE_URL".into(), db),
                ("APP_KAFKA__BOOTSTRAP_SERVERS".into(), stack.get("KAFKA_BOOTSTRAP_SERVERS").into()),
                ("APP_KAFKA__TOPIC_PREFIX".into(), prefix.clone()),
                ("APP_INTERNAL_TOKEN".into(), internal_token.clone()),
            ]);
            names.group(&mut env, service);
            env
        };
        let tap =
            EventTap::start_at(stack.get("KAFKA_BOOTSTRAP_SERVERS"), &prefix, tripnest_common::events::topics::ALL, names.0.is_none())
                .await;
        let user = ServiceProcess::spawn("user", base("user"));
        let jwks = format!("{}/.well-known/jwks.json", user.url);
        let mut booking_settings = base("booking");
        booking_settings.insert("APP_JWKS_URL".into(), jwks.clone());
        for (k, v) in booking_env {
            booking_settings.insert((*k).into(), (*v).into());
        }
        let booking = ServiceProcess::spawn("booking", booking_settings);
        let payment = ServiceProcess::spawn("payment", base("payment"));
        let mut notification_settings = base("notification");
        notification_settings.insert("APP_JWKS_URL".into(), jwks);
        notification_settings.insert("APP_SMTP_URL".into(), stack.get("SMTP_URL").into());
        let notification = ServiceProcess::spawn("notification", notification_settings);
        let databases =
            if names.0.is_none() { NamedDatabases::new(stack.database_url(), created.take()) } else { NamedDatabases::default() };
        let cleanup = Cleanup { _topics: topics, databases, mongo: Vec::new() };
        Self { stack, prefix, internal_token, user, booking, payment, notification, edge: None, tap, http: http_client(), cleanup }
    }

    /// The consumer group a service of a pinned platform runs in.
    pub fn group(&self, service: &str) -> String {
        Names::pinned_group(&self.prefix, service)
    }

    /// Register a traveller and log in; returns the access token.
    pub async fn traveller(&self, email: &str) -> String {
        let password = "correct horse battery staple";
        let r = self
            .http
            .post(format!("{}/auth/register", self.user.url))
            .json(&json!({ "email": email, "password": password, "name": "Ada Lovelace" }))
            .send()
            .await
            .expect("register");
        assert_eq!(r.status(), 201, "register: {:?}", r.text().await);
        let r = self
            .http
            .post(format!("{}/auth/login", self.user.url))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.expect("login json");
        body["accessToken"].as_str().expect("accessToken").to_owned()
    }

    /// A hotel with a `double` room type (2 guests, 100.00 EUR) and `rooms` rooms for 60 nights.
    pub async fn seed_hotel(&self, hotel: &str, rooms: i32) {
        let spec = json!({ "name": format!("Hotel {hotel}"), "city": "Lisbon", "country": "PT", "stars": 4, "currency": "EUR",
                           "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 10000 }] });
        let r = self
            .http
            .put(format!("{}/internal/hotels/{hotel}", self.booking.url))
            .bearer_auth(&self.internal_token)
            .json(&spec)
            .send()
            .await
            .expect("hotel");
        assert_eq!(r.status(), 200, "hotel: {:?}", r.text().await);
        let r = self
            .http
            .put(format!("{}/internal/inventory/{hotel}/double", self.booking.url))
            .bearer_auth(&self.internal_token)
            .json(&json!({ "rooms": rooms, "horizonDays": 60 }))
            .send()
            .await
            .expect("inventory");
        assert_eq!(r.status(), 200, "inventory: {:?}", r.text().await);
    }

    /// `POST /bookings` with an Idempotency-Key.
    pub async fn book(&self, token: &str, key: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/bookings", self.booking.url))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("book");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    /// `GET /bookings/{id}` as its guest.
    pub async fn booking(&self, token: &str, id: &str) -> Value {
        let r = self.http.get(format!("{}/bookings/{id}", self.booking.url)).bearer_auth(token).send().await.expect("get booking");
        r.json().await.expect("booking json")
    }

    /// Wait until the booking has `status`, and return it.
    pub async fn wait_status(&self, token: &str, id: &str, status: &str) -> Value {
        wait_until(&format!("booking {id} to be {status}"), Duration::from_secs(60), || async {
            let b = self.booking(token, id).await;
            (b["status"] == status).then_some(b)
        })
        .await
    }

    /// Rooms of a hotel's `double` left on the night `check_in` (from the public availability).
    pub async fn rooms_left(&self, hotel: &str, check_in: &str, check_out: &str) -> i64 {
        let url = format!("{}/hotels/{hotel}/availability?checkIn={check_in}&checkOut={check_out}&guests=1&rooms=1", self.booking.url);
        let body: Value = self.http.get(url).send().await.expect("availability").json().await.expect("json");
        body["roomTypes"][0]["available"].as_i64().expect("available")
    }

    /// Mails the SMTP server received for `address`.
    pub async fn mails_to(&self, address: &str) -> Vec<Value> {
        crate::MailApi::new(&self.stack, self.http.clone()).messages_to(address).await
    }
}

/// How a platform names its stores, topics and consumer groups: fresh, or pinned to a name.
#[derive(Debug, Clone)]
struct Names(Option<String>);

impl Names {
    /// A service's database (PostgreSQL or MongoDB).
    fn store(&self, service: &str) -> String {
        match &self.0 {
            Some(pin) => format!("{pin}_{service}"),
            None => format!("t_{service}_{}", unique("db").replace('-', "_")),
        }
    }

    /// The topic prefix.
    fn prefix(&self) -> String {
        match &self.0 {
            Some(pin) => format!("{pin}."),
            None => format!("{}.", unique("p")),
        }
    }

    /// A pinned platform's services each get a consumer group of their own under its prefix
    /// (a fresh one keeps the services' default, their name).
    fn group(&self, env: &mut BTreeMap<String, String>, service: &str) {
        if self.0.is_some() {
            env.insert("APP_KAFKA__GROUP_ID".into(), Self::pinned_group(&self.prefix(), service));
        }
    }

    fn pinned_group(prefix: &str, service: &str) -> String {
        format!("{prefix}{service}")
    }
}
