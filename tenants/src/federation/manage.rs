//! The identity-provider services the API calls: create and update (checked by field, then
//! the provider's discovery document and keys, or its SAML metadata, read before anything is
//! saved), and test.

use super::discovery::discover;
use super::flows::Federation;
use super::saml;
use latchkey_core::crypto::MasterKey;
use latchkey_core::error::{Error, Result};
use latchkey_core::federation::{
    self, CheckedSettings, IdentityProvider, NewProvider, Preset, Protocol, ProviderChanges,
};
use latchkey_core::{Actor, Database, TenantScope};
use uuid::Uuid;

/// Reads the discovery document and keys (SAML: the metadata); what is wrong is
/// `BAD_USER_INPUT` on `settings.issuer` (SAML: the metadata setting).
async fn check_reachable(
    federation: &Federation,
    protocol: Protocol,
    preset: Preset,
    checked: &CheckedSettings,
) -> Result<()> {
    if protocol == Protocol::Saml {
        saml::read_metadata(&federation.http, &checked.value)
            .await
            .map_err(|(field, why)| Error::validation(field, why))?;
        return Ok(());
    }
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
    check_reachable(federation, input.protocol, input.preset, &checked).await?;
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
    check_reachable(federation, provider.protocol, provider.preset, &checked).await?;
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

/// `testIdentityProvider`: reads the provider's discovery document and keys (SAML: its
/// metadata) now and says what it found, or what is wrong. Requires `ManageTenant`.
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
    if provider.protocol == Protocol::Saml {
        return Ok(
            match saml::read_metadata(&federation.http, &checked.value).await {
                Ok(metadata) => Ok(format!(
                    "the metadata of {} was read; it lists {} signing certificates",
                    metadata.entity_id,
                    metadata.certificates.len()
                )),
                Err((_, why)) => Err(why),
            },
        );
    }
    let Some(issuer) = &checked.issuer else {
        return Ok(match check_reachable(federation, provider.protocol, provider.preset, &checked).await {
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

/// Latchkey's service-provider metadata for SAML provider `id` of the tenant (`NotFound` for
/// another tenant's, or a provider that is not SAML). Anyone may read it: it is what the IdP's
/// administrator imports.
pub async fn service_provider_metadata(
    db: &Database,
    scope: &TenantScope,
    master_key: &MasterKey,
    sp: &saml::ServiceProvider,
    id: Uuid,
) -> Result<String> {
    let (provider, _) = federation::provider_for_flow(db, scope, master_key, id).await?;
    if provider.protocol != Protocol::Saml {
        return Err(Error::NotFound);
    }
    Ok(sp.metadata())
}
