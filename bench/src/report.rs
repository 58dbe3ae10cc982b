//! The results: one [`Row`] per figure, each next to its ceiling from the same run, written
//! as a Markdown table (`RESULTS.md`) and JSON (`results.json`), with the machine it ran on.

use crate::{
    load::{ClassStats, Step},
    seed::SeedReport,
};
use serde::Serialize;
use std::{collections::BTreeMap, path::Path, process::Command};

/// One TripNest figure and the ceiling it is compared with.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Scenario (`1 hotel-site mix`).
    pub scenario: String,
    /// What is measured (`p99 at 200 req/s`).
    pub figure: String,
    /// Unit of both values.
    pub unit: String,
    /// TripNest's value (None: not measured, see `note`).
    pub tripnest: Option<f64>,
    /// What the ceiling is (`bare axum, same JSON`).
    pub baseline: String,
    /// The ceiling's value.
    pub baseline_value: Option<f64>,
    /// Remarks (a check's outcome, why a value is missing).
    pub note: String,
}

impl Row {
    /// A figure with its ceiling.
    pub fn new(
        scenario: &str,
        figure: impl Into<String>,
        unit: &str,
        tripnest: Option<f64>,
        baseline: &str,
        baseline_value: Option<f64>,
    ) -> Self {
        Self {
            scenario: scenario.into(),
            figure: figure.into(),
            unit: unit.into(),
            tripnest,
            baseline: baseline.into(),
            baseline_value,
            note: String::new(),
        }
    }

    /// Add a remark.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// TripNest ÷ ceiling.
    pub fn ratio(&self) -> Option<f64> {
        match (self.tripnest, self.baseline_value) {
            (Some(t), Some(b)) if b != 0.0 => Some(t / b),
            _ => None,
        }
    }
}

/// The machine and build a run was on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// UTC start of the run.
    pub date: String,
    /// `git describe --always --dirty`.
    pub git_rev: String,
    /// CPU model.
    pub cpu: String,
    /// Online cores.
    pub cores: usize,
    /// Memory in GiB.
    pub memory_gib: f64,
    /// Cargo profile of the binaries (`release`, `debug`).
    pub profile: String,
    /// `--quick` or full.
    pub mode: String,
}

impl Machine {
    /// Read what this machine is.
    pub fn detect(profile: &str, quick: bool) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")).map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kb: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let git = Command::new("git").args(["describe", "--always", "--dirty"]).current_dir(tripnest_e2e::repo_root()).output();
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            git_rev: git.ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default(),
            cpu: cpu.unwrap_or_else(|| "unknown".into()),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib: mem_kb / 1024.0 / 1024.0,
            profile: profile.into(),
            mode: if quick { "--quick".into() } else { "full".into() },
        }
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Where it ran.
    pub machine: Machine,
    /// The table.
    pub rows: Vec<Row>,
    /// Every load step, by series (`mix: TripNest`, `mix: bare axum`, …).
    pub steps: BTreeMap<String, Vec<Step>>,
    /// Criterion mean times in ns, by benchmark, from the latest `cargo bench`.
    pub criterion_ns: BTreeMap<String, f64>,
    /// Seconds the run took.
    pub seconds: f64,
    /// How the run was set up (rate limits, sizes), one line each.
    pub setup: Vec<String>,
    /// Each request class's figures, by size and scenario.
    pub classes: Vec<ClassRow>,
    /// What each size's seed was and took.
    pub seeds: Vec<SeedReport>,
}

/// One request class in one scenario at one size.
#[derive(Debug, Clone, Serialize)]
pub struct ClassRow {
    /// `small` / `large`.
    pub size: String,
    /// `mix at 80 req/s`, `alone at 50 req/s`.
    pub scenario: String,
    /// `search miss`, …
    pub class: String,
    /// Its figures.
    #[serde(flatten)]
    pub stats: ClassStats,
}

fn num(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

impl Report {
    /// The Markdown page.
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "# TripNest benchmark results\n\nLatest `make bench` run ({}), {:.0} s. Each TripNest figure is next to a ceiling measured \
             in the same run on the same machine, because these machines are noisy; compare ratios, not absolute numbers \
             across runs. Ratio = TripNest ÷ ceiling.\n\n\
             | machine | |\n|---|---|\n| date | {} |\n| git | {} |\n| CPU | {} |\n| cores | {} |\n| memory | {:.1} GiB |\n| binaries | {} profile |\n\n",
            m.mode, self.seconds, m.date, m.git_rev, m.cpu, m.cores, m.memory_gib, m.profile
        );
        out.push_str("| scenario | figure | TripNest | ceiling | ceiling value | ratio | note |\n|---|---|---|---|---|---|---|\n");
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} ({}) | {} | {} | {} | {} | {} |\n",
                r.scenario,
                r.figure,
                r.unit,
                num(r.tripnest),
                r.baseline,
                num(r.baseline_value),
                r.ratio().map_or("–".into(), |x| format!("{x:.2}×")),
                r.note
            ));
        }
        if !self.classes.is_empty() {
            out.push_str("\n## Request classes\n\nLatency from the intended start, successful requests; `large ÷ small` compares the p50 of the same class and scenario kind at both sizes (the bar: ≤ 1.3× for reads).\n\n");
            out.push_str("| size | scenario | class | requests | errors | p50 ms | p99 ms | p99.9 ms | p50 large ÷ small |\n|---|---|---|---|---|---|---|---|---|\n");
            for c in &self.classes {
                let kind = |s: &str| s.split(" at ").next().unwrap_or(s).to_owned();
                let small = self.classes.iter().find(|o| o.size == "small" && o.class == c.class && kind(&o.scenario) == kind(&c.scenario));
                let growth = match small {
                    Some(o) if c.size == "large" && o.stats.p50_ms > 0.0 => format!("{:.2}×", c.stats.p50_ms / o.stats.p50_ms),
                    _ => "–".into(),
                };
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {growth} |\n",
                    c.size,
                    c.scenario,
                    c.class,
                    c.stats.ok + c.stats.errors,
                    c.stats.errors,
                    c.stats.p50_ms,
                    c.stats.p99_ms,
                    c.stats.p999_ms
                ));
            }
        }
        if !self.seeds.is_empty() {
            out.push_str("\n## Seeds\n\n| size | hotels | cities | travellers | registered | stays (reviewed) | seeded | seed time s | read-model catch-up s | lag left (events) | PostgreSQL MB | rows | topic messages |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
            for s in &self.seeds {
                let map = |m: &BTreeMap<String, i64>| m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ");
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {} | {:.0} | {} | {} |\n",
                    s.size,
                    s.plan.hotels,
                    s.plan.cities,
                    s.plan.travellers,
                    s.plan.pool,
                    s.plan.stays,
                    if s.seeded_now { "this run" } else { "cached" },
                    s.seed_seconds,
                    s.catch_up_seconds,
                    map(&s.lag_left),
                    s.postgres_mb.values().sum::<f64>(),
                    map(&s.rows),
                    map(&s.topic_messages)
                ));
            }
        }
        out.push_str("\n## Load steps\n\nOpen loop at a fixed offered rate; latency from each request's intended start (coordinated omission corrected), successful requests only.\n\n");
        out.push_str(
            "| series | offered req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | errors / due |\n|---|---|---|---|---|---|---|\n",
        );
        for (series, steps) in &self.steps {
            for s in steps {
                out.push_str(&format!(
                    "| {series} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {} / {} |\n",
                    s.offered_rps, s.achieved_rps, s.p50_ms, s.p99_ms, s.p999_ms, s.errors, s.due
                ));
            }
        }
        if !self.criterion_ns.is_empty() {
            out.push_str("\n## Criterion (hot functions, mean per call)\n\n| benchmark | time |\n|---|---|\n");
            for (name, ns) in &self.criterion_ns {
                let t = if *ns >= 1e6 {
                    format!("{:.2} ms", ns / 1e6)
                } else if *ns >= 1e3 {
                    format!("{:.2} µs", ns / 1e3)
                } else {
                    format!("{ns:.0} ns")
                };
                out.push_str(&format!("| {name} | {t} |\n"));
            }
        }
        out.push_str("\n## Setup\n\n");
        for line in &self.setup {
            out.push_str(&format!("- {line}\n"));
        }
        out
    }

    /// Write `RESULTS.md` and `results.json` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("RESULTS.md"), self.markdown())?;
        std::fs::write(dir.join("results.json"), serde_json::to_string_pretty(self)? + "\n")?;
        Ok(())
    }
}

/// Mean times (ns) of every criterion benchmark under `criterion_dir` (`target/criterion`).
pub fn criterion_means(criterion_dir: &Path) -> BTreeMap<String, f64> {
    let mut means = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(criterion_dir) else { return means };
    for entry in entries.flatten() {
        let estimates = entry.path().join("new/estimates.json");
        let Ok(text) = std::fs::read_to_string(&estimates) else { continue };
        let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if let Some(ns) = value["mean"]["point_estimate"].as_f64() {
            means.insert(entry.file_name().to_string_lossy().into_owned(), ns);
        }
    }
    means
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_tripnest_over_ceiling_and_missing_values_show_a_dash() {
        let row = Row::new("1", "p99", "ms", Some(30.0), "bare", Some(10.0));
        assert_eq!(row.ratio(), Some(3.0));
        assert_eq!(Row::new("1", "p99", "ms", None, "bare", Some(1.0)).ratio(), None);
        let report = Report {
            machine: Machine::detect("debug", true),
            rows: vec![row],
            steps: BTreeMap::new(),
            criterion_ns: BTreeMap::from([("nightly_price".into(), 42.0)]),
            seconds: 1.0,
            setup: vec![],
            classes: vec![],
            seeds: vec![],
        };
        let md = report.markdown();
        assert!(md.contains("| 1 | p99 (ms) | 30.0 | bare | 10.0 | 3.00× |"), "{md}");
        assert!(md.contains("| nightly_price | 42 ns |"), "{md}");
    }
}
