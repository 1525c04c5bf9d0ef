//! Applications: the tenant's OpenID Connect clients. Web applications are confidential (a
//! client secret, shown once and stored as a SHA-256 hash); SPAs and native apps are public
//! and must use PKCE; machine clients use the client-credentials grant only.
//!
//! Redirect URIs are registered exactly and compared as exact strings (RFC 9700 §2.1): no
//! wildcards, no userinfo, no fragments, no dot segments, and only in their canonical form, so
//! that the string an authorization request sends is either one of them or refused. `http` is
//! allowed only for native apps on a loopback IP, whose port may vary (RFC 8252 §7.3).

mod access_policy;

pub use access_policy::{AccessPolicy, Allow};

use crate::actor::{Actor, Permission};
use crate::audit::{self, Target};
use crate::authz::{Resource, authorize};
use crate::claim_mappings::{self, ClaimMapping};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result, is_unique_violation};
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::secrets;
use crate::sessions;
use crate::settings::TenantSettings;
use crate::validate::Name;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::{Host, Url};
use uuid::Uuid;

/// Every client id starts with this.
pub const CLIENT_ID_PREFIX: &str = "lkc_";
/// Every client secret starts with this.
pub const CLIENT_SECRET_PREFIX: &str = "lkcs_";
/// The scopes of OpenID Connect itself; the rest are the tenant's own API scopes.
pub const OIDC_SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];
const DEFAULT_USER_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
const MAX_REDIRECT_URIS: usize = 20;
/// The near cache's kind of entry: an application by its client id.
const CACHE_KIND: &str = "oauth-client";
const MAX_SCOPES: usize = 50;

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "applications")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub client_id: String,
        pub name: String,
        pub app_type: String,
        pub secret_hash: Option<String>,
        pub redirect_uris: Json,
        pub post_logout_redirect_uris: Json,
        pub scopes: Json,
        pub access_token_ttl_seconds: Option<i32>,
        pub refresh_token_ttl_seconds: Option<i32>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub secret_rotated_at: Option<DateTimeUtc>,
        pub claim_mappings: Option<Json>,
        pub access_policy: Option<Json>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row, guards Tenant);

/// The kind of client, which decides how it authenticates and which grants it may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppType {
    /// A server-side web application: confidential, authorization code (+ refresh).
    Web,
    /// A single-page application: public, authorization code with PKCE.
    Spa,
    /// A mobile or desktop application: public, PKCE, loopback or private-scheme redirects.
    Native,
    /// A back end calling APIs for itself: confidential, client credentials only.
    Machine,
}

impl AppType {
    pub fn as_str(self) -> &'static str {
        match self {
            AppType::Web => "web",
            AppType::Spa => "spa",
            AppType::Native => "native",
            AppType::Machine => "machine",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "web" => Ok(AppType::Web),
            "spa" => Ok(AppType::Spa),
            "native" => Ok(AppType::Native),
            "machine" => Ok(AppType::Machine),
            other => Err(Error::internal(format!(
                "unknown application type {other:?}"
            ))),
        }
    }

    /// Public clients cannot keep a secret; they prove possession with PKCE instead.
    pub fn is_public(self) -> bool {
        matches!(self, AppType::Spa | AppType::Native)
    }

    /// Whether the client signs users in (authorization code), as opposed to machine clients.
    pub fn signs_users_in(self) -> bool {
        !matches!(self, AppType::Machine)
    }
}

/// An application as admins see it (never the secret).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Application {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub app_type: AppType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    /// The custom claims this application's tokens carry besides the tenant's.
    pub claim_mappings: Vec<ClaimMapping>,
    /// Who may sign in to it.
    pub access_policy: AccessPolicy,
    secret_hash: Option<String>,
}

impl TryFrom<row::Model> for Application {
    type Error = Error;

    fn try_from(row: row::Model) -> Result<Self> {
        let strings = |value: serde_json::Value| {
            serde_json::from_value::<Vec<String>>(value).map_err(Error::internal)
        };
        let claim_mappings = match row.claim_mappings {
            Some(value) => serde_json::from_value(value).map_err(Error::internal)?,
            None => Vec::new(),
        };
        let access_policy = match row.access_policy {
            Some(value) => serde_json::from_value(value).map_err(Error::internal)?,
            None => AccessPolicy::default(),
        };
        Ok(Self {
            id: row.id,
            app_type: AppType::parse(&row.app_type)?,
            redirect_uris: strings(row.redirect_uris)?,
            post_logout_redirect_uris: strings(row.post_logout_redirect_uris)?,
            scopes: strings(row.scopes)?,
            access_token_ttl_seconds: row.access_token_ttl_seconds.map(|v| v.unsigned_abs()),
            refresh_token_ttl_seconds: row.refresh_token_ttl_seconds.map(|v| v.unsigned_abs()),
            client_id: row.client_id,
            name: row.name,
            created_at: row.created_at,
            updated_at: row.updated_at,
            secret_rotated_at: row.secret_rotated_at,
            claim_mappings,
            access_policy,
            secret_hash: row.secret_hash,
        })
    }
}

impl Application {
    /// Checks a presented client secret in constant time.
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret_hash.as_deref().is_some_and(|stored| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                stored.as_bytes(),
                secrets::hash(secret).as_bytes(),
            )
            .is_ok()
        })
    }

    /// Whether `uri`, as sent in an authorization request, is one of the registered redirect
    /// URIs: the exact string, except that a native app's loopback URI may name any port.
    pub fn accepts_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|registered| {
            registered == uri
                || (self.app_type == AppType::Native
                    && loopback_without_port(registered)
                        .zip(loopback_without_port(uri))
                        .is_some_and(|(a, b)| a == b))
        })
    }

    /// Whether every scope in `requested` is allowed for this application.
    pub fn allows_scopes<'a>(&self, requested: impl IntoIterator<Item = &'a str>) -> bool {
        requested
            .into_iter()
            .all(|scope| self.scopes.iter().any(|allowed| allowed == scope))
    }
}

/// A loopback `http` URI with its port removed, for the port-agnostic comparison.
fn loopback_without_port(uri: &str) -> Option<String> {
    let mut url = Url::parse(uri).ok()?;
    if url.scheme() != "http" || !is_loopback_ip(&url) || url.as_str() != uri {
        return None;
    }
    url.set_port(None).ok()?;
    Some(url.into())
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// Checks one redirect (or post-logout redirect) URI for an application of `app_type`.
fn parse_redirect_uri(field: &str, app_type: AppType, input: &str) -> Result<String> {
    let invalid = |reason: &str| Error::validation(field, format!("{input:?} {reason}"));
    if input.len() > 2000 {
        return Err(invalid("is longer than 2000 characters"));
    }
    if input.contains('*') {
        return Err(invalid("contains a wildcard; register each URI exactly"));
    }
    let url = Url::parse(input).map_err(|_| invalid("is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(invalid("has a fragment (#…); redirect URIs may not"));
    }
    if !url.username().is_empty() || url.password().is_some() || input.contains('@') {
        return Err(invalid("contains userinfo (@); redirect URIs may not"));
    }
    if input.contains("/..")
        || input.contains("/./")
        || input.contains(";/")
        || input.contains('\\')
    {
        return Err(invalid("contains dot segments or path parameters"));
    }
    if url.as_str() != input {
        return Err(invalid(&format!(
            "is not in canonical form; register {:?}",
            url.as_str()
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if app_type == AppType::Native && is_loopback_ip(&url) => {}
        "http" if app_type == AppType::Native => {
            return Err(invalid(
                "uses http on a host other than a loopback IP; native apps use http://127.0.0.1 or http://[::1] (RFC 8252)",
            ));
        }
        "http" => {
            return Err(invalid(
                "uses http; only https is allowed (http only for native apps on a loopback IP)",
            ));
        }
        scheme if app_type == AppType::Native && scheme.contains('.') => {}
        _ => {
            return Err(invalid(
                "must use https (native apps may also use a reverse-domain private scheme such as com.example.app:/callback)",
            ));
        }
    }
    Ok(input.to_owned())
}

fn parse_redirect_uris(field: &str, app_type: AppType, inputs: &[String]) -> Result<Vec<String>> {
    if inputs.len() > MAX_REDIRECT_URIS {
        return Err(Error::validation(
            field,
            format!("at most {MAX_REDIRECT_URIS} URIs"),
        ));
    }
    let mut uris = Vec::with_capacity(inputs.len());
    for input in inputs {
        let uri = parse_redirect_uri(field, app_type, input.trim())?;
        if !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    Ok(uris)
}

/// A scope token as RFC 6749 §3.3 defines it.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 100
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

fn parse_scopes(app_type: AppType, inputs: Option<&[String]>) -> Result<Vec<String>> {
    let Some(inputs) = inputs else {
        return Ok(if app_type.signs_users_in() {
            DEFAULT_USER_SCOPES.map(str::to_owned).to_vec()
        } else {
            Vec::new()
        });
    };
    if inputs.len() > MAX_SCOPES {
        return Err(Error::validation(
            "scopes",
            format!("at most {MAX_SCOPES} scopes"),
        ));
    }
    let mut scopes: Vec<String> = Vec::with_capacity(inputs.len());
    for scope in inputs {
        if !is_scope_token(scope) {
            return Err(Error::validation(
                "scopes",
                format!(
                    "{scope:?} is not a scope (printable ASCII without spaces, quotes or backslashes, at most 100 characters)"
                ),
            ));
        }
        if !app_type.signs_users_in() && OIDC_SCOPES.contains(&scope.as_str()) {
            return Err(Error::validation(
                "scopes",
                format!(
                    "{scope:?} is about signing users in; machine applications get API scopes only"
                ),
            ));
        }
        if !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    Ok(scopes)
}

fn parse_ttl(
    field: &str,
    value: Option<u32>,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<i32>> {
    match value {
        None => Ok(None),
        Some(seconds) if range.contains(&seconds) => Ok(Some(seconds as i32)),
        Some(_) => Err(Error::validation(
            field,
            format!(
                "must be between {} and {} seconds",
                range.start(),
                range.end()
            ),
        )),
    }
}

const ACCESS_TTL: std::ops::RangeInclusive<u32> = 60..=86_400;
const REFRESH_TTL: std::ops::RangeInclusive<u32> = 300..=31_536_000;

/// What `createApplication` takes.
#[derive(Clone, Debug)]
pub struct NewApplication {
    pub name: String,
    pub app_type: AppType,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `None`: the defaults (`openid profile email offline_access` for user-facing apps).
    pub scopes: Option<Vec<String>>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    pub claim_mappings: Vec<ClaimMapping>,
    pub access_policy: AccessPolicy,
}

/// What `updateApplication` changes; `None` leaves a field as it is. The type never changes.
#[derive(Clone, Debug, Default)]
pub struct ApplicationChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub access_token_ttl_seconds: Option<u32>,
    pub refresh_token_ttl_seconds: Option<u32>,
    pub claim_mappings: Option<Vec<ClaimMapping>>,
    pub access_policy: Option<AccessPolicy>,
}

/// Checks an application's claim mappings against the tenant's attribute schema; machine
/// applications have no user to take claims from.
fn check_claim_mappings(
    app_type: AppType,
    settings: &TenantSettings,
    mappings: &[ClaimMapping],
) -> Result<()> {
    if !app_type.signs_users_in() && !mappings.is_empty() {
        return Err(Error::validation(
            "claimMappings",
            "machine applications sign no users in; their tokens have no identity to take claims from",
        ));
    }
    claim_mappings::check("claimMappings", mappings, &settings.attribute_names())
}

/// Checks an application's access policy in `tx`; machine applications sign no users in.
async fn checked_policy(
    tx: &TenantTx,
    app_type: AppType,
    policy: AccessPolicy,
) -> Result<AccessPolicy> {
    if !app_type.signs_users_in() && policy != AccessPolicy::default() {
        return Err(Error::validation(
            "accessPolicy.allow",
            "machine applications sign no users in; they take no access policy",
        ));
    }
    policy.check_in(tx).await?;
    Ok(policy.deduplicated())
}

fn check_redirects_for_type(
    app_type: AppType,
    redirect_uris: &[String],
    post_logout: &[String],
) -> Result<()> {
    if app_type.signs_users_in() && redirect_uris.is_empty() {
        return Err(Error::validation(
            "redirectUris",
            "must name at least one redirect URI",
        ));
    }
    let has_redirects = !redirect_uris.is_empty() || !post_logout.is_empty();
    if !app_type.signs_users_in() && has_redirects {
        return Err(Error::validation(
            "redirectUris",
            "machine applications do not sign users in and take no redirect URIs",
        ));
    }
    Ok(())
}

async fn find_row(tx: &TenantTx, id: Uuid) -> Result<row::Model> {
    tx.find::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

async fn record(tx: &TenantTx, actor: &Actor, action: &str, app: &Application) -> Result<()> {
    let target = app.id.to_string();
    audit::record(
        tx,
        actor,
        action,
        Some(Target {
            kind: "application",
            id: &target,
        }),
        json!({
            "name": app.name,
            "clientId": app.client_id,
            "type": app.app_type.as_str(),
            "redirectUris": app.redirect_uris,
            "postLogoutRedirectUris": app.post_logout_redirect_uris,
            "scopes": app.scopes,
            "claimMappings": app.claim_mappings,
            "accessPolicy": app.access_policy,
        }),
    )
    .await
}

/// Registers an application. Returns it with its client secret for confidential types (shown
/// once). Requires `ManageTenant`.
#[tracing::instrument(name = "core.create_application", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_application(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    settings: &TenantSettings,
    new: NewApplication,
) -> Result<(Application, Option<String>)> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let name = Name::parse("name", &new.name, 100)?;
    let redirect_uris = parse_redirect_uris("redirectUris", new.app_type, &new.redirect_uris)?;
    let post_logout = parse_redirect_uris(
        "postLogoutRedirectUris",
        new.app_type,
        &new.post_logout_redirect_uris,
    )?;
    check_redirects_for_type(new.app_type, &redirect_uris, &post_logout)?;
    let scopes = parse_scopes(new.app_type, new.scopes.as_deref())?;
    let access_ttl = parse_ttl(
        "accessTokenTtlSeconds",
        new.access_token_ttl_seconds,
        ACCESS_TTL,
    )?;
    let refresh_ttl = parse_ttl(
        "refreshTokenTtlSeconds",
        new.refresh_token_ttl_seconds,
        REFRESH_TTL,
    )?;
    check_claim_mappings(new.app_type, settings, &new.claim_mappings)?;
    let secret = (!new.app_type.is_public()).then(|| secrets::generate(CLIENT_SECRET_PREFIX));
    // 128 random bits are plenty for a public identifier.
    let client_id = secrets::generate(CLIENT_ID_PREFIX)[..CLIENT_ID_PREFIX.len() + 22].to_owned();
    let now = Utc::now();
    let tx = db.begin_tenant(scope).await?;
    let access_policy = checked_policy(&tx, new.app_type, new.access_policy).await?;
    let row = tx
        .insert(row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            client_id: Set(client_id),
            name: Set(name.into_inner()),
            app_type: Set(new.app_type.as_str().to_owned()),
            secret_hash: Set(secret.as_deref().map(secrets::hash)),
            redirect_uris: Set(json!(redirect_uris)),
            post_logout_redirect_uris: Set(json!(post_logout)),
            scopes: Set(json!(scopes)),
            access_token_ttl_seconds: Set(access_ttl),
            refresh_token_ttl_seconds: Set(refresh_ttl),
            created_at: Set(now),
            updated_at: Set(now),
            secret_rotated_at: Set(None),
            claim_mappings: Set(Some(json!(new.claim_mappings))),
            access_policy: Set(Some(json!(access_policy))),
        })
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                Error::Conflict("client id collision; try again".into())
            } else {
                error.into()
            }
        })?;
    let app = Application::try_from(row)?;
    record(&tx, actor, "application.create", &app).await?;
    tx.commit().await?;
    Ok((app, secret))
}

/// Changes an application's settings. Requires `ManageTenant`.
#[tracing::instrument(name = "core.update_application", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn update_application(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    settings: &TenantSettings,
    id: Uuid,
    changes: ApplicationChanges,
) -> Result<Application> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = find_row(&tx, id).await?;
    let current = Application::try_from(row.clone())?;
    let app_type = current.app_type;
    let mut active: row::ActiveModel = row.into();
    if let Some(name) = changes.name {
        active.name = Set(Name::parse("name", &name, 100)?.into_inner());
    }
    let redirect_uris = match &changes.redirect_uris {
        Some(uris) => parse_redirect_uris("redirectUris", app_type, uris)?,
        None => current.redirect_uris.clone(),
    };
    let post_logout = match &changes.post_logout_redirect_uris {
        Some(uris) => parse_redirect_uris("postLogoutRedirectUris", app_type, uris)?,
        None => current.post_logout_redirect_uris.clone(),
    };
    check_redirects_for_type(app_type, &redirect_uris, &post_logout)?;
    active.redirect_uris = Set(json!(redirect_uris));
    active.post_logout_redirect_uris = Set(json!(post_logout));
    if let Some(scopes) = changes.scopes {
        active.scopes = Set(json!(parse_scopes(app_type, Some(&scopes))?));
    }
    if changes.access_token_ttl_seconds.is_some() {
        active.access_token_ttl_seconds = Set(parse_ttl(
            "accessTokenTtlSeconds",
            changes.access_token_ttl_seconds,
            ACCESS_TTL,
        )?);
    }
    if changes.refresh_token_ttl_seconds.is_some() {
        active.refresh_token_ttl_seconds = Set(parse_ttl(
            "refreshTokenTtlSeconds",
            changes.refresh_token_ttl_seconds,
            REFRESH_TTL,
        )?);
    }
    if let Some(mappings) = changes.claim_mappings {
        check_claim_mappings(app_type, settings, &mappings)?;
        active.claim_mappings = Set(Some(json!(mappings)));
    }
    if let Some(policy) = changes.access_policy {
        active.access_policy = Set(Some(json!(checked_policy(&tx, app_type, policy).await?)));
    }
    active.updated_at = Set(Utc::now());
    let app = Application::try_from(tx.update(active).await?)?;
    record(&tx, actor, "application.update", &app).await?;
    tx.commit().await?;
    Ok(app)
}

/// Replaces a confidential application's client secret; the old one stops working at once.
/// Returns the new secret (shown once). Requires `ManageTenant`.
#[tracing::instrument(name = "core.rotate_application_secret", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn rotate_application_secret(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<(Application, String)> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = find_row(&tx, id).await?;
    if AppType::parse(&row.app_type)?.is_public() {
        return Err(Error::Refused(
            "public applications (SPA, native) have no client secret; they use PKCE".into(),
        ));
    }
    let secret = secrets::generate(CLIENT_SECRET_PREFIX);
    let mut active: row::ActiveModel = row.into();
    active.secret_hash = Set(Some(secrets::hash(&secret)));
    active.secret_rotated_at = Set(Some(Utc::now()));
    active.updated_at = Set(Utc::now());
    let app = Application::try_from(tx.update(active).await?)?;
    record(&tx, actor, "application.rotate_secret", &app).await?;
    tx.commit().await?;
    Ok((app, secret))
}

/// Deletes an application and revokes every session and refresh token issued to it.
/// Requires `ManageTenant`.
#[tracing::instrument(name = "core.delete_application", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn delete_application(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Application> {
    authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let app = Application::try_from(find_row(&tx, id).await?)?;
    sessions::revoke_application_sessions_in(&tx, app.id).await?;
    tx.delete_many::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .exec()
        .await?;
    record(&tx, actor, "application.delete", &app).await?;
    tx.commit().await?;
    Ok(app)
}

/// One application. Requires `ReadTenant`.
#[tracing::instrument(name = "core.get_application", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn get_application(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Application> {
    authorize(actor, Permission::ReadTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let app = Application::try_from(find_row(&tx, id).await?)?;
    tx.commit().await?;
    Ok(app)
}

/// The tenant's applications, oldest first. Requires `ReadTenant`.
#[tracing::instrument(name = "core.list_applications", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_applications(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<Application>> {
    authorize(actor, Permission::ReadTenant, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let query = tx.find::<row::Entity>();
    let rows = keyset(query, row::Column::Id, page).await?;
    tx.commit().await?;
    rows.try_map(Application::try_from)
}

/// The application with `client_id` in this tenant, for the OAuth endpoints (no actor: the
/// client authenticates itself there). A client of another tenant is not found. Lookups are
/// kept in the near cache, which every change to the applications' table makes stale.
pub async fn find_by_client_id(
    db: &Database,
    scope: &TenantScope,
    client_id: &str,
) -> Result<Option<Application>> {
    let read = async {
        let tx = db.begin_tenant(scope).await?;
        let app = tx
            .find::<row::Entity>()
            .filter(row::Column::ClientId.eq(client_id))
            .one()
            .await?
            .map(Application::try_from)
            .transpose()?;
        tx.commit().await?;
        Ok(app)
    };
    db.near_cache()
        .get_or_load(
            CACHE_KIND,
            Some(scope.tenant_id()),
            client_id,
            read,
            Option::is_some,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_exact_and_canonical() {
        let ok = |t, uri: &str| parse_redirect_uri("f", t, uri).is_ok();
        assert!(ok(AppType::Web, "https://app.example/callback"));
        assert!(ok(AppType::Spa, "https://app.example/cb?x=1"));
        assert!(ok(AppType::Native, "http://127.0.0.1:8400/cb"));
        assert!(ok(AppType::Native, "http://[::1]/cb"));
        assert!(ok(AppType::Native, "com.example.app:/callback"));
        for bad in [
            "https://*.example/cb",
            "https://app.example/cb#x",
            "https://user@app.example/cb",
            "https://app.example/a/../cb",
            "https://app.example/a/..;/cb",
            "https://App.example/cb",
            "https://app.example",
            "http://app.example/cb",
            "http://127.0.0.1/cb",
            "javascript:alert(1)",
            "/relative",
        ] {
            assert!(!ok(AppType::Web, bad), "{bad} accepted for a web app");
        }
        assert!(!ok(AppType::Native, "http://localhost/cb"));
        assert!(!ok(AppType::Spa, "com.example.app:/callback"));
    }

    #[test]
    fn loopback_ports_vary_only_for_native_apps() {
        let app = |app_type, uri: &str| Application {
            id: Uuid::nil(),
            client_id: "c".into(),
            name: "n".into(),
            app_type,
            redirect_uris: vec![uri.into()],
            post_logout_redirect_uris: vec![],
            scopes: vec![],
            access_token_ttl_seconds: None,
            refresh_token_ttl_seconds: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            secret_rotated_at: None,
            claim_mappings: Vec::new(),
            access_policy: AccessPolicy::default(),
            secret_hash: None,
        };
        let native = app(AppType::Native, "http://127.0.0.1/cb");
        assert!(native.accepts_redirect_uri("http://127.0.0.1:53124/cb"));
        assert!(!native.accepts_redirect_uri("http://127.0.0.1:53124/cb2"));
        assert!(!native.accepts_redirect_uri("http://127.0.0.1:53124/CB"));
        let web = app(AppType::Web, "https://app.example/cb");
        for near in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x",
            "https://app.example:443/cb",
            "https://app.example/cb#",
        ] {
            assert!(!web.accepts_redirect_uri(near), "{near} matched");
        }
        assert!(web.accepts_redirect_uri("https://app.example/cb"));
    }

    #[test]
    fn scopes_follow_rfc_6749_and_machine_apps_get_no_user_scopes() {
        assert!(parse_scopes(AppType::Web, Some(&["openid".into(), "read:orders".into()])).is_ok());
        assert!(parse_scopes(AppType::Web, Some(&["has space".into()])).is_err());
        assert!(parse_scopes(AppType::Web, Some(&["quote\"".into()])).is_err());
        assert!(parse_scopes(AppType::Machine, Some(&["openid".into()])).is_err());
        assert_eq!(
            parse_scopes(AppType::Spa, None).unwrap(),
            ["openid", "profile", "email", "offline_access"]
        );
    }
}
