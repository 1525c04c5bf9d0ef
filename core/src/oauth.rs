//! The OpenID Connect provider of a tenant: authorization requests, authorization codes,
//! the token grants (authorization code with PKCE, refresh token with rotation, client
//! credentials), userinfo, introspection (RFC 7662), revocation (RFC 7009) and RP-initiated
//! logout, following the OAuth 2.0 Security Best Current Practice (RFC 9700).
//!
//! HTTP lives in `api`; this module holds the rules. Authorization codes and pending
//! authorization requests live in the ephemeral store (single-use, short-lived); a code that
//! is presented again revokes the session issued from it.

use crate::actor::{Actor, Principal};
use crate::applications::{self, AppType, Application};
use crate::audit::{self, Target};
use crate::crypto::MasterKey;
use crate::db::{Database, TenantTx};
use crate::ephemeral::{EphemeralStore, StoreKey};
use crate::error::Error;
use crate::identities;
use crate::organizations::{self, OrgContext};
use crate::scope::TenantScope;
use crate::secrets;
use crate::sessions::{
    self, AccessClaims, ClientInfo, Grant, KeyCache, NewSession, Redeemed, Session, TokenChecks,
    TokenIssuer,
};
use crate::signing_keys::TokenType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration as Span, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;
use uuid::Uuid;

/// How long an authorization code may wait for its exchange.
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// How long an authorization request may wait for the user to sign in.
pub const PENDING_REQUEST_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a redeemed code is remembered, so that a replay revokes its tokens.
const SPENT_CODE_MEMORY: Duration = Duration::from_secs(15 * 60);
const AUTHORIZATION_CODE_PREFIX: &str = "lkac_";
const PENDING_REQUEST_PREFIX: &str = "lkar_";

/// An OAuth 2.0 / OpenID Connect error (RFC 6749 §5.2, OIDC Core §3.1.2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        Self::new("invalid_client", description)
    }

    fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new("invalid_scope", description)
    }

    fn invalid_token(description: impl Into<String>) -> Self {
        Self::new("invalid_token", description)
    }
}

impl From<Error> for OAuthError {
    fn from(error: Error) -> Self {
        match error {
            Error::Internal(source) => {
                tracing::error!(error = %source, "OAuth request failed");
                OAuthError::new("server_error", "internal error")
            }
            Error::RateLimited { retry_after } => OAuthError::new(
                "temporarily_unavailable",
                format!(
                    "too many requests; retry in {} seconds",
                    retry_after.as_secs().max(1)
                ),
            ),
            other => OAuthError::new("server_error", other.to_string()),
        }
    }
}

type OAuthResult<T> = std::result::Result<T, OAuthError>;

/// The parameters of an authorization request, as the client sent them.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub response_mode: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// The organization to scope the tokens to: its id or slug (also as scope `org:{id}`).
    pub organization: Option<String>,
}

/// A checked authorization request, kept while the user signs in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `prompt=none`: never show a page; fail with `login_required` instead.
    pub prompt_none: bool,
    /// `prompt=login`: the user signs in again even with a live session.
    pub prompt_login: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The organization (id or slug) the tokens are to be scoped to.
    pub organization: Option<String>,
    /// `prompt=select_organization` without an organization: the user picks one of theirs.
    #[serde(default)]
    pub select_organization: bool,
    /// When the request arrived (Unix seconds): a forced sign-in must be newer than this.
    pub received_at: i64,
}

/// What the data in an authorization code stands for.
#[derive(Serialize, Deserialize)]
struct CodeGrant {
    application_id: Uuid,
    client_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    identity_id: Uuid,
    browser_session_id: Uuid,
    organization_id: Option<Uuid>,
}

/// The token endpoint's answer (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Clone, Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// The claims of an ID token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default)]
    pub amr: Vec<String>,
    pub sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    #[serde(flatten)]
    pub profile: Map<String, Value>,
}

/// How a client presented its credentials at the token, introspection or revocation endpoint.
#[derive(Clone, Copy, Debug)]
pub struct ClientCredentials<'a> {
    pub client_id: &'a str,
    pub secret: Option<&'a str>,
}

fn scopes(scope: &str) -> impl Iterator<Item = &str> {
    scope.split(' ').filter(|s| !s.is_empty())
}

fn has_scope(scope: &str, wanted: &str) -> bool {
    scopes(scope).any(|s| s == wanted)
}

/// `base64url(SHA-256(verifier))`, the S256 code challenge (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A PKCE code verifier or challenge: 43 to 128 unreserved characters.
fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn bounded(name: &str, value: Option<String>, max: usize) -> OAuthResult<Option<String>> {
    match value {
        Some(v) if v.len() > max => Err(OAuthError::invalid_request(format!(
            "{name} is longer than {max} characters"
        ))),
        other => Ok(other),
    }
}

/// The provider of one tenant for one request.
pub struct Provider<'a> {
    pub db: &'a Database,
    pub store: &'a dyn EphemeralStore,
    pub keys: &'a KeyCache,
    pub scope: &'a TenantScope,
    pub issuer: TokenIssuer<'a>,
}

impl Provider<'_> {
    fn key(&self, kind: &str, secret: &str) -> StoreKey {
        StoreKey::tenant(self.scope, kind, &secrets::hash(secret))
    }

    async fn application(&self, client_id: &str) -> crate::Result<Option<Application>> {
        applications::find_by_client_id(self.db, self.store, self.scope, client_id).await
    }

    /// The first step of an authorization request: the client and its redirect URI. Errors
    /// here are shown to the user and never redirected (no open redirector).
    pub async fn authorization_client(
        &self,
        client_id: Option<&str>,
        redirect_uri: Option<&str>,
    ) -> OAuthResult<Application> {
        let client_id =
            client_id.ok_or_else(|| OAuthError::invalid_request("client_id is missing"))?;
        let app = self
            .application(client_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("unknown client_id"))?;
        let redirect_uri =
            redirect_uri.ok_or_else(|| OAuthError::invalid_request("redirect_uri is missing"))?;
        if !app.accepts_redirect_uri(redirect_uri) {
            return Err(OAuthError::invalid_request(
                "redirect_uri is not registered for this client (URIs are compared exactly)",
            ));
        }
        Ok(app)
    }

    /// The second step: the rest of the request. Errors here go back to the client's redirect
    /// URI (which the first step checked).
    pub fn check_authorization_request(
        &self,
        app: &Application,
        params: AuthorizeParams,
    ) -> OAuthResult<AuthorizationRequest> {
        if params.request.is_some() {
            return Err(OAuthError::new(
                "request_not_supported",
                "request objects are not supported",
            ));
        }
        if params.request_uri.is_some() {
            return Err(OAuthError::new(
                "request_uri_not_supported",
                "request_uri is not supported",
            ));
        }
        match params.response_type.as_deref() {
            Some("code") => {}
            None => return Err(OAuthError::invalid_request("response_type is missing")),
            Some(_) => {
                return Err(OAuthError::new(
                    "unsupported_response_type",
                    "only response_type=code is supported (no implicit or hybrid flows)",
                ));
            }
        }
        if params
            .response_mode
            .as_deref()
            .is_some_and(|m| m != "query")
        {
            return Err(OAuthError::invalid_request(
                "only response_mode=query is supported",
            ));
        }
        if !app.app_type.signs_users_in() {
            return Err(OAuthError::new(
                "unauthorized_client",
                "machine applications use the client_credentials grant",
            ));
        }
        let requested = params
            .scope
            .as_deref()
            .map(|s| scopes(s).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| OAuthError::invalid_scope("scope is missing"))?;
        // `org:{id}` asks for organization context, like the `organization` parameter.
        let (org_scopes, scope): (Vec<&str>, Vec<&str>) =
            requested.into_iter().partition(|s| s.starts_with("org:"));
        let organization = match (params.organization, org_scopes.as_slice()) {
            (None, []) => None,
            (Some(org), []) => Some(org),
            (None, [one]) => Some(one["org:".len()..].to_owned()),
            (Some(org), [one]) if one["org:".len()..] == org => Some(org),
            _ => {
                return Err(OAuthError::invalid_request(
                    "ask for one organization (organization parameter or one org:{id} scope)",
                ));
            }
        };
        if !app.allows_scopes(scope.iter().copied()) {
            return Err(OAuthError::invalid_scope(
                "a requested scope is not allowed for this client",
            ));
        }
        let code_challenge = match (
            params.code_challenge,
            params.code_challenge_method.as_deref(),
        ) {
            (Some(challenge), Some("S256")) if is_pkce_value(&challenge) => Some(challenge),
            (Some(_), Some("S256")) => {
                return Err(OAuthError::invalid_request(
                    "code_challenge must be 43 to 128 base64url characters",
                ));
            }
            (Some(_), _) | (None, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "only PKCE with code_challenge_method=S256 is supported",
                ));
            }
            (None, None) if app.app_type.is_public() => {
                return Err(OAuthError::invalid_request(
                    "public clients must use PKCE (code_challenge with code_challenge_method=S256)",
                ));
            }
            (None, None) => None,
        };
        let prompts: Vec<&str> = params
            .prompt
            .as_deref()
            .map(|p| scopes(p).collect())
            .unwrap_or_default();
        if let Some(unknown) = prompts.iter().find(|p| {
            !matches!(
                **p,
                "none" | "login" | "consent" | "select_account" | "select_organization"
            )
        }) {
            return Err(OAuthError::invalid_request(format!(
                "unknown prompt value {unknown:?}"
            )));
        }
        let prompt_none = prompts.contains(&"none");
        if prompt_none && prompts.len() > 1 {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        let max_age = match params.max_age.as_deref() {
            None => None,
            Some(value) => Some(value.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(
                || OAuthError::invalid_request("max_age must be a number of seconds"),
            )?),
        };
        Ok(AuthorizationRequest {
            client_id: app.client_id.clone(),
            redirect_uri: params.redirect_uri.unwrap_or_default(),
            scope: scope.join(" "),
            state: bounded("state", params.state, 2048)?,
            nonce: bounded("nonce", params.nonce, 512)?,
            code_challenge,
            prompt_none,
            prompt_login: prompts.contains(&"login"),
            max_age,
            login_hint: bounded("login_hint", params.login_hint, 320)?,
            select_organization: prompts.contains(&"select_organization") && organization.is_none(),
            organization: bounded("organization", organization, 100)?,
            received_at: Utc::now().timestamp(),
        })
    }

    /// Whether `session` satisfies the request without a new sign-in.
    pub fn session_satisfies(&self, request: &AuthorizationRequest, session: &Session) -> bool {
        let auth_time = session.created_at.timestamp();
        let fresh_enough = request
            .max_age
            .is_none_or(|max_age| Utc::now().timestamp() - auth_time <= max_age);
        let after_forced_login = !request.prompt_login || auth_time >= request.received_at;
        fresh_enough && after_forced_login
    }

    /// Keeps a request while the user signs in; returns the handle for the sign-in page.
    pub async fn park_request(&self, request: &AuthorizationRequest) -> crate::Result<String> {
        let handle = secrets::generate(PENDING_REQUEST_PREFIX);
        let value = serde_json::to_vec(request).map_err(Error::internal)?;
        self.store
            .set(
                &self.key("oauth-request", &handle),
                &value,
                PENDING_REQUEST_TTL,
            )
            .await?;
        Ok(handle)
    }

    /// The request parked under `handle`, once.
    pub async fn resume_request(
        &self,
        handle: &str,
    ) -> crate::Result<Option<AuthorizationRequest>> {
        let Some(value) = self.store.take(&self.key("oauth-request", handle)).await? else {
            return Ok(None);
        };
        Ok(Some(
            serde_json::from_slice(&value).map_err(Error::internal)?,
        ))
    }

    /// The organizations the user of a session belongs to (by name, 100 at most), for the
    /// organization picker.
    pub async fn member_organizations(
        &self,
        identity_id: Uuid,
    ) -> crate::Result<Vec<organizations::Organization>> {
        let tx = self.db.begin_tenant(self.scope).await?;
        let found = organizations::organizations_of_in(&tx, identity_id, 100).await?;
        tx.commit().await?;
        Ok(found)
    }

    /// The live browser session a cookie names: a first-party session of an active identity.
    pub async fn browser_session(&self, session_id: Uuid) -> crate::Result<Option<Session>> {
        let tx = self.db.begin_tenant(self.scope).await?;
        let session = sessions::live_session_in(&tx, session_id).await?;
        tx.commit().await?;
        Ok(session.filter(|s| s.application_id.is_none()))
    }

    /// Issues the authorization code for a request the user's `session` satisfies. A request
    /// for an organization the user is not a member of is `access_denied`.
    pub async fn issue_code(
        &self,
        app: &Application,
        request: &AuthorizationRequest,
        session: &Session,
    ) -> OAuthResult<String> {
        let organization_id = match &request.organization {
            None => None,
            Some(reference) => {
                let tx = self.db.begin_tenant(self.scope).await?;
                let context =
                    organizations::context_by_reference(&tx, reference, session.identity_id)
                        .await?;
                tx.commit().await?;
                Some(
                    context
                        .ok_or_else(|| {
                            OAuthError::new(
                                "access_denied",
                                "the user is not a member of the requested organization",
                            )
                        })?
                        .id,
                )
            }
        };
        let code = secrets::generate(AUTHORIZATION_CODE_PREFIX);
        let grant = CodeGrant {
            application_id: app.id,
            client_id: app.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            identity_id: session.identity_id,
            browser_session_id: session.id,
            organization_id,
        };
        let value = serde_json::to_vec(&grant).map_err(Error::internal)?;
        self.store
            .set(&self.key("oauth-code", &code), &value, CODE_TTL)
            .await?;
        Ok(code)
    }

    /// Authenticates a client at the token, introspection or revocation endpoint.
    pub async fn authenticate_client(
        &self,
        credentials: ClientCredentials<'_>,
    ) -> OAuthResult<Application> {
        let app = self
            .application(credentials.client_id)
            .await?
            .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
        match (app.app_type.is_public(), credentials.secret) {
            (true, None) => Ok(app),
            (true, Some(_)) => Err(OAuthError::invalid_client(
                "public clients have no client secret",
            )),
            (false, Some(secret)) if app.secret_matches(secret) => Ok(app),
            (false, _) => Err(OAuthError::invalid_client("client authentication failed")),
        }
    }

    fn access_ttl(&self, app: &Application) -> u32 {
        app.access_token_ttl_seconds
            .unwrap_or(self.issuer.settings.access_token_ttl_seconds)
    }

    fn app_grant(&self, app: &Application, scope: &str, organization: Option<OrgContext>) -> Grant {
        Grant {
            audience: app.client_id.clone(),
            client_id: Some(app.client_id.clone()),
            scope: Some(scope.to_owned()),
            access_ttl_seconds: self.access_ttl(app),
            organization,
        }
    }

    /// Access token, refresh token (when the session was granted `offline_access`) and ID
    /// token (when `scope` has `openid`) for an application session; `scope` may be narrower
    /// than the session's grant (a refresh that asks for less).
    async fn user_tokens(
        &self,
        tx: &TenantTx,
        app: &Application,
        session: &Session,
        scope: &str,
        nonce: Option<String>,
    ) -> OAuthResult<TokenResponse> {
        // Roles are read now: a refresh carries the member's current roles, and a removed
        // member's session is over.
        let organization =
            sessions::organization_of(tx, session)
                .await
                .map_err(|error| match error {
                    Error::Unauthenticated => {
                        OAuthError::invalid_grant("the organization membership has ended")
                    }
                    other => other.into(),
                })?;
        let grant = self.app_grant(app, scope, organization);
        let access_token = sessions::sign_access_token(
            tx,
            &self.issuer,
            &grant,
            &session.identity_id.to_string(),
            Some(session.id),
        )
        .await?;
        let offline = session
            .scope
            .as_deref()
            .is_some_and(|granted| has_scope(granted, "offline_access"));
        let refresh_token = match offline {
            true => Some(sessions::new_refresh_token(tx, session.id).await?),
            false => None,
        };
        let id_token = match has_scope(scope, "openid") {
            true => Some(
                self.id_token(tx, app, session, scope, nonce, grant.organization.as_ref())
                    .await?,
            ),
            false => None,
        };
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: grant.access_ttl_seconds,
            refresh_token,
            id_token,
            scope: scope.to_owned(),
        })
    }

    async fn id_token(
        &self,
        tx: &TenantTx,
        app: &Application,
        session: &Session,
        scope: &str,
        nonce: Option<String>,
        organization: Option<&OrgContext>,
    ) -> crate::Result<String> {
        // The user signed in when the browser session started.
        let browser = match session.parent_session_id {
            Some(parent) => sessions::find_session_in(tx, parent).await?,
            None => None,
        };
        let browser = browser.as_ref().unwrap_or(session);
        let now = Utc::now();
        let mut claims = IdTokenClaims {
            iss: self.issuer.issuer.to_owned(),
            sub: session.identity_id.to_string(),
            aud: app.client_id.clone(),
            exp: (now + Span::seconds(self.access_ttl(app).into())).timestamp(),
            iat: now.timestamp(),
            auth_time: browser.created_at.timestamp(),
            nonce,
            amr: vec![amr(&browser.auth_method).to_owned()],
            sid: browser.id.to_string(),
            azp: Some(app.client_id.clone()),
            profile: self.profile_claims(tx, session.identity_id, scope).await?,
        };
        if let Some(org) = organization {
            claims
                .profile
                .insert("org_id".into(), json!(org.id.to_string()));
            claims
                .profile
                .insert("org_kind".into(), json!(org.kind.as_str()));
            claims.profile.insert("roles".into(), json!(org.roles));
        }
        self.issuer.signer().sign(tx, TokenType::Id, &claims).await
    }

    /// The identity's claims that `scope` releases (OIDC Core §5.4).
    async fn profile_claims(
        &self,
        tx: &TenantTx,
        identity_id: Uuid,
        scope: &str,
    ) -> crate::Result<Map<String, Value>> {
        let identity = identities::find_in(tx, identity_id).await?;
        let mut claims = Map::new();
        if has_scope(scope, "profile") {
            if let Some(name) = identity.display_name {
                claims.insert("name".into(), json!(name));
            }
            claims.insert("updated_at".into(), json!(identity.updated_at.timestamp()));
        }
        if has_scope(scope, "email") {
            claims.insert("email".into(), json!(identity.email));
            claims.insert("email_verified".into(), json!(identity.email_verified));
        }
        if has_scope(scope, "phone")
            && let Some(phone) = identity.phone
        {
            claims.insert("phone_number".into(), json!(phone));
        }
        Ok(claims)
    }

    /// `grant_type=authorization_code`.
    #[tracing::instrument(name = "core.oauth.exchange_code", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn exchange_code(
        &self,
        app: &Application,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        client: &ClientInfo,
    ) -> OAuthResult<TokenResponse> {
        if !app.app_type.signs_users_in() {
            return Err(OAuthError::new(
                "unauthorized_client",
                "machine applications use the client_credentials grant",
            ));
        }
        let Some(value) = self.store.take(&self.key("oauth-code", code)).await? else {
            return Err(self.replayed_code(app, code).await?);
        };
        let grant: CodeGrant = serde_json::from_slice(&value).map_err(Error::internal)?;
        if grant.client_id != app.client_id {
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        if redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        match (&grant.code_challenge, code_verifier) {
            (Some(challenge), Some(verifier)) => {
                if !is_pkce_value(verifier)
                    || aws_lc_rs::constant_time::verify_slices_are_equal(
                        s256_challenge(verifier).as_bytes(),
                        challenge.as_bytes(),
                    )
                    .is_err()
                {
                    return Err(OAuthError::invalid_grant("code_verifier does not match"));
                }
            }
            (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is missing")),
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "code_verifier sent, but the authorization request had no code_challenge",
                ));
            }
            (None, None) if app.app_type.is_public() => {
                return Err(OAuthError::invalid_grant("public clients must use PKCE"));
            }
            (None, None) => {}
        }
        let tx = self.db.begin_tenant(self.scope).await?;
        let Some(browser) = sessions::live_session_in(&tx, grant.browser_session_id).await? else {
            return Err(OAuthError::invalid_grant("the sign-in session has ended"));
        };
        let session = sessions::insert_session(
            &tx,
            NewSession {
                identity_id: grant.identity_id,
                auth_method: &browser.auth_method,
                lifetime_seconds: app
                    .refresh_token_ttl_seconds
                    .unwrap_or(self.issuer.settings.refresh_token_ttl_seconds),
                client,
                application_id: Some(app.id),
                parent_session_id: Some(browser.id),
                scope: Some(grant.scope.clone()),
                organization_id: grant.organization_id,
            },
        )
        .await?;
        let spent = format!("{} {}", session.id, app.client_id);
        self.store
            .set(
                &self.key("oauth-code-spent", code),
                spent.as_bytes(),
                SPENT_CODE_MEMORY,
            )
            .await?;
        let tokens = self
            .user_tokens(&tx, app, &session, &grant.scope, grant.nonce)
            .await?;
        audit::record(
            &tx,
            &Actor::new(
                Principal::Identity {
                    id: session.identity_id,
                    session_id: session.id,
                },
                None,
            ),
            "oauth.authorization_code.exchange",
            Some(Target {
                kind: "application",
                id: &app.id.to_string(),
            }),
            json!({ "clientId": app.client_id, "scope": grant.scope, "sessionId": session.id }),
        )
        .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// An unknown code: if it was already redeemed, revokes what was issued for it.
    /// Only the client the code was issued to triggers the revocation (someone else holding a
    /// used code must not be able to end the user's session).
    async fn replayed_code(&self, app: &Application, code: &str) -> crate::Result<OAuthError> {
        let unknown = || OAuthError::invalid_grant("the authorization code is unknown or expired");
        let Some(spent) = self.store.get(&self.key("oauth-code-spent", code)).await? else {
            return Ok(unknown());
        };
        let (session_id, client_id) = std::str::from_utf8(&spent)
            .ok()
            .and_then(|s| s.split_once(' '))
            .and_then(|(session, client)| Some((Uuid::parse_str(session).ok()?, client)))
            .ok_or_else(|| Error::internal("spent-code record is not a session and a client"))?;
        if client_id != app.client_id {
            return Ok(unknown());
        }
        let tx = self.db.begin_tenant(self.scope).await?;
        sessions::revoke_tree_in(&tx, session_id, "authorization_code_replay").await?;
        audit::record(
            &tx,
            &Actor::new(Principal::Anonymous, None),
            "oauth.authorization_code.replay",
            Some(Target {
                kind: "session",
                id: &session_id.to_string(),
            }),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(session.id = %session_id, "an authorization code was presented twice; its tokens are revoked");
        Ok(OAuthError::invalid_grant(
            "the authorization code was already used; the tokens issued for it are revoked",
        ))
    }

    /// `grant_type=refresh_token`: rotates the refresh token; a spent one revokes the session.
    #[tracing::instrument(name = "core.oauth.refresh", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn refresh(
        &self,
        app: &Application,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> OAuthResult<TokenResponse> {
        let tx = self.db.begin_tenant(self.scope).await?;
        let session = match sessions::redeem_refresh_token(&tx, refresh_token).await? {
            Redeemed::Live(session) if session.application_id == Some(app.id) => *session,
            Redeemed::Reused => {
                tx.commit().await?;
                return Err(OAuthError::invalid_grant(
                    "the refresh token was already used; the session is revoked",
                ));
            }
            Redeemed::Live(_) | Redeemed::Invalid => {
                return Err(OAuthError::invalid_grant(
                    "the refresh token is invalid, expired or revoked",
                ));
            }
        };
        let granted = session.scope.clone().unwrap_or_default();
        let scope = match scope.map(|s| scopes(s).collect::<Vec<_>>()) {
            None => granted.clone(),
            Some(requested) if requested.iter().all(|s| has_scope(&granted, s)) => {
                requested.join(" ")
            }
            Some(_) => {
                return Err(OAuthError::invalid_scope(
                    "a refresh may only narrow the scope granted",
                ));
            }
        };
        let tokens = self.user_tokens(&tx, app, &session, &scope, None).await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// `grant_type=client_credentials`, for machine applications.
    #[tracing::instrument(name = "core.oauth.client_credentials", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn client_credentials(
        &self,
        app: &Application,
        scope: Option<&str>,
    ) -> OAuthResult<TokenResponse> {
        if app.app_type != AppType::Machine {
            return Err(OAuthError::new(
                "unauthorized_client",
                "only machine applications may use the client_credentials grant",
            ));
        }
        let scope = match scope.map(|s| scopes(s).collect::<Vec<_>>()) {
            None => app.scopes.join(" "),
            Some(requested) if app.allows_scopes(requested.iter().copied()) => requested.join(" "),
            Some(_) => {
                return Err(OAuthError::invalid_scope(
                    "a requested scope is not allowed for this client",
                ));
            }
        };
        let grant = self.app_grant(app, &scope, None);
        let claims = sessions::access_claims(&self.issuer, &grant, &app.client_id, None);
        let access_token = self
            .issuer
            .signer()
            .sign_alone(self.db, self.scope, TokenType::Access, &claims)
            .await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: grant.access_ttl_seconds,
            refresh_token: None,
            id_token: None,
            scope,
        })
    }

    /// Verifies an access token of this tenant (any audience) and checks it is still live:
    /// its session for user tokens; its client and the revocation list for client tokens.
    async fn live_access_token(&self, token: &str) -> crate::Result<Option<AccessClaims>> {
        let checks = TokenChecks {
            audience: None,
            expiry: true,
        };
        let Ok(claims) = sessions::verify_jwt::<AccessClaims>(
            self.db,
            self.keys,
            self.scope,
            self.issuer.issuer,
            token,
            checks,
        )
        .await
        else {
            return Ok(None);
        };
        let live = match claims.sid.as_deref().map(Uuid::parse_str) {
            Some(Ok(session_id)) => {
                let tx = self.db.begin_tenant(self.scope).await?;
                let session = sessions::live_session_in(&tx, session_id).await?;
                tx.commit().await?;
                session.is_some_and(|s| s.identity_id.to_string() == claims.sub)
            }
            Some(Err(_)) => false,
            None => {
                let client_live = match &claims.client_id {
                    Some(client_id) => self.application(client_id).await?.is_some(),
                    None => false,
                };
                client_live
                    && self
                        .store
                        .get(&self.key("revoked-jti", &claims.jti))
                        .await?
                        .is_none()
            }
        };
        Ok(live.then_some(claims))
    }

    /// RFC 7662 introspection, for confidential clients (resource servers).
    #[tracing::instrument(name = "core.oauth.introspect", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn introspect(&self, caller: &Application, token: &str) -> OAuthResult<Value> {
        if caller.app_type.is_public() {
            return Err(OAuthError::invalid_client(
                "introspection is for confidential clients",
            ));
        }
        let inactive = json!({ "active": false });
        if token.starts_with(sessions::REFRESH_TOKEN_PREFIX) {
            let tx = self.db.begin_tenant(self.scope).await?;
            let session = sessions::live_session_of_refresh_token(&tx, token).await?;
            tx.commit().await?;
            return Ok(match session {
                Some(session) if session.application_id == Some(caller.id) => json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "client_id": caller.client_id,
                    "sub": session.identity_id.to_string(),
                    "scope": session.scope,
                    "exp": session.expires_at.timestamp(),
                    "iat": session.last_used_at.timestamp(),
                    "iss": self.issuer.issuer,
                    "sid": session.id.to_string(),
                }),
                _ => inactive,
            });
        }
        Ok(match self.live_access_token(token).await? {
            Some(claims) => {
                let mut answer = serde_json::to_value(&claims).map_err(Error::internal)?;
                answer["active"] = json!(true);
                answer["token_type"] = json!("Bearer");
                answer
            }
            None => inactive,
        })
    }

    /// RFC 7009 revocation. Tokens of other clients and unknown tokens are ignored (the answer
    /// is the same, so it reveals nothing).
    #[tracing::instrument(name = "core.oauth.revoke", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn revoke(&self, caller: &Application, token: &str) -> OAuthResult<()> {
        let session_id = if token.starts_with(sessions::REFRESH_TOKEN_PREFIX) {
            let tx = self.db.begin_tenant(self.scope).await?;
            let session = sessions::live_session_of_refresh_token(&tx, token).await?;
            tx.commit().await?;
            session
                .filter(|s| s.application_id == Some(caller.id))
                .map(|s| s.id)
        } else {
            match self.live_access_token(token).await? {
                Some(claims) if claims.client_id.as_deref() == Some(&caller.client_id) => {
                    match claims.sid.as_deref().map(Uuid::parse_str) {
                        Some(Ok(session_id)) => Some(session_id),
                        _ => {
                            // A client-credentials token has no session: remember its id
                            // until it expires.
                            let remaining =
                                (claims.exp - Utc::now().timestamp()).max(1) as u64 + 60;
                            self.store
                                .set(
                                    &self.key("revoked-jti", &claims.jti),
                                    b"1",
                                    Duration::from_secs(remaining),
                                )
                                .await?;
                            None
                        }
                    }
                }
                _ => None,
            }
        };
        let Some(session_id) = session_id else {
            return Ok(());
        };
        let tx = self.db.begin_tenant(self.scope).await?;
        sessions::revoke_tree_in(&tx, session_id, "token_revoked").await?;
        audit::record(
            &tx,
            &Actor::new(Principal::Anonymous, None),
            "oauth.token.revoke",
            Some(Target {
                kind: "session",
                id: &session_id.to_string(),
            }),
            json!({ "clientId": caller.client_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The userinfo endpoint: the claims the token's scope releases.
    #[tracing::instrument(name = "core.oauth.userinfo", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn userinfo(&self, token: &str) -> OAuthResult<Value> {
        let claims = self.live_access_token(token).await?.ok_or_else(|| {
            OAuthError::invalid_token("the access token is invalid, expired or revoked")
        })?;
        let scope = claims.scope.unwrap_or_default();
        if claims.sid.is_none() || !has_scope(&scope, "openid") {
            return Err(OAuthError::new(
                "insufficient_scope",
                "userinfo needs a user's access token with the openid scope",
            ));
        }
        let identity_id = Uuid::parse_str(&claims.sub).map_err(Error::internal)?;
        let tx = self.db.begin_tenant(self.scope).await?;
        let mut profile = self.profile_claims(&tx, identity_id, &scope).await?;
        tx.commit().await?;
        profile.insert("sub".into(), json!(claims.sub));
        Ok(Value::Object(profile))
    }

    /// RP-initiated logout: checks `id_token_hint` (expired ones too) and the post-logout
    /// redirect URI, then ends the browser session (and the application sessions started from
    /// it). Returns where to send the browser, if the client registered that URI.
    #[tracing::instrument(name = "core.oauth.end_session", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn end_session(
        &self,
        browser_session: Option<Uuid>,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
    ) -> OAuthResult<Option<String>> {
        let hint = match id_token_hint {
            Some(token) => Some(
                sessions::verify_jwt::<IdTokenClaims>(
                    self.db,
                    self.keys,
                    self.scope,
                    self.issuer.issuer,
                    token,
                    TokenChecks {
                        audience: None,
                        expiry: false,
                    },
                )
                .await
                .map_err(|_| {
                    OAuthError::invalid_request("id_token_hint is not an ID token of this tenant")
                })?,
            ),
            None => None,
        };
        let client_id = match (client_id, hint.as_ref().map(|h| h.aud.as_str())) {
            (Some(given), Some(aud)) if given != aud => {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the id_token_hint's audience",
                ));
            }
            (Some(given), _) => Some(given),
            (None, aud) => aud,
        };
        let redirect = match post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let app = match client_id {
                    Some(client_id) => self.application(client_id).await?,
                    None => None,
                }
                .ok_or_else(|| {
                    OAuthError::invalid_request(
                        "post_logout_redirect_uri needs a client (id_token_hint or client_id)",
                    )
                })?;
                if !app.post_logout_redirect_uris.iter().any(|u| u == uri) {
                    return Err(OAuthError::invalid_request(
                        "post_logout_redirect_uri is not registered for this client",
                    ));
                }
                Some(uri.to_owned())
            }
        };
        let tx = self.db.begin_tenant(self.scope).await?;
        let mut ended = Vec::new();
        if let Some(hint) = &hint
            && let Ok(sid) = Uuid::parse_str(&hint.sid)
            && sessions::find_session_in(&tx, sid)
                .await?
                .is_some_and(|s| s.identity_id.to_string() == hint.sub)
        {
            ended.push(sid);
        }
        if let Some(cookie_session) = browser_session
            && let Some(session) = sessions::find_session_in(&tx, cookie_session).await?
            && hint
                .as_ref()
                .is_none_or(|h| h.sub == session.identity_id.to_string())
            && !ended.contains(&cookie_session)
        {
            ended.push(cookie_session);
        }
        for session_id in &ended {
            sessions::revoke_tree_in(&tx, *session_id, "signed_out").await?;
            audit::record(
                &tx,
                &Actor::new(Principal::Anonymous, None),
                "oauth.end_session",
                Some(Target {
                    kind: "session",
                    id: &session_id.to_string(),
                }),
                json!({ "clientId": client_id }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(redirect)
    }
}

/// The `amr` value (RFC 8176 style) for a session's sign-in method.
fn amr(auth_method: &str) -> &str {
    match auth_method {
        "passkey" => "webauthn",
        other => other,
    }
}

/// The sealed value of the browser-session cookie: the session id, bound to the tenant.
pub fn seal_browser_session(
    master_key: &MasterKey,
    scope: &TenantScope,
    session_id: Uuid,
) -> crate::Result<String> {
    master_key.seal(
        &browser_cookie_context(scope),
        session_id.as_bytes().as_slice(),
    )
}

/// The session id in a browser-session cookie, if the cookie is genuine and of this tenant.
pub fn open_browser_session(
    master_key: &MasterKey,
    scope: &TenantScope,
    cookie: &str,
) -> Option<Uuid> {
    let bytes = master_key
        .open(&browser_cookie_context(scope), cookie)
        .ok()?;
    Uuid::from_slice(&bytes).ok()
}

fn browser_cookie_context(scope: &TenantScope) -> Vec<u8> {
    let mut context = b"latchkey browser session ".to_vec();
    context.extend_from_slice(scope.tenant_id().as_bytes());
    context
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn pkce_values_are_43_to_128_unreserved_characters() {
        assert!(is_pkce_value(&"a".repeat(43)));
        assert!(!is_pkce_value(&"a".repeat(42)));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(43))));
    }
}
