//! The Hotel controller: upserts each `Hotel` into booking's catalog (its name is the hotel
//! id), takes it off sale through a finalizer when it is deleted (past bookings stay), and
//! writes `Synced`/`Ready`, the room count of its Inventories and the guests' rating to status.

use super::{Context, Error, MANAGER, Result, error_policy, namespace, observe, resync};
use crate::resources::{
    Hotel, HotelStatus, Inventory,
    conditions::{self, Condition},
};
use futures::{Stream, StreamExt};
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch},
    runtime::{
        Controller,
        controller::{Action, Config as ControllerConfig},
        finalizer::{Event as Finalizer, finalizer},
        reflector::{ObjectRef, Store},
        watcher,
    },
};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The finalizer that takes a deleted hotel off sale before Kubernetes forgets it.
pub const FINALIZER: &str = "tripnest.io/catalog";
const CONTROLLER: &str = "hotel";

/// The controller, before it runs: its store lets the ratings consumer find hotels by name.
pub fn controller(ctx: &Context) -> Controller<Hotel> {
    Controller::new(ctx.watched::<Hotel>(), watcher::Config::default().any_semantic())
        .watches(ctx.watched::<Inventory>(), watcher::Config::default().any_semantic(), |inv| {
            Some(ObjectRef::new(&inv.spec.hotel_ref).within(&namespace(&inv)))
        })
        .with_config(ControllerConfig::default().concurrency(ctx.cfg.concurrency))
}

/// Run the controller until `stop` fires; `nudges` asks for extra reconciles (new ratings).
pub async fn run(
    controller: Controller<Hotel>,
    nudges: impl Stream<Item = ObjectRef<Hotel>> + Send + 'static,
    ctx: Arc<Context>,
    stop: CancellationToken,
) {
    controller
        .reconcile_on(nudges)
        .graceful_shutdown_on(stop.cancelled_owned())
        .run(reconcile, |h, e, ctx| error_policy(CONTROLLER, h.as_ref(), e, &ctx), ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

/// Hotels named `id` in the store (one per namespace that has one).
pub fn find(store: &Store<Hotel>, id: &str) -> Vec<Arc<Hotel>> {
    store.state().into_iter().filter(|h| h.name_any() == id).collect()
}

async fn reconcile(hotel: Arc<Hotel>, ctx: Arc<Context>) -> Result<Action> {
    let api: Api<Hotel> = Api::namespaced(ctx.client.clone(), &namespace(hotel.as_ref()));
    observe(CONTROLLER, hotel.as_ref(), &ctx, async {
        finalizer(&api, FINALIZER, hotel.clone(), |event| async {
            match event {
                Finalizer::Apply(h) => sync(&h, &api, &ctx).await,
                Finalizer::Cleanup(h) => remove(&h, &ctx).await,
            }
        })
        .await
        .map_err(|e| Error::Finalizer(Box::new(e)))
    })
    .await
}

/// The status a sync outcome leads to (pure).
pub fn status_after(
    hotel: &Hotel,
    outcome: &std::result::Result<(), Error>,
    rooms: Option<i32>,
    rating: Option<(f64, i64)>,
) -> HotelStatus {
    let previous = hotel.status.clone().unwrap_or_default();
    let generation = hotel.metadata.generation;
    let (ok, reason, message) = match outcome {
        Ok(()) => (true, "Synced", format!("on sale in booking's catalog as {:?}", hotel.name_any())),
        Err(Error::BookingRefused(m)) => (false, "SpecRefused", m.clone()),
        Err(e) => (false, "BookingUnavailable", e.to_string()),
    };
    let fresh = vec![
        Condition::new("Synced", ok, reason, message.clone(), generation),
        Condition::new("Ready", ok, if ok { "Synced" } else { reason }, message, generation),
    ];
    HotelStatus {
        observed_generation: generation,
        conditions: conditions::merge(&previous.conditions, fresh),
        rooms,
        rating: rating.map(|r| r.0).or(previous.rating),
        review_count: rating.map(|r| r.1).or(previous.review_count),
    }
}

async fn sync(hotel: &Hotel, api: &Api<Hotel>, ctx: &Context) -> Result<Action> {
    let id = hotel.name_any();
    let outcome = ctx.booking.upsert_hotel(&id, &hotel.spec).await.map_err(Error::from);
    let inventories: Api<Inventory> = Api::namespaced(ctx.client.clone(), &namespace(hotel));
    let rooms = inventories
        .list(&ListParams::default().fields(&format!("spec.hotelRef={id}")))
        .await?
        .items
        .iter()
        .map(|i| i.spec.rooms)
        .sum::<i32>();
    let status = status_after(hotel, &outcome, Some(rooms), ctx.ratings.get(&id));
    let was_ready = hotel.is_ready();
    if hotel.status.as_ref() != Some(&status) {
        let patch = serde_json::json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "Hotel", "status": status });
        api.patch_status(&id, &Context::apply(), &Patch::Apply(&patch)).await?;
    }
    match outcome {
        Ok(()) => {
            if !was_ready || hotel.status.as_ref().and_then(|s| s.observed_generation) != hotel.metadata.generation {
                ctx.event(hotel, false, "Synced", "UpsertCatalog", format!("hotel {id:?} is on sale in booking's catalog")).await;
            }
            Ok(resync(ctx))
        }
        Err(e) => {
            ctx.event(hotel, true, "SyncFailed", "UpsertCatalog", e.to_string()).await;
            Err(e)
        }
    }
}

async fn remove(hotel: &Hotel, ctx: &Context) -> Result<Action> {
    let id = hotel.name_any();
    ctx.booking.remove_hotel(&id).await?;
    ctx.event(hotel, false, "RemovedFromSale", "RemoveFromCatalog", format!("hotel {id:?} is off sale; its bookings stay")).await;
    tracing::info!(hotel = id, manager = MANAGER, "hotel removed from sale");
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hotel() -> Hotel {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "tripnest.io/v1alpha1", "kind": "Hotel",
            "metadata": { "name": "riverside", "namespace": "hotels", "generation": 3 },
            "spec": { "displayName": "Riverside", "city": "Lisbon", "country": "PT", "stars": 4, "currency": "EUR",
                "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 12000 }] },
            "status": { "rating": 4.5, "reviewCount": 10, "conditions": [] }
        }))
        .expect("hotel")
    }

    #[test]
    fn a_successful_sync_is_synced_and_ready_and_keeps_the_known_rating() {
        let s = status_after(&hotel(), &Ok(()), Some(12), None);
        assert_eq!(s.observed_generation, Some(3));
        assert!(s.conditions.iter().all(|c| c.is_true() && c.observed_generation == Some(3)));
        assert_eq!((s.rooms, s.rating, s.review_count), (Some(12), Some(4.5), Some(10)));
        let rated = status_after(&hotel(), &Ok(()), Some(12), Some((3.75, 11)));
        assert_eq!((rated.rating, rated.review_count), (Some(3.75), Some(11)));
    }

    #[test]
    fn a_refused_spec_is_not_ready_and_says_why() {
        let s = status_after(&hotel(), &Err(Error::BookingRefused("currency must be an ISO 4217 code".into())), None, None);
        let ready = conditions::find(&s.conditions, "Ready").expect("ready");
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "SpecRefused"));
        assert!(ready.message.contains("currency"));
        let down = status_after(&hotel(), &Err(Error::BookingUnavailable("connection refused".into())), None, None);
        assert_eq!(conditions::find(&down.conditions, "Synced").expect("synced").reason, "BookingUnavailable");
    }
}
