//! SCIM 2.0 provisioning (RFC 7643/7644): a directory such as Microsoft Entra ID or Okta
//! creates, changes, deactivates and deletes people through `/t/{slug}/scim/v2`.
//!
//! What a token reaches is its [`Directory`]:
//! - **the tenant** (a token without organization): its Users are the tenant's live
//!   identities (`userName` is the address), its Groups are the organizations (members are
//!   memberships); `active: false` suspends the identity, DELETE deletes it.
//! - **one organization** (a business customer's own directory): its Users are the
//!   organization's members, its Groups are the organization roles held there. A new user must
//!   have an address under one of the organization's verified domains; `active: false`
//!   suspends the membership (kept with its roles), DELETE removes the membership, never the
//!   identity.
//!
//! Anything outside the directory is 404, exactly like what does not exist. The protocol
//! itself (filters, PATCH, schemas) is the `latchkey-scim` crate; the rules are here:
//! `tokens` (create, revoke, authenticate), `links` (the directory's `externalId` and the
//! attributes only SCIM carries), `user_resource` (an identity as a SCIM User and back) →
//! `users`; `groups` (organizations or roles as SCIM Groups).

mod groups;
mod links;
pub(crate) use links::{erase_provisioning_in, provisioning_data_in};
mod tokens;
mod user_resource;
mod users;

pub use groups::{create_group, delete_group, get_group, list_groups, patch_group, replace_group};
pub use tokens::{
    SCIM_TOKEN_PREFIX, ScimToken, authenticate_scim_token, create_scim_token, list_scim_tokens,
    revoke_scim_token,
};
pub use users::{create_user, delete_user, get_user, list_users, patch_user, replace_user};

use crate::actor::Actor;
use crate::db::Database;
use crate::error::Error;
use crate::scope::TenantScope;
use latchkey_scim::{Pagination, ScimError};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What SCIM services answer: a resource, or an error in SCIM's terms.
pub type ScimResult<T> = std::result::Result<T, ScimError>;

/// Whom a SCIM token provisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Directory {
    /// The whole tenant: identities and organizations.
    Tenant,
    /// One organization: its members and the roles they hold there.
    Organization(Uuid),
}

impl Directory {
    /// The key of this directory's links (`scim_users.scope_id`): the organization, or the nil
    /// UUID for the tenant.
    fn scope_id(self) -> Uuid {
        match self {
            Directory::Tenant => Uuid::nil(),
            Directory::Organization(id) => id,
        }
    }
}

/// A caller authenticated with a SCIM token; made only by [`authenticate_scim_token`].
#[derive(Clone, Debug)]
pub struct ScimCaller {
    actor: Actor,
    token_id: Uuid,
    directory: Directory,
    /// The roles an organization's directory may assign, as its token lists them.
    roles: Option<Vec<String>>,
}

impl ScimCaller {
    pub fn token_id(&self) -> Uuid {
        self.token_id
    }

    pub fn directory(&self) -> Directory {
        self.directory
    }
}

/// One SCIM request: where, who, and the base URL its resources' `location` starts with
/// (`https://…/t/{slug}/scim/v2`).
pub struct ScimRequest<'a> {
    pub db: &'a Database,
    pub scope: &'a TenantScope,
    pub caller: &'a ScimCaller,
    pub base_url: &'a str,
}

/// A list request: the filter as sent and the page.
#[derive(Clone, Debug)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub pagination: Pagination,
    /// Whether groups' members are shown (not left out by `excludedAttributes=members`, as
    /// Entra ID asks): reading them costs a query per organization.
    pub include_members: bool,
}

/// A list answer: how many match, and the resources of the page asked for.
#[derive(Clone, Debug)]
pub struct Listed {
    pub total: usize,
    pub resources: Vec<Value>,
}

/// The core's errors in SCIM's terms (RFC 7644 §3.12), in one place. Internal causes are
/// logged here and never sent.
pub fn scim_error(error: Error) -> ScimError {
    match error {
        Error::NotFound => ScimError::not_found("no such resource"),
        Error::Conflict(message) => ScimError::uniqueness(message),
        Error::Unauthenticated => ScimError::unauthorized("a valid SCIM token is required"),
        Error::PermissionDenied => ScimError::new(403, None, "not allowed"),
        Error::Validation { field, reason } => {
            ScimError::invalid_value(format!("{field}: {reason}"))
        }
        Error::Refused(reason) => ScimError::new(403, None, reason),
        Error::RateLimited { retry_after } => ScimError::new(
            429,
            None,
            format!(
                "too many requests with this SCIM token; retry in {} seconds",
                retry_after.as_secs().max(1)
            ),
        ),
        Error::Unavailable {
            dependency,
            retry_after,
        } => ScimError::new(
            503,
            None,
            format!(
                "{} is unavailable; retry in {} seconds",
                dependency.as_str(),
                retry_after.as_secs().max(1)
            ),
        ),
        Error::TenantSuspended => ScimError::new(403, None, "tenant is suspended"),
        Error::Internal(source) => {
            tracing::error!(error = %source, "SCIM request failed");
            ScimError::new(500, None, "internal error")
        }
    }
}

/// A resource's version (`meta.version`, the ETag): a weak tag over its representation
/// without `meta`, so it moves with any change a client can see.
fn version_of(resource: &Value) -> String {
    let mut without_meta = resource.clone();
    if let Some(fields) = without_meta.as_object_mut() {
        fields.remove("meta");
    }
    let digest = Sha256::digest(without_meta.to_string().as_bytes());
    format!("W/\"{}\"", hex::encode(&digest[..12]))
}

/// Refuses a change whose `If-Match` names another version (412), RFC 7644 §3.14. `*`
/// matches any version.
fn check_if_match(resource: &Value, if_match: Option<&str>) -> ScimResult<()> {
    let Some(expected) = if_match else {
        return Ok(());
    };
    let current = resource["meta"]["version"].as_str().unwrap_or_default();
    let matches = expected.split(',').map(str::trim).any(|tag| {
        tag == "*"
            || tag == current
            || tag.trim_start_matches("W/") == current.trim_start_matches("W/")
    });
    if matches {
        Ok(())
    } else {
        Err(ScimError::precondition_failed(
            "the resource has changed since the version in If-Match; read it again",
        ))
    }
}

/// The `[offset, offset + count)` slice of `items`.
fn page_of<T>(items: Vec<T>, pagination: Pagination) -> Vec<T> {
    items
        .into_iter()
        .skip(pagination.offset())
        .take(pagination.count)
        .collect()
}

/// The parsed filter of a list request.
fn parse_filter(query: &ListQuery) -> ScimResult<Option<latchkey_scim::Filter>> {
    query
        .filter
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .map(latchkey_scim::Filter::parse)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_version_moves_with_the_resource_but_not_with_meta() {
        let a = json!({ "id": "1", "userName": "a@example.com", "meta": { "version": "x" } });
        let b = json!({ "id": "1", "userName": "a@example.com", "meta": { "version": "y" } });
        let c = json!({ "id": "1", "userName": "b@example.com" });
        assert_eq!(version_of(&a), version_of(&b));
        assert_ne!(version_of(&a), version_of(&c));
        assert!(version_of(&a).starts_with("W/\""));
    }

    #[test]
    fn if_match_accepts_the_current_version_or_a_star_and_refuses_another() {
        let mut resource = json!({ "id": "1" });
        let version = version_of(&resource);
        resource["meta"] = json!({ "version": version });
        assert!(check_if_match(&resource, None).is_ok());
        assert!(check_if_match(&resource, Some(&version)).is_ok());
        assert!(check_if_match(&resource, Some("*")).is_ok());
        let refused = check_if_match(&resource, Some("W/\"other\"")).unwrap_err();
        assert_eq!(refused.status, 412);
    }
}
