//! The contract lifecycle from the CRM (`pullFrom: "closedWonDeals"`), against local fakes of
//! HubSpot (deals, associations with labels, line items), Salesforce (opportunities with
//! products, contact roles and contracts) and Dataverse (opportunities with products): a won
//! deal gives its contacts access until its end date with the roles and entitlements its
//! products map to; a deal that is lost ends that access on the day; the mapping is checked on
//! save; entitlement changes go out to CRMs that push; and none of it crosses tenants.

use chrono::{Duration as Span, SecondsFormat, Utc};
use latchkey_tests::crm::{
    CREATE, connector, entra_issues, pull_now, pulled, salesforce_issuing, sent_query_values,
};
use latchkey_tests::{TestApp, TestTenant, unique_email};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORGANIZATIONS: &str = "{ organizations(first: 10) { nodes { id name entitlements { key validFrom validUntil status source } invitations(pendingOnly: true) { nodes { email roles validFrom validUntil } } members { nodes { roles validFrom validUntil status identity { id email } } } } } }";
const ADD_MEMBER: &str = "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }";
const PULL: &str =
    "query($id: ID!) { crmConnector(id: $id) { pull { cursor lastError records } } }";
const UPDATE: &str = "mutation($input: UpdateCrmConnectorInput!) { updateCrmConnector(input: $input) { connector { contractMapping } } }";

/// The tenant's catalogue: entitlements `analytics` and `sso`, the role `analyst`.
async fn catalogue(app: &TestApp, tenant: &TestTenant) {
    for key in ["analytics", "sso"] {
        app.tenant(
            tenant,
            "mutation($key: String!) { createEntitlement(input: { key: $key }) { entitlement { key } } }",
            json!({ "key": key }),
        )
        .await
        .data();
    }
    app.tenant(
        tenant,
        r#"mutation { createOrganizationRole(input: { name: "analyst" }) { role { name } } }"#,
        json!({}),
    )
    .await
    .data();
}

fn mapping() -> Value {
    json!({
        "products": {
            "PRO-ANNUAL": { "roles": ["analyst"], "entitlements": ["analytics"] },
            "1234": { "entitlements": ["sso"] }
        },
        "contactRoles": { "Decision Maker": { "roles": ["org:admin"] } }
    })
}

async fn organization(app: &TestApp, tenant: &TestTenant) -> Value {
    let orgs = app.tenant(tenant, ORGANIZATIONS, json!({})).await;
    orgs.data()["organizations"]["nodes"][0].clone()
}

fn stamp(time: chrono::DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A date `days` from today, as CRMs write dates.
fn day(days: i64) -> String {
    (Utc::now() + Span::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The first moment of the date `days` from today, as the API answers it.
fn midnight(days: i64) -> String {
    format!("{}T00:00:00+00:00", day(days))
}

/// Mounts one HubSpot deal (`stage`, `closedate`, modified at `modified`) with its contact
/// (labelled "Decision Maker"), company and two line items, the first from 30 days ago to 200
/// days from now.
async fn hubspot_deal(
    hubspot: &MockServer,
    buyer: &str,
    stage: &str,
    closed: &str,
    modified: &str,
) {
    hubspot.reset().await;
    let get = |route: &str, body: Value| {
        Mock::given(method("GET"))
            .and(path(route.to_owned()))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
    };
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/deals/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total": 1,
            "results": [{ "id": "7001", "properties": { "dealstage": stage, "closedate": closed, "hs_lastmodifieddate": modified } }]
        })))
        .mount(hubspot)
        .await;
    get(
        "/crm/v4/objects/deal/7001/associations/contact",
        json!({
            "results": [{ "toObjectId": 801, "associationTypes": [
                { "category": "HUBSPOT_DEFINED", "typeId": 3, "label": null },
                { "category": "USER_DEFINED", "typeId": 41, "label": "Decision Maker" }
            ] }]
        }),
    )
    .mount(hubspot)
    .await;
    get("/crm/v4/objects/deal/7001/associations/company", json!({
        "results": [{ "toObjectId": "9100", "associationTypes": [{ "category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary" }] }]
    }))
    .mount(hubspot)
    .await;
    get("/crm/v4/objects/deal/7001/associations/line_items", json!({
        "results": [
            { "toObjectId": 5001, "associationTypes": [{ "category": "HUBSPOT_DEFINED", "typeId": 19, "label": null }] },
            { "toObjectId": 5002, "associationTypes": [{ "category": "HUBSPOT_DEFINED", "typeId": 19, "label": null }] }
        ]
    }))
    .mount(hubspot)
    .await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/line_items/batch/read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "COMPLETE",
            "results": [
                { "id": "5001", "properties": { "hs_sku": "PRO-ANNUAL", "hs_product_id": "987", "name": "Pro (annual)", "hs_recurring_billing_start_date": day(-30), "hs_recurring_billing_end_date": day(200) } },
                { "id": "5002", "properties": { "hs_sku": "", "hs_product_id": "1234", "name": "SSO add-on" } }
            ]
        })))
        .mount(hubspot)
        .await;
    get(
        "/crm/v3/objects/contacts/801",
        json!({ "id": "801", "properties": { "email": buyer, "firstname": "Buyer" } }),
    )
    .mount(hubspot)
    .await;
    get(
        "/crm/v4/objects/contact/801/associations/company",
        json!({ "results": [{ "toObjectId": 9100, "associationTypes": [] }] }),
    )
    .mount(hubspot)
    .await;
    get(
        "/crm/v3/objects/companies/9100",
        json!({ "id": "9100", "properties": { "name": "Buyer Corp" } }),
    )
    .mount(hubspot)
    .await;
}

/// Waits until the connector's pull has moved its cursor to `cursor`.
async fn pulled_to(app: &TestApp, tenant: &TestTenant, id: &Value, cursor: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = app.tenant(tenant, PULL, json!({ "id": id })).await;
        let pull = status.data()["crmConnector"]["pull"].clone();
        if pull["cursor"] == cursor {
            return pull;
        }
        assert!(
            Instant::now() < deadline,
            "the pull did not reach {cursor}: {pull}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_won_hubspot_deal_gives_access_until_its_end_and_losing_it_ends_access() {
    let hubspot = MockServer::start().await;
    let buyer = unique_email();
    let first = stamp(Utc::now() - Span::days(3));
    let won_on = stamp(Utc::now() - Span::days(30));
    hubspot_deal(&hubspot, &buyer, "closedwon", &won_on, &first).await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-contract-hubspot").await;
    catalogue(&app, &tenant).await;
    let created = connector(
        &app,
        &tenant,
        json!({
            "name": "HubSpot contracts", "kind": "HUBSPOT", "direction": "PULL",
            "settings": { "baseUrl": hubspot.uri(), "pullFrom": "closedWonDeals", "pullOrganizations": true },
            "credentials": { "token": "pat-na1-contracts" },
            "contractMapping": mapping(),
        }),
    )
    .await;
    let pull = pulled(&app, &tenant, &created["id"], 2).await;
    assert_eq!(pull["lastError"], Value::Null, "{pull}");
    let org = organization(&app, &tenant).await;
    assert_eq!(org["name"], "Buyer Corp");
    // The organization holds what the line items map to, until the day after the end date.
    let entitlements = org["entitlements"].as_array().unwrap();
    let keys: Vec<&str> = entitlements
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["analytics", "sso"], "{org}");
    for entitlement in entitlements {
        assert_eq!(entitlement["validFrom"], midnight(-30));
        assert_eq!(entitlement["validUntil"], midnight(201));
        assert_eq!(entitlement["status"], "ACTIVE");
        assert_eq!(
            entitlement["source"],
            format!("connector:{}", created["id"].as_str().unwrap())
        );
    }
    // The contact is invited with the product's role, its contact role's and org:member,
    // for the contract's window.
    let invitation = &org["invitations"]["nodes"][0];
    assert_eq!(invitation["email"], buyer.as_str());
    assert_eq!(
        invitation["roles"],
        json!(["analyst", "org:admin", "org:member"])
    );
    assert_eq!(invitation["validUntil"], midnight(201));

    // The buyer is a member (lasting, org:member) when the deal is lost: its access ends on
    // the day it was lost, and so do the entitlements.
    let identity = app.create_identity(&tenant, &unique_email()).await;
    let buyer_id = {
        let found = app
            .tenant(&tenant, "query($e: String) { identities(first: 1, filter: { email: $e }) { nodes { id } } }", json!({ "e": buyer }))
            .await;
        found.data()["identities"]["nodes"][0]["id"].clone()
    };
    for member in [json!(identity), buyer_id] {
        app.tenant(
            &tenant,
            ADD_MEMBER,
            json!({ "input": { "organizationId": org["id"], "identityId": member } }),
        )
        .await
        .data();
    }
    let lost_on = Utc::now() - Span::days(1);
    let second = stamp(Utc::now() - Span::hours(1));
    hubspot_deal(&hubspot, &buyer, "closedlost", &stamp(lost_on), &second).await;
    pull_now(&app, &tenant, &created["id"]).await;
    pulled_to(&app, &tenant, &created["id"], &second).await;
    let org = organization(&app, &tenant).await;
    let members = org["members"]["nodes"].as_array().unwrap();
    let member = members
        .iter()
        .find(|m| m["identity"]["email"] == buyer.as_str())
        .unwrap();
    assert_eq!(member["status"], "EXPIRED", "{member}");
    let until =
        chrono::DateTime::parse_from_rfc3339(member["validUntil"].as_str().unwrap()).unwrap();
    assert_eq!(until.timestamp_millis(), lost_on.timestamp_millis());
    assert_eq!(
        member["roles"],
        json!(["analyst", "org:admin", "org:member"])
    );
    // A member the contract does not name keeps its access.
    let other = members
        .iter()
        .find(|m| m["identity"]["email"] != buyer.as_str())
        .unwrap();
    assert_eq!(
        (other["status"].as_str(), &other["validUntil"]),
        (Some("ACTIVE"), &Value::Null)
    );
    for entitlement in org["entitlements"].as_array().unwrap() {
        assert_eq!(entitlement["status"], "EXPIRED", "{entitlement}");
    }
    app.stop().await;
}

#[tokio::test]
async fn salesforce_and_dataverse_opportunities_map_their_products() {
    let salesforce = salesforce_issuing("00Dxx!contracts").await;
    let (sf_buyer, dyn_buyer) = (unique_email(), unique_email());
    Mock::given(method("GET"))
        .and(path("/services/data/v62.0/query"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 1, "done": true,
            "records": [{
                "attributes": { "type": "Opportunity" },
                "Id": "006W1", "SystemModstamp": "2026-12-04T09:30:00.000+0000", "IsWon": true, "CloseDate": "2026-12-01",
                "AccountId": "001A",
                "Contract": { "attributes": { "type": "Contract" }, "StartDate": day(10), "EndDate": day(375), "StatusCode": "Activated" },
                "OpportunityLineItems": { "totalSize": 1, "done": true, "records": [
                    { "attributes": { "type": "OpportunityLineItem" }, "ProductCode": "PRO-ANNUAL", "Product2Id": "01tA", "Product2": { "ProductCode": "PRO-ANNUAL", "Name": "Pro" } }
                ] },
                "OpportunityContactRoles": { "totalSize": 1, "done": true, "records": [
                    { "attributes": { "type": "OpportunityContactRole" }, "Role": "Decision Maker",
                      "Contact": { "attributes": { "type": "Contact" }, "Id": "003W", "Email": sf_buyer, "LastName": "Won", "Phone": null,
                                   "Account": { "attributes": { "type": "Account" }, "Id": "001A", "Name": "Won Corp" } } }
                ] }
            }]
        })))
        .mount(&salesforce)
        .await;
    let dataverse = MockServer::start().await;
    entra_issues(&dataverse, "/tid/oauth2/v2.0/token", "eyJ.contracts").await;
    Mock::given(method("GET"))
        .and(path("/api/data/v9.2/opportunities"))
        .and(query_param("$filter", "statecode ne 0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{
                "opportunityid": "00000000-0000-0000-0000-0000000000a1", "modifiedon": "2026-12-04T09:45:00Z",
                "statecode": 1, "statuscode": 3, "actualclosedate": "2026-12-02", "new_contractend": "2027-03-31",
                "parentcontactid": { "contactid": "00000000-0000-0000-0000-0000000000c9", "emailaddress1": dyn_buyer, "lastname": "Winner", "modifiedon": "2026-11-01T00:00:00Z",
                                     "parentcustomerid_account": { "accountid": "00000000-0000-0000-0000-00000000acc1", "name": "Dyn Corp" } }
            }]
        })))
        .mount(&dataverse)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/data/v9.2/opportunityproducts"))
        .and(query_param("$filter", "_opportunityid_value eq 00000000-0000-0000-0000-0000000000a1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [
                { "productdescription": null, "productid": { "productnumber": "PRO-ANNUAL", "name": "Pro" } },
                { "productdescription": "1234", "productid": null }
            ]
        })))
        .mount(&dataverse)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-contract-opps").await;
    catalogue(&app, &tenant).await;
    let sf = connector(
        &app,
        &tenant,
        json!({
            "name": "Salesforce contracts", "kind": "SALESFORCE", "direction": "PULL",
            "settings": { "instanceUrl": salesforce.uri(), "contactExternalIdField": "IdP_User_Id__c", "accountExternalIdField": "IdP_Org_Id__c", "pullFrom": "closedWonDeals", "pullOrganizations": true },
            "credentials": { "clientId": "3MVG9-won", "clientSecret": "s3cr3t" },
            "contractMapping": mapping(),
        }),
    )
    .await;
    let dynamics = connector(
        &app,
        &tenant,
        json!({
            "name": "Dynamics contracts", "kind": "DYNAMICS365", "direction": "PULL",
            "settings": { "baseUrl": format!("{}/api/data/v9.2", dataverse.uri()), "tokenUrl": format!("{}/tid/oauth2/v2.0/token", dataverse.uri()), "contactKey": "new_idpuserid", "accountKey": "new_idporgid", "pullFrom": "closedWonDeals", "pullOrganizations": true, "contractEndField": "new_contractend" },
            "credentials": { "clientId": "app", "clientSecret": "secret" },
            "contractMapping": mapping(),
        }),
    )
    .await;
    let pull = pulled(&app, &tenant, &sf["id"], 2).await;
    assert_eq!(pull["cursor"], "2026-12-04T09:30:00.000Z", "{pull}");
    let pull = pulled(&app, &tenant, &dynamics["id"], 2).await;
    assert_eq!(pull["lastError"], Value::Null, "{pull}");
    let orgs = app.tenant(&tenant, ORGANIZATIONS, json!({})).await;
    let orgs = orgs.data()["organizations"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let named = |name: &str| orgs.iter().find(|o| o["name"] == name).unwrap().clone();
    // Salesforce: the contract's dates, the product code, the contact role.
    let won = named("Won Corp");
    assert_eq!(won["entitlements"][0]["key"], "analytics");
    assert_eq!(won["entitlements"][0]["validFrom"], midnight(10));
    assert_eq!(won["entitlements"][0]["validUntil"], midnight(376));
    assert_eq!(won["entitlements"][0]["status"], "PENDING");
    let invitation = &won["invitations"]["nodes"][0];
    assert_eq!(invitation["email"], sf_buyer.as_str());
    assert_eq!(
        invitation["roles"],
        json!(["analyst", "org:admin", "org:member"])
    );
    assert_eq!(invitation["validFrom"], midnight(10));
    // Dataverse: won on actualclosedate, ending with the configured field; a write-in line
    // counts by its description; no contact roles there.
    let dyn_org = named("Dyn Corp");
    let keys: Vec<&str> = dyn_org["entitlements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["analytics", "sso"], "{dyn_org}");
    assert_eq!(
        dyn_org["entitlements"][0]["validFrom"],
        "2026-12-02T00:00:00+00:00"
    );
    assert_eq!(
        dyn_org["entitlements"][0]["validUntil"],
        "2027-04-01T00:00:00+00:00"
    );
    let invitation = &dyn_org["invitations"]["nodes"][0];
    assert_eq!(invitation["email"], dyn_buyer.as_str());
    assert_eq!(invitation["roles"], json!(["analyst", "org:member"]));
    // What was asked of each CRM.
    let soql = sent_query_values(&salesforce, "q").await;
    assert!(
        soql[0].contains("(SELECT ProductCode,Product2Id,Product2.ProductCode,Product2.Name FROM OpportunityLineItems)")
            && soql[0].contains("(SELECT Role,Contact.Id,Contact.Email,")
            && soql[0].contains(" FROM Opportunity WHERE IsClosed = true ORDER BY SystemModstamp ASC"),
        "{}",
        soql[0]
    );
    let expand = sent_query_values(&dataverse, "$expand").await;
    assert!(
        expand.contains(&"productid($select=productnumber,name)".to_owned()),
        "{expand:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_bad_contract_mapping_is_refused_by_field_and_changes_nothing() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-contract-mapping").await;
    catalogue(&app, &tenant).await;
    let hubspot = json!({ "baseUrl": "https://api.hubapi.com", "pullFrom": "closedWonDeals", "pullOrganizations": true });
    for (mapping, kind, settings, field) in [
        (
            json!({ "products": { "PRO": { "roles": ["ghost"] } } }),
            "HUBSPOT",
            hubspot.clone(),
            "contractMapping.products.PRO.roles[0]",
        ),
        (
            json!({ "products": { "PRO": { "entitlements": ["analytics", "seats"] } } }),
            "HUBSPOT",
            hubspot.clone(),
            "contractMapping.products.PRO.entitlements[1]",
        ),
        (
            json!({ "contactRoles": { "Buyer": { "roles": "org:admin" } } }),
            "HUBSPOT",
            hubspot.clone(),
            "contractMapping.contactRoles.Buyer.roles",
        ),
        (
            json!({ "lines": {} }),
            "HUBSPOT",
            hubspot.clone(),
            "contractMapping.lines",
        ),
        (
            json!({ "products": {} }),
            "WEBHOOK",
            json!({}),
            "contractMapping",
        ),
    ] {
        let credentials = if kind == "WEBHOOK" {
            json!({ "secret": "whsec_0123456789abcdef" })
        } else {
            json!({ "token": "pat" })
        };
        let refused = app
            .tenant(
                &tenant,
                CREATE,
                json!({ "input": { "name": "bad", "kind": kind, "direction": "PULL", "settings": settings, "credentials": credentials, "contractMapping": mapping } }),
            )
            .await;
        assert_eq!(refused.error_code(), "BAD_USER_INPUT", "{}", refused.body);
        assert_eq!(
            refused.body["errors"][0]["extensions"]["field"], field,
            "{}",
            refused.body
        );
    }
    let count = app
        .tenant(
            &tenant,
            "{ crmConnectors(first: 10) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(count.data()["crmConnectors"]["totalCount"], 0);
    // An update that names an unknown entitlement keeps the stored mapping.
    let created = connector(
        &app,
        &tenant,
        json!({ "name": "good", "kind": "HUBSPOT", "direction": "PULL", "settings": hubspot, "credentials": { "token": "pat" }, "contractMapping": mapping() }),
    )
    .await;
    let refused = app
        .tenant(
            &tenant,
            UPDATE,
            json!({ "input": { "id": created["id"], "contractMapping": { "products": { "X": { "entitlements": ["nope"] } } } } }),
        )
        .await;
    assert_eq!(
        refused.body["errors"][0]["extensions"]["field"],
        "contractMapping.products.X.entitlements[0]"
    );
    let stored = app
        .tenant(
            &tenant,
            "query($id: ID!) { crmConnector(id: $id) { contractMapping onRemoteDelete } }",
            json!({ "id": created["id"] }),
        )
        .await;
    assert_eq!(
        stored.data()["crmConnector"]["contractMapping"]["products"]["1234"]["entitlements"],
        json!(["sso"])
    );
    assert_eq!(
        stored.data()["crmConnector"]["onRemoteDelete"],
        "REMOVE_MEMBERSHIP"
    );
    // Another tenant's keys and roles are not this tenant's.
    let other = app.create_tenant("crm-contract-other").await;
    let refused = app
        .tenant(
            &other,
            CREATE,
            json!({ "input": { "name": "x", "kind": "HUBSPOT", "direction": "PULL", "settings": { "pullFrom": "closedWonDeals" }, "credentials": { "token": "pat" }, "contractMapping": { "products": { "PRO": { "entitlements": ["analytics"] } } } } }),
        )
        .await;
    assert_eq!(
        refused.body["errors"][0]["extensions"]["field"],
        "contractMapping.products.PRO.entitlements[0]"
    );
    app.stop().await;
}

#[tokio::test]
async fn entitlement_changes_go_out_to_a_crm_that_pushes() {
    let hubspot = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/companies"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({ "id": "4401", "properties": {} })),
        )
        .mount(&hubspot)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/crm/v3/objects/companies/4401"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "4401", "properties": {} })),
        )
        .mount(&hubspot)
        .await;
    let app = TestApp::start().await;
    let tenant = app.create_tenant("crm-contract-push").await;
    catalogue(&app, &tenant).await;
    connector(
        &app,
        &tenant,
        json!({
            "name": "HubSpot push", "kind": "HUBSPOT", "direction": "PUSH",
            "settings": { "baseUrl": hubspot.uri() },
            "credentials": { "token": "pat-push" },
            "fieldMapping": { "organization": { "name": "name", "latchkey_entitlements": "entitlements" } },
        }),
    )
    .await;
    let org = app
        .tenant(&tenant, r#"mutation { createOrganization(input: { name: "Acme", slug: "acme-push" }) { organization { id } } }"#, json!({}))
        .await;
    let org_id = org.data()["createOrganization"]["organization"]["id"].clone();
    for key in ["sso", "analytics"] {
        app.tenant(
            &tenant,
            "mutation($org: ID!, $key: String!) { grantEntitlement(input: { organizationId: $org, key: $key }) { entitlement { key } } }",
            json!({ "org": org_id, "key": key }),
        )
        .await
        .data();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sent: Vec<Value> = hubspot
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path().starts_with("/crm/v3/objects/companies"))
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .collect();
        if sent
            .iter()
            .any(|b| b["properties"]["latchkey_entitlements"] == "analytics;sso")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no push of the entitlements: {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}
