//! The open-loop load generator. Request `i` of a step is due at `t0 + i / rate`, whatever
//! happened to the requests before it, and its latency is measured from that intended start
//! (not from when it was actually sent), so a stalled server is charged for the requests it
//! delayed: latency corrected for coordinated omission, recorded in an HdrHistogram.
//!
//! Each request runs as its own task. At most `max_in_flight` run at once; a request due while
//! that many are outstanding is not sent and counts as an error (`dropped`), so a slow server
//! never slows the schedule down.
//!
//! A request may name its class ([`open_loop_classed`]): the step then also has each class's
//! percentiles. A [`Pace`] lengthens steps at low rates so every step rests on enough samples.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{sync::Semaphore, task::JoinSet, time::Instant};

/// What one request ended with: `Err(kind)` names the failure (`"status 500"`, `"timeout"`).
pub type Outcome = Result<(), String>;

/// One fixed-rate step of load.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Offered requests per second.
    pub rate: f64,
    /// How long requests are offered.
    pub duration: Duration,
    /// Requests outstanding at once before new ones are dropped.
    pub max_in_flight: usize,
}

/// The result of one step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Offered requests per second.
    pub offered_rps: f64,
    /// Requests due in the step.
    pub due: u64,
    /// Answered as expected.
    pub ok: u64,
    /// Failed, timed out, or dropped at the in-flight cap.
    pub errors: u64,
    /// Of the errors, requests never sent because `max_in_flight` were outstanding.
    pub dropped: u64,
    /// Successful answers per second, first due time to last completion.
    pub achieved_rps: f64,
    /// Latency percentiles of successful requests, from the intended start, in ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// Errors by kind.
    pub error_kinds: BTreeMap<String, u64>,
    /// Per request class (when the requests named one).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub classes: BTreeMap<String, ClassStats>,
}

/// One request class within a step.
#[derive(Debug, Clone, Serialize)]
pub struct ClassStats {
    /// Answered as expected.
    pub ok: u64,
    /// Failed or timed out (drops at the cap have no class).
    pub errors: u64,
    /// Latency percentiles from the intended start, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
}

/// How long a step at a given rate lasts: `step`, lengthened to `min_samples` requests at
/// low rates, but never beyond `max`.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The shortest step.
    pub step: Duration,
    /// Requests a step should rest on.
    pub min_samples: u64,
    /// The longest step.
    pub max: Duration,
}

impl Pace {
    /// The step length at `rate`.
    pub fn duration(&self, rate: f64) -> Duration {
        Duration::from_secs_f64(self.step.as_secs_f64().max(self.min_samples as f64 / rate).min(self.max.as_secs_f64()))
    }
}

impl Step {
    /// Share of due requests that failed.
    pub fn error_rate(&self) -> f64 {
        if self.due == 0 { 0.0 } else { self.errors as f64 / self.due as f64 }
    }

    /// Whether the step meets a latency objective: p99 under `p99_ms` and under 1% errors.
    pub fn meets(&self, p99_ms: f64) -> bool {
        self.ok > 0 && self.p99_ms < p99_ms && self.error_rate() < 0.01
    }
}

/// A latency histogram in microseconds (1 µs to 10 min, 3 significant digits).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

/// Percentile of a µs histogram, in ms.
pub fn ms(h: &Histogram<u64>, quantile: f64) -> f64 {
    if h.is_empty() { 0.0 } else { h.value_at_quantile(quantile) as f64 / 1000.0 }
}

/// Offer `request(i)` for i = 0, 1, … at `load.rate` for `load.duration`; wait (at most 30 s
/// after the last one is due) for the outstanding ones and summarise.
pub async fn open_loop<F, Fut>(load: Load, request: F) -> Step
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    open_loop_classed(load, |i| {
        let fut = request(i);
        async move { ("", fut.await) }
    })
    .await
}

/// [`open_loop`] where each request names its class: the step has every class's figures too.
pub async fn open_loop_classed<F, Fut>(load: Load, request: F) -> Step
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = (&'static str, Outcome)> + Send + 'static,
{
    let due = (load.rate * load.duration.as_secs_f64()).round().max(1.0) as u64;
    let hist = Arc::new(Mutex::new(histogram()));
    let kinds = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let classes = Arc::new(Mutex::new(BTreeMap::<&'static str, (Histogram<u64>, u64)>::new()));
    let permits = Arc::new(Semaphore::new(load.max_in_flight));
    let t0 = Instant::now() + Duration::from_millis(5);
    let mut tasks = JoinSet::new();
    let mut dropped = 0;
    for i in 0..due {
        let intended = t0 + Duration::from_secs_f64(i as f64 / load.rate);
        tokio::time::sleep_until(intended).await;
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            dropped += 1;
            continue;
        };
        let (fut, hist, kinds, classes) = (request(i), hist.clone(), kinds.clone(), classes.clone());
        tasks.spawn(async move {
            let (class, outcome) = fut.await;
            let took = intended.elapsed().as_micros().max(1) as u64;
            drop(permit);
            let mut classes = classes.lock().expect("classes");
            let (class_hist, class_errors) = classes.entry(class).or_insert_with(|| (histogram(), 0));
            match outcome {
                Ok(()) => {
                    hist.lock().expect("hist").saturating_record(took);
                    class_hist.saturating_record(took);
                }
                Err(kind) => {
                    *class_errors += 1;
                    *kinds.lock().expect("kinds").entry(kind).or_default() += 1;
                }
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    let last_due = t0 + Duration::from_secs_f64(due.saturating_sub(1) as f64 / load.rate);
    let unfinished =
        tokio::time::timeout_at(last_due + Duration::from_secs(30), async { while tasks.join_next().await.is_some() {} }).await.is_err();
    let finished = Instant::now();
    if unfinished {
        let left = tasks.len() as u64;
        tasks.abort_all();
        *kinds.lock().expect("kinds").entry("unfinished after 30 s".into()).or_default() += left;
    }
    let mut error_kinds = kinds.lock().expect("kinds").clone();
    if dropped > 0 {
        error_kinds.insert(format!("dropped at {} in flight", load.max_in_flight), dropped);
    }
    let h = hist.lock().expect("hist").clone();
    let ok = h.len();
    let classes = classes
        .lock()
        .expect("classes")
        .iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, (h, errors))| {
            let stats = ClassStats { ok: h.len(), errors: *errors, p50_ms: ms(h, 0.5), p99_ms: ms(h, 0.99), p999_ms: ms(h, 0.999) };
            ((*name).to_owned(), stats)
        })
        .collect();
    Step {
        offered_rps: load.rate,
        due,
        ok,
        errors: error_kinds.values().sum(),
        dropped,
        achieved_rps: ok as f64 / (finished - t0).as_secs_f64().max(1e-3),
        p50_ms: ms(&h, 0.5),
        p99_ms: ms(&h, 0.99),
        p999_ms: ms(&h, 0.999),
        max_ms: if h.is_empty() { 0.0 } else { h.max() as f64 / 1000.0 },
        error_kinds,
        classes,
    }
}

/// Rates to offer: `start`, doubling, up to `max`.
pub fn doubling(start: f64, max: f64) -> Vec<f64> {
    std::iter::successors(Some(start), |r| Some(r * 2.0)).take_while(|r| *r <= max).collect()
}

/// Offer rising rates until one misses `p99_ms` (when the first already misses, lower ones,
/// ÷4 each, until one meets it), then [`BISECTIONS`] steps, each halfway in log scale between
/// the highest rate that met it and the lowest that did not. Returns every step.
pub async fn ladder<F, Fut>(rates: &[f64], pace: Pace, max_in_flight: usize, p99_ms: f64, request: F) -> Vec<Step>
where
    F: Fn(u64) -> Fut + Clone,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    ladder_classed(rates, pace, max_in_flight, p99_ms, move |i| {
        let fut = request(i);
        async move { ("", fut.await) }
    })
    .await
}

/// [`ladder`] of requests that name their class.
pub async fn ladder_classed<F, Fut>(rates: &[f64], pace: Pace, max_in_flight: usize, p99_ms: f64, request: F) -> Vec<Step>
where
    F: Fn(u64) -> Fut + Clone,
    Fut: Future<Output = (&'static str, Outcome)> + Send + 'static,
{
    ladder_settled(rates, pace, max_in_flight, p99_ms, async || {}, request).await
}

/// [`ladder_classed`] that also waits for `settle` before each step but the first: for what
/// the system under test works off on its own after a step (a queue of events to publish, say).
pub async fn ladder_settled<F, Fut>(
    rates: &[f64],
    pace: Pace,
    max_in_flight: usize,
    p99_ms: f64,
    mut settle: impl AsyncFnMut(),
    request: F,
) -> Vec<Step>
where
    F: Fn(u64) -> Fut + Clone,
    Fut: Future<Output = (&'static str, Outcome)> + Send + 'static,
{
    // A pause before each step but the first, so work a server still has queued from the last
    // one (its clients gave up, it may not have) does not land on the next: 2 s, or 5 s after a
    // step with errors. After a step that missed, also until the machine is about as quiet as
    // before the first step: an overload leaves queues (requests, events, vacuum) whose work
    // would otherwise be charged to the next, lower, step.
    let calm = crate::profile::busy_cores(Duration::from_secs(1)).await;
    let (mut pause, mut missed) = (None, false);
    climb(
        rates,
        async |rate| {
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
                settle().await;
                if missed {
                    quiet(calm + QUIET_CORES, QUIET_WAIT).await;
                }
            }
            let step = open_loop_classed(Load { rate, duration: pace.duration(rate), max_in_flight }, request.clone()).await;
            eprintln!(
                "    {rate:>7.1} req/s offered: p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, {} errors of {}",
                step.p50_ms, step.p99_ms, step.p999_ms, step.errors, step.due
            );
            pause = Some(Duration::from_secs(if step.errors > 0 { 5 } else { 2 }));
            missed = !step.meets(p99_ms);
            step
        },
        |step| step.meets(p99_ms),
    )
    .await
}

/// Busy cores above those before a ladder's first step that count as quiet again.
pub const QUIET_CORES: f64 = 0.25;
/// How long a ladder waits at most for the machine to quiet after a step that missed.
pub const QUIET_WAIT: Duration = Duration::from_secs(30);

/// Wait until the machine keeps at most `cores` busy over a second, or `deadline` passed.
async fn quiet(cores: f64, deadline: Duration) {
    let started = Instant::now();
    loop {
        let busy = crate::profile::busy_cores(Duration::from_secs(1)).await;
        if busy <= cores || started.elapsed() >= deadline {
            eprintln!("    quiet after {:.0} s: {busy:.2} busy cores (at most {cores:.2} wanted)", started.elapsed().as_secs_f64());
            return;
        }
    }
}

/// The search for a capacity behind every ladder: `run` a step at each of `rates`, rising, until
/// one misses (`meets` is false); when the first already misses, at lower rates (÷4 each, three
/// times at most) until one meets; then [`BISECTIONS`] steps, each halfway in log scale between
/// the highest rate that met and the lowest that did not, so that a rate found by going down is
/// not reported as the capacity when one twice as high may hold, and the capacity is known to
/// within 2^(1/4) ≈ 19 %, not 2×. Returns every step, those found going down first.
pub async fn climb<T>(rates: &[f64], mut run: impl AsyncFnMut(f64) -> T, meets: impl Fn(&T) -> bool) -> Vec<T> {
    let mut steps = Vec::new();
    // The highest rate that met, and the lowest above it that missed.
    let mut passed = None;
    for &rate in rates {
        let step = run(rate).await;
        let met = meets(&step);
        steps.push(step);
        if met {
            passed = Some(rate);
            continue;
        }
        let mut missed = rate;
        if passed.is_none() {
            for lower in [rate / 4.0, rate / 16.0, rate / 64.0] {
                let step = run(lower).await;
                let met = meets(&step);
                steps.insert(0, step);
                if met {
                    passed = Some(lower);
                    break;
                }
                missed = lower;
            }
        }
        if let Some(mut lo) = passed {
            for _ in 0..BISECTIONS {
                let mid = (lo * missed).sqrt().round();
                let step = run(mid).await;
                if meets(&step) {
                    lo = mid;
                } else {
                    missed = mid;
                }
                steps.push(step);
            }
        }
        break;
    }
    steps
}

/// Steps that halve the gap between the highest rate met and the lowest missed.
const BISECTIONS: usize = 2;

/// The highest offered rate whose step met `p99_ms`.
pub fn max_rate_under(steps: &[Step], p99_ms: f64) -> Option<f64> {
    steps.iter().filter(|s| s.meets(p99_ms)).map(|s| s.offered_rps).reduce(f64::max)
}

/// A deterministic pseudo-random number for request `i` (splitmix64), so a run's requests
/// spread over users, hotels and dates the same way every time.
pub fn spread(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn latency_counts_from_the_intended_start_and_the_cap_drops() {
        // Every request takes 50 ms and only 2 may be in flight: at 100/s most are dropped,
        // and the ones sent are charged from when they were due.
        let load = Load { rate: 100.0, duration: Duration::from_millis(500), max_in_flight: 2 };
        let step = open_loop(load, |_| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(())
        })
        .await;
        assert_eq!(step.due, 50);
        assert!(step.dropped > 30, "{step:?}");
        assert_eq!(step.ok + step.errors, step.due);
        assert!(step.p50_ms >= 50.0, "{step:?}");
    }

    #[tokio::test]
    async fn errors_are_counted_by_kind() {
        let load = Load { rate: 200.0, duration: Duration::from_millis(100), max_in_flight: 100 };
        let step = open_loop(load, |i| async move { if i % 2 == 0 { Ok(()) } else { Err("status 500".into()) } }).await;
        assert_eq!((step.ok, step.errors, step.error_kinds.get("status 500").copied()), (10, 10, Some(10)));
        assert!(!step.meets(100.0));
    }

    #[tokio::test]
    async fn classes_get_their_own_percentiles() {
        let load = Load { rate: 200.0, duration: Duration::from_millis(200), max_in_flight: 100 };
        let step = open_loop_classed(load, |i| async move {
            if i % 2 == 0 {
                tokio::time::sleep(Duration::from_millis(30)).await;
                ("slow", Ok(()))
            } else {
                ("fast", if i % 4 == 1 { Err("status 500".into()) } else { Ok(()) })
            }
        })
        .await;
        let (slow, fast) = (&step.classes["slow"], &step.classes["fast"]);
        assert_eq!((slow.ok, slow.errors, fast.ok, fast.errors), (20, 0, 10, 10), "{step:?}");
        assert!(slow.p50_ms >= 30.0 && fast.p99_ms < slow.p50_ms, "{step:?}");
    }

    #[test]
    fn low_rates_get_longer_steps_up_to_the_cap() {
        let pace = Pace { step: Duration::from_secs(8), min_samples: 2000, max: Duration::from_secs(120) };
        assert_eq!(pace.duration(1000.0), Duration::from_secs(8));
        assert_eq!(pace.duration(100.0), Duration::from_secs(20));
        assert_eq!(pace.duration(5.0), Duration::from_secs(120));
    }

    #[tokio::test]
    async fn a_first_rate_that_misses_is_followed_down_and_then_halfway_back_up_twice() {
        // 30 ms a request and at most 3 in flight: 200/s (6 needed) drops requests, 50/s (1.5
        // needed) keeps up, with room for a loaded machine's late timers.
        let pace = Pace { step: Duration::from_millis(400), min_samples: 1, max: Duration::from_secs(1) };
        let steps = ladder(&[200.0], pace, 3, 100.0, |_| async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(())
        })
        .await;
        let offered: Vec<f64> = steps.iter().map(|s| s.offered_rps).collect();
        // Down ÷4 to 50, which holds, then halfway (in log scale) between 50 and 200: 100, near
        // the limit, which decides where the second halving goes.
        assert_eq!(offered.len(), 4, "down ÷4, then halfway back up, twice: {steps:?}");
        assert_eq!(offered[..3], [50.0, 200.0, 100.0], "down ÷4, then halfway back up: {steps:?}");
        assert!([71.0, 141.0].contains(&offered[3]), "the second halving is on the side the first found: {steps:?}");
        assert!(steps[0].meets(100.0) && !steps[1].meets(100.0), "{steps:?}");
    }

    #[tokio::test]
    async fn a_climb_bisects_above_the_last_rate_met_and_below_the_first_missed() {
        // A system that holds up to 60/s, judged without any load.
        let holds = |rate: &f64| *rate <= 60.0;
        let mut offered = Vec::new();
        let steps = climb(
            &[25.0, 50.0, 100.0, 200.0],
            async |rate| {
                offered.push(rate);
                rate
            },
            holds,
        )
        .await;
        assert_eq!(offered, vec![25.0, 50.0, 100.0, 71.0, 60.0], "up until 100 missed, then between 50 and 100 twice");
        assert_eq!(steps, offered);
        // When the first rate misses, it goes down first; what it found going down comes first.
        let steps = climb(&[200.0], async |rate| rate, |rate| *rate <= 80.0).await;
        assert_eq!(steps, vec![50.0, 200.0, 100.0, 71.0]);
        // A first rate that holds is all there is to it.
        assert_eq!(climb(&[50.0], async |rate| rate, holds).await, vec![50.0]);
    }

    #[test]
    fn rates_double_up_to_the_cap() {
        assert_eq!(doubling(50.0, 400.0), vec![50.0, 100.0, 200.0, 400.0]);
    }
}
