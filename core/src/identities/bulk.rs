//! Identities in bulk, for imports: the identities a batch of records names, many new ones in
//! one statement, and an existing one overwritten with what an import file says. The caller
//! authorizes, audits (once per import) and decides what is published.

use super::{
    CheckedIdentity, Identity, IdentityStatus, map_write_error, new_row, row, set_status_in,
};
use crate::actor::Actor;
use crate::db::TenantTx;
use crate::error::Result;
use crate::freshness::Guard;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use uuid::Uuid;

/// One identity as an import writes it.
#[derive(Clone, Debug)]
pub struct ImportedIdentity {
    /// The id to create it with (an export's id, so that `sub` claims stay the same).
    pub id: Uuid,
    pub identity: CheckedIdentity,
    pub status: IdentityStatus,
    pub created_at: DateTime<Utc>,
}

/// The identities that are not deleted whose normalized address, external id or id is among
/// the given ones. Three lookups, one per index: a single query with `OR` made SQLite scan the
/// tenant's identities for every batch.
pub(crate) async fn matching_in(
    tx: &TenantTx,
    emails_normalized: &[String],
    external_ids: &[String],
    ids: &[Uuid],
) -> Result<Vec<Identity>> {
    let live = || {
        tx.find::<row::Entity>()
            .filter(row::Column::DeletedAt.is_null())
    };
    let mut rows = Vec::new();
    if !emails_normalized.is_empty() {
        rows.extend(
            live()
                .filter(row::Column::EmailNormalized.is_in(emails_normalized.iter().cloned()))
                .all()
                .await?,
        );
    }
    if !external_ids.is_empty() {
        rows.extend(
            live()
                .filter(row::Column::ExternalId.is_in(external_ids.iter().cloned()))
                .all()
                .await?,
        );
    }
    if !ids.is_empty() {
        rows.extend(
            live()
                .filter(row::Column::Id.is_in(ids.iter().copied()))
                .all()
                .await?,
        );
    }
    let mut seen = std::collections::HashSet::new();
    rows.into_iter()
        .filter(|row| seen.insert(row.id))
        .map(Identity::try_from)
        .collect()
}

/// Whether any identity, deleted ones included, has one of `ids`: such an id cannot be
/// created again.
pub(crate) async fn taken_ids_in(tx: &TenantTx, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    Ok(tx
        .find::<row::Entity>()
        .filter(row::Column::Id.is_in(ids.iter().copied()))
        .all()
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect())
}

/// Inserts every identity of `batch` in one statement.
pub(crate) async fn insert_many_in(tx: &TenantTx, batch: &[ImportedIdentity]) -> Result<()> {
    // The near cache keeps the number of identities, which an insert changes.
    tx.changes(Guard::Tenant);
    let rows = batch
        .iter()
        .map(|new| {
            new_row(
                tx.tenant_id(),
                new.id,
                &new.identity,
                new.status,
                new.created_at,
            )
        })
        .collect();
    tx.insert_many::<row::ActiveModel>(rows)
        .await
        .map_err(map_write_error)
}

/// Overwrites `current` with what the import says; `false` if nothing differed. An address
/// stays verified if it was and does not change; the creation time stays; a change of status
/// is a suspension or resumption like any other (sessions end, audited).
pub(crate) async fn overwrite_in(
    tx: &TenantTx,
    actor: &Actor,
    current: &Identity,
    imported: &ImportedIdentity,
    now: DateTime<Utc>,
) -> Result<bool> {
    let new = &imported.identity;
    let same_address = current.email_normalized == new.email.normalized();
    let email_verified = new.email_verified || (same_address && current.email_verified);
    let unchanged = current.email == new.email.as_str()
        && current.email_verified == email_verified
        && current.display_name == new.display_name
        && current.phone == new.phone
        && current.attributes == new.attributes
        && current.external_id == new.external_id
        && current.locale == new.locale;
    if unchanged && current.status == imported.status {
        return Ok(false);
    }
    if !unchanged {
        tx.update(row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(current.id),
            email: Set(new.email.as_str().to_owned()),
            email_normalized: Set(new.email.normalized().to_owned()),
            email_verified: Set(email_verified),
            phone: Set(new.phone.clone()),
            display_name: Set(new.display_name.clone()),
            attributes: Set(new.attributes.clone()),
            external_id: Set(new.external_id.clone()),
            locale: Set(new.locale.clone()),
            updated_at: Set(now),
            ..Default::default()
        })
        .await
        .map_err(map_write_error)?;
    }
    if current.status != imported.status {
        set_status_in(tx, actor, current.id, imported.status).await?;
    }
    Ok(true)
}
