//! Identities over the tenant API: create, read, list with paging and filters, update,
//! suspend, resume, delete, validation, uniqueness, and the audit log they leave.

use latchkey_tests::{TestApp, unique};
use serde_json::json;

const CREATE: &str = "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id email emailVerified displayName phone status attributes externalId } } }";

#[tokio::test]
async fn create_read_update_suspend_delete() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("ident").await;

    let created = app
        .tenant(
            &tenant,
            CREATE,
            json!({ "input": {
                "email": "Ada@Example.com", "displayName": "Ada Lovelace",
                "phone": "+44 20 7946 0958", "attributes": { "plan": "pro" },
                "externalId": "crm-1"
            }}),
        )
        .await;
    let identity = &created.data()["createIdentity"]["identity"];
    assert_eq!(identity["email"], "Ada@Example.com");
    assert_eq!(identity["displayName"], "Ada Lovelace");
    assert_eq!(identity["phone"], "+442079460958");
    assert_eq!(identity["status"], "ACTIVE");
    assert_eq!(identity["attributes"], json!({ "plan": "pro" }));
    assert_eq!(identity["externalId"], "crm-1");
    let id = identity["id"].as_str().unwrap().to_owned();

    let read = app
        .tenant(
            &tenant,
            "query($id: ID!) { identity(id: $id) { id email } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(read.data()["identity"]["email"], "Ada@Example.com");

    let updated = app
        .tenant(
            &tenant,
            "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { displayName phone emailVerified attributes } } }",
            json!({ "input": { "id": id, "displayName": "Countess", "phone": null, "emailVerified": true, "attributes": { "plan": "team" } } }),
        )
        .await;
    let identity = &updated.data()["updateIdentity"]["identity"];
    assert_eq!(identity["displayName"], "Countess");
    assert_eq!(identity["phone"], serde_json::Value::Null);
    assert_eq!(identity["emailVerified"], true);
    assert_eq!(identity["attributes"], json!({ "plan": "team" }));

    let suspended = app
        .tenant(
            &tenant,
            "mutation($input: IdentityIdInput!) { suspendIdentity(input: $input) { identity { status } } }",
            json!({ "input": { "id": id } }),
        )
        .await;
    assert_eq!(
        suspended.data()["suspendIdentity"]["identity"]["status"],
        "SUSPENDED"
    );
    let resumed = app
        .tenant(
            &tenant,
            "mutation($input: IdentityIdInput!) { resumeIdentity(input: $input) { identity { status } } }",
            json!({ "input": { "id": id } }),
        )
        .await;
    assert_eq!(
        resumed.data()["resumeIdentity"]["identity"]["status"],
        "ACTIVE"
    );

    let deleted = app
        .tenant(
            &tenant,
            "mutation($input: IdentityIdInput!) { deleteIdentity(input: $input) { deletedIdentityId identity { status deletedAt } } }",
            json!({ "input": { "id": id } }),
        )
        .await;
    let payload = &deleted.data()["deleteIdentity"];
    assert_eq!(payload["deletedIdentityId"], id.as_str());
    assert_eq!(payload["identity"]["status"], "DELETED");
    assert!(payload["identity"]["deletedAt"].is_string());

    // The email is free again, deleted identities leave the default list, and a deleted
    // identity can no longer be changed.
    let again = app.create_identity(&tenant, "ada@example.com").await;
    assert_ne!(again, id);
    let list = app
        .tenant(
            &tenant,
            "{ identities { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(list.data()["identities"]["totalCount"], 1);
    assert_eq!(list.data()["identities"]["nodes"][0]["id"], again.as_str());
    let deleted_list = app
        .tenant(
            &tenant,
            "{ identities(filter: { status: DELETED }) { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        deleted_list.data()["identities"]["nodes"][0]["id"],
        id.as_str()
    );
    let change_deleted = app
        .tenant(
            &tenant,
            "mutation($input: IdentityIdInput!) { suspendIdentity(input: $input) { identity { status } } }",
            json!({ "input": { "id": id } }),
        )
        .await;
    assert_eq!(change_deleted.error_code(), "NOT_FOUND");

    // Every change was audited with the request id.
    let audit = app
        .tenant(
            &tenant,
            "query($target: String) { auditEvents(filter: { targetId: $target }) { nodes { action actorType requestId } } }",
            json!({ "target": id }),
        )
        .await;
    let actions: Vec<&str> = audit.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "identity.create",
            "identity.update",
            "identity.suspend",
            "identity.resume",
            "identity.delete"
        ]
    );
    for event in audit.data()["auditEvents"]["nodes"].as_array().unwrap() {
        assert_eq!(event["actorType"], "api_key");
        assert!(event["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    }
    app.stop().await;
}

#[tokio::test]
async fn list_pages_and_filters() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("paging").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let email = format!("user{i}@example.com");
        let response = app
            .tenant(
                &tenant,
                CREATE,
                json!({ "input": { "email": email, "displayName": if i % 2 == 0 { "Even Person" } else { "Odd Person" } } }),
            )
            .await;
        ids.push(
            response.data()["createIdentity"]["identity"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    let query = "query($after: String) { identities(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }";
    let mut seen = Vec::new();
    let mut after = serde_json::Value::Null;
    loop {
        let page = app.tenant(&tenant, query, json!({ "after": after })).await;
        let connection = &page.data()["identities"];
        assert_eq!(connection["totalCount"], 7);
        for edge in connection["edges"].as_array().unwrap() {
            seen.push(edge["node"]["id"].as_str().unwrap().to_owned());
        }
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        seen, ids,
        "pages walk every identity once, in creation order"
    );

    let by_email = app
        .tenant(
            &tenant,
            "{ identities(filter: { email: \"USER3@example.com\" }) { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(by_email.data()["identities"]["totalCount"], 1);
    assert_eq!(
        by_email.data()["identities"]["nodes"][0]["id"],
        ids[3].as_str()
    );

    let search = app
        .tenant(
            &tenant,
            "{ identities(filter: { search: \"odd\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(search.data()["identities"]["totalCount"], 3);
    let wildcard = app
        .tenant(
            &tenant,
            "{ identities(filter: { search: \"%\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        wildcard.data()["identities"]["totalCount"],
        0,
        "LIKE wildcards are escaped"
    );

    app.tenant(
        &tenant,
        "mutation($input: IdentityIdInput!) { suspendIdentity(input: $input) { identity { id } } }",
        json!({ "input": { "id": ids[0] } }),
    )
    .await
    .data();
    let suspended = app
        .tenant(
            &tenant,
            "{ identities(filter: { status: SUSPENDED }) { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(suspended.data()["identities"]["totalCount"], 1);
    assert_eq!(
        suspended.data()["identities"]["nodes"][0]["id"],
        ids[0].as_str()
    );

    let too_many = app
        .tenant(
            &tenant,
            "{ identities(first: 1001) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(too_many.error_code(), "BAD_USER_INPUT");
    app.stop().await;
}

#[tokio::test]
async fn validation_and_uniqueness() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("valid").await;
    let other = app.create_tenant("valid-other").await;
    let email = format!("{}@example.com", unique("dup"));

    for (input, field) in [
        (json!({ "email": "not-an-email" }), "email"),
        (
            json!({ "email": "a@b.com", "displayName": "" }),
            "displayName",
        ),
        (
            json!({ "email": "a@b.com", "displayName": "x".repeat(201) }),
            "displayName",
        ),
        (json!({ "email": "a@b.com", "phone": "12345" }), "phone"),
        (
            json!({ "email": "a@b.com", "attributes": [1, 2] }),
            "attributes",
        ),
        (
            json!({ "email": "a@b.com", "attributes": { "blob": "x".repeat(17 * 1024) } }),
            "attributes",
        ),
        (
            json!({ "email": "a@b.com", "externalId": "" }),
            "externalId",
        ),
    ] {
        let response = app.tenant(&tenant, CREATE, json!({ "input": input })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{input}");
        assert_eq!(response.status, 400);
        assert!(
            response.error_message().starts_with(field),
            "the message names {field}: {}",
            response.error_message()
        );
        assert_eq!(response.body["errors"][0]["extensions"]["field"], field);
    }

    app.create_identity(&tenant, &email).await;
    let duplicate = app
        .tenant(
            &tenant,
            CREATE,
            json!({ "input": { "email": email.to_uppercase() } }),
        )
        .await;
    assert_eq!(duplicate.error_code(), "CONFLICT");
    assert_eq!(duplicate.status, 409);
    // The same email in another tenant is a different person.
    app.create_identity(&other, &email).await;

    let list = app
        .tenant(&tenant, "{ identities { totalCount } }", json!({}))
        .await;
    assert_eq!(
        list.data()["identities"]["totalCount"],
        1,
        "failed creates left nothing behind"
    );
    app.stop().await;
}

#[tokio::test]
async fn one_address_in_either_spelling_of_its_domain() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("idna").await;
    let local = unique("ada");
    let unicode = format!("{local}@Exämple.com");
    let ascii = format!("{local}@xn--exmple-cua.com");

    // Signed up with the Unicode spelling, signed in with the ASCII one: the same identity.
    let (mut device, credential_id, signed_up) = app.sign_up(&tenant, &unicode).await;
    let signed_in = app
        .sign_in(&tenant, &mut device, Some(&ascii), &credential_id)
        .await;
    assert_eq!(signed_in.identity_id, signed_up.identity_id);

    // Creating the other spelling is creating the same address again.
    let duplicate = app
        .tenant(&tenant, CREATE, json!({ "input": { "email": ascii } }))
        .await;
    assert_eq!(duplicate.error_code(), "CONFLICT");

    // Either spelling finds it.
    for spelling in [&ascii, &format!("{local}@EXÄMPLE.COM")] {
        let found = app
            .tenant(
                &tenant,
                "query($email: String) { identities(filter: { email: $email }) { nodes { id email } } }",
                json!({ "email": spelling }),
            )
            .await;
        let nodes = &found.data()["identities"]["nodes"];
        assert_eq!(nodes.as_array().unwrap().len(), 1, "{spelling}");
        assert_eq!(nodes[0]["id"], signed_up.identity_id.as_str());
        assert_eq!(nodes[0]["email"], unicode.as_str(), "shown as given");
    }
    app.stop().await;
}

#[tokio::test]
async fn confusable_domains_and_bidirectional_controls_are_refused() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("confusable").await;
    // "pаypal" with a Cyrillic а (U+0430) among Latin letters.
    let mixed = format!("{}@p\u{430}ypal.com", unique("ada"));
    for (input, field, says) in [
        (json!({ "email": mixed }), "email", "mixes scripts"),
        (
            json!({ "email": "ada\u{202E}moc.evil@example.com" }),
            "email",
            "bidirectional control characters",
        ),
        (
            json!({ "email": "ada@example.com", "displayName": "Ada \u{2067}Lovelace" }),
            "displayName",
            "bidirectional control characters",
        ),
    ] {
        let response = app.tenant(&tenant, CREATE, json!({ "input": input })).await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{input}");
        assert_eq!(response.body["errors"][0]["extensions"]["field"], field);
        let message = response.error_message();
        assert!(
            message.starts_with(field) && message.contains(says),
            "{message}"
        );
    }

    // Proving such an address (the first step of a sign-up) is refused the same way, before
    // any email goes out.
    let response = app
        .start_email_verification(&tenant, &mixed, "SIGN_UP")
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
    assert_eq!(response.body["errors"][0]["extensions"]["field"], "email");
    assert!(response.error_message().contains("mixes scripts"));
    app.stop().await;
}

#[tokio::test]
async fn identities_are_found_by_external_id_attribute_and_organization_within_the_tenant() {
    const FIND: &str = "query($filter: IdentityFilter) { identities(filter: $filter) { totalCount nodes { email } } }";
    let app = TestApp::start().await;
    let tenant = app.create_tenant("find").await;
    let other = app.create_tenant("find-other").await;
    let gold = format!("{}@example.com", unique("gold"));
    let plain = format!("{}@example.com", unique("plain"));
    let external = unique("crm");
    let created = app
        .tenant(
            &tenant,
            CREATE,
            json!({ "input": { "email": gold, "externalId": external, "attributes": { "plan": "gold", "seats": 5, "vip": true } } }),
        )
        .await;
    let gold_id = created.data()["createIdentity"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.tenant(
        &tenant,
        CREATE,
        json!({ "input": { "email": plain, "attributes": { "plan": "free" } } }),
    )
    .await
    .data();
    let (organization, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    app.add_organization_member(&tenant, &organization, &gold_id, &["org:member"])
        .await;
    let (foreign_organization, _) = app
        .create_organization(&other, "Elsewhere", "CUSTOMER")
        .await;

    let emails = |answer: &latchkey_tests::GraphqlResponse| -> Vec<String> {
        answer.data()["identities"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["email"].as_str().unwrap().to_owned())
            .collect()
    };
    for filter in [
        json!({ "externalId": external }),
        json!({ "attribute": { "name": "plan", "value": "gold" } }),
        json!({ "attribute": { "name": "seats", "value": "5" } }),
        json!({ "attribute": { "name": "vip", "value": "true" } }),
        json!({ "organizationId": organization }),
        json!({ "organizationId": organization, "attribute": { "name": "plan", "value": "gold" } }),
    ] {
        let found = app.tenant(&tenant, FIND, json!({ "filter": filter })).await;
        assert!(
            found.body.get("errors").is_none(),
            "{filter}: {}",
            found.body
        );
        assert_eq!(emails(&found), vec![gold.clone()], "{filter}");
        assert_eq!(found.data()["identities"]["totalCount"], 1);
    }
    for filter in [
        json!({ "organizationId": organization, "attribute": { "name": "plan", "value": "free" } }),
        json!({ "attribute": { "name": "plan", "value": "platinum" } }),
        // Another tenant's organization has no members here, and this tenant's none there.
        json!({ "organizationId": foreign_organization }),
    ] {
        let found = app.tenant(&tenant, FIND, json!({ "filter": filter })).await;
        assert!(emails(&found).is_empty(), "{filter}");
    }
    let elsewhere = app
        .tenant(
            &other,
            FIND,
            json!({ "filter": { "organizationId": organization } }),
        )
        .await;
    assert!(emails(&elsewhere).is_empty());
    app.tenant(
        &tenant,
        FIND,
        json!({ "filter": { "attribute": { "name": "plan'--", "value": "x" } } }),
    )
    .await
    .assert_bad_input("attribute.name");
    app.stop().await;
}
