//! Records deleted in the CRM, told through a pulling connector's signed webhook
//! (`contact.deleted`, `company.deleted`): the connector's `onRemoteDelete` decides whether
//! only the link goes (`UNLINK`), the memberships and pending invitations its organizations
//! gave go too (`REMOVE_MEMBERSHIP`, the default), or the contact's identity is suspended
//! (`SUSPEND_IDENTITY`). What the connector did not give stays, bad settings name their field,
//! and a deletion sent to another tenant's connector changes nothing here.

use latchkey_tests::crm::signed;
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, unique, unique_email};
use serde_json::{Value, json};

const SECRET: &str = "whsec_deletions_0123456789";
const PUSH_URL: &str = "http://127.0.0.1:9/hook";
const CREATE: &str = "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id direction settings onRemoteDelete webhookUrl } } }";
const UPDATE: &str = "mutation($input: UpdateCrmConnectorInput!) { updateCrmConnector(input: $input) { connector { id settings onRemoteDelete } } }";
const CONNECTORS: &str = "{ crmConnectors(first: 20) { totalCount nodes { onRemoteDelete } } }";
const FIND: &str =
    "query($id: String) { identities(first: 10, filter: { email: $id }) { nodes { id } } }";
const STATUS: &str = "query($id: ID!) { identity(id: $id) { status } }";
const ACCESS: &str =
    "query($id: ID!) { identity(id: $id) { access(first: 50) { nodes { organization { id } } } } }";
const ORGANIZATIONS: &str = "{ organizations(first: 50) { nodes { id name } } }";
const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { members(first: 50) { nodes { identity { id } } } } }";
const PENDING: &str = "query($id: ID!) { organization(id: $id) { invitations(first: 50, pendingOnly: true) { nodes { email } } } }";
const INVITED: &str = "query($id: ID!) { organization(id: $id) { invitations(first: 50, pendingOnly: false) { nodes { status } } } }";
const ADD_MEMBER: &str = "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }";
const INVITE: &str = "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id } } }";

/// POSTs `event` to a connector's webhook, signed; checks that it was applied.
async fn deliver(app: &TestApp, url: &str, event: Value) {
    let (status, receipt) = signed(app, url, SECRET, &event).await;
    let applied = (status, &receipt["applied"]);
    assert_eq!(applied, (200, &json!(1)), "{event}: {receipt}");
}

fn event(event_type: &str, data: Value) -> Value {
    let now = chrono::Utc::now();
    json!({ "id": unique("evt"), "type": event_type, "occurredAt": now, "data": data })
}

/// `contact.deleted` or `company.deleted` of CRM record `record`.
fn deleted(kind: &str, record: &str) -> Value {
    event(&format!("{kind}.deleted"), json!({ "recordId": record }))
}

/// A WEBHOOK connector's input: `direction`, `settings`, and `more` (`onRemoteDelete`).
fn connector(direction: &str, settings: Value, more: Value) -> Value {
    let mut input = json!({ "name": unique("crm"), "kind": "WEBHOOK", "direction": direction, "settings": settings, "credentials": { "secret": SECRET } });
    let more = more.as_object().unwrap().clone();
    input.as_object_mut().unwrap().extend(more);
    input
}

/// Checks that a connector change was refused on `settings.onRemoteDelete`.
fn refused(response: &GraphqlResponse) {
    let extensions = &response.body["errors"][0]["extensions"];
    let seen = (extensions["code"].as_str(), extensions["field"].as_str());
    let expected = (Some("BAD_USER_INPUT"), Some("settings.onRemoteDelete"));
    assert_eq!(seen, expected, "{}", response.body);
}

/// What a CRM contact of a company left in the tenant: its identity and the company's
/// organization, where it has a pending invitation and the admin made it a member too.
struct Contact {
    email: String,
    identity: String,
    org: String,
}

/// A tenant's API, called with its admin key.
struct Admin<'a> {
    app: &'a TestApp,
    tenant: &'a TestTenant,
}

fn admin<'a>(app: &'a TestApp, tenant: &'a TestTenant) -> Admin<'a> {
    Admin { app, tenant }
}

impl Admin<'_> {
    async fn call(&self, query: &str, variables: Value) -> GraphqlResponse {
        self.app.tenant(self.tenant, query, variables).await
    }

    async fn create(&self, input: Value) -> GraphqlResponse {
        self.call(CREATE, json!({ "input": input })).await
    }

    async fn update(&self, input: Value) -> GraphqlResponse {
        self.call(UPDATE, json!({ "input": input })).await
    }

    /// A connector that pulls, with `onRemoteDelete` when given; answers its webhook URL.
    async fn pulling(&self, on_remote_delete: Option<&str>) -> String {
        let more = json!({ "onRemoteDelete": on_remote_delete });
        let created = self.create(connector("PULL", json!({}), more)).await;
        let created = &created.data()["createCrmConnector"]["connector"];
        let action = on_remote_delete.unwrap_or("REMOVE_MEMBERSHIP");
        assert_eq!(created["onRemoteDelete"], action);
        created["webhookUrl"].as_str().unwrap().to_owned()
    }

    /// The texts at `item` of each node of the list at `nodes` that `query` answers for `id`.
    async fn list(&self, query: &str, id: &str, nodes: &str, item: &str) -> Vec<String> {
        let response = self.call(query, json!({ "id": id })).await;
        let nodes = response.data().pointer(nodes).unwrap().clone();
        let text = |node: &Value| node.pointer(item).unwrap().as_str().unwrap().to_owned();
        nodes.as_array().unwrap().iter().map(text).collect()
    }

    /// The organizations an identity is a member of.
    async fn memberships(&self, identity: &str) -> Vec<String> {
        let nodes = "/identity/access/nodes";
        self.list(ACCESS, identity, nodes, "/organization/id").await
    }

    /// The identities that are members of an organization.
    async fn members(&self, org: &str) -> Vec<String> {
        let nodes = "/organization/members/nodes";
        self.list(MEMBERS, org, nodes, "/identity/id").await
    }

    /// Who has a pending invitation into an organization.
    async fn pending(&self, org: &str) -> Vec<String> {
        let nodes = "/organization/invitations/nodes";
        self.list(PENDING, org, nodes, "/email").await
    }

    /// The status of an identity, read through the API.
    async fn status(&self, identity: &str) -> String {
        let response = self.call(STATUS, json!({ "id": identity })).await;
        response.data()["identity"]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn add_member(&self, org: &str, identity: &str) {
        let input = json!({ "organizationId": org, "identityId": identity });
        let response = self.call(ADD_MEMBER, json!({ "input": input })).await;
        response.data();
    }

    /// Sends contact `record` of company `company` to the connector at `url`.
    async fn contact(&self, url: &str, record: &str, company: &str) -> Contact {
        let email = unique_email();
        let name = format!("Company {company}");
        let company = json!({ "recordId": company, "fields": { "name": name } });
        let data = json!({ "recordId": record, "fields": { "email": email }, "company": company });
        deliver(self.app, url, event("contact.upserted", data)).await;
        let found = self.list(FIND, &email, "/identities/nodes", "/id").await;
        let identity = found.first().expect("the contact's identity").clone();
        let response = self.call(ORGANIZATIONS, json!({})).await;
        let orgs = response.data()["organizations"]["nodes"].clone();
        let orgs = orgs.as_array().unwrap();
        let org = orgs.iter().find(|o| o["name"] == name.as_str());
        let org = org.expect("the company's organization")["id"].clone();
        let org = org.as_str().unwrap().to_owned();
        assert!(self.pending(&org).await.contains(&email));
        self.add_member(&org, &identity).await;
        assert!(self.memberships(&identity).await.contains(&org));
        Contact {
            email,
            identity,
            org,
        }
    }
}

#[tokio::test]
async fn remove_membership_is_the_default_and_bad_settings_name_the_field() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-settings").await;
    let admin = admin(&app, &tenant);
    let created = admin.create(connector("PULL", json!({}), json!({}))).await;
    let default = created.data()["createCrmConnector"]["connector"].clone();
    assert_eq!(default["direction"], "PULL");
    assert_eq!(default["onRemoteDelete"], "REMOVE_MEMBERSHIP");
    let input = connector("PULL", json!({}), json!({ "onRemoteDelete": "UNLINK" }));
    let created = admin.create(input).await;
    let unlink = &created.data()["createCrmConnector"]["connector"];
    assert_eq!(unlink["onRemoteDelete"], "UNLINK");
    assert_eq!(unlink["settings"]["onRemoteDelete"], "UNLINK");
    let settings = json!({ "onRemoteDelete": "SUSPEND_IDENTITY" });
    let created = admin.create(connector("PULL", settings, json!({}))).await;
    let suspend = &created.data()["createCrmConnector"]["connector"];
    assert_eq!(suspend["onRemoteDelete"], "SUSPEND_IDENTITY");
    let input = json!({ "id": default["id"], "onRemoteDelete": "UNLINK" });
    let updated = admin.update(input).await;
    let updated = &updated.data()["updateCrmConnector"]["connector"];
    assert_eq!(updated["onRemoteDelete"], "UNLINK");
    assert_eq!(updated["settings"]["onRemoteDelete"], "UNLINK");
    let push = connector("PUSH", json!({ "url": PUSH_URL }), json!({}));
    let created = admin.create(push).await;
    let push_only = created.data()["createCrmConnector"]["connector"].clone();
    assert_eq!(push_only["onRemoteDelete"], Value::Null, "push-only");

    let to_unlink = json!({ "onRemoteDelete": "UNLINK" });
    let hook = json!({ "url": PUSH_URL });
    let hook_and_unlink = json!({ "url": PUSH_URL, "onRemoteDelete": "UNLINK" });
    let refusals = [
        connector("PULL", json!({ "onRemoteDelete": "DELETE" }), json!({})),
        connector("PUSH", hook, to_unlink),
        connector("PUSH", hook_and_unlink, json!({})),
    ];
    for input in refusals {
        refused(&admin.create(input).await);
    }
    let bad = json!({ "id": default["id"], "settings": { "onRemoteDelete": "DELETE" } });
    refused(&admin.update(bad).await);
    let on_push = json!({ "id": push_only["id"], "onRemoteDelete": "REMOVE_MEMBERSHIP" });
    refused(&admin.update(on_push).await);
    // Nothing refused was saved.
    let listed = admin.call(CONNECTORS, json!({})).await;
    let listed = &listed.data()["crmConnectors"];
    assert_eq!(listed["totalCount"], 4);
    let action = |c: &Value| c["onRemoteDelete"].to_string();
    let actions: Vec<String> = listed["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(action)
        .collect();
    let expected = r#""UNLINK" "UNLINK" "SUSPEND_IDENTITY" null"#;
    assert_eq!(actions.join(" "), expected);
    app.stop().await;
}

#[tokio::test]
async fn unlink_leaves_the_identity_its_membership_and_its_invitation() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-unlink").await;
    let admin = admin(&app, &tenant);
    let url = admin.pulling(Some("UNLINK")).await;
    let ada = admin.contact(&url, "contact-ada", "acct-1").await;
    deliver(&app, &url, deleted("contact", "contact-ada")).await;
    assert_eq!(admin.status(&ada.identity).await, "ACTIVE");
    assert_eq!(
        admin.memberships(&ada.identity).await,
        std::slice::from_ref(&ada.org)
    );
    assert_eq!(
        admin.pending(&ada.org).await,
        std::slice::from_ref(&ada.email)
    );
    app.stop().await;
}

#[tokio::test]
async fn remove_membership_takes_only_what_the_connectors_organizations_gave() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-remove").await;
    let admin = admin(&app, &tenant);
    let url = admin.pulling(None).await;
    let ada = admin.contact(&url, "contact-ada", "acct-1").await;
    // A membership the admin gave in an organization the connector knows nothing of.
    let (partner, _) = app.create_organization(&tenant, "Partner", "PARTNER").await;
    admin.add_member(&partner, &ada.identity).await;
    assert_eq!(admin.memberships(&ada.identity).await.len(), 2);

    deliver(&app, &url, deleted("contact", "contact-ada")).await;
    assert_eq!(
        admin.memberships(&ada.identity).await,
        std::slice::from_ref(&partner)
    );
    assert!(admin.pending(&ada.org).await.is_empty());
    let nodes = "/organization/invitations/nodes";
    let invited = admin.list(INVITED, &ada.org, nodes, "/status").await;
    assert_eq!(invited, ["REVOKED"]);
    assert_eq!(admin.status(&ada.identity).await, "ACTIVE");
    app.stop().await;
}

#[tokio::test]
async fn suspend_identity_suspends_the_deleted_contact_only() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-suspend").await;
    let admin = admin(&app, &tenant);
    let url = admin.pulling(Some("SUSPEND_IDENTITY")).await;
    let ada = admin.contact(&url, "contact-ada", "acct-1").await;
    let grace = admin.contact(&url, "contact-grace", "acct-1").await;
    deliver(&app, &url, deleted("contact", "contact-ada")).await;
    assert_eq!(admin.status(&ada.identity).await, "SUSPENDED");
    assert_eq!(
        admin.memberships(&ada.identity).await,
        std::slice::from_ref(&ada.org)
    );
    assert_eq!(admin.status(&grace.identity).await, "ACTIVE");
    let mut members = admin.members(&ada.org).await;
    members.sort();
    let mut expected = [ada.identity.clone(), grace.identity.clone()];
    expected.sort();
    assert_eq!(members, expected);
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_company_takes_the_memberships_of_its_contacts_only() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-company").await;
    let admin = admin(&app, &tenant);
    let url = admin.pulling(None).await;
    let ada = admin.contact(&url, "contact-ada", "acct-9").await;
    let grace = admin.contact(&url, "contact-grace", "acct-9").await;
    assert_eq!(ada.org, grace.org, "one organization for the company");
    let org = ada.org.clone();
    // A member and an invitation the admin added, not linked to the connector.
    let carol = app.create_identity(&tenant, &unique_email()).await;
    admin.add_member(&org, &carol).await;
    let dan = unique_email();
    let input = json!({ "organizationId": org, "email": dan });
    admin.call(INVITE, json!({ "input": input })).await.data();
    assert_eq!(admin.members(&org).await.len(), 3);

    deliver(&app, &url, deleted("company", "acct-9")).await;
    assert_eq!(admin.members(&org).await, std::slice::from_ref(&carol));
    assert_eq!(admin.pending(&org).await, std::slice::from_ref(&dan));
    for contact in [&ada, &grace] {
        assert_eq!(admin.status(&contact.identity).await, "ACTIVE");
        assert!(admin.memberships(&contact.identity).await.is_empty());
    }
    app.stop().await;
}

#[tokio::test]
async fn a_deletion_sent_to_another_tenants_connector_changes_nothing_here() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-del-iso").await;
    let other = app.create_tenant("crm-del-iso-other").await;
    let (a, b) = (admin(&app, &tenant), admin(&app, &other));
    let ours = a.pulling(None).await;
    let theirs = b.pulling(None).await;
    let ada = a.contact(&ours, "contact-shared", "acct-shared").await;
    // Tenant B has records of the same ids, linked to its own identity and organization.
    let bob = b.contact(&theirs, "contact-shared", "acct-shared").await;

    for (kind, record) in [("contact", "contact-shared"), ("company", "acct-shared")] {
        deliver(&app, &theirs, deleted(kind, record)).await;
    }
    // B's deletions acted in B ...
    assert!(b.memberships(&bob.identity).await.is_empty());
    assert!(b.pending(&bob.org).await.is_empty());
    // ... and nowhere else.
    assert_eq!(a.status(&ada.identity).await, "ACTIVE");
    assert_eq!(
        a.memberships(&ada.identity).await,
        std::slice::from_ref(&ada.org)
    );
    assert_eq!(
        a.members(&ada.org).await,
        std::slice::from_ref(&ada.identity)
    );
    assert_eq!(a.pending(&ada.org).await, std::slice::from_ref(&ada.email));

    // A's own links are intact: its connector's deletion still acts.
    deliver(&app, &ours, deleted("contact", "contact-shared")).await;
    assert!(a.memberships(&ada.identity).await.is_empty());
    assert!(a.pending(&ada.org).await.is_empty());
    app.stop().await;
}
