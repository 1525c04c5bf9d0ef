//! The tenant's organization roles: the built-ins and those defined per tenant.

use super::model::*;
use super::store::*;
use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::scope::TenantScope;
use crate::validate::Name;
use chrono::Utc;
use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{ColumnTrait, ExprTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

/// A role name: `[a-z][a-z0-9:_.-]{1,62}`; names starting with `org:` are the built-ins'.
pub(super) fn parse_role_name(input: &str) -> Result<String> {
    let ok = (2..=63).contains(&input.len())
        && input.starts_with(|c: char| c.is_ascii_lowercase())
        && input
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ":_.-".contains(c));
    if !ok {
        return Err(Error::validation(
            "name",
            "must be 2 to 63 characters of a-z, 0-9, ':', '_', '.' and '-', starting with a letter",
        ));
    }
    if input.starts_with("org:") {
        return Err(Error::validation(
            "name",
            "names starting with org: are reserved for the built-in roles",
        ));
    }
    Ok(input.to_owned())
}

pub(super) fn parse_permissions(inputs: &[String]) -> Result<Vec<String>> {
    if inputs.len() > 50 {
        return Err(Error::validation("permissions", "at most 50 permissions"));
    }
    let mut permissions: Vec<String> = Vec::new();
    for permission in inputs {
        let ok = !permission.is_empty()
            && permission.len() <= 100
            && permission
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":_.-/".contains(&b));
        if !ok {
            return Err(Error::validation(
                "permissions",
                format!(
                    "{permission:?} is not a permission name (a-z, 0-9, ':', '_', '.', '-', '/')"
                ),
            ));
        }
        if !permissions.contains(permission) {
            permissions.push(permission.clone());
        }
    }
    Ok(permissions)
}

/// Defines an organization role for the tenant. Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.create_organization_role", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_organization_role(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    name: &str,
    description: Option<&str>,
    permissions: &[String],
) -> Result<OrganizationRole> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let role = create_role_in(&tx, actor, name, description, permissions).await?;
    tx.commit().await?;
    Ok(role)
}

/// [`create_organization_role`] inside `tx`, audited (the caller has authorized it).
pub(crate) async fn create_role_in(
    tx: &TenantTx,
    actor: &Actor,
    name: &str,
    description: Option<&str>,
    permissions: &[String],
) -> Result<OrganizationRole> {
    let name = parse_role_name(name)?;
    let description = match description {
        Some(text) => Some(Name::parse("description", text, 500)?.into_inner()),
        None => None,
    };
    let permissions = parse_permissions(permissions)?;
    let mut named: Vec<String> = roles_in(tx)
        .await?
        .into_iter()
        .flat_map(|role| role.permissions)
        .chain(permissions.iter().cloned())
        .collect();
    named.sort();
    named.dedup();
    let total: usize = named.iter().map(String::len).sum();
    if total > MAX_PERMISSION_CHARACTERS {
        return Err(Error::validation(
            "permissions",
            format!(
                "the tenant's roles would name permissions of {total} characters in all; organization tokens carry them (org_permissions), so at most {MAX_PERMISSION_CHARACTERS}: reuse permission names or shorten them"
            ),
        ));
    }
    let row = tx
        .insert(role_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            name: Set(name),
            description: Set(description),
            permissions: Set(json!(permissions)),
            created_at: Set(Utc::now()),
        })
        .await
        .map_err(|e| conflict_on_unique(e, "a role with this name exists"))?;
    let role = OrganizationRole::try_from(row)?;
    record(
        tx,
        actor,
        "organization_role.create",
        "organization_role",
        role.id.unwrap_or_default(),
        json!({ "name": role.name, "permissions": role.permissions }),
    )
    .await?;
    Ok(role)
}

/// Deletes a tenant-defined role that no member holds. Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.delete_organization_role", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn delete_organization_role(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<OrganizationRole> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<role_row::Entity>()
        .filter(role_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let role = OrganizationRole::try_from(row)?;
    // The roles column is a JSON array of names; role names cannot contain quotes, so the
    // quoted name matches exactly that element.
    let quoted = format!("\"{}\"", role.name).replace('_', "\\_");
    let holders = tx
        .find::<member_row::Entity>()
        .filter(
            Expr::expr(Func::cast_as(Expr::col(member_row::Column::Roles), "TEXT"))
                .like(LikeExpr::new(format!("%{quoted}%")).escape('\\')),
        )
        .count()
        .await?;
    let granted = tx
        .find::<grant_row::Entity>()
        .filter(grant_row::Column::Role.eq(role.name.as_str()))
        .count()
        .await?;
    if holders + granted > 0 {
        return Err(Error::Conflict(format!(
            "{holders} member(s) hold this role and {granted} grant(s) give it; change their roles and revoke the grants (revokeOrganizationRole) first"
        )));
    }
    tx.delete_many::<role_row::Entity>()
        .filter(role_row::Column::Id.eq(id))
        .exec()
        .await?;
    record(
        &tx,
        actor,
        "organization_role.delete",
        "organization_role",
        id,
        json!({ "name": role.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(role)
}

/// The tenant's organization roles, built-ins first. Requires `ReadOrganizations`, or any
/// identity (so member UIs can show role names).
#[tracing::instrument(name = "core.list_organization_roles", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_organization_roles(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Vec<OrganizationRole>> {
    authorize(actor, Permission::ReadOrganizations, Resource::Directory)?;
    let tx = db.begin_tenant(scope).await?;
    let roles = roles_in(&tx).await?;
    tx.commit().await?;
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_checked_and_org_prefix_is_reserved() {
        assert!(parse_role_name("billing-admin").is_ok());
        assert!(parse_role_name("team:lead").is_ok());
        assert!(parse_role_name("org:owner").is_err());
        assert!(parse_role_name("Billing").is_err());
        assert!(parse_role_name("x").is_err());
        assert!(parse_permissions(&["invoices:read".into()]).is_ok());
        assert!(parse_permissions(&["has space".into()]).is_err());
    }

    #[test]
    fn the_built_in_admin_manages_members_and_the_member_reads() {
        let roles: Vec<_> = built_in_roles().collect();
        let admin = roles.iter().find(|r| r.name == ORG_ADMIN).unwrap();
        assert!(
            admin
                .permissions
                .iter()
                .any(|p| p == permission::WRITE_MEMBERS)
        );
        let member = roles.iter().find(|r| r.name == ORG_MEMBER).unwrap();
        assert!(
            !member
                .permissions
                .iter()
                .any(|p| p == permission::WRITE_MEMBERS)
        );
        assert!(member.built_in());
    }
}
