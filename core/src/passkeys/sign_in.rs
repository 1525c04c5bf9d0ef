//! The sign-in ceremony: with an email hint (decoy credential ids for unknown emails) or
//! discoverable, and the checks before a session starts.

use super::ceremony::{BegunCeremony, Ceremonies, CeremonyOutcome, CeremonyState, rate_limit};
use super::errors::explain;
use super::relying_party::apply_user_verification;
use super::rows::{passkey_row, passkeys_of};
use crate::error::{Error, Result};
use crate::identities::{self, IdentityStatus};
use crate::settings::SignInMethod;
use crate::validate::Email;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey as WebauthnPasskey, PublicKeyCredential,
};

impl Ceremonies<'_> {
    /// `beginPasskeySignIn`: with an email, the options list that account's passkeys; an
    /// unknown email gets decoy credential ids derived from it, so the answer does not tell
    /// whether an account exists. Without an email: a discoverable (usernameless) ceremony.
    #[tracing::instrument(name = "core.begin_sign_in", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn begin_sign_in(&self, email: Option<String>) -> Result<BegunCeremony> {
        self.issuer
            .settings
            .require_sign_in_method(SignInMethod::Passkey)?;
        let limits = self.issuer.settings.rate_limits;
        let ip = self.client.ip_address.as_deref();
        if let Some(ip) = ip {
            rate_limit(
                self.store,
                self.scope,
                "sign-in-ip",
                ip,
                limits.sign_in_per_ip,
            )
            .await?;
        }
        let webauthn = self.relying_party.webauthn()?;
        let (challenge, authentication) = webauthn
            .start_discoverable_authentication()
            .map_err(Error::internal)?;
        let mut options = serde_json::to_value(&challenge).map_err(Error::internal)?;
        let mut state = serde_json::to_value(&authentication).map_err(Error::internal)?;
        apply_user_verification(
            &mut options,
            &mut state,
            "ast",
            self.relying_party.user_verification,
        );
        let mut allow_credentials = None;
        if let Some(email) = email.filter(|e| !e.trim().is_empty()) {
            let email = Email::parse("email", &email)?;
            // A stranger hammering an address reaches the first limit at their own address
            // only; the second counts every client IP together, with a much higher ceiling. A
            // refused attempt does not count towards the limits after it.
            rate_limit(
                self.store,
                self.scope,
                "sign-in-email-ip",
                &format!("{}\n{}", ip.unwrap_or_default(), email.normalized()),
                limits.sign_in_per_identity,
            )
            .await?;
            rate_limit(
                self.store,
                self.scope,
                "sign-in-email",
                email.normalized(),
                limits.sign_in_per_identity_all_ips,
            )
            .await?;
            let tx = self.db.begin_tenant(self.scope).await?;
            let identity = identities::find_by_email(&tx, email.normalized()).await?;
            let ids: Vec<String> = match identity.filter(|i| i.status == IdentityStatus::Active) {
                Some(identity) => passkeys_of(&tx, identity.id)
                    .await?
                    .into_iter()
                    .map(|row| row.credential_id)
                    .collect(),
                None => Vec::new(),
            };
            tx.commit().await?;
            let ids = if ids.is_empty() {
                vec![self.decoy_credential_id(email.normalized())]
            } else {
                ids
            };
            options["publicKey"]["allowCredentials"] = ids
                .iter()
                .map(|id| json!({ "type": "public-key", "id": id }))
                .collect();
            options.as_object_mut().map(|o| o.remove("mediation"));
            allow_credentials = Some(ids);
        }
        self.store_ceremony(
            CeremonyState::SignIn {
                state,
                allow_credentials,
            },
            options,
        )
        .await
    }

    fn decoy_credential_id(&self, email: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.decoy_key);
        hasher.update(self.scope.tenant_id().as_bytes());
        hasher.update(email.as_bytes());
        URL_SAFE_NO_PAD.encode(hasher.finalize())
    }

    /// `finishPasskeySignIn`: identifies the passkey by its credential id in this tenant,
    /// checks it was offered (email-hinted ceremonies), the identity and passkey are usable
    /// and the user handle matches (required without an email hint), verifies the
    /// assertion (origin, RP id, challenge, signature, presence, verification, counter, backup
    /// flags), and only then saves the counter and starts a session.
    #[tracing::instrument(name = "core.finish_sign_in", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn finish_sign_in(
        &self,
        ceremony_id: Uuid,
        credential: Value,
    ) -> Result<CeremonyOutcome> {
        let CeremonyState::SignIn {
            state,
            allow_credentials,
        } = self.take_ceremony(ceremony_id).await?
        else {
            return Err(Error::validation("ceremonyId", "is not a sign-in ceremony"));
        };
        let response: PublicKeyCredential = serde_json::from_value(credential).map_err(|e| {
            Error::validation("credential", format!("is not a WebAuthn assertion: {e}"))
        })?;
        let state: DiscoverableAuthentication =
            serde_json::from_value(state).map_err(Error::internal)?;
        let credential_id = URL_SAFE_NO_PAD.encode(response.get_credential_id());
        let refuse = |reason: &'static str| Error::Refused(reason.to_owned());

        let tx = self.db.begin_tenant(self.scope).await?;
        let Some(row) = tx
            .find::<passkey_row::Entity>()
            .filter(passkey_row::Column::CredentialId.eq(credential_id.as_str()))
            .one()
            .await?
        else {
            drop(tx);
            self.audit_failure("passkey.sign_in_rejected", "unknown credential", None)
                .await;
            return Err(refuse("this passkey is not registered here"));
        };
        let identity_id = row.identity_id;
        let failure = |reason: &'static str| async move {
            self.audit_failure("passkey.sign_in_rejected", reason, Some(identity_id))
                .await;
        };
        if allow_credentials
            .as_ref()
            .is_some_and(|allowed| !allowed.contains(&credential_id))
        {
            drop(tx);
            failure("passkey not offered for this sign-in").await;
            return Err(refuse(
                "this passkey is not one of the account's this sign-in was started for",
            ));
        }
        if row.revoked_at.is_some() {
            drop(tx);
            failure("revoked passkey").await;
            return Err(refuse("this passkey was revoked"));
        }
        // WebAuthn §7.2 step 6: with `allowCredentials` the user handle is optional (it must
        // match when present); a discoverable ceremony identifies the user by it.
        match response.get_user_unique_id() {
            Some(handle) if handle != identity_id.as_bytes() => {
                drop(tx);
                failure("user handle does not match the passkey's account").await;
                return Err(refuse(
                    "the passkey's user handle does not match its account",
                ));
            }
            None if allow_credentials.is_none() => {
                drop(tx);
                failure("user handle missing in a discoverable sign-in").await;
                return Err(refuse(
                    "the passkey sent no user handle, which a sign-in without an email needs",
                ));
            }
            _ => {}
        }
        let identity = identities::find_in(&tx, identity_id).await?;
        if identity.status != IdentityStatus::Active {
            drop(tx);
            failure("account not active").await;
            return Err(refuse("this account cannot sign in"));
        }
        let mut passkey: WebauthnPasskey =
            serde_json::from_value(row.passkey.clone()).map_err(Error::internal)?;
        let webauthn = self.relying_party.webauthn()?;
        let result =
            match webauthn.finish_discoverable_authentication_v2(&response, state, &passkey) {
                Ok(result) => result,
                Err(error) => {
                    drop(tx);
                    let reason = explain(&error);
                    self.audit_failure("passkey.sign_in_rejected", &reason, Some(identity_id))
                        .await;
                    return Err(Error::Refused(reason));
                }
            };
        // Every check passed: now save the counter and backup state.
        passkey.update_credential(&result);
        let mut active: passkey_row::ActiveModel = row.into();
        active.sign_count = Set(i64::from(result.counter()));
        active.backup_state = Set(result.backup_state());
        active.backup_eligible = Set(result.backup_eligible());
        active.passkey = Set(serde_json::to_value(&passkey).map_err(Error::internal)?);
        active.last_used_at = Set(Some(Utc::now()));
        tx.update(active).await?;
        let tokens = self
            .start_session_in(
                &tx,
                identity_id,
                crate::auth_method::PASSKEY,
                json!({ "userVerified": result.user_verified() }),
            )
            .await?;
        tx.commit().await?;
        Ok(CeremonyOutcome {
            identity,
            passkey: None,
            tokens: Some(tokens),
        })
    }
}
