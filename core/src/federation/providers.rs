//! Identity providers: their rows, what a tenant admin may configure (checked on save, before
//! the control plane reads the provider's discovery document), their sealed credentials.

use super::presets::check_enterprise_issuer;
pub use super::presets::{
    CheckedSettings, Credentials, Preset, Protocol, check_credentials, check_settings,
};
pub use super::role_mapping::{RoleMapping, RoleRule};
use crate::actor::{Actor, Permission};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::crypto::MasterKey;
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::organizations;
use crate::scope::TenantScope;
use crate::validate::{Domain, Name};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use uuid::Uuid;

pub(super) mod provider_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "identity_providers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Option<Uuid>,
        pub name: String,
        pub protocol: String,
        pub preset: String,
        pub domains: Json,
        pub settings: Json,
        pub credentials: String,
        pub role_mapping: Option<Json>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(provider_row);

/// The most providers a tenant may have.
pub const MAX_PROVIDERS: u64 = 100;
/// The most domains one provider may claim.
const MAX_DOMAINS: usize = 50;
/// A configured identity provider (its credentials stay sealed in the row).
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityProvider {
    pub id: Uuid,
    /// Set for an organization's enterprise SSO; `None` for a tenant-wide (social) provider.
    pub organization_id: Option<Uuid>,
    pub name: String,
    pub protocol: Protocol,
    pub preset: Preset,
    /// The organization's verified domains this provider answers for (home-realm discovery).
    pub domains: Vec<String>,
    /// The checked settings (OIDC: `issuer`, `scopes`).
    pub settings: Value,
    pub role_mapping: Option<RoleMapping>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IdentityProvider {
    /// The OIDC issuer the settings name.
    pub fn issuer(&self) -> Option<&str> {
        self.settings["issuer"].as_str()
    }

    /// The scopes asked for at the provider.
    pub fn scopes(&self) -> Vec<String> {
        self.settings["scopes"]
            .as_array()
            .map(|scopes| {
                scopes
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TryFrom<provider_row::Model> for IdentityProvider {
    type Error = Error;

    fn try_from(row: provider_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            organization_id: row.organization_id,
            name: row.name,
            protocol: Protocol::parse(&row.protocol)?,
            preset: Preset::parse(&row.preset)?,
            domains: serde_json::from_value(row.domains).map_err(Error::internal)?,
            settings: row.settings,
            role_mapping: row
                .role_mapping
                .map(serde_json::from_value)
                .transpose()
                .map_err(Error::internal)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What `createIdentityProvider` takes.
#[derive(Clone, Debug)]
pub struct NewProvider {
    pub name: String,
    pub protocol: Protocol,
    pub preset: Preset,
    pub organization_id: Option<Uuid>,
    pub domains: Vec<String>,
    pub settings: Value,
    pub credentials: Value,
    pub role_mapping: Option<Value>,
}

/// What `updateIdentityProvider` changes; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct ProviderChanges {
    pub name: Option<String>,
    pub domains: Option<Vec<String>>,
    pub settings: Option<Value>,
    pub credentials: Option<Value>,
    /// `Some(Value::Null)` removes the mapping.
    pub role_mapping: Option<Value>,
}

fn credentials_context(provider_id: Uuid) -> Vec<u8> {
    format!("latchkey identity provider credentials {provider_id}").into_bytes()
}

fn seal(key: &MasterKey, provider_id: Uuid, credentials: &Credentials) -> Result<String> {
    let plain = serde_json::to_value(credentials).map_err(Error::internal)?;
    key.seal(
        &credentials_context(provider_id),
        plain.to_string().as_bytes(),
    )
}

/// The provider's credentials, unsealed.
pub(super) fn open(key: &MasterKey, row: &provider_row::Model) -> Result<Credentials> {
    let plain = key.open(&credentials_context(row.id), &row.credentials)?;
    serde_json::from_slice(&plain).map_err(Error::internal)
}

/// Checks the domains of a provider: only an organization's provider names any, and each must
/// be a verified domain of that organization.
async fn check_domains(
    tx: &TenantTx,
    organization_id: Option<Uuid>,
    domains: &[String],
) -> Result<Vec<String>> {
    if domains.len() > MAX_DOMAINS {
        return Err(Error::validation(
            "domains",
            format!("at most {MAX_DOMAINS} domains"),
        ));
    }
    let mut checked = Vec::with_capacity(domains.len());
    for (i, domain) in domains.iter().enumerate() {
        let field = format!("domains[{i}]");
        let domain = Domain::parse(&field, domain)?.as_str().to_owned();
        let Some(organization_id) = organization_id else {
            return Err(Error::validation(
                &field,
                "only an organization's provider answers for domains (set organizationId)",
            ));
        };
        if crate::domains::verified_owner_in(tx, &domain).await? != Some(organization_id) {
            return Err(Error::validation(
                &field,
                "is not a verified domain of the organization; verify it first (addVerifiedDomain, then verifyDomain)",
            ));
        }
        if !checked.contains(&domain) {
            checked.push(domain);
        }
    }
    Ok(checked)
}

async fn find_row(tx: &TenantTx, id: Uuid) -> Result<provider_row::Model> {
    tx.find::<provider_row::Entity>()
        .filter(provider_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

/// One provider of the tenant with its credentials, for the flows (`NotFound` for another
/// tenant's).
pub(crate) async fn with_credentials_in(
    tx: &TenantTx,
    key: &MasterKey,
    id: Uuid,
) -> Result<(IdentityProvider, Credentials)> {
    let row = find_row(tx, id).await?;
    let credentials = open(key, &row)?;
    Ok((row.try_into()?, credentials))
}

/// The tenant's providers, oldest first.
pub(crate) async fn all_in(tx: &TenantTx) -> Result<Vec<IdentityProvider>> {
    tx.find::<provider_row::Entity>()
        .order_by_asc(provider_row::Column::CreatedAt)
        .order_by_asc(provider_row::Column::Id)
        .all()
        .await?
        .into_iter()
        .map(IdentityProvider::try_from)
        .collect()
}

fn audited(provider: &IdentityProvider) -> Value {
    json!({
        "name": provider.name,
        "protocol": provider.protocol.as_str(),
        "preset": provider.preset.as_str(),
        "organizationId": provider.organization_id,
        "domains": provider.domains,
        "settings": provider.settings,
    })
}

async fn record(
    tx: &TenantTx,
    actor: &Actor,
    action: &str,
    provider: &IdentityProvider,
) -> Result<()> {
    let id = provider.id.to_string();
    audit::record(
        tx,
        actor,
        action,
        Some(Target {
            kind: "identity_provider",
            id: &id,
        }),
        audited(provider),
    )
    .await
}

/// Checks everything of a new provider that needs no network: who may, the fields, the
/// organization and its domains. Answers the checked settings for discovery.
pub async fn check_new(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    input: &NewProvider,
) -> Result<(CheckedSettings, Credentials)> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    Name::parse("name", &input.name, 100)?;
    let checked = check_settings(input.protocol, input.preset, &input.settings)?;
    check_enterprise_issuer(input.organization_id, input.preset, &checked)?;
    let credentials = check_credentials(input.protocol, input.preset, &input.credentials)?;
    let tx = db.begin_tenant(scope).await?;
    if let Some(mapping) = &input.role_mapping {
        if input.organization_id.is_none() {
            return Err(Error::validation(
                "roleMapping",
                "only an organization's provider maps groups to organization roles (set organizationId)",
            ));
        }
        check_mapping_roles(&tx, &RoleMapping::parse(mapping.clone())?).await?;
    }
    if let Some(organization_id) = input.organization_id {
        organizations::organization_in(&tx, organization_id)
            .await
            .map_err(|error| match error {
                Error::NotFound => Error::validation("organizationId", "no such organization"),
                other => other,
            })?;
    }
    check_domains(&tx, input.organization_id, &input.domains).await?;
    Ok((checked, credentials))
}

async fn check_mapping_roles(tx: &TenantTx, mapping: &RoleMapping) -> Result<()> {
    let lists = mapping
        .rules
        .iter()
        .map(|rule| &rule.roles)
        .chain([&mapping.default_roles]);
    for roles in lists.filter(|roles| !roles.is_empty()) {
        organizations::check_roles(tx, roles)
            .await
            .map_err(|error| match error {
                Error::Validation { reason, .. } => Error::validation("roleMapping", reason),
                other => other,
            })?;
    }
    Ok(())
}

/// `createIdentityProvider`, once discovery succeeded: stores the provider with its sealed
/// credentials. Requires `ManageTenant`.
pub async fn create_provider(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    master_key: &MasterKey,
    input: NewProvider,
    checked: &CheckedSettings,
    credentials: &Credentials,
) -> Result<IdentityProvider> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    if tx.find::<provider_row::Entity>().count().await? >= MAX_PROVIDERS {
        return Err(Error::Refused(format!(
            "a tenant has at most {MAX_PROVIDERS} identity providers"
        )));
    }
    let domains = check_domains(&tx, input.organization_id, &input.domains).await?;
    let role_mapping = input.role_mapping.map(RoleMapping::parse).transpose()?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    let row = tx
        .insert(provider_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(id),
            organization_id: Set(input.organization_id),
            name: Set(Name::parse("name", &input.name, 100)?.into_inner()),
            protocol: Set(input.protocol.as_str().to_owned()),
            preset: Set(input.preset.as_str().to_owned()),
            domains: Set(json!(domains)),
            settings: Set(checked.value.clone()),
            credentials: Set(seal(master_key, id, credentials)?),
            role_mapping: Set(role_mapping.map(|m| json!(m))),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .await?;
    let provider = IdentityProvider::try_from(row)?;
    record(&tx, actor, "identity_provider.create", &provider).await?;
    tx.commit().await?;
    Ok(provider)
}

/// The provider an update starts from, and its settings and credentials with the changes
/// applied and checked (before discovery). Requires `ManageTenant`.
pub async fn check_changes(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    master_key: &MasterKey,
    id: Uuid,
    changes: &ProviderChanges,
) -> Result<(IdentityProvider, CheckedSettings, Credentials)> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let (provider, current) = with_credentials_in(&tx, master_key, id).await?;
    if let Some(name) = &changes.name {
        Name::parse("name", name, 100)?;
    }
    let settings = changes.settings.as_ref().unwrap_or(&provider.settings);
    let checked = check_settings(provider.protocol, provider.preset, settings)?;
    check_enterprise_issuer(provider.organization_id, provider.preset, &checked)?;
    let credentials = match &changes.credentials {
        Some(value) => check_credentials(provider.protocol, provider.preset, value)?,
        None => current,
    };
    if let Some(domains) = &changes.domains {
        check_domains(&tx, provider.organization_id, domains).await?;
    }
    if let Some(mapping) = changes.role_mapping.clone().filter(|m| !m.is_null()) {
        if provider.organization_id.is_none() {
            return Err(Error::validation(
                "roleMapping",
                "only an organization's provider maps groups to organization roles",
            ));
        }
        check_mapping_roles(&tx, &RoleMapping::parse(mapping)?).await?;
    }
    Ok((provider, checked, credentials))
}

/// `updateIdentityProvider`, once discovery succeeded. Requires `ManageTenant`.
#[allow(clippy::too_many_arguments)]
pub async fn update_provider(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    master_key: &MasterKey,
    id: Uuid,
    changes: ProviderChanges,
    checked: &CheckedSettings,
    credentials: &Credentials,
) -> Result<IdentityProvider> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = find_row(&tx, id).await?;
    let organization_id = row.organization_id;
    let mut active: provider_row::ActiveModel = row.into();
    if let Some(name) = changes.name {
        active.name = Set(Name::parse("name", &name, 100)?.into_inner());
    }
    if let Some(domains) = changes.domains {
        active.domains = Set(json!(check_domains(&tx, organization_id, &domains).await?));
    }
    if let Some(mapping) = changes.role_mapping {
        active.role_mapping = Set(match mapping {
            Value::Null => None,
            value => Some(json!(RoleMapping::parse(value)?)),
        });
    }
    active.settings = Set(checked.value.clone());
    active.credentials = Set(seal(master_key, id, credentials)?);
    active.updated_at = Set(Utc::now());
    let provider = IdentityProvider::try_from(tx.update(active).await?)?;
    record(&tx, actor, "identity_provider.update", &provider).await?;
    tx.commit().await?;
    Ok(provider)
}

/// `deleteIdentityProvider`: the provider and its links go; identities stay. Requires
/// `ManageTenant`.
pub async fn delete_provider(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<IdentityProvider> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let provider = IdentityProvider::try_from(find_row(&tx, id).await?)?;
    if let Some(organization_id) = provider.organization_id {
        let others = all_in(&tx)
            .await?
            .iter()
            .filter(|p| p.organization_id == Some(organization_id) && p.id != id)
            .count();
        if others == 0
            && crate::sso::of_organization_in(&tx, organization_id)
                .await?
                .is_some()
        {
            return Err(Error::Conflict(
                "the organization requires SSO through this provider; lift the requirement first (setOrganizationSsoRequirement)".into(),
            ));
        }
    }
    super::links::delete_for_provider_in(&tx, id).await?;
    tx.delete_many::<provider_row::Entity>()
        .filter(provider_row::Column::Id.eq(id))
        .exec()
        .await?;
    record(&tx, actor, "identity_provider.delete", &provider).await?;
    tx.commit().await?;
    Ok(provider)
}

/// `identityProviders` (optionally one organization's) and `identityProvider(id)`. Requires
/// `ReadTenant`.
pub async fn list_providers(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Option<Uuid>,
) -> Result<Vec<IdentityProvider>> {
    authorize(actor, Permission::ReadTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let mut providers = all_in(&tx).await?;
    if let Some(organization_id) = organization_id {
        providers.retain(|p| p.organization_id == Some(organization_id));
    }
    Ok(providers)
}

/// One provider with its credentials, for a flow (anonymous: the flow's start and callback
/// are public endpoints; another tenant's provider is `NotFound`).
pub async fn provider_for_flow(
    db: &Database,
    scope: &TenantScope,
    master_key: &MasterKey,
    id: Uuid,
) -> Result<(IdentityProvider, Credentials)> {
    let tx = db.begin_tenant(scope).await?;
    with_credentials_in(&tx, master_key, id).await
}

/// What the hosted sign-in page offers before anyone signs in: the tenant-wide providers as
/// buttons (when the tenant's `signInMethods` include `FEDERATED`), and whether any
/// organization has SSO (then the page asks for the address first, to send people of those
/// organizations to their provider).
pub struct SignInOptions {
    pub buttons: Vec<IdentityProvider>,
    pub enterprise: bool,
}

pub async fn sign_in_options(
    db: &Database,
    scope: &TenantScope,
    settings: &crate::settings::TenantSettings,
) -> Result<SignInOptions> {
    let tx = db.begin_tenant(scope).await?;
    let providers = all_in(&tx).await?;
    let enterprise = providers
        .iter()
        .any(|p| p.organization_id.is_some() && !p.domains.is_empty());
    let buttons = match settings.allows(crate::settings::SignInMethod::Federated) {
        true => providers
            .into_iter()
            .filter(|p| p.organization_id.is_none())
            .collect(),
        false => Vec::new(),
    };
    Ok(SignInOptions {
        buttons,
        enterprise,
    })
}

/// The organization provider that answers for `domain` (home-realm discovery), if any.
pub async fn provider_for_domain(
    db: &Database,
    scope: &TenantScope,
    domain: &str,
) -> Result<Option<IdentityProvider>> {
    let tx = db.begin_tenant(scope).await?;
    let Some(organization_id) = crate::domains::verified_owner_in(&tx, domain).await? else {
        return Ok(None);
    };
    Ok(all_in(&tx).await?.into_iter().find(|p| {
        p.organization_id == Some(organization_id) && p.domains.iter().any(|d| d == domain)
    }))
}
