//! The tenant API loads nested lists with DataLoaders: listing organizations with their
//! members and each member's passkey count, or with their invitations, join requests and
//! domains, takes the same number of SQL statements for a few organizations as for many
//! (counted by the server's own statement counter at `/metrics`); and a batch answers each
//! organization as its own query would, refusals included.

use latchkey_tests::{TestApp, TestTenant, test_settings, unique, unique_email};
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
    // and more; batched, a handful whatever the number (9 to 12 on SQLite, 12 to 14 on
    // PostgreSQL; each batch cut short by the loaders' timer on a loaded machine adds another
    // handful: 16, 21 and 23 were seen on PostgreSQL).
    for (organizations, statements) in [(10, ten_statements), (100, hundred_statements)] {
        assert!(
            statements <= 30.0,
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

const ADD_MEMBER: &str = "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }";

async fn add_member(app: &TestApp, tenant: &TestTenant, org: &str, identity: &str, role: &str) {
    app.tenant(
        tenant,
        ADD_MEMBER,
        json!({ "input": { "organizationId": org, "identityId": identity, "roles": [role] } }),
    )
    .await
    .data();
}

/// Claims a new domain for `org`, verifies it by hand and sets the policy `REQUEST_TO_JOIN`;
/// answers the domain.
async fn requests_to_join(app: &TestApp, tenant: &TestTenant, org: &str) -> String {
    let domain = format!("{}.example", unique("corp"));
    app.verified_domain(tenant, org, &domain).await;
    app.tenant(
        tenant,
        "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }",
        json!({ "input": { "id": org, "domainPolicy": "REQUEST_TO_JOIN" } }),
    )
    .await
    .data();
    domain
}

/// Creates an identity with the verified address `email`: at a domain of an organization
/// whose policy is `REQUEST_TO_JOIN`, it files a join request.
async fn sign_up_at(app: &TestApp, tenant: &TestTenant, email: &str) {
    app.tenant(
        tenant,
        "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }",
        json!({ "input": { "email": email, "emailVerified": true } }),
    )
    .await
    .data();
}

/// Invites `email` into `org` (tenant owner key); answers the invitation's id.
async fn invite(app: &TestApp, tenant: &TestTenant, org: &str, email: &str) -> String {
    let invited = app
        .tenant(
            tenant,
            "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id } } }",
            json!({ "input": { "organizationId": org, "email": email, "roles": ["org:member"] } }),
        )
        .await;
    invited.data()["inviteOrganizationMember"]["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every organization's invitations, join requests and domains: the first page of each with
/// its filters (pending invitations, pending or declined requests) and the whole lists'
/// totals.
const LISTS: &str = "query($first: Int!) { organizations(first: $first) { nodes { id
    invitations(first: 1) { totalCount pageInfo { hasNextPage } nodes { email status } }
    everyInvitation: invitations(first: 5, pendingOnly: false) { totalCount }
    joinRequests(first: 1, status: PENDING) { totalCount pageInfo { hasNextPage } nodes { status identity { email } } }
    declined: joinRequests(first: 5, status: DECLINED) { totalCount nodes { identity { email } } }
    domains { domain verified } } } }";

#[tokio::test]
async fn invitations_join_requests_and_domains_take_a_constant_number_of_statements() {
    let mut settings = test_settings();
    settings.crm_poll_interval_ms = 3_600_000;
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("loaders-lists").await;
    // Each organization: a verified domain, three invitations of which the oldest is revoked,
    // three join requests of which the oldest is declined. The filters must apply before each
    // first page is cut: a page of one shows the second invitation and the second request.
    struct Expected {
        domain: String,
        invited: String,
        requested: String,
        declined: String,
    }
    let mut expected = Vec::new();
    for n in 0..20 {
        let (org, _) = app
            .create_organization(&tenant, &format!("Org {n}"), "CUSTOMER")
            .await;
        let domain = requests_to_join(&app, &tenant, &org).await;
        let emails: Vec<String> = (0..3)
            .map(|i| format!("{}@{domain}", unique(&format!("p{i}"))))
            .collect();
        for email in &emails {
            sign_up_at(&app, &tenant, email).await;
        }
        let invited: Vec<String> = (0..3).map(|_| unique_email()).collect();
        let mut invitations = Vec::new();
        for email in &invited {
            invitations.push(invite(&app, &tenant, &org, email).await);
        }
        app.tenant(
            &tenant,
            "mutation($input: InvitationIdInput!) { revokeInvitation(input: $input) { invitation { id } } }",
            json!({ "input": { "id": invitations[0] } }),
        )
        .await
        .data();
        let requests = app
            .tenant(
                &tenant,
                "query($id: ID!) { organization(id: $id) { joinRequests { nodes { id } } } }",
                json!({ "id": org }),
            )
            .await;
        let oldest = requests.data()["organization"]["joinRequests"]["nodes"][0]["id"].clone();
        app.tenant(
            &tenant,
            "mutation($input: JoinRequestIdInput!) { declineJoinRequest(input: $input) { joinRequest { id } } }",
            json!({ "input": { "id": oldest } }),
        )
        .await
        .data();
        expected.push((
            org,
            Expected {
                domain,
                invited: invited[1].clone(),
                requested: emails[1].clone(),
                declined: emails[0].clone(),
            },
        ));
    }

    let (few, few_statements) =
        counted(&app, &tenant, &tenant.api_key, LISTS, json!({ "first": 2 })).await;
    let (many, many_statements) = counted(
        &app,
        &tenant,
        &tenant.api_key,
        LISTS,
        json!({ "first": 20 }),
    )
    .await;
    assert_eq!(few["organizations"]["nodes"].as_array().unwrap().len(), 2);
    let organizations = many["organizations"]["nodes"].as_array().unwrap();
    assert_eq!(organizations.len(), 20);
    // One by one, 20 organizations with five lists each would take 100 list queries and
    // more; batched, the same handful for 2 organizations as for 20 (18 on SQLite, 24 with
    // PostgreSQL's per-transaction tenant setting; a batch cut short by the loaders' timer
    // only adds another handful).
    for (organizations, statements) in [(2, few_statements), (20, many_statements)] {
        assert!(
            statements <= 40.0,
            "{organizations} organizations with their lists took {statements} statements"
        );
    }

    for (organization, (id, expected)) in organizations.iter().zip(&expected) {
        assert_eq!(organization["id"], id.as_str());
        let invitations = &organization["invitations"];
        assert_eq!(invitations["totalCount"], 2, "{organization}");
        assert_eq!(invitations["pageInfo"]["hasNextPage"], true);
        assert_eq!(
            invitations["nodes"],
            json!([{ "email": expected.invited, "status": "PENDING" }])
        );
        assert_eq!(organization["everyInvitation"]["totalCount"], 3);
        let requests = &organization["joinRequests"];
        assert_eq!(requests["totalCount"], 2, "{organization}");
        assert_eq!(requests["pageInfo"]["hasNextPage"], true);
        assert_eq!(
            requests["nodes"],
            json!([{ "status": "PENDING", "identity": { "email": expected.requested } }])
        );
        assert_eq!(organization["declined"]["totalCount"], 1);
        assert_eq!(
            organization["declined"]["nodes"],
            json!([{ "identity": { "email": expected.declined } }])
        );
        assert_eq!(
            organization["domains"],
            json!([{ "domain": expected.domain, "verified": true }])
        );
    }

    // Later pages go through the direct query, with the same filters.
    let cursor = app
        .tenant(
            &tenant,
            "query($id: ID!) { organization(id: $id) { invitations(first: 1) { pageInfo { endCursor } } } }",
            json!({ "id": expected[0].0 }),
        )
        .await;
    let after = cursor.data()["organization"]["invitations"]["pageInfo"]["endCursor"].clone();
    let next = app
        .tenant(
            &tenant,
            "query($id: ID!, $after: String) { organization(id: $id) { invitations(first: 5, after: $after) { totalCount nodes { status } } } }",
            json!({ "id": expected[0].0, "after": after }),
        )
        .await;
    assert_eq!(
        next.data()["organization"]["invitations"],
        json!({ "totalCount": 2, "nodes": [{ "status": "PENDING" }] })
    );
}

/// The three lists of one organization.
const ORGANIZATION_LISTS: &str =
    "invitations { totalCount } joinRequests { totalCount } domains { domain }";

/// The errors of a response as (path, code), sorted.
fn refusals(response: &Value) -> Vec<(String, String)> {
    let mut refusals: Vec<(String, String)> = response["errors"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|error| {
            let path: Vec<String> = error["path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| match p {
                    Value::String(field) => field.clone(),
                    index => index.to_string(),
                })
                .collect();
            (
                path.join("."),
                error["extensions"]["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    refusals.sort();
    refusals
}

#[tokio::test]
async fn batched_lists_answer_each_organization_as_its_own_query_does() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("loaders-rights").await;
    // Two roles of the tenant with one organization permission each.
    for (name, permission) in [("reader", "organization:read"), ("lister", "members:read")] {
        app.tenant(
            &tenant,
            "mutation($input: CreateOrganizationRoleInput!) { createOrganizationRole(input: $input) { role { name } } }",
            json!({ "input": { "name": name, "permissions": [permission] } }),
        )
        .await
        .data();
    }
    // X, Y, W and Z each have a verified domain, a join request and an invitation. One person
    // belongs to all four: org:admin of X (every list), org:member of Y (organization:read and
    // members:read), reader of W and lister of Z.
    let (_device, _, person) = app.sign_up(&tenant, &unique_email()).await;
    let mut domains = Vec::new();
    let mut orgs = Vec::new();
    for (name, role) in [
        ("X", "org:admin"),
        ("Y", "org:member"),
        ("W", "reader"),
        ("Z", "lister"),
    ] {
        let (org, _) = app.create_organization(&tenant, name, "CUSTOMER").await;
        let domain = requests_to_join(&app, &tenant, &org).await;
        sign_up_at(&app, &tenant, &format!("ada@{domain}")).await;
        invite(&app, &tenant, &org, &unique_email()).await;
        add_member(&app, &tenant, &org, &person.identity_id, role).await;
        domains.push(domain);
        orgs.push(org);
    }
    let (x, y, w, z) = (&orgs[0], &orgs[1], &orgs[2], &orgs[3]);

    // Each list of each organization on its own: what the single-organization rules answer
    // (members:write for invitations, members:read for join requests, organization:read for
    // domains; a member without the permission is refused with FORBIDDEN).
    for (org, field, answer) in [
        (
            x,
            "invitations { totalCount }",
            Ok(json!({ "totalCount": 1 })),
        ),
        (
            x,
            "joinRequests { totalCount }",
            Ok(json!({ "totalCount": 1 })),
        ),
        (
            x,
            "domains { domain }",
            Ok(json!([{ "domain": domains[0] }])),
        ),
        (y, "invitations { totalCount }", Err("FORBIDDEN")),
        (
            y,
            "joinRequests { totalCount }",
            Ok(json!({ "totalCount": 1 })),
        ),
        (
            y,
            "domains { domain }",
            Ok(json!([{ "domain": domains[1] }])),
        ),
        (w, "invitations { totalCount }", Err("FORBIDDEN")),
        (w, "joinRequests { totalCount }", Err("FORBIDDEN")),
        (
            w,
            "domains { domain }",
            Ok(json!([{ "domain": domains[2] }])),
        ),
        // Without organization:read, Z itself is refused here; its lists are reached through
        // the person's memberships below.
        (z, "id", Err("FORBIDDEN")),
    ] {
        let response = app
            .as_key(
                &tenant,
                &person.access_token,
                &format!("query($id: ID!) {{ organization(id: $id) {{ {field} }} }}"),
                json!({ "id": org }),
            )
            .await;
        let name = field.split_whitespace().next().unwrap();
        match answer {
            Ok(value) => assert_eq!(response.data()["organization"][name], value, "{field}"),
            Err(code) => assert_eq!(response.error_code(), code, "{field}: {}", response.body),
        }
    }

    // X, Y and W in one request, batched: exactly the same refusals, at the same places, and
    // nothing else refused.
    let three = format!(
        "query($x: ID!, $y: ID!, $w: ID!) {{ x: organization(id: $x) {{ {ORGANIZATION_LISTS} }} y: organization(id: $y) {{ {ORGANIZATION_LISTS} }} w: organization(id: $w) {{ {ORGANIZATION_LISTS} }} }}"
    );
    let ids = json!({ "x": x, "y": y, "w": w });
    let together = app
        .as_key(&tenant, &person.access_token, &three, ids.clone())
        .await;
    let forbidden = |path: &str| (path.to_owned(), "FORBIDDEN".to_owned());
    assert_eq!(
        refusals(&together.body),
        [
            forbidden("w.invitations"),
            forbidden("w.joinRequests"),
            forbidden("y.invitations"),
        ]
    );
    // And what may be listed comes out of the same batches.
    let allowed = app
        .as_key(
            &tenant,
            &person.access_token,
            &format!(
                "query($x: ID!, $y: ID!, $w: ID!) {{ x: organization(id: $x) {{ {ORGANIZATION_LISTS} }} y: organization(id: $y) {{ joinRequests {{ totalCount }} domains {{ domain }} }} w: organization(id: $w) {{ domains {{ domain }} }} }}"
            ),
            ids,
        )
        .await;
    assert_eq!(
        allowed.data(),
        &json!({
            "x": { "invitations": { "totalCount": 1 }, "joinRequests": { "totalCount": 1 }, "domains": [{ "domain": domains[0] }] },
            "y": { "joinRequests": { "totalCount": 1 }, "domains": [{ "domain": domains[1] }] },
            "w": { "domains": [{ "domain": domains[2] }] },
        })
    );
    // Through the person's memberships, the four organizations' domains load in one batch:
    // only Z's (no organization:read there) are refused, as its own query would be.
    let memberships = app
        .as_key(
            &tenant,
            &person.access_token,
            "{ viewer { identity { organizations { nodes { organization { id domains { domain } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        refusals(&memberships.body),
        [forbidden(
            "viewer.identity.organizations.nodes.3.organization.domains"
        )]
    );
    let direct = app
        .as_key(
            &tenant,
            &person.access_token,
            "{ viewer { identity { organizations { nodes { organization { id joinRequests { totalCount } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        refusals(&direct.body),
        [forbidden(
            "viewer.identity.organizations.nodes.2.organization.joinRequests"
        )]
    );

    // An organization that no longer exists: its domains and join requests are NOT_FOUND for
    // a tenant admin, as the single-organization query says; its invitations went with it.
    let deleted = app
        .tenant(
            &tenant,
            &format!(
                "mutation($input: DeleteOrganizationInput!) {{ deleteOrganization(input: $input) {{ organization {{ {ORGANIZATION_LISTS} }} }} }}"
            ),
            json!({ "input": { "id": z } }),
        )
        .await;
    let gone = |field: &str| {
        (
            format!("deleteOrganization.organization.{field}"),
            "NOT_FOUND".to_owned(),
        )
    };
    assert_eq!(
        refusals(&deleted.body),
        [gone("domains"), gone("joinRequests")]
    );

    // Another tenant sees none of it: X is NOT_FOUND there, and its own organization's lists
    // are empty.
    let other = app.create_tenant("loaders-rights-other").await;
    app.create_organization(&other, "Elsewhere", "CUSTOMER")
        .await;
    let crossed = app
        .tenant(
            &other,
            &format!("query($id: ID!) {{ organization(id: $id) {{ {ORGANIZATION_LISTS} }} }}"),
            json!({ "id": x }),
        )
        .await;
    assert_eq!(crossed.error_code(), "NOT_FOUND");
    let listed = app
        .tenant(
            &other,
            &format!("{{ organizations {{ nodes {{ {ORGANIZATION_LISTS} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        listed.data()["organizations"]["nodes"],
        json!([{ "invitations": { "totalCount": 0 }, "joinRequests": { "totalCount": 0 }, "domains": [] }])
    );
}
