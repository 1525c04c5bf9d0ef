//! What the server side of a measurement spends, read from `/proc`: the CPU time of the server
//! process (user + system, all its threads) and, when they serve it, of every `postgres` and
//! `redis-server` process on the machine; and the server's resident memory.
//!
//! A sampler thread looks every 100 ms. The CPU of a process is its last sample minus its first:
//! processes that exist when the window opens count from their time then, processes that appear
//! during the window count from zero. A service process that ends during the window is counted
//! through its parent's time for ended children (see `Samples::seconds`), so that even one
//! that lived between two samples counts.

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

/// CPU times of a process in clock ticks.
#[derive(Clone, Copy, Default)]
struct Ticks {
    /// utime + stime: every thread of the process, living or ended.
    own: u64,
    /// cutime + cstime: its children that have ended and been waited for.
    children: u64,
}

/// The CPU times of `pid`, `None` once it is gone.
fn cpu_ticks(pid: u32) -> Option<Ticks> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; fields 14 to 17 of
    // proc(5) (utime, stime, cutime, cstime) are the 12th to 15th after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n)?.parse::<u64>().ok();
    Some(Ticks {
        own: field(11)? + field(12)?,
        children: field(13)? + field(14)?,
    })
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
    first: Ticks,
    last: Ticks,
    /// The sample that saw it last.
    last_seen: u64,
}

/// What the sampler has seen so far.
struct Samples {
    server: u32,
    services: Services,
    tracked: HashMap<u32, Tracked>,
    /// Samples taken so far.
    taken: u64,
    peak_rss_kib: u64,
}

impl Samples {
    fn take(&mut self) {
        self.taken += 1;
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
            tracked.last_seen = self.taken;
            return;
        }
        let foreign = role == Role::Postgres && self.serves_another_database(pid);
        // The first sample opens the window; a process first seen later counts from zero.
        let first = if self.taken == 1 {
            ticks
        } else {
            Ticks::default()
        };
        self.tracked.insert(
            pid,
            Tracked {
                role,
                foreign,
                first,
                last: ticks,
                last_seen: self.taken,
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

    /// The CPU seconds of the processes of `role` over the window. A service process that ended
    /// during it (a PostgreSQL backend or parallel worker, even one that lived between two
    /// samples) is in its parent's children's time, which the parent (the postmaster, tracked
    /// too) gained when it waited for it: its whole life is counted there, and what it had
    /// spent before the window opened is taken off.
    fn seconds(&self, role: Role) -> f64 {
        let ticks: i64 = self
            .tracked
            .values()
            .filter(|t| t.role == role)
            .map(|t| {
                let children = t.last.children as i64 - t.first.children as i64;
                let ended = t.last_seen < self.taken && role != Role::Server;
                let own = match ended {
                    false => t.last.own as i64 - t.first.own as i64,
                    true => -(t.first.own as i64),
                };
                own + children
            })
            .sum();
        ticks.max(0) as f64 / clock_ticks() as f64
    }

    /// What the backends of other databases spent while they were seen (a lower bound).
    fn other_databases_seconds(&self) -> f64 {
        let ticks: u64 = self
            .tracked
            .values()
            .filter(|t| t.foreign)
            .map(|t| t.last.own.saturating_sub(t.first.own))
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
            taken: 0,
            peak_rss_kib: 0,
        };
        samples.take();
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
            server_seconds: samples.seconds(Role::Server),
            postgres_seconds: samples.seconds(Role::Postgres),
            redis_seconds: samples.seconds(Role::Redis),
            other_databases_seconds: samples.other_databases_seconds(),
            peak_rss_kib: samples.peak_rss_kib,
        }
    }
}
