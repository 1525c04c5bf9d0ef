//! First start: the platform credential, in the embedded mode the `demo` tenant, and the
//! one-time console link that enrols the first owner (a platform owner, and the `demo`
//! tenant's owner where there is one). Secrets are generated once, returned to be printed once, and stored only as hashes; later starts
//! find the credentials and create nothing. Every start also warns about custom domains that
//! now name the deployment itself.

use crate::config::Config;
use latchkey_core::administrators;
use latchkey_core::catalogue::{self, TenantKey};
use latchkey_core::crypto::MasterKey;
use latchkey_core::{Database, Error};
use latchkey_tenants::resolution::Hosts;
use latchkey_tenants::{custom_domains, operators};

/// The slug of the tenant created on first start in the embedded mode.
pub const DEMO_TENANT: &str = "demo";

/// What the first start created (no secrets on later starts).
#[derive(Clone, Debug, Default)]
pub struct Bootstrap {
    pub platform_token: Option<String>,
    pub demo_api_key: Option<String>,
    /// The token of the first owner's console link (`administrators::enrolment_link`).
    pub first_owner_token: Option<String>,
    /// Whether this deployment has the `demo` tenant (`LATCHKEY_DEMO_TENANT`).
    pub demo_tenant: bool,
}

pub async fn bootstrap(
    db: &Database,
    master_key: &MasterKey,
    config: &Config,
) -> latchkey_core::Result<Bootstrap> {
    let first_start = !operators::has_credentials(db).await?;
    if let Some(token) = &config.platform_token {
        operators::ensure_configured_token(db, token).await?;
    }
    let mut report = Bootstrap {
        demo_tenant: config.demo_tenant,
        ..Bootstrap::default()
    };
    if !first_start {
        return Ok(report);
    }
    if config.platform_token.is_none() {
        report.platform_token = Some(operators::generate_token(db, "bootstrap").await?);
    }
    if config.demo_tenant {
        match latchkey_tenants::create_tenant(
            db,
            master_key,
            &operators::local_operator(db),
            DEMO_TENANT,
            "Demo",
            None,
        )
        .await
        {
            Ok(created) => report.demo_api_key = Some(created.owner_api_key),
            Err(Error::Conflict(_)) => {}
            Err(error) => return Err(error),
        }
    }
    let demo = match config.demo_tenant {
        true => Some(
            catalogue::resolve(db, TenantKey::Slug(DEMO_TENANT))
                .await?
                .0,
        ),
        false => None,
    };
    report.first_owner_token = Some(administrators::invite_first_owner(db, demo.as_ref()).await?);
    Ok(report)
}

/// Logs a warning for each stored custom domain that is the deployment's base domain or public
/// host, or a name under them (added before such names were refused, or before the settings
/// changed). Such a domain never routes to its tenant.
pub async fn warn_conflicting_domains(db: &Database, hosts: &Hosts) -> latchkey_core::Result<()> {
    let platform = operators::local_operator(db);
    for domain in custom_domains::conflicting_domains(db, &platform, hosts).await? {
        tracing::warn!(
            tenant.id = %domain.tenant_id,
            domain = %domain.domain,
            "this custom domain is a name of the deployment itself (LATCHKEY_BASE_DOMAIN or LATCHKEY_PUBLIC_URL) and does not route to its tenant"
        );
    }
    Ok(())
}
