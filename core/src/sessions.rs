//! End-user sessions: short-lived signed access tokens, opaque refresh tokens stored hashed and
//! rotated on every use (presenting a rotated one revokes the whole session), and the checks
//! that make a suspended identity's or revoked session's tokens stop at once.

use crate::actor::{Actor, Permission, Principal};
use crate::audit::{self, Target};
use crate::crypto::MasterKey;
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::identities::{self, IdentityStatus};
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::secrets;
use crate::settings::TenantSettings;
use crate::signing_keys;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{DecodingKey, Validation};
use moka::future::Cache;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// Every refresh token starts with this.
pub const REFRESH_TOKEN_PREFIX: &str = "lkr_";

mod session_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub identity_id: Uuid,
        pub auth_method: String,
        pub created_at: DateTimeUtc,
        pub last_used_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
        pub revoked_reason: Option<String>,
        pub user_agent: Option<String>,
        pub ip_address: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

mod refresh_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub session_id: Uuid,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub rotated_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}

/// The claims of a Latchkey access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub sid: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub roles: Vec<String>,
}

/// Where tokens are issued: the tenant's issuer URL (also the audience of tokens for the
/// tenant API), its settings and the master key that opens its signing keys.
pub struct TokenIssuer<'a> {
    pub issuer: &'a str,
    pub settings: &'a TenantSettings,
    pub master_key: &'a MasterKey,
}

/// The client a session was started from, for the session list.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

/// Tokens handed to a client when a session starts or is refreshed.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    pub session_id: Uuid,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u32,
}

/// A session as its owner or an admin sees it.
#[derive(Clone, Debug)]
pub struct Session {
    pub id: Uuid,
    pub identity_id: Uuid,
    pub auth_method: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
}

impl From<session_row::Model> for Session {
    fn from(row: session_row::Model) -> Self {
        Self {
            id: row.id,
            identity_id: row.identity_id,
            auth_method: row.auth_method,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            user_agent: row.user_agent,
            ip_address: row.ip_address,
        }
    }
}

async fn issue_tokens(
    tx: &TenantTx,
    issuer: &TokenIssuer<'_>,
    identity_id: Uuid,
    session_id: Uuid,
) -> Result<IssuedTokens> {
    let now = Utc::now();
    let ttl = issuer.settings.access_token_ttl_seconds;
    let claims = AccessClaims {
        iss: issuer.issuer.to_owned(),
        sub: identity_id.to_string(),
        aud: issuer.issuer.to_owned(),
        sid: session_id.to_string(),
        exp: (now + Duration::seconds(ttl.into())).timestamp(),
        iat: now.timestamp(),
        jti: Uuid::now_v7().to_string(),
        roles: Vec::new(),
    };
    let access_token = signing_keys::sign(
        tx,
        issuer.master_key,
        issuer.settings.signing_algorithm,
        &claims,
    )
    .await?;
    let refresh_token = secrets::generate(REFRESH_TOKEN_PREFIX);
    refresh_row::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(secrets::hash(&refresh_token)),
        created_at: Set(now),
        rotated_at: Set(None),
    }
    .insert(tx.connection())
    .await?;
    Ok(IssuedTokens {
        session_id,
        access_token,
        refresh_token,
        expires_in: ttl,
    })
}

/// Starts a session for `identity_id` inside `tx` (the sign-in's own transaction).
pub async fn start_session(
    tx: &TenantTx,
    issuer: &TokenIssuer<'_>,
    identity_id: Uuid,
    auth_method: &str,
    client: &ClientInfo,
) -> Result<IssuedTokens> {
    let now = Utc::now();
    let session = session_row::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        id: Set(Uuid::now_v7()),
        identity_id: Set(identity_id),
        auth_method: Set(auth_method.to_owned()),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(now + Duration::seconds(issuer.settings.refresh_token_ttl_seconds.into())),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        user_agent: Set(client
            .user_agent
            .clone()
            .map(|ua| ua.chars().take(300).collect())),
        ip_address: Set(client.ip_address.clone()),
    }
    .insert(tx.connection())
    .await?;
    issue_tokens(tx, issuer, identity_id, session.id).await
}

async fn revoke_in(tx: &TenantTx, session: session_row::Model, reason: &str) -> Result<()> {
    if session.revoked_at.is_some() {
        return Ok(());
    }
    let mut active: session_row::ActiveModel = session.into();
    active.revoked_at = Set(Some(Utc::now()));
    active.revoked_reason = Set(Some(reason.to_owned()));
    active.update(tx.connection()).await?;
    Ok(())
}

/// Revokes every live session of an identity inside `tx`; returns how many.
pub(crate) async fn revoke_all_in(tx: &TenantTx, identity_id: Uuid, reason: &str) -> Result<u64> {
    Ok(session_row::Entity::update_many()
        .col_expr(session_row::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session_row::Column::RevokedReason, Expr::value(reason))
        .filter(session_row::Column::TenantId.eq(tx.tenant_id()))
        .filter(session_row::Column::IdentityId.eq(identity_id))
        .filter(session_row::Column::RevokedAt.is_null())
        .exec(tx.connection())
        .await?
        .rows_affected)
}

/// Exchanges a refresh token for new tokens. The presented token is spent; presenting it again
/// revokes the session (a stolen token used by two parties). Anonymous: the token is the
/// credential.
#[tracing::instrument(name = "core.refresh_session", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn refresh_session(
    db: &Database,
    scope: &TenantScope,
    issuer: &TokenIssuer<'_>,
    refresh_token: &str,
) -> Result<IssuedTokens> {
    let tx = db.begin_tenant(scope).await?;
    let Some(token) = refresh_row::Entity::find()
        .filter(refresh_row::Column::TenantId.eq(tx.tenant_id()))
        .filter(refresh_row::Column::TokenHash.eq(secrets::hash(refresh_token)))
        .one(tx.connection())
        .await?
    else {
        return Err(Error::Unauthenticated);
    };
    let session = session_row::Entity::find()
        .filter(session_row::Column::TenantId.eq(tx.tenant_id()))
        .filter(session_row::Column::Id.eq(token.session_id))
        .one(tx.connection())
        .await?
        .ok_or(Error::Unauthenticated)?;
    // Spend the token; only one concurrent caller can.
    let spent = refresh_row::Entity::update_many()
        .col_expr(refresh_row::Column::RotatedAt, Expr::value(Utc::now()))
        .filter(refresh_row::Column::TenantId.eq(tx.tenant_id()))
        .filter(refresh_row::Column::Id.eq(token.id))
        .filter(refresh_row::Column::RotatedAt.is_null())
        .exec(tx.connection())
        .await?
        .rows_affected;
    if spent == 0 {
        let identity_id = session.identity_id;
        let session_id = session.id.to_string();
        revoke_in(&tx, session, "refresh_token_reuse").await?;
        let actor = Actor::new(Principal::Anonymous, None);
        audit::record(
            &tx,
            &actor,
            "session.refresh_token_reused",
            Some(Target {
                kind: "session",
                id: &session_id,
            }),
            json!({ "identityId": identity_id }),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(session.id = %session_id, "a rotated refresh token was presented again; session revoked");
        return Err(Error::Unauthenticated);
    }
    let identity_active = matches!(
        identities::status_of(&tx, session.identity_id).await?,
        Some(IdentityStatus::Active)
    );
    if session.revoked_at.is_some() || session.expires_at <= Utc::now() || !identity_active {
        return Err(Error::Unauthenticated);
    }
    let (identity_id, session_id) = (session.identity_id, session.id);
    let mut active: session_row::ActiveModel = session.into();
    active.last_used_at = Set(Utc::now());
    active.update(tx.connection()).await?;
    let tokens = issue_tokens(&tx, issuer, identity_id, session_id).await?;
    tx.commit().await?;
    Ok(tokens)
}

/// Caches the decoding keys of recently seen key ids; a new key id is looked up once.
#[derive(Clone)]
pub struct KeyCache {
    keys: Cache<(Uuid, String), (DecodingKey, jsonwebtoken::Algorithm)>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            keys: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(300))
                .build(),
        }
    }
}

/// Checks an access token presented on `scope`'s endpoint: signature by one of the tenant's
/// published keys, issuer, audience and expiry; then that the session is live and the identity
/// active (both read now, so revocation and suspension take effect at once).
#[tracing::instrument(name = "core.authenticate_access_token", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn authenticate_access_token(
    db: &Database,
    keys: &KeyCache,
    scope: &TenantScope,
    issuer: &str,
    token: &str,
    request_id: Option<String>,
) -> Result<Actor> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Unauthenticated)?;
    let kid = header.kid.ok_or(Error::Unauthenticated)?;
    let cache_key = (scope.tenant_id(), kid.clone());
    let (key, algorithm) = match keys.keys.get(&cache_key).await {
        Some(found) => found,
        None => {
            let set = signing_keys::published_keys(db, scope).await?;
            let jwk = set.find(&kid).ok_or(Error::Unauthenticated)?;
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
    validation.set_audience(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 30;
    let claims = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation)
        .map_err(|_| Error::Unauthenticated)?
        .claims;
    let identity_id = Uuid::parse_str(&claims.sub).map_err(|_| Error::Unauthenticated)?;
    let session_id = Uuid::parse_str(&claims.sid).map_err(|_| Error::Unauthenticated)?;

    let tx = db.begin_tenant(scope).await?;
    let session = session_row::Entity::find()
        .filter(session_row::Column::TenantId.eq(tx.tenant_id()))
        .filter(session_row::Column::Id.eq(session_id))
        .one(tx.connection())
        .await?
        .ok_or(Error::Unauthenticated)?;
    let status = identities::status_of(&tx, identity_id).await?;
    tx.commit().await?;
    if session.identity_id != identity_id
        || session.revoked_at.is_some()
        || session.expires_at <= Utc::now()
        || status != Some(IdentityStatus::Active)
    {
        return Err(Error::Unauthenticated);
    }
    Ok(Actor::new(
        Principal::Identity {
            id: identity_id,
            session_id,
        },
        request_id,
    ))
}

/// `signOut`: ends the caller's own session, and with `everywhere` all their sessions.
#[tracing::instrument(name = "core.sign_out", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn sign_out(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    everywhere: bool,
) -> Result<Uuid> {
    let Principal::Identity { id, session_id } = actor.principal else {
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
    let own = match actor.principal {
        Principal::Identity { id, .. } => Some(id),
        _ => {
            actor.authorize(Permission::WriteIdentities)?;
            None
        }
    };
    let tx = db.begin_tenant(scope).await?;
    let session = session_row::Entity::find()
        .filter(session_row::Column::TenantId.eq(tx.tenant_id()))
        .filter(session_row::Column::Id.eq(session_id))
        .one(tx.connection())
        .await?
        .filter(|s| own.is_none_or(|id| s.identity_id == id))
        .ok_or(Error::NotFound)?;
    let identity_id = session.identity_id.to_string();
    revoke_in(
        &tx,
        session,
        if own.is_some() {
            "signed_out"
        } else {
            "revoked_by_admin"
        },
    )
    .await?;
    let session_id_text = session_id.to_string();
    audit::record(
        &tx,
        actor,
        "session.revoke",
        Some(Target {
            kind: "session",
            id: &session_id_text,
        }),
        json!({ "identityId": identity_id }),
    )
    .await?;
    let session = session_row::Entity::find()
        .filter(session_row::Column::TenantId.eq(tx.tenant_id()))
        .filter(session_row::Column::Id.eq(session_id))
        .one(tx.connection())
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    Ok(session.into())
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
    actor.authorize(Permission::WriteIdentities)?;
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
    match actor.principal {
        Principal::Identity { id, .. } if id == identity_id => {}
        Principal::Identity { .. } => return Err(Error::NotFound),
        _ => actor.authorize(Permission::ReadIdentities)?,
    }
    let tx = db.begin_tenant(scope).await?;
    let query = session_row::Entity::find()
        .filter(session_row::Column::TenantId.eq(tx.tenant_id()))
        .filter(session_row::Column::IdentityId.eq(identity_id))
        .filter(session_row::Column::RevokedAt.is_null())
        .filter(session_row::Column::ExpiresAt.gt(Utc::now()));
    let rows = keyset(tx.connection(), query, session_row::Column::Id, page).await?;
    tx.commit().await?;
    Ok(rows.map(Session::from))
}
