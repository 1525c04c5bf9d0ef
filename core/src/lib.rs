//! The tenant-isolated identity core of Latchkey: identities, API keys, audit events, the
//! tenant scope every repository function takes, and the ephemeral store.
//!
//! No HTTP and no GraphQL live here. Services check permissions themselves (deny by default)
//! and do their work in one transaction opened through a [`TenantScope`].

pub mod actor;
pub mod api_keys;
pub mod applications;
pub mod audit;
pub mod authz;
pub mod crypto;
pub mod db;
pub mod domains;
pub mod ephemeral;
pub mod error;
pub mod granted;
pub mod identities;
pub mod invitations;
pub mod mail;
pub mod oauth;
pub mod organizations;
pub mod outbox;
pub mod page;
pub mod passkeys;
pub mod platform;
pub mod scope;
pub mod secrets;
pub mod session_store;
pub mod sessions;
pub mod settings;
pub mod signing_keys;
pub mod tenancy;
pub mod validate;

pub use actor::{Actor, AdminRole, Permission, Principal};
pub use db::Database;
pub use error::{Error, Result};
pub use scope::{PlatformScope, TenantScope};

/// Connects to `url` (see [`Database::connect`]) with the core's own reactions to domain
/// events registered: domain policies and the clean-up after a deleted organization. The
/// server adds the control plane's subscribers to what this answers.
pub async fn connect(url: &str, max_connections: u32) -> Result<Database> {
    use std::sync::Arc;
    Ok(Database::connect(url, max_connections)
        .await?
        .with_subscriber(Arc::new(domains::DomainReactions))
        .with_subscriber(Arc::new(invitations::InvitationReactions)))
}
