//! Who is calling, and what they may do. Checked by services in the core, deny by default.

use crate::error::{Error, Result};
use crate::scope::PlatformScope;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A tenant-level administrative role, held by API keys (and later by console users).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminRole {
    /// Everything in the tenant, including owner keys.
    Owner,
    /// Everything but granting the owner role.
    Admin,
    /// Read-only.
    Viewer,
}

/// What a service call needs. Grants per role live in [`AdminRole::grants`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    ReadTenant,
    ReadIdentities,
    WriteIdentities,
    ReadApiKeys,
    ManageApiKeys,
    ReadAuditEvents,
    ReadOrganizations,
    /// Organizations, their members and the tenant's organization roles.
    WriteOrganizations,
    /// Tenant settings and signing keys.
    ManageTenant,
    /// CRM connectors and their deliveries, read.
    ReadConnectors,
    /// CRM connectors: create, change, delete, replay and sync.
    ManageConnectors,
}

impl AdminRole {
    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            AdminRole::Owner | AdminRole::Admin => true,
            AdminRole::Viewer => matches!(
                permission,
                ReadTenant
                    | ReadIdentities
                    | ReadApiKeys
                    | ReadAuditEvents
                    | ReadOrganizations
                    | ReadConnectors
            ),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Owner => "owner",
            AdminRole::Admin => "admin",
            AdminRole::Viewer => "viewer",
        }
    }
}

/// The authenticated party behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// No credential: only sign-up and sign-in ceremonies are open to it.
    Anonymous,
    /// A tenant API key with its roles.
    ApiKey { id: Uuid, roles: Vec<AdminRole> },
    /// A platform operator acting on a tenant (tenant creation, suspension).
    Platform { operator: String },
    /// An end user signed in with an access token of a session.
    Identity { id: Uuid, session_id: Uuid },
    /// A CRM connector applying what it pulled from its CRM: it writes identities,
    /// organizations and invitations, and its own changes are not pushed back to it.
    Connector { id: Uuid },
}

/// The caller of one request: the principal and the request id that ties audit events to logs.
/// Made only where a credential was checked: API keys and sessions in this crate, a platform
/// credential through [`Actor::platform`]; anyone may be [`Actor::anonymous`].
///
/// ```compile_fail
/// use latchkey_core::{Actor, AdminRole, Principal};
/// let forged = Actor::new(
///     Principal::ApiKey { id: uuid::Uuid::nil(), roles: vec![AdminRole::Owner] },
///     None,
/// );
/// ```
///
/// ```compile_fail
/// use latchkey_core::{Actor, Principal};
/// let forged = Actor {
///     principal: Principal::Platform { operator: "me".into() },
///     request_id: None,
/// };
/// ```
#[derive(Clone, Debug)]
pub struct Actor {
    principal: Principal,
    request_id: Option<String>,
}

impl Actor {
    pub(crate) fn new(principal: Principal, request_id: Option<String>) -> Self {
        Self {
            principal,
            request_id,
        }
    }

    /// A caller without a credential: only sign-up and sign-in ceremonies are open to it.
    pub fn anonymous(request_id: Option<String>) -> Self {
        Self::new(Principal::Anonymous, request_id)
    }

    /// The platform operator that `platform` authenticated, acting on a tenant.
    pub fn platform(platform: &PlatformScope, request_id: Option<String>) -> Self {
        Self::new(
            Principal::Platform {
                operator: platform.operator().to_owned(),
            },
            request_id,
        )
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    pub fn roles(&self) -> &[AdminRole] {
        match &self.principal {
            Principal::ApiKey { roles, .. } => roles,
            Principal::Platform { .. } => &[AdminRole::Owner],
            Principal::Anonymous | Principal::Identity { .. } | Principal::Connector { .. } => &[],
        }
    }

    /// Denies unless one of the caller's roles grants `permission`. The reason is logged;
    /// the caller only learns that it was refused.
    pub fn authorize(&self, permission: Permission) -> Result<()> {
        if self.principal == Principal::Anonymous {
            return Err(Error::Unauthenticated);
        }
        if self.roles().iter().any(|role| role.grants(permission)) {
            return Ok(());
        }
        if matches!(self.principal, Principal::Connector { .. })
            && matches!(
                permission,
                Permission::ReadIdentities
                    | Permission::WriteIdentities
                    | Permission::ReadOrganizations
                    | Permission::WriteOrganizations
            )
        {
            return Ok(());
        }
        tracing::info!(
            actor = ?self.principal,
            permission = ?permission,
            request.id = self.request_id.as_deref().unwrap_or(""),
            "permission denied"
        );
        Err(Error::PermissionDenied)
    }

    /// Whether the caller may hand out `role` (nobody grants more than they hold).
    pub fn may_grant(&self, role: AdminRole) -> bool {
        self.roles().iter().any(|held| *held <= role)
    }

    /// (type, id) as written to the audit log.
    pub fn audit_identity(&self) -> (&'static str, Option<String>) {
        match &self.principal {
            Principal::Anonymous => ("anonymous", None),
            Principal::ApiKey { id, .. } => ("api_key", Some(id.to_string())),
            Principal::Platform { operator } => ("platform", Some(operator.clone())),
            Principal::Identity { id, .. } => ("identity", Some(id.to_string())),
            Principal::Connector { id } => ("crm_connector", Some(id.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(roles: &[AdminRole]) -> Actor {
        Actor::new(
            Principal::ApiKey {
                id: Uuid::nil(),
                roles: roles.to_vec(),
            },
            None,
        )
    }

    #[test]
    fn viewer_reads_but_does_not_write() {
        let viewer = key(&[AdminRole::Viewer]);
        assert!(viewer.authorize(Permission::ReadIdentities).is_ok());
        assert!(matches!(
            viewer.authorize(Permission::WriteIdentities),
            Err(Error::PermissionDenied)
        ));
    }

    #[test]
    fn anonymous_is_unauthenticated() {
        let anonymous = Actor::new(Principal::Anonymous, None);
        assert!(matches!(
            anonymous.authorize(Permission::ReadTenant),
            Err(Error::Unauthenticated)
        ));
    }

    #[test]
    fn nobody_grants_more_than_they_hold() {
        let admin = key(&[AdminRole::Admin]);
        assert!(!admin.may_grant(AdminRole::Owner));
        assert!(admin.may_grant(AdminRole::Admin));
        assert!(admin.may_grant(AdminRole::Viewer));
        assert!(key(&[AdminRole::Owner]).may_grant(AdminRole::Owner));
    }
}
