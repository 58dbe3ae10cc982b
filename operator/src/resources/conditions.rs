//! Status conditions shared by every resource: the `metav1.Condition` shape, kept as plain
//! strings so the CRD schema stays small, and [`merge`], which keeps `lastTransitionTime`
//! stable while a condition's status does not change (so SSA of an unchanged status is a no-op).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `True`, `False` or `Unknown`.
pub const TRUE: &str = "True";
/// The condition does not hold.
pub const FALSE: &str = "False";

/// One observation about a resource (`Ready`, `Synced`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The kind of observation, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase word saying why.
    pub reason: String,
    /// What a person should know.
    #[serde(default)]
    pub message: String,
    /// When `status` last changed (RFC 3339).
    pub last_transition_time: String,
    /// The `metadata.generation` this was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Condition {
    /// A condition observed now.
    pub fn new(type_: &str, holds: bool, reason: &str, message: impl Into<String>, generation: Option<i64>) -> Self {
        Self {
            type_: type_.to_owned(),
            status: if holds { TRUE } else { FALSE }.to_owned(),
            reason: reason.to_owned(),
            message: message.into(),
            last_transition_time: now(),
            observed_generation: generation,
        }
    }

    /// Whether the condition holds.
    pub fn is_true(&self) -> bool {
        self.status == TRUE
    }
}

/// The current time as Kubernetes writes it (seconds precision, `Z`).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The new set of conditions: each `fresh` one replaces the previous one of its type, but
/// keeps the previous `lastTransitionTime` when its status is unchanged.
pub fn merge(previous: &[Condition], fresh: Vec<Condition>) -> Vec<Condition> {
    fresh
        .into_iter()
        .map(|mut c| {
            if let Some(old) = previous.iter().find(|o| o.type_ == c.type_ && o.status == c.status) {
                c.last_transition_time.clone_from(&old.last_transition_time);
            }
            c
        })
        .collect()
}

/// The condition of `type_` in `conditions`, if any.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_transition_time_while_status_holds() {
        let mut old = Condition::new("Ready", true, "Synced", "", Some(1));
        old.last_transition_time = "2020-01-01T00:00:00Z".into();
        let same = merge(std::slice::from_ref(&old), vec![Condition::new("Ready", true, "Synced", "again", Some(2))]);
        assert_eq!(same[0].last_transition_time, "2020-01-01T00:00:00Z");
        assert_eq!(same[0].message, "again");
        let flipped = merge(&[old], vec![Condition::new("Ready", false, "BookingUnavailable", "", Some(2))]);
        assert_ne!(flipped[0].last_transition_time, "2020-01-01T00:00:00Z");
    }
}
