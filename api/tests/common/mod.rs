//! Starting the real `latchkey` binary for the tests in this folder.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `latchkey serve` on a free port, with the banner it printed.
pub struct Binary {
    pub child: Child,
    /// `http://127.0.0.1:<port>`
    pub url: String,
    pub banner: String,
}

impl Binary {
    /// Starts the binary on a free port with its data in `data_dir`, a clean environment plus
    /// `env`, and stderr going to `stderr`; returns once the banner is printed.
    pub fn start(data_dir: &Path, env: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LATCHKEY_DATA_DIR", data_dir)
            .env("LATCHKEY_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = command.spawn().expect("the binary starts");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        while !banner.contains("Authorization: Bearer") {
            if reader.read_line(&mut banner).unwrap() == 0 {
                panic!("the server exited early: {banner}");
            }
        }
        let address = banner
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the banner names the address")
            .to_owned();
        Self {
            child,
            url: format!("http://{address}"),
            banner,
        }
    }

    /// The secret the banner printed after `label`, if it printed one.
    pub fn secret(&self, label: &str) -> Option<&str> {
        self.banner
            .lines()
            .find(|line| line.contains(label))
            .and_then(|line| line.split_whitespace().last())
    }
}
