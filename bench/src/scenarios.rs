//! The scenarios in order, each turned into report rows next to its ceiling, at each size
//! (`--size`): the seed, the hotel-site mix, each request class alone, the race for the last
//! rooms (capacity), booking without contention (capacity), the read models' lag at a
//! sustained booking rate (and the highest rate that keeps it under its objective: capacity),
//! the saga; then the operator and the roll. Every capacity (the mix's, contention's, booking's
//! and the lag's) comes from one search, [`load::climb`]. Durations come from
//! [`Sizes`]; `--quick` is the small size with short steps.

use crate::{
    Args, baselines,
    booking::{self, p50_p99},
    load::{self, Load, Pace, Step, doubling, ladder, ladder_classed, max_rate_under, open_loop_classed, spread},
    operator, profile,
    report::{ClassRow, Report, Row},
    roll, seed,
    site::{self, CLASSES, Site, expect},
};
use serde_json::Value;
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tripnest_common::events::topics;
use tripnest_e2e::{Stack, platform::Platform, process::ServiceProcess};

/// The criterion benchmarks reported with the run (from `make bench`).
pub const CRITERION: [&str; 8] = [
    "nightly_price",
    "inventory_plan_365_nights",
    "jwt_verify_new_token",
    "jwt_verify_seen_token",
    "jwt_sign",
    "event_serialize_booking_created",
    "event_parse_booking_created",
    "rate_limit_gcra_redis",
];

/// The latency objective of the mix.
const P99_OBJECTIVE_MS: f64 = 100.0;
/// Requests outstanding before the generator drops new ones.
const MAX_IN_FLIGHT: usize = 512;

/// How long each scenario is.
#[derive(Debug, Clone)]
pub struct Sizes {
    pace: Pace,
    mix_rates: Vec<f64>,
    bare_rates: Vec<f64>,
    class_rate: f64,
    contention_rates: Vec<f64>,
    contention_nights: u64,
    contention_rooms: i32,
    booking_rates: Vec<f64>,
    lag: Load,
    lag_samples: u64,
    /// Whether the lag scenario also finds the highest rate that keeps its objective.
    lag_capacity: bool,
    saga: Load,
    operator_n: Vec<usize>,
    roll_room_types: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        let load = |rate: f64, secs: u64| Load { rate, duration: Duration::from_secs(secs), max_in_flight: MAX_IN_FLIGHT };
        if quick {
            Self {
                pace: Pace { step: Duration::from_secs(2), min_samples: 0, max: Duration::from_secs(5) },
                mix_rates: vec![20.0, 80.0, 320.0],
                bare_rates: vec![20.0, 80.0, 320.0, 1280.0],
                class_rate: 50.0,
                contention_rates: vec![100.0, 400.0],
                contention_nights: 10,
                contention_rooms: 3,
                booking_rates: vec![50.0, 200.0],
                lag: load(200.0, 10),
                lag_samples: 10,
                lag_capacity: false,
                saga: load(5.0, 3),
                operator_n: vec![20],
                roll_room_types: 100,
            }
        } else {
            Self {
                pace: Pace { step: Duration::from_secs(8), min_samples: 2_000, max: Duration::from_secs(100) },
                mix_rates: doubling(25.0, 3200.0),
                bare_rates: doubling(25.0, 12800.0),
                class_rate: 50.0,
                contention_rates: doubling(50.0, 3200.0),
                contention_nights: 20,
                contention_rooms: 5,
                booking_rates: doubling(50.0, 3200.0),
                lag: load(200.0, 60),
                lag_samples: 60,
                lag_capacity: true,
                saga: load(20.0, 100),
                operator_n: vec![100, 500, 1000],
                roll_room_types: 1000,
            }
        }
    }
}

/// Run every selected scenario at every selected size and fill `report`.
pub async fn run(args: &Args, report: &mut Report) -> anyhow::Result<()> {
    let sizes = Sizes::new(args.quick);
    let stack = Stack::load();
    report.setup.push(format!(
        "services: every TripNest binary as its own process ({} profile) on loopback, behind the gateway, on the shared local stack \
         (PostgreSQL, Redis, Kafka, FerretDB, kube-apiserver); other work on this 2-core machine adds noise, which is why each figure has a same-run ceiling",
        report.machine.profile
    ));
    report.setup.push(
        "gateway rate limits raised to 60,000,000/min (burst 1,000,000) for every class: the GCRA call to Redis stays on every request, 429s never happen, so the mix measures the services, not the limiter".into(),
    );
    report.setup.push(format!(
        "generator: open loop, one pooled reqwest client, each request its own task, at most {MAX_IN_FLIGHT} in flight (a request due beyond that is dropped and counted as an error); latency from the intended start (HdrHistogram, coordinated omission corrected); p99 objective {P99_OBJECTIVE_MS} ms with < 1% errors; a step lasts {} s, lengthened to {} requests at low rates (at most {} s), with a 2 s pause between steps (5 s after a step with errors) and, after a step that missed, a wait until the machine's busy cores are within {quiet} of what they were before the first step (at most {quiet_wait} s); rates rise ×2 until the objective is missed (or fall ÷4 until it is met, when the first already missed), then two steps each at the geometric midpoint of the highest rate that met it and the lowest that did not (capacity known to within 19 %)",
        sizes.pace.step.as_secs(),
        sizes.pace.min_samples,
        sizes.pace.max.as_secs(),
        quiet = load::QUIET_CORES,
        quiet_wait = load::QUIET_WAIT.as_secs(),
    ));
    report.setup.push(
        "ceilings: bare axum = an in-process axum server on its own 2-thread runtime answering the same search JSON, driven by the same generator at the same rates; \
         pgbench = booking's create transaction, the service's two statements (key claim, room-type read, the conditional UPDATE hold and the booking insert in one; the two outbox events and the key's completion in the other; \
         rollback and key release when sold out) on a scratch database with the same calendar, `-M prepared`, 16 connections, as many transactions as the scenario sent, \
         run while payment, notification and the read models are paused, as for the booking path alone; \
         Kafka = produce (the services' producer settings) → consume on a fresh one-partition topic at the saga's rate; \
         roll = `INSERT … SELECT generate_series` of the same rows into a copy of the calendar table"
            .into(),
    );
    report
        .setup
        .push("criterion: means read from target/criterion, written by the `cargo bench` step of `make bench` just before this run".into());
    let platform_scenarios = ["mix", "classes", "contention", "booking", "lag", "saga"];
    if platform_scenarios.iter().any(|s| args.runs(s)) {
        for size in args.sizes() {
            let plan = size.plan();
            eprintln!("[{}] starting the platform on the seed {}", size.name(), seed::pin(size));
            let site = Arc::new(Site::start(size, Duration::from_secs(args.catch_up)).await?);
            seed_rows(&site, report);
            report.seeds.push(site.seed.clone());
            report.setup.push(format!(
                "seed {} (`{}`): {} hotels in {} cities (booking's catalog API: one `double` room type, {} rooms, a {}-night calendar rolled by the inventory API), \
                 {} travellers registered through the user API (the login and signed-in classes use them; each registration and login costs a password hash, so the pool is the same {} at both sizes), \
                 {} confirmed past stays (`booking.confirmed` events, as booking publishes them) whose guests are the registered pool plus synthetic user ids, {} travellers in all, \
                 each with a review (`review.created` and the hotel's running `hotel.rating.updated`, as the review service publishes them); \
                 notification is stopped while the stays are published and its group moved past them. Cached: the platform runs on databases, topics and consumer groups named after the seed, \
                 and a marker in `{}_bench` makes the next run reuse it; bookings made by earlier runs stay in it until they reach {:.0} % of its past stays, when the next run drops the seed and seeds afresh. \
                 Before measuring, every table and index of the seed's databases (FerretDB's included) is read into PostgreSQL's buffers (`pg_prewarm`; the stack runs 1 GB of them)",
                size.name(),
                seed::pin(size),
                plan.hotels,
                plan.cities,
                seed::ROOMS,
                seed::HORIZON_DAYS,
                plan.pool,
                plan.pool,
                plan.stays,
                plan.travellers,
                seed::pin(size),
                seed::USED_UP_SHARE * 100.0
            ));
            let (_, search_body) = site.search_sample().await?;
            let bare_url = baselines::bare_handler(search_body);
            if args.runs("mix") {
                site.sign_in_again().await?;
                mix(&site, &bare_url, &sizes, report).await;
                checkpoint(args, report);
            }
            if args.runs("classes") {
                site.sign_in_again().await?;
                classes(&site, &sizes, report).await;
                checkpoint(args, report);
            }
            if args.runs("contention") {
                site.sign_in_again().await?;
                contention(&site, &stack, &sizes, report).await?;
                checkpoint(args, report);
            }
            if args.runs("booking") {
                site.sign_in_again().await?;
                uncontended(&site, &stack, &sizes, report).await?;
                checkpoint(args, report);
            }
            if args.runs("lag") {
                site.sign_in_again().await?;
                lag(&site, &stack, &sizes, report).await?;
                checkpoint(args, report);
            }
            if args.runs("saga") {
                site.sign_in_again().await?;
                saga(&site, &stack, &sizes, report).await?;
                checkpoint(args, report);
            }
        }
    }
    if args.runs("operator") {
        operator_scale(&stack, &sizes, report).await?;
    }
    if args.runs("roll") {
        eprintln!("[5] inventory roll: 365 nights × {} room types", sizes.roll_room_types);
        let r = roll::roll(&stack, sizes.roll_room_types).await?;
        report.rows.push(
            Row::new(
                "5 inventory roll",
                format!("365 nights × {} room types", sizes.roll_room_types),
                "rows/s",
                Some(r.roll_rows_per_s),
                "INSERT … SELECT generate_series, same rows",
                Some(r.insert_rows_per_s),
            )
            .note(format!("{} rows; roll_inventory one room type at a time, as the CronJob does", r.rows)),
        );
    }
    Ok(())
}

fn bare_request(http: &reqwest::Client, url: &str) -> impl Fn(u64) -> futures::future::BoxFuture<'static, load::Outcome> + Clone {
    let (http, url) = (http.clone(), url.to_owned());
    move |_| {
        let (http, url) = (http.clone(), url.clone());
        Box::pin(async move { expect(http.get(url).send().await, &[200]).await })
    }
}

fn at_rate(steps: &[Step], rate: f64) -> Option<&Step> {
    steps.iter().find(|s| (s.offered_rps - rate).abs() < 0.5)
}

/// Write what the run has so far (a later phase that fails or runs out of time leaves it).
fn checkpoint(args: &Args, report: &Report) {
    if let Err(e) = report.write(&args.out_dir()) {
        eprintln!("could not write the partial results: {e}");
    }
}

/// The scenario label with the size: `1 hotel-site mix [small]`.
fn label(site: &Site, scenario: &str) -> String {
    format!("{scenario} [{}]", site.size.name())
}

fn seed_rows(site: &Site, report: &mut Report) {
    let s = label(site, "0 seed");
    let r = &site.seed;
    report.rows.push(Row::new(&s, "time to publish the seed (first run)", "s", Some(r.seed_seconds), "–", None).note(
        match (r.seeded_now, r.replaced_after) {
            (true, Some(n)) => format!(
                "seeded in this run: the cached seed was used up (earlier runs had made {n} bookings on it, ≥ {:.0} % of its past stays) and dropped",
                seed::USED_UP_SHARE * 100.0
            ),
            (true, None) => "seeded in this run".to_owned(),
            (false, _) => format!(
                "cached: seeded by an earlier run (replaced once runs have made bookings for {:.0} % of its past stays)",
                seed::USED_UP_SHARE * 100.0
            ),
        },
    ));
    report.rows.push(
        Row::new(&s, "every consumer (read models and saga) caught up after", "s", Some(r.catch_up_seconds), "–", None)
            .note(format!("consumer-group lag left (events): {:?}", r.lag_left)),
    );
    report.rows.push(
        Row::new(&s, "PostgreSQL databases", "MB", Some(r.postgres_mb.values().sum()), "–", None)
            .note(format!("rows: {:?}; topic messages: {:?}", r.rows, r.topic_messages)),
    );
}

fn class_rows(site: &Site, scenario: &str, step: &Step, report: &mut Report) {
    for (class, stats) in &step.classes {
        report.classes.push(ClassRow {
            size: site.size.name().into(),
            scenario: scenario.into(),
            class: class.clone(),
            stats: stats.clone(),
        });
    }
}

async fn mix(site: &Arc<Site>, bare_url: &str, sizes: &Sizes, report: &mut Report) {
    eprintln!("[1] hotel-site mix through the gateway");
    let tripnest = ladder_classed(&sizes.mix_rates, sizes.pace, MAX_IN_FLIGHT, P99_OBJECTIVE_MS, {
        let site = site.clone();
        move |i| site.clone().mix_request(i)
    })
    .await;
    eprintln!("[1] bare axum handler, same JSON");
    // Every rate TripNest was offered (so each has a same-rate ceiling), then on up.
    let mut rates: Vec<f64> = tripnest.iter().map(|s| s.offered_rps).chain(sizes.bare_rates.iter().copied()).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let bare = ladder(&rates, sizes.pace, MAX_IN_FLIGHT, P99_OBJECTIVE_MS, bare_request(&site.http, bare_url)).await;
    let (max_t, max_b) = (max_rate_under(&tripnest, P99_OBJECTIVE_MS), max_rate_under(&bare, P99_OBJECTIVE_MS));
    let bare_never_missed = bare.iter().all(|s| s.meets(P99_OBJECTIVE_MS));
    let s = label(site, "1 hotel-site mix");
    report.rows.push(Row::new(&s, "highest offered rate with p99 < 100 ms", "req/s", max_t, "bare axum handler, same JSON", max_b).note(
        if bare_never_missed {
            "the bare handler met the objective at every rate offered: its ceiling is at least this".to_owned()
        } else {
            String::new()
        },
    ));
    let rate = max_t.or_else(|| tripnest.first().map(|s| s.offered_rps)).unwrap_or(0.0);
    if let Some(t) = at_rate(&tripnest, rate) {
        let b = at_rate(&bare, rate);
        for (name, value, base) in
            [("p50", t.p50_ms, b.map(|b| b.p50_ms)), ("p99", t.p99_ms, b.map(|b| b.p99_ms)), ("p99.9", t.p999_ms, b.map(|b| b.p999_ms))]
        {
            report.rows.push(Row::new(&s, format!("{name} at {rate:.0} req/s"), "ms", Some(value), "bare axum handler, same rate", base));
        }
        report.rows.push(
            Row::new(
                &s,
                format!("errors at {rate:.0} req/s"),
                "% of requests",
                Some(100.0 * t.error_rate()),
                "bare axum handler, same rate",
                b.map(|b| 100.0 * b.error_rate()),
            )
            .note(t.error_kinds.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", ")),
        );
        class_rows(site, &format!("mix at {rate:.0} req/s"), t, report);
    }
    report.steps.insert(format!("{s}: TripNest (gateway)"), tripnest);
    report.steps.insert(format!("{s}: bare axum"), bare);
}

/// Each request class alone at the class rate (50 req/s), through the gateway.
async fn classes(site: &Arc<Site>, sizes: &Sizes, report: &mut Report) {
    let rate = sizes.class_rate;
    let load = Load { rate, duration: sizes.pace.duration(rate), max_in_flight: MAX_IN_FLIGHT };
    let s = label(site, "1c request classes alone");
    let mut steps = Vec::new();
    for class in CLASSES {
        eprintln!("[1c] {class} alone at {rate} req/s for {:.0} s", load.duration.as_secs_f64());
        tokio::time::sleep(Duration::from_secs(2)).await;
        let step = open_loop_classed(load, {
            let site = site.clone();
            move |i| site.clone().class_request(class, i)
        })
        .await;
        eprintln!(
            "    p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, {} errors of {}",
            step.p50_ms, step.p99_ms, step.p999_ms, step.errors, step.due
        );
        class_rows(site, &format!("alone at {rate:.0} req/s"), &step, report);
        if matches!(class, "recommendation" | "search miss") {
            report.rows.push(
                Row::new(&s, format!("{class} p50 at {rate:.0} req/s"), "ms", Some(step.p50_ms), "the bar", Some(10.0))
                    .note(format!("p99 {:.1} ms, p99.9 {:.1} ms, {} errors of {}", step.p99_ms, step.p999_ms, step.errors, step.due)),
            );
        }
        steps.push(step);
    }
    report.steps.insert(format!("{s}: one class per step ({})", CLASSES.join(", ")), steps);
}

/// The race for the last rooms, each step on a fresh hotel, at the rates [`load::climb`] offers:
/// capacity is the highest rate that keeps p99 < 100 ms, < 1% errors and oversells nothing.
async fn contention(site: &Arc<Site>, stack: &Stack, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    let (nights, rooms) = (sizes.contention_nights, sizes.contention_rooms);
    let s = label(site, "2 contention");
    let runs = load::climb(
        &sizes.contention_rates,
        async |rate| {
            let load = Load { rate, duration: sizes.pace.duration(rate), max_in_flight: MAX_IN_FLIGHT };
            eprintln!("[2] contention: {rate} req/s for {:.0} s racing for {nights} nights × {rooms} rooms", load.duration.as_secs_f64());
            tokio::time::sleep(Duration::from_secs(2)).await;
            let c = booking::contention(site.clone(), load, nights, rooms).await;
            if let Ok(c) = &c {
                eprintln!(
                    "    p50 {:.1} ms, p99 {:.1} ms, {} errors of {}; {} held, {} confirmed of {} rooms",
                    c.step.p50_ms, c.step.p99_ms, c.step.errors, c.step.due, c.held, c.confirmed, c.rooms
                );
            }
            c
        },
        |c| c.as_ref().is_ok_and(|c| c.step.meets(P99_OBJECTIVE_MS) && c.safe()),
    )
    .await;
    let runs = runs.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let capacity = runs.iter().filter(|c| c.step.meets(P99_OBJECTIVE_MS) && c.safe()).map(|c| c.step.offered_rps).reduce(f64::max);
    let oversold: Vec<String> = runs
        .iter()
        .filter(|c| !c.safe())
        .map(|c| format!("{:.0} req/s: {} held, {} confirmed for {} rooms", c.step.offered_rps, c.held, c.confirmed, c.rooms))
        .collect();
    let due = runs.iter().map(|c| c.step.due).max().unwrap_or(0);
    let steps: Vec<Step> = runs.into_iter().map(|c| c.step).collect();
    let pg = booking::pgbench_holds(stack, nights, rooms, due as u32).await?;
    report.rows.push(
        Row::new(
            &s,
            "capacity: highest offered rate with p99 < 100 ms, < 1% errors, oversold 0",
            "bookings/s",
            capacity,
            "pgbench: booking's hold transaction, same calendar, 16 connections",
            Some(pg.tps),
        )
        .note(format!("{} steps; pgbench mean {:.1} ms per transaction", steps.len(), pg.latency_ms)),
    );
    report.rows.push(Row::new(&s, "oversold steps", "steps", Some(oversold.len() as f64), "–", None).note(if oversold.is_empty() {
        "check passed at every rate: never more held or confirmed than rooms, on every night".to_owned()
    } else {
        format!("FAILED: {}", oversold.join("; "))
    }));
    report.steps.insert(format!("{s}: TripNest (gateway), a fresh hotel per step"), steps);
    Ok(())
}

/// Booking creation without contention (spread over every seeded hotel and night) at rising
/// rates, against pgbench of the same transaction with rooms that never run out: first on the
/// whole platform (the saga and the read models share the machine with it), then the booking
/// path alone (gateway, booking, its database and relay, Kafka), with payment, notification and
/// the read models paused, which is what pgbench is a ceiling of. The paused consumers catch up
/// afterwards from their committed offsets; the scenario waits for them.
async fn uncontended(site: &Arc<Site>, stack: &Stack, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    let request = {
        let site = site.clone();
        move |i| site.clone().class_request("booking", i)
    };
    eprintln!("[2b] booking creation without contention, on the whole platform");
    let (statements, cpu) = (profile::Statements::reset(stack).await, profile::Cpu::now());
    let whole_steps = ladder_classed(&sizes.booking_rates, sizes.pace, MAX_IN_FLIGHT, P99_OBJECTIVE_MS, request.clone()).await;
    let cores = cpu.cores_since();
    let booked: u64 = whole_steps.iter().map(|s| s.due.saturating_sub(s.errors)).sum();
    let due = whole_steps.iter().map(|s| s.due).max().unwrap_or(1000);
    let whole = label(site, "2b booking, no contention");
    // Its capacity row goes first, once the ceiling is known.
    let capacity_at = report.rows.len();
    profile_rows(&whole, "the rising rates (pauses included)", &cores, statements.as_ref(), booked, report).await;

    eprintln!("[2b] the booking path alone: payment, notification and the read models paused");
    // Alone the path holds hundreds a second: its ladder starts higher, so that the consumers
    // are left fewer bookings to catch up with afterwards (the ladder still goes down when its
    // first rate misses).
    let alone_rates: Vec<f64> = sizes.booking_rates.iter().copied().filter(|&r| r >= ALONE_FROM).collect();
    let (pg, steps, cores, statements) = {
        let _paused = Paused::consumers(&site.platform);
        let (statements, cpu) = (profile::Statements::reset(stack).await, profile::Cpu::now());
        // Each step starts once booking's outbox is empty: an overloaded step leaves events to
        // publish, and the next step would otherwise be measured behind them.
        let settle = async || outbox_drained(site).await;
        let steps = load::ladder_settled(&alone_rates, sizes.pace, MAX_IN_FLIGHT, P99_OBJECTIVE_MS, settle, request).await;
        let cores = cpu.cores_since();
        // The ceiling runs on the same quiet machine as the path alone: not while the consumers
        // work off what the whole platform's steps left them (a run that did measured 1,494 tps
        // with 1.9 cores busy), and after the path's steps, which it would otherwise leave its
        // writes to flush and vacuum.
        let pg = booking::pgbench_holds(stack, 300, seed::ROOMS * 1000, due as u32).await?;
        (pg, steps, cores, statements)
    };
    let resumed = std::time::Instant::now();
    report.rows.insert(capacity_at, capacity_row(&whole, &whole_steps, &pg, "the saga and the read models run beside it"));
    report.steps.insert(format!("{whole}: POST /api/bookings over every seeded hotel"), whole_steps);

    let booked: u64 = steps.iter().map(|s| s.due.saturating_sub(s.errors)).sum();
    let left: i64 = seed::wait_caught_up(&site.platform, seed::consumers(&site.platform), BACKLOG_DRAIN, "2b").await?.values().sum();
    let drained = resumed.elapsed().as_secs_f64();
    let s = label(site, "2b booking alone, no contention");
    let caught_up = if left == 0 {
        format!("every consumer caught up with its {booked} bookings {drained:.0} s after the steps")
    } else {
        format!("the consumers were still {left} events behind {drained:.0} s after the steps")
    };
    let beside = format!("payment, notification and the read models paused (SIGSTOP) during the steps; {caught_up}");
    report.rows.push(capacity_row(&s, &steps, &pg, &beside));
    profile_rows(&s, "the rising rates (pauses included)", &cores, statements.as_ref(), booked, report).await;
    report.steps.insert(format!("{s}: POST /api/bookings over every seeded hotel"), steps);
    Ok(())
}

/// The lowest rate of the booking path's ladder alone (bookings/s).
const ALONE_FROM: f64 = 200.0;

/// How long the scenarios wait at most for the consumers to finish a backlog they left.
const BACKLOG_DRAIN: Duration = Duration::from_secs(600);

/// The booking capacity row of [`uncontended`]: the highest rate that kept the objective,
/// against pgbench of the same transaction.
fn capacity_row(s: &str, steps: &[Step], pg: &baselines::Pgbench, beside: &str) -> Row {
    Row::new(
        s,
        "capacity: highest offered rate with p99 < 100 ms and < 1% errors",
        "bookings/s",
        max_rate_under(steps, P99_OBJECTIVE_MS),
        "pgbench: booking's create transaction, rooms never run out, 16 connections",
        Some(pg.tps),
    )
    .note(format!("the bar: ratio ≥ 0.50; pgbench mean {:.1} ms per transaction; {beside}", pg.latency_ms))
}

/// Payment, notification and the read models paused (SIGSTOP) while this lives; resumed when
/// it drops, whatever happened meanwhile.
struct Paused<'a>(Vec<&'a ServiceProcess>);

impl<'a> Paused<'a> {
    fn consumers(platform: &'a Platform) -> Self {
        let mut paused = vec![&platform.payment, &platform.notification];
        if let Some(edge) = &platform.edge {
            paused.extend([&edge.search, &edge.review, &edge.recommendation]);
        }
        for p in &paused {
            p.pause();
        }
        Self(paused)
    }
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        for p in &self.0 {
            p.resume();
        }
    }
}

/// What one sampled booking of the lag scenario saw.
#[derive(Debug, Default, Clone)]
struct Sample {
    booking: Option<String>,
    /// When search first showed both the rooms taken and the popularity counted.
    seen: Option<chrono::DateTime<chrono::Utc>>,
}

/// Rooms left (search's results for the hotel's city and dates, read past the cache) and the
/// popularity (search's hotel page) of `hotel`.
async fn search_view(site: &Site, hotel: &str, city: &str, from: u64) -> Option<(i64, i64)> {
    Some((rooms_left(site, hotel, city, from).await?, popularity(site, hotel).await?))
}

/// What a traveller searching `city` for the night `from` sees left of `hotel`'s first room
/// type: the search a user makes (the result cache included, which a change invalidates at
/// once, see search's `cache` module).
async fn rooms_left(site: &Site, hotel: &str, city: &str, from: u64) -> Option<i64> {
    let url = format!(
        "{}/hotels?city={city}&checkIn={}&checkOut={}&guests=1&rooms=1&pageSize=100",
        site.api,
        site::day(from),
        site::day(from + 1),
    );
    let list: Value = site.http.get(url).send().await.ok()?.json().await.ok()?;
    let hit = list["items"].as_array()?.iter().find(|h| h["id"] == hotel)?;
    hit["roomTypes"][0]["available"].as_i64()
}

/// `hotel`'s popularity on its page in search.
async fn popularity(site: &Site, hotel: &str) -> Option<i64> {
    let page: Value = site.http.get(format!("{}/hotels/{hotel}", site.api)).send().await.ok()?.json().await.ok()?;
    page["popularity"].as_i64()
}

/// Every `kafka_consumer_*lag*` sample on the read models' `/metrics` (`search: name{labels}` → value).
async fn lag_metrics(site: &Site) -> Vec<(String, f64)> {
    let Some(edge) = site.platform.edge.as_ref() else { return Vec::new() };
    let mut found = Vec::new();
    for service in [&edge.search, &edge.recommendation, &edge.review] {
        let Ok(r) = site.http.get(format!("{}/metrics", service.ops_url)).send().await else { continue };
        let Ok(text) = r.text().await else { continue };
        for line in text.lines().filter(|l| l.starts_with("kafka_consumer") && l.contains("lag")) {
            if let Some((name, value)) = line.rsplit_once(' ')
                && let Ok(v) = value.parse::<f64>()
            {
                found.push((format!("{}: {name}", service.name), v));
            }
        }
    }
    found
}

/// What the lag scenario's load at one rate saw.
struct LagRun {
    load: Load,
    /// `POST /api/bookings` of the whole load.
    step: Step,
    /// `booking.confirmed` → search shows it, of the sampled bookings (µs).
    shown: hdrhistogram::Histogram<u64>,
    /// `booking.created` → `booking.confirmed` of the same bookings (µs).
    saga: hdrhistogram::Histogram<u64>,
    /// Sampled bookings confirmed but not shown within the watch, and never confirmed.
    unseen: u64,
    unconfirmed: u64,
    /// Sampled hotels search did not show before the load.
    not_measurable: usize,
    /// The highest lag of each read model's group, read from Kafka every second.
    max_lag: BTreeMap<String, i64>,
    /// The highest value of each `kafka_consumer_*lag*` sample on the read models' `/metrics`.
    max_metrics: BTreeMap<String, f64>,
    /// Per group: when it caught up after the load (or that it had not).
    per_group: BTreeMap<String, String>,
    /// Seconds after the load until every read model had caught up (`None`: not by the end).
    caught_up: Option<f64>,
    /// Seconds watched after the load.
    watched: f64,
    /// Cores each process used during the load.
    cores: Vec<(String, f64)>,
}

/// The lag objective: `booking.confirmed` → search shows it, p99.
const LAG_OBJECTIVE_MS: f64 = 1000.0;

impl LagRun {
    /// Every sampled booking was confirmed and shown, with p99 under [`LAG_OBJECTIVE_MS`], and
    /// under 1 % of the bookings failed.
    fn meets(&self) -> bool {
        !self.shown.is_empty()
            && self.unseen == 0
            && self.unconfirmed == 0
            && load::ms(&self.shown, 0.99) < LAG_OBJECTIVE_MS
            && self.step.error_rate() < 0.01
    }

    /// The sampled bookings' lag in the shape of a load step (for the steps table).
    fn lag_step(&self) -> Step {
        let h = &self.shown;
        Step {
            offered_rps: self.load.rate,
            due: h.len() + self.unseen + self.unconfirmed,
            ok: h.len(),
            errors: self.unseen + self.unconfirmed,
            dropped: 0,
            achieved_rps: self.step.achieved_rps,
            p50_ms: load::ms(h, 0.5),
            p99_ms: load::ms(h, 0.99),
            p999_ms: load::ms(h, 0.999),
            max_ms: if h.is_empty() { 0.0 } else { h.max() as f64 / 1000.0 },
            error_kinds: [("not shown within the watch", self.unseen), ("never confirmed", self.unconfirmed)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| (k.to_owned(), n))
                .collect(),
            classes: BTreeMap::new(),
        }
    }
}

/// Bookings at `load`; for a sample (each on a hotel no other booking of the load touches) the
/// time from its `booking.confirmed` (read from the topic) until search shows the change, and
/// the read models' consumer lag sampled every second from Kafka. `round` numbers the loads of
/// a run: each samples other nights.
async fn lag_run(site: &Arc<Site>, load: Load, samples: u64, round: u64) -> anyhow::Result<LagRun> {
    let n = site.hotels.len();
    let samples = samples.min(n as u64 / 2);
    let every = ((load.rate * load.duration.as_secs_f64()) as u64 / samples).max(1);
    eprintln!("[6] read-model lag: {} bookings/s for {} s, {samples} sampled", load.rate, load.duration.as_secs());
    // Sample j books hotel n-1-j for one night; everything else avoids those hotels.
    let plan: Vec<(String, String, u64)> = (0..samples as usize)
        .map(|j| {
            let (id, city) = site.hotels[n - 1 - j].clone();
            (id, city, 100 + site.stay_choice(j as u64 + 1000 * round) % 200)
        })
        .collect();
    let mut before = Vec::new();
    for (hotel, city, from) in plan.iter() {
        before.push(search_view(site, hotel, city, *from).await);
    }
    let measurable = before.iter().filter(|b| b.is_some()).count();
    // A sampled hotel that search does not show before the run (its night sold out by earlier
    // runs on the cached seed) cannot show a change; it is counted, not measured.
    anyhow::ensure!(measurable > 0, "search shows none of the {} sampled hotels before the run: nothing could be measured", plan.len());
    let found: Arc<Mutex<Vec<Sample>>> = Arc::new(Mutex::new(vec![Sample::default(); plan.len()]));
    let stop: Arc<std::sync::atomic::AtomicBool> = Arc::default();
    let sampler = {
        let (site, stop) = (site.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut max, mut metrics) = (BTreeMap::<String, i64>::new(), BTreeMap::<String, f64>::new());
            // When each group was last seen behind, and whether the last look found it behind.
            let mut behind = BTreeMap::<String, (tokio::time::Instant, bool)>::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(lag) = seed::read_model_lag(&site.platform).await {
                    for (g, v) in lag {
                        let m = max.entry(g.clone()).or_default();
                        *m = (*m).max(v);
                        let last = behind.entry(g).or_insert((tokio::time::Instant::now(), false));
                        *last = if v > 0 { (tokio::time::Instant::now(), true) } else { (last.0, false) };
                    }
                }
                for (service, value) in lag_metrics(&site).await {
                    let m = metrics.entry(service).or_default();
                    *m = m.max(value);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            (max, metrics, behind)
        })
    };
    let plan = Arc::new(plan);
    let before = Arc::new(before);
    let cpu = profile::Cpu::now();
    let step = open_loop_classed(load, {
        let (site, found, plan, before) = (site.clone(), found.clone(), plan.clone(), before.clone());
        move |i| {
            let (site, found, plan, before) = (site.clone(), found.clone(), plan.clone(), before.clone());
            async move {
                let who = site.traveller(spread(i, 41));
                let key = site.fresh_key("lag");
                let j = (i / every) as usize;
                if i % every != 0 || j >= plan.len() {
                    let b = site.stay_choice(i);
                    let hotel = &site.hotels[(spread(b, 42) % (n as u64 - plan.len() as u64)) as usize].0;
                    let from = 1 + spread(b, 43) % 300;
                    return ("booking", site.book(&who.token, &key, hotel, from, 1).await.map(|_| ()));
                }
                let (hotel, city, from) = &plan[j];
                let outcome = site.book(&who.token, &key, hotel, *from, 1).await;
                if let Ok((202, Some(id))) = &outcome {
                    found.lock().expect("found")[j].booking = Some(id.clone());
                    let (site, found, hotel, city, from) = (site.clone(), found.clone(), hotel.clone(), city.clone(), *from);
                    let was = before[j];
                    // Watch search until it shows the change (at most 120 s): the rooms left every
                    // 100 ms for the first 5 s, then every 500 ms; the hotel page only once they
                    // dropped (one search request per look, so the watchers add little load).
                    tokio::spawn(async move {
                        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
                        let Some((left0, pop0)) = was else { return };
                        let mut attempt = 0;
                        while tokio::time::Instant::now() < deadline {
                            attempt += 1;
                            if rooms_left(&site, &hotel, &city, from).await.is_some_and(|left| left < left0)
                                && popularity(&site, &hotel).await.is_some_and(|pop| pop > pop0)
                            {
                                found.lock().expect("found")[j].seen = Some(chrono::Utc::now());
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(if attempt < 50 { 100 } else { 500 })).await;
                        }
                    });
                }
                ("booking", outcome.map(|_| ()))
            }
        }
    })
    .await;
    let load_ended = tokio::time::Instant::now();
    let cores = cpu.cores_since();
    eprintln!("    bookings: p50 {:.1} ms, p99 {:.1} ms, {} errors of {}", step.p50_ms, step.p99_ms, step.errors, step.due);
    // Let the watchers finish (each stops by itself within 120 s).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(125);
    while tokio::time::Instant::now() < deadline {
        let done = found.lock().expect("found").iter().all(|s| s.booking.is_none() || s.seen.is_some());
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (max_lag, max_metrics, behind) = sampler.await.unwrap_or_default();
    let watched = load_ended.elapsed().as_secs_f64();
    // Seconds after the load ended until every read model had caught up (None: not by the end).
    let caught_up = behind
        .values()
        .try_fold(0.0_f64, |most, (last, still)| (!still).then(|| most.max(last.saturating_duration_since(load_ended).as_secs_f64())));
    let tap = &site.platform.tap;
    let (mut hist, mut saga) = (load::histogram(), load::histogram());
    let (mut unseen, mut unconfirmed) = (0, 0);
    for (sample, was) in found.lock().expect("found").iter().zip(before.iter()) {
        let Some(id) = &sample.booking else { continue };
        if was.is_none() {
            continue; // not shown before the run: counted below as not measurable
        }
        let time = |topic: &str| {
            tap.about(topic, id).first().and_then(|e| e["time"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()))
        };
        let confirmed = time(topics::BOOKING_CONFIRMED);
        if let (Some(created), Some(confirmed)) = (time(topics::BOOKING_CREATED), confirmed) {
            saga.saturating_record((confirmed - created).num_microseconds().unwrap_or(0).max(1) as u64);
        }
        match (confirmed, sample.seen) {
            (Some(c), Some(seen)) => {
                hist.saturating_record((seen - c.with_timezone(&chrono::Utc)).num_microseconds().unwrap_or(0).max(1) as u64)
            }
            (None, _) => unconfirmed += 1,
            (Some(_), None) => unseen += 1,
        }
    }
    let per_group = behind
        .iter()
        .map(|(g, (last, still))| {
            let after = last.saturating_duration_since(load_ended).as_secs_f64();
            (g.clone(), if *still { format!("still behind at {watched:.0} s") } else { format!("{after:.0} s") })
        })
        .collect();
    Ok(LagRun {
        load,
        step,
        shown: hist,
        saga,
        unseen,
        unconfirmed,
        not_measurable: plan.len() - measurable,
        max_lag,
        max_metrics,
        per_group,
        caught_up,
        watched,
        cores,
    })
}

/// The read models' lag at the bar's sustained rate ([`lag_run`]), and then, unless that rate
/// kept the objective or the run is quick, the capacity: the highest rate that keeps it, found
/// by the ladders' [`load::climb`] over loads as long as the bar's, each after every consumer
/// group caught up with the one before.
async fn lag(site: &Arc<Site>, stack: &Stack, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    let statements = profile::Statements::reset(stack).await;
    let bar = lag_run(site, sizes.lag, sizes.lag_samples, 0).await?;
    let s = label(site, "6 read-model lag");
    let (load, step, hist, saga) = (bar.load, &bar.step, &bar.shown, &bar.saga);
    report.rows.push(
        Row::new(
            &s,
            format!("booking.confirmed → search shows it, p99 at {:.0} bookings/s for {} s", load.rate, load.duration.as_secs()),
            "ms",
            (!hist.is_empty()).then(|| load::ms(hist, 0.99)),
            "the bar",
            Some(LAG_OBJECTIVE_MS),
        )
        .note(format!(
            "{} sampled bookings measured (p50 {:.0} ms, max {:.0} ms); {} not shown by search within 120 s, {} never confirmed, \
             {} not measurable (search did not show the hotel before the run); \
             shown = search's results for the hotel and night have fewer rooms left and its hotel page a higher popularity than before the run",
            hist.len(),
            load::ms(hist, 0.5),
            if hist.is_empty() { 0.0 } else { hist.max() as f64 / 1000.0 },
            bar.unseen,
            bar.unconfirmed,
            bar.not_measurable
        )),
    );
    let capacity_at = report.rows.len();
    report.rows.push(
        Row::new(
            &s,
            "highest consumer-group lag during the run",
            "events",
            Some(bar.max_lag.values().copied().max().unwrap_or(0) as f64),
            "–",
            None,
        )
        .note(format!("committed offsets vs. end of the topics, read from Kafka every second: {:?}", bar.max_lag)),
    );
    let per_group = &bar.per_group;
    report.rows.push(Row::new(&s, "read models caught up after the load ended", "s", bar.caught_up, "–", None).note(match bar.caught_up {
        Some(_) => format!(
            "the last second any read model's consumer group was still behind (0: never behind once the load ended); per group: {per_group:?}"
        ),
        None => format!("still behind when the watch ended, {:.0} s after the load; per group: {per_group:?}", bar.watched),
    }));
    report.rows.push(
        Row::new(
            &s,
            "booking.created → booking.confirmed of the sampled bookings (the saga), p99",
            "ms",
            (!saga.is_empty()).then(|| load::ms(saga, 0.99)),
            "–",
            None,
        )
        .note(format!(
            "{} confirmed within the watch, p50 {:.0} ms, max {:.0} ms: search can only show what the saga confirmed",
            saga.len(),
            load::ms(saga, 0.5),
            if saga.is_empty() { 0.0 } else { saga.max() as f64 / 1000.0 }
        )),
    );
    report.rows.push(
        Row::new(
            &s,
            "highest consumer lag the services report (`kafka_consumer_*lag*` on /metrics)",
            "as reported",
            bar.max_metrics.values().copied().reduce(f64::max),
            "–",
            None,
        )
        .note(if bar.max_metrics.is_empty() {
            "no such metric on the read models' /metrics in this build".to_owned()
        } else {
            format!("{:?}", bar.max_metrics)
        }),
    );
    report.rows.push(
        Row::new(&s, "bookings answered during the run", "bookings/s", Some(step.achieved_rps), "offered", Some(load.rate))
            .note(format!("p99 {:.1} ms, {} errors of {}", step.p99_ms, step.errors, step.due)),
    );
    let booked = step.due.saturating_sub(step.errors);
    profile_rows(&s, "the load", &bar.cores, statements.as_ref(), booked, report).await;
    let runs = if sizes.lag_capacity { lag_capacity(site, sizes, bar, capacity_at, report).await } else { vec![Ok(bar)] };
    let measured: Vec<&LagRun> = runs.iter().filter_map(|run| run.as_ref().ok()).collect();
    report.steps.insert(format!("{s}: POST /api/bookings"), measured.iter().map(|r| r.step.clone()).collect());
    report
        .steps
        .insert(format!("{s}: booking.confirmed → search shows it (sampled bookings)"), measured.iter().map(|r| r.lag_step()).collect());
    Ok(())
}

/// The lag's capacity, its row inserted at `row`: the bar's load is the ladder's first step;
/// each later one starts once every consumer group (the saga's too) caught up with the one
/// before, and lasts as long as the bar's (longer at low rates, for enough bookings). Returns
/// every run, the bar's among them.
async fn lag_capacity(site: &Arc<Site>, sizes: &Sizes, bar: LagRun, row: usize, report: &mut Report) -> Vec<anyhow::Result<LagRun>> {
    let s = label(site, "6 read-model lag");
    let load = bar.load;
    let mut first = Some(bar);
    let mut round = 0;
    let runs = load::climb(
        &[load.rate],
        async |rate| {
            if let Some(bar) = first.take() {
                return Ok(bar);
            }
            round += 1;
            let left: i64 = seed::wait_caught_up(&site.platform, seed::consumers(&site.platform), BACKLOG_DRAIN, "6").await?.values().sum();
            anyhow::ensure!(left == 0, "the consumers were still {left} events behind {} s after the last load", BACKLOG_DRAIN.as_secs());
            let duration = load.duration.max(sizes.pace.duration(rate));
            let run = lag_run(site, Load { rate, duration, ..load }, sizes.lag_samples, round).await;
            if let Ok(r) = &run {
                eprintln!(
                    "    lag p99 {:.0} ms ({} measured), {}",
                    load::ms(&r.shown, 0.99),
                    r.shown.len(),
                    if r.meets() { "met" } else { "missed" }
                );
            }
            run
        },
        |run: &anyhow::Result<LagRun>| run.as_ref().is_ok_and(LagRun::meets),
    )
    .await;
    let tried: Vec<String> = runs
        .iter()
        .map(|run| match run {
            Ok(r) => format!(
                "{:.0}/s for {} s: p99 {:.0} ms of {} measured{}{}",
                r.load.rate,
                r.load.duration.as_secs(),
                load::ms(&r.shown, 0.99),
                r.shown.len(),
                if r.unseen + r.unconfirmed > 0 { format!(", {} not shown", r.unseen + r.unconfirmed) } else { String::new() },
                if r.meets() { " (met)" } else { "" }
            ),
            Err(e) => format!("a step failed: {e:#}"),
        })
        .collect();
    let capacity = runs.iter().filter_map(|run| run.as_ref().ok()).filter(|r| r.meets()).map(|r| r.load.rate).reduce(f64::max);
    report.rows.insert(
        row,
        Row::new(
            &s,
            format!("capacity: highest booking rate whose booking.confirmed → search shows it stays under {LAG_OBJECTIVE_MS:.0} ms at p99"),
            "bookings/s",
            capacity,
            "the bar's rate",
            Some(load.rate),
        )
        .note(format!(
            "each rate sustained, every consumer group caught up before it, {} sampled bookings each; met = every sampled booking shown, p99 under the objective, under 1 % of the bookings failed; rates: {}",
            sizes.lag_samples,
            tried.join("; ")
        )),
    );
    runs
}

/// Wait (at most 60 s) until booking's outbox is empty: every event the steps before enqueued
/// was published.
async fn outbox_drained(site: &Site) {
    let url = tripnest_e2e::with_database(site.platform.stack.database_url(), &format!("{}_booking", seed::pin(site.size)));
    let Ok(mut db) = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await else { return };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox").fetch_one(&mut db).await.unwrap_or(0);
        if left == 0 {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            eprintln!("    booking's outbox still holds {left} events after 60 s; stepping on");
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Where the time of scenario `s` went: the cores each process used during `when`, and
/// PostgreSQL's time by statement per booking made, from the start of the load to now (the
/// saga and the read models catching up included), when the server counts statements.
async fn profile_rows(
    s: &str,
    when: &str,
    cores: &[(String, f64)],
    statements: Option<&profile::Statements>,
    booked: u64,
    report: &mut Report,
) {
    let total: f64 = cores.iter().map(|(_, v)| v).sum();
    report.rows.push(Row::new(s, format!("CPU used during {when}"), "cores", Some(total), "–", None).note(profile::cores_note(cores, 14)));
    report.rows.push(
        statements_row(s, "PostgreSQL statement time per booking made (every database)", statements, booked as f64, "booking made").await,
    );
}

/// A row of PostgreSQL's statement time per `unit` (`units` of them) since `statements` was
/// reset, by database and statement.
async fn statements_row(s: &str, figure: &str, statements: Option<&profile::Statements>, units: f64, unit: &str) -> Row {
    let measured = match statements {
        Some(st) => st.since().await.map_err(|e| format!("pg_stat_statements could not be read: {e:#}")),
        None => Err("PostgreSQL does not load pg_stat_statements here".to_owned()),
    };
    let (value, note) = match measured {
        Ok(all) => (Some(all.iter().map(|x| x.total_ms).sum::<f64>() / units.max(1.0)), profile::statements_note(&all, units, unit, 12)),
        Err(why) => (None, why),
    };
    Row::new(s, figure, "ms", value, "–", None).note(note)
}

/// How long the saga scenario watches the machine idle, for what each process uses anyway.
const IDLE_WATCH: Duration = Duration::from_secs(10);

/// How long the saga scenario waits at most for the read models to finish its bookings.
const SAGA_DRAIN: Duration = Duration::from_secs(300);

async fn saga(site: &Arc<Site>, stack: &Stack, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    // Whatever an earlier scenario left to the read models would count as idle use.
    seed::wait_caught_up(&site.platform, seed::consumers(&site.platform), SAGA_DRAIN, "3").await?;
    eprintln!("[3] the machine idle for {} s, then the saga at {} bookings/s", IDLE_WATCH.as_secs(), sizes.saga.rate);
    let idle_from = profile::Cpu::now();
    tokio::time::sleep(IDLE_WATCH).await; // a measurement window, not a wait for a condition
    let idle = idle_from.cores_since();
    let (statements, cpu) = (profile::Statements::reset(stack).await, profile::Cpu::now());
    let (step, hist, unconfirmed) = booking::saga(site.clone(), sizes.saga).await;
    let behind: i64 = seed::wait_caught_up(&site.platform, seed::consumers(&site.platform), SAGA_DRAIN, "3").await?.values().sum();
    let booked = hist.len() as f64 + unconfirmed as f64;
    let per_booking = cpu.per_unit(&idle, booked);
    eprintln!("[3] bare Kafka produce→consume at the same rate");
    let kafka = baselines::kafka_round_trip(stack.get("KAFKA_BOOTSTRAP_SERVERS"), sizes.saga).await?;
    let (p50, p99) = p50_p99(&hist);
    let s = label(site, "3 saga");
    let note = format!(
        "{} bookings, {unconfirmed} not confirmed within 60 s; the saga is two hops (booking.created → payment → payment.success → booking) plus outbox relays",
        hist.len()
    );
    report.rows.push(
        Row::new(
            &s,
            format!("booking.created → booking.confirmed p50 at {:.0}/s", sizes.saga.rate),
            "ms",
            Some(p50),
            "bare Kafka produce→consume p50",
            Some(kafka.p50_ms),
        )
        .note(note),
    );
    report.rows.push(Row::new(
        &s,
        "booking.created → booking.confirmed p99",
        "ms",
        Some(p99),
        "bare Kafka produce→consume p99",
        Some(kafka.p99_ms),
    ));
    let total: f64 = per_booking.iter().map(|(_, v)| v).sum();
    let drained = if behind == 0 { "the read models caught up".to_owned() } else { format!("{behind} read-model events still behind") };
    report.rows.push(
        Row::new(
            &s,
            "CPU per booking, end to end: from its request until the saga and the read models applied it",
            "ms",
            Some(total),
            "–",
            None,
        )
        .note(format!(
            "{}; {booked:.0} bookings, counted until {drained}; idle use measured over {} s just before",
            profile::per_unit_note(&per_booking, "booking", 14),
            IDLE_WATCH.as_secs()
        )),
    );
    report.rows.push(
        statements_row(&s, "PostgreSQL statement time per booking, end to end (every database)", statements.as_ref(), booked, "booking")
            .await,
    );
    report.steps.insert(format!("{s}: POST /api/bookings"), vec![step]);
    report.steps.insert(format!("{s}: bare Kafka round trip"), vec![kafka]);
    Ok(())
}

async fn operator_scale(stack: &Stack, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    let client = operator::client(stack).await?;
    operator::install_crds(&client).await?;
    let result = operator_scale_measured(stack, &client, sizes, report).await;
    // The copies' `hotels`, `inventories`… would otherwise shadow ours in `kubectl get hotels`.
    operator::remove_baseline_crds(&client).await;
    result
}

async fn operator_scale_measured(stack: &Stack, client: &kube::Client, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    let s = "4 operator";
    let foreign = operator::foreign_operator(client).await?;
    eprintln!("[4] another operator reconciles Hotels in every namespace: {foreign}");
    if foreign && std::env::var_os("TRIPNEST_BENCH_SHARE_OPERATOR").is_none() {
        eprintln!("[4] skipped: another operator reconciles Hotels in every namespace");
        report.rows.push(Row::new(s, "N Hotels + N Inventories Ready", "s", None, "kubectl apply, no operator", None).note(
            "skipped: an operator outside the bench (the `make up` one) reconciles Hotels in every namespace, so it would race ours and sync the bench's hotels into the shared catalog; scope it with APP_WATCH_NAMESPACE (or set TRIPNEST_BENCH_SHARE_OPERATOR=1 to measure anyway)",
        ));
        return Ok(());
    }
    for &n in &sizes.operator_n {
        eprintln!("[4] operator: {n} Hotels + {n} Inventories to Ready");
        let m = operator::scale(stack, client, n, foreign).await?;
        let apply_note = "same manifests under a copy of the CRDs (group bench.tripnest.io) that no operator watches; both by `kubectl apply --server-side`";
        report.rows.push(
            Row::new(
                s,
                format!("{n} Hotels + {n} Inventories applied → all Ready"),
                "s",
                Some(m.ready_s),
                "kubectl apply of the same objects, no operator",
                Some(m.baseline_apply_s),
            )
            .note(apply_note),
        );
        report.rows.push(
            Row::new(s, format!("operator memory with {n} + {n} objects"), "MiB", Some(m.rss_mib), "–", None)
                .note(format!("peak RSS {:.1} MiB (VmHWM)", m.peak_rss_mib)),
        );
    }
    report.setup.push(format!(
        "operator: the bench's own operator and booking (fresh database, own topic prefix), watching only a fresh namespace, its Lease there; objects applied with `kubectl apply --server-side` ({}); the ceiling applies the same manifests under a copy of the CRDs in the group bench.tripnest.io (same schema and CEL rules), which no operator watches; memory is the operator's VmRSS/VmHWM from /proc",
        sizes.operator_n.iter().map(|n| format!("{n} Hotels + {n} Inventories")).collect::<Vec<_>>().join(", ")
    ));
    if foreign {
        report.setup.push(
            "operator caveat: the `make up` operator watched every namespace during this run (TRIPNEST_BENCH_SHARE_OPERATOR=1), so it reconciled the              bench's objects too (into its own catalog, city Benchville, taken off sale again by its finalizer at the end); Ready may have been              written by either operator, and both competed for the 2 cores: read the operator figures as indicative"
                .into(),
        );
    }
    Ok(())
}
