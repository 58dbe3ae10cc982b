//! `tripnest-bench`: how fast TripNest is and where its costs come from, each figure next to
//! a ceiling measured in the same run (these machines are noisy; ratios travel, absolute
//! numbers do not).
//!
//! - [`load`]: the open-loop generator (fixed offered rate, HdrHistogram, latency from each
//!   request's intended start, so coordinated omission is corrected).
//! - [`seed`]: the production-sized seed (small, large) through the real write paths, cached.
//! - [`site`]: every service as a real process behind the gateway, on the seed; the request
//!   mix and each request class.
//! - [`booking`]: the race for the last rooms, the saga's latency, pgbench of booking's SQL.
//! - [`baselines`]: bare axum handler, pgbench, bare Kafka round trip.
//! - [`operator`]: N Hotels + N Inventories to Ready, against `kubectl apply` alone.
//! - [`roll`]: the inventory roll against a plain `INSERT … SELECT`.
//! - [`profile`]: CPU by process and PostgreSQL time by statement while a scenario runs.
//! - [`report`]: `RESULTS.md` and `results.json`.
//!
//! `make bench` runs it on release binaries after the criterion benchmarks, at both sizes;
//! `--quick` is the small size with short steps. The first run at a size seeds it (minutes
//! at small, much longer at large); later runs reuse the seed. Every phase has a deadline,
//! and everything it starts is stopped when it ends.

mod baselines;
mod booking;
mod load;
mod operator;
mod profile;
mod report;
mod roll;
mod scenarios;
mod seed;
mod site;

use clap::Parser;
use std::{path::PathBuf, time::Instant};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Measure TripNest against baselines in the same run")]
pub struct Args {
    /// The short run: the small size only, with short steps.
    #[arg(long)]
    quick: bool,
    /// Data sizes to measure at (`both` unless --quick).
    #[arg(long, value_enum)]
    size: Option<SizeArg>,
    /// Seconds to wait at most for the read models to catch up with the seed before measuring.
    #[arg(long, default_value_t = 1800)]
    catch_up: u64,
    /// Run only these scenarios (comma-separated: mix,classes,contention,booking,lag,saga,operator,roll).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where RESULTS.md and results.json go (default: bench/ in the repository).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `--size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SizeArg {
    Small,
    Large,
    Both,
}

impl Args {
    /// Where the results go.
    pub fn out_dir(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| tripnest_e2e::repo_root().join("bench"))
    }

    /// The sizes to run, in order.
    pub fn sizes(&self) -> Vec<seed::Size> {
        match self.size {
            Some(SizeArg::Small) => vec![seed::Size::Small],
            Some(SizeArg::Large) => vec![seed::Size::Large],
            Some(SizeArg::Both) => vec![seed::Size::Small, seed::Size::Large],
            None if self.quick => vec![seed::Size::Small],
            None => vec![seed::Size::Small, seed::Size::Large],
        }
    }

    /// Whether `scenario` is part of this run.
    pub fn runs(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == scenario)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let exe = std::env::current_exe()?;
    let profile = exe.parent().and_then(|d| d.file_name()).map_or("unknown".into(), |n| n.to_string_lossy().into_owned());
    let mut report = report::Report {
        machine: report::Machine::detect(&profile, args.quick),
        rows: Vec::new(),
        steps: Default::default(),
        criterion_ns: Default::default(),
        seconds: 0.0,
        setup: Vec::new(),
        classes: Vec::new(),
        seeds: Vec::new(),
    };
    // On Ctrl-C or SIGTERM the scenarios are dropped, and with them every process they started.
    tokio::select! {
        outcome = scenarios::run(&args, &mut report) => outcome?,
        () = interrupted() => anyhow::bail!("interrupted; every process the bench started is stopped"),
    }
    if let Some(target) = exe.parent().and_then(|d| d.parent()) {
        report.criterion_ns = report::criterion_means(&target.join("criterion"))
            .into_iter()
            .filter(|(name, _)| scenarios::CRITERION.contains(&name.as_str()))
            .collect();
    }
    report.seconds = started.elapsed().as_secs_f64();
    let out = args.out_dir();
    report.write(&out)?;
    println!("{}", report.markdown());
    eprintln!("wrote {} and {} in {:.0} s", out.join("RESULTS.md").display(), out.join("results.json").display(), report.seconds);
    Ok(())
}

async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
