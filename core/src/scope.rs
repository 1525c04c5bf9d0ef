//! Where a piece of work happens. A [`TenantScope`] can only be made from the tenant catalogue
//! ([`crate::catalogue`]); every repository function reaches the database through a
//! transaction opened from one, so a query without a tenant does not compile.

use uuid::Uuid;

/// One resolved, active tenant. Constructed only by [`crate::catalogue`].
///
/// ```compile_fail
/// let forged = latchkey_core::TenantScope::new(uuid::Uuid::nil(), "other".to_owned());
/// ```
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
/// operators. Constructed by [`crate::catalogue::authenticate_operator`] from a platform
/// credential, or by [`crate::catalogue::local_operator`] for whoever holds the database
/// connection (the CLI).
///
/// ```compile_fail
/// let forged = latchkey_core::PlatformScope::new("me".to_owned());
/// ```
///
/// ```compile_fail
/// let forged = latchkey_core::PlatformScope::local_operator();
/// ```
///
/// ```compile_fail
/// let forged = latchkey_core::PlatformScope { operator: "me".to_owned() };
/// ```
#[derive(Clone, Debug)]
pub struct PlatformScope {
    operator: String,
}

impl PlatformScope {
    pub(crate) fn new(operator: String) -> Self {
        Self { operator }
    }

    /// Who acts, for the audit log.
    pub fn operator(&self) -> &str {
        &self.operator
    }
}
