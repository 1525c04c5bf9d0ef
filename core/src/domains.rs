//! Verified email domains of organizations, and what their domain policy does for people who
//! sign up with an address at one: join at once (once the address is verified), or ask to
//! join and wait for an organization admin.
//!
//! A domain is verified by a DNS TXT record (`_latchkey-verification.<domain>` holding
//! `latchkey-verification=<token>`), looked up through the configured resolver, or by hand by
//! a tenant admin. Within a tenant, a domain is verified for one organization at most.

use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::{Database, Query, TenantTx};
use crate::db::{DomainEvent, EventSubscriber};
use crate::dns::{DnsVerifier, VerificationRecord};
use crate::error::{Error, Result, is_unique_violation};
use crate::identities::{self, Identity};
use crate::organizations::{self, DomainPolicy, ORG_MEMBER, permission};
use crate::outbox::EventType;
use crate::page::{self, Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::secrets;
use crate::validate::Domain;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Select, Set};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

mod domain_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "organization_domains")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub domain: String,
        pub verification_token: String,
        pub verified_at: Option<DateTimeUtc>,
        pub verification_method: Option<String>,
        pub created_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(domain_row);

mod request_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "join_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub identity_id: Uuid,
        pub domain: String,
        pub status: String,
        pub created_at: DateTimeUtc,
        pub decided_at: Option<DateTimeUtc>,
        pub decided_by: Option<String>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(request_row);

/// Mailbox providers whose domains no organization may claim: verifying one would let every
/// user of the provider join.
const SHARED_MAIL_DOMAINS: [&str; 20] = [
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "web.de",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
];

/// How a domain was verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerificationMethod {
    Dns,
    Manual,
}

impl VerificationMethod {
    fn as_str(self) -> &'static str {
        match self {
            VerificationMethod::Dns => "dns",
            VerificationMethod::Manual => "manual",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "dns" => Ok(VerificationMethod::Dns),
            "manual" => Ok(VerificationMethod::Manual),
            other => Err(Error::internal(format!(
                "unknown verification method {other:?}"
            ))),
        }
    }
}

/// A domain an organization claims, verified or waiting for its DNS record.
#[derive(Clone, Debug)]
pub struct OrganizationDomain {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub domain: String,
    /// The TXT record to publish: its name and its value.
    pub record_name: String,
    pub record_value: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub verification_method: Option<VerificationMethod>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<domain_row::Model> for OrganizationDomain {
    type Error = Error;

    fn try_from(row: domain_row::Model) -> Result<Self> {
        let record = VerificationRecord::new(&row.domain, &row.verification_token);
        Ok(Self {
            id: row.id,
            organization_id: row.organization_id,
            record_name: record.name,
            record_value: record.value,
            domain: row.domain,
            verified_at: row.verified_at,
            verification_method: row
                .verification_method
                .as_deref()
                .map(VerificationMethod::parse)
                .transpose()?,
            created_at: row.created_at,
        })
    }
}

/// The organization for which `domain` (lower case) is verified in the tenant, if any.
pub(crate) async fn verified_owner_in(tx: &TenantTx, domain: &str) -> Result<Option<Uuid>> {
    Ok(tx
        .find::<domain_row::Entity>()
        .filter(domain_row::Column::Domain.eq(domain))
        .filter(domain_row::Column::VerifiedAt.is_not_null())
        .one()
        .await?
        .map(|row| row.organization_id))
}

async fn find_domain(tx: &TenantTx, id: Uuid) -> Result<domain_row::Model> {
    tx.find::<domain_row::Entity>()
        .filter(domain_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

/// Claims `domain` for an organization; it stays unverified until its DNS record is found
/// ([`verify_domain`]) or a tenant admin verifies it ([`mark_domain_verified`]). Tenant admins
/// (`WriteOrganizations`) or members with `organization:write`.
#[tracing::instrument(name = "core.add_domain", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn add_domain(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    domain: &str,
) -> Result<OrganizationDomain> {
    let tx = db.begin_tenant(scope).await?;
    organizations::authorize_in(
        &tx,
        actor,
        organization_id,
        organizations::Needs::WRITE_ORGANIZATION,
    )
    .await?;
    // Tenant admins pass the check above for any id: an organization of another tenant (or
    // none) is not found.
    organizations::find_in(&tx, organization_id).await?;
    let domain = Domain::parse("domain", domain)?;
    if SHARED_MAIL_DOMAINS.contains(&domain.as_str()) {
        return Err(Error::validation(
            "domain",
            "is a shared mailbox provider; an organization can only claim a domain of its own",
        ));
    }
    let token = secrets::generate("");
    let row = tx
        .insert(domain_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization_id),
            domain: Set(domain.as_str().to_owned()),
            verification_token: Set(token),
            verified_at: Set(None),
            verification_method: Set(None),
            created_at: Set(Utc::now()),
        })
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                Error::Conflict("the organization has already added this domain".into())
            } else {
                error.into()
            }
        })?;
    let added = OrganizationDomain::try_from(row)?;
    organizations::record(
        &tx,
        actor,
        "organization.domain.add",
        "organization",
        organization_id,
        json!({ "domain": added.domain }),
    )
    .await?;
    tx.commit().await?;
    Ok(added)
}

/// Marks a domain verified in its own transaction; a domain verified by another organization
/// of the tenant is a conflict.
async fn set_verified(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    method: VerificationMethod,
) -> Result<OrganizationDomain> {
    let tx = db.begin_tenant(scope).await?;
    let row = find_domain(&tx, id).await?;
    if row.verified_at.is_some() {
        return OrganizationDomain::try_from(row);
    }
    let organization_id = row.organization_id;
    let mut active: domain_row::ActiveModel = row.into();
    active.verified_at = Set(Some(Utc::now()));
    active.verification_method = Set(Some(method.as_str().to_owned()));
    let row = tx.update(active).await.map_err(|error| {
        if is_unique_violation(&error) {
            Error::Conflict(
                "another organization of this tenant has verified this domain; remove it there first"
                    .into(),
            )
        } else {
            error.into()
        }
    })?;
    let verified = OrganizationDomain::try_from(row)?;
    organizations::record(
        &tx,
        actor,
        "organization.domain.verify",
        "organization",
        organization_id,
        json!({ "domain": verified.domain, "method": method.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(verified)
}

/// Looks up the domain's TXT record and, when it holds the token, marks the domain verified.
/// Same permission as [`add_domain`].
#[tracing::instrument(name = "core.verify_domain", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn verify_domain(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    dns: &DnsVerifier,
    id: Uuid,
) -> Result<OrganizationDomain> {
    // The lookup can take seconds: no transaction stays open during it.
    let tx = db.begin_tenant(scope).await?;
    let row = find_domain(&tx, id).await?;
    organizations::authorize_in(
        &tx,
        actor,
        row.organization_id,
        organizations::Needs::WRITE_ORGANIZATION,
    )
    .await?;
    tx.commit().await?;
    let claimed = OrganizationDomain::try_from(row)?;
    if claimed.verified_at.is_some() {
        return Ok(claimed);
    }
    dns.check(&VerificationRecord {
        name: claimed.record_name,
        value: claimed.record_value,
    })
    .await?;
    set_verified(db, scope, actor, id, VerificationMethod::Dns).await
}

/// Marks a domain verified without DNS, for tenant admins who know the organization owns it.
/// Requires `WriteOrganizations` (organization members cannot).
#[tracing::instrument(name = "core.mark_domain_verified", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn mark_domain_verified(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<OrganizationDomain> {
    authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?;
    set_verified(db, scope, actor, id, VerificationMethod::Manual).await
}

/// Removes a domain from its organization. Same permission as [`add_domain`].
#[tracing::instrument(name = "core.remove_domain", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn remove_domain(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<OrganizationDomain> {
    let tx = db.begin_tenant(scope).await?;
    let row = find_domain(&tx, id).await?;
    organizations::authorize_in(
        &tx,
        actor,
        row.organization_id,
        organizations::Needs::WRITE_ORGANIZATION,
    )
    .await?;
    tx.delete_many::<domain_row::Entity>()
        .filter(domain_row::Column::Id.eq(id))
        .exec()
        .await?;
    let removed = OrganizationDomain::try_from(row)?;
    organizations::record(
        &tx,
        actor,
        "organization.domain.remove",
        "organization",
        removed.organization_id,
        json!({ "domain": removed.domain }),
    )
    .await?;
    tx.commit().await?;
    Ok(removed)
}

/// An organization's domains, in the order they were added: tenant admins or members with
/// `organization:read`.
#[tracing::instrument(name = "core.list_domains", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_domains(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
) -> Result<Vec<OrganizationDomain>> {
    let tx = db.begin_tenant(scope).await?;
    organizations::authorize_in(
        &tx,
        actor,
        organization_id,
        organizations::Needs::READ_ORGANIZATION,
    )
    .await?;
    organizations::find_in(&tx, organization_id).await?;
    let mut domains = domains_of(&tx, &[organization_id]).await?;
    tx.commit().await?;
    Ok(domains.remove(&organization_id).unwrap_or_default())
}

/// The domains of each of `organization_ids` whose domains the actor may list, in a fixed
/// number of SQL statements whatever the number of organizations (for the GraphQL DataLoader).
/// Same permission as [`list_domains`]; organizations missing from the answer are not
/// listable by the actor (or do not exist), and [`list_domains`] says why.
#[tracing::instrument(name = "core.domains_by_organization", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn domains_by_organization(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrganizationDomain>>> {
    let tx = db.begin_tenant(scope).await?;
    let allowed = organizations::permitted_in(
        &tx,
        actor,
        organization_ids,
        Permission::ReadOrganizations,
        permission::READ_ORGANIZATION,
    )
    .await?;
    let listable = organizations::existing_in(&tx, &allowed).await?;
    let domains = domains_of(&tx, &listable).await?;
    tx.commit().await?;
    Ok(domains)
}

/// The domains of each of `organization_ids` (an entry for each, empty when it has none), in
/// the order they were added: one statement, none without organizations.
async fn domains_of(
    tx: &TenantTx,
    organization_ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<OrganizationDomain>>> {
    let mut domains: HashMap<Uuid, Vec<OrganizationDomain>> = organization_ids
        .iter()
        .map(|id| (*id, Vec::new()))
        .collect();
    if organization_ids.is_empty() {
        return Ok(domains);
    }
    let rows = tx
        .find::<domain_row::Entity>()
        .filter(domain_row::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .order_by_asc(domain_row::Column::Id)
        .all()
        .await?;
    for row in rows {
        domains
            .entry(row.organization_id)
            .or_default()
            .push(OrganizationDomain::try_from(row)?);
    }
    Ok(domains)
}

/// Removes an organization's domains and join requests, before the organization goes.
/// The domain rules that react to domain events: an identity created, or whose email or its
/// verification changed, gets its organization's domain policy; a deleted organization's
/// domains and join requests go with it.
#[derive(Debug, Default)]
pub struct DomainReactions;

#[async_trait::async_trait]
impl EventSubscriber for DomainReactions {
    async fn on_event(
        &self,
        tx: &TenantTx,
        actor: &Actor,
        event: &DomainEvent,
        changed: &[&'static str],
    ) -> Result<()> {
        match EventType::parse(&event.event_type) {
            Some(EventType::IdentityCreated) => {
                apply_policy_in(tx, actor, &identities::find_in(tx, event.subject_id).await?).await
            }
            Some(EventType::IdentityUpdated)
                if changed.contains(&"email") || changed.contains(&"emailVerified") =>
            {
                apply_policy_in(tx, actor, &identities::find_in(tx, event.subject_id).await?).await
            }
            Some(EventType::OrganizationDeleted) => {
                delete_for_organization_in(tx, event.subject_id).await
            }
            _ => Ok(()),
        }
    }
}

async fn delete_for_organization_in(tx: &TenantTx, organization_id: Uuid) -> Result<()> {
    tx.delete_many::<domain_row::Entity>()
        .filter(domain_row::Column::OrganizationId.eq(organization_id))
        .exec()
        .await?;
    tx.delete_many::<request_row::Entity>()
        .filter(request_row::Column::OrganizationId.eq(organization_id))
        .exec()
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Join requests

/// Where a join request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JoinRequestStatus {
    Pending,
    Approved,
    Declined,
}

impl JoinRequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinRequestStatus::Pending => "pending",
            JoinRequestStatus::Approved => "approved",
            JoinRequestStatus::Declined => "declined",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "pending" => Ok(JoinRequestStatus::Pending),
            "approved" => Ok(JoinRequestStatus::Approved),
            "declined" => Ok(JoinRequestStatus::Declined),
            other => Err(Error::internal(format!(
                "unknown join request status {other:?}"
            ))),
        }
    }
}

/// Someone who signed up at a verified domain of an organization whose policy is
/// `RequestToJoin`, waiting for (or past) an organization admin's decision.
#[derive(Clone, Debug)]
pub struct JoinRequest {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// Who asked, as they are now.
    pub identity: Identity,
    pub domain: String,
    pub status: JoinRequestStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Completes join request rows with their identities: one query whatever their number, none
/// without rows.
async fn with_identities(tx: &TenantTx, rows: Vec<request_row::Model>) -> Result<Vec<JoinRequest>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.identity_id).collect();
    let found = identities::find_many_in(tx, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let identity = found
                .iter()
                .find(|identity| identity.id == row.identity_id)
                .cloned()
                .ok_or_else(|| Error::internal("join request of a missing identity"))?;
            Ok(JoinRequest {
                id: row.id,
                organization_id: row.organization_id,
                identity,
                domain: row.domain,
                status: JoinRequestStatus::parse(&row.status)?,
                created_at: row.created_at,
                decided_at: row.decided_at,
            })
        })
        .collect()
}

/// Applies the domain policy of the organization that verified the domain of `identity`'s
/// email address, if any: `AutoJoin` makes a verified address a member, `RequestToJoin` files
/// a join request. Called in the transaction that created the identity or changed its email.
async fn apply_policy_in(tx: &TenantTx, actor: &Actor, identity: &Identity) -> Result<()> {
    // The stored form of the address has its domain in the stored form of domains.
    let Some((_, domain)) = identity.email_normalized.rsplit_once('@') else {
        return Ok(());
    };
    let Some(claimed) = tx
        .find::<domain_row::Entity>()
        .filter(domain_row::Column::Domain.eq(domain))
        .filter(domain_row::Column::VerifiedAt.is_not_null())
        .one()
        .await?
    else {
        return Ok(());
    };
    let organization_id = claimed.organization_id;
    let organization = organizations::find_in(tx, organization_id).await?;
    if organizations::is_member_in(tx, organization_id, identity.id).await? {
        return Ok(());
    }
    // An address nobody has verified proves nothing about who signed up: neither policy acts
    // on it (they do once it is verified).
    if !identity.email_verified {
        return Ok(());
    }
    match organization.domain_policy {
        DomainPolicy::None => Ok(()),
        DomainPolicy::AutoJoin => {
            let roles = [ORG_MEMBER.to_owned()];
            let window = organizations::Window::default();
            organizations::insert_membership_in(
                tx,
                actor,
                organization_id,
                identity.id,
                &roles,
                window,
            )
            .await?;
            organizations::record(
                tx,
                actor,
                "organization.member.join",
                "organization",
                organization_id,
                json!({ "identityId": identity.id, "domain": domain, "roles": roles }),
            )
            .await
        }
        DomainPolicy::RequestToJoin => {
            let pending = tx
                .find::<request_row::Entity>()
                .filter(request_row::Column::OrganizationId.eq(organization_id))
                .filter(request_row::Column::IdentityId.eq(identity.id))
                .filter(request_row::Column::Status.eq(JoinRequestStatus::Pending.as_str()))
                .one()
                .await?;
            if pending.is_some() {
                return Ok(());
            }
            let row = tx
                .insert(request_row::ActiveModel {
                    tenant_id: Set(tx.tenant_id()),
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(organization_id),
                    identity_id: Set(identity.id),
                    domain: Set(domain.to_owned()),
                    status: Set(JoinRequestStatus::Pending.as_str().to_owned()),
                    created_at: Set(Utc::now()),
                    decided_at: Set(None),
                    decided_by: Set(None),
                })
                .await?;
            organizations::record(
                tx,
                actor,
                "organization.join_request.create",
                "organization",
                organization_id,
                json!({ "joinRequestId": row.id, "identityId": identity.id, "domain": domain }),
            )
            .await
        }
    }
}

/// An organization's join requests, oldest first, optionally only those with `status`:
/// tenant admins or members with `members:read`.
#[tracing::instrument(name = "core.list_join_requests", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_join_requests(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    status: Option<JoinRequestStatus>,
    page: PageRequest,
) -> Result<Page<JoinRequest>> {
    let tx = db.begin_tenant(scope).await?;
    organizations::authorize_in(
        &tx,
        actor,
        organization_id,
        organizations::Needs::READ_MEMBERS,
    )
    .await?;
    organizations::find_in(&tx, organization_id).await?;
    let query =
        requests_in(&tx, status).filter(request_row::Column::OrganizationId.eq(organization_id));
    let rows = keyset(query, request_row::Column::Id, page).await?;
    let items = with_identities(&tx, rows.items).await?;
    tx.commit().await?;
    Ok(Page {
        items,
        has_next_page: rows.has_next_page,
        total_count: rows.total_count,
    })
}

/// The first page (`first` join requests, oldest first, only those with `status` if given) of
/// each of `organization_ids` whose join requests the actor may list, in a fixed number of SQL
/// statements whatever the number of organizations (for the GraphQL DataLoader). Same
/// permission as [`list_join_requests`]; organizations missing from the answer are not
/// listable by the actor (or do not exist), and [`list_join_requests`] says why.
#[tracing::instrument(name = "core.first_join_requests", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn first_join_requests(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_ids: &[Uuid],
    status: Option<JoinRequestStatus>,
    first: u64,
) -> Result<HashMap<Uuid, Page<JoinRequest>>> {
    let tx = db.begin_tenant(scope).await?;
    let allowed = organizations::permitted_in(
        &tx,
        actor,
        organization_ids,
        Permission::ReadOrganizations,
        permission::READ_MEMBERS,
    )
    .await?;
    let listable = organizations::existing_in(&tx, &allowed).await?;
    let (rows, pages) = page::first_pages(
        requests_in(&tx, status),
        request_row::Column::OrganizationId,
        request_row::Column::Id,
        &listable,
        first,
    )
    .await?;
    let items = with_identities(&tx, rows).await?;
    tx.commit().await?;
    Ok(pages.split(items, |request| request.organization_id))
}

/// The tenant's join requests, all or only those with `status`.
fn requests_in(
    tx: &TenantTx,
    status: Option<JoinRequestStatus>,
) -> Query<'_, Select<request_row::Entity>> {
    let query = tx.find::<request_row::Entity>();
    match status {
        Some(status) => query.filter(request_row::Column::Status.eq(status.as_str())),
        None => query,
    }
}

/// Approves a pending join request, making the identity a member with `roles` (`org:member`
/// when empty), or declines it. Tenant admins or members with `members:write`, who grant only
/// roles they hold themselves.
#[tracing::instrument(name = "core.decide_join_request", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn decide_join_request(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    approve: Option<Vec<String>>,
) -> Result<(JoinRequest, Option<organizations::Member>)> {
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<request_row::Entity>()
        .filter(request_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    let organization_id = row.organization_id;
    organizations::authorize_in(
        &tx,
        actor,
        organization_id,
        organizations::Needs::WRITE_MEMBERS,
    )
    .await?;
    let identity_id = row.identity_id;
    let status = JoinRequestStatus::parse(&row.status)?;
    if status != JoinRequestStatus::Pending {
        return Err(Error::Refused(format!(
            "this join request was already {}",
            status.as_str()
        )));
    }
    let member = match &approve {
        Some(roles) => {
            let roles = if roles.is_empty() {
                vec![ORG_MEMBER.to_owned()]
            } else {
                roles.clone()
            };
            organizations::check_may_grant(&tx, actor, organization_id, Some(identity_id), &roles)
                .await?;
            if !matches!(
                identities::status_of(&tx, identity_id).await?,
                Some(identities::IdentityStatus::Active | identities::IdentityStatus::Suspended)
            ) {
                return Err(Error::Refused(
                    "the identity that asked to join no longer exists; decline the request".into(),
                ));
            }
            let membership = organizations::insert_membership_in(
                &tx,
                actor,
                organization_id,
                identity_id,
                &roles,
                organizations::Window::default(),
            )
            .await?;
            Some(organizations::member_of(&tx, membership).await?)
        }
        None => None,
    };
    let status = if approve.is_some() {
        JoinRequestStatus::Approved
    } else {
        JoinRequestStatus::Declined
    };
    let mut active: request_row::ActiveModel = row.into();
    active.status = Set(status.as_str().to_owned());
    active.decided_at = Set(Some(Utc::now()));
    active.decided_by = Set(actor.audit_identity().1);
    let decided = with_identities(&tx, vec![tx.update(active).await?])
        .await?
        .remove(0);
    organizations::record(
        &tx,
        actor,
        if approve.is_some() {
            "organization.join_request.approve"
        } else {
            "organization.join_request.decline"
        },
        "organization",
        organization_id,
        json!({ "joinRequestId": id, "identityId": identity_id }),
    )
    .await?;
    tx.commit().await?;
    Ok((decided, member))
}

/// The requests of `identity_id` to join organizations, for its owner's data export.
pub(crate) async fn join_requests_data_in(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<Vec<serde_json::Value>> {
    Ok(tx
        .find::<request_row::Entity>()
        .filter(request_row::Column::IdentityId.eq(identity_id))
        .all()
        .await?
        .into_iter()
        .map(|row| {
            json!({
                "organizationId": row.organization_id,
                "domain": row.domain,
                "status": row.status,
                "createdAt": row.created_at,
                "decidedAt": row.decided_at,
            })
        })
        .collect())
}

/// Removes the join requests of `identity_id` (its account is being erased).
pub(crate) async fn erase_join_requests_in(tx: &TenantTx, identity_id: Uuid) -> Result<()> {
    tx.delete_many::<request_row::Entity>()
        .filter(request_row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(())
}
