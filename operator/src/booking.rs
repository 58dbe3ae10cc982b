//! The client of booking's internal API (bearer service token): the catalog upsert/remove a
//! `Hotel` maps to, and the inventory apply/status an `Inventory` maps to. Answers are
//! classified so the controllers can tell "fix your spec" (4xx) from "try again" (5xx, I/O).

use crate::resources::{HotelSpec, InventorySpec};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
pub use tripnest_common::catalog::{CatalogHotel, CatalogInventory, InventoryState, RollReport};
use tripnest_common::catalog::{hotel_path, inventory_path};

/// How a call to booking failed.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// Booking refused the request (4xx): retrying the same input will not help.
    #[error("booking refused the request ({status}, {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Machine-readable error code (`unknown_room_type`, …).
        code: String,
        /// Booking's message.
        message: String,
    },
    /// Booking is unreachable or failed (5xx, I/O): try again later.
    #[error("booking is unavailable: {0}")]
    Unavailable(String),
}

/// The catalog entry a `Hotel` maps to.
pub fn catalog_hotel(s: &HotelSpec) -> CatalogHotel {
    CatalogHotel {
        name: s.display_name.clone(),
        city: s.city.clone(),
        country: s.country.clone(),
        address: s.address.clone(),
        location: s.location,
        stars: s.stars,
        amenities: s.amenities.clone(),
        currency: s.currency.clone(),
        description: s.description.clone(),
        room_types: s.room_types.clone(),
        managers: s.managers.clone(),
    }
}

/// The inventory an `Inventory` maps to: its spec without the Kubernetes-only fields.
pub fn catalog_inventory(s: &InventorySpec) -> CatalogInventory {
    CatalogInventory {
        rooms: s.rooms,
        horizon_days: s.horizon_days,
        pricing: s.pricing.clone(),
        closed_dates: s.closed_dates.clone(),
        overrides: s.overrides.clone(),
    }
}

/// Talks to one booking service.
#[derive(Clone)]
pub struct BookingClient {
    http: reqwest::Client,
    base: String,
    token: SecretString,
}

impl std::fmt::Debug for BookingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookingClient").field("base", &self.base).finish_non_exhaustive()
    }
}

impl BookingClient {
    /// A client for the booking service at `base` (e.g. `http://booking`).
    pub fn new(base: &str, token: SecretString) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("static client settings");
        Self { http, base: base.trim_end_matches('/').to_owned(), token }
    }

    /// Put the hotel in the catalog (on sale); idempotent.
    pub async fn upsert_hotel(&self, id: &str, spec: &HotelSpec) -> Result<(), BookingError> {
        let req = self.http.put(format!("{}{}", self.base, hotel_path(id))).json(&catalog_hotel(spec));
        self.send(req).await.map(drop)
    }

    /// Take the hotel off sale; its bookings stay. Idempotent.
    pub async fn remove_hotel(&self, id: &str) -> Result<(), BookingError> {
        self.send(self.http.delete(format!("{}{}", self.base, hotel_path(id)))).await.map(drop)
    }

    /// Apply an inventory spec to the calendar now.
    pub async fn apply_inventory(&self, hotel: &str, room_type: &str, spec: &InventorySpec) -> Result<RollReport, BookingError> {
        let req = self.http.put(format!("{}{}", self.base, inventory_path(hotel, room_type))).json(&catalog_inventory(spec));
        let body = self.send(req).await?;
        serde_json::from_slice(&body).map_err(|e| BookingError::Unavailable(format!("unexpected answer: {e}")))
    }

    /// Booking's view of a room type's inventory.
    pub async fn inventory_state(&self, hotel: &str, room_type: &str) -> Result<InventoryState, BookingError> {
        let body = self.send(self.http.get(format!("{}{}", self.base, inventory_path(hotel, room_type)))).await?;
        serde_json::from_slice(&body).map_err(|e| BookingError::Unavailable(format!("unexpected answer: {e}")))
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Vec<u8>, BookingError> {
        let resp = req.bearer_auth(self.token.expose_secret()).send().await.map_err(|e| BookingError::Unavailable(e.to_string()))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| BookingError::Unavailable(e.to_string()))?.to_vec();
        if status.is_success() {
            return Ok(body);
        }
        let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let code = error["error"]["code"].as_str().unwrap_or("unknown").to_owned();
        let message = error["error"]["message"].as_str().unwrap_or_default().to_owned();
        let details = &error["error"]["details"];
        let message = if details.is_null() { message } else { format!("{message} {details}") };
        if status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS {
            Err(BookingError::Refused { status: status.as_u16(), code, message })
        } else {
            Err(BookingError::Unavailable(format!("{status}: {code}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_hotel_spec_maps_to_bookings_catalog_json() {
        let spec: HotelSpec = serde_json::from_value(json!({
            "displayName": "Riverside", "city": "Lisbon", "country": "PT", "stars": 4, "currency": "EUR",
            "location": { "lat": 38.7, "lon": -9.1 },
            "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 12000 }]
        }))
        .expect("spec");
        let json = serde_json::to_value(catalog_hotel(&spec)).expect("json");
        assert_eq!(
            json,
            json!({
                "name": "Riverside", "city": "Lisbon", "country": "PT", "address": "", "location": { "lat": 38.7, "lon": -9.1 },
                "stars": 4, "amenities": [], "currency": "EUR", "description": "",
                "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 12000, "amenities": [] }]
            })
        );
    }

    #[test]
    fn an_inventory_spec_maps_to_bookings_inventory_json_without_k8s_fields() {
        let spec: InventorySpec = serde_json::from_value(json!({
            "hotelRef": "riverside", "roomType": "double", "rooms": 12, "horizonDays": 90, "schedule": "0 3 * * *",
            "pricing": { "weekendMultiplier": 1.2, "seasons": [{ "name": "summer", "from": "2027-06-01", "to": "2027-08-31", "multiplier": 1.5 }] },
            "closedDates": ["2027-12-25"], "overrides": [{ "date": "2027-12-31", "priceCents": 50000 }]
        }))
        .expect("spec");
        let json = serde_json::to_value(catalog_inventory(&spec)).expect("json");
        assert_eq!(
            json,
            json!({
                "rooms": 12, "horizonDays": 90,
                "pricing": { "weekendMultiplier": 1.2, "seasons": [{ "name": "summer", "from": "2027-06-01", "to": "2027-08-31", "multiplier": 1.5 }] },
                "closedDates": ["2027-12-25"], "overrides": [{ "date": "2027-12-31", "priceCents": 50000 }]
            })
        );
    }
}
