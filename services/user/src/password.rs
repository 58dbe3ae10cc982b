//! Password hashing with argon2id. Hashing is CPU- and memory-heavy, so it runs on a fixed set
//! of hashing threads, which bounds how many hashes run at once. Fixed threads also bound the
//! memory: each hash allocates `memory_kib` (19 MiB by default), and glibc keeps what a thread
//! freed in that thread's arena, so hashes spread over the blocking pool's many threads grew a
//! Pod past its 512 MiB limit under 40 concurrent sign-ups (OOMKilled on the local node).

use crate::config::PasswordHashingConfig;
use anyhow::Context;
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::{self, SaltString},
};
use secrecy::{ExposeSecret, SecretString};
use std::{
    sync::{Arc, Mutex, mpsc},
    time::Instant,
};

/// A unit of hashing work for one of the hashing threads.
type Job = Box<dyn FnOnce(&Argon2<'static>) + Send>;

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    jobs: mpsc::Sender<Job>,
    /// A hash of a random password, verified against when the email is unknown so a failed
    /// login takes as long whether or not the account exists.
    decoy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").field("params", self.argon.params()).finish_non_exhaustive()
    }
}

impl Passwords {
    /// Build the hasher from its cost settings (computes the decoy hash once).
    pub async fn new(cfg: &PasswordHashingConfig) -> anyhow::Result<Self> {
        let params = Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid password_hashing settings: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let threads = match cfg.max_concurrent {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let (queue, argon) = (queue.clone(), argon.clone());
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || {
                    // Ends when every Passwords (every sender) is dropped.
                    while let Ok(job) = { queue.lock().map_err(|_| mpsc::RecvError).and_then(|q| q.recv()) } {
                        job(&argon);
                    }
                })
                .context("start a password hashing thread")?;
        }
        let mut passwords = Self { argon, jobs, decoy_hash: Arc::from("") };
        let decoy = SecretString::from(uuid::Uuid::new_v4().to_string());
        passwords.decoy_hash = passwords.hash(&decoy).await?.into();
        Ok(passwords)
    }

    /// The PHC string (`$argon2id$v=19$m=…`) of `password` with a fresh random salt.
    pub async fn hash(&self, password: &SecretString) -> anyhow::Result<String> {
        let password = password.clone();
        self.run("hash", move |argon| {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon.hash_password(password.expose_secret().as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await
    }

    /// Whether `password` matches the stored PHC string (its own parameters are used).
    pub async fn verify(&self, password: &SecretString, stored: &str) -> anyhow::Result<bool> {
        let (password, stored) = (password.clone(), stored.to_owned());
        self.run("verify", move |argon| {
            let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored password hash is unreadable: {e}"))?;
            match argon.verify_password(password.expose_secret().as_bytes(), &parsed) {
                Ok(()) => Ok(true),
                Err(password_hash::Error::Password) => Ok(false),
                Err(e) => Err(anyhow::anyhow!("password verification failed: {e}")),
            }
        })
        .await
    }

    /// Spend the same effort as [`Self::verify`] for an account that does not exist.
    pub async fn verify_decoy(&self, password: &SecretString) -> anyhow::Result<()> {
        let decoy = self.decoy_hash.clone();
        self.verify(password, &decoy).await.map(|_| ())
    }

    async fn run<T: Send + 'static>(
        &self,
        op: &'static str,
        work: impl FnOnce(&Argon2<'static>) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let started = Instant::now();
        let job: Job = Box::new(move |argon| {
            let _ = done.send(work(argon));
        });
        self.jobs.send(job).map_err(|_| anyhow::anyhow!("password hashing threads stopped"))?;
        let result = result.await.context("password hashing failed (a hashing thread panicked)")?;
        metrics::histogram!("user_password_hash_duration_seconds", "op" => op).record(started.elapsed().as_secs_f64());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHashingConfig {
        PasswordHashingConfig { memory_kib: 1024, iterations: 1, parallelism: 1, max_concurrent: 1 }
    }

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password_and_is_salted() {
        let passwords = Passwords::new(&cheap()).await.expect("hasher");
        let secret = SecretString::from("correct horse battery");
        let a = passwords.hash(&secret).await.expect("hash");
        let b = passwords.hash(&secret).await.expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(passwords.verify(&secret, &a).await.expect("verify"));
        assert!(!passwords.verify(&SecretString::from("wrong horse battery"), &a).await.expect("verify"));
    }

    #[tokio::test]
    async fn hashes_made_with_other_parameters_still_verify() {
        let old = Passwords::new(&cheap()).await.expect("hasher");
        let stronger = Passwords::new(&PasswordHashingConfig { memory_kib: 2048, iterations: 2, ..cheap() }).await.expect("hasher");
        let secret = SecretString::from("correct horse battery");
        let stored = old.hash(&secret).await.expect("hash");
        assert!(stronger.verify(&secret, &stored).await.expect("verify"));
    }

    #[tokio::test]
    async fn bad_parameters_are_refused_with_the_setting_named() {
        let err = Passwords::new(&PasswordHashingConfig { memory_kib: 1, ..cheap() }).await.expect_err("too little memory");
        assert!(err.to_string().contains("password_hashing"), "{err}");
    }
}
