//! Authorization requests: the client and redirect URI, the checked request, whether a
//! session satisfies it, parking it while the user signs in, and the organization picker.

use super::pkce::is_pkce_value;
use super::{OAuthError, OAuthResult, Provider, scopes};
use crate::applications::{Allow, Application};
use crate::auth_method;
use crate::error::Error;
use crate::organizations;
use crate::secrets;
use crate::sessions::Session;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// How long an authorization request may wait for the user to sign in.
pub const PENDING_REQUEST_TTL: Duration = Duration::from_secs(15 * 60);
const PENDING_REQUEST_PREFIX: &str = "lkar_";

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
    /// An identity provider's id: the sign-in goes straight to that provider.
    pub idp_hint: Option<String>,
    /// The languages the end user prefers for the pages, best first, space-separated BCP 47
    /// tags (OpenID Connect Core §3.1.2.1); passed on to the sign-in page.
    pub ui_locales: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
    /// The organization to scope the tokens to: its id or slug (also as scope `org:{id}`).
    pub organization: Option<String>,
    /// Space-separated; `phr` asks for a phishing-resistant (passkey) sign-in. Others are
    /// voluntary (OpenID Connect Core §3.1.2.1) and ignored.
    pub acr_values: Option<String>,
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
    /// `idp_hint`: the identity provider the sign-in goes straight to.
    #[serde(default)]
    pub idp_hint: Option<uuid::Uuid>,
    /// `ui_locales`, as the client sent it: the sign-in page's language choice uses it.
    #[serde(default)]
    pub ui_locales: Option<String>,
    /// The organization (id or slug) the tokens are to be scoped to.
    pub organization: Option<String>,
    /// `prompt=select_organization` without an organization: the user picks one of theirs.
    #[serde(default)]
    pub select_organization: bool,
    /// When the request arrived (Unix seconds): a forced sign-in must be newer than this.
    pub received_at: i64,
    /// `acr_values=phr`: only a passkey sign-in satisfies the request.
    #[serde(default)]
    pub phishing_resistant: bool,
}

fn bounded(name: &str, value: Option<String>, max: usize) -> OAuthResult<Option<String>> {
    match value {
        Some(v) if v.len() > max => Err(OAuthError::invalid_request(format!(
            "{name} is longer than {max} characters"
        ))),
        other => Ok(other),
    }
}

impl Provider<'_> {
    /// The first step of an authorization request: the client and its redirect URI. Errors
    /// here are shown to the user and never redirected (no open redirector).
    pub(super) async fn authorization_client(
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
    pub(super) fn check_authorization_request(
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
        let phishing_resistant = params
            .acr_values
            .as_deref()
            .is_some_and(|values| scopes(values).any(|v| v == auth_method::ACR_PHISHING_RESISTANT));
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
            idp_hint: params
                .idp_hint
                .map(|hint| {
                    uuid::Uuid::parse_str(&hint).map_err(|_| {
                        OAuthError::invalid_request(
                            "idp_hint must be the id of an identity provider",
                        )
                    })
                })
                .transpose()?,
            ui_locales: bounded("ui_locales", params.ui_locales, 200)?,
            select_organization: prompts.contains(&"select_organization") && organization.is_none(),
            organization: bounded("organization", organization, 100)?,
            received_at: Utc::now().timestamp(),
            phishing_resistant,
        })
    }

    /// Whether `session` satisfies the request without a new sign-in.
    pub(super) fn session_satisfies(
        &self,
        request: &AuthorizationRequest,
        session: &Session,
    ) -> bool {
        let auth_time = session.created_at.timestamp();
        let fresh_enough = request
            .max_age
            .is_none_or(|max_age| Utc::now().timestamp() - auth_time <= max_age);
        let after_forced_login = !request.prompt_login || auth_time >= request.received_at;
        fresh_enough && after_forced_login
    }

    /// Keeps a request while the user signs in; returns the handle for the sign-in page.
    pub(super) async fn park_request(
        &self,
        request: &AuthorizationRequest,
    ) -> crate::Result<String> {
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
    pub(super) async fn resume_request(
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

    /// Whether a session that signed in by `auth_method` must sign in again with a passkey for
    /// `request`: it asks for `acr_values=phr`, or names an organization of the user whose
    /// authentication policy is `PASSKEY`.
    pub(super) async fn needs_step_up(
        &self,
        request: &AuthorizationRequest,
        session: &Session,
    ) -> crate::Result<bool> {
        if auth_method::phishing_resistant(&session.auth_method) {
            return Ok(false);
        }
        if request.phishing_resistant {
            return Ok(true);
        }
        let Some(reference) = &request.organization else {
            return Ok(false);
        };
        let tx = self.db.begin_tenant(self.scope).await?;
        let context =
            organizations::context_by_reference(&tx, reference, session.identity_id).await?;
        tx.commit().await?;
        Ok(context.is_some_and(|context| context.admit(&session.auth_method).is_err()))
    }

    /// Why the application's access policy keeps the user of `session` out of `request`, as
    /// `access_denied`; `None` when it lets them in (or when the request names an
    /// organization the user is not a member of: issuing the code refuses that).
    pub(super) async fn policy_refusal(
        &self,
        app: &Application,
        request: &AuthorizationRequest,
        session: &Session,
    ) -> crate::Result<Option<OAuthError>> {
        if app.access_policy.allow == Allow::Any {
            return Ok(None);
        }
        let tx = self.db.begin_tenant(self.scope).await?;
        let context = match &request.organization {
            None => None,
            Some(reference) => {
                match organizations::context_by_reference(&tx, reference, session.identity_id)
                    .await?
                {
                    Some(context) => Some(context),
                    None => return Ok(None),
                }
            }
        };
        let reason = app
            .access_policy
            .refusal_in(&tx, session.identity_id, context.as_ref())
            .await?;
        tx.commit().await?;
        Ok(reason.map(|reason| OAuthError::new("access_denied", reason)))
    }

    /// The organizations the user of a session belongs to (by name, 100 at most), for the
    /// organization picker.
    pub(super) async fn member_organizations(
        &self,
        identity_id: Uuid,
    ) -> crate::Result<Vec<organizations::Organization>> {
        let tx = self.db.begin_tenant(self.scope).await?;
        let found = organizations::organizations_of_in(&tx, identity_id, 100).await?;
        tx.commit().await?;
        Ok(found)
    }
}
