//! Identities: the tenant's end users.

use crate::actor::{Actor, Permission};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result, is_unique_violation};
use crate::freshness::Guard;
use crate::outbox::{self, EventType};
use crate::page::{Page, PageRequest, contains_pattern, keyset, keyset_with_total};
use crate::scope::TenantScope;
use crate::validate::{Attributes, Email, ExternalId, Locale, Name, Phone};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, ExprTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};
use uuid::Uuid;

mod bulk;
pub(crate) mod deletion;

pub use bulk::ImportedIdentity;
pub(crate) use bulk::{insert_many_in, matching_in, overwrite_in, taken_ids_in};
pub use deletion::PendingDeletion;

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "identities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub email: String,
        pub email_normalized: String,
        pub email_verified: bool,
        pub phone: Option<String>,
        pub display_name: Option<String>,
        pub status: String,
        pub attributes: Json,
        pub external_id: Option<String>,
        pub locale: Option<String>,
        /// The current consent decisions, by purpose (the history is `consents::rows`).
        pub consents: Json,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub last_sign_in_at: Option<DateTimeUtc>,
        pub deleted_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row, guards Tenant);

const MAX_DISPLAY_NAME: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityStatus {
    Active,
    Suspended,
    Deleted,
}

impl IdentityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityStatus::Active => "active",
            IdentityStatus::Suspended => "suspended",
            IdentityStatus::Deleted => "deleted",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "active" => Ok(IdentityStatus::Active),
            "suspended" => Ok(IdentityStatus::Suspended),
            "deleted" => Ok(IdentityStatus::Deleted),
            other => Err(Error::internal(format!(
                "unknown identity status {other:?}"
            ))),
        }
    }
}

/// An end user of a tenant.
#[derive(Clone, Debug)]
pub struct Identity {
    pub id: Uuid,
    /// The address as given.
    pub email: String,
    /// The stored form that identifies the address, for comparisons ([`Email::normalized`]).
    pub email_normalized: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub display_name: Option<String>,
    pub status: IdentityStatus,
    pub attributes: Value,
    pub external_id: Option<String>,
    /// The language the user chose for pages and emails (a BCP 47 tag).
    pub locale: Option<String>,
    /// The current consent decision of each purpose: `{ "<purpose>": { "granted", "version",
    /// "decidedAt" } }`.
    pub consents: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl TryFrom<row::Model> for Identity {
    type Error = Error;

    fn try_from(row: row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            status: IdentityStatus::parse(&row.status)?,
            email: row.email,
            email_normalized: row.email_normalized,
            email_verified: row.email_verified,
            phone: row.phone,
            display_name: row.display_name,
            attributes: row.attributes,
            external_id: row.external_id,
            locale: row.locale,
            consents: row.consents,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_sign_in_at: row.last_sign_in_at,
            deleted_at: row.deleted_at,
        })
    }
}

/// Raw input for [`create_identity`]; parsed into newtypes by the service.
#[derive(Clone, Debug, Default)]
pub struct NewIdentity {
    pub email: String,
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub phone: Option<String>,
    pub attributes: Option<Value>,
    pub external_id: Option<String>,
    pub locale: Option<String>,
}

/// A field change: leave as is, clear, or set.
#[derive(Clone, Debug, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

/// Raw input for [`update_identity`].
#[derive(Clone, Debug, Default)]
pub struct IdentityChanges {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub display_name: Change<String>,
    pub phone: Change<String>,
    pub attributes: Option<Value>,
    pub external_id: Change<String>,
    pub locale: Change<String>,
    /// The consent decisions as they are now (set by `consents` only).
    pub consents: Option<Value>,
}

/// Filters for [`crate::identity_search::list_identities`]. Deleted identities are listed only when asked for by status.
#[derive(Clone, Debug, Default)]
pub struct IdentityFilter {
    pub email: Option<String>,
    pub status: Option<IdentityStatus>,
    pub search: Option<String>,
    /// Exact external id.
    pub external_id: Option<String>,
    /// Members of this organization (`identity_search` narrows to them).
    pub organization_id: Option<Uuid>,
    /// An attribute with this value (`name`, `value`), compared as text.
    pub attribute: Option<(String, String)>,
}

fn parse_optional<T>(
    change: Change<String>,
    parse: impl FnOnce(&str) -> Result<T>,
) -> Result<Change<T>> {
    Ok(match change {
        Change::Keep => Change::Keep,
        Change::Clear => Change::Clear,
        Change::Set(value) => Change::Set(parse(&value)?),
    })
}

fn map_write_error(error: sea_orm::DbErr) -> Error {
    if is_unique_violation(&error) {
        Error::Conflict("an identity with this email or external id exists in this tenant".into())
    } else {
        error.into()
    }
}

/// Creates an identity. Requires `WriteIdentities`.
#[tracing::instrument(name = "core.create_identity", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_identity(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    input: NewIdentity,
) -> Result<Identity> {
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let identity = create_in(&tx, actor, input).await?;
    tx.commit().await?;
    Ok(identity)
}

/// [`create_identity`] inside `tx`, audited and published (the caller has authorized it).
pub(crate) async fn create_in(
    tx: &TenantTx,
    actor: &Actor,
    input: NewIdentity,
) -> Result<Identity> {
    let identity = insert_in(tx, Uuid::now_v7(), input).await?;
    let id = identity.id.to_string();
    audit::record(
        tx,
        actor,
        "identity.create",
        Some(Target {
            kind: "identity",
            id: &id,
        }),
        json!({ "email": identity.email }),
    )
    .await?;
    publish(tx, actor, EventType::IdentityCreated, &identity, &[]).await?;
    Ok(identity)
}

/// An identity as events and connectors see it.
pub fn event_data(identity: &Identity) -> Value {
    json!({
        "id": identity.id,
        "email": identity.email,
        "emailVerified": identity.email_verified,
        "phone": identity.phone,
        "displayName": identity.display_name,
        "status": identity.status.as_str(),
        "attributes": identity.attributes,
        "externalId": identity.external_id,
        "locale": identity.locale,
        "consents": identity.consents,
        "createdAt": identity.created_at,
        "updatedAt": identity.updated_at,
    })
}

/// Writes the event of a change to `identity` (as it is after the change) and tells the
/// subscribers which `changed` fields it touched.
pub(crate) async fn publish(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    identity: &Identity,
    changed: &[&'static str],
) -> Result<()> {
    let subject = ("identity", identity.id);
    outbox::publish(tx, actor, event, subject, event_data(identity), changed).await
}

/// A [`NewIdentity`] with every field checked: what is stored.
#[derive(Clone, Debug)]
pub struct CheckedIdentity {
    pub email: Email,
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub phone: Option<String>,
    pub attributes: Value,
    pub external_id: Option<String>,
    pub locale: Option<String>,
}

impl NewIdentity {
    /// Checks every field as `createIdentity` does; the error names the first wrong field.
    pub fn check(self) -> Result<CheckedIdentity> {
        let email = Email::parse("email", &self.email)?;
        let display_name = self
            .display_name
            .map(|v| Name::parse("displayName", &v, MAX_DISPLAY_NAME))
            .transpose()?;
        let phone = self.phone.map(|v| Phone::parse("phone", &v)).transpose()?;
        let attributes = match self.attributes {
            Some(value) => Attributes::parse("attributes", value)?,
            None => Attributes::empty(),
        };
        let external_id = self
            .external_id
            .map(|v| ExternalId::parse("externalId", &v))
            .transpose()?;
        let locale = self
            .locale
            .map(|v| Locale::parse("locale", &v))
            .transpose()?;
        Ok(CheckedIdentity {
            email,
            email_verified: self.email_verified,
            display_name: display_name.map(Name::into_inner),
            phone: phone.map(Phone::into_inner),
            attributes: attributes.into_inner(),
            external_id: external_id.map(ExternalId::into_inner),
            locale: locale.map(Locale::into_inner),
        })
    }
}

/// The row of a new identity.
fn new_row(
    tenant_id: Uuid,
    id: Uuid,
    identity: &CheckedIdentity,
    status: IdentityStatus,
    created_at: DateTime<Utc>,
) -> row::ActiveModel {
    row::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(id),
        email: Set(identity.email.as_str().to_owned()),
        email_normalized: Set(identity.email.normalized().to_owned()),
        email_verified: Set(identity.email_verified),
        phone: Set(identity.phone.clone()),
        display_name: Set(identity.display_name.clone()),
        status: Set(status.as_str().to_owned()),
        attributes: Set(identity.attributes.clone()),
        external_id: Set(identity.external_id.clone()),
        locale: Set(identity.locale.clone()),
        consents: Set(serde_json::json!({})),
        created_at: Set(created_at),
        updated_at: Set(created_at),
        last_sign_in_at: Set(None),
        deleted_at: Set(None),
    }
}

/// Validates and inserts an identity with a chosen id inside `tx` (the caller audits).
pub(crate) async fn insert_in(tx: &TenantTx, id: Uuid, input: NewIdentity) -> Result<Identity> {
    let identity = input.check()?;
    // The near cache keeps the number of identities, which an insert changes.
    tx.changes(Guard::Tenant);
    let row = tx
        .insert(new_row(
            tx.tenant_id(),
            id,
            &identity,
            IdentityStatus::Active,
            tx.now(),
        ))
        .await
        .map_err(map_write_error)?;
    Identity::try_from(row)
}

/// One identity inside `tx`, `NotFound` if it is not in the tenant.
pub(crate) async fn find_in(tx: &TenantTx, id: Uuid) -> Result<Identity> {
    find_row(tx, id).await?.try_into()
}

/// One identity inside `tx`, its row locked until `tx` ends (`FOR UPDATE` on PostgreSQL; SQLite
/// has one writer at a time anyway): a change of it that commits meanwhile is either seen here
/// or waits for `tx`. `NotFound` if it is not in the tenant.
pub(crate) async fn lock_in(tx: &TenantTx, id: Uuid) -> Result<Identity> {
    tx.find::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .lock_exclusive()
        .one()
        .await?
        .ok_or(Error::NotFound)?
        .try_into()
}

/// The identities with these ids inside `tx` (one query; missing ones are left out).
pub(crate) async fn find_many_in(tx: &TenantTx, ids: &[Uuid]) -> Result<Vec<Identity>> {
    tx.find::<row::Entity>()
        .filter(row::Column::Id.is_in(ids.iter().copied()))
        .all()
        .await?
        .into_iter()
        .map(Identity::try_from)
        .collect()
}

/// Up to `limit` identities that are not deleted, by id, after `after` (for backfills and
/// exports).
pub(crate) async fn page_in(
    tx: &TenantTx,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Identity>> {
    let mut query = tx
        .find::<row::Entity>()
        .filter(row::Column::DeletedAt.is_null());
    if let Some(after) = after {
        query = query.filter(row::Column::Id.gt(after));
    }
    query
        .order_by_asc(row::Column::Id)
        .limit(limit)
        .all()
        .await?
        .into_iter()
        .map(Identity::try_from)
        .collect()
}

/// Up to `limit` identities that are not deleted, by id, from the `offset`-th (SCIM's
/// `startIndex` pages).
pub(crate) async fn page_at_in(tx: &TenantTx, offset: u64, limit: u64) -> Result<Vec<Identity>> {
    tx.find::<row::Entity>()
        .filter(row::Column::DeletedAt.is_null())
        .order_by_asc(row::Column::Id)
        .offset(offset)
        .limit(limit)
        .all()
        .await?
        .into_iter()
        .map(Identity::try_from)
        .collect()
}

/// How many identities are not deleted.
pub(crate) async fn count_in(tx: &TenantTx) -> Result<u64> {
    Ok(tx
        .find::<row::Entity>()
        .filter(row::Column::DeletedAt.is_null())
        .count()
        .await?)
}

/// The status of an identity inside `tx`, `None` if it is not in the tenant.
pub(crate) async fn status_of(tx: &TenantTx, id: Uuid) -> Result<Option<IdentityStatus>> {
    match find_row(tx, id).await {
        Ok(row) => Ok(Some(IdentityStatus::parse(&row.status)?)),
        Err(Error::NotFound) => Ok(None),
        Err(error) => Err(error),
    }
}

/// How many identities were created per UTC day since `since`: `(day, count)`.
pub(crate) async fn created_per_day_in(
    tx: &TenantTx,
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64)>> {
    let day = crate::db::utc_day(tx.backend(), "created_at");
    Ok(tx
        .find::<row::Entity>()
        .select_only()
        .column_as(day.clone(), "day")
        .column_as(Expr::cust("COUNT(*)"), "count")
        .filter(row::Column::CreatedAt.gte(since))
        .group_by(day)
        .into_tuple()
        .all()
        .await?)
}

/// The live (not deleted) identity with this normalised email, if any.
pub(crate) async fn find_by_email(tx: &TenantTx, normalized: &str) -> Result<Option<Identity>> {
    tx.find::<row::Entity>()
        .filter(row::Column::EmailNormalized.eq(normalized))
        .filter(row::Column::DeletedAt.is_null())
        .one()
        .await?
        .map(Identity::try_from)
        .transpose()
}

/// Records a successful sign-in.
pub(crate) async fn touch_sign_in(tx: &TenantTx, id: Uuid) -> Result<()> {
    tx.record_use::<row::Entity>()
        .col_expr(row::Column::LastSignInAt, Expr::value(Utc::now()))
        .filter(row::Column::Id.eq(id))
        .exec()
        .await?;
    Ok(())
}

/// Removes the row of `id` (its account is being erased, everything hanging from it first):
/// its address and external id are free, and nothing of it is left.
pub(crate) async fn erase_row_in(tx: &TenantTx, id: Uuid) -> Result<()> {
    tx.delete_many::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .exec()
        .await?;
    Ok(())
}

async fn find_row(tx: &TenantTx, id: Uuid) -> Result<row::Model> {
    tx.find::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

/// One identity (deleted ones included, with status `Deleted`). Requires `ReadIdentities`.
#[tracing::instrument(name = "core.get_identity", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn get_identity(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Identity> {
    authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = find_row(&tx, id).await?;
    tx.commit().await?;
    row.try_into()
}

/// The calling end user's own identity (no role needed).
#[tracing::instrument(name = "core.own_identity", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn own_identity(db: &Database, scope: &TenantScope, actor: &Actor) -> Result<Identity> {
    let crate::actor::Principal::Identity { id, .. } = *actor.principal() else {
        return Err(Error::NotFound);
    };
    let tx = db.begin_tenant(scope).await?;
    let identity = find_in(&tx, id).await?;
    tx.commit().await?;
    Ok(identity)
}

/// A page of identities, oldest first, with the total matching `filter`, in `tx`; `members`
/// narrows them to the ids it selects (an organization's members). The caller authorizes
/// (`identity_search::list_identities`).
pub(crate) async fn search_in(
    db: &Database,
    tx: &TenantTx,
    filter: IdentityFilter,
    members: Option<sea_orm::sea_query::SelectStatement>,
    page: PageRequest,
) -> Result<Page<Identity>> {
    let unfiltered = filter.status.is_none()
        && filter.email.is_none()
        && filter.external_id.is_none()
        && filter.attribute.is_none()
        && members.is_none()
        && filter.search.as_deref().is_none_or(|s| s.trim().is_empty());
    let mut condition = Condition::all();
    condition = match filter.status {
        Some(status) => condition.add(row::Column::Status.eq(status.as_str())),
        None => condition.add(row::Column::DeletedAt.is_null()),
    };
    if let Some(email) = filter.email {
        let email = Email::parse("email", &email)?;
        condition = condition.add(row::Column::EmailNormalized.eq(email.normalized()));
    }
    if let Some(search) = filter.search.filter(|s| !s.trim().is_empty()) {
        let pattern = contains_pattern(&search);
        condition = condition.add(
            Condition::any()
                .add(
                    Expr::col(row::Column::EmailNormalized)
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                // The address as given too: an internationalized domain is stored in its
                // xn-- form in the normalised one.
                .add(
                    Expr::expr(Func::lower(Expr::col(row::Column::Email)))
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col(row::Column::DisplayName)))
                        .like(LikeExpr::new(pattern).escape('\\')),
                ),
        );
    }
    if let Some(external_id) = filter.external_id {
        condition = condition.add(row::Column::ExternalId.eq(external_id));
    }
    if let Some((name, value)) = filter.attribute {
        condition = condition.add(attribute_equals(tx, &name, value)?);
    }
    if let Some(members) = members {
        condition = condition.add(row::Column::Id.in_subquery(members));
    }
    let query = tx.find::<row::Entity>().filter(condition);
    let rows = if unfiltered {
        // Counting every identity of a large tenant is most of a page's cost: the total of
        // the unfiltered list is kept until an identity is added, changed or deleted.
        let count = async { Ok(query.clone().count().await?) };
        let total = db
            .near_cache()
            .get_or_load(LIVE_COUNT, Some(tx.tenant_id()), "", count, |_| true)
            .await?;
        keyset_with_total(query, row::Column::Id, page, total).await?
    } else {
        keyset(query, row::Column::Id, page).await?
    };
    rows.try_map(Identity::try_from)
}

/// The condition "attribute `name` is `value`", compared as text (`true`, `42`, as JSON writes
/// them). `name` is checked as the attribute schema's names are, and bound as a parameter.
fn attribute_equals(tx: &TenantTx, name: &str, value: String) -> Result<Condition> {
    if !crate::profile_settings::is_key(name) {
        return Err(Error::validation(
            "attribute.name",
            "must be an attribute name: a letter, then letters, digits and _",
        ));
    }
    // A custom expression's placeholders are the backend's own: `$n` or `?`.
    let attributes = Expr::col(row::Column::Attributes);
    let path = match tx.backend() {
        sea_orm::DbBackend::Postgres => {
            Expr::cust_with_exprs("($1 ->> $2)", [attributes, Expr::val(name)])
        }
        // SQLite's json_extract answers 1 and 0 for true and false: json_type tells them.
        _ => Expr::cust_with_exprs(
            "(CASE json_type(?, ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(?, ?) AS TEXT) END)",
            [
                attributes.clone(),
                Expr::val(format!("$.{name}")),
                attributes,
                Expr::val(format!("$.{name}")),
            ],
        ),
    };
    Ok(Condition::all().add(path.eq(value)))
}

/// The near cache's kind of entry: the number of a tenant's live identities.
const LIVE_COUNT: &str = "live-identities";

/// Changes an identity's profile. Deleted identities cannot be changed (`NotFound`).
/// Requires `WriteIdentities`.
#[tracing::instrument(name = "core.update_identity", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn update_identity(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    changes: IdentityChanges,
) -> Result<Identity> {
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let identity = update_in(&tx, actor, id, changes).await?;
    tx.commit().await?;
    Ok(identity)
}

/// Applies `changes` to the identity `id` inside `tx`, audited as `actor`'s and published
/// with the fields it changed (the caller has authorized it).
pub(crate) async fn update_in(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
    changes: IdentityChanges,
) -> Result<Identity> {
    let email = changes
        .email
        .map(|v| Email::parse("email", &v))
        .transpose()?;
    let display_name = parse_optional(changes.display_name, |v| {
        Name::parse("displayName", v, MAX_DISPLAY_NAME)
    })?;
    let phone = parse_optional(changes.phone, |v| Phone::parse("phone", v))?;
    let external_id = parse_optional(changes.external_id, |v| ExternalId::parse("externalId", v))?;
    let attributes = changes
        .attributes
        .map(|v| Attributes::parse("attributes", v))
        .transpose()?;
    let locale = parse_optional(changes.locale, |v| Locale::parse("locale", v))?;

    let current = find_row(tx, id).await?;
    if current.deleted_at.is_some() {
        return Err(Error::NotFound);
    }
    let mut changed = Vec::new();
    let current_email = current.email_normalized.clone();
    let mut active: row::ActiveModel = current.into();
    if let Some(email) = email
        && email.normalized() != current_email
    {
        active.email = Set(email.as_str().to_owned());
        active.email_normalized = Set(email.normalized().to_owned());
        changed.push("email");
        // Nobody has proven the new address yet (unless the admin says so below).
        if changes.email_verified.is_none() {
            active.email_verified = Set(false);
            changed.push("emailVerified");
        }
    }
    if let Some(verified) = changes.email_verified {
        active.email_verified = Set(verified);
        changed.push("emailVerified");
    }
    match display_name {
        Change::Keep => {}
        Change::Clear => active.display_name = Set(None),
        Change::Set(v) => active.display_name = Set(Some(v.into_inner())),
    }
    match phone {
        Change::Keep => {}
        Change::Clear => active.phone = Set(None),
        Change::Set(v) => active.phone = Set(Some(v.into_inner())),
    }
    match external_id {
        Change::Keep => {}
        Change::Clear => active.external_id = Set(None),
        Change::Set(v) => active.external_id = Set(Some(v.into_inner())),
    }
    match locale {
        Change::Keep => {}
        Change::Clear => active.locale = Set(None),
        Change::Set(v) => active.locale = Set(Some(v.into_inner())),
    }
    if let Some(consents) = changes.consents {
        active.consents = Set(consents);
        changed.push("consents");
    }
    if let Some(attributes) = attributes {
        active.attributes = Set(attributes.into_inner());
        changed.push("attributes");
    }
    for (field, is_set) in [
        ("displayName", active.display_name.is_set()),
        ("phone", active.phone.is_set()),
        ("externalId", active.external_id.is_set()),
        ("locale", active.locale.is_set()),
    ] {
        if is_set {
            changed.push(field);
        }
    }
    active.updated_at = Set(Utc::now());
    let identity = Identity::try_from(tx.update(active).await.map_err(map_write_error)?)?;
    let target = id.to_string();
    audit::record(
        tx,
        actor,
        "identity.update",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "fields": changed }),
    )
    .await?;
    publish(tx, actor, EventType::IdentityUpdated, &identity, &changed).await?;
    Ok(identity)
}

/// Marks the identity's address verified (its owner proved it, e.g. with an emailed code), in
/// the caller's transaction, so the domain policies and CRM links that wait for a verified
/// address act. Does nothing to an address already verified.
pub(crate) async fn mark_email_verified_in(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
) -> Result<Identity> {
    let current = find_row(tx, id).await?;
    if current.email_verified {
        return Identity::try_from(current);
    }
    let mut active: row::ActiveModel = current.into();
    active.email_verified = Set(true);
    active.updated_at = Set(Utc::now());
    let identity = Identity::try_from(tx.update(active).await.map_err(map_write_error)?)?;
    let target = id.to_string();
    audit::record(
        tx,
        actor,
        "identity.email_verified",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({}),
    )
    .await?;
    publish(
        tx,
        actor,
        EventType::IdentityUpdated,
        &identity,
        &["emailVerified"],
    )
    .await?;
    Ok(identity)
}

/// Moves an identity to `Active` or `Suspended`. Requires `WriteIdentities`.
#[tracing::instrument(name = "core.set_identity_status", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn set_identity_status(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    status: IdentityStatus,
) -> Result<Identity> {
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let identity = set_status_in(&tx, actor, id, status).await?;
    tx.commit().await?;
    Ok(identity)
}

/// [`set_identity_status`] inside `tx` (the caller has authorized it).
pub(crate) async fn set_status_in(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
    status: IdentityStatus,
) -> Result<Identity> {
    let action = match status {
        IdentityStatus::Active => "identity.resume",
        IdentityStatus::Suspended => "identity.suspend",
        IdentityStatus::Deleted => return Err(Error::validation("status", "use deleteIdentity")),
    };
    let current = find_row(tx, id).await?;
    if current.deleted_at.is_some() {
        return Err(Error::NotFound);
    }
    let mut active: row::ActiveModel = current.into();
    active.status = Set(status.as_str().to_owned());
    active.updated_at = Set(Utc::now());
    let identity = Identity::try_from(tx.update(active).await?)?;
    if status == IdentityStatus::Suspended {
        // Resuming later must not bring the old sessions back.
        crate::session_store::revoke_all_in(tx, id, "identity_suspended").await?;
    }
    let target = id.to_string();
    audit::record(
        tx,
        actor,
        action,
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({}),
    )
    .await?;
    publish(
        tx,
        actor,
        EventType::IdentityUpdated,
        &identity,
        &["status"],
    )
    .await?;
    Ok(identity)
}

/// Soft-deletes an identity: it keeps its row (status `Deleted`) for audit, and its email and
/// external id become free for a new identity. Requires `WriteIdentities`.
#[tracing::instrument(name = "core.delete_identity", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn delete_identity(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Identity> {
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let identity = delete_in(&tx, actor, id).await?;
    tx.commit().await?;
    Ok(identity)
}

/// [`delete_identity`] inside `tx` (the caller has authorized it).
pub(crate) async fn delete_in(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<Identity> {
    let current = find_row(tx, id).await?;
    if current.deleted_at.is_some() {
        return Err(Error::NotFound);
    }
    let now = Utc::now();
    let mut active: row::ActiveModel = current.into();
    active.status = Set(IdentityStatus::Deleted.as_str().to_owned());
    active.deleted_at = Set(Some(now));
    active.updated_at = Set(now);
    let identity = Identity::try_from(tx.update(active).await?)?;
    crate::session_store::revoke_all_in(tx, id, "identity_deleted").await?;
    let target = id.to_string();
    audit::record(
        tx,
        actor,
        "identity.delete",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({}),
    )
    .await?;
    publish(tx, actor, EventType::IdentityDeleted, &identity, &[]).await?;
    Ok(identity)
}
