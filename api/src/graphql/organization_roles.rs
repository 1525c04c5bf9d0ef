//! Organization roles: the built-in ones (`org:admin`, `org:member`) and the tenant's own,
//! with their permissions.

use super::context::request;
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::organizations as core_orgs;

/// An organization role: built in (`org:admin`, `org:member`; no id) or the tenant's own.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrganizationRole {
    pub id: Option<ID>,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub built_in: bool,
    pub created_at: Option<DateTime<Utc>>,
}

impl From<core_orgs::OrganizationRole> for OrganizationRole {
    fn from(role: core_orgs::OrganizationRole) -> Self {
        Self {
            built_in: role.built_in(),
            id: role.id.map(|id| ID(id.to_string())),
            name: role.name,
            description: role.description,
            permissions: role.permissions,
            created_at: role.created_at,
        }
    }
}

#[derive(Default)]
pub struct OrganizationRoleQuery;

#[Object]
impl OrganizationRoleQuery {
    /// The tenant's organization roles, built-ins first.
    async fn organization_roles(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<OrganizationRole>> {
        let (services, req) = request(ctx);
        let roles = core_orgs::list_organization_roles(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(roles.into_iter().map(Into::into).collect())
    }
}

#[derive(InputObject)]
pub struct CreateOrganizationRoleInput {
    pub name: String,
    pub description: Option<String>,
    #[graphql(default)]
    pub permissions: Vec<String>,
}

#[derive(SimpleObject)]
pub struct CreateOrganizationRolePayload {
    pub role: OrganizationRole,
}

#[derive(InputObject)]
pub struct DeleteOrganizationRoleInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DeleteOrganizationRolePayload {
    pub role: OrganizationRole,
}

#[derive(Default)]
pub struct OrganizationRoleMutation;

#[Object]
impl OrganizationRoleMutation {
    /// Defines an organization role for the tenant.
    async fn create_organization_role(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationRoleInput,
    ) -> async_graphql::Result<CreateOrganizationRolePayload> {
        let (services, req) = request(ctx);
        let role = core_orgs::create_organization_role(
            &services.db,
            &req.scope,
            &req.actor,
            &input.name,
            input.description.as_deref(),
            &input.permissions,
        )
        .await
        .gql()?;
        Ok(CreateOrganizationRolePayload { role: role.into() })
    }

    /// Deletes a tenant-defined role no member holds.
    async fn delete_organization_role(
        &self,
        ctx: &Context<'_>,
        input: DeleteOrganizationRoleInput,
    ) -> async_graphql::Result<DeleteOrganizationRolePayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let role = core_orgs::delete_organization_role(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(DeleteOrganizationRolePayload { role: role.into() })
    }
}
