//! One caller cannot stall the server: a GraphQL operation's cost multiplies by the page sizes
//! of nested lists and is refused before it runs when over `LATCHKEY_GRAPHQL_MAX_COST` (summed
//! over a batch), a response holds at most `LATCHKEY_GRAPHQL_MAX_NODES` list items, an
//! operation still running at `LATCHKEY_GRAPHQL_TIMEOUT_SECONDS` is stopped with `TIMEOUT`,
//! and another tenant's light request is answered while a heavy one is still running.

use latchkey_tests::{TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};

/// The review's query: five aliases of a fan-out through identities, their organizations,
/// the organizations' members and theirs.
fn fan_out(page: u32) -> String {
    let branch = format!(
        "identities(first:{page}){{nodes{{organizations(first:{page}){{nodes{{organization{{members(first:{page}){{nodes{{identity{{organizations(first:{page}){{nodes{{id}}}}}}}}}}}}}}}}}}}}"
    );
    let aliases: Vec<String> = (0..5).map(|n| format!("a{n}: {branch}")).collect();
    format!("{{ {} }}", aliases.join(" "))
}

/// `count` identities, all members of one organization.
async fn one_big_organization(app: &TestApp, tenant: &TestTenant, count: usize) {
    let (org, _) = app
        .create_organization(tenant, "Everyone", "CUSTOMER")
        .await;
    for _ in 0..count {
        let identity = app.create_identity(tenant, &unique_email()).await;
        app.tenant(
            tenant,
            "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": org, "identityId": identity, "roles": ["org:member"] } }),
        )
        .await
        .data();
    }
}

#[tokio::test]
async fn nested_lists_multiply_and_the_fan_out_is_refused_naming_the_limit() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("cost").await;
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;
    app.create_identity(&tenant, &unique_email()).await;

    let refused = app
        .as_key(&tenant, &viewer, &fan_out(1000), json!({}))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert!(
        refused
            .error_message()
            .contains("LATCHKEY_GRAPHQL_MAX_COST"),
        "{}",
        refused.body
    );
    assert!(
        refused.body["data"].is_null(),
        "nothing ran: {}",
        refused.body
    );

    // Without `first`, a list counts as a default page (100): ten nested levels of them are
    // as refused as explicit pages.
    let defaulted = app
        .as_key(
            &tenant,
            &viewer,
            "{ identities { nodes { organizations { nodes { organization { members { nodes { id } } } } } } } }",
            json!({}),
        )
        .await;
    assert!(
        defaulted
            .error_message()
            .contains("LATCHKEY_GRAPHQL_MAX_COST"),
        "{}",
        defaulted.body
    );

    // Small pages of the same shape pass.
    app.as_key(&tenant, &viewer, &fan_out(5), json!({}))
        .await
        .data();
}

#[tokio::test]
async fn a_flat_list_of_a_thousand_nodes_passes() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("cost").await;
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;
    for _ in 0..3 {
        app.create_identity(&tenant, &unique_email()).await;
    }
    let audit = app
        .as_key(
            &tenant,
            &viewer,
            "{ auditEvents(first: 1000) { nodes { action data } } }",
            json!({}),
        )
        .await;
    assert!(
        !audit.data()["auditEvents"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let identities = app
        .as_key(
            &tenant,
            &viewer,
            "{ identities(first: 1000) { totalCount nodes { id email status createdAt } } }",
            json!({}),
        )
        .await;
    assert_eq!(identities.data()["identities"]["totalCount"], 3);
}

#[tokio::test]
async fn the_operations_of_a_batch_share_one_budget() {
    let mut settings = test_settings();
    // One list of 1000 identities with two fields costs 3002.
    settings.graphql_max_cost = Some(5_000);
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("cost").await;
    let list = json!({ "query": "{ identities(first: 1000) { nodes { id email } } }" });
    let alone = app
        .tenant(
            &tenant,
            "{ identities(first: 1000) { nodes { id email } } }",
            json!({}),
        )
        .await;
    alone.data();

    let response = app
        .client
        .post(format!("{}/t/{}/graphql", app.url, tenant.slug))
        .bearer_auth(&tenant.api_key)
        .json(&json!([list, list]))
        .send()
        .await
        .unwrap();
    let answers: Vec<Value> = response.json().await.unwrap();
    assert!(answers[0].get("errors").is_none(), "{}", answers[0]);
    let message = answers[1]["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("LATCHKEY_GRAPHQL_MAX_COST"),
        "{}",
        answers[1]
    );
}

#[tokio::test]
async fn a_response_holds_at_most_the_configured_list_items() {
    let mut settings = test_settings();
    settings.graphql_max_nodes = 5;
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("nodes").await;
    for _ in 0..6 {
        app.create_identity(&tenant, &unique_email()).await;
    }
    let few = app
        .tenant(
            &tenant,
            "{ identities(first: 5) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        few.data()["identities"]["nodes"].as_array().unwrap().len(),
        5
    );
    let many = app
        .tenant(
            &tenant,
            "{ identities(first: 6) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert!(
        many.error_message().contains("LATCHKEY_GRAPHQL_MAX_NODES"),
        "{}",
        many.body
    );
}

#[tokio::test]
async fn another_tenants_light_request_is_answered_while_a_heavy_one_runs() {
    // The embedded default is a SQLite file here (an in-memory database has no readers
    // beside its one connection).
    let mut settings = latchkey_tests::durable_settings();
    // An operator who lifted the limits: the heavy request is allowed and runs long.
    settings.graphql_max_cost = Some(usize::MAX / 2);
    settings.graphql_max_nodes = 10_000_000;
    settings.graphql_max_aliases = 100;
    // The heavy request's loads queue for the file's one writer connection; on a busy machine
    // one may wait past the default 2 s, which is not what this test is about.
    settings.database_acquire_timeout_ms = 30_000;
    let app = std::sync::Arc::new(TestApp::start_with(settings).await);
    let heavy_tenant = app.create_tenant("heavy").await;
    let light_tenant = app.create_tenant("light").await;
    one_big_organization(&app, &heavy_tenant, 100).await;

    let heavy = {
        let app = app.clone();
        let tenant = heavy_tenant.clone();
        tokio::spawn(async move { app.tenant(&tenant, &fan_out(1000), json!({})).await })
    };
    // Once the heavy request is in, a light request of another tenant.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let light = app
        .client
        .get(format!(
            "{}/t/{}/.well-known/openid-configuration",
            app.url, light_tenant.slug
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(light.status(), 200);
    assert!(
        !heavy.is_finished(),
        "the light request waited for the heavy one to finish"
    );
    let heavy = heavy.await.unwrap();
    assert_eq!(
        heavy.data()["a0"]["nodes"].as_array().unwrap().len(),
        100,
        "the heavy request completed too"
    );
}

#[tokio::test]
async fn an_operation_past_the_time_limit_is_stopped_with_timeout() {
    // A CRM that takes every connection and never answers: testing a connector against it
    // waits for the CRM call's own limit (five minutes here), so the operation is certainly
    // still running when the GraphQL limit (one second) comes.
    let crm = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let crm_url = format!("http://{}/hooks", crm.local_addr().unwrap());
    let (reached, crm_reached) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut reached = Some(reached);
        let mut held = Vec::new();
        while let Ok((connection, _)) = crm.accept().await {
            held.push(connection);
            if let Some(reached) = reached.take() {
                let _ = reached.send(());
            }
        }
    });
    let mut settings = test_settings();
    settings.graphql_timeout_seconds = 1;
    settings.crm_timeout_seconds = 300;
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("timeout").await;
    let created = app
        .tenant(
            &tenant,
            "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": {
                "name": "A CRM that never answers",
                "kind": "WEBHOOK",
                "triggers": ["IDENTITY_CREATED"],
                "settings": { "url": crm_url },
                "credentials": { "secret": "whsec_0123456789abcdef" },
            } }),
        )
        .await;
    let id = created.data()["createCrmConnector"]["connector"]["id"].clone();

    let stopped = app
        .tenant(
            &tenant,
            "mutation($input: CrmConnectorIdInput!) { testCrmConnector(input: $input) { ok message } }",
            json!({ "input": { "id": id } }),
        )
        .await;
    assert_eq!(stopped.status, 503, "{}", stopped.body);
    assert_eq!(stopped.error_code(), "TIMEOUT");
    assert!(
        stopped
            .error_message()
            .contains("LATCHKEY_GRAPHQL_TIMEOUT_SECONDS"),
        "{}",
        stopped.body
    );
    assert!(stopped.body["data"].is_null(), "{}", stopped.body);
    crm_reached
        .await
        .expect("the operation was waiting for the CRM");

    // The server goes on answering.
    let listed = app
        .tenant(&tenant, "{ crmConnectors { totalCount } }", json!({}))
        .await;
    assert_eq!(listed.data()["crmConnectors"]["totalCount"], 1);
}
