//! What organization-scoped tokens say a member may do: `org_permissions`, the permissions of
//! the roles in force (lasting and granted), each once; and the bounds that keep tokens
//! small (the permission names of a tenant's roles, and its entitlement keys), refused by
//! field when a configuration would exceed them. Another tenant's roles never show.

use latchkey_tests::passkey::claims;
use latchkey_tests::{TestApp, TestTenant, unique_email};
use serde_json::{Value, json};

const ADD_MEMBER: &str = "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }";
const SWITCH: &str = "mutation($input: SwitchOrganizationInput!) { switchOrganization(input: $input) { accessToken } }";
const CREATE_ROLE: &str = "mutation($name: String!, $permissions: [String!]!) { createOrganizationRole(input: { name: $name, permissions: $permissions }) { role { name } } }";
const GRANT_ROLE: &str = "mutation($input: GrantOrganizationRoleInput!) { grantOrganizationRole(input: $input) { grant { id } } }";

async fn role(app: &TestApp, tenant: &TestTenant, name: &str, permissions: &[&str]) -> Value {
    let response = app
        .tenant(
            tenant,
            CREATE_ROLE,
            json!({ "name": name, "permissions": permissions }),
        )
        .await;
    response.body.clone()
}

/// The claims of a token scoped to `org` for the member signed in with `token`.
async fn scoped(app: &TestApp, tenant: &TestTenant, token: &str, org: &str) -> Value {
    let switched = app
        .as_key(
            tenant,
            token,
            SWITCH,
            json!({ "input": { "organizationId": org } }),
        )
        .await;
    claims(
        switched.data()["switchOrganization"]["accessToken"]
            .as_str()
            .unwrap(),
    )
}

#[tokio::test]
async fn organization_tokens_carry_the_permissions_of_the_roles_in_force() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("org-perms").await;
    role(
        &app,
        &tenant,
        "reporter",
        &["reports:export", "members:read"],
    )
    .await;
    role(&app, &tenant, "support", &["tickets:write"]).await;
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let (_device, _, user) = app.sign_up(&tenant, &unique_email()).await;
    let added = app
        .tenant(
            &tenant,
            ADD_MEMBER,
            json!({ "input": { "organizationId": org, "identityId": user.identity_id, "roles": ["reporter", "org:member"] } }),
        )
        .await;
    let membership = added.data()["addOrganizationMember"]["membership"]["id"].clone();
    let token = scoped(&app, &tenant, &user.access_token, &org).await;
    assert_eq!(
        token["org_permissions"],
        json!(["members:read", "organization:read", "reports:export"])
    );
    assert_eq!(token["roles"], json!(["org:member", "reporter"]));
    // A role granted for a window counts while it is in force; one that starts later does not.
    let later = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    for (role, from) in [("support", Value::Null), ("org:admin", json!(later))] {
        app.tenant(
            &tenant,
            GRANT_ROLE,
            json!({ "input": { "membershipId": membership, "role": role, "validFrom": from } }),
        )
        .await
        .data();
    }
    let token = scoped(&app, &tenant, &user.access_token, &org).await;
    assert_eq!(
        token["org_permissions"],
        json!([
            "members:read",
            "organization:read",
            "reports:export",
            "tickets:write"
        ])
    );
    // Unscoped tokens have no such claim.
    assert!(claims(&user.access_token).get("org_permissions").is_none());

    // Another tenant's role of the same name gives nothing here.
    let other = app.create_tenant("org-perms-other").await;
    role(&app, &other, "reporter", &["secrets:read"]).await;
    let token = scoped(&app, &tenant, &user.access_token, &org).await;
    assert!(
        !token["org_permissions"]
            .to_string()
            .contains("secrets:read"),
        "{token}"
    );
    app.stop().await;
}

#[tokio::test]
async fn configurations_that_would_outgrow_a_token_are_refused_by_field() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("org-perms-bound").await;
    // The built-in roles name 60 characters of permissions; 19 names of 100 fit in 2,048.
    let name = |i: usize| format!("p{i:02}:{}", "x".repeat(96));
    let names: Vec<String> = (0..20).map(name).collect();
    let first: Vec<&str> = names[..19].iter().map(String::as_str).collect();
    let created = role(&app, &tenant, "wide", &first).await;
    assert!(created["errors"].is_null(), "{created}");
    let refused = role(&app, &tenant, "wider", &[names[19].as_str()]).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(refused["errors"][0]["extensions"]["field"], "permissions");
    // Names the tenant already uses cost nothing more.
    let reused = role(
        &app,
        &tenant,
        "narrow",
        &[names[3].as_str(), "members:read"],
    )
    .await;
    assert!(reused["errors"].is_null(), "{reused}");
    let roles = app
        .tenant(&tenant, "{ organizationRoles { name } }", json!({}))
        .await;
    let names: Vec<&str> = roles.data()["organizationRoles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["org:admin", "org:member", "wide", "narrow"]);

    // Entitlement keys: 16 of 64 characters fill the 1,024; the 17th is refused.
    let define = |key: String| {
        let app = &app;
        let tenant = &tenant;
        async move {
            app.tenant(
                tenant,
                "mutation($key: String!) { createEntitlement(input: { key: $key }) { entitlement { key } } }",
                json!({ "key": key }),
            )
            .await
            .body
            .clone()
        }
    };
    for i in 0..16 {
        let defined = define(format!("k{i:02}{}", "y".repeat(61))).await;
        assert!(defined["errors"].is_null(), "{defined}");
    }
    let refused = define(format!("k16{}", "y".repeat(61))).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["field"], "key",
        "{refused}"
    );
    // Another tenant has its own room.
    let other = app.create_tenant("org-perms-bound-b").await;
    let created = role(&app, &other, "wide", &first).await;
    assert!(created["errors"].is_null(), "{created}");
    app.stop().await;
}
