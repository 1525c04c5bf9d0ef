//! Restart safety with the real binary: the first start prints the secrets once; data written
//! before the process is killed (SIGKILL, no clean shutdown) is there after a restart, which
//! prints no new secrets.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Started {
    child: Child,
    url: String,
    stdout: String,
}

/// Starts the binary on a free port and reads its banner up to the last line.
fn start(data_dir: &std::path::Path) -> Started {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LATCHKEY_DATA_DIR", data_dir)
        .env("LATCHKEY_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("the binary starts");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut stdout = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("the server exited early: {stdout}");
        }
        stdout.push_str(&line);
        if line.contains("Authorization: Bearer") {
            break;
        }
    }
    let address = stdout
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the banner names the address")
        .to_owned();
    Started {
        child,
        url: format!("http://{address}"),
        stdout,
    }
}

fn secret_after<'a>(stdout: &'a str, label: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find(|line| line.contains(label))
        .and_then(|line| line.split_whitespace().last())
}

async fn graphql(url: &str, key: &str, query: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{url}/t/demo/graphql"))
        .bearer_auth(key)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn data_survives_a_killed_process_and_secrets_print_once() {
    let data_dir = std::env::temp_dir().join(format!("latchkey-restart-{}", uuid::Uuid::now_v7()));

    let mut first = start(&data_dir);
    let key = secret_after(&first.stdout, "Demo tenant owner API key")
        .expect("first start prints the demo key")
        .to_owned();
    assert!(key.starts_with("lk_"));
    let platform = secret_after(&first.stdout, "Platform token").expect("and the platform token");
    assert!(platform.starts_with("lkp_"));
    assert!(first.stdout.contains("/t/demo/graphql"));
    assert!(first.stdout.contains("/platform/graphql"));

    let created = graphql(
        &first.url,
        &key,
        "mutation { createIdentity(input: { email: \"survivor@example.com\" }) { identity { id } } }",
    )
    .await;
    let id = created["data"]["createIdentity"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let mut second = start(&data_dir);
    assert!(
        secret_after(&second.stdout, "Platform token").is_none(),
        "{}",
        second.stdout
    );
    assert!(secret_after(&second.stdout, "Demo tenant owner API key").is_none());
    let read = graphql(
        &second.url,
        &key,
        &format!("{{ identity(id: \"{id}\") {{ email }} }}"),
    )
    .await;
    assert_eq!(
        read["data"]["identity"]["email"], "survivor@example.com",
        "{read}"
    );
    second.child.kill().unwrap();
    second.child.wait().unwrap();
}
