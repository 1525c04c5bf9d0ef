//! The fault test's own Redis: `redis-server` on a free port, without persistence (as a cache
//! usually runs: a restart empties it), which the test stops and starts at will. It never
//! touches the machine's Redis.

use super::process::{Process, free_port};
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Redis {
    pub port: u16,
    dir: PathBuf,
    process: Option<Process>,
}

impl Redis {
    pub async fn start(dir: &Path) -> Self {
        let mut redis = Self {
            port: free_port(),
            dir: dir.to_owned(),
            process: None,
        };
        redis.start_server().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts `redis-server` and waits until it answers PING.
    pub async fn start_server(&mut self) {
        let mut command = Command::new("redis-server");
        command.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()]);
        command.args(["--save", "", "--appendonly", "no"]);
        command.args(["--dir", self.dir.to_str().unwrap()]);
        self.process = Some(Process::spawn(
            "redis",
            command,
            &self.dir.join("redis.log"),
            Signal::SIGKILL,
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers().await {
            let process = self.process.as_mut().unwrap();
            assert!(
                process.exited().is_none() && Instant::now() < deadline,
                "Redis did not start:\n{}",
                process.log_tail(20)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server (SIGTERM: it closes every connection and exits).
    pub async fn stop_server(&mut self) {
        let mut process = self.process.take().expect("Redis is running");
        process.signal(Signal::SIGTERM);
        process
            .wait_exit(Duration::from_secs(10))
            .await
            .expect("Redis stops");
    }

    /// Whether the server answers PING.
    pub async fn answers(&self) -> bool {
        let ping = async {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await?;
            stream.write_all(b"PING\r\n").await?;
            let mut reply = [0u8; 7];
            stream.read_exact(&mut reply).await?;
            std::io::Result::Ok(&reply == b"+PONG\r\n")
        };
        tokio::time::timeout(Duration::from_millis(500), ping)
            .await
            .is_ok_and(|r| r.unwrap_or(false))
    }
}
