//! The custom claims of an application's tokens: the tenant's and the application's claim
//! mappings (see [`crate::claim_mappings`]) evaluated for one identity and, for an
//! organization-scoped token, its organization. A source without a value (an attribute not
//! set, an organization claim in a token without one) leaves its claim out.

use super::Provider;
use crate::applications::Application;
use crate::claim_mappings::{self, ClaimMapping, Source};
use crate::db::TenantTx;
use crate::identities::{self, Identity};
use crate::organizations::{self, Organization};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The custom claims for one token response, per kind of token.
#[derive(Debug, Default)]
pub(super) struct CustomClaims {
    pub id_token: Map<String, Value>,
    pub access_token: Map<String, Value>,
}

/// The value `source` names, `Null` when there is none.
fn value_of(source: &Source, identity: &Identity, organization: Option<&Organization>) -> Value {
    match source {
        Source::IdentityEmail => json!(identity.email),
        Source::IdentityEmailVerified => json!(identity.email_verified),
        Source::IdentityDisplayName => json!(identity.display_name),
        Source::IdentityPhone => json!(identity.phone),
        Source::IdentityLocale => json!(identity.locale),
        Source::IdentityExternalId => json!(identity.external_id),
        Source::IdentityCreatedAt => json!(identity.created_at.timestamp()),
        Source::IdentityAttribute(name) => identity
            .attributes
            .get(name)
            .cloned()
            .unwrap_or(Value::Null),
        Source::OrganizationMetadata(keys) => organization
            .and_then(|org| {
                keys.iter()
                    .try_fold(&org.metadata, |value, key| value.get(key))
            })
            .cloned()
            .unwrap_or(Value::Null),
        organization_source => match organization {
            None => Value::Null,
            Some(org) => match organization_source {
                Source::OrganizationId => json!(org.id.to_string()),
                Source::OrganizationName => json!(org.name),
                Source::OrganizationSlug => json!(org.slug),
                Source::OrganizationKind => json!(org.kind.as_str()),
                Source::OrganizationExternalId => json!(org.external_id),
                _ => Value::Null,
            },
        },
    }
}

impl Provider<'_> {
    /// The custom claims of `app`'s tokens for `identity_id` (scoped to `organization_id`,
    /// if any). Reads the identity and the organization only when a mapping needs them.
    pub(super) async fn custom_claims(
        &self,
        tx: &TenantTx,
        app: &Application,
        identity_id: Uuid,
        organization_id: Option<Uuid>,
    ) -> crate::Result<CustomClaims> {
        let mappings: Vec<&ClaimMapping> =
            claim_mappings::effective(&self.issuer.settings.claim_mappings, &app.claim_mappings)
                .collect();
        let mut claims = CustomClaims::default();
        if mappings.is_empty() {
            return Ok(claims);
        }
        let sources: Vec<Option<Source>> = mappings
            .iter()
            .map(|mapping| Source::parse(&mapping.source))
            .collect();
        let identity = identities::find_in(tx, identity_id).await?;
        let organization = match organization_id {
            Some(id) if sources.iter().flatten().any(Source::is_organization) => {
                Some(organizations::find_in(tx, id).await?)
            }
            _ => None,
        };
        let (mut id_used, mut access_used) = (0, 0);
        for (mapping, source) in mappings.iter().zip(sources) {
            let Some(source) = source else { continue };
            let value = value_of(&source, &identity, organization.as_ref());
            if mapping.id_token {
                claim_mappings::add_bounded(
                    &mut claims.id_token,
                    &mut id_used,
                    &mapping.claim,
                    value.clone(),
                );
            }
            if mapping.access_token {
                claim_mappings::add_bounded(
                    &mut claims.access_token,
                    &mut access_used,
                    &mapping.claim,
                    value,
                );
            }
        }
        Ok(claims)
    }
}
