//! Where a piece of work happens. A [`TenantScope`] can only be made by tenant resolution
//! ([`crate::tenancy`]); every repository function reaches the database through a
//! transaction opened from one, so a query without a tenant does not compile.

use uuid::Uuid;

/// One resolved, active tenant. Constructed only by [`crate::tenancy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: Uuid,
    slug: String,
}

impl TenantScope {
    pub(crate) fn new(tenant_id: Uuid, slug: String) -> Self {
        Self { tenant_id, slug }
    }

    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    pub fn slug(&self) -> &str {
        &self.slug
    }
}

/// Work across tenants (creating, listing and suspending them), allowed only to platform
/// operators. Constructed by [`crate::platform::authenticate`] from a platform credential, or by
/// [`PlatformScope::local_operator`] for the CLI, which already holds the database URL.
#[derive(Clone, Debug)]
pub struct PlatformScope {
    operator: String,
}

impl PlatformScope {
    pub(crate) fn new(operator: String) -> Self {
        Self { operator }
    }

    /// The operator at the console of this deployment (CLI, first-start bootstrap): whoever can
    /// run it can already reach the database directly.
    pub fn local_operator() -> Self {
        Self::new("local-operator".to_owned())
    }

    /// Who acts, for the audit log.
    pub fn operator(&self) -> &str {
        &self.operator
    }
}
