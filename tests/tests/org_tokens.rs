//! Organization-scoped sign-in: `switchOrganization` on a first-party session and the OpenID
//! Connect `organization` parameter / `org:{id}` scope. Tokens carry `org_id`, `org_kind` and
//! the member's roles there; removing the member ends those sessions; non-members and other
//! tenants' organizations get nothing.

use latchkey_tests::oidc::{Browser, param};
use latchkey_tests::passkey::claims;
use latchkey_tests::{TestApp, TestTenant, unique_email};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CALLBACK: &str = "https://rp.example/cb";
const SWITCH: &str = "mutation($input: SwitchOrganizationInput!) { switchOrganization(input: $input) { accessToken refreshToken } }";

async fn organization(app: &TestApp, tenant: &TestTenant, kind: &str) -> (String, String) {
    app.create_organization(tenant, "Org", kind).await
}

async fn join(app: &TestApp, tenant: &TestTenant, org: &str, identity: &str, roles: &[&str]) {
    app.tenant(
        tenant,
        "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": org, "identityId": identity, "roles": roles } }),
    )
    .await
    .data();
}

async fn remove(app: &TestApp, tenant: &TestTenant, org: &str, identity: &str) {
    app.tenant(
        tenant,
        "mutation($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }",
        json!({ "input": { "organizationId": org, "identityId": identity } }),
    )
    .await
    .data();
}

#[tokio::test]
async fn switch_organization_scopes_the_session_and_removal_ends_it() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("switch").await;
    let (x, _) = organization(&app, &tenant, "PARTNER").await;
    let (y, _) = organization(&app, &tenant, "CUSTOMER").await;
    let (_device, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    join(&app, &tenant, &x, &signed_in.identity_id, &["org:admin"]).await;

    let switched = app
        .anonymous(
            &tenant,
            Some(&signed_in.access_token),
            SWITCH,
            json!({ "input": { "organizationId": x } }),
        )
        .await;
    let tokens = switched.data()["switchOrganization"].clone();
    let access = claims(tokens["accessToken"].as_str().unwrap());
    assert_eq!(access["org_id"], x.as_str());
    assert_eq!(access["org_kind"], "partner");
    assert_eq!(access["roles"], json!(["org:admin"]));

    // A refresh keeps the organization.
    let refreshed = app
        .anonymous(
            &tenant,
            None,
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }",
            json!({ "t": tokens["refreshToken"] }),
        )
        .await;
    let refreshed = refreshed.data()["refreshSession"].clone();
    assert_eq!(
        claims(refreshed["accessToken"].as_str().unwrap())["org_id"],
        x.as_str()
    );

    // Not a member of Y; an unknown id; another tenant's organization: NOT_FOUND.
    let other = app.create_tenant("switch-other").await;
    let (elsewhere, _) = organization(&app, &other, "CUSTOMER").await;
    for target in [
        y.as_str(),
        "01900000-0000-7000-8000-000000000000",
        elsewhere.as_str(),
    ] {
        let refused = app
            .anonymous(
                &tenant,
                Some(&signed_in.access_token),
                SWITCH,
                json!({ "input": { "organizationId": target } }),
            )
            .await;
        assert_eq!(refused.error_code(), "NOT_FOUND", "{target}");
    }
    // Back to no organization.
    let none = app
        .anonymous(
            &tenant,
            Some(&signed_in.access_token),
            SWITCH,
            json!({ "input": { "organizationId": null } }),
        )
        .await;
    let plain = claims(
        none.data()["switchOrganization"]["accessToken"]
            .as_str()
            .unwrap(),
    );
    assert!(plain.get("org_id").is_none());
    assert_eq!(plain["roles"], json!([]));

    // Scoped again, then removed from X: the session scoped to X ends.
    let again = app
        .anonymous(
            &tenant,
            Some(&signed_in.access_token),
            SWITCH,
            json!({ "input": { "organizationId": x } }),
        )
        .await;
    let scoped = again.data()["switchOrganization"].clone();
    remove(&app, &tenant, &x, &signed_in.identity_id).await;
    let viewer = app
        .anonymous(
            &tenant,
            Some(scoped["accessToken"].as_str().unwrap()),
            "{ viewer { kind } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer.error_code(), "UNAUTHENTICATED");
    let refresh = app
        .anonymous(
            &tenant,
            None,
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }",
            json!({ "t": scoped["refreshToken"] }),
        )
        .await;
    assert_eq!(refresh.error_code(), "UNAUTHENTICATED");
}

/// An authorization request to the test client's callback with state `s`, plus `extra`.
fn authorize(
    app: &TestApp,
    tenant: &TestTenant,
    client_id: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut params = vec![("state", "s")];
    params.extend_from_slice(extra);
    app.authorize_url(tenant, client_id, CALLBACK, &params)
}

#[tokio::test]
async fn oidc_organization_parameter_and_scope() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("oidc-org").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let secret = web.client_secret.clone().unwrap();
    let (x, x_slug) = organization(&app, &tenant, "CUSTOMER").await;
    let (y, _) = organization(&app, &tenant, "CUSTOMER").await;
    let (_device, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    join(&app, &tenant, &x, &signed_in.identity_id, &["org:member"]).await;
    let mut browser = Browser::new();
    browser
        .establish_session(&app, &tenant, &signed_in.access_token)
        .await;

    let exchange = |code: String| {
        let app = &app;
        let tenant = &tenant;
        let web = &web;
        let secret = secret.clone();
        async move {
            app.oauth_post(
                tenant,
                "token",
                Some((&web.client_id, &secret)),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", CALLBACK),
                ],
            )
            .await
        }
    };

    // By slug with the organization parameter, and by id as an org:{id} scope.
    for extra in [
        vec![
            ("scope", "openid offline_access".to_owned()),
            ("organization", x_slug.clone()),
        ],
        vec![("scope", format!("openid offline_access org:{x}"))],
    ] {
        let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, location, body) = browser
            .get(&authorize(&app, &tenant, &web.client_id, &extra))
            .await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        let callback = url::Url::parse(&location.unwrap()).unwrap();
        let (status, tokens) = exchange(param(&callback, "code").unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = claims(tokens["access_token"].as_str().unwrap());
        assert_eq!(access["org_id"], x.as_str());
        assert_eq!(access["org_kind"], "customer");
        assert_eq!(access["roles"], json!(["org:member"]));
        assert_eq!(
            claims(tokens["id_token"].as_str().unwrap())["org_id"],
            x.as_str()
        );
    }

    // Not a member of Y: access_denied back at the client, with state and iss.
    let (_, location, _) = browser
        .get(&authorize(
            &app,
            &tenant,
            &web.client_id,
            &[("scope", "openid"), ("organization", &y)],
        ))
        .await;
    let callback = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&callback, "state").as_deref(), Some("s"));
    assert_eq!(param(&callback, "code"), None);
    // Two different organizations at once is a bad request.
    let (_, location, _) = browser
        .get(&authorize(
            &app,
            &tenant,
            &web.client_id,
            &[("scope", &format!("openid org:{y}")), ("organization", &x)],
        ))
        .await;
    assert_eq!(
        param(&url::Url::parse(&location.unwrap()).unwrap(), "error").as_deref(),
        Some("invalid_request")
    );

    // Removing the member ends the application session scoped to X.
    let (_, location, _) = browser
        .get(&authorize(
            &app,
            &tenant,
            &web.client_id,
            &[("scope", "openid offline_access"), ("organization", &x)],
        ))
        .await;
    let (_, tokens): (StatusCode, Value) =
        exchange(param(&url::Url::parse(&location.unwrap()).unwrap(), "code").unwrap()).await;
    remove(&app, &tenant, &x, &signed_in.identity_id).await;
    let (status, body) = app
        .oauth_post(
            &tenant,
            "token",
            Some((&web.client_id, &secret)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let userinfo = app
        .client
        .get(app.oauth_url(&tenant, "userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn switching_spends_the_previous_refresh_token() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("switch-spend").await;
    let (x, _) = organization(&app, &tenant, "CUSTOMER").await;
    let (_device, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    join(&app, &tenant, &x, &signed_in.identity_id, &["org:member"]).await;
    let switched = app
        .anonymous(
            &tenant,
            Some(&signed_in.access_token),
            SWITCH,
            json!({ "input": { "organizationId": x } }),
        )
        .await;
    switched.data();
    let refresh = |token: String| {
        let app = &app;
        let tenant = &tenant;
        async move {
            app.anonymous(
                tenant,
                None,
                "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }",
                json!({ "t": token }),
            )
            .await
        }
    };
    // The token from before the switch is spent; presenting it is a reuse, which ends the
    // session, so the token the switch returned stops working too.
    assert_eq!(
        refresh(signed_in.refresh_token.clone()).await.error_code(),
        "UNAUTHENTICATED"
    );
    let new = switched.data()["switchOrganization"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(refresh(new).await.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn prompt_select_organization_shows_the_picker_for_members_of_several() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("picker").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let secret = web.client_secret.clone().unwrap();
    let x = app
        .create_organization(&tenant, "Xylophone Ltd", "CUSTOMER")
        .await
        .0;
    let y = app
        .create_organization(&tenant, "Acme & Sons", "PARTNER")
        .await
        .0;
    let (_device, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    join(&app, &tenant, &x, &signed_in.identity_id, &["org:member"]).await;
    let mut browser = Browser::new();
    browser
        .establish_session(&app, &tenant, &signed_in.access_token)
        .await;
    let select = [("scope", "openid"), ("prompt", "select_organization")];

    // A member of one organization is not asked: that one it is.
    let (status, location, body) = browser
        .get(&authorize(&app, &tenant, &web.client_id, &select))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let code = param(&url::Url::parse(&location.unwrap()).unwrap(), "code").unwrap();
    let token = |code: String| {
        let (app, tenant, web, secret) = (&app, &tenant, &web, secret.clone());
        async move {
            let (status, tokens) = app
                .oauth_post(
                    tenant,
                    "token",
                    Some((&web.client_id, &secret)),
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", CALLBACK),
                    ],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{tokens}");
            claims(tokens["access_token"].as_str().unwrap())
        }
    };
    assert_eq!(token(code).await["org_id"], x.as_str());

    // A member of several picks one on the page, listed by name (escaped).
    join(&app, &tenant, &y, &signed_in.identity_id, &["org:admin"]).await;
    let (status, _, page) = browser
        .get(&authorize(&app, &tenant, &web.client_id, &select))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Choose an organization"), "{page}");
    let acme = page.find("Acme &amp; Sons").expect("escaped name");
    assert!(acme < page.find("Xylophone Ltd").unwrap(), "sorted by name");
    let links: Vec<String> = page
        .split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"))
        .collect();
    assert_eq!(links.len(), 2);
    let chosen = links
        .iter()
        .find(|link| link.contains(&y))
        .expect("a link for Acme");
    // The same link at another tenant's provider knows no such request (and does not spend it).
    let elsewhere = app.create_tenant("picker-other").await;
    let crossed = chosen.replace(
        &format!("/t/{}/", tenant.slug),
        &format!("/t/{}/", elsewhere.slug),
    );
    assert_ne!(&crossed, chosen);
    let (status, _, body) = browser.get(&format!("{}{crossed}", app.url)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, location, body) = browser.get(&format!("{}{chosen}", app.url)).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let callback = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(param(&callback, "state").as_deref(), Some("s"));
    let access = token(param(&callback, "code").unwrap()).await;
    assert_eq!(access["org_id"], y.as_str());
    assert_eq!(access["roles"], json!(["org:admin"]));

    // The picked link is spent; an organization swapped into a link the user is not a member
    // of is refused at the client; a request that did not ask for a picker takes no choice.
    let (status, _, _) = browser.get(&format!("{}{chosen}", app.url)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, _, page) = browser
        .get(&authorize(&app, &tenant, &web.client_id, &select))
        .await;
    let other = app
        .create_organization(&tenant, "Not Mine", "CUSTOMER")
        .await
        .0;
    let handle = page
        .split("authorization_request=")
        .nth(1)
        .unwrap()
        .split("&amp;")
        .next()
        .unwrap()
        .to_owned();
    let forged = format!(
        "{}/t/{}/oauth2/authorize?authorization_request={handle}&organization={other}",
        app.url, tenant.slug
    );
    let (_, location, _) = browser.get(&forged).await;
    let callback = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    // (A browser without the provider's cookie, so the request is parked for the sign-in page.)
    let (status, location, _) = Browser::new()
        .get(&authorize(
            &app,
            &tenant,
            &web.client_id,
            &[("scope", "openid")],
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let parked = location.unwrap();
    let handle = parked
        .split("authorization_request=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let (status, _, body) = browser
        .get(&format!(
            "{}/t/{}/oauth2/authorize?authorization_request={handle}&organization={x}",
            app.url, tenant.slug
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("did not ask to choose an organization"),
        "{body}"
    );
}

const POLICY: &str = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { authenticationPolicy } } }";

/// Signs `email` in with an emailed code; answers the access token.
async fn sign_in_with_code(app: &TestApp, tenant: &TestTenant, email: &str) -> String {
    let challenge = app
        .start_email_verification(tenant, email, "SIGN_IN")
        .await
        .data()["startEmailVerification"]["challengeId"]
        .clone();
    let code = latchkey_tests::mailbox::code_of(&app.last_mail_to(email).unwrap()).unwrap();
    let signed_in = app
        .anonymous(
            tenant,
            None,
            "mutation($input: SignInWithEmailCodeInput!) { signInWithEmailCode(input: $input) { accessToken } }",
            json!({ "input": { "challengeId": challenge, "code": code } }),
        )
        .await;
    signed_in.data()["signInWithEmailCode"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_organization_that_requires_a_passkey_refuses_other_sign_ins_until_one() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("org-policy").await;
    let other = app.create_tenant("org-policy-b").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let (strict, _) = organization(&app, &tenant, "PARTNER").await;
    let (relaxed, _) = organization(&app, &tenant, "CUSTOMER").await;
    let email = unique_email();
    let (mut device, credential_id, signed_up) = app.sign_up(&tenant, &email).await;
    for org in [&strict, &relaxed] {
        join(&app, &tenant, org, &signed_up.identity_id, &["org:member"]).await;
    }
    let set = app
        .tenant(
            &tenant,
            POLICY,
            json!({ "input": { "id": strict, "authenticationPolicy": "PASSKEY" } }),
        )
        .await;
    assert_eq!(
        set.data()["updateOrganization"]["organization"]["authenticationPolicy"],
        "PASSKEY"
    );
    // Another tenant cannot change it.
    let foreign = app
        .tenant(
            &other,
            POLICY,
            json!({ "input": { "id": strict, "authenticationPolicy": "ANY" } }),
        )
        .await;
    assert_eq!(foreign.error_code(), "NOT_FOUND");

    // After an email-code sign-in: the strict organization refuses, the relaxed one does not.
    let access = sign_in_with_code(&app, &tenant, &email).await;
    let switch = |token: String, org: String| {
        let (app, tenant) = (&app, &tenant);
        async move {
            app.anonymous(
                tenant,
                Some(&token),
                SWITCH,
                json!({ "input": { "organizationId": org } }),
            )
            .await
        }
    };
    let refused = switch(access.clone(), strict.clone()).await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert!(refused.error_message().contains("passkey"));
    // The refused switch left the session as it was: the relaxed organization still works.
    switch(access.clone(), relaxed.clone()).await.data();

    // The OAuth provider sends that browser session to step up with a passkey: the sign-in
    // page, asked for a passkey only, and no code.
    let mut browser = Browser::new();
    browser.establish_session(&app, &tenant, &access).await;
    let strict_request = authorize(
        &app,
        &tenant,
        &web.client_id,
        &[("scope", "openid"), ("organization", &strict)],
    );
    let (status, location, _) = browser.get(&strict_request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = location.unwrap();
    assert!(page.contains("step_up=passkey"), "{page}");
    // Without a page (prompt=none) it cannot step up: interaction_required.
    let (_, location, _) = browser
        .get(&authorize(
            &app,
            &tenant,
            &web.client_id,
            &[
                ("scope", "openid"),
                ("organization", &strict),
                ("prompt", "none"),
            ],
        ))
        .await;
    let callback = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(
        param(&callback, "error").as_deref(),
        Some("interaction_required")
    );
    assert_eq!(param(&callback, "code"), None);
    // The relaxed organization needs no step up.
    let (status, _, _) = browser
        .get(&authorize(
            &app,
            &tenant,
            &web.client_id,
            &[("scope", "openid"), ("organization", &relaxed)],
        ))
        .await;
    assert_eq!(status, StatusCode::FOUND);
    // After the passkey sign-in on the page, the request completes with a code.
    let callback = browser
        .authorize(&app, &tenant, &mut device, &credential_id, &strict_request)
        .await;
    assert!(param(&callback, "code").is_some(), "{callback}");

    // A passkey sign-in (the step up) gets the strict organization.
    let stepped_up = app
        .sign_in(&tenant, &mut device, Some(&email), &credential_id)
        .await;
    let switched = switch(stepped_up.access_token.clone(), strict.clone()).await;
    let tokens = switched.data()["switchOrganization"].clone();
    assert_eq!(
        claims(tokens["accessToken"].as_str().unwrap())["org_id"],
        strict.as_str()
    );

    // Tightening the relaxed organization applies to the session already scoped to it: its
    // next refresh is refused.
    let scoped = switch(access, relaxed.clone()).await;
    let scoped_refresh = scoped.data()["switchOrganization"]["refreshToken"].clone();
    app.tenant(
        &tenant,
        POLICY,
        json!({ "input": { "id": relaxed, "authenticationPolicy": "PASSKEY" } }),
    )
    .await
    .data();
    let tightened = app
        .anonymous(
            &tenant,
            None,
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }",
            json!({ "t": scoped_refresh }),
        )
        .await;
    assert_eq!(tightened.error_code(), "FORBIDDEN");
}
