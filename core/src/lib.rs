//! The tenant-isolated identity core of Latchkey: identities, API keys, audit events, the
//! tenant scope every repository function takes, and the ephemeral store.
//!
//! No HTTP and no GraphQL live here. Services check permissions themselves (deny by default)
//! and do their work in one transaction opened through a [`TenantScope`].

pub mod activity;
pub mod actor;
pub mod administrators;
pub mod api_keys;
pub mod applications;
pub mod audit;
pub mod auth_method;
pub mod authz;
pub mod catalogue;
pub mod claim_mappings;
pub mod clock;
pub mod consents;
pub mod crypto;
pub mod data_rights;
pub mod db;
pub mod dns;
pub mod domains;
pub mod email_change;
pub mod email_proof;
pub mod email_sign_in;
pub mod email_templates;
pub mod ephemeral;
pub mod error;
pub mod federation;
pub mod freshness;
pub mod granted;
pub mod identities;
pub mod identity_search;
pub mod invitations;
pub mod languages;
pub mod lenient_limits;
pub mod mail;
pub mod near_cache;
pub mod net;
pub mod notices;
pub mod oauth;
pub mod organizations;
pub mod outbox;
pub mod page;
pub mod passkeys;
pub mod passwords;
pub mod profile;
pub mod profile_settings;
pub mod quotas;
pub mod recovery;
pub mod scim;
pub mod scope;
pub mod secrets;
pub mod security_events;
pub mod session_store;
pub mod sessions;
pub mod settings;
pub mod signing_keys;
pub mod sso;
pub mod validate;

pub use actor::{Actor, AdminRole, Permission, Principal};
pub use db::{Database, PoolSettings};
pub use error::{Error, Result};
pub use scope::{PlatformScope, TenantScope};

/// Connects to `url` (see [`Database::connect`]) with the subscribers to domain events:
/// `recorders` first (the control plane's, such as the CRM deliveries, which record what an
/// event asks for), then the core's own reactions (domain policies, the clean-up after a
/// deleted organization), which may write further events. So an event's own deliveries are
/// queued before those of the changes it causes.
///
/// The error is the driver's, so the caller can say why (connection refused, authentication
/// failed) and decide whether waiting could help ([`error::is_unreachable`]).
pub async fn connect(
    url: &str,
    pool: PoolSettings,
    recorders: Vec<std::sync::Arc<dyn outbox::EventSubscriber>>,
) -> Result<Database, sea_orm::DbErr> {
    use std::sync::Arc;
    let reactions: [Arc<dyn outbox::EventSubscriber>; 2] = [
        Arc::new(domains::DomainReactions),
        Arc::new(invitations::InvitationReactions),
    ];
    let db = Database::connect(url, pool).await?;
    Ok(recorders
        .into_iter()
        .chain(reactions)
        .fold(db, Database::with_subscriber))
}
