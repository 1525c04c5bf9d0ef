//! The tenant's passkey, token and page settings (and the relying party they give), and its
//! token signing keys: read, changed and rotated.

use super::context::{TenantRequest, request};
use super::types::{Connection, IntoGraphql, page_request};
use crate::state::Services;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::passkeys::RelyingParty;
use latchkey_core::settings::{self as core_settings, RateLimits, TenantSettings};
use latchkey_core::signing_keys;

/// The tenant's settings as stored (defaults filled in).
pub fn settings_of(req: &TenantRequest) -> TenantSettings {
    TenantSettings::from_json(&req.tenant.settings)
}

/// The relying party of the tenant: its settings, else the deployment's public URL.
pub fn relying_party(
    services: &Services,
    req: &TenantRequest,
    settings: &TenantSettings,
) -> RelyingParty {
    let public = url::Url::parse(&services.public_url).ok();
    let default_rp_id = public
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_owned());
    let default_origin = public
        .as_ref()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| services.public_url.clone());
    RelyingParty {
        rp_id: settings.rp_id.clone().unwrap_or(default_rp_id),
        rp_name: settings
            .rp_name
            .clone()
            .unwrap_or_else(|| req.tenant.name.clone()),
        origins: if settings.allowed_origins.is_empty() {
            vec![default_origin]
        } else {
            settings.allowed_origins.clone()
        },
        user_verification: settings.user_verification,
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256 (the default).
    #[graphql(name = "ES256")]
    Es256,
    /// Ed25519.
    #[graphql(name = "EDDSA")]
    Eddsa,
}

impl From<core_settings::SigningAlgorithm> for SigningAlgorithm {
    fn from(algorithm: core_settings::SigningAlgorithm) -> Self {
        match algorithm {
            core_settings::SigningAlgorithm::ES256 => SigningAlgorithm::Es256,
            core_settings::SigningAlgorithm::EdDSA => SigningAlgorithm::Eddsa,
        }
    }
}

impl From<SigningAlgorithm> for core_settings::SigningAlgorithm {
    fn from(algorithm: SigningAlgorithm) -> Self {
        match algorithm {
            SigningAlgorithm::Es256 => core_settings::SigningAlgorithm::ES256,
            SigningAlgorithm::Eddsa => core_settings::SigningAlgorithm::EdDSA,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum UserVerification {
    Required,
    Preferred,
}

/// A token signing key of the tenant (public information only).
#[derive(SimpleObject, Clone, Debug)]
pub struct SigningKey {
    /// The `kid` in token headers and the JWKS.
    pub id: ID,
    pub algorithm: SigningAlgorithm,
    /// `current` (signs), `next` (published ahead) or `retired` (still published while its
    /// tokens may be live).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl From<signing_keys::SigningKey> for SigningKey {
    fn from(key: signing_keys::SigningKey) -> Self {
        Self {
            id: ID(key.id.to_string()),
            algorithm: key.algorithm.into(),
            status: key.status,
            created_at: key.created_at,
            activated_at: key.activated_at,
            retired_at: key.retired_at,
        }
    }
}

#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "RateLimitsInput")]
pub struct RateLimitsSettings {
    /// Sign-in ceremonies started per client IP per minute.
    pub sign_in_per_ip: u32,
    /// Sign-in ceremonies started per email per minute.
    pub sign_in_per_identity: u32,
    /// Sign-up ceremonies started per client IP per minute.
    pub sign_up_per_ip: u32,
}

/// The tenant's passkey, token and page settings.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "TenantSettings")]
pub struct TenantSettingsObject {
    /// The WebAuthn relying party id; null = the host of the deployment's public URL.
    pub rp_id: Option<String>,
    pub rp_name: Option<String>,
    /// Origins allowed in ceremonies; empty = the deployment's public URL.
    pub allowed_origins: Vec<String>,
    /// The RP id, name and origins in force.
    pub effective_rp_id: String,
    pub effective_rp_name: String,
    pub effective_origins: Vec<String>,
    pub user_verification: UserVerification,
    pub self_sign_up: bool,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    pub signing_algorithm: SigningAlgorithm,
    pub primary_color: String,
    pub rate_limits: RateLimitsSettings,
}

pub fn settings_object(
    services: &Services,
    req: &TenantRequest,
    settings: TenantSettings,
) -> TenantSettingsObject {
    let rp = relying_party(services, req, &settings);
    TenantSettingsObject {
        rp_id: settings.rp_id,
        rp_name: settings.rp_name,
        allowed_origins: settings.allowed_origins,
        effective_rp_id: rp.rp_id,
        effective_rp_name: rp.rp_name,
        effective_origins: rp.origins,
        user_verification: match settings.user_verification {
            core_settings::UserVerification::Required => UserVerification::Required,
            core_settings::UserVerification::Preferred => UserVerification::Preferred,
        },
        self_sign_up: settings.self_sign_up,
        access_token_ttl_seconds: settings.access_token_ttl_seconds,
        refresh_token_ttl_seconds: settings.refresh_token_ttl_seconds,
        signing_algorithm: settings.signing_algorithm.into(),
        primary_color: settings.primary_color,
        rate_limits: RateLimitsSettings {
            sign_in_per_ip: settings.rate_limits.sign_in_per_ip,
            sign_in_per_identity: settings.rate_limits.sign_in_per_identity,
            sign_up_per_ip: settings.rate_limits.sign_up_per_ip,
        },
    }
}

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The tenant's token signing keys. Requires the viewer role.
    async fn signing_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<SigningKey>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let result = signing_keys::list_signing_keys(&services.db, &req.scope, &req.actor, page)
            .await
            .gql()?;
        Ok(Connection::from_page(result, |k| k.id, SigningKey::from))
    }
}

/// Fields left out keep their value.
#[derive(InputObject, Default)]
pub struct UpdateTenantSettingsInput {
    pub rp_id: Option<String>,
    pub rp_name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub user_verification: Option<UserVerification>,
    pub self_sign_up: Option<bool>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    /// Changing it rotates to a key of the new algorithm at once.
    pub signing_algorithm: Option<SigningAlgorithm>,
    pub primary_color: Option<String>,
    pub rate_limits: Option<RateLimitsSettings>,
}

#[derive(SimpleObject)]
pub struct UpdateTenantSettingsPayload {
    pub settings: TenantSettingsObject,
}

#[derive(InputObject, Default)]
pub struct RotateSigningKeyInput {
    /// Default: the tenant's signing algorithm setting.
    pub algorithm: Option<SigningAlgorithm>,
}

#[derive(SimpleObject)]
pub struct RotateSigningKeyPayload {
    /// The tenant's newest keys after the rotation (at most 10), newest first.
    pub signing_keys: Vec<SigningKey>,
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Changes the tenant's passkey, token and page settings. Requires the admin role.
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateTenantSettingsInput,
    ) -> async_graphql::Result<UpdateTenantSettingsPayload> {
        let (services, req) = request(ctx);
        let change = |settings: &mut TenantSettings| {
            if let Some(rp_id) = input.rp_id {
                settings.rp_id = (!rp_id.is_empty()).then_some(rp_id);
            }
            if let Some(rp_name) = input.rp_name {
                settings.rp_name = (!rp_name.is_empty()).then_some(rp_name);
            }
            if let Some(origins) = input.allowed_origins {
                settings.allowed_origins = origins;
            }
            if let Some(uv) = input.user_verification {
                settings.user_verification = match uv {
                    UserVerification::Required => core_settings::UserVerification::Required,
                    UserVerification::Preferred => core_settings::UserVerification::Preferred,
                };
            }
            if let Some(value) = input.self_sign_up {
                settings.self_sign_up = value;
            }
            if let Some(value) = input.access_token_ttl_seconds {
                settings.access_token_ttl_seconds = value;
            }
            if let Some(value) = input.refresh_token_ttl_seconds {
                settings.refresh_token_ttl_seconds = value;
            }
            if let Some(value) = input.signing_algorithm {
                settings.signing_algorithm = value.into();
            }
            if let Some(value) = input.primary_color {
                settings.primary_color = value;
            }
            if let Some(limits) = input.rate_limits {
                settings.rate_limits = RateLimits {
                    sign_in_per_ip: limits.sign_in_per_ip,
                    sign_in_per_identity: limits.sign_in_per_identity,
                    sign_up_per_ip: limits.sign_up_per_ip,
                };
            }
        };
        let tenant = latchkey_tenants::update_settings(
            &services.db,
            &services.master_key,
            &req.scope,
            &req.actor,
            change,
        )
        .await
        .gql()?;
        // An algorithm change rotated the key.
        services.signing_keys.invalidate(&req.scope).await;
        Ok(UpdateTenantSettingsPayload {
            settings: settings_object(services, req, TenantSettings::from_json(&tenant.settings)),
        })
    }

    /// Rotates the token signing key without breaking tokens already issued. Requires the
    /// admin role.
    async fn rotate_signing_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] input: RotateSigningKeyInput,
    ) -> async_graphql::Result<RotateSigningKeyPayload> {
        let (services, req) = request(ctx);
        let algorithm = input
            .algorithm
            .map(Into::into)
            .unwrap_or(settings_of(req).signing_algorithm);
        signing_keys::rotate_signing_key(
            &services.db,
            &services.master_key,
            &req.scope,
            &req.actor,
            algorithm,
        )
        .await
        .gql()?;
        services.signing_keys.invalidate(&req.scope).await;
        let keys = signing_keys::newest_signing_keys(&services.db, &req.scope, &req.actor, 10)
            .await
            .gql()?;
        Ok(RotateSigningKeyPayload {
            signing_keys: keys.into_iter().map(Into::into).collect(),
        })
    }
}
