//! SCIM tokens: the bearer secrets a directory (Microsoft Entra ID's "Secret Token", Okta's
//! "HTTP Header" authorization) presents at `/t/{slug}/scim/v2`. A token serves the whole
//! tenant or one organization; it is shown once and stored as its SHA-256.

use super::{Directory, ScimCaller};
use crate::actor::{Actor, Permission, Principal};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::Database;
use crate::ephemeral::{EphemeralStore, rate_limit};
use crate::error::{Error, Result};
use crate::scope::TenantScope;
use crate::secrets;
use crate::validate::Name;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "scim_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub organization_id: Option<Uuid>,
        pub roles: Option<Json>,
        pub secret_hash: String,
        pub created_at: DateTimeUtc,
        pub last_used_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row);

/// What a SCIM token starts with, so a leaked one is recognisable (secret scanners).
pub const SCIM_TOKEN_PREFIX: &str = "lks_";

/// How stale `last_used_at` may get before a use writes it again (a write per request would
/// make every SCIM read a write).
const LAST_USED_PRECISION: Duration = Duration::minutes(5);

/// A SCIM token, without its secret.
#[derive(Clone, Debug)]
pub struct ScimToken {
    pub id: Uuid,
    pub name: String,
    /// The organization it provisions; `None` for the whole tenant.
    pub organization_id: Option<Uuid>,
    /// The organization roles an organization's directory may assign (its Groups), as the
    /// tenant listed them; `None`: the roles within `org:admin`'s permissions.
    pub roles: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<row::Model> for ScimToken {
    type Error = Error;

    fn try_from(row: row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            name: row.name,
            organization_id: row.organization_id,
            roles: row
                .roles
                .map(serde_json::from_value)
                .transpose()
                .map_err(Error::internal)?,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// Creates a SCIM token for the tenant (`organization_id` `None`) or for one organization of
/// it, and returns it with its secret (shown once). An organization's token may be given the
/// organization `roles` its directory may assign (its Groups); without them it may assign the
/// roles within `org:admin`'s permissions, as the organization's own admins may. Requires
/// `ManageApiKeys`: a SCIM token creates, changes and deletes identities, as an admin key does.
#[tracing::instrument(name = "core.create_scim_token", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_scim_token(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    name: &str,
    organization_id: Option<Uuid>,
    roles: Option<Vec<String>>,
) -> Result<(ScimToken, String)> {
    authorize(actor, Permission::ManageApiKeys, Resource::Tenant)?;
    let name = Name::parse("name", name, 100)?;
    let tx = db.begin_tenant(scope).await?;
    if let Some(id) = organization_id {
        crate::organizations::organization_in(&tx, id)
            .await
            .map_err(|error| match error {
                Error::NotFound => Error::validation("organizationId", "no such organization"),
                other => other,
            })?;
    }
    let roles = match (&roles, organization_id) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(Error::validation(
                "roles",
                "only an organization's token assigns roles; a tenant-wide token's groups are organizations",
            ));
        }
        (Some(roles), Some(_)) => Some(
            crate::organizations::check_roles(&tx, roles)
                .await
                .map_err(|error| match error {
                    Error::Validation { reason, .. } => Error::validation("roles", reason),
                    other => other,
                })?,
        ),
    };
    let secret = secrets::generate(SCIM_TOKEN_PREFIX);
    let row = tx
        .insert(row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            name: Set(name.into_inner()),
            organization_id: Set(organization_id),
            roles: Set(roles.map(|roles| json!(roles))),
            secret_hash: Set(secrets::hash(&secret)),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
        })
        .await?;
    let token = ScimToken::try_from(row)?;
    let target = token.id.to_string();
    audit::record(
        &tx,
        actor,
        "scim_token.create",
        Some(Target {
            kind: "scim_token",
            id: &target,
        }),
        json!({ "name": token.name, "organizationId": token.organization_id, "roles": token.roles }),
    )
    .await?;
    tx.commit().await?;
    Ok((token, secret))
}

/// The tenant's SCIM tokens (revoked ones included), oldest first; only those of
/// `organization_id` when given. Requires `ReadApiKeys`.
#[tracing::instrument(name = "core.list_scim_tokens", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_scim_tokens(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Option<Uuid>,
) -> Result<Vec<ScimToken>> {
    authorize(actor, Permission::ReadApiKeys, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let mut query = tx.find::<row::Entity>();
    if let Some(id) = organization_id {
        query = query.filter(row::Column::OrganizationId.eq(id));
    }
    let rows = query.order_by_asc(row::Column::Id).all().await?;
    tx.commit().await?;
    rows.into_iter().map(ScimToken::try_from).collect()
}

/// Revokes a SCIM token: the next request with it is refused. Requires `ManageApiKeys`.
#[tracing::instrument(name = "core.revoke_scim_token", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn revoke_scim_token(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<ScimToken> {
    authorize(actor, Permission::ManageApiKeys, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let current = tx
        .find::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let token = if current.revoked_at.is_some() {
        ScimToken::try_from(current)?
    } else {
        let mut active: row::ActiveModel = current.into();
        active.revoked_at = Set(Some(Utc::now()));
        let token = ScimToken::try_from(tx.update(active).await?)?;
        let target = token.id.to_string();
        audit::record(
            &tx,
            actor,
            "scim_token.revoke",
            Some(Target {
                kind: "scim_token",
                id: &target,
            }),
            json!({ "name": token.name }),
        )
        .await?;
        token
    };
    tx.commit().await?;
    Ok(token)
}

/// The caller behind a SCIM token presented on `scope`'s SCIM endpoint, counted against the
/// tenant's `rateLimits.scimPerToken` (`RateLimited` beyond it). An unknown, revoked or other
/// tenant's token, or one whose organization is gone, is `Unauthenticated`.
#[tracing::instrument(name = "core.authenticate_scim_token", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn authenticate_scim_token(
    db: &Database,
    store: &dyn EphemeralStore,
    scope: &TenantScope,
    per_minute: u32,
    secret: &str,
    request_id: Option<String>,
) -> Result<ScimCaller> {
    if !secret.starts_with(SCIM_TOKEN_PREFIX) {
        return Err(Error::Unauthenticated);
    }
    let tx = db.begin_tenant(scope).await?;
    let token = tx
        .find::<row::Entity>()
        .filter(row::Column::SecretHash.eq(secrets::hash(secret)))
        .filter(row::Column::RevokedAt.is_null())
        .one()
        .await?
        .ok_or(Error::Unauthenticated)?;
    let token = ScimToken::try_from(token)?;
    // The foreign key deletes an organization's tokens with it; this holds even without it.
    if let Some(id) = token.organization_id
        && !crate::organizations::existing_in(&tx, &[id])
            .await?
            .contains(&id)
    {
        return Err(Error::Unauthenticated);
    }
    let now = Utc::now();
    if token
        .last_used_at
        .is_none_or(|used| now - used > LAST_USED_PRECISION)
    {
        tx.record_use::<row::Entity>()
            .col_expr(row::Column::LastUsedAt, Expr::value(now))
            .filter(row::Column::Id.eq(token.id))
            .exec()
            .await?;
    }
    tx.commit().await?;
    rate_limit(store, scope, "scim", &token.id.to_string(), per_minute).await?;
    let directory = match token.organization_id {
        Some(id) => Directory::Organization(id),
        None => Directory::Tenant,
    };
    Ok(ScimCaller {
        roles: token.roles,
        actor: Actor::new(
            Principal::ScimToken {
                id: token.id,
                organization_id: token.organization_id,
            },
            request_id,
        ),
        token_id: token.id,
        directory,
    })
}
