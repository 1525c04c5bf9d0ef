//! Tenant API keys: bearer secrets for tenant admins and back ends, with roles. Only the
//! SHA-256 of a key is stored; lookups are kept in the replica's near cache, which a revocation
//! makes stale on every replica at once (the keys' table is guarded: see [`crate::freshness`]).

use crate::actor::{Actor, AdminRole, Permission, Principal};
use crate::audit::{self, Target};
use crate::authz::{Grant, Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::secrets;
use crate::validate::Name;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

/// Every tenant API key starts with this.
pub const API_KEY_PREFIX: &str = "lk_";
/// The near cache's kind of entry: a live key by the hash of its secret.
const CACHE_KIND: &str = "api-key";

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub key_prefix: String,
        pub secret_hash: String,
        pub roles: Json,
        pub created_by: Option<String>,
        pub created_at: DateTimeUtc,
        pub last_used_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row, guards Tenant);

/// An API key as admins see it (never the secret).
#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub roles: Vec<AdminRole>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<row::Model> for ApiKey {
    type Error = Error;

    fn try_from(row: row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            roles: serde_json::from_value(row.roles).map_err(Error::internal)?,
            name: row.name,
            prefix: row.key_prefix,
            created_by: row.created_by,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// What is cached per key hash.
#[derive(Clone)]
struct CachedKey {
    id: Uuid,
    roles: Vec<AdminRole>,
}

/// Writes a new key in `tx` and returns it with its secret (to be shown once). The caller has
/// checked that `actor` may do this; [`create_api_key`] is the checked entry point.
pub async fn issue_api_key(
    tx: &TenantTx,
    grant: &Grant<'_>,
    name: Name,
    roles: Vec<AdminRole>,
) -> Result<(ApiKey, String)> {
    grant.require(Permission::ManageApiKeys)?;
    let actor = grant.actor();
    let secret = secrets::generate(API_KEY_PREFIX);
    let (created_by_type, created_by_id) = actor.audit_identity();
    let row = tx
        .insert(row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            name: Set(name.into_inner()),
            key_prefix: Set(secret[..API_KEY_PREFIX.len() + 6].to_owned()),
            secret_hash: Set(secrets::hash(&secret)),
            roles: Set(json!(roles)),
            created_by: Set(Some(match created_by_id {
                Some(id) => format!("{created_by_type}:{id}"),
                None => created_by_type.to_owned(),
            })),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
        })
        .await?;
    let key = ApiKey::try_from(row)?;
    let target = key.id.to_string();
    audit::record(
        tx,
        actor,
        "api_key.create",
        Some(Target {
            kind: "api_key",
            id: &target,
        }),
        json!({ "name": key.name, "roles": key.roles }),
    )
    .await?;
    Ok((key, secret))
}

fn parse_roles(roles: Vec<AdminRole>) -> Result<Vec<AdminRole>> {
    let mut roles = roles;
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return Err(Error::validation("roles", "must name at least one role"));
    }
    Ok(roles)
}

/// Creates an API key with `roles`; nobody grants a role above their own.
/// Requires `ManageApiKeys`.
#[tracing::instrument(name = "core.create_api_key", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_api_key(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    name: &str,
    roles: Vec<AdminRole>,
) -> Result<(ApiKey, String)> {
    let grant = authorize(actor, Permission::ManageApiKeys, Resource::Tenant)?;
    let name = Name::parse("name", name, 100)?;
    let roles = parse_roles(roles)?;
    if let Some(role) = roles
        .iter()
        .find(|role| !crate::authz::may_grant(actor, **role))
    {
        tracing::info!(
            role = role.as_str(),
            "refused to grant a role above the caller's"
        );
        return Err(Error::PermissionDenied);
    }
    let tx = db.begin_tenant(scope).await?;
    let issued = issue_api_key(&tx, &grant, name, roles).await?;
    tx.commit().await?;
    Ok(issued)
}

/// The tenant's API keys, oldest first (revoked ones included). Requires `ReadApiKeys`.
#[tracing::instrument(name = "core.list_api_keys", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_api_keys(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<ApiKey>> {
    authorize(actor, Permission::ReadApiKeys, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let query = tx.find::<row::Entity>();
    let rows = keyset(query, row::Column::Id, page).await?;
    tx.commit().await?;
    rows.try_map(ApiKey::try_from)
}

/// Revokes a key; it stops working at once, on every replica. Requires `ManageApiKeys`, and
/// the owner role to revoke an owner key.
#[tracing::instrument(name = "core.revoke_api_key", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn revoke_api_key(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<ApiKey> {
    authorize(actor, Permission::ManageApiKeys, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let current = tx
        .find::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let key = ApiKey::try_from(current.clone())?;
    if let Some(role) = key
        .roles
        .iter()
        .find(|role| !crate::authz::may_grant(actor, **role))
    {
        tracing::info!(
            role = role.as_str(),
            "refused to revoke a key above the caller's role"
        );
        return Err(Error::PermissionDenied);
    }
    if key.revoked_at.is_some() {
        tx.commit().await?;
        return Ok(key);
    }
    let mut active: row::ActiveModel = current.into();
    active.revoked_at = Set(Some(Utc::now()));
    let key = ApiKey::try_from(tx.update(active).await?)?;
    let target = id.to_string();
    audit::record(
        &tx,
        actor,
        "api_key.revoke",
        Some(Target {
            kind: "api_key",
            id: &target,
        }),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(key)
}

/// Turns a bearer secret presented on `scope`'s endpoint into an actor; a key of another
/// tenant, a revoked key or garbage is `Unauthenticated`.
#[tracing::instrument(name = "core.authenticate_api_key", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn authenticate_api_key(
    db: &Database,
    scope: &TenantScope,
    secret: &str,
    request_id: Option<String>,
) -> Result<Actor> {
    let secret_hash = secrets::hash(secret);
    let key = db
        .near_cache()
        .get_or_load(
            CACHE_KIND,
            Some(scope.tenant_id()),
            &secret_hash,
            live_key(db, scope, &secret_hash),
            |_| true,
        )
        .await?;
    Ok(Actor::new(
        Principal::ApiKey {
            id: key.id,
            roles: key.roles,
        },
        request_id,
    ))
}

/// The live key with this secret hash, its use recorded; `Unauthenticated` if none.
async fn live_key(db: &Database, scope: &TenantScope, secret_hash: &str) -> Result<CachedKey> {
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<row::Entity>()
        .filter(row::Column::SecretHash.eq(secret_hash))
        .filter(row::Column::RevokedAt.is_null())
        .one()
        .await?
        .ok_or(Error::Unauthenticated)?;
    let key = ApiKey::try_from(row)?;
    tx.record_use::<row::Entity>()
        .col_expr(row::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(row::Column::Id.eq(key.id))
        .exec()
        .await?;
    tx.commit().await?;
    Ok(CachedKey {
        id: key.id,
        roles: key.roles,
    })
}

/// The key the caller authenticated with (no permission needed: it is their own).
#[tracing::instrument(name = "core.own_api_key", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn own_api_key(db: &Database, scope: &TenantScope, actor: &Actor) -> Result<ApiKey> {
    let Principal::ApiKey { id, .. } = actor.principal() else {
        return Err(Error::NotFound);
    };
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<row::Entity>()
        .filter(row::Column::Id.eq(*id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    row.try_into()
}
