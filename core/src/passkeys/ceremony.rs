//! What the registration and sign-in ceremonies share: the request's context
//! ([`Ceremonies`]), the ceremony state kept between begin and finish, their answers, rate
//! limits, and auditing refused ceremonies.

use super::manage::Passkey;
use super::relying_party::RelyingParty;
use crate::actor::Actor;
use crate::audit::{self, Target};
use crate::clock::Clock;
use crate::db::Database;
use crate::email_proof::ProvenEmail;
pub(super) use crate::ephemeral::rate_limit;
use crate::ephemeral::{EphemeralStore, StoreKey};
use crate::error::{Error, Result};
use crate::identities;
use crate::mail::TenantMail;
use crate::scope::TenantScope;
use crate::sessions::{ClientInfo, IssuedTokens, TokenIssuer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// Everything a ceremony needs from the request: where, who, from which client, and how to
/// issue tokens when it signs someone in.
pub struct Ceremonies<'a> {
    pub db: &'a Database,
    pub store: &'a dyn EphemeralStore,
    pub scope: &'a TenantScope,
    pub actor: &'a Actor,
    pub relying_party: RelyingParty,
    pub issuer: TokenIssuer<'a>,
    pub client: ClientInfo,
    /// A secret for the decoy credential ids answered for unknown emails.
    pub decoy_key: &'a [u8],
    /// How long a ceremony may take between begin and finish.
    pub ceremony_ttl: std::time::Duration,
    /// What email proofs are measured against.
    pub clock: &'a dyn Clock,
    /// Where security notices (a passkey added, an account recovered) go out.
    pub mail: TenantMail<'a>,
}

#[derive(Serialize, Deserialize)]
pub(super) enum CeremonyState {
    Registration {
        state: Value,
        identity_id: Uuid,
        sign_up: Option<SignUp>,
        registration_token_hash: Option<String>,
        /// The session that started an "add a passkey" ceremony: only it may finish it.
        started_by_session: Option<Uuid>,
        /// The email proof the ceremony spends when it finishes (sign-up or recovery).
        #[serde(default)]
        proof: Option<ProvenEmail>,
        /// A recovery asked to end every other session of the account.
        #[serde(default)]
        sign_out_everywhere: bool,
    },
    SignIn {
        state: Value,
        /// The credential ids offered with an email hint (`allowCredentials`): only these
        /// may finish it. `None` for a discoverable ceremony.
        #[serde(default)]
        allow_credentials: Option<Vec<String>>,
    },
}

#[derive(Serialize, Deserialize)]
pub(super) struct SignUp {
    pub(super) email: String,
    pub(super) display_name: Option<String>,
    /// The address was proven (an email proof): the identity starts verified.
    #[serde(default)]
    pub(super) email_verified: bool,
}

/// What `beginPasskeyRegistration` / `beginPasskeySignIn` answer.
pub struct BegunCeremony {
    pub ceremony_id: Uuid,
    /// `{"publicKey": {...}}`, as browsers' `parse…OptionsFromJSON(options.publicKey)` take it.
    pub options: Value,
}

/// What a finished registration or sign-in produced.
pub struct CeremonyOutcome {
    pub identity: identities::Identity,
    pub passkey: Option<Passkey>,
    pub tokens: Option<IssuedTokens>,
}

fn ceremony_key(scope: &TenantScope, id: Uuid) -> StoreKey {
    StoreKey::tenant(scope, "ceremony", &id.to_string())
}

impl Ceremonies<'_> {
    /// Starts a session for `identity_id` after a sign-in by `method`, in the sign-in's
    /// transaction, and audits it as `identity.sign_in` (with `details`, the method and the
    /// client's address).
    pub(crate) async fn start_session_in(
        &self,
        tx: &crate::db::TenantTx,
        identity_id: Uuid,
        method: &str,
        mut details: Value,
    ) -> Result<IssuedTokens> {
        if method != crate::auth_method::FEDERATED {
            crate::sso::check_in(tx, identity_id, None).await?;
        }
        identities::touch_sign_in(tx, identity_id).await?;
        let tokens =
            crate::sessions::start_session(tx, &self.issuer, identity_id, method, &self.client)
                .await?;
        details["method"] = json!(method);
        details["ipAddress"] = json!(self.client.ip_address);
        let target = identity_id.to_string();
        let signed_in = self.actor.as_identity(identity_id, tokens.session_id);
        // Signing in cancels a deletion the owner asked for (`deleteViewerAccount`).
        identities::deletion::cancel_in(tx, &signed_in, identity_id).await?;
        audit::record(
            tx,
            &signed_in,
            "identity.sign_in",
            Some(Target {
                kind: "identity",
                id: &target,
            }),
            details,
        )
        .await?;
        Ok(tokens)
    }

    pub(crate) async fn audit_failure(
        &self,
        action: &str,
        reason: &str,
        identity_id: Option<Uuid>,
    ) {
        self.audit_refusal(action, json!({ "reason": reason }), identity_id)
            .await;
    }

    /// Audits a refused ceremony or sign-in in a transaction of its own (the refused one
    /// wrote nothing); a failure to record is logged.
    pub(crate) async fn audit_refusal(
        &self,
        action: &str,
        details: Value,
        identity_id: Option<Uuid>,
    ) {
        let record = async {
            let tx = self.db.begin_tenant(self.scope).await?;
            let target = identity_id.map(|id| id.to_string());
            audit::record(
                &tx,
                self.actor,
                action,
                target.as_deref().map(|id| Target {
                    kind: "identity",
                    id,
                }),
                details,
            )
            .await?;
            tx.commit().await
        };
        if let Err(error) = record.await {
            tracing::error!(error = ?error, "could not record a refusal");
        }
    }

    /// Keeps a ceremony's state until its finish call (or until its time runs out).
    pub(super) async fn store_ceremony(
        &self,
        state: CeremonyState,
        options: Value,
    ) -> Result<BegunCeremony> {
        let ceremony_id = Uuid::now_v7();
        self.store
            .set(
                &ceremony_key(self.scope, ceremony_id),
                &serde_json::to_vec(&state).map_err(Error::internal)?,
                self.ceremony_ttl,
            )
            .await?;
        Ok(BegunCeremony {
            ceremony_id,
            options,
        })
    }

    pub(super) async fn take_ceremony(&self, ceremony_id: Uuid) -> Result<CeremonyState> {
        // Refusals are audited; bound how many rows a caller can make that way.
        if let Some(ip) = &self.client.ip_address {
            rate_limit(
                self.store,
                self.scope,
                "finish-ip",
                ip,
                self.issuer.settings.rate_limits.sign_in_per_ip,
            )
            .await?;
        }
        let bytes = self
            .store
            .take(&ceremony_key(self.scope, ceremony_id))
            .await?;
        match bytes {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(Error::internal),
            None => {
                self.audit_failure(
                    "passkey.ceremony_rejected",
                    "unknown, expired or replayed ceremony",
                    None,
                )
                .await;
                Err(Error::validation(
                    "ceremonyId",
                    "is unknown, expired or already used; start again",
                ))
            }
        }
    }
}
