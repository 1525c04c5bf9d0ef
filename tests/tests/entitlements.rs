//! Entitlements: the keys a tenant defines (`createEntitlement`, `entitlements`,
//! `deleteEntitlement`), what its organizations hold for a window (`grantEntitlement`,
//! `revokeEntitlement`, `Organization.entitlements`), the `entitlement.granted` /
//! `entitlement.revoked` events with the keys in force, the `org_entitlements` claim of
//! organization-scoped tokens, bad input named by its field, and isolation between tenants and
//! between organizations.

use chrono::{DateTime, Duration, SecondsFormat, SubsecRound, Utc};
use latchkey_tests::passkey::claims;
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, unique_email};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateEntitlementInput!) { createEntitlement(input: $input) { entitlement { key description createdAt } } }";
const DELETE: &str = "mutation($input: DeleteEntitlementInput!) { deleteEntitlement(input: $input) { entitlement { key } } }";
const GRANT: &str = "mutation($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { entitlement { id key validFrom validUntil status source createdAt } organization { id } } }";
const REVOKE: &str = "mutation($input: RevokeEntitlementInput!) { revokeEntitlement(input: $input) { entitlement { id key } organization { id } } }";
const HELD: &str = "query($id: ID!) { organization(id: $id) { entitlements { id key status } } }";
const EVENTS: &str = "query($filter: DomainEventFilter) { domainEvents(first: 100, filter: $filter) { nodes { type subjectType subjectId data } } }";
const ADD_MEMBER: &str = "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }";
const SWITCH: &str = "mutation($input: SwitchOrganizationInput!) { switchOrganization(input: $input) { accessToken } }";

/// `n` days from now.
fn days(n: i64) -> DateTime<Utc> {
    Utc::now() + Duration::days(n)
}

fn at(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn time_of(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().expect("a time");
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

/// Checks the first error's `code` and `field` (none unless the input was bad).
fn refused(response: &GraphqlResponse, code: &str, field: Option<&str>) {
    let extensions = &response.body["errors"][0]["extensions"];
    let seen = (extensions["code"].as_str(), extensions["field"].as_str());
    assert_eq!(seen, (Some(code), field), "{}", response.body);
}

/// One caller of a tenant's API: its admin key, or an end user's access token.
struct Caller<'a> {
    app: &'a TestApp,
    tenant: &'a TestTenant,
    token: &'a str,
}

fn admin<'a>(app: &'a TestApp, tenant: &'a TestTenant) -> Caller<'a> {
    let token = tenant.api_key.as_str();
    Caller { app, tenant, token }
}

fn user<'a>(app: &'a TestApp, tenant: &'a TestTenant, token: &'a str) -> Caller<'a> {
    Caller { app, tenant, token }
}

impl Caller<'_> {
    async fn call(&self, query: &str, input: Value) -> GraphqlResponse {
        let variables = json!({ "input": input });
        let (app, tenant) = (self.app, self.tenant);
        app.as_key(tenant, self.token, query, variables).await
    }

    async fn define(&self, key: &str) -> GraphqlResponse {
        self.call(CREATE, json!({ "key": key })).await
    }

    async fn delete(&self, key: &str) -> GraphqlResponse {
        self.call(DELETE, json!({ "key": key })).await
    }

    /// Grants `key` to `org` for `window` (`validFrom`, `validUntil`).
    async fn grant(&self, org: &str, key: &str, window: Value) -> GraphqlResponse {
        let mut input = json!({ "organizationId": org, "key": key });
        let window = window.as_object().unwrap().clone();
        input.as_object_mut().unwrap().extend(window);
        self.call(GRANT, input).await
    }

    async fn revoke(&self, org: &str, key: &str) -> GraphqlResponse {
        let input = json!({ "organizationId": org, "key": key });
        self.call(REVOKE, input).await
    }

    async fn read(&self, org: &str) -> GraphqlResponse {
        let (app, tenant) = (self.app, self.tenant);
        app.as_key(tenant, self.token, HELD, json!({ "id": org }))
            .await
    }

    /// What `org` holds, as `key=STATUS`.
    async fn held(&self, org: &str) -> Vec<String> {
        let response = self.read(org).await;
        let all = response.data()["organization"]["entitlements"].clone();
        let pair = |h: &Value| format!("{}={}", h["key"], h["status"]).replace('"', "");
        all.as_array().unwrap().iter().map(pair).collect()
    }

    /// The tenant's entitlement keys.
    async fn keys(&self) -> Vec<String> {
        let (app, tenant) = (self.app, self.tenant);
        let query = "{ entitlements { key } }";
        let response = app.as_key(tenant, self.token, query, json!({})).await;
        let all = response.data()["entitlements"].clone();
        let key = |e: &Value| e["key"].as_str().unwrap().to_owned();
        all.as_array().unwrap().iter().map(key).collect()
    }

    /// The tenant's events of `event_type` (`ENTITLEMENT_GRANTED`) about `org`.
    async fn events(&self, event_type: &str, org: &str) -> Vec<Value> {
        let (app, tenant) = (self.app, self.tenant);
        let filter = json!({ "filter": { "type": event_type, "subjectId": org } });
        let response = app.as_key(tenant, self.token, EVENTS, filter).await;
        let nodes = &response.data()["domainEvents"]["nodes"];
        nodes.as_array().unwrap().clone()
    }

    /// The `org_entitlements` claim of a token scoped to `org`.
    async fn org_entitlements(&self, org: &str) -> Value {
        let switched = self.call(SWITCH, json!({ "organizationId": org })).await;
        let token = &switched.data()["switchOrganization"]["accessToken"];
        let claims = claims(token.as_str().unwrap());
        assert_eq!(claims["org_id"], org);
        claims["org_entitlements"].clone()
    }
}

/// A tenant defining `keys`, with one organization.
async fn setup(app: &TestApp, prefix: &str, keys: &[&str]) -> (TestTenant, String) {
    let tenant = app.create_tenant(prefix).await;
    for key in keys {
        admin(app, &tenant).define(key).await.data();
    }
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    (tenant, org)
}

/// A signed-in end user with `role` in `org`; answers its access token.
async fn member(app: &TestApp, tenant: &TestTenant, org: &str, role: &str) -> String {
    let (_device, _, user) = app.sign_up(tenant, &unique_email()).await;
    let input = json!({ "organizationId": org, "identityId": user.identity_id, "roles": [role] });
    admin(app, tenant).call(ADD_MEMBER, input).await.data();
    user.access_token
}

#[tokio::test]
async fn keys_are_granted_for_a_window_revoked_and_deleted_once_nobody_holds_them() {
    let app = TestApp::start().await;
    let (tenant, org) = setup(&app, "ent-life", &["analytics"]).await;
    let admin = admin(&app, &tenant);
    let input = json!({ "key": "sso", "description": "Single sign-on" });
    let created = admin.call(CREATE, input).await;
    let entitlement = &created.data()["createEntitlement"]["entitlement"];
    assert_eq!(entitlement["key"], "sso");
    assert_eq!(entitlement["description"], "Single sign-on");
    assert!(time_of(&entitlement["createdAt"]) <= Utc::now());
    assert_eq!(admin.keys().await, ["analytics", "sso"]);
    refused(&admin.define("sso").await, "CONFLICT", None);

    let until = days(30);
    let window = json!({ "validUntil": at(until) });
    let granted = admin.grant(&org, "sso", window).await;
    let granted = &granted.data()["grantEntitlement"];
    assert_eq!(granted["organization"]["id"], org.as_str());
    let sso = &granted["entitlement"];
    assert_eq!(sso["key"], "sso");
    assert_eq!(sso["status"], "ACTIVE");
    assert_eq!(sso["validFrom"], Value::Null);
    assert_eq!(time_of(&sso["validUntil"]), until.trunc_subsecs(6));
    assert_eq!(sso["source"], Value::Null, "an administrator's grant");
    assert!(time_of(&sso["createdAt"]) <= Utc::now());
    let sso_id = sso["id"].as_str().unwrap().to_owned();

    // Granting again replaces the window of the same holding.
    let (from, until) = (days(1), days(365));
    let window = json!({ "validFrom": at(from), "validUntil": at(until) });
    let regranted = admin.grant(&org, "sso", window).await;
    let sso = &regranted.data()["grantEntitlement"]["entitlement"];
    assert_eq!(sso["id"], sso_id.as_str());
    assert_eq!(sso["status"], "PENDING");
    assert_eq!(time_of(&sso["validFrom"]), from.trunc_subsecs(6));
    assert_eq!(time_of(&sso["validUntil"]), until.trunc_subsecs(6));
    // A window that has ended already.
    let ended = json!({ "validFrom": at(days(-2)), "validUntil": at(days(-1)) });
    let ended = admin.grant(&org, "analytics", ended).await;
    let status = &ended.data()["grantEntitlement"]["entitlement"]["status"];
    assert_eq!(status, "EXPIRED");
    let held = admin.held(&org).await;
    assert_eq!(held, ["analytics=EXPIRED", "sso=PENDING"]);

    // A key an organization holds is not deleted.
    refused(&admin.delete("sso").await, "CONFLICT", None);
    assert_eq!(admin.keys().await, ["analytics", "sso"]);
    let revoked = admin.revoke(&org, "sso").await;
    let payload = &revoked.data()["revokeEntitlement"];
    assert_eq!(payload["entitlement"]["id"], sso_id.as_str());
    assert_eq!(payload["organization"]["id"], org.as_str());
    assert_eq!(admin.held(&org).await, ["analytics=EXPIRED"]);
    let not_held = admin.revoke(&org, "sso").await;
    refused(&not_held, "BAD_USER_INPUT", Some("key"));

    let deleted = admin.delete("sso").await;
    let key = &deleted.data()["deleteEntitlement"]["entitlement"]["key"];
    assert_eq!(key, "sso");
    assert_eq!(admin.keys().await, ["analytics"]);
    refused(&admin.delete("sso").await, "NOT_FOUND", None);
    app.stop().await;
}

#[tokio::test]
async fn bad_keys_and_windows_name_the_field_and_save_nothing() {
    let app = TestApp::start().await;
    let (tenant, org) = setup(&app, "ent-bad", &["sso"]).await;
    let admin = admin(&app, &tenant);
    for bad in ["Bad Key", "a", "9lives", "sso!"] {
        refused(&admin.define(bad).await, "BAD_USER_INPUT", Some("key"));
    }
    assert_eq!(admin.keys().await, ["sso"]);

    let unknown = admin.grant(&org, "analytics", json!({})).await;
    refused(&unknown, "BAD_USER_INPUT", Some("key"));
    let now = Utc::now();
    for until in [now - Duration::hours(1), now] {
        let window = json!({ "validFrom": at(now), "validUntil": at(until) });
        let backwards = admin.grant(&org, "sso", window).await;
        refused(&backwards, "BAD_USER_INPUT", Some("validUntil"));
    }
    assert!(admin.held(&org).await.is_empty());
    let events = admin.events("ENTITLEMENT_GRANTED", &org).await;
    assert!(events.is_empty(), "{events:?}");
    app.stop().await;
}

#[tokio::test]
async fn grants_and_revocations_write_events_with_the_keys_in_force() {
    let app = TestApp::start().await;
    let keys = ["analytics", "beta", "sso"];
    let (tenant, org) = setup(&app, "ent-events", &keys).await;
    let admin = admin(&app, &tenant);
    admin.grant(&org, "sso", json!({})).await.data();
    admin.grant(&org, "analytics", json!({})).await.data();
    // Not in force yet: named as granted, missing from the keys in force.
    let later = json!({ "validFrom": at(days(1)) });
    admin.grant(&org, "beta", later).await.data();
    admin.revoke(&org, "sso").await.data();

    let granted = admin.events("ENTITLEMENT_GRANTED", &org).await;
    // The key granted, then the keys in force after the grant.
    let data = |e: &Value| format!("{} {}", e["entitlement"]["key"], e["entitlements"]);
    let seen: Vec<String> = granted.iter().map(|e| data(&e["data"])).collect();
    let expected = ["sso sso", "analytics analytics;sso", "beta analytics;sso"];
    assert_eq!(seen.join(",").replace('"', ""), expected.join(","));
    for event in &granted {
        assert_eq!(event["type"], "entitlement.granted");
        assert_eq!(event["subjectType"], "organization");
        assert_eq!(event["subjectId"], org.as_str());
        assert_eq!(event["data"]["id"], org.as_str());
    }
    let beta = &granted[2]["data"]["entitlement"];
    assert!(time_of(&beta["validFrom"]) > Utc::now());

    let revoked = admin.events("ENTITLEMENT_REVOKED", &org).await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["type"], "entitlement.revoked");
    assert_eq!(revoked[0]["data"]["entitlement"]["key"], "sso");
    assert_eq!(revoked[0]["data"]["entitlements"], "analytics");
    app.stop().await;
}

#[tokio::test]
async fn organization_tokens_carry_the_keys_in_force_now() {
    let app = TestApp::start().await;
    let keys = ["analytics", "beta", "legacy", "sso"];
    let (tenant, org) = setup(&app, "ent-token", &keys).await;
    let admin = admin(&app, &tenant);
    let token = member(&app, &tenant, &org, "org:member").await;
    let member = user(&app, &tenant, &token);
    assert_eq!(member.org_entitlements(&org).await, json!([]));

    let ended = json!({ "validFrom": at(days(-2)), "validUntil": at(days(-1)) });
    let windows = [
        ("sso", json!({ "validUntil": at(days(30)) })),
        ("analytics", json!({})),
        ("beta", json!({ "validFrom": at(days(1)) })),
        ("legacy", ended),
    ];
    for (key, window) in windows {
        admin.grant(&org, key, window).await.data();
    }
    let held = admin.held(&org).await.join(" ");
    let expected = "analytics=ACTIVE beta=PENDING legacy=EXPIRED sso=ACTIVE";
    assert_eq!(held, expected);
    let in_force = member.org_entitlements(&org).await;
    assert_eq!(in_force, json!(["analytics", "sso"]));
    // The member's own token, scoped to no organization, has no such claim.
    assert!(claims(&token).get("org_entitlements").is_none());

    // A revoked key is gone from the next token.
    admin.revoke(&org, "sso").await.data();
    let in_force = member.org_entitlements(&org).await;
    assert_eq!(in_force, json!(["analytics"]));
    app.stop().await;
}

#[tokio::test]
async fn another_tenant_neither_sees_nor_changes_what_an_organization_holds() {
    let app = TestApp::start().await;
    let (tenant, org) = setup(&app, "ent-iso", &["analytics"]).await;
    let (other, theirs) = setup(&app, "ent-iso-other", &["sso"]).await;
    let (a, b) = (admin(&app, &tenant), admin(&app, &other));
    a.grant(&org, "analytics", json!({})).await.data();

    // Tenant B's admin: A's keys are not listed, A's organization does not exist.
    assert_eq!(b.keys().await, ["sso"]);
    for key in ["sso", "analytics"] {
        let granted = b.grant(&org, key, json!({})).await;
        refused(&granted, "NOT_FOUND", None);
    }
    refused(&b.revoke(&org, "analytics").await, "NOT_FOUND", None);
    refused(&b.read(&org).await, "NOT_FOUND", None);
    // Nor does A's key exist for B's own organization.
    let foreign = b.grant(&theirs, "analytics", json!({})).await;
    refused(&foreign, "BAD_USER_INPUT", Some("key"));
    refused(&b.delete("analytics").await, "NOT_FOUND", None);
    assert!(b.held(&theirs).await.is_empty());
    assert!(b.events("ENTITLEMENT_GRANTED", &org).await.is_empty());

    // A's holding is as it was.
    assert_eq!(a.keys().await, ["analytics"]);
    assert_eq!(a.held(&org).await, ["analytics=ACTIVE"]);
    assert_eq!(a.events("ENTITLEMENT_GRANTED", &org).await.len(), 1);
    assert!(a.events("ENTITLEMENT_REVOKED", &org).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn members_read_their_own_organizations_holdings_and_grant_nothing() {
    let app = TestApp::start().await;
    let (tenant, x) = setup(&app, "ent-orgs", &["analytics", "sso"]).await;
    let (y, _) = app.create_organization(&tenant, "Y", "CUSTOMER").await;
    let admin = admin(&app, &tenant);
    admin.grant(&x, "analytics", json!({})).await.data();
    admin.grant(&y, "sso", json!({})).await.data();
    let token = member(&app, &tenant, &x, "org:admin").await;
    let admin_of_x = user(&app, &tenant, &token);

    assert_eq!(admin_of_x.held(&x).await, ["analytics=ACTIVE"]);
    refused(&admin_of_x.read(&y).await, "NOT_FOUND", None);

    // Even an org:admin grants and revokes nothing: entitlements are bought, not taken.
    for (org, key) in [(&x, "analytics"), (&y, "sso")] {
        let granted = admin_of_x.grant(org, "sso", json!({})).await;
        refused(&granted, "FORBIDDEN", None);
        refused(&admin_of_x.revoke(org, key).await, "FORBIDDEN", None);
    }
    refused(&admin_of_x.define("free-lunch").await, "FORBIDDEN", None);
    assert_eq!(admin.keys().await, ["analytics", "sso"]);
    assert_eq!(admin.held(&x).await, ["analytics=ACTIVE"]);
    assert_eq!(admin.held(&y).await, ["sso=ACTIVE"]);

    // A token scoped to X carries X's keys, not Y's.
    let in_force = admin_of_x.org_entitlements(&x).await;
    assert_eq!(in_force, json!(["analytics"]));
    app.stop().await;
}
