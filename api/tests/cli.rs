//! The `latchkey` binary: help, configuration errors, `migrate` and `tenant create`.

use latchkey_migrations::{Migrator, MigratorTrait};
use std::process::Command;

fn latchkey(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LATCHKEY_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .current_dir(data_dir.parent().unwrap());
    command
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("latchkey-cli-{name}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("data")
}

#[test]
fn help_explains_every_command() {
    let output = latchkey(&temp_dir("help")).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for command in ["serve", "migrate", "tenant"] {
        assert!(help.contains(command), "{help}");
    }
    let output = latchkey(&temp_dir("help-tenant"))
        .args(["tenant", "create", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("--slug") && help.contains("--name"), "{help}");
}

#[test]
fn a_bad_setting_stops_start_up_and_names_the_setting() {
    for (name, value) in [
        ("LATCHKEY_BIND", "not-an-address"),
        ("LATCHKEY_DATABASE_MAX_CONNECTIONS", "many"),
        ("LATCHKEY_REDIS_URL", "127.0.0.1:6379"),
        ("LATCHKEY_GRAPHQL_INTROSPECTION", "perhaps"),
    ] {
        let output = latchkey(&temp_dir("bad"))
            .env(name, value)
            .arg("serve")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    let output = latchkey(&temp_dir("unknown"))
        .env("LATCHKEY_BINDD", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr).unwrap().contains("bindd"));
}

#[test]
fn migrate_then_create_a_tenant() {
    let data = temp_dir("tenant");
    let output = latchkey(&data).arg("migrate").output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8(output.stdout).unwrap().contains(&format!(
        "migrations applied: {}",
        Migrator::migrations().len()
    )));
    let output = latchkey(&data).arg("migrate").output().unwrap();
    assert!(
        String::from_utf8(output.stdout)
            .unwrap()
            .contains("migrations applied: 0")
    );

    let output = latchkey(&data)
        .args(["tenant", "create", "--slug", "acme", "--name", "Acme Inc."])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("Created tenant \"acme\""), "{stdout}");
    assert!(stdout.contains("lk_"), "{stdout}");

    let again = latchkey(&data)
        .args(["tenant", "create", "--slug", "acme", "--name", "Again"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8(again.stderr).unwrap().contains("exists"));
    let bad = latchkey(&data)
        .args(["tenant", "create", "--slug", "A!", "--name", "Bad"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8(bad.stderr).unwrap().contains("slug"));
}

#[test]
fn admin_invite_prints_a_one_time_console_link() {
    let data = temp_dir("admin");
    assert!(
        latchkey(&data)
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    let output = latchkey(&data)
        .args([
            "admin",
            "invite",
            "--email",
            "ops@example.com",
            "--platform",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("Console link for ops@example.com"),
        "{stdout}"
    );
    assert!(stdout.contains("/console/enrol#token=lke_"), "{stdout}");

    let output = latchkey(&data)
        .args(["admin", "invite", "--email", "ops@example.com"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("--tenant") && stderr.contains("--platform"),
        "{stderr}"
    );
}
