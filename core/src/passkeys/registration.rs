//! The registration ceremony (sign-up, another passkey for the signed-in caller, or a
//! recovery link) and the one-time registration links it accepts.

use super::ceremony::{
    BegunCeremony, Ceremonies, CeremonyOutcome, CeremonyState, SignUp, rate_limit,
};
use super::errors::explain;
use super::manage::Passkey;
use super::relying_party::apply_user_verification;
use super::rows::{new_row, passkey_row, passkeys_of};
use crate::actor::{Actor, Permission, Principal};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::email_proof::{self, ProvenEmail, Purpose};
use crate::email_templates::{Email as MailEmail, EmailTemplate};
use crate::error::{Error, Result, is_unique_violation};
use crate::identities::{self, IdentityStatus, NewIdentity};
use crate::mail::{Recipient, TenantMail};
use crate::notices::{Notice, send_notice};
use crate::outbox::EventType;
use crate::scope::TenantScope;
use crate::secrets;
use crate::session_store::revoke_all_in;
use crate::sessions;
use crate::validate::{Email, Name};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential};

/// Every registration-link token starts with this.
pub const REGISTRATION_TOKEN_PREFIX: &str = "lkreg_";

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

/// Input of `beginPasskeyRegistration`.
#[derive(Clone, Debug, Default)]
pub struct BeginRegistration {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub registration_token: Option<String>,
    /// A `SIGN_UP` proof (a new account with a verified address) or a `RECOVERY` proof (a new
    /// passkey for the account of the address).
    pub email_proof: Option<String>,
    /// With a recovery (proof or link): end every other session of the account.
    pub sign_out_everywhere: bool,
}

/// Who a registration is for, as begin found out.
struct Registrant {
    identity_id: Uuid,
    user_name: String,
    display_name: String,
    sign_up: Option<SignUp>,
    token_hash: Option<String>,
    existing: Vec<passkey_row::Model>,
    proof: Option<ProvenEmail>,
}

impl Registrant {
    /// Another passkey for an identity that exists.
    async fn existing(tx: &TenantTx, identity: identities::Identity) -> Result<Self> {
        let existing = passkeys_of(tx, identity.id).await?;
        let display_name = identity
            .display_name
            .clone()
            .unwrap_or_else(|| identity.email.clone());
        Ok(Self {
            identity_id: identity.id,
            user_name: identity.email,
            display_name,
            sign_up: None,
            token_hash: None,
            existing,
            proof: None,
        })
    }

    /// A new account for `email`.
    fn new_account(
        email: String,
        display_name: Option<String>,
        proof: Option<ProvenEmail>,
    ) -> Self {
        let shown = display_name.clone().unwrap_or_else(|| email.clone());
        Self {
            identity_id: Uuid::now_v7(),
            user_name: email.clone(),
            display_name: shown,
            sign_up: Some(SignUp {
                email,
                display_name,
                email_verified: proof.is_some(),
            }),
            token_hash: None,
            existing: Vec::new(),
            proof,
        }
    }
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

fn parse_display_name(value: Option<&str>) -> Result<Option<String>> {
    Ok(value
        .map(|v| Name::parse("displayName", v, 200))
        .transpose()?
        .map(Name::into_inner))
}

impl Ceremonies<'_> {
    /// Sign-up is on, and this client has not signed up too often.
    pub(crate) async fn admit_sign_up(&self) -> Result<()> {
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
        Ok(())
    }

    /// A recovery link: another passkey for the link's identity.
    async fn registrant_by_link(&self, tx: &TenantTx, token: &str) -> Result<Registrant> {
        let link = find_registration_token(tx, token).await?;
        let identity = identities::find_in(tx, link.identity_id).await?;
        if identity.status != IdentityStatus::Active {
            return Err(Error::validation(
                "registrationToken",
                "the account is not active",
            ));
        }
        let mut registrant = Registrant::existing(tx, identity).await?;
        registrant.token_hash = Some(link.token_hash);
        Ok(registrant)
    }

    /// An email proof: a new account (`SIGN_UP`) or a recovery (`RECOVERY`).
    async fn registrant_by_proof(
        &self,
        tx: &TenantTx,
        proof: &str,
        display_name: Option<&str>,
    ) -> Result<Registrant> {
        let proven = email_proof::check_proof_in(
            tx,
            self.clock.now(),
            proof,
            &[Purpose::SignUp, Purpose::Recovery],
        )
        .await?;
        let account = identities::find_by_email(tx, &proven.email_normalized).await?;
        match (proven.purpose, account) {
            (Purpose::SignUp, Some(_)) => Err(Error::validation(
                "emailProof",
                "an account with this address exists; sign in, or recover it with a RECOVERY proof",
            )),
            (Purpose::SignUp, None) => {
                self.admit_sign_up().await?;
                let display_name = parse_display_name(display_name)?;
                Ok(Registrant::new_account(
                    proven.email.clone(),
                    display_name,
                    Some(proven),
                ))
            }
            (_, _) if self.issuer.settings.recovery_requires_approval => Err(Error::Refused(
                "account recovery in this tenant needs an administrator's approval: \
                 call requestAccountRecovery with this emailProof"
                    .into(),
            )),
            (_, Some(identity)) if identity.status == IdentityStatus::Active => {
                let mut registrant = Registrant::existing(tx, identity).await?;
                registrant.proof = Some(proven);
                Ok(registrant)
            }
            (_, _) => Err(Error::Refused("no active account has this address".into())),
        }
    }

    /// A sign-up with a typed address: only where the tenant does not require proven ones.
    async fn registrant_by_email(
        &self,
        tx: &TenantTx,
        email: &str,
        display_name: Option<&str>,
    ) -> Result<Registrant> {
        self.admit_sign_up().await?;
        if self.issuer.settings.require_verified_email {
            return Err(Error::validation(
                "emailProof",
                "is required to sign up in this tenant: prove the address with \
                 startEmailVerification (purpose SIGN_UP) and completeEmailVerification, \
                 then pass the emailProof instead of the email",
            ));
        }
        let email = Email::parse("email", email)?;
        let display_name = parse_display_name(display_name)?;
        if identities::find_by_email(tx, email.normalized())
            .await?
            .is_some()
        {
            return Err(Error::Conflict(
                "an account with this email exists; sign in with its passkey instead".into(),
            ));
        }
        Ok(Registrant::new_account(
            email.as_str().to_owned(),
            display_name,
            None,
        ))
    }

    /// `beginPasskeyRegistration`: sign-up (anonymous, with an email proof, or with an email
    /// where the tenant allows unproven addresses), recovery (an email proof or a registration
    /// link), or another passkey for the signed-in caller.
    #[tracing::instrument(name = "core.begin_registration", skip_all, fields(tenant.id = %self.scope.tenant_id()))]
    pub async fn begin_registration(&self, input: BeginRegistration) -> Result<BegunCeremony> {
        let webauthn = self.relying_party.webauthn()?;
        let tx = self.db.begin_tenant(self.scope).await?;
        let display_name = input.display_name.as_deref();
        let caller = match *self.actor.principal() {
            Principal::Identity { id, session_id } => Some((id, session_id)),
            _ => None,
        };
        let mut started_by_session = None;
        let registrant = match (
            &input.registration_token,
            &input.email_proof,
            &input.email,
            caller,
        ) {
            (Some(token), _, _, _) => self.registrant_by_link(&tx, token).await?,
            (None, Some(proof), _, _) => self.registrant_by_proof(&tx, proof, display_name).await?,
            (None, None, None, Some((id, session_id))) => {
                started_by_session = Some(session_id);
                Registrant::existing(&tx, identities::find_in(&tx, id).await?).await?
            }
            (None, None, Some(email), _) => {
                self.registrant_by_email(&tx, email, display_name).await?
            }
            (None, None, None, None) => {
                return Err(Error::validation(
                    "emailProof",
                    "is required to sign up or recover an account (or sign in first to add a passkey)",
                ));
            }
        };
        let Registrant {
            identity_id,
            user_name,
            display_name,
            sign_up,
            token_hash,
            existing,
            proof,
        } = registrant;
        let recovery = token_hash.is_some()
            || proof
                .as_ref()
                .is_some_and(|p| p.purpose == Purpose::Recovery);
        let sign_out_everywhere = recovery && input.sign_out_everywhere;
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
                started_by_session,
                proof,
                sign_out_everywhere,
            },
            options,
        )
        .await
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
            proof,
            sign_out_everywhere,
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
        if let Some(proof) = &proof {
            email_proof::spend_proof_in(&tx, self.clock.now(), proof).await?;
        }
        let identity = match &sign_up {
            Some(sign_up) => {
                identities::insert_in(
                    &tx,
                    identity_id,
                    NewIdentity {
                        email: sign_up.email.clone(),
                        email_verified: sign_up.email_verified,
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
            .insert(new_row(
                tx.tenant_id(),
                identity.id,
                credential_id,
                name.unwrap_or_else(|| "Passkey".to_owned()),
                stored,
                Utc::now(),
                None,
            ))
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
        let recovery = registration_token_hash.is_some()
            || proof
                .as_ref()
                .is_some_and(|p| p.purpose == Purpose::Recovery);
        let actor = match &sign_up {
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
            json!({
                "identityId": identity.id,
                "signUp": sign_up.is_some(),
                "recovery": recovery,
                "ipAddress": self.client.ip_address,
            }),
        )
        .await?;
        if recovery {
            let target = identity.id.to_string();
            audit::record(
                &tx,
                &actor,
                "identity.recover",
                Some(Target {
                    kind: "identity",
                    id: &target,
                }),
                json!({
                    "by": if proof.is_some() { "email_proof" } else { "registration_link" },
                    "signedOutEverywhere": sign_out_everywhere,
                    "ipAddress": self.client.ip_address,
                }),
            )
            .await?;
        }
        if sign_out_everywhere {
            revoke_all_in(&tx, identity.id, "recovered").await?;
        }
        if sign_up.is_some() {
            identities::publish(&tx, &actor, EventType::IdentityCreated, &identity, &[]).await?;
        }
        let signs_in = !matches!(*self.actor.principal(), Principal::Identity { .. });
        let tokens = if signs_in {
            identities::touch_sign_in(&tx, identity.id).await?;
            let tokens = sessions::start_session(
                &tx,
                &self.issuer,
                identity.id,
                crate::auth_method::PASSKEY,
                &self.client,
            )
            .await?;
            // Signing in (here through a recovery link) cancels a deletion the owner asked for.
            let signed_in = self.actor.as_identity(identity.id, tokens.session_id);
            identities::deletion::cancel_in(&tx, &signed_in, identity.id).await?;
            Some(tokens)
        } else {
            None
        };
        tx.commit().await?;
        let passkey: Passkey = row.into();
        if sign_up.is_none() {
            let notice = if recovery {
                Notice::Recovered {
                    signed_out_everywhere: sign_out_everywhere,
                }
            } else {
                Notice::PasskeyAdded {
                    name: &passkey.name,
                }
            };
            send_notice(&self.mail, &Recipient::identity(&identity), notice).await;
        }
        Ok(CeremonyOutcome {
            identity,
            passkey: Some(passkey),
            tokens,
        })
    }
}

/// A one-time link for an identity to register a passkey (a lost device, or a first passkey
/// for an imported account): the token (shown once) and when it expires. With `mail`, the link
/// is also emailed to the identity (`PASSKEY_ENROLLMENT`, in its language). Requires
/// `WriteIdentities`.
#[tracing::instrument(name = "core.create_registration_link", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_registration_link(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
    valid_for: Duration,
    mail: Option<&TenantMail<'_>>,
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
    let (token, expires_at) = insert_registration_link_in(&tx, identity_id, valid_for).await?;
    let target = identity_id.to_string();
    audit::record(
        &tx,
        actor,
        "identity.registration_link.create",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "expiresAt": expires_at, "emailed": mail.is_some() }),
    )
    .await?;
    if let Some(mail) = mail {
        let email = MailEmail::new(EmailTemplate::PasskeyEnrollment)
            .text("link", format!("{}?registration={token}", mail.page_url))
            .number("hours", valid_for.num_hours().max(1));
        // The administrator's browser is not the owner's: the owner's locale or the tenant's.
        mail.for_someone_else()
            .send_in(&tx, &Recipient::identity(&identity), &email)
            .await?;
    }
    tx.commit().await?;
    Ok((token, expires_at))
}

/// Stores a new registration link for `identity_id`, valid for `valid_for`, in the caller's
/// transaction; returns the token (shown once) and when it expires.
pub(crate) async fn insert_registration_link_in(
    tx: &TenantTx,
    identity_id: Uuid,
    valid_for: Duration,
) -> Result<(String, DateTime<Utc>)> {
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
    Ok((token, expires_at))
}

/// Removes every registration link of `identity_id` (its account is being erased).
pub(crate) async fn erase_registration_links_in(tx: &TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<link_row::Entity>()
        .filter(link_row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}
