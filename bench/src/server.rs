//! The Latchkey server as a process of its own: the release binary, configured through its
//! documented environment variables as an operator would, so that `/proc` tells its CPU and
//! memory apart from the load generator's.

use crate::usage::Services;
use latchkey_tests::replicas::process::{free_port, tail};
use latchkey_tests::{
    TEST_MASTER_KEY, TestApp, test_database_url, test_migration_database_url, test_redis_url,
    unique,
};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Where the server keeps its data: the embedded default (a SQLite file in the data directory
/// and the in-process store), or PostgreSQL and Redis named by `LATCHKEY_TEST_DATABASE_URL`,
/// `LATCHKEY_TEST_MIGRATION_DATABASE_URL` and `LATCHKEY_TEST_REDIS_URL`.
#[derive(Clone, Debug)]
pub struct Backend {
    /// The application role's URL and the schema owner's.
    pub postgres: Option<(String, String)>,
    pub redis: Option<String>,
}

impl Backend {
    pub fn from_env() -> Self {
        Self {
            postgres: test_database_url().map(|url| {
                let migration = test_migration_database_url().unwrap_or_else(|| url.clone());
                (url, migration)
            }),
            redis: test_redis_url(),
        }
    }

    pub fn describe(&self) -> String {
        let database = if self.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite (file, embedded default)"
        };
        let store = if self.redis.is_some() {
            "Redis"
        } else {
            "in-process"
        };
        format!("{database} + {store} store")
    }

    /// The processes that serve the server besides itself.
    pub fn services(&self) -> Services {
        Services {
            postgres_database: self.postgres.as_ref().map(|(url, _)| {
                url::Url::parse(url)
                    .expect("LATCHKEY_TEST_DATABASE_URL is a URL")
                    .path()
                    .trim_start_matches('/')
                    .to_owned()
            }),
            redis: self.redis.is_some(),
        }
    }
}

/// What every start of the server gets: the same binary, backend, data directory, port and
/// platform token, so that it can be stopped and started again on the same data.
pub struct ServerConfig {
    pub binary: PathBuf,
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub port: u16,
    pub platform_token: String,
}

impl ServerConfig {
    /// A fresh data directory in the system's temporary folder, and a free port.
    pub fn new(backend: Backend) -> Self {
        let data_dir = std::env::temp_dir().join(unique("latchkey-bench"));
        Self {
            binary: latchkey_tests::replicas::replica::binary(),
            backend,
            data_dir,
            port: free_port(),
            platform_token: format!("lkp_{}", unique("bench-platform-token")),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn public_url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// A client of the server (a [`TestApp`] that reads the server's mailbox file).
    pub fn app(&self) -> TestApp {
        TestApp::remote(
            &self.url(),
            &self.public_url(),
            &self.platform_token,
            &self.data_dir.join("mailbox.txt"),
        )
    }

    /// A URL with which the benchmark may write the server's tables itself: the schema owner's
    /// on PostgreSQL, the embedded database file otherwise.
    pub fn owner_database_url(&self) -> String {
        match &self.backend.postgres {
            Some((_, migration)) => migration.clone(),
            None => format!(
                "sqlite://{}",
                self.data_dir
                    .join(latchkey_api::config::files::EMBEDDED_DATABASE)
                    .display()
            ),
        }
    }

    fn log(&self) -> PathBuf {
        self.data_dir.join("server.log")
    }

    /// The server's command with exactly these settings in its environment: warnings only in
    /// its log, so that logging does not weigh on what is measured; on PostgreSQL, the
    /// migrations applied at start-up with the schema owner's URL.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("LATCHKEY_BIND", format!("127.0.0.1:{}", self.port))
            .env("LATCHKEY_PUBLIC_URL", self.public_url())
            .env("LATCHKEY_DATA_DIR", &self.data_dir)
            .env("LATCHKEY_PLATFORM_TOKEN", &self.platform_token);
        if let Some((url, migration)) = &self.backend.postgres {
            command
                .env("LATCHKEY_DATABASE_URL", url)
                .env("LATCHKEY_MIGRATION_DATABASE_URL", migration)
                .env("LATCHKEY_AUTO_MIGRATE", "true")
                .env("LATCHKEY_MASTER_KEY", TEST_MASTER_KEY);
        }
        if let Some(redis) = &self.backend.redis {
            command.env("LATCHKEY_REDIS_URL", redis);
        }
        command
    }

    /// Starts the server and waits until `/readyz` answers 200.
    pub async fn start(&self) -> Server {
        std::fs::create_dir_all(&self.data_dir).expect("the data directory");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("the server's log file");
        let mut child = self
            .command()
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let readyz = format!("{}/readyz", self.url());
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let ready = client
                .get(&readyz)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                break;
            }
            let exited = child.try_wait().expect("the server's status");
            assert!(
                exited.is_none() && started.elapsed() < Duration::from_secs(120),
                "the server is not ready ({exited:?}):\n{}",
                tail(&self.log(), 30)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child }
    }
}

/// The data directory (the embedded database with it) goes with the configuration; after a
/// failure the end of the server's log is shown first.
impl Drop for ServerConfig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the server's log ends with:\n{}", tail(&self.log(), 30));
        }
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

/// A running server process, killed when dropped.
pub struct Server {
    child: Child,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server runs")
    }

    /// Kills the process and waits for it to end. Its committed writes are durable (the SQLite
    /// WAL is replayed by whoever opens the file next).
    pub async fn stop(mut self) {
        self.child.kill().await.expect("the server stops");
    }
}
