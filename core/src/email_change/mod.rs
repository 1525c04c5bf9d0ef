//! Changing the signed-in user's address (`changeViewerEmail`): an `EMAIL_CHANGE` proof of the
//! new address moves the account there (verified) and publishes the change, so linked CRM
//! records get the new address. The old address gets a notice with a link that moves the
//! account back within [`UNDO_TTL`] (`undoEmailChange`): the owner whose account was taken
//! over gets it back, and every session ends.

mod rows;

crate::tenant_owned!(rows);

use crate::audit::{self, Target};
use crate::email_proof::{self, Purpose};
use crate::error::{Error, Result};
use crate::identities::{self, Identity, IdentityChanges, IdentityStatus};
use crate::mail::Recipient;
use crate::notices::{Notice, send_notice};
use crate::passkeys::Ceremonies;
use crate::secrets;
use crate::session_store::revoke_all_in;
use crate::validate::Email;
use chrono::Duration;
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use serde_json::json;
use uuid::Uuid;

/// How long the old address can undo a change.
pub const UNDO_TTL: Duration = Duration::days(7);
/// Every undo token starts with this.
pub const UNDO_TOKEN_PREFIX: &str = "lkundo_";

fn audit_target(id: &str) -> Target<'_> {
    Target {
        kind: "identity",
        id,
    }
}

/// `changeViewerEmail`: moves the signed-in user's account to the address of an
/// `EMAIL_CHANGE` proof.
#[tracing::instrument(name = "core.change_viewer_email", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn change_viewer_email(c: &Ceremonies<'_>, proof: &str) -> Result<Identity> {
    let (identity_id, _) = c.actor.signed_in()?;
    let now = c.clock.now();
    let tx = c.db.begin_tenant(c.scope).await?;
    let proven = email_proof::check_proof_in(&tx, now, proof, &[Purpose::EmailChange]).await?;
    let current = identities::find_in(&tx, identity_id).await?;
    if proven.email_normalized == current.email_normalized {
        return Err(Error::validation(
            "emailProof",
            "is for the address the account already has",
        ));
    }
    if identities::find_by_email(&tx, &proven.email_normalized)
        .await?
        .is_some()
    {
        return Err(Error::validation(
            "emailProof",
            "another account has this address",
        ));
    }
    email_proof::spend_proof_in(&tx, now, &proven).await?;
    let identity = identities::update_in(
        &tx,
        c.actor,
        identity_id,
        IdentityChanges {
            email: Some(proven.email.clone()),
            email_verified: Some(true),
            ..IdentityChanges::default()
        },
    )
    .await?;
    let token = secrets::generate(UNDO_TOKEN_PREFIX);
    tx.insert(rows::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        id: Set(Uuid::now_v7()),
        identity_id: Set(identity_id),
        old_email: Set(current.email.clone()),
        new_email: Set(identity.email.clone()),
        token_hash: Set(secrets::hash(&token)),
        created_at: Set(now),
        expires_at: Set(now + UNDO_TTL),
        used_at: Set(None),
    })
    .await?;
    let target = identity_id.to_string();
    audit::record(
        &tx,
        c.actor,
        "identity.email_change",
        Some(audit_target(&target)),
        json!({ "from": current.email, "to": identity.email, "ipAddress": c.client.ip_address }),
    )
    .await?;
    tx.commit().await?;
    let mut undo_url = url::Url::parse(c.mail.page_url).map_err(Error::internal)?;
    undo_url
        .query_pairs_mut()
        .append_pair("undo_email_change", &token);
    send_notice(
        &c.mail,
        &Recipient::identity(&current),
        Notice::EmailChanged {
            new_email: &identity.email,
            undo_url: undo_url.as_str(),
            days: UNDO_TTL.num_days(),
        },
    )
    .await;
    Ok(identity)
}

/// `undoEmailChange`: the link from the notice moves the account back to its old address
/// (verified) and ends every session. Anonymous; works once, within [`UNDO_TTL`].
#[tracing::instrument(name = "core.undo_email_change", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn undo_email_change(c: &Ceremonies<'_>, token: &str) -> Result<Identity> {
    let unknown = || {
        Error::validation(
            "token",
            "is unknown, expired or already used; if someone else controls your account, recover it with a code sent to your address",
        )
    };
    let now = c.clock.now();
    let tx = c.db.begin_tenant(c.scope).await?;
    let undo = tx
        .find::<rows::Entity>()
        .filter(rows::Column::TokenHash.eq(secrets::hash(token)))
        .one()
        .await?
        .filter(|undo| undo.used_at.is_none() && undo.expires_at > now)
        .ok_or_else(unknown)?;
    let old = Email::parse("email", &undo.old_email)?;
    if identities::find_by_email(&tx, old.normalized())
        .await?
        .is_some_and(|other| other.id != undo.identity_id)
    {
        return Err(Error::Conflict(
            "another account uses the old address now; ask the tenant's support".into(),
        ));
    }
    let current = identities::find_in(&tx, undo.identity_id).await?;
    if current.status == IdentityStatus::Deleted {
        return Err(unknown());
    }
    let spent = tx
        .update_many::<rows::Entity>()
        .col_expr(rows::Column::UsedAt, Expr::value(now))
        .filter(rows::Column::Id.eq(undo.id))
        .filter(rows::Column::UsedAt.is_null())
        .exec()
        .await?
        .rows_affected;
    if spent != 1 {
        return Err(unknown());
    }
    let identity = identities::update_in(
        &tx,
        c.actor,
        undo.identity_id,
        IdentityChanges {
            email: Some(undo.old_email.clone()),
            email_verified: Some(true),
            ..IdentityChanges::default()
        },
    )
    .await?;
    revoke_all_in(&tx, identity.id, "email_change_undone").await?;
    let target = identity.id.to_string();
    audit::record(
        &tx,
        c.actor,
        "identity.email_change_undo",
        Some(audit_target(&target)),
        json!({ "from": undo.new_email, "to": undo.old_email, "ipAddress": c.client.ip_address }),
    )
    .await?;
    tx.commit().await?;
    send_notice(
        &c.mail,
        &Recipient::identity(&identity),
        Notice::EmailChangeUndone,
    )
    .await;
    Ok(identity)
}

/// The address changes of `identity_id` that can still be or were undone, for its owner's
/// data export (never the undo link).
pub(crate) async fn changes_data_in(
    tx: &crate::db::TenantTx,
    identity_id: Uuid,
) -> Result<Vec<serde_json::Value>> {
    Ok(tx
        .find::<rows::Entity>()
        .filter(rows::Column::IdentityId.eq(identity_id))
        .all()
        .await?
        .into_iter()
        .map(|row| {
            json!({
                "from": row.old_email,
                "to": row.new_email,
                "changedAt": row.created_at,
                "undoneAt": row.used_at,
            })
        })
        .collect())
}

/// Removes the address changes of `identity_id` (its account is being erased).
pub(crate) async fn erase_changes_in(tx: &crate::db::TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<rows::Entity>()
        .filter(rows::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}
