//! Everything the fault test runs, started in order (PostgreSQL, migrations, Redis, HAProxy,
//! the replicas) in a temporary folder, and torn down in the reverse order.

use super::haproxy::Haproxy;
use super::postgres::Postgres;
use super::redis::Redis;
use super::replica::{Replica, ReplicaSettings, migrate};
use crate::{TEST_MASTER_KEY, TestApp, unique};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A replica's start, from spawning it to HAProxy counting it in.
const START_WITHIN: Duration = Duration::from_secs(60);

/// Fields drop in order: the load balancer first, the folder last.
pub struct Fleet {
    pub haproxy: Haproxy,
    pub replicas: Vec<Replica>,
    pub redis: Redis,
    pub postgres: Postgres,
    pub settings: ReplicaSettings,
    pub dir: Workdir,
}

/// The test's folder: removed at the end, kept (and named) when the test failed, for the
/// services' logs.
pub struct Workdir(PathBuf);

impl Workdir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(unique("latchkey-replicas"));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the services' logs are in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Fleet {
    /// Starts `count` replicas behind HAProxy; returns when HAProxy counts them all in.
    pub async fn start(count: usize) -> Self {
        let dir = Workdir::new();
        let postgres = Postgres::start(dir.path()).await;
        let redis = Redis::start(dir.path()).await;
        let balancer_port = super::process::free_port();
        let settings = ReplicaSettings {
            database_url: postgres.server_url(),
            redis_url: redis.url(),
            public_url: format!("http://localhost:{balancer_port}"),
            platform_token: format!("lkp_{}", unique("replicas-platform-token")),
            master_key: TEST_MASTER_KEY.to_owned(),
            data_dir: dir.path().join("data"),
        };
        migrate(&settings, &postgres.owner_url());
        let mut replicas: Vec<Replica> = (0..count)
            .map(|index| Replica::new(index, &settings, dir.path()))
            .collect();
        let ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
        let haproxy = Haproxy::start(dir.path(), balancer_port, &ports).await;
        for replica in &mut replicas {
            replica.spawn();
            replica.wait_ready(START_WITHIN).await;
        }
        for index in 0..count {
            haproxy.wait_status(index, "UP", START_WITHIN).await;
        }
        Self {
            haproxy,
            replicas,
            redis,
            postgres,
            settings,
            dir,
        }
    }

    /// A client of the deployment through the load balancer.
    pub fn balancer(&self) -> TestApp {
        TestApp::remote(
            &self.haproxy.url(),
            &self.settings.public_url,
            &self.settings.platform_token,
            &self.settings.data_dir.join("mailbox.txt"),
        )
    }

    /// Starts replica `index` again and waits until HAProxy counts it in; returns how long
    /// that took.
    pub async fn restart(&mut self, index: usize) -> Duration {
        let started = std::time::Instant::now();
        self.replicas[index].spawn();
        self.replicas[index].wait_ready(START_WITHIN).await;
        self.haproxy.wait_status(index, "UP", START_WITHIN).await;
        started.elapsed()
    }
}
