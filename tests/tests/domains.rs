//! Verified domains and domain policies: DNS TXT verification through a real DNS server on
//! loopback, manual verification by tenant admins, one organization per domain and tenant,
//! auto-join of verified addresses, join requests approved by an organization admin, and
//! isolation between organizations and tenants.

use latchkey_tests::dns::DnsServer;
use latchkey_tests::{TestApp, TestTenant, test_settings, unique, unique_email};
use serde_json::{Value, json};

const ADD: &str = "mutation($input: AddVerifiedDomainInput!) { addVerifiedDomain(input: $input) { domain { id domain verified verificationMethod txtRecordName txtRecordValue } } }";
const VERIFY: &str = "mutation($input: DomainIdInput!) { verifyDomain(input: $input) { domain { id verified verificationMethod verifiedAt } } }";
const MARK: &str = "mutation($input: DomainIdInput!) { markDomainVerified(input: $input) { domain { id verified verificationMethod } } }";
const POLICY: &str = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { domainPolicy } } }";
const ORG: &str = "query($id: ID!) { organization(id: $id) { domainPolicy domains { domain verified } members { totalCount nodes { roles identity { id } } } joinRequests { totalCount nodes { id status domain identity { id email } } } } }";

async fn app_with_dns() -> (TestApp, DnsServer) {
    let dns = DnsServer::start().await;
    let mut settings = test_settings();
    settings.dns_server = Some(dns.addr.to_string());
    (TestApp::start_with(settings).await, dns)
}

fn domain_name() -> String {
    format!("{}.example", unique("corp"))
}

async fn add_domain(
    app: &TestApp,
    tenant: &TestTenant,
    token: &str,
    org: &str,
    domain: &str,
) -> Value {
    app.as_key(
        tenant,
        token,
        ADD,
        json!({ "input": { "organizationId": org, "domain": domain } }),
    )
    .await
    .body
}

async fn verified_by_hand(app: &TestApp, tenant: &TestTenant, org: &str, domain: &str) -> String {
    let added = add_domain(app, tenant, &tenant.api_key, org, domain).await;
    let id = added["data"]["addVerifiedDomain"]["domain"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{added}"))
        .to_owned();
    app.tenant(tenant, MARK, json!({ "input": { "id": id } }))
        .await
        .data();
    id
}

async fn set_policy(app: &TestApp, tenant: &TestTenant, org: &str, policy: &str) {
    let response = app
        .tenant(
            tenant,
            POLICY,
            json!({ "input": { "id": org, "domainPolicy": policy } }),
        )
        .await;
    assert_eq!(
        response.data()["updateOrganization"]["organization"]["domainPolicy"],
        policy
    );
}

async fn organization(app: &TestApp, tenant: &TestTenant, token: &str, org: &str) -> Value {
    let response = app.as_key(tenant, token, ORG, json!({ "id": org })).await;
    response.data()["organization"].clone()
}

async fn create_identity(
    app: &TestApp,
    tenant: &TestTenant,
    email: &str,
    verified: bool,
) -> String {
    let response = app
        .tenant(
            tenant,
            "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }",
            json!({ "input": { "email": email, "emailVerified": verified } }),
        )
        .await;
    response.data()["createIdentity"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn member_ids(org: &Value) -> Vec<String> {
    org["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["identity"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_domain_is_verified_by_its_dns_txt_record() {
    let (app, dns) = app_with_dns().await;
    let tenant = app.create_tenant("domains-dns").await;
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let domain = domain_name();

    let added = add_domain(
        &app,
        &tenant,
        &tenant.api_key,
        &org,
        &format!("{}.", domain.to_uppercase()),
    )
    .await;
    let added = &added["data"]["addVerifiedDomain"]["domain"];
    assert_eq!(
        added["domain"],
        domain.as_str(),
        "stored in lower case without the root dot"
    );
    assert_eq!(added["verified"], false);
    let record_name = added["txtRecordName"].as_str().unwrap().to_owned();
    let record_value = added["txtRecordValue"].as_str().unwrap().to_owned();
    assert_eq!(record_name, format!("_latchkey-verification.{domain}"));
    assert!(record_value.starts_with("latchkey-verification="));
    let id = added["id"].as_str().unwrap().to_owned();

    // No record yet: refused, saying what to publish.
    let missing = app
        .tenant(&tenant, VERIFY, json!({ "input": { "id": id } }))
        .await;
    assert_eq!(missing.error_code(), "FORBIDDEN");
    assert!(
        missing.error_message().contains(&record_name),
        "{}",
        missing.error_message()
    );
    assert!(missing.error_message().contains(&record_value));
    assert!(missing.error_message().contains("no TXT record was found"));

    // A record with another value: refused, showing what was found.
    dns.publish_txt(&record_name, "latchkey-verification=someone-elses-token");
    let wrong = app
        .tenant(&tenant, VERIFY, json!({ "input": { "id": id } }))
        .await;
    assert_eq!(wrong.error_code(), "FORBIDDEN");
    assert!(
        wrong.error_message().contains("someone-elses-token"),
        "{}",
        wrong.error_message()
    );

    dns.publish_txt(&record_name, &record_value);
    let verified = app
        .tenant(&tenant, VERIFY, json!({ "input": { "id": id } }))
        .await;
    let verified = &verified.data()["verifyDomain"]["domain"];
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["verificationMethod"], "DNS");
    assert!(verified["verifiedAt"].is_string());
    let listed = organization(&app, &tenant, &tenant.api_key, &org).await;
    assert_eq!(
        listed["domains"],
        json!([{ "domain": domain, "verified": true }])
    );

    // Bad input names its field; the same domain twice in one organization is a conflict.
    for bad in [
        "not a domain",
        "localhost",
        "192.168.0.1",
        "gmail.com",
        "-x.example",
        "",
    ] {
        let refused = add_domain(&app, &tenant, &tenant.api_key, &org, bad).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{bad}: {refused}"
        );
        assert_eq!(refused["errors"][0]["extensions"]["field"], "domain");
    }
    let twice = add_domain(&app, &tenant, &tenant.api_key, &org, &domain).await;
    assert_eq!(twice["errors"][0]["extensions"]["code"], "CONFLICT");
}

#[tokio::test]
async fn a_domain_is_verified_for_one_organization_per_tenant() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("domains-one").await;
    let (first, _) = app.create_organization(&tenant, "First", "CUSTOMER").await;
    let (second, _) = app.create_organization(&tenant, "Second", "CUSTOMER").await;
    let domain = domain_name();
    verified_by_hand(&app, &tenant, &first, &domain).await;

    let claimed = add_domain(&app, &tenant, &tenant.api_key, &second, &domain).await;
    let id = claimed["data"]["addVerifiedDomain"]["domain"]["id"]
        .as_str()
        .unwrap();
    let conflict = app
        .tenant(&tenant, MARK, json!({ "input": { "id": id } }))
        .await;
    assert_eq!(conflict.error_code(), "CONFLICT");
    assert!(conflict.error_message().contains("another organization"));

    // Another tenant is another namespace.
    let other = app.create_tenant("domains-one-other").await;
    let (theirs, _) = app.create_organization(&other, "Theirs", "CUSTOMER").await;
    verified_by_hand(&app, &other, &theirs, &domain).await;

    // Removing it from the first organization frees it.
    let first_domain = organization(&app, &tenant, &tenant.api_key, &first).await;
    assert_eq!(first_domain["domains"][0]["verified"], true);
    let first_id = app
        .tenant(
            &tenant,
            "query($id: ID!) { organization(id: $id) { domains { id } } }",
            json!({ "id": first }),
        )
        .await
        .data()["organization"]["domains"][0]["id"]
        .clone();
    app.tenant(
        &tenant,
        "mutation($input: DomainIdInput!) { removeVerifiedDomain(input: $input) { domain { id } } }",
        json!({ "input": { "id": first_id } }),
    )
    .await
    .data();
    let now = app
        .tenant(&tenant, MARK, json!({ "input": { "id": id } }))
        .await;
    assert_eq!(
        now.data()["markDomainVerified"]["domain"]["verificationMethod"],
        "MANUAL"
    );
}

#[tokio::test]
async fn verified_addresses_at_an_auto_join_domain_become_members() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("domains-auto").await;
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let domain = domain_name();
    verified_by_hand(&app, &tenant, &org, &domain).await;

    // Policy NONE (the default): nobody joins.
    let before = create_identity(&app, &tenant, &format!("before@{domain}"), true).await;
    set_policy(&app, &tenant, &org, "AUTO_JOIN").await;

    let verified = create_identity(
        &app,
        &tenant,
        &format!("ada@{}", domain.to_uppercase()),
        true,
    )
    .await;
    let unverified = create_identity(&app, &tenant, &format!("bob@{domain}"), false).await;
    let elsewhere = create_identity(&app, &tenant, &unique_email(), true).await;
    // A passkey sign-up proves its address first: it joins as well.
    let (_device, _, signed_up) = app.sign_up(&tenant, &format!("carol@{domain}")).await;

    let members = member_ids(&organization(&app, &tenant, &tenant.api_key, &org).await);
    assert_eq!(members, [verified.clone(), signed_up.identity_id.clone()]);
    for outsider in [&before, &unverified, &elsewhere] {
        assert!(!members.contains(outsider));
    }
    let listed = organization(&app, &tenant, &tenant.api_key, &org).await;
    assert_eq!(
        listed["members"]["nodes"][0]["roles"],
        json!(["org:member"])
    );

    // Once the address is verified, the policy applies.
    app.tenant(
        &tenant,
        "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { id } } }",
        json!({ "input": { "id": unverified, "emailVerified": true } }),
    )
    .await
    .data();
    let members = member_ids(&organization(&app, &tenant, &tenant.api_key, &org).await);
    assert_eq!(members, [verified, signed_up.identity_id, unverified]);
}

#[tokio::test]
async fn sign_ups_at_a_request_domain_wait_for_an_org_admin() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("domains-request").await;
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let (other_org, _) = app.create_organization(&tenant, "Other", "CUSTOMER").await;
    let domain = domain_name();
    verified_by_hand(&app, &tenant, &org, &domain).await;
    set_policy(&app, &tenant, &org, "REQUEST_TO_JOIN").await;

    // The organization's admin, by passkey, with org:admin there (and only there).
    let (_admin_device, _, admin) = app.sign_up(&tenant, &unique_email()).await;
    app.tenant(
        &tenant,
        "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": org, "identityId": admin.identity_id, "roles": ["org:admin"] } }),
    )
    .await
    .data();

    // An address nobody has verified files nothing.
    let unverified = create_identity(&app, &tenant, &format!("eve@{domain}"), false).await;
    let ada = create_identity(&app, &tenant, &format!("ada@{domain}"), true).await;
    let bob = create_identity(&app, &tenant, &format!("bob@{domain}"), true).await;
    let seen = organization(&app, &tenant, &admin.access_token, &org).await;
    assert_eq!(seen["joinRequests"]["totalCount"], 2);
    let requests = seen["joinRequests"]["nodes"].as_array().unwrap().clone();
    assert_eq!(requests[0]["identity"]["id"], ada.as_str());
    assert!(
        requests
            .iter()
            .all(|r| r["identity"]["id"] != unverified.as_str())
    );
    assert_eq!(requests[0]["status"], "PENDING");
    assert_eq!(requests[0]["domain"], domain.as_str());
    let ada_request = requests[0]["id"].as_str().unwrap().to_owned();
    let bob_request = requests[1]["id"].as_str().unwrap().to_owned();

    const APPROVE: &str = "mutation($input: ApproveJoinRequestInput!) { approveJoinRequest(input: $input) { joinRequest { status decidedAt } membership { roles identity { id } } } }";
    const DECLINE: &str = "mutation($input: JoinRequestIdInput!) { declineJoinRequest(input: $input) { joinRequest { status } membership { id } } }";
    let approved = app
        .as_key(
            &tenant,
            &admin.access_token,
            APPROVE,
            json!({ "input": { "id": ada_request } }),
        )
        .await;
    let approved = &approved.data()["approveJoinRequest"];
    assert_eq!(approved["joinRequest"]["status"], "APPROVED");
    assert_eq!(approved["membership"]["roles"], json!(["org:member"]));
    assert_eq!(approved["membership"]["identity"]["id"], ada.as_str());
    let declined = app
        .as_key(
            &tenant,
            &admin.access_token,
            DECLINE,
            json!({ "input": { "id": bob_request } }),
        )
        .await;
    assert_eq!(
        declined.data()["declineJoinRequest"]["joinRequest"]["status"],
        "DECLINED"
    );
    assert!(declined.data()["declineJoinRequest"]["membership"].is_null());

    // Deciding twice fails clearly.
    let again = app
        .as_key(
            &tenant,
            &admin.access_token,
            APPROVE,
            json!({ "input": { "id": bob_request } }),
        )
        .await;
    assert_eq!(again.error_code(), "FORBIDDEN");
    assert!(
        again.error_message().contains("already declined"),
        "{}",
        again.error_message()
    );
    let members = member_ids(&organization(&app, &tenant, &tenant.api_key, &org).await);
    assert!(members.contains(&ada));
    assert!(!members.contains(&bob));

    // An org admin grants no role beyond their own, even through a join request.
    let carol = create_identity(&app, &tenant, &format!("carol@{domain}"), true).await;
    let carol_request =
        organization(&app, &tenant, &admin.access_token, &org).await["joinRequests"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["identity"]["id"] == carol.as_str())
            .unwrap()["id"]
            .clone();
    app.tenant(
        &tenant,
        "mutation($input: CreateOrganizationRoleInput!) { createOrganizationRole(input: $input) { role { name } } }",
        json!({ "input": { "name": "billing", "permissions": ["billing:write"] } }),
    )
    .await
    .data();
    let beyond = app
        .as_key(
            &tenant,
            &admin.access_token,
            APPROVE,
            json!({ "input": { "id": carol_request, "roles": ["billing"] } }),
        )
        .await;
    assert_eq!(beyond.error_code(), "FORBIDDEN");

    // Nothing of another organization: its requests and domains answer NOT_FOUND.
    let other_domain = domain_name();
    let other_domain_id = verified_by_hand(&app, &tenant, &other_org, &other_domain).await;
    for (query, variables) in [
        (ORG, json!({ "id": other_org })),
        (VERIFY, json!({ "input": { "id": other_domain_id } })),
        (
            "mutation($input: DomainIdInput!) { removeVerifiedDomain(input: $input) { domain { id } } }",
            json!({ "input": { "id": other_domain_id } }),
        ),
        (
            ADD,
            json!({ "input": { "organizationId": other_org, "domain": domain_name() } }),
        ),
    ] {
        let refused = app
            .as_key(&tenant, &admin.access_token, query, variables)
            .await;
        assert_eq!(
            refused.error_code(),
            "NOT_FOUND",
            "{query}: {}",
            refused.body
        );
    }
    // Their own organization's domains: DNS verification yes, verification by hand no.
    let own = add_domain(&app, &tenant, &admin.access_token, &org, &domain_name()).await;
    let own_id = own["data"]["addVerifiedDomain"]["domain"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{own}"));
    let by_hand = app
        .as_key(
            &tenant,
            &admin.access_token,
            MARK,
            json!({ "input": { "id": own_id } }),
        )
        .await;
    assert_eq!(by_hand.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn another_tenant_cannot_reach_domains_or_join_requests() {
    let app = TestApp::start().await;
    let a = app.create_tenant("domains-a").await;
    let b = app.create_tenant("domains-b").await;
    let (org, _) = app.create_organization(&a, "A", "CUSTOMER").await;
    let domain = domain_name();
    let domain_id = verified_by_hand(&app, &a, &org, &domain).await;
    set_policy(&app, &a, &org, "REQUEST_TO_JOIN").await;
    create_identity(&app, &a, &format!("ada@{domain}"), true).await;
    let request_id =
        organization(&app, &a, &a.api_key, &org).await["joinRequests"]["nodes"][0]["id"].clone();

    for (query, variables) in [
        (VERIFY, json!({ "input": { "id": domain_id } })),
        (MARK, json!({ "input": { "id": domain_id } })),
        (
            "mutation($input: DomainIdInput!) { removeVerifiedDomain(input: $input) { domain { id } } }",
            json!({ "input": { "id": domain_id } }),
        ),
        (
            "mutation($input: ApproveJoinRequestInput!) { approveJoinRequest(input: $input) { joinRequest { id } } }",
            json!({ "input": { "id": request_id } }),
        ),
        (
            "mutation($input: JoinRequestIdInput!) { declineJoinRequest(input: $input) { joinRequest { id } } }",
            json!({ "input": { "id": request_id } }),
        ),
        (
            ADD,
            json!({ "input": { "organizationId": org, "domain": domain_name() } }),
        ),
    ] {
        let refused = app.tenant(&b, query, variables).await;
        assert_eq!(
            refused.error_code(),
            "NOT_FOUND",
            "{query}: {}",
            refused.body
        );
    }
    // A sign-up at the domain in tenant B files nothing in tenant A.
    create_identity(&app, &b, &format!("bob@{domain}"), true).await;
    let still = organization(&app, &a, &a.api_key, &org).await;
    assert_eq!(still["joinRequests"]["totalCount"], 1);
    // Tenant A's key at tenant B's endpoint is not served.
    let crossed = app
        .as_key(
            &b,
            &a.api_key,
            VERIFY,
            json!({ "input": { "id": domain_id } }),
        )
        .await;
    assert_eq!(crossed.error_code(), "UNAUTHENTICATED");
}
