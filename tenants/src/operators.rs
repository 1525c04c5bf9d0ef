//! Platform credentials: the bearer tokens of the operators who create and suspend tenants,
//! stored as SHA-256 hashes only. The core checks them ([`catalogue::authenticate_operator`]);
//! here they are made at first start, from configuration, or on request.

use latchkey_core::catalogue::credential_row;
use latchkey_core::error::is_unique_violation;
use latchkey_core::{Database, Result, secrets};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use uuid::Uuid;

pub use latchkey_core::catalogue::{authenticate_operator as authenticate, local_operator};

/// Every generated platform token starts with this.
pub const PLATFORM_TOKEN_PREFIX: &str = "lkp_";
/// The name of the credential set from configuration (`LATCHKEY_PLATFORM_TOKEN`).
const CONFIGURED: &str = "configured";

/// Whether any platform credential exists (false only before the first start).
pub async fn has_credentials(db: &Database) -> Result<bool> {
    let tx = db.begin_platform(&local_operator(db)).await?;
    let count = tx.find::<credential_row::Entity>().count().await?;
    tx.commit().await?;
    Ok(count > 0)
}

/// Generates a platform token, stores its hash and returns it (to be shown once).
pub async fn generate_token(db: &Database, name: &str) -> Result<String> {
    let token = secrets::generate(PLATFORM_TOKEN_PREFIX);
    let tx = db.begin_platform(&local_operator(db)).await?;
    tx.insert(credential_row::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        token_hash: Set(secrets::hash(&token)),
        created_at: Set(chrono::Utc::now()),
        revoked_at: Set(None),
    })
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Makes `token` (from configuration) a valid platform credential, replacing the one
/// configured before, so rotating the setting rotates the credential. Replicas starting at the
/// same time with the same token all succeed.
pub async fn ensure_configured_token(db: &Database, token: &str) -> Result<()> {
    let hash = secrets::hash(token);
    let tx = db.begin_platform(&local_operator(db)).await?;
    let configured = tx
        .find::<credential_row::Entity>()
        .filter(credential_row::Column::Name.eq(CONFIGURED))
        .filter(credential_row::Column::RevokedAt.is_null())
        .all()
        .await?;
    if configured.iter().any(|row| row.token_hash == hash) {
        return tx.commit().await;
    }
    for old in configured {
        let mut active: credential_row::ActiveModel = old.into();
        active.revoked_at = Set(Some(chrono::Utc::now()));
        tx.update(active).await?;
    }
    let same = tx
        .find::<credential_row::Entity>()
        .filter(credential_row::Column::TokenHash.eq(hash.as_str()))
        .one()
        .await?;
    let written = match same {
        Some(row) => {
            let mut active: credential_row::ActiveModel = row.into();
            active.name = Set(CONFIGURED.to_owned());
            active.revoked_at = Set(None);
            tx.update(active).await.map(|_| ())
        }
        None => tx
            .insert(credential_row::ActiveModel {
                id: Set(Uuid::now_v7()),
                name: Set(CONFIGURED.to_owned()),
                token_hash: Set(hash),
                created_at: Set(chrono::Utc::now()),
                revoked_at: Set(None),
            })
            .await
            .map(|_| ()),
    };
    match written {
        Ok(()) => tx.commit().await,
        // Another replica stored the same token a moment ago.
        Err(error) if is_unique_violation(&error) => Ok(()),
        Err(error) => Err(error.into()),
    }
}
