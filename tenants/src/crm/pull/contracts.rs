//! Applying pulled contracts (closed deals and opportunities). Each is kept as a row of
//! `crm_contracts`: its organization (the company it was sold to, once pulled), its state,
//! its window, and what the connector's contract mapping says it gives (entitlements to the
//! organization, roles to each contact). From all the connector's contracts of an
//! organization:
//!
//! * each entitlement key a contract gives is held for the span of those contracts' windows
//!   (from the earliest start to the latest end; source `connector:<id>`), and one no contract
//!   gives any more is revoked;
//! * each contact of the contract gets a membership window spanning the windows of the
//!   contracts it is on, with the roles they give (and `org:member`): set on its membership,
//!   or on the invitation that waits for it.
//!
//! A won contract gives access within its dates; a lost or cancelled one ends on the day it
//! was (or at its end, if earlier): the windows of time-bound access then end access, and
//! their transitions write `membership.expired`. Nothing of a contract changes what an admin
//! granted by hand, except that roles it gives are added to a membership's.

use super::Applied;
use crate::crm::connector::Connector;
use crate::crm::contract_mapping::ContractMapping;
use crate::crm::records::{ContractState, RemoteContract, linked_subject};
use chrono::{DateTime, Utc};
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result};
use latchkey_core::granted;
use latchkey_core::invitations::{self, Offer};
use latchkey_core::organizations::{self, EntitlementGrant, MemberChanges, ORG_MEMBER, Window};
use latchkey_core::scope::TenantScope;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

pub(crate) mod contract_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_contracts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub connector_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub remote_id: String,
        pub organization_id: Uuid,
        pub state: String,
        pub valid_from: Option<DateTimeUtc>,
        pub valid_until: Option<DateTimeUtc>,
        pub grants: Json,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(contract_row);

/// What a contract gives, as kept with it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Gives {
    /// To the organization.
    entitlements: Vec<String>,
    /// Contact record id → the roles it gives that contact.
    contacts: BTreeMap<String, Vec<String>>,
}

/// A kept contract: its window and what it gives.
struct Kept {
    window: Window,
    gives: Gives,
}

impl From<contract_row::Model> for Kept {
    fn from(row: contract_row::Model) -> Self {
        Self {
            window: Window {
                valid_from: row.valid_from,
                valid_until: row.valid_until,
            },
            gives: serde_json::from_value(row.grants).unwrap_or_default(),
        }
    }
}

/// Who a connector's entitlements are managed by.
pub(super) fn source(connector_id: Uuid) -> String {
    format!("connector:{connector_id}")
}

/// The window a contract gives access in: an ended one without a date ends `now`; one that
/// ends before it starts gives nothing after its end.
fn window_of(contract: &RemoteContract, now: DateTime<Utc>) -> Window {
    let ends = match (contract.state, contract.ends) {
        (ContractState::Ended, None) => Some(now),
        (_, ends) => ends,
    };
    match (contract.starts, ends) {
        (Some(from), Some(until)) if until <= from => Window {
            valid_from: None,
            valid_until: Some(until),
        },
        (valid_from, valid_until) => Window {
            valid_from,
            valid_until,
        },
    }
}

/// What `contract` gives by the connector's mapping.
fn gives(connector: &Connector, contract: &RemoteContract) -> Gives {
    let mapping = ContractMapping::stored(connector.contract_mapping.as_ref());
    let bought = mapping.for_products(&contract.products);
    let mut entitlements = bought.entitlements.clone();
    let mut contacts = BTreeMap::new();
    for (contact, role) in &contract.contacts {
        let by_role = mapping.for_contact_role(role.as_deref());
        entitlements.extend(by_role.entitlements.iter().cloned());
        let mut roles = bought.clone().with(&by_role).roles;
        roles.push(ORG_MEMBER.to_owned());
        roles.sort();
        roles.dedup();
        contacts.insert(contact.clone(), roles);
    }
    entitlements.sort();
    entitlements.dedup();
    Gives {
        entitlements,
        contacts,
    }
}

/// The connector's contracts of an organization.
async fn kept_in(tx: &TenantTx, connector_id: Uuid, organization_id: Uuid) -> Result<Vec<Kept>> {
    Ok(tx
        .find::<contract_row::Entity>()
        .filter(contract_row::Column::ConnectorId.eq(connector_id))
        .filter(contract_row::Column::OrganizationId.eq(organization_id))
        .all()
        .await?
        .into_iter()
        .map(Kept::from)
        .collect())
}

/// What the connector's contracts of an organization offer one of its contacts: the roles
/// they give it and the span of their windows; `None` when no contract names the contact.
pub(crate) async fn offer_in(
    tx: &TenantTx,
    connector_id: Uuid,
    organization_id: Uuid,
    contact: &str,
) -> Result<Option<(Vec<String>, Window)>> {
    let kept = kept_in(tx, connector_id, organization_id).await?;
    let on: Vec<&Kept> = kept
        .iter()
        .filter(|k| k.gives.contacts.contains_key(contact))
        .collect();
    let Some(window) = Window::span(on.iter().map(|k| k.window)) else {
        return Ok(None);
    };
    let mut roles: Vec<String> = on
        .iter()
        .flat_map(|k| k.gives.contacts[contact].iter().cloned())
        .collect();
    roles.sort();
    roles.dedup();
    Ok(Some((roles, window)))
}

/// Applies one pulled contract. A contract of a company no pull has brought in (no
/// organization) changes nothing.
pub(crate) async fn apply_contract(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    connector: &Connector,
    contract: &RemoteContract,
) -> Result<Applied> {
    let read = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let Some(company) = &contract.company else {
        return Ok(Applied::Unchanged);
    };
    let tx = db.begin_tenant(scope).await?;
    let organization = match linked_subject(&tx, connector.id, company).await? {
        Some(link) => match granted::organization(&tx, &read, link.subject_id).await {
            Ok(organization) => Some(organization),
            Err(Error::NotFound) => None,
            Err(error) => return Err(error),
        },
        None => None,
    };
    let Some(organization) = organization else {
        tx.commit().await?;
        return Ok(Applied::Unchanged);
    };
    let window = window_of(contract, tx.now());
    let gives = gives(connector, contract);
    let grants = serde_json::to_value(&gives).map_err(Error::internal)?;
    let existing = tx
        .find::<contract_row::Entity>()
        .filter(contract_row::Column::ConnectorId.eq(connector.id))
        .filter(contract_row::Column::RemoteId.eq(contract.id.as_str()))
        .one()
        .await?;
    let row = contract_row::ActiveModel {
        tenant_id: Set(tx.scope().tenant_id()),
        connector_id: Set(connector.id),
        remote_id: Set(contract.id.clone()),
        organization_id: Set(organization.id),
        state: Set(contract.state.as_str().to_owned()),
        valid_from: Set(window.valid_from),
        valid_until: Set(window.valid_until),
        grants: Set(grants.clone()),
        updated_at: Set(Utc::now()),
    };
    let applied = match existing {
        Some(current)
            if current.organization_id == organization.id
                && current.state == contract.state.as_str()
                && current.valid_from == window.valid_from
                && current.valid_until == window.valid_until
                && current.grants == grants =>
        {
            Applied::Unchanged
        }
        Some(_) => {
            tx.update(row).await?;
            Applied::Updated
        }
        None => {
            tx.insert(row).await?;
            Applied::Created
        }
    };
    let kept = kept_in(&tx, connector.id, organization.id).await?;
    let held = granted::organization_entitlements(&tx, &read, organization.id).await?;
    tx.commit().await?;
    // The organization's entitlements from every contract of it.
    let mut spans: BTreeMap<&str, Vec<Window>> = BTreeMap::new();
    for k in &kept {
        for key in &k.gives.entitlements {
            spans.entry(key).or_default().push(k.window);
        }
    }
    let ours = source(connector.id);
    for (key, windows) in &spans {
        if let Some(span) = Window::span(windows.iter().copied()) {
            let grant = EntitlementGrant {
                organization_id: organization.id,
                key: (*key).to_owned(),
                window: span,
                source: Some(ours.clone()),
            };
            organizations::grant_entitlement(db, scope, actor, grant).await?;
        }
    }
    for gone in held.iter().filter(|h| {
        h.source.as_deref() == Some(ours.as_str()) && !spans.contains_key(h.key.as_str())
    }) {
        organizations::revoke_entitlement(db, scope, actor, organization.id, &gone.key).await?;
    }
    // Its contacts' memberships (or invitations).
    for contact in gives.contacts.keys() {
        offer_contact(db, scope, actor, connector, organization.id, contact).await?;
    }
    Ok(applied)
}

/// Brings the membership (or the waiting invitation) of a contract's contact in line with
/// what the connector's contracts offer it: their window, and their roles added to its own.
async fn offer_contact(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    connector: &Connector,
    organization_id: Uuid,
    contact: &str,
) -> Result<()> {
    let read = authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let read_organizations = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let Some(link) = linked_subject(&tx, connector.id, contact).await? else {
        // Never pulled (a lost deal's contact), or waiting for its address to be verified:
        // the offer is made when it is invited.
        tx.commit().await?;
        return Ok(());
    };
    let identity = match granted::identity(&tx, &read, link.subject_id).await {
        Ok(identity) if identity.deleted_at.is_none() => identity,
        Ok(_) | Err(Error::NotFound) => {
            tx.commit().await?;
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    let offer = offer_in(&tx, connector.id, organization_id, contact).await?;
    let membership =
        granted::membership(&tx, &read_organizations, organization_id, identity.id).await?;
    tx.commit().await?;
    let Some((roles, window)) = offer else {
        return Ok(());
    };
    match membership {
        Some(membership) => {
            let mut all = membership.roles.clone();
            all.extend(roles);
            all.sort();
            all.dedup();
            if all != membership.roles || window != membership.window {
                let changes = MemberChanges {
                    roles: Some(all),
                    valid_from: Some(window.valid_from),
                    valid_until: Some(window.valid_until),
                };
                organizations::update_member(
                    db,
                    scope,
                    actor,
                    organization_id,
                    identity.id,
                    changes,
                )
                .await?;
            }
        }
        None => {
            let offer = Offer {
                roles: &roles,
                window,
            };
            invitations::update_pending_offer(
                db,
                scope,
                actor,
                organization_id,
                &identity.email_normalized,
                offer,
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn an_ended_contract_without_a_date_ends_now_and_never_before_it_starts() {
        let now = Utc::now();
        let lost = RemoteContract {
            state: ContractState::Ended,
            starts: Some(now - Duration::days(10)),
            ..RemoteContract::default()
        };
        assert_eq!(window_of(&lost, now).valid_until, Some(now));
        let inverted = RemoteContract {
            starts: Some(now + Duration::days(10)),
            ends: Some(now + Duration::days(5)),
            ..RemoteContract::default()
        };
        let window = window_of(&inverted, now);
        assert_eq!(
            (window.valid_from, window.valid_until),
            (None, Some(now + Duration::days(5)))
        );
    }
}
