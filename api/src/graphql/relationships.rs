//! Partner delegation in the tenant API: relationships that give a `PARTNER` organization's
//! admins roles in a `CUSTOMER` organization for a window (`createOrganizationRelationship`,
//! `endOrganizationRelationship`, `organizationRelationships`), and the customers a partner's
//! admin administers (`viewer.customerOrganizations`).

use super::context::request;
use super::objects::{MembershipStatus, Organization};
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::organizations::{self as core_orgs, Window};

/// A partner's delegated administration of a customer organization.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrganizationRelationship {
    pub id: ID,
    /// The `PARTNER` organization whose admins act in the customer organization.
    pub partner_id: ID,
    /// The `CUSTOMER` organization.
    pub customer_id: ID,
    /// The roles the partner's admins hold in the customer organization.
    pub roles: Vec<String>,
    /// When it starts (open if null).
    pub valid_from: Option<DateTime<Utc>>,
    /// When it ends (open if null); ending it sets this to the moment it ended.
    pub valid_until: Option<DateTime<Utc>>,
    /// Whether it gives access now.
    pub status: MembershipStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<core_orgs::OrganizationRelationship> for OrganizationRelationship {
    fn from(relationship: core_orgs::OrganizationRelationship) -> Self {
        Self {
            id: ID(relationship.id.to_string()),
            partner_id: ID(relationship.partner_id.to_string()),
            customer_id: ID(relationship.customer_id.to_string()),
            roles: relationship.roles,
            valid_from: relationship.window.valid_from,
            valid_until: relationship.window.valid_until,
            status: relationship.status.into(),
            created_at: relationship.created_at,
            updated_at: relationship.updated_at,
        }
    }
}

/// A customer organization the viewer administers as an admin of a partner.
#[derive(SimpleObject, Clone, Debug)]
pub struct CustomerOrganization {
    pub organization: Organization,
    /// The roles the viewer holds there through the relationships in force.
    pub roles: Vec<String>,
    /// The relationships in force that give them.
    pub relationships: Vec<OrganizationRelationship>,
}

/// `viewer.customerOrganizations`.
pub(super) async fn customer_organizations(
    ctx: &Context<'_>,
) -> async_graphql::Result<Vec<CustomerOrganization>> {
    let (services, req) = request(ctx);
    let customers = core_orgs::delegated_customers(&services.db, &req.scope, &req.actor)
        .await
        .gql()?;
    Ok(customers
        .into_iter()
        .map(|customer| CustomerOrganization {
            organization: customer.organization.into(),
            roles: customer.roles,
            relationships: customer.relationships.into_iter().map(Into::into).collect(),
        })
        .collect())
}

#[derive(Default)]
pub struct RelationshipQuery;

#[Object]
impl RelationshipQuery {
    /// The relationships an organization is part of, as partner or customer (any status),
    /// oldest first: tenant admins, or whoever may read the organization.
    async fn organization_relationships(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> async_graphql::Result<Vec<OrganizationRelationship>> {
        let (services, req) = request(ctx);
        let id = parse_id("organizationId", &organization_id)?;
        let relationships =
            core_orgs::organization_relationships(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?;
        Ok(relationships.into_iter().map(Into::into).collect())
    }
}

#[derive(InputObject)]
pub struct CreateOrganizationRelationshipInput {
    /// A `PARTNER` organization of the tenant.
    pub partner_id: ID,
    /// A `CUSTOMER` organization of the tenant.
    pub customer_id: ID,
    /// The roles the partner's admins get in the customer organization (at least one).
    pub roles: Vec<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct EndOrganizationRelationshipInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct OrganizationRelationshipPayload {
    pub relationship: OrganizationRelationship,
}

#[derive(Default)]
pub struct RelationshipMutation;

#[Object]
impl RelationshipMutation {
    /// Gives a partner's admins delegated administration over a customer organization with
    /// `roles`, for a window; for two organizations already related, replaces the roles and
    /// window. Tenant admins only.
    async fn create_organization_relationship(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationRelationshipInput,
    ) -> async_graphql::Result<OrganizationRelationshipPayload> {
        let (services, req) = request(ctx);
        let new = core_orgs::NewRelationship {
            partner_id: parse_id("partnerId", &input.partner_id)?,
            customer_id: parse_id("customerId", &input.customer_id)?,
            roles: input.roles,
            window: Window {
                valid_from: input.valid_from,
                valid_until: input.valid_until,
            },
        };
        let relationship =
            core_orgs::create_relationship(&services.db, &req.scope, &req.actor, new)
                .await
                .gql()?;
        Ok(OrganizationRelationshipPayload {
            relationship: relationship.into(),
        })
    }

    /// Ends a relationship now: the partner's admins lose the access it gave at once.
    async fn end_organization_relationship(
        &self,
        ctx: &Context<'_>,
        input: EndOrganizationRelationshipInput,
    ) -> async_graphql::Result<OrganizationRelationshipPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let relationship = core_orgs::end_relationship(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(OrganizationRelationshipPayload {
            relationship: relationship.into(),
        })
    }
}
