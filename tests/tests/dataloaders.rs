//! The tenant API loads nested lists with DataLoaders: listing organizations with their
//! members and each member's passkey count takes the same number of SQL statements for 10
//! organizations as for 100 (counted by the server's own statement counter at `/metrics`).

use latchkey_tests::{TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};

const LIST: &str = "query($first: Int!) { organizations(first: $first) { totalCount nodes { id name members(first: 50) { totalCount nodes { roles identity { id email passkeyCount } } } } } }";
const STATEMENTS: &str = "latchkey_database_statements_total{outcome=\"ok\"}";

/// Runs `query` as `token` and answers (data, SQL statements it took).
async fn counted(
    app: &TestApp,
    tenant: &TestTenant,
    token: &str,
    query: &str,
    variables: Value,
) -> (Value, f64) {
    let before = app.metrics().await[STATEMENTS];
    let response = app.as_key(tenant, token, query, variables).await;
    let data = response.data().clone();
    let after = app.metrics().await[STATEMENTS];
    (data, after - before)
}

#[tokio::test]
async fn organizations_with_members_and_passkey_counts_take_a_constant_number_of_statements() {
    // The outbox dispatcher shares the server's pool: here it stays asleep, so the statement
    // counter sees the queries alone.
    let mut settings = test_settings();
    settings.crm_poll_interval_ms = 3_600_000;
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("loaders").await;
    // Three people with a passkey, shared by every organization; three more per organization
    // without one.
    let mut with_passkeys = Vec::new();
    for _ in 0..3 {
        let (_device, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
        with_passkeys.push(signed_in.identity_id);
    }
    for n in 0..100 {
        let (org, _) = app
            .create_organization(&tenant, &format!("Org {n}"), "CUSTOMER")
            .await;
        let mut members = with_passkeys.clone();
        for _ in 0..3 {
            members.push(app.create_identity(&tenant, &unique_email()).await);
        }
        for identity in members {
            app.tenant(
                &tenant,
                "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
                json!({ "input": { "organizationId": org, "identityId": identity, "roles": ["org:member"] } }),
            )
            .await
            .data();
        }
    }

    let (ten, ten_statements) =
        counted(&app, &tenant, &tenant.api_key, LIST, json!({ "first": 10 })).await;
    let (hundred, hundred_statements) = counted(
        &app,
        &tenant,
        &tenant.api_key,
        LIST,
        json!({ "first": 100 }),
    )
    .await;
    assert_eq!(ten["organizations"]["nodes"].as_array().unwrap().len(), 10);
    let organizations = hundred["organizations"]["nodes"].as_array().unwrap();
    assert_eq!(organizations.len(), 100);
    // Loaded one by one, 100 organizations with six members each would take 700 statements
    // and more; batched, a handful whatever the number (a batch cut short by the loaders'
    // timer only adds another handful).
    for (organizations, statements) in [(10, ten_statements), (100, hundred_statements)] {
        assert!(
            statements <= 20.0,
            "{organizations} organizations with their members took {statements} statements"
        );
    }

    // And the answers are right: six members each, passkey counts per identity.
    for organization in organizations {
        let members = organization["members"]["nodes"].as_array().unwrap();
        assert_eq!(organization["members"]["totalCount"], 6);
        assert_eq!(members.len(), 6);
        for member in members {
            let expected = u64::from(
                with_passkeys
                    .iter()
                    .any(|id| member["identity"]["id"] == id.as_str()),
            );
            assert_eq!(member["identity"]["passkeyCount"], expected, "{member}");
        }
    }

    // A page size smaller than an organization's members: the extra row only tells there
    // is more.
    let (small, _) = counted(
        &app,
        &tenant,
        &tenant.api_key,
        "{ organizations(first: 3) { nodes { members(first: 2) { totalCount pageInfo { hasNextPage } nodes { identity { id } } } } } }",
        json!({}),
    )
    .await;
    for organization in small["organizations"]["nodes"].as_array().unwrap() {
        assert_eq!(organization["members"]["totalCount"], 6);
        assert_eq!(
            organization["members"]["nodes"].as_array().unwrap().len(),
            2
        );
        assert_eq!(organization["members"]["pageInfo"]["hasNextPage"], true);
    }
}

#[tokio::test]
async fn batched_members_stay_within_what_the_caller_may_see() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("loaders-scope").await;
    let (x, _) = app.create_organization(&tenant, "X", "CUSTOMER").await;
    let (y, _) = app.create_organization(&tenant, "Y", "CUSTOMER").await;
    let (_device, _, admin) = app.sign_up(&tenant, &unique_email()).await;
    let outsider = app.create_identity(&tenant, &unique_email()).await;
    for (org, identity, role) in [
        (&x, &admin.identity_id, "org:admin"),
        (&y, &admin.identity_id, "org:member"),
        (&y, &outsider, "org:member"),
    ] {
        app.tenant(
            &tenant,
            "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": org, "identityId": identity, "roles": [role] } }),
        )
        .await
        .data();
    }
    // The identity's organizations, each with its members: X and Y both grant members:read
    // (org:member has it too), so both list; their own passkey count is theirs to see.
    let mine = app
        .as_key(
            &tenant,
            &admin.access_token,
            "{ viewer { identity { passkeyCount organizations { nodes { organization { id members { totalCount } } } } } } }",
            json!({}),
        )
        .await;
    let identity = &mine.data()["viewer"]["identity"];
    assert_eq!(identity["passkeyCount"], 1);
    let totals: Vec<(String, u64)> = identity["organizations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["organization"]["id"].as_str().unwrap().to_owned(),
                n["organization"]["members"]["totalCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(totals, [(x.clone(), 1), (y.clone(), 2)]);

    // Other people's passkey counts are for tenant admins.
    let others = app
        .as_key(
            &tenant,
            &admin.access_token,
            "query($id: ID!) { organization(id: $id) { members { nodes { identity { id passkeyCount } } } } }",
            json!({ "id": y }),
        )
        .await;
    assert_eq!(others.error_code(), "NOT_FOUND");

    // Another tenant's admin key sees none of it.
    let other = app.create_tenant("loaders-other").await;
    let crossed = app
        .tenant(
            &other,
            "query($id: ID!) { organization(id: $id) { members { totalCount } } }",
            json!({ "id": x }),
        )
        .await;
    assert_eq!(crossed.error_code(), "NOT_FOUND");
    let listed = app
        .tenant(
            &other,
            "{ organizations { totalCount nodes { members { totalCount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed.data()["organizations"]["totalCount"], 0);
}
