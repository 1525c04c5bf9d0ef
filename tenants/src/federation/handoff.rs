//! Handing a federated sign-in's tokens to the hosted page: the callback keeps them for two
//! minutes under a code it puts in the URL; the page collects them once, from the browser
//! holding the session's cookie.

use latchkey_core::TenantScope;
use latchkey_core::ephemeral::{EphemeralStore, StoreKey};
use latchkey_core::error::{Error, Result};
use latchkey_core::secrets;
use latchkey_core::sessions::IssuedTokens;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use uuid::Uuid;

/// How long the hosted page has to collect a finished sign-in's tokens.
const HANDOFF_TTL: Duration = Duration::from_secs(120);

/// A finished sign-in's tokens, kept for the hosted page to collect once (`handoff`): the
/// browser comes back with a code in the URL, and only the browser holding the session's
/// cookie may trade it.
#[derive(Serialize, Deserialize)]
pub struct HandedOff {
    pub session_id: Uuid,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u32,
}

fn handoff_key(scope: &TenantScope, code: &str) -> StoreKey {
    StoreKey::tenant(scope, "federation-handoff", &secrets::hash(code))
}

/// Keeps `tokens` for the hosted page; answers the code it collects them with.
pub async fn hand_off(
    store: &dyn EphemeralStore,
    scope: &TenantScope,
    tokens: &IssuedTokens,
) -> Result<String> {
    let code = secrets::generate("");
    let handed = HandedOff {
        session_id: tokens.session_id,
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        expires_in: tokens.expires_in,
    };
    store
        .set(
            &handoff_key(scope, &code),
            &serde_json::to_vec(&handed).map_err(Error::internal)?,
            HANDOFF_TTL,
        )
        .await?;
    Ok(code)
}

/// The tokens kept under `code`, once, for the browser whose session cookie names their
/// session (`browser_session`); `Refused` otherwise.
pub async fn collect(
    store: &dyn EphemeralStore,
    scope: &TenantScope,
    code: &str,
    browser_session: Option<Uuid>,
) -> Result<HandedOff> {
    let refused = || {
        Error::Refused("this sign-in link has expired or was already used; sign in again".into())
    };
    if code.len() > 100 {
        return Err(refused());
    }
    let key = handoff_key(scope, code);
    let kept = store.get(&key).await?.ok_or_else(refused)?;
    let handed: HandedOff = serde_json::from_slice(&kept).map_err(Error::internal)?;
    // Another browser's attempt leaves the code to its owner; the owner takes it once.
    if browser_session != Some(handed.session_id) || store.take(&key).await?.is_none() {
        return Err(refused());
    }
    Ok(handed)
}
