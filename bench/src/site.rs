//! The platform under load: every service as a real process behind the gateway (the e2e
//! harness's [`Platform`]), seeded with many hotels in several cities and a pool of
//! travellers, and the requests of the hotel-site mix and the search cache scenarios.

use crate::load::{Outcome, spread};
use chrono::{Days, Utc};
use futures::{StreamExt, stream};
use serde_json::{Value, json};
use std::{sync::Arc, time::Duration};
use tripnest_common::events::topics;
use tripnest_e2e::{platform::Platform, unique};

/// Cities the seeded hotels are in.
pub const CITIES: [&str; 5] = ["Lisbon", "Porto", "Madrid", "Paris", "Rome"];
/// The password of every seeded traveller.
const PASSWORD: &str = "correct horse battery staple";
/// Nights open for sale from today.
const HORIZON_DAYS: u64 = 60;

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
    /// Login.
    pub email: String,
    /// Access token.
    pub token: String,
}

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
    pub hotels: Vec<(String, &'static str)>,
    /// Signed-in travellers.
    pub travellers: Vec<Traveller>,
    /// Distinguishes this run's Idempotency-Keys.
    pub run: String,
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
    /// Start every service, seed `hotels` hotels (20 rooms of `double` for 60 nights each) and
    /// `travellers` signed-in users, and wait until search lists every hotel.
    pub async fn start(hotels: usize, travellers: usize) -> anyhow::Result<Self> {
        let platform = Platform::start_full_with(&GATEWAY_LIMITS).await;
        let api = platform.api();
        let run = unique("run");
        let hotels: Vec<(String, &'static str)> = (0..hotels).map(|i| (format!("{run}-h{i:03}"), CITIES[i % CITIES.len()])).collect();
        let site = Self { platform, http: client(), api, hotels, travellers: Vec::new(), run };
        // Hotels first, inventories once search knows every hotel: search drops an
        // availability.changed that arrives before its hotel.upserted (seen at 25 hotels).
        let seeded: Vec<anyhow::Result<()>> = stream::iter(site.hotels.iter().enumerate())
            .map(|(i, (id, city))| site.upsert_hotel(i, id, city))
            .buffer_unordered(8)
            .collect()
            .await;
        seeded.into_iter().collect::<anyhow::Result<()>>()?;
        site.wait_listed(None).await?;
        let opened: Vec<anyhow::Result<()>> =
            stream::iter(site.hotels.iter()).map(|(id, _)| site.open_rooms(id, 20)).buffer_unordered(8).collect().await;
        opened.into_iter().collect::<anyhow::Result<()>>()?;
        site.wait_listed(Some(2)).await?;
        let run = site.run.clone();
        let travellers: Vec<Traveller> = stream::iter(0..travellers)
            .map(|i| {
                let email = format!("{run}-u{i}@example.test");
                let platform = &site.platform;
                async move { Traveller { token: platform.traveller(&email).await, email } }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        Ok(Self { travellers, ..site })
    }

    /// Wait until search lists every seeded hotel in every city (with rooms on night
    /// `day(night)` when given), reading past the cache.
    async fn wait_listed(&self, night: Option<u64>) -> anyhow::Result<()> {
        let dates = night.map(|n| format!("&checkIn={}&checkOut={}", day(n), day(n + 1))).unwrap_or_default();
        for city in CITIES {
            let expected = self.hotels.iter().filter(|(_, c)| *c == city).count() as u64;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            for attempt in 0.. {
                // A new minimum price each time: a cache miss, so this reads the read model itself.
                let url = format!("{}/hotels?city={city}{dates}&pageSize=1&minPrice={attempt}", self.api);
                let body: Value = self.http.get(&url).send().await?.json().await?;
                if body["total"].as_u64() == Some(expected) {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    let published = self
                        .hotels
                        .iter()
                        .filter(|(id, c)| *c == city && !self.platform.tap.about(topics::HOTEL_UPSERTED, id).is_empty())
                        .count();
                    let listed: Value = self
                        .http
                        .get(format!("{}/hotels?city={city}&pageSize=100&minPrice=99999{attempt}", self.api))
                        .send()
                        .await?
                        .json()
                        .await?;
                    anyhow::bail!(
                        "search lists {} of {expected} hotels in {city}{dates} after 120 s ({published} hotel.upserted published): {listed}",
                        body["total"]
                    );
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        Ok(())
    }

    /// Upsert one hotel into booking's catalog and open `rooms` rooms of `double`.
    pub async fn seed_hotel(&self, i: usize, id: &str, city: &str, rooms: i32) -> anyhow::Result<()> {
        self.upsert_hotel(i, id, city).await?;
        self.open_rooms(id, rooms).await
    }

    /// Upsert one hotel (one room type, `double`) into booking's catalog.
    async fn upsert_hotel(&self, i: usize, id: &str, city: &str) -> anyhow::Result<()> {
        let p = &self.platform;
        let spec = json!({ "name": format!("Hotel {i} {city}"), "city": city, "country": "EU", "stars": 1 + i % 5, "currency": "EUR",
                           "amenities": if i.is_multiple_of(2) { json!(["wifi", "pool"]) } else { json!(["wifi"]) },
                           "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 8000 + 500 * (i % 20) as i64 }] });
        let r = p.http.put(format!("{}/internal/hotels/{id}", p.booking.url)).bearer_auth(&p.internal_token).json(&spec).send().await?;
        anyhow::ensure!(r.status() == 200, "hotel {id}: {}", r.text().await?);
        Ok(())
    }

    /// Open `rooms` rooms of `double` for the next 60 nights.
    async fn open_rooms(&self, id: &str, rooms: i32) -> anyhow::Result<()> {
        let p = &self.platform;
        let inventory = json!({ "rooms": rooms, "horizonDays": HORIZON_DAYS, "pricing": { "weekendMultiplier": 1.25 } });
        let url = format!("{}/internal/inventory/{id}/double", p.booking.url);
        let r = p.http.put(url).bearer_auth(&p.internal_token).json(&inventory).send().await?;
        anyhow::ensure!(r.status() == 200, "inventory {id}: {}", r.text().await?);
        Ok(())
    }

    /// Request `i` of the hotel-site mix: 60% search, 39% recommendations, 0.5% login and
    /// 0.5% booking, spread over travellers, cities, hotels and dates.
    pub async fn mix_request(self: Arc<Self>, i: u64) -> Outcome {
        let who = &self.travellers[(spread(i, 1) % self.travellers.len() as u64) as usize];
        let city = CITIES[(spread(i, 2) % CITIES.len() as u64) as usize];
        let from = 1 + spread(i, 3) % (HORIZON_DAYS - 10);
        match spread(i, 0) % 1000 {
            0..600 => {
                let nights = 1 + spread(i, 4) % 3;
                let url = format!(
                    "{}/hotels?city={city}&checkIn={}&checkOut={}&guests={}&rooms=1",
                    self.api,
                    day(from),
                    day(from + nights),
                    1 + i % 2
                );
                expect(self.http.get(url).bearer_auth(&who.token).send().await, &[200]).await
            }
            600..990 => {
                let url = format!("{}/recommendations?city={city}", self.api);
                expect(self.http.get(url).bearer_auth(&who.token).send().await, &[200]).await
            }
            990..995 => {
                let body = json!({ "email": who.email, "password": PASSWORD });
                expect(self.http.post(format!("{}/auth/login", self.api)).json(&body).send().await, &[200]).await
            }
            _ => {
                let (hotel, _) = &self.hotels[(spread(i, 5) % self.hotels.len() as u64) as usize];
                self.book(&who.token, &format!("{}-mix-{i}", self.run), hotel, from, 1).await.map(|_| ())
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

    /// The search query the cache scenario repeats, and its answer (what the bare handler serves).
    pub async fn search_sample(&self) -> anyhow::Result<(String, Value)> {
        let url = format!("{}/hotels?city=Lisbon&checkIn={}&checkOut={}&guests=2&rooms=1&pageSize=20", self.api, day(20), day(22));
        let body: Value = self.http.get(&url).send().await?.error_for_status()?.json().await?;
        Ok((url, body))
    }
}
