//! Partner delegation: tenant admins (and connectors) give a `PARTNER` organization delegated
//! administration over a `CUSTOMER` organization with `createOrganizationRelationship`, for a
//! window and with roles; the partner's admins then act in the customer organization within
//! those roles (see `access.rs`), their audit records naming the relationship. Ending the
//! relationship, or its end passing, ends that access at once: every decision reads the
//! relationship's window at the time of the request.

use super::access::{Needs, authorize_in};
use super::model::*;
use super::relationships::{OrganizationRelationship, delegations_in, relationship_row};
use super::store::{check_roles, find_org, record};
use super::window::Window;
use crate::actor::{Actor, Permission, Principal};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result, is_unique_violation};
use crate::scope::TenantScope;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ExprTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

/// What `createOrganizationRelationship` takes.
#[derive(Clone, Debug)]
pub struct NewRelationship {
    pub partner_id: Uuid,
    pub customer_id: Uuid,
    pub roles: Vec<String>,
    pub window: Window,
}

/// A customer organization a partner's admin administers, with what they hold there.
#[derive(Clone, Debug)]
pub struct DelegatedCustomer {
    pub organization: Organization,
    /// The roles the relationships in force give, each once.
    pub roles: Vec<String>,
    pub relationships: Vec<OrganizationRelationship>,
}

/// Records `action` on `relationship` in the audit log and commits the change.
async fn audited(
    tx: TenantTx,
    actor: &Actor,
    action: &str,
    relationship: OrganizationRelationship,
) -> Result<OrganizationRelationship> {
    let data = json!({
        "partnerId": relationship.partner_id,
        "customerId": relationship.customer_id,
        "roles": relationship.roles,
        "validFrom": relationship.window.valid_from,
        "validUntil": relationship.window.valid_until,
    });
    let kind = "organization_relationship";
    record(&tx, actor, action, kind, relationship.id, data).await?;
    tx.commit().await?;
    Ok(relationship)
}

/// An organization named by an input field: `BAD_USER_INPUT` on `field` when the tenant has
/// none of that id (another tenant's is not found here) or it is not of `kind`.
async fn organization_of_kind(
    tx: &TenantTx,
    field: &str,
    id: Uuid,
    kind: OrganizationKind,
) -> Result<Organization> {
    let organization = match find_org(tx, id).await {
        Ok(row) => Organization::try_from(row)?,
        Err(Error::NotFound) => {
            return Err(Error::validation(
                field,
                format!("{id} is not an organization of this tenant"),
            ));
        }
        Err(other) => return Err(other),
    };
    if organization.kind != kind {
        return Err(Error::validation(
            field,
            format!(
                "{:?} is a {} organization; a relationship runs from a partner to a customer",
                organization.name,
                organization.kind.as_str()
            ),
        ));
    }
    Ok(organization)
}

/// Gives a partner delegated administration over a customer (or replaces the roles and window
/// of the relationship the two have). Tenant admins and connectors only.
#[tracing::instrument(name = "core.create_organization_relationship", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_relationship(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    new: NewRelationship,
) -> Result<OrganizationRelationship> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    if new.partner_id == new.customer_id {
        return Err(Error::validation(
            "customerId",
            "a relationship needs two organizations",
        ));
    }
    let window = Window::checked(new.window.valid_from, new.window.valid_until)?;
    let tx = db.begin_tenant(scope).await?;
    organization_of_kind(&tx, "partnerId", new.partner_id, OrganizationKind::Partner).await?;
    organization_of_kind(
        &tx,
        "customerId",
        new.customer_id,
        OrganizationKind::Customer,
    )
    .await?;
    let roles = check_roles(&tx, &new.roles).await?;
    let now = Utc::now();
    let existing = tx
        .find::<relationship_row::Entity>()
        .filter(relationship_row::Column::PartnerId.eq(new.partner_id))
        .filter(relationship_row::Column::CustomerId.eq(new.customer_id))
        .one()
        .await?;
    let (relationship, action) = match existing {
        Some(row) => {
            let mut active: relationship_row::ActiveModel = row.into();
            active.roles = Set(json!(roles));
            active.valid_from = Set(window.valid_from);
            active.valid_until = Set(window.valid_until);
            active.updated_at = Set(now);
            (tx.update(active).await?, "organization_relationship.update")
        }
        None => {
            let inserted = tx
                .insert(relationship_row::ActiveModel {
                    tenant_id: Set(tx.tenant_id()),
                    id: Set(Uuid::now_v7()),
                    partner_id: Set(new.partner_id),
                    customer_id: Set(new.customer_id),
                    roles: Set(json!(roles)),
                    valid_from: Set(window.valid_from),
                    valid_until: Set(window.valid_until),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .await
                .map_err(|error| match is_unique_violation(&error) {
                    true => Error::Conflict(
                        "the two organizations were just related by another request; try again"
                            .into(),
                    ),
                    false => error.into(),
                })?;
            (inserted, "organization_relationship.create")
        }
    };
    let relationship = OrganizationRelationship::read(relationship, tx.now())?;
    audited(tx, actor, action, relationship).await
}

/// Ends a relationship now: the partner's admins lose the access it gave at once (the
/// relationship stays, expired, for the record). Tenant admins and connectors only.
#[tracing::instrument(name = "core.end_organization_relationship", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn end_relationship(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<OrganizationRelationship> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<relationship_row::Entity>()
        .filter(relationship_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let now = tx.now();
    let mut relationship = OrganizationRelationship::read(row, now)?;
    if relationship
        .window
        .valid_until
        .is_none_or(|until| until > now)
    {
        tx.update_many::<relationship_row::Entity>()
            .col_expr(relationship_row::Column::ValidUntil, Expr::value(now))
            .col_expr(relationship_row::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(relationship_row::Column::Id.eq(id))
            .exec()
            .await?;
        relationship.window.valid_until = Some(now);
        relationship.status = relationship.window.status(now);
        if relationship
            .window
            .valid_from
            .is_some_and(|from| from > now)
        {
            relationship.window.valid_from = Some(now);
            relationship.status = relationship.window.status(now);
            tx.update_many::<relationship_row::Entity>()
                .col_expr(relationship_row::Column::ValidFrom, Expr::value(now))
                .filter(relationship_row::Column::Id.eq(id))
                .exec()
                .await?;
        }
    }
    audited(tx, actor, "organization_relationship.end", relationship).await
}

/// The relationships an organization is part of, as partner or as customer (any status),
/// oldest first: tenant admins, or whoever may read the organization.
#[tracing::instrument(name = "core.organization_relationships", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn organization_relationships(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
) -> Result<Vec<OrganizationRelationship>> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(&tx, actor, organization_id, Needs::READ_ORGANIZATION).await?;
    // Tenant credentials pass for any id: one of another tenant is not found here.
    find_org(&tx, organization_id).await?;
    let rows = tx
        .find::<relationship_row::Entity>()
        .filter(
            relationship_row::Column::PartnerId
                .eq(organization_id)
                .or(relationship_row::Column::CustomerId.eq(organization_id)),
        )
        .order_by_asc(relationship_row::Column::Id)
        .all()
        .await?;
    let now = tx.now();
    tx.commit().await?;
    rows.into_iter()
        .map(|row| OrganizationRelationship::read(row, now))
        .collect()
}

/// The customer organizations the caller administers now through the partners it is an admin
/// of, by name; empty for anyone else.
#[tracing::instrument(name = "core.delegated_customers", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn delegated_customers(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Vec<DelegatedCustomer>> {
    let Principal::Identity { id, .. } = *actor.principal() else {
        return Ok(Vec::new());
    };
    let tx = db.begin_tenant(scope).await?;
    let delegations = delegations_in(&tx, id, None).await?;
    let mut customers = Vec::with_capacity(delegations.len());
    for (customer_id, delegation) in delegations {
        customers.push(DelegatedCustomer {
            organization: Organization::try_from(find_org(&tx, customer_id).await?)?,
            roles: delegation.roles,
            relationships: delegation.relationships,
        });
    }
    tx.commit().await?;
    customers.sort_by_key(|customer| customer.organization.name.to_lowercase());
    Ok(customers)
}
