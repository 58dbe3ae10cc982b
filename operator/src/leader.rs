//! Lease-based leader election (`coordination.k8s.io/v1` Lease), so two operator replicas
//! never both act. Every write is a compare-and-swap on the Lease's `resourceVersion`: create
//! when absent, replace (renew, or take over once expired) otherwise; a conflicting writer
//! gets a 409 and simply tries again later.
//!
//! Expiry is judged the way client-go does it, by *local* time since this process last saw
//! the record change — not by comparing `renewTime` with our clock — so clock skew between
//! replicas cannot make two of them leader. The leader gives up as soon as a renewal has not
//! succeeded for `renew_deadline` (shorter than the lease), and releases the Lease on shutdown
//! so a standby takes over at once.

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::MicroTime,
    jiff::Timestamp,
};
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Which Lease to hold, as whom, and the timing.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    /// Lease name.
    pub name: String,
    /// This replica's identity (pod name).
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How long the leader keeps acting while renewals fail.
    pub renew_deadline: Duration,
    /// Pause between attempts.
    pub retry_period: Duration,
}

/// What to do with the Lease as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// There is no Lease: create it holding it.
    Create,
    /// We hold it: renew.
    Renew,
    /// It is free or expired: take it over.
    TakeOver,
    /// Someone else holds a live lease: wait.
    Wait,
}

/// The decision for `lease` (pure): `expired` says whether its record has not changed for
/// longer than its duration, as observed locally.
pub fn decide(lease: Option<&Lease>, me: &str, expired: bool) -> Decision {
    let Some(lease) = lease else { return Decision::Create };
    match lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()).filter(|h| !h.is_empty()) {
        Some(holder) if holder == me => Decision::Renew,
        Some(_) if !expired => Decision::Wait,
        _ => Decision::TakeOver,
    }
}

/// Holds (or waits for) one Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    settings: LeaseSettings,
    /// The record last seen (holder, renew time, transitions) and when it was first seen.
    observed: Option<(String, Instant)>,
}

impl LeaderElector {
    /// An elector for the Lease in `api`'s namespace.
    pub fn new(api: Api<Lease>, settings: LeaseSettings) -> Self {
        Self { api, settings, observed: None }
    }

    /// This replica's identity.
    pub fn identity(&self) -> &str {
        &self.settings.identity
    }

    fn record_of(lease: &Lease) -> String {
        let spec = lease.spec.clone().unwrap_or_default();
        format!("{:?}/{:?}/{:?}", spec.holder_identity, spec.renew_time.map(|t| t.0), spec.lease_transitions)
    }

    fn is_expired(&mut self, lease: &Lease) -> bool {
        let record = Self::record_of(lease);
        let now = Instant::now();
        let since = match &self.observed {
            Some((seen, at)) if *seen == record => *at,
            _ => {
                self.observed = Some((record, now));
                now
            }
        };
        let secs = lease.spec.as_ref().and_then(|s| s.lease_duration_seconds).unwrap_or(15).max(1);
        now.duration_since(since) > Duration::from_secs(secs as u64)
    }

    /// One attempt to acquire or renew; `Ok(true)` when we hold the Lease afterwards.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let current = self.api.get_opt(&self.settings.name).await?;
        let expired = current.as_ref().is_some_and(|l| self.is_expired(l));
        let now = MicroTime(Timestamp::now());
        let duration = i32::try_from(self.settings.lease_duration.as_secs()).unwrap_or(15);
        let result = match decide(current.as_ref(), &self.settings.identity, expired) {
            Decision::Wait => return Ok(false),
            Decision::Create => {
                let lease = Lease {
                    metadata: ObjectMeta { name: Some(self.settings.name.clone()), ..Default::default() },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(self.settings.identity.clone()),
                        lease_duration_seconds: Some(duration),
                        acquire_time: Some(now.clone()),
                        renew_time: Some(now),
                        lease_transitions: Some(0),
                        ..Default::default()
                    }),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            decision => {
                let mut lease = current.expect("Renew and TakeOver need a lease");
                let spec = lease.spec.get_or_insert_with(Default::default);
                if decision == Decision::TakeOver {
                    spec.acquire_time = Some(now.clone());
                    spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
                    spec.holder_identity = Some(self.settings.identity.clone());
                }
                spec.renew_time = Some(now);
                spec.lease_duration_seconds = Some(duration);
                // `replace` sends metadata.resourceVersion: a concurrent writer makes this a 409.
                self.api.replace(&self.settings.name, &PostParams::default(), &lease).await
            }
        };
        match result {
            Ok(lease) => {
                self.observed = Some((Self::record_of(&lease), Instant::now()));
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Wait until this replica holds the Lease; `false` if `shutdown` fired first.
    pub async fn acquire(&mut self, shutdown: &CancellationToken) -> bool {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(identity = self.settings.identity, lease = self.settings.name, "became leader");
                    return true;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "leader election attempt failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(self.settings.retry_period) => {}
            }
        }
    }

    /// Keep renewing until leadership is lost (returns) or `stop` fires (returns).
    pub async fn hold(&mut self, stop: &CancellationToken) {
        let mut last_renewed = Instant::now();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(self.settings.retry_period) => {}
            }
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => {
                    tracing::warn!(identity = self.settings.identity, "another replica holds the lease; stepping down");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "lease renewal failed"),
            }
            if last_renewed.elapsed() > self.settings.renew_deadline {
                tracing::warn!(identity = self.settings.identity, "could not renew the lease in time; stepping down");
                return;
            }
        }
    }

    /// Give the Lease up (on shutdown) so a standby replica takes over at once.
    pub async fn release(&mut self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.settings.name).await else { return };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match self.api.replace(&self.settings.name, &PostParams::default(), &lease).await {
            Ok(_) => tracing::info!(identity = self.settings.identity, "released the lease"),
            Err(e) => tracing::warn!(error = %e, "could not release the lease; it will expire"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>) -> Lease {
        Lease {
            metadata: ObjectMeta { name: Some("l".into()), ..Default::default() },
            spec: Some(LeaseSpec { holder_identity: holder.map(Into::into), ..Default::default() }),
        }
    }

    #[test]
    fn decisions_follow_holder_and_expiry() {
        assert_eq!(decide(None, "a", false), Decision::Create);
        assert_eq!(decide(Some(&lease(Some("a"))), "a", true), Decision::Renew);
        assert_eq!(decide(Some(&lease(Some("b"))), "a", false), Decision::Wait);
        assert_eq!(decide(Some(&lease(Some("b"))), "a", true), Decision::TakeOver);
        assert_eq!(decide(Some(&lease(None)), "a", false), Decision::TakeOver, "a released lease is free");
        assert_eq!(decide(Some(&lease(Some(""))), "a", false), Decision::TakeOver);
    }
}
