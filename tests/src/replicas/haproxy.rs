//! HAProxy in front of the replicas, configured as we recommend (docs/operations.md): HTTP
//! health checks on `/readyz` every 250 ms (two failures take a replica out, two successes
//! bring it back), retries on another replica where that is safe (a connection that could not
//! be opened, for any request; an empty answer or a timeout, for GET and HEAD only), and the
//! replicas again as backups without checks, used only when every replica reports not ready
//! (a database outage), so that clients then get Latchkey's own `UNAVAILABLE` answer with
//! `Retry-After` instead of the load balancer's bare 503. Every answer names the replica that
//! gave it in `X-Served-By`.

use super::process::{Process, free_port};
use nix::sys::signal::Signal;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Haproxy {
    pub port: u16,
    stats_port: u16,
    client: reqwest::Client,
    process: Process,
}

/// One server as HAProxy's statistics show it.
#[derive(Clone, Debug)]
pub struct ServerState {
    pub name: String,
    /// `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/2` (coming up), `no check` (backups).
    pub status: String,
    /// Requests (sessions) it was given.
    pub sessions: u64,
    /// Requests HAProxy sent again after a failed connection or answer.
    pub retries: u64,
    /// Requests it moved to another server.
    pub redispatches: u64,
}

/// The name of replica `index` (0-based) in HAProxy.
pub fn server_name(index: usize) -> String {
    format!("r{}", index + 1)
}

fn config(port: u16, stats_port: u16, replica_ports: &[u16]) -> String {
    let mut servers = String::new();
    for (index, replica) in replica_ports.iter().enumerate() {
        let name = server_name(index);
        servers += &format!("    server {name} 127.0.0.1:{replica} check\n");
    }
    for (index, replica) in replica_ports.iter().enumerate() {
        let name = server_name(index);
        servers += &format!("    server {name}-unchecked 127.0.0.1:{replica} backup\n");
    }
    format!(
        "global
    maxconn 1024
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 500ms
    timeout client 30s
    timeout server 30s
    timeout check 1s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend latchkey
    bind 127.0.0.1:{port}
    default_backend replicas
    http-after-response set-header X-Served-By %[srv_name]

backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    # A POST may have done its work before its answer was lost: only a connection that
    # could not be opened is retried for it.
    http-request disable-l7-retry unless METH_GET
    option allbackups
    default-server inter 250ms fastinter 250ms downinter 250ms fall 2 rise 2
{servers}
listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
"
    )
}

impl Haproxy {
    /// Starts HAProxy on `port` in front of the replicas on `replica_ports`.
    pub async fn start(dir: &Path, port: u16, replica_ports: &[u16]) -> Self {
        let stats_port = free_port();
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config(port, stats_port, replica_ports)).unwrap();
        let mut command = Command::new("haproxy");
        command.args(["-db", "-f", path.to_str().unwrap()]);
        let mut haproxy = Self {
            port,
            stats_port,
            client: reqwest::Client::new(),
            process: Process::spawn(
                "haproxy",
                command,
                &dir.join("haproxy.log"),
                Signal::SIGKILL,
            ),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while haproxy.try_servers().await.is_none() {
            assert!(
                haproxy.process.exited().is_none() && Instant::now() < deadline,
                "HAProxy did not start:\n{}",
                haproxy.process.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        haproxy
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn try_servers(&self) -> Option<Vec<ServerState>> {
        let csv = self
            .client
            .get(format!("http://127.0.0.1:{}/stats;csv", self.stats_port))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        let column = |name: &str| header.iter().position(|h| *h == name);
        let (proxy, server, status) = (column("pxname")?, column("svname")?, column("status")?);
        let (sessions, retries, redispatches) =
            (column("stot")?, column("wretr")?, column("wredis")?);
        Some(
            lines
                .map(|line| line.split(',').collect::<Vec<_>>())
                .filter(|fields| fields.get(proxy) == Some(&"replicas"))
                .filter(|fields| !matches!(fields[server], "FRONTEND" | "BACKEND"))
                .map(|fields| ServerState {
                    name: fields[server].to_owned(),
                    status: fields[status].to_owned(),
                    sessions: fields[sessions].parse().unwrap_or(0),
                    retries: fields[retries].parse().unwrap_or(0),
                    redispatches: fields[redispatches].parse().unwrap_or(0),
                })
                .collect(),
        )
    }

    /// The replicas' servers as HAProxy sees them now.
    pub async fn servers(&self) -> Vec<ServerState> {
        self.try_servers().await.expect("HAProxy's statistics")
    }

    /// Waits until HAProxy reports replica `index` with `status` (`UP` or `DOWN`); returns how
    /// long that took.
    pub async fn wait_status(&self, index: usize, status: &str, within: Duration) -> Duration {
        let name = server_name(index);
        let started = Instant::now();
        loop {
            let servers = self.servers().await;
            let now = servers.iter().find(|s| s.name == name).expect("the server");
            if now.status == status {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < within,
                "HAProxy did not see {name} {status} within {within:?}: {servers:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}
