//! Finding identities: by address, text in the address or name, status, external id, an
//! attribute's value, and membership of an organization. The rules of each filter are the
//! identities' (`identities::search_in`); an organization's members come from the
//! organizations (`organizations::member_ids_in`), in the same transaction.

use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::Database;
use crate::error::Result;
use crate::identities::{self, Identity, IdentityFilter};
use crate::organizations;
use crate::page::{Page, PageRequest};
use crate::scope::TenantScope;

/// A page of identities, oldest first, with the total matching `filter`. Requires
/// `ReadIdentities`. An organization of another tenant has no members here.
#[tracing::instrument(name = "core.list_identities", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_identities(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    filter: IdentityFilter,
    page: PageRequest,
) -> Result<Page<Identity>> {
    authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let members = filter
        .organization_id
        .map(|organization| organizations::member_ids_in(&tx, organization));
    let page = identities::search_in(db, &tx, filter, members, page).await?;
    tx.commit().await?;
    Ok(page)
}
