//! Each person's data: the signed-in user's export and deletion of their account, and an
//! administrator's erasure of an identity.

use super::ceremonies::with_ceremonies;
use super::context::request;
use super::identities::IdentityIdInput;
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::data_rights::{self, AccountDeletion};
use serde_json::Value;

/// Where a `deleteViewerAccount` left the account.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccountDeletionStatus {
    /// Erased at `eraseAt` unless its owner signs in before; every session ended.
    Scheduled,
    /// Erased now (the tenant has no grace period).
    Erased,
}

#[derive(SimpleObject)]
pub struct DeleteViewerAccountPayload {
    pub status: AccountDeletionStatus,
    /// When the account is erased, for a scheduled deletion.
    pub erase_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct EraseIdentityPayload {
    pub erased_identity_id: ID,
    /// What the audit log names the identity by from now on.
    pub pseudonym: String,
}

#[derive(Default)]
pub struct DataRightsMutation;

#[Object]
impl DataRightsMutation {
    /// Everything held about the signed-in end user, as one JSON document: the identity with
    /// its attributes and consents, passkeys, password and second factor (whether they exist,
    /// never a secret), sessions, memberships, invitations, join requests, consent decisions,
    /// federated and SCIM links, email changes and verifications, recovery requests, the audit
    /// entries about them and the linked CRM records. Audited. End users only.
    async fn export_viewer_data(&self, ctx: &Context<'_>) -> async_graphql::Result<Json<Value>> {
        let (services, req) = request(ctx);
        let data =
            latchkey_tenants::data_rights::export_viewer_data(&services.db, &req.scope, &req.actor)
                .await
                .gql()?;
        Ok(Json(data))
    }

    /// Deletes the signed-in end user's account. Needs a sign-in within the last 10 minutes.
    /// With the tenant's `accountDeletionGraceDays` the account is erased when they end
    /// (every session ends now, a notice goes to the address, and signing in before then
    /// cancels it); with 0 it is erased at once. The erasure removes the account's personal
    /// data, ends its sessions and tokens, tells CRM connectors (`identity.deleted`) and
    /// leaves the audit log a pseudonymous record.
    async fn delete_viewer_account(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<DeleteViewerAccountPayload> {
        let deletion =
            with_ceremonies(ctx, async |c| data_rights::delete_viewer_account(c).await).await?;
        Ok(match deletion {
            AccountDeletion::Scheduled(pending) => DeleteViewerAccountPayload {
                status: AccountDeletionStatus::Scheduled,
                erase_at: Some(pending.erase_at),
            },
            AccountDeletion::Erased => DeleteViewerAccountPayload {
                status: AccountDeletionStatus::Erased,
                erase_at: None,
            },
        })
    }

    /// Erases an identity at once, on a person's request (a soft-deleted one too): its
    /// personal data and everything hanging from it go, its sessions and tokens end, CRM
    /// connectors get `identity.deleted`, and the audit log keeps its entries under a
    /// pseudonym without their data. Cannot be undone. Requires the admin role.
    async fn erase_identity(
        &self,
        ctx: &Context<'_>,
        input: IdentityIdInput,
    ) -> async_graphql::Result<EraseIdentityPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let erased = data_rights::erase_identity(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(EraseIdentityPayload {
            erased_identity_id: input.id,
            pseudonym: erased.pseudonym,
        })
    }
}
