//! The OpenID Connect code flow with an upstream provider, as a relying party: the
//! authorization request (PKCE S256, `state`, `nonce`), the code exchange, and the ID token's
//! validation with the `openidconnect` crate (signature by the provider's keys, issuer,
//! audience, expiry, nonce; Microsoft's multi-tenant issuers checked against `tid`). What the
//! token says becomes a [`FederatedProfile`], with the preset's rule for a proven address.

use super::discovery::{Discovered, named_issuer};
use super::http::{ClientAuth, ProviderHttp};
use latchkey_core::federation::{Credentials, FederatedProfile, IdentityProvider, Preset};
use openidconnect::core::{
    CoreGenderClaim, CoreIdTokenVerifier, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, IdToken, IssuerUrl, Nonce,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The claims read besides the standard ones: every other claim, by name (Microsoft's `tid`,
/// `oid`, `xms_edov`, Google's `hd`, the role mapping's claim).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    pub claims: HashMap<String, Value>,
}

impl AdditionalClaims for OtherClaims {}

type ProviderIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// The asymmetric algorithms accepted (never HMAC with the client secret, never `none`).
const ALGORITHMS: [CoreJwsSigningAlgorithm; 7] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// What an authorization request carries besides the provider's own values.
pub struct Request<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_challenge: &'a str,
    pub login_hint: Option<&'a str>,
}

/// The URL that sends the browser to the provider. Apple answers by form post (its only mode
/// when scopes are asked for).
pub fn authorization_url(
    discovered: &Discovered,
    provider: &IdentityProvider,
    credentials: &Credentials,
    request: Request<'_>,
) -> String {
    let mut url = url::Url::parse(discovered.metadata.authorization_endpoint().as_str())
        .expect("a checked authorization endpoint");
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &credentials.client_id)
            .append_pair("redirect_uri", request.redirect_uri)
            .append_pair("scope", &provider.scopes().join(" "))
            .append_pair("state", request.state)
            .append_pair("nonce", request.nonce)
            .append_pair("code_challenge", request.code_challenge)
            .append_pair("code_challenge_method", "S256");
        if provider.preset == Preset::Apple {
            query.append_pair("response_mode", "form_post");
        }
        if let Some(hint) = request.login_hint {
            query.append_pair("login_hint", hint);
        }
    }
    url.into()
}

/// Exchanges the code at the token endpoint (as a confidential client with basic
/// authentication, Apple with the JWT it signs as its secret, or a public client) and answers
/// the ID token.
#[allow(clippy::too_many_arguments)]
pub async fn exchange(
    http: &ProviderHttp,
    discovered: &Discovered,
    provider: &IdentityProvider,
    credentials: &Credentials,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Exchanged, Refused> {
    let token_endpoint = discovered
        .metadata
        .token_endpoint()
        .map(|t| t.as_str().to_owned())
        .unwrap_or_default();
    let apple_secret = credentials
        .apple_client_secret(discovered.metadata.issuer().as_str(), now)
        .map_err(|_| {
            refused(
                "code_exchange_failed",
                "the Apple key cannot sign a client secret",
            )
        })?;
    let auth = match (&apple_secret, &credentials.client_secret) {
        (Some(secret), _) => ClientAuth::Post(secret),
        (None, Some(secret)) => ClientAuth::Basic(secret),
        (None, None) => ClientAuth::Public,
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    let answer = http
        .post_form(&token_endpoint, &form, &credentials.client_id, auth)
        .await
        .map_err(|why| {
            tracing::warn!(provider.id = %provider.id, error = %why, "code exchange failed");
            refused(
                "code_exchange_failed",
                format!("{} did not accept the sign-in: {why}", provider.name),
            )
        })?;
    let id_token = answer["id_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            refused(
                "no_id_token",
                format!("{} answered without an ID token", provider.name),
            )
        })?;
    Ok(Exchanged {
        id_token,
        access_token: answer["access_token"].as_str().map(str::to_owned),
    })
}

/// What the token endpoint answered.
pub struct Exchanged {
    pub id_token: String,
    pub access_token: Option<String>,
}

/// Adds the claims of the userinfo endpoint the ID token lacks, where it lacks the address
/// (providers that follow OpenID Connect Core §5.4 put scope claims in userinfo only when an
/// access token is issued). The userinfo `sub` must be the ID token's (§5.3.2).
pub async fn add_userinfo(
    http: &ProviderHttp,
    discovered: &Discovered,
    access_token: Option<&str>,
    claims: &mut Map<String, Value>,
) -> Result<(), Refused> {
    let (Some(endpoint), Some(token)) = (discovered.metadata.userinfo_endpoint(), access_token)
    else {
        return Ok(());
    };
    if claims.contains_key("email") {
        return Ok(());
    }
    let userinfo = http
        .get_api(endpoint.as_str(), token)
        .await
        .map_err(|why| {
            refused(
                "userinfo_failed",
                format!("the provider's userinfo failed: {why}"),
            )
        })?;
    let Some(userinfo) = userinfo.as_object() else {
        return Err(refused(
            "userinfo_failed",
            "the provider's userinfo is not a JSON object",
        ));
    };
    if userinfo.get("sub") != claims.get("sub") {
        return Err(refused(
            "userinfo_failed",
            "the provider's userinfo is about someone else (sub)",
        ));
    }
    for (name, value) in userinfo {
        claims.entry(name.clone()).or_insert_with(|| value.clone());
    }
    Ok(())
}

/// Why an ID token was refused: a reason for the audit log, and a message for the person.
pub struct Refused {
    pub reason: &'static str,
    pub message: String,
}

pub(super) fn refused(reason: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        reason,
        message: message.into(),
    }
}

/// Whether the verification failed for want of the signing key (a key the provider rolled
/// over to since its keys were read).
pub fn unknown_key(refusal: &Refused) -> bool {
    refusal.reason == "bad_signature"
}

/// Validates the ID token; answers its claims. `now` is the clock's time.
pub fn verify(
    discovered: &Discovered,
    provider: &IdentityProvider,
    credentials: &Credentials,
    id_token: &str,
    nonce: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Map<String, Value>, Refused> {
    let token: ProviderIdToken = id_token.parse().map_err(|_| {
        refused(
            "malformed_id_token",
            "the provider's ID token is not a signed JWT",
        )
    })?;
    let issuer = provider.issuer().unwrap_or_default();
    let multi_tenant = provider.preset.multi_tenant(issuer);
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(credentials.client_id.clone()),
        IssuerUrl::new(discovered.metadata.issuer().as_str().to_owned())
            .map_err(|_| refused("bad_issuer", "the provider's issuer is not a URL"))?,
        discovered.jwks.clone(),
    )
    .set_allowed_algs(ALGORITHMS)
    .require_issuer_match(!multi_tenant)
    .set_time_fn(move || now);
    let claims = token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .map_err(|error| match error {
            ClaimsVerificationError::InvalidIssuer(why) => refused(
                "wrong_issuer",
                format!("the ID token is from another issuer ({why})"),
            ),
            ClaimsVerificationError::InvalidAudience(why) => refused(
                "wrong_audience",
                format!("the ID token is for another client ({why})"),
            ),
            ClaimsVerificationError::InvalidNonce(_) => refused(
                "wrong_nonce",
                "the ID token answers another sign-in (nonce)",
            ),
            ClaimsVerificationError::Expired(_) => {
                refused("expired_id_token", "the provider's ID token has expired")
            }
            ClaimsVerificationError::SignatureVerification(why) => refused(
                "bad_signature",
                format!(
                    "the ID token's signature does not verify with the provider's keys ({why})"
                ),
            ),
            other => refused(
                "invalid_id_token",
                format!("the ID token is not valid ({other})"),
            ),
        })?;
    let claims = match serde_json::to_value(claims) {
        Ok(Value::Object(claims)) => claims,
        _ => {
            return Err(refused(
                "invalid_id_token",
                "the ID token's claims cannot be read",
            ));
        }
    };
    if multi_tenant {
        let tid = claims
            .get("tid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let expected = named_issuer(&discovered.metadata).replace("{tenantid}", tid);
        let issued_by = claims
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if tid.is_empty() || issued_by != expected {
            return Err(refused(
                "wrong_issuer",
                format!("the ID token's issuer {issued_by} is not its tenant's ({expected})"),
            ));
        }
    }
    Ok(claims)
}

/// The profile the claims prove, by the preset's rules: Microsoft people are `{tid}/{oid}` and
/// their address counts only with `xms_edov` (the nOAuth case); a Google address outside
/// gmail.com needs a matching `hd`; others need `email_verified`.
pub fn profile(
    provider: &IdentityProvider,
    claims: &Map<String, Value>,
) -> Result<FederatedProfile, Refused> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let truthy = |name: &str| match claims.get(name) {
        Some(Value::Bool(value)) => *value,
        Some(Value::String(value)) => matches!(value.as_str(), "true" | "1"),
        Some(Value::Number(value)) => value.as_u64() == Some(1),
        _ => false,
    };
    let email = text("email");
    let verified = truthy("email_verified");
    let domain = email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase());
    let subject = text("sub").unwrap_or_default();
    let (subject, email_proven) = match provider.preset {
        Preset::Microsoft => {
            let (Some(tid), Some(oid)) = (text("tid"), text("oid")) else {
                return Err(refused(
                    "missing_tid_oid",
                    "the Microsoft ID token has no tid or oid claim",
                ));
            };
            (
                format!("{tid}/{oid}"),
                email.is_some() && truthy("xms_edov"),
            )
        }
        Preset::Google => {
            let consumer = matches!(domain.as_deref(), Some("gmail.com" | "googlemail.com"));
            let hosted = text("hd").is_some_and(|hd| Some(hd.to_ascii_lowercase()) == domain);
            (subject, verified && (consumer || hosted))
        }
        Preset::Generic | Preset::Apple | Preset::Github => (subject, verified),
    };
    let groups_claim = provider
        .role_mapping
        .as_ref()
        .map(|m| m.claim.as_str())
        .unwrap_or("groups");
    let groups = match claims.get(groups_claim) {
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .take(500)
            .collect(),
        Some(Value::String(value)) => vec![value.clone()],
        _ => Vec::new(),
    };
    Ok(FederatedProfile {
        subject,
        email,
        email_proven,
        display_name: text("name"),
        groups,
    })
}
