//! Setting an organization's SSO requirement (`setOrganizationSsoRequirement`): only for an
//! organization with an identity provider, with break-glass exceptions that are identities of
//! the tenant. The check at every sign-in is [`crate::sso`].

use super::providers;
use crate::actor::{Actor, Permission};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::identities;
use crate::organizations;
use crate::scope::TenantScope;
use crate::sso::{self, SsoRequirement};
use serde_json::json;
use uuid::Uuid;

/// The most break-glass exceptions of one organization.
const MAX_EXCEPTIONS: usize = 20;

/// Requires (`required`) or stops requiring SSO for the organization's members, except
/// `exceptions`. Requires `ManageTenant`.
pub async fn set_sso_requirement(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    required: bool,
    exceptions: Vec<Uuid>,
) -> Result<Option<SsoRequirement>> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    organizations::organization_in(&tx, organization_id).await?;
    if required {
        let has_provider = providers::all_in(&tx)
            .await?
            .iter()
            .any(|p| p.organization_id == Some(organization_id));
        if !has_provider {
            return Err(Error::validation(
                "organizationId",
                "the organization has no identity provider; add one (createIdentityProvider) before requiring SSO",
            ));
        }
        if exceptions.len() > MAX_EXCEPTIONS {
            return Err(Error::validation(
                "exceptions",
                format!("at most {MAX_EXCEPTIONS} exceptions"),
            ));
        }
        let found = identities::find_many_in(&tx, &exceptions).await?;
        if let Some(i) = exceptions
            .iter()
            .position(|id| !found.iter().any(|f| f.id == *id))
        {
            return Err(Error::validation(
                &format!("exceptions[{i}]"),
                "no such identity",
            ));
        }
    }
    let requirement = sso::set_in(
        &tx,
        organization_id,
        required.then_some(exceptions.as_slice()),
    )
    .await?;
    let target = organization_id.to_string();
    audit::record(
        &tx,
        actor,
        "organization.sso_requirement",
        Some(Target {
            kind: "organization",
            id: &target,
        }),
        json!({ "required": required, "exceptions": requirement.as_ref().map(|r| &r.exceptions) }),
    )
    .await?;
    tx.commit().await?;
    Ok(requirement)
}

/// The organization's requirement, if any. Requires `ReadTenant`.
pub async fn sso_requirement(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
) -> Result<Option<SsoRequirement>> {
    authorize(actor, Permission::ReadTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    organizations::organization_in(&tx, organization_id).await?;
    sso::of_organization_in(&tx, organization_id).await
}
