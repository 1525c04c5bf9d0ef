//! Account recovery that waits for an administrator (`recoveryRequiresApproval`): the person
//! files `requestAccountRecovery` with a `RECOVERY` proof; admins list, approve and decline.

use super::context::request;
use super::objects::Identity;
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::recovery::{
    self as core_recovery, RecoveryRequest as CoreRequest, RecoveryRequestStatus as CoreStatus,
};

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryRequestStatus {
    Pending,
    Approved,
    Declined,
}

impl From<RecoveryRequestStatus> for CoreStatus {
    fn from(status: RecoveryRequestStatus) -> Self {
        match status {
            RecoveryRequestStatus::Pending => CoreStatus::Pending,
            RecoveryRequestStatus::Approved => CoreStatus::Approved,
            RecoveryRequestStatus::Declined => CoreStatus::Declined,
        }
    }
}

/// A request to recover an account (register a new passkey) that waits for an admin.
#[derive(SimpleObject, Clone)]
pub struct RecoveryRequest {
    pub id: ID,
    pub identity: Identity,
    pub status: RecoveryRequestStatus,
    /// The address the request came from.
    pub ip_address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<CoreRequest> for RecoveryRequest {
    fn from(request: CoreRequest) -> Self {
        Self {
            id: ID(request.id.to_string()),
            identity: request.identity.into(),
            status: match request.status {
                CoreStatus::Pending => RecoveryRequestStatus::Pending,
                CoreStatus::Approved => RecoveryRequestStatus::Approved,
                CoreStatus::Declined => RecoveryRequestStatus::Declined,
            },
            ip_address: request.ip_address,
            created_at: request.created_at,
            decided_at: request.decided_at,
        }
    }
}

#[derive(InputObject)]
pub struct RequestAccountRecoveryInput {
    /// A `RECOVERY` proof from `completeEmailVerification`.
    pub email_proof: String,
}

#[derive(InputObject)]
pub struct DecideRecoveryRequestInput {
    pub request_id: ID,
}

#[derive(SimpleObject)]
pub struct RecoveryRequestPayload {
    pub request: RecoveryRequest,
}

#[derive(Default)]
pub struct RecoveryQuery;

#[Object]
impl RecoveryQuery {
    /// Recovery requests, oldest first. Requires the viewer role.
    async fn recovery_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<RecoveryRequestStatus>,
    ) -> async_graphql::Result<Connection<RecoveryRequest>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let result = core_recovery::list_recovery_requests(
            &services.db,
            &req.scope,
            &req.actor,
            status.map(Into::into),
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(
            result,
            |r| r.id,
            RecoveryRequest::from,
        ))
    }
}

#[derive(Default)]
pub struct RecoveryMutation;

#[Object]
impl RecoveryMutation {
    /// Files a request to recover the account of a proven address, where the tenant requires
    /// an admin's approval. Anonymous; the account's address gets a notice.
    async fn request_account_recovery(
        &self,
        ctx: &Context<'_>,
        input: RequestAccountRecoveryInput,
    ) -> async_graphql::Result<RecoveryRequestPayload> {
        let (services, req) = request(ctx);
        let request = core_recovery::request_account_recovery(
            &req.verifications(services),
            &input.email_proof,
        )
        .await
        .gql()?;
        Ok(RecoveryRequestPayload {
            request: request.into(),
        })
    }

    /// Approves a recovery request: the account's address gets a registration link. Requires
    /// the admin role.
    async fn approve_recovery_request(
        &self,
        ctx: &Context<'_>,
        input: DecideRecoveryRequestInput,
    ) -> async_graphql::Result<RecoveryRequestPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("requestId", &input.request_id)?;
        let request = core_recovery::approve_recovery_request(
            &services.db,
            &req.scope,
            &req.actor,
            &req.mail(services),
            id,
        )
        .await
        .gql()?;
        Ok(RecoveryRequestPayload {
            request: request.into(),
        })
    }

    /// Declines a recovery request. Requires the admin role.
    async fn decline_recovery_request(
        &self,
        ctx: &Context<'_>,
        input: DecideRecoveryRequestInput,
    ) -> async_graphql::Result<RecoveryRequestPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("requestId", &input.request_id)?;
        let request =
            core_recovery::decline_recovery_request(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?;
        Ok(RecoveryRequestPayload {
            request: request.into(),
        })
    }
}
