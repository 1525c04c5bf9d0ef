//! SCIM 2.0 provisioning over HTTP (`/t/{slug}/scim/v2`): tokens and their refusals, the
//! discovery documents, the Users and Groups of a tenant-wide token (identities and
//! organizations) with the requests Microsoft Entra ID (default and `aadOptscim062020` PATCH
//! shapes) and Okta (PUT, path-less PATCH, Group Push) send, filters, pages, ETags and
//! attribute selection, a deactivated user who cannot sign in until reactivated, changes that
//! reach a CRM connector, the rate limit, and tenant isolation. The organization tokens'
//! rules are in `scim_organizations.rs`; the protocol engine's rules in `latchkey-scim`'s unit
//! tests.

use latchkey_tests::scim::Directory;
use latchkey_tests::{TestApp, TestTenant, unique_email};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const AUDIT: &str = "{ auditEvents(first: 100) { nodes { action actorType actorId targetId } } }";

async fn tenant_directory(app: &TestApp, prefix: &str) -> (TestTenant, String) {
    let tenant = app.create_tenant(prefix).await;
    let (_, token) = app.create_scim_token(&tenant, None).await;
    (tenant, token)
}

#[tokio::test]
async fn tokens_are_created_listed_revoked_and_a_bad_one_is_401_in_scim_format() {
    let app = TestApp::start().await;
    let (tenant, token) = tenant_directory(&app, "scim-tokens").await;
    assert!(token.starts_with("lks_"));
    let directory = Directory::new(&app, &tenant, &token);
    assert_eq!(directory.get("/Users").await.status, 200);

    let listed = app
        .tenant(
            &tenant,
            "{ scimTokens { id name organizationId revokedAt lastUsedAt } }",
            json!({}),
        )
        .await;
    let tokens = listed.data()["scimTokens"].as_array().unwrap().clone();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["organizationId"], Value::Null);
    assert!(tokens[0]["lastUsedAt"].is_string(), "the use is recorded");
    assert!(
        !listed.body.to_string().contains(&token),
        "the secret is never listed"
    );

    // No token, garbage, an API key: 401 with a SCIM error body.
    for bearer in ["", "lks_nope", tenant.api_key.as_str()] {
        let answer = Directory::new(&app, &tenant, bearer).get("/Users").await;
        answer.assert_error(401, None);
        assert_eq!(answer.headers["www-authenticate"], "Bearer");
    }
    // A SCIM token is no credential for the GraphQL API.
    let graphql = app
        .as_key(
            &tenant,
            &token,
            "{ identities(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(graphql.status, 401);

    let revoked = app
        .tenant(
            &tenant,
            "mutation($id: ID!) { revokeScimToken(input: { id: $id }) { scimToken { revokedAt } } }",
            json!({ "id": tokens[0]["id"] }),
        )
        .await;
    assert!(revoked.data()["revokeScimToken"]["scimToken"]["revokedAt"].is_string());
    directory.get("/Users").await.assert_error(401, None);

    // A viewer key may list tokens but not create them.
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;
    let refused = app
        .as_key(
            &tenant,
            &viewer,
            latchkey_tests::scim::CREATE_TOKEN,
            json!({ "input": { "name": "x" } }),
        )
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn discovery_documents_describe_what_latchkey_stores() {
    let app = TestApp::start().await;
    let (tenant, token) = tenant_directory(&app, "scim-discovery").await;
    let directory = Directory::new(&app, &tenant, &token);

    let config = directory.get("/ServiceProviderConfig").await;
    assert_eq!(config.status, 200);
    assert_eq!(config.headers["content-type"], "application/scim+json");
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(config.body["bulk"]["supported"], false);
    assert_eq!(config.body["filter"]["supported"], true);
    assert_eq!(config.body["etag"]["supported"], true);
    assert_eq!(
        config.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let types = directory.get("/ResourceTypes").await;
    assert_eq!(types.body["totalResults"], 2);
    let user_type = directory.get("/ResourceTypes/User").await;
    assert_eq!(user_type.body["endpoint"], "/Users");
    assert_eq!(user_type.body["schemaExtensions"][0]["schema"], ENTERPRISE);

    let schemas = directory.get("/Schemas").await;
    let ids: Vec<&str> = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&USER) && ids.contains(&ENTERPRISE), "{ids:?}");
    let user = directory.get(&format!("/Schemas/{USER}")).await;
    let names: Vec<&str> = user.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"userName") && names.contains(&"active") && names.contains(&"emails"));
    assert!(
        !names.contains(&"addresses"),
        "only what Latchkey stores: {names:?}"
    );

    directory
        .get("/Schemas/urn:nope")
        .await
        .assert_error(404, None);
    directory.get("/Nothing").await.assert_error(404, None);
}

#[tokio::test]
async fn okta_creates_finds_updates_with_put_and_deactivates_a_user() {
    let app = TestApp::start().await;
    let (tenant, token) = tenant_directory(&app, "scim-okta").await;
    let directory = Directory::new(&app, &tenant, &token);
    let email = unique_email();

    // Okta POSTs with plain application/json, a password and `active`.
    let created = app
        .client
        .post(format!("{}/Users", directory.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(
            json!({
                "schemas": [USER], "userName": email, "active": true, "password": "ignored-Pa55word",
                "name": { "givenName": "Ann", "familyName": "Lee" },
                "emails": [{ "primary": true, "value": email, "type": "work" }],
                "displayName": "Ann Lee", "externalId": "00u1"
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    let user: Value = created.json().await.unwrap();
    let id = user["id"].as_str().unwrap().to_owned();
    assert!(location.ends_with(&format!("/t/{}/scim/v2/Users/{id}", tenant.slug)));
    assert_eq!(user["meta"]["version"], etag.as_str());
    assert_eq!(user["name"]["givenName"], "Ann");
    assert_eq!(user["active"], true);
    assert!(user.get("password").is_none());

    // The identity exists, unverified (a tenant's directory proves no address).
    let identity = app
        .tenant(
            &tenant,
            "query($id: ID!) { identity(id: $id) { email emailVerified displayName status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(identity.data()["identity"]["displayName"], "Ann Lee");
    assert_eq!(identity.data()["identity"]["emailVerified"], false);

    // A repeat is 409 uniqueness.
    directory
        .post("/Users", json!({ "schemas": [USER], "userName": email }))
        .await
        .assert_error(409, Some("uniqueness"));

    // The user is found by an upper-cased userName, by externalId, and as the first page.
    let found = directory
        .filter(
            "Users",
            &format!("userName eq \"{}\"", email.to_uppercase()),
        )
        .await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());
    assert_eq!(
        found.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    let by_external = directory.filter("Users", "externalId eq \"00u1\"").await;
    assert_eq!(by_external.body["totalResults"], 1);
    let first = directory.get("/Users?count=1&startIndex=1").await;
    assert_eq!(first.body["itemsPerPage"], 1);
    assert_eq!(first.body["startIndex"], 1);
    assert_eq!(
        first.body["Resources"][0]["emails"][0]["value"],
        email.as_str()
    );
    let none = directory
        .filter("Users", "userName eq \"nobody@example.com\"")
        .await;
    assert_eq!(none.status, 200);
    assert_eq!(none.body["totalResults"], 0);
    directory
        .get("/Users/00000000-0000-7000-8000-000000000000")
        .await
        .assert_error(404, None);
    directory
        .get("/Users/not-a-uuid")
        .await
        .assert_error(404, None);

    // Okta's profile update is a PUT of the whole user; left-out attributes are cleared.
    let mut replaced = user.clone();
    replaced["name"] = json!({ "givenName": "Anna", "familyName": "Lee" });
    replaced.as_object_mut().unwrap().remove("displayName");
    let put = directory
        .put(&format!("/Users/{id}"), replaced.clone())
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["name"]["givenName"], "Anna");
    assert!(put.body.get("displayName").is_none());
    assert_ne!(put.body["meta"]["version"], user["meta"]["version"]);

    // A stale ETag is 412; the current one works; If-None-Match gives 304.
    directory
        .send(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(replaced.clone()),
            &[("if-match", &etag)],
        )
        .await
        .assert_error(412, None);
    let current = put.body["meta"]["version"].as_str().unwrap().to_owned();
    let unchanged = directory
        .send(
            Method::GET,
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", &current)],
        )
        .await;
    assert_eq!(unchanged.status, 304);

    // Deactivation: Okta's path-less PATCH; the user stays readable.
    let patched = directory
        .patch(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "value": { "active": false } }]),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["active"], false);
    assert_eq!(
        directory.get(&format!("/Users/{id}")).await.body["active"],
        false
    );
    let status = app
        .tenant(
            &tenant,
            "query($id: ID!) { identity(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(status.data()["identity"]["status"], "SUSPENDED");

    // The audit log names the SCIM token.
    let audit = app.tenant(&tenant, AUDIT, json!({})).await;
    let by_scim: Vec<&Value> = audit.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actorType"] == "scim_token")
        .collect();
    for action in ["identity.create", "identity.update", "identity.suspend"] {
        assert!(
            by_scim.iter().any(|e| e["action"] == action),
            "{action}: {by_scim:?}"
        );
    }

    // DELETE deletes the identity.
    assert_eq!(directory.delete(&format!("/Users/{id}")).await.status, 204);
    directory
        .get(&format!("/Users/{id}"))
        .await
        .assert_error(404, None);
}

#[tokio::test]
async fn entra_patch_shapes_default_and_aad_opt_scim_062020_are_both_applied() {
    let app = TestApp::start().await;
    let (tenant, token) = tenant_directory(&app, "scim-entra").await;
    let directory = Directory::new(&app, &tenant, &token);
    let email = unique_email();
    let id = directory
        .create_user(&email, json!({ "externalId": "aad-1" }))
        .await;
    let path = format!("/Users/{id}");

    // Default shape: capitalised ops, one Replace per attribute, string booleans, adding a
    // work email the user does not have yet.
    let patched = directory
        .patch(
            &path,
            json!([
                { "op": "Replace", "path": "displayName", "value": "Bo Chen" },
                { "op": "Add", "path": "emails[type eq \"work\"].value", "value": "bo.chen@example.com" },
                { "op": "Add", "path": "name.givenName", "value": "Bo" },
                { "op": "Add", "path": format!("{ENTERPRISE}:department"), "value": "Sales" },
                { "op": "Replace", "path": "active", "value": "False" }
            ]),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let user = &patched.body;
    assert_eq!(user["displayName"], "Bo Chen");
    assert_eq!(user["name"]["givenName"], "Bo");
    assert_eq!(user[ENTERPRISE]["department"], "Sales");
    assert_eq!(user["active"], false);
    let work: Vec<&Value> = user["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "work")
        .collect();
    assert_eq!(work.len(), 1, "{user}");
    assert_eq!(work[0]["value"], "bo.chen@example.com");
    // The work email is found by Entra's matching filter.
    let found = directory
        .filter(
            "Users",
            "emails[type eq \"work\"].value eq \"bo.chen@example.com\"",
        )
        .await;
    assert_eq!(found.body["totalResults"], 1);

    // aadOptscim062020: lowercase ops, real booleans, a path-less replace with dotted and
    // URN keys.
    let patched = directory
        .patch(
            &path,
            json!([{ "op": "replace", "value": {
                "active": true,
                "name.familyName": "Chen",
                format!("{ENTERPRISE}:employeeNumber"): "701",
                "displayName": "Bo C."
            } }]),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["active"], true);
    assert_eq!(patched.body["name"]["familyName"], "Chen");
    assert_eq!(patched.body["name"]["givenName"], "Bo");
    assert_eq!(patched.body[ENTERPRISE]["employeeNumber"], "701");
    assert_eq!(patched.body[ENTERPRISE]["department"], "Sales");

    // `remove` without a path, an unknown op, a bad path: 400 with their scimType.
    directory
        .patch(&path, json!([{ "op": "remove" }]))
        .await
        .assert_error(400, Some("noTarget"));
    directory
        .patch(
            &path,
            json!([{ "op": "move", "path": "title", "value": "x" }]),
        )
        .await
        .assert_error(400, Some("invalidSyntax"));
    directory
        .patch(
            &path,
            json!([{ "op": "replace", "path": "emails[type eq", "value": "x" }]),
        )
        .await
        .assert_error(400, Some("invalidPath"));
    directory
        .patch(
            &path,
            json!([{ "op": "replace", "path": "id", "value": "x" }]),
        )
        .await
        .assert_error(400, Some("mutability"));
    // A userName that is not an address is invalidValue; the user is unchanged.
    directory
        .patch(
            &path,
            json!([{ "op": "replace", "path": "userName", "value": "not an address" }]),
        )
        .await
        .assert_error(400, Some("invalidValue"));
    assert_eq!(directory.get(&path).await.body["userName"], email.as_str());
}

#[tokio::test]
async fn filters_pages_and_attribute_selection() {
    let app = TestApp::start().await;
    let (tenant, token) = tenant_directory(&app, "scim-filters").await;
    let directory = Directory::new(&app, &tenant, &token);
    let mut ids = Vec::new();
    for (name, title) in [("ann", "Engineer"), ("bob", "Manager"), ("cat", "Engineer")] {
        let email = format!("{name}.{}", unique_email());
        ids.push(
            directory
                .create_user(&email, json!({ "title": title, "displayName": name, "emails": [{ "value": email, "type": "work" }] }))
                .await,
        );
    }
    let count = |filter: &'static str| {
        let directory = &directory;
        async move {
            let answer = directory.filter("Users", filter).await;
            assert_eq!(answer.status, 200, "{filter}: {}", answer.body);
            answer.body["totalResults"].as_u64().unwrap()
        }
    };
    assert_eq!(count("title eq \"Engineer\"").await, 2);
    assert_eq!(count("title ne \"Engineer\"").await, 1);
    assert_eq!(count("displayName co \"o\"").await, 1);
    assert_eq!(count("displayName sw \"CA\"").await, 1);
    assert_eq!(count("title pr").await, 3);
    assert_eq!(
        count("title eq \"Engineer\" and displayName eq \"ann\"").await,
        1
    );
    assert_eq!(
        count("displayName eq \"ann\" or displayName eq \"bob\"").await,
        2
    );
    assert_eq!(count("not (title eq \"Engineer\")").await, 1);
    assert_eq!(
        count("emails[type eq \"work\" and value co \"bob.\"]").await,
        1
    );
    assert_eq!(count("active eq true").await, 3);
    directory
        .filter("Users", "title eq")
        .await
        .assert_error(400, Some("invalidFilter"));

    // Pages: 1-based, stable, `count` 0 gives only the total.
    let page = |query: &'static str| {
        let directory = &directory;
        async move { directory.get(&format!("/Users?{query}")).await.body }
    };
    let all: Vec<Value> = page("startIndex=1&count=10").await["Resources"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 3);
    let second = page("startIndex=2&count=1").await;
    assert_eq!(second["Resources"][0]["id"], all[1]["id"]);
    assert_eq!(second["totalResults"], 3);
    let zero = page("count=0").await;
    assert_eq!(zero["totalResults"], 3);
    assert_eq!(zero["Resources"], json!([]));
    assert_eq!(page("startIndex=0&count=1").await["startIndex"], 1);
    directory
        .get("/Users?count=many")
        .await
        .assert_error(400, Some("invalidValue"));

    // attributes / excludedAttributes, on lists and single reads.
    let only = directory
        .get(&format!("/Users/{}?attributes=userName", ids[0]))
        .await
        .body;
    let mut keys: Vec<&String> = only.as_object().unwrap().keys().collect();
    keys.sort();
    // A single resource keeps its `meta`, with the version its ETag names.
    assert_eq!(keys, ["id", "meta", "schemas", "userName"]);
    let without = directory
        .get("/Users?excludedAttributes=emails,title")
        .await
        .body;
    for user in without["Resources"].as_array().unwrap() {
        assert!(user.get("emails").is_none() && user.get("title").is_none());
        assert!(user.get("userName").is_some());
    }

    // POST /.search takes the same in a body.
    let searched = directory
        .post(
            "/Users/.search",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "title eq \"Manager\"", "attributes": ["displayName"]
            }),
        )
        .await;
    assert_eq!(searched.body["totalResults"], 1);
    assert_eq!(searched.body["Resources"][0]["displayName"], "bob");
    assert!(searched.body["Resources"][0].get("title").is_none());
}

/// A passkey sign-in with `device`'s credential (discoverable, so a suspended identity's
/// ceremony still begins): whether it starts a session.
async fn signs_in(
    app: &TestApp,
    tenant: &TestTenant,
    device: &mut latchkey_tests::passkey::Device,
    credential: &str,
) -> bool {
    let begun = app.begin_sign_in(tenant, None).await;
    let assertion = device.get(&begun.options, Some(credential));
    let finished = app
        .finish_sign_in(tenant, &begun.ceremony_id, assertion)
        .await;
    finished.body.get("errors").is_none()
}

#[tokio::test]
async fn a_deactivated_user_cannot_sign_in_until_reactivated() {
    let app = TestApp::start().await;
    let (tenant, token) = tenant_directory(&app, "scim-active").await;
    let directory = Directory::new(&app, &tenant, &token);
    let email = unique_email();
    let (mut device, credential, signed_in) = app.sign_up(&tenant, &email).await;
    let found = directory
        .filter("Users", &format!("userName eq \"{email}\""))
        .await;
    let id = found.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(id, signed_in.identity_id);

    let off = directory
        .patch(
            &format!("/Users/{id}"),
            json!([{ "op": "Replace", "path": "active", "value": "False" }]),
        )
        .await;
    assert_eq!(off.body["active"], false);
    assert!(!signs_in(&app, &tenant, &mut device, &credential).await);
    // The session it had ended.
    let viewer = app
        .anonymous(
            &tenant,
            Some(&signed_in.access_token),
            "{ viewer { identity { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer.status, 401);

    let on = directory
        .patch(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "value": { "active": true } }]),
        )
        .await;
    assert_eq!(on.body["active"], true);
    assert!(signs_in(&app, &tenant, &mut device, &credential).await);
}

#[tokio::test]
async fn groups_of_a_tenant_token_are_organizations_with_their_members() {
    let app = TestApp::start().await;
    let (tenant, token) = tenant_directory(&app, "scim-groups").await;
    let directory = Directory::new(&app, &tenant, &token);
    let ann = directory.create_user(&unique_email(), json!({})).await;
    let bob = directory.create_user(&unique_email(), json!({})).await;
    let cat = directory.create_user(&unique_email(), json!({})).await;

    let created = directory
        .post(
            "/Groups",
            json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Acme Sales",
                    "externalId": "g-1", "members": [{ "value": ann }] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let group = created.body["id"].as_str().unwrap().to_owned();
    let members = |body: &Value| -> Vec<String> {
        let mut ids: Vec<String> = body["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    };
    assert_eq!(members(&created.body), std::slice::from_ref(&ann));
    // It is an organization with that member.
    let org = app
        .tenant(&tenant, "query($id: ID!) { organization(id: $id) { name members(first: 10) { nodes { identity { id } } } } }", json!({ "id": group }))
        .await;
    assert_eq!(org.data()["organization"]["name"], "Acme Sales");
    assert_eq!(
        org.data()["organization"]["members"]["nodes"][0]["identity"]["id"],
        ann.as_str()
    );

    // A second group of the same name is 409.
    directory
        .post("/Groups", json!({ "displayName": "acme sales" }))
        .await
        .assert_error(409, Some("uniqueness"));

    let path = format!("/Groups/{group}");
    // Entra: add members, remove with the legacy value list, then with a value filter.
    let added = directory
        .patch(&path, json!([{ "op": "Add", "path": "members", "value": [{ "value": bob }, { "value": cat }] }]))
        .await;
    let mut expected = vec![ann.clone(), bob.clone(), cat.clone()];
    expected.sort();
    assert_eq!(members(&added.body), expected);
    let removed = directory
        .patch(
            &path,
            json!([{ "op": "Remove", "path": "members", "value": [{ "value": bob }] }]),
        )
        .await;
    assert_eq!(members(&removed.body).len(), 2);
    let removed = directory
        .patch(
            &path,
            json!([{ "op": "remove", "path": format!("members[value eq \"{cat}\"]") }]),
        )
        .await;
    assert_eq!(members(&removed.body), std::slice::from_ref(&ann));
    // Okta: rename with a path-less replace of id and displayName; a full replace of members.
    let renamed = directory
        .patch(
            &path,
            json!([{ "op": "replace", "value": { "id": group, "displayName": "Acme EMEA" } }]),
        )
        .await;
    assert_eq!(renamed.body["displayName"], "Acme EMEA");
    let replaced = directory
        .patch(
            &path,
            json!([{ "op": "replace", "path": "members", "value": [{ "value": bob }] }]),
        )
        .await;
    assert_eq!(members(&replaced.body), std::slice::from_ref(&bob));
    // Unknown members are invalidValue.
    directory
        .patch(&path, json!([{ "op": "add", "path": "members", "value": [{ "value": "00000000-0000-7000-8000-000000000000" }] }]))
        .await
        .assert_error(400, Some("invalidValue"));

    // Entra's lookups: by displayName, with members left out.
    let found = directory
        .send(
            Method::GET,
            "/Groups?filter=displayName%20eq%20%22Acme%20EMEA%22&excludedAttributes=members",
            None,
            &[],
        )
        .await;
    assert_eq!(found.body["totalResults"], 1);
    assert!(found.body["Resources"][0].get("members").is_none());
    let by_member = directory
        .filter("Groups", &format!("members[value eq \"{bob}\"]"))
        .await;
    assert_eq!(by_member.body["totalResults"], 1);

    assert_eq!(directory.delete(&path).await.status, 204);
    let gone = app
        .tenant(
            &tenant,
            "query($id: ID!) { organization(id: $id) { id } }",
            json!({ "id": group }),
        )
        .await;
    assert_eq!(gone.error_code(), "NOT_FOUND");
    directory.get(&path).await.assert_error(404, None);
}

#[tokio::test]
async fn provisioned_changes_reach_crm_connectors() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let app = TestApp::start().await;
    let (tenant, token) = tenant_directory(&app, "scim-crm").await;
    latchkey_tests::crm::connector(
        &app,
        &tenant,
        json!({ "name": "hooks", "kind": "WEBHOOK", "triggers": ["IDENTITY_CREATED", "IDENTITY_UPDATED"],
                "settings": { "url": receiver.uri() }, "credentials": { "secret": "s3cret-s3cret-s3cret" } }),
    )
    .await;
    let directory = Directory::new(&app, &tenant, &token);
    let email = unique_email();
    let id = directory
        .create_user(&email, json!({ "displayName": "Dee" }))
        .await;
    directory
        .patch(
            &format!("/Users/{id}"),
            json!([{ "op": "replace", "path": "displayName", "value": "Dee Dee" }]),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let bodies: Vec<Value> = receiver
            .received_requests()
            .await
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        let types: Vec<&str> = bodies
            .iter()
            .filter(|b| b["data"]["id"] == id.as_str())
            .map(|b| b["type"].as_str().unwrap())
            .collect();
        if types.contains(&"identity.created") && types.contains(&"identity.updated") {
            break;
        }
        assert!(Instant::now() < deadline, "deliveries: {bodies:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn requests_past_the_token_rate_limit_are_429() {
    let app = TestApp::start().await;
    let (tenant, token) = tenant_directory(&app, "scim-limit").await;
    app.tenant(
        &tenant,
        "mutation { updateTenantSettings(input: { rateLimits: { signInPerIp: 60, signInPerIdentity: 10, signUpPerIp: 20, scimPerToken: 3 } }) { settings { rateLimits { scimPerToken } } } }",
        json!({}),
    )
    .await
    .data();
    let directory = Directory::new(&app, &tenant, &token);
    for _ in 0..3 {
        assert_eq!(directory.get("/Users").await.status, 200);
    }
    let limited = directory.get("/Users").await;
    limited.assert_error(429, None);
    assert!(limited.headers.contains_key("retry-after"));
    // Another token of the tenant has its own budget.
    let (_, other) = app.create_scim_token(&tenant, None).await;
    assert_eq!(
        Directory::new(&app, &tenant, &other)
            .get("/Users")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn another_tenant_s_token_and_resources_are_out_of_reach() {
    let app = TestApp::start().await;
    let (a, token_a) = tenant_directory(&app, "scim-iso-a").await;
    let (b, token_b) = tenant_directory(&app, "scim-iso-b").await;
    let in_a = Directory::new(&app, &a, &token_a);
    let user = in_a.create_user(&unique_email(), json!({})).await;
    let group = in_a
        .post("/Groups", json!({ "displayName": "A group" }))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A's token on B's endpoint: 401.
    Directory::new(&app, &b, &token_a)
        .get("/Users")
        .await
        .assert_error(401, None);
    // B's token never sees A's users or groups: 404 exactly like nothing.
    let in_b = Directory::new(&app, &b, &token_b);
    in_b.get(&format!("/Users/{user}"))
        .await
        .assert_error(404, None);
    in_b.put(
        &format!("/Users/{user}"),
        json!({ "userName": unique_email() }),
    )
    .await
    .assert_error(404, None);
    in_b.patch(
        &format!("/Users/{user}"),
        json!([{ "op": "replace", "path": "active", "value": false }]),
    )
    .await
    .assert_error(404, None);
    in_b.delete(&format!("/Users/{user}"))
        .await
        .assert_error(404, None);
    in_b.get(&format!("/Groups/{group}"))
        .await
        .assert_error(404, None);
    in_b.delete(&format!("/Groups/{group}"))
        .await
        .assert_error(404, None);
    assert_eq!(in_b.get("/Users").await.body["totalResults"], 0);
    assert_eq!(in_b.get("/Groups").await.body["totalResults"], 0);
    // Nor can B make A's user a member of its groups.
    let own = in_b
        .post("/Groups", json!({ "displayName": "B group" }))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    in_b.patch(
        &format!("/Groups/{own}"),
        json!([{ "op": "add", "path": "members", "value": [{ "value": user }] }]),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    // A's token cannot be revoked or listed from B.
    let listed = app.tenant(&b, "{ scimTokens { id } }", json!({})).await;
    assert_eq!(listed.data()["scimTokens"].as_array().unwrap().len(), 1);
    let tokens_a = app.tenant(&a, "{ scimTokens { id } }", json!({})).await;
    let id_a = tokens_a.data()["scimTokens"][0]["id"].clone();
    let revoke = app
        .tenant(
            &b,
            "mutation($id: ID!) { revokeScimToken(input: { id: $id }) { scimToken { id } } }",
            json!({ "id": id_a }),
        )
        .await;
    assert_eq!(revoke.error_code(), "NOT_FOUND");
    assert_eq!(in_a.get("/Users").await.status, 200);
    // And A's user is unchanged.
    assert_eq!(
        in_a.get(&format!("/Users/{user}")).await.body["active"],
        true
    );
}
