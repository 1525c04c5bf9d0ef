//! What Latchkey read from a provider (discovery documents and keys, SAML metadata), kept per
//! provider and version (a changed provider is read again) for an hour.

use chrono::{DateTime, Utc};
use latchkey_core::federation::IdentityProvider;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long what was read is kept before it is read again (at its next use).
const REFRESH: Duration = Duration::from_secs(3600);

pub struct ProviderCache<T> {
    cache: moka::future::Cache<(Uuid, DateTime<Utc>), Arc<T>>,
}

impl<T: Send + Sync + 'static> Default for ProviderCache<T> {
    fn default() -> Self {
        Self {
            cache: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(REFRESH)
                .build(),
        }
    }
}

impl<T: Send + Sync + 'static> ProviderCache<T> {
    /// What is kept for the provider's current version.
    pub async fn get(&self, provider: &IdentityProvider) -> Option<Arc<T>> {
        self.cache.get(&(provider.id, provider.updated_at)).await
    }

    /// Keeps `value` for the provider's current version.
    pub async fn keep(&self, provider: &IdentityProvider, value: T) -> Arc<T> {
        let value = Arc::new(value);
        self.cache
            .insert((provider.id, provider.updated_at), value.clone())
            .await;
        value
    }
}
