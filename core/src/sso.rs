//! Organizations that require SSO: their members sign in only through the organization's own
//! identity provider, except the break-glass accounts the requirement lists. Checked when any
//! session starts (passkey, password, email code, another provider), so no way around it
//! remains. Setting the requirement is `federation`'s (an organization needs a provider first).

use crate::db::TenantTx;
use crate::error::{Error, Result};
use crate::organizations;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

mod requirement_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sso_requirements")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: Uuid,
        pub exceptions: Json,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(requirement_row);

/// An organization's requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoRequirement {
    pub organization_id: Uuid,
    /// The identities that may still sign in otherwise (break-glass accounts).
    pub exceptions: Vec<Uuid>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<requirement_row::Model> for SsoRequirement {
    type Error = Error;

    fn try_from(row: requirement_row::Model) -> Result<Self> {
        Ok(Self {
            organization_id: row.organization_id,
            exceptions: serde_json::from_value(row.exceptions).map_err(Error::internal)?,
            updated_at: row.updated_at,
        })
    }
}

/// The organization's requirement, if it has one.
pub(crate) async fn of_organization_in(
    tx: &TenantTx,
    organization_id: Uuid,
) -> Result<Option<SsoRequirement>> {
    tx.find::<requirement_row::Entity>()
        .filter(requirement_row::Column::OrganizationId.eq(organization_id))
        .one()
        .await?
        .map(SsoRequirement::try_from)
        .transpose()
}

/// Sets (`Some(exceptions)`) or lifts (`None`) the organization's requirement.
pub(crate) async fn set_in(
    tx: &TenantTx,
    organization_id: Uuid,
    exceptions: Option<&[Uuid]>,
) -> Result<Option<SsoRequirement>> {
    tx.delete_many::<requirement_row::Entity>()
        .filter(requirement_row::Column::OrganizationId.eq(organization_id))
        .exec()
        .await?;
    let Some(exceptions) = exceptions else {
        return Ok(None);
    };
    let now = tx.now();
    let row = tx
        .insert(requirement_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            organization_id: Set(organization_id),
            exceptions: Set(json!(exceptions)),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .await?;
    Ok(Some(row.try_into()?))
}

/// Refuses a session for `identity_id` when an organization it belongs to requires SSO, it is
/// not one of the exceptions, and the sign-in did not come through that organization's own
/// provider (`via`: the organization of the provider used, if any).
pub(crate) async fn check_in(tx: &TenantTx, identity_id: Uuid, via: Option<Uuid>) -> Result<()> {
    let requirements = tx.find::<requirement_row::Entity>().all().await?;
    for row in requirements {
        let requirement = SsoRequirement::try_from(row)?;
        if via == Some(requirement.organization_id)
            || requirement.exceptions.contains(&identity_id)
            || !organizations::is_member_in(tx, requirement.organization_id, identity_id).await?
        {
            continue;
        }
        let organization = organizations::organization_in(tx, requirement.organization_id).await?;
        return Err(Error::Refused(format!(
            "{} requires its members to sign in through its own sign-in service; enter your work address to be sent there",
            organization.name
        )));
    }
    Ok(())
}
