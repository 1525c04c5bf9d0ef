//! The WebAuthn relying party of a tenant and its user-verification policy.

use crate::error::{Error, Result};
use crate::settings::UserVerification;
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
    pub(super) fn webauthn(&self) -> Result<Webauthn> {
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
