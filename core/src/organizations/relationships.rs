//! Partner relationships: a `PARTNER` organization given delegated administration over a
//! `CUSTOMER` organization, for a window, with the roles the partner's admins (its members
//! holding `members:write` there) get in the customer organization. The rows, and the lookups
//! that find what an identity holds through them now.

use super::model::*;
use super::store::{grants_of, in_force, roles_in};
use super::window::{AccessStatus, Window};
use crate::db::TenantTx;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ExprTrait, QueryFilter};
use std::collections::HashMap;
use uuid::Uuid;

pub(super) mod relationship_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "organization_relationships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub partner_id: Uuid,
        pub customer_id: Uuid,
        pub roles: Json,
        pub valid_from: Option<DateTimeUtc>,
        pub valid_until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(relationship_row);

/// A partner's delegated administration of a customer organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationRelationship {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub customer_id: Uuid,
    /// The roles the partner's admins hold in the customer organization.
    pub roles: Vec<String>,
    pub window: Window,
    /// Where the time it was read falls in its window.
    pub status: AccessStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrganizationRelationship {
    /// A stored relationship as it stands at `now`.
    pub(super) fn read(row: relationship_row::Model, now: DateTime<Utc>) -> Result<Self> {
        let window = Window {
            valid_from: row.valid_from,
            valid_until: row.valid_until,
        };
        Ok(Self {
            id: row.id,
            partner_id: row.partner_id,
            customer_id: row.customer_id,
            roles: serde_json::from_value(row.roles).map_err(Error::internal)?,
            status: window.status(now),
            window,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What an identity holds in one customer organization through its partners now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Delegation {
    /// The roles of every relationship in force, each once.
    pub roles: Vec<String>,
    /// The relationships that give them.
    pub relationships: Vec<OrganizationRelationship>,
}

/// The partner organizations in which `identity_id` is an admin now: a membership in force
/// whose roles in force give `members:write`.
pub(crate) async fn partners_administered_in(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<Vec<Uuid>> {
    let now = tx.now();
    let memberships = in_force(tx.find::<member_row::Entity>(), now)
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .all()
        .await?
        .into_iter()
        .map(Membership::try_from)
        .collect::<Result<Vec<_>>>()?;
    if memberships.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = memberships.iter().map(|m| m.id).collect();
    let grants = grants_of(tx, &ids).await?;
    let roles = roles_in(tx).await?;
    Ok(memberships
        .iter()
        .filter(|membership| {
            let held = roles_in_force(membership, &grants, now);
            permissions_of(&roles, &held)
                .iter()
                .any(|p| p == permission::WRITE_MEMBERS)
        })
        .map(|membership| membership.organization_id)
        .collect())
}

/// The relationships in force of the partners `identity_id` administers, towards
/// `customer_ids` (every customer when `None`): what the identity holds through them, by
/// customer organization. Nothing (and no query beyond the memberships) for an identity that
/// administers no partner.
pub(crate) async fn delegations_in(
    tx: &TenantTx,
    identity_id: Uuid,
    customer_ids: Option<&[Uuid]>,
) -> Result<HashMap<Uuid, Delegation>> {
    if customer_ids.is_some_and(<[Uuid]>::is_empty) {
        return Ok(HashMap::new());
    }
    let partners = partners_administered_in(tx, identity_id).await?;
    if partners.is_empty() {
        return Ok(HashMap::new());
    }
    let mut query = tx
        .find::<relationship_row::Entity>()
        .filter(relationship_row::Column::PartnerId.is_in(partners));
    if let Some(customers) = customer_ids {
        query = query.filter(relationship_row::Column::CustomerId.is_in(customers.iter().copied()));
    }
    let now = tx.now();
    let mut delegations: HashMap<Uuid, Delegation> = HashMap::new();
    for row in query.all().await? {
        let relationship = OrganizationRelationship::read(row, now)?;
        if relationship.status != AccessStatus::Active {
            continue;
        }
        let delegation = delegations.entry(relationship.customer_id).or_default();
        for role in &relationship.roles {
            if !delegation.roles.contains(role) {
                delegation.roles.push(role.clone());
            }
        }
        delegation.relationships.push(relationship);
    }
    Ok(delegations)
}

/// Whether the identity's access to an organization comes through a relationship; the
/// transaction then names it in every audit record it writes.
pub(crate) fn note_delegation(tx: &TenantTx, identity_id: Uuid, delegation: &Delegation) {
    tx.act_through(serde_json::json!({
        "partnerAdminId": identity_id,
        "relationshipIds": delegation.relationships.iter().map(|r| r.id).collect::<Vec<_>>(),
        "partnerIds": delegation.relationships.iter().map(|r| r.partner_id).collect::<Vec<_>>(),
    }));
}

/// Whether the organization is the partner or the customer of a relationship that has not
/// ended (in force or still to start).
pub(crate) async fn unended_for(tx: &TenantTx, organization_id: Uuid) -> Result<bool> {
    Ok(tx
        .find::<relationship_row::Entity>()
        .filter(
            relationship_row::Column::PartnerId
                .eq(organization_id)
                .or(relationship_row::Column::CustomerId.eq(organization_id)),
        )
        .filter(
            relationship_row::Column::ValidUntil
                .is_null()
                .or(relationship_row::Column::ValidUntil.gt(tx.now())),
        )
        .count()
        .await?
        > 0)
}
