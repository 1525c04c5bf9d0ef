//! The WebAuthn relying party of a tenant and its user-verification policy.

use crate::error::{Error, Result};
use crate::settings::{TenantSettings, UserVerification};
use serde_json::{Value, json};
use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

/// The WebAuthn relying party of a tenant, from its settings and the deployment's public URL.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    pub rp_id: String,
    pub rp_name: String,
    pub origins: Vec<String>,
    pub user_verification: UserVerification,
}

impl RelyingParty {
    /// The relying party in force for a tenant: its settings where set, else the host and
    /// origin of the deployment's `public_url` (`localhost` and the URL itself when it does not
    /// parse) and the tenant's name.
    pub fn of_tenant(public_url: &str, tenant_name: &str, settings: &TenantSettings) -> Self {
        let public = url::Url::parse(public_url).ok();
        let default_rp_id = public
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        let default_origin = public
            .as_ref()
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|| public_url.to_owned());
        RelyingParty {
            rp_id: settings.rp_id.clone().unwrap_or(default_rp_id),
            rp_name: settings
                .rp_name
                .clone()
                .unwrap_or_else(|| tenant_name.to_owned()),
            origins: if settings.allowed_origins.is_empty() {
                vec![default_origin]
            } else {
                settings.allowed_origins.clone()
            },
            user_verification: settings.user_verification,
        }
    }

    pub(crate) fn webauthn(&self) -> Result<Webauthn> {
        let origins = self
            .origins
            .iter()
            .map(|o| {
                Url::parse(o)
                    .map_err(|_| Error::validation("allowedOrigins", format!("{o:?} is not a URL")))
            })
            .collect::<Result<Vec<_>>>()?;
        let first = origins
            .first()
            .ok_or_else(|| Error::validation("allowedOrigins", "at least one origin is needed"))?;
        let mut builder = WebauthnBuilder::new(&self.rp_id, first)
            .map_err(|e| {
                Error::validation(
                    "rpId",
                    format!("is not usable with the allowed origins: {e}"),
                )
            })?
            .rp_name(&self.rp_name);
        for origin in &origins[1..] {
            builder = builder.append_allowed_origin(origin);
        }
        builder.build().map_err(|e| {
            Error::validation(
                "allowedOrigins",
                format!("are not usable with the RP id: {e}"),
            )
        })
    }
}

/// Sets a state's user-verification policy to "preferred" where the tenant asks for it
/// (webauthn-rs' passkey ceremonies always start with "required").
pub(super) fn apply_user_verification(
    options: &mut Value,
    state: &mut Value,
    inner: &str,
    user_verification: UserVerification,
) {
    if user_verification == UserVerification::Preferred {
        state[inner]["policy"] = json!("preferred");
        let public_key = &mut options["publicKey"];
        if public_key.get("authenticatorSelection").is_some() {
            public_key["authenticatorSelection"]["userVerification"] = json!("preferred");
        } else {
            public_key["userVerification"] = json!("preferred");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_public_url_and_the_tenant_name() {
        let rp = RelyingParty::of_tenant(
            "https://auth.example.com:8443/base",
            "Acme",
            &TenantSettings::default(),
        );
        assert_eq!(rp.rp_id, "auth.example.com");
        assert_eq!(rp.rp_name, "Acme");
        assert_eq!(rp.origins, vec!["https://auth.example.com:8443"]);
        assert_eq!(rp.user_verification, UserVerification::Required);

        let unparsable = RelyingParty::of_tenant("not a url", "Acme", &TenantSettings::default());
        assert_eq!(unparsable.rp_id, "localhost");
        assert_eq!(unparsable.origins, vec!["not a url"]);
    }

    #[test]
    fn settings_win_over_the_defaults() {
        let settings = TenantSettings {
            rp_id: Some("example.com".into()),
            rp_name: Some("Example Login".into()),
            allowed_origins: vec![
                "https://example.com".into(),
                "https://app.example.com".into(),
            ],
            user_verification: UserVerification::Preferred,
            ..Default::default()
        };
        let rp = RelyingParty::of_tenant("https://auth.example.net", "Acme", &settings);
        assert_eq!(rp.rp_id, "example.com");
        assert_eq!(rp.rp_name, "Example Login");
        assert_eq!(
            rp.origins,
            vec!["https://example.com", "https://app.example.com"]
        );
        assert_eq!(rp.user_verification, UserVerification::Preferred);
    }
}
