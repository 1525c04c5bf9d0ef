//! Federation through SAML 2.0 over HTTP: a provider is created from its IdP's metadata
//! (checked on save), Latchkey's service-provider metadata is served, the flow starts with an
//! HTTP-Redirect `AuthnRequest`, and responses signed with test keys (`tests/src/saml.rs`) are
//! posted to the assertion consumer service: the first enterprise sign-in provisions the member
//! with mapped roles, the mapping follows the IdP at each sign-in, a replayed response, an
//! answer to no request, another organization's address and an email-only match are refused
//! with an audit reason, a certificate rollover at a metadata URL is followed, and another
//! tenant's provider is 404 on every path. The same flows against a real IdP (samlify) run in
//! Chromium from `tests/browser/saml.test.mjs`.

use base64::Engine;
use chrono::Utc;
use flate2::read::DeflateDecoder;
use latchkey_tests::saml::{
    CERT_A, CERT_B, KEY_A, KEY_B, Parts, assertion_signed, encode, metadata_xml,
};
use latchkey_tests::{TestApp, TestTenant, unique, unique_email};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use std::io::Read;

const CREATE: &str = "mutation($input: CreateIdentityProviderInput!) { createIdentityProvider(input: $input) { identityProvider { id protocol startPath serviceProviderMetadataPath assertionConsumerServicePath } } }";
const AUDIT: &str = "{ auditEvents(first: 100) { nodes { action data } } }";
const IDENTITY: &str = "query($e: String) { identities(first: 5, filter: { email: $e }) { nodes { id federatedLinks { providerId subject email } } } }";
const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { members(first: 10) { nodes { roles identity { email } } } } }";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Creates a SAML provider at `tenant` with `input`'s fields over the defaults (metadata with
/// certificate A); answers the GraphQL response.
async fn create(
    app: &TestApp,
    tenant: &TestTenant,
    input: Value,
) -> latchkey_tests::GraphqlResponse {
    let mut full = json!({
        "name": "Acme SAML",
        "protocol": "SAML",
        "settings": { "metadataXml": metadata_xml(&[CERT_A]) },
        "credentials": {}
    });
    for (key, value) in input.as_object().unwrap() {
        full[key] = value.clone();
    }
    app.tenant(tenant, CREATE, json!({ "input": full })).await
}

async fn provider_id(app: &TestApp, tenant: &TestTenant, input: Value) -> String {
    let created = create(app, tenant, input).await;
    created.data()["createIdentityProvider"]["identityProvider"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A flow started at `tenant`'s provider: the request's id and the flow cookie.
async fn start(app: &TestApp, tenant: &TestTenant, provider: &str) -> (String, String) {
    let response = client()
        .get(format!(
            "{}/t/{}/federation/{provider}/start",
            app.url, tenant.slug
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("latchkey_federation="))
        .unwrap();
    assert!(
        cookie.contains(&format!("Path=/t/{}/", tenant.slug)),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let location = url::Url::parse(response.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert_eq!(location.path(), "/sso");
    let request = location
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .into_owned();
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(request)
        .unwrap();
    let mut xml = String::new();
    DeflateDecoder::new(deflated.as_slice())
        .read_to_string(&mut xml)
        .unwrap();
    let id = xml
        .split(" ID=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(xml.contains(&format!(
        "AssertionConsumerServiceURL=\"{}/t/{}/saml/{provider}/acs\"",
        app.public_url, tenant.slug
    )));
    (id.to_owned(), cookie)
}

/// A good response to request `request` for `tenant`'s provider, about `email`.
fn parts(app: &TestApp, tenant: &TestTenant, provider: &str, request: &str, email: &str) -> Parts {
    let base = format!("{}/t/{}/saml/{provider}", app.public_url, tenant.slug);
    let mut parts = Parts::new(
        &format!("{base}/acs"),
        &format!("{base}/metadata"),
        Utc::now(),
    );
    parts.in_response_to = Some(request.to_owned());
    parts.email = email.to_owned();
    parts.name_id = unique("subject");
    parts.assertion_id = format!("_{}", unique("assertion"));
    parts
}

/// POSTs `response` to `tenant`'s provider's ACS with `cookie`: status, location, whether a
/// session was set, body.
async fn post(
    app: &TestApp,
    tenant: &TestTenant,
    provider: &str,
    response: &str,
    cookie: &str,
) -> (StatusCode, Option<String>, bool, String) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &encode(response))
        .append_pair("RelayState", "ignored")
        .finish();
    let answer = client()
        .post(format!("{}/t/{}/saml/{provider}/acs", app.url, tenant.slug))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(COOKIE, cookie)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let location = answer
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let session = answer
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("latchkey_session=") && c.len() > 30);
    (
        status,
        location,
        session,
        answer.text().await.unwrap_or_default(),
    )
}

async fn refusals(app: &TestApp, tenant: &TestTenant) -> Vec<String> {
    let events = app.tenant(tenant, AUDIT, json!({})).await;
    events.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "federation.refused")
        .map(|e| e["data"]["reason"].as_str().unwrap().to_owned())
        .collect()
}

/// An organization with a verified domain: its id and the domain.
async fn organization(app: &TestApp, tenant: &TestTenant, name: &str) -> (String, String) {
    let (id, _) = app.create_organization(tenant, name, "CUSTOMER").await;
    let domain = format!("{}.example", unique(&name.to_lowercase()));
    app.verified_domain(tenant, &id, &domain).await;
    (id, domain)
}

#[tokio::test]
async fn an_organizations_saml_provider_provisions_members_and_maps_roles_at_each_sign_in() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("saml").await;
    let (acme, domain) = organization(&app, &tenant, "Acme").await;
    let created = create(
        &app,
        &tenant,
        json!({
            "organizationId": acme,
            "domains": [domain],
            "roleMapping": { "claim": "groups", "rules": [{ "value": "admins", "roles": ["org:admin"] }], "defaultRoles": ["org:member"] }
        }),
    )
    .await;
    let provider = &created.data()["createIdentityProvider"]["identityProvider"];
    let id = provider["id"].as_str().unwrap().to_owned();
    assert_eq!(provider["protocol"], "SAML");
    assert_eq!(
        provider["assertionConsumerServicePath"],
        format!("/t/{}/saml/{id}/acs", tenant.slug)
    );
    // Latchkey's metadata, for the IdP's administrator: its entity id is the metadata's URL.
    let metadata_path = provider["serviceProviderMetadataPath"].as_str().unwrap();
    let metadata = client()
        .get(format!("{}{metadata_path}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    let metadata = metadata.text().await.unwrap();
    assert!(metadata.contains(&format!("entityID=\"{}{metadata_path}\"", app.public_url)));

    let email = format!("ada@{domain}");
    let (request, cookie) = start(&app, &tenant, &id).await;
    let response = assertion_signed(&parts(&app, &tenant, &id, &request, &email), KEY_A);
    let (status, location, session, body) = post(&app, &tenant, &id, &response, &cookie).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session);
    assert!(location.unwrap().contains("?federation="));
    let found = app.tenant(&tenant, IDENTITY, json!({ "e": email })).await;
    assert_eq!(
        found.data()["identities"]["nodes"][0]["federatedLinks"][0]["providerId"],
        id
    );
    let members = app.tenant(&tenant, MEMBERS, json!({ "id": acme })).await;
    assert_eq!(
        members.data()["organization"]["members"]["nodes"],
        json!([{ "roles": ["org:admin"], "identity": { "email": email } }])
    );

    // The same response again: refused, whoever posts it.
    let (status, _, session, _) = post(&app, &tenant, &id, &response, &cookie).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!session);
    assert_eq!(refusals(&app, &tenant).await, ["replayed_assertion"]);

    // Out of the admins group at the IdP: the next sign-in maps the default role.
    let subject = found.data()["identities"]["nodes"][0]["federatedLinks"][0]["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    let (request, cookie) = start(&app, &tenant, &id).await;
    let mut again = parts(&app, &tenant, &id, &request, &email);
    again.name_id = subject;
    again.groups = vec!["engineering".into()];
    let (status, _, session, body) = post(
        &app,
        &tenant,
        &id,
        &assertion_signed(&again, KEY_A),
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session);
    let members = app.tenant(&tenant, MEMBERS, json!({ "id": acme })).await;
    assert_eq!(
        members.data()["organization"]["members"]["nodes"][0]["roles"],
        json!(["org:member"])
    );
}

#[tokio::test]
async fn responses_that_answer_no_request_or_speak_for_others_are_refused() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("saml").await;
    let (acme, domain) = organization(&app, &tenant, "Acme").await;
    let (_globex, globex_domain) = organization(&app, &tenant, "Globex").await;
    let id = provider_id(
        &app,
        &tenant,
        json!({ "organizationId": acme, "domains": [domain] }),
    )
    .await;

    // InResponseTo naming a request Latchkey never made.
    let (_, cookie) = start(&app, &tenant, &id).await;
    let stray = parts(
        &app,
        &tenant,
        &id,
        "_not-a-request",
        &format!("ada@{domain}"),
    );
    let (status, _, session, _) = post(
        &app,
        &tenant,
        &id,
        &assertion_signed(&stray, KEY_A),
        &cookie,
    )
    .await;
    assert_eq!((status, session), (StatusCode::FORBIDDEN, false));
    // Signed with a key the metadata does not list.
    let (request, cookie) = start(&app, &tenant, &id).await;
    let forged = parts(&app, &tenant, &id, &request, &format!("bob@{domain}"));
    let (status, _, _, body) = post(
        &app,
        &tenant,
        &id,
        &assertion_signed(&forged, KEY_B),
        &cookie,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("does not verify"), "{body}");
    // The flow finished in another browser (no flow cookie).
    let (request, _) = start(&app, &tenant, &id).await;
    let elsewhere = parts(&app, &tenant, &id, &request, &format!("eve@{domain}"));
    let (status, _, _, _) = post(
        &app,
        &tenant,
        &id,
        &assertion_signed(&elsewhere, KEY_A),
        "x=y",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Acme's IdP speaking for Globex's domain.
    let (request, cookie) = start(&app, &tenant, &id).await;
    let foreign = parts(
        &app,
        &tenant,
        &id,
        &request,
        &format!("mallory@{globex_domain}"),
    );
    let (status, _, session, _) = post(
        &app,
        &tenant,
        &id,
        &assertion_signed(&foreign, KEY_A),
        &cookie,
    )
    .await;
    assert_eq!((status, session), (StatusCode::FORBIDDEN, false));
    assert_eq!(
        refusals(&app, &tenant).await,
        [
            "unknown_state",
            "bad_signature",
            "other_browser",
            "domain_not_of_organization"
        ]
    );
}

#[tokio::test]
async fn a_tenant_wide_saml_provider_never_links_an_existing_identity_by_email() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("saml").await;
    let id = provider_id(&app, &tenant, json!({})).await;
    let email = unique_email();
    let (_victim, _, _) = app.sign_up(&tenant, &email).await;
    let (request, cookie) = start(&app, &tenant, &id).await;
    let claim = parts(&app, &tenant, &id, &request, &email);
    let (status, _, session, body) = post(
        &app,
        &tenant,
        &id,
        &assertion_signed(&claim, KEY_A),
        &cookie,
    )
    .await;
    assert_eq!((status, session), (StatusCode::FORBIDDEN, false), "{body}");
    let found = app.tenant(&tenant, IDENTITY, json!({ "e": email })).await;
    assert_eq!(
        found.data()["identities"]["nodes"][0]["federatedLinks"],
        json!([])
    );
    assert_eq!(refusals(&app, &tenant).await, ["email_not_proven"]);
}

#[tokio::test]
async fn saml_providers_are_checked_on_save_and_follow_a_rollover_at_their_metadata_url() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("saml").await;
    let no_keys = metadata_xml(&[]);
    let cases = [
        (
            json!({ "settings": { "metadataXml": no_keys } }),
            "settings.metadataXml",
        ),
        (
            json!({ "settings": { "metadataXml": "<html/>" } }),
            "settings.metadataXml",
        ),
        (
            json!({ "settings": { "metadataUrl": "http://127.0.0.1:9/none.xml" } }),
            "settings.metadataUrl",
        ),
        (
            json!({ "credentials": { "clientId": "a" } }),
            "credentials.clientId",
        ),
        (json!({ "preset": "GOOGLE" }), "preset"),
    ];
    for (input, field) in cases {
        let answer = create(&app, &tenant, input).await;
        answer.assert_bad_input(field);
    }
    let listed = app
        .tenant(&tenant, "{ identityProviders { id } }", json!({}))
        .await;
    assert_eq!(listed.data()["identityProviders"], json!([]));

    // Metadata at a URL: certificate A first, then A and B (the IdP's rollover).
    let idp = wiremock::MockServer::start().await;
    let serve = |certs: &[&str]| {
        wiremock::Mock::given(wiremock::matchers::path("/metadata.xml"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_string(metadata_xml(certs)))
    };
    serve(&[CERT_A]).up_to_n_times(1).mount(&idp).await;
    serve(&[CERT_A, CERT_B]).mount(&idp).await;
    let id = provider_id(
        &app,
        &tenant,
        json!({ "settings": { "metadataUrl": format!("{}/metadata.xml", idp.uri()) } }),
    )
    .await;
    let tested = app
        .tenant(
            &tenant,
            "mutation($id: ID!) { testIdentityProvider(id: $id) { ok message } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        tested.data()["testIdentityProvider"]["ok"],
        true,
        "{}",
        tested.body
    );
    // Signed with the new certificate B: the kept metadata knows only A, so it is read again.
    let (request, cookie) = start(&app, &tenant, &id).await;
    let rolled = parts(&app, &tenant, &id, &request, &unique_email());
    let (status, _, _, body) = post(
        &app,
        &tenant,
        &id,
        &assertion_signed(&rolled, KEY_B),
        &cookie,
    )
    .await;
    // A tenant-wide provider proves no address, so the sign-in stops there: past the signature.
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!body.contains("does not verify"), "{body}");
    assert_eq!(refusals(&app, &tenant).await, ["email_not_proven"]);
}

#[tokio::test]
async fn another_tenants_saml_provider_is_not_found_on_every_path() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("saml").await;
    let other = app.create_tenant("other").await;
    let id = provider_id(&app, &tenant, json!({})).await;
    let theirs = provider_id(&app, &other, json!({})).await;
    for path in [
        format!("/t/{}/saml/{id}/metadata", other.slug),
        format!("/t/{}/federation/{id}/start", other.slug),
    ] {
        let answer = client()
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (request, cookie) = start(&app, &tenant, &id).await;
    let response = assertion_signed(&parts(&app, &tenant, &id, &request, &unique_email()), KEY_A);
    let (status, _, _, _) = post(&app, &other, &id, &response, &cookie).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // At the other tenant's own provider (same IdP keys), the response is addressed elsewhere.
    let (status, _, session, _) = post(&app, &other, &theirs, &response, &cookie).await;
    assert_eq!((status, session), (StatusCode::FORBIDDEN, false));
    assert_eq!(refusals(&app, &other).await, ["wrong_destination"]);
    assert!(refusals(&app, &tenant).await.is_empty());
}
