//! Sign-in throttle per target account: failed logins spend GCRA budgets kept in PostgreSQL,
//! keyed by the normalised email, so no token, address rotation or second gateway replica
//! buys an attacker more guesses at one account.
//!
//! **Why here and not in the gateway.** Only the user service knows whether an attempt
//! failed; the gateway sees an opaque body and a status. Counting failures only (a correct
//! password gives its unit back) means a user who types their password right is never
//! slowed by their own history. The service has no Redis (its one store is PostgreSQL), and
//! a login already costs an argon2id hash, so one `INSERT … ON CONFLICT` per attempt is noise;
//! the upsert locks the key's row, so concurrent attempts can never overspend a budget.
//!
//! **Two budgets, balanced against lock-out.** Every attempt spends from both:
//! - *per source* (`acct-ip:<email>|<address>`): default 5 failures, then 6 a minute: one
//!   attacker gets at most 5 + 6 guesses a minute at an account, whatever the gateway allows;
//! - *per account* (`acct:<email>`, every source together): default 10, then 20 a minute, which
//!   bounds a distributed attacker.
//!
//! A single attacker spends only their own per-source budget, and the per-account budget
//! refills faster than one source may spend it, so they cannot lock the owner out at all. Only
//! several sources together can drain the per-account budget, and then every refusal says
//! `Retry-After` of at most 60 / 20 = 3 s: the owner waits seconds, not an hour. Refused
//! attempts spend nothing and are answered before any password is checked (429, the shared
//! error shape), and unknown emails are throttled exactly like known ones, so a 429 reveals
//! nothing about who has an account.
//!
//! The source is the gateway's `X-Forwarded-For` (it sets the single client address), else the
//! TCP peer; the user service is reachable only from the gateway and other services.

use crate::config::{LoginBudget, LoginThrottleConfig};
use sqlx::PgPool;
use std::{net::IpAddr, time::Duration};

/// One budget in the units the SQL takes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Gcra {
    /// Seconds of budget one failure costs.
    interval_secs: f64,
    /// Seconds of budget when full (`interval × burst`).
    capacity_secs: f64,
}

impl Gcra {
    fn of(budget: LoginBudget) -> Option<Self> {
        (budget.per_minute > 0 && budget.burst > 0).then(|| {
            let interval_secs = 60.0 / f64::from(budget.per_minute);
            Self { interval_secs, capacity_secs: interval_secs * f64::from(budget.burst) }
        })
    }
}

/// What [`LoginThrottle::admit`] decided.
#[derive(Debug)]
pub enum Admission {
    /// Go ahead; give the reservation back with [`LoginThrottle::refund`] if the password matched.
    Admitted(Reservation),
    /// Over budget: nothing was spent, and one attempt fits again after `retry_after`.
    Refused {
        /// Time until the budget has room for one more attempt.
        retry_after: Duration,
    },
}

/// The units one admitted attempt spent.
#[derive(Debug)]
pub struct Reservation(Vec<(String, Gcra)>);

/// The failed-login budgets of every account.
#[derive(Debug, Clone)]
pub struct LoginThrottle {
    pool: PgPool,
    per_source: Option<Gcra>,
    per_account: Option<Gcra>,
}

/// Spend one interval of `$1`'s budget if it fits. The time is the clock's when the row is
/// locked (`clock_timestamp()`), not the transaction's start (`now()`): concurrent attempts on
/// one key queue on its row lock in an order that need not be the order their transactions
/// began, and with `now()` an attempt that began earlier but locked later was refused while
/// budget was left (a CI run: three guesses at a fresh key, burst 2, got one 401 and two 429s).
const SPEND: &str = "INSERT INTO login_throttle AS t (key, tat) VALUES ($1, clock_timestamp() + make_interval(secs => $2))
     ON CONFLICT (key) DO UPDATE SET tat = GREATEST(t.tat, clock_timestamp()) + make_interval(secs => $2)
     WHERE GREATEST(t.tat, clock_timestamp()) + make_interval(secs => $2) <= clock_timestamp() + make_interval(secs => $3)
     RETURNING tat";

const WAIT: &str = "SELECT EXTRACT(EPOCH FROM tat + make_interval(secs => $2) - make_interval(secs => $3) - clock_timestamp())::float8
     FROM login_throttle WHERE key = $1";

impl LoginThrottle {
    /// The throttle on the service's database; a budget of 0 per minute is switched off.
    pub fn new(pool: PgPool, cfg: &LoginThrottleConfig) -> Self {
        Self { pool, per_source: Gcra::of(cfg.per_source), per_account: Gcra::of(cfg.per_account) }
    }

    /// Spend one attempt at the account `email` (normalised) from `source`, in both budgets or
    /// in neither.
    pub async fn admit(&self, email: &str, source: Option<IpAddr>) -> sqlx::Result<Admission> {
        let source = source.map_or_else(|| "unknown".to_owned(), |ip| ip.to_canonical().to_string());
        let budgets = [(format!("acct-ip:{email}|{source}"), self.per_source), (format!("acct:{email}"), self.per_account)];
        let mut tx = self.pool.begin().await?;
        let mut spent = Vec::new();
        for (key, gcra) in budgets {
            let Some(gcra) = gcra else { continue };
            let fits: Option<(chrono::DateTime<chrono::Utc>,)> =
                sqlx::query_as(SPEND).bind(&key).bind(gcra.interval_secs).bind(gcra.capacity_secs).fetch_optional(&mut *tx).await?;
            if fits.is_none() {
                let (wait,): (f64,) =
                    sqlx::query_as(WAIT).bind(&key).bind(gcra.interval_secs).bind(gcra.capacity_secs).fetch_one(&mut *tx).await?;
                tx.rollback().await?;
                return Ok(Admission::Refused { retry_after: Duration::from_secs_f64(wait.max(0.0)) });
            }
            spent.push((key, gcra));
        }
        tx.commit().await?;
        Ok(Admission::Admitted(Reservation(spent)))
    }

    /// Give back what a successful attempt spent: only failures count.
    pub async fn refund(&self, reservation: Reservation) -> sqlx::Result<()> {
        for (key, gcra) in reservation.0 {
            sqlx::query("UPDATE login_throttle SET tat = tat - make_interval(secs => $2) WHERE key = $1")
                .bind(key)
                .bind(gcra.interval_secs)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Delete budgets that are full again (a missing row is a full budget); returns how many.
    pub async fn sweep(&self) -> sqlx::Result<u64> {
        Ok(sqlx::query("DELETE FROM login_throttle WHERE tat < now()").execute(&self.pool).await?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_becomes_an_interval_and_a_capacity() {
        assert_eq!(Gcra::of(LoginBudget { per_minute: 6, burst: 5 }), Some(Gcra { interval_secs: 10.0, capacity_secs: 50.0 }));
        assert_eq!(Gcra::of(LoginBudget { per_minute: 0, burst: 5 }), None, "0 per minute switches it off");
        assert_eq!(Gcra::of(LoginBudget { per_minute: 6, burst: 0 }), None);
    }

    #[test]
    fn the_defaults_keep_a_single_source_from_draining_the_account() {
        let cfg = LoginThrottleConfig::default();
        assert!(cfg.per_source.per_minute < cfg.per_account.per_minute && cfg.per_source.burst < cfg.per_account.burst);
        let account = Gcra::of(cfg.per_account).expect("on");
        assert!(account.interval_secs <= 3.0, "a drained account refills within seconds");
    }
}
