//! The end-user side of the tenant API: passkey ceremonies, sessions and tokens, passkey and
//! session management, and the tenant's passkey and token settings and signing keys.

use super::context::{TenantRequest, request};
use super::objects::Identity;
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use crate::state::Services;
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::Principal;
use latchkey_core::passkeys::{self, BeginRegistration, Ceremonies, CeremonyOutcome, RelyingParty};
use latchkey_core::sessions::{self, TokenIssuer};
use latchkey_core::settings::{self as core_settings, RateLimits, TenantSettings};
use latchkey_core::signing_keys;
use serde_json::Value;

/// The tenant's settings as stored (defaults filled in).
pub fn settings_of(req: &TenantRequest) -> TenantSettings {
    TenantSettings::from_json(&req.tenant.settings)
}

/// The relying party of the tenant: its settings, else the deployment's public URL.
pub fn relying_party(
    services: &Services,
    req: &TenantRequest,
    settings: &TenantSettings,
) -> RelyingParty {
    let public = url::Url::parse(&services.public_url).ok();
    let default_rp_id = public
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_owned());
    let default_origin = public
        .as_ref()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| services.public_url.clone());
    RelyingParty {
        rp_id: settings.rp_id.clone().unwrap_or(default_rp_id),
        rp_name: settings
            .rp_name
            .clone()
            .unwrap_or_else(|| req.tenant.name.clone()),
        origins: if settings.allowed_origins.is_empty() {
            vec![default_origin]
        } else {
            settings.allowed_origins.clone()
        },
        user_verification: settings.user_verification,
    }
}

/// Runs `f` with the token issuer of this request's tenant.
async fn with_token_issuer<T>(
    ctx: &Context<'_>,
    f: impl AsyncFnOnce(&Services, &TenantRequest, &TokenIssuer<'_>) -> latchkey_core::Result<T>,
) -> async_graphql::Result<T> {
    let (services, req) = request(ctx);
    let settings = settings_of(req);
    let issuer = services.issuer(&req.scope);
    let token_issuer = TokenIssuer {
        issuer: &issuer,
        settings: &settings,
        master_key: &services.master_key,
        signing_keys: &services.signing_keys,
    };
    f(services, req, &token_issuer).await.gql()
}

/// Runs `f` with the ceremony context of this request.
async fn with_ceremonies<T>(
    ctx: &Context<'_>,
    f: impl AsyncFnOnce(&Ceremonies<'_>) -> latchkey_core::Result<T>,
) -> async_graphql::Result<T> {
    let (services, req) = request(ctx);
    let settings = settings_of(req);
    let issuer = services.issuer(&req.scope);
    let ceremonies = Ceremonies {
        db: &services.db,
        store: services.store.as_ref(),
        scope: &req.scope,
        actor: &req.actor,
        relying_party: relying_party(services, req, &settings),
        issuer: TokenIssuer {
            issuer: &issuer,
            settings: &settings,
            master_key: &services.master_key,
            signing_keys: &services.signing_keys,
        },
        client: req.client.clone(),
        decoy_key: &services.decoy_key,
        ceremony_ttl: services.ceremony_ttl,
    };
    f(&ceremonies).await.gql()
}

/// Counts one access token and one refresh token issued.
fn count_tokens(ctx: &Context<'_>) {
    let metrics = &request(ctx).0.metrics;
    metrics.tokens_issued.with_label_values(&["access"]).inc();
    metrics.tokens_issued.with_label_values(&["refresh"]).inc();
}

/// A passkey registered to an identity.
#[derive(SimpleObject, Clone, Debug)]
pub struct Passkey {
    pub id: ID,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The authenticator may sync this passkey to other devices.
    pub backup_eligible: bool,
    /// The passkey is synced (backed up).
    pub backup_state: bool,
    pub sign_count: i64,
}

impl From<passkeys::Passkey> for Passkey {
    fn from(passkey: passkeys::Passkey) -> Self {
        Self {
            id: ID(passkey.id.to_string()),
            name: passkey.name,
            created_at: passkey.created_at,
            last_used_at: passkey.last_used_at,
            backup_eligible: passkey.backup_eligible,
            backup_state: passkey.backup_state,
            sign_count: passkey.sign_count,
        }
    }
}

/// A live sign-in session.
#[derive(SimpleObject, Clone, Debug)]
pub struct Session {
    pub id: ID,
    pub identity_id: ID,
    pub auth_method: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
    /// This is the session of the calling access token.
    pub current: bool,
}

fn session(session: sessions::Session, req: &TenantRequest) -> Session {
    let current = matches!(*req.actor.principal(), Principal::Identity { session_id, .. } if session_id == session.id);
    Session {
        id: ID(session.id.to_string()),
        identity_id: ID(session.identity_id.to_string()),
        auth_method: session.auth_method,
        created_at: session.created_at,
        last_used_at: session.last_used_at,
        expires_at: session.expires_at,
        revoked_at: session.revoked_at,
        user_agent: session.user_agent,
        ip_address: session.ip_address,
        current,
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256 (the default).
    #[graphql(name = "ES256")]
    Es256,
    /// Ed25519.
    #[graphql(name = "EDDSA")]
    Eddsa,
}

impl From<core_settings::SigningAlgorithm> for SigningAlgorithm {
    fn from(algorithm: core_settings::SigningAlgorithm) -> Self {
        match algorithm {
            core_settings::SigningAlgorithm::ES256 => SigningAlgorithm::Es256,
            core_settings::SigningAlgorithm::EdDSA => SigningAlgorithm::Eddsa,
        }
    }
}

impl From<SigningAlgorithm> for core_settings::SigningAlgorithm {
    fn from(algorithm: SigningAlgorithm) -> Self {
        match algorithm {
            SigningAlgorithm::Es256 => core_settings::SigningAlgorithm::ES256,
            SigningAlgorithm::Eddsa => core_settings::SigningAlgorithm::EdDSA,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum UserVerification {
    Required,
    Preferred,
}

/// A token signing key of the tenant (public information only).
#[derive(SimpleObject, Clone, Debug)]
pub struct SigningKey {
    /// The `kid` in token headers and the JWKS.
    pub id: ID,
    pub algorithm: SigningAlgorithm,
    /// `current` (signs), `next` (published ahead) or `retired` (still published while its
    /// tokens may be live).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl From<signing_keys::SigningKey> for SigningKey {
    fn from(key: signing_keys::SigningKey) -> Self {
        Self {
            id: ID(key.id.to_string()),
            algorithm: key.algorithm.into(),
            status: key.status,
            created_at: key.created_at,
            activated_at: key.activated_at,
            retired_at: key.retired_at,
        }
    }
}

#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "RateLimitsInput")]
pub struct RateLimitsSettings {
    /// Sign-in ceremonies started per client IP per minute.
    pub sign_in_per_ip: u32,
    /// Sign-in ceremonies started per email per minute.
    pub sign_in_per_identity: u32,
    /// Sign-up ceremonies started per client IP per minute.
    pub sign_up_per_ip: u32,
}

/// The tenant's passkey, token and page settings.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "TenantSettings")]
pub struct TenantSettingsObject {
    /// The WebAuthn relying party id; null = the host of the deployment's public URL.
    pub rp_id: Option<String>,
    pub rp_name: Option<String>,
    /// Origins allowed in ceremonies; empty = the deployment's public URL.
    pub allowed_origins: Vec<String>,
    /// The RP id, name and origins in force.
    pub effective_rp_id: String,
    pub effective_rp_name: String,
    pub effective_origins: Vec<String>,
    pub user_verification: UserVerification,
    pub self_sign_up: bool,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub signing_algorithm: SigningAlgorithm,
    pub primary_color: String,
    pub rate_limits: RateLimitsSettings,
}

pub fn settings_object(
    services: &Services,
    req: &TenantRequest,
    settings: TenantSettings,
) -> TenantSettingsObject {
    let rp = relying_party(services, req, &settings);
    TenantSettingsObject {
        rp_id: settings.rp_id,
        rp_name: settings.rp_name,
        allowed_origins: settings.allowed_origins,
        effective_rp_id: rp.rp_id,
        effective_rp_name: rp.rp_name,
        effective_origins: rp.origins,
        user_verification: match settings.user_verification {
            core_settings::UserVerification::Required => UserVerification::Required,
            core_settings::UserVerification::Preferred => UserVerification::Preferred,
        },
        self_sign_up: settings.self_sign_up,
        access_token_ttl_seconds: settings.access_token_ttl_seconds,
        refresh_token_ttl_seconds: settings.refresh_token_ttl_seconds,
        signing_algorithm: settings.signing_algorithm.into(),
        primary_color: settings.primary_color,
        rate_limits: RateLimitsSettings {
            sign_in_per_ip: settings.rate_limits.sign_in_per_ip,
            sign_in_per_identity: settings.rate_limits.sign_in_per_identity,
            sign_up_per_ip: settings.rate_limits.sign_up_per_ip,
        },
    }
}

/// Passkeys and sessions of the calling end user.
pub async fn own_passkeys(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Option<Connection<Passkey>>> {
    let (services, req) = request(ctx);
    let Principal::Identity { id, .. } = *req.actor.principal() else {
        return Ok(None);
    };
    let page = page_request(first, after)?;
    let result = passkeys::list_passkeys(&services.db, &req.scope, &req.actor, id, page)
        .await
        .gql()?;
    Ok(Some(Connection::from_page(result, |p| p.id, Passkey::from)))
}

pub async fn own_sessions(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Option<Connection<Session>>> {
    let (services, req) = request(ctx);
    let Principal::Identity { id, .. } = *req.actor.principal() else {
        return Ok(None);
    };
    let page = page_request(first, after)?;
    let result = sessions::list_sessions(&services.db, &req.scope, &req.actor, id, page)
        .await
        .gql()?;
    Ok(Some(Connection::from_page(
        result,
        |s| s.id,
        |s| session(s, req),
    )))
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// An identity's passkeys. Requires the viewer role.
    async fn passkeys(
        &self,
        ctx: &Context<'_>,
        identity_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Passkey>> {
        let (services, req) = request(ctx);
        let identity_id = parse_id("identityId", &identity_id)?;
        let page = page_request(first, after)?;
        let result =
            passkeys::list_passkeys(&services.db, &req.scope, &req.actor, identity_id, page)
                .await
                .gql()?;
        Ok(Connection::from_page(result, |p| p.id, Passkey::from))
    }

    /// An identity's live sessions. Requires the viewer role.
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        identity_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Session>> {
        let (services, req) = request(ctx);
        let identity_id = parse_id("identityId", &identity_id)?;
        let page = page_request(first, after)?;
        let result =
            sessions::list_sessions(&services.db, &req.scope, &req.actor, identity_id, page)
                .await
                .gql()?;
        Ok(Connection::from_page(result, |s| s.id, |s| session(s, req)))
    }

    /// The tenant's token signing keys. Requires the viewer role.
    async fn signing_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<SigningKey>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let result = signing_keys::list_signing_keys(&services.db, &req.scope, &req.actor, page)
            .await
            .gql()?;
        Ok(Connection::from_page(result, |k| k.id, SigningKey::from))
    }
}

#[derive(InputObject, Default)]
pub struct BeginPasskeyRegistrationInput {
    /// For sign-up (anonymous). Leave out to add a passkey to the signed-in caller.
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// From a registration link (account recovery).
    pub registration_token: Option<String>,
}

#[derive(InputObject, Default)]
pub struct BeginPasskeySignInInput {
    /// Optional: lists that account's passkeys in `allowCredentials`; without it the ceremony
    /// is discoverable (usernameless, autofill).
    pub email: Option<String>,
}

/// The options to hand to `navigator.credentials.create` / `get`.
#[derive(SimpleObject)]
pub struct PasskeyCeremony {
    /// Send it back with the finish call; it works once, for five minutes.
    pub ceremony_id: ID,
    /// `{ publicKey: … }` in the WebAuthn JSON form: pass `options.publicKey` to
    /// `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`.
    pub options: Json<Value>,
}

#[derive(InputObject)]
pub struct FinishPasskeyRegistrationInput {
    pub ceremony_id: ID,
    /// The `PublicKeyCredential`'s `toJSON()` form.
    pub credential: Json<Value>,
    /// A name for the new passkey (default "Passkey").
    pub passkey_name: Option<String>,
}

#[derive(InputObject)]
pub struct FinishPasskeySignInInput {
    pub ceremony_id: ID,
    /// The `PublicKeyCredential`'s `toJSON()` form.
    pub credential: Json<Value>,
}

/// A session that was just started or refreshed.
#[derive(SimpleObject)]
pub struct SessionReference {
    pub id: ID,
}

/// The result of a ceremony. Tokens are null when a signed-in user added a passkey.
#[derive(SimpleObject)]
pub struct PasskeyCeremonyPayload {
    pub identity: Identity,
    /// The new passkey (registration only).
    pub passkey: Option<Passkey>,
    pub session: Option<SessionReference>,
    /// A short-lived JWT for `Authorization: Bearer`.
    pub access_token: Option<String>,
    /// Opaque; exchange it with `refreshSession`. Each one works once.
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires.
    pub expires_in: Option<u32>,
}

impl From<CeremonyOutcome> for PasskeyCeremonyPayload {
    fn from(outcome: CeremonyOutcome) -> Self {
        let tokens = outcome.tokens;
        Self {
            identity: outcome.identity.into(),
            passkey: outcome.passkey.map(Into::into),
            session: tokens.as_ref().map(|t| SessionReference {
                id: ID(t.session_id.to_string()),
            }),
            access_token: tokens.as_ref().map(|t| t.access_token.clone()),
            refresh_token: tokens.as_ref().map(|t| t.refresh_token.clone()),
            expires_in: tokens.as_ref().map(|t| t.expires_in),
        }
    }
}

#[derive(InputObject)]
pub struct RefreshSessionInput {
    pub refresh_token: String,
}

#[derive(SimpleObject)]
pub struct RefreshSessionPayload {
    pub session: SessionReference,
    pub access_token: String,
    /// The replacement refresh token: the one sent is now spent.
    pub refresh_token: String,
    pub expires_in: u32,
}

#[derive(InputObject)]
pub struct SwitchOrganizationInput {
    /// One of the caller's organizations; null to leave organization context.
    pub organization_id: Option<ID>,
}

#[derive(SimpleObject)]
pub struct SwitchOrganizationPayload {
    pub session: SessionReference,
    /// Carries `org_id`, `org_kind` and the caller's roles in the organization.
    pub access_token: String,
    /// A new refresh token of the same session (refreshes keep the organization).
    pub refresh_token: String,
    pub expires_in: u32,
}

#[derive(InputObject, Default)]
pub struct SignOutInput {
    /// Also end every other session of the caller.
    #[graphql(default)]
    pub everywhere: bool,
}

#[derive(SimpleObject)]
pub struct SignOutPayload {
    pub session_id: ID,
}

#[derive(InputObject)]
pub struct RevokeSessionInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct RevokeSessionPayload {
    pub session: Session,
}

#[derive(InputObject)]
pub struct RevokeIdentitySessionsInput {
    pub identity_id: ID,
}

#[derive(SimpleObject)]
pub struct RevokeIdentitySessionsPayload {
    pub revoked_count: u64,
}

#[derive(InputObject)]
pub struct RenamePasskeyInput {
    pub id: ID,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct RenamePasskeyPayload {
    pub passkey: Passkey,
}

#[derive(InputObject)]
pub struct RevokePasskeyInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct RevokePasskeyPayload {
    pub passkey: Passkey,
}

#[derive(InputObject)]
pub struct CreateRegistrationLinkInput {
    pub identity_id: ID,
    /// Default one day; between 300 and 604800.
    pub expires_in_seconds: Option<i64>,
}

#[derive(SimpleObject)]
pub struct CreateRegistrationLinkPayload {
    /// The hosted page that registers a new passkey with the token. Shown once.
    pub url: String,
    /// The token itself, for `beginPasskeyRegistration(input: { registrationToken })`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Fields left out keep their value.
#[derive(InputObject, Default)]
pub struct UpdateTenantSettingsInput {
    pub rp_id: Option<String>,
    pub rp_name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub user_verification: Option<UserVerification>,
    pub self_sign_up: Option<bool>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    /// Changing it rotates to a key of the new algorithm at once.
    pub signing_algorithm: Option<SigningAlgorithm>,
    pub primary_color: Option<String>,
    pub rate_limits: Option<RateLimitsSettings>,
}

#[derive(SimpleObject)]
pub struct UpdateTenantSettingsPayload {
    pub settings: TenantSettingsObject,
}

#[derive(InputObject, Default)]
pub struct RotateSigningKeyInput {
    /// Default: the tenant's signing algorithm setting.
    pub algorithm: Option<SigningAlgorithm>,
}

#[derive(SimpleObject)]
pub struct RotateSigningKeyPayload {
    /// The tenant's newest keys after the rotation (at most 10), newest first.
    pub signing_keys: Vec<SigningKey>,
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Starts a passkey registration: sign-up (anonymous, with `email`), recovery
    /// (`registrationToken`), or another passkey for the signed-in caller (no email).
    async fn begin_passkey_registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: BeginPasskeyRegistrationInput,
    ) -> async_graphql::Result<PasskeyCeremony> {
        let begun = with_ceremonies(ctx, async |c| {
            c.begin_registration(BeginRegistration {
                email: input.email,
                display_name: input.display_name,
                registration_token: input.registration_token,
            })
            .await
        })
        .await?;
        Ok(PasskeyCeremony {
            ceremony_id: ID(begun.ceremony_id.to_string()),
            options: Json(begun.options),
        })
    }

    /// Finishes a registration; a sign-up or recovery also signs the identity in.
    async fn finish_passkey_registration(
        &self,
        ctx: &Context<'_>,
        input: FinishPasskeyRegistrationInput,
    ) -> async_graphql::Result<PasskeyCeremonyPayload> {
        let ceremony_id = parse_id("ceremonyId", &input.ceremony_id)?;
        let outcome = with_ceremonies(ctx, async |c| {
            c.finish_registration(ceremony_id, input.credential.0, input.passkey_name)
                .await
        })
        .await?;
        if outcome.tokens.is_some() {
            count_tokens(ctx);
        }
        Ok(outcome.into())
    }

    /// Starts a passkey sign-in, with an optional email hint.
    async fn begin_passkey_sign_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: BeginPasskeySignInInput,
    ) -> async_graphql::Result<PasskeyCeremony> {
        let begun = with_ceremonies(ctx, async |c| c.begin_sign_in(input.email).await).await?;
        Ok(PasskeyCeremony {
            ceremony_id: ID(begun.ceremony_id.to_string()),
            options: Json(begun.options),
        })
    }

    /// Finishes a sign-in and starts a session.
    async fn finish_passkey_sign_in(
        &self,
        ctx: &Context<'_>,
        input: FinishPasskeySignInInput,
    ) -> async_graphql::Result<PasskeyCeremonyPayload> {
        let ceremony_id = parse_id("ceremonyId", &input.ceremony_id)?;
        let outcome = with_ceremonies(ctx, async |c| {
            c.finish_sign_in(ceremony_id, input.credential.0).await
        })
        .await;
        let metrics = &request(ctx).0.metrics;
        let label = if outcome.is_ok() {
            "success"
        } else {
            "failure"
        };
        metrics
            .sign_ins
            .with_label_values(&["passkey", label])
            .inc();
        let outcome = outcome?;
        count_tokens(ctx);
        Ok(outcome.into())
    }

    /// Exchanges a refresh token for new tokens (the refresh token rotates). Presenting a
    /// spent refresh token again revokes the whole session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        input: RefreshSessionInput,
    ) -> async_graphql::Result<RefreshSessionPayload> {
        let tokens = with_token_issuer(ctx, async |services, req, issuer| {
            sessions::refresh_session(&services.db, &req.scope, issuer, &input.refresh_token).await
        })
        .await?;
        count_tokens(ctx);
        Ok(RefreshSessionPayload {
            session: SessionReference {
                id: ID(tokens.session_id.to_string()),
            },
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
        })
    }

    /// Scopes the caller's session to one of their organizations (or to none) and returns
    /// new tokens for it.
    async fn switch_organization(
        &self,
        ctx: &Context<'_>,
        input: SwitchOrganizationInput,
    ) -> async_graphql::Result<SwitchOrganizationPayload> {
        let organization = match &input.organization_id {
            Some(id) => Some(parse_id("organizationId", id)?),
            None => None,
        };
        let tokens = with_token_issuer(ctx, async |services, req, issuer| {
            sessions::switch_organization(
                &services.db,
                &req.scope,
                issuer,
                &req.actor,
                organization,
            )
            .await
        })
        .await?;
        count_tokens(ctx);
        Ok(SwitchOrganizationPayload {
            session: SessionReference {
                id: ID(tokens.session_id.to_string()),
            },
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
        })
    }

    /// Ends the caller's session (and, with `everywhere`, all their other sessions).
    async fn sign_out(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: SignOutInput,
    ) -> async_graphql::Result<SignOutPayload> {
        let (services, req) = request(ctx);
        let session_id = sessions::sign_out(&services.db, &req.scope, &req.actor, input.everywhere)
            .await
            .gql()?;
        Ok(SignOutPayload {
            session_id: ID(session_id.to_string()),
        })
    }

    /// Revokes a session: your own, or any with the admin role.
    async fn revoke_session(
        &self,
        ctx: &Context<'_>,
        input: RevokeSessionInput,
    ) -> async_graphql::Result<RevokeSessionPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let revoked = sessions::revoke_session(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(RevokeSessionPayload {
            session: session(revoked, req),
        })
    }

    /// Revokes every session of an identity. Requires the admin role.
    async fn revoke_identity_sessions(
        &self,
        ctx: &Context<'_>,
        input: RevokeIdentitySessionsInput,
    ) -> async_graphql::Result<RevokeIdentitySessionsPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("identityId", &input.identity_id)?;
        let revoked_count =
            sessions::revoke_identity_sessions(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?;
        Ok(RevokeIdentitySessionsPayload { revoked_count })
    }

    /// Renames a passkey: your own, or any with the admin role.
    async fn rename_passkey(
        &self,
        ctx: &Context<'_>,
        input: RenamePasskeyInput,
    ) -> async_graphql::Result<RenamePasskeyPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let passkey =
            passkeys::rename_passkey(&services.db, &req.scope, &req.actor, id, &input.name)
                .await
                .gql()?;
        Ok(RenamePasskeyPayload {
            passkey: passkey.into(),
        })
    }

    /// Revokes a passkey: your own, or any with the admin role.
    async fn revoke_passkey(
        &self,
        ctx: &Context<'_>,
        input: RevokePasskeyInput,
    ) -> async_graphql::Result<RevokePasskeyPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let passkey = passkeys::revoke_passkey(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(RevokePasskeyPayload {
            passkey: passkey.into(),
        })
    }

    /// A one-time link for an identity to register a new passkey (lost device). Requires the
    /// admin role.
    async fn create_registration_link(
        &self,
        ctx: &Context<'_>,
        input: CreateRegistrationLinkInput,
    ) -> async_graphql::Result<CreateRegistrationLinkPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("identityId", &input.identity_id)?;
        let valid_for = chrono::Duration::try_seconds(input.expires_in_seconds.unwrap_or(86_400))
            .ok_or_else(|| {
            super::types::graphql_error(latchkey_core::Error::validation(
                "expiresInSeconds",
                "must be between 300 and 604800",
            ))
        })?;
        let (token, expires_at) =
            passkeys::create_registration_link(&services.db, &req.scope, &req.actor, id, valid_for)
                .await
                .gql()?;
        Ok(CreateRegistrationLinkPayload {
            url: format!("{}/?registration={token}", services.issuer(&req.scope)),
            token,
            expires_at,
        })
    }

    /// Changes the tenant's passkey, token and page settings. Requires the admin role.
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateTenantSettingsInput,
    ) -> async_graphql::Result<UpdateTenantSettingsPayload> {
        let (services, req) = request(ctx);
        let change = |settings: &mut TenantSettings| {
            if let Some(rp_id) = input.rp_id {
                settings.rp_id = (!rp_id.is_empty()).then_some(rp_id);
            }
            if let Some(rp_name) = input.rp_name {
                settings.rp_name = (!rp_name.is_empty()).then_some(rp_name);
            }
            if let Some(origins) = input.allowed_origins {
                settings.allowed_origins = origins;
            }
            if let Some(uv) = input.user_verification {
                settings.user_verification = match uv {
                    UserVerification::Required => core_settings::UserVerification::Required,
                    UserVerification::Preferred => core_settings::UserVerification::Preferred,
                };
            }
            if let Some(value) = input.self_sign_up {
                settings.self_sign_up = value;
            }
            if let Some(value) = input.access_token_ttl_seconds {
                settings.access_token_ttl_seconds = value;
            }
            if let Some(value) = input.refresh_token_ttl_seconds {
                settings.refresh_token_ttl_seconds = value;
            }
            if let Some(value) = input.signing_algorithm {
                settings.signing_algorithm = value.into();
            }
            if let Some(value) = input.primary_color {
                settings.primary_color = value;
            }
            if let Some(limits) = input.rate_limits {
                settings.rate_limits = RateLimits {
                    sign_in_per_ip: limits.sign_in_per_ip,
                    sign_in_per_identity: limits.sign_in_per_identity,
                    sign_up_per_ip: limits.sign_up_per_ip,
                };
            }
        };
        let tenant = latchkey_tenants::update_settings(
            &services.db,
            &services.master_key,
            &req.scope,
            &req.actor,
            change,
        )
        .await
        .gql()?;
        // An algorithm change rotated the key.
        services.signing_keys.invalidate(&req.scope).await;
        Ok(UpdateTenantSettingsPayload {
            settings: settings_object(services, req, TenantSettings::from_json(&tenant.settings)),
        })
    }

    /// Rotates the token signing key without breaking tokens already issued. Requires the
    /// admin role.
    async fn rotate_signing_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: RotateSigningKeyInput,
    ) -> async_graphql::Result<RotateSigningKeyPayload> {
        let (services, req) = request(ctx);
        let algorithm = input
            .algorithm
            .map(Into::into)
            .unwrap_or(settings_of(req).signing_algorithm);
        signing_keys::rotate_signing_key(
            &services.db,
            &services.master_key,
            &req.scope,
            &req.actor,
            algorithm,
        )
        .await
        .gql()?;
        services.signing_keys.invalidate(&req.scope).await;
        let keys = signing_keys::newest_signing_keys(&services.db, &req.scope, &req.actor, 10)
            .await
            .gql()?;
        Ok(RotateSigningKeyPayload {
            signing_keys: keys.into_iter().map(Into::into).collect(),
        })
    }
}
