//! A Latchkey replica: the real `latchkey` binary in a process of its own, on a port that
//! stays the same across restarts (the load balancer's configuration names it).

use super::process::{Process, free_port, run, tail};
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// How long a replica keeps serving, reported not ready, after SIGTERM: a little more than
/// HAProxy needs to see two failed checks 250 ms apart.
pub const SHUTDOWN_DRAIN_MS: u64 = 1000;

/// What every replica is started with, beside its own address.
#[derive(Clone, Debug)]
pub struct ReplicaSettings {
    pub database_url: String,
    pub redis_url: String,
    pub public_url: String,
    pub platform_token: String,
    pub master_key: String,
    /// Shared by the replicas: in PostgreSQL mode it holds only the development mailbox.
    pub data_dir: PathBuf,
}

pub struct Replica {
    pub index: usize,
    pub port: u16,
    settings: ReplicaSettings,
    log: PathBuf,
    process: Option<Process>,
}

/// The `latchkey` binary: `LATCHKEY_BIN`, else the one cargo built beside this test or
/// benchmark (`target/<profile>/deps/<it>` → `target/<profile>/latchkey`).
pub fn binary() -> PathBuf {
    let path = std::env::var_os("LATCHKEY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let test = std::env::current_exe().expect("the test's path");
            test.parent().unwrap().parent().unwrap().join("latchkey")
        });
    assert!(
        path.exists(),
        "{} does not exist: run `cargo build -p latchkey-api --bin latchkey` (with `--release` for benchmarks) first, or set LATCHKEY_BIN",
        path.display()
    );
    path
}

/// A `latchkey` command with exactly `settings` in its environment (nothing of the test's).
fn command(settings: &ReplicaSettings, database_url: &str) -> Command {
    let mut command = Command::new(binary());
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("LATCHKEY_DATABASE_URL", database_url)
        .env("LATCHKEY_REDIS_URL", &settings.redis_url)
        .env("LATCHKEY_PUBLIC_URL", &settings.public_url)
        .env("LATCHKEY_PLATFORM_TOKEN", &settings.platform_token)
        .env("LATCHKEY_MASTER_KEY", &settings.master_key)
        .env("LATCHKEY_DATA_DIR", &settings.data_dir);
    command
}

/// `latchkey migrate` with `migration_url`.
pub fn migrate(settings: &ReplicaSettings, migration_url: &str) {
    let mut migrate = command(settings, migration_url);
    migrate.arg("migrate");
    run(migrate);
}

impl Replica {
    /// A replica that is not started yet.
    pub fn new(index: usize, settings: &ReplicaSettings, dir: &Path) -> Self {
        Self {
            index,
            port: free_port(),
            settings: settings.clone(),
            log: dir.join(format!("replica-{}.log", index + 1)),
            process: None,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the process; [`Replica::wait_ready`] waits for it to serve.
    pub fn spawn(&mut self) {
        let mut serve = command(&self.settings, &self.settings.database_url);
        serve
            .arg("serve")
            .env("LATCHKEY_BIND", format!("127.0.0.1:{}", self.port))
            .env("LATCHKEY_SHUTDOWN_DRAIN_MS", SHUTDOWN_DRAIN_MS.to_string())
            // CRM deliveries: quick rounds and retries, and a short lease, so that what a
            // killed replica had claimed is taken over within seconds.
            .env("LATCHKEY_CRM_POLL_INTERVAL_MS", "100")
            .env("LATCHKEY_CRM_RETRY_BASE_MS", "100")
            .env("LATCHKEY_CRM_LEASE_SECONDS", "3")
            .env("LATCHKEY_CRM_TIMEOUT_SECONDS", "5")
            // The webhook receiver listens on loopback.
            .env("LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS", "true")
            .env("LATCHKEY_DATABASE_MAX_CONNECTIONS", "8");
        self.process = Some(Process::spawn(
            &format!("replica {}", self.index + 1),
            serve,
            &self.log,
            Signal::SIGKILL,
        ));
    }

    /// Waits until the replica answers `/readyz` with 200.
    pub async fn wait_ready(&mut self, within: Duration) -> Duration {
        let started = Instant::now();
        let client = reqwest::Client::new();
        let readyz = format!("{}/readyz", self.url());
        loop {
            let ready = client
                .get(&readyz)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                return started.elapsed();
            }
            let process = self.process.as_mut().expect("the replica was started");
            assert!(
                process.exited().is_none() && started.elapsed() < within,
                "{} is not ready:\n{}",
                process.name(),
                process.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends `signal` and waits for the process to end; returns its status and how long it
    /// took to end.
    pub async fn stop(&mut self, signal: Signal, within: Duration) -> (ExitStatus, Duration) {
        let mut process = self.process.take().expect("the replica is running");
        let started = Instant::now();
        process.signal(signal);
        let status = process.wait_exit(within).await.unwrap_or_else(|| {
            panic!(
                "{} did not stop within {within:?}:\n{}",
                process.name(),
                process.log_tail(30)
            )
        });
        (status, started.elapsed())
    }

    /// The end of the replica's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}
