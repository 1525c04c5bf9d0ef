//! What an organization is: its rows, the organization, role, membership and member types,
//! the built-in roles and their permissions, and how events show them.

use super::window::{AccessStatus, Window};
use crate::error::{Error, Result};
use crate::identities;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

/// The built-in administrator role of an organization.
pub const ORG_ADMIN: &str = "org:admin";

/// The built-in role every member can have.
pub const ORG_MEMBER: &str = "org:member";

/// What organization roles grant. Custom roles may also carry the tenant's own permission
/// names (for its applications); these are the ones Latchkey itself checks.
pub mod permission {
    /// See the organization.
    pub const READ_ORGANIZATION: &str = "organization:read";
    /// Change its name and metadata.
    pub const WRITE_ORGANIZATION: &str = "organization:write";
    /// List its members.
    pub const READ_MEMBERS: &str = "members:read";
    /// Add, change and remove members.
    pub const WRITE_MEMBERS: &str = "members:write";
}

pub(super) const BUILT_IN_ROLES: [(&str, &str, &[&str]); 2] = [
    (
        ORG_ADMIN,
        "Manages the organization and its members",
        &[
            permission::READ_ORGANIZATION,
            permission::WRITE_ORGANIZATION,
            permission::READ_MEMBERS,
            permission::WRITE_MEMBERS,
        ],
    ),
    (
        ORG_MEMBER,
        "Belongs to the organization",
        &[permission::READ_ORGANIZATION, permission::READ_MEMBERS],
    ),
];

pub(super) mod org_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "organizations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub slug: String,
        pub kind: String,
        pub metadata: Json,
        pub external_id: Option<String>,
        pub domain_policy: String,
        pub authentication_policy: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(org_row);

pub(super) mod role_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "organization_roles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub description: Option<String>,
        pub permissions: Json,
        pub created_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(role_row);

pub(super) mod member_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "memberships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub identity_id: Uuid,
        pub roles: Json,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub valid_from: Option<DateTimeUtc>,
        pub valid_until: Option<DateTimeUtc>,
        pub suspended_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(member_row);

pub(super) mod grant_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "membership_role_grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub membership_id: Uuid,
        pub role: String,
        pub valid_from: Option<DateTimeUtc>,
        pub valid_until: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(grant_row);

pub(super) mod entitlement_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "entitlements")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub description: Option<String>,
        pub created_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(entitlement_row);

pub(super) mod held_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "organization_entitlements")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub key: String,
        pub valid_from: Option<DateTimeUtc>,
        pub valid_until: Option<DateTimeUtc>,
        pub source: Option<String>,
        pub created_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(held_row);

/// Whether an organization is a business customer or a partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrganizationKind {
    Customer,
    Partner,
}

impl OrganizationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrganizationKind::Customer => "customer",
            OrganizationKind::Partner => "partner",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "customer" => Ok(OrganizationKind::Customer),
            "partner" => Ok(OrganizationKind::Partner),
            other => Err(Error::internal(format!(
                "unknown organization kind {other:?}"
            ))),
        }
    }
}

/// What happens when someone with an email address at one of the organization's verified
/// domains signs up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainPolicy {
    /// Nothing: people join through invitations only.
    None,
    /// They become members (`org:member`) once their email address is verified.
    AutoJoin,
    /// A join request waits for an organization admin's approval.
    RequestToJoin,
}

impl DomainPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainPolicy::None => "none",
            DomainPolicy::AutoJoin => "auto_join",
            DomainPolicy::RequestToJoin => "request_to_join",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "none" => Ok(DomainPolicy::None),
            "auto_join" => Ok(DomainPolicy::AutoJoin),
            "request_to_join" => Ok(DomainPolicy::RequestToJoin),
            other => Err(Error::internal(format!("unknown domain policy {other:?}"))),
        }
    }
}

/// How the organization's members must have signed in for a session or token scoped to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthenticationPolicy {
    /// Any sign-in method the tenant allows.
    Any,
    /// A passkey (phishing-resistant): a member who signed in otherwise gets no
    /// organization-scoped session or token until they sign in with a passkey.
    Passkey,
}

impl AuthenticationPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticationPolicy::Any => "any",
            AuthenticationPolicy::Passkey => "passkey",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "any" => Ok(AuthenticationPolicy::Any),
            "passkey" => Ok(AuthenticationPolicy::Passkey),
            other => Err(Error::internal(format!(
                "unknown authentication policy {other:?}"
            ))),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub kind: OrganizationKind,
    pub metadata: Value,
    pub external_id: Option<String>,
    pub domain_policy: DomainPolicy,
    pub authentication_policy: AuthenticationPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<org_row::Model> for Organization {
    type Error = Error;

    fn try_from(row: org_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            kind: OrganizationKind::parse(&row.kind)?,
            domain_policy: DomainPolicy::parse(&row.domain_policy)?,
            authentication_policy: AuthenticationPolicy::parse(&row.authentication_policy)?,
            name: row.name,
            slug: row.slug,
            metadata: row.metadata,
            external_id: row.external_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// An organization role: built in (no id) or defined by the tenant.
#[derive(Clone, Debug)]
pub struct OrganizationRole {
    pub id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
}

impl OrganizationRole {
    pub fn built_in(&self) -> bool {
        self.id.is_none()
    }
}

pub(super) fn built_in_roles() -> impl Iterator<Item = OrganizationRole> {
    BUILT_IN_ROLES
        .iter()
        .map(|(name, description, permissions)| OrganizationRole {
            id: None,
            name: (*name).to_owned(),
            description: Some((*description).to_owned()),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            created_at: None,
        })
}

impl TryFrom<role_row::Model> for OrganizationRole {
    type Error = Error;

    fn try_from(row: role_row::Model) -> Result<Self> {
        Ok(Self {
            id: Some(row.id),
            name: row.name,
            description: row.description,
            permissions: serde_json::from_value(row.permissions).map_err(Error::internal)?,
            created_at: Some(row.created_at),
        })
    }
}

/// An identity's membership of an organization: its lasting roles and the window in which
/// it gives access.
#[derive(Clone, Debug)]
pub struct Membership {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub identity_id: Uuid,
    pub roles: Vec<String>,
    pub window: Window,
    /// Set while the membership is suspended (by the organization's directory over SCIM): it
    /// is kept with its roles but gives no access.
    pub suspended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Membership {
    /// Whether the membership gives access at `now`: inside its window and not suspended.
    pub fn gives_access(&self, now: DateTime<Utc>) -> bool {
        self.suspended_at.is_none() && self.window.is_active(now)
    }
}

/// A role given within a membership for a window of its own (temporary elevated access).
#[derive(Clone, Debug)]
pub struct RoleGrant {
    pub id: Uuid,
    pub membership_id: Uuid,
    pub role: String,
    pub window: Window,
    pub created_at: DateTime<Utc>,
}

impl From<grant_row::Model> for RoleGrant {
    fn from(row: grant_row::Model) -> Self {
        Self {
            id: row.id,
            membership_id: row.membership_id,
            role: row.role,
            window: Window {
                valid_from: row.valid_from,
                valid_until: row.valid_until,
            },
            created_at: row.created_at,
        }
    }
}

/// An entitlement an organization holds, for its window.
#[derive(Clone, Debug)]
pub struct HeldEntitlement {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub key: String,
    pub window: Window,
    /// Who manages it: `None` for an admin's grant, `connector:<id>` for a CRM connector's.
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<held_row::Model> for HeldEntitlement {
    fn from(row: held_row::Model) -> Self {
        Self {
            id: row.id,
            organization_id: row.organization_id,
            key: row.key,
            window: Window {
                valid_from: row.valid_from,
                valid_until: row.valid_until,
            },
            source: row.source,
            created_at: row.created_at,
        }
    }
}

impl HeldEntitlement {
    pub fn status(&self, now: DateTime<Utc>) -> AccessStatus {
        self.window.status(now)
    }
}

/// The permissions `held` role names give, by the tenant's `roles` (with repeats).
pub(super) fn permissions_of(roles: &[OrganizationRole], held: &[String]) -> Vec<String> {
    roles
        .iter()
        .filter(|role| held.contains(&role.name))
        .flat_map(|role| role.permissions.iter().cloned())
        .collect()
}

/// How many characters the distinct permission names of a tenant's roles may total: what
/// bounds `org_permissions` in organization-scoped tokens (with the JSON around them, about
/// 2.5 KB at most).
pub const MAX_PERMISSION_CHARACTERS: usize = 2048;

/// How many characters a tenant's entitlement keys may total: what bounds `org_entitlements`.
pub const MAX_ENTITLEMENT_CHARACTERS: usize = 1024;

/// The roles a membership gives at a moment: none outside its window; inside it, its lasting
/// roles and the roles of its grants in their own windows.
pub fn roles_in_force(
    membership: &Membership,
    grants: &[RoleGrant],
    now: DateTime<Utc>,
) -> Vec<String> {
    if !membership.gives_access(now) {
        return Vec::new();
    }
    let mut roles = membership.roles.clone();
    for grant in grants {
        if grant.membership_id == membership.id
            && grant.window.is_active(now)
            && !roles.contains(&grant.role)
        {
            roles.push(grant.role.clone());
        }
    }
    roles.sort();
    roles
}

impl TryFrom<member_row::Model> for Membership {
    type Error = Error;

    fn try_from(row: member_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            organization_id: row.organization_id,
            identity_id: row.identity_id,
            roles: serde_json::from_value(row.roles).map_err(Error::internal)?,
            window: Window {
                valid_from: row.valid_from,
                valid_until: row.valid_until,
            },
            suspended_at: row.suspended_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What an organization-scoped token says about the member: the organization, its kind and
/// the member's roles there.
#[derive(Clone, Debug)]
pub struct OrgContext {
    pub id: Uuid,
    pub kind: OrganizationKind,
    /// The roles in force (lasting and granted).
    pub roles: Vec<String>,
    pub authentication_policy: AuthenticationPolicy,
    /// The entitlement keys the organization holds now, sorted.
    pub entitlements: Vec<String>,
    /// The permissions `roles` give, sorted, each once.
    pub permissions: Vec<String>,
    /// When the membership, a grant among `roles` or an entitlement among `entitlements`
    /// ends: organization-scoped tokens and sessions do not last beyond it.
    pub until: Option<DateTime<Utc>>,
}

impl OrgContext {
    /// Refuses a session that signed in with `auth_method` where the organization's policy
    /// asks for another.
    pub fn admit(&self, auth_method: &str) -> Result<()> {
        match self.authentication_policy {
            AuthenticationPolicy::Passkey
                if !crate::auth_method::phishing_resistant(auth_method) =>
            {
                Err(Error::Refused(
                    "this organization requires a passkey sign-in: sign in with a passkey, then \
                 choose the organization again"
                        .into(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// A membership with both of its ends, its grants and what it gives now, as lists and
/// mutations answer it.
#[derive(Clone, Debug)]
pub struct Member {
    pub membership: Membership,
    pub organization: Organization,
    pub identity: identities::Identity,
    /// Every grant of the membership (any status), oldest first.
    pub grants: Vec<RoleGrant>,
    /// The membership's status at the time of the read.
    pub status: AccessStatus,
    /// The roles in force at the time of the read ([`roles_in_force`]).
    pub roles_in_force: Vec<String>,
    /// When the read was made, for the grants' statuses.
    pub read_at: DateTime<Utc>,
}

/// Which members a list answers.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemberFilter {
    pub status: Option<AccessStatus>,
    /// Only memberships whose window ends before this time (ended ones included: combine with
    /// `status: Active` for those still to end).
    pub expiring_before: Option<DateTime<Utc>>,
}

/// What `createOrganization` takes.
#[derive(Clone, Debug)]
pub struct NewOrganization {
    pub name: String,
    pub slug: String,
    pub kind: OrganizationKind,
    pub metadata: Option<Value>,
    pub external_id: Option<String>,
}

/// What `updateOrganization` changes; `None` leaves a field alone (`external_id: Some(None)`
/// clears it).
#[derive(Clone, Debug, Default)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub kind: Option<OrganizationKind>,
    pub metadata: Option<Value>,
    pub external_id: Option<Option<String>>,
    pub domain_policy: Option<DomainPolicy>,
    pub authentication_policy: Option<AuthenticationPolicy>,
}

/// Filters of the organization list.
#[derive(Clone, Debug, Default)]
pub struct OrganizationFilter {
    /// Part of the name or slug, case-insensitive.
    pub search: Option<String>,
    pub kind: Option<OrganizationKind>,
}

/// An organization as events and connectors see it.
pub fn event_data(organization: &Organization) -> Value {
    json!({
        "id": organization.id,
        "name": organization.name,
        "slug": organization.slug,
        "kind": organization.kind.as_str(),
        "metadata": organization.metadata,
        "externalId": organization.external_id,
        "createdAt": organization.created_at,
        "updatedAt": organization.updated_at,
    })
}

/// A membership as events and connectors see it.
pub fn membership_event_data(membership: &Membership) -> Value {
    json!({
        "id": membership.id,
        "organizationId": membership.organization_id,
        "identityId": membership.identity_id,
        "roles": membership.roles,
        "validFrom": membership.window.valid_from,
        "validUntil": membership.window.valid_until,
    })
}

/// A role grant as events and connectors see it.
pub fn grant_event_data(grant: &RoleGrant) -> Value {
    json!({
        "id": grant.id,
        "role": grant.role,
        "validFrom": grant.window.valid_from,
        "validUntil": grant.window.valid_until,
    })
}
