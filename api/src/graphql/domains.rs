//! Verified domains of organizations and join requests: `addVerifiedDomain`, `verifyDomain`,
//! `markDomainVerified`, `removeVerifiedDomain`, `approveJoinRequest`, `declineJoinRequest`.

use super::context::request;
use super::objects::{Identity, Membership};
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::domains::{
    self as core_domains, JoinRequestStatus as CoreStatus, VerificationMethod as CoreMethod,
};

/// How a domain was verified.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum VerificationMethod {
    /// Its TXT record was found.
    Dns,
    /// A tenant admin verified it by hand.
    Manual,
}

/// A domain an organization claims.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrganizationDomain {
    pub id: ID,
    pub organization_id: ID,
    /// Lower case, such as `example.com`.
    pub domain: String,
    pub verified: bool,
    pub verified_at: Option<DateTime<Utc>>,
    pub verification_method: Option<VerificationMethod>,
    /// The TXT record that proves the organization controls the domain: publish a record
    /// named `txtRecordName` with the value `txtRecordValue`, then call `verifyDomain`.
    pub txt_record_name: String,
    pub txt_record_value: String,
    pub created_at: DateTime<Utc>,
}

impl From<core_domains::OrganizationDomain> for OrganizationDomain {
    fn from(domain: core_domains::OrganizationDomain) -> Self {
        Self {
            id: ID(domain.id.to_string()),
            organization_id: ID(domain.organization_id.to_string()),
            domain: domain.domain,
            verified: domain.verified_at.is_some(),
            verified_at: domain.verified_at,
            verification_method: domain.verification_method.map(|method| match method {
                CoreMethod::Dns => VerificationMethod::Dns,
                CoreMethod::Manual => VerificationMethod::Manual,
            }),
            txt_record_name: domain.record_name,
            txt_record_value: domain.record_value,
            created_at: domain.created_at,
        }
    }
}

/// Where a join request stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JoinRequestStatus {
    Pending,
    Approved,
    Declined,
}

impl From<JoinRequestStatus> for CoreStatus {
    fn from(status: JoinRequestStatus) -> Self {
        match status {
            JoinRequestStatus::Pending => CoreStatus::Pending,
            JoinRequestStatus::Approved => CoreStatus::Approved,
            JoinRequestStatus::Declined => CoreStatus::Declined,
        }
    }
}

/// Someone who signed up at a verified domain and asks to join the organization.
#[derive(SimpleObject, Clone, Debug)]
pub struct JoinRequest {
    pub id: ID,
    pub organization_id: ID,
    pub identity: Identity,
    /// The verified domain of their email address.
    pub domain: String,
    pub status: JoinRequestStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<core_domains::JoinRequest> for JoinRequest {
    fn from(request: core_domains::JoinRequest) -> Self {
        Self {
            id: ID(request.id.to_string()),
            organization_id: ID(request.organization_id.to_string()),
            identity: request.identity.into(),
            domain: request.domain,
            status: match request.status {
                CoreStatus::Pending => JoinRequestStatus::Pending,
                CoreStatus::Approved => JoinRequestStatus::Approved,
                CoreStatus::Declined => JoinRequestStatus::Declined,
            },
            created_at: request.created_at,
            decided_at: request.decided_at,
        }
    }
}

#[derive(InputObject)]
pub struct AddVerifiedDomainInput {
    pub organization_id: ID,
    /// Such as `example.com`; internationalized names in their `xn--` form.
    pub domain: String,
}

#[derive(InputObject)]
pub struct DomainIdInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct DomainPayload {
    pub domain: OrganizationDomain,
}

#[derive(InputObject)]
pub struct ApproveJoinRequestInput {
    pub id: ID,
    /// The roles to give; `org:member` when empty.
    #[graphql(default)]
    pub roles: Vec<String>,
}

#[derive(InputObject)]
pub struct JoinRequestIdInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct JoinRequestPayload {
    pub join_request: JoinRequest,
    /// The new membership, when the request was approved.
    pub membership: Option<Membership>,
}

#[derive(Default)]
pub struct DomainMutation;

#[Object]
impl DomainMutation {
    /// Claims an email domain for an organization and answers the TXT record that verifies
    /// it (tenant admins, or members with `organization:write`).
    async fn add_verified_domain(
        &self,
        ctx: &Context<'_>,
        input: AddVerifiedDomainInput,
    ) -> async_graphql::Result<DomainPayload> {
        let (services, req) = request(ctx);
        let organization_id = parse_id("organizationId", &input.organization_id)?;
        let domain = core_domains::add_domain(
            &services.db,
            &req.scope,
            &req.actor,
            organization_id,
            &input.domain,
        )
        .await
        .gql()?;
        Ok(DomainPayload {
            domain: domain.into(),
        })
    }

    /// Looks up the domain's TXT record and marks the domain verified when it holds the
    /// token; otherwise the error says what was found.
    async fn verify_domain(
        &self,
        ctx: &Context<'_>,
        input: DomainIdInput,
    ) -> async_graphql::Result<DomainPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let domain =
            core_domains::verify_domain(&services.db, &req.scope, &req.actor, &services.dns, id)
                .await
                .gql()?;
        Ok(DomainPayload {
            domain: domain.into(),
        })
    }

    /// Marks a domain verified without DNS. Tenant admins only.
    async fn mark_domain_verified(
        &self,
        ctx: &Context<'_>,
        input: DomainIdInput,
    ) -> async_graphql::Result<DomainPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let domain = core_domains::mark_domain_verified(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(DomainPayload {
            domain: domain.into(),
        })
    }

    /// Removes a domain from its organization.
    async fn remove_verified_domain(
        &self,
        ctx: &Context<'_>,
        input: DomainIdInput,
    ) -> async_graphql::Result<DomainPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let domain = core_domains::remove_domain(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(DomainPayload {
            domain: domain.into(),
        })
    }

    /// Approves a pending join request: the identity becomes a member with `roles` (tenant
    /// admins, or members with `members:write` granting roles they hold).
    async fn approve_join_request(
        &self,
        ctx: &Context<'_>,
        input: ApproveJoinRequestInput,
    ) -> async_graphql::Result<JoinRequestPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let (join_request, member) = core_domains::decide_join_request(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            Some(input.roles),
        )
        .await
        .gql()?;
        Ok(JoinRequestPayload {
            join_request: join_request.into(),
            membership: member.map(Membership::from),
        })
    }

    /// Declines a pending join request.
    async fn decline_join_request(
        &self,
        ctx: &Context<'_>,
        input: JoinRequestIdInput,
    ) -> async_graphql::Result<JoinRequestPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let (join_request, _) =
            core_domains::decide_join_request(&services.db, &req.scope, &req.actor, id, None)
                .await
                .gql()?;
        Ok(JoinRequestPayload {
            join_request: join_request.into(),
            membership: None,
        })
    }
}
