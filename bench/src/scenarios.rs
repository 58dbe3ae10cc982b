//! The five scenarios in order, each turned into report rows next to its ceiling. Sizes and
//! durations come from [`Sizes`]: the full run stays under 15 minutes, `--quick` under 2.

use crate::{
    Args, baselines,
    booking::{self, p50_p99},
    load::{self, Load, Step, doubling, ladder, max_rate_under},
    operator,
    report::{Report, Row},
    roll,
    site::{self, Site, expect},
};
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tripnest_e2e::Stack;

/// The criterion benchmarks reported with the run (from `make bench`).
pub const CRITERION: [&str; 7] = [
    "nightly_price",
    "inventory_plan_365_nights",
    "jwt_verify_cached_key",
    "jwt_sign",
    "event_serialize_booking_created",
    "event_parse_booking_created",
    "rate_limit_gcra_redis",
];

/// The latency objective of the mix.
const P99_OBJECTIVE_MS: f64 = 100.0;
/// Requests outstanding before the generator drops new ones.
const MAX_IN_FLIGHT: usize = 512;

/// How big and how long each scenario is.
#[derive(Debug, Clone)]
pub struct Sizes {
    hotels: usize,
    travellers: usize,
    step: Duration,
    mix_rates: Vec<f64>,
    bare_rates: Vec<f64>,
    search_rate: f64,
    contention: Load,
    contention_nights: u64,
    contention_rooms: i32,
    saga: Load,
    operator_n: Vec<usize>,
    roll_room_types: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        let load = |rate: f64, secs: u64| Load { rate, duration: Duration::from_secs(secs), max_in_flight: MAX_IN_FLIGHT };
        if quick {
            Self {
                hotels: 25,
                travellers: 8,
                step: Duration::from_secs(2),
                mix_rates: vec![5.0, 20.0, 80.0, 320.0],
                bare_rates: vec![5.0, 20.0, 80.0, 320.0, 1280.0],
                search_rate: 5.0,
                contention: load(200.0, 2),
                contention_nights: 10,
                contention_rooms: 3,
                saga: load(5.0, 3),
                operator_n: vec![20],
                roll_room_types: 100,
            }
        } else {
            Self {
                hotels: 100,
                travellers: 40,
                step: Duration::from_secs(8),
                mix_rates: doubling(5.0, 2560.0),
                bare_rates: doubling(5.0, 10240.0),
                search_rate: 5.0,
                contention: load(400.0, 8),
                contention_nights: 20,
                contention_rooms: 5,
                saga: load(10.0, 15),
                operator_n: vec![100, 500, 1000],
                roll_room_types: 1000,
            }
        }
    }
}

/// Run every selected scenario and fill `report`.
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
        "generator: open loop, one pooled reqwest client, each request its own task, at most {MAX_IN_FLIGHT} in flight (a request due beyond that is dropped and counted as an error); latency from the intended start (HdrHistogram, coordinated omission corrected); p99 objective {P99_OBJECTIVE_MS} ms with < 1% errors; steps of {} s with a 2 s pause between them (5 s after a step with errors), rates rising (×2, ×4 in --quick) until the objective is missed, then one step at the geometric midpoint (or lower rates when the first already missed)",
        sizes.step.as_secs()
    ));
    report.setup.push(
        "ceilings: bare axum = an in-process axum server on its own 2-thread runtime answering the same search JSON, driven by the same generator at the same rates; \
         pgbench = booking's create transaction (key claim, room-type read, the conditional UPDATE hold, booking and two outbox inserts, read-back, key completion; \
         rollback and key release when sold out) on a scratch database with the same calendar, `-M prepared`, 16 connections, as many transactions as the scenario sent; \
         Kafka = produce (the services' producer settings) → consume on a fresh one-partition topic at the saga's rate; \
         roll = `INSERT … SELECT generate_series` of the same rows into a copy of the calendar table"
            .into(),
    );
    report
        .setup
        .push("criterion: means read from target/criterion, written by the `cargo bench` step of `make bench` just before this run".into());
    if ["mix", "search", "contention", "saga"].iter().any(|s| args.runs(s)) {
        eprintln!("starting the platform and seeding {} hotels, {} travellers", sizes.hotels, sizes.travellers);
        let site = Arc::new(Site::start(sizes.hotels, sizes.travellers).await?);
        report.setup.push(format!(
            "seed: {} hotels in {} cities (20 rooms of `double`, 60 nights each), {} registered travellers; the mix spreads requests over them, 1–3-night stays over 50 dates",
            sizes.hotels,
            site::CITIES.len(),
            sizes.travellers
        ));
        let (search_url, search_body) = site.search_sample().await?;
        let bare_url = baselines::bare_handler(search_body);
        if args.runs("mix") {
            mix(&site, &bare_url, &sizes, report).await;
        }
        if args.runs("search") {
            search_cache(&site, &search_url, &bare_url, &sizes, report).await;
        }
        if args.runs("contention") {
            contention(&site, &stack, &sizes, report).await?;
        }
        if args.runs("saga") {
            saga(&site, &stack, &sizes, report).await?;
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

async fn mix(site: &Arc<Site>, bare_url: &str, sizes: &Sizes, report: &mut Report) {
    eprintln!("[1] hotel-site mix through the gateway");
    let tripnest = ladder(&sizes.mix_rates, sizes.step, MAX_IN_FLIGHT, P99_OBJECTIVE_MS, {
        let site = site.clone();
        move |i| site.clone().mix_request(i)
    })
    .await;
    eprintln!("[1] bare axum handler, same JSON");
    // Every rate TripNest was offered (so each has a same-rate ceiling), then on up.
    let mut rates: Vec<f64> = tripnest.iter().map(|s| s.offered_rps).chain(sizes.bare_rates.iter().copied()).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let bare = ladder(&rates, sizes.step, MAX_IN_FLIGHT, P99_OBJECTIVE_MS, bare_request(&site.http, bare_url)).await;
    let (max_t, max_b) = (max_rate_under(&tripnest, P99_OBJECTIVE_MS), max_rate_under(&bare, P99_OBJECTIVE_MS));
    let bare_never_missed = bare.iter().all(|s| s.meets(P99_OBJECTIVE_MS));
    let s = "1 hotel-site mix";
    report.rows.push(Row::new(s, "highest offered rate with p99 < 100 ms", "req/s", max_t, "bare axum handler, same JSON", max_b).note(
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
            report.rows.push(Row::new(s, format!("{name} at {rate:.0} req/s"), "ms", Some(value), "bare axum handler, same rate", base));
        }
        report.rows.push(
            Row::new(
                s,
                format!("errors at {rate:.0} req/s"),
                "% of requests",
                Some(100.0 * t.error_rate()),
                "bare axum handler, same rate",
                b.map(|b| 100.0 * b.error_rate()),
            )
            .note(t.error_kinds.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(", ")),
        );
    }
    report.steps.insert("1 mix: TripNest (gateway)".into(), tripnest);
    report.steps.insert("1 mix: bare axum".into(), bare);
}

async fn search_cache(site: &Arc<Site>, url: &str, bare_url: &str, sizes: &Sizes, report: &mut Report) {
    eprintln!("[1b] search through the gateway: cache hit, cache miss, bare handler at {} req/s", sizes.search_rate);
    let load = Load { rate: sizes.search_rate, duration: sizes.step, max_in_flight: MAX_IN_FLIGHT };
    let http = site.http.clone();
    // Every miss another query (a minimum price below every hotel's, never repeated in the run):
    // all misses, same results.
    let misses = Arc::new(AtomicU64::new(1));
    let get = {
        let http = http.clone();
        move |url: String| {
            let http = http.clone();
            async move { expect(http.get(url).send().await, &[200]).await }
        }
    };
    let miss_request = {
        let (get, url) = (get.clone(), url.to_owned());
        move |_| get(format!("{url}&minPrice={}", misses.fetch_add(1, Ordering::Relaxed)))
    };
    // Let whatever the last ladder left queued drain first.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let hit = load::open_loop(load, |_| get(url.to_owned())).await;
    let miss = load::open_loop(load, miss_request.clone()).await;
    let bare = load::open_loop(load, bare_request(&site.http, bare_url)).await;
    eprintln!("[1b] cache misses at rising rates");
    let miss_ladder = ladder(&sizes.mix_rates, sizes.step, MAX_IN_FLIGHT, P99_OBJECTIVE_MS, miss_request).await;
    let s = "1b search cache";
    for (case, step) in [("cache hit", &hit), ("cache miss", &miss)] {
        for (q, value, base) in [("p50", step.p50_ms, bare.p50_ms), ("p99", step.p99_ms, bare.p99_ms)] {
            report.rows.push(
                Row::new(
                    s,
                    format!("{case} {q} at {:.0} req/s", sizes.search_rate),
                    "ms",
                    Some(value),
                    "bare axum handler, same JSON",
                    Some(base),
                )
                .note(if step.errors > 0 { format!("{} errors of {}", step.errors, step.due) } else { String::new() }),
            );
        }
    }
    let bare_max = report.steps.get("1 mix: bare axum").and_then(|b| max_rate_under(b, P99_OBJECTIVE_MS));
    report.rows.push(Row::new(
        s,
        "cache misses: highest offered rate with p99 < 100 ms",
        "req/s",
        max_rate_under(&miss_ladder, P99_OBJECTIVE_MS),
        "bare axum handler, same JSON",
        bare_max,
    ));
    report.steps.insert("1b search: cache hit".into(), vec![hit]);
    report.steps.insert("1b search: cache miss".into(), vec![miss]);
    report.steps.insert("1b search: cache miss, rising".into(), miss_ladder);
    report.steps.insert("1b search: bare axum".into(), vec![bare]);
}

async fn contention(site: &Arc<Site>, stack: &Stack, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    let (nights, rooms) = (sizes.contention_nights, sizes.contention_rooms);
    eprintln!("[2] contention: {} req/s racing for {nights} nights × {rooms} rooms", sizes.contention.rate);
    let c = booking::contention(site.clone(), sizes.contention, nights, rooms).await?;
    let transactions = c.step.due as u32;
    let pg = booking::pgbench_holds(stack, nights, rooms, transactions).await?;
    let s = "2 contention";
    report.rows.push(
        Row::new(
            s,
            format!("bookings answered (held or sold out) at {:.0} req/s offered", sizes.contention.rate),
            "bookings/s",
            Some(c.step.achieved_rps),
            "pgbench: booking's hold transaction, same calendar, 16 connections",
            Some(pg.tps),
        )
        .note(format!("{} requests, {} errors", c.step.due, c.step.errors)),
    );
    report.rows.push(
        Row::new(s, "p99", "ms", Some(c.step.p99_ms), "–", None)
            .note(format!("p50 {:.1} ms; pgbench reports only a mean: {:.1} ms per transaction", c.step.p50_ms, pg.latency_ms)),
    );
    report.rows.push(
        Row::new(s, "confirmed bookings ≤ rooms", "bookings", Some(c.confirmed as f64), "rooms for sale", Some(c.rooms as f64)).note(
            format!(
                "{} held; check {}",
                c.held,
                if c.never_oversold && c.confirmed <= c.rooms {
                    "passed: never more held or confirmed than rooms, on every night"
                } else {
                    "FAILED: oversold"
                }
            ),
        ),
    );
    report.steps.insert("2 contention: TripNest (gateway)".into(), vec![c.step]);
    Ok(())
}

async fn saga(site: &Arc<Site>, stack: &Stack, sizes: &Sizes, report: &mut Report) -> anyhow::Result<()> {
    eprintln!("[3] saga at {} bookings/s", sizes.saga.rate);
    let (step, hist, unconfirmed) = booking::saga(site.clone(), sizes.saga).await;
    eprintln!("[3] bare Kafka produce→consume at the same rate");
    let kafka = baselines::kafka_round_trip(stack.get("KAFKA_BOOTSTRAP_SERVERS"), sizes.saga).await?;
    let (p50, p99) = p50_p99(&hist);
    let s = "3 saga";
    let note = format!(
        "{} bookings, {unconfirmed} not confirmed within 60 s; the saga is two hops (booking.created → payment → payment.success → booking) plus outbox relays",
        hist.len()
    );
    report.rows.push(
        Row::new(
            s,
            format!("booking.created → booking.confirmed p50 at {:.0}/s", sizes.saga.rate),
            "ms",
            Some(p50),
            "bare Kafka produce→consume p50",
            Some(kafka.p50_ms),
        )
        .note(note),
    );
    report.rows.push(Row::new(
        s,
        "booking.created → booking.confirmed p99",
        "ms",
        Some(p99),
        "bare Kafka produce→consume p99",
        Some(kafka.p99_ms),
    ));
    report.steps.insert("3 saga: POST /api/bookings".into(), vec![step]);
    report.steps.insert("3 saga: bare Kafka round trip".into(), vec![kafka]);
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
