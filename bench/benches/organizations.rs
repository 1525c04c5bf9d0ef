//! Organizations at scale: seeds `BENCH_ORGANIZATIONS` (100) organizations with
//! `BENCH_MEMBERS` (50) members each, then measures
//! - the organizations-with-members query: one page of every organization with its first 50
//!   members, each member's email and passkey count (DataLoaders batch the nested lists), with
//!   the SQL statements one such request takes (the server's own counter at `/metrics`);
//! - membership checks: members reading their own organization with their own access token,
//!   which the server answers only after checking the membership and the role's permission.
//!
//! `cargo bench -p latchkey-bench --bench organizations` runs on SQLite and the in-process
//! store; with `LATCHKEY_TEST_DATABASE_URL` / `LATCHKEY_TEST_REDIS_URL` set, on PostgreSQL and
//! Redis. Knobs: `BENCH_ORGANIZATIONS`, `BENCH_MEMBERS`, `BENCH_CONCURRENCY` (32),
//! `BENCH_SECONDS` per scenario (10).

use latchkey_bench::{drive, knob, lift_rate_limits, start_server};
use latchkey_tests::{TestApp, TestTenant, unique};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ORGANIZATIONS_WITH_MEMBERS: &str = "query($first: Int!) { organizations(first: $first) { nodes { id name members(first: 50) { totalCount nodes { roles identity { id email passkeyCount } } } } } }";
const STATEMENTS: &str = "latchkey_database_statements_total{outcome=\"ok\"}";

/// Creates `organizations` organizations with `members` new identities each (8 seeders).
async fn seed(
    app: &Arc<TestApp>,
    tenant: &TestTenant,
    organizations: usize,
    members: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..organizations {
        ids.push(
            app.create_organization(tenant, &format!("Org {n:03}"), "CUSTOMER")
                .await
                .0,
        );
    }
    let ids = Arc::new(ids);
    let seeders = (0..8).map(|worker| {
        let (app, tenant, ids) = (app.clone(), tenant.clone(), ids.clone());
        tokio::spawn(async move {
            for n in (worker..ids.len() * members).step_by(8) {
                let identity = app
                    .create_identity(&tenant, &format!("{}@example.com", unique("member")))
                    .await;
                app.tenant(
                    &tenant,
                    "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
                    json!({ "input": { "organizationId": ids[n % ids.len()], "identityId": identity, "roles": ["org:member"] } }),
                )
                .await
                .data();
            }
        })
    });
    for seeder in seeders.collect::<Vec<_>>() {
        seeder.await.expect("seeder");
    }
    Arc::try_unwrap(ids).expect("seeders are done")
}

#[tokio::main]
async fn main() {
    let organizations = knob("BENCH_ORGANIZATIONS", 100);
    let members = knob("BENCH_MEMBERS", 50);
    let concurrency = knob("BENCH_CONCURRENCY", 32);
    let seconds = knob("BENCH_SECONDS", 10) as u64;
    let duration = Duration::from_secs(seconds);

    let (app, backend) = start_server().await;
    let tenant = app.create_tenant("bench-orgs").await;
    lift_rate_limits(&app, &tenant).await;
    let seeding = Instant::now();
    let org_ids = seed(&app, &tenant, organizations, members).await;
    eprintln!(
        "seeded {organizations} organizations x {members} members in {:.1?}",
        seeding.elapsed()
    );

    // Statements of one request, measured alone.
    let before = app.metrics().await[STATEMENTS];
    let one = app
        .tenant(
            &tenant,
            ORGANIZATIONS_WITH_MEMBERS,
            json!({ "first": organizations }),
        )
        .await;
    let listed = one.data()["organizations"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(listed, organizations);
    let statements = app.metrics().await[STATEMENTS] - before;

    println!(
        "backend: {backend}; {organizations} organizations x {members} members; concurrency {concurrency}; {seconds} s per scenario"
    );
    println!("| scenario | requests/s | p50 | p99 |");
    println!("|---|---|---|---|");
    let figures = drive((0..concurrency).collect(), duration, {
        let (app, tenant) = (app.clone(), tenant.clone());
        move |i: usize| {
            let (app, tenant) = (app.clone(), tenant.clone());
            async move {
                let sent = Instant::now();
                let response = app
                    .tenant(
                        &tenant,
                        ORGANIZATIONS_WITH_MEMBERS,
                        json!({ "first": organizations }),
                    )
                    .await;
                assert!(response.status.is_success(), "{}", response.body);
                (i, Ok(sent.elapsed()))
            }
        }
    })
    .await;
    figures.print_row(&format!(
        "{organizations} organizations x {members} members with passkey counts ({statements} SQL statements each)"
    ));

    // One signed-in member per worker, each in another organization.
    let mut tokens = Vec::new();
    for (worker, org) in org_ids.iter().cycle().take(concurrency).enumerate() {
        let (_, _, signed_in) = app
            .sign_up(
                &tenant,
                &format!("{}@example.com", unique(&format!("checker{worker}"))),
            )
            .await;
        app.tenant(
            &tenant,
            "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": org, "identityId": signed_in.identity_id, "roles": ["org:member"] } }),
        )
        .await
        .data();
        tokens.push((signed_in.access_token, org.clone()));
    }
    let checks = drive(tokens, duration, {
        let (app, tenant) = (app.clone(), tenant.clone());
        move |(token, org): (String, String)| {
            let (app, tenant) = (app.clone(), tenant.clone());
            async move {
                let sent = Instant::now();
                let response = app
                    .as_key(
                        &tenant,
                        &token,
                        "query($id: ID!) { organization(id: $id) { id name } }",
                        json!({ "id": org }),
                    )
                    .await;
                assert_eq!(response.data()["organization"]["id"], org.as_str());
                ((token, org), Ok(sent.elapsed()))
            }
        }
    })
    .await;
    checks.print_row("membership check (a member reads their organization with their token)");
    if let Ok(app) = Arc::try_unwrap(app) {
        app.stop().await;
    }
}
