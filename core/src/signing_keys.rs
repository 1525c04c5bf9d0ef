//! Per-tenant token signing keys. Each tenant has one `current` key (signs), one `next` key
//! (published ahead, so caches know it before it signs) and `retired` keys that stay published
//! while tokens they signed may still be live. Private keys are sealed under the master key.

use crate::actor::{Actor, Permission};
use crate::audit::{self, Target};
use crate::authz::{Grant, Resource, authorize};
use crate::crypto::MasterKey;
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::settings::SigningAlgorithm;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// How long a retired key stays published: longer than any access token lives.
pub const RETIRED_KEY_PUBLISHED_FOR: Duration = Duration::days(2);

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub algorithm: String,
        pub status: String,
        pub public_jwk: Json,
        pub private_key_sealed: String,
        pub created_at: DateTimeUtc,
        pub activated_at: Option<DateTimeUtc>,
        pub retired_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row);

const NEXT: &str = "next";
const CURRENT: &str = "current";
const RETIRED: &str = "retired";

/// A signing key as admins see it (the public part only).
#[derive(Clone, Debug)]
pub struct SigningKey {
    pub id: Uuid,
    pub algorithm: SigningAlgorithm,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

fn algorithm_name(algorithm: SigningAlgorithm) -> &'static str {
    match algorithm {
        SigningAlgorithm::ES256 => "ES256",
        SigningAlgorithm::EdDSA => "EdDSA",
    }
}

fn parse_algorithm(value: &str) -> Result<SigningAlgorithm> {
    match value {
        "ES256" => Ok(SigningAlgorithm::ES256),
        "EdDSA" => Ok(SigningAlgorithm::EdDSA),
        other => Err(Error::internal(format!("unknown key algorithm {other:?}"))),
    }
}

fn jwt_algorithm(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::ES256 => Algorithm::ES256,
        SigningAlgorithm::EdDSA => Algorithm::EdDSA,
    }
}

impl TryFrom<row::Model> for SigningKey {
    type Error = Error;

    fn try_from(row: row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            algorithm: parse_algorithm(&row.algorithm)?,
            status: row.status,
            created_at: row.created_at,
            activated_at: row.activated_at,
            retired_at: row.retired_at,
        })
    }
}

fn seal_context(tenant_id: Uuid, key_id: Uuid) -> Vec<u8> {
    format!("signing-key:{tenant_id}:{key_id}").into_bytes()
}

fn encoding_key(algorithm: SigningAlgorithm, pkcs8: &[u8]) -> EncodingKey {
    match algorithm {
        SigningAlgorithm::ES256 => EncodingKey::from_ec_der(pkcs8),
        SigningAlgorithm::EdDSA => EncodingKey::from_ed_der(pkcs8),
    }
}

/// Generates a key pair and stores it with `status`.
async fn generate(
    tx: &TenantTx,
    master_key: &MasterKey,
    algorithm: SigningAlgorithm,
    status: &str,
) -> Result<row::Model> {
    let rng = SystemRandom::new();
    let pkcs8 = match algorithm {
        SigningAlgorithm::ES256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| Error::internal("P-256 key generation failed"))?
        }
        SigningAlgorithm::EdDSA => Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(|_| Error::internal("Ed25519 key generation failed"))?,
    };
    let id = Uuid::now_v7();
    let mut jwk = Jwk::from_encoding_key(
        &encoding_key(algorithm, pkcs8.as_ref()),
        jwt_algorithm(algorithm),
    )
    .map_err(Error::internal)?;
    jwk.common.key_id = Some(id.to_string());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(match algorithm {
        SigningAlgorithm::ES256 => KeyAlgorithm::ES256,
        SigningAlgorithm::EdDSA => KeyAlgorithm::EdDSA,
    });
    let now = Utc::now();
    let model = tx
        .insert(row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(id),
            algorithm: Set(algorithm_name(algorithm).to_owned()),
            status: Set(status.to_owned()),
            public_jwk: Set(serde_json::to_value(&jwk).map_err(Error::internal)?),
            private_key_sealed: Set(
                master_key.seal(&seal_context(tx.tenant_id(), id), pkcs8.as_ref())?
            ),
            created_at: Set(now),
            activated_at: Set((status == CURRENT).then_some(now)),
            retired_at: Set(None),
        })
        .await?;
    Ok(model)
}

/// Creates the first `current` and `next` keys of a new tenant.
pub async fn create_initial_keys(
    tx: &TenantTx,
    grant: &Grant<'_>,
    master_key: &MasterKey,
    algorithm: SigningAlgorithm,
) -> Result<()> {
    grant.require(Permission::ManageTenant)?;
    initial_keys_in(tx, master_key, algorithm).await
}

async fn initial_keys_in(
    tx: &TenantTx,
    master_key: &MasterKey,
    algorithm: SigningAlgorithm,
) -> Result<()> {
    generate(tx, master_key, algorithm, CURRENT).await?;
    generate(tx, master_key, algorithm, NEXT).await?;
    Ok(())
}

async fn keys_with_status(tx: &TenantTx, status: &str) -> Result<Vec<row::Model>> {
    Ok(tx
        .find::<row::Entity>()
        .filter(row::Column::Status.eq(status))
        .order_by_asc(row::Column::Id)
        .all()
        .await?)
}

/// Rotates inside `tx`: the current key retires, the next key (if it has the wanted algorithm)
/// becomes current, and a fresh next key is made. Tokens signed before stay valid, because
/// retired keys stay published.
pub async fn rotate_in(
    tx: &TenantTx,
    grant: &Grant<'_>,
    master_key: &MasterKey,
    algorithm: SigningAlgorithm,
) -> Result<()> {
    grant.require(Permission::ManageTenant)?;
    let now = Utc::now();
    for current in keys_with_status(tx, CURRENT).await? {
        let mut active: row::ActiveModel = current.into();
        active.status = Set(RETIRED.to_owned());
        active.retired_at = Set(Some(now));
        tx.update(active).await?;
    }
    let mut promoted = false;
    for next in keys_with_status(tx, NEXT).await? {
        let mut active: row::ActiveModel = next.clone().into();
        if !promoted && next.algorithm == algorithm_name(algorithm) {
            active.status = Set(CURRENT.to_owned());
            active.activated_at = Set(Some(now));
            promoted = true;
        } else {
            // A next key of another algorithm was never used: it retires unused.
            active.status = Set(RETIRED.to_owned());
            active.retired_at = Set(Some(now));
        }
        tx.update(active).await?;
    }
    if !promoted {
        generate(tx, master_key, algorithm, CURRENT).await?;
    }
    generate(tx, master_key, algorithm, NEXT).await?;
    Ok(())
}

/// `rotateSigningKey`: requires `ManageTenant`. Once committed, the tenant's key is dropped
/// from `cache`, so this replica signs with the new key at once.
#[tracing::instrument(name = "core.rotate_signing_key", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn rotate_signing_key(
    db: &Database,
    master_key: &MasterKey,
    cache: &SigningKeyCache,
    scope: &TenantScope,
    actor: &Actor,
    algorithm: SigningAlgorithm,
) -> Result<()> {
    let grant = authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    rotate_in(&tx, &grant, master_key, algorithm).await?;
    let id = tx.tenant_id().to_string();
    audit::record(
        &tx,
        actor,
        "signing_key.rotate",
        Some(Target {
            kind: "tenant",
            id: &id,
        }),
        json!({ "algorithm": algorithm_name(algorithm) }),
    )
    .await?;
    tx.commit().await?;
    cache.invalidate(scope).await;
    Ok(())
}

/// The keys an admin sees, newest first. Requires `ReadTenant`.
#[tracing::instrument(name = "core.list_signing_keys", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_signing_keys(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<SigningKey>> {
    authorize(actor, Permission::ReadTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let query = tx.find::<row::Entity>();
    let rows = keyset(query, row::Column::Id, page).await?;
    tx.commit().await?;
    rows.try_map(SigningKey::try_from)
}

/// The newest `limit` keys, newest first. Requires `ReadTenant`.
#[tracing::instrument(name = "core.newest_signing_keys", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn newest_signing_keys(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    limit: u64,
) -> Result<Vec<SigningKey>> {
    authorize(actor, Permission::ReadTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let rows = tx
        .find::<row::Entity>()
        .order_by_desc(row::Column::Id)
        .limit(limit)
        .all()
        .await?;
    tx.commit().await?;
    rows.into_iter().map(SigningKey::try_from).collect()
}

/// The public keys to publish at `/t/{slug}/jwks.json`: next, current, and retired keys
/// retired less than [`RETIRED_KEY_PUBLISHED_FOR`] ago. Public; no actor.
#[tracing::instrument(name = "core.published_keys", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn published_keys(db: &Database, scope: &TenantScope) -> Result<JwkSet> {
    let tx = db.begin_tenant(scope).await?;
    let recent = Utc::now() - RETIRED_KEY_PUBLISHED_FOR;
    let rows = tx
        .find::<row::Entity>()
        .filter(
            Condition::any()
                .add(row::Column::Status.is_in([NEXT, CURRENT]))
                .add(row::Column::RetiredAt.gt(recent)),
        )
        .order_by_desc(row::Column::Id)
        .all()
        .await?;
    tx.commit().await?;
    let keys = rows
        .into_iter()
        .map(|row| serde_json::from_value::<Jwk>(row.public_jwk).map_err(Error::internal))
        .collect::<Result<Vec<_>>>()?;
    Ok(JwkSet { keys })
}

/// How long a replica keeps using the current key it unsealed. Rotation on this replica takes
/// effect at once ([`SigningKeyCache::invalidate`]); other replicas switch within this time,
/// signing meanwhile with the just-retired key, which stays published and valid.
pub const CURRENT_KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// What a signed token is, written as its `typ` header: access tokens are `at+jwt`
/// (RFC 9068), so a verifier can tell them from ID tokens signed with the same key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Id,
}

impl TokenType {
    fn header(self) -> &'static str {
        match self {
            TokenType::Access => "at+jwt",
            TokenType::Id => "JWT",
        }
    }
}

struct CurrentKey {
    kid: String,
    algorithm: SigningAlgorithm,
    key: EncodingKey,
}

/// The unsealed current signing key of each tenant, so issuing a token neither reads nor
/// unseals the key every time.
#[derive(Clone)]
pub struct SigningKeyCache {
    keys: moka::future::Cache<Uuid, std::sync::Arc<CurrentKey>>,
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self {
            keys: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CURRENT_KEY_CACHE_TTL)
                .build(),
        }
    }
}

impl SigningKeyCache {
    /// Forgets a tenant's key after a rotation or an algorithm change.
    pub async fn invalidate(&self, scope: &TenantScope) {
        self.keys.invalidate(&scope.tenant_id()).await;
    }
}

/// What signing needs: the master key that opens the sealed keys, the algorithm for a
/// tenant's first keys, and the cache.
#[derive(Clone, Copy)]
pub struct Signer<'a> {
    pub master_key: &'a MasterKey,
    pub algorithm: SigningAlgorithm,
    pub cache: &'a SigningKeyCache,
}

impl Signer<'_> {
    async fn load(&self, tx: &TenantTx) -> Result<std::sync::Arc<CurrentKey>> {
        let current = match keys_with_status(tx, CURRENT).await?.pop() {
            Some(current) => current,
            None => {
                initial_keys_in(tx, self.master_key, self.algorithm).await?;
                keys_with_status(tx, CURRENT)
                    .await?
                    .pop()
                    .ok_or_else(|| Error::internal("the tenant has no current signing key"))?
            }
        };
        let algorithm = parse_algorithm(&current.algorithm)?;
        let pkcs8 = self.master_key.open(
            &seal_context(tx.tenant_id(), current.id),
            &current.private_key_sealed,
        )?;
        let key = std::sync::Arc::new(CurrentKey {
            kid: current.id.to_string(),
            algorithm,
            key: encoding_key(algorithm, &pkcs8),
        });
        self.cache.keys.insert(tx.tenant_id(), key.clone()).await;
        Ok(key)
    }

    fn encode<T: Serialize>(key: &CurrentKey, typ: TokenType, claims: &T) -> Result<String> {
        let mut header = Header::new(jwt_algorithm(key.algorithm));
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.header().to_owned());
        jsonwebtoken::encode(&header, claims, &key.key).map_err(Error::internal)
    }

    /// Signs `claims` with the tenant's current key, inside `tx`. A tenant that has no key
    /// yet (created before keys existed) gets its first keys here.
    pub async fn sign<T: Serialize>(
        &self,
        tx: &TenantTx,
        typ: TokenType,
        claims: &T,
    ) -> Result<String> {
        let key = match self.cache.keys.get(&tx.tenant_id()).await {
            Some(key) => key,
            None => self.load(tx).await?,
        };
        Self::encode(&key, typ, claims)
    }

    /// Signs `claims` without a transaction of the caller's: none at all when the key is
    /// cached (client-credentials tokens touch no table then).
    pub async fn sign_alone<T: Serialize>(
        &self,
        db: &Database,
        scope: &TenantScope,
        typ: TokenType,
        claims: &T,
    ) -> Result<String> {
        if let Some(key) = self.cache.keys.get(&scope.tenant_id()).await {
            return Self::encode(&key, typ, claims);
        }
        let tx = db.begin_tenant(scope).await?;
        let key = self.load(&tx).await?;
        tx.commit().await?;
        Self::encode(&key, typ, claims)
    }
}
