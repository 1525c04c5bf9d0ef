//! The ID token checks and the presets' rules, against a stand-in provider built from the
//! documented shapes (OpenID Connect discovery, a JWKS, a token endpoint answering an ID token
//! this test signs): wrong issuer, audience or nonce, expired, unsigned and foreign-key tokens
//! are refused with a reason in the audit log; a key the provider rolled over to is fetched on
//! first sight; Microsoft people are keyed by `tid`/`oid` and their address counts only with
//! `xms_edov` (the nOAuth case), multi-tenant issuers checked against `tid`; Google Workspace
//! addresses count with a matching `hd`. The stand-in never sees Latchkey's code: the test
//! drives the browser's side (start, then the callback with the flow's `state`).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_tests::oidc::param;
use latchkey_tests::{TestApp, TestTenant, unique, unique_email};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CREATE: &str = "mutation($input: CreateIdentityProviderInput!) { createIdentityProvider(input: $input) { identityProvider { id } } }";
const AUDIT: &str = "{ auditEvents(first: 100) { nodes { action data occurredAt } } }";
const IDENTITY: &str = "query($e: String) { identities(first: 5, filter: { email: $e }) { nodes { id emailVerified federatedLinks { subject } } } }";
const CLIENT_ID: &str = "latchkey-client";

/// A signing key of the stand-in: its PKCS#8 and its public JWK.
struct Key {
    kid: String,
    pkcs8: Vec<u8>,
    jwk: Value,
}

impl Key {
    fn new() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap()
                .as_ref()
                .to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).unwrap();
        let point = pair.public_key().as_ref();
        let kid = unique("k");
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Self { kid, pkcs8, jwk }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).unwrap()
    }
}

/// What the stand-in answers from its token endpoint and JWKS (the test sets them), and for
/// Apple the key its client secrets must be signed with.
#[derive(Clone, Default)]
struct Answers {
    id_token: Arc<Mutex<String>>,
    jwks: Arc<Mutex<Value>>,
    apple: Option<Arc<AppleTeam>>,
}

/// An Apple developer team's Sign in with Apple key, as the test gives it to Latchkey.
struct AppleTeam {
    team_id: String,
    key: Key,
    issuer: String,
}

impl AppleTeam {
    fn pem(&self) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(&self.key.pkcs8);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    /// Whether `secret` is the client secret Apple documents: ES256 by the team's key (its
    /// `kid`), from the team, for the Services ID, to Apple, short-lived.
    fn accepts(&self, secret: &str) -> bool {
        let key = jsonwebtoken::DecodingKey::from_ec_components(
            self.key.jwk["x"].as_str().unwrap(),
            self.key.jwk["y"].as_str().unwrap(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&[&self.issuer]);
        validation.set_issuer(&[&self.team_id]);
        let Ok(decoded) = jsonwebtoken::decode::<Value>(secret, &key, &validation) else {
            return false;
        };
        let claims = decoded.claims;
        decoded.header.kid.as_deref() == Some(self.key.kid.as_str())
            && claims["sub"] == CLIENT_ID
            && claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 15_777_000
    }
}

struct TokenAnswer(Answers);

impl Respond for TokenAnswer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        // A public client: PKCE's verifier and the client id come in the form; Apple's client
        // also sends the secret it signed.
        let apple_ok = match &self.0.apple {
            Some(team) => form
                .get("client_secret")
                .is_some_and(|secret| team.accepts(secret)),
            None => true,
        };
        if !form.contains_key("code_verifier")
            || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
            || !apple_ok
        {
            return ResponseTemplate::new(400).set_body_json(json!({ "error": "invalid_client" }));
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at", "token_type": "Bearer", "expires_in": 300,
            "id_token": *self.0.id_token.lock().unwrap(),
        }))
    }
}

struct JwksAnswer(Answers);

impl Respond for JwksAnswer {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(self.0.jwks.lock().unwrap().clone())
    }
}

/// A stand-in provider whose discovery document names `issuer_path` under its own URL as the
/// issuer (Microsoft's multi-tenant document names `/{tenantid}/v2.0`).
struct StandIn {
    server: MockServer,
    answers: Answers,
    key: Key,
}

impl StandIn {
    async fn start(settings_path: &str, document_issuer_path: &str) -> Self {
        Self::start_with(settings_path, document_issuer_path, None).await
    }

    async fn start_with(
        settings_path: &str,
        document_issuer_path: &str,
        apple_team: Option<&str>,
    ) -> Self {
        let server = MockServer::start().await;
        let base = server.uri();
        let answers = Answers {
            apple: apple_team.map(|team_id| {
                Arc::new(AppleTeam {
                    team_id: team_id.to_owned(),
                    key: Key::new(),
                    issuer: format!("{base}{document_issuer_path}"),
                })
            }),
            ..Answers::default()
        };
        let key = Key::new();
        *answers.jwks.lock().unwrap() = json!({ "keys": [key.jwk] });
        Mock::given(method("GET"))
            .and(path(format!(
                "{settings_path}/.well-known/openid-configuration"
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "issuer": format!("{base}{document_issuer_path}"),
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "jwks_uri": format!("{base}/jwks"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256"],
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(TokenAnswer(answers.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/jwks"))
            .respond_with(JwksAnswer(answers.clone()))
            .mount(&server)
            .await;
        Self {
            server,
            answers,
            key,
        }
    }

    fn issuer(&self, path: &str) -> String {
        format!("{}{path}", self.server.uri())
    }
}

async fn provider(app: &TestApp, tenant: &TestTenant, preset: &str, issuer: &str) -> String {
    let created = app
        .tenant(
            tenant,
            CREATE,
            json!({ "input": {
                "name": preset, "protocol": "OIDC", "preset": preset,
                "settings": { "issuer": issuer },
                "credentials": { "clientId": CLIENT_ID }
            } }),
        )
        .await;
    created.data()["createIdentityProvider"]["identityProvider"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// One sign-in: starts the flow, has the stand-in answer `token(nonce)`, and calls the
/// callback as the browser would (by GET, or by form post where the authorization request asks
/// for it, with `extra` fields). The status, the body, and whether a session was set.
async fn sign_in(
    app: &TestApp,
    tenant: &TestTenant,
    provider: &str,
    stand_in: &StandIn,
    token: impl Fn(&str) -> String,
) -> (StatusCode, String, bool) {
    finish(
        app,
        tenant,
        provider,
        &stand_in.server.uri(),
        &[],
        |authorize| {
            if let Some(nonce) = param(authorize, "nonce") {
                *stand_in.answers.id_token.lock().unwrap() = token(&nonce);
            }
        },
    )
    .await
}

async fn finish(
    app: &TestApp,
    tenant: &TestTenant,
    provider: &str,
    provider_url: &str,
    extra: &[(&str, &str)],
    prepare: impl FnOnce(&Url),
) -> (StatusCode, String, bool) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = client
        .get(format!(
            "{}/t/{}/federation/{provider}/start",
            app.url, tenant.slug
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let cookie = started
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let authorize = Url::parse(started.headers()[LOCATION].to_str().unwrap()).unwrap();
    assert!(authorize.as_str().starts_with(provider_url), "{authorize}");
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    prepare(&authorize);
    let callback = format!("{}/t/{}/federation/callback", app.url, tenant.slug);
    let state = param(&authorize, "state").unwrap();
    let mut fields = vec![("code", "c"), ("state", state.as_str())];
    fields.extend_from_slice(extra);
    let request = match param(&authorize, "response_mode").as_deref() {
        Some("form_post") => client.post(callback).form(&fields),
        _ => client.get(callback).query(&fields),
    };
    let answered = request.header(COOKIE, cookie).send().await.unwrap();
    let status = answered.status();
    let session = answered.headers().get_all(SET_COOKIE).iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("latchkey_session=") && !v.starts_with("latchkey_session=;")
    });
    (status, answered.text().await.unwrap(), session)
}

/// An ID token for a flow's nonce.
type TokenFor<'a> = Box<dyn Fn(&str) -> String + 'a>;

fn claims(issuer: &str, nonce: &str, subject: &str, extra: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": issuer, "aud": CLIENT_ID, "sub": subject, "nonce": nonce,
        "iat": now, "exp": now + 300,
    });
    claims
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    claims
}

async fn last_refusal(app: &TestApp, tenant: &TestTenant) -> String {
    let events = app.tenant(tenant, AUDIT, json!({})).await;
    events.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "federation.refused")
        .max_by_key(|e| e["occurredAt"].as_str().unwrap().to_owned())
        .map(|e| e["data"]["reason"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn id_tokens_that_fail_a_check_are_refused_with_the_reason() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("fed").await;
    let stand_in = StandIn::start("/idp", "/idp").await;
    let issuer = stand_in.issuer("/idp");
    let id = provider(&app, &tenant, "GENERIC", &issuer).await;
    let email = unique_email();
    let good = |nonce: &str| {
        claims(
            &issuer,
            nonce,
            "alice",
            json!({ "email": email, "email_verified": true }),
        )
    };
    let other_key = Key::new();
    let cases: Vec<(&str, TokenFor)> = vec![
        (
            "wrong_issuer",
            Box::new(|n| {
                let mut c = good(n);
                c["iss"] = json!("https://elsewhere.example");
                stand_in.key.sign(&c)
            }),
        ),
        (
            "wrong_audience",
            Box::new(|n| {
                let mut c = good(n);
                c["aud"] = json!("someone-else");
                stand_in.key.sign(&c)
            }),
        ),
        (
            "wrong_nonce",
            Box::new(|_| stand_in.key.sign(&good("another-nonce"))),
        ),
        (
            "expired_id_token",
            Box::new(|n| {
                let mut c = good(n);
                c["exp"] = json!(chrono::Utc::now().timestamp() - 600);
                stand_in.key.sign(&c)
            }),
        ),
        (
            "bad_signature",
            Box::new(|n| {
                // Unsigned (`alg: none`).
                format!(
                    "{}.{}.",
                    URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT" }).to_string()),
                    URL_SAFE_NO_PAD.encode(good(n).to_string())
                )
            }),
        ),
        ("bad_signature", Box::new(|n| other_key.sign(&good(n)))),
    ];
    for (reason, token) in cases {
        let (status, body, session) = sign_in(&app, &tenant, &id, &stand_in, token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{reason}: {body}");
        assert!(!session, "{reason}");
        let recorded = last_refusal(&app, &tenant).await;
        assert!(
            recorded == reason
                || (reason == "bad_signature"
                    && matches!(recorded.as_str(), "invalid_id_token" | "malformed_id_token")),
            "{reason}: recorded {recorded}"
        );
    }
    let found = app.tenant(&tenant, IDENTITY, json!({ "e": email })).await;
    assert_eq!(found.data()["identities"]["nodes"], json!([]));

    // The good token signs in; then the provider rolls over to a new key, which Latchkey
    // fetches when a token first names it.
    let (status, body, session) = sign_in(&app, &tenant, &id, &stand_in, |n| {
        stand_in.key.sign(&good(n))
    })
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session);
    let rolled = Key::new();
    *stand_in.answers.jwks.lock().unwrap() = json!({ "keys": [stand_in.key.jwk, rolled.jwk] });
    let (status, body, _) = sign_in(&app, &tenant, &id, &stand_in, |n| rolled.sign(&good(n))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
}

#[tokio::test]
async fn microsoft_people_are_keyed_by_tenant_and_object_id_and_unproven_addresses_never_link() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("fed").await;
    // The multi-tenant document names `{tenantid}` in its issuer.
    let stand_in = StandIn::start("/organizations/v2.0", "/{tenantid}/v2.0").await;
    let id = provider(
        &app,
        &tenant,
        "MICROSOFT",
        &stand_in.issuer("/organizations/v2.0"),
    )
    .await;
    let tid = uuid::Uuid::new_v4().to_string();
    let issuer = stand_in.issuer(&format!("/{tid}/v2.0"));

    // nOAuth: an attacker's Entra tenant sets the victim's address on a user it controls.
    let victim = unique_email();
    let (_device, _, _) = app.sign_up(&tenant, &victim).await;
    let attacker = |n: &str| {
        stand_in.key.sign(&claims(
            &issuer,
            n,
            "pairwise-sub",
            json!({ "tid": tid, "oid": "attacker-oid", "email": victim }),
        ))
    };
    let (status, body, session) = sign_in(&app, &tenant, &id, &stand_in, attacker).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!session);
    assert_eq!(last_refusal(&app, &tenant).await, "email_not_proven");
    let found = app.tenant(&tenant, IDENTITY, json!({ "e": victim })).await;
    assert_eq!(
        found.data()["identities"]["nodes"][0]["federatedLinks"],
        json!([])
    );

    // A token whose issuer is another Entra tenant's than its `tid` is refused.
    let forged = |n: &str| {
        stand_in.key.sign(&claims(
            &stand_in.issuer("/someone-else/v2.0"),
            n,
            "s",
            json!({ "tid": tid, "oid": "o", "email": unique_email(), "xms_edov": true }),
        ))
    };
    let (status, _, _) = sign_in(&app, &tenant, &id, &stand_in, forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(last_refusal(&app, &tenant).await, "wrong_issuer");

    // With `xms_edov` the address counts: a new identity keyed by `{tid}/{oid}`.
    let person = unique_email();
    let proven = |n: &str| {
        stand_in.key.sign(&claims(
            &issuer,
            n,
            "pairwise-sub",
            json!({ "tid": tid, "oid": "oid-1", "email": person, "xms_edov": true }),
        ))
    };
    let (status, body, session) = sign_in(&app, &tenant, &id, &stand_in, proven).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session);
    let found = app.tenant(&tenant, IDENTITY, json!({ "e": person })).await;
    let identity = &found.data()["identities"]["nodes"][0];
    assert_eq!(identity["emailVerified"], true);
    assert_eq!(
        identity["federatedLinks"][0]["subject"],
        format!("{tid}/oid-1")
    );
}

#[tokio::test]
async fn google_workspace_addresses_count_with_a_matching_hd_claim() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("fed").await;
    let stand_in = StandIn::start("", "").await;
    let issuer = stand_in.issuer("");
    let id = provider(&app, &tenant, "GOOGLE", &issuer).await;
    let email = unique_email();
    let domain = email.rsplit_once('@').unwrap().1.to_owned();
    let without_hd = |n: &str| {
        stand_in.key.sign(&claims(
            &issuer,
            n,
            "g-1",
            json!({ "email": email, "email_verified": true }),
        ))
    };
    let (status, _, _) = sign_in(&app, &tenant, &id, &stand_in, without_hd).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(last_refusal(&app, &tenant).await, "email_not_proven");
    let other_hd = |n: &str| {
        stand_in.key.sign(&claims(
            &issuer,
            n,
            "g-1",
            json!({ "email": email, "email_verified": true, "hd": "other.example" }),
        ))
    };
    let (status, _, _) = sign_in(&app, &tenant, &id, &stand_in, other_hd).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let with_hd = |n: &str| {
        stand_in.key.sign(&claims(
            &issuer,
            n,
            "g-1",
            json!({ "email": email, "email_verified": true, "hd": domain }),
        ))
    };
    let (status, body, session) = sign_in(&app, &tenant, &id, &stand_in, with_hd).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session);
}

#[tokio::test]
async fn apple_gets_a_client_secret_the_server_signs_and_answers_by_form_post() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("fed").await;
    let stand_in = StandIn::start_with("/apple", "/apple", Some("TEAM123456")).await;
    let issuer = stand_in.issuer("/apple");
    let team = stand_in.answers.apple.clone().unwrap();
    let bad_key = app
        .tenant(
            &tenant,
            CREATE,
            json!({ "input": {
                "name": "Apple", "protocol": "OIDC", "preset": "APPLE",
                "settings": { "issuer": issuer },
                "credentials": { "clientId": CLIENT_ID, "teamId": "TEAM123456", "keyId": team.key.kid, "privateKey": "not a key" }
            } }),
        )
        .await;
    assert_eq!(bad_key.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        bad_key.body["errors"][0]["extensions"]["field"],
        "credentials.privateKey"
    );
    let created = app
        .tenant(
            &tenant,
            CREATE,
            json!({ "input": {
                "name": "Apple", "protocol": "OIDC", "preset": "APPLE",
                "settings": { "issuer": issuer },
                "credentials": { "clientId": CLIENT_ID, "teamId": "TEAM123456", "keyId": team.key.kid, "privateKey": team.pem() }
            } }),
        )
        .await;
    let id = created.data()["createIdentityProvider"]["identityProvider"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let email = format!("{}@privaterelay.appleid.com", unique("relay"));
    // Apple sends `email_verified` as a string, and the name once, outside the ID token.
    let user = json!({ "name": { "firstName": "Ada", "lastName": "Lovelace" }, "email": email })
        .to_string();
    let (status, body, session) = finish(
        &app,
        &tenant,
        &id,
        &stand_in.server.uri(),
        &[("user", &user)],
        |authorize| {
            assert_eq!(
                param(authorize, "response_mode").as_deref(),
                Some("form_post")
            );
            let nonce = param(authorize, "nonce").unwrap();
            *stand_in.answers.id_token.lock().unwrap() = stand_in.key.sign(&claims(
                &issuer,
                &nonce,
                "001234.abcdef.1234",
                json!({ "email": email, "email_verified": "true", "is_private_email": "true" }),
            ));
        },
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session);
    let found = app
        .tenant(&tenant, "query($e: String) { identities(first: 1, filter: { email: $e }) { nodes { displayName emailVerified federatedLinks { subject } } } }", json!({ "e": email }))
        .await;
    let identity = &found.data()["identities"]["nodes"][0];
    assert_eq!(identity["displayName"], "Ada Lovelace");
    assert_eq!(identity["emailVerified"], true);
    assert_eq!(
        identity["federatedLinks"][0]["subject"],
        "001234.abcdef.1234"
    );
}

/// A stand-in for GitHub's OAuth endpoints and REST API: the token endpoint wants the client
/// secret and PKCE's verifier and answers errors with 200; `/user` and `/user/emails` answer
/// what the test sets.
struct GithubStandIn {
    server: MockServer,
    emails: Arc<Mutex<Value>>,
    token_error: Arc<Mutex<bool>>,
}

struct GithubToken(Arc<Mutex<bool>>);

impl Respond for GithubToken {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        if *self.0.lock().unwrap()
            || form.get("client_secret").map(String::as_str) != Some("gh-secret")
            || !form.contains_key("code_verifier")
        {
            return ResponseTemplate::new(200).set_body_json(json!({
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
            }));
        }
        ResponseTemplate::new(200).set_body_json(json!({ "access_token": "gho_test", "token_type": "bearer", "scope": "read:user,user:email" }))
    }
}

struct GithubEmails(Arc<Mutex<Value>>);

impl Respond for GithubEmails {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap())
            != Some("Bearer gho_test")
        {
            return ResponseTemplate::new(401);
        }
        ResponseTemplate::new(200).set_body_json(self.0.lock().unwrap().clone())
    }
}

impl GithubStandIn {
    async fn start() -> Self {
        let server = MockServer::start().await;
        let emails = Arc::new(Mutex::new(json!([])));
        let token_error = Arc::new(Mutex::new(false));
        Mock::given(method("POST"))
            .and(path("/login/oauth/access_token"))
            .respond_with(GithubToken(token_error.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/user"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": 4242, "login": "octocat", "name": "The Octocat", "email": "public@octo.example" })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/user/emails"))
            .respond_with(GithubEmails(emails.clone()))
            .mount(&server)
            .await;
        Self {
            server,
            emails,
            token_error,
        }
    }
}

#[tokio::test]
async fn github_people_are_read_from_its_api_and_only_a_verified_primary_address_counts() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("fed").await;
    let github = GithubStandIn::start().await;
    let base = github.server.uri();
    let created = app
        .tenant(
            &tenant,
            CREATE,
            json!({ "input": {
                "name": "GitHub", "protocol": "OIDC", "preset": "GITHUB",
                "settings": {
                    "authorizationEndpoint": format!("{base}/login/oauth/authorize"),
                    "tokenEndpoint": format!("{base}/login/oauth/access_token"),
                    "apiUrl": format!("{base}/api")
                },
                "credentials": { "clientId": CLIENT_ID, "clientSecret": "gh-secret" }
            } }),
        )
        .await;
    let id = created.data()["createIdentityProvider"]["identityProvider"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = format!("{base}/login/oauth/authorize");

    // An address that is primary but not verified never links the identity that has it.
    let email = unique_email();
    app.sign_up(&tenant, &email).await;
    *github.emails.lock().unwrap() = json!([
        { "email": "public@octo.example", "primary": false, "verified": true, "visibility": "public" },
        { "email": email, "primary": true, "verified": false, "visibility": "private" }
    ]);
    let (status, _, session) = finish(&app, &tenant, &id, &start, &[], |_| {}).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!session);
    assert_eq!(last_refusal(&app, &tenant).await, "email_not_proven");

    // GitHub's 200-with-error answer is a refusal.
    *github.token_error.lock().unwrap() = true;
    let (status, body, _) = finish(&app, &tenant, &id, &start, &[], |_| {}).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("bad_verification_code"), "{body}");
    assert_eq!(last_refusal(&app, &tenant).await, "code_exchange_failed");
    *github.token_error.lock().unwrap() = false;

    // The verified primary address: linked, keyed by GitHub's numeric id.
    *github.emails.lock().unwrap() = json!([
        { "email": email, "primary": true, "verified": true, "visibility": "private" }
    ]);
    let (status, body, session) = finish(&app, &tenant, &id, &start, &[], |_| {}).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(session);
    let found = app.tenant(&tenant, IDENTITY, json!({ "e": email })).await;
    assert_eq!(
        found.data()["identities"]["nodes"][0]["federatedLinks"][0]["subject"],
        "4242"
    );
}
