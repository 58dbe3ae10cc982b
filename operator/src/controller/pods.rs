//! What the pods of a `ServiceDeployment` say about it (pure): the first container stuck in a
//! state that does not fix itself — a bad or missing image, a missing Secret, a crash loop — or
//! a pod no node will take, as the reason and message of `Ready=False`. [`CauseLog`] makes that
//! one Warning Event per distinct cause rather than one per reconcile.

use k8s_openapi::{
    api::core::v1::{ContainerStatus, Pod},
    jiff::{SignedDuration, Timestamp},
};
use std::{collections::HashMap, sync::Mutex};

/// Container waiting reasons that are reported, most fundamental first (the first one found,
/// in this order, is the one reported).
pub const STUCK_REASONS: [&str; 8] = [
    "InvalidImageName",
    "ErrImageNeverPull",
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "CrashLoopBackOff",
];

/// The reason reported for a pod the scheduler cannot place.
pub const UNSCHEDULABLE: &str = "Unschedulable";

const CRASH_LOOP: &str = "CrashLoopBackOff";

/// Between two crashes a crash-looping container runs (not ready) for a moment; a restarted,
/// not-ready container whose last exit is this recent still counts as crash-looping, so the
/// report does not flap (the kubelet's back-off is at most five minutes).
const RECENT_CRASH: SignedDuration = SignedDuration::from_secs(600);

/// How much of a crashed container's termination message (its last log lines) is kept, in
/// bytes: with the rest of the message it stays within an Event note's 1 kB.
const TERMINATION_MESSAGE_BYTES: usize = 768;

/// Why the pods are not running, for the `Ready` condition and a Warning Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodProblem {
    /// The container's waiting reason (one of [`STUCK_REASONS`]) or [`UNSCHEDULABLE`].
    pub reason: String,
    /// Names the container and pod, the kubelet's message and, for a crash loop, the last exit
    /// code and termination message.
    pub message: String,
    /// What makes two observations the same cause (the reason's [`family`], container and
    /// image), so the Event is recorded once per cause, not once per pod restart or reconcile.
    pub cause: String,
}

/// Reasons the kubelet alternates between for one cause count as one: a failing pull shows
/// `ErrImagePull`, then `ImagePullBackOff`, then `ErrImagePull` again.
pub fn family(reason: &str) -> &str {
    match reason {
        "ErrImagePull" | "ImagePullBackOff" => "ImagePull",
        other => other,
    }
}

/// The problem to report at `now` for these pods, if any: terminating and finished pods are
/// ignored; otherwise the most fundamental stuck container wins, ties going to the first pod
/// by name.
pub fn problem(now: Timestamp, pods: &[Pod]) -> Option<PodProblem> {
    let mut live: Vec<&Pod> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")))
        .collect();
    live.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let stuck = live.iter().flat_map(|pod| containers(pod).map(move |c| (*pod, c))).filter_map(|(pod, c)| {
        let reason = stuck_reason(c, now)?;
        let rank = STUCK_REASONS.iter().position(|r| *r == reason)?;
        Some((rank, pod, c, reason))
    });
    if let Some((_, pod, c, reason)) = stuck.min_by_key(|(rank, ..)| *rank) {
        return Some(stuck_container(pod, c, reason));
    }
    live.iter().find_map(|pod| unschedulable(pod))
}

/// The container's waiting reason, or [`CRASH_LOOP`] for one running between two crashes.
fn stuck_reason(c: &ContainerStatus, now: Timestamp) -> Option<&str> {
    let state = c.state.as_ref()?;
    if let Some(reason) = state.waiting.as_ref().and_then(|w| w.reason.as_deref()) {
        return Some(reason);
    }
    let finished = c.last_state.as_ref()?.terminated.as_ref()?.finished_at.as_ref()?;
    (state.running.is_some() && !c.ready && c.restart_count > 0 && now.duration_since(finished.0) < RECENT_CRASH).then_some(CRASH_LOOP)
}

fn containers(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    let status = pod.status.as_ref();
    let init = status.and_then(|s| s.init_container_statuses.as_deref()).unwrap_or_default();
    let main = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    init.iter().chain(main)
}

fn stuck_container(pod: &Pod, c: &ContainerStatus, reason: &str) -> PodProblem {
    let pod_name = pod.metadata.name.as_deref().unwrap_or("?");
    let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
    let kubelet = waiting.and_then(|w| w.message.as_deref()).map(str::trim).filter(|m| !m.is_empty());
    let mut message = format!("container {:?} of pod {pod_name}: {reason}", c.name);
    if reason == CRASH_LOOP {
        match c.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            Some(t) => {
                message.push_str(&format!("; it last exited with code {}", t.exit_code));
                if let Some(why) = t.reason.as_deref().filter(|r| !r.is_empty()) {
                    message.push_str(&format!(" ({why})"));
                }
                if let Some(last) = t.message.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
                    message.push_str(": ");
                    message.push_str(tail(last, TERMINATION_MESSAGE_BYTES));
                }
            }
            None => message.push_str(&format!("; {}", kubelet.unwrap_or("restarting after repeated failures"))),
        }
    } else if let Some(kubelet) = kubelet {
        message.push_str(&format!(": {kubelet}"));
    }
    PodProblem { cause: format!("{}/{}/{}", family(reason), c.name, c.image), reason: reason.to_owned(), message }
}

fn unschedulable(pod: &Pod) -> Option<PodProblem> {
    let condition = pod.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == "PodScheduled" && c.status == "False")?;
    (condition.reason.as_deref() == Some(UNSCHEDULABLE)).then(|| {
        let pod_name = pod.metadata.name.as_deref().unwrap_or("?");
        let why = condition.message.as_deref().map(str::trim).filter(|m| !m.is_empty()).unwrap_or("no node fits it");
        PodProblem {
            reason: UNSCHEDULABLE.to_owned(),
            message: format!("pod {pod_name} cannot be scheduled: {why}"),
            cause: UNSCHEDULABLE.to_owned(),
        }
    })
}

/// The last `max` bytes of `s` or fewer, whole characters only (the end of a log is where the
/// crash is).
fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// The cause last reported per object, so each distinct cause gets one Event. A cause stays
/// remembered until the object is Ready again ([`CauseLog::forget`]): a crash loop, which is
/// briefly running between crashes, is one cause, not one per restart.
#[derive(Debug, Default)]
pub struct CauseLog(Mutex<HashMap<String, String>>);

impl CauseLog {
    /// Record that `key` suffers from `cause` now and say whether that is a new cause to
    /// report. `reported_before` covers a restarted operator, which has forgotten what it
    /// reported: when the object's status already carries this reason, it is not new.
    pub fn is_new(&self, key: &str, cause: &str, reported_before: bool) -> bool {
        match self.0.lock().expect("cause log lock").insert(key.to_owned(), cause.to_owned()) {
            Some(previous) => previous != cause,
            None => !reported_before,
        }
    }

    /// `key` is healthy: its next problem is news again.
    pub fn forget(&self, key: &str) {
        self.0.lock().expect("cause log lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn now() -> Timestamp {
        "2025-01-01T12:00:00Z".parse().expect("timestamp")
    }

    fn pod(name: &str, status: Value) -> Pod {
        serde_json::from_value(json!({ "metadata": { "name": name }, "status": status })).expect("pod")
    }

    fn waiting(name: &str, container: &str, reason: &str, message: &str) -> Pod {
        pod(
            name,
            json!({ "phase": "Pending", "containerStatuses": [{ "name": container, "image": "ghcr.io/tripnest/booking:1.0", "imageID": "",
                "ready": false, "restartCount": 0, "state": { "waiting": { "reason": reason, "message": message } } }] }),
        )
    }

    fn running(name: &str) -> Pod {
        pod(
            name,
            json!({ "phase": "Running", "containerStatuses": [{ "name": "booking", "image": "ghcr.io/tripnest/booking:1.0", "imageID": "x",
                "ready": true, "restartCount": 0, "state": { "running": { "startedAt": "2025-01-01T00:00:00Z" } } }] }),
        )
    }

    #[test]
    fn healthy_or_starting_pods_are_no_problem() {
        assert_eq!(problem(now(), &[]), None);
        assert_eq!(problem(now(), &[running("b-1"), waiting("b-2", "booking", "ContainerCreating", "")]), None);
    }

    #[test]
    fn a_bad_image_names_the_container_pod_and_kubelet_message() {
        for reason in ["ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"] {
            let p = problem(now(), &[running("b-1"), waiting("b-2", "booking", reason, "Back-off pulling image \"x\"")]).expect(reason);
            assert_eq!(p.reason, reason);
            assert_eq!(p.message, format!("container \"booking\" of pod b-2: {reason}: Back-off pulling image \"x\""));
            assert_eq!(p.cause, format!("{}/booking/ghcr.io/tripnest/booking:1.0", family(reason)));
        }
    }

    #[test]
    fn a_missing_secret_is_reported() {
        let p = problem(now(), &[waiting("b-1", "booking", "CreateContainerConfigError", "secret \"booking-env\" not found")])
            .expect("problem");
        assert_eq!(p.reason, "CreateContainerConfigError");
        assert!(p.message.ends_with("secret \"booking-env\" not found"), "{}", p.message);
    }

    #[test]
    fn a_crash_loop_carries_the_exit_code_and_last_log_lines() {
        let crashing = pod(
            "b-1",
            json!({ "phase": "Running", "containerStatuses": [{ "name": "booking", "image": "b:1", "imageID": "x", "ready": false,
                "restartCount": 4,
                "state": { "waiting": { "reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container" } },
                "lastState": { "terminated": { "exitCode": 1, "reason": "Error",
                    "message": "{\"level\":\"ERROR\",\"msg\":\"cannot connect to PostgreSQL\"}\n" } } }] }),
        );
        let p = problem(now(), &[crashing]).expect("problem");
        assert_eq!(p.reason, "CrashLoopBackOff");
        assert_eq!(
            p.message,
            "container \"booking\" of pod b-1: CrashLoopBackOff; it last exited with code 1 (Error): \
             {\"level\":\"ERROR\",\"msg\":\"cannot connect to PostgreSQL\"}"
        );
    }

    fn restarted(finished_at: &str, ready: bool) -> Pod {
        pod(
            "b-1",
            json!({ "phase": "Running", "containerStatuses": [{ "name": "booking", "image": "b:1", "imageID": "x", "ready": ready,
                "restartCount": 3, "state": { "running": { "startedAt": "2025-01-01T11:59:58Z" } },
                "lastState": { "terminated": { "exitCode": 2, "reason": "Error", "message": "panicked", "finishedAt": finished_at } } }] }),
        )
    }

    #[test]
    fn a_container_running_between_two_crashes_is_still_crash_looping() {
        let p = problem(now(), &[restarted("2025-01-01T11:59:57Z", false)]).expect("problem");
        assert_eq!(p.reason, "CrashLoopBackOff");
        assert_eq!(p.message, "container \"booking\" of pod b-1: CrashLoopBackOff; it last exited with code 2 (Error): panicked");
        assert_eq!(problem(now(), &[restarted("2025-01-01T11:59:57Z", true)]), None, "ready again: recovered");
        assert_eq!(problem(now(), &[restarted("2025-01-01T10:00:00Z", false)]), None, "an old crash is history");
    }

    #[test]
    fn a_long_termination_message_keeps_its_end() {
        let log = format!("{}THE END", "é".repeat(5000));
        let crashing = pod(
            "b-1",
            json!({ "containerStatuses": [{ "name": "booking", "image": "b:1", "imageID": "", "ready": false, "restartCount": 9,
                "state": { "waiting": { "reason": "CrashLoopBackOff" } },
                "lastState": { "terminated": { "exitCode": 101, "message": log } } }] }),
        );
        let p = problem(now(), &[crashing]).expect("problem");
        assert!(p.message.ends_with("THE END") && p.message.contains("code 101: "), "{}", p.message);
        let kept = p.message.split_once("code 101: ").expect("message").1;
        assert!(kept.len() <= TERMINATION_MESSAGE_BYTES && kept.len() >= TERMINATION_MESSAGE_BYTES - 1, "{}", kept.len());
    }

    #[test]
    fn the_most_fundamental_problem_wins_then_the_first_pod_by_name() {
        let pods = [
            waiting("b-3", "booking", "CrashLoopBackOff", ""),
            waiting("b-2", "booking", "ImagePullBackOff", "two"),
            waiting("b-1", "booking", "ImagePullBackOff", "one"),
        ];
        let p = problem(now(), &pods).expect("problem");
        assert_eq!((p.reason.as_str(), p.message.ends_with("one")), ("ImagePullBackOff", true), "{}", p.message);
    }

    #[test]
    fn terminating_and_finished_pods_are_ignored() {
        let mut going = waiting("b-1", "booking", "ImagePullBackOff", "");
        going.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now()));
        let mut failed = waiting("b-2", "booking", "CrashLoopBackOff", "");
        failed.status.as_mut().expect("status").phase = Some("Failed".into());
        assert_eq!(problem(now(), &[going, failed, running("b-3")]), None);
    }

    #[test]
    fn an_unschedulable_pod_says_why() {
        let pending = pod(
            "b-1",
            json!({ "phase": "Pending", "conditions": [{ "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/1 nodes are available: 1 Insufficient memory." }] }),
        );
        let p = problem(now(), &[pending]).expect("problem");
        assert_eq!(p.reason, UNSCHEDULABLE);
        assert_eq!(p.message, "pod b-1 cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory.");
    }

    #[test]
    fn a_pull_that_alternates_between_two_reasons_is_one_cause() {
        let cause = |reason| problem(now(), &[waiting("b-1", "booking", reason, "")]).expect("problem").cause;
        assert_eq!(cause("ErrImagePull"), cause("ImagePullBackOff"));
        assert_ne!(cause("ErrImagePull"), cause("CreateContainerConfigError"));
    }

    #[test]
    fn each_distinct_cause_is_new_once_until_the_object_is_healthy() {
        let log = CauseLog::default();
        assert!(log.is_new("sd/a", "ImagePull/booking/b:1", false));
        assert!(!log.is_new("sd/a", "ImagePull/booking/b:1", false), "the same cause again");
        assert!(log.is_new("sd/a", "ImagePull/booking/b:2", true), "another image is another cause");
        assert!(log.is_new("sd/b", "ImagePull/booking/b:2", false), "per object");
        log.forget("sd/a");
        assert!(log.is_new("sd/a", "ImagePull/booking/b:2", false), "a recurrence after recovery is reported again");
        assert!(!log.is_new("sd/c", "CrashLoopBackOff/booking/b:1", true), "already in status before a restart");
    }
}
