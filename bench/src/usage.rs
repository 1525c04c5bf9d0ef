//! What the server side of a measurement spends, read from `/proc`: the CPU time of the server
//! process (user + system, all its threads) and, when they serve it, of every `postgres` and
//! `redis-server` process on the machine; and the server's resident memory.
//!
//! A sampler thread looks every 100 ms. The CPU of a process is its last sample minus its first:
//! processes that exist when the window opens count from their time then, processes that appear
//! during the window count from zero, and processes that end during it keep their last sample.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Clock ticks per second of the CPU times in `/proc` (`getconf CLK_TCK`, read once).
pub fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        let output = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .expect("getconf CLK_TCK");
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("CLK_TCK is a number")
    })
}

/// utime + stime of `pid` in clock ticks (every thread, living or ended), `None` once it is gone.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; fields 14 and 15 of
    // proc(5) are the 12th and 13th after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` of `pid` in KiB.
pub fn resident_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The database services whose processes count as server side besides the server itself.
#[derive(Clone, Debug, Default)]
pub struct Services {
    /// Every `postgres` process counts; backends serving another database than this one are
    /// also totalled apart, as a warning that someone else used the machine's PostgreSQL.
    pub postgres_database: Option<String>,
    pub redis: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Server,
    Postgres,
    Redis,
}

struct Tracked {
    role: Role,
    /// A backend of another database than the measured one.
    foreign: bool,
    first: u64,
    last: u64,
}

/// What the sampler has seen so far.
struct Samples {
    server: u32,
    services: Services,
    tracked: HashMap<u32, Tracked>,
    opened: bool,
    peak_rss_kib: u64,
}

impl Samples {
    fn take(&mut self) {
        if let Some(rss) = resident_kib(self.server) {
            self.peak_rss_kib = self.peak_rss_kib.max(rss);
        }
        self.see(self.server, Role::Server);
        if self.services.postgres_database.is_none() && !self.services.redis {
            return;
        }
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if pid == self.server {
                continue;
            }
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let role = match comm.trim() {
                "postgres" if self.services.postgres_database.is_some() => Role::Postgres,
                "redis-server" if self.services.redis => Role::Redis,
                _ => continue,
            };
            self.see(pid, role);
        }
    }

    fn see(&mut self, pid: u32, role: Role) {
        let Some(ticks) = cpu_ticks(pid) else {
            return;
        };
        if let Some(tracked) = self.tracked.get_mut(&pid) {
            tracked.last = ticks;
            return;
        }
        let foreign = role == Role::Postgres && self.serves_another_database(pid);
        let first = if self.opened { 0 } else { ticks };
        self.tracked.insert(
            pid,
            Tracked {
                role,
                foreign,
                first,
                last: ticks,
            },
        );
    }

    /// A PostgreSQL client backend names its database in its process title
    /// (`postgres: 15/main: user database 127.0.0.1(40312) idle`).
    fn serves_another_database(&self, pid: u32) -> bool {
        let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let title = String::from_utf8_lossy(&title).replace('\0', " ");
        let backend = title.contains('(') || title.contains("[local]");
        let ours = self.services.postgres_database.as_deref();
        backend && !title.split_whitespace().any(|word| Some(word) == ours)
    }

    fn seconds(&self, keep: impl Fn(&Tracked) -> bool) -> f64 {
        let ticks: u64 = self
            .tracked
            .values()
            .filter(|t| keep(t))
            .map(|t| t.last.saturating_sub(t.first))
            .sum();
        ticks as f64 / clock_ticks() as f64
    }
}

/// The server side's CPU seconds and peak memory over one window.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub server_seconds: f64,
    pub postgres_seconds: f64,
    pub redis_seconds: f64,
    /// Part of `postgres_seconds` spent by backends of other databases.
    pub other_databases_seconds: f64,
    pub peak_rss_kib: u64,
}

impl Usage {
    pub fn total_seconds(&self) -> f64 {
        self.server_seconds + self.postgres_seconds + self.redis_seconds
    }
}

/// Samples the server side from [`Meter::start`] to [`Meter::finish`].
pub struct Meter {
    stop: mpsc::Sender<()>,
    sampler: JoinHandle<Samples>,
}

impl Meter {
    /// Opens the window: the first sample is taken before this returns.
    pub fn start(server: u32, services: Services) -> Self {
        let mut samples = Samples {
            server,
            services,
            tracked: HashMap::new(),
            opened: false,
            peak_rss_kib: 0,
        };
        samples.take();
        samples.opened = true;
        let (stop, stopped) = mpsc::channel();
        let sampler = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(SAMPLE_EVERY) {
                samples.take();
            }
            samples
        });
        Self { stop, sampler }
    }

    /// Closes the window with a last sample.
    pub fn finish(self) -> Usage {
        self.stop.send(()).expect("the sampler runs");
        let mut samples = self.sampler.join().expect("the sampler");
        samples.take();
        Usage {
            server_seconds: samples.seconds(|t| t.role == Role::Server),
            postgres_seconds: samples.seconds(|t| t.role == Role::Postgres),
            redis_seconds: samples.seconds(|t| t.role == Role::Redis),
            other_databases_seconds: samples.seconds(|t| t.foreign),
            peak_rss_kib: samples.peak_rss_kib,
        }
    }
}
