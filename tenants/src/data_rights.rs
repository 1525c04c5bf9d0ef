//! Each person's data as the control plane completes it: the export of the signed-in caller's
//! data (`exportViewerData`) gets the CRM records linked to them, which the control plane owns.
//! The erasure's CRM side reacts to its `identity.deleted` event (`crm::deliveries`,
//! `crm::waiting`, `crm::dispatch`).

use crate::crm::own_record_links_in;
use latchkey_core::actor::Actor;
use latchkey_core::db::Database;
use latchkey_core::error::Result;
use latchkey_core::scope::TenantScope;
use serde_json::Value;

/// `exportViewerData`: everything held about the signed-in caller (see
/// [`latchkey_core::data_rights::export_viewer_data`]), with `crmLinks`.
pub async fn export_viewer_data(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Value> {
    let (identity_id, _) = actor.signed_in()?;
    let mut data = latchkey_core::data_rights::export_viewer_data(db, scope, actor).await?;
    let tx = db.begin_tenant(scope).await?;
    data["crmLinks"] = Value::from(own_record_links_in(&tx, identity_id).await?);
    tx.commit().await?;
    Ok(data)
}
