//! Records deleted in the CRM, told through a pulling connector's signed webhook
//! (`contact.deleted`, `company.deleted`): the connector's `onRemoteDelete` decides whether
//! only the link goes (`UNLINK`), the memberships and pending invitations its organizations
//! gave go too (`REMOVE_MEMBERSHIP`, the default), or the contact's identity is suspended
//! (`SUSPEND_IDENTITY`). What the connector did not give stays, bad settings name their field,
//! and a deletion sent to another tenant's connector changes nothing here.

use aws_lc_rs::hmac;
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, unique, unique_email};
use serde_json::{Value, json};

const SECRET: &str = "whsec_deletions_0123456789";
const CREATE: &str = "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id direction settings onRemoteDelete webhookUrl } } }";
const UPDATE: &str = "mutation($input: UpdateCrmConnectorInput!) { updateCrmConnector(input: $input) { connector { id settings onRemoteDelete } } }";
const CONNECTORS: &str = "{ crmConnectors(first: 20) { totalCount nodes { id onRemoteDelete } } }";
const FIND: &str =
    "query($email: String) { identities(first: 10, filter: { email: $email }) { nodes { id } } }";
const STATUS: &str = "query($id: ID!) { identity(id: $id) { status } }";
const ACCESS: &str =
    "query($id: ID!) { identity(id: $id) { access(first: 50) { nodes { organization { id } } } } }";
const ORGANIZATIONS: &str = "{ organizations(first: 50) { nodes { id name } } }";
const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { members(first: 50) { nodes { identity { id } } } } }";
const INVITATIONS: &str = "query($id: ID!, $pending: Boolean!) { organization(id: $id) { invitations(first: 50, pendingOnly: $pending) { nodes { email status } } } }";
const ADD_MEMBER: &str = "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }";
const INVITE: &str = "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id } } }";

/// The generic signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
fn signature(secret: &str, body: &str) -> String {
    let t = chrono::Utc::now().timestamp();
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(tag.as_ref()))
}

/// POSTs `event` to a connector's webhook, signed; answers the receipt of an accepted one.
async fn deliver(app: &TestApp, url: &str, event: Value) -> Value {
    let body = event.to_string();
    let response = app
        .client
        .post(url)
        .header("content-type", "application/json")
        .header("latchkey-signature", signature(SECRET, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let receipt: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{event}: {receipt}");
    assert_eq!(receipt["applied"], 1, "{event}: {receipt}");
    receipt
}

fn event(event_type: &str, data: Value) -> Value {
    json!({ "id": unique("evt"), "type": event_type, "occurredAt": chrono::Utc::now(), "data": data })
}

/// `contact.deleted` or `company.deleted` of CRM record `record`.
fn deleted(kind: &str, record: &str) -> Value {
    event(&format!("{kind}.deleted"), json!({ "recordId": record }))
}

/// The `extensions.field` of the first error.
fn field(response: &GraphqlResponse) -> Option<&str> {
    response.body["errors"][0]["extensions"]["field"].as_str()
}

async fn create(app: &TestApp, tenant: &TestTenant, input: Value) -> GraphqlResponse {
    app.tenant(tenant, CREATE, json!({ "input": input })).await
}

async fn update(app: &TestApp, tenant: &TestTenant, input: Value) -> GraphqlResponse {
    app.tenant(tenant, UPDATE, json!({ "input": input })).await
}

/// A WEBHOOK connector that pulls, with `onRemoteDelete` when given; answers its webhook URL.
async fn pulling(app: &TestApp, tenant: &TestTenant, on_remote_delete: Option<&str>) -> String {
    let mut input = json!({ "name": unique("crm"), "kind": "WEBHOOK", "direction": "PULL", "settings": {}, "credentials": { "secret": SECRET } });
    if let Some(action) = on_remote_delete {
        input["onRemoteDelete"] = json!(action);
    }
    let created = create(app, tenant, input).await;
    let connector = &created.data()["createCrmConnector"]["connector"];
    assert_eq!(
        connector["onRemoteDelete"],
        on_remote_delete.unwrap_or("REMOVE_MEMBERSHIP")
    );
    connector["webhookUrl"].as_str().unwrap().to_owned()
}

async fn add_member(app: &TestApp, tenant: &TestTenant, org: &str, identity: &str) {
    let input = json!({ "organizationId": org, "identityId": identity, "roles": ["org:member"] });
    app.tenant(tenant, ADD_MEMBER, json!({ "input": input }))
        .await
        .data();
}

/// An identity's status, read through the API.
async fn status(app: &TestApp, tenant: &TestTenant, id: &str) -> String {
    let response = app.tenant(tenant, STATUS, json!({ "id": id })).await;
    response.data()["identity"]["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The organizations an identity is a member of.
async fn memberships(app: &TestApp, tenant: &TestTenant, id: &str) -> Vec<String> {
    let response = app.tenant(tenant, ACCESS, json!({ "id": id })).await;
    let nodes = response.data()["identity"]["access"]["nodes"]
        .as_array()
        .unwrap();
    nodes
        .iter()
        .map(|m| m["organization"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The identities that are members of an organization.
async fn members(app: &TestApp, tenant: &TestTenant, org: &str) -> Vec<String> {
    let response = app.tenant(tenant, MEMBERS, json!({ "id": org })).await;
    let nodes = response.data()["organization"]["members"]["nodes"]
        .as_array()
        .unwrap();
    nodes
        .iter()
        .map(|m| m["identity"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The invitations into an organization (pending ones only, or all) as `email=STATUS`.
async fn invitations(app: &TestApp, tenant: &TestTenant, org: &str, pending: bool) -> Vec<String> {
    let response = app
        .tenant(
            tenant,
            INVITATIONS,
            json!({ "id": org, "pending": pending }),
        )
        .await;
    let nodes = response.data()["organization"]["invitations"]["nodes"]
        .as_array()
        .unwrap();
    nodes
        .iter()
        .map(|i| {
            format!(
                "{}={}",
                i["email"].as_str().unwrap(),
                i["status"].as_str().unwrap()
            )
        })
        .collect()
}

/// What a CRM contact of a company left in the tenant: its identity, the company's
/// organization (where the admin made the identity a member too) and the pending invitation.
struct Contact {
    email: String,
    identity: String,
    org: String,
}

/// Sends contact `record` of company `company` to the connector at `url`.
async fn contact(
    app: &TestApp,
    tenant: &TestTenant,
    url: &str,
    record: &str,
    company: &str,
) -> Contact {
    let email = unique_email();
    let name = format!("Company {company}");
    let upserted = event(
        "contact.upserted",
        json!({ "recordId": record, "fields": { "email": email }, "company": { "recordId": company, "fields": { "name": name } } }),
    );
    deliver(app, url, upserted).await;
    let found = app.tenant(tenant, FIND, json!({ "email": email })).await;
    let identity = found.data()["identities"]["nodes"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no identity for the contact: {}", found.body))
        .to_owned();
    let orgs = app.tenant(tenant, ORGANIZATIONS, json!({})).await;
    let org = orgs.data()["organizations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name.as_str())
        .unwrap_or_else(|| panic!("no organization for the company: {}", orgs.body))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pending = invitations(app, tenant, &org, true).await;
    assert!(pending.contains(&format!("{email}=PENDING")), "{pending:?}");
    add_member(app, tenant, &org, &identity).await;
    assert!(memberships(app, tenant, &identity).await.contains(&org));
    Contact {
        email,
        identity,
        org,
    }
}

#[tokio::test]
async fn remove_membership_is_the_default_and_bad_settings_name_the_field() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-settings").await;
    let pull = |extra: Value| {
        let mut input = json!({ "name": unique("crm"), "kind": "WEBHOOK", "direction": "PULL", "settings": {}, "credentials": { "secret": SECRET } });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        input
    };
    let push = |extra: Value| {
        let mut input = json!({ "name": unique("crm"), "kind": "WEBHOOK", "settings": { "url": "http://127.0.0.1:9/hook" }, "credentials": { "secret": SECRET } });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        input
    };
    let created = create(&app, &tenant, pull(json!({}))).await;
    let default = created.data()["createCrmConnector"]["connector"].clone();
    assert_eq!(default["direction"], "PULL");
    assert_eq!(default["onRemoteDelete"], "REMOVE_MEMBERSHIP");
    let created = create(&app, &tenant, pull(json!({ "onRemoteDelete": "UNLINK" }))).await;
    let unlink = &created.data()["createCrmConnector"]["connector"];
    assert_eq!(unlink["onRemoteDelete"], "UNLINK");
    assert_eq!(unlink["settings"]["onRemoteDelete"], "UNLINK");
    let in_settings = pull(json!({ "settings": { "onRemoteDelete": "SUSPEND_IDENTITY" } }));
    let created = create(&app, &tenant, in_settings).await;
    assert_eq!(
        created.data()["createCrmConnector"]["connector"]["onRemoteDelete"],
        "SUSPEND_IDENTITY"
    );
    let updated = update(
        &app,
        &tenant,
        json!({ "id": default["id"], "onRemoteDelete": "UNLINK" }),
    )
    .await;
    let updated = &updated.data()["updateCrmConnector"]["connector"];
    assert_eq!(updated["onRemoteDelete"], "UNLINK");
    assert_eq!(updated["settings"]["onRemoteDelete"], "UNLINK");
    let created = create(&app, &tenant, push(json!({}))).await;
    let push_only = created.data()["createCrmConnector"]["connector"].clone();
    assert_eq!(
        push_only["onRemoteDelete"],
        Value::Null,
        "push-only: nothing is deleted"
    );

    let refused_creates = [
        pull(json!({ "settings": { "onRemoteDelete": "DELETE" } })),
        push(json!({ "onRemoteDelete": "UNLINK" })),
        push(
            json!({ "settings": { "url": "http://127.0.0.1:9/hook", "onRemoteDelete": "UNLINK" } }),
        ),
    ];
    for input in refused_creates {
        let refused = create(&app, &tenant, input.clone()).await;
        let seen = (refused.error_code(), field(&refused));
        assert_eq!(
            seen,
            ("BAD_USER_INPUT", Some("settings.onRemoteDelete")),
            "{input}: {}",
            refused.body
        );
    }
    for input in [
        json!({ "id": default["id"], "settings": { "onRemoteDelete": "DELETE" } }),
        json!({ "id": push_only["id"], "onRemoteDelete": "REMOVE_MEMBERSHIP" }),
    ] {
        let refused = update(&app, &tenant, input.clone()).await;
        let seen = (refused.error_code(), field(&refused));
        assert_eq!(
            seen,
            ("BAD_USER_INPUT", Some("settings.onRemoteDelete")),
            "{input}: {}",
            refused.body
        );
    }
    // Nothing refused was saved.
    let listed = app.tenant(&tenant, CONNECTORS, json!({})).await;
    let listed = &listed.data()["crmConnectors"];
    assert_eq!(listed["totalCount"], 4);
    let actions: Vec<&Value> = listed["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["onRemoteDelete"])
        .collect();
    assert_eq!(
        actions,
        [
            &json!("UNLINK"),
            &json!("UNLINK"),
            &json!("SUSPEND_IDENTITY"),
            &Value::Null
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn unlink_leaves_the_identity_its_membership_and_its_invitation() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-unlink").await;
    let url = pulling(&app, &tenant, Some("UNLINK")).await;
    let ada = contact(&app, &tenant, &url, "contact-ada", "acct-1").await;
    deliver(&app, &url, deleted("contact", "contact-ada")).await;
    assert_eq!(status(&app, &tenant, &ada.identity).await, "ACTIVE");
    assert_eq!(
        memberships(&app, &tenant, &ada.identity).await,
        [ada.org.clone()]
    );
    assert_eq!(
        invitations(&app, &tenant, &ada.org, true).await,
        [format!("{}=PENDING", ada.email)]
    );
    app.stop().await;
}

#[tokio::test]
async fn remove_membership_takes_what_the_connectors_organizations_gave_only() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-remove").await;
    let url = pulling(&app, &tenant, None).await;
    let ada = contact(&app, &tenant, &url, "contact-ada", "acct-1").await;
    // A membership the admin gave in an organization the connector knows nothing of.
    let (partner, _) = app.create_organization(&tenant, "Partner", "PARTNER").await;
    add_member(&app, &tenant, &partner, &ada.identity).await;

    deliver(&app, &url, deleted("contact", "contact-ada")).await;
    assert_eq!(
        memberships(&app, &tenant, &ada.identity).await,
        [partner.clone()]
    );
    assert!(invitations(&app, &tenant, &ada.org, true).await.is_empty());
    assert_eq!(
        invitations(&app, &tenant, &ada.org, false).await,
        [format!("{}=REVOKED", ada.email)]
    );
    assert_eq!(status(&app, &tenant, &ada.identity).await, "ACTIVE");
    app.stop().await;
}

#[tokio::test]
async fn suspend_identity_suspends_the_deleted_contact_only() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-suspend").await;
    let url = pulling(&app, &tenant, Some("SUSPEND_IDENTITY")).await;
    let ada = contact(&app, &tenant, &url, "contact-ada", "acct-1").await;
    let grace = contact(&app, &tenant, &url, "contact-grace", "acct-1").await;
    deliver(&app, &url, deleted("contact", "contact-ada")).await;
    assert_eq!(status(&app, &tenant, &ada.identity).await, "SUSPENDED");
    assert_eq!(
        memberships(&app, &tenant, &ada.identity).await,
        [ada.org.clone()]
    );
    assert_eq!(status(&app, &tenant, &grace.identity).await, "ACTIVE");
    assert_eq!(
        memberships(&app, &tenant, &grace.identity).await,
        [grace.org.clone()]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_company_takes_the_memberships_of_its_contacts_only() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-company").await;
    let url = pulling(&app, &tenant, None).await;
    let ada = contact(&app, &tenant, &url, "contact-ada", "acct-9").await;
    let grace = contact(&app, &tenant, &url, "contact-grace", "acct-9").await;
    assert_eq!(ada.org, grace.org, "one organization for the company");
    let org = ada.org.clone();
    // A member and an invitation the admin added, not linked to the connector.
    let carol = app.create_identity(&tenant, &unique_email()).await;
    add_member(&app, &tenant, &org, &carol).await;
    let dan = unique_email();
    let input = json!({ "organizationId": org, "email": dan });
    app.tenant(&tenant, INVITE, json!({ "input": input }))
        .await
        .data();
    assert_eq!(members(&app, &tenant, &org).await.len(), 3);

    deliver(&app, &url, deleted("company", "acct-9")).await;
    assert_eq!(members(&app, &tenant, &org).await, [carol.clone()]);
    assert_eq!(
        invitations(&app, &tenant, &org, true).await,
        [format!("{dan}=PENDING")]
    );
    for who in [&ada, &grace] {
        assert_eq!(status(&app, &tenant, &who.identity).await, "ACTIVE");
        assert!(memberships(&app, &tenant, &who.identity).await.is_empty());
    }
    app.stop().await;
}

#[tokio::test]
async fn a_deletion_sent_to_another_tenants_connector_changes_nothing_here() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-iso").await;
    let other = app.create_tenant("crm-del-iso-other").await;
    let ours = pulling(&app, &tenant, None).await;
    let theirs = pulling(&app, &other, None).await;
    let ada = contact(&app, &tenant, &ours, "contact-shared", "acct-shared").await;
    // Tenant B has records of the same ids, linked to its own identity and organization.
    let bob = contact(&app, &other, &theirs, "contact-shared", "acct-shared").await;

    for (kind, record) in [("contact", "contact-shared"), ("company", "acct-shared")] {
        deliver(&app, &theirs, deleted(kind, record)).await;
    }
    // B's deletion acted in B ...
    assert!(memberships(&app, &other, &bob.identity).await.is_empty());
    assert!(invitations(&app, &other, &bob.org, true).await.is_empty());
    // ... and nowhere else.
    assert_eq!(status(&app, &tenant, &ada.identity).await, "ACTIVE");
    assert_eq!(
        memberships(&app, &tenant, &ada.identity).await,
        [ada.org.clone()]
    );
    assert_eq!(
        members(&app, &tenant, &ada.org).await,
        [ada.identity.clone()]
    );
    assert_eq!(
        invitations(&app, &tenant, &ada.org, true).await,
        [format!("{}=PENDING", ada.email)]
    );

    // A's own links are intact: its connector's deletion still acts.
    deliver(&app, &ours, deleted("contact", "contact-shared")).await;
    assert!(memberships(&app, &tenant, &ada.identity).await.is_empty());
    app.stop().await;
}
