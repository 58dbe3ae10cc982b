//! The Inventory controller: checks that the Hotel and its room type exist and are in the
//! catalog, applies the spec to booking at once, and owns the CronJob that keeps the window
//! rolling. A roll Job's end (scheduled, or `kubectl create job --from=cronjob/…`) wakes the
//! Inventory, so `lastRun` and `generatedThrough` follow at once. A missing Hotel or room type is a `Ready=False` condition and a Warning Event,
//! retried with backoff (and at once when the Hotel changes) — never a crash.

use super::{Context, Error, Result, error_policy, namespace, observe, resync};
use crate::{
    booking::{BookingError, InventoryState, RollReport},
    desired::{
        MANAGED_BY,
        cronjob::{ROLL_COMPONENT, RollJobSettings, roll_cronjob},
    },
    resources::{
        Hotel, Inventory, InventoryStatus,
        conditions::{self, Condition},
    },
};
use futures::StreamExt;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::{
    Api, Resource, ResourceExt,
    api::Patch,
    runtime::{
        Controller,
        controller::{Action, Config as ControllerConfig},
        reflector::ObjectRef,
        watcher,
    },
};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const CONTROLLER: &str = "inventory";

/// Run the controller until `stop` fires.
pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let owned = watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGED_BY}")).any_semantic();
    let controller = Controller::new(ctx.watched::<Inventory>(), watcher::Config::default().any_semantic());
    let store = controller.store();
    controller
        .owns(ctx.watched::<CronJob>(), owned)
        // Jobs belong to the CronJob, not to us; their template's labels name the Inventory.
        .watches(ctx.watched::<Job>(), roll_jobs(), |job| {
            let ns = namespace(&job);
            job.labels().get("app.kubernetes.io/instance").map(|name| ObjectRef::new(name).within(&ns))
        })
        .watches(ctx.watched::<Hotel>(), watcher::Config::default().any_semantic(), move |hotel| {
            let (name, ns) = (hotel.name_any(), namespace(&hotel));
            store
                .state()
                .into_iter()
                .filter(|i| i.spec.hotel_ref == name && namespace(i.as_ref()) == ns)
                .map(|i| ObjectRef::from_obj(i.as_ref()))
                .collect::<Vec<_>>()
        })
        .with_config(ControllerConfig::default().concurrency(ctx.cfg.concurrency))
        .graceful_shutdown_on(stop.cancelled_owned())
        .run(reconcile, |i, e, ctx| error_policy(CONTROLLER, i.as_ref(), e, &ctx), ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// The roll Jobs of every Inventory (labelled by `roll_cronjob`'s job template).
fn roll_jobs() -> watcher::Config {
    watcher::Config::default()
        .labels(&format!("app.kubernetes.io/name={ROLL_COMPONENT},app.kubernetes.io/managed-by={MANAGED_BY}"))
        .any_semantic()
}

/// Why an Inventory cannot be applied yet, from its Hotel as it stands (pure).
pub fn blocker(inv: &Inventory, hotel: Option<&Hotel>) -> Option<(&'static str, String)> {
    let (h, rt, ns) = (&inv.spec.hotel_ref, &inv.spec.room_type, namespace(inv));
    match hotel {
        None => Some(("HotelNotFound", format!("Hotel {h:?} does not exist in namespace {ns:?}"))),
        Some(hotel) if !hotel.has_room_type(rt) => {
            let known: Vec<&str> = hotel.spec.room_types.iter().map(|r| r.name.as_str()).collect();
            Some(("UnknownRoomType", format!("Hotel {h:?} has no room type {rt:?} (it has: {})", known.join(", "))))
        }
        Some(hotel) if !hotel.is_ready() => Some(("HotelNotReady", format!("Hotel {h:?} is not in booking's catalog yet"))),
        Some(_) => None,
    }
}

async fn reconcile(inv: Arc<Inventory>, ctx: Arc<Context>) -> Result<Action> {
    observe(CONTROLLER, inv.as_ref(), &ctx, sync(&inv, &ctx)).await
}

async fn sync(inv: &Inventory, ctx: &Context) -> Result<Action> {
    let ns = namespace(inv);
    let hotel = Api::<Hotel>::namespaced(ctx.client.clone(), &ns).get_opt(&inv.spec.hotel_ref).await?;
    match blocker(inv, hotel.as_ref()) {
        // Waiting for the Hotel controller is normal, not a failure: the Hotel watch wakes us.
        Some((reason @ "HotelNotReady", message)) => {
            write_status(inv, ctx, &blocked_status(inv, reason, &message)).await?;
            return Ok(Action::requeue(std::time::Duration::from_secs(30)));
        }
        Some((reason, message)) => return blocked(inv, ctx, reason, message).await,
        None => {}
    }
    let (hotel_id, room_type) = (&inv.spec.hotel_ref, &inv.spec.room_type);
    let generation = inv.meta().generation;
    let previous = inv.status.clone().unwrap_or_default();
    let synced = conditions::find(&previous.conditions, "Synced").is_some_and(Condition::is_true);
    // Apply when the spec changed or booking forgot it; otherwise the CronJob rolls it forward.
    let known = match ctx.booking.inventory_state(hotel_id, room_type).await {
        Ok(state) => Some(state),
        Err(BookingError::Refused { status: 404, .. }) => None,
        Err(e) => return failed(inv, ctx, e.into()).await,
    };
    let report = if !synced || previous.observed_generation != generation || known.is_none() {
        match ctx.booking.apply_inventory(hotel_id, room_type, &inv.spec).await {
            Ok(report) => Some(report),
            Err(BookingError::Refused { code, message, .. }) if code == "unknown_room_type" => {
                return blocked(inv, ctx, "UnknownRoomType", message).await;
            }
            Err(e) => return failed(inv, ctx, e.into()).await,
        }
    } else {
        None
    };
    let settings = RollJobSettings {
        image: ctx.cfg.booking_image.clone(),
        env_secret: ctx.cfg.roll_job_secret.clone(),
        pull_policy: ctx.cfg.roll_job_pull_policy,
        pull_secrets: ctx.cfg.roll_job_pull_secrets.clone(),
    };
    let owner = inv.controller_owner_ref(&()).expect("an Inventory from the API server has a uid");
    let cronjob = roll_cronjob(inv, &owner, &settings);
    Api::<CronJob>::namespaced(ctx.client.clone(), &ns).patch(&inv.cronjob_name(), &Context::apply(), &Patch::Apply(&cronjob)).await?;
    let state = match &report {
        Some(_) => ctx.booking.inventory_state(hotel_id, room_type).await.ok(),
        None => known,
    };
    let status = ready_status(inv, report.as_ref(), state.as_ref());
    write_status(inv, ctx, &status).await?;
    if let Some(r) = &report {
        let through = r.generated_through.map_or_else(|| "-".into(), |d| d.to_string());
        ctx.event(inv, false, "Applied", "ApplyInventory", format!("{} nights changed; on sale through {through}", r.changed_nights)).await;
        if !r.overbooked_nights.is_empty() {
            let note = format!("{} nights have more rooms booked than the spec now offers", r.overbooked_nights.len());
            ctx.event(inv, true, "Overbooked", "ApplyInventory", note).await;
        }
    }
    Ok(resync(ctx))
}

/// The status of an applied Inventory (pure).
pub fn ready_status(inv: &Inventory, report: Option<&RollReport>, state: Option<&InventoryState>) -> InventoryStatus {
    let previous = inv.status.clone().unwrap_or_default();
    let generation = inv.meta().generation;
    let through = report.and_then(|r| r.generated_through).or(state.and_then(|s| s.generated_through)).or(previous.generated_through);
    let fresh = vec![
        Condition::new(
            "Synced",
            true,
            "Applied",
            format!("on sale through {}", through.map_or_else(|| "-".into(), |d| d.to_string())),
            generation,
        ),
        Condition::new("Scheduled", true, "CronJobApplied", format!("roll-inventory runs on {:?}", inv.spec.schedule), generation),
        Condition::new("Ready", true, "Applied", "", generation),
    ];
    InventoryStatus {
        observed_generation: generation,
        conditions: conditions::merge(&previous.conditions, fresh),
        generated_through: through,
        last_run: state.and_then(|s| s.last_run_at).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).or(previous.last_run),
        occupancy: state.and_then(|s| s.occupancy).or(previous.occupancy),
    }
}

/// The status of an Inventory that cannot be applied (pure).
pub fn blocked_status(inv: &Inventory, reason: &str, message: &str) -> InventoryStatus {
    let previous = inv.status.clone().unwrap_or_default();
    let generation = inv.meta().generation;
    let fresh =
        vec![Condition::new("Synced", false, reason, message, generation), Condition::new("Ready", false, reason, message, generation)];
    InventoryStatus { observed_generation: generation, conditions: conditions::merge(&previous.conditions, fresh), ..previous }
}

async fn blocked(inv: &Inventory, ctx: &Context, reason: &'static str, message: String) -> Result<Action> {
    write_status(inv, ctx, &blocked_status(inv, reason, &message)).await?;
    ctx.event(inv, true, reason, "ApplyInventory", message.clone()).await;
    Err(Error::MissingHotel(message))
}

async fn failed(inv: &Inventory, ctx: &Context, error: Error) -> Result<Action> {
    let reason = if matches!(error, Error::BookingRefused(_)) { "SpecRefused" } else { "BookingUnavailable" };
    write_status(inv, ctx, &blocked_status(inv, reason, &error.to_string())).await?;
    ctx.event(inv, true, reason, "ApplyInventory", error.to_string()).await;
    Err(error)
}

async fn write_status(inv: &Inventory, ctx: &Context, status: &InventoryStatus) -> Result<()> {
    if inv.status.as_ref() == Some(status) {
        return Ok(());
    }
    let api: Api<Inventory> = Api::namespaced(ctx.client.clone(), &namespace(inv));
    let patch = serde_json::json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "Inventory", "status": status });
    api.patch_status(&inv.name_any(), &Context::apply(), &Patch::Apply(&patch)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inventory() -> Inventory {
        serde_json::from_value(json!({
            "apiVersion": "tripnest.io/v1alpha1", "kind": "Inventory",
            "metadata": { "name": "riverside-suite", "namespace": "hotels", "generation": 2 },
            "spec": { "hotelRef": "riverside", "roomType": "suite", "rooms": 4 }
        }))
        .expect("inventory")
    }

    fn hotel(room_types: &[&str], ready: bool) -> Hotel {
        let rts: Vec<_> = room_types.iter().map(|n| json!({ "name": n, "capacity": 2, "baseRateCents": 100 })).collect();
        let status = if ready { "True" } else { "False" };
        serde_json::from_value(json!({
            "apiVersion": "tripnest.io/v1alpha1", "kind": "Hotel", "metadata": { "name": "riverside", "namespace": "hotels", "generation": 1 },
            "spec": { "displayName": "R", "city": "Lisbon", "country": "PT", "stars": 3, "currency": "EUR", "roomTypes": rts },
            "status": { "conditions": [{ "type": "Ready", "status": status, "reason": "x", "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1 }] }
        }))
        .expect("hotel")
    }

    #[test]
    fn a_missing_hotel_or_room_type_blocks_with_a_clear_reason() {
        let inv = inventory();
        let (reason, message) = blocker(&inv, None).expect("blocked");
        assert_eq!(reason, "HotelNotFound");
        assert!(message.contains("\"riverside\"") && message.contains("\"hotels\""), "{message}");
        let (reason, message) = blocker(&inv, Some(&hotel(&["double"], true))).expect("blocked");
        assert_eq!(reason, "UnknownRoomType");
        assert!(message.contains("\"suite\"") && message.contains("double"), "{message}");
        assert_eq!(blocker(&inv, Some(&hotel(&["suite"], false))).map(|b| b.0), Some("HotelNotReady"));
        assert_eq!(blocker(&inv, Some(&hotel(&["suite"], true))), None);
    }

    #[test]
    fn statuses_report_the_window_and_the_blocker() {
        let inv = inventory();
        let report = RollReport { changed_nights: 90, generated_through: "2027-03-01".parse().ok(), overbooked_nights: vec![] };
        let s = ready_status(&inv, Some(&report), None);
        assert_eq!(s.generated_through, "2027-03-01".parse().ok());
        assert_eq!(s.observed_generation, Some(2));
        assert!(conditions::find(&s.conditions, "Ready").expect("ready").is_true());
        let b = blocked_status(&inv, "HotelNotFound", "Hotel \"riverside\" does not exist");
        let ready = conditions::find(&b.conditions, "Ready").expect("ready");
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "HotelNotFound"));
    }
}
