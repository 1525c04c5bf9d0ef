//! Per-tenant settings, stored as one JSON document on the tenant. Every field has a default,
//! so a tenant created before a setting existed reads the default.

use crate::claim_mappings::{self, ClaimMapping};
use crate::error::{Error, Result};
use crate::languages::Language;
use crate::profile_settings::{
    AttributeDefinition, ConsentPurpose, check_attribute_schema, check_consent_purposes,
};
use serde::{Deserialize, Serialize};

/// How strictly WebAuthn ceremonies demand user verification (PIN, biometrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    #[default]
    Required,
    Preferred,
}

/// A way end users may sign in; the tenant allows a set of them (`sign_in_methods`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    Passkey,
    /// A one-time code sent to the account's address.
    EmailCode,
    Password,
    /// Through an identity provider: the hosted page shows the tenant-wide (social) providers
    /// as buttons. An organization's provider and `/federation/{id}/start` work whatever the
    /// methods say.
    Federated,
}

impl SignInMethod {
    /// The GraphQL name, for error messages.
    pub fn api_name(self) -> &'static str {
        match self {
            SignInMethod::Passkey => "PASSKEY",
            SignInMethod::EmailCode => "EMAIL_CODE",
            SignInMethod::Password => "PASSWORD",
            SignInMethod::Federated => "FEDERATED",
        }
    }
}

/// The algorithm of the tenant's token signing keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    #[default]
    ES256,
    EdDSA,
}

/// Attempts allowed per minute: sign-in and sign-up ceremonies, and the OAuth endpoints where
/// clients authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// Sign-in ceremonies (with or without an email) per client IP.
    pub sign_in_per_ip: u32,
    /// Email-hinted sign-in ceremonies per address from one client IP: what a stranger
    /// hammering an address reaches, while its owner elsewhere is not limited by it.
    pub sign_in_per_identity: u32,
    /// Email-hinted sign-in ceremonies per address from all client IPs together: a ceiling
    /// well above `sign_in_per_identity`, so only many addresses at once can reach it.
    pub sign_in_per_identity_all_ips: u32,
    /// Sign-up ceremonies per client IP.
    pub sign_up_per_ip: u32,
    // --- The OAuth token, introspection and revocation endpoints (`oauth::limits`). ---
    /// Failed client authentications naming one client id.
    pub token_per_client: u32,
    /// Requests from one client address.
    pub token_per_ip: u32,
    // --- end of the token endpoint limits ---
    // --- Email verification (`startEmailVerification`, `email_proof`). ---
    /// Verification emails asked for by one client IP.
    pub email_verification_per_ip: u32,
    /// Verification emails for one address asked for from one client IP.
    pub email_verification_per_address: u32,
    /// Verification emails for one address from all client IPs together.
    pub email_verification_per_address_all_ips: u32,
    /// Verification emails of the whole tenant: a high ceiling far above what one client may
    /// ask for, so no single client can use it up.
    pub email_verification_per_tenant: u32,
    // --- Password sign-in (`passwords::throttle`), counted over 15 minutes. ---
    /// Wrong passwords for one address from one client IP before that pair is blocked.
    pub password_failures_per_account_and_ip: u32,
    /// Wrong passwords from one client IP, for any addresses, before that IP is blocked.
    pub password_failures_per_ip: u32,
    /// SCIM requests per minute with one SCIM token.
    pub scim_per_token: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            sign_in_per_ip: 60,
            sign_in_per_identity: 10,
            sign_in_per_identity_all_ips: 100,
            sign_up_per_ip: 20,
            // Token endpoint limits.
            token_per_client: 30,
            token_per_ip: 600,
            // Email verification.
            email_verification_per_ip: 20,
            email_verification_per_address: 5,
            email_verification_per_address_all_ips: 20,
            email_verification_per_tenant: 5_000,
            // Password sign-in.
            password_failures_per_account_and_ip: 10,
            password_failures_per_ip: 100,
            // SCIM: Entra ID and Okta send a few requests per second at most.
            scim_per_token: 1_200,
        }
    }
}

/// A change to the rate limits: a field left `None` keeps its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimitsChange {
    pub sign_in_per_ip: Option<u32>,
    pub sign_in_per_identity: Option<u32>,
    pub sign_in_per_identity_all_ips: Option<u32>,
    pub sign_up_per_ip: Option<u32>,
    // --- Token endpoint limits. ---
    pub token_per_client: Option<u32>,
    pub token_per_ip: Option<u32>,
    // --- end of the token endpoint limits ---
    pub email_verification_per_ip: Option<u32>,
    pub email_verification_per_address: Option<u32>,
    pub email_verification_per_address_all_ips: Option<u32>,
    pub email_verification_per_tenant: Option<u32>,
    pub password_failures_per_account_and_ip: Option<u32>,
    pub password_failures_per_ip: Option<u32>,
    pub scim_per_token: Option<u32>,
}

impl RateLimitsChange {
    fn apply(self, limits: &mut RateLimits) {
        let fields = [
            (self.sign_in_per_ip, &mut limits.sign_in_per_ip),
            (self.sign_in_per_identity, &mut limits.sign_in_per_identity),
            (
                self.sign_in_per_identity_all_ips,
                &mut limits.sign_in_per_identity_all_ips,
            ),
            (self.sign_up_per_ip, &mut limits.sign_up_per_ip),
            // Token endpoint limits.
            (self.token_per_client, &mut limits.token_per_client),
            (self.token_per_ip, &mut limits.token_per_ip),
            // Email verification.
            (
                self.email_verification_per_ip,
                &mut limits.email_verification_per_ip,
            ),
            (
                self.email_verification_per_address,
                &mut limits.email_verification_per_address,
            ),
            (
                self.email_verification_per_address_all_ips,
                &mut limits.email_verification_per_address_all_ips,
            ),
            (
                self.email_verification_per_tenant,
                &mut limits.email_verification_per_tenant,
            ),
            // Password sign-in.
            (
                self.password_failures_per_account_and_ip,
                &mut limits.password_failures_per_account_and_ip,
            ),
            (
                self.password_failures_per_ip,
                &mut limits.password_failures_per_ip,
            ),
            (self.scim_per_token, &mut limits.scim_per_token),
        ];
        for (change, value) in fields {
            if let Some(change) = change {
                *value = change;
            }
        }
    }
}

/// The longest reuse interval of a rotated refresh token (`refresh_token_reuse_seconds`).
pub const MAX_REFRESH_TOKEN_REUSE_SECONDS: u32 = 60;

/// The settings document. `rp_id`, `rp_name` and `allowed_origins` left empty mean "derive
/// from the deployment's public URL and the tenant's name".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantSettings {
    pub rp_id: Option<String>,
    pub rp_name: Option<String>,
    pub allowed_origins: Vec<String>,
    pub user_verification: UserVerification,
    pub self_sign_up: bool,
    /// Sign-up needs a proof of the address (`startEmailVerification`); without it sign-ups
    /// keep unverified addresses that nothing trusts.
    pub require_verified_email: bool,
    /// A recovery with an emailed code waits for an administrator's approval instead of
    /// registering a new passkey at once.
    pub recovery_requires_approval: bool,
    /// The ways end users may sign in; the API refuses the others.
    pub sign_in_methods: Vec<SignInMethod>,
    /// Password users must have a second factor (TOTP); passwords may then be shorter (8).
    pub require_second_factor: bool,
    /// The custom attributes of identities: types, validation, and which users may edit.
    pub attribute_schema: Vec<AttributeDefinition>,
    /// What users are asked to consent to.
    pub consent_purposes: Vec<ConsentPurpose>,
    /// Custom claims every application's tokens carry (an application's own mapping of the
    /// same claim replaces the tenant's).
    pub claim_mappings: Vec<ClaimMapping>,
    pub access_token_ttl_seconds: u32,
    pub refresh_token_ttl_seconds: u32,
    /// For how long after a refresh token was rotated presenting it again answers the same
    /// new tokens (a client's retry, or concurrent refreshes) instead of revoking the session;
    /// 0 turns it off.
    pub refresh_token_reuse_seconds: u32,
    pub signing_algorithm: SigningAlgorithm,
    pub primary_color: String,
    /// The language of emails and pages for someone whose own language Latchkey cannot tell
    /// (no stored locale, no browser language it has a catalog for): a tag of
    /// [`Language::tags`], `en` by default.
    pub default_locale: String,
    pub rate_limits: RateLimits,
    /// Days between an end user's `deleteViewerAccount` and the erasure of their account;
    /// signing in meanwhile cancels it. 0 erases at once.
    pub account_deletion_grace_days: u32,
    /// Days the audit log keeps an entry; older entries are removed. 0 keeps them for ever.
    pub audit_log_retention_days: u32,
}

/// The longest grace period of an account deletion (`account_deletion_grace_days`).
pub const MAX_ACCOUNT_DELETION_GRACE_DAYS: u32 = 365;
/// The longest audit-log retention (`audit_log_retention_days`), ten years.
pub const MAX_AUDIT_LOG_RETENTION_DAYS: u32 = 3650;

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            rp_id: None,
            rp_name: None,
            allowed_origins: Vec::new(),
            user_verification: UserVerification::Required,
            self_sign_up: true,
            require_verified_email: true,
            recovery_requires_approval: false,
            sign_in_methods: vec![SignInMethod::Passkey, SignInMethod::EmailCode],
            require_second_factor: false,
            attribute_schema: Vec::new(),
            consent_purposes: Vec::new(),
            claim_mappings: Vec::new(),
            access_token_ttl_seconds: 900,
            refresh_token_ttl_seconds: 30 * 24 * 3600,
            refresh_token_reuse_seconds: 5,
            signing_algorithm: SigningAlgorithm::ES256,
            primary_color: "#4f46e5".into(),
            default_locale: "en".into(),
            rate_limits: RateLimits::default(),
            account_deletion_grace_days: 30,
            audit_log_retention_days: 0,
        }
    }
}

impl TenantSettings {
    /// The language of [`Self::default_locale`]; English should the stored tag have lost its
    /// catalog.
    pub fn default_language(&self) -> Language {
        Language::parse(&self.default_locale).unwrap_or_else(Language::english)
    }

    /// Refuses `method` with a clear error unless the tenant allows it.
    /// Whether end users may sign in with `method`.
    pub fn allows(&self, method: SignInMethod) -> bool {
        self.sign_in_methods.contains(&method)
    }

    pub fn require_sign_in_method(&self, method: SignInMethod) -> Result<()> {
        if self.allows(method) {
            return Ok(());
        }
        let allowed: Vec<&str> = self.sign_in_methods.iter().map(|m| m.api_name()).collect();
        Err(Error::Refused(format!(
            "this tenant does not allow signing in with {}; it allows {}",
            method.api_name(),
            allowed.join(", ")
        )))
    }

    /// The names of the custom attributes of [`Self::attribute_schema`].
    pub fn attribute_names(&self) -> Vec<&str> {
        self.attribute_schema
            .iter()
            .map(|definition| definition.name.as_str())
            .collect()
    }

    /// Reads the stored document; unknown or missing fields fall back to defaults.
    pub fn from_json(value: &serde_json::Value) -> Self {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }

    /// Checks every field; errors name the GraphQL input field.
    pub fn validate(&self) -> Result<()> {
        if let Some(rp_id) = &self.rp_id {
            let host_ok = !rp_id.is_empty()
                && rp_id.len() <= 253
                && rp_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
                && !rp_id.starts_with('.')
                && !rp_id.ends_with('.');
            if !host_ok {
                return Err(Error::validation(
                    "rpId",
                    "must be a host name such as login.example.com (no scheme, port or path)",
                ));
            }
        }
        if let Some(name) = &self.rp_name
            && (name.trim().is_empty() || name.chars().count() > 100)
        {
            return Err(Error::validation("rpName", "must be 1 to 100 characters"));
        }
        if self.allowed_origins.len() > 20 {
            return Err(Error::validation("allowedOrigins", "at most 20 origins"));
        }
        for origin in &self.allowed_origins {
            let (scheme, rest) = origin.split_once("://").unwrap_or(("", ""));
            let ok = matches!(scheme, "https" | "http")
                && !rest.is_empty()
                && !rest.contains('/')
                && !rest.contains('?')
                && !rest.contains('#');
            if !ok {
                return Err(Error::validation(
                    "allowedOrigins",
                    format!("{origin:?} is not an origin such as https://login.example.com"),
                ));
            }
        }
        if self.sign_in_methods.is_empty() {
            return Err(Error::validation(
                "signInMethods",
                "must allow at least one way to sign in",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if !self.sign_in_methods.iter().all(|m| seen.insert(*m)) {
            return Err(Error::validation(
                "signInMethods",
                "lists a method more than once",
            ));
        }
        check_attribute_schema(&self.attribute_schema)?;
        check_consent_purposes(&self.consent_purposes)?;
        claim_mappings::check(
            "claimMappings",
            &self.claim_mappings,
            &self.attribute_names(),
        )?;
        if !(60..=86_400).contains(&self.access_token_ttl_seconds) {
            return Err(Error::validation(
                "accessTokenTtlSeconds",
                "must be between 60 and 86400",
            ));
        }
        if !(3_600..=31_536_000).contains(&self.refresh_token_ttl_seconds) {
            return Err(Error::validation(
                "refreshTokenTtlSeconds",
                "must be between 3600 and 31536000",
            ));
        }
        if self.refresh_token_reuse_seconds > MAX_REFRESH_TOKEN_REUSE_SECONDS {
            return Err(Error::validation(
                "refreshTokenReuseSeconds",
                format!("must be between 0 and {MAX_REFRESH_TOKEN_REUSE_SECONDS}"),
            ));
        }
        if self.account_deletion_grace_days > MAX_ACCOUNT_DELETION_GRACE_DAYS {
            return Err(Error::validation(
                "accountDeletionGraceDays",
                format!("must be between 0 and {MAX_ACCOUNT_DELETION_GRACE_DAYS}"),
            ));
        }
        if self.audit_log_retention_days > MAX_AUDIT_LOG_RETENTION_DAYS {
            return Err(Error::validation(
                "auditLogRetentionDays",
                format!("must be between 0 (keep for ever) and {MAX_AUDIT_LOG_RETENTION_DAYS}"),
            ));
        }
        let color_ok = self.primary_color.len() == 7
            && self.primary_color.starts_with('#')
            && self.primary_color[1..]
                .chars()
                .all(|c| c.is_ascii_hexdigit());
        if !color_ok {
            return Err(Error::validation(
                "primaryColor",
                "must be a colour such as #4f46e5",
            ));
        }
        if Language::from_tag(&self.default_locale).is_none() {
            return Err(Error::validation(
                "defaultLocale",
                format!("must be one of {}", Language::tags().join(", ")),
            ));
        }
        for (field, value) in [
            ("rateLimits.signInPerIp", self.rate_limits.sign_in_per_ip),
            (
                "rateLimits.signInPerIdentity",
                self.rate_limits.sign_in_per_identity,
            ),
            (
                "rateLimits.signInPerIdentityAllIps",
                self.rate_limits.sign_in_per_identity_all_ips,
            ),
            ("rateLimits.signUpPerIp", self.rate_limits.sign_up_per_ip),
            // Token endpoint limits.
            (
                "rateLimits.tokenPerClient",
                self.rate_limits.token_per_client,
            ),
            ("rateLimits.tokenPerIp", self.rate_limits.token_per_ip),
            (
                "rateLimits.emailVerificationPerIp",
                self.rate_limits.email_verification_per_ip,
            ),
            (
                "rateLimits.emailVerificationPerAddress",
                self.rate_limits.email_verification_per_address,
            ),
            (
                "rateLimits.emailVerificationPerAddressAllIps",
                self.rate_limits.email_verification_per_address_all_ips,
            ),
            (
                "rateLimits.emailVerificationPerTenant",
                self.rate_limits.email_verification_per_tenant,
            ),
            (
                "rateLimits.passwordFailuresPerAccountAndIp",
                self.rate_limits.password_failures_per_account_and_ip,
            ),
            (
                "rateLimits.passwordFailuresPerIp",
                self.rate_limits.password_failures_per_ip,
            ),
            ("rateLimits.scimPerToken", self.rate_limits.scim_per_token),
        ] {
            if !(1..=100_000).contains(&value) {
                return Err(Error::validation(field, "must be between 1 and 100000"));
            }
        }
        Ok(())
    }
}

/// A change to the settings, as an admin asks for it: a field left `None` keeps its value, and
/// an empty `rp_id` or `rp_name` clears it (back to the default derived from the deployment).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SettingsChange {
    pub rp_id: Option<String>,
    pub rp_name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub user_verification: Option<UserVerification>,
    pub self_sign_up: Option<bool>,
    pub require_verified_email: Option<bool>,
    pub recovery_requires_approval: Option<bool>,
    pub sign_in_methods: Option<Vec<SignInMethod>>,
    pub require_second_factor: Option<bool>,
    pub attribute_schema: Option<Vec<AttributeDefinition>>,
    pub consent_purposes: Option<Vec<ConsentPurpose>>,
    pub claim_mappings: Option<Vec<ClaimMapping>>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    pub refresh_token_reuse_seconds: Option<u32>,
    pub signing_algorithm: Option<SigningAlgorithm>,
    pub primary_color: Option<String>,
    pub default_locale: Option<String>,
    pub rate_limits: Option<RateLimitsChange>,
    pub account_deletion_grace_days: Option<u32>,
    pub audit_log_retention_days: Option<u32>,
}

impl SettingsChange {
    /// Applies the change to `settings` (not validated here: see [`TenantSettings::validate`]).
    pub fn apply(self, settings: &mut TenantSettings) {
        if let Some(rp_id) = self.rp_id {
            settings.rp_id = (!rp_id.is_empty()).then_some(rp_id);
        }
        if let Some(rp_name) = self.rp_name {
            settings.rp_name = (!rp_name.is_empty()).then_some(rp_name);
        }
        if let Some(origins) = self.allowed_origins {
            settings.allowed_origins = origins;
        }
        if let Some(value) = self.user_verification {
            settings.user_verification = value;
        }
        if let Some(value) = self.self_sign_up {
            settings.self_sign_up = value;
        }
        if let Some(value) = self.require_verified_email {
            settings.require_verified_email = value;
        }
        if let Some(value) = self.recovery_requires_approval {
            settings.recovery_requires_approval = value;
        }
        if let Some(value) = self.sign_in_methods {
            settings.sign_in_methods = value;
        }
        if let Some(value) = self.require_second_factor {
            settings.require_second_factor = value;
        }
        if let Some(value) = self.attribute_schema {
            settings.attribute_schema = value;
        }
        if let Some(value) = self.consent_purposes {
            settings.consent_purposes = value;
        }
        if let Some(value) = self.claim_mappings {
            settings.claim_mappings = value;
        }
        if let Some(value) = self.access_token_ttl_seconds {
            settings.access_token_ttl_seconds = value;
        }
        if let Some(value) = self.refresh_token_ttl_seconds {
            settings.refresh_token_ttl_seconds = value;
        }
        if let Some(value) = self.refresh_token_reuse_seconds {
            settings.refresh_token_reuse_seconds = value;
        }
        if let Some(value) = self.signing_algorithm {
            settings.signing_algorithm = value;
        }
        if let Some(value) = self.primary_color {
            settings.primary_color = value;
        }
        if let Some(value) = self.default_locale {
            settings.default_locale = value;
        }
        if let Some(change) = self.rate_limits {
            change.apply(&mut settings.rate_limits);
        }
        if let Some(value) = self.account_deletion_grace_days {
            settings.account_deletion_grace_days = value;
        }
        if let Some(value) = self.audit_log_retention_days {
            settings.audit_log_retention_days = value;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_fields_take_defaults() {
        let settings = TenantSettings::from_json(&json!({ "self_sign_up": false }));
        assert!(!settings.self_sign_up);
        assert_eq!(settings.access_token_ttl_seconds, 900);
        assert_eq!(settings.refresh_token_reuse_seconds, 5);
        assert_eq!(
            TenantSettings::from_json(&json!({})),
            TenantSettings::default()
        );
        TenantSettings::default().validate().unwrap();
        // A tenant stored before the all-IPs ceiling existed gets its default.
        let stored = TenantSettings::from_json(&json!({
            "rate_limits": { "sign_in_per_ip": 60, "sign_in_per_identity": 3, "sign_up_per_ip": 20 }
        }));
        assert_eq!(stored.rate_limits.sign_in_per_identity, 3);
        assert_eq!(stored.rate_limits.sign_in_per_identity_all_ips, 100);
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases: Vec<(&str, TenantSettings)> = vec![
            (
                "rpId",
                TenantSettings {
                    rp_id: Some("https://x.com".into()),
                    ..Default::default()
                },
            ),
            (
                "allowedOrigins",
                TenantSettings {
                    allowed_origins: vec!["x.com".into()],
                    ..Default::default()
                },
            ),
            (
                "allowedOrigins",
                TenantSettings {
                    allowed_origins: vec!["https://x.com/path".into()],
                    ..Default::default()
                },
            ),
            (
                "accessTokenTtlSeconds",
                TenantSettings {
                    access_token_ttl_seconds: 5,
                    ..Default::default()
                },
            ),
            (
                "refreshTokenReuseSeconds",
                TenantSettings {
                    refresh_token_reuse_seconds: 61,
                    ..Default::default()
                },
            ),
            (
                "primaryColor",
                TenantSettings {
                    primary_color: "blue".into(),
                    ..Default::default()
                },
            ),
            (
                "defaultLocale",
                TenantSettings {
                    default_locale: "it".into(),
                    ..Default::default()
                },
            ),
            (
                "defaultLocale",
                TenantSettings {
                    default_locale: "de-AT".into(),
                    ..Default::default()
                },
            ),
            (
                "rateLimits.signInPerIdentityAllIps",
                TenantSettings {
                    rate_limits: RateLimits {
                        sign_in_per_identity_all_ips: 0,
                        ..Default::default()
                    },
                    ..Default::default()
                },
            ),
            (
                "rateLimits.tokenPerClient",
                TenantSettings {
                    rate_limits: RateLimits {
                        token_per_client: 0,
                        ..Default::default()
                    },
                    ..Default::default()
                },
            ),
        ];
        for (field, settings) in cases {
            match settings.validate() {
                Err(Error::Validation { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_refresh_token_reuse_interval_is_0_to_60_seconds() {
        for seconds in [0, 1, MAX_REFRESH_TOKEN_REUSE_SECONDS] {
            TenantSettings {
                refresh_token_reuse_seconds: seconds,
                ..Default::default()
            }
            .validate()
            .unwrap();
        }
        let too_long = TenantSettings {
            refresh_token_reuse_seconds: MAX_REFRESH_TOKEN_REUSE_SECONDS + 1,
            ..Default::default()
        };
        assert!(matches!(
            too_long.validate(),
            Err(Error::Validation { field, .. }) if field == "refreshTokenReuseSeconds"
        ));
    }

    #[test]
    fn a_change_keeps_what_it_leaves_out_and_empty_names_clear() {
        let mut settings = TenantSettings {
            rp_id: Some("login.example.com".into()),
            rp_name: Some("Example".into()),
            allowed_origins: vec!["https://login.example.com".into()],
            ..Default::default()
        };
        SettingsChange {
            rp_id: Some(String::new()),
            self_sign_up: Some(false),
            signing_algorithm: Some(SigningAlgorithm::EdDSA),
            rate_limits: Some(RateLimitsChange {
                sign_in_per_ip: Some(5),
                sign_in_per_identity: Some(2),
                sign_up_per_ip: Some(3),
                token_per_ip: Some(7),
                ..Default::default()
            }),
            ..Default::default()
        }
        .apply(&mut settings);
        assert_eq!(settings.rp_id, None);
        assert_eq!(settings.rp_name.as_deref(), Some("Example"));
        assert_eq!(settings.allowed_origins, vec!["https://login.example.com"]);
        assert!(!settings.self_sign_up);
        assert_eq!(settings.signing_algorithm, SigningAlgorithm::EdDSA);
        assert_eq!(settings.rate_limits.sign_in_per_identity, 2);
        assert_eq!(settings.rate_limits.sign_in_per_ip, 5);
        assert_eq!(settings.rate_limits.token_per_ip, 7);
        assert_eq!(
            settings.rate_limits.sign_in_per_identity_all_ips, 100,
            "a rate limit left out keeps its value"
        );
        assert_eq!(settings.access_token_ttl_seconds, 900);
        assert_eq!(settings.primary_color, "#4f46e5");

        SettingsChange {
            rp_id: Some("id.example.com".into()),
            rp_name: Some(String::new()),
            allowed_origins: Some(Vec::new()),
            user_verification: Some(UserVerification::Preferred),
            access_token_ttl_seconds: Some(120),
            refresh_token_ttl_seconds: Some(7200),
            refresh_token_reuse_seconds: Some(0),
            primary_color: Some("#000000".into()),
            ..Default::default()
        }
        .apply(&mut settings);
        assert_eq!(settings.rp_id.as_deref(), Some("id.example.com"));
        assert_eq!(settings.rp_name, None);
        assert!(settings.allowed_origins.is_empty());
        assert_eq!(settings.user_verification, UserVerification::Preferred);
        assert_eq!(settings.access_token_ttl_seconds, 120);
        assert_eq!(settings.refresh_token_ttl_seconds, 7200);
        assert_eq!(settings.refresh_token_reuse_seconds, 0);
        assert_eq!(settings.primary_color, "#000000");
        assert!(!settings.self_sign_up);
    }
}
