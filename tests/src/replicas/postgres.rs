//! The fault test's own PostgreSQL: a cluster created with `initdb` in the test's folder,
//! listening on a free port, which the test stops and starts at will. It never touches the
//! machine's PostgreSQL.

use super::process::{Process, as_service_user, hand_to_service_user, run};
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The application role's login (a member of `latchkey_app`, neither superuser nor owner, so
/// row-level security applies to the replicas) and the database.
const SERVER_ROLE: &str = "latchkey_server";
const DATABASE: &str = "latchkey";

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    sockets: PathBuf,
    log: PathBuf,
    process: Option<Process>,
}

/// Where the PostgreSQL server programs are: `LATCHKEY_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout, not on `PATH`).
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("LATCHKEY_TEST_PG_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("PostgreSQL's server programs (initdb, postgres): install postgresql, or set LATCHKEY_TEST_PG_BIN")
}

impl Postgres {
    /// Creates a cluster in `dir`, starts it, and creates the roles and the database.
    pub async fn start(dir: &Path) -> Self {
        let bin = bin_dir();
        let data = dir.join("pgdata");
        let sockets = dir.join("pgsockets");
        for path in [&data, &sockets] {
            std::fs::create_dir_all(path).unwrap();
            hand_to_service_user(path);
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb.args(["-D", data.to_str().unwrap(), "-U", "postgres"]);
        initdb.args(["--auth=trust", "--encoding=UTF8", "--no-sync"]);
        as_service_user(&mut initdb);
        run(initdb);
        let mut postgres = Self {
            port: super::process::free_port(),
            bin,
            data,
            sockets,
            log: dir.join("postgres.log"),
            process: None,
        };
        postgres.start_server().await;
        postgres.run_sql(
            "postgres",
            &[
                "CREATE ROLE latchkey_app NOLOGIN NOSUPERUSER NOBYPASSRLS",
                &format!(
                    "CREATE ROLE {SERVER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE latchkey_app"
                ),
                &format!("CREATE DATABASE {DATABASE}"),
            ],
        );
        postgres
    }

    /// The superuser's URL (migrations, and the test's own checks).
    pub fn owner_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The application role's URL (the replicas).
    pub fn server_url(&self) -> String {
        format!(
            "postgres://{SERVER_ROLE}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// Starts the server and waits until it accepts connections.
    pub async fn start_server(&mut self) {
        let mut command = Command::new(self.bin.join("postgres"));
        command.args(["-D", self.data.to_str().unwrap()]);
        command.args(["-p", &self.port.to_string()]);
        command.args(["-k", self.sockets.to_str().unwrap()]);
        // Loopback only; no fsync (the test stops PostgreSQL, it does not crash the machine).
        command.args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
        as_service_user(&mut command);
        self.process = Some(Process::spawn(
            "postgres",
            command,
            &self.log,
            Signal::SIGQUIT,
        ));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.accepts_connections() {
            let process = self.process.as_mut().unwrap();
            assert!(
                process.exited().is_none() && Instant::now() < deadline,
                "PostgreSQL did not start:\n{}",
                process.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fast shutdown (what a restart or a failover does to the clients: their sessions are
    /// ended); returns once the server is gone.
    pub async fn stop_server(&mut self) {
        let mut process = self.process.take().expect("PostgreSQL is running");
        process.signal(Signal::SIGINT);
        process
            .wait_exit(Duration::from_secs(30))
            .await
            .expect("PostgreSQL stops");
    }

    pub fn accepts_connections(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Runs a query on the database as the superuser; returns psql's unaligned, tuples-only
    /// output.
    pub fn query(&self, sql: &str) -> String {
        self.run_sql(DATABASE, &[sql])
    }

    /// Runs each statement on its own (`CREATE DATABASE` may not share a transaction).
    fn run_sql(&self, database: &str, statements: &[&str]) -> String {
        let mut command = Command::new(self.bin.join("psql"));
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        command.args([
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-qAt",
        ]);
        for statement in statements {
            command.args(["-c", statement]);
        }
        run(command)
    }
}
