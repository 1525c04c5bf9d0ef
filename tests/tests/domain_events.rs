//! The transactional outbox as the tenant API shows it (`domainEvents`): every identity,
//! organization and membership change leaves exactly one event with the subject's state,
//! a refused change leaves none, and another tenant's events stay invisible.

use latchkey_tests::{TestApp, TestTenant, unique_email};
use serde_json::{Value, json};

const EVENTS: &str = "query($filter: DomainEventFilter) { domainEvents(first: 100, filter: $filter) { totalCount nodes { id type subjectType subjectId data occurredAt } } }";

async fn events(app: &TestApp, tenant: &TestTenant, filter: Value) -> Vec<Value> {
    let response = app
        .tenant(tenant, EVENTS, json!({ "filter": filter }))
        .await;
    response.data()["domainEvents"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_identity_organization_and_membership_change_writes_one_event() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("events").await;
    let email = unique_email();
    let identity = app.create_identity(&tenant, &email).await;

    let update = "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { id } } }";
    app.tenant(
        &tenant,
        update,
        json!({ "input": { "id": identity, "displayName": "Ada", "externalId": "crm-42" } }),
    )
    .await
    .data();
    // A refused change writes nothing.
    let refused = app
        .tenant(
            &tenant,
            update,
            json!({ "input": { "id": identity, "email": "not an email" } }),
        )
        .await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    for mutation in ["suspendIdentity", "resumeIdentity"] {
        app.tenant(
            &tenant,
            &format!("mutation($input: IdentityIdInput!) {{ {mutation}(input: $input) {{ identity {{ id }} }} }}"),
            json!({ "input": { "id": identity } }),
        )
        .await
        .data();
    }

    let about_identity = events(&app, &tenant, json!({ "subjectId": identity })).await;
    assert_eq!(
        types(&about_identity),
        [
            "identity.created",
            "identity.updated",
            "identity.updated",
            "identity.updated"
        ]
    );
    let updated = &about_identity[1];
    assert_eq!(updated["subjectType"], "identity");
    assert_eq!(updated["data"]["email"], email.as_str());
    assert_eq!(updated["data"]["displayName"], "Ada");
    assert_eq!(updated["data"]["externalId"], "crm-42");
    assert_eq!(about_identity[2]["data"]["status"], "suspended");
    assert_eq!(about_identity[3]["data"]["status"], "active");

    // Organizations and memberships.
    let (org, _) = app.create_organization(&tenant, "Acme", "PARTNER").await;
    let duplicate = app
        .tenant(
            &tenant,
            "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }",
            json!({ "input": { "name": "Acme again", "slug": events(&app, &tenant, json!({ "subjectId": org })).await[0]["data"]["slug"] } }),
        )
        .await;
    assert_eq!(duplicate.error_code(), "CONFLICT");
    let membership = app
        .tenant(
            &tenant,
            "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": org, "identityId": identity, "roles": ["org:member"] } }),
        )
        .await;
    let membership_id = membership.data()["addOrganizationMember"]["membership"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.tenant(
        &tenant,
        "mutation($input: UpdateOrganizationMemberInput!) { updateOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": org, "identityId": identity, "roles": ["org:admin"] } }),
    )
    .await
    .data();
    app.tenant(
        &tenant,
        "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": org, "identityId": identity } }),
    )
    .await
    .data();
    app.tenant(
        &tenant,
        "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }",
        json!({ "input": { "id": org, "name": "Acme Corp" } }),
    )
    .await
    .data();
    app.tenant(
        &tenant,
        "mutation($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { organization { id } } }",
        json!({ "input": { "id": org } }),
    )
    .await
    .data();
    app.tenant(
        &tenant,
        "mutation($input: IdentityIdInput!) { deleteIdentity(input: $input) { deletedIdentityId } }",
        json!({ "input": { "id": identity } }),
    )
    .await
    .data();

    let about_org = events(&app, &tenant, json!({ "subjectId": org })).await;
    assert_eq!(
        types(&about_org),
        [
            "organization.created",
            "organization.updated",
            "organization.deleted"
        ]
    );
    assert_eq!(about_org[0]["data"]["kind"], "partner");
    assert_eq!(about_org[1]["data"]["name"], "Acme Corp");
    let about_membership = events(&app, &tenant, json!({ "subjectId": membership_id })).await;
    assert_eq!(
        types(&about_membership),
        [
            "membership.added",
            "membership.updated",
            "membership.removed"
        ]
    );
    assert_eq!(about_membership[0]["data"]["organizationId"], org.as_str());
    assert_eq!(about_membership[0]["data"]["identityId"], identity.as_str());
    assert_eq!(about_membership[1]["data"]["roles"], json!(["org:admin"]));
    let deleted = events(&app, &tenant, json!({ "type": "IDENTITY_DELETED" })).await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["subjectId"], identity.as_str());
    assert_eq!(deleted[0]["data"]["status"], "deleted");
}

#[tokio::test]
async fn a_passkey_sign_up_is_an_identity_created_event() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("events-signup").await;
    let email = unique_email();
    let (_device, _, signed_in) = app.sign_up(&tenant, &email).await;
    let created = events(&app, &tenant, json!({ "type": "IDENTITY_CREATED" })).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["subjectId"], signed_in.identity_id.as_str());
    assert_eq!(created[0]["data"]["email"], email.as_str());
    assert_eq!(created[0]["data"]["displayName"], "Test User");

    // The person's own token does not read the tenant's events.
    let own = app
        .as_key(&tenant, &signed_in.access_token, EVENTS, json!({}))
        .await;
    assert_eq!(own.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn another_tenants_events_are_invisible() {
    let app = TestApp::start().await;
    let a = app.create_tenant("events-a").await;
    let b = app.create_tenant("events-b").await;
    let identity = app.create_identity(&a, &unique_email()).await;
    let (org, _) = app.create_organization(&a, "A Org", "CUSTOMER").await;

    assert_eq!(events(&app, &a, json!({})).await.len(), 2);
    assert!(events(&app, &b, json!({})).await.is_empty());
    for subject in [&identity, &org] {
        assert!(
            events(&app, &b, json!({ "subjectId": subject }))
                .await
                .is_empty()
        );
    }
    // Tenant A's key at tenant B's endpoint is not served.
    let crossed = app.as_key(&b, &a.api_key, EVENTS, json!({})).await;
    assert_eq!(crossed.error_code(), "UNAUTHENTICATED");
}
