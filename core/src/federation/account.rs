//! An identity's linked providers, as its owner and administrators see them, and unlinking
//! one from the account page while another way in remains.

use super::links::{self, FederatedLink};
use crate::actor::{Actor, Permission, Principal};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::identities;
use crate::passwords;
use crate::scope::TenantScope;
use crate::settings::{SignInMethod, TenantSettings};
use serde_json::json;
use uuid::Uuid;

/// The providers `identity_id` is linked to: its own, or anyone's for admins
/// (`ReadIdentities`).
pub async fn federated_links(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
) -> Result<Vec<FederatedLink>> {
    authorize(
        actor,
        Permission::ReadIdentities,
        Resource::OwnedBy(identity_id),
    )?;
    let tx = db.begin_tenant(scope).await?;
    links::of_identity_in(&tx, identity_id).await
}

/// `unlinkIdentityProvider`: the signed-in user removes their link to `provider_id`, if another
/// way in remains (a passkey, a password, another linked provider, or email codes to a
/// verified address where the tenant offers them). `Refused` otherwise.
pub async fn unlink_provider(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    settings: &TenantSettings,
    provider_id: Uuid,
) -> Result<()> {
    let Principal::Identity {
        id: identity_id, ..
    } = *actor.principal()
    else {
        return Err(Error::PermissionDenied);
    };
    let tx = db.begin_tenant(scope).await?;
    let identity = identities::find_in(&tx, identity_id).await?;
    let others = links::of_identity_in(&tx, identity_id)
        .await?
        .into_iter()
        .filter(|link| link.provider_id != provider_id)
        .count();
    let passkey = crate::passkeys::has_passkey_in(&tx, identity_id).await?;
    let password = settings.allows(SignInMethod::Password)
        && passwords::has_password_in(&tx, identity_id).await?;
    let email_codes = settings.allows(SignInMethod::EmailCode) && identity.email_verified;
    if others == 0 && !passkey && !password && !email_codes {
        return Err(Error::Refused(
            "this is your only way to sign in; add a passkey before you unlink it".into(),
        ));
    }
    links::delete_in(&tx, identity_id, provider_id).await?;
    let target = identity_id.to_string();
    audit::record(
        &tx,
        actor,
        "federation.unlink",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "providerId": provider_id }),
    )
    .await?;
    tx.commit().await
}
