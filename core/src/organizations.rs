//! B2B organizations: the tenant's business customers and partners, their members with
//! organization roles, and the roles themselves (two built in, the rest defined per tenant).
//!
//! Who may do what: tenant admins (API keys) with `ReadOrganizations` / `WriteOrganizations`
//! act on every organization. An identity acts on an organization only through its membership
//! there: the permissions of its roles decide (`org:admin` manages members, so organizations
//! administer themselves). To an identity, an organization it is not a member of does not
//! exist (`NotFound`), like one of another tenant.

use crate::actor::{Actor, Permission, Principal};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result, is_unique_violation};
use crate::identities;
use crate::outbox::{self, EventType};
use crate::page::{Page, PageRequest, contains_pattern, keyset};
use crate::scope::TenantScope;
use crate::session_store;
use crate::validate::{ExternalId, Name, Slug};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, ExprTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// The built-in administrator role of an organization.
pub const ORG_ADMIN: &str = "org:admin";
/// The built-in role every member can have.
pub const ORG_MEMBER: &str = "org:member";

/// What organization roles grant. Custom roles may also carry the tenant's own permission
/// names (for its applications); these are the ones Latchkey itself checks.
pub mod permission {
    /// See the organization.
    pub const READ_ORGANIZATION: &str = "organization:read";
    /// Change its name and metadata.
    pub const WRITE_ORGANIZATION: &str = "organization:write";
    /// List its members.
    pub const READ_MEMBERS: &str = "members:read";
    /// Add, change and remove members.
    pub const WRITE_MEMBERS: &str = "members:write";
}

const BUILT_IN_ROLES: [(&str, &str, &[&str]); 2] = [
    (
        ORG_ADMIN,
        "Manages the organization and its members",
        &[
            permission::READ_ORGANIZATION,
            permission::WRITE_ORGANIZATION,
            permission::READ_MEMBERS,
            permission::WRITE_MEMBERS,
        ],
    ),
    (
        ORG_MEMBER,
        "Belongs to the organization",
        &[permission::READ_ORGANIZATION, permission::READ_MEMBERS],
    ),
];

mod org_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "organizations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub slug: String,
        pub kind: String,
        pub metadata: Json,
        pub external_id: Option<String>,
        pub domain_policy: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(org_row);

mod role_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "organization_roles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub description: Option<String>,
        pub permissions: Json,
        pub created_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(role_row);

mod member_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "memberships")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub identity_id: Uuid,
        pub roles: Json,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(member_row);

/// Whether an organization is a business customer or a partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrganizationKind {
    Customer,
    Partner,
}

impl OrganizationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrganizationKind::Customer => "customer",
            OrganizationKind::Partner => "partner",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "customer" => Ok(OrganizationKind::Customer),
            "partner" => Ok(OrganizationKind::Partner),
            other => Err(Error::internal(format!(
                "unknown organization kind {other:?}"
            ))),
        }
    }
}

/// What happens when someone with an email address at one of the organization's verified
/// domains signs up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainPolicy {
    /// Nothing: people join through invitations only.
    None,
    /// They become members (`org:member`) once their email address is verified.
    AutoJoin,
    /// A join request waits for an organization admin's approval.
    RequestToJoin,
}

impl DomainPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainPolicy::None => "none",
            DomainPolicy::AutoJoin => "auto_join",
            DomainPolicy::RequestToJoin => "request_to_join",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "none" => Ok(DomainPolicy::None),
            "auto_join" => Ok(DomainPolicy::AutoJoin),
            "request_to_join" => Ok(DomainPolicy::RequestToJoin),
            other => Err(Error::internal(format!("unknown domain policy {other:?}"))),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub kind: OrganizationKind,
    pub metadata: Value,
    pub external_id: Option<String>,
    pub domain_policy: DomainPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<org_row::Model> for Organization {
    type Error = Error;

    fn try_from(row: org_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            kind: OrganizationKind::parse(&row.kind)?,
            domain_policy: DomainPolicy::parse(&row.domain_policy)?,
            name: row.name,
            slug: row.slug,
            metadata: row.metadata,
            external_id: row.external_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// An organization role: built in (no id) or defined by the tenant.
#[derive(Clone, Debug)]
pub struct OrganizationRole {
    pub id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
}

impl OrganizationRole {
    pub fn built_in(&self) -> bool {
        self.id.is_none()
    }
}

fn built_in_roles() -> impl Iterator<Item = OrganizationRole> {
    BUILT_IN_ROLES
        .iter()
        .map(|(name, description, permissions)| OrganizationRole {
            id: None,
            name: (*name).to_owned(),
            description: Some((*description).to_owned()),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            created_at: None,
        })
}

impl TryFrom<role_row::Model> for OrganizationRole {
    type Error = Error;

    fn try_from(row: role_row::Model) -> Result<Self> {
        Ok(Self {
            id: Some(row.id),
            name: row.name,
            description: row.description,
            permissions: serde_json::from_value(row.permissions).map_err(Error::internal)?,
            created_at: Some(row.created_at),
        })
    }
}

/// An identity's membership of an organization.
#[derive(Clone, Debug)]
pub struct Membership {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub identity_id: Uuid,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<member_row::Model> for Membership {
    type Error = Error;

    fn try_from(row: member_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            organization_id: row.organization_id,
            identity_id: row.identity_id,
            roles: serde_json::from_value(row.roles).map_err(Error::internal)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What an organization-scoped token says about the member: the organization, its kind and
/// the member's roles there.
#[derive(Clone, Debug)]
pub struct OrgContext {
    pub id: Uuid,
    pub kind: OrganizationKind,
    pub roles: Vec<String>,
}

/// The member's context in an organization, `None` if the identity is not a member.
pub(crate) async fn context_in(
    tx: &TenantTx,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Option<OrgContext>> {
    let Some(membership) = find_membership(tx, organization_id, identity_id).await? else {
        return Ok(None);
    };
    let org = Organization::try_from(find_org(tx, organization_id).await?)?;
    Ok(Some(OrgContext {
        id: org.id,
        kind: org.kind,
        roles: serde_json::from_value(membership.roles).map_err(Error::internal)?,
    }))
}

/// The member's context in the organization named by `reference` (its id or slug), `None` if
/// there is no such organization or the identity is not a member.
pub(crate) async fn context_by_reference(
    tx: &TenantTx,
    reference: &str,
    identity_id: Uuid,
) -> Result<Option<OrgContext>> {
    let by = match Uuid::parse_str(reference) {
        Ok(id) => org_row::Column::Id.eq(id),
        Err(_) => org_row::Column::Slug.eq(reference),
    };
    let Some(org) = tx.find::<org_row::Entity>().filter(by).one().await? else {
        return Ok(None);
    };
    context_in(tx, org.id, identity_id).await
}

/// A membership with both of its ends, as lists and mutations answer it.
#[derive(Clone, Debug)]
pub struct Member {
    pub membership: Membership,
    pub organization: Organization,
    pub identity: identities::Identity,
}

/// Completes memberships with their organizations and identities: two queries whatever the
/// number of memberships.
async fn members_of(tx: &TenantTx, memberships: Vec<Membership>) -> Result<Vec<Member>> {
    let mut org_ids: Vec<Uuid> = memberships.iter().map(|m| m.organization_id).collect();
    org_ids.sort();
    org_ids.dedup();
    let mut identity_ids: Vec<Uuid> = memberships.iter().map(|m| m.identity_id).collect();
    identity_ids.sort();
    identity_ids.dedup();
    let organizations = tx
        .find::<org_row::Entity>()
        .filter(org_row::Column::Id.is_in(org_ids))
        .all()
        .await?
        .into_iter()
        .map(Organization::try_from)
        .collect::<Result<Vec<_>>>()?;
    let identities = identities::find_many_in(tx, &identity_ids).await?;
    memberships
        .into_iter()
        .map(|membership| {
            let organization = organizations
                .iter()
                .find(|o| o.id == membership.organization_id)
                .cloned()
                .ok_or_else(|| Error::internal("membership of a missing organization"))?;
            let identity = identities
                .iter()
                .find(|i| i.id == membership.identity_id)
                .cloned()
                .ok_or_else(|| Error::internal("membership of a missing identity"))?;
            Ok(Member {
                membership,
                organization,
                identity,
            })
        })
        .collect()
}

async fn complete_page(tx: &TenantTx, rows: Page<member_row::Model>) -> Result<Page<Member>> {
    let page = rows.try_map(Membership::try_from)?;
    let members = members_of(tx, page.items).await?;
    Ok(Page {
        items: members,
        has_next_page: page.has_next_page,
        total_count: page.total_count,
    })
}

pub(crate) async fn member_of(tx: &TenantTx, membership: Membership) -> Result<Member> {
    members_of(tx, vec![membership])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("membership vanished"))
}

/// What `createOrganization` takes.
#[derive(Clone, Debug)]
pub struct NewOrganization {
    pub name: String,
    pub slug: String,
    pub kind: OrganizationKind,
    pub metadata: Option<Value>,
    pub external_id: Option<String>,
}

/// What `updateOrganization` changes; `None` leaves a field alone (`external_id: Some(None)`
/// clears it).
#[derive(Clone, Debug, Default)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub kind: Option<OrganizationKind>,
    pub metadata: Option<Value>,
    pub external_id: Option<Option<String>>,
    pub domain_policy: Option<DomainPolicy>,
}

/// Filters of the organization list.
#[derive(Clone, Debug, Default)]
pub struct OrganizationFilter {
    /// Part of the name or slug, case-insensitive.
    pub search: Option<String>,
    pub kind: Option<OrganizationKind>,
}

const MAX_METADATA_BYTES: usize = 16 * 1024;

fn parse_metadata(value: Value) -> Result<Value> {
    if !value.is_object() {
        return Err(Error::validation("metadata", "must be a JSON object"));
    }
    if value.to_string().len() > MAX_METADATA_BYTES {
        return Err(Error::validation("metadata", "must be at most 16 KiB"));
    }
    Ok(value)
}

/// A role name: `[a-z][a-z0-9:_.-]{1,62}`; names starting with `org:` are the built-ins'.
fn parse_role_name(input: &str) -> Result<String> {
    let ok = (2..=63).contains(&input.len())
        && input.starts_with(|c: char| c.is_ascii_lowercase())
        && input
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ":_.-".contains(c));
    if !ok {
        return Err(Error::validation(
            "name",
            "must be 2 to 63 characters of a-z, 0-9, ':', '_', '.' and '-', starting with a letter",
        ));
    }
    if input.starts_with("org:") {
        return Err(Error::validation(
            "name",
            "names starting with org: are reserved for the built-in roles",
        ));
    }
    Ok(input.to_owned())
}

fn parse_permissions(inputs: &[String]) -> Result<Vec<String>> {
    if inputs.len() > 50 {
        return Err(Error::validation("permissions", "at most 50 permissions"));
    }
    let mut permissions: Vec<String> = Vec::new();
    for permission in inputs {
        let ok = !permission.is_empty()
            && permission.len() <= 100
            && permission
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":_.-/".contains(&b));
        if !ok {
            return Err(Error::validation(
                "permissions",
                format!(
                    "{permission:?} is not a permission name (a-z, 0-9, ':', '_', '.', '-', '/')"
                ),
            ));
        }
        if !permissions.contains(permission) {
            permissions.push(permission.clone());
        }
    }
    Ok(permissions)
}

/// Every role of the tenant: built-ins first, then the tenant's own by creation.
async fn roles_in(tx: &TenantTx) -> Result<Vec<OrganizationRole>> {
    let custom = tx.find::<role_row::Entity>().all().await?;
    let mut roles: Vec<OrganizationRole> = built_in_roles().collect();
    for row in custom {
        roles.push(OrganizationRole::try_from(row)?);
    }
    Ok(roles)
}

/// Checks that every name in `roles` is a role of the tenant; sorted and deduplicated.
pub(crate) async fn check_roles(tx: &TenantTx, roles: &[String]) -> Result<Vec<String>> {
    let known = roles_in(tx).await?;
    let mut checked: Vec<String> = Vec::new();
    for role in roles {
        if !known.iter().any(|k| &k.name == role) {
            return Err(Error::validation(
                "roles",
                format!("{role:?} is not an organization role of this tenant"),
            ));
        }
        if !checked.contains(role) {
            checked.push(role.clone());
        }
    }
    if checked.is_empty() {
        return Err(Error::validation("roles", "must name at least one role"));
    }
    checked.sort();
    Ok(checked)
}

/// The organization `id` of the transaction's tenant.
pub(crate) async fn find_in(tx: &TenantTx, id: Uuid) -> Result<Organization> {
    Organization::try_from(find_org(tx, id).await?)
}

/// The organization with this external id, if any.
pub(crate) async fn find_by_external_id(
    tx: &TenantTx,
    external_id: &str,
) -> Result<Option<Organization>> {
    tx.find::<org_row::Entity>()
        .filter(org_row::Column::ExternalId.eq(external_id))
        .one()
        .await?
        .map(Organization::try_from)
        .transpose()
}

async fn find_org(tx: &TenantTx, id: Uuid) -> Result<org_row::Model> {
    tx.find::<org_row::Entity>()
        .filter(org_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

async fn find_membership(
    tx: &TenantTx,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Option<member_row::Model>> {
    Ok(tx
        .find::<member_row::Entity>()
        .filter(member_row::Column::OrganizationId.eq(organization_id))
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .one()
        .await?)
}

/// Whether the caller may act on organization `id` with an organization `permission`;
/// tenant admins need `tenant_permission` instead. Identities that are not members get
/// `NotFound`; members without the permission `PermissionDenied`.
pub(crate) async fn authorize_in(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
    tenant_permission: Permission,
    permission: &str,
) -> Result<()> {
    let holds = match *actor.principal() {
        Principal::Identity {
            id: identity_id, ..
        } => match find_membership(tx, id, identity_id).await? {
            Some(membership) => Some(permissions_held(tx, membership.roles).await?),
            None => None,
        },
        _ => None,
    };
    authorize(
        actor,
        tenant_permission,
        Resource::Organization {
            id,
            holds: holds.as_deref(),
            needs: permission,
        },
    )?;
    Ok(())
}

/// The organization permissions that the roles of a membership (as stored) carry.
async fn permissions_held(tx: &TenantTx, held: Value) -> Result<Vec<String>> {
    let held: Vec<String> = serde_json::from_value(held).map_err(Error::internal)?;
    Ok(permissions_of(&roles_in(tx).await?, &held))
}

fn permissions_of(roles: &[OrganizationRole], held: &[String]) -> Vec<String> {
    roles
        .iter()
        .filter(|role| held.contains(&role.name))
        .flat_map(|role| role.permissions.iter().cloned())
        .collect()
}

/// An organization as events and connectors see it.
pub fn event_data(organization: &Organization) -> Value {
    json!({
        "id": organization.id,
        "name": organization.name,
        "slug": organization.slug,
        "kind": organization.kind.as_str(),
        "metadata": organization.metadata,
        "externalId": organization.external_id,
        "createdAt": organization.created_at,
        "updatedAt": organization.updated_at,
    })
}

/// A membership as events and connectors see it.
pub fn membership_event_data(membership: &Membership) -> Value {
    json!({
        "id": membership.id,
        "organizationId": membership.organization_id,
        "identityId": membership.identity_id,
        "roles": membership.roles,
    })
}

async fn publish(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    organization: &Organization,
) -> Result<()> {
    let subject = ("organization", organization.id);
    outbox::publish(tx, actor, event, subject, event_data(organization), &[]).await
}

/// Writes the event of a change to `membership` (as it is after it, before it for a removal).
async fn publish_membership(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    membership: &Membership,
) -> Result<()> {
    let subject = ("membership", membership.id);
    let data = membership_event_data(membership);
    outbox::publish(tx, actor, event, subject, data, &[]).await
}

pub(crate) async fn record(
    tx: &TenantTx,
    actor: &Actor,
    action: &str,
    kind: &'static str,
    id: Uuid,
    details: Value,
) -> Result<()> {
    let target = id.to_string();
    audit::record(
        tx,
        actor,
        action,
        Some(Target { kind, id: &target }),
        details,
    )
    .await
}

fn conflict_on_unique(error: sea_orm::DbErr, message: &str) -> Error {
    if is_unique_violation(&error) {
        Error::Conflict(message.to_owned())
    } else {
        error.into()
    }
}

/// Creates an organization. Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.create_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_organization(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    new: NewOrganization,
) -> Result<Organization> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let name = Name::parse("name", &new.name, 200)?;
    let slug = Slug::parse("slug", &new.slug)?;
    let metadata = parse_metadata(new.metadata.unwrap_or_else(|| json!({})))?;
    let external_id = match new.external_id {
        Some(id) => Some(ExternalId::parse("externalId", &id)?.into_inner()),
        None => None,
    };
    let now = Utc::now();
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .insert(org_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            name: Set(name.into_inner()),
            slug: Set(slug.as_str().to_owned()),
            kind: Set(new.kind.as_str().to_owned()),
            metadata: Set(metadata),
            external_id: Set(external_id),
            domain_policy: Set(DomainPolicy::None.as_str().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .await
        .map_err(|e| {
            conflict_on_unique(e, "an organization with this slug or external id exists")
        })?;
    let org = Organization::try_from(row)?;
    record(
        &tx,
        actor,
        "organization.create",
        "organization",
        org.id,
        json!({ "name": org.name, "slug": org.slug, "kind": org.kind.as_str() }),
    )
    .await?;
    publish(&tx, actor, EventType::OrganizationCreated, &org).await?;
    tx.commit().await?;
    Ok(org)
}

/// Changes an organization: tenant admins (`WriteOrganizations`) or its members with
/// `organization:write`.
#[tracing::instrument(name = "core.update_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn update_organization(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    changes: OrganizationChanges,
) -> Result<Organization> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(
        &tx,
        actor,
        id,
        Permission::WriteOrganizations,
        permission::WRITE_ORGANIZATION,
    )
    .await?;
    // The kind and the external id (the CRM link) are the tenant's to decide.
    if matches!(*actor.principal(), Principal::Identity { .. })
        && (changes.kind.is_some() || changes.external_id.is_some())
    {
        return Err(Error::PermissionDenied);
    }
    let mut active: org_row::ActiveModel = find_org(&tx, id).await?.into();
    if let Some(name) = changes.name {
        active.name = Set(Name::parse("name", &name, 200)?.into_inner());
    }
    if let Some(slug) = changes.slug {
        active.slug = Set(Slug::parse("slug", &slug)?.as_str().to_owned());
    }
    if let Some(kind) = changes.kind {
        active.kind = Set(kind.as_str().to_owned());
    }
    if let Some(policy) = changes.domain_policy {
        active.domain_policy = Set(policy.as_str().to_owned());
    }
    if let Some(metadata) = changes.metadata {
        active.metadata = Set(parse_metadata(metadata)?);
    }
    if let Some(external_id) = changes.external_id {
        active.external_id = Set(match external_id {
            Some(id) => Some(ExternalId::parse("externalId", &id)?.into_inner()),
            None => None,
        });
    }
    active.updated_at = Set(Utc::now());
    let row = tx.update(active).await.map_err(|e| {
        conflict_on_unique(e, "an organization with this slug or external id exists")
    })?;
    let org = Organization::try_from(row)?;
    record(
        &tx,
        actor,
        "organization.update",
        "organization",
        org.id,
        json!({ "name": org.name, "slug": org.slug, "kind": org.kind.as_str() }),
    )
    .await?;
    publish(&tx, actor, EventType::OrganizationUpdated, &org).await?;
    tx.commit().await?;
    Ok(org)
}

/// Deletes an organization with its memberships, and revokes the sessions scoped to it.
/// Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.delete_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn delete_organization(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Organization> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let org = Organization::try_from(find_org(&tx, id).await?)?;
    session_store::revoke_organization_sessions_in(&tx, id, None).await?;
    // Its invitations and domains go with it (their modules subscribe to the event), before
    // the rows they point to.
    publish(&tx, actor, EventType::OrganizationDeleted, &org).await?;
    tx.delete_many::<member_row::Entity>()
        .filter(member_row::Column::OrganizationId.eq(id))
        .exec()
        .await?;
    tx.delete_many::<org_row::Entity>()
        .filter(org_row::Column::Id.eq(id))
        .exec()
        .await?;
    record(
        &tx,
        actor,
        "organization.delete",
        "organization",
        id,
        json!({ "name": org.name, "slug": org.slug }),
    )
    .await?;
    tx.commit().await?;
    Ok(org)
}

/// One organization: tenant admins (`ReadOrganizations`) or its members with
/// `organization:read`.
#[tracing::instrument(name = "core.get_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn get_organization(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Organization> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(
        &tx,
        actor,
        id,
        Permission::ReadOrganizations,
        permission::READ_ORGANIZATION,
    )
    .await?;
    let org = Organization::try_from(find_org(&tx, id).await?)?;
    tx.commit().await?;
    Ok(org)
}

/// The tenant's organizations, oldest first. Requires `ReadOrganizations`.
#[tracing::instrument(name = "core.list_organizations", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_organizations(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    filter: OrganizationFilter,
    page: PageRequest,
) -> Result<Page<Organization>> {
    authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let mut condition = Condition::all();
    if let Some(kind) = filter.kind {
        condition = condition.add(org_row::Column::Kind.eq(kind.as_str()));
    }
    if let Some(search) = filter.search.filter(|s| !s.trim().is_empty()) {
        let pattern = contains_pattern(&search);
        condition = condition.add(
            Condition::any()
                .add(
                    Expr::expr(Func::lower(Expr::col(org_row::Column::Name)))
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(Expr::col(org_row::Column::Slug).like(LikeExpr::new(pattern).escape('\\'))),
        );
    }
    let query = tx.find::<org_row::Entity>().filter(condition);
    let rows = keyset(query, org_row::Column::Id, page).await?;
    tx.commit().await?;
    rows.try_map(Organization::try_from)
}

/// For an identity acting through its membership: it may hand out only roles whose
/// permissions it holds itself (nobody grants more than they have), and never change its own
/// roles. Tenant admins are not limited here.
pub(crate) async fn check_may_grant(
    tx: &TenantTx,
    actor: &Actor,
    organization_id: Uuid,
    target: Option<Uuid>,
    roles: &[String],
) -> Result<()> {
    let Principal::Identity { id, .. } = *actor.principal() else {
        return Ok(());
    };
    if target == Some(id) {
        return Err(Error::Refused(
            "members cannot change their own roles".into(),
        ));
    }
    let membership = find_membership(tx, organization_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let own = permissions_held(tx, membership.roles).await?;
    let all = roles_in(tx).await?;
    let beyond = all
        .iter()
        .filter(|role| roles.contains(&role.name))
        .find(|role| role.permissions.iter().any(|p| !own.contains(&p)));
    match beyond {
        Some(role) => Err(Error::Refused(format!(
            "role {:?} carries permissions you do not hold",
            role.name
        ))),
        None => Ok(()),
    }
}

/// One organization inside `tx`, `NotFound` if it is not in the tenant.
pub(crate) async fn organization_in(tx: &TenantTx, id: Uuid) -> Result<Organization> {
    Organization::try_from(find_org(tx, id).await?)
}

/// Writes a membership with checked `roles`; `Conflict` if the identity is a member already.
pub(crate) async fn insert_membership_in(
    tx: &TenantTx,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
) -> Result<Membership> {
    let roles = check_roles(tx, roles).await?;
    let now = Utc::now();
    let row = tx
        .insert(member_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization_id),
            identity_id: Set(identity_id),
            roles: Set(json!(roles)),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .await
        .map_err(|e| conflict_on_unique(e, "the identity is already a member"))?;
    let membership = Membership::try_from(row)?;
    publish_membership(tx, actor, EventType::MembershipAdded, &membership).await?;
    Ok(membership)
}

/// Adds an identity to an organization with `roles`. Tenant admins only
/// (`WriteOrganizations`); members with `members:write` invite instead.
#[tracing::instrument(name = "core.add_member", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn add_member(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
) -> Result<Member> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(
        &tx,
        actor,
        organization_id,
        Permission::WriteOrganizations,
        permission::WRITE_MEMBERS,
    )
    .await?;
    // An identity cannot pull another identity in: people join through invitations, which
    // they accept themselves.
    if matches!(*actor.principal(), Principal::Identity { .. }) {
        return Err(Error::Refused(
            "organization members invite people (inviteOrganizationMember); adding an identity directly is for tenant admins".into(),
        ));
    }
    find_org(&tx, organization_id).await?;
    if !matches!(
        identities::status_of(&tx, identity_id).await?,
        Some(identities::IdentityStatus::Active | identities::IdentityStatus::Suspended)
    ) {
        return Err(Error::NotFound);
    }
    let membership = insert_membership_in(&tx, actor, organization_id, identity_id, roles).await?;
    record(
        &tx,
        actor,
        "organization.member.add",
        "organization",
        organization_id,
        json!({ "identityId": identity_id, "roles": membership.roles }),
    )
    .await?;
    let member = member_of(&tx, membership).await?;
    tx.commit().await?;
    Ok(member)
}

/// Replaces a member's roles. Same permission as [`add_member`]. Sessions scoped to the
/// organization pick up the new roles at their next refresh.
#[tracing::instrument(name = "core.update_member_roles", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn update_member_roles(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
) -> Result<Member> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(
        &tx,
        actor,
        organization_id,
        Permission::WriteOrganizations,
        permission::WRITE_MEMBERS,
    )
    .await?;
    let current = find_membership(&tx, organization_id, identity_id)
        .await?
        .ok_or(Error::NotFound)?;
    let roles = check_roles(&tx, roles).await?;
    // Both the roles taken away and the roles given must be within the caller's own.
    let before: Vec<String> =
        serde_json::from_value(current.roles.clone()).map_err(Error::internal)?;
    let touched: Vec<String> = before.iter().chain(roles.iter()).cloned().collect();
    check_may_grant(&tx, actor, organization_id, Some(identity_id), &touched).await?;
    let mut active: member_row::ActiveModel = current.into();
    active.roles = Set(json!(roles));
    active.updated_at = Set(Utc::now());
    let membership = Membership::try_from(tx.update(active).await?)?;
    record(
        &tx,
        actor,
        "organization.member.update",
        "organization",
        organization_id,
        json!({ "identityId": identity_id, "roles": membership.roles }),
    )
    .await?;
    publish_membership(&tx, actor, EventType::MembershipUpdated, &membership).await?;
    let member = member_of(&tx, membership).await?;
    tx.commit().await?;
    Ok(member)
}

/// Removes a member and revokes their sessions (and refresh tokens) scoped to the
/// organization. Same permission as [`add_member`]; members may also leave on their own.
#[tracing::instrument(name = "core.remove_member", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn remove_member(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Member> {
    let tx = db.begin_tenant(scope).await?;
    let leaving = matches!(*actor.principal(), Principal::Identity { id, .. } if id == identity_id);
    if !leaving {
        authorize_in(
            &tx,
            actor,
            organization_id,
            Permission::WriteOrganizations,
            permission::WRITE_MEMBERS,
        )
        .await?;
    }
    let current = find_membership(&tx, organization_id, identity_id)
        .await?
        .ok_or(Error::NotFound)?;
    let member = member_of(&tx, Membership::try_from(current)?).await?;
    if !leaving {
        check_may_grant(
            &tx,
            actor,
            organization_id,
            Some(identity_id),
            &member.membership.roles,
        )
        .await?;
    }
    tx.delete_many::<member_row::Entity>()
        .filter(member_row::Column::Id.eq(member.membership.id))
        .exec()
        .await?;
    let revoked =
        session_store::revoke_organization_sessions_in(&tx, organization_id, Some(identity_id))
            .await?;
    record(
        &tx,
        actor,
        "organization.member.remove",
        "organization",
        organization_id,
        json!({ "identityId": identity_id, "revokedSessions": revoked }),
    )
    .await?;
    publish_membership(&tx, actor, EventType::MembershipRemoved, &member.membership).await?;
    tx.commit().await?;
    Ok(member)
}

/// An organization's members, oldest first: tenant admins or members with `members:read`.
#[tracing::instrument(name = "core.list_members", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_members(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    page: PageRequest,
) -> Result<Page<Member>> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(
        &tx,
        actor,
        organization_id,
        Permission::ReadOrganizations,
        permission::READ_MEMBERS,
    )
    .await?;
    let query = tx
        .find::<member_row::Entity>()
        .filter(member_row::Column::OrganizationId.eq(organization_id));
    let rows = keyset(query, member_row::Column::Id, page).await?;
    let page = complete_page(&tx, rows).await?;
    tx.commit().await?;
    Ok(page)
}

/// The first page (`first` members, oldest first) of each of `organization_ids` whose
/// members the actor may list, in a fixed number of SQL statements whatever the number of
/// organizations (for the GraphQL DataLoader). Organizations missing from the answer are not
/// listable by the actor; [`list_members`] says why.
#[tracing::instrument(name = "core.first_members", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn first_members(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_ids: &[Uuid],
    first: u64,
) -> Result<HashMap<Uuid, Page<Member>>> {
    let tx = db.begin_tenant(scope).await?;
    let allowed = permitted_in(
        &tx,
        actor,
        organization_ids,
        Permission::ReadOrganizations,
        permission::READ_MEMBERS,
    )
    .await?;
    if allowed.is_empty() {
        tx.commit().await?;
        return Ok(HashMap::new());
    }
    // Up to `first + 1` rows per organization (the extra one tells whether more exist).
    let rows = tx
        .find_raw::<member_row::Entity>(|binds| {
            let in_list: Vec<String> = allowed.iter().map(|id| binds.bind(*id)).collect();
            let limit = binds.bind(i64::try_from(first + 1).unwrap_or(i64::MAX));
            format!(
                "SELECT tenant_id, id, organization_id, identity_id, roles, created_at, updated_at \
                 FROM (SELECT m.*, ROW_NUMBER() OVER (PARTITION BY organization_id ORDER BY id) \
                 AS position FROM memberships m WHERE {} AND organization_id IN ({})) \
                 ranked WHERE position <= {limit} ORDER BY organization_id, id",
                binds.tenant_matches("m"),
                in_list.join(", "),
            )
        })?
        .all()
        .await?;
    let totals: Vec<(Uuid, i64)> = tx
        .find::<member_row::Entity>()
        .select_only()
        .column(member_row::Column::OrganizationId)
        .column_as(member_row::Column::Id.count(), "members")
        .filter(member_row::Column::OrganizationId.is_in(allowed.iter().copied()))
        .group_by(member_row::Column::OrganizationId)
        .into_tuple()
        .all()
        .await?;
    let memberships = rows
        .into_iter()
        .map(Membership::try_from)
        .collect::<Result<Vec<_>>>()?;
    let members = members_of(&tx, memberships).await?;
    tx.commit().await?;
    let request = PageRequest { first, after: None };
    let mut grouped: HashMap<Uuid, Vec<Member>> =
        allowed.iter().map(|id| (*id, Vec::new())).collect();
    for member in members {
        grouped
            .entry(member.membership.organization_id)
            .or_default()
            .push(member);
    }
    Ok(grouped
        .into_iter()
        .map(|(id, items)| {
            let total = totals
                .iter()
                .find(|(org, _)| *org == id)
                .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0));
            (id, Page::from_rows(items, request, total))
        })
        .collect())
}

/// Which of `organization_ids` the actor holds `permission` in (identities, by their roles
/// there), or all of them with `tenant_permission` (tenant credentials): two statements at
/// most.
async fn permitted_in(
    tx: &TenantTx,
    actor: &Actor,
    organization_ids: &[Uuid],
    tenant_permission: Permission,
    permission: &str,
) -> Result<Vec<Uuid>> {
    let allowed = |id: Uuid, holds: Option<&[String]>| {
        authorize(
            actor,
            tenant_permission,
            Resource::Organization {
                id,
                holds,
                needs: permission,
            },
        )
        .is_ok()
    };
    let Principal::Identity {
        id: identity_id, ..
    } = *actor.principal()
    else {
        return Ok(organization_ids
            .iter()
            .copied()
            .filter(|id| allowed(*id, None))
            .collect());
    };
    let memberships = tx
        .find::<member_row::Entity>()
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .filter(member_row::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .all()
        .await?;
    if memberships.is_empty() {
        return Ok(Vec::new());
    }
    let roles = roles_in(tx).await?;
    let mut permitted = Vec::new();
    for membership in memberships {
        let held: Vec<String> =
            serde_json::from_value(membership.roles).map_err(Error::internal)?;
        if allowed(
            membership.organization_id,
            Some(&permissions_of(&roles, &held)),
        ) {
            permitted.push(membership.organization_id);
        }
    }
    Ok(permitted)
}

/// The organizations an identity belongs to (its memberships), oldest first: the identity
/// itself, or tenant admins with `ReadOrganizations`.
#[tracing::instrument(name = "core.identity_memberships", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn identity_memberships(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
    page: PageRequest,
) -> Result<Page<Member>> {
    authorize(
        actor,
        Permission::ReadOrganizations,
        Resource::OwnedBy(identity_id),
    )?;
    let tx = db.begin_tenant(scope).await?;
    let query = tx
        .find::<member_row::Entity>()
        .filter(member_row::Column::IdentityId.eq(identity_id));
    let rows = keyset(query, member_row::Column::Id, page).await?;
    let page = complete_page(&tx, rows).await?;
    tx.commit().await?;
    Ok(page)
}

/// Up to `limit` organizations by id after `after`, and how many there are (for backfills).
pub(crate) async fn page_in(
    tx: &TenantTx,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Organization>> {
    let mut query = tx.find::<org_row::Entity>();
    if let Some(after) = after {
        query = query.filter(org_row::Column::Id.gt(after));
    }
    query
        .order_by_asc(org_row::Column::Id)
        .limit(limit)
        .all()
        .await?
        .into_iter()
        .map(Organization::try_from)
        .collect()
}

/// Up to `limit` memberships by id after `after` (for backfills).
pub(crate) async fn memberships_page_in(
    tx: &TenantTx,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Membership>> {
    let mut query = tx.find::<member_row::Entity>();
    if let Some(after) = after {
        query = query.filter(member_row::Column::Id.gt(after));
    }
    query
        .order_by_asc(member_row::Column::Id)
        .limit(limit)
        .all()
        .await?
        .into_iter()
        .map(Membership::try_from)
        .collect()
}

/// How many organizations and memberships the tenant has.
pub(crate) async fn count_in(tx: &TenantTx) -> Result<(u64, u64)> {
    let organizations = tx.find::<org_row::Entity>().count().await?;
    let memberships = tx.find::<member_row::Entity>().count().await?;
    Ok((organizations, memberships))
}

/// The organizations `identity_id` belongs to, by name (at most `limit`).
pub(crate) async fn organizations_of_in(
    tx: &TenantTx,
    identity_id: Uuid,
    limit: u64,
) -> Result<Vec<Organization>> {
    let org_ids: Vec<Uuid> = tx
        .find::<member_row::Entity>()
        .select_only()
        .column(member_row::Column::OrganizationId)
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .limit(limit)
        .into_tuple()
        .all()
        .await?;
    let mut organizations = tx
        .find::<org_row::Entity>()
        .filter(org_row::Column::Id.is_in(org_ids))
        .all()
        .await?
        .into_iter()
        .map(Organization::try_from)
        .collect::<Result<Vec<_>>>()?;
    organizations.sort_by_key(|organization| organization.name.to_lowercase());
    Ok(organizations)
}

/// Defines an organization role for the tenant. Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.create_organization_role", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_organization_role(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    name: &str,
    description: Option<&str>,
    permissions: &[String],
) -> Result<OrganizationRole> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let name = parse_role_name(name)?;
    let description = match description {
        Some(text) => Some(Name::parse("description", text, 500)?.into_inner()),
        None => None,
    };
    let permissions = parse_permissions(permissions)?;
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .insert(role_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            name: Set(name),
            description: Set(description),
            permissions: Set(json!(permissions)),
            created_at: Set(Utc::now()),
        })
        .await
        .map_err(|e| conflict_on_unique(e, "a role with this name exists"))?;
    let role = OrganizationRole::try_from(row)?;
    record(
        &tx,
        actor,
        "organization_role.create",
        "organization_role",
        role.id.unwrap_or_default(),
        json!({ "name": role.name, "permissions": role.permissions }),
    )
    .await?;
    tx.commit().await?;
    Ok(role)
}

/// Deletes a tenant-defined role that no member holds. Requires `WriteOrganizations`.
#[tracing::instrument(name = "core.delete_organization_role", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn delete_organization_role(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<OrganizationRole> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<role_row::Entity>()
        .filter(role_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let role = OrganizationRole::try_from(row)?;
    // The roles column is a JSON array of names; role names cannot contain quotes, so the
    // quoted name matches exactly that element.
    let quoted = format!("\"{}\"", role.name).replace('_', "\\_");
    let holders = tx
        .find::<member_row::Entity>()
        .filter(
            Expr::expr(Func::cast_as(Expr::col(member_row::Column::Roles), "TEXT"))
                .like(LikeExpr::new(format!("%{quoted}%")).escape('\\')),
        )
        .count()
        .await?;
    if holders > 0 {
        return Err(Error::Conflict(format!(
            "{holders} member(s) hold this role; change their roles first"
        )));
    }
    tx.delete_many::<role_row::Entity>()
        .filter(role_row::Column::Id.eq(id))
        .exec()
        .await?;
    record(
        &tx,
        actor,
        "organization_role.delete",
        "organization_role",
        id,
        json!({ "name": role.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(role)
}

/// The tenant's organization roles, built-ins first. Requires `ReadOrganizations`, or any
/// identity (so member UIs can show role names).
#[tracing::instrument(name = "core.list_organization_roles", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_organization_roles(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Vec<OrganizationRole>> {
    authorize(actor, Permission::ReadOrganizations, Resource::Directory)?;
    let tx = db.begin_tenant(scope).await?;
    let roles = roles_in(&tx).await?;
    tx.commit().await?;
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_checked_and_org_prefix_is_reserved() {
        assert!(parse_role_name("billing-admin").is_ok());
        assert!(parse_role_name("team:lead").is_ok());
        assert!(parse_role_name("org:owner").is_err());
        assert!(parse_role_name("Billing").is_err());
        assert!(parse_role_name("x").is_err());
        assert!(parse_permissions(&["invoices:read".into()]).is_ok());
        assert!(parse_permissions(&["has space".into()]).is_err());
    }

    #[test]
    fn the_built_in_admin_manages_members_and_the_member_reads() {
        let roles: Vec<_> = built_in_roles().collect();
        let admin = roles.iter().find(|r| r.name == ORG_ADMIN).unwrap();
        assert!(
            admin
                .permissions
                .iter()
                .any(|p| p == permission::WRITE_MEMBERS)
        );
        let member = roles.iter().find(|r| r.name == ORG_MEMBER).unwrap();
        assert!(
            !member
                .permissions
                .iter()
                .any(|p| p == permission::WRITE_MEMBERS)
        );
        assert!(member.built_in());
    }
}
