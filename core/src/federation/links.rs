//! The links of identities to accounts at identity providers: keyed by the provider and the
//! subject it names (for Microsoft, `tid` and `oid`), never by an email address.

use crate::db::TenantTx;
use crate::error::{Error, Result, is_unique_violation};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub(super) mod link_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "federated_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub identity_id: Uuid,
        pub provider_id: Uuid,
        pub subject: String,
        pub email: Option<String>,
        pub created_at: DateTimeUtc,
        pub last_sign_in_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(link_row);

/// An identity's account at a provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedLink {
    pub id: Uuid,
    pub identity_id: Uuid,
    pub provider_id: Uuid,
    pub subject: String,
    /// The address the provider gave when the link was made (for display only).
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl From<link_row::Model> for FederatedLink {
    fn from(row: link_row::Model) -> Self {
        Self {
            id: row.id,
            identity_id: row.identity_id,
            provider_id: row.provider_id,
            subject: row.subject,
            email: row.email,
            created_at: row.created_at,
            last_sign_in_at: row.last_sign_in_at,
        }
    }
}

/// The link of `subject` at `provider_id`, if any.
pub(super) async fn by_subject_in(
    tx: &TenantTx,
    provider_id: Uuid,
    subject: &str,
) -> Result<Option<FederatedLink>> {
    Ok(tx
        .find::<link_row::Entity>()
        .filter(link_row::Column::ProviderId.eq(provider_id))
        .filter(link_row::Column::Subject.eq(subject))
        .one()
        .await?
        .map(FederatedLink::from))
}

/// Links `identity_id` to `subject` at `provider_id`; `Conflict` if the subject is linked.
pub(super) async fn insert_in(
    tx: &TenantTx,
    identity_id: Uuid,
    provider_id: Uuid,
    subject: &str,
    email: Option<&str>,
) -> Result<FederatedLink> {
    let now = tx.now();
    let row = tx
        .insert(link_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            identity_id: Set(identity_id),
            provider_id: Set(provider_id),
            subject: Set(subject.to_owned()),
            email: Set(email.map(str::to_owned)),
            created_at: Set(now),
            last_sign_in_at: Set(Some(now)),
        })
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                Error::Conflict("this account at the provider is linked already".into())
            } else {
                error.into()
            }
        })?;
    Ok(row.into())
}

/// Notes a sign-in through `link_id`.
pub(super) async fn touch_in(tx: &TenantTx, link_id: Uuid) -> Result<()> {
    tx.update_many::<link_row::Entity>()
        .col_expr(link_row::Column::LastSignInAt, Expr::value(tx.now()))
        .filter(link_row::Column::Id.eq(link_id))
        .exec()
        .await?;
    Ok(())
}

/// The identity's links, oldest first.
pub(crate) async fn of_identity_in(tx: &TenantTx, identity_id: Uuid) -> Result<Vec<FederatedLink>> {
    of_identities_in(tx, &[identity_id]).await
}

/// The links of `identity_ids`, oldest first.
pub(crate) async fn of_identities_in(
    tx: &TenantTx,
    identity_ids: &[Uuid],
) -> Result<Vec<FederatedLink>> {
    Ok(tx
        .find::<link_row::Entity>()
        .filter(link_row::Column::IdentityId.is_in(identity_ids.iter().copied()))
        .order_by_asc(link_row::Column::CreatedAt)
        .all()
        .await?
        .into_iter()
        .map(FederatedLink::from)
        .collect())
}

/// Removes the identity's link to `provider_id`; `NotFound` if there is none.
pub(super) async fn delete_in(tx: &TenantTx, identity_id: Uuid, provider_id: Uuid) -> Result<()> {
    let deleted = tx
        .delete_many::<link_row::Entity>()
        .filter(link_row::Column::IdentityId.eq(identity_id))
        .filter(link_row::Column::ProviderId.eq(provider_id))
        .exec()
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Removes every link to a provider that is being deleted.
pub(super) async fn delete_for_provider_in(tx: &TenantTx, provider_id: Uuid) -> Result<()> {
    tx.delete_many::<link_row::Entity>()
        .filter(link_row::Column::ProviderId.eq(provider_id))
        .exec()
        .await?;
    Ok(())
}

/// Removes every federated link of `identity_id` (its account is being erased).
pub(crate) async fn erase_links_in(tx: &TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<link_row::Entity>()
        .filter(link_row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}
