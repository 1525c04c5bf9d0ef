//! Entitlements: the features or products a customer organization has paid for. The tenant
//! defines the keys (`analytics`, `sso`, `seats.100`); an organization holds a key for a
//! validity window, granted by a tenant admin or by a CRM connector from a contract. Holding
//! is checked at the moment, like memberships: organization-scoped tokens carry the keys in
//! force (`org_entitlements`). Granting and revoking write `entitlement.granted` /
//! `entitlement.revoked` about the organization, with the keys it holds after the change, so
//! connectors that push tell the CRM what the customer can use.

use super::access::{Needs, authorize_in};
use super::events::publish_data;
use super::model::*;
use super::store::*;
use super::window::Window;
use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::outbox::EventType;
use crate::scope::TenantScope;
use crate::validate::Name;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use uuid::Uuid;

/// An entitlement key the tenant defined.
#[derive(Clone, Debug)]
pub struct Entitlement {
    pub key: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<entitlement_row::Model> for Entitlement {
    fn from(row: entitlement_row::Model) -> Self {
        Self {
            key: row.key,
            description: row.description,
            created_at: row.created_at,
        }
    }
}

/// What `grantEntitlement` takes. Granting a key the organization holds already replaces
/// its window (and source).
#[derive(Clone, Debug)]
pub struct EntitlementGrant {
    pub organization_id: Uuid,
    pub key: String,
    pub window: Window,
    pub source: Option<String>,
}

/// An entitlement change with the organization it is about.
#[derive(Clone, Debug)]
pub struct EntitlementChange {
    pub entitlement: HeldEntitlement,
    pub organization: Organization,
    /// The moment of the change, for the status it shows.
    pub read_at: DateTime<Utc>,
}

/// What an organization holds, read at a moment (for the status each shows).
#[derive(Clone, Debug)]
pub struct Holdings {
    pub entitlements: Vec<HeldEntitlement>,
    pub read_at: DateTime<Utc>,
}

/// An entitlement key: 2 to 64 characters of a-z, 0-9, ':', '_', '.' and '-', starting with
/// a letter.
pub fn parse_entitlement_key(field: &str, input: &str) -> Result<String> {
    let ok = (2..=64).contains(&input.len())
        && input.starts_with(|c: char| c.is_ascii_lowercase())
        && input
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ":_.-".contains(c));
    if ok {
        Ok(input.to_owned())
    } else {
        Err(Error::validation(
            field,
            format!(
                "{input:?} is not an entitlement key: 2 to 64 characters of a-z, 0-9, ':', '_', '.' and '-', starting with a letter"
            ),
        ))
    }
}

/// The tenant's entitlement keys, by key.
pub(crate) async fn entitlements_in(tx: &TenantTx) -> Result<Vec<Entitlement>> {
    Ok(tx
        .find::<entitlement_row::Entity>()
        .order_by_asc(entitlement_row::Column::Key)
        .all()
        .await?
        .into_iter()
        .map(Entitlement::from)
        .collect())
}

/// Defines an entitlement key for the tenant. Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.create_entitlement", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_entitlement(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    key: &str,
    description: Option<&str>,
) -> Result<Entitlement> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let key = parse_entitlement_key("key", key)?;
    let description = match description {
        Some(text) => Some(Name::parse("description", text, 500)?.into_inner()),
        None => None,
    };
    let tx = db.begin_tenant(scope).await?;
    let total: usize = entitlements_in(&tx)
        .await?
        .iter()
        .map(|e| e.key.len())
        .sum::<usize>()
        + key.len();
    if total > MAX_ENTITLEMENT_CHARACTERS {
        return Err(Error::validation(
            "key",
            format!(
                "the tenant's entitlement keys would total {total} characters; organization tokens carry them (org_entitlements), so at most {MAX_ENTITLEMENT_CHARACTERS}: delete unused keys or shorten them"
            ),
        ));
    }
    let row = tx
        .insert(entitlement_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            key: Set(key.clone()),
            description: Set(description),
            created_at: Set(Utc::now()),
        })
        .await
        .map_err(|e| conflict_on_unique(e, "an entitlement with this key exists"))?;
    audit_entitlement(&tx, actor, "entitlement.create", &key, json!({})).await?;
    tx.commit().await?;
    Ok(Entitlement::from(row))
}

/// Deletes an entitlement key no organization holds. Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.delete_entitlement", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn delete_entitlement(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    key: &str,
) -> Result<Entitlement> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<entitlement_row::Entity>()
        .filter(entitlement_row::Column::Key.eq(key))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let holders = tx
        .find::<held_row::Entity>()
        .filter(held_row::Column::Key.eq(key))
        .count()
        .await?;
    if holders > 0 {
        return Err(Error::Conflict(format!(
            "{holders} organization(s) hold this entitlement; revoke it (revokeEntitlement) first"
        )));
    }
    tx.delete_many::<entitlement_row::Entity>()
        .filter(entitlement_row::Column::Key.eq(key))
        .exec()
        .await?;
    audit_entitlement(&tx, actor, "entitlement.delete", key, json!({})).await?;
    tx.commit().await?;
    Ok(Entitlement::from(row))
}

/// The tenant's entitlement keys. Requires `ReadOrganizations`, or any identity (so member
/// UIs can show what the keys mean).
#[tracing::instrument(name = "core.list_entitlements", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_entitlements(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Vec<Entitlement>> {
    authorize(actor, Permission::ReadOrganizations, Resource::Directory)?;
    let tx = db.begin_tenant(scope).await?;
    let all = entitlements_in(&tx).await?;
    tx.commit().await?;
    Ok(all)
}

/// Gives an organization an entitlement for a window (or replaces the window of one it
/// holds). Only tenant admins (`WriteOrganizations`) and the tenant's connectors: an
/// organization does not grant itself what it has not bought.
#[tracing::instrument(name = "core.grant_entitlement", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn grant_entitlement(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    grant: EntitlementGrant,
) -> Result<EntitlementChange> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let window = Window::checked(grant.window.valid_from, grant.window.valid_until)?;
    let tx = db.begin_tenant(scope).await?;
    let organization = Organization::try_from(find_org(&tx, grant.organization_id).await?)?;
    let defined = tx
        .find::<entitlement_row::Entity>()
        .filter(entitlement_row::Column::Key.eq(grant.key.as_str()))
        .count()
        .await?;
    if defined == 0 {
        return Err(Error::validation(
            "key",
            format!(
                "{:?} is not an entitlement of this tenant: define it with createEntitlement first",
                grant.key
            ),
        ));
    }
    let existing = held_in(&tx, organization.id, &grant.key).await?;
    let held = match existing {
        Some(held) if held.window == window && held.source == grant.source => {
            let read_at = tx.now();
            tx.commit().await?;
            return Ok(EntitlementChange {
                entitlement: held,
                organization,
                read_at,
            });
        }
        Some(held) => {
            tx.update_many::<held_row::Entity>()
                .col_expr(held_row::Column::ValidFrom, Expr::value(window.valid_from))
                .col_expr(
                    held_row::Column::ValidUntil,
                    Expr::value(window.valid_until),
                )
                .col_expr(held_row::Column::Source, Expr::value(grant.source.clone()))
                .filter(held_row::Column::Id.eq(held.id))
                .exec()
                .await?;
            HeldEntitlement {
                window,
                source: grant.source,
                ..held
            }
        }
        None => HeldEntitlement::from(
            tx.insert(held_row::ActiveModel {
                tenant_id: Set(tx.tenant_id()),
                id: Set(Uuid::now_v7()),
                organization_id: Set(organization.id),
                key: Set(grant.key.clone()),
                valid_from: Set(window.valid_from),
                valid_until: Set(window.valid_until),
                source: Set(grant.source.clone()),
                created_at: Set(Utc::now()),
            })
            .await?,
        ),
    };
    let event = EventType::EntitlementGranted;
    publish_entitlement(&tx, actor, event, &organization, &held).await?;
    audit_entitlement(
        &tx,
        actor,
        "entitlement.grant",
        &held.key,
        json!({ "organizationId": organization.id, "entitlement": held_event_data(&held) }),
    )
    .await?;
    let read_at = tx.now();
    tx.commit().await?;
    Ok(EntitlementChange {
        entitlement: held,
        organization,
        read_at,
    })
}

/// Takes an entitlement from an organization before its end. Same permission as
/// [`grant_entitlement`]; `BAD_USER_INPUT` on `key` when the organization does not hold it.
#[tracing::instrument(name = "core.revoke_entitlement", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn revoke_entitlement(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    key: &str,
) -> Result<EntitlementChange> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let organization = Organization::try_from(find_org(&tx, organization_id).await?)?;
    let held = held_in(&tx, organization.id, key).await?.ok_or_else(|| {
        Error::validation("key", format!("the organization does not hold {key:?}"))
    })?;
    tx.delete_many::<held_row::Entity>()
        .filter(held_row::Column::Id.eq(held.id))
        .exec()
        .await?;
    let event = EventType::EntitlementRevoked;
    publish_entitlement(&tx, actor, event, &organization, &held).await?;
    audit_entitlement(
        &tx,
        actor,
        "entitlement.revoke",
        key,
        json!({ "organizationId": organization.id }),
    )
    .await?;
    let read_at = tx.now();
    tx.commit().await?;
    Ok(EntitlementChange {
        entitlement: held,
        organization,
        read_at,
    })
}

/// What an organization holds (any status), by key: tenant admins (`ReadOrganizations`) or
/// its members with `organization:read`.
#[tracing::instrument(name = "core.organization_entitlements", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn organization_entitlements(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
) -> Result<Holdings> {
    let tx = db.begin_tenant(scope).await?;
    find_org(&tx, organization_id).await?;
    authorize_in(&tx, actor, organization_id, Needs::READ_ORGANIZATION).await?;
    let entitlements = held_by_in(&tx, organization_id).await?;
    let read_at = tx.now();
    tx.commit().await?;
    Ok(Holdings {
        entitlements,
        read_at,
    })
}

/// The keys an organization holds now, sorted.
pub(crate) async fn in_force_in(tx: &TenantTx, organization_id: Uuid) -> Result<Vec<String>> {
    let now = tx.now();
    Ok(held_by_in(tx, organization_id)
        .await?
        .into_iter()
        .filter(|held| held.window.is_active(now))
        .map(|held| held.key)
        .collect())
}

/// Removes what an organization holds (it goes).
pub(super) async fn remove_organization_entitlements_in(
    tx: &TenantTx,
    organization_id: Uuid,
) -> Result<()> {
    tx.delete_many::<held_row::Entity>()
        .filter(held_row::Column::OrganizationId.eq(organization_id))
        .exec()
        .await?;
    Ok(())
}

async fn held_in(
    tx: &TenantTx,
    organization_id: Uuid,
    key: &str,
) -> Result<Option<HeldEntitlement>> {
    Ok(tx
        .find::<held_row::Entity>()
        .filter(held_row::Column::OrganizationId.eq(organization_id))
        .filter(held_row::Column::Key.eq(key))
        .one()
        .await?
        .map(HeldEntitlement::from))
}

/// An entitlement as events and connectors see it.
pub fn held_event_data(held: &HeldEntitlement) -> Value {
    json!({
        "key": held.key,
        "validFrom": held.window.valid_from,
        "validUntil": held.window.valid_until,
        "source": held.source,
    })
}

/// The keys an organization holds now as one text, `;`-separated (how HubSpot multiple
/// checkboxes and Salesforce multi-select picklists take several values).
pub fn entitlement_list(keys: &[String]) -> String {
    keys.join(";")
}

/// Writes an entitlement event about `organization`: its data with the `entitlement` changed
/// and the `entitlements` it holds now.
async fn publish_entitlement(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    organization: &Organization,
    held: &HeldEntitlement,
) -> Result<()> {
    let mut data = event_data(organization);
    data["entitlement"] = held_event_data(held);
    data["entitlements"] = json!(entitlement_list(&in_force_in(tx, organization.id).await?));
    publish_data(tx, actor, event, organization, data).await
}

async fn audit_entitlement(
    tx: &TenantTx,
    actor: &Actor,
    action: &str,
    key: &str,
    mut details: Value,
) -> Result<()> {
    details["key"] = json!(key);
    crate::audit::record(
        tx,
        actor,
        action,
        Some(crate::audit::Target {
            kind: "entitlement",
            id: key,
        }),
        details,
    )
    .await
}
