//! A contact or company deleted in the CRM (a webhook says so, or HubSpot no longer has the
//! contact it names). What it does is the connector's `settings.onRemoteDelete`:
//!
//! * `UNLINK`: the link to the record goes (and the record, if it was waiting); the identity,
//!   the organization and the memberships stay.
//! * `REMOVE_MEMBERSHIP` (the default): also the memberships the connector's organizations
//!   gave. For a contact, its memberships of organizations linked to the connector's companies
//!   and its pending invitations into them; for a company, the memberships of its contacts
//!   (identities linked to the connector's contacts), the invitations the connector sent into
//!   it, its contracts and the entitlements they gave.
//! * `SUSPEND_IDENTITY`: the contact's identity (for a company: its contacts' identities) is
//!   suspended, which ends its sessions; for a company its contracts and their entitlements
//!   go too.
//!
//! Deleting people is never the CRM's decision: no action deletes an identity.

use super::contracts::{contract_row, source};
use super::{PullContext, connector_actor};
use crate::crm::connector::{Connector, RemoteDelete};
use crate::crm::records::{linked_subjects, record_row, remote_record};
use crate::crm::waiting;
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result};
use latchkey_core::granted;
use latchkey_core::identities::{self, Identity, IdentityStatus};
use latchkey_core::invitations;
use latchkey_core::organizations::{self, Organization};
use latchkey_core::scope::TenantScope;
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;

/// What kind of CRM record was deleted (HubSpot's contact and company ids can be equal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordKind {
    Contact,
    Company,
}

/// What a deleted record was linked to.
enum Subject {
    Contact(Box<Identity>),
    Company(Box<Organization>),
}

impl RecordKind {
    /// The kind an inbound event names (`company.deleted`, HubSpot's `company.deletion`).
    pub(crate) fn of_event(event: &str) -> RecordKind {
        if event.starts_with("company.") {
            RecordKind::Company
        } else {
            RecordKind::Contact
        }
    }
}

impl Subject {
    fn id(&self) -> Uuid {
        match self {
            Subject::Contact(identity) => identity.id,
            Subject::Company(organization) => organization.id,
        }
    }
}

/// What the deletion of a record takes away, read before anything changes.
#[derive(Default)]
struct Consequences {
    /// `(organization, identity)` memberships to remove.
    memberships: Vec<(Uuid, Uuid)>,
    invitations: Vec<Uuid>,
    /// Identities to suspend.
    suspend: Vec<Uuid>,
    /// An organization whose contracts (and their entitlements) go.
    contracts_of: Option<Uuid>,
}

/// Applies the deletion of CRM record `remote_id` by the connector's `onRemoteDelete`;
/// `true` when the record was linked to something.
pub(crate) async fn remote_deleted(
    db: &Database,
    scope: &TenantScope,
    context: &PullContext,
    connector: &Connector,
    (kind, remote_id): (RecordKind, &str),
) -> Result<bool> {
    let actor = connector_actor(context, connector.id);
    let action = connector.on_remote_delete();
    let tx = db.begin_tenant(scope).await?;
    let subject = subject(&tx, &actor, connector.id, (kind, remote_id)).await?;
    let consequences = match (&subject, action) {
        (None, _) | (_, RemoteDelete::Unlink) => Consequences::default(),
        (Some(subject), action) => consequences(&tx, &actor, connector, subject, action).await?,
    };
    tx.commit().await?;
    for (organization_id, identity_id) in consequences.memberships {
        match organizations::remove_member(db, scope, &actor, organization_id, identity_id).await {
            Ok(_) | Err(Error::NotFound) => {}
            Err(error) => return Err(error),
        }
    }
    for id in consequences.invitations {
        match invitations::revoke_invitation(db, scope, &actor, id).await {
            Ok(_) | Err(Error::NotFound) | Err(Error::Refused(_)) => {}
            Err(error) => return Err(error),
        }
    }
    for id in consequences.suspend {
        identities::set_identity_status(db, scope, &actor, id, IdentityStatus::Suspended).await?;
    }
    if let Some(organization_id) = consequences.contracts_of {
        end_contracts(db, scope, &actor, connector, organization_id).await?;
    }
    let tx = db.begin_tenant(scope).await?;
    if let Some(subject) = &subject {
        tx.delete_many::<record_row::Entity>()
            .filter(record_row::Column::ConnectorId.eq(connector.id))
            .filter(record_row::Column::SubjectId.eq(subject.id()))
            .exec()
            .await?;
    }
    if kind == RecordKind::Contact {
        waiting::forget_in(&tx, connector.id, remote_id).await?;
    }
    tx.commit().await?;
    Ok(subject.is_some())
}

/// The live identity (for a contact) or the organization (for a company) the connector's
/// record `remote_id` is linked to.
async fn subject(
    tx: &TenantTx,
    actor: &Actor,
    connector_id: Uuid,
    (kind, remote_id): (RecordKind, &str),
) -> Result<Option<Subject>> {
    let read_identities = authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let read_organizations = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    for id in linked_subjects(tx, connector_id, remote_id).await? {
        let found = match kind {
            RecordKind::Contact => {
                granted::identity(tx, &read_identities, id)
                    .await
                    .map(|identity| {
                        (identity.deleted_at.is_none())
                            .then(|| Subject::Contact(Box::new(identity)))
                    })
            }
            RecordKind::Company => granted::organization(tx, &read_organizations, id)
                .await
                .map(|organization| Some(Subject::Company(Box::new(organization)))),
        };
        match found {
            Ok(Some(subject)) => return Ok(Some(subject)),
            Ok(None) | Err(Error::NotFound) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

async fn consequences(
    tx: &TenantTx,
    actor: &Actor,
    connector: &Connector,
    subject: &Subject,
    action: RemoteDelete,
) -> Result<Consequences> {
    let read = &authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let identities = authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let linked = |id: Uuid| remote_record(tx, connector.id, id);
    let mut out = Consequences::default();
    match subject {
        Subject::Contact(identity) => {
            if action == RemoteDelete::SuspendIdentity {
                if identity.status == IdentityStatus::Active {
                    out.suspend.push(identity.id);
                }
                return Ok(out);
            }
            for membership in granted::memberships(tx, read, None, Some(identity.id)).await? {
                if linked(membership.organization_id).await?.is_some() {
                    out.memberships
                        .push((membership.organization_id, identity.id));
                }
            }
            let email = Some(identity.email_normalized.as_str());
            for invitation in granted::pending_invitations(tx, read, None, email).await? {
                if linked(invitation.organization_id).await?.is_some() {
                    out.invitations.push(invitation.id);
                }
            }
        }
        Subject::Company(organization) => {
            out.contracts_of = Some(organization.id);
            for membership in granted::memberships(tx, read, Some(organization.id), None).await? {
                if linked(membership.identity_id).await?.is_none() {
                    continue;
                }
                match action {
                    RemoteDelete::SuspendIdentity => {
                        let identity =
                            granted::identity(tx, &identities, membership.identity_id).await?;
                        if identity.status == IdentityStatus::Active {
                            out.suspend.push(identity.id);
                        }
                    }
                    _ => out
                        .memberships
                        .push((organization.id, membership.identity_id)),
                }
            }
            if action == RemoteDelete::RemoveMembership {
                let sender = match actor.audit_identity() {
                    (kind, Some(id)) => format!("{kind}:{id}"),
                    (kind, None) => kind.to_owned(),
                };
                for invitation in
                    granted::pending_invitations(tx, read, Some(organization.id), None).await?
                {
                    if invitation.invited_by.as_deref() == Some(sender.as_str()) {
                        out.invitations.push(invitation.id);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Forgets the connector's contracts of an organization and revokes the entitlements they
/// gave (the company is gone from the CRM).
async fn end_contracts(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    connector: &Connector,
    organization_id: Uuid,
) -> Result<()> {
    let read = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    tx.delete_many::<contract_row::Entity>()
        .filter(contract_row::Column::ConnectorId.eq(connector.id))
        .filter(contract_row::Column::OrganizationId.eq(organization_id))
        .exec()
        .await?;
    let held = granted::organization_entitlements(&tx, &read, organization_id).await?;
    tx.commit().await?;
    let ours = source(connector.id);
    for held in held
        .iter()
        .filter(|h| h.source.as_deref() == Some(ours.as_str()))
    {
        organizations::revoke_entitlement(db, scope, actor, organization_id, &held.key).await?;
    }
    Ok(())
}
