//! Signing up and in with a password, and the second factor after it.

use super::hashing;
use super::policy::{self, PasswordContext};
use super::throttle::Throttle;
use super::totp::{self, SecondFactor};
use super::{SECOND_FACTOR_TOKEN_PREFIX, store_hash_in};
use crate::audit::{self, Target};
use crate::auth_method::{PASSWORD as PASSWORD_METHOD, PASSWORD_MFA as PASSWORD_MFA_METHOD};
use crate::email_proof::{self, Purpose};
use crate::ephemeral::StoreKey;
use crate::error::{Error, Result};
use crate::identities::{self, IdentityStatus, NewIdentity};
use crate::mail::Recipient;
use crate::notices::{Notice, send_notice};
use crate::outbox::EventType;
use crate::passkeys::{Ceremonies, CeremonyOutcome};
use crate::secrets;
use crate::settings::SignInMethod;
use crate::validate::{Email, Name};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

/// How long a second-factor token works.
pub const SECOND_FACTOR_TTL: Duration = Duration::from_secs(5 * 60);
/// Wrong codes after which a second-factor token stops working.
pub const SECOND_FACTOR_TRIES: u64 = 5;

/// What `signInWithPassword` answers.
pub enum PasswordSignIn {
    SignedIn(Box<CeremonyOutcome>),
    /// The password was right and the account has an authenticator app: finish with
    /// `completeSecondFactor` and this token.
    SecondFactorRequired {
        token: String,
    },
}

/// The state of a second-factor token, kept in the ephemeral store.
#[derive(Serialize, Deserialize)]
struct PendingSecondFactor {
    identity_id: Uuid,
}

fn wrong_password() -> Error {
    Error::Refused("the email address or password is not right".into())
}

fn second_factor_key(c: &Ceremonies<'_>, kind: &str, token: &str) -> StoreKey {
    StoreKey::tenant(c.scope, kind, &secrets::hash(token))
}

/// `signUpWithPassword`: a new account for the address of a `SIGN_UP` proof, with a password,
/// signed in. Anonymous; the tenant must allow `PASSWORD` and self sign-up.
#[tracing::instrument(name = "core.sign_up_with_password", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn sign_up_with_password(
    c: &Ceremonies<'_>,
    proof: &str,
    password: &str,
    display_name: Option<&str>,
) -> Result<CeremonyOutcome> {
    let settings = c.issuer.settings;
    settings.require_sign_in_method(SignInMethod::Password)?;
    let display_name = display_name
        .map(|name| Name::parse("displayName", name, 200))
        .transpose()?
        .map(Name::into_inner);
    let now = c.clock.now();
    let proven = {
        let tx = c.db.begin_tenant(c.scope).await?;
        let proven = email_proof::check_proof_in(&tx, now, proof, &[Purpose::SignUp]).await?;
        tx.commit().await?;
        proven
    };
    let normalized = policy::check_new_password(
        "password",
        password,
        &PasswordContext {
            email: &proven.email,
            display_name: display_name.as_deref(),
            tenant_name: c.mail.tenant_name,
            second_factor_required: settings.require_second_factor,
        },
    )?;
    c.admit_sign_up().await?;
    let hash = hashing::hash(normalized).await?;
    let tx = c.db.begin_tenant(c.scope).await?;
    if identities::find_by_email(&tx, &proven.email_normalized)
        .await?
        .is_some()
    {
        return Err(Error::validation(
            "emailProof",
            "an account with this address exists; sign in, or reset its password with a RECOVERY proof",
        ));
    }
    email_proof::spend_proof_in(&tx, now, &proven).await?;
    let identity = identities::insert_in(
        &tx,
        Uuid::now_v7(),
        NewIdentity {
            email: proven.email.clone(),
            email_verified: true,
            display_name,
            ..NewIdentity::default()
        },
    )
    .await?;
    store_hash_in(&tx, identity.id, hash, now).await?;
    let tokens = c
        .start_session_in(&tx, identity.id, PASSWORD_METHOD, json!({}))
        .await?;
    let actor = c.actor.as_identity(identity.id, tokens.session_id);
    identities::publish(&tx, &actor, EventType::IdentityCreated, &identity, &[]).await?;
    let target = identity.id.to_string();
    audit::record(
        &tx,
        &actor,
        "password.set",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "signUp": true }),
    )
    .await?;
    tx.commit().await?;
    Ok(CeremonyOutcome {
        identity,
        passkey: None,
        tokens: Some(tokens),
    })
}

/// `signInWithPassword`: anonymous. A wrong password and an unknown address get the same
/// answer after the same work; both count against the throttle.
#[tracing::instrument(name = "core.sign_in_with_password", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn sign_in_with_password(
    c: &Ceremonies<'_>,
    email: &str,
    password: &str,
) -> Result<PasswordSignIn> {
    let settings = c.issuer.settings;
    settings.require_sign_in_method(SignInMethod::Password)?;
    let ip = c.client.ip_address.as_deref();
    if let Some(ip) = ip {
        crate::ephemeral::rate_limit(
            c.store,
            c.scope,
            "sign-in-ip",
            ip,
            settings.rate_limits.sign_in_per_ip,
        )
        .await?;
    }
    let email = Email::parse("email", email)?;
    if password.chars().count() > policy::MAX_LENGTH {
        return Err(wrong_password());
    }
    let throttle = Throttle {
        store: c.store,
        scope: c.scope,
        limits: &settings.rate_limits,
        email_normalized: email.normalized(),
        client_ip: ip,
    };
    throttle.admit().await?;
    let tx = c.db.begin_tenant(c.scope).await?;
    let identity = identities::find_by_email(&tx, email.normalized())
        .await?
        .filter(|identity| identity.status == IdentityStatus::Active);
    let stored = match &identity {
        Some(identity) => super::stored_hash_in(&tx, identity.id).await?,
        None => None,
    };
    tx.commit().await?;
    let normalized = policy::normalize(password);
    let checked = hashing::verify(password.to_owned(), normalized.clone(), stored).await?;
    let known = identity.as_ref().map(|identity| identity.id);
    let Some(identity) = identity.filter(|_| checked.matches) else {
        throttle.failed().await?;
        c.audit_failure(
            "password.sign_in_rejected",
            "wrong address or password",
            known,
        )
        .await;
        return Err(wrong_password());
    };
    throttle.succeeded().await?;
    let rehashed = match checked.outdated {
        true => Some(hashing::hash(normalized).await?),
        false => None,
    };
    let tx = c.db.begin_tenant(c.scope).await?;
    if let Some(hash) = rehashed {
        store_hash_in(&tx, identity.id, hash, c.clock.now()).await?;
    }
    if totp::enrolled_in(&tx, identity.id).await? {
        tx.commit().await?;
        let token = secrets::generate(SECOND_FACTOR_TOKEN_PREFIX);
        let state = serde_json::to_vec(&PendingSecondFactor {
            identity_id: identity.id,
        })
        .map_err(Error::internal)?;
        c.store
            .set(
                &second_factor_key(c, "second-factor", &token),
                &state,
                SECOND_FACTOR_TTL,
            )
            .await?;
        return Ok(PasswordSignIn::SecondFactorRequired { token });
    }
    if settings.require_second_factor {
        tx.commit().await?;
        return Err(Error::Refused(
            "this tenant requires a second factor with passwords and this account has none: \
             sign in another way (a passkey or an emailed code), then add an authenticator app \
             on your account page"
                .into(),
        ));
    }
    let tokens = c
        .start_session_in(&tx, identity.id, PASSWORD_METHOD, json!({}))
        .await?;
    tx.commit().await?;
    Ok(PasswordSignIn::SignedIn(Box::new(CeremonyOutcome {
        identity,
        passkey: None,
        tokens: Some(tokens),
    })))
}

/// `completeSecondFactor`: the code of the account's authenticator app, or one of its recovery
/// codes, finishes a password sign-in. A token takes [`SECOND_FACTOR_TRIES`] wrong codes.
#[tracing::instrument(name = "core.complete_second_factor", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn complete_second_factor(
    c: &Ceremonies<'_>,
    token: &str,
    code: &str,
) -> Result<CeremonyOutcome> {
    let unknown = || {
        Error::validation(
            "secondFactorToken",
            "is unknown or expired; sign in with the password again",
        )
    };
    let state_key = second_factor_key(c, "second-factor", token);
    let pending: PendingSecondFactor = match c.store.get(&state_key).await? {
        Some(state) => serde_json::from_slice(&state).map_err(Error::internal)?,
        None => return Err(unknown()),
    };
    let tx = c.db.begin_tenant(c.scope).await?;
    let spent = totp::spend_second_factor_in(
        &tx,
        c.issuer.master_key,
        pending.identity_id,
        code,
        c.clock.now(),
    )
    .await?;
    let Some(factor) = spent else {
        drop(tx);
        let failures = c
            .store
            .increment(
                &second_factor_key(c, "second-factor-failures", token),
                SECOND_FACTOR_TTL,
            )
            .await?;
        let left = SECOND_FACTOR_TRIES.saturating_sub(failures);
        if left == 0 {
            c.store.delete(&state_key).await?;
            return Err(Error::validation(
                "code",
                "is wrong, and that was the last try: sign in with the password again",
            ));
        }
        return Err(Error::validation(
            "code",
            format!("is wrong; {left} tries left"),
        ));
    };
    // Single use: of two requests racing with right codes, one takes the token.
    if c.store.take(&state_key).await?.is_none() {
        return Err(unknown());
    }
    let identity = identities::find_in(&tx, pending.identity_id).await?;
    if identity.status != IdentityStatus::Active {
        return Err(Error::Refused("this account cannot sign in".into()));
    }
    let tokens = c
        .start_session_in(&tx, identity.id, PASSWORD_MFA_METHOD, json!({}))
        .await?;
    tx.commit().await?;
    if let SecondFactor::RecoveryCode { left } = factor {
        send_notice(
            &c.mail,
            &Recipient::identity(&identity),
            Notice::RecoveryCodeUsed { left },
        )
        .await;
    }
    Ok(CeremonyOutcome {
        identity,
        passkey: None,
        tokens: Some(tokens),
    })
}
