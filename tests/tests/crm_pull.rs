//! CRM → Latchkey: inbound webhooks at `/t/{slug}/connectors/{id}/webhook` (the generic signed
//! form and HubSpot's signature v3), scheduled pulls of the contacts changed since a cursor
//! (HubSpot search, Salesforce SOQL, Dataverse queries against local fakes), organizations
//! and invitations for B2B contacts, no echo back to the connector that pulled, bad input
//! refused with nothing changed, records that wait for an unverified address until it is
//! verified, and isolation between tenants.

use aws_lc_rs::hmac;
use base64::Engine;
use latchkey_tests::crm::{
    CREATE, connector, entra_issues, latchkey_signature, post, pull_now, pulled,
    salesforce_issuing, signed,
};
use latchkey_tests::{TestApp, TestTenant, unique_email};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const IDENTITIES: &str = "query($email: String) { identities(first: 10, filter: { email: $email }) { totalCount nodes { id email emailVerified displayName phone externalId attributes } } }";
const ORGANIZATIONS: &str = "{ organizations(first: 10) { totalCount nodes { id name externalId invitations { nodes { email status roles } } } } }";
const PULL: &str = "query($id: ID!) { crmConnector(id: $id) { pull { cursor lastPullAt lastError records nextPullAt } } }";
const PULL_NOW: &str =
    "mutation($id: ID!) { pullCrmConnector(input: { id: $id }) { connector { id } } }";
const WAITING: &str = "query($id: ID!) { crmWaitingRecords(connectorId: $id, first: 10) { totalCount nodes { remoteId email identityId reason } } }";
const AUDIT: &str = "{ auditEvents(first: 100) { nodes { action actorType actorId targetId } } }";
const SECRET: &str = "whsec_inbound_0123456789";
const UNVERIFIED: &str = "waiting: the identity's email address is not verified yet";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn identities(app: &TestApp, tenant: &TestTenant, email: Option<&str>) -> Value {
    app.tenant(tenant, IDENTITIES, json!({ "email": email }))
        .await
        .data()["identities"]
        .clone()
}

fn contact_event(id: &str, record: &str, fields: Value) -> Value {
    json!({
        "id": id,
        "type": "contact.upserted",
        "occurredAt": chrono::Utc::now(),
        "data": { "recordId": record, "fields": fields },
    })
}

#[tokio::test]
async fn a_signed_webhook_creates_and_updates_identities_and_never_echoes() {
    let back_office = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&back_office)
        .await;
    let other_system = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&other_system)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-inbound").await;
    // Both ways with the back office; a second, push-only connector to another system.
    let both = connector(
        &app,
        &tenant,
        json!({
            "name": "Back office", "kind": "WEBHOOK", "direction": "BOTH",
            "settings": { "url": back_office.uri() }, "credentials": { "secret": SECRET },
        }),
    )
    .await;
    let other = connector(
        &app,
        &tenant,
        json!({
            "name": "Analytics", "kind": "WEBHOOK",
            "settings": { "url": other_system.uri() }, "credentials": { "secret": SECRET },
        }),
    )
    .await;
    let url = both["webhookUrl"].as_str().unwrap().to_owned();
    assert!(
        url.ends_with(&format!(
            "/t/{}/connectors/{}/webhook",
            tenant.slug,
            both["id"].as_str().unwrap()
        )),
        "{url}"
    );
    assert!(other["webhookUrl"].is_null(), "push-only: no webhook URL");

    let email = unique_email();
    let created = contact_event(
        "evt-1",
        "crm-contact-1",
        json!({ "email": email, "emailVerified": true, "displayName": "Ada Lovelace", "phone": "+44 20 7946 0000", "attributes": { "plan": "gold" } }),
    );
    let (status, receipt) = signed(&app, &url, SECRET, &created).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["applied"], 1);
    let found = identities(&app, &tenant, Some(&email)).await;
    assert_eq!(found["totalCount"], 1);
    let identity = &found["nodes"][0];
    assert_eq!(identity["displayName"], "Ada Lovelace");
    assert_eq!(identity["emailVerified"], true);
    assert_eq!(identity["attributes"]["plan"], "gold");

    // The CRM retries the same event: nothing changes.
    let (status, receipt) = signed(&app, &url, SECRET, &created).await;
    assert_eq!(status, 200);
    assert_eq!(receipt["duplicates"], 1);
    assert_eq!(receipt["applied"], 0);

    // A later change of the same record updates the same identity, also when the email moves.
    let new_email = unique_email();
    let changed = contact_event(
        "evt-2",
        "crm-contact-1",
        json!({ "email": new_email, "displayName": "Ada King", "attributes": { "tier": 2 } }),
    );
    let (status, receipt) = signed(&app, &url, SECRET, &changed).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["applied"], 1);
    let all = identities(&app, &tenant, None).await;
    assert_eq!(all["totalCount"], 1, "updated, not duplicated: {all}");
    let identity = &all["nodes"][0];
    assert_eq!(identity["email"], new_email.as_str());
    assert_eq!(
        identity["emailVerified"], false,
        "a new address is not verified unless the CRM says so"
    );
    assert_eq!(identity["displayName"], "Ada King");
    assert_eq!(identity["attributes"], json!({ "plan": "gold", "tier": 2 }));
    // The same content again (a new event id) changes nothing.
    let (_, receipt) = signed(
        &app,
        &url,
        SECRET,
        &contact_event(
            "evt-3",
            "crm-contact-1",
            json!({ "email": new_email, "displayName": "Ada King" }),
        ),
    )
    .await;
    assert_eq!(receipt["unchanged"], 1, "{receipt}");

    // The other connector hears of both changes; the one they came from hears of neither.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let received = other_system.received_requests().await.unwrap();
        let types: Vec<String> = received
            .iter()
            .map(|r| {
                serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        if types.contains(&"identity.created".to_owned())
            && types.contains(&"identity.updated".to_owned())
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other connector got {types:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let echoed = back_office.received_requests().await.unwrap();
    assert!(
        echoed.is_empty(),
        "echoed back to its origin: {} requests",
        echoed.len()
    );
    let queued = app
        .tenant(&tenant, "query($id: ID!) { crmSyncEvents(first: 10, filter: { connectorId: $id }) { totalCount } }", json!({ "id": both["id"] }))
        .await;
    assert_eq!(queued.data()["crmSyncEvents"]["totalCount"], 0);

    // The changes are audited as the connector's.
    let audit = app
        .tenant(
            &tenant,
            "{ auditEvents(first: 50) { nodes { action actorType actorId } } }",
            json!({}),
        )
        .await;
    let nodes = audit.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let by_connector: Vec<&Value> = nodes
        .iter()
        .filter(|n| n["actorType"] == "crm_connector")
        .collect();
    assert!(
        by_connector
            .iter()
            .any(|n| n["action"] == "identity.create")
            && by_connector.iter().all(|n| n["actorId"] == both["id"]),
        "{nodes:#?}"
    );

    // The CRM deletes the record: the link goes, the identity stays.
    let deleted = json!({ "id": "evt-4", "type": "contact.deleted", "occurredAt": chrono::Utc::now(), "data": { "recordId": "crm-contact-1" } });
    let (status, _) = signed(&app, &url, SECRET, &deleted).await;
    assert_eq!(status, 200);
    assert_eq!(identities(&app, &tenant, None).await["totalCount"], 1);
    app.stop().await;
}

#[tokio::test]
async fn b2b_contacts_create_the_organization_and_an_invitation_once() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-b2b").await;
    let both = connector(
        &app,
        &tenant,
        json!({ "name": "Contracts", "kind": "WEBHOOK", "direction": "PULL", "settings": {}, "credentials": { "secret": SECRET } }),
    )
    .await;
    assert_eq!(
        both["settings"],
        json!({}),
        "a pull-only webhook connector needs no URL"
    );
    let url = both["webhookUrl"].as_str().unwrap().to_owned();
    let (ada, grace) = (unique_email(), unique_email());
    for (n, email) in [(1, &ada), (2, &grace), (3, &ada)] {
        let event = json!({
            "id": format!("contract-{n}"),
            "type": "contact.upserted",
            "occurredAt": chrono::Utc::now(),
            "data": {
                "recordId": format!("contact-{email}"),
                "fields": { "email": email },
                "company": { "recordId": "acct-77", "fields": { "name": "Acme Corp", "externalId": "acme-77", "metadata": { "plan": "enterprise" } } },
            },
        });
        let (status, receipt) = signed(&app, &url, SECRET, &event).await;
        assert_eq!(status, 200, "{receipt}");
    }
    let orgs = app.tenant(&tenant, ORGANIZATIONS, json!({})).await;
    let orgs = &orgs.data()["organizations"];
    assert_eq!(
        orgs["totalCount"], 1,
        "one organization for the account: {orgs}"
    );
    let org = &orgs["nodes"][0];
    assert_eq!(org["name"], "Acme Corp");
    assert_eq!(org["externalId"], "acme-77");
    let mut invited: Vec<String> = org["invitations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["roles"], json!(["org:member"]));
            i["email"].as_str().unwrap().to_owned()
        })
        .collect();
    invited.sort();
    let mut expected = vec![ada.clone(), grace.clone()];
    expected.sort();
    assert_eq!(invited, expected, "one invitation each, none repeated");
    app.stop().await;
}

#[tokio::test]
async fn bad_webhook_input_is_refused_and_changes_nothing() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-inbound-bad").await;
    let other = app.create_tenant("crm-inbound-other").await;
    let pulling = connector(
        &app,
        &tenant,
        json!({ "name": "In", "kind": "WEBHOOK", "direction": "PULL", "settings": {}, "credentials": { "secret": SECRET } }),
    )
    .await;
    let pushing = connector(
        &app,
        &tenant,
        json!({ "name": "Out", "kind": "WEBHOOK", "settings": { "url": "http://127.0.0.1:9/hook" }, "credentials": { "secret": SECRET } }),
    )
    .await;
    // Tenant B's connector, with its own secret.
    let other_secret = "whsec_other_tenant_000000";
    let theirs = connector(
        &app,
        &other,
        json!({ "name": "In", "kind": "WEBHOOK", "direction": "PULL", "settings": {}, "credentials": { "secret": other_secret } }),
    )
    .await;
    let url = pulling["webhookUrl"].as_str().unwrap().to_owned();
    let event = contact_event("evt-bad", "r1", json!({ "email": unique_email() }));
    let body = event.to_string();
    let no_email = contact_event("evt-noemail", "r9", json!({ "displayName": "x" })).to_string();

    let cases: Vec<Case> = vec![
        ("no signature", url.clone(), vec![], body.clone(), 401),
        (
            "wrong secret",
            url.clone(),
            vec![(
                "latchkey-signature",
                latchkey_signature("whsec_wrong_wrong_wrong", now(), &body),
            )],
            body.clone(),
            401,
        ),
        (
            "tenant B's secret at A's connector",
            url.clone(),
            vec![(
                "latchkey-signature",
                latchkey_signature(other_secret, now(), &body),
            )],
            body.clone(),
            401,
        ),
        (
            "an old timestamp",
            url.clone(),
            vec![(
                "latchkey-signature",
                latchkey_signature(SECRET, now() - 600, &body),
            )],
            body.clone(),
            401,
        ),
        (
            "a changed body",
            url.clone(),
            vec![(
                "latchkey-signature",
                latchkey_signature(SECRET, now(), &body),
            )],
            body.replace("r1", "r2"),
            401,
        ),
        (
            "malformed JSON",
            url.clone(),
            vec![(
                "latchkey-signature",
                latchkey_signature(SECRET, now(), "{not json"),
            )],
            "{not json".to_owned(),
            400,
        ),
        (
            "an unknown field",
            url.clone(),
            {
                let mut e = event.clone();
                e["extra"] = json!(true);
                vec![(
                    "latchkey-signature",
                    latchkey_signature(SECRET, now(), &e.to_string()),
                )]
            },
            {
                let mut e = event.clone();
                e["extra"] = json!(true);
                e.to_string()
            },
            400,
        ),
        (
            "an unknown type",
            url.clone(),
            {
                let mut e = event.clone();
                e["type"] = json!("contact.exploded");
                vec![(
                    "latchkey-signature",
                    latchkey_signature(SECRET, now(), &e.to_string()),
                )]
            },
            {
                let mut e = event.clone();
                e["type"] = json!("contact.exploded");
                e.to_string()
            },
            400,
        ),
        (
            "a record without email",
            url.clone(),
            vec![(
                "latchkey-signature",
                latchkey_signature(SECRET, now(), &no_email),
            )],
            no_email.clone(),
            400,
        ),
        (
            "a push-only connector",
            pushing["webhookUrl"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    url.replace(
                        pulling["id"].as_str().unwrap(),
                        pushing["id"].as_str().unwrap(),
                    )
                }),
            vec![(
                "latchkey-signature",
                latchkey_signature(SECRET, now(), &body),
            )],
            body.clone(),
            404,
        ),
        (
            "an unknown connector",
            url.replace(
                pulling["id"].as_str().unwrap(),
                &uuid::Uuid::now_v7().to_string(),
            ),
            vec![(
                "latchkey-signature",
                latchkey_signature(SECRET, now(), &body),
            )],
            body.clone(),
            404,
        ),
        (
            "B's connector under A's slug",
            url.replace(
                pulling["id"].as_str().unwrap(),
                theirs["id"].as_str().unwrap(),
            ),
            vec![(
                "latchkey-signature",
                latchkey_signature(other_secret, now(), &body),
            )],
            body.clone(),
            404,
        ),
        (
            "A's connector under B's slug",
            url.replace(
                &format!("/t/{}/", tenant.slug),
                &format!("/t/{}/", other.slug),
            ),
            vec![(
                "latchkey-signature",
                latchkey_signature(SECRET, now(), &body),
            )],
            body.clone(),
            404,
        ),
    ];
    for (what, target, headers, body, expected) in cases {
        let (status, answer) = post(&app, &target, &headers, body).await;
        assert_eq!(status, expected, "{what}: {answer}");
        if status != 404 {
            assert!(
                answer["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}: says why: {answer}"
            );
        }
    }
    // 10 MB: refused before it is read.
    let huge = format!("{{\"id\":\"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let (status, _) = post(
        &app,
        &url,
        &[(
            "latchkey-signature",
            latchkey_signature(SECRET, now(), &huge),
        )],
        huge,
    )
    .await;
    assert_eq!(status, 413);
    // None of it changed anything, in either tenant.
    assert_eq!(identities(&app, &tenant, None).await["totalCount"], 0);
    assert_eq!(identities(&app, &other, None).await["totalCount"], 0);
    // Cross-tenant: A's connector is NOT_FOUND in B's API too.
    let read = app
        .tenant(&other, PULL, json!({ "id": pulling["id"] }))
        .await;
    assert_eq!(read.error_code(), "NOT_FOUND");
    let pull_now = app
        .tenant(&other, PULL_NOW, json!({ "id": pulling["id"] }))
        .await;
    assert_eq!(pull_now.error_code(), "NOT_FOUND");
    // Settings that only pulling CRM connectors take are refused elsewhere, naming the field.
    let refused = app
        .tenant(&tenant, CREATE, json!({ "input": { "name": "x", "kind": "WEBHOOK", "direction": "PULL", "settings": { "pullIntervalSeconds": 60 }, "credentials": { "secret": SECRET } } }))
        .await;
    assert_eq!(
        refused.body["errors"][0]["extensions"]["field"],
        "settings.pullIntervalSeconds"
    );
    let refused = app
        .tenant(&tenant, CREATE, json!({ "input": { "name": "x", "kind": "HUBSPOT", "direction": "PULL", "settings": { "pullIntervalSeconds": 5 }, "credentials": { "token": "t" } } }))
        .await;
    assert_eq!(
        refused.body["errors"][0]["extensions"]["field"],
        "settings.pullIntervalSeconds"
    );
    let refused = app
        .tenant(&tenant, CREATE, json!({ "input": { "name": "x", "kind": "SALESFORCE", "direction": "PULL", "settings": { "instanceUrl": "https://a.my.salesforce.com", "contactExternalIdField": "A__c", "accountExternalIdField": "B__c" }, "credentials": { "clientId": "a", "clientSecret": "b", "webhookSecret": "short" } } }))
        .await;
    assert_eq!(
        refused.body["errors"][0]["extensions"]["field"],
        "credentials.webhookSecret"
    );
    app.stop().await;
}

/// A webhook request that must be refused: what it is, where it goes, its headers and body,
/// and the status expected.
type Case = (&'static str, String, Headers, String, u16);
type Headers = Vec<(&'static str, String)>;

fn hubspot_signature(secret: &str, url: &str, body: &str, ts: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, format!("POST{url}{body}{ts}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

#[tokio::test]
async fn hubspot_webhooks_are_checked_with_signature_v3_and_read_the_contact() {
    let hubspot = MockServer::start().await;
    let email = unique_email();
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/contacts/512"))
        .and(header("authorization", "Bearer pat-na1-inbound"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "512",
            "properties": { "email": email, "firstname": "Grace", "phone": null, "hs_object_id": "512", "lastmodifieddate": "2026-12-05T10:00:00.000Z" },
            "createdAt": "2026-12-05T09:00:00.000Z", "updatedAt": "2026-12-05T10:00:00.000Z", "archived": false
        })))
        .mount(&hubspot)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-hubspot-in").await;
    let created = connector(
        &app,
        &tenant,
        json!({
            "name": "HubSpot", "kind": "HUBSPOT", "direction": "PULL",
            "settings": { "baseUrl": hubspot.uri(), "pullIntervalSeconds": 0 },
            "credentials": { "token": "pat-na1-inbound", "clientSecret": "hubspot-app-secret" },
        }),
    )
    .await;
    let url = created["webhookUrl"].as_str().unwrap().to_owned();
    // Three property changes of one contact and a company event in one batch.
    let batch = json!([
        { "eventId": 101, "subscriptionId": 7, "portalId": 62515, "occurredAt": 1, "subscriptionType": "contact.creation", "objectId": 512, "attemptNumber": 0 },
        { "eventId": 102, "subscriptionId": 7, "portalId": 62515, "occurredAt": 1, "subscriptionType": "contact.propertyChange", "objectId": 512, "propertyName": "firstname", "propertyValue": "Grace" },
        { "eventId": 103, "subscriptionId": 8, "portalId": 62515, "occurredAt": 1, "subscriptionType": "company.propertyChange", "objectId": 9001 }
    ])
    .to_string();
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let sign = |secret: &str, ts: &str| {
        vec![
            (
                "x-hubspot-signature-v3",
                hubspot_signature(secret, &url, &batch, ts),
            ),
            ("x-hubspot-request-timestamp", ts.to_owned()),
        ]
    };
    let (status, answer) = post(&app, &url, &sign("wrong-secret", &ts), batch.clone()).await;
    assert_eq!(status, 401, "{answer}");
    let old = (chrono::Utc::now().timestamp_millis() - 301_000).to_string();
    let (status, _) = post(&app, &url, &sign("hubspot-app-secret", &old), batch.clone()).await;
    assert_eq!(status, 401);
    // Ids are numbers: a path in their place is refused before anything is read.
    let sneaky = json!([{ "eventId": 1, "subscriptionType": "contact.creation", "objectId": "../../owners" }]).to_string();
    let headers = vec![
        (
            "x-hubspot-signature-v3",
            hubspot_signature("hubspot-app-secret", &url, &sneaky, &ts),
        ),
        ("x-hubspot-request-timestamp", ts.clone()),
    ];
    let (status, answer) = post(&app, &url, &headers, sneaky).await;
    assert_eq!(status, 400, "{answer}");
    assert!(hubspot.received_requests().await.unwrap().is_empty());
    assert_eq!(identities(&app, &tenant, None).await["totalCount"], 0);

    let (status, answer) = post(&app, &url, &sign("hubspot-app-secret", &ts), batch.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "applied": 1, "unchanged": 1, "waiting": 0, "duplicates": 0, "ignored": 1 })
    );
    let reads = hubspot.received_requests().await.unwrap();
    assert_eq!(reads.len(), 1, "the contact is read once per batch");
    let found = identities(&app, &tenant, Some(&email)).await;
    assert_eq!(
        found["nodes"][0]["displayName"], "Grace",
        "firstname → displayName (default mapping)"
    );
    // HubSpot retries the batch: nothing happens again.
    let (_, answer) = post(&app, &url, &sign("hubspot-app-secret", &ts), batch.clone()).await;
    assert_eq!(answer["duplicates"], 3);
    assert_eq!(hubspot.received_requests().await.unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn hubspot_pulls_contacts_changed_since_the_cursor() {
    let hubspot = MockServer::start().await;
    let (first, second) = (unique_email(), unique_email());
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/search"))
        .and(body_partial_json(json!({ "filterGroups": [{ "filters": [{ "propertyName": "lastmodifieddate", "operator": "GTE", "value": "0" }] }], "sorts": [{ "propertyName": "lastmodifieddate", "direction": "ASCENDING" }] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total": 2,
            "results": [
                { "id": "601", "properties": { "email": first, "firstname": "Ann", "lastmodifieddate": "2026-12-01T08:00:00.000Z" } },
                { "id": "602", "properties": { "email": second, "firstname": "Bob", "lastmodifieddate": "2026-12-02T08:00:00.000Z" } }
            ]
        })))
        .mount(&hubspot)
        .await;
    // The next pull asks from the newest stamp seen (epoch milliseconds).
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/search"))
        .and(body_partial_json(json!({ "filterGroups": [{ "filters": [{ "value": "1796198400000" }] }] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total": 1,
            "results": [
                { "id": "602", "properties": { "email": second, "firstname": "Bobby", "lastmodifieddate": "2026-12-03T08:00:00.000Z" } }
            ]
        })))
        .mount(&hubspot)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-hubspot-pull").await;
    let created = connector(
        &app,
        &tenant,
        json!({
            "name": "HubSpot", "kind": "HUBSPOT", "direction": "PULL",
            "settings": { "baseUrl": hubspot.uri(), "pullIntervalSeconds": 3600 },
            "credentials": { "token": "pat-na1-pull" },
        }),
    )
    .await;
    assert_eq!(created["settings"]["pullIntervalSeconds"], 3600);
    let pull = pulled(&app, &tenant, &created["id"], 2).await;
    assert_eq!(pull["cursor"], "2026-12-02T08:00:00.000Z", "{pull}");
    assert!(pull["lastError"].is_null(), "{pull}");
    assert_eq!(identities(&app, &tenant, None).await["totalCount"], 2);
    // Run it again now: only what changed since the cursor is read.
    pull_now(&app, &tenant, &created["id"]).await;
    let pull = pulled(&app, &tenant, &created["id"], 3).await;
    assert_eq!(pull["cursor"], "2026-12-03T08:00:00.000Z", "{pull}");
    let bob = identities(&app, &tenant, Some(&second)).await;
    assert_eq!(bob["nodes"][0]["displayName"], "Bobby");
    assert_eq!(identities(&app, &tenant, None).await["totalCount"], 2);
    let searches: Vec<Request> = hubspot.received_requests().await.unwrap();
    assert!(
        searches
            .iter()
            .all(|r| r.headers["authorization"] == "Bearer pat-na1-pull")
    );
    app.stop().await;
}

#[tokio::test]
async fn salesforce_pulls_contacts_with_their_accounts_by_soql() {
    let salesforce = salesforce_issuing("00Dxx!pull").await;
    let email = unique_email();
    Mock::given(method("GET"))
        .and(path("/services/data/v62.0/query"))
        .and(header("authorization", "Bearer 00Dxx!pull"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 1, "done": true,
            "records": [{
                "attributes": { "type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/003A" },
                "Id": "003A", "Email": email, "LastName": "Hopper", "Phone": "+1 555 0100",
                "SystemModstamp": "2026-12-01T08:00:00.000+0000",
                "Account": { "attributes": { "type": "Account" }, "Id": "001B", "Name": "Navy Labs" }
            }]
        })))
        .mount(&salesforce)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-sf-pull").await;
    let created = connector(
        &app,
        &tenant,
        json!({
            "name": "Salesforce", "kind": "SALESFORCE", "direction": "PULL",
            "settings": { "instanceUrl": salesforce.uri(), "contactExternalIdField": "IdP_User_Id__c", "accountExternalIdField": "IdP_Org_Id__c", "pullIntervalSeconds": 3600, "pullOrganizations": true },
            "credentials": { "clientId": "3MVG9-pull", "clientSecret": "s3cr3t" },
        }),
    )
    .await;
    let pull = pulled(&app, &tenant, &created["id"], 1).await;
    assert_eq!(pull["cursor"], "2026-12-01T08:00:00.000Z", "{pull}");
    let found = identities(&app, &tenant, Some(&email)).await;
    assert_eq!(found["nodes"][0]["displayName"], "Hopper");
    assert_eq!(found["nodes"][0]["phone"], "+15550100", "stored in E.164");
    let orgs = app.tenant(&tenant, ORGANIZATIONS, json!({})).await;
    let org = &orgs.data()["organizations"]["nodes"][0];
    assert_eq!(org["name"], "Navy Labs");
    assert_eq!(org["invitations"]["nodes"][0]["email"], email.as_str());
    // The first query reads everything; the next one from the cursor.
    pull_now(&app, &tenant, &created["id"]).await;
    pulled(&app, &tenant, &created["id"], 2).await;
    let queries: Vec<String> = salesforce
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/services/data/v62.0/query")
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "q")
                .unwrap()
                .1
                .into_owned()
        })
        .collect();
    assert!(
        queries[0].starts_with("SELECT SystemModstamp,Id,"),
        "{}",
        queries[0]
    );
    assert!(
        queries[0].contains("Account.Id,Account.Name"),
        "{}",
        queries[0]
    );
    assert!(!queries[0].contains("WHERE"), "{}", queries[0]);
    assert!(
        queries[1]
            .contains("WHERE SystemModstamp >= 2026-12-01T08:00:00Z ORDER BY SystemModstamp ASC"),
        "{}",
        queries[1]
    );
    assert_eq!(
        app.tenant(&tenant, ORGANIZATIONS, json!({})).await.data()["organizations"]["totalCount"],
        1
    );
    // Reading the same record again (the spaced phone included) changed nothing.
    let updates = app
        .tenant(
            &tenant,
            "{ domainEvents(first: 10, filter: { type: IDENTITY_UPDATED }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(updates.data()["domainEvents"]["totalCount"], 0);
    app.stop().await;
}

#[tokio::test]
async fn dynamics_pulls_contacts_modified_since_the_cursor() {
    let dataverse = MockServer::start().await;
    entra_issues(&dataverse, "/tenant-id/oauth2/v2.0/token", "eyJ0eXAi.pull").await;
    let email = unique_email();
    Mock::given(method("GET"))
        .and(path("/api/data/v9.2/contacts"))
        .and(header("authorization", "Bearer eyJ0eXAi.pull"))
        .and(header("odata-version", "4.0"))
        .and(query_param("$orderby", "modifiedon asc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://org.crm.dynamics.com/api/data/v9.2/$metadata#contacts",
            "value": [{
                "@odata.etag": "W/\"1\"", "contactid": "00000000-0000-0000-0000-0000000000c1",
                "emailaddress1": email, "lastname": "Lamarr", "telephone1": null,
                "modifiedon": "2026-12-01T08:00:00Z"
            }]
        })))
        .mount(&dataverse)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-dyn-pull").await;
    let created = connector(
        &app,
        &tenant,
        json!({
            "name": "Dynamics", "kind": "DYNAMICS365", "direction": "BOTH",
            "triggers": ["IDENTITY_CREATED", "IDENTITY_UPDATED"],
            "settings": { "baseUrl": format!("{}/api/data/v9.2", dataverse.uri()), "tokenUrl": format!("{}/tenant-id/oauth2/v2.0/token", dataverse.uri()), "contactKey": "new_idpuserid", "accountKey": "new_idporgid", "pullIntervalSeconds": 3600 },
            "credentials": { "clientId": "app-id", "clientSecret": "app-secret" },
        }),
    )
    .await;
    let pull = pulled(&app, &tenant, &created["id"], 1).await;
    assert_eq!(pull["cursor"], "2026-12-01T08:00:00.000Z", "{pull}");
    let found = identities(&app, &tenant, Some(&email)).await;
    assert_eq!(found["nodes"][0]["displayName"], "Lamarr");
    pull_now(&app, &tenant, &created["id"]).await;
    pulled(&app, &tenant, &created["id"], 2).await;
    let reads: Vec<Request> = dataverse
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/api/data/v9.2/contacts")
        .collect();
    let filter = |r: &Request| {
        r.url
            .query_pairs()
            .find(|(k, _)| k == "$filter")
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(filter(&reads[0]), None);
    assert_eq!(
        filter(&reads[1]).as_deref(),
        Some("modifiedon ge 2026-12-01T08:00:00Z")
    );
    assert!(
        reads[0].headers["prefer"]
            .to_str()
            .unwrap()
            .contains("odata.maxpagesize=")
    );
    // BOTH: the identity it pulled is not pushed back to Dataverse.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pushed = dataverse
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .count();
    assert_eq!(pushed, 0, "no echo");
    // A later change in Latchkey goes to the row it was pulled from (by its id), and gives it
    // the alternate key, so no second contact is made.
    Mock::given(method("PATCH"))
        .and(path(
            "/api/data/v9.2/contacts(00000000-0000-0000-0000-0000000000c1)",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "contactid": "00000000-0000-0000-0000-0000000000c1" })),
        )
        .mount(&dataverse)
        .await;
    let id = found["nodes"][0]["id"].as_str().unwrap().to_owned();
    app.tenant(
        &tenant,
        "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { id } } }",
        json!({ "input": { "id": id, "displayName": "Hedy" } }),
    )
    .await
    .data();
    let deadline = Instant::now() + Duration::from_secs(20);
    let patch = loop {
        let requests = dataverse.received_requests().await.unwrap();
        if let Some(patch) = requests.into_iter().find(|r| r.method.as_str() == "PATCH") {
            break patch;
        }
        assert!(Instant::now() < deadline, "the update was not pushed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        patch.url.path(),
        "/api/data/v9.2/contacts(00000000-0000-0000-0000-0000000000c1)"
    );
    let body: Value = serde_json::from_slice(&patch.body).unwrap();
    assert_eq!(body["lastname"], "Hedy");
    assert_eq!(body["new_idpuserid"], id.as_str());
    app.stop().await;
}

/// An identity created by an admin with an address nobody has proved, and a few details of
/// its own; answers its id.
async fn unverified_identity(app: &TestApp, tenant: &TestTenant, email: &str) -> String {
    let created = app
        .tenant(
            tenant,
            "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id emailVerified } } }",
            json!({ "input": { "email": email, "emailVerified": false, "displayName": "Mallory", "attributes": { "own": true } } }),
        )
        .await;
    let identity = &created.data()["createIdentity"]["identity"];
    assert_eq!(identity["emailVerified"], false);
    identity["id"].as_str().unwrap().to_owned()
}

/// The admin marks the identity's address verified.
async fn verify(app: &TestApp, tenant: &TestTenant, id: &str) {
    let updated = app
        .tenant(
            tenant,
            "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { emailVerified } } }",
            json!({ "input": { "id": id, "emailVerified": true } }),
        )
        .await;
    assert_eq!(
        updated.data()["updateIdentity"]["identity"]["emailVerified"],
        true
    );
}

async fn waiting(app: &TestApp, tenant: &TestTenant, connector_id: &Value) -> Value {
    app.tenant(tenant, WAITING, json!({ "id": connector_id }))
        .await
        .data()["crmWaitingRecords"]
        .clone()
}

/// The tenant's audit events a connector wrote.
async fn connector_actions(app: &TestApp, tenant: &TestTenant) -> Vec<Value> {
    let audit = app.tenant(tenant, AUDIT, json!({})).await;
    audit.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["actorType"] == "crm_connector")
        .cloned()
        .collect()
}

/// The identity with `email`, once `done` holds for it (the dispatcher applies released
/// records in the background).
async fn identity_once(
    app: &TestApp,
    tenant: &TestTenant,
    email: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = identities(app, tenant, Some(email)).await;
        if done(&found["nodes"][0]) {
            return found["nodes"][0].clone();
        }
        assert!(Instant::now() < deadline, "not applied: {found}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts the identity is as the admin created it: nothing of the CRM's on it.
fn untouched(identity: &Value) {
    assert_eq!(identity["displayName"], "Mallory", "{identity}");
    assert!(identity["phone"].is_null(), "{identity}");
    assert_eq!(identity["attributes"], json!({ "own": true }), "{identity}");
    assert_eq!(identity["emailVerified"], false, "{identity}");
}

#[tokio::test]
async fn a_pulled_contact_waits_for_an_unverified_address_and_applies_once_it_is_verified() {
    let hubspot = MockServer::start().await;
    let email = unique_email();
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total": 1,
            "results": [
                { "id": "701", "properties": { "email": email, "firstname": "Ada", "phone": "+44 20 7946 0000", "plan": "gold", "lastmodifieddate": "2026-12-01T08:00:00.000Z" } }
            ]
        })))
        .mount(&hubspot)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v4/objects/contact/701/associations/company"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "results": [{ "toObjectId": 9001 }] })),
        )
        .mount(&hubspot)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/companies/9001"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({ "id": "9001", "properties": { "name": "Analytical Engines" } }),
            ),
        )
        .mount(&hubspot)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-wait-pull").await;
    // Someone holds the address without having proved it.
    let identity_id = unverified_identity(&app, &tenant, &email).await;
    let created = connector(
        &app,
        &tenant,
        json!({
            "name": "HubSpot", "kind": "HUBSPOT", "direction": "PULL",
            "settings": { "baseUrl": hubspot.uri(), "pullIntervalSeconds": 3600, "pullOrganizations": true },
            "credentials": { "token": "pat-na1-wait" },
            "fieldMapping": {
                "identity": { "email": "email", "firstname": "displayName", "phone": "phone", "plan": "attributes.plan" },
                "organization": { "name": "name" }
            },
        }),
    )
    .await;
    let pull = pulled(&app, &tenant, &created["id"], 0).await;
    assert!(pull["lastError"].is_null(), "waiting is no error: {pull}");
    assert_eq!(pull["records"], 0, "nothing was applied: {pull}");

    // The record waits and says why; the identity has nothing of the CRM's, no second identity
    // was made for the address, no organization and no invitation, and the connector did
    // nothing at all.
    let waits = waiting(&app, &tenant, &created["id"]).await;
    assert_eq!(waits["totalCount"], 1, "{waits}");
    assert_eq!(
        waits["nodes"][0],
        json!({ "remoteId": "701", "email": email, "identityId": identity_id, "reason": UNVERIFIED })
    );
    let found = identities(&app, &tenant, None).await;
    assert_eq!(found["totalCount"], 1, "no second identity: {found}");
    untouched(&found["nodes"][0]);
    let orgs = app.tenant(&tenant, ORGANIZATIONS, json!({})).await;
    assert_eq!(orgs.data()["organizations"]["totalCount"], 0);
    assert_eq!(connector_actions(&app, &tenant).await, Vec::<Value>::new());

    // The address is verified: the waiting record is applied, its company created and the
    // identity invited into it.
    verify(&app, &tenant, &identity_id).await;
    let applied = identity_once(&app, &tenant, &email, |i| i["displayName"] == "Ada").await;
    assert_eq!(applied["id"], identity_id.as_str(), "the same identity");
    assert_eq!(applied["phone"], "+442079460000");
    assert_eq!(
        applied["attributes"],
        json!({ "own": true, "plan": "gold" })
    );
    assert_eq!(applied["emailVerified"], true);
    let deadline = Instant::now() + Duration::from_secs(20);
    let org = loop {
        let orgs = app.tenant(&tenant, ORGANIZATIONS, json!({})).await;
        let org = orgs.data()["organizations"]["nodes"][0].clone();
        if org["invitations"]["nodes"][0].is_object() {
            break org;
        }
        assert!(Instant::now() < deadline, "no invitation: {org}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(org["name"], "Analytical Engines");
    assert_eq!(org["invitations"]["nodes"][0]["email"], email.as_str());
    assert_eq!(
        waiting(&app, &tenant, &created["id"]).await["totalCount"],
        0
    );
    let actions = connector_actions(&app, &tenant).await;
    assert!(
        actions
            .iter()
            .any(|a| a["action"] == "identity.update" && a["targetId"] == identity_id.as_str()),
        "{actions:#?}"
    );
    // Pulled again, the record is linked and as Latchkey has it: it changes nothing.
    pull_now(&app, &tenant, &created["id"]).await;
    let pull = pulled(&app, &tenant, &created["id"], 1).await;
    assert!(pull["lastError"].is_null(), "{pull}");
    assert_eq!(identities(&app, &tenant, None).await["totalCount"], 1);
    assert_eq!(
        waiting(&app, &tenant, &created["id"]).await["totalCount"],
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_contact_waits_for_an_unverified_address_and_its_newest_version_applies() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-wait-hook").await;
    let email = unique_email();
    let identity_id = unverified_identity(&app, &tenant, &email).await;
    let created = connector(
        &app,
        &tenant,
        json!({ "name": "Contracts", "kind": "WEBHOOK", "direction": "PULL", "settings": {}, "credentials": { "secret": SECRET } }),
    )
    .await;
    let url = created["webhookUrl"].as_str().unwrap().to_owned();
    let company =
        json!({ "recordId": "acct-1", "fields": { "name": "Acme Corp", "externalId": "acme-1" } });
    let event = |id: &str, name: &str| {
        json!({
            "id": id, "type": "contact.upserted", "occurredAt": chrono::Utc::now(),
            "data": {
                "recordId": "contact-1",
                "fields": { "email": email, "displayName": name, "phone": "+44 20 7946 0000", "attributes": { "plan": "gold" } },
                "company": company,
            },
        })
    };
    let (status, receipt) = signed(&app, &url, SECRET, &event("evt-1", "Ada")).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(
        receipt,
        json!({ "applied": 0, "unchanged": 0, "waiting": 1, "duplicates": 0, "ignored": 0 })
    );
    // The CRM changes the record meanwhile: it still waits, as its newest version.
    let (_, receipt) = signed(&app, &url, SECRET, &event("evt-2", "Ada King")).await;
    assert_eq!(receipt["waiting"], 1, "{receipt}");
    let waits = waiting(&app, &tenant, &created["id"]).await;
    assert_eq!(waits["totalCount"], 1, "one record, one row: {waits}");
    assert_eq!(waits["nodes"][0]["reason"], UNVERIFIED);
    assert_eq!(waits["nodes"][0]["identityId"], identity_id.as_str());
    let found = identities(&app, &tenant, None).await;
    assert_eq!(found["totalCount"], 1, "no second identity: {found}");
    untouched(&found["nodes"][0]);
    let orgs = app.tenant(&tenant, ORGANIZATIONS, json!({})).await;
    assert_eq!(
        orgs.data()["organizations"]["totalCount"],
        0,
        "no invitation"
    );
    assert_eq!(connector_actions(&app, &tenant).await, Vec::<Value>::new());

    verify(&app, &tenant, &identity_id).await;
    let applied = identity_once(&app, &tenant, &email, |i| i["displayName"] == "Ada King").await;
    assert_eq!(applied["id"], identity_id.as_str());
    assert_eq!(applied["phone"], "+442079460000");
    assert_eq!(
        applied["attributes"],
        json!({ "own": true, "plan": "gold" })
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let orgs = app.tenant(&tenant, ORGANIZATIONS, json!({})).await;
        let org = orgs.data()["organizations"]["nodes"][0].clone();
        if org["invitations"]["nodes"][0]["email"] == email.as_str() {
            assert_eq!(org["externalId"], "acme-1");
            break;
        }
        assert!(Instant::now() < deadline, "no invitation: {org}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        waiting(&app, &tenant, &created["id"]).await["totalCount"],
        0
    );
    // Linked now: the same content again changes nothing and waits for nothing.
    let (_, receipt) = signed(&app, &url, SECRET, &event("evt-3", "Ada King")).await;
    assert_eq!(receipt["unchanged"], 1, "{receipt}");
    assert_eq!(identities(&app, &tenant, None).await["totalCount"], 1);
    app.stop().await;
}

#[tokio::test]
async fn a_record_waiting_in_tenant_a_never_links_to_the_address_verified_in_tenant_b() {
    let app = TestApp::start().await;
    let a = app.create_tenant("crm-wait-a").await;
    let b = app.create_tenant("crm-wait-b").await;
    let email = unique_email();
    let held = unverified_identity(&app, &a, &email).await;
    let ours = connector(
        &app,
        &a,
        json!({ "name": "In", "kind": "WEBHOOK", "direction": "PULL", "settings": {}, "credentials": { "secret": SECRET } }),
    )
    .await;
    let url = ours["webhookUrl"].as_str().unwrap().to_owned();
    let (_, receipt) = signed(
        &app,
        &url,
        SECRET,
        &contact_event(
            "evt-a1",
            "contact-a1",
            json!({ "email": email, "displayName": "From A's CRM" }),
        ),
    )
    .await;
    assert_eq!(receipt["waiting"], 1, "{receipt}");

    // Tenant B has the same address, verified from the start and verified again.
    let theirs = app
        .tenant(
            &b,
            "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }",
            json!({ "input": { "email": email, "emailVerified": true, "displayName": "B's own" } }),
        )
        .await;
    let theirs = theirs.data()["createIdentity"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = unverified_identity(&app, &b, &unique_email()).await;
    verify(&app, &b, &other).await;

    // A control in tenant A: another waiting record, released by its own verification after
    // B's, shows that the dispatcher has run since.
    let control = unique_email();
    let control_id = unverified_identity(&app, &a, &control).await;
    let (_, receipt) = signed(
        &app,
        &url,
        SECRET,
        &contact_event(
            "evt-a2",
            "contact-a2",
            json!({ "email": control, "displayName": "Control" }),
        ),
    )
    .await;
    assert_eq!(receipt["waiting"], 1, "{receipt}");
    verify(&app, &a, &control_id).await;
    identity_once(&app, &a, &control, |i| i["displayName"] == "Control").await;

    // A's record still waits for A's identity, which is untouched; B's identity has nothing
    // of A's CRM, and no connector acted in B.
    let waits = waiting(&app, &a, &ours["id"]).await;
    assert_eq!(waits["totalCount"], 1, "{waits}");
    assert_eq!(waits["nodes"][0]["remoteId"], "contact-a1");
    assert_eq!(waits["nodes"][0]["identityId"], held.as_str());
    untouched(&identities(&app, &a, Some(&email)).await["nodes"][0]);
    let in_b = identities(&app, &b, Some(&email)).await;
    assert_eq!(in_b["nodes"][0]["id"], theirs.as_str());
    assert_eq!(in_b["nodes"][0]["displayName"], "B's own");
    assert_eq!(connector_actions(&app, &b).await, Vec::<Value>::new());
    // A's waiting records are NOT_FOUND in B's API.
    let read = app.tenant(&b, WAITING, json!({ "id": ours["id"] })).await;
    assert_eq!(read.error_code(), "NOT_FOUND");
    // The CRM deletes the waiting contact: it waits no more, and A's identity stays untouched.
    let deleted = json!({ "id": "evt-a3", "type": "contact.deleted", "occurredAt": chrono::Utc::now(), "data": { "recordId": "contact-a1" } });
    let (status, _) = signed(&app, &url, SECRET, &deleted).await;
    assert_eq!(status, 200);
    assert_eq!(waiting(&app, &a, &ours["id"]).await["totalCount"], 0);
    untouched(&identities(&app, &a, Some(&email)).await["nodes"][0]);
    app.stop().await;
}
