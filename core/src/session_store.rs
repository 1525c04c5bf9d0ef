//! Where sessions are stored: the session and refresh-token rows, starting and finding a
//! session, and revoking sessions (one with the application sessions hanging from it, all of
//! an identity's, an application's, an organization's). Below identities and organizations,
//! which revoke sessions when an identity is suspended or a membership ends.

use crate::db::TenantTx;
use crate::error::Result;
use crate::secrets;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, QueryFilter, Set};
use uuid::Uuid;

/// Every refresh token starts with this.
pub const REFRESH_TOKEN_PREFIX: &str = "lkr_";

pub(crate) mod session_row {
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
        pub application_id: Option<Uuid>,
        pub parent_session_id: Option<Uuid>,
        pub scope: Option<String>,
        pub organization_id: Option<Uuid>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(session_row, guards Tenant);

pub(crate) mod refresh_row {
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
        /// The token that replaced this one, sealed under a key derived from this token.
        pub successor_sealed: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(refresh_row);

/// The client a session was started from, for the session list.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip_address: Option<String>,
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
    /// The OpenID Connect application the session's tokens were issued to (none for the
    /// tenant's own pages and API).
    pub application_id: Option<Uuid>,
    /// The browser session an application session was started from.
    pub parent_session_id: Option<Uuid>,
    pub scope: Option<String>,
    /// The organization the session's tokens are scoped to.
    pub organization_id: Option<Uuid>,
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
            application_id: row.application_id,
            parent_session_id: row.parent_session_id,
            scope: row.scope,
            organization_id: row.organization_id,
        }
    }
}

/// Stores a new refresh token of `session_id` (hashed) and returns it.
pub(crate) async fn new_refresh_token(tx: &TenantTx, session_id: Uuid) -> Result<String> {
    let refresh_token = secrets::generate(REFRESH_TOKEN_PREFIX);
    tx.insert(refresh_row::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(secrets::hash(&refresh_token)),
        created_at: Set(Utc::now()),
        rotated_at: Set(None),
        successor_sealed: Set(None),
    })
    .await?;
    Ok(refresh_token)
}

/// A new session row. `application` and `parent` are set for sessions of an OpenID Connect
/// application, which hang from the browser session the user signed in with.
pub(crate) struct NewSession<'a> {
    pub identity_id: Uuid,
    pub auth_method: &'a str,
    pub lifetime_seconds: u32,
    pub client: &'a ClientInfo,
    pub application_id: Option<Uuid>,
    pub parent_session_id: Option<Uuid>,
    pub scope: Option<String>,
    pub organization_id: Option<Uuid>,
}

pub(crate) async fn insert_session(tx: &TenantTx, new: NewSession<'_>) -> Result<Session> {
    // The injected clock: how recent a sign-in is (`deleteViewerAccount`) is measured by it.
    let now = tx.now();
    let row = tx
        .insert(session_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            identity_id: Set(new.identity_id),
            auth_method: Set(new.auth_method.to_owned()),
            created_at: Set(now),
            last_used_at: Set(now),
            expires_at: Set(now + Duration::seconds(new.lifetime_seconds.into())),
            revoked_at: Set(None),
            revoked_reason: Set(None),
            user_agent: Set(new
                .client
                .user_agent
                .clone()
                .map(|ua| ua.chars().take(300).collect())),
            ip_address: Set(new.client.ip_address.clone()),
            application_id: Set(new.application_id),
            parent_session_id: Set(new.parent_session_id),
            scope: Set(new.scope),
            organization_id: Set(new.organization_id),
        })
        .await?;
    Ok(row.into())
}

/// Revokes a session and the application sessions started from it (signing out of the
/// browser session signs out of every application it signed in to).
pub(crate) async fn revoke_tree_in(tx: &TenantTx, session_id: Uuid, reason: &str) -> Result<u64> {
    Ok(tx
        .update_many::<session_row::Entity>()
        .col_expr(session_row::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session_row::Column::RevokedReason, Expr::value(reason))
        .filter(
            Condition::any()
                .add(session_row::Column::Id.eq(session_id))
                .add(session_row::Column::ParentSessionId.eq(session_id)),
        )
        .filter(session_row::Column::RevokedAt.is_null())
        .exec()
        .await?
        .rows_affected)
}

/// Revokes every live session of an identity inside `tx`; returns how many.
pub(crate) async fn revoke_all_in(tx: &TenantTx, identity_id: Uuid, reason: &str) -> Result<u64> {
    revoke_all_but_in(tx, identity_id, None, reason).await
}

/// Revokes every live session of `identity_id` except `keep` and the sessions it started
/// (its applications' sessions): "sign out everywhere else".
pub(crate) async fn revoke_all_but_in(
    tx: &TenantTx,
    identity_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> Result<u64> {
    let mut query = tx
        .update_many::<session_row::Entity>()
        .col_expr(session_row::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session_row::Column::RevokedReason, Expr::value(reason))
        .filter(session_row::Column::IdentityId.eq(identity_id))
        .filter(session_row::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        query = query.filter(session_row::Column::Id.ne(keep)).filter(
            session_row::Column::ParentSessionId
                .is_null()
                .or(session_row::Column::ParentSessionId.ne(keep)),
        );
    }
    Ok(query.exec().await?.rows_affected)
}

/// Revokes every session of an application (the application was deleted).
pub(crate) async fn revoke_application_sessions_in(
    tx: &TenantTx,
    application_id: Uuid,
) -> Result<u64> {
    Ok(tx
        .update_many::<session_row::Entity>()
        .col_expr(session_row::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(
            session_row::Column::RevokedReason,
            Expr::value("application_deleted"),
        )
        .filter(session_row::Column::ApplicationId.eq(application_id))
        .filter(session_row::Column::RevokedAt.is_null())
        .exec()
        .await?
        .rows_affected)
}

/// Revokes the sessions scoped to an organization: all of them, or one identity's (the
/// member was removed, or the organization deleted).
pub(crate) async fn revoke_organization_sessions_in(
    tx: &TenantTx,
    organization_id: Uuid,
    identity_id: Option<Uuid>,
) -> Result<u64> {
    let mut scoped = tx
        .find::<session_row::Entity>()
        .filter(session_row::Column::OrganizationId.eq(organization_id))
        .filter(session_row::Column::RevokedAt.is_null());
    if let Some(identity_id) = identity_id {
        scoped = scoped.filter(session_row::Column::IdentityId.eq(identity_id));
    }
    let mut revoked = 0;
    // With the application sessions started from them (their own organization may be unset).
    for session in scoped.all().await? {
        revoked += revoke_tree_in(tx, session.id, "organization_membership_ended").await?;
    }
    Ok(revoked)
}

/// A session by id, whatever its state.
pub(crate) async fn find_session_in(tx: &TenantTx, session_id: Uuid) -> Result<Option<Session>> {
    Ok(tx
        .find::<session_row::Entity>()
        .filter(session_row::Column::Id.eq(session_id))
        .one()
        .await?
        .map(Session::from))
}

/// Every session of `identity_id`, ended ones included, for its owner's data export: when and
/// how it started, where from, until when, and how it ended (never a token).
pub(crate) async fn sessions_data_in(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<Vec<serde_json::Value>> {
    use sea_orm::QueryOrder;
    Ok(tx
        .find::<session_row::Entity>()
        .filter(session_row::Column::IdentityId.eq(identity_id))
        .order_by_asc(session_row::Column::Id)
        .all()
        .await?
        .into_iter()
        .map(|row| {
            serde_json::json!({
                "id": row.id,
                "authMethod": row.auth_method,
                "createdAt": row.created_at,
                "lastUsedAt": row.last_used_at,
                "expiresAt": row.expires_at,
                "revokedAt": row.revoked_at,
                "revokedReason": row.revoked_reason,
                "userAgent": row.user_agent,
                "ipAddress": row.ip_address,
                "applicationId": row.application_id,
                "organizationId": row.organization_id,
                "scope": row.scope,
            })
        })
        .collect())
}

/// Removes every session of `identity_id` with its refresh tokens (its account is being
/// erased): its access tokens stop working with them.
pub(crate) async fn erase_sessions_in(tx: &TenantTx, identity_id: Uuid) -> Result<()> {
    use sea_orm::QuerySelect;
    let ids: Vec<Uuid> = tx
        .find::<session_row::Entity>()
        .select_only()
        .column(session_row::Column::Id)
        .filter(session_row::Column::IdentityId.eq(identity_id))
        .into_tuple()
        .all()
        .await?;
    for chunk in ids.chunks(500) {
        tx.delete_many::<refresh_row::Entity>()
            .filter(refresh_row::Column::SessionId.is_in(chunk.iter().copied()))
            .exec()
            .await?;
    }
    tx.delete_many::<session_row::Entity>()
        .filter(session_row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}

/// How many sessions of the tenant are live at `now` (neither revoked nor expired), browser
/// and application sessions alike.
pub(crate) async fn live_sessions_in(tx: &TenantTx, now: DateTime<Utc>) -> Result<u64> {
    Ok(tx
        .find::<session_row::Entity>()
        .filter(session_row::Column::RevokedAt.is_null())
        .filter(session_row::Column::ExpiresAt.gt(now))
        .count()
        .await?)
}

/// How many sign-ins started a session per UTC day since `since`, by method: the sessions
/// without a parent (an application's session hangs from the browser session it signed in
/// with, and is no sign-in of its own). `(day, method, count)`.
pub(crate) async fn sign_ins_per_day_in(
    tx: &TenantTx,
    since: DateTime<Utc>,
) -> Result<Vec<(String, String, i64)>> {
    use sea_orm::QuerySelect;
    let day = crate::db::utc_day(tx.backend(), "created_at");
    Ok(tx
        .find::<session_row::Entity>()
        .select_only()
        .column_as(day.clone(), "day")
        .column(session_row::Column::AuthMethod)
        .column_as(Expr::cust("COUNT(*)"), "count")
        .filter(session_row::Column::ParentSessionId.is_null())
        .filter(session_row::Column::CreatedAt.gte(since))
        .group_by(day)
        .group_by(session_row::Column::AuthMethod)
        .into_tuple()
        .all()
        .await?)
}
