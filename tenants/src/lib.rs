//! Latchkey's control plane: tenant resolution (which host or path names which tenant), the
//! tenant lifecycle (create, suspend, resume), custom domains (added, then verified by DNS),
//! tenant settings, platform credentials, and the CRM connectors with their runtime. It builds on the core's tenant
//! catalogue ([`latchkey_core::catalogue`]), which alone mints tenant and platform scopes.

pub mod crm;
pub mod custom_domains;
pub mod data_rights;
pub mod federation;
pub mod lifecycle;
pub mod operators;
pub mod outbound;
pub mod resolution;
pub mod settings;

pub use custom_domains::{TenantDomain, add_domain, verify_domain};
pub use latchkey_core::catalogue::{Tenant, TenantStatus, get_tenant};
pub use lifecycle::{CreatedTenant, create_tenant, find_tenant, list_tenants, set_status};
pub use settings::update_settings;
