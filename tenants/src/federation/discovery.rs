//! What Latchkey knows of an OpenID Connect provider: its discovery document and its keys,
//! read on save (a provider that cannot be reached or whose document is wrong is refused),
//! kept for an hour, and read again when a token names a key Latchkey does not have (key
//! rollover).

use super::cache::ProviderCache;
use super::http::ProviderHttp;
use latchkey_core::federation::{IdentityProvider, Preset};
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use std::sync::Arc;

/// A provider's discovery document and keys.
pub struct Discovered {
    pub metadata: CoreProviderMetadata,
    pub jwks: CoreJsonWebKeySet,
}

/// The issuer a discovery document names, with Microsoft's `{tenantid}` placeholder as written
/// (a URL parser may have percent-encoded its braces).
pub fn named_issuer(metadata: &CoreProviderMetadata) -> String {
    metadata
        .issuer()
        .as_str()
        .trim_end_matches('/')
        .replace("%7Btenantid%7D", "{tenantid}")
}

/// Reads and checks the discovery document of `issuer` and the keys it points to. The error
/// says what is wrong, for an administrator.
pub async fn discover(
    http: &ProviderHttp,
    preset: Preset,
    issuer: &str,
) -> Result<Discovered, String> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let document = http.get_json(&url).await?;
    let metadata: CoreProviderMetadata = serde_json::from_value(document)
        .map_err(|error| format!("the discovery document at {url} is not valid OpenID Connect discovery metadata: {error}"))?;
    let named = named_issuer(&metadata);
    let expected = if preset.multi_tenant(issuer) {
        named.contains("{tenantid}")
    } else {
        named == issuer
    };
    if !expected {
        return Err(format!(
            "the discovery document at {url} names the issuer {named}, not {issuer}"
        ));
    }
    if metadata.token_endpoint().is_none() {
        return Err(format!(
            "the discovery document at {url} names no token_endpoint"
        ));
    }
    for endpoint in [
        metadata.authorization_endpoint().as_str(),
        metadata.jwks_uri().as_str(),
        metadata
            .token_endpoint()
            .map(|t| t.as_str())
            .unwrap_or_default(),
    ] {
        http.check_url(endpoint)
            .map_err(|why| format!("the discovery document at {url} points to {why}"))?;
    }
    let jwks = keys(http, &metadata).await?;
    Ok(Discovered { metadata, jwks })
}

/// Reads the provider's signing keys.
pub async fn keys(
    http: &ProviderHttp,
    metadata: &CoreProviderMetadata,
) -> Result<CoreJsonWebKeySet, String> {
    let url = metadata.jwks_uri().as_str();
    let document = http.get_json(url).await?;
    serde_json::from_value(document)
        .map_err(|error| format!("the keys at {url} are not a JSON Web Key Set: {error}"))
}

/// The discovered providers.
#[derive(Default)]
pub struct Directory {
    cache: ProviderCache<Discovered>,
}

impl Directory {
    /// The provider's document and keys, read if not kept.
    pub async fn get(
        &self,
        http: &ProviderHttp,
        provider: &IdentityProvider,
    ) -> Result<Arc<Discovered>, String> {
        if let Some(found) = self.cache.get(provider).await {
            return Ok(found);
        }
        let issuer = provider.issuer().ok_or("the provider has no issuer")?;
        let discovered = discover(http, provider.preset, issuer).await?;
        Ok(self.cache.keep(provider, discovered).await)
    }

    /// Reads the provider's keys again (a token named a key that was not in them).
    pub async fn refresh_keys(
        &self,
        http: &ProviderHttp,
        provider: &IdentityProvider,
        current: &Discovered,
    ) -> Result<Arc<Discovered>, String> {
        let jwks = keys(http, &current.metadata).await?;
        let refreshed = Discovered {
            metadata: current.metadata.clone(),
            jwks,
        };
        Ok(self.cache.keep(provider, refreshed).await)
    }
}
