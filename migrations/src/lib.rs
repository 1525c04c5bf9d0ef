//! Forward-only migrations for Latchkey. Every migration runs on SQLite and PostgreSQL; on
//! PostgreSQL each tenant-owned table also gets row-level security (see `docs/architecture.md`).

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_foundation;
mod m20261129_000002_passkeys;
mod m20261129_000003_applications;
mod m20261129_000004_organizations;
mod m20261129_000005_invitations;
mod m20261130_000006_outbox;
mod m20261130_000007_domains;
mod m20261130_000008_crm;
mod m20261205_000009_crm_pull;
mod m20261206_000010_refresh_successor;
mod m20261206_000011_email_domains;
mod m20261206_000012_tenant_quotas;
mod m20261206_000013_tenant_domain_verification;
mod m20261206_000014_email_proof;
mod m20261206_000015_crm_waiting_records;
mod m20261206_000016_organization_authentication_policy;
mod m20261206_000017_passwords_and_totp;
mod m20261206_000018_profile_email_change_consent;
mod m20261206_000019_email_templates;
mod m20261206_000020_membership_windows;
mod m20261207_000021_entitlements_and_contracts;
mod m20261207_000022_tokens_and_policies;
mod m20261207_000023_federation;
mod m20261207_000024_scim;
mod m20261207_000025_identity_transfer;
mod m20261208_000026_account_deletions;
mod m20261209_000027_administrators;
mod sql;

/// The name of the PostgreSQL role the server's queries run as. Migrations create it (NOLOGIN)
/// and grant it data access; operators create a login role that is a member of it.
pub const APP_ROLE: &str = "latchkey_app";

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_foundation::Migration),
            Box::new(m20261129_000002_passkeys::Migration),
            Box::new(m20261129_000003_applications::Migration),
            Box::new(m20261129_000004_organizations::Migration),
            Box::new(m20261129_000005_invitations::Migration),
            Box::new(m20261130_000006_outbox::Migration),
            Box::new(m20261130_000007_domains::Migration),
            Box::new(m20261130_000008_crm::Migration),
            Box::new(m20261205_000009_crm_pull::Migration),
            Box::new(m20261206_000010_refresh_successor::Migration),
            Box::new(m20261206_000011_email_domains::Migration),
            Box::new(m20261206_000012_tenant_quotas::Migration),
            Box::new(m20261206_000013_tenant_domain_verification::Migration),
            Box::new(m20261206_000014_email_proof::Migration),
            Box::new(m20261206_000015_crm_waiting_records::Migration),
            Box::new(m20261206_000016_organization_authentication_policy::Migration),
            Box::new(m20261206_000017_passwords_and_totp::Migration),
            Box::new(m20261206_000018_profile_email_change_consent::Migration),
            Box::new(m20261206_000019_email_templates::Migration),
            Box::new(m20261206_000020_membership_windows::Migration),
            Box::new(m20261207_000021_entitlements_and_contracts::Migration),
            Box::new(m20261207_000022_tokens_and_policies::Migration),
            Box::new(m20261207_000023_federation::Migration),
            Box::new(m20261207_000024_scim::Migration),
            Box::new(m20261207_000025_identity_transfer::Migration),
            Box::new(m20261208_000026_account_deletions::Migration),
            Box::new(m20261209_000027_administrators::Migration),
        ]
    }
}
