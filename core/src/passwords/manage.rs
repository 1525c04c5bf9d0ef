//! Changing a password (the signed-in owner, who proves the current one) and resetting it with
//! a `RECOVERY` email proof. Neither signs anyone in; both send a notice.

use super::hashing;
use super::policy::{self, PasswordContext};
use super::throttle::Throttle;
use super::{store_hash_in, stored_hash_in};
use crate::audit::{self, Target};
use crate::email_proof::{self, Purpose};
use crate::error::{Error, Result};
use crate::identities::{self, Identity, IdentityStatus};
use crate::mail::Recipient;
use crate::notices::{Notice, send_notice};
use crate::passkeys::Ceremonies;
use crate::session_store::revoke_all_but_in;
use crate::settings::SignInMethod;
use serde_json::json;

fn context<'a>(c: &'a Ceremonies<'_>, identity: &'a Identity) -> PasswordContext<'a> {
    PasswordContext {
        email: &identity.email,
        display_name: identity.display_name.as_deref(),
        tenant_name: c.mail.tenant_name,
        second_factor_required: c.issuer.settings.require_second_factor,
    }
}

/// `changePassword`: the signed-in caller sets a new password, proving the current one if the
/// account has one (wrong ones count against the sign-in throttle); without one this sets the
/// first. `sign_out_others` ends every other session.
#[tracing::instrument(name = "core.change_password", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn change_password(
    c: &Ceremonies<'_>,
    current: Option<&str>,
    new_password: &str,
    sign_out_others: bool,
) -> Result<Identity> {
    let (identity_id, session_id) = c.actor.signed_in()?;
    c.issuer
        .settings
        .require_sign_in_method(SignInMethod::Password)?;
    let tx = c.db.begin_tenant(c.scope).await?;
    let identity = identities::find_in(&tx, identity_id).await?;
    let stored = stored_hash_in(&tx, identity_id).await?;
    tx.commit().await?;
    let normalized =
        policy::check_new_password("newPassword", new_password, &context(c, &identity))?;
    let had_password = stored.is_some();
    if had_password {
        let Some(current) = current else {
            return Err(Error::validation(
                "currentPassword",
                "is required to change a password",
            ));
        };
        let throttle = Throttle {
            store: c.store,
            scope: c.scope,
            limits: &c.issuer.settings.rate_limits,
            email_normalized: &identity.email_normalized,
            client_ip: c.client.ip_address.as_deref(),
        };
        throttle.admit().await?;
        if !hashing::verify(current.to_owned(), policy::normalize(current), stored)
            .await?
            .matches
        {
            throttle.failed().await?;
            return Err(Error::validation("currentPassword", "is not right"));
        }
        throttle.succeeded().await?;
    }
    let hash = hashing::hash(normalized).await?;
    let tx = c.db.begin_tenant(c.scope).await?;
    store_hash_in(&tx, identity_id, hash, c.clock.now()).await?;
    if sign_out_others {
        revoke_all_but_in(&tx, identity_id, Some(session_id), "password_changed").await?;
    }
    let target = identity_id.to_string();
    audit::record(
        &tx,
        c.actor,
        if had_password {
            "password.change"
        } else {
            "password.set"
        },
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "signedOutOthers": sign_out_others, "ipAddress": c.client.ip_address }),
    )
    .await?;
    tx.commit().await?;
    let notice = if had_password {
        Notice::PasswordChanged {
            signed_out_others: sign_out_others,
        }
    } else {
        Notice::PasswordSet
    };
    send_notice(&c.mail, &Recipient::identity(&identity), notice).await;
    Ok(identity)
}

/// `resetPassword`: a `RECOVERY` proof of the account's address sets a new password (the
/// account need not have had one). Anonymous; signs nobody in. Where recoveries need an
/// administrator's approval, a proof alone is not enough.
#[tracing::instrument(name = "core.reset_password", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn reset_password(
    c: &Ceremonies<'_>,
    proof: &str,
    new_password: &str,
    sign_out_everywhere: bool,
) -> Result<Identity> {
    let settings = c.issuer.settings;
    settings.require_sign_in_method(SignInMethod::Password)?;
    if settings.recovery_requires_approval {
        return Err(Error::Refused(
            "account recovery in this tenant needs an administrator's approval: call \
             requestAccountRecovery with this emailProof"
                .into(),
        ));
    }
    let now = c.clock.now();
    let tx = c.db.begin_tenant(c.scope).await?;
    let proven = email_proof::check_proof_in(&tx, now, proof, &[Purpose::Recovery]).await?;
    let identity = identities::find_by_email(&tx, &proven.email_normalized)
        .await?
        .filter(|identity| identity.status == IdentityStatus::Active)
        .ok_or_else(|| Error::Refused("no active account has this address".into()))?;
    tx.commit().await?;
    let normalized =
        policy::check_new_password("newPassword", new_password, &context(c, &identity))?;
    let hash = hashing::hash(normalized).await?;
    let tx = c.db.begin_tenant(c.scope).await?;
    email_proof::spend_proof_in(&tx, now, &proven).await?;
    store_hash_in(&tx, identity.id, hash, now).await?;
    if sign_out_everywhere {
        revoke_all_but_in(&tx, identity.id, None, "password_reset").await?;
    }
    let target = identity.id.to_string();
    audit::record(
        &tx,
        c.actor,
        "password.reset",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "signedOutEverywhere": sign_out_everywhere, "ipAddress": c.client.ip_address }),
    )
    .await?;
    tx.commit().await?;
    send_notice(
        &c.mail,
        &Recipient::identity(&identity),
        Notice::PasswordReset {
            signed_out_everywhere: sign_out_everywhere,
        },
    )
    .await;
    Ok(identity)
}
