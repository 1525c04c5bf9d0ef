//! Self-service profile (`updateViewerProfile`): the signed-in user changes their display
//! name, phone, language and the custom attributes the tenant's schema marks user-editable.
//! Every attribute is checked against the schema (an unknown or admin-only one is refused,
//! naming `attributes.<name>`, and nothing is saved); the change is audited as the user's own
//! and published like any other identity change, so CRM connectors receive it.

use crate::error::{Error, Result};
use crate::identities::{self, Change, Identity, IdentityChanges};
use crate::passkeys::Ceremonies;
use serde_json::{Map, Value};

/// What the user asked to change; `attributes` holds only the keys to change (`null` removes
/// one).
#[derive(Clone, Debug, Default)]
pub struct ProfileChanges {
    pub display_name: Change<String>,
    pub phone: Change<String>,
    pub locale: Change<String>,
    pub attributes: Option<Map<String, Value>>,
}

/// `updateViewerProfile`.
#[tracing::instrument(name = "core.update_viewer_profile", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn update_viewer_profile(
    c: &Ceremonies<'_>,
    changes: ProfileChanges,
) -> Result<Identity> {
    let (identity_id, _) = c.actor.signed_in()?;
    let schema = &c.issuer.settings.attribute_schema;
    if let Some(attributes) = &changes.attributes {
        for (name, value) in attributes {
            let field = format!("attributes.{name}");
            let definition = schema
                .iter()
                .find(|definition| &definition.name == name)
                .ok_or_else(|| Error::validation(&field, "is not an attribute of this tenant"))?;
            if !definition.user_editable {
                return Err(Error::validation(
                    &field,
                    "only an administrator can change it",
                ));
            }
            definition.check_value(&field, value)?;
        }
    }
    let tx = c.db.begin_tenant(c.scope).await?;
    let current = identities::find_in(&tx, identity_id).await?;
    let attributes = changes.attributes.map(|changed| {
        let mut merged = current.attributes.as_object().cloned().unwrap_or_default();
        for (name, value) in changed {
            if value.is_null() {
                merged.remove(&name);
            } else {
                merged.insert(name, value);
            }
        }
        Value::Object(merged)
    });
    let identity = identities::update_in(
        &tx,
        c.actor,
        identity_id,
        IdentityChanges {
            display_name: changes.display_name,
            phone: changes.phone,
            locale: changes.locale,
            attributes,
            ..IdentityChanges::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(identity)
}
