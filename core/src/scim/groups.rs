//! SCIM Groups. For the tenant's directory a group is an organization and its members are the
//! organization's members (POST creates an organization, DELETE deletes it). For an
//! organization's directory a group is an organization role it may assign and its members are
//! the organization's members holding it as a lasting role: roles are the tenant's, so POST
//! links an existing role by its name, and DELETE takes the role from every member and forgets
//! the link (the role stays). The roles it may assign are those its token lists, or else those
//! within `org:admin`'s permissions (what the organization's own admins may hand out);
//! `org:member` is no group, since every member holds it at least.

use super::links;
use super::{
    Directory, ListQuery, Listed, ScimRequest, ScimResult, check_if_match, page_of, parse_filter,
    scim_error, version_of,
};
use crate::db::TenantTx;
use crate::error::{Error, Result};
use crate::identities::{self, Identity};
use crate::organizations::{
    self, Membership, NewOrganization, ORG_ADMIN, ORG_MEMBER, Organization, OrganizationChanges,
    OrganizationKind, OrganizationRole, Window,
};
use chrono::{DateTime, SecondsFormat, Utc};
use latchkey_scim::schema::{self, GROUP};
use latchkey_scim::{ScimError, apply_patch, parse_patch};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};
use uuid::Uuid;

/// How the role-mapping audit names a directory's change.
const BY_SCIM: &str = "scim";

/// One group as the directory sees it.
struct GroupView {
    id: String,
    display_name: String,
    external_id: Option<String>,
    /// Identity ids, in a stable order.
    members: Vec<Uuid>,
    created: Option<DateTime<Utc>>,
    last_modified: Option<DateTime<Utc>>,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl GroupView {
    fn render(&self, base_url: &str) -> Value {
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|id| {
                json!({
                    "value": id,
                    "type": "User",
                    "$ref": format!("{base_url}/Users/{id}"),
                })
            })
            .collect();
        let mut group = json!({
            "schemas": [GROUP],
            "id": self.id,
            "displayName": self.display_name,
            "members": members,
        });
        if let Some(external_id) = &self.external_id {
            group["externalId"] = json!(external_id);
        }
        let version = version_of(&group);
        let mut meta = json!({
            "resourceType": "Group",
            "location": format!("{base_url}/Groups/{}", self.id),
            "version": version,
        });
        if let Some(created) = self.created {
            meta["created"] = json!(timestamp(created));
        }
        if let Some(modified) = self.last_modified {
            meta["lastModified"] = json!(timestamp(modified));
        }
        group["meta"] = meta;
        group
    }
}

/// What a Group from a directory asks for.
struct GroupInput {
    display_name: String,
    external_id: Option<String>,
    members: Vec<Uuid>,
}

fn parse(mut group: Value) -> ScimResult<GroupInput> {
    if !group.is_object() {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    }
    schema::group().normalize(&mut group)?;
    let display_name = group
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?
        .to_owned();
    let external_id = group
        .get("externalId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut members = Vec::new();
    for member in group
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let value = member
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = Uuid::parse_str(value)
            .map_err(|_| ScimError::invalid_value(format!("members: no user with id {value:?}")))?;
        if !members.contains(&id) {
            members.push(id);
        }
    }
    Ok(GroupInput {
        display_name,
        external_id,
        members,
    })
}

/// Every organization of the tenant, by id.
async fn all_organizations_in(tx: &TenantTx) -> Result<Vec<Organization>> {
    let mut all = Vec::new();
    loop {
        let batch =
            organizations::page_in(tx, all.last().map(|o: &Organization| o.id), 500).await?;
        if batch.is_empty() {
            return Ok(all);
        }
        all.extend(batch);
    }
}

/// Those of `ids` that are live identities.
async fn live_in(tx: &TenantTx, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
    let mut live = HashSet::new();
    for chunk in ids.chunks(500) {
        for identity in identities::find_many_in(tx, chunk).await? {
            if identity.deleted_at.is_none() {
                live.insert(identity.id);
            }
        }
    }
    Ok(live)
}

/// The directory's groups (all of them), and the addresses of their members.
/// The organization roles an organization's directory may assign: those its token lists, or
/// else those whose permissions `org:admin` holds; never `org:member`.
async fn assignable_roles_in(
    tx: &TenantTx,
    listed: Option<&[String]>,
) -> Result<Vec<OrganizationRole>> {
    let roles = organizations::organization_roles_in(tx).await?;
    let admin: Vec<String> = roles
        .iter()
        .find(|role| role.name == ORG_ADMIN)
        .map(|role| role.permissions.clone())
        .unwrap_or_default();
    Ok(roles
        .into_iter()
        .filter(|role| role.name != ORG_MEMBER)
        .filter(|role| match listed {
            Some(listed) => listed.contains(&role.name),
            None => role.permissions.iter().all(|p| admin.contains(p)),
        })
        .collect())
}

async fn groups_in(
    tx: &TenantTx,
    directory: Directory,
    roles: Option<&[String]>,
    with_members: bool,
) -> Result<Vec<GroupView>> {
    let external: HashMap<String, Option<String>> = links::group_links_in(tx, directory)
        .await?
        .into_iter()
        .collect();
    let mut groups = Vec::new();
    match directory {
        Directory::Tenant => {
            for org in all_organizations_in(tx).await? {
                let members = if with_members {
                    organizations::memberships_where_in(tx, Some(org.id), None)
                        .await?
                        .into_iter()
                        .map(|m| m.identity_id)
                        .collect()
                } else {
                    Vec::new()
                };
                let id = org.id.to_string();
                groups.push(GroupView {
                    external_id: external.get(&id).cloned().flatten(),
                    id,
                    display_name: org.name,
                    members,
                    created: Some(org.created_at),
                    last_modified: Some(org.updated_at),
                });
            }
        }
        Directory::Organization(org) => {
            let memberships = organizations::memberships_where_in(tx, Some(org), None).await?;
            for role in assignable_roles_in(tx, roles).await? {
                groups.push(role_group(&role, &memberships, &external));
            }
        }
    }
    let mut ids: Vec<Uuid> = groups.iter().flat_map(|g| g.members.clone()).collect();
    ids.sort();
    ids.dedup();
    let live = live_in(tx, &ids).await?;
    // Deleted identities keep their memberships' rows, but are no users.
    for group in &mut groups {
        group.members.retain(|id| live.contains(id));
    }
    Ok(groups)
}

fn role_group(
    role: &OrganizationRole,
    memberships: &[Membership],
    external: &HashMap<String, Option<String>>,
) -> GroupView {
    GroupView {
        id: role.name.clone(),
        display_name: role.name.clone(),
        external_id: external.get(&role.name).cloned().flatten(),
        members: memberships
            .iter()
            .filter(|m| m.roles.contains(&role.name))
            .map(|m| m.identity_id)
            .collect(),
        created: role.created_at,
        last_modified: None,
    }
}

/// The directory's groups that match the query, by id (organizations) or role order, and the
/// page asked for. Members are read only when they are shown or filtered on.
pub async fn list_groups(request: &ScimRequest<'_>, query: ListQuery) -> ScimResult<Listed> {
    let filter = parse_filter(&query)?;
    let with_members = query.include_members
        || query
            .filter
            .as_deref()
            .is_some_and(|f| f.to_ascii_lowercase().contains("members"));
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    let groups = groups_in(
        &tx,
        request.caller.directory(),
        request.caller.roles.as_deref(),
        with_members,
    )
    .await
    .map_err(scim_error)?;
    tx.commit().await.map_err(scim_error)?;
    let matching: Vec<Value> = groups
        .iter()
        .map(|group| group.render(request.base_url))
        .filter(|group| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(group, schema::group()))
        })
        .collect();
    Ok(Listed {
        total: matching.len(),
        resources: page_of(matching, query.pagination),
    })
}

fn not_found_group() -> ScimError {
    ScimError::not_found("no such group")
}

/// One group of the directory, `NotFound` for anything outside it.
async fn load_in(tx: &TenantTx, request: &ScimRequest<'_>, id: &str) -> ScimResult<GroupView> {
    let directory = request.caller.directory();
    if let Directory::Tenant = directory {
        // An id that is not a UUID names no organization.
        Uuid::parse_str(id).map_err(|_| not_found_group())?;
    }
    group_in(tx, directory, request.caller.roles.as_deref(), id)
        .await
        .map_err(scim_error)?
        .ok_or_else(not_found_group)
}

async fn group_in(
    tx: &TenantTx,
    directory: Directory,
    roles: Option<&[String]>,
    id: &str,
) -> Result<Option<GroupView>> {
    let external: HashMap<String, Option<String>> = links::group_links_in(tx, directory)
        .await?
        .into_iter()
        .collect();
    let group = match directory {
        Directory::Tenant => {
            let org_id = Uuid::parse_str(id).map_err(|_| Error::NotFound)?;
            let org = match organizations::organization_in(tx, org_id).await {
                Ok(org) => org,
                Err(Error::NotFound) => return Ok(None),
                Err(error) => return Err(error),
            };
            GroupView {
                id: id.to_owned(),
                external_id: external.get(id).cloned().flatten(),
                display_name: org.name,
                members: organizations::memberships_where_in(tx, Some(org_id), None)
                    .await?
                    .into_iter()
                    .map(|m| m.identity_id)
                    .collect(),
                created: Some(org.created_at),
                last_modified: Some(org.updated_at),
            }
        }
        Directory::Organization(org) => {
            let roles = assignable_roles_in(tx, roles).await?;
            let Some(role) = roles.iter().find(|role| role.name == id) else {
                return Ok(None);
            };
            let memberships = organizations::memberships_where_in(tx, Some(org), None).await?;
            role_group(role, &memberships, &external)
        }
    };
    let live = live_in(tx, &group.members).await?;
    let mut group = group;
    group.members.retain(|id| live.contains(id));
    Ok(Some(group))
}

/// One group of the directory.
pub async fn get_group(request: &ScimRequest<'_>, id: &str) -> ScimResult<Value> {
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    let group = load_in(&tx, request, id).await?;
    tx.commit().await.map_err(scim_error)?;
    Ok(group.render(request.base_url))
}

/// A slug for an organization a directory creates: its name in a-z, 0-9 and `-`, and a
/// random tail, since names need not be unique as slugs must.
fn slug_for(name: &str) -> String {
    let mut base = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            base.push(c);
        } else if !base.ends_with('-') && !base.is_empty() {
            base.push('-');
        }
        if base.len() >= 40 {
            break;
        }
    }
    let base = base.trim_end_matches('-');
    let tail = &Uuid::new_v4().simple().to_string()[..6];
    if base.is_empty() {
        format!("org-{tail}")
    } else {
        format!("{base}-{tail}")
    }
}

/// Creates a group (POST): an organization for the tenant's directory; for an
/// organization's, the link to the role of that name.
pub async fn create_group(request: &ScimRequest<'_>, body: Value) -> ScimResult<Value> {
    let input = parse(body)?;
    let directory = request.caller.directory();
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    let groups = groups_in(&tx, directory, request.caller.roles.as_deref(), false)
        .await
        .map_err(scim_error)?;
    if let Some(external_id) = &input.external_id
        && groups
            .iter()
            .any(|g| g.external_id.as_ref() == Some(external_id))
    {
        return Err(ScimError::uniqueness(
            "a group of this directory has this externalId",
        ));
    }
    let same_name = groups
        .iter()
        .find(|g| g.display_name.eq_ignore_ascii_case(&input.display_name));
    let id = match directory {
        Directory::Tenant => {
            if same_name.is_some() {
                return Err(ScimError::uniqueness(
                    "a group with this displayName exists",
                ));
            }
            let org = organizations::create_in(
                &tx,
                &request.caller.actor,
                NewOrganization {
                    name: input.display_name.clone(),
                    slug: slug_for(&input.display_name),
                    kind: OrganizationKind::Customer,
                    metadata: None,
                    external_id: None,
                },
            )
            .await
            .map_err(scim_error)?;
            org.id.to_string()
        }
        Directory::Organization(_) => {
            let Some(role) = same_name else {
                let names: Vec<&str> = groups.iter().map(|g| g.display_name.as_str()).collect();
                return Err(ScimError::invalid_value(format!(
                    "no organization role this directory may assign is named {:?}; its groups are these roles ({}): name the group after one of them, or ask the tenant to create the role or list it on the SCIM token",
                    input.display_name,
                    names.join(", ")
                )));
            };
            let linked = links::group_links_in(&tx, directory)
                .await
                .map_err(scim_error)?
                .into_iter()
                .any(|(group_id, _)| group_id == role.id);
            if linked {
                return Err(ScimError::uniqueness(
                    "this role is already a group of this directory",
                ));
            }
            role.id.clone()
        }
    };
    // A link left by a group that is gone (an organization deleted outside SCIM) holds no
    // `externalId` any more.
    if let Some(external_id) = &input.external_id {
        links::forget_group_external_id_in(&tx, directory, external_id)
            .await
            .map_err(scim_error)?;
    }
    links::save_group_link_in(&tx, directory, &id, input.external_id.clone())
        .await
        .map_err(scim_error)?;
    let current = load_in(&tx, request, &id).await?;
    let group = apply_in(&tx, request, current, input).await?;
    tx.commit().await.map_err(scim_error)?;
    Ok(group)
}

/// Replaces a group (PUT): its name (organizations only), `externalId` and members.
pub async fn replace_group(
    request: &ScimRequest<'_>,
    id: &str,
    body: Value,
    if_match: Option<&str>,
) -> ScimResult<Value> {
    let input = parse(body)?;
    change_group(request, id, if_match, |_| Ok(input)).await
}

/// Changes a group with PATCH operations (Entra ID's and Okta's member changes and renames).
pub async fn patch_group(
    request: &ScimRequest<'_>,
    id: &str,
    body: Value,
    if_match: Option<&str>,
) -> ScimResult<Value> {
    let operations = parse_patch(&body)?;
    change_group(request, id, if_match, |mut group| {
        apply_patch(&mut group, &operations, schema::group())?;
        parse(group)
    })
    .await
}

async fn change_group(
    request: &ScimRequest<'_>,
    id: &str,
    if_match: Option<&str>,
    input_from: impl FnOnce(Value) -> ScimResult<GroupInput>,
) -> ScimResult<Value> {
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    let current = load_in(&tx, request, id).await?;
    let shown = current.render(request.base_url);
    check_if_match(&shown, if_match)?;
    let input = input_from(shown)?;
    let group = apply_in(&tx, request, current, input).await?;
    tx.commit().await.map_err(scim_error)?;
    Ok(group)
}

/// Makes `current` what `input` asks for and returns it.
async fn apply_in(
    tx: &TenantTx,
    request: &ScimRequest<'_>,
    current: GroupView,
    input: GroupInput,
) -> ScimResult<Value> {
    let directory = request.caller.directory();
    let actor = &request.caller.actor;
    if input.display_name != current.display_name {
        match directory {
            Directory::Tenant => {
                let changes = OrganizationChanges {
                    name: Some(input.display_name.clone()),
                    ..OrganizationChanges::default()
                };
                let org_id = Uuid::parse_str(&current.id).map_err(|_| not_found_group())?;
                organizations::update_in(tx, actor, org_id, changes)
                    .await
                    .map_err(scim_error)?;
            }
            Directory::Organization(_) => {
                return Err(ScimError::mutability(
                    "the displayName of an organization's group is the name of a tenant role; it cannot be changed here",
                ));
            }
        }
    }
    if input.external_id != current.external_id {
        links::save_group_link_in(tx, directory, &current.id, input.external_id.clone())
            .await
            .map_err(scim_error)?;
    }
    let before: BTreeSet<Uuid> = current.members.iter().copied().collect();
    let after: BTreeSet<Uuid> = input.members.iter().copied().collect();
    for added in after.difference(&before) {
        add_member_in(tx, request, &current.id, *added).await?;
    }
    for removed in before.difference(&after) {
        remove_member_in(tx, request, &current.id, *removed).await?;
    }
    let group = load_in(tx, request, &current.id).await?;
    Ok(group.render(request.base_url))
}

fn unknown_member(id: Uuid) -> ScimError {
    ScimError::invalid_value(format!("members: no user with id {id} in this directory"))
}

/// The live identity `id`, or the error a member list gets for it.
async fn live_identity_in(tx: &TenantTx, id: Uuid) -> ScimResult<Identity> {
    match identities::find_in(tx, id).await {
        Ok(identity) if identity.deleted_at.is_none() => Ok(identity),
        Ok(_) | Err(Error::NotFound) => Err(unknown_member(id)),
        Err(error) => Err(scim_error(error)),
    }
}

async fn add_member_in(
    tx: &TenantTx,
    request: &ScimRequest<'_>,
    group_id: &str,
    identity_id: Uuid,
) -> ScimResult<()> {
    let actor = &request.caller.actor;
    live_identity_in(tx, identity_id).await?;
    match request.caller.directory() {
        Directory::Tenant => {
            let org = Uuid::parse_str(group_id).map_err(|_| not_found_group())?;
            organizations::add_in(
                tx,
                actor,
                org,
                identity_id,
                &[ORG_MEMBER.to_owned()],
                Window::default(),
            )
            .await
            .map(|_| ())
            .map_err(scim_error)
        }
        Directory::Organization(org) => {
            let membership = organizations::membership_in(tx, org, identity_id)
                .await
                .map_err(scim_error)?
                .ok_or_else(|| unknown_member(identity_id))?;
            let mut roles = membership.roles.clone();
            roles.push(group_id.to_owned());
            organizations::sync_roles_in(tx, actor, org, identity_id, &roles, BY_SCIM)
                .await
                .map_err(scim_error)
        }
    }
}

async fn remove_member_in(
    tx: &TenantTx,
    request: &ScimRequest<'_>,
    group_id: &str,
    identity_id: Uuid,
) -> ScimResult<()> {
    let actor = &request.caller.actor;
    let org = match request.caller.directory() {
        Directory::Tenant => Uuid::parse_str(group_id).map_err(|_| not_found_group())?,
        Directory::Organization(org) => org,
    };
    let Some(membership) = organizations::membership_in(tx, org, identity_id)
        .await
        .map_err(scim_error)?
    else {
        return Ok(());
    };
    match request.caller.directory() {
        Directory::Tenant => organizations::remove_in(tx, actor, &membership).await,
        Directory::Organization(_) => {
            let mut roles: Vec<String> = membership
                .roles
                .iter()
                .filter(|role| *role != group_id)
                .cloned()
                .collect();
            // A member holds `org:member` at least.
            if roles.is_empty() {
                roles.push(ORG_MEMBER.to_owned());
            }
            organizations::sync_roles_in(tx, actor, org, identity_id, &roles, BY_SCIM).await
        }
    }
    .map_err(scim_error)
}

/// Deletes a group: the organization for the tenant's directory; for an organization's, the
/// role is taken from its members there and the link is forgotten.
pub async fn delete_group(
    request: &ScimRequest<'_>,
    id: &str,
    if_match: Option<&str>,
) -> ScimResult<()> {
    let directory = request.caller.directory();
    let tx = request
        .db
        .begin_tenant(request.scope)
        .await
        .map_err(scim_error)?;
    let current = load_in(&tx, request, id).await?;
    check_if_match(&current.render(request.base_url), if_match)?;
    match directory {
        Directory::Tenant => {
            let org = Uuid::parse_str(id).map_err(|_| not_found_group())?;
            organizations::delete_in(&tx, &request.caller.actor, org)
                .await
                .map_err(scim_error)?;
        }
        Directory::Organization(_) => {
            for member in &current.members {
                remove_member_in(&tx, request, id, *member).await?;
            }
        }
    }
    links::delete_group_link_in(&tx, directory, id)
        .await
        .map_err(scim_error)?;
    tx.commit().await.map_err(scim_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_for_directory_groups_are_valid_and_distinct() {
        let a = slug_for("Sales & Marketing (EMEA)");
        assert!(a.starts_with("sales-marketing-emea-"), "{a}");
        crate::validate::Slug::parse("slug", &a).unwrap();
        assert_ne!(slug_for("Sales"), slug_for("Sales"));
        assert!(slug_for("!!!").starts_with("org-"));
    }

    #[test]
    fn group_members_must_be_user_ids() {
        let error = parse(json!({ "displayName": "A", "members": [{ "value": "nope" }] }))
            .err()
            .unwrap();
        assert_eq!(error.scim_type, Some("invalidValue"));
        let input = parse(json!({ "displayName": "A", "members": [
            { "value": "0190c8a0-0000-7000-8000-000000000001" },
            { "value": "0190c8a0-0000-7000-8000-000000000001" }
        ] }))
        .ok()
        .unwrap();
        assert_eq!(input.members.len(), 1);
    }
}
