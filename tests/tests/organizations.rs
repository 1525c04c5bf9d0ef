//! Organizations over the tenant API: create, update, list with search and kind, delete;
//! members with roles and both paged lists; organization roles; delegated administration by
//! an identity holding `org:admin`; removal revoking the member's organization sessions; audit
//! events; and isolation between organizations and between tenants.

use latchkey_tests::{TestApp, TestTenant, unique_email};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id slug kind name metadata externalId } } }";
const ADD: &str = "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id roles organization { slug } identity { email } } } }";
const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { members(first: 10) { totalCount nodes { roles identity { id email } } } } }";

async fn create_org(app: &TestApp, tenant: &TestTenant, kind: &str) -> (String, String) {
    app.create_organization(tenant, "Org", kind).await
}

async fn add_member(
    app: &TestApp,
    tenant: &TestTenant,
    token: &str,
    org: &str,
    identity: &str,
    roles: &[&str],
) -> Value {
    app.as_key(
        tenant,
        token,
        ADD,
        json!({ "input": { "organizationId": org, "identityId": identity, "roles": roles } }),
    )
    .await
    .body
}

#[tokio::test]
async fn organizations_are_created_listed_searched_updated_and_deleted() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("orgs").await;
    let response = app
        .tenant(
            &tenant,
            CREATE,
            json!({ "input": { "name": "Acme Corp", "slug": "acme", "kind": "CUSTOMER", "metadata": { "tier": "gold" }, "externalId": "crm-001" } }),
        )
        .await;
    let acme = &response.data()["createOrganization"]["organization"];
    assert_eq!(acme["slug"], "acme");
    assert_eq!(acme["kind"], "CUSTOMER");
    assert_eq!(acme["metadata"]["tier"], "gold");
    let acme_id = acme["id"].as_str().unwrap().to_owned();
    let (_partner, _) = create_org(&app, &tenant, "PARTNER").await;

    // Slugs are unique per tenant; bad input names its field.
    let again = app
        .tenant(
            &tenant,
            CREATE,
            json!({ "input": { "name": "Acme 2", "slug": "acme" } }),
        )
        .await;
    assert_eq!(again.error_code(), "CONFLICT");
    for (input, field) in [
        (json!({ "name": "x", "slug": "Not A Slug" }), "slug"),
        (json!({ "name": "", "slug": "fine-slug" }), "name"),
        (
            json!({ "name": "x", "slug": "fine-slug", "metadata": [1, 2] }),
            "metadata",
        ),
    ] {
        let refused = app.tenant(&tenant, CREATE, json!({ "input": input })).await;
        assert_eq!(refused.error_code(), "BAD_USER_INPUT");
        assert_eq!(refused.body["errors"][0]["extensions"]["field"], field);
    }
    // The same slug in another tenant is fine.
    let other = app.create_tenant("orgs-other").await;
    app.tenant(
        &other,
        CREATE,
        json!({ "input": { "name": "Acme", "slug": "acme" } }),
    )
    .await
    .data();

    let list = |filter: Value| {
        let app = &app;
        let tenant = &tenant;
        async move {
            app.tenant(
                tenant,
                "query($filter: OrganizationFilter) { organizations(first: 10, filter: $filter) { totalCount nodes { slug kind } } }",
                json!({ "filter": filter }),
            )
            .await
            .data()["organizations"]
                .clone()
        }
    };
    assert_eq!(list(json!(null)).await["totalCount"], 2);
    assert_eq!(list(json!({ "kind": "PARTNER" })).await["totalCount"], 1);
    let found = list(json!({ "search": "ACME" })).await;
    assert_eq!(found["totalCount"], 1);
    assert_eq!(found["nodes"][0]["slug"], "acme");

    let updated = app
        .tenant(
            &tenant,
            "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { name kind externalId } } }",
            json!({ "input": { "id": acme_id, "name": "Acme Inc", "kind": "PARTNER", "externalId": "" } }),
        )
        .await;
    let org = &updated.data()["updateOrganization"]["organization"];
    assert_eq!(
        (org["name"].as_str(), org["kind"].as_str()),
        (Some("Acme Inc"), Some("PARTNER"))
    );
    assert_eq!(org["externalId"], Value::Null);

    let deleted = app
        .tenant(
            &tenant,
            "mutation($id: ID!) { deleteOrganization(input: { id: $id }) { organization { slug } } }",
            json!({ "id": acme_id }),
        )
        .await;
    assert_eq!(
        deleted.data()["deleteOrganization"]["organization"]["slug"],
        "acme"
    );
    let gone = app
        .tenant(
            &tenant,
            "query($id: ID!) { organization(id: $id) { id } }",
            json!({ "id": acme_id }),
        )
        .await;
    assert_eq!(gone.error_code(), "NOT_FOUND");

    let audit = app
        .tenant(
            &tenant,
            "{ auditEvents(first: 50) { nodes { action } } }",
            json!({}),
        )
        .await;
    let actions = audit.data()["auditEvents"]["nodes"].to_string();
    for action in [
        "organization.create",
        "organization.update",
        "organization.delete",
    ] {
        assert!(actions.contains(action), "{action} missing from {actions}");
    }
}

#[tokio::test]
async fn members_roles_and_both_paged_lists() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("members").await;
    let (org, slug) = create_org(&app, &tenant, "CUSTOMER").await;
    let (org2, _) = create_org(&app, &tenant, "PARTNER").await;
    let ada = app.create_identity(&tenant, &unique_email()).await;
    let bob = app.create_identity(&tenant, &unique_email()).await;

    let added = add_member(&app, &tenant, &tenant.api_key, &org, &ada, &["org:admin"]).await;
    assert_eq!(
        added["data"]["addOrganizationMember"]["membership"]["roles"],
        json!(["org:admin"])
    );
    assert_eq!(
        added["data"]["addOrganizationMember"]["membership"]["organization"]["slug"],
        slug.as_str()
    );
    let default_roles = app
        .tenant(
            &tenant,
            "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { roles } } }",
            json!({ "input": { "organizationId": org, "identityId": bob } }),
        )
        .await;
    assert_eq!(
        default_roles.data()["addOrganizationMember"]["membership"]["roles"],
        json!(["org:member"])
    );
    add_member(&app, &tenant, &tenant.api_key, &org2, &ada, &["org:member"]).await;

    // Twice is a conflict; unknown roles and identities are refused.
    assert_eq!(
        add_member(&app, &tenant, &tenant.api_key, &org, &ada, &["org:member"]).await["errors"][0]
            ["extensions"]["code"],
        "CONFLICT"
    );
    assert_eq!(
        add_member(&app, &tenant, &tenant.api_key, &org2, &bob, &["owner"]).await["errors"][0]["extensions"]
            ["field"],
        "roles"
    );
    let nobody = uuid_like();
    assert_eq!(
        add_member(
            &app,
            &tenant,
            &tenant.api_key,
            &org2,
            &nobody,
            &["org:member"]
        )
        .await["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );

    // Custom roles.
    let role = app
        .tenant(
            &tenant,
            "mutation { createOrganizationRole(input: { name: \"billing_admin\", description: \"Pays\", permissions: [\"invoices:read\"] }) { role { id name builtIn permissions } } }",
            json!({}),
        )
        .await;
    let role_id = role.data()["createOrganizationRole"]["role"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let roles = app
        .tenant(&tenant, "{ organizationRoles { name builtIn } }", json!({}))
        .await;
    assert_eq!(
        roles.data()["organizationRoles"],
        json!([{ "name": "org:admin", "builtIn": true }, { "name": "org:member", "builtIn": true }, { "name": "billing_admin", "builtIn": false }])
    );
    let reserved = app
        .tenant(
            &tenant,
            "mutation { createOrganizationRole(input: { name: \"org:owner\" }) { role { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(reserved.error_code(), "BAD_USER_INPUT");
    let changed = app
        .tenant(
            &tenant,
            "mutation($input: UpdateOrganizationMemberInput!) { updateOrganizationMember(input: $input) { membership { roles } } }",
            json!({ "input": { "organizationId": org, "identityId": bob, "roles": ["billing_admin", "org:member"] } }),
        )
        .await;
    assert_eq!(
        changed.data()["updateOrganizationMember"]["membership"]["roles"],
        json!(["billing_admin", "org:member"])
    );
    let in_use = app
        .tenant(
            &tenant,
            "mutation($id: ID!) { deleteOrganizationRole(input: { id: $id }) { role { name } } }",
            json!({ "id": role_id }),
        )
        .await;
    assert_eq!(in_use.error_code(), "CONFLICT");

    // Organization.members and Identity.organizations are Relay connections.
    let members = app.tenant(&tenant, MEMBERS, json!({ "id": org })).await;
    assert_eq!(members.data()["organization"]["members"]["totalCount"], 2);
    let page = app
        .tenant(
            &tenant,
            "query($id: ID!) { identity(id: $id) { organizations(first: 1) { totalCount pageInfo { hasNextPage endCursor } nodes { roles organization { id } } } } }",
            json!({ "id": ada }),
        )
        .await;
    let orgs = &page.data()["identity"]["organizations"];
    assert_eq!(orgs["totalCount"], 2);
    assert_eq!(orgs["pageInfo"]["hasNextPage"], true);
    assert_eq!(orgs["nodes"][0]["organization"]["id"], org.as_str());

    let removed = app
        .tenant(
            &tenant,
            "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { identity { id } } } }",
            json!({ "input": { "organizationId": org, "identityId": bob } }),
        )
        .await;
    assert_eq!(
        removed.data()["removeOrganizationMember"]["membership"]["identity"]["id"],
        bob.as_str()
    );
    let members = app.tenant(&tenant, MEMBERS, json!({ "id": org })).await;
    assert_eq!(members.data()["organization"]["members"]["totalCount"], 1);
    app.tenant(
        &tenant,
        "mutation($id: ID!) { deleteOrganizationRole(input: { id: $id }) { role { name } } }",
        json!({ "id": role_id }),
    )
    .await
    .data();

    let audit = app
        .tenant(
            &tenant,
            "{ auditEvents(first: 50) { nodes { action } } }",
            json!({}),
        )
        .await;
    let actions = audit.data()["auditEvents"]["nodes"].to_string();
    for action in [
        "organization.member.add",
        "organization.member.update",
        "organization.member.remove",
        "organization_role.create",
        "organization_role.delete",
    ] {
        assert!(actions.contains(action), "{action} missing from {actions}");
    }
}

fn uuid_like() -> String {
    "01900000-0000-7000-8000-000000000000".into()
}

#[tokio::test]
async fn an_org_admin_manages_their_organization_and_nothing_else() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("delegated").await;
    let (x, _) = create_org(&app, &tenant, "CUSTOMER").await;
    let (y, _) = create_org(&app, &tenant, "CUSTOMER").await;
    let admin_email = unique_email();
    let (_device, _, admin) = app.sign_up(&tenant, &admin_email).await;
    let token = admin.access_token.clone();
    add_member(
        &app,
        &tenant,
        &tenant.api_key,
        &x,
        &admin.identity_id,
        &["org:admin"],
    )
    .await;
    let carol = app.create_identity(&tenant, &unique_email()).await;
    let dave = app.create_identity(&tenant, &unique_email()).await;
    add_member(&app, &tenant, &tenant.api_key, &y, &dave, &["org:member"]).await;

    // In X: read, change, remove members with the identity's own access token. Adding an
    // identity directly is for tenant admins (members invite people instead).
    let pulled = add_member(&app, &tenant, &token, &x, &carol, &["org:member"]).await;
    assert_eq!(
        pulled["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{pulled}"
    );
    add_member(&app, &tenant, &tenant.api_key, &x, &carol, &["org:member"]).await;
    let members = app
        .as_key(&tenant, &token, MEMBERS, json!({ "id": x }))
        .await;
    assert_eq!(members.data()["organization"]["members"]["totalCount"], 2);
    let changed = app
        .as_key(
            &tenant,
            &token,
            "mutation($input: UpdateOrganizationMemberInput!) { updateOrganizationMember(input: $input) { membership { roles } } }",
            json!({ "input": { "organizationId": x, "identityId": carol, "roles": ["org:admin"] } }),
        )
        .await;
    assert_eq!(
        changed.data()["updateOrganizationMember"]["membership"]["roles"],
        json!(["org:admin"])
    );
    // The name is theirs to change; the kind and the external id (the CRM link) are not.
    let renamed = app
        .as_key(
            &tenant,
            &token,
            "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { name } } }",
            json!({ "input": { "id": x, "name": "Renamed by its admin" } }),
        )
        .await;
    assert_eq!(
        renamed.data()["updateOrganization"]["organization"]["name"],
        "Renamed by its admin"
    );
    for change in [
        json!({ "kind": "PARTNER" }),
        json!({ "externalId": "crm-9" }),
    ] {
        let mut input = json!({ "id": x });
        input
            .as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        let refused = app
            .as_key(
                &tenant,
                &token,
                "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }",
                json!({ "input": input }),
            )
            .await;
        assert_eq!(refused.error_code(), "FORBIDDEN", "{change}");
    }
    let viewer_orgs = app
        .as_key(&tenant, &token, "{ viewer { identity { organizations { totalCount nodes { roles organization { id } } } } } }", json!({}))
        .await;
    assert_eq!(
        viewer_orgs.data()["viewer"]["identity"]["organizations"]["totalCount"],
        1
    );

    // Y, as if it did not exist: NOT_FOUND for everything.
    for (query, variables) in [
        (
            "query($id: ID!) { organization(id: $id) { id } }",
            json!({ "id": y }),
        ),
        (MEMBERS, json!({ "id": y })),
        (
            ADD,
            json!({ "input": { "organizationId": y, "identityId": carol, "roles": ["org:member"] } }),
        ),
        (
            "mutation($input: UpdateOrganizationMemberInput!) { updateOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": y, "identityId": dave, "roles": ["org:admin"] } }),
        ),
        (
            "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": y, "identityId": dave } }),
        ),
        (
            "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }",
            json!({ "input": { "id": y, "name": "taken over" } }),
        ),
    ] {
        let response = app.as_key(&tenant, &token, query, variables).await;
        assert_eq!(response.error_code(), "NOT_FOUND", "{query}");
    }
    // Nor tenant-wide administration.
    for query in [
        "{ organizations { totalCount } }",
        "{ identities { totalCount } }",
        "mutation { createOrganization(input: { name: \"n\", slug: \"sneaky\" }) { organization { id } } }",
        "mutation { createOrganizationRole(input: { name: \"sneaky\" }) { role { name } } }",
    ] {
        let response = app.as_key(&tenant, &token, query, json!({})).await;
        assert!(
            matches!(response.error_code(), "FORBIDDEN" | "UNAUTHENTICATED"),
            "{query}: {}",
            response.body
        );
    }
    let still = app.tenant(&tenant, MEMBERS, json!({ "id": y })).await;
    assert_eq!(still.data()["organization"]["members"]["totalCount"], 1);

    // A plain member (org:member) reads but cannot manage.
    let (_d, _, member) = app.sign_up(&tenant, &unique_email()).await;
    add_member(
        &app,
        &tenant,
        &tenant.api_key,
        &x,
        &member.identity_id,
        &["org:member"],
    )
    .await;
    let reads = app
        .as_key(&tenant, &member.access_token, MEMBERS, json!({ "id": x }))
        .await;
    assert_eq!(reads.data()["organization"]["members"]["totalCount"], 3);
    let refused = add_member(
        &app,
        &tenant,
        &member.access_token,
        &x,
        &dave,
        &["org:member"],
    )
    .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // …but may leave.
    let left = app
        .as_key(
            &tenant,
            &member.access_token,
            "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": x, "identityId": member.identity_id } }),
        )
        .await;
    assert!(left.body.get("errors").is_none(), "{}", left.body);
}

#[tokio::test]
async fn organizations_do_not_cross_tenants() {
    let app = TestApp::start().await;
    let a = app.create_tenant("org-a").await;
    let b = app.create_tenant("org-b").await;
    let (a_org, _) = create_org(&app, &a, "CUSTOMER").await;
    let a_identity = app.create_identity(&a, &unique_email()).await;
    let b_identity = app.create_identity(&b, &unique_email()).await;
    let (b_org, _) = create_org(&app, &b, "CUSTOMER").await;
    add_member(&app, &a, &a.api_key, &a_org, &a_identity, &["org:admin"]).await;

    // B's admin: A's organization and A's identity are unknown.
    for (query, variables) in [
        (
            "query($id: ID!) { organization(id: $id) { id } }",
            json!({ "id": a_org }),
        ),
        (MEMBERS, json!({ "id": a_org })),
        (
            ADD,
            json!({ "input": { "organizationId": a_org, "identityId": b_identity, "roles": ["org:member"] } }),
        ),
        (
            ADD,
            json!({ "input": { "organizationId": b_org, "identityId": a_identity, "roles": ["org:member"] } }),
        ),
        (
            "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }",
            json!({ "input": { "id": a_org, "name": "x" } }),
        ),
        (
            "mutation($id: ID!) { deleteOrganization(input: { id: $id }) { organization { id } } }",
            json!({ "id": a_org }),
        ),
        (
            "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": a_org, "identityId": a_identity } }),
        ),
    ] {
        let response = app.tenant(&b, query, variables).await;
        assert_eq!(response.error_code(), "NOT_FOUND", "{query}");
    }
    let listed = app
        .tenant(&b, "{ organizations { nodes { id } } }", json!({}))
        .await;
    assert!(!listed.body.to_string().contains(&a_org));
    // A's key at B's endpoint is refused outright.
    let response = app
        .as_key(
            &b,
            &a.api_key,
            "{ organizations { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(response.error_code(), "UNAUTHENTICATED");
    // A is intact.
    let members = app.tenant(&a, MEMBERS, json!({ "id": a_org })).await;
    assert_eq!(members.data()["organization"]["members"]["totalCount"], 1);
}

#[tokio::test]
async fn members_grant_only_what_they_hold_and_never_to_themselves() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("no-escalation").await;
    let (x, _) = create_org(&app, &tenant, "CUSTOMER").await;
    app.tenant(
        &tenant,
        "mutation { createOrganizationRole(input: { name: \"team-lead\", permissions: [\"organization:read\", \"members:read\", \"members:write\"] }) { role { id } } }",
        json!({}),
    )
    .await
    .data();
    let (_d, _, lead) = app.sign_up(&tenant, &unique_email()).await;
    add_member(
        &app,
        &tenant,
        &tenant.api_key,
        &x,
        &lead.identity_id,
        &["team-lead"],
    )
    .await;
    let colleague = app.create_identity(&tenant, &unique_email()).await;
    add_member(
        &app,
        &tenant,
        &tenant.api_key,
        &x,
        &colleague,
        &["org:member"],
    )
    .await;
    let update = "mutation($input: UpdateOrganizationMemberInput!) { updateOrganizationMember(input: $input) { membership { roles } } }";

    // Not to themselves, not a role with permissions they lack (org:admin has organization:write).
    for (identity, roles) in [
        (&lead.identity_id, json!(["org:admin"])),
        (&colleague, json!(["org:admin"])),
    ] {
        let refused = app
            .as_key(
                &tenant,
                &lead.access_token,
                update,
                json!({ "input": { "organizationId": x, "identityId": identity, "roles": roles } }),
            )
            .await;
        assert_eq!(refused.error_code(), "FORBIDDEN", "{identity}");
    }
    let invite = app
        .as_key(
            &tenant,
            &lead.access_token,
            "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id } } }",
            json!({ "input": { "organizationId": x, "email": unique_email(), "roles": ["org:admin"] } }),
        )
        .await;
    assert_eq!(invite.error_code(), "FORBIDDEN");
    // Within their own permissions it works.
    let granted = app
        .as_key(&tenant, &lead.access_token, update, json!({ "input": { "organizationId": x, "identityId": colleague, "roles": ["team-lead"] } }))
        .await;
    assert_eq!(
        granted.data()["updateOrganizationMember"]["membership"]["roles"],
        json!(["team-lead"])
    );
    // An admin's membership is beyond them: they cannot remove it either.
    let (_d2, _, admin) = app.sign_up(&tenant, &unique_email()).await;
    add_member(
        &app,
        &tenant,
        &tenant.api_key,
        &x,
        &admin.identity_id,
        &["org:admin"],
    )
    .await;
    let removal = app
        .as_key(
            &tenant,
            &lead.access_token,
            "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": x, "identityId": admin.identity_id } }),
        )
        .await;
    assert_eq!(removal.error_code(), "FORBIDDEN");
}
