//! The tenant's passkey, token and page settings (and the relying party they give), and its
//! token signing keys: read, changed and rotated.

use super::claim_mappings::{ClaimMapping, ClaimMappingInput, mappings_in, mappings_out};
use super::context::request;
use super::cost::page_cost;
use super::profile_settings::{
    AttributeDefinition, AttributeDefinitionInput, ConsentPurpose, ConsentPurposeInput,
};
use super::types::{Connection, IntoGraphql, page_request};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::languages::Language;
use latchkey_core::passkeys::RelyingParty;
use latchkey_core::settings::{
    self as core_settings, RateLimits, RateLimitsChange, SettingsChange, TenantSettings,
};
use latchkey_core::signing_keys;

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

impl From<core_settings::UserVerification> for UserVerification {
    fn from(value: core_settings::UserVerification) -> Self {
        match value {
            core_settings::UserVerification::Required => UserVerification::Required,
            core_settings::UserVerification::Preferred => UserVerification::Preferred,
        }
    }
}

impl From<UserVerification> for core_settings::UserVerification {
    fn from(value: UserVerification) -> Self {
        match value {
            UserVerification::Required => core_settings::UserVerification::Required,
            UserVerification::Preferred => core_settings::UserVerification::Preferred,
        }
    }
}

/// A way end users may sign in.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum SignInMethod {
    Passkey,
    /// A one-time code sent to the account's address (`signInWithEmailCode`).
    EmailCode,
    Password,
    /// Through an identity provider: the hosted page shows the tenant-wide providers as
    /// buttons (an organization's provider works whatever the methods say).
    Federated,
}

impl From<core_settings::SignInMethod> for SignInMethod {
    fn from(value: core_settings::SignInMethod) -> Self {
        match value {
            core_settings::SignInMethod::Passkey => SignInMethod::Passkey,
            core_settings::SignInMethod::EmailCode => SignInMethod::EmailCode,
            core_settings::SignInMethod::Password => SignInMethod::Password,
            core_settings::SignInMethod::Federated => SignInMethod::Federated,
        }
    }
}

impl From<SignInMethod> for core_settings::SignInMethod {
    fn from(value: SignInMethod) -> Self {
        match value {
            SignInMethod::Passkey => core_settings::SignInMethod::Passkey,
            SignInMethod::EmailCode => core_settings::SignInMethod::EmailCode,
            SignInMethod::Password => core_settings::SignInMethod::Password,
            SignInMethod::Federated => core_settings::SignInMethod::Federated,
        }
    }
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

/// Attempts allowed per minute; beyond them `RATE_LIMITED` with `retryAfter` (429 at the
/// OAuth endpoints).
#[derive(SimpleObject, Clone, Debug)]
pub struct RateLimitsSettings {
    /// Sign-in ceremonies started per client IP per minute (with or without an email).
    pub sign_in_per_ip: u32,
    /// Sign-in ceremonies started per minute for one email from one client IP.
    pub sign_in_per_identity: u32,
    /// Sign-in ceremonies started per minute for one email from all client IPs together.
    pub sign_in_per_identity_all_ips: u32,
    /// Sign-up ceremonies started per client IP per minute.
    pub sign_up_per_ip: u32,
    // Token endpoint limits.
    /// Failed client authentications per client id per minute at the OAuth token,
    /// introspection and revocation endpoints; past it a failing attempt answers 429 (the
    /// right credentials still pass).
    pub token_per_client: u32,
    /// Requests per client IP per minute at the OAuth token, introspection and revocation
    /// endpoints.
    pub token_per_ip: u32,
    /// Verification emails (`startEmailVerification`) per client IP per minute.
    pub email_verification_per_ip: u32,
    /// Verification emails per minute for one address from one client IP.
    pub email_verification_per_address: u32,
    /// Verification emails per minute for one address from all client IPs together.
    pub email_verification_per_address_all_ips: u32,
    /// Verification emails per minute for the whole tenant: a ceiling far above what one
    /// client may ask for.
    pub email_verification_per_tenant: u32,
    /// Wrong passwords in 15 minutes for one address from one client IP before that pair is
    /// blocked for the rest of the 15 minutes (the owner elsewhere is not).
    pub password_failures_per_account_and_ip: u32,
    /// Wrong passwords in 15 minutes from one client IP, for any addresses, before that IP
    /// is blocked for the rest of the 15 minutes.
    pub password_failures_per_ip: u32,
    /// SCIM requests per minute with one SCIM token (then `429` until the minute ends).
    pub scim_per_token: u32,
}

impl From<RateLimits> for RateLimitsSettings {
    fn from(limits: RateLimits) -> Self {
        Self {
            sign_in_per_ip: limits.sign_in_per_ip,
            sign_in_per_identity: limits.sign_in_per_identity,
            sign_in_per_identity_all_ips: limits.sign_in_per_identity_all_ips,
            sign_up_per_ip: limits.sign_up_per_ip,
            token_per_client: limits.token_per_client,
            token_per_ip: limits.token_per_ip,
            email_verification_per_ip: limits.email_verification_per_ip,
            email_verification_per_address: limits.email_verification_per_address,
            email_verification_per_address_all_ips: limits.email_verification_per_address_all_ips,
            email_verification_per_tenant: limits.email_verification_per_tenant,
            password_failures_per_account_and_ip: limits.password_failures_per_account_and_ip,
            password_failures_per_ip: limits.password_failures_per_ip,
            scim_per_token: limits.scim_per_token,
        }
    }
}

/// New rate limits; a field left out (of those that may be) keeps its value.
#[derive(InputObject, Clone, Debug)]
pub struct RateLimitsInput {
    /// Sign-in ceremonies started per client IP per minute (with or without an email).
    pub sign_in_per_ip: u32,
    /// Sign-in ceremonies started per minute for one email from one client IP.
    pub sign_in_per_identity: u32,
    /// Sign-in ceremonies started per minute for one email from all client IPs together;
    /// left out, it keeps its value.
    pub sign_in_per_identity_all_ips: Option<u32>,
    /// Sign-up ceremonies started per client IP per minute.
    pub sign_up_per_ip: u32,
    // Token endpoint limits.
    /// Failed client authentications per client id per minute at the OAuth token,
    /// introspection and revocation endpoints.
    pub token_per_client: Option<u32>,
    /// Requests per client IP per minute at the OAuth token, introspection and revocation
    /// endpoints.
    pub token_per_ip: Option<u32>,
    /// Verification emails per client IP per minute.
    pub email_verification_per_ip: Option<u32>,
    /// Verification emails per minute for one address from one client IP.
    pub email_verification_per_address: Option<u32>,
    /// Verification emails per minute for one address from all client IPs together.
    pub email_verification_per_address_all_ips: Option<u32>,
    /// Verification emails per minute for the whole tenant.
    pub email_verification_per_tenant: Option<u32>,
    /// Wrong passwords in 15 minutes for one address from one client IP.
    pub password_failures_per_account_and_ip: Option<u32>,
    /// Wrong passwords in 15 minutes from one client IP.
    pub password_failures_per_ip: Option<u32>,
    /// SCIM requests per minute with one SCIM token.
    pub scim_per_token: Option<u32>,
}

impl From<RateLimitsInput> for RateLimitsChange {
    fn from(input: RateLimitsInput) -> Self {
        Self {
            sign_in_per_ip: Some(input.sign_in_per_ip),
            sign_in_per_identity: Some(input.sign_in_per_identity),
            sign_in_per_identity_all_ips: input.sign_in_per_identity_all_ips,
            sign_up_per_ip: Some(input.sign_up_per_ip),
            token_per_client: input.token_per_client,
            token_per_ip: input.token_per_ip,
            email_verification_per_ip: input.email_verification_per_ip,
            email_verification_per_address: input.email_verification_per_address,
            email_verification_per_address_all_ips: input.email_verification_per_address_all_ips,
            email_verification_per_tenant: input.email_verification_per_tenant,
            password_failures_per_account_and_ip: input.password_failures_per_account_and_ip,
            password_failures_per_ip: input.password_failures_per_ip,
            scim_per_token: input.scim_per_token,
        }
    }
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
    /// Sign-up needs a proven address (an email proof).
    pub require_verified_email: bool,
    /// Recovery by emailed code waits for an admin's approval.
    pub recovery_requires_approval: bool,
    /// The ways end users may sign in.
    pub sign_in_methods: Vec<SignInMethod>,
    /// Password users must have an authenticator app (TOTP); passwords may then be 8
    /// characters instead of 15.
    pub require_second_factor: bool,
    /// The custom attributes of identities.
    pub attribute_schema: Vec<AttributeDefinition>,
    /// What users are asked to consent to.
    pub consent_purposes: Vec<ConsentPurpose>,
    /// Custom claims of every application's tokens (an application's own mapping of the same
    /// claim replaces the tenant's).
    pub claim_mappings: Vec<ClaimMapping>,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    /// For how long after a refresh token was rotated presenting it again answers the same
    /// new tokens instead of revoking the session; 0 = off.
    pub refresh_token_reuse_seconds: u32,
    pub signing_algorithm: SigningAlgorithm,
    pub primary_color: String,
    /// The language of emails and pages when neither the identity's locale nor the
    /// browser's languages name one Latchkey has (`en`, `de`, `fr`, `es`, …).
    pub default_locale: String,
    /// The languages Latchkey has catalogs for.
    pub supported_locales: Vec<String>,
    pub rate_limits: RateLimitsSettings,
    /// Days between an end user's `deleteViewerAccount` and the erasure of their account
    /// (signing in meanwhile cancels it); 0 erases at once. Default 30.
    pub account_deletion_grace_days: u32,
    /// Days the audit log keeps an entry; 0 keeps them for ever (the default).
    pub audit_log_retention_days: u32,
}

/// The GraphQL object of `settings` and the relying party they give.
pub fn settings_object(settings: TenantSettings, rp: RelyingParty) -> TenantSettingsObject {
    TenantSettingsObject {
        rp_id: settings.rp_id,
        rp_name: settings.rp_name,
        allowed_origins: settings.allowed_origins,
        effective_rp_id: rp.rp_id,
        effective_rp_name: rp.rp_name,
        effective_origins: rp.origins,
        user_verification: settings.user_verification.into(),
        self_sign_up: settings.self_sign_up,
        require_verified_email: settings.require_verified_email,
        recovery_requires_approval: settings.recovery_requires_approval,
        sign_in_methods: settings
            .sign_in_methods
            .iter()
            .copied()
            .map(Into::into)
            .collect(),
        require_second_factor: settings.require_second_factor,
        attribute_schema: settings
            .attribute_schema
            .into_iter()
            .map(Into::into)
            .collect(),
        claim_mappings: mappings_out(settings.claim_mappings),
        consent_purposes: settings
            .consent_purposes
            .into_iter()
            .map(Into::into)
            .collect(),
        access_token_ttl_seconds: settings.access_token_ttl_seconds,
        refresh_token_ttl_seconds: settings.refresh_token_ttl_seconds,
        refresh_token_reuse_seconds: settings.refresh_token_reuse_seconds,
        signing_algorithm: settings.signing_algorithm.into(),
        primary_color: settings.primary_color,
        default_locale: settings.default_locale,
        supported_locales: Language::tags().into_iter().map(str::to_owned).collect(),
        rate_limits: settings.rate_limits.into(),
        account_deletion_grace_days: settings.account_deletion_grace_days,
        audit_log_retention_days: settings.audit_log_retention_days,
    }
}

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The tenant's token signing keys. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
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
    /// Sign-up needs a proven address (default true); false lets `beginPasskeyRegistration`
    /// take a typed `email`, which then stays unverified and trusted by nothing.
    pub require_verified_email: Option<bool>,
    /// Recovery by emailed code waits for an admin's approval (`requestAccountRecovery`,
    /// `recoveryRequests`, `approveRecoveryRequest`); default false.
    pub recovery_requires_approval: Option<bool>,
    /// The ways end users may sign in (default `[PASSKEY, EMAIL_CODE]`); the API refuses
    /// the others with a clear error. At least one.
    pub sign_in_methods: Option<Vec<SignInMethod>>,
    /// Password users must have an authenticator app (TOTP) to sign in with their password;
    /// default false.
    pub require_second_factor: Option<bool>,
    /// Replaces the attribute schema: types, validation, and which attributes end users may
    /// edit themselves. Attributes outside it stay as they are and only admins change them.
    pub attribute_schema: Option<Vec<AttributeDefinitionInput>>,
    /// Replaces the consent purposes; raise a purpose's version when its text changes.
    pub consent_purposes: Option<Vec<ConsentPurposeInput>>,
    /// Replaces the custom claims every application's tokens carry (at most 25; an empty
    /// list removes them).
    pub claim_mappings: Option<Vec<ClaimMappingInput>>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    /// 0 to 60 seconds; 0 turns the reuse interval off.
    pub refresh_token_reuse_seconds: Option<u32>,
    /// Changing it rotates to a key of the new algorithm at once.
    pub signing_algorithm: Option<SigningAlgorithm>,
    pub primary_color: Option<String>,
    /// One of `supportedLocales`; default `en`.
    pub default_locale: Option<String>,
    pub rate_limits: Option<RateLimitsInput>,
    /// 0 to 365 days between `deleteViewerAccount` and the erasure; 0 erases at once.
    pub account_deletion_grace_days: Option<u32>,
    /// 0 (keep for ever) to 3650 days; older audit entries are removed within the hour.
    pub audit_log_retention_days: Option<u32>,
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
        let change = SettingsChange {
            rp_id: input.rp_id,
            rp_name: input.rp_name,
            allowed_origins: input.allowed_origins,
            user_verification: input.user_verification.map(Into::into),
            self_sign_up: input.self_sign_up,
            require_verified_email: input.require_verified_email,
            recovery_requires_approval: input.recovery_requires_approval,
            sign_in_methods: input
                .sign_in_methods
                .map(|methods| methods.into_iter().map(Into::into).collect()),
            require_second_factor: input.require_second_factor,
            attribute_schema: input
                .attribute_schema
                .map(|schema| schema.into_iter().map(Into::into).collect()),
            consent_purposes: input
                .consent_purposes
                .map(|purposes| purposes.into_iter().map(Into::into).collect()),
            claim_mappings: input.claim_mappings.map(mappings_in),
            access_token_ttl_seconds: input.access_token_ttl_seconds,
            refresh_token_ttl_seconds: input.refresh_token_ttl_seconds,
            refresh_token_reuse_seconds: input.refresh_token_reuse_seconds,
            signing_algorithm: input.signing_algorithm.map(Into::into),
            primary_color: input.primary_color,
            default_locale: input.default_locale,
            rate_limits: input.rate_limits.map(Into::into),
            account_deletion_grace_days: input.account_deletion_grace_days,
            audit_log_retention_days: input.audit_log_retention_days,
        };
        let tenant = latchkey_tenants::update_settings(
            &services.db,
            &services.master_key,
            &services.signing_keys,
            &req.scope,
            &req.actor,
            change,
        )
        .await
        .gql()?;
        let settings = (*tenant.settings).clone();
        let rp = RelyingParty::of_tenant(&services.public_url, &req.tenant.name, &settings);
        Ok(UpdateTenantSettingsPayload {
            settings: settings_object(settings, rp),
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
            .unwrap_or(req.settings.signing_algorithm);
        signing_keys::rotate_signing_key(
            &services.db,
            &services.master_key,
            &services.signing_keys,
            &req.scope,
            &req.actor,
            algorithm,
        )
        .await
        .gql()?;
        let keys = signing_keys::newest_signing_keys(&services.db, &req.scope, &req.actor, 10)
            .await
            .gql()?;
        Ok(RotateSigningKeyPayload {
            signing_keys: keys.into_iter().map(Into::into).collect(),
        })
    }
}
