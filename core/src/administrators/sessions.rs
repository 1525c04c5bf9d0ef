//! Console sessions. A session is a random token in an `HttpOnly`, `SameSite=Strict` cookie
//! (never a bearer token: the tenant API reads it only from the cookie), with a CSRF token
//! the console sends in a header on every request (a page of another site can neither send
//! the header nor read the token), answering only to the user agent it began in (a check
//! against a stolen cookie replayed by another client, not a secret). It ends after 30 idle
//! minutes or 12 hours, at sign-out, and at once when the administrator's roles change or they
//! are removed. Each request reads it and the role it holds in the request's tenant afresh.

use super::rows::{administrator_row, role_row, session_row};
use super::{Administrator, links::console_platform, stored_role};
use crate::actor::{Actor, AdminRole, Principal};
use crate::catalogue::{TenantStatus, tenant_row};
use crate::db::{Database, PlatformTx};
use crate::error::{Error, Result};
use crate::scope::{PlatformScope, TenantScope};
use crate::secrets;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

/// Every console session token starts with this.
pub const CONSOLE_SESSION_PREFIX: &str = "lkadm_";
/// A session unused this long ends.
const IDLE_MINUTES: i64 = 30;
/// A session ends this long after its sign-in, used or not.
const LIFETIME_HOURS: i64 = 12;
/// How often a request records that the session is in use.
const TOUCH_SECONDS: i64 = 60;

fn agent_hash(user_agent: Option<&str>) -> String {
    secrets::hash(user_agent.unwrap_or_default())
}

/// A session just started: the cookie's value (shown once) and what the console shows.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub token: String,
    pub view: SessionView,
}

/// Starts a session for `administrator_id` in the browser of `user_agent`, and removes the
/// sessions of every administrator that have ended (expired or idle).
pub(super) async fn start_in(
    tx: &PlatformTx,
    administrator_id: Uuid,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SignedIn> {
    tx.delete_many::<session_row::Entity>()
        .filter(
            Condition::any()
                .add(session_row::Column::ExpiresAt.lte(now))
                .add(session_row::Column::LastSeenAt.lte(now - Duration::minutes(IDLE_MINUTES))),
        )
        .exec()
        .await?;
    let token = secrets::generate(CONSOLE_SESSION_PREFIX);
    let row = tx
        .insert(session_row::ActiveModel {
            id: Set(Uuid::now_v7()),
            administrator_id: Set(administrator_id),
            token_hash: Set(secrets::hash(&token)),
            csrf_token: Set(secrets::generate("")),
            user_agent_hash: Set(agent_hash(user_agent)),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(now + Duration::hours(LIFETIME_HOURS)),
        })
        .await?;
    Ok(SignedIn {
        token,
        view: view_in(tx, &row).await?,
    })
}

/// Ends every session of `administrator_id` (a role change, a removal, a recovery).
pub(super) async fn end_sessions_in(tx: &PlatformTx, administrator_id: Uuid) -> Result<()> {
    tx.delete_many::<session_row::Entity>()
        .filter(session_row::Column::AdministratorId.eq(administrator_id))
        .exec()
        .await?;
    Ok(())
}

/// The cookie, the CSRF header and the browser of one console request.
#[derive(Clone, Copy, Debug)]
pub struct Presented<'a> {
    pub token: &'a str,
    /// `X-Latchkey-CSRF`; `None` for a read of the session itself.
    pub csrf_token: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// The live session `presented` names, from the browser it was started in, recorded as used.
async fn live_in(
    tx: &PlatformTx,
    presented: Presented<'_>,
    now: DateTime<Utc>,
    needs_csrf: bool,
) -> Result<session_row::Model> {
    let row = tx
        .find::<session_row::Entity>()
        .filter(session_row::Column::TokenHash.eq(secrets::hash(presented.token)))
        .one()
        .await?
        .ok_or(Error::Unauthenticated)?;
    let idle_until = row.last_seen_at + Duration::minutes(IDLE_MINUTES);
    // An ended session is removed when the next one starts (`start_in`).
    if row.expires_at <= now || idle_until <= now {
        return Err(Error::Unauthenticated);
    }
    if row.user_agent_hash != agent_hash(presented.user_agent) {
        tracing::info!(session.id = %row.id, "console session presented by another browser");
        return Err(Error::Unauthenticated);
    }
    if needs_csrf
        && !presented
            .csrf_token
            .is_some_and(|csrf| secrets::same_secret(csrf, &row.csrf_token))
    {
        return Err(Error::Refused(
            "a console request needs the session's CSRF token in the X-Latchkey-CSRF header".into(),
        ));
    }
    if now - row.last_seen_at >= Duration::seconds(TOUCH_SECONDS) {
        tx.update_many::<session_row::Entity>()
            .col_expr(
                session_row::Column::LastSeenAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(session_row::Column::Id.eq(row.id))
            .exec()
            .await?;
    }
    Ok(row)
}

async fn administrator_in(tx: &PlatformTx, id: Uuid) -> Result<Administrator> {
    tx.find::<administrator_row::Entity>()
        .filter(administrator_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::Unauthenticated)?
        .try_into()
}

/// Who is signed in, and where: for the console's first request.
#[derive(Clone, Debug)]
pub struct SessionView {
    pub administrator: Administrator,
    /// The active tenants they administer: `(slug, name, role)`, by name.
    pub tenants: Vec<(String, String, AdminRole)>,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// The session of the cookie `presented` holds (no CSRF token needed: it only reads, and a
/// page of another origin cannot read the answer).
pub async fn session_view(db: &Database, presented: Presented<'_>) -> Result<SessionView> {
    let tx = db.begin_platform(&console_platform()).await?;
    let session = live_in(&tx, presented, db.now(), false).await?;
    let view = view_in(&tx, &session).await?;
    tx.commit().await?;
    Ok(view)
}

/// Who `session` is of, and the active tenants they administer.
async fn view_in(tx: &PlatformTx, session: &session_row::Model) -> Result<SessionView> {
    let administrator = administrator_in(tx, session.administrator_id).await?;
    let roles = tx
        .find::<role_row::Entity>()
        .filter(role_row::Column::AdministratorId.eq(administrator.id))
        .all()
        .await?;
    let tenants = tx
        .find::<tenant_row::Entity>()
        .filter(tenant_row::Column::Id.is_in(roles.iter().map(|role| role.tenant_id)))
        .filter(tenant_row::Column::Status.eq(TenantStatus::Active.as_str()))
        .order_by_asc(tenant_row::Column::Name)
        .all()
        .await?;
    let tenants = tenants
        .into_iter()
        .filter_map(|tenant| {
            let role = roles.iter().find(|role| role.tenant_id == tenant.id)?;
            Some(stored_role(&role.role).map(|role| (tenant.slug, tenant.name, role)))
        })
        .collect::<Result<_>>()?;
    Ok(SessionView {
        administrator,
        tenants,
        csrf_token: session.csrf_token.clone(),
        expires_at: session
            .expires_at
            .min(session.last_seen_at + Duration::minutes(IDLE_MINUTES)),
    })
}

/// The caller of a tenant API request made with a console session: the administrator with
/// the role they hold in `scope`'s tenant. Holding none there is `Unauthenticated`, as a
/// credential of another tenant is.
pub async fn authenticate_tenant(
    db: &Database,
    scope: &TenantScope,
    presented: Presented<'_>,
    request_id: Option<String>,
) -> Result<Actor> {
    let tx = db.begin_platform(&console_platform()).await?;
    let session = live_in(&tx, presented, db.now(), true).await?;
    let role = tx
        .find::<role_row::Entity>()
        .filter(role_row::Column::AdministratorId.eq(session.administrator_id))
        .filter(role_row::Column::TenantId.eq(scope.tenant_id()))
        .one()
        .await?
        .ok_or(Error::Unauthenticated)?;
    tx.commit().await?;
    Ok(Actor::new(
        Principal::Administrator {
            id: session.administrator_id,
            roles: vec![stored_role(&role.role)?],
        },
        request_id,
    ))
}

/// The platform API with a console session: platform owners only.
pub async fn authenticate_platform(
    db: &Database,
    presented: Presented<'_>,
) -> Result<PlatformScope> {
    let tx = db.begin_platform(&console_platform()).await?;
    let session = live_in(&tx, presented, db.now(), true).await?;
    let administrator = administrator_in(&tx, session.administrator_id).await?;
    tx.commit().await?;
    if administrator.platform_role != Some(AdminRole::Owner) {
        return Err(Error::PermissionDenied);
    }
    Ok(PlatformScope::new(format!(
        "administrator:{}",
        administrator.id
    )))
}

/// Ends the session `presented` names.
pub async fn sign_out(db: &Database, presented: Presented<'_>) -> Result<()> {
    let tx = db.begin_platform(&console_platform()).await?;
    let session = live_in(&tx, presented, db.now(), true).await?;
    tx.delete_many::<session_row::Entity>()
        .filter(session_row::Column::Id.eq(session.id))
        .exec()
        .await?;
    tx.commit().await
}
