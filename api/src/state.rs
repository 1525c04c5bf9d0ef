//! What every request handler shares, built once at start-up and handed down (no globals).

use crate::config::Config;
use crate::graphql::platform::PlatformSchema;
use crate::graphql::tenant::TenantSchema;
use latchkey_core::Database;
use latchkey_core::ephemeral::EphemeralStore;
use std::sync::Arc;

/// The back ends services work with.
#[derive(Clone)]
pub struct Services {
    pub db: Database,
    pub store: Arc<dyn EphemeralStore>,
}

/// Shared state of the HTTP server.
pub struct AppState {
    pub services: Services,
    pub config: Arc<Config>,
    pub tenant_schema: TenantSchema,
    pub platform_schema: PlatformSchema,
}
