//! Which sign-in factors identities have (`Identity.hasPassword`, `Identity.totpEnrolled`),
//! for many identities in two statements.

use super::rows;
use super::totp;
use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::Database;
use crate::error::Result;
use crate::scope::TenantScope;
use sea_orm::QuerySelect;
use sea_orm::entity::prelude::*;
use std::collections::HashMap;
use uuid::Uuid;

/// What an identity can sign in with besides passkeys and emailed codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignInFactors {
    pub password: bool,
    pub totp: bool,
}

/// The factors of each of `identity_ids` (identities with neither are absent): the caller's
/// own, or anyone's for admins (`ReadIdentities`).
#[tracing::instrument(name = "core.sign_in_factors", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn sign_in_factors(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_ids: &[Uuid],
) -> Result<HashMap<Uuid, SignInFactors>> {
    for identity_id in identity_ids {
        authorize(
            actor,
            Permission::ReadIdentities,
            Resource::OwnedBy(*identity_id),
        )?;
    }
    let tx = db.begin_tenant(scope).await?;
    let with_password: Vec<Uuid> = tx
        .find::<rows::Entity>()
        .select_only()
        .column(rows::Column::IdentityId)
        .filter(rows::Column::IdentityId.is_in(identity_ids.iter().copied()))
        .into_tuple()
        .all()
        .await?;
    let with_totp = totp::enrolled_among(&tx, identity_ids).await?;
    tx.commit().await?;
    let mut factors: HashMap<Uuid, SignInFactors> = HashMap::new();
    for id in with_password {
        factors.entry(id).or_default().password = true;
    }
    for id in with_totp {
        factors.entry(id).or_default().totp = true;
    }
    Ok(factors)
}
