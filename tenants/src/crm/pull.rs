//! CRM → Latchkey. What a connector pulls from its CRM (a scheduled pull of the records changed
//! since its cursor, or an inbound webhook, see [`super::inbound`]) arrives here as
//! [`RemoteRecord`]s: each contact creates or updates an identity (found by the CRM record it
//! is linked to, else by email); with organizations on, its company or account creates or
//! finds the organization and the identity is invited into it. Every change is made by the
//! connector itself as actor ([`Principal::Connector`]), so it is audited as the connector's
//! and never pushed back to it (no sync loops).
//!
//! No unverified address is trusted: a record changes an identity only if the identity's
//! address is verified or the record created it. Otherwise the record waits (see
//! [`super::waiting`]) and changes nothing; [`released`] applies it once the address is
//! verified.
//!
//! [`Principal::Connector`]: latchkey_core::actor::Principal::Connector

pub(super) mod contracts;
pub(super) mod deleted;
pub(super) mod released;
pub(super) mod schedule;

use super::connector::{Connector, ConnectorKind};
pub use super::records::RemoteRecord;
use super::records::{linked_subject, remember_record};
use super::waiting::{self, UNVERIFIED};
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::authz::{Grant, Resource, authorize};
use latchkey_core::catalogue::tenant_row;
use latchkey_core::crypto::MasterKey;
use latchkey_core::db::Database;
use latchkey_core::ephemeral::EphemeralStore;
use latchkey_core::error::{Error, Result};
use latchkey_core::granted;
use latchkey_core::identities::{self, Change, Identity, IdentityChanges, NewIdentity};
use latchkey_core::invitations::{self, Delivery};
use latchkey_core::mail::{Mailer, TenantMail};
use latchkey_core::organizations::{self, NewOrganization, Organization, OrganizationKind};
use latchkey_core::scope::TenantScope;
use latchkey_core::settings::TenantSettings;
use latchkey_core::validate::{Email, Phone};
pub use schedule::PullStatus;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use uuid::Uuid;

/// What applying one record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
    Unchanged,
    /// Nothing changed: the record waits for its identity's address to be verified.
    Waiting,
}

/// What pulling needs besides the database: where invitations go out from.
#[derive(Clone)]
pub struct PullContext {
    /// The platform's master key: the connector acts with it (see [`Actor::connector`]).
    pub key: Arc<MasterKey>,
    pub mailer: Arc<dyn Mailer>,
    pub store: Arc<dyn EphemeralStore>,
    /// The deployment's public URL, without a trailing slash.
    pub public_url: String,
}

/// Who a pull invites: the identity a contact record is linked to.
struct Invitee<'a> {
    identity: &'a Identity,
    connector_id: Uuid,
    /// The contact's CRM record id.
    contact: &'a str,
}

fn connector_actor(context: &PullContext, connector_id: Uuid) -> Actor {
    Actor::connector(
        &context.key,
        connector_id,
        Some(format!("crm-pull-{connector_id}")),
    )
}

/// The Latchkey fields of `subject` (`identity`, `organization`) a record carries, by the
/// connector's mapping read backwards (CRM field → Latchkey field). A `WEBHOOK` connector's
/// records name Latchkey fields themselves, with `attributes` / `metadata` as objects.
/// Read-only fields (`id`, `status`, `slug`, `kind`, `createdAt`) are never written from a CRM.
fn latchkey_fields(
    connector: &Connector,
    subject: &str,
    record: &RemoteRecord,
) -> Map<String, Value> {
    let (writable, nested): (&[&str], &str) = match subject {
        "identity" => (
            &[
                "email",
                "emailVerified",
                "phone",
                "displayName",
                "externalId",
            ],
            "attributes",
        ),
        _ => (&["name", "externalId"], "metadata"),
    };
    let mut out = Map::new();
    if connector.kind == ConnectorKind::Webhook {
        for name in writable {
            if let Some(value) = record.fields.get(*name) {
                out.insert((*name).to_owned(), value.clone());
            }
        }
        if let Some(Value::Object(values)) = record.fields.get(nested) {
            for (key, value) in values {
                out.insert(format!("{nested}.{key}"), value.clone());
            }
        }
        return out;
    }
    if let Some(mapping) = connector.field_mapping[subject].as_object() {
        for (crm_field, target) in mapping {
            let Some(target) = target.as_str() else {
                continue;
            };
            let writes = writable.contains(&target)
                || target
                    .strip_prefix(nested)
                    .is_some_and(|rest| rest.starts_with('.'));
            if let (true, Some(value)) = (writes, record.fields.get(crm_field)) {
                out.insert(target.to_owned(), value.clone());
            }
        }
    }
    out
}

/// A text value of a CRM field: strings as they are, numbers as text; `None` for null or "".
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A text field's change: the CRM's value wins (an emptied CRM field clears it).
fn text_change(current: Option<&str>, pulled: Option<&Value>, given: bool) -> Change<String> {
    if !given {
        return Change::Keep;
    }
    match (current, text(pulled)) {
        (Some(now), Some(new)) if now == new => Change::Keep,
        (None, None) => Change::Keep,
        (_, Some(new)) => Change::Set(new),
        (Some(_), None) => Change::Clear,
    }
}

fn flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" | "" => Some(false),
            _ => None,
        },
        Value::Number(number) => Some(number.as_i64() != Some(0)),
        _ => None,
    }
}

/// `current` with the pulled `nested.<key>` values merged in; `None` when nothing changes.
fn merged(current: &Value, fields: &Map<String, Value>, nested: &str) -> Option<Value> {
    let mut object = current.as_object().cloned().unwrap_or_default();
    let mut changed = false;
    for (name, value) in fields {
        if let Some(key) = name.strip_prefix(nested).and_then(|k| k.strip_prefix('.'))
            && object.get(key) != Some(value)
        {
            object.insert(key.to_owned(), value.clone());
            changed = true;
        }
    }
    changed.then_some(Value::Object(object))
}

/// Links a contact to the identity it was applied to (`created_subject`: it created it); a
/// contact that waited no longer does.
async fn link_contact(
    db: &Database,
    scope: &TenantScope,
    connector_id: Uuid,
    identity_id: Uuid,
    remote_id: &str,
    created_subject: bool,
) -> Result<()> {
    let tx = db.begin_tenant(scope).await?;
    remember_record(&tx, connector_id, identity_id, remote_id, created_subject).await?;
    waiting::forget_in(&tx, connector_id, remote_id).await?;
    tx.commit().await
}

/// Links a company or account to its organization.
async fn link_company(
    db: &Database,
    scope: &TenantScope,
    connector_id: Uuid,
    organization_id: Uuid,
    remote_id: &str,
) -> Result<()> {
    let tx = db.begin_tenant(scope).await?;
    remember_record(&tx, connector_id, organization_id, remote_id, false).await?;
    tx.commit().await
}

/// Which identity a pulled contact may change.
enum Match {
    Identity(Box<Identity>),
    /// No live identity has its record or its address: it creates one.
    Nobody,
    /// The identity's address is not verified: the record now waits.
    Waits,
}

/// The identity a pulled contact changes: the one its record is linked to, else the live one
/// with its address. An identity it did not create counts only once its address is verified;
/// until then the record waits for it (so an address nobody proved never collects a CRM's
/// data, and no second identity is made for it). The identity is read locked, so that a
/// verification committing meanwhile either is seen here or releases the waiting record.
async fn match_identity(
    db: &Database,
    scope: &TenantScope,
    read: &Grant<'_>,
    connector: &Connector,
    record: &RemoteRecord,
    email: &Email,
) -> Result<Match> {
    let tx = db.begin_tenant(scope).await?;
    let live = |identity: Identity| identity.deleted_at.is_none().then_some(identity);
    let linked = match linked_subject(&tx, connector.id, &record.id).await? {
        Some(link) => match granted::identity_for_update(&tx, read, link.subject_id).await {
            Ok(identity) => live(identity).map(|identity| (identity, link.created_subject)),
            Err(Error::NotFound) => None,
            Err(error) => return Err(error),
        },
        None => None,
    };
    let found = match linked {
        Some(found) => Some(found),
        None => match granted::identity_by_email(&tx, read, email.normalized()).await? {
            Some(found) => live(granted::identity_for_update(&tx, read, found.id).await?)
                .filter(|identity| identity.email_normalized == email.normalized())
                .map(|identity| (identity, false)),
            None => None,
        },
    };
    let matched = match found {
        None => Match::Nobody,
        Some((identity, own)) if own || identity.email_verified => {
            Match::Identity(Box::new(identity))
        }
        Some((identity, _)) => {
            waiting::wait_in(&tx, connector.id, record, email, identity.id, UNVERIFIED).await?;
            Match::Waits
        }
    };
    tx.commit().await?;
    Ok(matched)
}

/// Applies one pulled contact (and its company). Idempotent: a record applied twice changes
/// nothing the second time.
pub(crate) async fn apply_contact(
    db: &Database,
    scope: &TenantScope,
    tenant_name: &str,
    context: &PullContext,
    connector: &Connector,
    record: &RemoteRecord,
) -> Result<Applied> {
    let actor = connector_actor(context, connector.id);
    let read = authorize(&actor, Permission::ReadIdentities, Resource::Tenant)?;
    let fields = latchkey_fields(connector, "identity", record);
    let Some(email) = text(fields.get("email")) else {
        return Err(Error::validation(
            "email",
            format!(
                "the CRM record {} has no email address (mapped to email: {})",
                record.id,
                mapped_from(connector, "identity", "email")
            ),
        ));
    };
    let email = Email::parse("email", &email)?;
    let (identity, applied) =
        match match_identity(db, scope, &read, connector, record, &email).await? {
            Match::Waits => return Ok(Applied::Waiting),
            Match::Identity(identity) => {
                update_identity(db, scope, &actor, *identity, &email, &fields).await?
            }
            Match::Nobody => {
                let attributes = merged(&json!({}), &fields, "attributes");
                let created = identities::create_identity(
                    db,
                    scope,
                    &actor,
                    NewIdentity {
                        email: email.as_str().to_owned(),
                        email_verified: flag(fields.get("emailVerified")).unwrap_or(false),
                        display_name: text(fields.get("displayName")),
                        phone: text(fields.get("phone")),
                        attributes,
                        external_id: text(fields.get("externalId")),
                        locale: None,
                    },
                )
                .await;
                match created {
                    Ok(created) => (created, Applied::Created),
                    // Created meanwhile by a parallel delivery of the same record (a webhook
                    // and a pull, or a CRM's retry): the same rules decide about that one.
                    Err(Error::Conflict(_)) => {
                        match match_identity(db, scope, &read, connector, record, &email).await? {
                            Match::Waits => return Ok(Applied::Waiting),
                            Match::Identity(identity) => {
                                let (updated, _) =
                                    update_identity(db, scope, &actor, *identity, &email, &fields)
                                        .await?;
                                (updated, Applied::Updated)
                            }
                            Match::Nobody => {
                                return Err(Error::Conflict(
                                    "another identity has this record's external id".into(),
                                ));
                            }
                        }
                    }
                    Err(error) => return Err(error),
                }
            }
        };
    link_contact(
        db,
        scope,
        connector.id,
        identity.id,
        &record.id,
        applied == Applied::Created,
    )
    .await?;
    if let Some(company) = &record.company {
        let organizations_on = connector.kind == ConnectorKind::Webhook
            || connector.settings["pullOrganizations"].as_bool() == Some(true);
        if organizations_on {
            let organization = apply_company(db, scope, context, connector, company).await?;
            let invitee = Invitee {
                identity: &identity,
                connector_id: connector.id,
                contact: &record.id,
            };
            invite(
                db,
                scope,
                tenant_name,
                context,
                &actor,
                &organization,
                invitee,
            )
            .await?;
        }
    }
    Ok(applied)
}

fn mapped_from(connector: &Connector, subject: &str, target: &str) -> String {
    if connector.kind == ConnectorKind::Webhook {
        return target.to_owned();
    }
    connector.field_mapping[subject]
        .as_object()
        .and_then(|map| {
            map.iter()
                .find(|(_, t)| t.as_str() == Some(target))
                .map(|(crm, _)| crm.clone())
        })
        .unwrap_or_else(|| "no field; add one to fieldMapping".to_owned())
}

async fn update_identity(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity: Identity,
    email: &Email,
    fields: &Map<String, Value>,
) -> Result<(Identity, Applied)> {
    let phone = match text(fields.get("phone")) {
        Some(raw) => Some(Value::String(Phone::parse("phone", &raw)?.into_inner())),
        None => None,
    };
    // Another spelling of the same address (case, an internationalized domain's other form)
    // is no new address.
    let email_changes = identity.email_normalized != email.normalized();
    // A new address is not verified unless the CRM says so (the mapping maps emailVerified).
    let verified = match flag(fields.get("emailVerified")) {
        Some(verified) => verified,
        None if email_changes => false,
        None => identity.email_verified,
    };
    let changes = IdentityChanges {
        email: email_changes.then(|| email.as_str().to_owned()),
        email_verified: (verified != identity.email_verified).then_some(verified),
        display_name: text_change(
            identity.display_name.as_deref(),
            fields.get("displayName"),
            fields.contains_key("displayName"),
        ),
        // Compared as stored (E.164), so a CRM's spaced form is not a change every time.
        phone: text_change(
            identity.phone.as_deref(),
            phone.as_ref(),
            fields.contains_key("phone"),
        ),
        attributes: merged(&identity.attributes, fields, "attributes"),
        external_id: text_change(
            identity.external_id.as_deref(),
            fields.get("externalId"),
            fields.contains_key("externalId"),
        ),
        ..IdentityChanges::default()
    };
    let unchanged = changes.email.is_none()
        && changes.email_verified.is_none()
        && matches!(changes.display_name, Change::Keep)
        && matches!(changes.phone, Change::Keep)
        && changes.attributes.is_none()
        && matches!(changes.external_id, Change::Keep);
    if unchanged {
        return Ok((identity, Applied::Unchanged));
    }
    let updated = identities::update_identity(db, scope, actor, identity.id, changes).await?;
    Ok((updated, Applied::Updated))
}

/// A slug for an organization named `name` from CRM record `remote_id`: the name's letters
/// and digits, and the record id's when the name gives too little.
fn slug_for(name: &str, remote_id: &str) -> String {
    let clean = |text: &str| -> String {
        let mut slug = String::new();
        for c in text.to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        slug.trim_matches('-').chars().take(40).collect::<String>()
    };
    let base = clean(name);
    let suffix = clean(remote_id);
    let suffix: String = suffix
        .chars()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!(
        "{}-{}",
        if base.len() < 3 {
            "org"
        } else {
            base.trim_matches('-')
        },
        suffix
    )
    .trim_matches('-')
    .to_owned()
}

/// Finds (by the CRM record it is linked to, then by external id) or creates the
/// organization of a pulled company, and brings its name and metadata up to date.
async fn apply_company(
    db: &Database,
    scope: &TenantScope,
    context: &PullContext,
    connector: &Connector,
    company: &RemoteRecord,
) -> Result<Organization> {
    let actor = connector_actor(context, connector.id);
    let read = authorize(&actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let fields = latchkey_fields(connector, "organization", company);
    let name = text(fields.get("name")).ok_or_else(|| {
        Error::validation(
            "name",
            format!(
                "the CRM company {} has no name (mapped to name: {})",
                company.id,
                mapped_from(connector, "organization", "name")
            ),
        )
    })?;
    let external_id = text(fields.get("externalId"));
    let tx = db.begin_tenant(scope).await?;
    let mut existing = match linked_subject(&tx, connector.id, &company.id).await? {
        Some(link) => match granted::organization(&tx, &read, link.subject_id).await {
            Ok(organization) => Some(organization),
            Err(Error::NotFound) => None,
            Err(error) => return Err(error),
        },
        None => None,
    };
    if let (None, Some(external_id)) = (&existing, &external_id) {
        existing = granted::organization_by_external_id(&tx, &read, external_id).await?;
    }
    tx.commit().await?;
    let organization = match existing {
        Some(organization) => {
            let metadata = merged(&organization.metadata, &fields, "metadata");
            let rename = organization.name != name;
            if rename || metadata.is_some() {
                organizations::update_organization(
                    db,
                    scope,
                    &actor,
                    organization.id,
                    organizations::OrganizationChanges {
                        name: rename.then_some(name),
                        metadata,
                        ..Default::default()
                    },
                )
                .await?
            } else {
                organization
            }
        }
        None => {
            organizations::create_organization(
                db,
                scope,
                &actor,
                NewOrganization {
                    slug: slug_for(&name, &company.id),
                    name,
                    kind: OrganizationKind::Customer,
                    metadata: merged(&json!({}), &fields, "metadata"),
                    external_id,
                },
            )
            .await?
        }
    };
    link_company(db, scope, connector.id, organization.id, &company.id).await?;
    Ok(organization)
}

/// Invites the identity into the organization unless it is a member or has a pending
/// invitation already: as `org:member` without an end, or with what the connector's
/// contracts of the organization offer the contact (see [`contracts`]).
async fn invite(
    db: &Database,
    scope: &TenantScope,
    tenant_name: &str,
    context: &PullContext,
    actor: &Actor,
    organization: &Organization,
    invitee: Invitee<'_>,
) -> Result<()> {
    let identity = invitee.identity;
    let read = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let offer =
        contracts::offer_in(&tx, invitee.connector_id, organization.id, invitee.contact).await?;
    let member = granted::is_member(&tx, &read, organization.id, identity.id).await?;
    let invited =
        granted::invitation_pending(&tx, &read, organization.id, &identity.email_normalized)
            .await?;
    // The invitation carries the tenant's colour and is in its default language.
    let settings = tx
        .find::<tenant_row::Entity>()
        .one()
        .await?
        .map(|tenant| TenantSettings::from_json(&tenant.settings))
        .unwrap_or_default();
    tx.commit().await?;
    if member || invited {
        return Ok(());
    }
    let lasting = [organizations::ORG_MEMBER.to_owned()];
    let page_url = format!("{}/t/{}/", context.public_url, scope.slug());
    invitations::invite_member(
        db,
        scope,
        actor,
        &Delivery {
            mail: TenantMail::new(
                context.mailer.as_ref(),
                db,
                scope,
                &page_url,
                tenant_name,
                &settings,
            ),
            store: context.store.as_ref(),
        },
        organization.id,
        &identity.email,
        match &offer {
            Some((roles, window)) => invitations::Offer {
                roles,
                window: *window,
            },
            None => invitations::Offer::lasting(&lasting),
        },
    )
    .await?;
    Ok(())
}
