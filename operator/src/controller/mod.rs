//! The three controllers and what they share: the [`Context`], one [`Error`] type whose
//! variant names label the error metric, [`error_policy`] (per-object exponential backoff),
//! reconcile metrics and Kubernetes Events.

pub mod hotel;
pub mod inventory;
pub mod pods;
pub mod service_deployment;

use crate::{Config, booking::BookingClient, ratings::Ratings, topics::TopicAdmin};
use kube::{
    Api, Client, Resource,
    api::PatchParams,
    runtime::{
        controller::Action,
        events::{Event, EventType, Recorder, Reporter},
        finalizer,
    },
};
use serde::de::DeserializeOwned;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// The one field manager every server-side apply uses.
pub const MANAGER: &str = "tripnest-operator";

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed a request.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Booking could not be reached, or failed.
    #[error("booking unavailable: {0}")]
    BookingUnavailable(String),
    /// Booking refused what the spec says.
    #[error("booking refused the spec: {0}")]
    BookingRefused(String),
    /// An Inventory's Hotel does not exist (yet), or lacks the room type.
    #[error("{0}")]
    MissingHotel(String),
    /// Kafka's admin API failed.
    #[error("kafka: {0}")]
    Kafka(String),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
}

impl Error {
    /// Our cached copy was stale (another write landed first): retry at once, nothing is wrong.
    pub fn is_stale_write(&self) -> bool {
        let stale = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 409 || s.code == 422);
        match self {
            Self::Kube(kube::Error::Api(s)) => s.code == 409,
            Self::Finalizer(e) => {
                matches!(e.as_ref(), finalizer::Error::AddFinalizer(k) | finalizer::Error::RemoveFinalizer(k) if stale(k))
            }
            _ => false,
        }
    }

    /// A stable label for metrics.
    pub fn kind(&self) -> &'static str {
        if self.is_stale_write() {
            return "stale_write";
        }
        match self {
            Self::Kube(_) => "kube",
            Self::BookingUnavailable(_) => "booking_unavailable",
            Self::BookingRefused(_) => "booking_refused",
            Self::MissingHotel(_) => "missing_hotel",
            Self::Kafka(_) => "kafka",
            Self::Finalizer(e) => match e.as_ref() {
                finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => inner.kind(),
                _ => "finalizer",
            },
        }
    }
}

impl From<crate::booking::BookingError> for Error {
    fn from(e: crate::booking::BookingError) -> Self {
        match e {
            crate::booking::BookingError::Refused { .. } => Self::BookingRefused(e.to_string()),
            crate::booking::BookingError::Unavailable(m) => Self::BookingUnavailable(m),
        }
    }
}

/// `Result` with the operator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What every reconcile can use.
pub struct Context {
    /// Kubernetes client.
    pub client: Client,
    /// Booking's internal API.
    pub booking: BookingClient,
    /// Kafka admin API.
    pub topics: TopicAdmin,
    /// Ratings learned from `hotel.rating.updated`.
    pub ratings: Ratings,
    /// Operator settings.
    pub cfg: Arc<Config>,
    /// The pod problem last reported per ServiceDeployment (one Event per cause).
    pub pod_causes: pods::CauseLog,
    recorder: Recorder,
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context for controllers run by the replica `identity`.
    pub fn new(client: Client, cfg: Arc<Config>, topics: TopicAdmin, ratings: Ratings, identity: &str) -> Self {
        let token = cfg.internal_token.clone().unwrap_or_else(|| String::new().into());
        let reporter = Reporter { controller: MANAGER.into(), instance: Some(identity.to_owned()) };
        Self {
            booking: BookingClient::new(&cfg.booking_url, token),
            recorder: Recorder::new(client.clone(), reporter),
            client,
            topics,
            ratings,
            cfg,
            pod_causes: pods::CauseLog::default(),
            failures: Mutex::default(),
        }
    }

    /// The API for `K` in the watched namespace (or all namespaces).
    pub fn watched<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    {
        match &self.cfg.watch_namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        }
    }

    /// Server-side apply parameters under [`MANAGER`].
    pub fn apply() -> PatchParams {
        PatchParams::apply(MANAGER).force()
    }

    /// Record a Kubernetes Event about `obj`; a failure to record is logged, never fatal.
    pub async fn event<K: Resource<DynamicType = ()>>(&self, obj: &K, warning: bool, reason: &str, action: &str, note: String) {
        let event = Event {
            type_: if warning { EventType::Warning } else { EventType::Normal },
            reason: reason.into(),
            note: Some(clip(note, EVENT_NOTE_BYTES)),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, reason, "could not record event");
        }
    }

    fn backoff(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().expect("failures lock");
        let n = failures.entry(key.to_owned()).or_insert(0);
        *n += 1;
        let max = Duration::from_secs(self.cfg.max_backoff_secs.max(1));
        tripnest_common::kafka::backoff(*n, Duration::from_millis(500), max)
    }

    fn succeeded(&self, key: &str) {
        self.failures.lock().expect("failures lock").remove(key);
    }
}

/// The API server refuses an Event whose note is longer than this.
const EVENT_NOTE_BYTES: usize = 1024;

/// `text` cut to at most `max` bytes on a character boundary, marked with `…` when cut.
fn clip(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

fn key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!("{}/{}/{}", K::kind(&()), obj.meta().namespace.as_deref().unwrap_or(""), obj.meta().name.as_deref().unwrap_or(""))
}

/// Run `reconcile` for `obj`, counting it and its duration, and resetting its backoff on success.
pub async fn observe<K, F>(controller: &'static str, obj: &K, ctx: &Context, reconcile: F) -> Result<Action>
where
    K: Resource<DynamicType = ()>,
    F: Future<Output = Result<Action>>,
{
    let started = Instant::now();
    let result = reconcile.await;
    metrics::counter!("operator_reconciliations_total", "controller" => controller).increment(1);
    metrics::histogram!("operator_reconcile_duration_seconds", "controller" => controller).record(started.elapsed().as_secs_f64());
    if result.is_ok() {
        ctx.succeeded(&key(obj));
    }
    result
}

/// Log, count by error kind, and retry the object with exponential backoff.
pub fn error_policy<K: Resource<DynamicType = ()>>(controller: &'static str, obj: &K, error: &Error, ctx: &Context) -> Action {
    metrics::counter!("operator_reconcile_errors_total", "controller" => controller, "error" => error.kind()).increment(1);
    if error.is_stale_write() {
        tracing::debug!(controller, object = obj.meta().name.as_deref().unwrap_or(""), error = %error, "stale cache; retrying");
        return Action::requeue(Duration::from_millis(200));
    }
    let delay = ctx.backoff(&key(obj));
    tracing::warn!(controller, object = obj.meta().name.as_deref().unwrap_or(""), namespace = obj.meta().namespace.as_deref().unwrap_or(""),
        error = %error, retry_in_ms = delay.as_millis() as u64, "reconcile failed");
    Action::requeue(delay)
}

/// The namespace of a namespaced object.
pub fn namespace<K: Resource>(obj: &K) -> String {
    obj.meta().namespace.clone().unwrap_or_default()
}

/// The requeue for an object that reconciled cleanly.
pub fn resync(ctx: &Context) -> Action {
    Action::requeue(Duration::from_secs(ctx.cfg.resync_secs.max(1)))
}

/// The object's generation.
pub fn generation<K: Resource>(obj: &K) -> Option<i64> {
    obj.meta().generation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_event_note_is_clipped_to_what_the_api_server_takes() {
        assert_eq!(clip("short".into(), EVENT_NOTE_BYTES), "short");
        let clipped = clip("é".repeat(1000), EVENT_NOTE_BYTES);
        assert!(clipped.len() <= EVENT_NOTE_BYTES && clipped.ends_with('…'), "{}", clipped.len());
    }
}
