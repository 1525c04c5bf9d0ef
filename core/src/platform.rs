//! Platform credentials: the bearer tokens of the operators who create and suspend tenants.
//! Stored as SHA-256 hashes only.

use crate::db::Database;
use crate::error::{Error, Result, is_unique_violation};
use crate::scope::PlatformScope;
use crate::secrets;
use chrono::Utc;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use uuid::Uuid;

/// Every generated platform token starts with this.
pub const PLATFORM_TOKEN_PREFIX: &str = "lkp_";
/// The name of the credential set from configuration (`LATCHKEY_PLATFORM_TOKEN`).
const CONFIGURED: &str = "configured";

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "platform_credentials")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub token_hash: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
impl crate::db::PlatformTable for row::Entity {}

/// Turns a bearer token into a platform scope, or `Unauthenticated`.
pub async fn authenticate(db: &Database, token: &str) -> Result<PlatformScope> {
    let tx = db.begin_resolution().await?;
    let row = tx
        .find::<row::Entity>()
        .filter(row::Column::TokenHash.eq(secrets::hash(token)))
        .filter(row::Column::RevokedAt.is_null())
        .one()
        .await?;
    tx.commit().await?;
    let row = row.ok_or(Error::Unauthenticated)?;
    Ok(PlatformScope::new(format!("platform:{}", row.name)))
}

/// The operator at the console of this deployment (CLI, first-start bootstrap): holding a
/// connection to the database is its credential, since whoever has one can reach every row.
pub fn local_operator(_db: &Database) -> PlatformScope {
    PlatformScope::new("local-operator".to_owned())
}

/// Whether any platform credential exists (false only before the first start).
pub async fn has_credentials(db: &Database) -> Result<bool> {
    let tx = db.begin_resolution().await?;
    let count = tx.find::<row::Entity>().count().await?;
    tx.commit().await?;
    Ok(count > 0)
}

/// Generates a platform token, stores its hash and returns it (to be shown once).
pub async fn generate_token(db: &Database, name: &str) -> Result<String> {
    let token = secrets::generate(PLATFORM_TOKEN_PREFIX);
    let tx = db.begin_resolution().await?;
    tx.insert(row::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        token_hash: Set(secrets::hash(&token)),
        created_at: Set(Utc::now()),
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
    let tx = db.begin_resolution().await?;
    let configured = tx
        .find::<row::Entity>()
        .filter(row::Column::Name.eq(CONFIGURED))
        .filter(row::Column::RevokedAt.is_null())
        .all()
        .await?;
    if configured.iter().any(|row| row.token_hash == hash) {
        return tx.commit().await;
    }
    for old in configured {
        let mut active: row::ActiveModel = old.into();
        active.revoked_at = Set(Some(Utc::now()));
        tx.update(active).await?;
    }
    let same = tx
        .find::<row::Entity>()
        .filter(row::Column::TokenHash.eq(hash.as_str()))
        .one()
        .await?;
    let written = match same {
        Some(row) => {
            let mut active: row::ActiveModel = row.into();
            active.name = Set(CONFIGURED.to_owned());
            active.revoked_at = Set(None);
            tx.update(active).await.map(|_| ())
        }
        None => tx
            .insert(row::ActiveModel {
                id: Set(Uuid::now_v7()),
                name: Set(CONFIGURED.to_owned()),
                token_hash: Set(hash),
                created_at: Set(Utc::now()),
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
