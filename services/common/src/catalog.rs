//! The operator↔booking contract: the JSON of booking's internal catalog and inventory API,
//! defined once and used by both sides. The operator builds [`CatalogHotel`] and
//! [`CatalogInventory`] from its `Hotel` and `Inventory` resources (whose specs embed
//! [`Location`], [`RoomType`], [`Pricing`], [`Season`] and [`DateOverride`], so the CRD
//! schema comes from these types too) and reads [`RollReport`] and [`InventoryState`];
//! booking deserializes, validates and answers with the same types. A renamed field breaks
//! the build of both, not production.
//!
//! The schema bounds here are the CRDs' admission rules; booking re-checks what it relies on.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The longest rolling sale window, in nights.
pub const MAX_HORIZON_DAYS: i32 = 730;

/// The most rooms one room type (or one night's override) may have.
pub const MAX_ROOMS: i32 = 100_000;

/// `PUT` upserts a hotel into the catalog, `DELETE` takes it off sale (axum path template).
pub const HOTEL_ROUTE: &str = "/internal/hotels/{id}";

/// `PUT` applies an inventory spec now, `GET` answers [`InventoryState`] (axum path template).
pub const INVENTORY_ROUTE: &str = "/internal/inventory/{hotel}/{room_type}";

/// The path of one hotel in booking's internal API.
pub fn hotel_path(id: &str) -> String {
    HOTEL_ROUTE.replace("{id}", id)
}

/// The path of one room type's inventory in booking's internal API.
pub fn inventory_path(hotel: &str, room_type: &str) -> String {
    INVENTORY_ROUTE.replace("{hotel}", hotel).replace("{room_type}", room_type)
}

/// A hotel as booking's catalog takes it (`PUT /internal/hotels/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogHotel {
    /// The name guests see.
    pub name: String,
    /// City as the hotel's manager wrote it.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `PT`.
    pub country: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// Latitude and longitude, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// 1 to 5.
    pub stars: i16,
    /// Hotel amenities (`wifi`, `pool`, …).
    #[serde(default)]
    pub amenities: Vec<String>,
    /// ISO 4217 currency of the prices, e.g. `EUR`.
    pub currency: String,
    /// What guests read about the hotel.
    #[serde(default)]
    pub description: String,
    /// The kinds of room on sale; names are unique.
    pub room_types: Vec<RoomType>,
    /// Emails of the people who manage the hotel (they see its occupancy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managers: Vec<String>,
}

/// Latitude and longitude in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    /// -90 to 90.
    #[schemars(range(min = -90.0, max = 90.0))]
    pub lat: f64,
    /// -180 to 180.
    #[schemars(range(min = -180.0, max = 180.0))]
    pub lon: f64,
}

/// A kind of room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomType {
    /// Name, unique in the hotel (an Inventory's `roomType`).
    #[schemars(length(max = 63), regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub name: String,
    /// Guests per room.
    #[schemars(range(min = 1, max = 20))]
    pub capacity: i32,
    /// Nightly rate before weekend and season multipliers, in minor units.
    #[schemars(range(min = 0))]
    pub base_rate_cents: i64,
    /// Room amenities.
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub amenities: Vec<String>,
}

/// One room type's stock and prices as booking takes them
/// (`PUT /internal/inventory/{hotel}/{roomType}`; also what the roll CronJob re-applies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogInventory {
    /// Rooms of this type.
    pub rooms: i32,
    /// Nights from today kept on sale (1–[`MAX_HORIZON_DAYS`]).
    pub horizon_days: i32,
    /// Weekend and season multipliers.
    #[serde(default)]
    pub pricing: Pricing,
    /// Nights not for sale.
    #[serde(default)]
    pub closed_dates: Vec<NaiveDate>,
    /// Per-night exceptions, one per date.
    #[serde(default)]
    pub overrides: Vec<DateOverride>,
}

/// How nights are priced from the room type's base rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pricing {
    /// Multiplier for Friday and Saturday nights (1.0 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.01, max = 10.0))]
    pub weekend_multiplier: Option<f64>,
    /// Date ranges with their own multiplier; the first matching season applies.
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub seasons: Vec<Season>,
}

/// A pricing season, inclusive of both ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.from <= self.to", "message": "season `from` must not be after `to`", "fieldPath": ".from"
}]))]
pub struct Season {
    /// Name, for people.
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub name: String,
    /// First night (YYYY-MM-DD).
    #[schemars(length(max = 10))]
    pub from: NaiveDate,
    /// Last night (YYYY-MM-DD).
    #[schemars(length(max = 10))]
    pub to: NaiveDate,
    /// Price multiplier.
    #[schemars(range(min = 0.01, max = 10.0))]
    pub multiplier: f64,
}

/// One night's exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DateOverride {
    /// The night (YYYY-MM-DD).
    #[schemars(length(max = 10))]
    pub date: NaiveDate,
    /// Rooms that night instead of `rooms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = MAX_ROOMS))]
    pub rooms: Option<i32>,
    /// Price that night instead of the computed one, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub price_cents: Option<i64>,
    /// Closed that night.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<bool>,
}

/// What applying an inventory did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollReport {
    /// Nights inserted or changed.
    pub changed_nights: u64,
    /// Last night now on sale.
    pub generated_through: Option<NaiveDate>,
    /// Nights with more rooms booked than the spec now offers.
    #[serde(default)]
    pub overbooked_nights: Vec<Overbooked>,
}

/// A night with more rooms booked than exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Overbooked {
    /// The night.
    pub night: NaiveDate,
    /// Rooms booked.
    pub booked: i32,
    /// Rooms that exist.
    pub total: i32,
}

/// Booking's view of one room type's inventory (`GET /internal/inventory/{hotel}/{roomType}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct InventoryState {
    /// Last night on sale.
    pub generated_through: Option<NaiveDate>,
    /// When the window was last rolled.
    pub last_run_at: Option<DateTime<Utc>>,
    /// Booked share of rooms over the next 30 nights, 0–1.
    pub occupancy: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fill_the_route_templates() {
        assert_eq!(hotel_path("riverside"), "/internal/hotels/riverside");
        assert_eq!(inventory_path("riverside", "double"), "/internal/inventory/riverside/double");
    }
}
