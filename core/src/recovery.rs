//! Account recovery that waits for an administrator (tenant setting
//! `recovery_requires_approval`). The person proves the address (a `RECOVERY` email proof) and
//! files a request; an administrator approves it, and Latchkey emails a registration link to
//! the account's address (so the link, too, reaches only the address's owner), or declines it.
//! Without the setting, recovery needs no request: the proof registers a passkey at once
//! (`passkeys::registration`).

use crate::actor::{Actor, Permission};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::email_proof::{self, Purpose, Verifications};
use crate::email_templates::{Email, EmailTemplate};
use crate::error::{Error, Result};
use crate::identities::{self, Identity, IdentityStatus};
use crate::mail::{Recipient, TenantMail};
use crate::notices::{Notice, send_notice};
use crate::page::{Page, PageRequest, keyset};
use crate::passkeys::insert_registration_link_in;
use crate::scope::TenantScope;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

/// How long the link an approval sends works.
pub const APPROVED_LINK_TTL: Duration = Duration::days(1);

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "recovery_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub identity_id: Uuid,
        pub status: String,
        pub ip_address: Option<String>,
        pub created_at: DateTimeUtc,
        pub decided_at: Option<DateTimeUtc>,
        pub decided_by: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row);

/// Where a recovery request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryRequestStatus {
    Pending,
    Approved,
    Declined,
}

impl RecoveryRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryRequestStatus::Pending => "pending",
            RecoveryRequestStatus::Approved => "approved",
            RecoveryRequestStatus::Declined => "declined",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "pending" => Ok(RecoveryRequestStatus::Pending),
            "approved" => Ok(RecoveryRequestStatus::Approved),
            "declined" => Ok(RecoveryRequestStatus::Declined),
            other => Err(Error::internal(format!(
                "unknown recovery request status {other:?}"
            ))),
        }
    }
}

/// A request to recover an account.
#[derive(Clone, Debug)]
pub struct RecoveryRequest {
    pub id: Uuid,
    pub identity: Identity,
    pub status: RecoveryRequestStatus,
    pub ip_address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

async fn with_identity(tx: &TenantTx, row: row::Model) -> Result<RecoveryRequest> {
    Ok(RecoveryRequest {
        id: row.id,
        identity: identities::find_in(tx, row.identity_id).await?,
        status: RecoveryRequestStatus::parse(&row.status)?,
        ip_address: row.ip_address,
        created_at: row.created_at,
        decided_at: row.decided_at,
    })
}

fn target(id: &str) -> Option<Target<'_>> {
    Some(Target {
        kind: "recovery_request",
        id,
    })
}

/// `requestAccountRecovery`: spends a `RECOVERY` proof and files a request for the account of
/// the address (or answers the one already pending). Anonymous; the owner gets a notice.
#[tracing::instrument(name = "core.request_account_recovery", skip_all, fields(tenant.id = %verifications.scope.tenant_id()))]
pub async fn request_account_recovery(
    verifications: &Verifications<'_>,
    email_proof: &str,
) -> Result<RecoveryRequest> {
    if !verifications.settings.recovery_requires_approval {
        return Err(Error::Refused(
            "recovery needs no approval in this tenant: register a new passkey with \
             beginPasskeyRegistration and this emailProof"
                .into(),
        ));
    }
    let now = verifications.clock.now();
    let tx = verifications.db.begin_tenant(verifications.scope).await?;
    let proven = email_proof::check_proof_in(&tx, now, email_proof, &[Purpose::Recovery]).await?;
    let identity = identities::find_by_email(&tx, &proven.email_normalized)
        .await?
        .filter(|identity| identity.status == IdentityStatus::Active)
        .ok_or_else(|| Error::Refused("no active account has this address".into()))?;
    email_proof::spend_proof_in(&tx, now, &proven).await?;
    let pending = tx
        .find::<row::Entity>()
        .filter(row::Column::IdentityId.eq(identity.id))
        .filter(row::Column::Status.eq(RecoveryRequestStatus::Pending.as_str()))
        .one()
        .await?;
    let row = match pending {
        Some(row) => row,
        None => {
            let row = tx
                .insert(row::ActiveModel {
                    tenant_id: Set(tx.tenant_id()),
                    id: Set(Uuid::now_v7()),
                    identity_id: Set(identity.id),
                    status: Set(RecoveryRequestStatus::Pending.as_str().to_owned()),
                    ip_address: Set(verifications.client_ip.map(str::to_owned)),
                    created_at: Set(now),
                    decided_at: Set(None),
                    decided_by: Set(None),
                })
                .await?;
            let id = row.id.to_string();
            audit::record(
                &tx,
                verifications.actor,
                "identity.recovery_request.create",
                target(&id),
                json!({ "identityId": identity.id, "ipAddress": verifications.client_ip }),
            )
            .await?;
            row
        }
    };
    let request = with_identity(&tx, row).await?;
    tx.commit().await?;
    send_notice(
        &verifications.mail,
        &Recipient::identity(&identity),
        Notice::RecoveryRequested,
    )
    .await;
    Ok(request)
}

/// Recovery requests, oldest first, optionally only those with `status`. Requires
/// `ReadIdentities`.
#[tracing::instrument(name = "core.list_recovery_requests", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_recovery_requests(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    status: Option<RecoveryRequestStatus>,
    page: PageRequest,
) -> Result<Page<RecoveryRequest>> {
    authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let mut query = tx.find::<row::Entity>();
    if let Some(status) = status {
        query = query.filter(row::Column::Status.eq(status.as_str()));
    }
    let rows = keyset(query, row::Column::Id, page).await?;
    let mut items = Vec::with_capacity(rows.items.len());
    for row in rows.items {
        items.push(with_identity(&tx, row).await?);
    }
    tx.commit().await?;
    Ok(Page {
        items,
        has_next_page: rows.has_next_page,
        total_count: rows.total_count,
    })
}

async fn decide(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
    status: RecoveryRequestStatus,
) -> Result<RecoveryRequest> {
    let row = tx
        .find::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    if row.status != RecoveryRequestStatus::Pending.as_str() {
        return Err(Error::Conflict(format!(
            "this recovery request was {} already",
            row.status
        )));
    }
    let mut active: row::ActiveModel = row.into();
    active.status = Set(status.as_str().to_owned());
    active.decided_at = Set(Some(Utc::now()));
    active.decided_by = Set(actor.audit_identity().1);
    let row = tx.update(active).await?;
    let id = row.id.to_string();
    let action = match status {
        RecoveryRequestStatus::Approved => "identity.recovery_request.approve",
        _ => "identity.recovery_request.decline",
    };
    audit::record(
        tx,
        actor,
        action,
        target(&id),
        json!({ "identityId": row.identity_id }),
    )
    .await?;
    with_identity(tx, row).await
}

/// Approves a pending request and emails a registration link (valid for
/// [`APPROVED_LINK_TTL`]) to the account's address. Requires `WriteIdentities`. If the mail
/// cannot be sent, nothing changes.
#[tracing::instrument(name = "core.approve_recovery_request", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn approve_recovery_request(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    mail: &TenantMail<'_>,
    id: Uuid,
) -> Result<RecoveryRequest> {
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let request = decide(&tx, actor, id, RecoveryRequestStatus::Approved).await?;
    if request.identity.status != IdentityStatus::Active {
        return Err(Error::Refused("the account is not active".into()));
    }
    let (token, _) =
        insert_registration_link_in(&tx, request.identity.id, APPROVED_LINK_TTL).await?;
    let email = Email::new(EmailTemplate::RecoveryApproved)
        .text("link", format!("{}?registration={token}", mail.page_url))
        .number("hours", APPROVED_LINK_TTL.num_hours());
    // The administrator's browser is not the owner's: the owner's locale or the tenant's.
    mail.for_someone_else()
        .send_in(&tx, &Recipient::identity(&request.identity), &email)
        .await?;
    tx.commit().await?;
    Ok(request)
}

/// Declines a pending request. Requires `WriteIdentities`.
#[tracing::instrument(name = "core.decline_recovery_request", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn decline_recovery_request(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<RecoveryRequest> {
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let request = decide(&tx, actor, id, RecoveryRequestStatus::Declined).await?;
    tx.commit().await?;
    Ok(request)
}

/// The recovery requests of `identity_id`, for its owner's data export.
pub(crate) async fn requests_data_in(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<Vec<serde_json::Value>> {
    Ok(tx
        .find::<row::Entity>()
        .filter(row::Column::IdentityId.eq(identity_id))
        .all()
        .await?
        .into_iter()
        .map(|row| {
            json!({
                "id": row.id,
                "status": row.status,
                "ipAddress": row.ip_address,
                "createdAt": row.created_at,
                "decidedAt": row.decided_at,
            })
        })
        .collect())
}

/// Removes the recovery requests of `identity_id` (its account is being erased).
pub(crate) async fn erase_requests_in(tx: &TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<row::Entity>()
        .filter(row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}
