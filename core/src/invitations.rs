//! Invitations to join an organization. An invitation is for one email address and a set of
//! roles; its token (a 256-bit secret, stored as a SHA-256 hash) goes out by email as a link to
//! the tenant's hosted page, works once, and expires. The invitee signs up with a passkey (or
//! signs in) with that email address and accepts. Resending replaces the token; revoking or
//! accepting ends it.

use crate::actor::{Actor, Permission, Principal};
use crate::db::{Database, Query, TenantTx};
use crate::db::{DomainEvent, EventSubscriber};
use crate::email_templates::{Email as MailEmail, EmailTemplate};
use crate::ephemeral::{EphemeralStore, StoreKey};
use crate::error::{Error, Result};
use crate::identities;
use crate::mail::{Recipient, TenantMail};
use crate::organizations::{self, Member, Organization, Window, permission};
use crate::outbox::EventType;
use crate::page::{self, Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::secrets;
use crate::validate::Email;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Select, Set};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// Every invitation token starts with this.
pub const INVITATION_TOKEN_PREFIX: &str = "lki_";
/// How long an invitation (or a resent one) stays valid.
pub const INVITATION_TTL: Duration = Duration::days(7);

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "invitations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub email: String,
        pub email_normalized: String,
        pub roles: Json,
        pub token_hash: String,
        pub invited_by: Option<String>,
        pub created_at: DateTimeUtc,
        pub sent_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub accepted_at: Option<DateTimeUtc>,
        pub accepted_by: Option<Uuid>,
        pub revoked_at: Option<DateTimeUtc>,
        pub valid_from: Option<DateTimeUtc>,
        pub valid_until: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row);

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

/// What an invitation offers: roles, for a window.
#[derive(Clone, Copy, Debug)]
pub struct Offer<'a> {
    pub roles: &'a [String],
    pub window: Window,
}

impl<'a> Offer<'a> {
    /// `roles` from acceptance on, without an end.
    pub fn lasting(roles: &'a [String]) -> Self {
        Self {
            roles,
            window: Window::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
    /// The window of the membership it creates.
    pub window: Window,
    pub invited_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Invitation {
    pub fn status(&self) -> InvitationStatus {
        if self.accepted_at.is_some() {
            InvitationStatus::Accepted
        } else if self.revoked_at.is_some() {
            InvitationStatus::Revoked
        } else if self.expires_at <= Utc::now() {
            InvitationStatus::Expired
        } else {
            InvitationStatus::Pending
        }
    }
}

impl TryFrom<row::Model> for Invitation {
    type Error = Error;

    fn try_from(row: row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            organization_id: row.organization_id,
            email: row.email,
            roles: serde_json::from_value(row.roles).map_err(Error::internal)?,
            window: Window {
                valid_from: row.valid_from,
                valid_until: row.valid_until,
            },
            invited_by: row.invited_by,
            created_at: row.created_at,
            sent_at: row.sent_at,
            expires_at: row.expires_at,
            accepted_at: row.accepted_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// Invitation emails allowed per organization and hour, resends included: plenty for an
/// onboarding, too few to turn the tenant's mail into a relay for someone else's messages.
pub const INVITATIONS_PER_HOUR: u64 = 50;

/// What sending an invitation needs besides the database: the tenant's mail (the link is
/// `{page_url}?invitation=<token>`), and the store that counts sends.
pub struct Delivery<'a> {
    pub mail: TenantMail<'a>,
    pub store: &'a dyn EphemeralStore,
}

impl Delivery<'_> {
    /// Sends the invitation, reading the tenant's own text in `tx`. In the tenant's default
    /// language: the inviter's browser says nothing of the invitee's language.
    async fn send(
        &self,
        tx: &TenantTx,
        organization: &Organization,
        email: &str,
        token: &str,
    ) -> Result<()> {
        let sends = StoreKey::tenant(tx.scope(), "invitation-sends", &organization.id.to_string());
        let window = std::time::Duration::from_secs(3600);
        if self.store.increment(&sends, window).await? > INVITATIONS_PER_HOUR {
            return Err(Error::RateLimited {
                retry_after: window,
            });
        }
        let message = MailEmail::new(EmailTemplate::Invitation)
            .text("organization", organization.name.as_str())
            .text("email", email)
            .text("link", format!("{}?invitation={token}", self.mail.page_url))
            .number("days", INVITATION_TTL.num_days());
        self.mail
            .for_someone_else()
            .send_in(tx, &Recipient::address(email), &message)
            .await
    }
}

async fn find_row(tx: &TenantTx, id: Uuid) -> Result<row::Model> {
    tx.find::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

/// Invites `email` into an organization with `roles` and sends the link: tenant admins
/// (`WriteOrganizations`) or members with `members:write`. The row is written and the
/// message handed to the mailer in one transaction: if the mailer refuses, nothing is kept.
#[tracing::instrument(name = "core.invite_member", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn invite_member(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    delivery: &Delivery<'_>,
    organization_id: Uuid,
    email: &str,
    offer: Offer<'_>,
) -> Result<Invitation> {
    let email = Email::parse("email", email)?;
    let window = Window::checked(offer.window.valid_from, offer.window.valid_until)?;
    let roles = offer.roles;
    let tx = db.begin_tenant(scope).await?;
    organizations::authorize_in(
        &tx,
        actor,
        organization_id,
        organizations::Needs::WRITE_MEMBERS,
    )
    .await?;
    let organization = organizations::organization_in(&tx, organization_id).await?;
    let roles = organizations::check_roles(&tx, roles).await?;
    organizations::check_may_grant(&tx, actor, organization_id, None, &roles).await?;
    let token = secrets::generate(INVITATION_TOKEN_PREFIX);
    let now = Utc::now();
    let (by_type, by_id) = actor.audit_identity();
    let row = tx
        .insert(row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization_id),
            email: Set(email.as_str().to_owned()),
            email_normalized: Set(email.normalized().to_owned()),
            roles: Set(json!(roles)),
            token_hash: Set(secrets::hash(&token)),
            invited_by: Set(Some(match by_id {
                Some(id) => format!("{by_type}:{id}"),
                None => by_type.to_owned(),
            })),
            created_at: Set(now),
            sent_at: Set(now),
            expires_at: Set(now + INVITATION_TTL),
            accepted_at: Set(None),
            accepted_by: Set(None),
            revoked_at: Set(None),
            valid_from: Set(window.valid_from),
            valid_until: Set(window.valid_until),
        })
        .await?;
    let invitation = Invitation::try_from(row)?;
    organizations::record(
        &tx,
        actor,
        "organization.invitation.create",
        "organization",
        organization_id,
        json!({ "invitationId": invitation.id, "email": invitation.email, "roles": invitation.roles }),
    )
    .await?;
    delivery
        .send(&tx, &organization, &invitation.email, &token)
        .await?;
    tx.commit().await?;
    Ok(invitation)
}

/// A pending invitation the caller may manage (`members:write` in its organization).
async fn manageable(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<row::Model> {
    let row = find_row(tx, id).await?;
    organizations::authorize_in(
        tx,
        actor,
        row.organization_id,
        organizations::Needs::WRITE_MEMBERS,
    )
    .await?;
    Ok(row)
}

/// Sends a pending (or expired) invitation again with a new token and a new expiry; the old
/// link stops working.
#[tracing::instrument(name = "core.resend_invitation", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn resend_invitation(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    delivery: &Delivery<'_>,
    id: Uuid,
) -> Result<Invitation> {
    let tx = db.begin_tenant(scope).await?;
    let row = manageable(&tx, actor, id).await?;
    match Invitation::try_from(row.clone())?.status() {
        InvitationStatus::Accepted => {
            return Err(Error::Refused("the invitation was already accepted".into()));
        }
        InvitationStatus::Revoked => {
            return Err(Error::Refused(
                "the invitation was revoked; invite again".into(),
            ));
        }
        InvitationStatus::Pending | InvitationStatus::Expired => {}
    }
    let organization = organizations::organization_in(&tx, row.organization_id).await?;
    let token = secrets::generate(INVITATION_TOKEN_PREFIX);
    let now = Utc::now();
    let mut active: row::ActiveModel = row.into();
    active.token_hash = Set(secrets::hash(&token));
    active.sent_at = Set(now);
    active.expires_at = Set(now + INVITATION_TTL);
    let invitation = Invitation::try_from(tx.update(active).await?)?;
    organizations::record(
        &tx,
        actor,
        "organization.invitation.resend",
        "organization",
        invitation.organization_id,
        json!({ "invitationId": invitation.id, "email": invitation.email }),
    )
    .await?;
    delivery
        .send(&tx, &organization, &invitation.email, &token)
        .await?;
    tx.commit().await?;
    Ok(invitation)
}

/// Changes what the pending invitation of `email` into the organization offers (its roles and
/// the window of the membership it creates), without sending it again; `None` when no
/// invitation waits. Same permission as [`invite_member`]. For sources that keep an offer
/// current, such as a CRM contract whose dates moved.
#[tracing::instrument(name = "core.update_pending_offer", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn update_pending_offer(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    email_normalized: &str,
    offer: Offer<'_>,
) -> Result<Option<Invitation>> {
    let window = Window::checked(offer.window.valid_from, offer.window.valid_until)?;
    let tx = db.begin_tenant(scope).await?;
    organizations::authorize_in(
        &tx,
        actor,
        organization_id,
        organizations::Needs::WRITE_MEMBERS,
    )
    .await?;
    let Some(row) = pending_row_in(&tx, organization_id, email_normalized).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    let roles = organizations::check_roles(&tx, offer.roles).await?;
    organizations::check_may_grant(&tx, actor, organization_id, None, &roles).await?;
    let current = Invitation::try_from(row.clone())?;
    if current.roles == roles && current.window == window {
        tx.commit().await?;
        return Ok(Some(current));
    }
    let mut active: row::ActiveModel = row.into();
    active.roles = Set(json!(roles));
    active.valid_from = Set(window.valid_from);
    active.valid_until = Set(window.valid_until);
    let invitation = Invitation::try_from(tx.update(active).await?)?;
    organizations::record(
        &tx,
        actor,
        "organization.invitation.update",
        "organization",
        organization_id,
        json!({
            "invitationId": invitation.id,
            "roles": invitation.roles,
            "validFrom": window.valid_from,
            "validUntil": window.valid_until,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(invitation))
}

/// Revokes a pending invitation.
#[tracing::instrument(name = "core.revoke_invitation", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn revoke_invitation(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Invitation> {
    let tx = db.begin_tenant(scope).await?;
    let row = manageable(&tx, actor, id).await?;
    if row.accepted_at.is_some() {
        return Err(Error::Refused("the invitation was already accepted".into()));
    }
    let mut active: row::ActiveModel = row.into();
    active.revoked_at = Set(Some(Utc::now()));
    let invitation = Invitation::try_from(tx.update(active).await?)?;
    organizations::record(
        &tx,
        actor,
        "organization.invitation.revoke",
        "organization",
        invitation.organization_id,
        json!({ "invitationId": invitation.id, "email": invitation.email }),
    )
    .await?;
    tx.commit().await?;
    Ok(invitation)
}

/// An organization's invitations, oldest first; `pending_only` leaves out accepted, revoked and
/// expired ones. Tenant admins (`ReadOrganizations`) or members with `members:write`.
#[tracing::instrument(name = "core.list_invitations", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_invitations(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    pending_only: bool,
    page: PageRequest,
) -> Result<Page<Invitation>> {
    let tx = db.begin_tenant(scope).await?;
    organizations::authorize_in(
        &tx,
        actor,
        organization_id,
        organizations::Needs(Permission::ReadOrganizations, permission::WRITE_MEMBERS),
    )
    .await?;
    let query =
        invitations_in(&tx, pending_only).filter(row::Column::OrganizationId.eq(organization_id));
    let rows = keyset(query, row::Column::Id, page).await?;
    tx.commit().await?;
    rows.try_map(Invitation::try_from)
}

/// The first page (`first` invitations, oldest first, `pending_only` as in
/// [`list_invitations`]) of each of `organization_ids` whose invitations the actor may list, in
/// a fixed number of SQL statements whatever the number of organizations (for the GraphQL
/// DataLoader). Same permission as [`list_invitations`]; organizations missing from the answer
/// are not listable by the actor, and [`list_invitations`] says why.
#[tracing::instrument(name = "core.first_invitations", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn first_invitations(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_ids: &[Uuid],
    pending_only: bool,
    first: u64,
) -> Result<HashMap<Uuid, Page<Invitation>>> {
    let tx = db.begin_tenant(scope).await?;
    let allowed = organizations::permitted_in(
        &tx,
        actor,
        organization_ids,
        Permission::ReadOrganizations,
        permission::WRITE_MEMBERS,
    )
    .await?;
    let (rows, pages) = page::first_pages(
        invitations_in(&tx, pending_only),
        row::Column::OrganizationId,
        row::Column::Id,
        &allowed,
        first,
    )
    .await?;
    tx.commit().await?;
    let invitations = rows
        .into_iter()
        .map(Invitation::try_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(pages.split(invitations, |invitation| invitation.organization_id))
}

/// The tenant's invitations: all, or only the pending ones (neither accepted, revoked nor
/// expired).
fn invitations_in(tx: &TenantTx, pending_only: bool) -> Query<'_, Select<row::Entity>> {
    let query = tx.find::<row::Entity>();
    if !pending_only {
        return query;
    }
    query
        .filter(row::Column::AcceptedAt.is_null())
        .filter(row::Column::RevokedAt.is_null())
        .filter(row::Column::ExpiresAt.gt(Utc::now()))
}

/// The pending invitations into `organization_id` (all organizations when `None`) for
/// `email_normalized` (any address when `None`), oldest first.
pub(crate) async fn pending_in(
    tx: &TenantTx,
    organization_id: Option<Uuid>,
    email_normalized: Option<&str>,
) -> Result<Vec<Invitation>> {
    let mut query = invitations_in(tx, true);
    if let Some(id) = organization_id {
        query = query.filter(row::Column::OrganizationId.eq(id));
    }
    if let Some(email) = email_normalized {
        query = query.filter(row::Column::EmailNormalized.eq(email));
    }
    query
        .order_by_asc(row::Column::Id)
        .all()
        .await?
        .into_iter()
        .map(Invitation::try_from)
        .collect()
}

/// Whether `email` (normalised) has a pending invitation into the organization.
pub(crate) async fn pending_for(
    tx: &TenantTx,
    organization_id: Uuid,
    email_normalized: &str,
) -> Result<bool> {
    Ok(pending_row_in(tx, organization_id, email_normalized)
        .await?
        .is_some())
}

/// The pending invitation of `email` (normalised) into the organization, if any.
async fn pending_row_in(
    tx: &TenantTx,
    organization_id: Uuid,
    email_normalized: &str,
) -> Result<Option<row::Model>> {
    Ok(invitations_in(tx, true)
        .filter(row::Column::OrganizationId.eq(organization_id))
        .filter(row::Column::EmailNormalized.eq(email_normalized))
        .one()
        .await?)
}

/// `acceptInvitation`: the signed-in identity whose email the invitation was sent to becomes
/// a member with its roles. Each failure says why: unknown token, accepted already, revoked,
/// expired, or signed in with another email.
#[tracing::instrument(name = "core.accept_invitation", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn accept_invitation(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    token: &str,
) -> Result<Member> {
    let Principal::Identity {
        id: identity_id, ..
    } = *actor.principal()
    else {
        return Err(Error::Unauthenticated);
    };
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<row::Entity>()
        .filter(row::Column::TokenHash.eq(secrets::hash(token)))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    match Invitation::try_from(row.clone())?.status() {
        InvitationStatus::Pending => {}
        InvitationStatus::Accepted => {
            return Err(Error::Refused(
                "this invitation was already accepted".into(),
            ));
        }
        InvitationStatus::Revoked => {
            return Err(Error::Refused("this invitation was revoked".into()));
        }
        InvitationStatus::Expired => {
            return Err(Error::Refused(
                "this invitation has expired; ask for a new one".into(),
            ));
        }
    }
    let identity = identities::find_in(&tx, identity_id).await?;
    if identity.email_normalized != row.email_normalized {
        return Err(Error::Refused(format!(
            "this invitation is for {}; sign in with that email address",
            row.email
        )));
    }
    let roles: Vec<String> = serde_json::from_value(row.roles.clone()).map_err(Error::internal)?;
    let window = Window {
        valid_from: row.valid_from,
        valid_until: row.valid_until,
    };
    if let Some(until) = window.valid_until.filter(|until| *until <= tx.now()) {
        return Err(Error::Refused(format!(
            "the access this invitation offers ended at {until}; ask for a new invitation"
        )));
    }
    let membership = organizations::insert_membership_in(
        &tx,
        actor,
        row.organization_id,
        identity_id,
        &roles,
        window,
    )
    .await?;
    let (organization_id, invitation_id) = (row.organization_id, row.id);
    let mut active: row::ActiveModel = row.into();
    active.accepted_at = Set(Some(Utc::now()));
    active.accepted_by = Set(Some(identity_id));
    tx.update(active).await?;
    organizations::record(
        &tx,
        actor,
        "organization.invitation.accept",
        "organization",
        organization_id,
        json!({ "invitationId": invitation_id, "identityId": identity_id, "roles": roles }),
    )
    .await?;
    // The token reached the person at the invited address: that proves the address.
    if !identity.email_verified {
        identities::mark_email_verified_in(&tx, actor, identity_id).await?;
    }
    let member = organizations::member_of(&tx, membership).await?;
    tx.commit().await?;
    Ok(member)
}

/// Removes an organization's invitations (the organization is being deleted).
/// A deleted organization's invitations go with it.
#[derive(Debug, Default)]
pub struct InvitationReactions;

#[async_trait::async_trait]
impl EventSubscriber for InvitationReactions {
    async fn on_event(
        &self,
        tx: &TenantTx,
        _actor: &Actor,
        event: &DomainEvent,
        _changed: &[&'static str],
    ) -> Result<()> {
        if event.event_type == EventType::OrganizationDeleted.as_str() {
            delete_for_organization_in(tx, event.subject_id).await?;
        }
        Ok(())
    }
}

async fn delete_for_organization_in(tx: &TenantTx, organization_id: Uuid) -> Result<()> {
    tx.delete_many::<row::Entity>()
        .filter(row::Column::OrganizationId.eq(organization_id))
        .exec()
        .await?;
    Ok(())
}

/// The invitations sent to `email_normalized`, for its owner's data export (never a token).
pub(crate) async fn invitations_data_in(
    tx: &TenantTx,
    email_normalized: &str,
) -> Result<Vec<serde_json::Value>> {
    Ok(tx
        .find::<row::Entity>()
        .filter(row::Column::EmailNormalized.eq(email_normalized))
        .all()
        .await?
        .into_iter()
        .map(|row| {
            json!({
                "organizationId": row.organization_id,
                "roles": row.roles,
                "sentAt": row.sent_at,
                "expiresAt": row.expires_at,
                "acceptedAt": row.accepted_at,
                "revokedAt": row.revoked_at,
            })
        })
        .collect())
}

/// Removes the invitations sent to `email_normalized` (its account is being erased).
pub(crate) async fn erase_invitations_in(tx: &TenantTx, email_normalized: &str) -> Result<()> {
    tx.delete_many::<row::Entity>()
        .filter(row::Column::EmailNormalized.eq(email_normalized))
        .exec()
        .await?;
    Ok(())
}
