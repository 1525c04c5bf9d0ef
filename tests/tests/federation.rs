//! Federation through OpenID Connect, with another Latchkey tenant as the upstream provider (a
//! real OpenID Connect implementation: discovery, PKCE, signed ID tokens): a provider is
//! checked against its discovery document on save; the flow starts at
//! `/federation/{id}/start`, comes back to the tenant's one callback, creates or links the
//! identity by the provider and subject, and sets the provider's browser session. Refusals
//! (a replayed or foreign state, a flow finished in another browser, an address the preset
//! does not count as proven) are pages with a reason in the audit log; another tenant's
//! provider is 404 on every path and `NOT_FOUND` in the API.

use latchkey_tests::oidc::{Browser, param};
use latchkey_tests::{TestApp, TestTenant, unique_email};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use url::Url;

const CREATE: &str = "mutation($input: CreateIdentityProviderInput!) { createIdentityProvider(input: $input) { identityProvider { id name protocol preset settings startPath } } }";
const AUDIT: &str = "{ auditEvents(first: 100) { nodes { action targetId data } } }";
const IDENTITY: &str = "query($e: String) { identities(first: 5, filter: { email: $e }) { nodes { id email emailVerified federatedLinks { providerId subject email } } } }";

/// A server whose public URL is its loopback address, so that an upstream tenant's native
/// application may register the downstream callback (`http` on a loopback IP, RFC 8252).
async fn server() -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings = latchkey_tests::test_settings();
    settings.bind = format!("127.0.0.1:{port}");
    settings.public_url = Some(format!("http://127.0.0.1:{port}"));
    TestApp::start_with(settings).await
}

/// A tenant of the loopback server whose passkeys live at `localhost` (WebAuthn takes no IP
/// address as a relying party), where the test's authenticator is.
async fn tenant(app: &TestApp, prefix: &str) -> TestTenant {
    let tenant = app.create_tenant(prefix).await;
    app.tenant(
        &tenant,
        "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { rpId } } }",
        json!({ "input": { "rpId": "localhost", "allowedOrigins": [app.public_url] } }),
    )
    .await
    .data();
    tenant
}

/// An upstream tenant with a public client for `down`'s callback, and a provider at `down`
/// pointing at it with `preset`.
async fn upstream_provider(
    app: &TestApp,
    up: &TestTenant,
    down: &TestTenant,
    preset: &str,
) -> String {
    let client = app
        .create_application(
            up,
            "NATIVE",
            &[&format!(
                "http://127.0.0.1/t/{}/federation/callback",
                down.slug
            )],
            json!({}),
        )
        .await;
    let created = app
        .tenant(
            down,
            CREATE,
            json!({ "input": {
                "name": "Upstream",
                "protocol": "OIDC",
                "preset": preset,
                "settings": { "issuer": format!("{}/t/{}", app.url, up.slug) },
                "credentials": { "clientId": client.client_id }
            } }),
        )
        .await;
    let provider = &created.data()["createIdentityProvider"]["identityProvider"];
    assert_eq!(provider["protocol"], "OIDC");
    assert_eq!(
        provider["settings"]["scopes"],
        json!(["openid", "email", "profile"])
    );
    provider["id"].as_str().unwrap().to_owned()
}

/// GETs `url` with `cookie`; the status, the `Location`, the cookies set, and the body.
async fn get(url: &str, cookie: Option<&str>) -> (StatusCode, Option<String>, Vec<String>, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let cookies = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    (
        status,
        location,
        cookies,
        response.text().await.unwrap_or_default(),
    )
}

/// Starts a flow at `down` and lets the upstream user (signed in at `up` in `upstream`)
/// authorize it: the callback URL and the flow cookie.
async fn through_upstream(
    app: &TestApp,
    down: &TestTenant,
    provider: &str,
    upstream: &Browser,
    query: &str,
) -> (String, String) {
    let (status, location, cookies, body) = get(
        &format!(
            "{}/t/{}/federation/{provider}/start{query}",
            app.url, down.slug
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let flow_cookie = cookies
        .into_iter()
        .find(|c| c.starts_with("latchkey_federation="))
        .expect("the flow cookie");
    let authorize = Url::parse(&location.unwrap()).unwrap();
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(param(&authorize, "nonce").is_some() && param(&authorize, "state").is_some());
    let (status, callback, body) = upstream.get(authorize.as_str()).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    (callback.unwrap(), flow_cookie)
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

#[tokio::test]
async fn a_person_signs_in_through_another_latchkey_tenant_and_is_linked_by_subject() {
    let app = server().await;
    let up = tenant(&app, "upstream").await;
    let down = tenant(&app, "down").await;
    let provider = upstream_provider(&app, &up, &down, "GENERIC").await;

    let email = unique_email();
    let (upstream, upstream_id) = upstream_person(&app, &up, &email).await;

    // First sign-in: the identity is created (the upstream proves the address) and linked.
    let (callback, flow_cookie) = through_upstream(&app, &down, &provider, &upstream, "").await;
    let (status, location, cookies, body) = get(&callback, Some(&flow_cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    // The hosted page collects the session's tokens with the code, from this browser only.
    let location = location.unwrap();
    let page = format!("/t/{}/?federation=", down.slug);
    assert!(location.starts_with(&page), "{location}");
    let code = &location[page.len()..];
    let session = cookies
        .iter()
        .find(|c| c.starts_with("latchkey_session=") && c.len() > 30)
        .expect("the provider's session cookie")
        .clone();
    let handoff = format!("{}/t/{}/federation/handoff", app.url, down.slug);
    let collect = |cookie: Option<String>| {
        let mut request = app.client.post(&handoff).form(&[("code", code)]);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send()
    };
    assert_eq!(collect(None).await.unwrap().status(), StatusCode::FORBIDDEN);
    let collected = collect(Some(session.clone())).await.unwrap();
    assert_eq!(collected.status(), StatusCode::OK);
    let tokens: Value = collected.json().await.unwrap();
    assert_eq!(
        collect(Some(session)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let viewer: Value = app
        .client
        .post(format!("{}/t/{}/graphql", app.url, down.slug))
        .bearer_auth(tokens["accessToken"].as_str().unwrap())
        .json(&json!({ "query": "{ viewer { identity { email federatedLinks { providerName } } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        viewer["data"]["viewer"]["identity"]["email"],
        email.as_str()
    );
    assert_eq!(
        viewer["data"]["viewer"]["identity"]["federatedLinks"][0]["providerName"],
        "Upstream"
    );
    let found = app.tenant(&down, IDENTITY, json!({ "e": email })).await;
    let identity = &found.data()["identities"]["nodes"][0];
    assert_eq!(identity["emailVerified"], true);
    assert_eq!(
        identity["federatedLinks"][0]["providerId"],
        provider.as_str()
    );
    assert_eq!(
        identity["federatedLinks"][0]["subject"],
        upstream_id.as_str()
    );
    let identity_id = identity["id"].as_str().unwrap().to_owned();

    // The same callback again: its state was spent.
    let (status, _, _, body) = get(&callback, Some(&flow_cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("expired or was already used"), "{body}");

    // A second sign-in finds the identity by its link; an application's `idp_hint` goes
    // straight to the provider and comes back to `authorize`.
    let application = app
        .create_application(&down, "SPA", &["https://shop.example/cb"], json!({}))
        .await;
    let challenge = latchkey_tests::oidc::Pkce::new();
    let authorize = app.authorize_url(
        &down,
        &application.client_id,
        "https://shop.example/cb",
        &[
            ("scope", "openid"),
            ("code_challenge", &challenge.challenge),
            ("code_challenge_method", "S256"),
            ("idp_hint", &provider),
        ],
    );
    let (status, location, _, body) = get(&authorize.replace("localhost", "127.0.0.1"), None).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let start = location.unwrap();
    assert!(
        start.starts_with(&format!(
            "/t/{}/federation/{provider}/start?authorization_request=",
            down.slug
        )),
        "{start}"
    );
    let query = &start[start.find('?').unwrap()..];
    let (callback, flow_cookie) = through_upstream(&app, &down, &provider, &upstream, query).await;
    let (status, location, cookies, body) = get(&callback, Some(&flow_cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let back = location.unwrap();
    assert!(
        back.starts_with(&format!(
            "/t/{}/oauth2/authorize?authorization_request=",
            down.slug
        )),
        "{back}"
    );
    let session = cookies
        .iter()
        .find(|c| c.starts_with("latchkey_session="))
        .unwrap();
    let (status, location, _, body) = get(&format!("{}{back}", app.url), Some(session)).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    assert!(
        location
            .unwrap()
            .starts_with("https://shop.example/cb?code=")
    );
    let found = app.tenant(&down, IDENTITY, json!({ "e": email })).await;
    assert_eq!(
        found.data()["identities"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        found.data()["identities"]["nodes"][0]["id"],
        identity_id.as_str()
    );

    // A flow finished in another browser (without the flow cookie) is refused.
    let (callback, _) = through_upstream(&app, &down, &provider, &upstream, "").await;
    let (status, _, cookies, body) = get(&callback, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("another browser"), "{body}");
    assert!(
        !cookies
            .iter()
            .any(|c| c.starts_with("latchkey_session=") && c.len() > 30)
    );

    let events = app.tenant(&down, AUDIT, json!({})).await;
    let actions: Vec<&str> = events.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"federation.provision"), "{actions:?}");
    assert!(actions.contains(&"identity_provider.create"), "{actions:?}");
    let reasons = refusals(&app, &down).await;
    assert!(reasons.contains(&"unknown_state".to_owned()), "{reasons:?}");
    assert!(reasons.contains(&"other_browser".to_owned()), "{reasons:?}");

    // Unlinking: refused while it would be the only way in (no passkey, no password, and no
    // email codes once the tenant stops offering them), allowed while another way exists.
    const UNLINK: &str =
        "mutation($p: ID!) { unlinkIdentityProvider(input: { providerId: $p }) { unlinked } }";
    let unlink = || {
        let query = app
            .client
            .post(format!("{}/t/{}/graphql", app.url, down.slug))
            .bearer_auth(tokens["accessToken"].as_str().unwrap())
            .json(&json!({ "query": UNLINK, "variables": { "p": provider } }));
        async move { query.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    const METHODS: &str = "mutation($m: [SignInMethod!]) { updateTenantSettings(input: { signInMethods: $m }) { settings { signInMethods } } }";
    app.tenant(&down, METHODS, json!({ "m": ["PASSKEY", "FEDERATED"] }))
        .await
        .data();
    let refused = unlink().await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("only way to sign in")
    );
    app.tenant(
        &down,
        METHODS,
        json!({ "m": ["PASSKEY", "EMAIL_CODE", "FEDERATED"] }),
    )
    .await
    .data();
    let unlinked = unlink().await;
    assert_eq!(
        unlinked["data"]["unlinkIdentityProvider"]["unlinked"], true,
        "{unlinked}"
    );
}

#[tokio::test]
async fn another_tenants_provider_is_not_found_on_every_path() {
    let app = server().await;
    let up = tenant(&app, "upstream").await;
    let down = tenant(&app, "down").await;
    let other = tenant(&app, "other").await;
    let provider = upstream_provider(&app, &up, &down, "GENERIC").await;

    let (status, _, _, _) = get(
        &format!("{}/t/{}/federation/{provider}/start", app.url, other.slug),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _, _) = get(
        &format!("{}/t/{}/federation/not-an-id/start", app.url, down.slug),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let listed = app
        .tenant(&other, "{ identityProviders { id } }", json!({}))
        .await;
    assert_eq!(listed.data()["identityProviders"], json!([]));
    for mutation in [
        "mutation($id: ID!) { updateIdentityProvider(input: { id: $id, name: \"x\" }) { identityProvider { id } } }",
        "mutation($id: ID!) { deleteIdentityProvider(input: { id: $id }) { identityProvider { id } } }",
        "mutation($id: ID!) { testIdentityProvider(id: $id) { ok } }",
    ] {
        let answer = app
            .tenant(&other, mutation, json!({ "id": provider }))
            .await;
        assert_eq!(answer.error_code(), "NOT_FOUND", "{mutation}");
    }
    // The provider is intact at its own tenant.
    let tested = app
        .tenant(
            &down,
            "mutation($id: ID!) { testIdentityProvider(id: $id) { ok message } }",
            json!({ "id": provider }),
        )
        .await;
    assert_eq!(
        tested.data()["testIdentityProvider"]["ok"],
        true,
        "{}",
        tested.body
    );
    // A callback's state from one tenant means nothing at another.
    let email = unique_email();
    let (upstream, _) = upstream_person(&app, &up, &email).await;
    let (callback, flow_cookie) = through_upstream(&app, &down, &provider, &upstream, "").await;
    let foreign = callback.replace(
        &format!("/t/{}/", down.slug),
        &format!("/t/{}/", other.slug),
    );
    let (status, _, _, body) = get(&foreign, Some(&flow_cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(refusals(&app, &other).await, ["unknown_state"]);
    let found = app.tenant(&other, IDENTITY, json!({ "e": email })).await;
    assert_eq!(found.data()["identities"]["nodes"], json!([]));
}

#[tokio::test]
async fn an_address_the_preset_does_not_count_as_proven_never_links_an_existing_identity() {
    let app = server().await;
    let up = tenant(&app, "upstream").await;
    let down = tenant(&app, "down").await;
    // Google's rule: outside gmail.com, an address counts only with a matching signed `hd`
    // claim, which the upstream never sends.
    let provider = upstream_provider(&app, &up, &down, "GOOGLE").await;
    let email = unique_email();
    let (_victim, _, _) = app.sign_up(&down, &email).await;
    let (upstream, _) = upstream_person(&app, &up, &email).await;
    let (callback, flow_cookie) = through_upstream(&app, &down, &provider, &upstream, "").await;
    let (status, _, cookies, body) = get(&callback, Some(&flow_cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("link the provider from your account page"),
        "{body}"
    );
    assert!(
        !cookies
            .iter()
            .any(|c| c.starts_with("latchkey_session=") && c.len() > 30)
    );
    let found = app.tenant(&down, IDENTITY, json!({ "e": email })).await;
    assert_eq!(
        found.data()["identities"]["nodes"][0]["federatedLinks"],
        json!([])
    );
    assert_eq!(refusals(&app, &down).await, ["email_not_proven"]);
}

#[tokio::test]
async fn providers_are_checked_on_save_and_nothing_is_saved_when_wrong() {
    let app = server().await;
    let down = tenant(&app, "down").await;
    let cases: [(Value, &str); 5] = [
        (
            json!({ "protocol": "SAML", "settings": {}, "credentials": {} }),
            "settings",
        ),
        (
            json!({ "protocol": "OIDC", "settings": {}, "credentials": { "clientId": "a" } }),
            "settings.issuer",
        ),
        (
            json!({ "protocol": "OIDC", "settings": { "issuer": format!("{}/t/no-such-tenant", app.url) }, "credentials": { "clientId": "a" } }),
            "settings.issuer",
        ),
        (
            json!({ "protocol": "OIDC", "settings": { "issuer": "https://idp.example" }, "credentials": {} }),
            "credentials.clientId",
        ),
        (
            json!({ "protocol": "OIDC", "domains": ["example.com"], "settings": { "issuer": "https://idp.example" }, "credentials": { "clientId": "a" } }),
            "domains[0]",
        ),
    ];
    for (input, field) in cases {
        let mut input = input;
        input["name"] = json!("Broken");
        let answer = app.tenant(&down, CREATE, json!({ "input": input })).await;
        answer.assert_bad_input(field);
    }
    let listed = app
        .tenant(&down, "{ identityProviders { id } }", json!({}))
        .await;
    assert_eq!(listed.data()["identityProviders"], json!([]));
}

/// `setOrganizationSsoRequirement(input)` at `tenant`.
async fn require_sso(
    app: &TestApp,
    tenant: &TestTenant,
    input: Value,
) -> latchkey_tests::GraphqlResponse {
    const REQUIRE: &str = "mutation($input: SetOrganizationSsoRequirementInput!) { setOrganizationSsoRequirement(input: $input) { requirement { organizationId exceptions } } }";
    app.tenant(tenant, REQUIRE, json!({ "input": input })).await
}

/// Signs `email` up at `up`; answers a browser signed in there and the identity's id.
async fn upstream_person(app: &TestApp, up: &TestTenant, email: &str) -> (Browser, String) {
    let (_device, _, signed_up) = app.sign_up(up, email).await;
    let mut browser = Browser::new();
    browser
        .establish_session(app, up, &signed_up.access_token)
        .await;
    (browser, signed_up.identity_id)
}

#[tokio::test]
async fn an_organizations_provider_provisions_members_of_its_domains_and_can_be_required() {
    let app = server().await;
    let up = tenant(&app, "upstream").await;
    let down = tenant(&app, "down").await;
    let (acme, _) = app.create_organization(&down, "Acme", "CUSTOMER").await;
    let (globex, _) = app.create_organization(&down, "Globex", "CUSTOMER").await;
    let acme_domain = format!("{}.example", latchkey_tests::unique("acme"));
    let globex_domain = format!("{}.example", latchkey_tests::unique("globex"));
    app.verified_domain(&down, &acme, &acme_domain).await;
    app.verified_domain(&down, &globex, &globex_domain).await;
    let client = app
        .create_application(
            &up,
            "NATIVE",
            &[&format!(
                "http://127.0.0.1/t/{}/federation/callback",
                down.slug
            )],
            json!({}),
        )
        .await;
    // An organization's provider answers only for that organization's verified domains.
    let foreign_domain = app
        .tenant(
            &down,
            CREATE,
            json!({ "input": {
                "name": "Acme SSO", "protocol": "OIDC", "organizationId": acme, "domains": [globex_domain],
                "settings": { "issuer": format!("{}/t/{}", app.url, up.slug) },
                "credentials": { "clientId": client.client_id }
            } }),
        )
        .await;
    assert_eq!(foreign_domain.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        foreign_domain.body["errors"][0]["extensions"]["field"],
        "domains[0]"
    );
    let input = json!({
        "name": "Acme SSO", "protocol": "OIDC", "organizationId": acme, "domains": [acme_domain],
        "settings": { "issuer": format!("{}/t/{}", app.url, up.slug) },
        "credentials": { "clientId": client.client_id },
        "roleMapping": { "claim": "groups", "rules": [], "defaultRoles": ["org:admin"] }
    });
    let created = app.tenant(&down, CREATE, json!({ "input": input })).await;
    let provider = created.data()["createIdentityProvider"]["identityProvider"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let globex_providers = app
        .tenant(
            &down,
            "query($o: ID) { identityProviders(organizationId: $o) { id } }",
            json!({ "o": globex }),
        )
        .await;
    assert_eq!(globex_providers.data()["identityProviders"], json!([]));
    // Home-realm discovery names it for its domain only, and the page is identifier-first.
    let (_, _, _, body) = get(
        &format!(
            "{}/t/{}/federation/discover?email=jo@{acme_domain}",
            app.url, down.slug
        ),
        None,
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["providerId"],
        provider.as_str()
    );
    let (_, _, _, body) = get(
        &format!(
            "{}/t/{}/federation/discover?email=jo@{globex_domain}",
            app.url, down.slug
        ),
        None,
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["providerId"],
        Value::Null
    );
    let (_, _, _, body) = get(&format!("{}/t/{}/config.json", app.url, down.slug), None).await;
    let config: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config["enterpriseSso"], true);
    assert_eq!(
        config["identityProviders"],
        json!([]),
        "organization providers are no buttons"
    );

    // Acme's provider is not trusted for Globex's domain (nor any other).
    let outsider = format!("{}@{globex_domain}", latchkey_tests::unique("u"));
    let (browser, _) = upstream_person(&app, &up, &outsider).await;
    let (callback, cookie) = through_upstream(&app, &down, &provider, &browser, "").await;
    let (status, _, _, body) = get(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("verified domains"), "{body}");
    assert_eq!(refusals(&app, &down).await, ["domain_not_of_organization"]);

    // A person of Acme's domain: the identity and the membership are made just in time, with
    // the mapped roles.
    let email = format!("{}@{acme_domain}", latchkey_tests::unique("u"));
    let (browser, _) = upstream_person(&app, &up, &email).await;
    let (callback, cookie) = through_upstream(&app, &down, &provider, &browser, "").await;
    let (status, _, _, body) = get(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let members = app
        .tenant(
            &down,
            "query($id: ID!) { organization(id: $id) { members(first: 10) { nodes { roles identity { email } } } } }",
            json!({ "id": acme }),
        )
        .await;
    assert_eq!(
        members.data()["organization"]["members"]["nodes"],
        json!([{ "roles": ["org:admin"], "identity": { "email": email } }])
    );

    // Acme requires SSO: a member who signs in with a passkey is refused, unless excepted.
    let member_email = unique_email();
    let (mut device, credential, member) = app.sign_up(&down, &member_email).await;
    app.add_organization_member(&down, &acme, &member.identity_id, &["org:member"])
        .await;
    let other = tenant(&app, "other").await;
    let foreign = require_sso(
        &app,
        &other,
        json!({ "organizationId": acme, "required": true }),
    )
    .await;
    assert_eq!(foreign.error_code(), "NOT_FOUND");
    let no_provider = require_sso(
        &app,
        &down,
        json!({ "organizationId": globex, "required": true }),
    )
    .await;
    assert_eq!(no_provider.error_code(), "BAD_USER_INPUT");
    let required = require_sso(
        &app,
        &down,
        json!({ "organizationId": acme, "required": true }),
    )
    .await;
    assert_eq!(
        required.data()["setOrganizationSsoRequirement"]["requirement"]["organizationId"],
        acme.as_str()
    );
    let begun = app.begin_sign_in(&down, Some(&member_email)).await;
    let assertion = device.get(&begun.options, Some(&credential));
    let refused = app
        .finish_sign_in(&down, &begun.ceremony_id, assertion)
        .await;
    assert!(
        refused
            .error_message()
            .contains("requires its members to sign in"),
        "{}",
        refused.body
    );
    // The person who came through Acme's provider still signs in through it.
    let (callback, cookie) = through_upstream(&app, &down, &provider, &browser, "").await;
    let (status, _, _, body) = get(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    // A break-glass exception signs in with the passkey again.
    require_sso(
        &app,
        &down,
        json!({ "organizationId": acme, "required": true, "exceptions": [member.identity_id] }),
    )
    .await
    .data();
    app.sign_in(&down, &mut device, Some(&member_email), &credential)
        .await;
    // The provider cannot go while the requirement rests on it.
    let deleted = app
        .tenant(
            &down,
            "mutation($id: ID!) { deleteIdentityProvider(input: { id: $id }) { identityProvider { id } } }",
            json!({ "id": provider }),
        )
        .await;
    assert_eq!(deleted.error_code(), "CONFLICT");
}

#[tokio::test]
async fn a_signed_in_person_links_a_provider_and_unlinks_it_while_another_way_in_remains() {
    let app = server().await;
    let up = tenant(&app, "upstream").await;
    let down = tenant(&app, "down").await;
    let provider = upstream_provider(&app, &up, &down, "GENERIC").await;
    // Someone signed in at `down` with a passkey, under another address than upstream's.
    let (_device, _, member) = app.sign_up(&down, &unique_email()).await;
    let mut downstream = Browser::new();
    downstream
        .establish_session(&app, &down, &member.access_token)
        .await;
    let (upstream, upstream_id) = upstream_person(&app, &up, &unique_email()).await;

    // Linking needs the browser session; then the provider's account is this person's.
    let (status, _, _, body) = get(
        &format!(
            "{}/t/{}/federation/{provider}/start?intent=link",
            app.url, down.slug
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, location, cookies, body) = get(
        &format!(
            "{}/t/{}/federation/{provider}/start?intent=link",
            app.url, down.slug
        ),
        downstream.cookie.as_deref(),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let flow_cookie = cookies
        .into_iter()
        .find(|c| c.starts_with("latchkey_federation="))
        .unwrap();
    let (status, callback, body) = upstream.get(&location.unwrap()).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let (status, location, _, body) = get(&callback.unwrap(), Some(&flow_cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("/t/{}/account", down.slug).as_str())
    );
    const LINKS: &str = "{ viewer { identity { federatedLinks { providerId subject } } } }";
    let viewer = |token: String| {
        let query = app
            .client
            .post(format!("{}/t/{}/graphql", app.url, down.slug))
            .bearer_auth(token)
            .json(&json!({ "query": LINKS }));
        async move { query.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let links = viewer(member.access_token.clone()).await;
    assert_eq!(
        links["data"]["viewer"]["identity"]["federatedLinks"],
        json!([{ "providerId": provider, "subject": upstream_id }])
    );
    let audit = app.tenant(&down, AUDIT, json!({})).await;
    assert!(
        audit.data()["auditEvents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "federation.link" && e["data"]["by"] == "signed_in")
    );

    // Another identity cannot take the same account at the provider.
    let (_, _, other) = app.sign_up(&down, &unique_email()).await;
    let mut elsewhere = Browser::new();
    elsewhere
        .establish_session(&app, &down, &other.access_token)
        .await;
    let (_, location, cookies, _) = get(
        &format!(
            "{}/t/{}/federation/{provider}/start?intent=link",
            app.url, down.slug
        ),
        elsewhere.cookie.as_deref(),
    )
    .await;
    let flow_cookie = cookies
        .into_iter()
        .find(|c| c.starts_with("latchkey_federation="))
        .unwrap();
    let (_, callback, _) = upstream.get(&location.unwrap()).await;
    let (status, _, _, body) = get(&callback.unwrap(), Some(&flow_cookie)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        refusals(&app, &down)
            .await
            .contains(&"linked_to_another_identity".to_owned())
    );
}
