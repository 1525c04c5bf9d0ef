//! Who is calling: the principal a credential proved, and its tenant roles. What a caller may
//! do is decided in one place, [`crate::authz`].

use crate::crypto::MasterKey;
use crate::scope::PlatformScope;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A tenant-level administrative role, held by API keys and by administrators (people who
/// sign in to the console, `administrators`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdminRole {
    /// Everything in the tenant, including owner keys.
    Owner,
    /// Everything but granting the owner role.
    Admin,
    /// Read-only.
    Viewer,
    /// Support staff: identities (read and write), organizations and the audit log, read;
    /// no settings, keys, connectors or other secrets.
    Support,
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
    /// The tenant's administrators and their invitations, read.
    ReadAdministrators,
    /// Inviting administrators, changing their roles, removing them: owners only.
    ManageAdministrators,
}

impl AdminRole {
    pub fn grants(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            AdminRole::Owner => true,
            AdminRole::Admin => permission != ManageAdministrators,
            AdminRole::Support => matches!(
                permission,
                ReadIdentities | WriteIdentities | ReadOrganizations | ReadAuditEvents
            ),
            AdminRole::Viewer => matches!(
                permission,
                ReadTenant
                    | ReadIdentities
                    | ReadApiKeys
                    | ReadAuditEvents
                    | ReadOrganizations
                    | ReadConnectors
                    | ReadAdministrators
            ),
        }
    }

    /// The role [`AdminRole::as_str`] names.
    pub fn parse(text: &str) -> Option<Self> {
        [
            AdminRole::Owner,
            AdminRole::Admin,
            AdminRole::Viewer,
            AdminRole::Support,
        ]
        .into_iter()
        .find(|role| role.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Owner => "owner",
            AdminRole::Admin => "admin",
            AdminRole::Viewer => "viewer",
            AdminRole::Support => "support",
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
    /// An administrator signed in to the console, with their role in the request's tenant.
    Administrator { id: Uuid, roles: Vec<AdminRole> },
    /// A platform operator acting on a tenant (tenant creation, suspension).
    Platform { operator: String },
    /// An end user signed in with an access token of a session.
    Identity { id: Uuid, session_id: Uuid },
    /// A CRM connector applying what it pulled from its CRM: it writes identities,
    /// organizations and invitations, and its own changes are not pushed back to it.
    Connector { id: Uuid },
    /// A directory (Microsoft Entra ID, Okta…) provisioning over SCIM with a SCIM token: for
    /// the whole tenant, or for one organization. It holds no tenant role; the SCIM services
    /// decide what it reaches (`scim`).
    ScimToken {
        id: Uuid,
        organization_id: Option<Uuid>,
    },
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

    /// The CRM connector `connector_id` applying what its CRM sent or what it pulled. Made by
    /// the connector runtime of the control plane, which shows it is the platform by holding
    /// the master key that opens the connector's credentials.
    pub fn connector(
        _platform_key: &MasterKey,
        connector_id: Uuid,
        request_id: Option<String>,
    ) -> Self {
        Self::new(Principal::Connector { id: connector_id }, request_id)
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The signed-in end user and their session; anyone else is `Unauthenticated`.
    pub fn signed_in(&self) -> crate::Result<(Uuid, Uuid)> {
        match self.principal {
            Principal::Identity { id, session_id } => Ok((id, session_id)),
            _ => Err(crate::Error::Unauthenticated),
        }
    }

    /// The same request acting as `identity_id` of `session_id` (a sign-in that just started
    /// that session), for the audit log.
    pub(crate) fn as_identity(&self, identity_id: Uuid, session_id: Uuid) -> Self {
        Self::new(
            Principal::Identity {
                id: identity_id,
                session_id,
            },
            self.request_id.clone(),
        )
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    pub fn roles(&self) -> &[AdminRole] {
        match &self.principal {
            Principal::ApiKey { roles, .. } | Principal::Administrator { roles, .. } => roles,
            Principal::Platform { .. } => &[AdminRole::Owner],
            Principal::Anonymous
            | Principal::Identity { .. }
            | Principal::Connector { .. }
            | Principal::ScimToken { .. } => &[],
        }
    }

    /// (type, id) as written to the audit log.
    pub fn audit_identity(&self) -> (&'static str, Option<String>) {
        match &self.principal {
            Principal::Anonymous => ("anonymous", None),
            Principal::ApiKey { id, .. } => ("api_key", Some(id.to_string())),
            Principal::Administrator { id, .. } => ("administrator", Some(id.to_string())),
            Principal::Platform { operator } => ("platform", Some(operator.clone())),
            Principal::Identity { id, .. } => ("identity", Some(id.to_string())),
            Principal::Connector { id } => ("crm_connector", Some(id.to_string())),
            Principal::ScimToken { id, .. } => ("scim_token", Some(id.to_string())),
        }
    }
}
