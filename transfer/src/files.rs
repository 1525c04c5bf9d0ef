//! The files of imports and exports, kept in the database in chunks of [`CHUNK`] bytes until
//! they expire, so that any replica serves what another received or wrote and no replica
//! keeps state. An upload is written chunk by chunk as its body streams in; an export's file
//! when the export is done. Expired files and their jobs are removed by the worker.

use chrono::{DateTime, Duration, Utc};
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result};
use latchkey_core::scope::TenantScope;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The bytes of one stored chunk.
pub const CHUNK: usize = 1 << 20;
/// The largest upload: 1 GiB (a million identities of a typical export take about 400 MB).
pub const MAX_UPLOAD: u64 = 1 << 30;
/// How long an uploaded or exported file is kept.
pub const KEPT_FOR: Duration = Duration::days(1);

pub(crate) mod file_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "transfer_files")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub purpose: String,
        pub name: String,
        pub size: i64,
        pub digest: Option<String>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(file_row);
impl latchkey_core::db::QueueTable for file_row::Entity {}

pub(crate) mod chunk_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "transfer_file_chunks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub file_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i32,
        pub data: Vec<u8>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(chunk_row);

/// An uploaded file, complete (`digest` set) or still arriving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferFile {
    pub id: Uuid,
    pub name: String,
    pub size: u64,
    /// SHA-256, hex; set once the whole file is there.
    pub digest: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<file_row::Model> for TransferFile {
    fn from(row: file_row::Model) -> Self {
        Self {
            id: row.id,
            name: row.name,
            size: u64::try_from(row.size).unwrap_or_default(),
            digest: row.digest,
            created_at: row.created_at,
            expires_at: row.expires_at,
        }
    }
}

const UPLOAD: &str = "import";
const EXPORT: &str = "export";

/// An upload in progress: [`Upload::append`] the body as it arrives, then [`Upload::finish`].
pub struct Upload {
    id: Uuid,
    buffer: Vec<u8>,
    seq: i32,
    size: u64,
    hasher: Sha256,
}

/// Starts an upload of a file to import. Requires `WriteIdentities` and `WriteOrganizations`.
pub async fn begin_upload(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    name: &str,
) -> Result<Upload> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    let tx = db.begin_tenant(scope).await?;
    let id = insert_in(&tx, UPLOAD, &name, actor).await?;
    tx.commit().await?;
    Ok(Upload {
        id,
        buffer: Vec::with_capacity(CHUNK),
        seq: 0,
        size: 0,
        hasher: Sha256::new(),
    })
}

async fn insert_in(tx: &TenantTx, purpose: &str, name: &str, actor: &Actor) -> Result<Uuid> {
    let (actor_type, actor_id) = actor.audit_identity();
    let now = Utc::now();
    let row = tx
        .insert(file_row::ActiveModel {
            tenant_id: Set(tx.scope().tenant_id()),
            id: Set(Uuid::now_v7()),
            purpose: Set(purpose.to_owned()),
            name: Set(name.to_owned()),
            size: Set(0),
            digest: Set(None),
            created_by: Set(format!("{actor_type}:{}", actor_id.unwrap_or_default())),
            created_at: Set(now),
            expires_at: Set(now + KEPT_FOR),
        })
        .await?;
    Ok(row.id)
}

async fn write_chunk_in(tx: &TenantTx, file_id: Uuid, seq: i32, data: Vec<u8>) -> Result<()> {
    tx.insert(chunk_row::ActiveModel {
        tenant_id: Set(tx.scope().tenant_id()),
        file_id: Set(file_id),
        seq: Set(seq),
        data: Set(data),
    })
    .await?;
    Ok(())
}

impl Upload {
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Adds `bytes` to the file, storing each full chunk.
    pub async fn append(&mut self, db: &Database, scope: &TenantScope, bytes: &[u8]) -> Result<()> {
        self.size += bytes.len() as u64;
        if self.size > MAX_UPLOAD {
            return Err(Error::validation(
                "file",
                format!("is larger than {MAX_UPLOAD} bytes; split it and import each part"),
            ));
        }
        self.hasher.update(bytes);
        self.buffer.extend_from_slice(bytes);
        while self.buffer.len() >= CHUNK {
            let rest = self.buffer.split_off(CHUNK);
            let full = std::mem::replace(&mut self.buffer, rest);
            self.store(db, scope, full).await?;
        }
        Ok(())
    }

    async fn store(&mut self, db: &Database, scope: &TenantScope, data: Vec<u8>) -> Result<()> {
        let tx = db.begin_tenant(scope).await?;
        write_chunk_in(&tx, self.id, self.seq, data).await?;
        tx.commit().await?;
        self.seq += 1;
        Ok(())
    }

    /// Stores the rest and marks the file complete.
    pub async fn finish(mut self, db: &Database, scope: &TenantScope) -> Result<TransferFile> {
        if self.size == 0 {
            return Err(Error::validation("file", "is empty"));
        }
        let rest = std::mem::take(&mut self.buffer);
        if !rest.is_empty() {
            self.store(db, scope, rest).await?;
        }
        let tx = db.begin_tenant(scope).await?;
        let row = tx
            .update(file_row::ActiveModel {
                tenant_id: Set(scope.tenant_id()),
                id: Set(self.id),
                size: Set(i64::try_from(self.size).map_err(Error::internal)?),
                digest: Set(Some(hex::encode(self.hasher.finalize()))),
                ..Default::default()
            })
            .await?;
        tx.commit().await?;
        Ok(row.into())
    }
}

/// A complete uploaded file of the tenant, `NotFound` if there is none (or it expired).
pub(crate) async fn upload_in(tx: &TenantTx, id: Uuid) -> Result<TransferFile> {
    tx.find::<file_row::Entity>()
        .filter(file_row::Column::Id.eq(id))
        .filter(file_row::Column::Purpose.eq(UPLOAD))
        .filter(file_row::Column::Digest.is_not_null())
        .filter(file_row::Column::ExpiresAt.gt(Utc::now()))
        .one()
        .await?
        .map(TransferFile::from)
        .ok_or(Error::NotFound)
}

/// Chunk `seq` of a file, if it has one.
pub(crate) async fn chunk_in(tx: &TenantTx, file_id: Uuid, seq: i32) -> Result<Option<Vec<u8>>> {
    Ok(tx
        .find::<chunk_row::Entity>()
        .filter(chunk_row::Column::FileId.eq(file_id))
        .filter(chunk_row::Column::Seq.eq(seq))
        .one()
        .await?
        .map(|row| row.data))
}

/// The whole of a file, read chunk by chunk.
pub(crate) async fn contents(db: &Database, scope: &TenantScope, file_id: Uuid) -> Result<Vec<u8>> {
    let mut contents = Vec::new();
    for seq in 0.. {
        let tx = db.begin_tenant(scope).await?;
        let chunk = chunk_in(&tx, file_id, seq).await?;
        tx.commit().await?;
        match chunk {
            Some(data) => contents.extend_from_slice(&data),
            None => break,
        }
    }
    Ok(contents)
}

/// Stores `contents` as a new export file; returns its id.
pub(crate) async fn store_export(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    name: &str,
    contents: &[u8],
) -> Result<Uuid> {
    let tx = db.begin_tenant(scope).await?;
    let id = insert_in(&tx, EXPORT, name, actor).await?;
    tx.commit().await?;
    for (seq, chunk) in contents.chunks(CHUNK).enumerate() {
        let tx = db.begin_tenant(scope).await?;
        write_chunk_in(
            &tx,
            id,
            i32::try_from(seq).map_err(Error::internal)?,
            chunk.to_vec(),
        )
        .await?;
        tx.commit().await?;
    }
    let tx = db.begin_tenant(scope).await?;
    tx.update(file_row::ActiveModel {
        tenant_id: Set(scope.tenant_id()),
        id: Set(id),
        size: Set(i64::try_from(contents.len()).map_err(Error::internal)?),
        digest: Set(Some(hex::encode(Sha256::digest(contents)))),
        ..Default::default()
    })
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Removes the tenant's expired files with their chunks.
pub(crate) async fn delete_expired_in(tx: &TenantTx, now: DateTime<Utc>) -> Result<u64> {
    let expired: Vec<Uuid> = tx
        .find::<file_row::Entity>()
        .filter(file_row::Column::ExpiresAt.lte(now))
        .all()
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect();
    if expired.is_empty() {
        return Ok(0);
    }
    tx.delete_many::<chunk_row::Entity>()
        .filter(chunk_row::Column::FileId.is_in(expired.iter().copied()))
        .exec()
        .await?;
    Ok(tx
        .delete_many::<file_row::Entity>()
        .filter(file_row::Column::Id.is_in(expired))
        .exec()
        .await?
        .rows_affected)
}
