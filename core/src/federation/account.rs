//! An identity's linked providers, as its owner and administrators see them, and unlinking
//! one from the account page while another way in remains.

use super::links::{self, FederatedLink};
use super::providers;
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

/// A link with the name of its provider, as the account page and administrators show it.
#[derive(Clone, Debug)]
pub struct LinkedProvider {
    pub link: FederatedLink,
    pub provider_name: String,
}

/// The providers `identity_id` is linked to: its own, or anyone's for admins
/// (`ReadIdentities`).
pub async fn federated_links(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
) -> Result<Vec<LinkedProvider>> {
    authorize(
        actor,
        Permission::ReadIdentities,
        Resource::OwnedBy(identity_id),
    )?;
    let tx = db.begin_tenant(scope).await?;
    let links = links::of_identity_in(&tx, identity_id).await?;
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let providers = providers::all_in(&tx).await?;
    Ok(links
        .into_iter()
        .map(|link| LinkedProvider {
            provider_name: providers
                .iter()
                .find(|p| p.id == link.provider_id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            link,
        })
        .collect())
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
