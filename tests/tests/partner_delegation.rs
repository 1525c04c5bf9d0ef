//! Partner delegation: a relationship gives a `PARTNER` organization's admins the roles it
//! names in a `CUSTOMER` organization, for a window. They manage that customer's members within
//! those roles and nothing else, see their customers in `viewer`, and their audit records name
//! them and the relationship; ending the relationship, or its end passing (an injectable
//! clock), ends the access at once. Relationships between organizations of one kind, across
//! tenants, or by anyone but a tenant admin are refused; another tenant sees none of it.

use chrono::{Duration, SecondsFormat};
use latchkey_core::clock::Clock;
use latchkey_tests::clock::ManualClock;
use latchkey_tests::passkey::SignedIn;
use latchkey_tests::{TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};
use std::sync::Arc;

const CREATE: &str = "mutation($input: CreateOrganizationRelationshipInput!) { createOrganizationRelationship(input: $input) { relationship { id partnerId customerId roles status validFrom validUntil } } }";
const END: &str = "mutation($id: ID!) { endOrganizationRelationship(input: { id: $id }) { relationship { id status validUntil } } }";
const ORGANIZATION: &str = "query($id: ID!) { organization(id: $id) { id name } }";
const MEMBERS: &str =
    "query($id: ID!) { organization(id: $id) { members { totalCount nodes { roles } } } }";
const UPDATE_MEMBER: &str = "mutation($input: UpdateOrganizationMemberInput!) { updateOrganizationMember(input: $input) { membership { roles } } }";
const REMOVE_MEMBER: &str = "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }";
const CUSTOMERS: &str =
    "{ viewer { customerOrganizations { organization { id name } roles relationships { id } } } }";

struct World {
    clock: Arc<ManualClock>,
    app: TestApp,
    tenant: TestTenant,
    partner: String,
    other_partner: String,
    customer: String,
    other_customer: String,
    partner_admin: SignedIn,
    partner_member: SignedIn,
    other_partner_admin: SignedIn,
    customer_member: SignedIn,
}

/// A new user of `tenant`, signed in, a member of `org` with `role`.
async fn member(app: &TestApp, tenant: &TestTenant, org: &str, role: &str) -> SignedIn {
    let user = app.sign_up(tenant, &unique_email()).await.2;
    app.add_organization_member(tenant, org, &user.identity_id, &[role])
        .await;
    user
}

impl World {
    async fn start(name: &str) -> Self {
        let clock = Arc::new(ManualClock::new());
        let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
        let tenant = app.create_tenant(name).await;
        // What partners get: reading the organization and managing its members.
        app.tenant(
            &tenant,
            "mutation { createOrganizationRole(input: { name: \"delegate\", permissions: [\"organization:read\", \"members:read\", \"members:write\"] }) { role { name } } }",
            json!({}),
        )
        .await
        .data();
        let (partner, _) = app
            .create_organization(&tenant, "Resellers", "PARTNER")
            .await;
        let (other_partner, _) = app.create_organization(&tenant, "Rivals", "PARTNER").await;
        let (customer, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
        let (other_customer, _) = app.create_organization(&tenant, "Globex", "CUSTOMER").await;
        let partner_admin = member(&app, &tenant, &partner, "org:admin").await;
        let partner_member = member(&app, &tenant, &partner, "org:member").await;
        let other_partner_admin = member(&app, &tenant, &other_partner, "org:admin").await;
        let customer_member = member(&app, &tenant, &customer, "org:member").await;
        Self {
            clock,
            app,
            tenant,
            partner,
            other_partner,
            customer,
            other_customer,
            partner_admin,
            partner_member,
            other_partner_admin,
            customer_member,
        }
    }

    fn in_seconds(&self, seconds: i64) -> String {
        (self.clock.now() + Duration::seconds(seconds))
            .to_rfc3339_opts(SecondsFormat::Micros, false)
    }

    async fn relate(&self, input: Value) -> Value {
        let response = self
            .app
            .tenant(&self.tenant, CREATE, json!({ "input": input }))
            .await;
        response.body.clone()
    }

    async fn as_user(&self, user: &SignedIn, query: &str, variables: Value) -> Value {
        let response = self
            .app
            .as_key(&self.tenant, &user.access_token, query, variables)
            .await;
        response.body.clone()
    }
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}

#[tokio::test]
async fn partner_admins_manage_their_customers_members_within_the_granted_roles() {
    let w = World::start("partners").await;
    // Before any relationship the customer does not exist for the partner's admin.
    let before = w
        .as_user(&w.partner_admin, ORGANIZATION, json!({ "id": w.customer }))
        .await;
    assert_eq!(code(&before), "NOT_FOUND");

    let created = w
        .relate(json!({ "partnerId": w.partner, "customerId": w.customer, "roles": ["delegate"] }))
        .await;
    let relationship = created["data"]["createOrganizationRelationship"]["relationship"].clone();
    assert_eq!(relationship["status"], "ACTIVE", "{created}");
    assert_eq!(relationship["roles"], json!(["delegate"]));
    let relationship_id = relationship["id"].as_str().unwrap().to_owned();

    // The partner's admin sees the customer in viewer and reads it and its members.
    let customers = w.as_user(&w.partner_admin, CUSTOMERS, json!({})).await;
    let listed = &customers["data"]["viewer"]["customerOrganizations"];
    assert_eq!(listed.as_array().unwrap().len(), 1, "{customers}");
    assert_eq!(listed[0]["organization"]["id"], w.customer.as_str());
    assert_eq!(listed[0]["roles"], json!(["delegate"]));
    assert_eq!(
        listed[0]["relationships"][0]["id"],
        relationship_id.as_str()
    );
    let members = w
        .as_user(&w.partner_admin, MEMBERS, json!({ "id": w.customer }))
        .await;
    assert!(members["errors"].is_null(), "{members}");
    assert_eq!(members["data"]["organization"]["members"]["totalCount"], 1);
    assert_eq!(
        members["data"]["organization"]["members"]["nodes"][0]["roles"],
        json!(["org:member"])
    );
    // A plain member of the partner, another partner's admin: nothing.
    for outsider in [&w.partner_member, &w.other_partner_admin] {
        let read = w
            .as_user(outsider, ORGANIZATION, json!({ "id": w.customer }))
            .await;
        assert_eq!(code(&read), "NOT_FOUND");
        let customers = w.as_user(outsider, CUSTOMERS, json!({})).await;
        assert_eq!(
            customers["data"]["viewer"]["customerOrganizations"],
            json!([])
        );
    }
    // Another customer of the tenant is out of reach.
    let read = w
        .as_user(
            &w.partner_admin,
            ORGANIZATION,
            json!({ "id": w.other_customer }),
        )
        .await;
    assert_eq!(code(&read), "NOT_FOUND");

    // Within the granted roles: giving a member `org:member` is fine; `org:admin` carries
    // `organization:write`, which `delegate` does not, and is refused.
    let member =
        json!({ "organizationId": w.customer, "identityId": w.customer_member.identity_id });
    let mut input = member.clone();
    input["roles"] = json!(["org:member", "delegate"]);
    let updated = w
        .as_user(&w.partner_admin, UPDATE_MEMBER, json!({ "input": input }))
        .await;
    assert!(updated["errors"].is_null(), "{updated}");
    input["roles"] = json!(["org:admin"]);
    let refused = w
        .as_user(&w.partner_admin, UPDATE_MEMBER, json!({ "input": input }))
        .await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
    // And nothing else: the organization itself is not theirs to change.
    let renamed = w
        .as_user(
            &w.partner_admin,
            "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { name } } }",
            json!({ "input": { "id": w.customer, "name": "Taken" } }),
        )
        .await;
    assert_eq!(code(&renamed), "FORBIDDEN", "{renamed}");

    // The audit log names the partner's admin and the relationship.
    let audit = w
        .app
        .tenant(
            &w.tenant,
            "{ auditEvents(first: 100, filter: { action: \"organization.member.update\" }) { nodes { actorType actorId data } } }",
            json!({}),
        )
        .await;
    let nodes = audit.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0]["actorId"], w.partner_admin.identity_id.as_str());
    assert_eq!(
        nodes[0]["data"]["delegation"]["relationshipIds"],
        json!([relationship_id])
    );
    assert_eq!(
        nodes[0]["data"]["delegation"]["partnerIds"],
        json!([w.partner])
    );

    // Ending the relationship ends the access at once.
    let ended = w
        .app
        .tenant(&w.tenant, END, json!({ "id": relationship_id }))
        .await;
    assert_eq!(
        ended.data()["endOrganizationRelationship"]["relationship"]["status"],
        "EXPIRED"
    );
    let read = w
        .as_user(&w.partner_admin, ORGANIZATION, json!({ "id": w.customer }))
        .await;
    assert_eq!(code(&read), "NOT_FOUND");
    let removed = w
        .as_user(&w.partner_admin, REMOVE_MEMBER, json!({ "input": member }))
        .await;
    assert_eq!(code(&removed), "NOT_FOUND");
    let customers = w.as_user(&w.partner_admin, CUSTOMERS, json!({})).await;
    assert_eq!(
        customers["data"]["viewer"]["customerOrganizations"],
        json!([])
    );
    w.app.stop().await;
}

#[tokio::test]
async fn a_relationship_gives_nothing_before_its_start_or_after_its_end() {
    let w = World::start("partners-window").await;
    let created = w
        .relate(json!({
            "partnerId": w.partner,
            "customerId": w.customer,
            "roles": ["delegate"],
            "validFrom": w.in_seconds(60),
            "validUntil": w.in_seconds(120),
        }))
        .await;
    assert_eq!(
        created["data"]["createOrganizationRelationship"]["relationship"]["status"], "PENDING",
        "{created}"
    );
    let read = w
        .as_user(&w.partner_admin, ORGANIZATION, json!({ "id": w.customer }))
        .await;
    assert_eq!(code(&read), "NOT_FOUND");
    w.clock.advance(61);
    let read = w
        .as_user(&w.partner_admin, ORGANIZATION, json!({ "id": w.customer }))
        .await;
    assert!(read["errors"].is_null(), "{read}");
    let member =
        json!({ "organizationId": w.customer, "identityId": w.customer_member.identity_id });
    w.clock.advance(60);
    // Its end has passed: no restart, no job; the next request is refused.
    let read = w
        .as_user(&w.partner_admin, ORGANIZATION, json!({ "id": w.customer }))
        .await;
    assert_eq!(code(&read), "NOT_FOUND");
    let removed = w
        .as_user(&w.partner_admin, REMOVE_MEMBER, json!({ "input": member }))
        .await;
    assert_eq!(code(&removed), "NOT_FOUND");
    let listed = w
        .app
        .tenant(
            &w.tenant,
            "query($id: ID!) { organizationRelationships(organizationId: $id) { status } }",
            json!({ "id": w.customer }),
        )
        .await;
    assert_eq!(
        listed.data()["organizationRelationships"],
        json!([{ "status": "EXPIRED" }])
    );
    w.app.stop().await;
}

#[tokio::test]
async fn bad_relationships_are_refused_and_other_tenants_see_nothing() {
    let w = World::start("partners-bad").await;
    let other = w.app.create_tenant("partners-bad-other").await;
    let (elsewhere, _) = w
        .app
        .create_organization(&other, "Elsewhere", "CUSTOMER")
        .await;
    let cases = [
        // Two customers, two partners, one organization with itself.
        (
            json!({ "partnerId": w.customer, "customerId": w.other_customer, "roles": ["delegate"] }),
            "partnerId",
        ),
        (
            json!({ "partnerId": w.partner, "customerId": w.other_partner, "roles": ["delegate"] }),
            "customerId",
        ),
        (
            json!({ "partnerId": w.partner, "customerId": w.partner, "roles": ["delegate"] }),
            "customerId",
        ),
        // Another tenant's organization is none of this tenant's.
        (
            json!({ "partnerId": w.partner, "customerId": elsewhere, "roles": ["delegate"] }),
            "customerId",
        ),
        (
            json!({ "partnerId": w.partner, "customerId": w.customer, "roles": ["org:owner"] }),
            "roles",
        ),
        (
            json!({ "partnerId": w.partner, "customerId": w.customer, "roles": [] }),
            "roles",
        ),
        (
            json!({ "partnerId": w.partner, "customerId": w.customer, "roles": ["delegate"], "validFrom": w.in_seconds(60), "validUntil": w.in_seconds(30) }),
            "validUntil",
        ),
    ];
    for (input, field) in cases {
        let refused = w.relate(input.clone()).await;
        assert_eq!(code(&refused), "BAD_USER_INPUT", "{input}: {refused}");
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], field,
            "{input}"
        );
    }
    // Only tenant admins relate organizations: the partner's own admin cannot.
    let by_admin = w
        .as_user(
            &w.partner_admin,
            CREATE,
            json!({ "input": { "partnerId": w.partner, "customerId": w.customer, "roles": ["delegate"] } }),
        )
        .await;
    assert_eq!(code(&by_admin), "FORBIDDEN");
    // Nothing was saved.
    let listed = w
        .app
        .tenant(
            &w.tenant,
            "query($id: ID!) { organizationRelationships(organizationId: $id) { id } }",
            json!({ "id": w.partner }),
        )
        .await;
    assert_eq!(listed.data()["organizationRelationships"], json!([]));

    // A relationship of this tenant is invisible and untouchable from another tenant.
    let created = w
        .relate(json!({ "partnerId": w.partner, "customerId": w.customer, "roles": ["delegate"] }))
        .await;
    let id = created["data"]["createOrganizationRelationship"]["relationship"]["id"].clone();
    let listed = w
        .app
        .tenant(
            &other,
            "query($id: ID!) { organizationRelationships(organizationId: $id) { id } }",
            json!({ "id": w.partner }),
        )
        .await;
    assert_eq!(listed.error_code(), "NOT_FOUND");
    let ended = w.app.tenant(&other, END, json!({ "id": id })).await;
    assert_eq!(ended.error_code(), "NOT_FOUND");
    // The customer's own members see the relationship; a stranger to both does not.
    let seen = w
        .as_user(
            &w.customer_member,
            "query($id: ID!) { organizationRelationships(organizationId: $id) { partnerId } }",
            json!({ "id": w.customer }),
        )
        .await;
    assert_eq!(
        seen["data"]["organizationRelationships"],
        json!([{ "partnerId": w.partner }])
    );
    let unseen = w
        .as_user(
            &w.other_partner_admin,
            "query($id: ID!) { organizationRelationships(organizationId: $id) { id } }",
            json!({ "id": w.customer }),
        )
        .await;
    assert_eq!(code(&unseen), "NOT_FOUND");
    // The partner's kind cannot change under a relationship that has not ended.
    let changed = w
        .app
        .tenant(
            &w.tenant,
            "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { kind } } }",
            json!({ "input": { "id": w.partner, "kind": "CUSTOMER" } }),
        )
        .await;
    assert_eq!(changed.error_code(), "CONFLICT");
    w.app.stop().await;
}
