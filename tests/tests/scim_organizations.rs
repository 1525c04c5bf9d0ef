//! SCIM with an organization's token (a business customer's own Entra ID or Okta): its Users
//! are the organization's members, created or linked only under its verified domains, with one
//! generic 409 for any other address; `active: false` suspends the membership (kept with its
//! roles, no organization sign-in), DELETE removes the membership and never the identity; its
//! Groups are the organization roles; another organization's members are 404 and cannot be
//! added anywhere.

use latchkey_tests::scim::Directory;
use latchkey_tests::{TestApp, TestTenant, unique};
use serde_json::{Value, json};

const SWITCH: &str = "mutation($input: SwitchOrganizationInput!) { switchOrganization(input: $input) { accessToken } }";
const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { members(first: 20) { nodes { roles identity { id email } } } } }";
const SUSPENDED: &str = "query($id: ID!) { organization(id: $id) { members(first: 20) { nodes { suspendedAt rolesInForce } } } }";
const IDENTITY: &str = "query($id: ID!) { identity(id: $id) { id email emailVerified status } }";
const BY_EMAIL: &str =
    "query($e: String) { identities(first: 5, filter: { email: $e }) { nodes { id } } }";

struct Customer {
    org: String,
    domain: String,
    token: String,
}

async fn customer(app: &TestApp, tenant: &TestTenant, name: &str) -> Customer {
    let (org, _) = app.create_organization(tenant, name, "CUSTOMER").await;
    let domain = format!("{}.example", unique("scim"));
    app.verified_domain(tenant, &org, &domain).await;
    let (_, token) = app.create_scim_token(tenant, Some(&org)).await;
    Customer { org, domain, token }
}

/// The organization's members as (identity id, roles).
async fn members(app: &TestApp, tenant: &TestTenant, org: &str) -> Vec<(String, Vec<String>)> {
    let answer = app.tenant(tenant, MEMBERS, json!({ "id": org })).await;
    answer.data()["organization"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let roles = m["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect();
            (m["identity"]["id"].as_str().unwrap().to_owned(), roles)
        })
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn an_organization_token_provisions_members_under_its_verified_domains_only() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("scim-org").await;
    let acme = customer(&app, &tenant, "Acme").await;
    let directory = Directory::new(&app, &tenant, &acme.token);

    // A new address under the domain: a verified identity, made a member.
    let ann = directory
        .create_user(
            &format!("ann@{}", acme.domain),
            json!({ "externalId": "e-ann" }),
        )
        .await;
    let identity = app.tenant(&tenant, IDENTITY, json!({ "id": ann })).await;
    assert_eq!(identity.data()["identity"]["emailVerified"], true);
    assert_eq!(
        members(&app, &tenant, &acme.org).await,
        [(ann.clone(), vec!["org:member".to_owned()])]
    );

    // An existing identity under the domain with a verified address, not yet a member:
    // linked, same identity.
    let bob_email = format!("bob@{}", acme.domain);
    let bob = app
        .tenant(
            &tenant,
            "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }",
            json!({ "input": { "email": bob_email, "emailVerified": true } }),
        )
        .await
        .data()["createIdentity"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let linked = directory.create_user(&bob_email, json!({})).await;
    assert_eq!(linked, bob);
    assert_eq!(
        app.tenant(&tenant, IDENTITY, json!({ "id": bob }))
            .await
            .data()["identity"]["emailVerified"],
        true
    );

    // Any other address creates nothing and gets the same generic 409, whether someone
    // outside the organization has it or nobody does.
    let outsider_email = format!("carl@{}.example", unique("elsewhere"));
    let outsider = app.create_identity(&tenant, &outsider_email).await;
    let nobody_email = format!("dan@{}.example", unique("elsewhere"));
    let mut details = Vec::new();
    for email in [&outsider_email, &nobody_email] {
        let refused = directory
            .post("/Users", json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email }))
            .await;
        refused.assert_error(409, Some("uniqueness"));
        let detail = refused.body["detail"].as_str().unwrap().to_owned();
        assert!(
            !detail.contains(&outsider) && !detail.contains(email.as_str()),
            "{detail}"
        );
        details.push(detail);
    }
    assert_eq!(details[0], details[1], "nothing tells the two apart");
    let none = app
        .tenant(&tenant, BY_EMAIL, json!({ "e": nobody_email }))
        .await;
    assert_eq!(none.data()["identities"]["nodes"], json!([]));

    // A member again is 409; the list is the members; a non-member is 404.
    directory
        .post(
            "/Users",
            json!({ "userName": format!("ann@{}", acme.domain) }),
        )
        .await
        .assert_error(409, Some("uniqueness"));
    let mut expected = vec![ann.clone(), bob.clone()];
    expected.sort();
    assert_eq!(ids(&directory.get("/Users").await.body), expected);
    directory
        .get(&format!("/Users/{outsider}"))
        .await
        .assert_error(404, None);
    let by_external = directory.filter("Users", "externalId eq \"e-ann\"").await;
    assert_eq!(ids(&by_external.body), std::slice::from_ref(&ann));

    // Changing the address: only to another free one under the domain.
    directory
        .patch(
            &format!("/Users/{ann}"),
            json!([{ "op": "replace", "path": "userName", "value": outsider_email }]),
        )
        .await
        .assert_error(409, Some("uniqueness"));
    let moved = directory
        .patch(&format!("/Users/{ann}"), json!([{ "op": "replace", "path": "userName", "value": format!("ann.lee@{}", acme.domain) }]))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["userName"], format!("ann.lee@{}", acme.domain));
}

#[tokio::test]
async fn deactivation_suspends_the_membership_and_delete_removes_only_the_membership() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("scim-org-active").await;
    let acme = customer(&app, &tenant, "Acme").await;
    let directory = Directory::new(&app, &tenant, &acme.token);
    let email = format!("eve@{}", acme.domain);
    let (mut device, credential, signed_in) = app.sign_up(&tenant, &email).await;
    let id = directory.create_user(&email, json!({})).await;
    assert_eq!(id, signed_in.identity_id);
    let switch = |token: String| {
        let app = &app;
        let tenant = &tenant;
        let org = acme.org.clone();
        async move {
            app.anonymous(
                tenant,
                Some(&token),
                SWITCH,
                json!({ "input": { "organizationId": org } }),
            )
            .await
        }
    };
    let first = switch(signed_in.access_token.clone()).await;
    assert!(first.data()["switchOrganization"]["accessToken"].is_string());

    let off = directory
        .patch(
            &format!("/Users/{id}"),
            json!([{ "op": "Replace", "path": "active", "value": "False" }]),
        )
        .await;
    assert_eq!(off.body["active"], false);
    // Kept, with its roles, and still readable; the identity itself is untouched.
    assert_eq!(
        members(&app, &tenant, &acme.org).await,
        [(id.clone(), vec!["org:member".to_owned()])]
    );
    assert_eq!(
        directory.get(&format!("/Users/{id}")).await.body["active"],
        false
    );
    assert_eq!(
        app.tenant(&tenant, IDENTITY, json!({ "id": id }))
            .await
            .data()["identity"]["status"],
        "ACTIVE"
    );
    let refused = switch(signed_in.access_token.clone()).await;
    assert!(refused.body.get("errors").is_some(), "{}", refused.body);
    let shown = app
        .tenant(&tenant, SUSPENDED, json!({ "id": acme.org }))
        .await;
    let member = &shown.data()["organization"]["members"]["nodes"][0];
    assert!(member["suspendedAt"].is_string(), "{member}");
    assert_eq!(member["rolesInForce"], json!([]));

    let on = directory
        .patch(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "value": { "active": true } }]),
        )
        .await;
    assert_eq!(on.body["active"], true);
    // The sessions scoped to the organization ended with the suspension; a new sign-in may
    // enter it again.
    let again = app
        .sign_in(&tenant, &mut device, Some(&email), &credential)
        .await;
    assert!(
        switch(again.access_token).await.data()["switchOrganization"]["accessToken"].is_string()
    );

    assert_eq!(directory.delete(&format!("/Users/{id}")).await.status, 204);
    assert!(members(&app, &tenant, &acme.org).await.is_empty());
    assert_eq!(
        app.tenant(&tenant, IDENTITY, json!({ "id": id }))
            .await
            .data()["identity"]["status"],
        "ACTIVE"
    );
    directory
        .get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn groups_of_an_organization_token_are_its_roles() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("scim-org-roles").await;
    let acme = customer(&app, &tenant, "Acme").await;
    let directory = Directory::new(&app, &tenant, &acme.token);
    let ann = directory
        .create_user(&format!("ann@{}", acme.domain), json!({}))
        .await;

    let groups = directory.get("/Groups").await.body;
    let names: Vec<&str> = groups["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    // Every member holds org:member: it is no group.
    assert!(
        names.contains(&"org:admin") && !names.contains(&"org:member"),
        "{names:?}"
    );

    let added = directory
        .patch(
            "/Groups/org:admin",
            json!([{ "op": "add", "path": "members", "value": [{ "value": ann }] }]),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let roles = &members(&app, &tenant, &acme.org).await[0].1;
    assert!(roles.contains(&"org:admin".to_owned()), "{roles:?}");

    // Entra pushing a group links the role of that name; an unknown name says what exists.
    let linked = directory
        .post(
            "/Groups",
            json!({ "displayName": "org:admin", "externalId": "grp-admins" }),
        )
        .await;
    assert_eq!(linked.status, 201, "{}", linked.body);
    assert_eq!(linked.body["externalId"], "grp-admins");
    directory
        .post("/Groups", json!({ "displayName": "org:admin" }))
        .await
        .assert_error(409, Some("uniqueness"));
    let unknown = directory
        .post("/Groups", json!({ "displayName": "Finance" }))
        .await;
    unknown.assert_error(400, Some("invalidValue"));
    assert!(
        unknown.body["detail"]
            .as_str()
            .unwrap()
            .contains("org:admin")
    );
    directory
        .patch(
            "/Groups/org:admin",
            json!([{ "op": "replace", "path": "displayName", "value": "admins" }]),
        )
        .await
        .assert_error(400, Some("mutability"));

    // DELETE takes the role from the members; the role stays a group.
    assert_eq!(directory.delete("/Groups/org:admin").await.status, 204);
    let roles = &members(&app, &tenant, &acme.org).await[0].1;
    assert_eq!(roles, &["org:member".to_owned()]);
    assert_eq!(directory.get("/Groups/org:admin").await.status, 200);
    directory
        .get("/Groups/no-such-role")
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn another_organization_s_members_are_out_of_reach() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("scim-org-iso").await;
    let acme = customer(&app, &tenant, "Acme").await;
    let globex = customer(&app, &tenant, "Globex").await;
    let in_acme = Directory::new(&app, &tenant, &acme.token);
    let in_globex = Directory::new(&app, &tenant, &globex.token);
    let gus = in_globex
        .create_user(&format!("gus@{}", globex.domain), json!({}))
        .await;

    in_acme
        .get(&format!("/Users/{gus}"))
        .await
        .assert_error(404, None);
    in_acme
        .patch(
            &format!("/Users/{gus}"),
            json!([{ "op": "replace", "path": "active", "value": false }]),
        )
        .await
        .assert_error(404, None);
    in_acme
        .put(
            &format!("/Users/{gus}"),
            json!({ "userName": format!("gus@{}", acme.domain) }),
        )
        .await
        .assert_error(404, None);
    in_acme
        .delete(&format!("/Users/{gus}"))
        .await
        .assert_error(404, None);
    assert_eq!(in_acme.get("/Users").await.body["totalResults"], 0);
    let found = in_acme
        .filter("Users", &format!("userName eq \"gus@{}\"", globex.domain))
        .await;
    assert_eq!(found.body["totalResults"], 0);
    in_acme
        .patch(
            "/Groups/org:admin",
            json!([{ "op": "add", "path": "members", "value": [{ "value": gus }] }]),
        )
        .await
        .assert_error(400, Some("invalidValue"));
    // Globex's address is not Acme's to provision.
    in_acme
        .post(
            "/Users",
            json!({ "userName": format!("gus@{}", globex.domain) }),
        )
        .await
        .assert_error(409, Some("uniqueness"));
    // Globex's member is as it was.
    assert_eq!(
        members(&app, &tenant, &globex.org).await,
        [(gus.clone(), vec!["org:member".to_owned()])]
    );
    assert_eq!(
        in_globex.get(&format!("/Users/{gus}")).await.body["active"],
        true
    );

    // Another tenant's token for an organization: 401 here.
    let other = app.create_tenant("scim-org-iso-b").await;
    let elsewhere = customer(&app, &other, "Initech").await;
    Directory::new(&app, &tenant, &elsewhere.token)
        .get("/Users")
        .await
        .assert_error(401, None);
    // An organization of another tenant cannot get a token here.
    let refused = app
        .tenant(
            &tenant,
            latchkey_tests::scim::CREATE_TOKEN,
            json!({ "input": { "name": "x", "organizationId": elsewhere.org } }),
        )
        .await;
    refused.assert_bad_input("organizationId");
}

#[tokio::test]
async fn a_directory_changes_only_what_its_organization_owns() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("scim-org-owned").await;
    let acme = customer(&app, &tenant, "Acme").await;
    let directory = Directory::new(&app, &tenant, &acme.token);

    // A guest: a member whose address is elsewhere (added by the tenant).
    let guest_email = format!("guest@{}.example", unique("partner"));
    let guest = app.create_identity(&tenant, &guest_email).await;
    app.add_organization_member(&tenant, &acme.org, &guest, &["org:member"])
        .await;
    directory
        .patch(&format!("/Users/{guest}"), json!([{ "op": "replace", "path": "userName", "value": format!("guest@{}", acme.domain) }]))
        .await
        .assert_error(400, Some("mutability"));
    // Its name is the directory's own view; the identity keeps its own.
    let renamed = directory
        .patch(
            &format!("/Users/{guest}"),
            json!([{ "op": "replace", "path": "displayName", "value": "IT Support" }]),
        )
        .await;
    assert_eq!(renamed.body["displayName"], "IT Support");
    let identity = app
        .tenant(
            &tenant,
            "query($id: ID!) { identity(id: $id) { email displayName } }",
            json!({ "id": guest }),
        )
        .await;
    assert_eq!(identity.data()["identity"]["email"], guest_email.as_str());
    assert_eq!(identity.data()["identity"]["displayName"], Value::Null);

    // An unverified account under the domain (anyone may have registered it) is not linked.
    let squatted = format!("ceo@{}", acme.domain);
    app.create_identity(&tenant, &squatted).await;
    directory
        .post("/Users", json!({ "userName": squatted }))
        .await
        .assert_error(409, Some("uniqueness"));

    // With auto-join, the verified address makes the member at once; provisioning still works.
    app.tenant(
        &tenant,
        "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }",
        json!({ "input": { "id": acme.org, "domainPolicy": "AUTO_JOIN" } }),
    )
    .await
    .data();
    let joined = directory
        .create_user(
            &format!("joe@{}", acme.domain),
            json!({ "externalId": "e-joe" }),
        )
        .await;
    assert!(
        members(&app, &tenant, &acme.org)
            .await
            .iter()
            .any(|(id, _)| id == &joined)
    );

    // A membership removed outside SCIM frees its externalId for the directory.
    app.tenant(
        &tenant,
        "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": acme.org, "identityId": joined } }),
    )
    .await
    .data();
    let again = directory
        .create_user(
            &format!("joe.b@{}", acme.domain),
            json!({ "externalId": "e-joe" }),
        )
        .await;
    assert_ne!(again, joined);
}

#[tokio::test]
async fn an_organization_directory_assigns_only_the_roles_it_may() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("scim-org-assign").await;
    for (name, permissions) in [
        ("billing", json!(["invoices:approve"])),
        ("helpdesk", json!(["members:read"])),
    ] {
        app.tenant(
            &tenant,
            "mutation($input: CreateOrganizationRoleInput!) { createOrganizationRole(input: $input) { role { name } } }",
            json!({ "input": { "name": name, "permissions": permissions } }),
        )
        .await
        .data();
    }
    let acme = customer(&app, &tenant, "Acme").await;
    let directory = Directory::new(&app, &tenant, &acme.token);
    let names = |groups: &Value| -> Vec<String> {
        let mut names: Vec<String> = groups["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    // By default, what the organization's own admins may hand out; never org:member.
    assert_eq!(
        names(&directory.get("/Groups").await.body),
        ["helpdesk", "org:admin"]
    );
    directory
        .get("/Groups/billing")
        .await
        .assert_error(404, None);
    directory
        .post("/Groups", json!({ "displayName": "billing" }))
        .await
        .assert_error(400, Some("invalidValue"));

    // A token listing roles assigns those.
    let created = app
        .tenant(
            &tenant,
            latchkey_tests::scim::CREATE_TOKEN,
            json!({ "input": { "name": "Acme billing", "organizationId": acme.org, "roles": ["billing"] } }),
        )
        .await;
    let token = created.data()["createScimToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let billing = Directory::new(&app, &tenant, &token);
    assert_eq!(names(&billing.get("/Groups").await.body), ["billing"]);
    let ann = billing
        .create_user(&format!("ann@{}", acme.domain), json!({}))
        .await;
    billing
        .patch(
            "/Groups/billing",
            json!([{ "op": "add", "path": "members", "value": [{ "value": ann }] }]),
        )
        .await;
    let held = &members(&app, &tenant, &acme.org).await[0].1;
    assert!(held.contains(&"billing".to_owned()), "{held:?}");
    // Taking the last assigned role leaves the member with org:member.
    billing
        .patch(
            "/Groups/billing",
            json!([{ "op": "remove", "path": format!("members[value eq \"{ann}\"]") }]),
        )
        .await;
    assert_eq!(
        members(&app, &tenant, &acme.org).await[0].1,
        ["org:member".to_owned()]
    );

    // Roles are for organizations' tokens, and must exist.
    for input in [
        json!({ "name": "x", "roles": ["billing"] }),
        json!({ "name": "x", "organizationId": acme.org, "roles": ["nope"] }),
    ] {
        app.tenant(
            &tenant,
            latchkey_tests::scim::CREATE_TOKEN,
            json!({ "input": input }),
        )
        .await
        .assert_bad_input("roles");
    }
}
