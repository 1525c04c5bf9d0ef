//! The tenant API's view of its administrators: who they are and their roles, the pending
//! invitations, inviting someone (an email with a one-time link into the console), cancelling
//! an invitation, changing a role and removing someone (their pending invitations end too). Reading needs `ReadAdministrators`; changing needs
//! `ManageAdministrators` (owners). The last owner can be neither demoted nor removed. A role
//! change or a removal ends the administrator's console sessions at once. Every query filters
//! by the caller's tenant.

use super::links::{
    INVITATION_DAYS, NewLink, Purpose, console_platform, enrolment_link, insert_link_in, mail_link,
};
use super::rows::{administrator_row, enrolment_row, role_row};
use super::sessions::end_sessions_in;
use super::{Administrator, stored_role};
use crate::actor::{Actor, AdminRole, Permission};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::catalogue;
use crate::db::{Database, PlatformTx};
use crate::error::{Error, Result};
use crate::mail::Mailer;
use crate::scope::TenantScope;
use crate::validate::Email;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

/// An administrator with their role in one tenant.
#[derive(Clone, Debug)]
pub struct TenantAdministrator {
    pub administrator: Administrator,
    pub role: AdminRole,
    pub granted_at: DateTime<Utc>,
}

/// An invitation not yet accepted.
#[derive(Clone, Debug)]
pub struct AdministratorInvitation {
    pub id: Uuid,
    pub email: String,
    pub role: AdminRole,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl TryFrom<enrolment_row::Model> for AdministratorInvitation {
    type Error = Error;

    fn try_from(row: enrolment_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            email: row.email.unwrap_or_default(),
            role: stored_role(row.role.as_deref().unwrap_or_default())?,
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}

async fn roles_in(tx: &PlatformTx, scope: &TenantScope) -> Result<Vec<role_row::Model>> {
    Ok(tx
        .find::<role_row::Entity>()
        .filter(role_row::Column::TenantId.eq(scope.tenant_id()))
        .all()
        .await?)
}

/// The same, locked until the transaction ends (PostgreSQL's `FOR UPDATE`; SQLite writes one
/// transaction at a time): two owners demoting each other at once are decided one after the
/// other, so the last owner stays.
async fn roles_locked_in(tx: &PlatformTx, scope: &TenantScope) -> Result<Vec<role_row::Model>> {
    Ok(tx
        .find::<role_row::Entity>()
        .filter(role_row::Column::TenantId.eq(scope.tenant_id()))
        .lock_exclusive()
        .all()
        .await?)
}

/// The tenant's administrators, by address.
pub async fn administrators(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Vec<TenantAdministrator>> {
    authorize(actor, Permission::ReadAdministrators, Resource::Tenant)?;
    let tx = db.begin_platform(&console_platform()).await?;
    let roles = roles_in(&tx, scope).await?;
    let people = tx
        .find::<administrator_row::Entity>()
        .filter(administrator_row::Column::Id.is_in(roles.iter().map(|role| role.administrator_id)))
        .order_by_asc(administrator_row::Column::EmailNormalized)
        .all()
        .await?;
    tx.commit().await?;
    people
        .into_iter()
        .filter_map(|person| {
            let role = roles
                .iter()
                .find(|role| role.administrator_id == person.id)?;
            Some((person, role.role.clone(), role.granted_at))
        })
        .map(|(person, role, granted_at)| {
            Ok(TenantAdministrator {
                administrator: person.try_into()?,
                role: stored_role(&role)?,
                granted_at,
            })
        })
        .collect()
}

/// The tenant's invitations that can still be accepted, newest first.
pub async fn invitations(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Vec<AdministratorInvitation>> {
    authorize(actor, Permission::ReadAdministrators, Resource::Tenant)?;
    let tx = db.begin_platform(&console_platform()).await?;
    let rows = pending_in(&tx, scope, db.now()).await?;
    tx.commit().await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// Records `action` on `target` (`administrator` or `administrator_invitation`, and its id)
/// in the tenant's audit log and commits `tx` with it.
async fn audited(
    tx: PlatformTx,
    scope: &TenantScope,
    actor: &Actor,
    (kind, target): (&'static str, Uuid),
    action: &str,
    data: Value,
) -> Result<()> {
    let (tenant_tx, _) = catalogue::enter_tenant(tx, scope.tenant_id()).await?;
    let target = target.to_string();
    audit::record(
        &tenant_tx,
        actor,
        action,
        Some(Target { kind, id: &target }),
        data,
    )
    .await?;
    tenant_tx.commit().await
}

/// Invites `email` as `role` of the tenant: stores a one-time link (7 days) and mails it.
pub async fn invite(
    db: &Database,
    mailer: &dyn Mailer,
    public_url: &str,
    scope: &TenantScope,
    actor: &Actor,
    email: &str,
    role: AdminRole,
) -> Result<AdministratorInvitation> {
    authorize(actor, Permission::ManageAdministrators, Resource::Tenant)?;
    let email = Email::parse("email", email)?;
    let tx = db.begin_platform(&console_platform()).await?;
    if let Some(person) = tx
        .find::<administrator_row::Entity>()
        .filter(administrator_row::Column::EmailNormalized.eq(email.normalized()))
        .one()
        .await?
        && roles_in(&tx, scope)
            .await?
            .iter()
            .any(|held| held.administrator_id == person.id)
    {
        return Err(Error::Conflict(
            "this person already administers the tenant; change their role instead".into(),
        ));
    }
    let (kind, id) = actor.audit_identity();
    let (token, row) = insert_link_in(
        &tx,
        NewLink {
            purpose: Purpose::Invitation,
            email: Some(email.as_str().to_owned()),
            administrator_id: None,
            tenant_id: Some(scope.tenant_id()),
            role: Some(role),
            platform_role: None,
            invited_by: Some(format!("{kind}:{}", id.unwrap_or_default())),
        },
        db.now(),
    )
    .await?;
    let invitation = AdministratorInvitation::try_from(row)?;
    audited(
        tx,
        scope,
        actor,
        ("administrator_invitation", invitation.id),
        "administrator.invite",
        json!({ "email": email.as_str(), "role": role.as_str() }),
    )
    .await?;
    mail_link(
        mailer,
        email.as_str(),
        &format!("You are invited to administer {} on Latchkey", scope.slug()),
        &format!(
            "You are invited to administer the tenant {} as {}.",
            scope.slug(),
            role.as_str()
        ),
        &enrolment_link(public_url, &token),
        &format!("in {INVITATION_DAYS} days"),
    )
    .await?;
    Ok(invitation)
}

/// The role row of administrator `id` in the tenant, `NotFound` if they hold none there, and
/// whether they are its last owner.
async fn held_in(tx: &PlatformTx, scope: &TenantScope, id: Uuid) -> Result<(AdminRole, bool)> {
    let roles = roles_locked_in(tx, scope).await?;
    let held = roles
        .iter()
        .find(|role| role.administrator_id == id)
        .ok_or(Error::NotFound)?;
    let role = stored_role(&held.role)?;
    let owners = roles
        .iter()
        .filter(|role| role.role == AdminRole::Owner.as_str())
        .count();
    Ok((role, role == AdminRole::Owner && owners == 1))
}

const LAST_OWNER: &str = "a tenant keeps at least one owner: make someone else owner first";

/// Gives administrator `id` the role `role` in the tenant and ends their console sessions.
pub async fn update_administrator(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    role: AdminRole,
) -> Result<TenantAdministrator> {
    authorize(actor, Permission::ManageAdministrators, Resource::Tenant)?;
    let now = db.now();
    let tx = db.begin_platform(&console_platform()).await?;
    let (held, last_owner) = held_in(&tx, scope, id).await?;
    if last_owner && role != AdminRole::Owner {
        return Err(Error::Conflict(LAST_OWNER.into()));
    }
    if held != role {
        tx.update_many::<role_row::Entity>()
            .col_expr(role_row::Column::Role, Expr::value(role.as_str()))
            .col_expr(role_row::Column::GrantedAt, Expr::value(now))
            .filter(role_row::Column::AdministratorId.eq(id))
            .filter(role_row::Column::TenantId.eq(scope.tenant_id()))
            .exec()
            .await?;
        end_sessions_in(&tx, id).await?;
    }
    let person: Administrator = tx
        .find::<administrator_row::Entity>()
        .filter(administrator_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?
        .try_into()?;
    if held == role {
        tx.commit().await?;
    } else {
        audited(
            tx,
            scope,
            actor,
            ("administrator", id),
            "administrator.role_change",
            json!({ "from": held.as_str(), "to": role.as_str() }),
        )
        .await?;
    }
    Ok(TenantAdministrator {
        administrator: person,
        role,
        granted_at: now,
    })
}

/// Takes administrator `id`'s role in the tenant away and ends their console sessions (they
/// keep their roles elsewhere).
pub async fn remove_administrator(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<()> {
    authorize(actor, Permission::ManageAdministrators, Resource::Tenant)?;
    let tx = db.begin_platform(&console_platform()).await?;
    let (held, last_owner) = held_in(&tx, scope, id).await?;
    if last_owner {
        return Err(Error::Conflict(LAST_OWNER.into()));
    }
    tx.delete_many::<role_row::Entity>()
        .filter(role_row::Column::AdministratorId.eq(id))
        .filter(role_row::Column::TenantId.eq(scope.tenant_id()))
        .exec()
        .await?;
    end_sessions_in(&tx, id).await?;
    // An invitation they have not used yet would bring them back: it ends too.
    let person = tx
        .find::<administrator_row::Entity>()
        .filter(administrator_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    for pending in pending_in(&tx, scope, db.now()).await? {
        let to_them = pending
            .email
            .as_deref()
            .and_then(|email| Email::parse("email", email).ok())
            .is_some_and(|email| email.normalized() == person.email_normalized);
        if to_them {
            end_link_in(&tx, pending.id, db.now()).await?;
        }
    }
    audited(
        tx,
        scope,
        actor,
        ("administrator", id),
        "administrator.remove",
        json!({ "role": held.as_str() }),
    )
    .await
}

/// Cancels a pending invitation of the tenant (its link no longer works). Requires the owner
/// role.
pub async fn cancel_invitation(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<()> {
    authorize(actor, Permission::ManageAdministrators, Resource::Tenant)?;
    let tx = db.begin_platform(&console_platform()).await?;
    let pending = pending_in(&tx, scope, db.now()).await?;
    let invitation = pending
        .iter()
        .find(|invitation| invitation.id == id)
        .ok_or(Error::NotFound)?;
    end_link_in(&tx, invitation.id, db.now()).await?;
    audited(
        tx,
        scope,
        actor,
        ("administrator_invitation", id),
        "administrator.invitation_cancel",
        json!({ "email": invitation.email }),
    )
    .await
}

/// The tenant's invitations that can still be accepted at `now`, newest first.
async fn pending_in(
    tx: &PlatformTx,
    scope: &TenantScope,
    now: DateTime<Utc>,
) -> Result<Vec<enrolment_row::Model>> {
    Ok(tx
        .find::<enrolment_row::Entity>()
        .filter(enrolment_row::Column::TenantId.eq(scope.tenant_id()))
        .filter(enrolment_row::Column::Purpose.eq(Purpose::Invitation.as_str()))
        .filter(enrolment_row::Column::UsedAt.is_null())
        .filter(enrolment_row::Column::ExpiresAt.gt(now))
        .order_by_desc(enrolment_row::Column::CreatedAt)
        .all()
        .await?)
}

/// Ends the link `id` (as if it had been used).
async fn end_link_in(tx: &PlatformTx, id: Uuid, now: DateTime<Utc>) -> Result<()> {
    tx.update_many::<enrolment_row::Entity>()
        .col_expr(enrolment_row::Column::UsedAt, Expr::value(now))
        .filter(enrolment_row::Column::Id.eq(id))
        .exec()
        .await?;
    Ok(())
}
