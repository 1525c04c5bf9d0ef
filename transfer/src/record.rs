//! The Latchkey transfer format: JSON lines, one record per line, each with a `type`. An
//! export writes the tenant's own roles first, then its organizations, then its identities
//! (with their passkeys, memberships, federated links and CRM records); an import reads the
//! same lines, and every other format is read into them.
//!
//! ```json
//! {"type":"role","name":"billing","permissions":["invoices:read"]}
//! {"type":"organization","slug":"acme","name":"Acme","kind":"customer"}
//! {"type":"identity","id":"0190…","email":"ada@acme.test","emailVerified":true,
//!  "memberships":[{"organization":"acme","roles":["org:member","billing"]}],
//!  "passkeys":[{"credentialId":"…","name":"Laptop","credential":{…},"createdAt":"…"}]}
//! ```

use chrono::{DateTime, Utc};
use latchkey_core::passkeys::PortablePasskey;
use latchkey_tenants::crm::RecordLink;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One line of a Latchkey transfer file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Record {
    Role(RoleRecord),
    Organization(OrganizationRecord),
    Identity(Box<IdentityRecord>),
}

/// An organization role the tenant defined.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleRecord {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// An organization, matched by `slug` on import.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationRecord {
    pub slug: String,
    pub name: String,
    /// `customer` (the default) or `partner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// An identity, matched on import by `externalId`, then by address, then by `id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityRecord {
    /// Kept on import when no identity has it, so `sub` claims stay the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub email: String,
    /// Only an address the old provider verified counts as verified.
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `active` (the default) or `suspended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// A password hash in one of the stored forms of `latchkey-password-hashes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passkeys: Vec<PortablePasskey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memberships: Vec<MembershipRecord>,
    /// Exported for the record; an import leaves them out (providers carry secrets and are
    /// not exported, so a link would name a provider the target tenant may not have).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub federated_links: Vec<FederatedLinkRecord>,
    /// Exported for the record; an import leaves them out (connectors are set up anew).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crm_records: Vec<RecordLink>,
}

/// A membership, naming its organization by slug.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MembershipRecord {
    pub organization: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
}

/// An account at an identity provider, linked to the identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederatedLinkRecord {
    pub provider_id: Uuid,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}
