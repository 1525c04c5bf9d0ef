//! The identity-provider services the API calls: create and update (checked by field, then
//! the provider's discovery document and keys read before anything is saved), and test.

use super::discovery::discover;
use super::flows::Federation;
use latchkey_core::crypto::MasterKey;
use latchkey_core::error::{Error, Result};
use latchkey_core::federation::{
    self, CheckedSettings, IdentityProvider, NewProvider, Preset, ProviderChanges,
};
use latchkey_core::{Actor, Database, TenantScope};
use uuid::Uuid;

/// Reads the discovery document and keys; what is wrong is `BAD_USER_INPUT` on
/// `settings.issuer`.
async fn check_reachable(
    federation: &Federation,
    preset: Preset,
    checked: &CheckedSettings,
) -> Result<()> {
    match &checked.issuer {
        Some(issuer) => {
            discover(&federation.http, preset, issuer)
                .await
                .map_err(|why| Error::validation("settings.issuer", why))?;
        }
        // GitHub publishes no discovery document: its endpoints are checked as URLs Latchkey
        // may call.
        None => {
            for (name, url) in checked.value.as_object().into_iter().flatten() {
                if let Some(url) = url.as_str().filter(|_| name != "scopes") {
                    federation
                        .http
                        .check_url(url)
                        .map_err(|why| Error::validation(&format!("settings.{name}"), why))?;
                }
            }
        }
    }
    Ok(())
}

/// `createIdentityProvider`: checked, discovered, then saved. Requires `ManageTenant`.
pub async fn create_identity_provider(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    master_key: &MasterKey,
    federation: &Federation,
    input: NewProvider,
) -> Result<IdentityProvider> {
    let (checked, credentials) = federation::check_new(db, scope, actor, &input).await?;
    check_reachable(federation, input.preset, &checked).await?;
    federation::create_provider(db, scope, actor, master_key, input, &checked, &credentials).await
}

/// `updateIdentityProvider`: the changed provider checked and discovered, then saved.
pub async fn update_identity_provider(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    master_key: &MasterKey,
    federation: &Federation,
    id: Uuid,
    changes: ProviderChanges,
) -> Result<IdentityProvider> {
    let (provider, checked, credentials) =
        federation::check_changes(db, scope, actor, master_key, id, &changes).await?;
    check_reachable(federation, provider.preset, &checked).await?;
    federation::update_provider(
        db,
        scope,
        actor,
        master_key,
        id,
        changes,
        &checked,
        &credentials,
    )
    .await
}

/// `testIdentityProvider`: reads the provider's discovery document and keys now and says what
/// it found, or what is wrong. Requires `ManageTenant`.
pub async fn test_identity_provider(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    master_key: &MasterKey,
    federation: &Federation,
    id: Uuid,
) -> Result<std::result::Result<String, String>> {
    let (provider, checked, _) = federation::check_changes(
        db,
        scope,
        actor,
        master_key,
        id,
        &ProviderChanges::default(),
    )
    .await?;
    let Some(issuer) = &checked.issuer else {
        return Ok(match check_reachable(federation, provider.preset, &checked).await {
            Ok(()) => Ok("GitHub publishes no discovery document; its endpoints are URLs Latchkey may call".into()),
            Err(error) => Err(error.to_string()),
        });
    };
    Ok(
        match discover(&federation.http, provider.preset, issuer).await {
            Ok(discovered) => Ok(format!(
                "the discovery document of {issuer} was read; it has {} signing keys",
                discovered.jwks.keys().len()
            )),
            Err(why) => Err(why),
        },
    )
}
