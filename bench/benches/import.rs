//! A million identities imported (#24): `latchkey identities import` of an Auth0 export (JSON
//! lines, each user with a bcrypt password hash, a name and metadata) into an empty tenant,
//! beside a running server, on the embedded default (SQLite); on PostgreSQL with
//! `LATCHKEY_TEST_DATABASE_URL` set (`bench/with-fresh-postgres`). It reports the two passes
//! (checking every record, then writing them in batches) as wall time, records per second
//! and records per CPU-second of this process (the import and the idle server) and, on
//! PostgreSQL, its backends. A second import of the same file (every identity matched,
//! nothing changed) is measured too.
//!
//! `cargo bench -p latchkey-bench --bench import`; knob: `BENCH_IMPORT_IDENTITIES`
//! (1000000).

use latchkey_bench::knob;
use latchkey_bench::usage::{Meter, Services};
use latchkey_tests::transfer::{Import, file_of};
use latchkey_tests::{TestApp, durable_settings, test_database_url};
use latchkey_transfer::Format;
use serde_json::json;
use std::io::Write;
use std::time::Instant;

/// A bcrypt hash (cost 10, PyPI `bcrypt` of "correct horse battery") as Auth0 exports them;
/// importing checks and stores it, sign-in verifies it.
const HASH: &str = "$2b$10$ptN8OaPP4PoPLK3ZbV5n2eqmmtK.BhJwDpM14.Di2n5xWLh6Uv8Qa";

fn auth0_export(count: usize) -> String {
    let mut file = Vec::with_capacity(count * 260);
    for n in 0..count {
        let user = json!({
            "_id": { "$oid": format!("{n:024x}") },
            "email": format!("user{n}@example.com"),
            "email_verified": n % 3 != 0,
            "name": format!("User {n}"),
            "passwordHash": HASH,
            "connection": "Username-Password-Authentication",
            "user_metadata": { "plan": if n % 2 == 0 { "pro" } else { "free" } },
        });
        serde_json::to_writer(&mut file, &user).expect("json");
        file.write_all(b"\n").expect("memory");
    }
    String::from_utf8(file).expect("utf-8")
}

#[tokio::main]
async fn main() {
    let count = knob("BENCH_IMPORT_IDENTITIES", 1_000_000);
    let settings = durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("bench-import").await;
    let contents = auth0_export(count);
    file_of(&settings, &contents);
    let services = Services {
        postgres_database: test_database_url()
            .map(|url| url.rsplit('/').next().unwrap_or_default().to_owned()),
        redis: false,
    };
    let backend = if services.postgres_database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite (embedded default)"
    };
    println!(
        "import of {count} Auth0 users ({} MB) into an empty tenant on {backend}, beside a running server",
        contents.len() / 1_000_000
    );
    println!(
        "{:<34} {:>10} {:>12} {:>16}",
        "run", "seconds", "records/s", "per CPU-second"
    );
    for run in [
        "first import (all created)",
        "same file again (all matched)",
    ] {
        let meter = Meter::start(std::process::id(), services.clone());
        let started = Instant::now();
        latchkey_tests::transfer::import(
            &settings,
            Import::new(&tenant.slug, Format::Auth0, &contents),
        )
        .await
        .expect("the import succeeds");
        let seconds = started.elapsed().as_secs_f64();
        let usage = meter.finish();
        println!(
            "{run:<34} {seconds:>10.1} {:>12.0} {:>16.0}",
            count as f64 / seconds,
            count as f64 / usage.total_seconds()
        );
    }
}
