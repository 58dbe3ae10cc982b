//! The platform under load: every service as a real process behind the gateway (the e2e
//! harness's [`Platform`], pinned to the size's seed: see [`crate::seed`]), and the requests
//! of the hotel-site mix and of each request class.

use crate::{
    load::{Outcome, spread},
    seed::{self, HORIZON_DAYS, PASSWORD, Size},
};
use chrono::{Days, Utc};
use serde_json::{Value, json};
use std::{
    sync::{Arc, RwLock},
    time::Duration,
};
use tripnest_e2e::{platform::Platform, unique};

/// A rate limit so high the limiter never refuses the generator, while its Redis call stays
/// on every request's path (`APP_RATE_LIMITS__*`).
pub const GATEWAY_LIMITS: [(&str, &str); 6] = [
    ("APP_RATE_LIMITS__DEFAULT__PER_MINUTE", "60000000"),
    ("APP_RATE_LIMITS__DEFAULT__BURST", "1000000"),
    ("APP_RATE_LIMITS__AUTH__PER_MINUTE", "60000000"),
    ("APP_RATE_LIMITS__AUTH__BURST", "1000000"),
    ("APP_RATE_LIMITS__BOOKINGS__PER_MINUTE", "60000000"),
    ("APP_RATE_LIMITS__BOOKINGS__BURST", "1000000"),
];

/// A signed-in traveller.
#[derive(Debug, Clone)]
pub struct Traveller {
    /// Email the traveller signs in with.
    pub email: String,
    /// Access token.
    pub token: String,
}

/// The request classes reported one by one.
pub const CLASSES: [&str; 6] = ["search hit", "search miss", "recommendation", "hotel page", "login", "booking"];

/// The seeded platform and a pooled HTTP client, shared by every request task.
#[derive(Debug)]
pub struct Site {
    /// The running services.
    pub platform: Platform,
    /// One client with a connection pool, for all generated requests.
    pub http: reqwest::Client,
    /// `…/api`.
    pub api: String,
    /// Hotel ids and their city.
    pub hotels: Vec<(String, String)>,
    /// The cities.
    pub cities: Vec<String>,
    /// Signed-in travellers (the seed's pool; tokens renewed by [`Site::sign_in_again`]).
    travellers: RwLock<Arc<Vec<Traveller>>>,
    /// Distinguishes this run's Idempotency-Keys.
    pub run: String,
    /// Drawn per run: which hotel and night a booking asks for is [`Site::stay_choice`] of the
    /// request number and this. Request numbers repeat every run, and the seed (with every
    /// booking earlier runs made) is cached, so unsalted choices asked for the same rooms run
    /// after run until they sold out.
    salt: u64,
    /// The size.
    pub size: Size,
    /// What the seed step did.
    pub seed: seed::SeedReport,
    /// Search misses so far (each a query never asked before).
    misses: std::sync::atomic::AtomicU64,
    /// Idempotency-Keys handed out so far.
    keys: std::sync::atomic::AtomicU64,
}

/// A date `n` days from today.
pub fn day(n: u64) -> String {
    Utc::now().date_naive().checked_add_days(Days::new(n)).expect("date").to_string()
}

/// `Ok` when the answer has one of the `expected` statuses (body read to the end).
pub async fn expect(sent: reqwest::Result<reqwest::Response>, expected: &[u16]) -> Outcome {
    let r = sent.map_err(|e| if e.is_timeout() { "timeout".to_owned() } else { "connection error".to_owned() })?;
    let status = r.status().as_u16();
    r.bytes().await.map_err(|_| "body error".to_owned())?;
    if expected.contains(&status) { Ok(()) } else { Err(format!("status {status}")) }
}

/// A client whose pool keeps enough connections for the highest rates.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(1024).build().expect("http client")
}

impl Site {
    /// Start every service pinned to `size`'s seed, seed it (or find it cached) and wait at
    /// most `catch_up` for the read models.
    pub async fn start(size: Size, catch_up: Duration) -> anyhow::Result<Self> {
        let stack = tripnest_e2e::Stack::load();
        let replaced_after = seed::used_up(&stack, size).await?;
        if let Some(bookings) = replaced_after {
            let pin = seed::pin(size);
            eprintln!(
                "[seed] {pin}: earlier runs made {bookings} bookings on it (≥ {:.0} % of its past stays): dropping it",
                seed::USED_UP_SHARE * 100.0
            );
            eprintln!("[seed] {pin}: dropped {}", seed::drop_seed(&stack, &pin).await?);
        }
        let mut platform = Platform::start_pinned(Some(&seed::pin(size)), &GATEWAY_LIMITS).await;
        let seeded = seed::seed(&mut platform, size, catch_up, replaced_after).await?;
        let plan = size.plan();
        let api = platform.api();
        let travellers = seeded.pool.into_iter().map(|(email, _, token)| Traveller { email, token }).collect();
        Ok(Self {
            platform,
            http: client(),
            api,
            hotels: (0..plan.hotels).map(|i| seed::hotel(size, i)).collect(),
            cities: (0..plan.cities).map(seed::city).collect(),
            travellers: RwLock::new(Arc::new(travellers)),
            run: unique("run"),
            salt: uuid::Uuid::new_v4().as_u64_pair().0,
            size,
            seed: seeded.report,
            misses: Default::default(),
            keys: Default::default(),
        })
    }

    /// An Idempotency-Key never used before in this run. Every step of a ladder numbers its
    /// requests from 0 again, so a key made of the request number replayed the first step's
    /// bookings in every later step (an idempotent replay, not a booking).
    pub fn fresh_key(&self, what: &str) -> String {
        let n = self.keys.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{what}-{n}", self.run)
    }

    /// Booking `i`'s choices of hotel and night, this run's own: pass the result where a
    /// booking's hotel and dates are drawn with [`spread`].
    pub fn stay_choice(&self, i: u64) -> u64 {
        i.wrapping_add(self.salt)
    }

    /// The pool, signed in.
    pub fn travellers(&self) -> Arc<Vec<Traveller>> {
        self.travellers.read().expect("travellers").clone()
    }

    /// Traveller number `n` of the pool (modulo its size).
    pub fn traveller(&self, n: u64) -> Traveller {
        let all = self.travellers();
        all[(n % all.len() as u64) as usize].clone()
    }

    /// Log the pool in again (access tokens last 15 minutes; call before each scenario).
    pub async fn sign_in_again(&self) -> anyhow::Result<()> {
        let pool = seed::sign_in_pool(&self.platform, self.size, false).await?;
        *self.travellers.write().expect("travellers") =
            Arc::new(pool.into_iter().map(|(email, _, token)| Traveller { email, token }).collect());
        Ok(())
    }

    /// Upsert one hotel into booking's catalog and open `rooms` rooms of `double`.
    pub async fn seed_hotel(&self, i: usize, id: &str, city: &str, rooms: i32) -> anyhow::Result<()> {
        let p = &self.platform;
        let spec = json!({ "name": format!("Hotel {i} {city}"), "city": city, "country": "EU", "stars": 1 + i % 5, "currency": "EUR",
                           "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 8000 }] });
        let r = p.http.put(format!("{}/internal/hotels/{id}", p.booking.url)).bearer_auth(&p.internal_token).json(&spec).send().await?;
        anyhow::ensure!(r.status() == 200, "hotel {id}: {}", r.text().await?);
        let inventory = json!({ "rooms": rooms, "horizonDays": 60 });
        let url = format!("{}/internal/inventory/{id}/double", p.booking.url);
        let r = p.http.put(url).bearer_auth(&p.internal_token).json(&inventory).send().await?;
        anyhow::ensure!(r.status() == 200, "inventory {id}: {}", r.text().await?);
        Ok(())
    }

    fn city(&self, i: u64, salt: u64) -> &str {
        &self.cities[(spread(i, salt) % self.cities.len() as u64) as usize]
    }

    fn hotel(&self, i: u64, salt: u64) -> &str {
        &self.hotels[(spread(i, salt) % self.hotels.len() as u64) as usize].0
    }

    /// The hotel and first night of the site's booking request `i` (the mix's and the booking
    /// class's), drawn with this run's [`Site::stay_choice`].
    fn site_stay(&self, i: u64) -> (&str, u64) {
        let b = self.stay_choice(i);
        (self.hotel(b, 5), 1 + spread(b, 3) % (HORIZON_DAYS - 10))
    }

    /// Request `i` of one class (one of [`CLASSES`]).
    pub async fn class_request(self: Arc<Self>, class: &'static str, i: u64) -> (&'static str, Outcome) {
        let who = self.traveller(spread(i, 1));
        let from = 1 + spread(i, 3) % (HORIZON_DAYS - 10);
        let outcome = match class {
            // One query, asked again and again: answered from the cache after the first.
            "search hit" => {
                let url = format!("{}/hotels?city={}&checkIn={}&checkOut={}&guests=2&rooms=1", self.api, self.cities[0], day(20), day(22));
                expect(self.http.get(url).send().await, &[200]).await
            }
            // Every miss another query (a maximum price above every hotel's, never repeated; a
            // growing minimum price would have filtered out more hotels as the run went on).
            "search miss" => {
                let n = self.misses.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let url = format!(
                    "{}/hotels?city={}&checkIn={}&checkOut={}&guests=1&rooms=1&maxPrice={}",
                    self.api,
                    self.city(i, 2),
                    day(from),
                    day(from + 1 + spread(i, 4) % 3),
                    1_000_000_000 + n
                );
                expect(self.http.get(url).send().await, &[200]).await
            }
            "recommendation" => {
                let url = format!("{}/recommendations?city={}", self.api, self.city(i, 2));
                expect(self.http.get(url).bearer_auth(&who.token).send().await, &[200]).await
            }
            "hotel page" => expect(self.http.get(format!("{}/hotels/{}", self.api, self.hotel(i, 5))).send().await, &[200]).await,
            "login" => {
                let body = json!({ "email": who.email, "password": PASSWORD });
                expect(self.http.post(format!("{}/auth/login", self.api)).json(&body).send().await, &[200]).await
            }
            _ => {
                let (hotel, from) = self.site_stay(i);
                self.book(&who.token, &self.fresh_key(&class.replace(' ', "-")), hotel, from, 1).await.map(|_| ())
            }
        };
        (class, outcome)
    }

    /// Request `i` of the hotel-site mix: 60% search, 39% recommendations, 0.5% login and
    /// 0.5% booking, spread over travellers, cities, hotels and dates; named by class.
    pub async fn mix_request(self: Arc<Self>, i: u64) -> (&'static str, Outcome) {
        let who = self.traveller(spread(i, 1));
        let from = 1 + spread(i, 3) % (HORIZON_DAYS - 10);
        match spread(i, 0) % 1000 {
            0..600 => {
                let nights = 1 + spread(i, 4) % 3;
                let url = format!(
                    "{}/hotels?city={}&checkIn={}&checkOut={}&guests={}&rooms=1",
                    self.api,
                    self.city(i, 2),
                    day(from),
                    day(from + nights),
                    1 + i % 2
                );
                ("search", expect(self.http.get(url).bearer_auth(&who.token).send().await, &[200]).await)
            }
            600..990 => self.class_request("recommendation", i).await,
            990..995 => self.class_request("login", i).await,
            _ => {
                let (hotel, from) = self.site_stay(i);
                ("booking", self.book(&who.token, &self.fresh_key("mix"), hotel, from, 1).await.map(|_| ()))
            }
        }
    }

    /// `POST /api/bookings` for `nights` nights from `day(from)`; a 409 `sold_out` is a correct
    /// answer too. Returns the status and the booking id when rooms were held.
    pub async fn book(&self, token: &str, key: &str, hotel: &str, from: u64, nights: u64) -> Result<(u16, Option<String>), String> {
        let body = json!({ "hotelId": hotel, "roomType": "double", "checkIn": day(from), "checkOut": day(from + nights),
                           "guests": 1, "rooms": 1, "paymentMethod": "pm_card_visa" });
        let sent =
            self.http.post(format!("{}/bookings", self.api)).bearer_auth(token).header("Idempotency-Key", key).json(&body).send().await;
        let r = sent.map_err(|e| if e.is_timeout() { "timeout".to_owned() } else { "connection error".to_owned() })?;
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        match status {
            202 => Ok((202, body["id"].as_str().map(str::to_owned))),
            409 if body["error"]["code"] == "sold_out" => Ok((409, None)),
            s => Err(format!("status {s}")),
        }
    }

    /// The search query the bare handler's answer is copied from, and its answer.
    pub async fn search_sample(&self) -> anyhow::Result<(String, Value)> {
        let url =
            format!("{}/hotels?city={}&checkIn={}&checkOut={}&guests=2&rooms=1&pageSize=20", self.api, self.cities[0], day(20), day(22));
        let body: Value = self.http.get(&url).send().await?.error_for_status()?.json().await?;
        Ok((url, body))
    }
}
