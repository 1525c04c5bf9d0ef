//! Passkeys (WebAuthn) with webauthn-rs: sign-up and adding passkeys (registration), sign-in
//! with or without an email hint (discoverable credentials), passkey management, and one-time
//! registration links for recovery. Ceremony state lives in the ephemeral store for a few
//! minutes (`LATCHKEY_CEREMONY_TTL_SECONDS`) and is taken (read and deleted) by the finish
//! call, so it serves once.

use crate::actor::{Actor, Permission, Principal};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::ephemeral::{EphemeralStore, StoreKey};
use crate::error::{Error, Result, is_unique_violation};
use crate::identities::{self, IdentityStatus, NewIdentity};
use crate::outbox::EventType;
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::secrets;
use crate::sessions::{self, ClientInfo, IssuedTokens, TokenIssuer};
use crate::settings::UserVerification;
use crate::validate::{Email, Name};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey as WebauthnPasskey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
    WebauthnError,
};

/// Every registration-link token starts with this.
pub const REGISTRATION_TOKEN_PREFIX: &str = "lkreg_";
const RATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

mod passkey_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "passkeys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub identity_id: Uuid,
        pub credential_id: String,
        pub name: String,
        pub passkey: Json,
        pub sign_count: i64,
        pub backup_eligible: bool,
        pub backup_state: bool,
        pub created_at: DateTimeUtc,
        pub last_used_at: Option<DateTimeUtc>,
        pub revoked_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(passkey_row);

mod link_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "registration_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub identity_id: Uuid,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub used_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(link_row);

/// A registered passkey as its owner or an admin sees it.
#[derive(Clone, Debug)]
pub struct Passkey {
    pub id: Uuid,
    pub identity_id: Uuid,
    pub name: String,
    pub credential_id: String,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<passkey_row::Model> for Passkey {
    fn from(row: passkey_row::Model) -> Self {
        Self {
            id: row.id,
            identity_id: row.identity_id,
            name: row.name,
            credential_id: row.credential_id,
            sign_count: row.sign_count,
            backup_eligible: row.backup_eligible,
            backup_state: row.backup_state,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// The WebAuthn relying party of a tenant, from its settings and the deployment's public URL.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    pub rp_id: String,
    pub rp_name: String,
    pub origins: Vec<String>,
    pub user_verification: UserVerification,
}

impl RelyingParty {
    fn webauthn(&self) -> Result<Webauthn> {
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
}

#[derive(Serialize, Deserialize)]
enum CeremonyState {
    Registration {
        state: Value,
        identity_id: Uuid,
        sign_up: Option<SignUp>,
        registration_token_hash: Option<String>,
        /// The session that started an "add a passkey" ceremony: only it may finish it.
        started_by_session: Option<Uuid>,
    },
    SignIn {
        state: Value,
    },
}

#[derive(Serialize, Deserialize)]
struct SignUp {
    email: String,
    display_name: Option<String>,
}

/// What `beginPasskeyRegistration` / `beginPasskeySignIn` answer.
pub struct BegunCeremony {
    pub ceremony_id: Uuid,
    /// `{"publicKey": {...}}`, as browsers' `parse…OptionsFromJSON(options.publicKey)` take it.
    pub options: Value,
}

/// Input of `beginPasskeyRegistration`.
#[derive(Clone, Debug, Default)]
pub struct BeginRegistration {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub registration_token: Option<String>,
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

async fn rate_limit(
    store: &dyn EphemeralStore,
    scope: &TenantScope,
    kind: &str,
    subject: &str,
    limit: u32,
) -> Result<()> {
    let key = StoreKey::tenant(scope, &format!("rate:{kind}"), &secrets::hash(subject));
    if store.increment(&key, RATE_WINDOW).await? > u64::from(limit) {
        tracing::info!(limit.kind = kind, "rate limit reached");
        return Err(Error::RateLimited {
            retry_after: RATE_WINDOW,
        });
    }
    Ok(())
}

/// Sets a state's user-verification policy to "preferred" where the tenant asks for it
/// (webauthn-rs' passkey ceremonies always start with "required").
fn apply_user_verification(
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

async fn passkeys_of(tx: &TenantTx, identity_id: Uuid) -> Result<Vec<passkey_row::Model>> {
    Ok(tx
        .find::<passkey_row::Entity>()
        .filter(passkey_row::Column::IdentityId.eq(identity_id))
        .filter(passkey_row::Column::RevokedAt.is_null())
        .order_by_asc(passkey_row::Column::Id)
        .all()
        .await?)
}

fn credential_ids(rows: &[passkey_row::Model]) -> Vec<webauthn_rs::prelude::CredentialID> {
    rows.iter()
        .filter_map(|row| URL_SAFE_NO_PAD.decode(&row.credential_id).ok())
        .collect()
}

async fn find_registration_token(tx: &TenantTx, token: &str) -> Result<link_row::Model> {
    tx.find::<link_row::Entity>()
        .filter(link_row::Column::TokenHash.eq(secrets::hash(token)))
        .one()
        .await?
        .filter(|link| link.used_at.is_none() && link.expires_at > Utc::now())
        .ok_or_else(|| {
            Error::validation(
                "registrationToken",
                "is unknown, expired or already used; ask for a new link",
            )
        })
}

impl Ceremonies<'_> {
    async fn audit_failure(&self, action: &str, reason: &str, identity_id: Option<Uuid>) {
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
                json!({ "reason": reason }),
            )
            .await?;
            tx.commit().await
        };
        if let Err(error) = record.await {
            tracing::error!(error = ?error, "could not record a failed ceremony");
        }
    }

    /// `beginPasskeyRegistration`: sign-up (anonymous, with email), a recovery link
    /// (`registrationToken`), or another passkey for the signed-in caller.
    #[tracing::instrument(name = "core.begin_registration", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn begin_registration(&self, input: BeginRegistration) -> Result<BegunCeremony> {
        let webauthn = self.relying_party.webauthn()?;
        let tx = self.db.begin_tenant(self.scope).await?;
        let started_by_caller = input.registration_token.is_none()
            && input.email.is_none()
            && matches!(*self.actor.principal(), Principal::Identity { .. });
        let (identity_id, user_name, display_name, sign_up, token_hash, existing) =
            if let Some(token) = &input.registration_token {
                let link = find_registration_token(&tx, token).await?;
                let identity = identities::find_in(&tx, link.identity_id).await?;
                if identity.status != IdentityStatus::Active {
                    return Err(Error::validation(
                        "registrationToken",
                        "the account is not active",
                    ));
                }
                let existing = passkeys_of(&tx, identity.id).await?;
                let name = identity
                    .display_name
                    .clone()
                    .unwrap_or_else(|| identity.email.clone());
                (
                    identity.id,
                    identity.email,
                    name,
                    None,
                    Some(link.token_hash),
                    existing,
                )
            } else if let (Principal::Identity { id, .. }, None) =
                (self.actor.principal(), &input.email)
            {
                let identity = identities::find_in(&tx, *id).await?;
                let existing = passkeys_of(&tx, identity.id).await?;
                let name = identity
                    .display_name
                    .clone()
                    .unwrap_or_else(|| identity.email.clone());
                (identity.id, identity.email, name, None, None, existing)
            } else {
                let Some(email) = &input.email else {
                    return Err(Error::validation(
                        "email",
                        "is required to sign up (or sign in first to add a passkey)",
                    ));
                };
                if !self.issuer.settings.self_sign_up {
                    return Err(Error::Refused(
                        "self sign-up is turned off for this tenant".into(),
                    ));
                }
                if let Some(ip) = &self.client.ip_address {
                    rate_limit(
                        self.store,
                        self.scope,
                        "sign-up-ip",
                        ip,
                        self.issuer.settings.rate_limits.sign_up_per_ip,
                    )
                    .await?;
                }
                let email = Email::parse("email", email)?;
                let display_name = input
                    .display_name
                    .as_deref()
                    .map(|v| Name::parse("displayName", v, 200))
                    .transpose()?
                    .map(Name::into_inner);
                if identities::find_by_email(&tx, email.normalized())
                    .await?
                    .is_some()
                {
                    return Err(Error::Conflict(
                        "an account with this email exists; sign in with its passkey instead"
                            .into(),
                    ));
                }
                let shown = display_name
                    .clone()
                    .unwrap_or_else(|| email.as_str().to_owned());
                (
                    Uuid::now_v7(),
                    email.as_str().to_owned(),
                    shown,
                    Some(SignUp {
                        email: email.as_str().to_owned(),
                        display_name,
                    }),
                    None,
                    Vec::new(),
                )
            };
        tx.commit().await?;

        let exclude = credential_ids(&existing);
        let (mut challenge, registration) = webauthn
            .start_passkey_registration(
                identity_id,
                &user_name,
                &display_name,
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(Error::internal)?;
        // Discoverable sign-in (no email, autofill) needs a resident credential.
        if let Some(selection) = challenge.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        let mut options = serde_json::to_value(&challenge).map_err(Error::internal)?;
        let mut state = serde_json::to_value(&registration).map_err(Error::internal)?;
        apply_user_verification(
            &mut options,
            &mut state,
            "rs",
            self.relying_party.user_verification,
        );
        self.store_ceremony(
            CeremonyState::Registration {
                state,
                identity_id,
                sign_up,
                registration_token_hash: token_hash,
                started_by_session: match *self.actor.principal() {
                    Principal::Identity { session_id, .. } if started_by_caller => Some(session_id),
                    _ => None,
                },
            },
            options,
        )
        .await
    }

    /// Keeps a ceremony's state until its finish call (or until its time runs out).
    async fn store_ceremony(&self, state: CeremonyState, options: Value) -> Result<BegunCeremony> {
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

    async fn take_ceremony(&self, ceremony_id: Uuid) -> Result<CeremonyState> {
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

    /// `finishPasskeyRegistration`: verifies the authenticator's response and stores the
    /// passkey; a sign-up also creates the identity and signs it in, all in one transaction.
    #[tracing::instrument(name = "core.finish_registration", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn finish_registration(
        &self,
        ceremony_id: Uuid,
        credential: Value,
        passkey_name: Option<String>,
    ) -> Result<CeremonyOutcome> {
        let CeremonyState::Registration {
            state,
            identity_id,
            sign_up,
            registration_token_hash,
            started_by_session,
        } = self.take_ceremony(ceremony_id).await?
        else {
            return Err(Error::validation(
                "ceremonyId",
                "is not a registration ceremony",
            ));
        };
        if let Some(session) = started_by_session
            && !matches!(*self.actor.principal(), Principal::Identity { session_id, .. } if session_id == session)
        {
            self.audit_failure(
                "passkey.register_rejected",
                "finished by another caller than the session that started it",
                Some(identity_id),
            )
            .await;
            return Err(Error::Refused(
                "finish adding a passkey with the same signed-in session that started it".into(),
            ));
        }
        let name = passkey_name
            .map(|n| Name::parse("passkeyName", &n, 100))
            .transpose()?
            .map(Name::into_inner);
        let response: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| {
                Error::validation(
                    "credential",
                    format!("is not a WebAuthn registration response: {e}"),
                )
            })?;
        let state: PasskeyRegistration = serde_json::from_value(state).map_err(Error::internal)?;
        let webauthn = self.relying_party.webauthn()?;
        let passkey = match webauthn.finish_passkey_registration(&response, &state) {
            Ok(passkey) => passkey,
            Err(error) => {
                let reason = explain(&error);
                self.audit_failure("passkey.register_rejected", &reason, Some(identity_id))
                    .await;
                return Err(Error::validation("credential", reason));
            }
        };
        let stored = serde_json::to_value(&passkey).map_err(Error::internal)?;
        let credential_id = URL_SAFE_NO_PAD.encode(passkey.cred_id().as_ref() as &[u8]);

        let tx = self.db.begin_tenant(self.scope).await?;
        if let Some(hash) = &registration_token_hash {
            let spent = tx
                .update_many::<link_row::Entity>()
                .col_expr(link_row::Column::UsedAt, Expr::value(Utc::now()))
                .filter(link_row::Column::TokenHash.eq(hash.as_str()))
                .filter(link_row::Column::UsedAt.is_null())
                .filter(link_row::Column::ExpiresAt.gt(Utc::now()))
                .exec()
                .await?
                .rows_affected;
            if spent == 0 {
                return Err(Error::validation(
                    "registrationToken",
                    "is unknown, expired or already used; ask for a new link",
                ));
            }
        }
        let identity = match &sign_up {
            Some(sign_up) => {
                identities::insert_in(
                    &tx,
                    identity_id,
                    NewIdentity {
                        email: sign_up.email.clone(),
                        display_name: sign_up.display_name.clone(),
                        ..NewIdentity::default()
                    },
                )
                .await?
            }
            None => identities::find_in(&tx, identity_id).await?,
        };
        if identity.status != IdentityStatus::Active {
            return Err(Error::Refused("the account is not active".into()));
        }
        let row = tx
            .insert(passkey_row::ActiveModel {
                tenant_id: Set(tx.tenant_id()),
                id: Set(Uuid::now_v7()),
                identity_id: Set(identity.id),
                credential_id: Set(credential_id),
                name: Set(name.unwrap_or_else(|| "Passkey".to_owned())),
                sign_count: Set(stored["cred"]["counter"].as_i64().unwrap_or(0)),
                backup_eligible: Set(stored["cred"]["backup_eligible"].as_bool().unwrap_or(false)),
                backup_state: Set(stored["cred"]["backup_state"].as_bool().unwrap_or(false)),
                passkey: Set(stored),
                created_at: Set(Utc::now()),
                last_used_at: Set(None),
                revoked_at: Set(None),
            })
            .await;
        let row = match row {
            Ok(row) => row,
            Err(error) if is_unique_violation(&error) => {
                drop(tx);
                self.audit_failure(
                    "passkey.register_rejected",
                    "credential already registered",
                    Some(identity_id),
                )
                .await;
                return Err(Error::Conflict("this passkey is already registered".into()));
            }
            Err(error) => return Err(error.into()),
        };
        let passkey_id = row.id.to_string();
        let actor = match sign_up {
            Some(_) => Actor::new(
                Principal::Identity {
                    id: identity.id,
                    session_id: Uuid::nil(),
                },
                self.actor.request_id().map(str::to_owned),
            ),
            None => self.actor.clone(),
        };
        audit::record(
            &tx,
            &actor,
            "passkey.register",
            Some(Target {
                kind: "passkey",
                id: &passkey_id,
            }),
            json!({ "identityId": identity.id, "signUp": registration_token_hash.is_none() && matches!(*self.actor.principal(), Principal::Anonymous) }),
        )
        .await?;
        if sign_up.is_some() {
            identities::publish(&tx, &actor, EventType::IdentityCreated, &identity, &[]).await?;
        }
        let signs_in = !matches!(*self.actor.principal(), Principal::Identity { .. });
        let tokens = if signs_in {
            identities::touch_sign_in(&tx, identity.id).await?;
            Some(
                sessions::start_session(&tx, &self.issuer, identity.id, "passkey", &self.client)
                    .await?,
            )
        } else {
            None
        };
        tx.commit().await?;
        Ok(CeremonyOutcome {
            identity,
            passkey: Some(row.into()),
            tokens,
        })
    }

    /// `beginPasskeySignIn`: with an email, the options list that account's passkeys; an
    /// unknown email gets decoy credential ids derived from it, so the answer does not tell
    /// whether an account exists. Without an email: a discoverable (usernameless) ceremony.
    #[tracing::instrument(name = "core.begin_sign_in", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn begin_sign_in(&self, email: Option<String>) -> Result<BegunCeremony> {
        let limits = self.issuer.settings.rate_limits;
        if let Some(ip) = &self.client.ip_address {
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
        if let Some(email) = email.filter(|e| !e.trim().is_empty()) {
            let email = Email::parse("email", &email)?;
            rate_limit(
                self.store,
                self.scope,
                "sign-in-email",
                email.normalized(),
                limits.sign_in_per_identity,
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
                .into_iter()
                .map(|id| json!({ "type": "public-key", "id": id }))
                .collect();
            options.as_object_mut().map(|o| o.remove("mediation"));
        }
        self.store_ceremony(CeremonyState::SignIn { state }, options)
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
    /// checks the identity and passkey are usable and the user handle matches, verifies the
    /// assertion (origin, RP id, challenge, signature, presence, verification, counter, backup
    /// flags), and only then saves the counter and starts a session.
    #[tracing::instrument(name = "core.finish_sign_in", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn finish_sign_in(
        &self,
        ceremony_id: Uuid,
        credential: Value,
    ) -> Result<CeremonyOutcome> {
        let CeremonyState::SignIn { state } = self.take_ceremony(ceremony_id).await? else {
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
        if row.revoked_at.is_some() {
            drop(tx);
            failure("revoked passkey").await;
            return Err(refuse("this passkey was revoked"));
        }
        if let Some(handle) = response.get_user_unique_id()
            && handle != identity_id.as_bytes()
        {
            drop(tx);
            failure("user handle does not match the passkey's account").await;
            return Err(refuse(
                "the passkey's user handle does not match its account",
            ));
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
        identities::touch_sign_in(&tx, identity_id).await?;
        let tokens =
            sessions::start_session(&tx, &self.issuer, identity_id, "passkey", &self.client)
                .await?;
        let target = identity_id.to_string();
        audit::record(
            &tx,
            &Actor::new(
                Principal::Identity {
                    id: identity_id,
                    session_id: tokens.session_id,
                },
                self.actor.request_id().map(str::to_owned),
            ),
            "identity.sign_in",
            Some(Target {
                kind: "identity",
                id: &target,
            }),
            json!({ "method": "passkey", "userVerified": result.user_verified() }),
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

/// A client-facing explanation of a rejected WebAuthn response.
fn explain(error: &WebauthnError) -> String {
    match error {
        WebauthnError::InvalidRPOrigin => "the page's origin is not allowed for this tenant".into(),
        WebauthnError::InvalidRPIDHash => "the passkey was made for another relying party (RP id)".into(),
        WebauthnError::CredentialPossibleCompromise => {
            "the passkey's signature counter went backwards: it may be a cloned authenticator, so it was refused".into()
        }
        WebauthnError::UserNotVerified => "user verification (PIN or biometrics) is required".into(),
        WebauthnError::UserNotPresent => "user presence was not confirmed".into(),
        WebauthnError::MismatchedChallenge => "the response does not belong to this ceremony".into(),
        WebauthnError::CredentialMayNotBeHardwareBound => "the authenticator reports a backup state it is not eligible for".into(),
        WebauthnError::AuthenticationFailure => "the passkey's signature is not valid".into(),
        other => format!("the passkey response was not accepted ({other})"),
    }
}

/// An identity's passkeys (revoked ones excluded), oldest first: the caller's own, or any
/// identity's for admins (`ReadIdentities`).
#[tracing::instrument(name = "core.list_passkeys", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_passkeys(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
    page: PageRequest,
) -> Result<Page<Passkey>> {
    authorize(
        actor,
        Permission::ReadIdentities,
        Resource::OwnedBy(identity_id),
    )?;
    let tx = db.begin_tenant(scope).await?;
    let query = tx
        .find::<passkey_row::Entity>()
        .filter(passkey_row::Column::IdentityId.eq(identity_id))
        .filter(passkey_row::Column::RevokedAt.is_null());
    let rows = keyset(query, passkey_row::Column::Id, page).await?;
    tx.commit().await?;
    Ok(rows.map(Passkey::from))
}

/// How many active passkeys each of `identity_ids` has, in one statement (identities without
/// passkeys are absent): the caller's own count, or anyone's for admins (`ReadIdentities`).
#[tracing::instrument(name = "core.count_passkeys", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn count_passkeys(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_ids: &[Uuid],
) -> Result<HashMap<Uuid, u64>> {
    for identity_id in identity_ids {
        authorize(
            actor,
            Permission::ReadIdentities,
            Resource::OwnedBy(*identity_id),
        )?;
    }
    let tx = db.begin_tenant(scope).await?;
    let counts: Vec<(Uuid, i64)> = tx
        .find::<passkey_row::Entity>()
        .select_only()
        .column(passkey_row::Column::IdentityId)
        .column_as(passkey_row::Column::Id.count(), "passkeys")
        .filter(passkey_row::Column::IdentityId.is_in(identity_ids.iter().copied()))
        .filter(passkey_row::Column::RevokedAt.is_null())
        .group_by(passkey_row::Column::IdentityId)
        .into_tuple()
        .all()
        .await?;
    tx.commit().await?;
    Ok(counts
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

async fn change_passkey(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    action: &str,
    change: impl FnOnce(&mut passkey_row::ActiveModel),
) -> Result<Passkey> {
    if actor.principal() == &Principal::Anonymous {
        return Err(Error::Unauthenticated);
    }
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<passkey_row::Entity>()
        .filter(passkey_row::Column::Id.eq(id))
        .filter(passkey_row::Column::RevokedAt.is_null())
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    authorize(
        actor,
        Permission::WriteIdentities,
        Resource::OwnedBy(row.identity_id),
    )?;
    let identity_id = row.identity_id;
    let mut active: passkey_row::ActiveModel = row.into();
    change(&mut active);
    let row = tx.update(active).await?;
    let target = id.to_string();
    audit::record(
        &tx,
        actor,
        action,
        Some(Target {
            kind: "passkey",
            id: &target,
        }),
        json!({ "identityId": identity_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(row.into())
}

/// Renames a passkey: the caller's own, or any for admins (`WriteIdentities`).
#[tracing::instrument(name = "core.rename_passkey", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn rename_passkey(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    name: &str,
) -> Result<Passkey> {
    let name = Name::parse("name", name, 100)?.into_inner();
    change_passkey(db, scope, actor, id, "passkey.rename", |active| {
        active.name = Set(name)
    })
    .await
}

/// Revokes a passkey: it can no longer sign in. The caller's own, or any for admins.
#[tracing::instrument(name = "core.revoke_passkey", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn revoke_passkey(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Passkey> {
    change_passkey(db, scope, actor, id, "passkey.revoke", |active| {
        active.revoked_at = Set(Some(Utc::now()))
    })
    .await
}

/// A one-time link that lets an identity register a new passkey (a lost device). Requires
/// `WriteIdentities`. Returns the token (shown once) and when it expires.
#[tracing::instrument(name = "core.create_registration_link", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_registration_link(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
    valid_for: Duration,
) -> Result<(String, DateTime<Utc>)> {
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    if valid_for < Duration::minutes(5) || valid_for > Duration::days(7) {
        return Err(Error::validation(
            "expiresInSeconds",
            "must be between 300 and 604800",
        ));
    }
    let tx = db.begin_tenant(scope).await?;
    let identity = identities::find_in(&tx, identity_id).await?;
    if identity.status != IdentityStatus::Active {
        return Err(Error::Refused("the identity is not active".into()));
    }
    let token = secrets::generate(REGISTRATION_TOKEN_PREFIX);
    let now = Utc::now();
    let expires_at = now + valid_for;
    tx.insert(link_row::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        id: Set(Uuid::now_v7()),
        identity_id: Set(identity_id),
        token_hash: Set(secrets::hash(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    })
    .await?;
    let target = identity_id.to_string();
    audit::record(
        &tx,
        actor,
        "identity.registration_link.create",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "expiresAt": expires_at }),
    )
    .await?;
    tx.commit().await?;
    Ok((token, expires_at))
}
