//! Languages end to end over HTTP and SMTP: a verification email in the browser's language
//! (German here) as text plus HTML with the tenant's name and colour, the tenant's default
//! language, the tenant's own texts (saved, used, refused when invalid) and tenants kept apart;
//! the pages the OpenID Connect provider renders itself (the error page, the sign-out
//! confirmation, the organization picker) in the language of `ui_locales`, the browser or the
//! tenant's default.

use latchkey_tests::mailbox::code_of;
use latchkey_tests::oidc::Browser;
use latchkey_tests::smtp::SmtpSink;
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, test_settings, unique_email};
use reqwest::StatusCode;
use serde_json::{Value, json};

const START: &str = "mutation($input: StartEmailVerificationInput!) { startEmailVerification(input: $input) { challengeId } }";
const SET: &str = "mutation($input: SetEmailTemplateInput!) { setEmailTemplate(input: $input) { emailTemplate { template locale subject text placeholders } } }";
const REMOVE: &str = "mutation($input: RemoveEmailTemplateInput!) { removeEmailTemplate(input: $input) { template locale } }";
const LIST: &str = "{ emailTemplates { template locale subject text } }";
const SETTINGS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { defaultLocale supportedLocales primaryColor } } }";

async fn start() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = TestApp::start_with_smtp(test_settings(), &sink).await;
    (app, sink)
}

/// `startEmailVerification` from a browser whose languages are `accept_language`.
async fn start_verification(
    app: &TestApp,
    tenant: &TestTenant,
    email: &str,
    accept_language: Option<&str>,
) -> GraphqlResponse {
    let mut request = app
        .client
        .post(format!("{}/t/{}/graphql", app.url, tenant.slug))
        .json(&json!({ "query": START, "variables": { "input": { "email": email, "purpose": "SIGN_UP" } } }));
    if let Some(languages) = accept_language {
        request = request.header("accept-language", languages);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let response = GraphqlResponse { status, body };
    assert!(response.body["errors"].is_null(), "{:?}", response.body);
    response
}

fn error_field(response: &GraphqlResponse) -> &str {
    response.body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_german_browser_gets_a_german_verification_email_as_text_and_html() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("lang-de").await;
    app.tenant(
        &tenant,
        SETTINGS,
        json!({ "input": { "primaryColor": "#0a7f3c" } }),
    )
    .await
    .data();
    let email = unique_email();
    start_verification(&app, &tenant, &email, Some("de-DE,de;q=0.9,en;q=0.8")).await;
    let message = sink.wait_for(&email).await;
    let text = message.text();
    let code = code_of(&message).expect("a code");
    assert!(
        text.contains(&format!(
            "{code} ist Ihr Bestätigungscode für Tenant {}",
            tenant.slug
        )),
        "{text}"
    );
    assert!(text.contains("um Ihr Konto zu erstellen"), "{text}");
    assert!(text.contains("?verify="), "{text}");
    assert!(
        message
            .data
            .to_ascii_lowercase()
            .contains("multipart/alternative")
    );
    let html = message.html();
    assert!(html.contains("<html lang=\"de\">"), "{html}");
    assert!(html.contains("#0a7f3c"), "{html}");
    assert!(html.contains(&format!("Tenant {}", tenant.slug)), "{html}");
    assert!(
        html.contains(&format!("{code} ist Ihr Bestätigungscode")),
        "{html}"
    );

    // A browser in a language Latchkey has no catalog for: the tenant's default, English.
    let other = unique_email();
    start_verification(&app, &tenant, &other, Some("it-IT")).await;
    let text = sink.wait_for(&other).await.text();
    assert!(text.contains("is your Tenant"), "{text}");
}

#[tokio::test]
async fn the_tenant_default_language_applies_without_a_browser_language_and_is_validated() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("lang-default").await;
    let changed = app
        .tenant(
            &tenant,
            SETTINGS,
            json!({ "input": { "defaultLocale": "fr" } }),
        )
        .await;
    let settings = &changed.data()["updateTenantSettings"]["settings"];
    assert_eq!(settings["defaultLocale"], "fr");
    assert_eq!(
        settings["supportedLocales"],
        json!(["de", "en", "es", "fr"])
    );
    let email = unique_email();
    start_verification(&app, &tenant, &email, None).await;
    let text = sink.wait_for(&email).await.text();
    assert!(text.contains("est votre code de vérification"), "{text}");

    // The hosted pages learn it from config.json.
    let config: Value = app
        .client
        .get(format!("{}/t/{}/config.json", app.url, tenant.slug))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["defaultLocale"], "fr");
    assert_eq!(config["locales"], json!(["de", "en", "es", "fr"]));

    let refused = app
        .tenant(
            &tenant,
            SETTINGS,
            json!({ "input": { "defaultLocale": "it" } }),
        )
        .await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert_eq!(error_field(&refused), "defaultLocale");
}

#[tokio::test]
async fn a_tenant_override_is_used_for_its_language_and_an_invalid_one_is_refused() {
    let (app, sink) = start().await;
    let a = app.create_tenant("tmpl-a").await;
    let b = app.create_tenant("tmpl-b").await;
    let saved = app
        .tenant(
            &a,
            SET,
            json!({ "input": {
                "template": "VERIFICATION_CODE",
                "locale": "de",
                "subject": "Ihr Code für { $tenant }",
                "text": "{ $code } ist Ihr Code.\n\nOder öffnen Sie { $link }\n\nIhr Team von { $tenant }"
            } }),
        )
        .await;
    let saved = &saved.data()["setEmailTemplate"]["emailTemplate"];
    assert_eq!(saved["template"], "VERIFICATION_CODE");
    assert_eq!(saved["locale"], "de");
    assert!(
        saved["placeholders"]
            .as_array()
            .unwrap()
            .contains(&json!("code"))
    );

    let email = unique_email();
    start_verification(&app, &a, &email, Some("de")).await;
    let message = sink.wait_for(&email).await;
    let text = message.text();
    let code = code_of(&message).unwrap();
    assert!(text.contains(&format!("{code} ist Ihr Code.")), "{text}");
    assert!(
        text.contains(&format!("Ihr Team von Tenant {}", a.slug)),
        "{text}"
    );
    assert!(message.html().contains("Ihr Team von Tenant"));
    // An English browser gets the catalog's English.
    let english = unique_email();
    start_verification(&app, &a, &english, Some("en-GB")).await;
    assert!(
        sink.wait_for(&english)
            .await
            .text()
            .contains("is your Tenant")
    );

    // Tenant B's German mail is the catalog's; B neither sees nor removes A's override, and
    // B's key is refused on A's API.
    let on_b = unique_email();
    start_verification(&app, &b, &on_b, Some("de")).await;
    let text = sink.wait_for(&on_b).await.text();
    assert!(text.contains("ist Ihr Bestätigungscode"), "{text}");
    assert!(!text.contains("Ihr Team von"), "{text}");
    let listed = app.tenant(&b, LIST, json!({})).await;
    assert_eq!(listed.data()["emailTemplates"], json!([]));
    let removed = app
        .tenant(
            &b,
            REMOVE,
            json!({ "input": { "template": "VERIFICATION_CODE", "locale": "de" } }),
        )
        .await;
    assert_eq!(removed.error_code(), "NOT_FOUND");
    let foreign = app.as_key(&a, &b.api_key, LIST, json!({})).await;
    assert!(foreign.body["errors"].is_array(), "{:?}", foreign.body);
    assert!(foreign.body["data"].is_null() || foreign.body["data"]["emailTemplates"].is_null());
    let listed = app.tenant(&a, LIST, json!({})).await;
    assert_eq!(listed.data()["emailTemplates"].as_array().unwrap().len(), 1);

    // Invalid overrides: refused naming the field, and nothing saved.
    for (input, field) in [
        (
            json!({ "template": "VERIFICATION_CODE", "locale": "de", "subject": "x", "text": "{ $code } { $password }" }),
            "text",
        ),
        (
            json!({ "template": "VERIFICATION_CODE", "locale": "de", "subject": "x", "text": "Kein Code" }),
            "text",
        ),
        (
            json!({ "template": "VERIFICATION_CODE", "locale": "de", "subject": "x", "text": "{ $code } <script>alert(1)</script>" }),
            "text",
        ),
        (
            json!({ "template": "VERIFICATION_CODE", "locale": "de", "subject": "x", "text": "{ $code } <a href=\"javascript:alert(1)\">" }),
            "text",
        ),
        (
            json!({ "template": "VERIFICATION_CODE", "locale": "de", "subject": "<img src=x onerror=alert(1)>", "text": "{ $code }" }),
            "subject",
        ),
        (
            json!({ "template": "PASSWORD_SET", "locale": "de", "subject": "{ $code }", "text": "x" }),
            "subject",
        ),
        (
            json!({ "template": "VERIFICATION_CODE", "locale": "it", "subject": "x", "text": "{ $code }" }),
            "locale",
        ),
    ] {
        let refused = app.tenant(&a, SET, json!({ "input": input })).await;
        assert_eq!(refused.error_code(), "BAD_USER_INPUT", "{input}");
        assert_eq!(error_field(&refused), field, "{input}");
    }
    let listed = app.tenant(&a, LIST, json!({})).await;
    let listed = listed.data()["emailTemplates"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["subject"], "Ihr Code für { $tenant }");

    // Removed, the catalog's text is back.
    let removed = app
        .tenant(
            &a,
            REMOVE,
            json!({ "input": { "template": "VERIFICATION_CODE", "locale": "de" } }),
        )
        .await;
    assert_eq!(removed.data()["removeEmailTemplate"]["locale"], "de");
    let again = unique_email();
    start_verification(&app, &a, &again, Some("de")).await;
    assert!(
        sink.wait_for(&again)
            .await
            .text()
            .contains("ist Ihr Bestätigungscode")
    );
}

#[tokio::test]
async fn only_admins_set_overrides() {
    let (app, _sink) = start().await;
    let tenant = app.create_tenant("tmpl-roles").await;
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;
    let input = json!({ "input": { "template": "PASSWORD_SET", "locale": "fr", "subject": "x", "text": "y" } });
    let refused = app.as_key(&tenant, &viewer, SET, input.clone()).await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    let anonymous = app.anonymous(&tenant, None, SET, input).await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    let listed = app.as_key(&tenant, &viewer, LIST, json!({})).await;
    assert_eq!(listed.data()["emailTemplates"], json!([]));
}

/// A browser whose languages are `accept_language` (none: no `Accept-Language` header).
fn browser(accept_language: Option<&str>) -> Browser {
    let mut browser = Browser::new();
    browser.accept_language = accept_language.map(str::to_owned);
    browser
}

/// The RP-initiated logout confirmation (a logout without `id_token_hint`) of `tenant`, with
/// `query` added: its status and page.
async fn logout_page(
    app: &TestApp,
    tenant: &TestTenant,
    browser: &Browser,
    query: &str,
) -> (StatusCode, String) {
    let (status, _, page) = browser
        .get(&format!("{}?{query}", app.oauth_url(tenant, "logout")))
        .await;
    (status, page)
}

/// An authorization request of a client `tenant` does not have: the error page.
async fn unknown_client_page(
    app: &TestApp,
    tenant: &TestTenant,
    browser: &Browser,
    extra: &[(&str, &str)],
) -> (StatusCode, String) {
    let url = app.authorize_url(tenant, "no-such-client", "https://rp.example/cb", extra);
    let (status, _, page) = browser.get(&url).await;
    (status, page)
}

#[tokio::test]
async fn the_logout_confirmation_is_in_the_browsers_language_or_the_one_asked_for() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("logout-lang").await;
    let state = "\"><script>alert(1)</script>";
    let query = format!("state={}", urlencoding(state));

    let (status, page) = logout_page(&app, &tenant, &browser(Some("de")), &query).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(page.contains("<title>Abmelden?</title>"), "{page}");
    assert!(
        page.contains("<p>Eine Anwendung hat darum gebeten, Sie abzumelden.</p>"),
        "{page}"
    );
    assert!(page.contains("value=\"yes\">Abmelden</button>"), "{page}");
    // What came in the request is escaped, as before.
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        page.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
        "{page}"
    );

    // The logout's ui_locales beat the browser, and go with the confirmation.
    let (_, page) = logout_page(&app, &tenant, &browser(Some("de")), "ui_locales=it%20es-MX").await;
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    assert!(page.contains("<title>¿Cerrar sesión?</title>"), "{page}");
    assert!(
        page.contains("name=\"ui_locales\" value=\"it es-MX\""),
        "{page}"
    );

    // No language from the browser: the tenant's default, English.
    let (_, page) = logout_page(&app, &tenant, &browser(None), "").await;
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    assert!(page.contains("<title>Sign out?</title>"), "{page}");
    assert!(
        page.contains("<p>An application asked to sign you out.</p>"),
        "{page}"
    );
}

/// `value` encoded for a query string.
fn urlencoding(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn the_error_page_is_in_french_for_a_canadian_french_browser() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("error-lang").await;
    let (status, page) =
        unknown_client_page(&app, &tenant, &browser(Some("fr-CA, en;q=0.5")), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("<html lang=\"fr\">"), "{page}");
    assert!(
        page.contains("<title>Cette demande de connexion ne peut pas aboutir</title>"),
        "{page}"
    );
    // The code stays the protocol's, the description the server's words.
    assert!(
        page.contains("Erreur : <code>invalid_client</code>. Retournez à l’application"),
        "{page}"
    );
    assert!(page.contains("unknown client_id"), "{page}");

    // The authorization request's ui_locales beat the browser.
    let (_, page) = unknown_client_page(
        &app,
        &tenant,
        &browser(Some("fr-CA")),
        &[("ui_locales", "de-AT fr")],
    )
    .await;
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(
        page.contains("Fehler: <code>invalid_client</code>. Kehren Sie zur Anwendung zurück"),
        "{page}"
    );

    // English by default.
    let (_, page) = unknown_client_page(&app, &tenant, &browser(None), &[]).await;
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    assert!(
        page.contains("<title>This sign-in request cannot be completed</title>"),
        "{page}"
    );
    assert!(
        page.contains("Error: <code>invalid_client</code>. Go back to the application and try again; if it keeps happening, tell the application&#39;s owner."),
        "{page}"
    );
}

#[tokio::test]
async fn a_browser_language_without_a_catalog_gets_the_tenants_default_and_only_its_own() {
    let app = TestApp::start().await;
    let spanish = app.create_tenant("pages-es").await;
    let english = app.create_tenant("pages-en").await;
    app.tenant(
        &spanish,
        SETTINGS,
        json!({ "input": { "defaultLocale": "es" } }),
    )
    .await
    .data();
    let italian = browser(Some("it-IT, it;q=0.9"));

    let (_, page) = logout_page(&app, &spanish, &italian, "").await;
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    assert!(page.contains("<title>¿Cerrar sesión?</title>"), "{page}");
    assert!(
        page.contains("<p>Una aplicación ha pedido cerrar su sesión.</p>"),
        "{page}"
    );
    let (_, page) = unknown_client_page(&app, &spanish, &italian, &[]).await;
    assert!(page.contains("<html lang=\"es\">"), "{page}");
    assert!(
        page.contains("<title>Esta solicitud de inicio de sesión no se puede completar</title>"),
        "{page}"
    );

    // Another tenant's default is its own: English.
    let (_, page) = logout_page(&app, &english, &italian, "").await;
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    assert!(page.contains("<title>Sign out?</title>"), "{page}");
    // A browser language with a catalog still beats the tenant's default.
    let (_, page) = logout_page(&app, &spanish, &browser(Some("it, fr;q=0.3")), "").await;
    assert!(page.contains("<title>Se déconnecter ?</title>"), "{page}");
}

#[tokio::test]
async fn the_organization_picker_is_in_the_language_ui_locales_asks_for() {
    const CALLBACK: &str = "https://rp.example/cb";
    let app = TestApp::start().await;
    let tenant = app.create_tenant("picker-lang").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let (_device, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    for name in ["<b>Acme</b> & Sons", "Xylophone Ltd"] {
        let (organization, _) = app.create_organization(&tenant, name, "CUSTOMER").await;
        app.tenant(
            &tenant,
            "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": organization, "identityId": signed_in.identity_id, "roles": ["org:member"] } }),
        )
        .await
        .data();
    }
    let request = app.authorize_url(
        &tenant,
        &web.client_id,
        CALLBACK,
        &[
            ("scope", "openid"),
            ("state", "s"),
            ("prompt", "select_organization"),
            ("ui_locales", "es"),
        ],
    );
    let assert_spanish_picker = |status: StatusCode, page: &str| {
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("<html lang=\"es\">"), "{page}");
        assert!(
            page.contains("<title>Elija una organización</title>"),
            "{page}"
        );
        assert!(
            page.contains(
                "<p>Pertenece a varias organizaciones. ¿En cuál quiere iniciar sesión?</p>"
            ),
            "{page}"
        );
        // The names are as the tenant typed them, escaped.
        assert!(
            page.contains("&lt;b&gt;Acme&lt;/b&gt; &amp; Sons</a>"),
            "{page}"
        );
        assert!(!page.contains("<b>"), "{page}");
    };

    // A German browser not signed in yet: the request is parked for the sign-in page, and the
    // picker after the sign-in still knows the request's ui_locales.
    let mut german = browser(Some("de"));
    let (status, location, _) = german.get(&request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(location.contains("ui_locales=es"), "{location}");
    let handle = location
        .split("authorization_request=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    german
        .establish_session(&app, &tenant, &signed_in.access_token)
        .await;
    let (status, _, page) = german
        .get(&format!(
            "{}?authorization_request={handle}",
            app.oauth_url(&tenant, "authorize")
        ))
        .await;
    assert_spanish_picker(status, &page);

    // Signed in, a new request goes straight to the picker, in Spanish too.
    let (status, _, page) = german.get(&request).await;
    assert_spanish_picker(status, &page);

    // Without ui_locales, the browser's German.
    let (status, _, page) = german.get(&request.replace("&ui_locales=es", "")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(
        page.contains("<title>Organisation auswählen</title>"),
        "{page}"
    );
}
