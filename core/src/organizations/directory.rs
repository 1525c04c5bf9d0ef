//! The organizations themselves: create, change, delete, get and list.

use super::access::*;
use super::events::*;
use super::grants::remove_organization_grants_in;
use super::model::*;
use super::relationships;
use super::store::*;
use crate::actor::{Actor, Permission, Principal};
use crate::authz::{Resource, authorize};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::outbox::EventType;
use crate::page::{Page, PageRequest, contains_pattern, keyset};
use crate::scope::TenantScope;
use crate::session_store;
use crate::validate::{ExternalId, Name, Slug};
use chrono::Utc;
use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, ExprTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

pub(super) const MAX_METADATA_BYTES: usize = 16 * 1024;

pub(super) fn parse_metadata(value: Value) -> Result<Value> {
    if !value.is_object() {
        return Err(Error::validation("metadata", "must be a JSON object"));
    }
    if value.to_string().len() > MAX_METADATA_BYTES {
        return Err(Error::validation("metadata", "must be at most 16 KiB"));
    }
    Ok(value)
}

/// Creates an organization. Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.create_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_organization(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    new: NewOrganization,
) -> Result<Organization> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let org = create_in(&tx, actor, new).await?;
    tx.commit().await?;
    Ok(org)
}

/// [`create_organization`] inside `tx`, audited and published (the caller has authorized it).
pub(crate) async fn create_in(
    tx: &crate::db::TenantTx,
    actor: &Actor,
    new: NewOrganization,
) -> Result<Organization> {
    let name = Name::parse("name", &new.name, 200)?;
    let slug = Slug::parse("slug", &new.slug)?;
    let metadata = parse_metadata(new.metadata.unwrap_or_else(|| json!({})))?;
    let external_id = match new.external_id {
        Some(id) => Some(ExternalId::parse("externalId", &id)?.into_inner()),
        None => None,
    };
    let now = Utc::now();
    let row = tx
        .insert(org_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            name: Set(name.into_inner()),
            slug: Set(slug.as_str().to_owned()),
            kind: Set(new.kind.as_str().to_owned()),
            metadata: Set(metadata),
            external_id: Set(external_id),
            domain_policy: Set(DomainPolicy::None.as_str().to_owned()),
            authentication_policy: Set(AuthenticationPolicy::Any.as_str().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .await
        .map_err(|e| {
            conflict_on_unique(e, "an organization with this slug or external id exists")
        })?;
    let org = Organization::try_from(row)?;
    record(
        tx,
        actor,
        "organization.create",
        "organization",
        org.id,
        json!({ "name": org.name, "slug": org.slug, "kind": org.kind.as_str() }),
    )
    .await?;
    publish(tx, actor, EventType::OrganizationCreated, &org).await?;
    Ok(org)
}

/// Changes an organization: tenant admins (`WriteOrganizations`) or its members with
/// `organization:write`.
#[tracing::instrument(name = "core.update_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn update_organization(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    changes: OrganizationChanges,
) -> Result<Organization> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(&tx, actor, id, Needs::WRITE_ORGANIZATION).await?;
    // The kind and the external id (the CRM link) are the tenant's to decide.
    if matches!(*actor.principal(), Principal::Identity { .. })
        && (changes.kind.is_some() || changes.external_id.is_some())
    {
        return Err(Error::PermissionDenied);
    }
    let org = update_in(&tx, actor, id, changes).await?;
    tx.commit().await?;
    Ok(org)
}

/// [`update_organization`] inside `tx`, audited and published (the caller has authorized it).
pub(crate) async fn update_in(
    tx: &crate::db::TenantTx,
    actor: &Actor,
    id: Uuid,
    changes: OrganizationChanges,
) -> Result<Organization> {
    let row = find_org(tx, id).await?;
    let current_kind = row.kind.clone();
    let mut active: org_row::ActiveModel = row.into();
    if let Some(name) = changes.name {
        active.name = Set(Name::parse("name", &name, 200)?.into_inner());
    }
    if let Some(slug) = changes.slug {
        active.slug = Set(Slug::parse("slug", &slug)?.as_str().to_owned());
    }
    if let Some(kind) = changes.kind {
        // A relationship runs from a partner to a customer; it would no longer.
        if kind.as_str() != current_kind && relationships::unended_for(tx, id).await? {
            return Err(Error::Conflict(
                "the organization is part of a partner relationship that has not ended; end it (endOrganizationRelationship) before changing its kind".into(),
            ));
        }
        active.kind = Set(kind.as_str().to_owned());
    }
    if let Some(policy) = changes.domain_policy {
        active.domain_policy = Set(policy.as_str().to_owned());
    }
    if let Some(policy) = changes.authentication_policy {
        active.authentication_policy = Set(policy.as_str().to_owned());
    }
    if let Some(metadata) = changes.metadata {
        active.metadata = Set(parse_metadata(metadata)?);
    }
    if let Some(external_id) = changes.external_id {
        active.external_id = Set(match external_id {
            Some(id) => Some(ExternalId::parse("externalId", &id)?.into_inner()),
            None => None,
        });
    }
    active.updated_at = Set(Utc::now());
    let row = tx.update(active).await.map_err(|e| {
        conflict_on_unique(e, "an organization with this slug or external id exists")
    })?;
    let org = Organization::try_from(row)?;
    record(
        tx,
        actor,
        "organization.update",
        "organization",
        org.id,
        json!({ "name": org.name, "slug": org.slug, "kind": org.kind.as_str() }),
    )
    .await?;
    publish(tx, actor, EventType::OrganizationUpdated, &org).await?;
    Ok(org)
}

/// Deletes an organization with its memberships, and revokes the sessions scoped to it.
/// Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.delete_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn delete_organization(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Organization> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let org = delete_in(&tx, actor, id).await?;
    tx.commit().await?;
    Ok(org)
}

/// [`delete_organization`] inside `tx`, audited and published (the caller has authorized it).
pub(crate) async fn delete_in(
    tx: &crate::db::TenantTx,
    actor: &Actor,
    id: Uuid,
) -> Result<Organization> {
    let org = Organization::try_from(find_org(tx, id).await?)?;
    session_store::revoke_organization_sessions_in(tx, id, None).await?;
    // Its invitations and domains go with it (their modules subscribe to the event), before
    // the rows they point to.
    publish(tx, actor, EventType::OrganizationDeleted, &org).await?;
    remove_organization_grants_in(tx, id).await?;
    super::entitlements::remove_organization_entitlements_in(tx, id).await?;
    tx.delete_many::<member_row::Entity>()
        .filter(member_row::Column::OrganizationId.eq(id))
        .exec()
        .await?;
    tx.delete_many::<org_row::Entity>()
        .filter(org_row::Column::Id.eq(id))
        .exec()
        .await?;
    record(
        tx,
        actor,
        "organization.delete",
        "organization",
        id,
        json!({ "name": org.name, "slug": org.slug }),
    )
    .await?;
    Ok(org)
}

/// One organization: tenant admins (`ReadOrganizations`) or its members with
/// `organization:read`.
#[tracing::instrument(name = "core.get_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn get_organization(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Organization> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(&tx, actor, id, Needs::READ_ORGANIZATION).await?;
    let org = Organization::try_from(find_org(&tx, id).await?)?;
    tx.commit().await?;
    Ok(org)
}

/// The tenant's organizations, oldest first. Requires `ReadOrganizations`.
#[tracing::instrument(name = "core.list_organizations", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_organizations(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    filter: OrganizationFilter,
    page: PageRequest,
) -> Result<Page<Organization>> {
    authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let mut condition = Condition::all();
    if let Some(kind) = filter.kind {
        condition = condition.add(org_row::Column::Kind.eq(kind.as_str()));
    }
    if let Some(search) = filter.search.filter(|s| !s.trim().is_empty()) {
        let pattern = contains_pattern(&search);
        condition = condition.add(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col(org_row::Column::Name)))
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(Expr::col(org_row::Column::Slug).like(LikeExpr::new(pattern).escape('\\'))),
        );
    }
    let query = tx.find::<org_row::Entity>().filter(condition);
    let rows = keyset(query, org_row::Column::Id, page).await?;
    tx.commit().await?;
    rows.try_map(Organization::try_from)
}
