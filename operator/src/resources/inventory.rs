//! `Inventory`: how many rooms of one room type a hotel sells, over which rolling window, at
//! which prices. The operator applies it to booking at once and owns a CronJob that keeps the
//! window rolling forward (`roll-inventory`).

use super::conditions::Condition;
use chrono::NaiveDate;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

pub use tripnest_common::catalog::{DateOverride, MAX_HORIZON_DAYS, MAX_ROOMS, Pricing, Season};

/// A five-field cron schedule (or a macro such as `@daily`), as a CronJob accepts it.
pub fn cron_pattern() -> String {
    let item = |value: &str| format!(r"(\*|{value}(-{value})?)(/[0-9]{{1,2}})?");
    let list = |value: &str| format!("{i}(,{i})*", i = item(value));
    let (num, named) = ("[0-9]{1,2}", "([0-9]{1,2}|[A-Za-z]{3})");
    let fields = [list(num), list(num), format!("({}|\\?)", list(num)), list(named), format!("({}|\\?)", list(named))];
    format!(r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|{})$", fields.join(" "))
}

fn default_horizon() -> i32 {
    365
}

fn default_schedule() -> String {
    "17 3 * * *".into()
}

/// The spec of an `Inventory`.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "tripnest.io",
    version = "v1alpha1",
    kind = "Inventory",
    plural = "inventories",
    namespaced,
    status = "InventoryStatus",
    derive = "PartialEq",
    shortname = "inv",
    category = "tripnest",
    selectable = ".spec.hotelRef",
    doc = "Rooms of one room type of a Hotel, their prices and the rolling sale window.",
    printcolumn = r#"{"name": "Hotel", "type": "string", "jsonPath": ".spec.hotelRef"}"#,
    printcolumn = r#"{"name": "Room Type", "type": "string", "jsonPath": ".spec.roomType"}"#,
    printcolumn = r#"{"name": "Rooms", "type": "integer", "jsonPath": ".spec.rooms"}"#,
    printcolumn = r#"{"name": "Generated Through", "type": "string", "jsonPath": ".status.generatedThrough"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct InventorySpec {
    /// The `Hotel` (same namespace) this inventory belongs to. Immutable.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("hotelRef is immutable"))]
    pub hotel_ref: String,
    /// One of the hotel's room type names. Immutable.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("roomType is immutable"))]
    pub room_type: String,
    /// Rooms of this type.
    #[schemars(range(min = 0, max = MAX_ROOMS))]
    pub rooms: i32,
    /// Nights from today kept on sale (1–730).
    #[serde(default = "default_horizon")]
    #[schemars(range(min = 1, max = MAX_HORIZON_DAYS))]
    pub horizon_days: i32,
    /// When the window rolls forward (cron, in the cluster's time zone).
    #[serde(default = "default_schedule")]
    #[schemars(length(min = 1, max = 100))]
    #[x_kube(validation = Rule::new(format!("self.matches(r'{}')", cron_pattern()))
        .message("must be a cron schedule with five fields, like \"17 3 * * *\", or a macro like @daily"))]
    pub schedule: String,
    /// Weekend and season multipliers.
    #[serde(default)]
    pub pricing: Pricing,
    /// Nights not for sale.
    #[serde(default)]
    #[schemars(length(max = 366), inner(length(max = 10)))]
    #[x_kube(validation = Rule::new("self.all(d, self.exists_one(o, o == d))").message("closed dates must be unique"))]
    pub closed_dates: Vec<NaiveDate>,
    /// Per-night exceptions, one per date.
    #[serde(default)]
    #[schemars(length(max = 366))]
    #[x_kube(validation = Rule::new("self.all(d, self.exists_one(o, o.date == d.date))").message("one override per date"))]
    pub overrides: Vec<DateOverride>,
}

/// What the operator observed about an `Inventory`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Synced` (applied to booking), `Scheduled` (CronJob in place) and `Ready`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The last night on sale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_through: Option<NaiveDate>,
    /// When the window was last rolled (by the operator or the CronJob), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// Booked share of rooms over the next 30 nights, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupancy: Option<f64>,
}

impl Inventory {
    /// Name of the CronJob that rolls this inventory.
    pub fn cronjob_name(&self) -> String {
        format!("{}-roll", kube::ResourceExt::name_any(self))
    }
}
