//! `tripnest-bench`: how fast TripNest is and where its costs come from, each figure next to
//! a ceiling measured in the same run (these machines are noisy; ratios travel, absolute
//! numbers do not).
//!
//! - [`load`]: the open-loop generator (fixed offered rate, HdrHistogram, latency from each
//!   request's intended start, so coordinated omission is corrected).
//! - [`site`]: every service as a real process behind the gateway, seeded; the request mix.
//! - [`booking`]: the race for the last rooms, the saga's latency, pgbench of booking's SQL.
//! - [`baselines`]: bare axum handler, pgbench, bare Kafka round trip.
//! - [`operator`]: N Hotels + N Inventories to Ready, against `kubectl apply` alone.
//! - [`roll`]: the inventory roll against a plain `INSERT … SELECT`.
//! - [`report`]: `RESULTS.md` and `results.json`.
//!
//! `make bench` runs it on release binaries after the criterion benchmarks; `--quick` is the
//! two-minute version. Everything it starts is stopped when it ends.

mod baselines;
mod booking;
mod load;
mod operator;
mod report;
mod roll;
mod scenarios;
mod site;

use clap::Parser;
use std::{path::PathBuf, time::Instant};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Measure TripNest against baselines in the same run")]
pub struct Args {
    /// The short run (under two minutes): fewer, shorter steps and smaller sizes.
    #[arg(long)]
    quick: bool,
    /// Run only these scenarios (comma-separated: mix,search,contention,saga,operator,roll).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where RESULTS.md and results.json go (default: bench/ in the repository).
    #[arg(long)]
    out: Option<PathBuf>,
}

impl Args {
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
    let out = args.out.clone().unwrap_or_else(|| tripnest_e2e::repo_root().join("bench"));
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
