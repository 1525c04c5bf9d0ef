//! The signed-in user's own profile: `updateViewerProfile`, `changeViewerEmail` (and the undo
//! link's `undoEmailChange`), `setViewerConsent`, and an identity's consent history. Each
//! resolver translates and calls one core function.

use super::ceremonies::with_ceremonies;
use super::context::request;
use super::identities::change;
use super::objects::Identity;
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::profile::{self, ProfileChanges};
use latchkey_core::{consents, email_change};
use serde_json::Value;

#[derive(InputObject, Default)]
pub struct UpdateViewerProfileInput {
    /// Null clears it.
    pub display_name: MaybeUndefined<String>,
    /// E.164; null clears it.
    pub phone: MaybeUndefined<String>,
    /// A language tag (BCP 47) for pages and emails; null clears it.
    pub locale: MaybeUndefined<String>,
    /// Only the attributes to change, each one the tenant's `attributeSchema` marks
    /// `userEditable`, with a value of its type; null removes one.
    pub attributes: Option<Json<Value>>,
}

#[derive(InputObject)]
pub struct ChangeViewerEmailInput {
    /// An `EMAIL_CHANGE` proof of the new address from `completeEmailVerification`.
    pub email_proof: String,
}

#[derive(InputObject)]
pub struct UndoEmailChangeInput {
    /// From the link in the notice sent to the old address.
    pub token: String,
}

#[derive(InputObject)]
pub struct SetViewerConsentInput {
    /// A key of the tenant's `consentPurposes`.
    pub purpose: String,
    pub granted: bool,
}

#[derive(SimpleObject)]
pub struct ViewerProfilePayload {
    pub identity: Identity,
}

/// A consent decision as it was made.
#[derive(SimpleObject)]
pub struct ConsentDecision {
    pub purpose: String,
    pub version: u32,
    pub granted: bool,
    pub ip_address: Option<String>,
    pub decided_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct ProfileMutation;

#[Object]
impl ProfileMutation {
    /// The signed-in user changes their own profile. A field outside the tenant's schema, or
    /// an attribute only admins may change, is `BAD_USER_INPUT` naming it, and nothing is
    /// saved. Published like any identity change (CRM connectors receive it).
    async fn update_viewer_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateViewerProfileInput,
    ) -> async_graphql::Result<ViewerProfilePayload> {
        let attributes = match input.attributes {
            None => None,
            Some(Json(Value::Object(map))) => Some(map),
            Some(_) => {
                return Err(latchkey_core::Error::validation(
                    "attributes",
                    "must be a JSON object",
                ))
                .gql();
            }
        };
        let identity = with_ceremonies(ctx, async |c| {
            profile::update_viewer_profile(
                c,
                ProfileChanges {
                    display_name: change(input.display_name),
                    phone: change(input.phone),
                    locale: change(input.locale),
                    attributes,
                },
            )
            .await
        })
        .await?;
        Ok(ViewerProfilePayload {
            identity: identity.into(),
        })
    }

    /// Moves the signed-in user's account to the address of an `EMAIL_CHANGE` proof
    /// (verified). The old address gets a notice with a link to undo it for 7 days.
    async fn change_viewer_email(
        &self,
        ctx: &Context<'_>,
        input: ChangeViewerEmailInput,
    ) -> async_graphql::Result<ViewerProfilePayload> {
        let identity = with_ceremonies(ctx, async |c| {
            email_change::change_viewer_email(c, &input.email_proof).await
        })
        .await?;
        Ok(ViewerProfilePayload {
            identity: identity.into(),
        })
    }

    /// The undo link of an email change: the account moves back to its old address and every
    /// session ends. Anonymous; works once.
    async fn undo_email_change(
        &self,
        ctx: &Context<'_>,
        input: UndoEmailChangeInput,
    ) -> async_graphql::Result<bool> {
        with_ceremonies(ctx, async |c| {
            email_change::undo_email_change(c, &input.token).await
        })
        .await?;
        Ok(true)
    }

    /// The signed-in user grants or withdraws consent for one of the tenant's purposes, at
    /// its current version.
    async fn set_viewer_consent(
        &self,
        ctx: &Context<'_>,
        input: SetViewerConsentInput,
    ) -> async_graphql::Result<ViewerProfilePayload> {
        let identity = with_ceremonies(ctx, async |c| {
            consents::set_viewer_consent(c, &input.purpose, input.granted).await
        })
        .await?;
        Ok(ViewerProfilePayload {
            identity: identity.into(),
        })
    }
}

/// `Identity.consentHistory`: every consent decision of the identity `id`, newest first.
pub(super) async fn consent_history(
    ctx: &Context<'_>,
    id: &ID,
) -> async_graphql::Result<Vec<ConsentDecision>> {
    let (services, req) = request(ctx);
    let id = parse_id("id", id)?;
    let decisions = consents::consent_history(&services.db, &req.scope, &req.actor, id)
        .await
        .gql()?;
    Ok(decisions
        .into_iter()
        .map(|d| ConsentDecision {
            purpose: d.purpose,
            version: d.version,
            granted: d.granted,
            ip_address: d.ip_address,
            decided_at: d.decided_at,
        })
        .collect())
}
