//! Custom claims: the tenant's and an application's claim mappings put identity attributes and
//! organization data into ID tokens, access tokens and userinfo, read here by an independent
//! OpenID Connect client (the `openidconnect` crate) with its own claim types. Mappings onto
//! reserved claims, unknown sources and too many mappings are refused by field and nothing is
//! saved; another tenant's mappings and applications are out of reach.

use latchkey_tests::oidc::{Browser, param};
use latchkey_tests::passkey::claims;
use latchkey_tests::{TestApp, unique_email};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthorizationCode, ClientId, CsrfToken, IdToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, ProviderMetadataWithLogout, RedirectUrl, Scope,
    TokenResponse, UserInfoClaims,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const CALLBACK: &str = "https://claims.example/callback";
const SETTINGS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { claimMappings { claim source idToken accessToken } } } }";
const UPDATE_APP: &str = "mutation($input: UpdateApplicationInput!) { updateApplication(input: $input) { application { claimMappings { claim source idToken accessToken } } } }";

/// The claims this relying party expects besides the standard ones.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct ShopClaims {
    tier: Option<String>,
    seats: Option<u64>,
    #[serde(rename = "https://shop.example/region")]
    region: Option<String>,
    org_name: Option<String>,
    locale_tag: Option<String>,
    leak: Option<String>,
}

impl AdditionalClaims for ShopClaims {}

type ShopIdToken = IdToken<
    ShopClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn mapped_claims_reach_tokens_and_userinfo_as_an_oidc_client_reads_them() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("claims").await;
    let saved = app
        .tenant(
            &tenant,
            SETTINGS,
            json!({ "input": {
                "attributeSchema": [
                    { "name": "tier", "kind": "STRING" },
                    { "name": "seats", "kind": "NUMBER" }
                ],
                "claimMappings": [
                    { "claim": "tier", "source": "identity.attributes.tier" },
                    { "claim": "seats", "source": "identity.attributes.seats", "idToken": false },
                    { "claim": "locale_tag", "source": "identity.locale" }
                ]
            } }),
        )
        .await;
    assert_eq!(
        saved.data()["updateTenantSettings"]["settings"]["claimMappings"][1],
        json!({ "claim": "seats", "source": "identity.attributes.seats", "idToken": false, "accessToken": true })
    );
    // Another tenant maps a claim of its own: it never shows here.
    let other = app.create_tenant("claims-other").await;
    app.tenant(
        &other,
        SETTINGS,
        json!({ "input": { "claimMappings": [{ "claim": "leak", "source": "identity.email" }] } }),
    )
    .await
    .data();

    let org = app
        .tenant(
            &tenant,
            "mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { organization { id } } }",
            json!({ "input": { "name": "Globex", "slug": latchkey_tests::unique("globex"), "metadata": { "billing": { "region": "eu-west" } } } }),
        )
        .await;
    let org = org.data()["createOrganization"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let registered = app
        .create_application(
            &tenant,
            "SPA",
            &[CALLBACK],
            json!({ "claimMappings": [
                { "claim": "https://shop.example/region", "source": "organization.metadata.billing.region" },
                { "claim": "org_name", "source": "organization.name", "idToken": false },
                // The application's own mapping of `locale_tag` replaces the tenant's.
                { "claim": "locale_tag", "source": "identity.externalId" }
            ] }),
        )
        .await;

    let (_device, _, user) = app.sign_up(&tenant, &unique_email()).await;
    app.tenant(
        &tenant,
        "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { id } } }",
        json!({ "input": { "id": user.identity_id, "attributes": { "tier": "gold", "seats": 40 }, "externalId": "crm-77", "locale": "de" } }),
    )
    .await
    .data();
    app.add_organization_member(&tenant, &org, &user.identity_id, &["org:member"])
        .await;

    let provider = ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(app.issuer(&tenant)).unwrap(),
        &http_client(),
    )
    .await
    .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        provider,
        ClientId::new(registered.client_id.clone()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .add_extra_param("organization", &org)
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new();
    browser
        .establish_session(&app, &tenant, &user.access_token)
        .await;
    let (status, location, body) = browser
        .get(&authorize_url.as_str().replace("localhost", "127.0.0.1"))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let callback = reqwest::Url::parse(&location.unwrap()).unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(param(&callback, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client())
        .await
        .expect("code exchange");

    // The ID token, validated and read with the client's own claim type.
    let id_token: ShopIdToken = tokens.id_token().unwrap().to_string().parse().unwrap();
    let id_claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the ID token validates");
    let extra = id_claims.additional_claims();
    assert_eq!(extra.tier.as_deref(), Some("gold"));
    assert_eq!(extra.region.as_deref(), Some("eu-west"));
    assert_eq!(extra.locale_tag.as_deref(), Some("crm-77"));
    assert_eq!(extra.seats, None, "seats go to access tokens only");
    assert_eq!(extra.org_name, None, "org_name goes to access tokens only");
    assert_eq!(extra.leak, None);

    // The access token carries its own selection beside Latchkey's claims, which stay.
    let access = claims(tokens.access_token().secret());
    assert_eq!(access["tier"], "gold");
    assert_eq!(access["seats"], 40);
    assert_eq!(access["org_name"], "Globex");
    assert_eq!(access["https://shop.example/region"], "eu-west");
    assert_eq!(access["org_id"], org.as_str());
    assert_eq!(access["sub"], user.identity_id.as_str());
    assert!(access.get("leak").is_none(), "{access}");

    // Userinfo answers what the ID token would.
    let info: UserInfoClaims<ShopClaims, CoreGenderClaim> = client
        .user_info(
            AccessToken::new(tokens.access_token().secret().clone()),
            None,
        )
        .unwrap()
        .request_async(&http_client())
        .await
        .expect("userinfo");
    assert_eq!(info.additional_claims().tier.as_deref(), Some("gold"));
    assert_eq!(info.additional_claims().region.as_deref(), Some("eu-west"));
    assert_eq!(info.additional_claims().seats, None);

    // A refresh reads the values again: a changed attribute shows at once.
    app.tenant(
        &tenant,
        "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { id } } }",
        json!({ "input": { "id": user.identity_id, "attributes": { "tier": "platinum", "seats": 40 } } }),
    )
    .await
    .data();
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("offline_access was granted"))
        .unwrap()
        .request_async(&http_client())
        .await
        .expect("refresh");
    assert_eq!(
        claims(refreshed.access_token().secret())["tier"],
        "platinum"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_mappings_are_refused_by_field_and_nothing_is_saved() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("claims-bad").await;
    let registered = app
        .create_application(
            &tenant,
            "WEB",
            &[CALLBACK],
            json!({ "claimMappings": [{ "claim": "plan", "source": "identity.email" }] }),
        )
        .await;
    let cases: [(Value, &str); 6] = [
        (
            json!([{ "claim": "sub", "source": "identity.email" }]),
            "claimMappings[0].claim",
        ),
        (
            json!([{ "claim": "org_id", "source": "organization.id" }]),
            "claimMappings[0].claim",
        ),
        (
            json!([{ "claim": "email_verified", "source": "identity.emailVerified" }]),
            "claimMappings[0].claim",
        ),
        (
            json!([{ "claim": "plan", "source": "identity.password" }]),
            "claimMappings[0].source",
        ),
        (
            json!([{ "claim": "plan", "source": "identity.attributes.undefined" }]),
            "claimMappings[0].source",
        ),
        (
            json!([{ "claim": "a", "source": "identity.email" }, { "claim": "a", "source": "identity.phone" }]),
            "claimMappings[1].claim",
        ),
    ];
    for (mappings, field) in cases {
        let refused = app
            .tenant(
                &tenant,
                UPDATE_APP,
                json!({ "input": { "id": registered.id, "claimMappings": mappings } }),
            )
            .await;
        assert_eq!(refused.error_code(), "BAD_USER_INPUT", "{mappings}");
        assert_eq!(
            refused.body["errors"][0]["extensions"]["field"], field,
            "{mappings}"
        );
        let refused = app
            .tenant(
                &tenant,
                SETTINGS,
                json!({ "input": { "claimMappings": mappings } }),
            )
            .await;
        assert_eq!(refused.error_code(), "BAD_USER_INPUT", "{mappings}");
        assert_eq!(
            refused.body["errors"][0]["extensions"]["field"], field,
            "{mappings}"
        );
    }
    let too_many: Vec<Value> = (0..26)
        .map(|i| json!({ "claim": format!("c{i}"), "source": "identity.email" }))
        .collect();
    let refused = app
        .tenant(
            &tenant,
            UPDATE_APP,
            json!({ "input": { "id": registered.id, "claimMappings": too_many } }),
        )
        .await;
    assert_eq!(
        refused.body["errors"][0]["extensions"]["field"],
        "claimMappings"
    );
    // A machine application has no user to take claims from.
    let machine = app
        .tenant(
            &tenant,
            "mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { id } } }",
            json!({ "input": { "name": "M", "type": "MACHINE", "claimMappings": [{ "claim": "plan", "source": "identity.email" }] } }),
        )
        .await;
    assert_eq!(machine.error_code(), "BAD_USER_INPUT");

    // Nothing was saved: the application keeps its mapping, the tenant has none.
    let read = app
        .tenant(
            &tenant,
            "query($id: ID!) { application(id: $id) { claimMappings { claim source } } tenant { settings { claimMappings { claim } } } }",
            json!({ "id": registered.id }),
        )
        .await;
    assert_eq!(
        read.data()["application"]["claimMappings"],
        json!([{ "claim": "plan", "source": "identity.email" }])
    );
    assert_eq!(
        read.data()["tenant"]["settings"]["claimMappings"],
        json!([])
    );

    // Another tenant neither reads nor changes this application's mappings.
    let other = app.create_tenant("claims-bad-other").await;
    let read = app
        .tenant(
            &other,
            "query($id: ID!) { application(id: $id) { claimMappings { claim } } }",
            json!({ "id": registered.id }),
        )
        .await;
    assert_eq!(read.error_code(), "NOT_FOUND");
    let changed = app
        .tenant(
            &other,
            UPDATE_APP,
            json!({ "input": { "id": registered.id, "claimMappings": [] } }),
        )
        .await;
    assert_eq!(changed.error_code(), "NOT_FOUND");
    app.stop().await;
}
