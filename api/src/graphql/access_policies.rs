//! Application access policies in the tenant API: who may sign in to an application.

use super::objects::OrganizationKind;
use super::types::parse_id;
use async_graphql::{Enum, ID, InputObject, SimpleObject};
use latchkey_core::applications::{AccessPolicy as CorePolicy, Allow};

/// Who an access policy lets in, before its lists narrow it.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccessPolicyAllow {
    /// Every active identity of the tenant (the default).
    Any,
    /// Identities that are members of no organization.
    Consumers,
    /// Members of an organization that the lists admit.
    Members,
}

/// Who may sign in to an application. With `MEMBERS`, each list that is not empty must be met
/// by one membership in force: the organization of a listed kind, one of the listed
/// organizations, the member holding a listed role there, the organization holding a listed
/// entitlement. An organization-scoped sign-in is judged by that organization alone.
#[derive(SimpleObject, Clone, Debug)]
pub struct AccessPolicy {
    pub allow: AccessPolicyAllow,
    pub organization_kinds: Vec<OrganizationKind>,
    pub organization_ids: Vec<ID>,
    pub roles: Vec<String>,
    pub entitlements: Vec<String>,
}

impl From<CorePolicy> for AccessPolicy {
    fn from(policy: CorePolicy) -> Self {
        Self {
            allow: match policy.allow {
                Allow::Any => AccessPolicyAllow::Any,
                Allow::Consumers => AccessPolicyAllow::Consumers,
                Allow::Members => AccessPolicyAllow::Members,
            },
            organization_kinds: policy
                .organization_kinds
                .into_iter()
                .map(Into::into)
                .collect(),
            organization_ids: policy
                .organization_ids
                .into_iter()
                .map(|id| ID(id.to_string()))
                .collect(),
            roles: policy.roles,
            entitlements: policy.entitlements,
        }
    }
}

/// An application's access policy, replaced whole.
#[derive(InputObject, Clone, Debug)]
pub struct AccessPolicyInput {
    pub allow: AccessPolicyAllow,
    #[graphql(default)]
    pub organization_kinds: Vec<OrganizationKind>,
    #[graphql(default)]
    pub organization_ids: Vec<ID>,
    #[graphql(default)]
    pub roles: Vec<String>,
    #[graphql(default)]
    pub entitlements: Vec<String>,
}

impl AccessPolicyInput {
    /// The policy for the core; an id that is no id is `BAD_USER_INPUT` naming it.
    pub fn into_core(self) -> async_graphql::Result<CorePolicy> {
        let organization_ids = self
            .organization_ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(&format!("accessPolicy.organizationIds[{i}]"), id))
            .collect::<async_graphql::Result<Vec<_>>>()?;
        Ok(CorePolicy {
            allow: match self.allow {
                AccessPolicyAllow::Any => Allow::Any,
                AccessPolicyAllow::Consumers => Allow::Consumers,
                AccessPolicyAllow::Members => Allow::Members,
            },
            organization_kinds: self
                .organization_kinds
                .into_iter()
                .map(Into::into)
                .collect(),
            organization_ids,
            roles: self.roles,
            entitlements: self.entitlements,
        })
    }
}
