//! Federation in the tenant API: identity providers (`createIdentityProvider`,
//! `updateIdentityProvider`, `deleteIdentityProvider`, `identityProviders`,
//! `testIdentityProvider`), an identity's linked providers (`federatedLinks`) and unlinking one
//! from the account (`unlinkIdentityProvider`).

use super::context::request;
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::federation::{self, NewProvider, Preset, Protocol, ProviderChanges};
use latchkey_tenants::federation::{
    create_identity_provider, test_identity_provider, update_identity_provider,
};
use serde_json::Value;

/// How Latchkey talks to an identity provider.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "IdentityProviderProtocol")]
pub enum ProtocolKind {
    /// OpenID Connect (the code flow with PKCE).
    Oidc,
    /// SAML 2.0 (SP-initiated; settings `{ metadataXml }` or `{ metadataUrl }`).
    Saml,
}

/// A provider's defaults and quirks.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "IdentityProviderPreset")]
pub enum PresetKind {
    /// Any standard provider (Okta, Auth0, Keycloak, another Latchkey tenant).
    Generic,
    /// Google (its issuer by default; Workspace addresses need the signed `hd` claim).
    Google,
    /// Microsoft Entra ID (keyed by `tid` and `oid`; addresses count only with `xms_edov`).
    Microsoft,
    /// Sign in with Apple (credentials `{ clientId, teamId, keyId, privateKey }`: the server
    /// signs the client secret; Apple answers by form post).
    Apple,
    /// GitHub (OAuth 2; the verified primary address is read from its API; settings may name
    /// `authorizationEndpoint`, `tokenEndpoint`, `apiUrl` for GitHub Enterprise Server).
    Github,
}

impl From<ProtocolKind> for Protocol {
    fn from(value: ProtocolKind) -> Self {
        match value {
            ProtocolKind::Oidc => Protocol::Oidc,
            ProtocolKind::Saml => Protocol::Saml,
        }
    }
}

impl From<Protocol> for ProtocolKind {
    fn from(value: Protocol) -> Self {
        match value {
            Protocol::Oidc => ProtocolKind::Oidc,
            Protocol::Saml => ProtocolKind::Saml,
        }
    }
}

impl From<PresetKind> for Preset {
    fn from(value: PresetKind) -> Self {
        match value {
            PresetKind::Generic => Preset::Generic,
            PresetKind::Google => Preset::Google,
            PresetKind::Microsoft => Preset::Microsoft,
            PresetKind::Apple => Preset::Apple,
            PresetKind::Github => Preset::Github,
        }
    }
}

impl From<Preset> for PresetKind {
    fn from(value: Preset) -> Self {
        match value {
            Preset::Generic => PresetKind::Generic,
            Preset::Google => PresetKind::Google,
            Preset::Microsoft => PresetKind::Microsoft,
            Preset::Apple => PresetKind::Apple,
            Preset::Github => PresetKind::Github,
        }
    }
}

/// An identity provider of the tenant. Its credentials are never shown.
#[derive(SimpleObject, Clone, Debug)]
pub struct IdentityProvider {
    pub id: ID,
    pub name: String,
    pub protocol: ProtocolKind,
    pub preset: PresetKind,
    /// The organization whose enterprise SSO it is; null for a tenant-wide (social) provider.
    pub organization_id: Option<ID>,
    /// The organization's verified domains it answers for (home-realm discovery).
    pub domains: Vec<String>,
    /// The checked settings (OIDC: `issuer`, `scopes`; SAML: `metadataXml` or `metadataUrl`).
    pub settings: Json<Value>,
    pub role_mapping: Option<Json<Value>>,
    /// Where a sign-in with it starts (`/t/{slug}/federation/{id}/start`).
    pub start_path: String,
    /// SAML: Latchkey's service-provider metadata for the IdP's administrator
    /// (`/t/{slug}/saml/{id}/metadata`; its full URL is also Latchkey's entity id).
    pub service_provider_metadata_path: Option<String>,
    /// SAML: where the IdP posts its responses (`/t/{slug}/saml/{id}/acs`).
    pub assertion_consumer_service_path: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IdentityProvider {
    fn of(provider: federation::IdentityProvider, slug: &str) -> Self {
        Self {
            start_path: format!("/t/{slug}/federation/{}/start", provider.id),
            service_provider_metadata_path: (provider.protocol == Protocol::Saml)
                .then(|| format!("/t/{slug}/saml/{}/metadata", provider.id)),
            assertion_consumer_service_path: (provider.protocol == Protocol::Saml)
                .then(|| format!("/t/{slug}/saml/{}/acs", provider.id)),
            id: ID(provider.id.to_string()),
            name: provider.name,
            protocol: provider.protocol.into(),
            preset: provider.preset.into(),
            organization_id: provider.organization_id.map(|id| ID(id.to_string())),
            domains: provider.domains,
            settings: Json(provider.settings),
            role_mapping: provider
                .role_mapping
                .map(|m| Json(serde_json::to_value(m).unwrap_or_default())),
            created_at: provider.created_at,
            updated_at: provider.updated_at,
        }
    }
}

/// An identity's account at an identity provider.
#[derive(SimpleObject, Clone, Debug)]
pub struct FederatedLink {
    pub provider_id: ID,
    pub provider_name: String,
    /// The provider's id of the person (Microsoft: `{tid}/{oid}`).
    pub subject: String,
    /// The address the provider gave when the link was made.
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl From<federation::LinkedProvider> for FederatedLink {
    fn from(linked: federation::LinkedProvider) -> Self {
        let link = linked.link;
        Self {
            provider_id: ID(link.provider_id.to_string()),
            provider_name: linked.provider_name,
            subject: link.subject,
            email: link.email,
            created_at: link.created_at,
            last_sign_in_at: link.last_sign_in_at,
        }
    }
}

/// `Identity.federatedLinks` and `viewer.federatedLinks`.
pub(super) async fn federated_links(
    ctx: &Context<'_>,
    identity_id: uuid::Uuid,
) -> async_graphql::Result<Vec<FederatedLink>> {
    let (services, req) = request(ctx);
    let links = federation::federated_links(&services.db, &req.scope, &req.actor, identity_id)
        .await
        .gql()?;
    Ok(links.into_iter().map(Into::into).collect())
}

/// An organization's requirement that its members sign in through its own identity provider.
#[derive(SimpleObject, Clone, Debug)]
pub struct SsoRequirement {
    pub organization_id: ID,
    /// The identities that may still sign in otherwise (break-glass accounts).
    pub exceptions: Vec<ID>,
    pub updated_at: DateTime<Utc>,
}

impl From<latchkey_core::sso::SsoRequirement> for SsoRequirement {
    fn from(requirement: latchkey_core::sso::SsoRequirement) -> Self {
        Self {
            organization_id: ID(requirement.organization_id.to_string()),
            exceptions: requirement
                .exceptions
                .iter()
                .map(|id| ID(id.to_string()))
                .collect(),
            updated_at: requirement.updated_at,
        }
    }
}

#[derive(Default)]
pub struct IdentityProviderQuery;

#[Object]
impl IdentityProviderQuery {
    /// The tenant's identity providers, oldest first; with `organizationId`, that
    /// organization's only. Tenant admins.
    async fn identity_providers(
        &self,
        ctx: &Context<'_>,
        organization_id: Option<ID>,
    ) -> async_graphql::Result<Vec<IdentityProvider>> {
        let (services, req) = request(ctx);
        let organization = organization_id
            .map(|id| parse_id("organizationId", &id))
            .transpose()?;
        let providers =
            federation::list_providers(&services.db, &req.scope, &req.actor, organization)
                .await
                .gql()?;
        Ok(providers
            .into_iter()
            .map(|p| IdentityProvider::of(p, req.scope.slug()))
            .collect())
    }

    /// The organization's SSO requirement (null when it has none). Tenant admins.
    async fn organization_sso_requirement(
        &self,
        ctx: &Context<'_>,
        organization_id: ID,
    ) -> async_graphql::Result<Option<SsoRequirement>> {
        let (services, req) = request(ctx);
        let id = parse_id("organizationId", &organization_id)?;
        let requirement = federation::sso_requirement(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(requirement.map(Into::into))
    }
}

#[derive(InputObject)]
pub struct CreateIdentityProviderInput {
    pub name: String,
    pub protocol: ProtocolKind,
    #[graphql(default_with = "PresetKind::Generic")]
    pub preset: PresetKind,
    /// Null for a tenant-wide (social) provider; an organization's id for its enterprise SSO.
    pub organization_id: Option<ID>,
    /// Verified domains of the organization this provider answers for.
    #[graphql(default)]
    pub domains: Vec<String>,
    /// OIDC: `{ issuer, scopes? }` (Google's, Microsoft's and Apple's issuers are the
    /// default); GITHUB: `{ scopes?, authorizationEndpoint?, tokenEndpoint?, apiUrl? }`;
    /// SAML: `{ metadataXml }` or `{ metadataUrl }` (the IdP's metadata).
    pub settings: Json<Value>,
    /// `{ clientId, clientSecret? }` (no secret: a public client); APPLE: `{ clientId, teamId,
    /// keyId, privateKey }`; SAML: `{}`. Write-only, sealed under the master key.
    pub credentials: Json<Value>,
    /// `{ claim: "groups", rules: [{ value, roles }], defaultRoles }` (organization providers).
    pub role_mapping: Option<Json<Value>>,
}

#[derive(InputObject)]
pub struct UpdateIdentityProviderInput {
    pub id: ID,
    pub name: Option<String>,
    pub domains: Option<Vec<String>>,
    pub settings: Option<Json<Value>>,
    /// Replaces the credentials whole.
    pub credentials: Option<Json<Value>>,
    /// Replaces the role mapping; `null` removes it.
    pub role_mapping: async_graphql::MaybeUndefined<Json<Value>>,
}

#[derive(InputObject)]
pub struct DeleteIdentityProviderInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct SetOrganizationSsoRequirementInput {
    pub organization_id: ID,
    /// Whether members must sign in through the organization's provider.
    pub required: bool,
    /// Identities that may still sign in otherwise (break-glass accounts, at most 20).
    #[graphql(default)]
    pub exceptions: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct SsoRequirementPayload {
    /// Null once the requirement is lifted.
    pub requirement: Option<SsoRequirement>,
}

#[derive(InputObject)]
pub struct UnlinkIdentityProviderInput {
    pub provider_id: ID,
}

#[derive(SimpleObject)]
pub struct IdentityProviderPayload {
    pub identity_provider: IdentityProvider,
}

/// What `testIdentityProvider` found.
#[derive(SimpleObject)]
pub struct IdentityProviderTest {
    pub ok: bool,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct UnlinkIdentityProviderPayload {
    pub unlinked: bool,
}

#[derive(Default)]
pub struct IdentityProviderMutation;

#[Object]
impl IdentityProviderMutation {
    /// Adds an identity provider. Its discovery document and keys are read first: a provider
    /// that cannot be reached, or whose document is wrong, is `BAD_USER_INPUT` on
    /// `settings.issuer` saying what is wrong, and nothing is saved. Tenant admins.
    async fn create_identity_provider(
        &self,
        ctx: &Context<'_>,
        input: CreateIdentityProviderInput,
    ) -> async_graphql::Result<IdentityProviderPayload> {
        let (services, req) = request(ctx);
        let new = NewProvider {
            name: input.name,
            protocol: input.protocol.into(),
            preset: input.preset.into(),
            organization_id: input
                .organization_id
                .map(|id| parse_id("organizationId", &id))
                .transpose()?,
            domains: input.domains,
            settings: input.settings.0,
            credentials: input.credentials.0,
            role_mapping: input.role_mapping.map(|m| m.0),
        };
        let provider = create_identity_provider(
            &services.db,
            &req.scope,
            &req.actor,
            &services.master_key,
            &services.federation,
            new,
        )
        .await
        .gql()?;
        Ok(IdentityProviderPayload {
            identity_provider: IdentityProvider::of(provider, req.scope.slug()),
        })
    }

    /// Changes a provider, checked and discovered like a new one.
    async fn update_identity_provider(
        &self,
        ctx: &Context<'_>,
        input: UpdateIdentityProviderInput,
    ) -> async_graphql::Result<IdentityProviderPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let changes = ProviderChanges {
            name: input.name,
            domains: input.domains,
            settings: input.settings.map(|s| s.0),
            credentials: input.credentials.map(|c| c.0),
            role_mapping: match input.role_mapping {
                async_graphql::MaybeUndefined::Undefined => None,
                async_graphql::MaybeUndefined::Null => Some(Value::Null),
                async_graphql::MaybeUndefined::Value(m) => Some(m.0),
            },
        };
        let provider = update_identity_provider(
            &services.db,
            &req.scope,
            &req.actor,
            &services.master_key,
            &services.federation,
            id,
            changes,
        )
        .await
        .gql()?;
        Ok(IdentityProviderPayload {
            identity_provider: IdentityProvider::of(provider, req.scope.slug()),
        })
    }

    /// Deletes a provider and every link to it; identities stay.
    async fn delete_identity_provider(
        &self,
        ctx: &Context<'_>,
        input: DeleteIdentityProviderInput,
    ) -> async_graphql::Result<IdentityProviderPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let provider = federation::delete_provider(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(IdentityProviderPayload {
            identity_provider: IdentityProvider::of(provider, req.scope.slug()),
        })
    }

    /// Reads the provider's discovery document and keys now: `ok` and what was found, or
    /// what is wrong.
    async fn test_identity_provider(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<IdentityProviderTest> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &id)?;
        let tested = test_identity_provider(
            &services.db,
            &req.scope,
            &req.actor,
            &services.master_key,
            &services.federation,
            id,
        )
        .await
        .gql()?;
        Ok(match tested {
            Ok(message) => IdentityProviderTest { ok: true, message },
            Err(message) => IdentityProviderTest { ok: false, message },
        })
    }

    /// Requires the organization's members to sign in through its own identity provider
    /// (every other way in, including other providers, is refused for them), except the
    /// `exceptions`; or lifts the requirement. The organization needs a provider first.
    async fn set_organization_sso_requirement(
        &self,
        ctx: &Context<'_>,
        input: SetOrganizationSsoRequirementInput,
    ) -> async_graphql::Result<SsoRequirementPayload> {
        let (services, req) = request(ctx);
        let organization_id = parse_id("organizationId", &input.organization_id)?;
        let exceptions = input
            .exceptions
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(&format!("exceptions[{i}]"), id))
            .collect::<Result<Vec<_>, _>>()?;
        let requirement = federation::set_sso_requirement(
            &services.db,
            &req.scope,
            &req.actor,
            organization_id,
            input.required,
            exceptions,
        )
        .await
        .gql()?;
        Ok(SsoRequirementPayload {
            requirement: requirement.map(Into::into),
        })
    }

    /// The signed-in user removes the link of their account to a provider, if another way in
    /// remains (a passkey, a password, another provider, or email codes).
    async fn unlink_identity_provider(
        &self,
        ctx: &Context<'_>,
        input: UnlinkIdentityProviderInput,
    ) -> async_graphql::Result<UnlinkIdentityProviderPayload> {
        let (services, req) = request(ctx);
        let provider_id = parse_id("providerId", &input.provider_id)?;
        federation::unlink_provider(
            &services.db,
            &req.scope,
            &req.actor,
            &req.settings,
            provider_id,
        )
        .await
        .gql()?;
        Ok(UnlinkIdentityProviderPayload { unlinked: true })
    }
}
