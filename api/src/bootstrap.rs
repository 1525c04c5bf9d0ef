//! First start: the platform credential and, in the embedded mode, the `demo` tenant. Secrets
//! are generated once, returned to be printed once, and stored only as hashes; later starts
//! find the credentials and create nothing.

use crate::config::Config;
use latchkey_core::crypto::MasterKey;
use latchkey_core::{Database, Error};
use latchkey_tenants::operators;

/// The slug of the tenant created on first start in the embedded mode.
pub const DEMO_TENANT: &str = "demo";

/// What the first start created (empty on later starts).
#[derive(Clone, Debug, Default)]
pub struct Bootstrap {
    pub platform_token: Option<String>,
    pub demo_api_key: Option<String>,
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
    let mut report = Bootstrap::default();
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
    Ok(report)
}
