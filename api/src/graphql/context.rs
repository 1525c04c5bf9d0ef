//! The per-request context of the tenant API: the resolved tenant and the authenticated caller,
//! attached by the HTTP layer to each request next to the services.

use crate::state::Services;
use async_graphql::Context;
use latchkey_core::sessions::ClientInfo;
use latchkey_core::{Actor, TenantScope, tenancy};

/// Per-request context of the tenant API, built by the HTTP layer after tenant resolution and
/// authentication.
#[derive(Clone)]
pub struct TenantRequest {
    pub scope: TenantScope,
    /// The tenant as resolved for this request (name, settings).
    pub tenant: tenancy::Tenant,
    pub actor: Actor,
    pub client: ClientInfo,
}

pub(super) fn request<'a>(ctx: &'a Context<'_>) -> (&'a Services, &'a TenantRequest) {
    (
        ctx.data_unchecked::<Services>(),
        ctx.data_unchecked::<TenantRequest>(),
    )
}
