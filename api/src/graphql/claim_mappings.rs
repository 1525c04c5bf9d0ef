//! Custom claim mappings in the tenant API, on the tenant settings and on applications: a
//! target claim name and a source path (`identity.attributes.tier`,
//! `organization.metadata.region`…), into the ID token, the access token or both.

use async_graphql::{InputObject, SimpleObject};
use latchkey_core::claim_mappings as core_mappings;

/// A custom claim of the tokens: `claim` takes the value at `source`.
#[derive(SimpleObject, Clone, Debug)]
pub struct ClaimMapping {
    /// The claim's name in the token. Claims Latchkey sets itself (`iss`, `sub`, `aud`,
    /// `exp`, `org_id`, `email`…) are refused.
    pub claim: String,
    /// Where the value comes from: `identity.email`, `identity.emailVerified`,
    /// `identity.displayName`, `identity.phone`, `identity.locale`, `identity.externalId`,
    /// `identity.createdAt`, `identity.attributes.<name>`, `organization.id`,
    /// `organization.name`, `organization.slug`, `organization.kind`,
    /// `organization.externalId` or `organization.metadata.<key>[.<key>…]`.
    pub source: String,
    /// Whether ID tokens (and userinfo) carry it.
    pub id_token: bool,
    /// Whether access tokens carry it.
    pub access_token: bool,
}

impl From<core_mappings::ClaimMapping> for ClaimMapping {
    fn from(mapping: core_mappings::ClaimMapping) -> Self {
        Self {
            claim: mapping.claim,
            source: mapping.source,
            id_token: mapping.id_token,
            access_token: mapping.access_token,
        }
    }
}

/// A custom claim to add to tokens.
#[derive(InputObject, Clone, Debug)]
pub struct ClaimMappingInput {
    pub claim: String,
    pub source: String,
    #[graphql(default = true)]
    pub id_token: bool,
    #[graphql(default = true)]
    pub access_token: bool,
}

impl From<ClaimMappingInput> for core_mappings::ClaimMapping {
    fn from(input: ClaimMappingInput) -> Self {
        Self {
            claim: input.claim.trim().to_owned(),
            source: input.source.trim().to_owned(),
            id_token: input.id_token,
            access_token: input.access_token,
        }
    }
}

/// The stored mappings as the API shows them.
pub fn mappings_out(mappings: Vec<core_mappings::ClaimMapping>) -> Vec<ClaimMapping> {
    mappings.into_iter().map(ClaimMapping::from).collect()
}

/// The mappings of an input, for the core.
pub fn mappings_in(inputs: Vec<ClaimMappingInput>) -> Vec<core_mappings::ClaimMapping> {
    inputs.into_iter().map(Into::into).collect()
}
