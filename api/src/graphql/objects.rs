//! The output types several areas of the tenant API return: identities, organizations (with
//! their domain policy) and memberships. Their resolved fields (`Identity.organizations`,
//! `Organization.members`, …) are in `organizations`, next to what they load.

use async_graphql::{Enum, ID, Json, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::identities::{self as core_identities, IdentityStatus as CoreStatus};
use latchkey_core::organizations::{
    self as core_orgs, DomainPolicy as CorePolicy, OrganizationKind as CoreKind,
};
use serde_json::Value;

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum IdentityStatus {
    Active,
    Suspended,
    Deleted,
}

impl From<CoreStatus> for IdentityStatus {
    fn from(status: CoreStatus) -> Self {
        match status {
            CoreStatus::Active => IdentityStatus::Active,
            CoreStatus::Suspended => IdentityStatus::Suspended,
            CoreStatus::Deleted => IdentityStatus::Deleted,
        }
    }
}

impl From<IdentityStatus> for CoreStatus {
    fn from(status: IdentityStatus) -> Self {
        match status {
            IdentityStatus::Active => CoreStatus::Active,
            IdentityStatus::Suspended => CoreStatus::Suspended,
            IdentityStatus::Deleted => CoreStatus::Deleted,
        }
    }
}

/// An end user of the tenant.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Identity {
    pub id: ID,
    pub email: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub display_name: Option<String>,
    pub status: IdentityStatus,
    /// Custom attributes (a JSON object).
    pub attributes: Json<Value>,
    /// The id of this identity in another system, such as a CRM contact id.
    pub external_id: Option<String>,
    /// The language the user chose for pages and emails (BCP 47), if any.
    pub locale: Option<String>,
    /// The current consent decision of each purpose the user decided on.
    pub consents: Vec<Consent>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A consent decision.
#[derive(SimpleObject, Clone, Debug)]
pub struct Consent {
    /// The purpose's key (`consentPurposes`).
    pub purpose: String,
    pub granted: bool,
    /// The purpose's version the decision was made on.
    pub version: u32,
    pub decided_at: Option<DateTime<Utc>>,
}

/// The current decisions as stored on the identity: `{ "<purpose>": { granted, version,
/// decidedAt } }`.
fn consents_of(value: &Value) -> Vec<Consent> {
    let mut consents: Vec<Consent> = value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(purpose, decision)| Consent {
            purpose: purpose.clone(),
            granted: decision["granted"].as_bool().unwrap_or(false),
            version: decision["version"]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or_default(),
            decided_at: serde_json::from_value(decision["decidedAt"].clone()).ok(),
        })
        .collect();
    consents.sort_by(|a, b| a.purpose.cmp(&b.purpose));
    consents
}

impl From<core_identities::Identity> for Identity {
    fn from(identity: core_identities::Identity) -> Self {
        Self {
            id: ID(identity.id.to_string()),
            email: identity.email,
            email_verified: identity.email_verified,
            phone: identity.phone,
            display_name: identity.display_name,
            status: identity.status.into(),
            attributes: Json(identity.attributes),
            external_id: identity.external_id,
            locale: identity.locale,
            consents: consents_of(&identity.consents),
            created_at: identity.created_at,
            updated_at: identity.updated_at,
            last_sign_in_at: identity.last_sign_in_at,
            deleted_at: identity.deleted_at,
        }
    }
}

/// Whether an organization is a business customer or a partner.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum OrganizationKind {
    Customer,
    Partner,
}

impl From<OrganizationKind> for CoreKind {
    fn from(kind: OrganizationKind) -> Self {
        match kind {
            OrganizationKind::Customer => CoreKind::Customer,
            OrganizationKind::Partner => CoreKind::Partner,
        }
    }
}

impl From<CoreKind> for OrganizationKind {
    fn from(kind: CoreKind) -> Self {
        match kind {
            CoreKind::Customer => OrganizationKind::Customer,
            CoreKind::Partner => OrganizationKind::Partner,
        }
    }
}

/// A business customer or partner of the tenant.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Organization {
    pub id: ID,
    pub name: String,
    /// Unique within the tenant.
    pub slug: String,
    pub kind: OrganizationKind,
    /// Free-form JSON object.
    pub metadata: Json<Value>,
    /// The id in another system, such as the CRM account id.
    pub external_id: Option<String>,
    /// What happens when someone signs up with an email address at a verified domain.
    pub domain_policy: DomainPolicy,
    /// How members must have signed in for a session or token scoped to the organization.
    pub authentication_policy: AuthenticationPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<core_orgs::Organization> for Organization {
    fn from(org: core_orgs::Organization) -> Self {
        Self {
            id: ID(org.id.to_string()),
            name: org.name,
            slug: org.slug,
            kind: org.kind.into(),
            metadata: Json(org.metadata),
            external_id: org.external_id,
            domain_policy: org.domain_policy.into(),
            authentication_policy: org.authentication_policy.into(),
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// What happens when someone signs up with an email address at one of the organization's
/// verified domains.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DomainPolicy {
    /// Nothing: people join through invitations.
    None,
    /// They become members (`org:member`) as soon as their email address is verified.
    AutoJoin,
    /// A join request waits for an organization admin.
    RequestToJoin,
}

impl From<DomainPolicy> for CorePolicy {
    fn from(policy: DomainPolicy) -> Self {
        match policy {
            DomainPolicy::None => CorePolicy::None,
            DomainPolicy::AutoJoin => CorePolicy::AutoJoin,
            DomainPolicy::RequestToJoin => CorePolicy::RequestToJoin,
        }
    }
}

impl From<CorePolicy> for DomainPolicy {
    fn from(policy: CorePolicy) -> Self {
        match policy {
            CorePolicy::None => DomainPolicy::None,
            CorePolicy::AutoJoin => DomainPolicy::AutoJoin,
            CorePolicy::RequestToJoin => DomainPolicy::RequestToJoin,
        }
    }
}

/// How an organization's members must have signed in for its sessions and tokens.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AuthenticationPolicy {
    /// Any sign-in method the tenant allows.
    Any,
    /// A passkey: after another sign-in (an email code, say), `switchOrganization` and
    /// organization-scoped OAuth requests are refused until the member signs in with a passkey.
    Passkey,
}

impl From<AuthenticationPolicy> for core_orgs::AuthenticationPolicy {
    fn from(policy: AuthenticationPolicy) -> Self {
        match policy {
            AuthenticationPolicy::Any => core_orgs::AuthenticationPolicy::Any,
            AuthenticationPolicy::Passkey => core_orgs::AuthenticationPolicy::Passkey,
        }
    }
}

impl From<core_orgs::AuthenticationPolicy> for AuthenticationPolicy {
    fn from(policy: core_orgs::AuthenticationPolicy) -> Self {
        match policy {
            core_orgs::AuthenticationPolicy::Any => AuthenticationPolicy::Any,
            core_orgs::AuthenticationPolicy::Passkey => AuthenticationPolicy::Passkey,
        }
    }
}

/// Where a membership or a role grant stands against its window at the time of the read.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum MembershipStatus {
    /// Before `validFrom`: it gives nothing yet.
    Pending,
    Active,
    /// At or after `validUntil`: it gives nothing any more.
    Expired,
}

impl From<core_orgs::AccessStatus> for MembershipStatus {
    fn from(status: core_orgs::AccessStatus) -> Self {
        match status {
            core_orgs::AccessStatus::Pending => MembershipStatus::Pending,
            core_orgs::AccessStatus::Active => MembershipStatus::Active,
            core_orgs::AccessStatus::Expired => MembershipStatus::Expired,
        }
    }
}

impl From<MembershipStatus> for core_orgs::AccessStatus {
    fn from(status: MembershipStatus) -> Self {
        match status {
            MembershipStatus::Pending => core_orgs::AccessStatus::Pending,
            MembershipStatus::Active => core_orgs::AccessStatus::Active,
            MembershipStatus::Expired => core_orgs::AccessStatus::Expired,
        }
    }
}

/// A role given within a membership for a window of its own (temporary elevated access).
#[derive(SimpleObject, Clone, Debug)]
pub struct RoleGrant {
    pub id: ID,
    pub role: String,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub status: MembershipStatus,
    pub created_at: DateTime<Utc>,
}

impl RoleGrant {
    /// `grant` as it stands at `now`.
    pub fn at(grant: core_orgs::RoleGrant, now: DateTime<Utc>) -> Self {
        Self {
            id: ID(grant.id.to_string()),
            status: grant.window.status(now).into(),
            role: grant.role,
            valid_from: grant.window.valid_from,
            valid_until: grant.window.valid_until,
            created_at: grant.created_at,
        }
    }
}

/// An identity's membership of an organization: its roles there and the window in which it
/// gives access.
#[derive(SimpleObject, Clone, Debug)]
pub struct Membership {
    pub id: ID,
    /// The lasting organization role names (`org:admin`, `org:member`, or the tenant's own).
    pub roles: Vec<String>,
    /// The roles the membership gives now: none outside its window; inside it, `roles` and the
    /// roles of the grants in their own windows.
    pub roles_in_force: Vec<String>,
    /// Every role grant of the membership, oldest first.
    pub grants: Vec<RoleGrant>,
    /// When it starts giving access (open if null).
    pub valid_from: Option<DateTime<Utc>>,
    /// When it stops giving access (open if null).
    pub valid_until: Option<DateTime<Utc>>,
    pub status: MembershipStatus,
    /// Set while the organization's own directory has suspended the membership over SCIM
    /// (`active: false`): it keeps its roles and window but gives no access (`rolesInForce` is
    /// empty) until the directory resumes it.
    pub suspended_at: Option<DateTime<Utc>>,
    pub organization: Organization,
    pub identity: Identity,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<core_orgs::Member> for Membership {
    fn from(member: core_orgs::Member) -> Self {
        let now = member.read_at;
        Self {
            id: ID(member.membership.id.to_string()),
            roles: member.membership.roles,
            roles_in_force: member.roles_in_force,
            grants: member
                .grants
                .into_iter()
                .map(|grant| RoleGrant::at(grant, now))
                .collect(),
            valid_from: member.membership.window.valid_from,
            valid_until: member.membership.window.valid_until,
            status: member.status.into(),
            suspended_at: member.membership.suspended_at,
            organization: member.organization.into(),
            identity: member.identity.into(),
            created_at: member.membership.created_at,
            updated_at: member.membership.updated_at,
        }
    }
}
