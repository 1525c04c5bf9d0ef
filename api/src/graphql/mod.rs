//! The GraphQL APIs: the tenant API (`/t/{slug}/graphql`) and the platform API
//! (`/platform/graphql`), with their shared types, error mapping and request limits.
//!
//! Layers: `tenant` (the tenant API's root) merges the areas (`identities`, `applications`,
//! `organizations`, …), and no area imports it. The areas share `context` (the request),
//! `objects` (output types several areas return), `loaders` and `types`, none of which imports
//! an area; where an area uses another's types (`organizations` shows `domains` and
//! `invitations`), the import goes one way. `platform` stands alone on `types`.

pub mod access;
pub mod access_policies;
pub mod activity;
pub mod administrators;
pub mod api_keys;
pub mod applications;
pub mod audit;
pub mod ceremonies;
pub mod claim_mappings;
pub mod connectors;
pub mod context;
pub mod cost;
pub mod data_rights;
pub mod domains;
pub mod email_templates;
pub mod email_verification;
pub mod entitlements;
pub mod events;
pub mod identities;
pub mod identity_providers;
pub mod identity_transfer;
pub mod invitations;
pub mod limits;
pub mod loaders;
pub mod objects;
pub mod organization_roles;
pub mod organizations;
pub mod passkeys;
pub mod passwords;
pub mod platform;
pub mod profile;
pub mod profile_settings;
pub mod recovery;
pub mod relationships;
pub mod scim_tokens;
pub mod sessions;
pub mod settings;
pub mod tenant;
pub mod types;
pub mod viewer;

use crate::config::GraphqlLimits;
use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

fn apply_limits<Q, M>(
    builder: SchemaBuilder<Q, M, EmptySubscription>,
    limits: &GraphqlLimits,
) -> Schema<Q, M, EmptySubscription>
where
    Q: async_graphql::ObjectType + 'static,
    M: async_graphql::ObjectType + 'static,
{
    let builder = builder
        .limit_depth(limits.max_depth)
        .limit_recursive_depth(32)
        .extension(cost::CostGuard)
        .limit_directives(limits.max_directives);
    // Introspection off is decided per request (administrators and keys may introspect, see
    // `http::graphql`); field suggestions are off for everyone.
    if limits.introspection {
        builder.finish()
    } else {
        builder.disable_suggestions().finish()
    }
}

/// The tenant API schema with the deployment's limits. Services and the caller are attached
/// to each request, not to the schema, so nothing is shared between callers.
pub fn tenant_schema(limits: &GraphqlLimits) -> tenant::TenantSchema {
    apply_limits(
        Schema::build(
            tenant::TenantQuery::default(),
            tenant::TenantMutation::default(),
            EmptySubscription,
        ),
        limits,
    )
}

/// The platform API schema with the deployment's limits.
pub fn platform_schema(limits: &GraphqlLimits) -> platform::PlatformSchema {
    apply_limits(
        Schema::build(
            platform::PlatformQuery,
            platform::PlatformMutation,
            EmptySubscription,
        ),
        limits,
    )
}
