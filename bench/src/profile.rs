//! Where the machine's time goes while a scenario runs: CPU by process, read from `/proc`
//! (every process on the machine, the engines included), and PostgreSQL's time by statement,
//! read from `pg_stat_statements` when the server loads it (the stack's PostgreSQL does, see
//! `dev/components/postgres.sh`). Both are read twice, before and after, and reported as the
//! difference, so a figure is "per booking" or "cores during the load", not since boot.
//!
//! What a booking costs the whole machine ([`Cpu::per_unit`]): CPU used from the start of a
//! load until the saga and the read models have finished its work, less what every process
//! uses idle (measured just before), divided by the bookings. Unlike cores during a load,
//! this neither hides work deferred past the load's end nor depends on whether the machine
//! was saturated.

use std::{collections::HashMap, time::Instant};
use tripnest_e2e::Stack;

/// Linux reports process times in USER_HZ, which is 100 on every architecture we run on.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time used so far by every process, by pid and command.
#[derive(Debug)]
pub struct Cpu {
    at: Instant,
    ticks: HashMap<(u32, String), u64>,
}

impl Cpu {
    /// Read `/proc` now.
    pub fn now() -> Self {
        let mut ticks = HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            if let Some((command, used)) = parse_stat(&stat) {
                ticks.insert((pid, command), used);
            }
        }
        Self { at: Instant::now(), ticks }
    }

    /// Cores used by each command since `self`, most first.
    pub fn cores_since(&self) -> Vec<(String, f64)> {
        let (seconds, used) = self.used_since();
        used.into_iter().map(|(c, cpu)| (c, cpu / seconds.max(1e-3))).collect()
    }

    /// CPU ms per unit by command, most first: what each used since `self`, less its idle use
    /// over the same seconds (`idle`: cores by command, from [`Self::cores_since`] over an
    /// idle interval), divided by `units`. A command busier idle than now counts 0.
    pub fn per_unit(&self, idle: &[(String, f64)], units: f64) -> Vec<(String, f64)> {
        let (seconds, used) = self.used_since();
        let mut out: Vec<(String, f64)> = used
            .into_iter()
            .map(|(command, cpu)| {
                let idle_cores = idle.iter().find(|(c, _)| *c == command).map_or(0.0, |(_, v)| *v);
                let ms = (cpu - idle_cores * seconds).max(0.0) * 1000.0 / units.max(1.0);
                (command, ms)
            })
            .filter(|(_, ms)| *ms > 0.0)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    /// Wall-clock seconds since `self`, and the CPU seconds each command used in them (a
    /// process started since counts from its start), most first.
    fn used_since(&self) -> (f64, Vec<(String, f64)>) {
        let now = Self::now();
        let mut by: HashMap<String, u64> = HashMap::new();
        for (key, used) in &now.ticks {
            let spent = used.saturating_sub(self.ticks.get(key).copied().unwrap_or(0));
            *by.entry(key.1.clone()).or_default() += spent;
        }
        let mut out: Vec<(String, f64)> = by.into_iter().filter(|(_, t)| *t > 0).map(|(c, t)| (c, t as f64 / TICKS_PER_SECOND)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        (now.at.duration_since(self.at).as_secs_f64(), out)
    }
}

/// The machine's busy and total ticks so far, from the `cpu` line of `/proc/stat` (busy: all
/// but idle and iowait).
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    machine_ticks_of(stat.lines().next()?)
}

fn machine_ticks_of(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    (fields.next()? == "cpu").then_some(())?;
    let ticks: Vec<u64> = fields.map(str::parse).collect::<Result<_, _>>().ok()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Cores the whole machine kept busy over the next `over` (0 when `/proc/stat` is unreadable).
pub async fn busy_cores(over: std::time::Duration) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let Some((busy0, total0)) = machine_ticks() else { return 0.0 };
    tokio::time::sleep(over).await;
    let Some((busy1, total1)) = machine_ticks() else { return 0.0 };
    cores * (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64
}

/// The command and the user + system ticks of one `/proc/<pid>/stat` line. The command is in
/// parentheses and may itself hold spaces or parentheses, so fields are counted after the last `)`.
fn parse_stat(stat: &str) -> Option<(String, u64)> {
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let command = stat.get(open + 1..close)?;
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    let (user, system) = (fields.get(11)?.parse::<u64>().ok()?, fields.get(12)?.parse::<u64>().ok()?);
    // Kernel workers are one command per CPU and job; count them as one.
    let command = if command.starts_with("kworker") { "kworker" } else { command };
    Some((command.to_owned(), user + system))
}

/// PostgreSQL's statements, counted from a reset.
#[derive(Debug)]
pub struct Statements {
    pool: sqlx::PgPool,
}

/// One normalised statement's share.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The database it ran in.
    pub database: String,
    /// Times it ran.
    pub calls: i64,
    /// Time spent executing it, in all, ms.
    pub total_ms: f64,
    /// The statement, whitespace collapsed, cut to 100 characters.
    pub query: String,
}

impl Statements {
    /// Reset the counters, or `None` when the server does not load `pg_stat_statements`.
    pub async fn reset(stack: &Stack) -> Option<Self> {
        let pool = sqlx::PgPool::connect(stack.database_url()).await.ok()?;
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(&pool).await.ok()?;
        sqlx::query("SELECT pg_stat_statements_reset()").execute(&pool).await.ok()?;
        Some(Self { pool })
    }

    /// Every statement since the reset, most time first.
    pub async fn since(&self) -> anyhow::Result<Vec<Statement>> {
        let rows: Vec<(String, i64, f64, String)> = sqlx::query_as(
            "SELECT d.datname::text, s.calls, s.total_exec_time, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 100) \
             FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid ORDER BY s.total_exec_time DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(database, calls, total_ms, query)| Statement { database, calls, total_ms, query }).collect())
    }
}

/// `statements` as a note: the time and the statements (calls, `BEGIN` and `COMMIT` included)
/// per `unit`, in all and by database, and the `top` statements with their calls and time per
/// `unit`.
pub fn statements_note(statements: &[Statement], per: f64, unit: &str, top: usize) -> String {
    let per = per.max(1.0);
    let mut by_db: Vec<(String, f64, i64)> = Vec::new();
    for s in statements {
        match by_db.iter_mut().find(|(d, _, _)| *d == s.database) {
            Some((_, ms, calls)) => (*ms, *calls) = (*ms + s.total_ms, *calls + s.calls),
            None => by_db.push((s.database.clone(), s.total_ms, s.calls)),
        }
    }
    by_db.sort_by(|a, b| b.1.total_cmp(&a.1));
    let calls: i64 = by_db.iter().map(|(_, _, c)| c).sum();
    let dbs: Vec<String> = by_db.iter().map(|(d, ms, c)| format!("{d} {:.2} ({:.1} statements)", ms / per, *c as f64 / per)).collect();
    let tops: Vec<String> = statements
        .iter()
        .take(top)
        .map(|s| format!("{:.2} ms, {:.1} calls: [{}] `{}`", s.total_ms / per, s.calls as f64 / per, s.database, s.query.replace('|', "/")))
        .collect();
    format!(
        "{:.1} statements per {unit} in all; ms (statements) per {unit} by database: {}; top statements per {unit}: {}",
        calls as f64 / per,
        dbs.join(", "),
        tops.join("; ")
    )
}

/// CPU ms per unit by command (from [`Cpu::per_unit`]) as a note: the busiest `top` commands.
pub fn per_unit_note(ms: &[(String, f64)], unit: &str, top: usize) -> String {
    let shown: Vec<String> = ms.iter().take(top).map(|(c, v)| format!("{c} {v:.1}")).collect();
    format!("CPU ms per {unit} by process, idle use subtracted (all of the machine's, from /proc): {}", shown.join(", "))
}

/// `cores` as a note: the busiest `top` commands.
pub fn cores_note(cores: &[(String, f64)], top: usize) -> String {
    let shown: Vec<String> = cores.iter().take(top).map(|(c, v)| format!("{c} {v:.2}")).collect();
    format!("cores by process (all of the machine's, from /proc): {}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_is_busy_in_all_but_idle_and_iowait() {
        assert_eq!(machine_ticks_of("cpu  100 5 50 800 20 3 2 0 0 0"), Some((160, 980)));
        assert_eq!(machine_ticks_of("cpu0 100 5 50 800 20 3 2 0 0 0"), None, "one core's line");
        let (busy, total) = machine_ticks().expect("/proc/stat");
        assert!(busy > 0 && busy < total);
    }

    #[test]
    fn a_stat_line_gives_its_command_and_user_plus_system_ticks() {
        let line = "4242 (tokio-runtime (w) x) S 1 4242 4242 0 -1 4194560 2030 0 0 0 150 25 0 0 20 0 9 0 123 0 0";
        assert_eq!(parse_stat(line), Some(("tokio-runtime (w) x".to_owned(), 175)));
        assert_eq!(parse_stat("17 (kworker/0:1-events) I 2 0 0 0 -1 0 0 0 0 0 3 4 0 0"), Some(("kworker".to_owned(), 7)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn the_cpu_this_process_spends_is_counted_under_its_command() {
        let own = || std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| parse_stat(&s)).expect("own stat");
        let me = own().0;
        let before = Cpu::now();
        let start = before.ticks[&(std::process::id(), me.clone())];
        // Spin until the kernel has charged this process 30 more ticks (0.3 s), however busy
        // the machine is (bounded: 60 s).
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while own().1 < start + 30 && Instant::now() < deadline {
            std::hint::black_box((0..10_000u64).sum::<u64>());
        }
        let (_, used) = before.used_since();
        let mine = used.iter().find(|(c, _)| *c == me).map_or(0.0, |(_, v)| *v);
        assert!(mine >= 0.3, "{me} spent at least 0.3 s of CPU, counted {mine}: {used:?}");
    }

    #[test]
    fn cpu_per_unit_subtracts_each_commands_idle_use_over_the_same_time() {
        let me = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| parse_stat(&s)).expect("own stat").0;
        let before = Cpu::now();
        let start = before.ticks[&(std::process::id(), me.clone())];
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while Cpu::now().ticks[&(std::process::id(), me.clone())] < start + 40 && Instant::now() < deadline {
            std::hint::black_box((0..10_000u64).sum::<u64>());
        }
        // 0.4 s or more of CPU in about as many seconds of wall clock, over 2 units: ≥ 200 ms
        // each with nothing idle; an idle use of 100 cores is more than it used, so 0.
        let busy = before.per_unit(&[], 2.0);
        let mine = busy.iter().find(|(c, _)| *c == me).map_or(0.0, |(_, v)| *v);
        assert!(mine >= 200.0, "{me}: {mine} ms per unit of {busy:?}");
        let idle = [(me.clone(), 100.0)];
        assert!(before.per_unit(&idle, 2.0).iter().all(|(c, _)| *c != me), "idle use above the use counts nothing");
        assert_eq!(
            per_unit_note(&[("postgres".into(), 12.34), ("java".into(), 5.0), ("redis".into(), 0.1)], "booking", 2),
            "CPU ms per booking by process, idle use subtracted (all of the machine's, from /proc): postgres 12.3, java 5.0"
        );
    }

    #[test]
    fn statements_are_reported_per_unit_with_their_databases() {
        let s =
            |database: &str, calls, total_ms, query: &str| Statement { database: database.into(), calls, total_ms, query: query.into() };
        let note = statements_note(
            &[s("booking", 200, 100.0, "SELECT a"), s("ferretdb", 400, 50.0, "SELECT b"), s("booking", 100, 30.0, "UPDATE c")],
            100.0,
            "booking",
            2,
        );
        assert_eq!(
            note,
            "7.0 statements per booking in all; ms (statements) per booking by database: booking 1.30 (3.0 statements), ferretdb 0.50 (4.0 statements); \
             top statements per booking: 1.00 ms, 2.0 calls: [booking] `SELECT a`; 0.50 ms, 4.0 calls: [ferretdb] `SELECT b`"
        );
    }
}
