//! Restart safety with the real binary: the first start prints the secrets once; data written
//! before the process is killed (SIGKILL, no clean shutdown) is there after a restart, which
//! prints no new secrets.

mod common;

use common::Binary;
use serde_json::{Value, json};
use std::process::Stdio;

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

    let mut first = Binary::start(&data_dir, &[], Stdio::null());
    let key = first
        .secret("Demo tenant owner API key")
        .expect("first start prints the demo key")
        .to_owned();
    assert!(key.starts_with("lk_"));
    let platform = first
        .secret("Platform token")
        .expect("and the platform token");
    assert!(platform.starts_with("lkp_"));
    assert!(first.banner.contains("/t/demo/graphql"));
    assert!(first.banner.contains("/platform/graphql"));

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

    let mut second = Binary::start(&data_dir, &[], Stdio::null());
    assert!(
        second.secret("Platform token").is_none(),
        "{}",
        second.banner
    );
    assert!(second.secret("Demo tenant owner API key").is_none());
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
