//! `Hotel`: a hotel and its room types as its manager describes them. The operator upserts it
//! into booking's catalog (the resource name is the hotel id) and reports the sync state and
//! the guests' rating in its status.

use super::conditions::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};
pub use tripnest_common::catalog::{Location, RoomType};

/// The spec of a `Hotel`.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "tripnest.io",
    version = "v1alpha1",
    kind = "Hotel",
    namespaced,
    status = "HotelStatus",
    derive = "PartialEq",
    shortname = "htl",
    shortname = "hotel",
    category = "tripnest",
    doc = "A hotel offered on TripNest: its description and room types.",
    printcolumn = r#"{"name": "City", "type": "string", "jsonPath": ".spec.city"}"#,
    printcolumn = r#"{"name": "Stars", "type": "integer", "jsonPath": ".spec.stars"}"#,
    printcolumn = r#"{"name": "Rooms", "type": "integer", "description": "Rooms across the hotel's Inventories", "jsonPath": ".status.rooms"}"#,
    printcolumn = r#"{"name": "Rating", "type": "number", "jsonPath": ".status.rating"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct HotelSpec {
    /// The name guests see.
    #[schemars(length(min = 1, max = 200))]
    pub display_name: String,
    /// City as guests search for it.
    #[schemars(length(min = 1, max = 100))]
    pub city: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `PT`.
    #[schemars(regex(pattern = r"^[A-Z]{2}$"))]
    pub country: String,
    /// Street address.
    #[serde(default)]
    #[schemars(length(max = 300))]
    pub address: String,
    /// Latitude and longitude, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// 1 to 5.
    #[schemars(range(min = 1, max = 5))]
    pub stars: i16,
    /// Hotel amenities (`wifi`, `pool`, …).
    #[serde(default)]
    #[schemars(length(max = 50), inner(length(min = 1, max = 50)))]
    pub amenities: Vec<String>,
    /// ISO 4217 currency of the prices, e.g. `EUR`.
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
    /// What guests read about the hotel.
    #[serde(default)]
    #[schemars(length(max = 4000))]
    pub description: String,
    /// The kinds of room on sale; names are unique.
    #[schemars(length(min = 1, max = 50))]
    #[x_kube(validation = Rule::new("self.all(r, self.exists_one(o, o.name == r.name))").message("room type names must be unique"))]
    pub room_types: Vec<RoomType>,
    /// Emails of the people who manage this hotel; they see its occupancy in the web UI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), length(max = 254)))]
    pub managers: Vec<String>,
}

/// What the operator observed about a `Hotel`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HotelStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Synced` (in booking's catalog) and `Ready`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Rooms across the Inventories that reference this hotel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rooms: Option<i32>,
    /// Mean guest rating (1–5), once reviews exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    /// Number of reviews behind `rating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_count: Option<i64>,
}

impl Hotel {
    /// Whether the `Ready` condition holds for the current generation (so booking has this spec).
    pub fn is_ready(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|s| super::conditions::find(&s.conditions, "Ready"))
            .is_some_and(|c| c.is_true() && c.observed_generation == self.metadata.generation)
    }

    /// Whether the hotel has a room type of this name.
    pub fn has_room_type(&self, name: &str) -> bool {
        self.spec.room_types.iter().any(|r| r.name == name)
    }
}
