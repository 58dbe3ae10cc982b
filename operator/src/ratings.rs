//! Guest ratings into `Hotel` status. The operator consumes `hotel.rating.updated` (keyed by
//! hotel id), remembers the latest aggregate per hotel, and nudges the Hotel controller, which
//! writes it with the rest of the status — so status keeps a single writer and one field
//! manager. The handler returns only once the rating is visible on every Hotel of that name,
//! so a committed offset means a written rating.

use crate::resources::Hotel;
use kube::runtime::reflector::{ObjectRef, Store};
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};
use tokio::sync::mpsc;
use tripnest_common::{
    events::topics,
    kafka::{Delivery, HandlerError},
    saga::HotelRatingUpdated,
};

/// The latest (average, count) per hotel id. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Ratings(Arc<RwLock<HashMap<String, (f64, i64)>>>);

impl Ratings {
    /// The latest rating of `hotel`, if one arrived since start.
    pub fn get(&self, hotel: &str) -> Option<(f64, i64)> {
        self.0.read().expect("ratings lock").get(hotel).copied()
    }

    /// Remember a rating.
    pub fn set(&self, hotel: &str, average: f64, count: i64) {
        self.0.write().expect("ratings lock").insert(hotel.to_owned(), (average, count));
    }
}

/// The topics the operator consumes.
pub const TOPICS: &[&str] = &[topics::HOTEL_RATING_UPDATED];

/// How long a handler waits for the controller to write a rating before retrying.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Handle one `hotel.rating.updated`.
pub async fn handle(
    delivery: Delivery,
    ratings: Ratings,
    store: Store<Hotel>,
    nudge: mpsc::Sender<ObjectRef<Hotel>>,
) -> Result<(), HandlerError> {
    let event = delivery.event::<HotelRatingUpdated>()?;
    let r = event.data;
    if !(0.0..=5.0).contains(&r.average) || r.count < 0 {
        return Err(HandlerError::Permanent(anyhow::anyhow!("rating {} over {} reviews is out of range", r.average, r.count)));
    }
    ratings.set(&r.hotel_id, r.average, r.count);
    let hotels = super::controller::hotel::find(&store, &r.hotel_id);
    if hotels.is_empty() {
        tracing::info!(hotel = r.hotel_id, "rating for a hotel with no Hotel resource here; kept for when it appears");
        return Ok(());
    }
    for h in &hotels {
        nudge.send(ObjectRef::from_obj(h.as_ref())).await.map_err(|_| HandlerError::Transient(anyhow::anyhow!("controller stopped")))?;
    }
    let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
    loop {
        let written = super::controller::hotel::find(&store, &r.hotel_id)
            .iter()
            .all(|h| h.status.as_ref().is_some_and(|s| s.rating == Some(r.average) && s.review_count == Some(r.count)));
        if written {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(HandlerError::Transient(anyhow::anyhow!("rating of {} not written to status yet", r.hotel_id)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
