//! CRM connectors pushing domain events through the outbox dispatcher, against local HTTP
//! servers (wiremock) that check the shapes HubSpot, Salesforce, Dataverse and the signed
//! webhook format document: signatures, idempotency keys, upserts by key, OAuth client
//! credentials, retries with Retry-After, dead letters and replays, validation that names the
//! bad field, write-only credentials, and isolation between tenants.

use aws_lc_rs::hmac;
use latchkey_tests::{TestApp, TestTenant, unique_email};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{body_partial_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CREATE: &str = "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id name kind direction triggers settings fieldMapping enabled } } }";
const SYNC_EVENTS: &str = "query($filter: CrmSyncEventFilter) { crmSyncEvents(first: 100, filter: $filter) { totalCount nodes { id connectorId eventId eventType subjectId status attempts lastError remoteId deliveredAt } } }";
const SECRET: &str = "whsec_0123456789abcdef";

async fn create(app: &TestApp, tenant: &TestTenant, input: Value) -> Value {
    app.tenant(tenant, CREATE, json!({ "input": input }))
        .await
        .body
}

async fn connector(app: &TestApp, tenant: &TestTenant, input: Value) -> String {
    let created = create(app, tenant, input).await;
    created["data"]["createCrmConnector"]["connector"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned()
}

async fn sync_events(app: &TestApp, tenant: &TestTenant, filter: Value) -> Vec<Value> {
    let response = app
        .tenant(tenant, SYNC_EVENTS, json!({ "filter": filter }))
        .await;
    response.data()["crmSyncEvents"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until every delivery of `connector` has left `PENDING` (and there are `count`).
async fn settled(app: &TestApp, tenant: &TestTenant, connector: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = sync_events(app, tenant, json!({ "connectorId": connector })).await;
        if events.len() >= count && events.iter().all(|e| e["status"] != "PENDING") {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not settle: {events:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A webhook receiver that answers every POST with 200.
async fn accepting_receiver() -> MockServer {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    receiver
}

fn webhook(url: &str) -> Value {
    json!({
        "name": "Events to our back office",
        "kind": "WEBHOOK",
        "triggers": ["IDENTITY_CREATED", "IDENTITY_UPDATED"],
        "settings": { "url": url },
        "credentials": { "secret": SECRET },
    })
}

/// Checks `Latchkey-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
fn signature_valid(request: &Request) -> bool {
    let header = request.headers["latchkey-signature"].to_str().unwrap();
    let (t, v1) = header.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = hex::decode(v1.strip_prefix("v1=").unwrap()).unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(&request.body);
    let fresh = (t.parse::<i64>().unwrap() - chrono_now()).abs() < 300;
    fresh && hmac::verify(&key, &message, &v1).is_ok()
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_webhook_connector_posts_signed_events_with_an_idempotency_key() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/latchkey"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-webhook").await;
    let id = connector(
        &app,
        &tenant,
        webhook(&format!("{}/hooks/latchkey", receiver.uri())),
    )
    .await;

    let email = unique_email();
    let identity = app.create_identity(&tenant, &email).await;
    // Not a trigger of this connector: never delivered.
    app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let delivered = settled(&app, &tenant, &id, 1).await;
    assert_eq!(delivered.len(), 1);
    let delivery = &delivered[0];
    assert_eq!(delivery["status"], "DELIVERED");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["eventType"], "identity.created");
    assert_eq!(delivery["subjectId"], identity.as_str());

    let requests = receiver.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert!(signature_valid(request), "the signature verifies");
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["id"], delivery["eventId"]);
    assert_eq!(
        request.headers["idempotency-key"].to_str().unwrap(),
        delivery["eventId"].as_str().unwrap()
    );
    assert_eq!(body["type"], "identity.created");
    assert_eq!(body["tenant"], tenant.slug.as_str());
    assert_eq!(body["data"]["email"], email.as_str());
    assert!(body["occurredAt"].is_string());

    // The connector as the API shows it: no credentials anywhere.
    let listed = app
        .tenant(
            &tenant,
            "{ crmConnectors { nodes { id name kind direction triggers settings fieldMapping enabled } } }",
            json!({}),
        )
        .await;
    let text = listed.body.to_string();
    assert!(!text.contains(SECRET), "{text}");
    assert_eq!(
        listed.data()["crmConnectors"]["nodes"][0]["triggers"],
        json!(["IDENTITY_CREATED", "IDENTITY_UPDATED"])
    );
    let tested = app
        .tenant(
            &tenant,
            "mutation($input: CrmConnectorIdInput!) { testCrmConnector(input: $input) { ok message } }",
            json!({ "input": { "id": id } }),
        )
        .await;
    assert_eq!(tested.data()["testCrmConnector"]["ok"], true);
    let ping: Value =
        serde_json::from_slice(&receiver.received_requests().await.unwrap()[1].body).unwrap();
    assert_eq!(ping["type"], "ping");
}

#[tokio::test]
async fn failures_retry_with_retry_after_then_dead_letter_and_replay() {
    let receiver = MockServer::start().await;
    // Twice "come back later", then accepted.
    Mock::given(method("POST"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(500).set_body_string("database on fire"))
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/refuses"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({ "message": "unknown field plan" })),
        )
        .mount(&receiver)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-retry").await;
    let flaky = connector(&app, &tenant, json!({ "name": "flaky", "kind": "WEBHOOK", "settings": { "url": format!("{}/flaky", receiver.uri()) }, "credentials": { "secret": SECRET } })).await;
    let down = connector(&app, &tenant, json!({ "name": "down", "kind": "WEBHOOK", "settings": { "url": format!("{}/down", receiver.uri()) }, "credentials": { "secret": SECRET } })).await;
    let refuses = connector(&app, &tenant, json!({ "name": "refuses", "kind": "WEBHOOK", "settings": { "url": format!("{}/refuses", receiver.uri()) }, "credentials": { "secret": SECRET } })).await;

    let identity = app.create_identity(&tenant, &unique_email()).await;
    let flaky_done = settled(&app, &tenant, &flaky, 1).await;
    assert_eq!(flaky_done[0]["status"], "DELIVERED");
    assert_eq!(flaky_done[0]["attempts"], 3);
    // The test servers give up after three attempts.
    let dead = settled(&app, &tenant, &down, 1).await;
    assert_eq!(dead[0]["status"], "DEAD");
    assert_eq!(dead[0]["attempts"], 3);
    assert!(
        dead[0]["lastError"].as_str().unwrap().contains("500"),
        "{}",
        dead[0]
    );
    assert!(
        dead[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("database on fire")
    );
    // A 400 will not get better by trying again: dead at once.
    let refused = settled(&app, &tenant, &refuses, 1).await;
    assert_eq!(refused[0]["status"], "DEAD");
    assert_eq!(refused[0]["attempts"], 1);
    assert!(
        refused[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("unknown field plan")
    );
    assert_eq!(
        sync_events(
            &app,
            &tenant,
            json!({ "status": "DEAD", "subjectId": identity })
        )
        .await
        .len(),
        2
    );

    // Replayed once the receiver is back: delivered, from a fresh attempt count.
    receiver.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    const REPLAY: &str = "mutation($input: ReplayCrmSyncEventInput!) { replayCrmSyncEvent(input: $input) { syncEvent { status attempts } } }";
    let replayed = app
        .tenant(&tenant, REPLAY, json!({ "input": { "id": dead[0]["id"] } }))
        .await;
    assert_eq!(
        replayed.data()["replayCrmSyncEvent"]["syncEvent"]["status"],
        "PENDING"
    );
    let again = settled(&app, &tenant, &down, 1).await;
    assert_eq!(again[0]["status"], "DELIVERED");
    assert_eq!(again[0]["attempts"], 1);
    // Only dead deliveries are replayed.
    let twice = app
        .tenant(&tenant, REPLAY, json!({ "input": { "id": dead[0]["id"] } }))
        .await;
    assert_eq!(twice.error_code(), "FORBIDDEN");

    // A server's metrics count its own dispatcher's attempts. On PostgreSQL the other test
    // servers' dispatchers share the queue (and other tests' deliveries wait in it), so the
    // exact figures hold on the embedded database only.
    if latchkey_tests::test_database_url().is_none() {
        let metrics = app.metrics().await;
        assert_eq!(
            metrics["latchkey_crm_deliveries_total{kind=\"webhook\",outcome=\"dead\"}"],
            2.0
        );
        assert!(
            metrics["latchkey_crm_deliveries_total{kind=\"webhook\",outcome=\"retry\"}"] >= 4.0
        );
        assert_eq!(metrics["latchkey_crm_queue_depth"], 0.0);
    }
}

#[tokio::test]
async fn a_disabled_connector_keeps_its_events_until_enabled() {
    let receiver = accepting_receiver().await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-disabled").await;
    let id = connector(&app, &tenant, webhook(&receiver.uri())).await;
    const TOGGLE: &str = "mutation($input: CrmConnectorIdInput!) { disableCrmConnector(input: $input) { connector { enabled } } }";
    let disabled = app
        .tenant(&tenant, TOGGLE, json!({ "input": { "id": id } }))
        .await;
    assert_eq!(
        disabled.data()["disableCrmConnector"]["connector"]["enabled"],
        false
    );
    app.create_identity(&tenant, &unique_email()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.received_requests().await.unwrap().is_empty());
    assert_eq!(
        sync_events(&app, &tenant, json!({ "status": "PENDING" }))
            .await
            .len(),
        1
    );
    app.tenant(
        &tenant,
        "mutation($input: CrmConnectorIdInput!) { enableCrmConnector(input: $input) { connector { enabled } } }",
        json!({ "input": { "id": id } }),
    )
    .await
    .data();
    let delivered = settled(&app, &tenant, &id, 1).await;
    assert_eq!(delivered[0]["status"], "DELIVERED");
    assert_eq!(receiver.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn hubspot_contacts_companies_and_associations() {
    let hubspot = MockServer::start().await;
    let bearer = "Bearer pat-na1-test-token";
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/batch/upsert"))
        .and(header("authorization", bearer))
        .and(body_partial_json(json!({ "inputs": [{ "idProperty": "email" }] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "COMPLETE",
            "results": [{ "id": "512", "new": true, "properties": {}, "createdAt": "2026-11-30T00:00:00Z", "updatedAt": "2026-11-30T00:00:00Z", "archived": false }],
            "startedAt": "2026-11-30T00:00:00Z", "completedAt": "2026-11-30T00:00:00Z"
        })))
        .mount(&hubspot)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/crm/v3/objects/contacts/512"))
        .and(header("authorization", bearer))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "512", "properties": {} })),
        )
        .mount(&hubspot)
        .await;
    // Companies are upserted by the unique property the mapping fills with Latchkey's id.
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/companies/batch/upsert"))
        .and(header("authorization", bearer))
        .and(body_partial_json(json!({ "inputs": [{ "idProperty": "idp_org_id" }] })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "COMPLETE",
            "results": [{ "id": "9001", "new": true, "properties": {}, "createdAt": "2026-11-30T00:00:00Z", "updatedAt": "2026-11-30T00:00:00Z", "archived": false }],
            "startedAt": "2026-11-30T00:00:00Z", "completedAt": "2026-11-30T00:00:00Z"
        })))
        .mount(&hubspot)
        .await;
    Mock::given(method("PUT"))
        .and(path(
            "/crm/v4/objects/contact/512/associations/default/company/9001",
        ))
        .and(header("authorization", bearer))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "status": "COMPLETE", "results": [] })),
        )
        .mount(&hubspot)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-hubspot").await;
    let id = connector(
        &app,
        &tenant,
        json!({
            "name": "HubSpot",
            "kind": "HUBSPOT",
            "settings": { "baseUrl": hubspot.uri() },
            "credentials": { "token": "pat-na1-test-token" },
            "fieldMapping": {
                "identity": { "email": "email", "firstname": "displayName", "plan": "attributes.plan", "idp_user_id": "id" },
                "organization": { "name": "name", "idp_org_id": "id" }
            }
        }),
    )
    .await;

    let email = unique_email();
    let identity = app.create_identity(&tenant, &email).await;
    settled(&app, &tenant, &id, 1).await;
    app.tenant(
        &tenant,
        "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { id } } }",
        json!({ "input": { "id": identity, "displayName": "Ada", "attributes": { "plan": "gold" } } }),
    )
    .await
    .data();
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    settled(&app, &tenant, &id, 3).await;
    app.tenant(
        &tenant,
        "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": org, "identityId": identity, "roles": ["org:member"] } }),
    )
    .await
    .data();
    let events = settled(&app, &tenant, &id, 4).await;
    for event in &events {
        assert_eq!(event["status"], "DELIVERED", "{event}");
    }
    assert_eq!(events[0]["remoteId"], "512");
    assert_eq!(events[2]["remoteId"], "9001");

    // On PostgreSQL every test server's dispatcher shares the queue, so the calls may come in
    // another order: each is found by its path.
    let requests = hubspot.received_requests().await.unwrap();
    let at = |path: &str| -> &Request {
        requests
            .iter()
            .find(|r| r.url.path() == path)
            .unwrap_or_else(|| panic!("no call to {path}"))
    };
    let upsert: Value =
        serde_json::from_slice(&at("/crm/v3/objects/contacts/batch/upsert").body).unwrap();
    assert_eq!(upsert["inputs"][0]["id"], email.as_str());
    assert_eq!(
        upsert["inputs"][0]["properties"]["idp_user_id"],
        identity.as_str()
    );
    let patch: Value = serde_json::from_slice(&at("/crm/v3/objects/contacts/512").body).unwrap();
    assert_eq!(patch["properties"]["firstname"], "Ada");
    assert_eq!(patch["properties"]["plan"], "gold");
    let company: Value =
        serde_json::from_slice(&at("/crm/v3/objects/companies/batch/upsert").body).unwrap();
    assert_eq!(company["inputs"][0]["id"], org.as_str());
    assert_eq!(company["inputs"][0]["properties"]["name"], "Acme");
    assert_eq!(
        company["inputs"][0]["properties"]["idp_org_id"],
        org.as_str()
    );
    assert_eq!(
        at("/crm/v4/objects/contact/512/associations/default/company/9001")
            .method
            .as_str(),
        "PUT"
    );
    assert_eq!(requests.len(), 4);
}

/// A contact whose record id was never recorded (its create answered too late, or the
/// connector did not push creations) is found by email and deleted with its identity.
#[tokio::test]
async fn hubspot_finds_a_contact_without_a_recorded_id_by_email_to_delete_it() {
    let hubspot = MockServer::start().await;
    let email = unique_email();
    Mock::given(method("GET"))
        .and(path(format!("/crm/v3/objects/contacts/{email}")))
        .and(wiremock::matchers::query_param("idProperty", "email"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "id": "777", "properties": { "email": email }, "archived": false }),
        ))
        .mount(&hubspot)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/crm/v3/objects/contacts/777"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hubspot)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-hubspot-delete").await;
    let id = connector(
        &app,
        &tenant,
        json!({
            "name": "HubSpot deletions",
            "kind": "HUBSPOT",
            "triggers": ["IDENTITY_DELETED"],
            "settings": { "baseUrl": hubspot.uri() },
            "credentials": { "token": "pat-na1-delete" },
        }),
    )
    .await;
    let identity = app.create_identity(&tenant, &email).await;
    app.tenant(
        &tenant,
        "mutation($input: IdentityIdInput!) { deleteIdentity(input: $input) { deletedIdentityId } }",
        json!({ "input": { "id": identity } }),
    )
    .await
    .data();
    let events = settled(&app, &tenant, &id, 1).await;
    assert_eq!(events[0]["status"], "DELIVERED", "{}", events[0]);
    assert_eq!(events[0]["remoteId"], "777");
    let calls: Vec<String> = hubspot
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        calls,
        [
            format!("GET /crm/v3/objects/contacts/{email}"),
            "DELETE /crm/v3/objects/contacts/777".to_owned()
        ]
    );
}

#[tokio::test]
async fn salesforce_upserts_by_external_id_with_client_credentials() {
    let salesforce = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=3MVG9-consumer"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "00Dxx!AR8.first",
            "instance_url": salesforce.uri(),
            "token_type": "Bearer",
            "issued_at": "1714557600000"
        })))
        .up_to_n_times(1)
        .mount(&salesforce)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "00Dxx!AR8.second",
            "instance_url": salesforce.uri(),
            "token_type": "Bearer",
            "issued_at": "1714557600001"
        })))
        .mount(&salesforce)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-salesforce").await;
    let identity_email = unique_email();
    let id = connector(
        &app,
        &tenant,
        json!({
            "name": "Salesforce",
            "kind": "SALESFORCE",
            "triggers": ["IDENTITY_CREATED"],
            "settings": {
                "instanceUrl": salesforce.uri(),
                "contactExternalIdField": "IdP_User_Id__c",
                "accountExternalIdField": "IdP_Org_Id__c"
            },
            "credentials": { "clientId": "3MVG9-consumer", "clientSecret": "s3cr3t" }
        }),
    )
    .await;
    // The first token is refused (an expired session): a new one is fetched and used.
    Mock::given(method("PATCH"))
        .and(header("authorization", "Bearer 00Dxx!AR8.first"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!([{ "message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID" }]),
        ))
        .mount(&salesforce)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex_contact())
        .and(header("authorization", "Bearer 00Dxx!AR8.second"))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({ "id": "003xx000004TmiQ", "success": true, "errors": [], "created": true }),
        ))
        .mount(&salesforce)
        .await;
    let identity = app.create_identity(&tenant, &identity_email).await;
    let events = settled(&app, &tenant, &id, 1).await;
    assert_eq!(events[0]["status"], "DELIVERED", "{}", events[0]);
    assert_eq!(events[0]["remoteId"], "003xx000004TmiQ");
    let requests = salesforce.received_requests().await.unwrap();
    let patches: Vec<&Request> = requests
        .iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .collect();
    assert_eq!(
        patches.len(),
        2,
        "refused once, then sent again with a new token"
    );
    assert_eq!(
        patches[1].url.path(),
        format!("/services/data/v62.0/sobjects/Contact/IdP_User_Id__c/{identity}")
    );
    let body: Value = serde_json::from_slice(&patches[1].body).unwrap();
    assert_eq!(body["Email"], identity_email.as_str());
    assert!(
        body.get("IdP_User_Id__c").is_none(),
        "the key is in the URL only"
    );
}

fn path_regex_contact() -> wiremock::matchers::PathRegexMatcher {
    wiremock::matchers::path_regex(
        r"^/services/data/v62\.0/sobjects/Contact/IdP_User_Id__c/[0-9a-f-]+$",
    )
}

#[tokio::test]
async fn dynamics_upserts_by_alternate_key_with_odata_headers() {
    let dataverse = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-id/oauth2/v2.0/token"))
        .and(body_string_contains("scope=https%3A%2F%2Forg.crm.dynamics.com%2F.default"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ0eX.dataverse" })))
        .mount(&dataverse)
        .await;
    Mock::given(method("PATCH"))
        .and(header("authorization", "Bearer eyJ0eX.dataverse"))
        .and(header("odata-version", "4.0"))
        .and(header("odata-maxversion", "4.0"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({ "@odata.etag": "W/\"536530\"", "accountid": "7d5a0e35-0000-0000-0000-000000000001" })))
        .mount(&dataverse)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-dynamics").await;
    let id = connector(
        &app,
        &tenant,
        json!({
            "name": "Dynamics",
            "kind": "DYNAMICS365",
            "triggers": ["ORGANIZATION_CREATED"],
            "settings": {
                "baseUrl": format!("{}/api/data/v9.2", dataverse.uri()),
                "tokenUrl": format!("{}/tenant-id/oauth2/v2.0/token", dataverse.uri()),
                "scope": "https://org.crm.dynamics.com/.default",
                "contactKey": "new_idpuserid",
                "accountKey": "new_idporgid"
            },
            "credentials": { "clientId": "app-id", "clientSecret": "app-secret" }
        }),
    )
    .await;
    let (org, _) = app.create_organization(&tenant, "Contoso", "PARTNER").await;
    let events = settled(&app, &tenant, &id, 1).await;
    assert_eq!(events[0]["status"], "DELIVERED", "{}", events[0]);
    assert_eq!(
        events[0]["remoteId"],
        "7d5a0e35-0000-0000-0000-000000000001"
    );
    let requests = dataverse.received_requests().await.unwrap();
    let patch = requests
        .iter()
        .find(|r| r.method.as_str() == "PATCH")
        .unwrap();
    assert_eq!(
        patch.url.path(),
        format!("/api/data/v9.2/accounts(new_idporgid='{org}')")
    );
    let body: Value = serde_json::from_slice(&patch.body).unwrap();
    assert_eq!(body, json!({ "name": "Contoso" }));
}

#[tokio::test]
async fn bad_connector_input_names_the_field() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-input").await;
    for (input, field) in [
        (
            json!({ "name": "x", "kind": "WEBHOOK", "settings": {}, "credentials": { "secret": SECRET } }),
            "settings.url",
        ),
        (
            json!({ "name": "x", "kind": "WEBHOOK", "settings": { "url": "ftp://x.example" }, "credentials": { "secret": SECRET } }),
            "settings.url",
        ),
        (
            json!({ "name": "x", "kind": "WEBHOOK", "settings": { "url": "https://x.example" }, "credentials": { "secret": "short" } }),
            "credentials.secret",
        ),
        (
            json!({ "name": "x", "kind": "WEBHOOK", "settings": { "url": "https://x.example", "colour": "red" }, "credentials": { "secret": SECRET } }),
            "settings.colour",
        ),
        (
            json!({ "name": "x", "kind": "HUBSPOT", "settings": {}, "credentials": {} }),
            "credentials.token",
        ),
        (
            json!({ "name": "x", "kind": "SALESFORCE", "settings": { "instanceUrl": "https://acme.my.salesforce.com", "contactExternalIdField": "IdP User", "accountExternalIdField": "A__c" }, "credentials": { "clientId": "a", "clientSecret": "b" } }),
            "settings.contactExternalIdField",
        ),
        (
            json!({ "name": "x", "kind": "DYNAMICS365", "settings": { "baseUrl": "https://org.crm.dynamics.com/api/data/v9.2", "contactKey": "k", "accountKey": "k" }, "credentials": { "clientId": "a", "clientSecret": "b" } }),
            "settings.tokenUrl",
        ),
        (
            json!({ "name": "x", "kind": "HUBSPOT", "settings": {}, "credentials": { "token": "t" }, "fieldMapping": { "identity": { "firstname": "nickname" } } }),
            "fieldMapping.identity.firstname",
        ),
        (
            json!({ "name": "x", "kind": "HUBSPOT", "settings": {}, "credentials": { "token": "t" }, "fieldMapping": { "invoice": {} } }),
            "fieldMapping.invoice",
        ),
        (
            json!({ "name": "x", "kind": "WEBHOOK", "settings": { "url": "https://x.example" }, "credentials": { "secret": SECRET }, "fieldMapping": { "identity": { "a": "email" } } }),
            "fieldMapping",
        ),
        (
            json!({ "name": "x", "kind": "HUBSPOT", "settings": { "pullIntervalSeconds": 60 }, "credentials": { "token": "t" } }),
            "settings.pullIntervalSeconds",
        ),
        (
            json!({ "name": "", "kind": "HUBSPOT", "settings": {}, "credentials": { "token": "t" } }),
            "name",
        ),
    ] {
        let refused = create(&app, &tenant, input.clone()).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{input}: {refused}"
        );
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], field,
            "{input}: {refused}"
        );
    }
    // Defaults are filled in and shown; the name is unique.
    let created = create(&app, &tenant, json!({ "name": "HubSpot", "kind": "HUBSPOT", "settings": {}, "credentials": { "token": "t" } })).await;
    let connector = &created["data"]["createCrmConnector"]["connector"];
    assert_eq!(connector["settings"]["baseUrl"], "https://api.hubapi.com");
    assert_eq!(connector["fieldMapping"]["identity"]["email"], "email");
    assert_eq!(connector["direction"], "PUSH");
    assert_eq!(connector["triggers"].as_array().unwrap().len(), 15);
    let again = create(&app, &tenant, json!({ "name": "HubSpot", "kind": "HUBSPOT", "settings": {}, "credentials": { "token": "t" } })).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "CONFLICT");
    // A viewer key reads connectors but does not create them.
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;
    let denied = app
        .as_key(&tenant, &viewer, CREATE, json!({ "input": { "name": "y", "kind": "HUBSPOT", "settings": {}, "credentials": { "token": "t" } } }))
        .await;
    assert_eq!(denied.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn test_crm_connector_says_what_failed() {
    let hubspot = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/contacts"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({ "status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION" })))
        .mount(&hubspot)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-test").await;
    let id = connector(&app, &tenant, json!({ "name": "HubSpot", "kind": "HUBSPOT", "settings": { "baseUrl": hubspot.uri() }, "credentials": { "token": "wrong" } })).await;
    const TEST: &str =
        "mutation($input: CrmConnectorIdInput!) { testCrmConnector(input: $input) { ok message } }";
    let tested = app
        .tenant(&tenant, TEST, json!({ "input": { "id": id } }))
        .await;
    let result = &tested.data()["testCrmConnector"];
    assert_eq!(result["ok"], false);
    let message = result["message"].as_str().unwrap();
    assert!(
        message.contains("refused the private-app token"),
        "{message}"
    );
    assert!(message.contains("401"), "{message}");
    assert!(message.contains("INVALID_AUTHENTICATION"), "{message}");

    // Nothing listens there.
    let gone = connector(&app, &tenant, json!({ "name": "gone", "kind": "WEBHOOK", "settings": { "url": "http://127.0.0.1:9/hook" }, "credentials": { "secret": SECRET } })).await;
    let tested = app
        .tenant(&tenant, TEST, json!({ "input": { "id": gone } }))
        .await;
    assert_eq!(tested.data()["testCrmConnector"]["ok"], false);
    assert!(
        tested.data()["testCrmConnector"]["message"]
            .as_str()
            .unwrap()
            .contains("could not connect")
    );
}

#[tokio::test]
async fn another_tenant_sees_and_receives_nothing() {
    let receiver = accepting_receiver().await;
    let other_receiver = accepting_receiver().await;
    let app = TestApp::start().await;
    let a = app.create_tenant("crm-a").await;
    let b = app.create_tenant("crm-b").await;
    let a_connector = connector(&app, &a, webhook(&receiver.uri())).await;
    let b_connector = connector(&app, &b, webhook(&other_receiver.uri())).await;
    app.create_identity(&a, &unique_email()).await;
    let delivered = settled(&app, &a, &a_connector, 1).await;
    // B's connector got nothing of A's.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(other_receiver.received_requests().await.unwrap().is_empty());
    assert!(sync_events(&app, &b, json!({})).await.is_empty());
    assert!(
        sync_events(&app, &b, json!({ "connectorId": a_connector }))
            .await
            .is_empty()
    );
    let _ = b_connector;

    for (query, variables) in [
        (
            "query($id: ID!) { crmConnector(id: $id) { id } }",
            json!({ "id": a_connector }),
        ),
        (
            "mutation($input: UpdateCrmConnectorInput!) { updateCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": { "id": a_connector, "name": "taken" } }),
        ),
        (
            "mutation($input: CrmConnectorIdInput!) { disableCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": { "id": a_connector } }),
        ),
        (
            "mutation($input: CrmConnectorIdInput!) { testCrmConnector(input: $input) { ok } }",
            json!({ "input": { "id": a_connector } }),
        ),
        (
            "mutation($input: CrmConnectorIdInput!) { deleteCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": { "id": a_connector } }),
        ),
        (
            "mutation($input: ReplayCrmSyncEventInput!) { replayCrmSyncEvent(input: $input) { syncEvent { id } } }",
            json!({ "input": { "id": delivered[0]["id"] } }),
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
    let crossed = app
        .as_key(
            &b,
            &a.api_key,
            "{ crmConnectors { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(crossed.error_code(), "UNAUTHENTICATED");
    // An end user's own token reads no connectors.
    let (_device, _, signed_in) = app.sign_up(&a, &unique_email()).await;
    let own = app
        .as_key(
            &a,
            &signed_in.access_token,
            "{ crmConnectors { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(own.error_code(), "FORBIDDEN");
}

async fn backfill_fixture(app: &TestApp, tenant: &TestTenant) {
    let mut identities = Vec::new();
    for _ in 0..3 {
        identities.push(app.create_identity(tenant, &unique_email()).await);
    }
    let (org, _) = app.create_organization(tenant, "Acme", "CUSTOMER").await;
    app.tenant(
        tenant,
        "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": org, "identityId": identities[0], "roles": ["org:member"] } }),
    )
    .await
    .data();
    // Deleted identities are not sent.
    let gone = app.create_identity(tenant, &unique_email()).await;
    app.tenant(
        tenant,
        "mutation($input: IdentityIdInput!) { deleteIdentity(input: $input) { deletedIdentityId } }",
        json!({ "input": { "id": gone } }),
    )
    .await
    .data();
}

/// The types of the events received, each once: delivery is at least once, and receivers
/// deduplicate on `Idempotency-Key` (docs/connectors.md), as a lease that runs out on a loaded
/// machine may deliver an event twice.
fn synced_types(requests: &[Request]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut types: Vec<String> = requests
        .iter()
        .filter(|r| {
            let key = r
                .headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            seen.insert(key)
        })
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    types.sort();
    types
}

#[tokio::test]
async fn run_crm_sync_backfills_everything_with_progress() {
    let receiver = accepting_receiver().await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-backfill").await;
    backfill_fixture(&app, &tenant).await;
    // Created after the records: only the backfill sends them.
    let id = connector(&app, &tenant, json!({ "name": "backfill", "kind": "WEBHOOK", "settings": { "url": receiver.uri() }, "credentials": { "secret": SECRET } })).await;
    let started = app
        .tenant(
            &tenant,
            "mutation($input: RunCrmSyncInput!) { runCrmSync(input: $input) { syncRun { id total } } }",
            json!({ "input": { "connectorId": id } }),
        )
        .await;
    let run = started.data()["runCrmSync"]["syncRun"].clone();
    assert_eq!(
        run["total"], 5,
        "three identities, one organization, one membership"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let progress = loop {
        let progress = app
            .tenant(
                &tenant,
                "query($id: ID!) { crmSyncRun(id: $id) { total queued fullyQueued delivered dead pending finished } }",
                json!({ "id": run["id"] }),
            )
            .await;
        let progress = progress.data()["crmSyncRun"].clone();
        if progress["finished"] == true {
            break progress;
        }
        assert!(Instant::now() < deadline, "{progress}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(progress["queued"], 5);
    assert_eq!(progress["delivered"], 5);
    assert_eq!(progress["dead"], 0);
    assert_eq!(
        synced_types(&receiver.received_requests().await.unwrap()),
        [
            "identity.synced",
            "identity.synced",
            "identity.synced",
            "membership.synced",
            "organization.synced"
        ]
    );

    // Another tenant can neither start nor read it.
    let other = app.create_tenant("crm-backfill-other").await;
    let refused = app
        .tenant(
            &other,
            "mutation($input: RunCrmSyncInput!) { runCrmSync(input: $input) { syncRun { id } } }",
            json!({ "input": { "connectorId": id } }),
        )
        .await;
    assert_eq!(refused.error_code(), "NOT_FOUND");
    let hidden = app
        .tenant(
            &other,
            "query($id: ID!) { crmSyncRun(id: $id) { id } }",
            json!({ "id": run["id"] }),
        )
        .await;
    assert_eq!(hidden.error_code(), "NOT_FOUND");
    let listed = app
        .tenant(
            &other,
            "query($id: ID!) { crmSyncRuns(connectorId: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(listed.error_code(), "NOT_FOUND");
    let own = app
        .tenant(
            &tenant,
            "query($id: ID!) { crmSyncRuns(connectorId: $id) { id delivered } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(own.data()["crmSyncRuns"][0]["id"], run["id"]);
}

#[tokio::test]
async fn the_cli_backfill_queues_and_delivers_until_done() {
    let receiver = accepting_receiver().await;
    // The command and the server share a database: a SQLite file here, or PostgreSQL.
    let settings = latchkey_tests::durable_settings();
    let app = TestApp::start_with(settings.clone()).await;
    let tenant = app.create_tenant("crm-cli").await;
    backfill_fixture(&app, &tenant).await;
    let id = connector(&app, &tenant, json!({ "name": "cli", "kind": "WEBHOOK", "settings": { "url": receiver.uri() }, "credentials": { "secret": SECRET } })).await;
    let config = latchkey_api::config::Config::check(settings.clone()).unwrap();
    latchkey_api::sync::run(config, &tenant.slug, id.parse().unwrap(), None)
        .await
        .expect("the backfill completes");
    let events = sync_events(&app, &tenant, json!({ "connectorId": id })).await;
    assert_eq!(events.len(), 5);
    assert!(
        events.iter().all(|e| e["status"] == "DELIVERED"),
        "{events:#?}"
    );
    assert_eq!(receiver.received_requests().await.unwrap().len(), 5);

    // A connector of another tenant is not found through this tenant.
    let other = app.create_tenant("crm-cli-other").await;
    let config = latchkey_api::config::Config::check(settings).unwrap();
    let error = latchkey_api::sync::run(config, &other.slug, id.parse().unwrap(), None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not found"), "{error}");
}

#[tokio::test]
async fn connectors_cannot_reach_private_addresses_unless_allowed() {
    let receiver = accepting_receiver().await;
    let mut settings = latchkey_tests::test_settings();
    settings.allow_private_networks = false;
    // On PostgreSQL a dispatcher here would take other tests' deliveries to loopback
    // receivers and refuse them; testCrmConnector needs none.
    settings.crm_dispatcher = false;
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("crm-ssrf").await;
    const TEST: &str =
        "mutation($input: CrmConnectorIdInput!) { testCrmConnector(input: $input) { ok message } }";
    let port = receiver.address().port();
    for (name, url) in [
        ("literal", format!("http://127.0.0.1:{port}/hook")),
        ("named", format!("http://localhost:{port}/hook")),
        (
            "metadata",
            "http://169.254.169.254/latest/meta-data".to_owned(),
        ),
        // 127.0.0.1 inside IPv6: NAT64, IPv4-compatible, 6to4 and Teredo (client inverted).
        ("nat64", format!("http://[64:ff9b::7f00:1]:{port}/hook")),
        ("compatible", format!("http://[::7f00:1]:{port}/hook")),
        ("6to4", format!("http://[2002:7f00:1::1]:{port}/hook")),
        (
            "teredo",
            format!("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/hook"),
        ),
    ] {
        let id = connector(&app, &tenant, json!({ "name": name, "kind": "WEBHOOK", "settings": { "url": url }, "credentials": { "secret": SECRET } })).await;
        let tested = app
            .tenant(&tenant, TEST, json!({ "input": { "id": id } }))
            .await;
        let result = &tested.data()["testCrmConnector"];
        assert_eq!(result["ok"], false, "{url}");
        assert!(
            result["message"]
                .as_str()
                .unwrap()
                .contains("public addresses only"),
            "{url}: {result}"
        );
    }
    assert!(receiver.received_requests().await.unwrap().is_empty());

    // Moving a connector to another address needs its credentials again.
    let id = connector(&app, &tenant, json!({ "name": "moved", "kind": "HUBSPOT", "settings": {}, "credentials": { "token": "pat-secret" } })).await;
    const UPDATE: &str = "mutation($input: UpdateCrmConnectorInput!) { updateCrmConnector(input: $input) { connector { settings } } }";
    let refused = app
        .tenant(
            &tenant,
            UPDATE,
            json!({ "input": { "id": id, "settings": { "baseUrl": "https://attacker.example" } } }),
        )
        .await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        refused.body["errors"][0]["extensions"]["field"],
        "credentials"
    );
    let moved = app
        .tenant(&tenant, UPDATE, json!({ "input": { "id": id, "settings": { "baseUrl": "https://eu1.api.hubapi.example" }, "credentials": { "token": "pat-new" } } }))
        .await;
    assert_eq!(
        moved.data()["updateCrmConnector"]["connector"]["settings"]["baseUrl"],
        "https://eu1.api.hubapi.example"
    );
}

/// An erased identity's `identity.deleted` carries no address: HubSpot's contact is found by
/// the link its creation recorded, and deleted.
#[tokio::test]
async fn hubspot_deletes_the_linked_contact_of_an_erased_identity() {
    let hubspot = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/batch/upsert"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "COMPLETE",
            "results": [{ "id": "512", "new": true, "properties": {}, "createdAt": "2026-11-30T00:00:00Z", "updatedAt": "2026-11-30T00:00:00Z", "archived": false }],
            "startedAt": "2026-11-30T00:00:00Z", "completedAt": "2026-11-30T00:00:00Z"
        })))
        .mount(&hubspot)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/crm/v3/objects/contacts/512"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hubspot)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-hubspot-erase").await;
    let id = connector(
        &app,
        &tenant,
        json!({
            "name": "HubSpot",
            "kind": "HUBSPOT",
            "triggers": ["IDENTITY_CREATED", "IDENTITY_DELETED"],
            "settings": { "baseUrl": hubspot.uri() },
            "credentials": { "token": "pat-na1-erase" },
        }),
    )
    .await;
    let email = unique_email();
    let identity = app.create_identity(&tenant, &email).await;
    let created = settled(&app, &tenant, &id, 1).await;
    assert_eq!(created[0]["remoteId"], "512", "{}", created[0]);
    app.tenant(
        &tenant,
        "mutation($input: IdentityIdInput!) { eraseIdentity(input: $input) { erasedIdentityId } }",
        json!({ "input": { "id": identity } }),
    )
    .await
    .data();
    let events = settled(&app, &tenant, &id, 2).await;
    let deleted = events
        .iter()
        .find(|e| e["eventType"] == "identity.deleted")
        .unwrap();
    assert_eq!(deleted["status"], "DELIVERED", "{deleted}");
    assert_eq!(deleted["remoteId"], "512");
    let calls: Vec<String> = hubspot
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        calls,
        [
            "POST /crm/v3/objects/contacts/batch/upsert",
            "DELETE /crm/v3/objects/contacts/512"
        ]
    );
}
