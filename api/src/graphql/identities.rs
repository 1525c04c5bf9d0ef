//! Identities in the tenant API: the tenant's end users, listed, read, created, changed,
//! suspended, resumed and deleted by its admins.

use super::context::request;
use super::cost::page_cost;
use super::objects::{Identity, IdentityStatus};
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use latchkey_core::identities::{self as core_identities, Change, IdentityStatus as CoreStatus};
use latchkey_core::identity_search as core_identity_search;
use serde_json::Value;

#[derive(InputObject, Default)]
pub struct IdentityFilter {
    /// Exact email (case-insensitive).
    pub email: Option<String>,
    /// Deleted identities are listed only with `status: DELETED`.
    pub status: Option<IdentityStatus>,
    /// Case-insensitive text in the email or display name.
    pub search: Option<String>,
    /// Exact external id.
    pub external_id: Option<String>,
    /// Members of this organization (whatever their membership windows say).
    pub organization_id: Option<ID>,
    /// An attribute with this value, compared as text.
    pub attribute: Option<AttributeFilter>,
}

/// An attribute's value to look for: `{ name: "plan", value: "gold" }`. Numbers and booleans
/// compare as their JSON text (`42`, `true`).
#[derive(InputObject)]
pub struct AttributeFilter {
    pub name: String,
    pub value: String,
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// Identities, oldest first. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn identities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<IdentityFilter>,
    ) -> async_graphql::Result<Connection<Identity>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let filter = filter.unwrap_or_default();
        let result = core_identity_search::list_identities(
            &services.db,
            &req.scope,
            &req.actor,
            core_identities::IdentityFilter {
                email: filter.email,
                status: filter.status.map(Into::into),
                search: filter.search,
                external_id: filter.external_id,
                organization_id: filter
                    .organization_id
                    .map(|id| parse_id("filter.organizationId", &id))
                    .transpose()?,
                attribute: filter.attribute.map(|a| (a.name, a.value)),
            },
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(result, |i| i.id, Identity::from))
    }

    /// One identity. Requires the viewer role.
    async fn identity(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Identity> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &id)?;
        Ok(
            core_identities::get_identity(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?
                .into(),
        )
    }
}

#[derive(InputObject)]
pub struct CreateIdentityInput {
    pub email: String,
    #[graphql(default)]
    pub email_verified: bool,
    pub display_name: Option<String>,
    /// E.164, such as +14155550100.
    pub phone: Option<String>,
    /// A JSON object of at most 16 KiB.
    pub attributes: Option<Json<Value>>,
    pub external_id: Option<String>,
    /// A language tag (BCP 47) for pages and emails.
    pub locale: Option<String>,
}

#[derive(SimpleObject)]
pub struct CreateIdentityPayload {
    pub identity: Identity,
}

/// Fields left out are kept; fields set to null are cleared.
#[derive(InputObject)]
pub struct UpdateIdentityInput {
    pub id: ID,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub display_name: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    /// Replaces the whole attribute object.
    pub attributes: Option<Json<Value>>,
    pub external_id: MaybeUndefined<String>,
    /// A language tag (BCP 47) for pages and emails; null clears it.
    pub locale: MaybeUndefined<String>,
}

#[derive(SimpleObject)]
pub struct UpdateIdentityPayload {
    pub identity: Identity,
}

#[derive(InputObject)]
pub struct IdentityIdInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct SuspendIdentityPayload {
    pub identity: Identity,
}

#[derive(SimpleObject)]
pub struct ResumeIdentityPayload {
    pub identity: Identity,
}

#[derive(SimpleObject)]
pub struct DeleteIdentityPayload {
    pub deleted_identity_id: ID,
    pub identity: Identity,
}

pub(super) fn change<T>(value: MaybeUndefined<T>) -> Change<T> {
    match value {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Clear,
        MaybeUndefined::Value(v) => Change::Set(v),
    }
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Creates an identity. Requires the admin role.
    async fn create_identity(
        &self,
        ctx: &Context<'_>,
        input: CreateIdentityInput,
    ) -> async_graphql::Result<CreateIdentityPayload> {
        let (services, req) = request(ctx);
        let identity = core_identities::create_identity(
            &services.db,
            &req.scope,
            &req.actor,
            core_identities::NewIdentity {
                email: input.email,
                email_verified: input.email_verified,
                display_name: input.display_name,
                phone: input.phone,
                attributes: input.attributes.map(|j| j.0),
                external_id: input.external_id,
                locale: input.locale,
            },
        )
        .await
        .gql()?;
        Ok(CreateIdentityPayload {
            identity: identity.into(),
        })
    }

    /// Changes an identity's profile. Requires the admin role.
    async fn update_identity(
        &self,
        ctx: &Context<'_>,
        input: UpdateIdentityInput,
    ) -> async_graphql::Result<UpdateIdentityPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let identity = core_identities::update_identity(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            core_identities::IdentityChanges {
                email: input.email,
                email_verified: input.email_verified,
                display_name: change(input.display_name),
                phone: change(input.phone),
                attributes: input.attributes.map(|j| j.0),
                external_id: change(input.external_id),
                locale: change(input.locale),
                consents: None,
            },
        )
        .await
        .gql()?;
        Ok(UpdateIdentityPayload {
            identity: identity.into(),
        })
    }

    /// Suspends an identity: it can no longer sign in. Requires the admin role.
    async fn suspend_identity(
        &self,
        ctx: &Context<'_>,
        input: IdentityIdInput,
    ) -> async_graphql::Result<SuspendIdentityPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let identity = core_identities::set_identity_status(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            CoreStatus::Suspended,
        )
        .await
        .gql()?;
        Ok(SuspendIdentityPayload {
            identity: identity.into(),
        })
    }

    /// Makes a suspended identity active again. Requires the admin role.
    async fn resume_identity(
        &self,
        ctx: &Context<'_>,
        input: IdentityIdInput,
    ) -> async_graphql::Result<ResumeIdentityPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let identity = core_identities::set_identity_status(
            &services.db,
            &req.scope,
            &req.actor,
            id,
            CoreStatus::Active,
        )
        .await
        .gql()?;
        Ok(ResumeIdentityPayload {
            identity: identity.into(),
        })
    }

    /// Soft-deletes an identity; its email becomes free for a new one. Requires the admin role.
    async fn delete_identity(
        &self,
        ctx: &Context<'_>,
        input: IdentityIdInput,
    ) -> async_graphql::Result<DeleteIdentityPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let identity = core_identities::delete_identity(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(DeleteIdentityPayload {
            deleted_identity_id: input.id,
            identity: identity.into(),
        })
    }
}
