//! SCIM Users: list, read, create, replace, patch and delete, for the tenant's directory (its
//! identities) or an organization's (its members). Each request is one transaction; every
//! change goes through the identity and membership services, so it is audited as the SCIM
//! token's and published to CRM connectors like any other.
//!
//! An organization's directory owns the identities whose address is under one of the
//! organization's verified domains: it may change their address (to another free one under
//! those domains), display name and language. For a member it does not own (a guest invited
//! with another address) it changes neither: the name and language it sends are kept as its own
//! view, in its link, and a new address is refused.

use super::links::{self, UserLink};
use super::user_resource::{self, UserInput, UserView};
use super::{
    Directory, ListQuery, Listed, ScimRequest, ScimResult, check_if_match, page_of, parse_filter,
    scim_error,
};
use crate::audit::{self, Target};
use crate::db::TenantTx;
use crate::domains;
use crate::error::{Error, Result};
use crate::identities::{self, Change, Identity, IdentityChanges, IdentityStatus, NewIdentity};
use crate::organizations::{self, Membership, ORG_MEMBER, Window};
use crate::validate::Email;
use latchkey_scim::{Filter, ScimError, apply_patch, parse_patch, schema};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// How many identities are read at a time.
const BATCH: usize = 500;

/// The most identities a filter that names no `userName`, `id` or `externalId` may look
/// through on a tenant-wide token; beyond it the answer is `tooMany`.
const MAX_SCANNED: usize = 100_000;

/// What an organization's directory is told for an address it may not provision: the same
/// whether or not someone outside the organization has it, so it reveals nobody.
const NOT_PROVISIONABLE: &str = "this userName cannot be provisioned by this organization: it must be an address under one of the organization's verified domains that no one outside the organization uses; an existing account with it must have verified it first (an email code)";

/// A user of the directory with what is needed to show it.
struct Loaded {
    identity: Identity,
    link: Option<UserLink>,
    membership: Option<Membership>,
}

impl Loaded {
    fn active(&self) -> bool {
        match &self.membership {
            Some(membership) => membership.suspended_at.is_none(),
            None => self.identity.status == IdentityStatus::Active,
        }
    }

    fn render(&self, base_url: &str) -> Value {
        user_resource::render(
            &UserView {
                identity: &self.identity,
                link: self.link.as_ref(),
                active: self.active(),
                membership_updated_at: self.membership.as_ref().map(|m| m.updated_at),
            },
            base_url,
        )
    }
}

/// The directory's users among `identities` (live ones; for an organization, those with a
/// membership in `memberships`), in the order given.
async fn with_links_in(
    tx: &TenantTx,
    directory: Directory,
    identities: Vec<Identity>,
    memberships: &mut HashMap<Uuid, Membership>,
) -> Result<Vec<Loaded>> {
    let ids: Vec<Uuid> = identities.iter().map(|i| i.id).collect();
    let mut links: HashMap<Uuid, UserLink> = HashMap::new();
    for chunk in ids.chunks(BATCH) {
        links.extend(links::user_links_in(tx, directory, chunk).await?);
    }
    Ok(identities
        .into_iter()
        .filter(|identity| identity.deleted_at.is_none())
        .filter_map(|identity| {
            let membership = match directory {
                Directory::Tenant => None,
                Directory::Organization(_) => Some(memberships.remove(&identity.id)?),
            };
            Some(Loaded {
                link: links.remove(&identity.id),
                identity,
                membership,
            })
        })
        .collect())
}

/// The directory's users among `ids`, in that order (missing ones are left out).
async fn load_many_in(tx: &TenantTx, directory: Directory, ids: &[Uuid]) -> Result<Vec<Loaded>> {
    let mut memberships = HashMap::new();
    if let Directory::Organization(org) = directory {
        for id in ids {
            if let Some(membership) = organizations::membership_in(tx, org, *id).await? {
                memberships.insert(*id, membership);
            }
        }
    }
    let mut found: HashMap<Uuid, Identity> = HashMap::new();
    for chunk in ids.chunks(BATCH) {
        for identity in identities::find_many_in(tx, chunk).await? {
            found.insert(identity.id, identity);
        }
    }
    let ordered = ids.iter().filter_map(|id| found.remove(id)).collect();
    with_links_in(tx, directory, ordered, &mut memberships).await
}

/// One user of the directory; `NotFound` for anything outside it.
async fn load_in(tx: &TenantTx, directory: Directory, id: Uuid) -> Result<Loaded> {
    load_many_in(tx, directory, &[id])
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

/// The identity a directory's `externalId` names, if it is still one of the directory's
/// users. A link left behind by a change made elsewhere (a membership removed, an identity
/// deleted) is forgotten, so the directory can use the `externalId` again.
async fn external_id_owner_in(
    tx: &TenantTx,
    directory: Directory,
    external_id: &str,
) -> Result<Option<Uuid>> {
    let Some(id) = links::user_by_external_id_in(tx, directory, external_id).await? else {
        return Ok(None);
    };
    match load_in(tx, directory, id).await {
        Ok(_) => Ok(Some(id)),
        Err(Error::NotFound) => {
            links::delete_user_link_in(tx, directory, id).await?;
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// The ids an `eq` constraint of the filter narrows the directory's users to, if one does
/// (`userName`, `id`, `externalId`: what Entra ID and Okta look users up by).
async fn narrowed_in(
    tx: &TenantTx,
    directory: Directory,
    filter: &Filter,
) -> Result<Option<Vec<Uuid>>> {
    for (path, value) in filter.eq_constraints() {
        match path.as_str() {
            "id" => return Ok(Some(Uuid::parse_str(&value).into_iter().collect())),
            "username" => {
                let Ok(email) = Email::parse("userName", &value) else {
                    return Ok(Some(Vec::new()));
                };
                let found = identities::find_by_email(tx, email.normalized()).await?;
                return Ok(Some(found.map(|i| i.id).into_iter().collect()));
            }
            "externalid" => {
                let found = links::user_by_external_id_in(tx, directory, &value).await?;
                return Ok(Some(found.into_iter().collect()));
            }
            _ => {}
        }
    }
    Ok(None)
}

/// The users of the directory that match the query, in a stable order (by identity id for
/// the tenant, by membership for an organization), and the page asked for.
pub async fn list_users(request: &ScimRequest<'_>, query: ListQuery) -> ScimResult<Listed> {
    let filter = parse_filter(&query)?;
    let directory = request.caller.directory();
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    let listed = list_in(&tx, directory, filter.as_ref(), &query, request.base_url).await?;
    tx.commit().await.map_err(scim_error)?;
    Ok(listed)
}

/// Renders `users`, keeps those `filter` matches, and answers the page.
fn matching(
    users: Vec<Loaded>,
    filter: Option<&Filter>,
    query: &ListQuery,
    base_url: &str,
) -> Listed {
    let users: Vec<Value> = users
        .iter()
        .map(|user| user.render(base_url))
        .filter(|user| filter.is_none_or(|f| f.matches(user, schema::user())))
        .collect();
    Listed {
        total: users.len(),
        resources: page_of(users, query.pagination),
    }
}

async fn list_in(
    tx: &TenantTx,
    directory: Directory,
    filter: Option<&Filter>,
    query: &ListQuery,
    base_url: &str,
) -> ScimResult<Listed> {
    if let Some(filter) = filter
        && let Some(ids) = narrowed_in(tx, directory, filter)
            .await
            .map_err(scim_error)?
    {
        let users = load_many_in(tx, directory, &ids)
            .await
            .map_err(scim_error)?;
        return Ok(matching(users, Some(filter), query, base_url));
    }
    match directory {
        Directory::Organization(org) => {
            let memberships = organizations::memberships_where_in(tx, Some(org), None)
                .await
                .map_err(scim_error)?;
            let ids: Vec<Uuid> = memberships.iter().map(|m| m.identity_id).collect();
            let mut by_identity: HashMap<Uuid, Membership> = memberships
                .into_iter()
                .map(|m| (m.identity_id, m))
                .collect();
            let mut users = Vec::new();
            for chunk in ids.chunks(BATCH) {
                let mut found: HashMap<Uuid, Identity> = identities::find_many_in(tx, chunk)
                    .await
                    .map_err(scim_error)?
                    .into_iter()
                    .map(|identity| (identity.id, identity))
                    .collect();
                let ordered = chunk.iter().filter_map(|id| found.remove(id)).collect();
                users.extend(
                    with_links_in(tx, directory, ordered, &mut by_identity)
                        .await
                        .map_err(scim_error)?,
                );
            }
            Ok(matching(users, filter, query, base_url))
        }
        Directory::Tenant => {
            let Some(filter) = filter else {
                let total = identities::count_in(tx).await.map_err(scim_error)? as usize;
                let page = identities::page_at_in(
                    tx,
                    query.pagination.offset() as u64,
                    query.pagination.count as u64,
                )
                .await
                .map_err(scim_error)?;
                let users = with_links_in(tx, directory, page, &mut HashMap::new())
                    .await
                    .map_err(scim_error)?;
                return Ok(Listed {
                    total,
                    resources: users.iter().map(|u| u.render(base_url)).collect(),
                });
            };
            scan_in(tx, filter, query, base_url).await
        }
    }
}

/// A tenant-wide filter that names no key: the tenant's identities read in batches, keeping
/// only the page's matches, up to [`MAX_SCANNED`].
async fn scan_in(
    tx: &TenantTx,
    filter: &Filter,
    query: &ListQuery,
    base_url: &str,
) -> ScimResult<Listed> {
    let (first, count) = (query.pagination.offset(), query.pagination.count);
    let (mut total, mut scanned) = (0, 0);
    let mut resources = Vec::new();
    let mut after = None;
    loop {
        let batch = identities::page_in(tx, after, BATCH as u64)
            .await
            .map_err(scim_error)?;
        let Some(last) = batch.last().map(|i| i.id) else {
            break;
        };
        scanned += batch.len();
        if scanned > MAX_SCANNED {
            return Err(ScimError::too_many(format!(
                "this filter would look through more than {MAX_SCANNED} users; filter on userName, externalId or id (or add one of them with `and`)"
            )));
        }
        after = Some(last);
        let users = with_links_in(tx, Directory::Tenant, batch, &mut HashMap::new())
            .await
            .map_err(scim_error)?;
        for user in users {
            let user = user.render(base_url);
            if filter.matches(&user, schema::user()) {
                if total >= first && resources.len() < count {
                    resources.push(user);
                }
                total += 1;
            }
        }
    }
    Ok(Listed { total, resources })
}

fn parse_id(id: &str) -> ScimResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ScimError::not_found("no such user"))
}

fn not_found_user(error: Error) -> ScimError {
    match error {
        Error::NotFound => ScimError::not_found("no such user"),
        other => scim_error(other),
    }
}

/// One user of the directory.
pub async fn get_user(request: &ScimRequest<'_>, id: &str) -> ScimResult<Value> {
    let id = parse_id(id)?;
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    let user = load_in(&tx, request.caller.directory(), id)
        .await
        .map_err(not_found_user)?;
    tx.commit().await.map_err(scim_error)?;
    Ok(user.render(request.base_url))
}

/// Whether the normalised address `email` is under one of `org`'s verified domains.
async fn in_domains_of(tx: &TenantTx, org: Uuid, email: &str) -> Result<bool> {
    let domain = email
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .unwrap_or_default();
    Ok(domains::verified_owner_in(tx, domain).await? == Some(org))
}

/// Creates a user (POST): a new identity for the tenant's directory; for an organization's,
/// the identity of an address under its verified domains (created verified, or the existing
/// one if its address is verified) made a member.
pub async fn create_user(request: &ScimRequest<'_>, body: Value) -> ScimResult<Value> {
    let input = user_resource::parse(body)?;
    let email = Email::parse("userName", &input.user_name).map_err(scim_error)?;
    let directory = request.caller.directory();
    let actor = &request.caller.actor;
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    // Before anything that depends on who has the address, so no answer or timing tells.
    if let Directory::Organization(org) = directory
        && !in_domains_of(&tx, org, email.normalized())
            .await
            .map_err(scim_error)?
    {
        return Err(ScimError::uniqueness(NOT_PROVISIONABLE));
    }
    if let Some(external_id) = &input.link.external_id
        && external_id_owner_in(&tx, directory, external_id)
            .await
            .map_err(scim_error)?
            .is_some()
    {
        return Err(ScimError::uniqueness(
            "a user of this directory has this externalId",
        ));
    }
    let existing = identities::find_by_email(&tx, email.normalized())
        .await
        .map_err(scim_error)?;
    let identity = match directory {
        Directory::Tenant => {
            if existing.is_some() {
                return Err(ScimError::uniqueness("a user with this userName exists"));
            }
            identities::create_in(
                &tx,
                actor,
                NewIdentity {
                    email: input.user_name.clone(),
                    display_name: input.display_name.clone(),
                    locale: input.preferred_language.clone(),
                    ..NewIdentity::default()
                },
            )
            .await
            .map_err(scim_error)?
        }
        Directory::Organization(org) => {
            let identity = match existing {
                Some(identity) => {
                    if organizations::is_member_in(&tx, org, identity.id)
                        .await
                        .map_err(scim_error)?
                    {
                        return Err(ScimError::uniqueness("a user with this userName exists"));
                    }
                    // Whoever registered an address they never proved may not own it: linking
                    // would hand them the organization (as federation refuses it too).
                    if !identity.email_verified {
                        return Err(ScimError::uniqueness(NOT_PROVISIONABLE));
                    }
                    identity
                }
                None => identities::create_in(
                    &tx,
                    actor,
                    NewIdentity {
                        email: input.user_name.clone(),
                        // The organization has proven it holds the domain.
                        email_verified: true,
                        display_name: input.display_name.clone(),
                        locale: input.preferred_language.clone(),
                        ..NewIdentity::default()
                    },
                )
                .await
                .map_err(scim_error)?,
            };
            // A domain policy reacting to the verified address may have made it a member.
            if organizations::membership_in(&tx, org, identity.id)
                .await
                .map_err(scim_error)?
                .is_none()
            {
                organizations::add_in(
                    &tx,
                    actor,
                    org,
                    identity.id,
                    &[ORG_MEMBER.to_owned()],
                    Window::default(),
                )
                .await
                .map_err(scim_error)?;
            }
            identity
        }
    };
    let current = load_in(&tx, directory, identity.id)
        .await
        .map_err(scim_error)?;
    let user = apply_in(&tx, request, current, input).await?;
    tx.commit().await.map_err(scim_error)?;
    Ok(user)
}

/// Replaces a user (PUT) with the body: attributes it leaves out are cleared.
pub async fn replace_user(
    request: &ScimRequest<'_>,
    id: &str,
    body: Value,
    if_match: Option<&str>,
) -> ScimResult<Value> {
    let input = user_resource::parse(body)?;
    change_user(request, id, if_match, |_| Ok(input)).await
}

/// Changes a user with PATCH operations (RFC 7644 §3.5.2, with Entra ID's and Okta's shapes).
pub async fn patch_user(
    request: &ScimRequest<'_>,
    id: &str,
    body: Value,
    if_match: Option<&str>,
) -> ScimResult<Value> {
    let operations = parse_patch(&body)?;
    change_user(request, id, if_match, |mut user| {
        apply_patch(&mut user, &operations, schema::user())?;
        user_resource::parse(user)
    })
    .await
}

/// The user `id` of the directory, its identity row locked until the transaction ends, so a
/// version checked with `If-Match` is the one changed.
async fn lock_in(tx: &TenantTx, directory: Directory, id: Uuid) -> ScimResult<Loaded> {
    identities::lock_in(tx, id).await.map_err(not_found_user)?;
    load_in(tx, directory, id).await.map_err(not_found_user)
}

async fn change_user(
    request: &ScimRequest<'_>,
    id: &str,
    if_match: Option<&str>,
    input_from: impl FnOnce(Value) -> ScimResult<UserInput>,
) -> ScimResult<Value> {
    let id = parse_id(id)?;
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    let current = lock_in(&tx, request.caller.directory(), id).await?;
    let shown = current.render(request.base_url);
    check_if_match(&shown, if_match)?;
    let input = input_from(shown)?;
    let user = apply_in(&tx, request, current, input).await?;
    tx.commit().await.map_err(scim_error)?;
    Ok(user)
}

/// Makes `current` what `input` asks for, changing only what differs, and returns it.
async fn apply_in(
    tx: &TenantTx,
    request: &ScimRequest<'_>,
    current: Loaded,
    mut input: UserInput,
) -> ScimResult<Value> {
    let directory = request.caller.directory();
    let actor = &request.caller.actor;
    let identity = &current.identity;
    let email = Email::parse("userName", &input.user_name).map_err(scim_error)?;
    let owned = match directory {
        Directory::Tenant => true,
        Directory::Organization(org) => in_domains_of(tx, org, &identity.email_normalized)
            .await
            .map_err(scim_error)?,
    };
    let profile = input
        .link
        .profile
        .as_object_mut()
        .ok_or_else(|| ScimError::invalid_value("the user must be a JSON object"))?;
    let mut changes = IdentityChanges::default();
    let mut changed = false;
    if email.normalized() != identity.email_normalized {
        if let Directory::Organization(org) = directory {
            let taken = identities::find_by_email(tx, email.normalized())
                .await
                .map_err(scim_error)?
                .is_some();
            if !owned {
                return Err(ScimError::mutability(
                    "this member's address is not under the organization's verified domains; its directory may not change it",
                ));
            }
            if taken
                || !in_domains_of(tx, org, email.normalized())
                    .await
                    .map_err(scim_error)?
            {
                return Err(ScimError::uniqueness(NOT_PROVISIONABLE));
            }
            // The organization has proven it holds the domain.
            changes.email_verified = Some(true);
        }
        changes.email = Some(input.user_name.clone());
        changed = true;
    }
    if owned {
        if input.display_name != identity.display_name {
            changes.display_name = input
                .display_name
                .clone()
                .map_or(Change::Clear, Change::Set);
            changed = true;
        }
        if input.preferred_language != identity.locale {
            changes.locale = input
                .preferred_language
                .clone()
                .map_or(Change::Clear, Change::Set);
            changed = true;
        }
    } else {
        // The directory's own view of someone it does not own: kept in its link, shown to it
        // over the identity's values.
        for (attribute, value) in [
            ("displayName", &input.display_name),
            ("preferredLanguage", &input.preferred_language),
        ] {
            if let Some(value) = value {
                profile.insert(attribute.to_owned(), json!(value));
            }
        }
    }
    if changed {
        identities::update_in(tx, actor, identity.id, changes)
            .await
            .map_err(|error| match error {
                Error::Conflict(_) => ScimError::uniqueness("a user with this userName exists"),
                other => scim_error(other),
            })?;
    }
    if input.active != current.active() {
        match &current.membership {
            Some(membership) => {
                organizations::set_suspended_in(tx, actor, membership, !input.active)
                    .await
                    .map_err(scim_error)?;
            }
            None => {
                let status = if input.active {
                    IdentityStatus::Active
                } else {
                    IdentityStatus::Suspended
                };
                identities::set_status_in(tx, actor, identity.id, status)
                    .await
                    .map_err(scim_error)?;
            }
        }
    }
    save_link_in(tx, request, &current, &input.link).await?;
    let updated = load_in(tx, directory, identity.id)
        .await
        .map_err(scim_error)?;
    Ok(updated.render(request.base_url))
}

/// Writes the directory's link to `current` when it changed, audited as the token's.
async fn save_link_in(
    tx: &TenantTx,
    request: &ScimRequest<'_>,
    current: &Loaded,
    link: &UserLink,
) -> ScimResult<()> {
    let directory = request.caller.directory();
    let identity_id = current.identity.id;
    let before = current.link.clone().unwrap_or_default();
    if before.external_id == link.external_id && before.profile == link.profile {
        return Ok(());
    }
    if let Some(external_id) = &link.external_id
        && external_id_owner_in(tx, directory, external_id)
            .await
            .map_err(scim_error)?
            .is_some_and(|other| other != identity_id)
    {
        return Err(ScimError::uniqueness(
            "a user of this directory has this externalId",
        ));
    }
    links::save_user_link_in(tx, directory, identity_id, link)
        .await
        .map_err(scim_error)?;
    let mut fields: Vec<&str> = Vec::new();
    if before.external_id != link.external_id {
        fields.push("externalId");
    }
    let (old, new) = (before.profile.as_object(), link.profile.as_object());
    let keys = old
        .into_iter()
        .chain(new)
        .flat_map(|fields| fields.keys().map(String::as_str));
    for key in keys {
        let differs = old.and_then(|o| o.get(key)) != new.and_then(|n| n.get(key));
        if differs && !fields.contains(&key) {
            fields.push(key);
        }
    }
    let target = identity_id.to_string();
    audit::record(
        tx,
        &request.caller.actor,
        "identity.scim_profile",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({ "organizationId": match directory {
            Directory::Tenant => None,
            Directory::Organization(org) => Some(org),
        }, "fields": fields }),
    )
    .await
    .map_err(scim_error)
}

/// Deletes a user: the identity for the tenant's directory; for an organization's, only the
/// membership (the identity stays, with its other memberships).
pub async fn delete_user(
    request: &ScimRequest<'_>,
    id: &str,
    if_match: Option<&str>,
) -> ScimResult<()> {
    let id = parse_id(id)?;
    let directory = request.caller.directory();
    let actor = &request.caller.actor;
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    let current = lock_in(&tx, directory, id).await?;
    check_if_match(&current.render(request.base_url), if_match)?;
    match &current.membership {
        Some(membership) => organizations::remove_in(&tx, actor, membership).await,
        None => identities::delete_in(&tx, actor, id).await.map(|_| ()),
    }
    .map_err(scim_error)?;
    links::delete_user_link_in(&tx, directory, id)
        .await
        .map_err(scim_error)?;
    tx.commit().await.map_err(scim_error)?;
    Ok(())
}
