//! Access-token verification against a tenant's published keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    #[error("the token header carries {0:?}, which points at a key of the sender's choosing")]
    ForbiddenHeader(&'static str),
    /// Not an access token: ID tokens (`typ: JWT`), signed with the same keys, are refused.
    #[error("the token is not an access token (typ at+jwt)")]
    NotAnAccessToken,
    #[error("the token's key id is not among the issuer's keys")]
    UnknownKey,
    #[error("the signature does not verify")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    Issuer,
    #[error("the token is meant for another audience")]
    Audience,
    #[error("the issuer's keys could not be fetched: {0}")]
    Jwks(String),
}

/// `aud` is a string or a list of strings (RFC 7519 §4.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// The claims of a verified Latchkey access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The identity id, or the client id for client-credentials tokens.
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    #[serde(default)]
    pub jti: Option<String>,
    /// The session; absent for client-credentials tokens.
    #[serde(default)]
    pub sid: Option<String>,
    /// The application the token was issued to.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Space-separated scopes granted to an application.
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Every other claim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Claims {
    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|granted| granted.split(' ').any(|s| s == scope))
    }
}

/// Tuning of a [`Verifier`].
#[derive(Clone, Debug)]
pub struct VerifierOptions {
    /// Where the keys are; default `{issuer}/jwks.json`.
    pub jwks_uri: Option<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 60 s).
    pub leeway: Duration,
    /// The soonest the keys are fetched again for an unknown key id (default 30 s), so that
    /// tokens with made-up key ids cannot make the verifier hammer the issuer.
    pub refetch_interval: Duration,
    /// How long fetched keys are trusted before a routine refetch (default 10 min).
    pub cache_ttl: Duration,
    /// The accepted algorithms (default ES256 and EdDSA, the ones Latchkey signs with).
    pub algorithms: Vec<Algorithm>,
}

impl Default for VerifierOptions {
    fn default() -> Self {
        Self {
            jwks_uri: None,
            leeway: Duration::from_secs(60),
            refetch_interval: Duration::from_secs(30),
            cache_ttl: Duration::from_secs(600),
            algorithms: vec![Algorithm::ES256, Algorithm::EdDSA],
        }
    }
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched_at: Option<Instant>,
}

/// Verifies access tokens of one tenant for a set of accepted audiences. Cheap to share
/// (`Arc`) between requests; key fetches are serialised.
pub struct Verifier {
    issuer: String,
    audiences: Vec<String>,
    jwks_uri: String,
    options: VerifierOptions,
    http: reqwest::Client,
    cache: RwLock<KeyCache>,
    fetching: Mutex<()>,
}

impl Verifier {
    /// A verifier for tokens of `issuer` (`https://…/t/{slug}`) meant for one of `audiences`
    /// (your application's client id; the issuer itself for first-party session tokens).
    pub fn new<A: Into<String>>(
        issuer: impl Into<String>,
        audiences: impl IntoIterator<Item = A>,
    ) -> Self {
        Self::with_options(issuer, audiences, VerifierOptions::default())
    }

    pub fn with_options<A: Into<String>>(
        issuer: impl Into<String>,
        audiences: impl IntoIterator<Item = A>,
        options: VerifierOptions,
    ) -> Self {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        Self {
            jwks_uri: options
                .jwks_uri
                .clone()
                .unwrap_or_else(|| format!("{issuer}/jwks.json")),
            issuer,
            audiences: audiences.into_iter().map(Into::into).collect(),
            options,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            cache: RwLock::new(KeyCache::default()),
            fetching: Mutex::new(()),
        }
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let (kid, algorithm) = self.check_header(token)?;
        let (key, key_algorithm) = self.key(&kid).await?;
        if key_algorithm != algorithm {
            return Err(VerifyError::Algorithm(format!("{algorithm:?}")));
        }
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.options.leeway.as_secs();
        validation.validate_nbf = true;
        jsonwebtoken::decode::<Claims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                match error.kind() {
                    ErrorKind::ExpiredSignature => VerifyError::Expired,
                    ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
                    ErrorKind::InvalidIssuer => VerifyError::Issuer,
                    ErrorKind::InvalidAudience => VerifyError::Audience,
                    ErrorKind::InvalidSignature => VerifyError::Signature,
                    _ => VerifyError::Malformed,
                }
            })
    }

    /// Reads the header without trusting it: the token must be an access token (`typ:
    /// at+jwt`, RFC 9068), the algorithm one we accept, and no header may name a key (`jku`,
    /// `jwk`, `x5u`, `x5c`): keys come from the issuer only.
    fn check_header(&self, token: &str) -> Result<(String, Algorithm), VerifyError> {
        let encoded = token.split('.').next().ok_or(VerifyError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| VerifyError::Malformed)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)?;
        for (name, label) in [
            ("jku", "jku"),
            ("jwk", "jwk"),
            ("x5u", "x5u"),
            ("x5c", "x5c"),
        ] {
            if header.contains_key(name) {
                return Err(VerifyError::ForbiddenHeader(label));
            }
        }
        let typ = header
            .get("typ")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
            return Err(VerifyError::NotAnAccessToken);
        }
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(VerifyError::Malformed)?;
        let algorithm = alg
            .parse::<Algorithm>()
            .ok()
            .filter(|a| self.options.algorithms.contains(a))
            .ok_or_else(|| VerifyError::Algorithm(alg.to_owned()))?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(VerifyError::UnknownKey)?;
        Ok((kid.to_owned(), algorithm))
    }

    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), VerifyError> {
        {
            let cache = self.cache.read().await;
            let fresh = cache
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.options.cache_ttl);
            if fresh && let Some(found) = cache.keys.get(kid) {
                return Ok(found.clone());
            }
        }
        let _one_fetch_at_a_time = self.fetching.lock().await;
        let mut cache = self.cache.write().await;
        let recently = cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.options.refetch_interval);
        if !recently {
            match self.fetch().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched_at = Some(Instant::now());
                }
                // Keep serving known keys when the issuer is briefly unreachable.
                Err(error) if cache.keys.is_empty() => return Err(error),
                Err(error) => tracing::warn!(%error, "keeping the cached keys"),
            }
        }
        cache.keys.get(kid).cloned().ok_or(VerifyError::UnknownKey)
    }

    async fn fetch(&self) -> Result<HashMap<String, (DecodingKey, Algorithm)>, VerifyError> {
        let response = self
            .http
            .get(&self.jwks_uri)
            .send()
            .await
            .map_err(|e| VerifyError::Jwks(e.to_string()))?;
        if !response.status().is_success() {
            return Err(VerifyError::Jwks(format!(
                "{} answered {}",
                self.jwks_uri,
                response.status()
            )));
        }
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| VerifyError::Jwks(e.to_string()))?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let algorithm = jwk_algorithm(jwk)?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, (key, algorithm)))
            })
            .collect())
    }
}

/// The algorithm a published key is for: from `alg`, else from the key type. HMAC keys are
/// never accepted from a JWKS.
fn jwk_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    match (&jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::ES256), _) => Some(Algorithm::ES256),
        (Some(KeyAlgorithm::EdDSA), _) => Some(Algorithm::EdDSA),
        (Some(_), _) => None,
        (None, AlgorithmParameters::EllipticCurve(ec)) if ec.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        (None, AlgorithmParameters::OctetKeyPair(_)) => Some(Algorithm::EdDSA),
        (None, _) => None,
    }
}
