//! Application access policies (`Application.accessPolicy`): who may sign in to an
//! application. A user the policy keeps out sees a page saying why, with the way back to the
//! client carrying `access_denied` (and `prompt=none` goes back at once); a policy changed
//! later, or a membership ended, stops the next refresh (`invalid_grant`). Policies naming
//! another tenant's organization, unknown roles or entitlements are refused by field and
//! nothing is saved; another tenant cannot read or change a policy.

use latchkey_tests::oidc::{Browser, RegisteredApp, param};
use latchkey_tests::passkey::SignedIn;
use latchkey_tests::{TestApp, TestTenant, unique_email};
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

const CALLBACK: &str = "https://portal.example/callback";
const UPDATE: &str = "mutation($input: UpdateApplicationInput!) { updateApplication(input: $input) { application { accessPolicy { allow organizationKinds organizationIds roles entitlements } } } }";

async fn set_policy(app: &TestApp, tenant: &TestTenant, id: &str, policy: Value) -> Value {
    let response = app
        .tenant(
            tenant,
            UPDATE,
            json!({ "input": { "id": id, "accessPolicy": policy } }),
        )
        .await;
    response.body.clone()
}

/// A signed-in user with a browser session at the provider.
async fn user(app: &TestApp, tenant: &TestTenant) -> (SignedIn, Browser) {
    let (_device, _, signed_in) = app.sign_up(tenant, &unique_email()).await;
    let mut browser = Browser::new();
    browser
        .establish_session(app, tenant, &signed_in.access_token)
        .await;
    (signed_in, browser)
}

/// Runs an authorization request of `client` in `browser`; answers the status, the
/// `Location` (parsed) and the body.
async fn authorize(
    app: &TestApp,
    tenant: &TestTenant,
    browser: &Browser,
    client: &RegisteredApp,
    extra: &[(&str, &str)],
) -> (StatusCode, Option<Url>, String) {
    let mut params = vec![("scope", "openid offline_access"), ("state", "s-42")];
    params.extend_from_slice(extra);
    let url = app.authorize_url(tenant, &client.client_id, CALLBACK, &params);
    let (status, location, body) = browser.get(&url).await;
    (status, location.map(|l| Url::parse(&l).unwrap()), body)
}

/// Exchanges the code of a callback for tokens.
async fn exchange(
    app: &TestApp,
    tenant: &TestTenant,
    client: &RegisteredApp,
    callback: &Url,
) -> Value {
    let code = param(callback, "code").expect("a code");
    let (status, tokens) = app
        .oauth_post(
            tenant,
            "token",
            Some((&client.client_id, client.client_secret.as_deref().unwrap())),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn refresh(
    app: &TestApp,
    tenant: &TestTenant,
    client: &RegisteredApp,
    tokens: &Value,
) -> (StatusCode, Value) {
    app.oauth_post(
        tenant,
        "token",
        Some((&client.client_id, client.client_secret.as_deref().unwrap())),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
    )
    .await
}

#[tokio::test]
async fn a_partner_portal_keeps_consumers_out_with_a_page_and_access_denied() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("policy").await;
    let (partner, _) = app
        .create_organization(&tenant, "Resellers Ltd", "PARTNER")
        .await;
    let (customer, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let portal = app
        .create_application(
            &tenant,
            "WEB",
            &[CALLBACK],
            json!({ "name": "Partner portal", "accessPolicy": { "allow": "MEMBERS", "organizationKinds": ["PARTNER"] } }),
        )
        .await;

    // A consumer: the page names the application and the reason, and its link goes back to
    // the client with access_denied and the state.
    let (_consumer, consumer_browser) = user(&app, &tenant).await;
    let (status, location, page) = authorize(&app, &tenant, &consumer_browser, &portal, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
    assert!(location.is_none());
    assert!(page.contains("Partner portal"), "{page}");
    assert!(page.contains("of kind partner"), "{page}");
    let back = page
        .split("id=\"return\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a way back to the application")
        .replace("&amp;", "&");
    let back = Url::parse(&back).unwrap();
    assert!(back.as_str().starts_with(CALLBACK), "{back}");
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("s-42"));
    assert_eq!(param(&back, "code"), None);
    // prompt=none goes straight back with the error.
    let (status, location, _) = authorize(
        &app,
        &tenant,
        &consumer_browser,
        &portal,
        &[("prompt", "none")],
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(
        param(&location.unwrap(), "error").as_deref(),
        Some("access_denied")
    );

    // A customer's member is kept out too; a partner's member is let in.
    let (customer_member, customer_browser) = user(&app, &tenant).await;
    app.add_organization_member(
        &tenant,
        &customer,
        &customer_member.identity_id,
        &["org:member"],
    )
    .await;
    let (status, _, _) = authorize(&app, &tenant, &customer_browser, &portal, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = authorize(
        &app,
        &tenant,
        &customer_browser,
        &portal,
        &[("organization", &customer)],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the organization asked for is judged"
    );
    let (reseller, reseller_browser) = user(&app, &tenant).await;
    app.add_organization_member(&tenant, &partner, &reseller.identity_id, &["org:member"])
        .await;
    let (status, location, body) = authorize(&app, &tenant, &reseller_browser, &portal, &[]).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let tokens = exchange(&app, &tenant, &portal, &location.unwrap()).await;
    assert_eq!(
        refresh(&app, &tenant, &portal, &tokens).await.0,
        StatusCode::OK
    );

    // The policy tightens to admins of partners: the member's next refresh is refused.
    let tokens = {
        let (_, location, _) = authorize(&app, &tenant, &reseller_browser, &portal, &[]).await;
        exchange(&app, &tenant, &portal, &location.unwrap()).await
    };
    let saved = set_policy(
        &app,
        &tenant,
        &portal.id,
        json!({ "allow": "MEMBERS", "organizationKinds": ["PARTNER"], "roles": ["org:admin"] }),
    )
    .await;
    assert!(saved["errors"].is_null(), "{saved}");
    let (status, body) = refresh(&app, &tenant, &portal, &tokens).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("access policy"),
        "{body}"
    );

    // An admin of the partner is let in; once the membership is removed, the refresh stops.
    let (admin, admin_browser) = user(&app, &tenant).await;
    app.add_organization_member(&tenant, &partner, &admin.identity_id, &["org:admin"])
        .await;
    let (status, location, body) = authorize(&app, &tenant, &admin_browser, &portal, &[]).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let tokens = exchange(&app, &tenant, &portal, &location.unwrap()).await;
    app.tenant(
        &tenant,
        "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": partner, "identityId": admin.identity_id } }),
    )
    .await
    .data();
    let (status, body) = refresh(&app, &tenant, &portal, &tokens).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    app.stop().await;
}

#[tokio::test]
async fn consumers_listed_organizations_and_entitlements() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("policy-kinds").await;
    let (acme, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let (globex, _) = app.create_organization(&tenant, "Globex", "CUSTOMER").await;
    app.tenant(
        &tenant,
        "mutation { createEntitlement(input: { key: \"analytics\" }) { entitlement { key } } }",
        json!({}),
    )
    .await
    .data();
    app.tenant(
        &tenant,
        "mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { entitlement { key } } }",
        json!({ "input": { "organizationId": globex, "key": "analytics" } }),
    )
    .await
    .data();
    let shop = app
        .create_application(
            &tenant,
            "WEB",
            &[CALLBACK],
            json!({ "accessPolicy": { "allow": "CONSUMERS" } }),
        )
        .await;
    let (_consumer, consumer_browser) = user(&app, &tenant).await;
    let (acme_member, acme_browser) = user(&app, &tenant).await;
    app.add_organization_member(&tenant, &acme, &acme_member.identity_id, &["org:member"])
        .await;
    let (globex_member, globex_browser) = user(&app, &tenant).await;
    app.add_organization_member(
        &tenant,
        &globex,
        &globex_member.identity_id,
        &["org:member"],
    )
    .await;

    assert_eq!(
        authorize(&app, &tenant, &consumer_browser, &shop, &[])
            .await
            .0,
        StatusCode::FOUND
    );
    let (code, _, page) = authorize(&app, &tenant, &acme_browser, &shop, &[]).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert!(page.contains("consumers only"), "{page}");

    // Listed organizations: Acme only.
    let saved = set_policy(
        &app,
        &tenant,
        &shop.id,
        json!({ "allow": "MEMBERS", "organizationIds": [acme, acme] }),
    )
    .await;
    assert_eq!(
        saved["data"]["updateApplication"]["application"]["accessPolicy"]["organizationIds"],
        json!([acme]),
        "{saved}"
    );
    assert_eq!(
        authorize(&app, &tenant, &acme_browser, &shop, &[]).await.0,
        StatusCode::FOUND
    );
    assert_eq!(
        authorize(&app, &tenant, &globex_browser, &shop, &[])
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        authorize(&app, &tenant, &consumer_browser, &shop, &[])
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // Organizations holding an entitlement: Globex.
    set_policy(
        &app,
        &tenant,
        &shop.id,
        json!({ "allow": "MEMBERS", "entitlements": ["analytics"] }),
    )
    .await;
    assert_eq!(
        authorize(&app, &tenant, &globex_browser, &shop, &[])
            .await
            .0,
        StatusCode::FOUND
    );
    assert_eq!(
        authorize(&app, &tenant, &acme_browser, &shop, &[]).await.0,
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_policies_are_refused_by_field_and_stay_inside_their_tenant() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("policy-bad").await;
    let other = app.create_tenant("policy-bad-other").await;
    let (theirs, _) = app.create_organization(&other, "Theirs", "CUSTOMER").await;
    let (ours, _) = app.create_organization(&tenant, "Ours", "CUSTOMER").await;
    let portal = app
        .create_application(
            &tenant,
            "WEB",
            &[CALLBACK],
            json!({ "accessPolicy": { "allow": "MEMBERS", "organizationIds": [ours] } }),
        )
        .await;
    let cases = [
        (
            json!({ "allow": "MEMBERS", "organizationIds": [ours, theirs] }),
            "accessPolicy.organizationIds[1]",
        ),
        (
            json!({ "allow": "MEMBERS", "organizationIds": ["not-an-id"] }),
            "accessPolicy.organizationIds[0]",
        ),
        (
            json!({ "allow": "MEMBERS", "roles": ["org:owner"] }),
            "accessPolicy.roles[0]",
        ),
        (
            json!({ "allow": "MEMBERS", "entitlements": ["undefined"] }),
            "accessPolicy.entitlements[0]",
        ),
        (
            json!({ "allow": "ANY", "organizationKinds": ["PARTNER"] }),
            "accessPolicy.organizationKinds",
        ),
        (
            json!({ "allow": "CONSUMERS", "roles": ["org:admin"] }),
            "accessPolicy.roles",
        ),
    ];
    for (policy, field) in cases {
        let refused = set_policy(&app, &tenant, &portal.id, policy.clone()).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{policy}: {refused}"
        );
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], field,
            "{policy}"
        );
    }
    // Creating with another tenant's organization is refused the same way.
    let created = app
        .tenant(
            &tenant,
            "mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { id } } }",
            json!({ "input": { "name": "X", "type": "WEB", "redirectUris": [CALLBACK], "accessPolicy": { "allow": "MEMBERS", "organizationIds": [theirs] } } }),
        )
        .await;
    assert_eq!(
        created.body["errors"][0]["extensions"]["field"],
        "accessPolicy.organizationIds[0]"
    );
    // Nothing was saved.
    let read = app
        .tenant(
            &tenant,
            "query($id: ID!) { application(id: $id) { accessPolicy { allow organizationIds } } applications { nodes { id } } }",
            json!({ "id": portal.id }),
        )
        .await;
    assert_eq!(
        read.data()["application"]["accessPolicy"],
        json!({ "allow": "MEMBERS", "organizationIds": [ours] })
    );
    assert_eq!(
        read.data()["applications"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Another tenant neither reads nor changes the policy, and its own application cannot
    // name this tenant's organization.
    let read = app
        .tenant(
            &other,
            "query($id: ID!) { application(id: $id) { accessPolicy { allow } } }",
            json!({ "id": portal.id }),
        )
        .await;
    assert_eq!(read.error_code(), "NOT_FOUND");
    let changed = set_policy(&app, &other, &portal.id, json!({ "allow": "ANY" })).await;
    assert_eq!(changed["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let theirs_app = app
        .create_application(&other, "WEB", &[CALLBACK], json!({}))
        .await;
    let refused = set_policy(
        &app,
        &other,
        &theirs_app.id,
        json!({ "allow": "MEMBERS", "organizationIds": [ours] }),
    )
    .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["field"],
        "accessPolicy.organizationIds[0]"
    );
    // A member of this tenant's organization signing in to this application: the policy
    // judges memberships of this tenant only.
    let (member, browser) = user(&app, &tenant).await;
    app.add_organization_member(&tenant, &ours, &member.identity_id, &["org:member"])
        .await;
    assert_eq!(
        authorize(&app, &tenant, &browser, &portal, &[]).await.0,
        StatusCode::FOUND
    );
    app.stop().await;
}
