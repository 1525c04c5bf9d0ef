//! End-user sessions: short-lived signed access tokens, opaque refresh tokens stored hashed and
//! rotated on every use (presenting a rotated one again revokes the whole session, unless it
//! comes within the tenant's reuse interval while its successor is still unused: then the
//! same successor is answered), and the checks that make a suspended identity's or revoked
//! session's tokens stop at once.

use crate::actor::{Actor, Permission, Principal};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::clock::Clock;
use crate::crypto::{MasterKey, PresentedSecretKey};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::identities::{self, IdentityStatus};
use crate::organizations::{self, OrgContext};
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::secrets;
pub use crate::session_store::{ClientInfo, REFRESH_TOKEN_PREFIX, Session};
pub(crate) use crate::session_store::{
    NewSession, find_session_in, insert_session, new_refresh_token, refresh_row, revoke_all_in,
    revoke_application_sessions_in, revoke_tree_in, session_row,
};
use crate::settings::TenantSettings;
use crate::signing_keys::{self, Signer, SigningKeyCache, TokenType};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{DecodingKey, Validation};
use moka::future::Cache;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// The claims of a Latchkey access token. Tokens for the tenant API (first-party sessions)
/// have the issuer as audience; tokens issued to an OpenID Connect application have its client
/// id as audience and carry `client_id` and `scope` (RFC 9068). Client-credentials tokens have
/// no session: `sub` is the client id and `sid` is absent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The organization the token is scoped to; `roles` are then the member's roles there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// `customer` or `partner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_kind: Option<String>,
    /// The entitlement keys the organization holds (organization-scoped tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_entitlements: Option<Vec<String>>,
    /// The permissions the member's roles in force give (organization-scoped tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_permissions: Option<Vec<String>>,
}

impl AccessClaims {
    /// Whether an organization-scoped token has reached its `exp`, which was cut to the end of
    /// the membership (or of a granted role or an entitlement it carries): no leeway here,
    /// where the issuer is also the verifier.
    pub(crate) fn outlived_its_membership(&self, now: DateTime<Utc>) -> bool {
        self.org_id.is_some() && self.exp <= now.timestamp()
    }
}

/// Where tokens are issued: the tenant's issuer URL (also the audience of tokens for the
/// tenant API), its settings and the master key that opens its signing keys.
pub struct TokenIssuer<'a> {
    pub issuer: &'a str,
    pub settings: &'a TenantSettings,
    pub master_key: &'a MasterKey,
    pub signing_keys: &'a SigningKeyCache,
}

impl TokenIssuer<'_> {
    pub fn signer(&self) -> Signer<'_> {
        Signer {
            master_key: self.master_key,
            algorithm: self.settings.signing_algorithm,
            cache: self.signing_keys,
        }
    }
}

/// Tokens handed to a client when a session starts or is refreshed.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    pub session_id: Uuid,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u32,
}

/// What an access token is issued for: the tenant API (first-party sessions) or one OpenID
/// Connect application with the scope it was granted.
#[derive(Clone, Debug)]
pub struct Grant {
    /// `aud`: the issuer for the tenant API, the client id for an application.
    pub audience: String,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub access_ttl_seconds: u32,
    /// The organization the session is scoped to.
    pub organization: Option<OrgContext>,
}

impl Grant {
    /// Tokens for the tenant's own API and hosted pages.
    pub fn first_party(issuer: &TokenIssuer<'_>) -> Self {
        Self {
            audience: issuer.issuer.to_owned(),
            client_id: None,
            scope: None,
            access_ttl_seconds: issuer.settings.access_token_ttl_seconds,
            organization: None,
        }
    }
}

impl Grant {
    /// This grant with its access lifetime cut so that an organization-scoped token ends when
    /// the membership (or a granted role it carries) does, as `expires_in` says (the token's
    /// `exp` is cut to the end itself: [`access_claims`]).
    pub(crate) fn within_membership(mut self, now: DateTime<Utc>) -> Self {
        if let Some(until) = self.organization.as_ref().and_then(|org| org.until) {
            let left = u32::try_from((until - now).num_seconds().max(0)).unwrap_or(u32::MAX);
            self.access_ttl_seconds = self.access_ttl_seconds.min(left);
        }
        self
    }
}

/// The claims of an access token for `subject` under `grant`; `session_id` is absent for
/// client-credentials tokens.
pub(crate) fn access_claims(
    issuer: &TokenIssuer<'_>,
    grant: &Grant,
    subject: &str,
    session_id: Option<Uuid>,
) -> AccessClaims {
    let now = Utc::now();
    let expires = now + Duration::seconds(grant.access_ttl_seconds.into());
    AccessClaims {
        iss: issuer.issuer.to_owned(),
        sub: subject.to_owned(),
        aud: grant.audience.clone(),
        sid: session_id.map(|id| id.to_string()),
        // An organization-scoped token ends when the membership (or a granted role it
        // carries) does.
        exp: grant
            .organization
            .as_ref()
            .and_then(|org| org.until)
            .map_or(expires, |until| expires.min(until))
            .timestamp(),
        iat: now.timestamp(),
        jti: Uuid::now_v7().to_string(),
        roles: grant
            .organization
            .as_ref()
            .map(|org| org.roles.clone())
            .unwrap_or_default(),
        client_id: grant.client_id.clone(),
        scope: grant.scope.clone(),
        org_id: grant.organization.as_ref().map(|org| org.id.to_string()),
        org_kind: grant
            .organization
            .as_ref()
            .map(|org| org.kind.as_str().to_owned()),
        org_entitlements: grant
            .organization
            .as_ref()
            .map(|org| org.entitlements.clone()),
        org_permissions: grant
            .organization
            .as_ref()
            .map(|org| org.permissions.clone()),
    }
}

/// Signs an access token inside `tx` (see [`access_claims`]).
pub(crate) async fn sign_access_token(
    tx: &TenantTx,
    issuer: &TokenIssuer<'_>,
    grant: &Grant,
    subject: &str,
    session_id: Option<Uuid>,
) -> Result<String> {
    let claims = access_claims(issuer, grant, subject, session_id);
    issuer.signer().sign(tx, TokenType::Access, &claims).await
}

/// The organization context of a session scoped to one; `Unauthenticated` when the
/// membership has ended (its sessions are revoked then, so this is a race at most), `Refused`
/// when the session's sign-in method does not meet the organization's authentication policy.
pub(crate) async fn organization_of(
    tx: &TenantTx,
    session: &Session,
) -> Result<Option<OrgContext>> {
    let Some(org) = session.organization_id else {
        return Ok(None);
    };
    let context = organizations::context_in(tx, org, session.identity_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    // The organization's authentication policy, checked whenever its tokens are issued
    // (switch, refresh): a policy tightened later applies to sessions already scoped to it.
    context.admit(&session.auth_method)?;
    Ok(Some(context))
}

async fn issue_tokens(
    tx: &TenantTx,
    issuer: &TokenIssuer<'_>,
    session: &Session,
    refresh_token: NextRefreshToken,
) -> Result<IssuedTokens> {
    let grant = Grant {
        organization: organization_of(tx, session).await?,
        ..Grant::first_party(issuer)
    }
    .within_membership(tx.now());
    let access_token = sign_access_token(
        tx,
        issuer,
        &grant,
        &session.identity_id.to_string(),
        Some(session.id),
    )
    .await?;
    Ok(IssuedTokens {
        session_id: session.id,
        access_token,
        refresh_token: next_refresh_token(tx, session.id, refresh_token).await?,
        expires_in: grant.access_ttl_seconds,
    })
}

/// The core's rule tests sign users in with this instead of a passkey ceremony (feature
/// `test-support`, enabled only by the core's own dev-dependencies).
///
/// ```compile_fail
/// # async fn forge(tx: &latchkey_core::db::TenantTx, issuer: &latchkey_core::sessions::TokenIssuer<'_>) {
/// let client = latchkey_core::sessions::ClientInfo::default();
/// latchkey_core::sessions::start_session(tx, issuer, uuid::Uuid::nil(), "forged", &client).await;
/// # }
/// ```
#[cfg(feature = "test-support")]
pub async fn start_session_for_tests(
    tx: &TenantTx,
    issuer: &TokenIssuer<'_>,
    identity_id: Uuid,
    client: &ClientInfo,
) -> Result<IssuedTokens> {
    start_session(tx, issuer, identity_id, "test", client).await
}

/// Starts a session for `identity_id` inside `tx` (the sign-in's own transaction). Only a
/// finished sign-in ceremony of the core calls it.
pub(crate) async fn start_session(
    tx: &TenantTx,
    issuer: &TokenIssuer<'_>,
    identity_id: Uuid,
    auth_method: &str,
    client: &ClientInfo,
) -> Result<IssuedTokens> {
    let session = insert_session(
        tx,
        NewSession {
            identity_id,
            auth_method,
            lifetime_seconds: issuer.settings.refresh_token_ttl_seconds,
            client,
            application_id: None,
            parent_session_id: None,
            scope: None,
            organization_id: None,
        },
    )
    .await?;
    issue_tokens(tx, issuer, &session, NextRefreshToken::New).await
}

/// The session if it is live: not revoked, not expired, and its identity active.
pub(crate) async fn live_session_in(tx: &TenantTx, session_id: Uuid) -> Result<Option<Session>> {
    let Some(session) = find_session_in(tx, session_id).await? else {
        return Ok(None);
    };
    let active = matches!(
        identities::status_of(tx, session.identity_id).await?,
        Some(IdentityStatus::Active)
    );
    Ok(
        (session.revoked_at.is_none() && session.expires_at > Utc::now() && active)
            .then_some(session),
    )
}

/// The live session a refresh token belongs to, without spending the token.
pub(crate) async fn live_session_of_refresh_token(
    tx: &TenantTx,
    refresh_token: &str,
) -> Result<Option<Session>> {
    let Some(token) = tx
        .find::<refresh_row::Entity>()
        .filter(refresh_row::Column::TokenHash.eq(secrets::hash(refresh_token)))
        .filter(refresh_row::Column::RotatedAt.is_null())
        .one()
        .await?
    else {
        return Ok(None);
    };
    live_session_in(tx, token.session_id).await
}

/// When a refresh token is presented, and for how long after its rotation presenting it
/// again answers its successor (the tenant's `refresh_token_reuse_seconds`; 0 = never).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReuseInterval {
    pub now: DateTime<Utc>,
    pub seconds: u32,
}

impl ReuseInterval {
    pub(crate) fn of(settings: &TenantSettings, clock: &dyn Clock) -> Self {
        Self {
            now: clock.now(),
            seconds: settings.refresh_token_reuse_seconds,
        }
    }

    /// Whether a token rotated at `rotated_at` is still within the interval.
    fn covers(&self, rotated_at: DateTime<Utc>) -> bool {
        self.seconds > 0 && self.now < rotated_at + Duration::seconds(self.seconds.into())
    }
}

/// A refresh token spent just now, with the key derived from it that seals its successor
/// on its row (so that only whoever presents it again can read the successor).
pub(crate) struct Rotation {
    spent_id: Uuid,
    key: PresentedSecretKey,
}

impl Rotation {
    fn of(spent_id: Uuid, presented: &str) -> Self {
        Self {
            spent_id,
            key: PresentedSecretKey::derive(presented, "latchkey refresh token successor"),
        }
    }

    /// The associated data of the sealed successor: the spent token's row.
    fn context(&self, tx: &TenantTx) -> String {
        format!("refresh_tokens:{}:{}", tx.tenant_id(), self.spent_id)
    }
}

/// The refresh token an answer carries.
pub(crate) enum NextRefreshToken {
    /// A new one (a new session).
    New,
    /// A new one replacing the token just spent, which keeps it sealed.
    Rotated(Rotation),
    /// The one that already replaced the token presented again within the reuse interval.
    Repeated(String),
}

/// The refresh token of `session_id` that an answer carries (see [`NextRefreshToken`]).
pub(crate) async fn next_refresh_token(
    tx: &TenantTx,
    session_id: Uuid,
    next: NextRefreshToken,
) -> Result<String> {
    match next {
        NextRefreshToken::New => new_refresh_token(tx, session_id).await,
        NextRefreshToken::Rotated(rotation) => {
            let successor = new_refresh_token(tx, session_id).await?;
            let sealed = rotation
                .key
                .seal(rotation.context(tx).as_bytes(), successor.as_bytes())?;
            tx.update_many::<refresh_row::Entity>()
                .col_expr(refresh_row::Column::SuccessorSealed, Expr::value(sealed))
                .filter(refresh_row::Column::Id.eq(rotation.spent_id))
                .exec()
                .await?;
            Ok(successor)
        }
        NextRefreshToken::Repeated(successor) => Ok(successor),
    }
}

/// What presenting a refresh token came to.
pub(crate) enum Redeemed {
    /// The session is live; the answer carries the refresh token `next` gives.
    Live(Box<Session>, NextRefreshToken),
    /// Unknown token, or its session is over.
    Invalid,
    /// A token that was already spent: its session has just been revoked (commit `tx`).
    Reused,
}

/// Spends a refresh token inside `tx`. Only one of concurrent callers can spend a token (the
/// conditional update below; on PostgreSQL the others wait for its row lock). Presenting a
/// spent token again within the reuse interval, while its successor is unused, answers that
/// successor; otherwise it revokes the session and writes an audit event.
pub(crate) async fn redeem_refresh_token(
    tx: &TenantTx,
    refresh_token: &str,
    reuse: ReuseInterval,
) -> Result<Redeemed> {
    let Some(token) = tx
        .find::<refresh_row::Entity>()
        .filter(refresh_row::Column::TokenHash.eq(secrets::hash(refresh_token)))
        .one()
        .await?
    else {
        return Ok(Redeemed::Invalid);
    };
    let spent = tx
        .update_many::<refresh_row::Entity>()
        .col_expr(refresh_row::Column::RotatedAt, Expr::value(reuse.now))
        .filter(refresh_row::Column::Id.eq(token.id))
        .filter(refresh_row::Column::RotatedAt.is_null())
        .exec()
        .await?
        .rows_affected;
    if spent == 0 {
        if let Some(successor) = unused_successor(tx, token.id, refresh_token, reuse).await? {
            let Some(session) = live_session_in(tx, token.session_id).await? else {
                return Ok(Redeemed::Invalid);
            };
            tracing::info!(session.id = %session.id, "a refresh token rotated within the reuse interval was presented again; its successor is answered");
            return Ok(Redeemed::Live(
                Box::new(session),
                NextRefreshToken::Repeated(successor),
            ));
        }
        let Some(session) = find_session_in(tx, token.session_id).await? else {
            return Ok(Redeemed::Invalid);
        };
        revoke_tree_in(tx, session.id, "refresh_token_reuse").await?;
        let session_id = session.id.to_string();
        audit::record(
            tx,
            &Actor::new(Principal::Anonymous, None),
            "session.refresh_token_reused",
            Some(Target {
                kind: "session",
                id: &session_id,
            }),
            json!({ "identityId": session.identity_id, "applicationId": session.application_id }),
        )
        .await?;
        tracing::warn!(session.id = %session_id, "a rotated refresh token was presented again; session revoked");
        return Ok(Redeemed::Reused);
    }
    let Some(session) = live_session_in(tx, token.session_id).await? else {
        return Ok(Redeemed::Invalid);
    };
    tx.record_use::<session_row::Entity>()
        .col_expr(session_row::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(session_row::Column::Id.eq(session.id))
        .exec()
        .await?;
    Ok(Redeemed::Live(
        Box::new(session),
        NextRefreshToken::Rotated(Rotation::of(token.id, refresh_token)),
    ))
}

/// The successor of the spent token `spent_id` (presented again as `presented`) if its
/// rotation is within the reuse interval and the successor is unused. The row is read again:
/// the first read may predate a concurrent rotation that has committed since.
async fn unused_successor(
    tx: &TenantTx,
    spent_id: Uuid,
    presented: &str,
    reuse: ReuseInterval,
) -> Result<Option<String>> {
    let Some(spent) = tx
        .find::<refresh_row::Entity>()
        .filter(refresh_row::Column::Id.eq(spent_id))
        .one()
        .await?
    else {
        return Ok(None);
    };
    let (Some(rotated_at), Some(sealed)) = (spent.rotated_at, spent.successor_sealed) else {
        return Ok(None);
    };
    if !reuse.covers(rotated_at) {
        return Ok(None);
    }
    let rotation = Rotation::of(spent_id, presented);
    let successor = rotation
        .key
        .open(rotation.context(tx).as_bytes(), &sealed)
        .and_then(|bytes| String::from_utf8(bytes).map_err(Error::internal))?;
    let unused = tx
        .find::<refresh_row::Entity>()
        .filter(refresh_row::Column::TokenHash.eq(secrets::hash(&successor)))
        .filter(refresh_row::Column::RotatedAt.is_null())
        .one()
        .await?
        .is_some();
    Ok(unused.then_some(successor))
}

/// Exchanges a refresh token of a first-party session for new tokens. The presented token is
/// spent; presenting it again revokes the session (a stolen token used by two parties),
/// except within the tenant's reuse interval (see [`redeem_refresh_token`]), as measured by
/// `clock`. Anonymous: the token is the credential. Tokens of application sessions are
/// refused here (they belong to the OAuth token endpoint and its client authentication).
#[tracing::instrument(name = "core.refresh_session", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn refresh_session(
    db: &Database,
    scope: &TenantScope,
    issuer: &TokenIssuer<'_>,
    clock: &dyn Clock,
    refresh_token: &str,
) -> Result<IssuedTokens> {
    let tx = db.begin_tenant(scope).await?;
    let reuse = ReuseInterval::of(issuer.settings, clock);
    match redeem_refresh_token(&tx, refresh_token, reuse).await? {
        Redeemed::Live(session, next) if session.application_id.is_none() => {
            let tokens = issue_tokens(&tx, issuer, &session, next).await?;
            tx.commit().await?;
            Ok(tokens)
        }
        Redeemed::Reused => {
            tx.commit().await?;
            Err(Error::Unauthenticated)
        }
        Redeemed::Live(..) | Redeemed::Invalid => Err(Error::Unauthenticated),
    }
}

/// `switchOrganization`: scopes the caller's session to one of their organizations (or, with
/// `None`, to none) and issues new tokens carrying `org_id`, `org_kind` and the roles there.
/// An organization the caller is not a member of is `NotFound`.
#[tracing::instrument(name = "core.switch_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn switch_organization(
    db: &Database,
    scope: &TenantScope,
    issuer: &TokenIssuer<'_>,
    actor: &Actor,
    organization_id: Option<Uuid>,
) -> Result<IssuedTokens> {
    let Principal::Identity { id, session_id } = *actor.principal() else {
        return Err(Error::Unauthenticated);
    };
    let tx = db.begin_tenant(scope).await?;
    if let Some(org) = organization_id
        && organizations::context_in(&tx, org, id).await?.is_none()
    {
        return Err(Error::NotFound);
    }
    // The session's refresh tokens are spent: the new one below replaces them.
    tx.update_many::<refresh_row::Entity>()
        .col_expr(refresh_row::Column::RotatedAt, Expr::value(Utc::now()))
        .filter(refresh_row::Column::SessionId.eq(session_id))
        .filter(refresh_row::Column::RotatedAt.is_null())
        .exec()
        .await?;
    tx.update_many::<session_row::Entity>()
        .col_expr(
            session_row::Column::OrganizationId,
            Expr::value(organization_id),
        )
        .filter(session_row::Column::Id.eq(session_id))
        .exec()
        .await?;
    let session = find_session_in(&tx, session_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let tokens = issue_tokens(&tx, issuer, &session, NextRefreshToken::New).await?;
    let target = session_id.to_string();
    audit::record(
        &tx,
        actor,
        "session.switch_organization",
        Some(Target {
            kind: "session",
            id: &target,
        }),
        json!({ "organizationId": organization_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(tokens)
}

/// Caches the decoding keys of recently seen key ids; a new key id is looked up once.
#[derive(Clone)]
pub struct KeyCache {
    keys: Cache<(Uuid, String), (DecodingKey, jsonwebtoken::Algorithm)>,
    /// Key ids looked up and not found, so that tokens with made-up key ids cost one query
    /// per id and minute, not one each. A new key is published (as `next`) long before it
    /// signs, so a real key id is never missed this way.
    unknown: Cache<(Uuid, String), ()>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            keys: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(300))
                .build(),
            unknown: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(60))
                .build(),
        }
    }
}

/// How a signed token is checked besides its signature and issuer.
#[derive(Clone, Copy, Debug)]
pub struct TokenChecks<'a> {
    /// The required `aud`; `None` accepts any audience (introspection, userinfo).
    pub audience: Option<&'a str>,
    /// Off only for `id_token_hint` at logout, which may be an expired ID token.
    pub expiry: bool,
}

/// Verifies a JWT signed by one of `scope`'s published keys: the header's `alg` must be the
/// key's own (so `none`, and HS256 "signed" with the public key, fail), headers that point at
/// other keys (`jku`, `jwk`, `x5u`, `x5c`) are refused, and `iss` must be the tenant's issuer.
/// A token of another tenant fails here: its key id is not among this tenant's keys.
pub async fn verify_jwt<T: DeserializeOwned>(
    db: &Database,
    keys: &KeyCache,
    scope: &TenantScope,
    issuer: &str,
    token: &str,
    checks: TokenChecks<'_>,
) -> Result<T> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Unauthenticated)?;
    if header.jku.is_some() || header.jwk.is_some() || header.x5u.is_some() || header.x5c.is_some()
    {
        return Err(Error::Unauthenticated);
    }
    let kid = header.kid.ok_or(Error::Unauthenticated)?;
    let cache_key = (scope.tenant_id(), kid.clone());
    let (key, algorithm) = match keys.keys.get(&cache_key).await {
        Some(found) => found,
        None => {
            if keys.unknown.contains_key(&cache_key) {
                return Err(Error::Unauthenticated);
            }
            let set = signing_keys::published_keys(db, scope).await?;
            let Some(jwk) = set.find(&kid) else {
                keys.unknown.insert(cache_key, ()).await;
                return Err(Error::Unauthenticated);
            };
            let algorithm = match jwk.common.key_algorithm {
                Some(jsonwebtoken::jwk::KeyAlgorithm::EdDSA) => jsonwebtoken::Algorithm::EdDSA,
                _ => jsonwebtoken::Algorithm::ES256,
            };
            let key = DecodingKey::from_jwk(jwk).map_err(Error::internal)?;
            keys.keys.insert(cache_key, (key.clone(), algorithm)).await;
            (key, algorithm)
        }
    };
    if header.alg != algorithm {
        return Err(Error::Unauthenticated);
    }
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    match checks.audience {
        Some(audience) => validation.set_audience(&[audience]),
        None => validation.validate_aud = false,
    }
    validation.validate_exp = checks.expiry;
    validation.set_required_spec_claims(&["iss", "sub"]);
    validation.leeway = 30;
    Ok(jsonwebtoken::decode::<T>(token, &key, &validation)
        .map_err(|_| Error::Unauthenticated)?
        .claims)
}

/// Checks an access token presented on `scope`'s endpoint: signature by one of the tenant's
/// published keys, issuer, audience (the tenant API's tokens have the issuer as audience, so
/// tokens issued to applications are refused) and expiry; then that the session is live and
/// the identity active (both read now, so revocation and suspension take effect at once).
#[tracing::instrument(name = "core.authenticate_access_token", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn authenticate_access_token(
    db: &Database,
    keys: &KeyCache,
    scope: &TenantScope,
    issuer: &str,
    token: &str,
    request_id: Option<String>,
) -> Result<Actor> {
    let claims: AccessClaims = verify_jwt(
        db,
        keys,
        scope,
        issuer,
        token,
        TokenChecks {
            audience: Some(issuer),
            expiry: true,
        },
    )
    .await?;
    if claims.outlived_its_membership(db.now()) {
        return Err(Error::Unauthenticated);
    }
    let identity_id = Uuid::parse_str(&claims.sub).map_err(|_| Error::Unauthenticated)?;
    let session_id = claims
        .sid
        .as_deref()
        .and_then(|sid| Uuid::parse_str(sid).ok())
        .ok_or(Error::Unauthenticated)?;
    let read = async {
        let tx = db.begin_tenant(scope).await?;
        let session = live_session_in(&tx, session_id).await?;
        tx.commit().await?;
        Ok(session.map(|session| LiveSession {
            identity_id: session.identity_id,
            expires_at: session.expires_at,
        }))
    };
    let live = db
        .near_cache()
        .get_or_load(
            LIVE_SESSION,
            Some(scope.tenant_id()),
            &session_id.to_string(),
            read,
            Option::is_some,
        )
        .await?;
    match live {
        Some(live) if live.identity_id == identity_id && live.expires_at > Utc::now() => {
            Ok(Actor::new(
                Principal::Identity {
                    id: identity_id,
                    session_id,
                },
                request_id,
            ))
        }
        _ => Err(Error::Unauthenticated),
    }
}

/// The near cache's kind of entry: a session found live (a revocation, and any change to the
/// tenant's sessions or identities, makes it stale; its expiry is checked on every use).
const LIVE_SESSION: &str = "live-session";

/// What the near cache keeps of a live session.
#[derive(Clone)]
struct LiveSession {
    identity_id: Uuid,
    expires_at: DateTime<Utc>,
}

/// `signOut`: ends the caller's own session, and with `everywhere` all their sessions.
#[tracing::instrument(name = "core.sign_out", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn sign_out(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    everywhere: bool,
) -> Result<Uuid> {
    let Principal::Identity { id, session_id } = *actor.principal() else {
        return Err(Error::Unauthenticated);
    };
    revoke_session(db, scope, actor, session_id).await?;
    if everywhere {
        let tx = db.begin_tenant(scope).await?;
        revoke_all_in(&tx, id, "signed_out").await?;
        tx.commit().await?;
    }
    Ok(session_id)
}

/// Revokes one session: an identity its own, an admin anyone's (`WriteIdentities`). A session
/// the caller may not see is `NotFound`.
#[tracing::instrument(name = "core.revoke_session", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn revoke_session(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    session_id: Uuid,
) -> Result<Session> {
    if actor.principal() == &Principal::Anonymous {
        return Err(Error::Unauthenticated);
    }
    let tx = db.begin_tenant(scope).await?;
    let session = find_session_in(&tx, session_id)
        .await?
        .ok_or(Error::NotFound)?;
    let grant = authorize(
        actor,
        Permission::WriteIdentities,
        Resource::OwnedBy(session.identity_id),
    )?;
    let reason = if grant.owner().is_some() {
        "signed_out"
    } else {
        "revoked_by_admin"
    };
    revoke_tree_in(&tx, session_id, reason).await?;
    let session_id_text = session_id.to_string();
    audit::record(
        &tx,
        actor,
        "session.revoke",
        Some(Target {
            kind: "session",
            id: &session_id_text,
        }),
        json!({ "identityId": session.identity_id.to_string() }),
    )
    .await?;
    let session = find_session_in(&tx, session_id)
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    Ok(session)
}

/// Revokes every live session of an identity (lost device, compromise). Requires
/// `WriteIdentities`. Returns how many were revoked.
#[tracing::instrument(name = "core.revoke_identity_sessions", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn revoke_identity_sessions(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
) -> Result<u64> {
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    if identities::status_of(&tx, identity_id).await?.is_none() {
        return Err(Error::NotFound);
    }
    let revoked = revoke_all_in(&tx, identity_id, "revoked_by_admin").await?;
    let target = identity_id.to_string();
    audit::record(
        &tx,
        actor,
        "identity.sessions.revoke",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "revoked": revoked }),
    )
    .await?;
    tx.commit().await?;
    Ok(revoked)
}

/// Live sessions of an identity, oldest first: the caller's own, or any identity's for admins
/// (`ReadIdentities`).
#[tracing::instrument(name = "core.list_sessions", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_sessions(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
    page: PageRequest,
) -> Result<Page<Session>> {
    authorize(
        actor,
        Permission::ReadIdentities,
        Resource::OwnedBy(identity_id),
    )?;
    let tx = db.begin_tenant(scope).await?;
    let query = tx
        .find::<session_row::Entity>()
        .filter(session_row::Column::IdentityId.eq(identity_id))
        .filter(session_row::Column::RevokedAt.is_null())
        .filter(session_row::Column::ExpiresAt.gt(Utc::now()));
    let rows = keyset(query, session_row::Column::Id, page).await?;
    tx.commit().await?;
    Ok(rows.map(Session::from))
}
