//! The console's passkey ceremonies: enrolling a passkey with a one-time link (an invitation,
//! a recovery, the first owner's) and signing in with a discoverable passkey. The relying
//! party is the deployment's public URL. Ceremony state lives in the ephemeral store until
//! its finish call takes it.

use super::links::{
    NewLink, Purpose, RECOVERY_MINUTES, console_platform, enrolment_link, insert_link_in,
    live_link_in, mail_link, spend_link_in,
};
use super::rows::{administrator_row, enrolment_row, passkey_row, role_row};
use super::sessions::{SignedIn, end_sessions_in, start_in};
use crate::actor::{Actor, Principal};
use crate::audit::{self, Target};
use crate::catalogue;
use crate::db::{Database, PlatformTx};
use crate::ephemeral::{EphemeralStore, RATE_WINDOW, StoreKey};
use crate::error::{Error, Result, is_unique_violation};
use crate::mail::Mailer;
use crate::passkeys::{RelyingParty, explain};
use crate::secrets;
use crate::sessions::ClientInfo;
use crate::settings::TenantSettings;
use crate::validate::{Email, Name};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential,
};

/// Begins and finishes per minute from one client address.
const CEREMONIES_PER_MINUTE: u64 = 30;
/// Recovery emails per hour to one address.
const RECOVERIES_PER_HOUR: u64 = 3;

/// Everything a console ceremony needs from the deployment and the request.
pub struct Console<'a> {
    pub db: &'a Database,
    pub store: &'a dyn EphemeralStore,
    pub mailer: &'a dyn Mailer,
    /// The deployment's public URL: the relying party and the links' origin.
    pub public_url: &'a str,
    pub client: &'a ClientInfo,
    /// How long a ceremony may take between begin and finish.
    pub ceremony_ttl: std::time::Duration,
}

/// What a begin call answers.
#[derive(Clone, Debug)]
pub struct ConsoleCeremony {
    pub ceremony_id: Uuid,
    /// `{"publicKey": {...}}`, as `PublicKeyCredential.parse…OptionsFromJSON` takes it.
    pub options: Value,
}

#[derive(Serialize, Deserialize)]
enum State {
    Enrolment {
        state: Value,
        link_id: Uuid,
        administrator_id: Uuid,
        /// A new administrator: their address and name.
        new: Option<(String, Option<String>)>,
    },
    SignIn {
        state: Value,
    },
}

impl Console<'_> {
    fn relying_party(&self) -> RelyingParty {
        RelyingParty::of_tenant(
            self.public_url,
            "Latchkey console",
            &TenantSettings::default(),
        )
    }

    /// Counts one attempt of `kind` by `subject` and refuses it past `limit` in `window`.
    async fn rate_limit(
        &self,
        kind: &str,
        subject: &str,
        limit: u64,
        window: std::time::Duration,
    ) -> Result<()> {
        let key = StoreKey::console(&format!("rate:{kind}"), &secrets::hash(subject));
        if self.store.increment(&key, window).await? > limit {
            return Err(Error::RateLimited {
                retry_after: window,
            });
        }
        Ok(())
    }

    /// Counts one ceremony step from this client.
    async fn limit_client(&self, kind: &str) -> Result<()> {
        let ip = self.client.ip_address.as_deref().unwrap_or("unknown");
        self.rate_limit(kind, ip, CEREMONIES_PER_MINUTE, RATE_WINDOW)
            .await
    }

    async fn keep(&self, state: State, options: &impl Serialize) -> Result<ConsoleCeremony> {
        let ceremony_id = Uuid::now_v7();
        self.store
            .set(
                &StoreKey::console("ceremony", &ceremony_id.to_string()),
                &serde_json::to_vec(&state).map_err(Error::internal)?,
                self.ceremony_ttl,
            )
            .await?;
        Ok(ConsoleCeremony {
            ceremony_id,
            options: serde_json::to_value(options).map_err(Error::internal)?,
        })
    }

    async fn take(&self, ceremony_id: Uuid) -> Result<State> {
        self.limit_client("finish-ip").await?;
        let bytes = self
            .store
            .take(&StoreKey::console("ceremony", &ceremony_id.to_string()))
            .await?
            .ok_or_else(|| {
                Error::validation(
                    "ceremonyId",
                    "is unknown, expired or already used; start again",
                )
            })?;
        serde_json::from_slice(&bytes).map_err(Error::internal)
    }

    /// Starts enrolling a passkey with the link of `token`. A link without an address (the
    /// first owner's) needs `email`; a new administrator may give a display name.
    pub async fn begin_enrolment(
        &self,
        token: &str,
        email: Option<&str>,
        display_name: Option<&str>,
    ) -> Result<ConsoleCeremony> {
        self.limit_client("enrol-ip").await?;
        let tx = self.db.begin_platform(&console_platform()).await?;
        let link = live_link_in(&tx, token, self.db.now()).await.map_err(|_| {
            Error::validation(
                "token",
                "is unknown, used or expired; ask an owner for a new invitation",
            )
        })?;
        let existing = match (Purpose::parse(&link.purpose)?, link.administrator_id) {
            (Purpose::Recovery, Some(id)) => Some(
                administrator_by(&tx, administrator_row::Column::Id.eq(id))
                    .await?
                    .ok_or(Error::NotFound)?,
            ),
            _ => None,
        };
        let (administrator_id, user_name, shown_name, new) = match existing {
            Some(administrator) => (
                administrator.id,
                administrator.email.clone(),
                administrator.display_name.clone(),
                None,
            ),
            None => {
                let address = match (&link.email, email) {
                    (Some(invited), _) => invited.clone(),
                    (None, Some(given)) => given.to_owned(),
                    (None, None) => return Err(Error::validation("email", "is required")),
                };
                let address = Email::parse("email", &address)?;
                let display_name = display_name
                    .filter(|name| !name.trim().is_empty())
                    .map(|name| Name::parse("displayName", name, 100))
                    .transpose()?
                    .map(Name::into_inner);
                match administrator_by(
                    &tx,
                    administrator_row::Column::EmailNormalized.eq(address.normalized()),
                )
                .await?
                {
                    // Only a link mailed to the address proves it: a typed address of an
                    // existing administrator would hand their account to whoever opened it.
                    Some(_) if link.email.is_none() => {
                        return Err(Error::Conflict(
                            "an administrator has this address: sign in with their passkey, or use \"Lost your passkey?\""
                                .into(),
                        ));
                    }
                    Some(known) => (known.id, known.email, known.display_name, None),
                    None => (
                        Uuid::now_v7(),
                        address.as_str().to_owned(),
                        display_name.clone(),
                        Some((address.as_str().to_owned(), display_name)),
                    ),
                }
            }
        };
        let exclude: Vec<_> = tx
            .find::<passkey_row::Entity>()
            .filter(passkey_row::Column::AdministratorId.eq(administrator_id))
            .all()
            .await?
            .iter()
            .filter_map(|row| URL_SAFE_NO_PAD.decode(&row.credential_id).ok())
            .collect();
        tx.commit().await?;
        let (mut challenge, registration) = self
            .relying_party()
            .webauthn()?
            .start_passkey_registration(
                administrator_id,
                &user_name,
                shown_name.as_deref().unwrap_or(&user_name),
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(Error::internal)?;
        // Sign-in is discoverable (no address asked): the credential must be resident.
        if let Some(selection) = challenge.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        self.keep(
            State::Enrolment {
                state: serde_json::to_value(&registration).map_err(Error::internal)?,
                link_id: link.id,
                administrator_id,
                new,
            },
            &challenge,
        )
        .await
    }

    /// Verifies the new passkey, spends the link, grants what it grants (a recovery ends the
    /// administrator's other sessions) and starts a session, in one transaction.
    pub async fn finish_enrolment(&self, ceremony_id: Uuid, credential: Value) -> Result<SignedIn> {
        let State::Enrolment {
            state,
            link_id,
            administrator_id,
            new,
        } = self.take(ceremony_id).await?
        else {
            return Err(Error::validation("ceremonyId", "is not an enrolment"));
        };
        let response: RegisterPublicKeyCredential =
            serde_json::from_value(credential).map_err(|e| {
                Error::validation(
                    "credential",
                    format!("is not a WebAuthn registration response: {e}"),
                )
            })?;
        let state: PasskeyRegistration = serde_json::from_value(state).map_err(Error::internal)?;
        let passkey = self
            .relying_party()
            .webauthn()?
            .finish_passkey_registration(&response, &state)
            .map_err(|error| Error::validation("credential", explain(&error)))?;
        let now = self.db.now();
        let tx = self.db.begin_platform(&console_platform()).await?;
        let link = tx
            .find::<enrolment_row::Entity>()
            .filter(enrolment_row::Column::Id.eq(link_id))
            .filter(enrolment_row::Column::ExpiresAt.gt(now))
            .one()
            .await?
            .ok_or_else(|| Error::Refused("this link has expired; ask for a new one".into()))?;
        spend_link_in(&tx, &link, now).await?;
        let platform_role = link
            .platform_role
            .as_deref()
            .map(super::stored_role)
            .transpose()?;
        match new {
            Some((email, display_name)) => {
                let address = Email::parse("email", &email)?;
                tx.insert(administrator_row::ActiveModel {
                    id: Set(administrator_id),
                    email: Set(address.as_str().to_owned()),
                    email_normalized: Set(address.normalized().to_owned()),
                    display_name: Set(display_name),
                    platform_role: Set(platform_role.map(|role| role.as_str().to_owned())),
                    created_at: Set(now),
                    last_sign_in_at: Set(Some(now)),
                })
                .await
                .map_err(|error| {
                    match is_unique_violation(&error) {
                    true => Error::Conflict(
                        "an administrator with this address enrolled meanwhile; open the link again"
                            .into(),
                    ),
                    false => error.into(),
                }
                })?;
            }
            None => {
                signed_in_now(&tx, administrator_id, now).await?;
                if let Some(role) = platform_role {
                    tx.update_many::<administrator_row::Entity>()
                        .col_expr(
                            administrator_row::Column::PlatformRole,
                            sea_orm::sea_query::Expr::value(role.as_str()),
                        )
                        .filter(administrator_row::Column::Id.eq(administrator_id))
                        .exec()
                        .await?;
                }
            }
        }
        if Purpose::parse(&link.purpose)? == Purpose::Recovery {
            end_sessions_in(&tx, administrator_id).await?;
        }
        tx.insert(passkey_row::ActiveModel {
            id: Set(Uuid::now_v7()),
            administrator_id: Set(administrator_id),
            credential_id: Set(URL_SAFE_NO_PAD.encode(passkey.cred_id().as_ref() as &[u8])),
            passkey: Set(serde_json::to_value(&passkey).map_err(Error::internal)?),
            created_at: Set(now),
            last_used_at: Set(None),
        })
        .await?;
        let granted = match (link.tenant_id, link.role.as_deref()) {
            (Some(tenant_id), Some(role)) => {
                let role = super::stored_role(role)?;
                // An invitation adds a tenant; it never changes a role held there (an owner
                // does, with `updateAdministrator`, under the last-owner rule).
                if tx
                    .find::<role_row::Entity>()
                    .filter(role_row::Column::AdministratorId.eq(administrator_id))
                    .filter(role_row::Column::TenantId.eq(tenant_id))
                    .one()
                    .await?
                    .is_some()
                {
                    return Err(Error::Conflict(
                        "you already administer this tenant: an owner changes roles".into(),
                    ));
                }
                tx.insert(role_row::ActiveModel {
                    administrator_id: Set(administrator_id),
                    tenant_id: Set(tenant_id),
                    role: Set(role.as_str().to_owned()),
                    granted_at: Set(now),
                })
                .await?;
                Some((tenant_id, role))
            }
            _ => None,
        };
        let session = start_in(
            &tx,
            administrator_id,
            self.client.user_agent.as_deref(),
            now,
        )
        .await?;
        tracing::info!(
            administrator.id = %administrator_id,
            purpose = link.purpose,
            tenant.id = ?granted.map(|(tenant, _)| tenant),
            "administrator enrolled a passkey"
        );
        match granted {
            Some((tenant_id, role)) => {
                let actor = Actor::new(
                    Principal::Administrator {
                        id: administrator_id,
                        roles: vec![role],
                    },
                    None,
                );
                let (tenant_tx, _) = catalogue::enter_tenant(tx, tenant_id).await?;
                let target = administrator_id.to_string();
                audit::record(
                    &tenant_tx,
                    &actor,
                    "administrator.enrol",
                    Some(Target {
                        kind: "administrator",
                        id: &target,
                    }),
                    json!({ "role": role.as_str(), "purpose": link.purpose, "invitedBy": link.invited_by }),
                )
                .await?;
                tenant_tx.commit().await?;
            }
            None => tx.commit().await?,
        }
        Ok(session)
    }

    /// "Lost your passkey?": mails a recovery link to `email` if an administrator has that
    /// address (at most 3 an hour). The answer is the same either way.
    pub async fn request_recovery(&self, email: &str) -> Result<()> {
        let email = Email::parse("email", email)?;
        self.limit_client("recovery-ip").await?;
        self.rate_limit(
            "recovery-email",
            email.normalized(),
            RECOVERIES_PER_HOUR,
            std::time::Duration::from_secs(3600),
        )
        .await?;
        let tx = self.db.begin_platform(&console_platform()).await?;
        let Some(administrator) = administrator_by(
            &tx,
            administrator_row::Column::EmailNormalized.eq(email.normalized()),
        )
        .await?
        else {
            return tx.commit().await;
        };
        let (token, _) = insert_link_in(
            &tx,
            NewLink {
                purpose: Purpose::Recovery,
                email: Some(administrator.email.clone()),
                administrator_id: Some(administrator.id),
                tenant_id: None,
                role: None,
                platform_role: None,
                invited_by: None,
            },
            self.db.now(),
        )
        .await?;
        tx.commit().await?;
        mail_link(
            self.mailer,
            &administrator.email,
            "Recover your Latchkey console access",
            "Someone (hopefully you) asked to recover access to the Latchkey console.",
            &enrolment_link(self.public_url, &token),
            &format!("in {RECOVERY_MINUTES} minutes"),
        )
        .await
    }

    /// Starts a discoverable sign-in (no address asked).
    pub async fn begin_sign_in(&self) -> Result<ConsoleCeremony> {
        self.limit_client("sign-in-ip").await?;
        let (challenge, authentication) = self
            .relying_party()
            .webauthn()?
            .start_discoverable_authentication()
            .map_err(Error::internal)?;
        self.keep(
            State::SignIn {
                state: serde_json::to_value(&authentication).map_err(Error::internal)?,
            },
            &challenge,
        )
        .await
    }

    /// Identifies the passkey, checks its user handle is its administrator's, verifies the
    /// assertion, and only then saves the counter and starts a session.
    pub async fn finish_sign_in(&self, ceremony_id: Uuid, credential: Value) -> Result<SignedIn> {
        let State::SignIn { state } = self.take(ceremony_id).await? else {
            return Err(Error::validation("ceremonyId", "is not a sign-in"));
        };
        let response: PublicKeyCredential = serde_json::from_value(credential).map_err(|e| {
            Error::validation("credential", format!("is not a WebAuthn assertion: {e}"))
        })?;
        let state: DiscoverableAuthentication =
            serde_json::from_value(state).map_err(Error::internal)?;
        let credential_id = URL_SAFE_NO_PAD.encode(response.get_credential_id());
        let now = self.db.now();
        let tx = self.db.begin_platform(&console_platform()).await?;
        let row = tx
            .find::<passkey_row::Entity>()
            .filter(passkey_row::Column::CredentialId.eq(credential_id.as_str()))
            .one()
            .await?
            .ok_or_else(|| {
                Error::Refused("this passkey is not registered for the console".into())
            })?;
        if response.get_user_unique_id() != Some(row.administrator_id.as_bytes().as_slice()) {
            return Err(Error::Refused(
                "the passkey's user handle does not match its administrator".into(),
            ));
        }
        let mut passkey: Passkey =
            serde_json::from_value(row.passkey.clone()).map_err(Error::internal)?;
        let result = self
            .relying_party()
            .webauthn()?
            .finish_discoverable_authentication_v2(&response, state, &passkey)
            .map_err(|error| Error::Refused(explain(&error)))?;
        passkey.update_credential(&result);
        let administrator_id = row.administrator_id;
        let mut active: passkey_row::ActiveModel = row.into();
        active.passkey = Set(serde_json::to_value(&passkey).map_err(Error::internal)?);
        active.last_used_at = Set(Some(now));
        tx.update(active).await?;
        signed_in_now(&tx, administrator_id, now).await?;
        let session = start_in(
            &tx,
            administrator_id,
            self.client.user_agent.as_deref(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(session)
    }
}

/// Records that `administrator_id` signed in at `now`.
async fn signed_in_now(
    tx: &PlatformTx,
    administrator_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    tx.update_many::<administrator_row::Entity>()
        .col_expr(
            administrator_row::Column::LastSignInAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(administrator_row::Column::Id.eq(administrator_id))
        .exec()
        .await?;
    Ok(())
}

async fn administrator_by(
    tx: &PlatformTx,
    condition: sea_orm::sea_query::SimpleExpr,
) -> Result<Option<administrator_row::Model>> {
    Ok(tx
        .find::<administrator_row::Entity>()
        .filter(condition)
        .one()
        .await?)
}
