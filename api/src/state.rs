//! What every request handler shares, built once at start-up and handed down (no globals).

use crate::metrics::Metrics;
use latchkey_core::Database;
use latchkey_core::clock::Clock;
use latchkey_core::crypto::MasterKey;
use latchkey_core::dns::DnsVerifier;
use latchkey_core::ephemeral::EphemeralStore;
use latchkey_core::mail::Mailer;
use latchkey_core::sessions::KeyCache;
use latchkey_core::signing_keys::SigningKeyCache;
use latchkey_tenants::crm::clients::Clients;
use latchkey_tenants::federation::Federation;
use latchkey_tenants::resolution::Hosts;
use std::sync::Arc;

/// The back ends services work with.
#[derive(Clone)]
pub struct Services {
    pub db: Database,
    pub store: Arc<dyn EphemeralStore>,
    pub master_key: Arc<MasterKey>,
    /// Decoding keys of access tokens, by tenant and key id.
    pub token_keys: KeyCache,
    /// The unsealed current signing key of each tenant.
    pub signing_keys: SigningKeyCache,
    /// The deployment's public URL, without a trailing slash.
    pub public_url: String,
    /// The deployment's own hosts (base domain, public host), for tenant resolution by host
    /// and the names custom domains may not take.
    pub hosts: Hosts,
    /// Keys the decoy credential ids for unknown emails at sign-in.
    pub decoy_key: [u8; 32],
    /// How long a passkey ceremony may take.
    pub ceremony_ttl: std::time::Duration,
    pub metrics: Arc<Metrics>,
    /// Outgoing email (invitations).
    pub mailer: Arc<dyn Mailer>,
    /// Looks up domain verification records.
    pub dns: DnsVerifier,
    /// The CRM connectors' HTTP client and OAuth tokens.
    pub crm: Arc<Clients>,
    /// The identity providers' HTTP client and their discovered documents and keys.
    pub federation: Arc<Federation>,
    /// What time-based rules are measured against (the system clock; tests move their own).
    pub clock: Arc<dyn Clock>,
}
