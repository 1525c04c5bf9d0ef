//! Configuration: `latchkey.toml` (or the file named by `--config` / `LATCHKEY_CONFIG`),
//! overridden by `LATCHKEY_*` environment variables. Every value is checked at start-up and a
//! bad one stops it with a message naming the setting. The mail settings, the master key and
//! IP ranges are checked in their own modules.

pub mod files;
pub mod ip_range;
pub mod mail;
pub mod master_key;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ip_range::IpRange;
use latchkey_tenants::crm::dispatch::DispatchSettings;
use mail::MailSettings;
use master_key::{MasterKeySource, parse_master_key};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The default of `LATCHKEY_GRAPHQL_MAX_COST`: a flat list of 1000 items with a few dozen
/// fields each passes, a list of lists of 1000 does not.
const DEFAULT_GRAPHQL_MAX_COST: usize = 100_000;
/// The default of `LATCHKEY_GRAPHQL_MAX_NODES`.
const DEFAULT_GRAPHQL_MAX_NODES: usize = 20_000;

/// Settings as written in the file or the environment, before they are checked.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Directory for the embedded SQLite database, the development master key and mailboxes.
    pub data_dir: PathBuf,
    /// `postgres://…` (production) or `sqlite://…`; unset = SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// URL with the rights to change the schema, for `latchkey migrate`; unset = `database_url`.
    pub migration_database_url: Option<String>,
    /// `redis://…` (one node), `redis+cluster://h1:p1,h2:p2,…` (Redis Cluster) or
    /// `redis+sentinel://h1:p1,h2:p2,…/<master name>` (Sentinel), `rediss…` with TLS; unset =
    /// the in-process ephemeral store.
    pub redis_url: Option<String>,
    /// Milliseconds a Redis command or connection attempt may take before the request that
    /// needs it answers UNAVAILABLE.
    pub redis_timeout_ms: u64,
    /// 32 bytes, base64 or hex, that encrypt secrets at rest.
    pub master_key: Option<String>,
    /// A file holding the master key (instead of `master_key`).
    pub master_key_file: Option<PathBuf>,
    /// Sets the platform token instead of generating one (for automation).
    pub platform_token: Option<String>,
    /// The URL users reach this server at; unset = `http://localhost:<port>`.
    pub public_url: Option<String>,
    /// Tenants also answer on `{slug}.{base_domain}` when set.
    pub base_domain: Option<String>,
    /// GraphQL introspection and field suggestions; unset = on in the embedded mode only.
    pub graphql_introspection: Option<bool>,
    /// Apply migrations at start-up; unset = yes on SQLite, no on PostgreSQL.
    pub auto_migrate: Option<bool>,
    /// Create the `demo` tenant on first start; unset = yes in the embedded mode only.
    pub demo_tenant: Option<bool>,
    pub database_max_connections: u32,
    /// Milliseconds a request waits for a database connection before it fails with
    /// `UNAVAILABLE` (503).
    pub database_acquire_timeout_ms: u64,
    /// Seconds the start-up waits for PostgreSQL to accept connections before it gives up.
    pub database_wait_seconds: u64,
    /// Seconds a passkey ceremony may take between begin and finish.
    pub ceremony_ttl_seconds: u64,
    /// Comma-separated addresses or CIDR ranges of reverse proxies (ingress) whose
    /// `X-Forwarded-For` is believed; unset = the peer address is the client.
    pub trusted_proxies: Option<String>,
    pub graphql_max_depth: usize,
    /// The most an operation (or a batch, summed) may cost: every field 1, a list its page
    /// size times one item, nested lists multiplied.
    pub graphql_max_cost: Option<usize>,
    /// The former name of `graphql_max_cost`, still read when that is unset.
    pub graphql_max_complexity: Option<usize>,
    /// The most list items one request may answer.
    pub graphql_max_nodes: usize,
    /// Seconds a GraphQL request may run before it is stopped.
    pub graphql_timeout_seconds: u64,
    pub graphql_max_aliases: usize,
    pub graphql_max_directives: usize,
    pub graphql_max_batch: usize,
    pub max_body_bytes: usize,
    /// Outgoing email: `smtps://user:password@host:465` (TLS),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS) or `smtp://host:25` (plain,
    /// for a relay on a trusted network); unset = written to the log and to
    /// `data_dir/mailbox.txt` (development).
    pub smtp_url: Option<String>,
    /// The From address of outgoing email.
    pub mail_from: String,
    /// `ip:port` of the DNS server that looks up domain verification records; unset = the
    /// system's resolvers (`/etc/resolv.conf`).
    pub dns_server: Option<String>,
    /// Milliseconds between outbox dispatcher rounds that found nothing to deliver.
    pub crm_poll_interval_ms: u64,
    /// Attempts before a CRM delivery is dead-lettered.
    pub crm_max_attempts: u32,
    /// Milliseconds before the first retry of a CRM delivery; each further retry doubles it.
    pub crm_retry_base_ms: u64,
    /// Seconds a CRM call may take.
    pub crm_timeout_seconds: u64,
    /// Seconds a dispatcher holds a claimed delivery before another may take it over (must
    /// exceed a delivery's CRM calls: a Salesforce or Dynamics delivery may make four).
    pub crm_lease_seconds: u64,
    /// CRM deliveries a dispatcher has in flight at once (one connector's deliveries for one
    /// subject always go in order).
    pub crm_concurrency: u64,
    /// Run an outbox dispatcher in this server (off for replicas that should only serve
    /// requests while others deliver).
    pub crm_dispatcher: bool,
    /// Let every outbound call (CRM connectors, webhooks, identity providers) go to private,
    /// loopback and link-local addresses and over plain http (a CRM, webhook receiver or
    /// identity provider inside your own network). Off: a tenant admin cannot aim the server
    /// at the deployment's internal services.
    pub allow_private_networks: bool,
    /// The older name of `allow_private_networks`, still accepted (either one allows).
    pub crm_allow_private_networks: bool,
    /// How many tenants get their own `tenant` label on `latchkey_tenant_graphql_requests_total`
    /// (the rest count as `other`); 0 = no per-tenant metric.
    pub metrics_tenant_label_limit: usize,
    /// When set, `/metrics` answers only `Authorization: Bearer <this token>`; unset = open.
    pub metrics_token: Option<String>,
    /// Milliseconds between SIGTERM and closing the listener, during which `/readyz` answers
    /// 503 `draining` and requests are still served, so a load balancer's health checks take
    /// the replica out of rotation first; 0 = close at once.
    pub shutdown_drain_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: "./latchkey-data".into(),
            database_url: None,
            migration_database_url: None,
            redis_url: None,
            redis_timeout_ms: 250,
            master_key: None,
            master_key_file: None,
            platform_token: None,
            public_url: None,
            base_domain: None,
            graphql_introspection: None,
            auto_migrate: None,
            demo_tenant: None,
            database_max_connections: 16,
            database_acquire_timeout_ms: 2000,
            database_wait_seconds: 30,
            ceremony_ttl_seconds: 300,
            trusted_proxies: None,
            graphql_max_depth: 12,
            graphql_max_cost: None,
            graphql_max_complexity: None,
            graphql_max_nodes: DEFAULT_GRAPHQL_MAX_NODES,
            graphql_timeout_seconds: 30,
            graphql_max_aliases: 30,
            graphql_max_directives: 10,
            graphql_max_batch: 10,
            max_body_bytes: 1024 * 1024,
            smtp_url: None,
            mail_from: "Latchkey <no-reply@localhost>".into(),
            dns_server: None,
            crm_poll_interval_ms: 1000,
            crm_max_attempts: 10,
            crm_retry_base_ms: 2000,
            crm_timeout_seconds: 10,
            crm_lease_seconds: 120,
            crm_concurrency: 8,
            crm_dispatcher: true,
            allow_private_networks: false,
            crm_allow_private_networks: false,
            metrics_tenant_label_limit: 0,
            metrics_token: None,
            shutdown_drain_ms: 0,
        }
    }
}

/// A setting that failed its check.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {setting}: {reason}")]
pub struct ConfigError {
    pub setting: String,
    pub reason: String,
}

pub(crate) fn bad(setting: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        reason: reason.into(),
    }
}

/// Limits applied to every GraphQL request.
#[derive(Clone, Debug)]
pub struct GraphqlLimits {
    pub max_depth: usize,
    pub max_cost: usize,
    pub max_nodes: usize,
    pub timeout: std::time::Duration,
    pub max_aliases: usize,
    pub max_directives: usize,
    pub max_batch: usize,
    pub max_body_bytes: usize,
    pub introspection: bool,
}

/// Checked configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub migration_database_url: String,
    /// SQLite in the data directory with nothing configured: the development mode.
    pub embedded: bool,
    pub redis_url: Option<String>,
    /// Bounds every Redis command and connection attempt.
    pub redis_timeout: std::time::Duration,
    pub master_key: MasterKeySource,
    pub platform_token: Option<String>,
    /// Without a trailing slash. `None` = derived from the bound port at start-up.
    pub public_url: Option<String>,
    pub base_domain: Option<String>,
    pub auto_migrate: bool,
    pub demo_tenant: bool,
    pub database_pool: latchkey_core::PoolSettings,
    pub database_wait: std::time::Duration,
    pub ceremony_ttl: std::time::Duration,
    pub trusted_proxies: Vec<IpRange>,
    pub limits: GraphqlLimits,
    pub mail: MailSettings,
    /// The DNS server of domain verification; `None` = the system's resolvers.
    pub dns_server: Option<SocketAddr>,
    pub dispatch: DispatchSettings,
    pub crm_timeout: std::time::Duration,
    /// `LATCHKEY_ALLOW_PRIVATE_NETWORKS` or its alias `LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS`.
    pub allow_private_networks: bool,
    pub crm_dispatcher: bool,
    pub metrics_tenant_label_limit: usize,
    /// The bearer token `/metrics` requires; `None` = open.
    pub metrics_token: Option<String>,
    /// How long a replica keeps serving, reported not ready, between SIGTERM and closing its
    /// listener.
    pub shutdown_drain: std::time::Duration,
}

impl Config {
    /// Reads `file` (if it exists) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let path = file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("latchkey.toml"));
        if file.is_some() && !path.exists() {
            return Err(bad(
                "config",
                format!("file {} does not exist", path.display()),
            ));
        }
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(&path))
            .merge(Env::prefixed("LATCHKEY_").filter(|key| {
                // Read elsewhere: the config file's path, the log format, and test settings.
                let key = key.as_str().to_ascii_lowercase();
                key != "config" && key != "log_format" && !key.starts_with("test_")
            }))
            .extract()
            .map_err(|e| {
                let setting = e
                    .path
                    .first()
                    .map(|key| format!("LATCHKEY_{}", key.to_uppercase()))
                    .unwrap_or_else(|| path.display().to_string());
                bad(&setting, e.kind.to_string())
            })?;
        Self::check(settings)
    }

    /// Checks settings and fills in the defaults that depend on other settings.
    pub fn check(settings: Settings) -> Result<Self, ConfigError> {
        let bind: SocketAddr = settings.bind.parse().map_err(|_| {
            bad(
                "LATCHKEY_BIND",
                format!(
                    "{:?} is not an address such as 127.0.0.1:8080",
                    settings.bind
                ),
            )
        })?;
        let embedded = settings.database_url.is_none();
        let database_url = match settings.database_url {
            Some(url) => {
                check_url(
                    "LATCHKEY_DATABASE_URL",
                    &url,
                    &["postgres", "postgresql", "sqlite"],
                )?;
                url
            }
            None => format!(
                "sqlite://{}?mode=rwc",
                settings.data_dir.join(files::EMBEDDED_DATABASE).display()
            ),
        };
        let migration_database_url = match settings.migration_database_url {
            Some(url) => {
                check_url(
                    "LATCHKEY_MIGRATION_DATABASE_URL",
                    &url,
                    &["postgres", "postgresql", "sqlite"],
                )?;
                url
            }
            None => database_url.clone(),
        };
        if let Some(url) = &settings.redis_url {
            latchkey_core::ephemeral::RedisAddress::parse(url).map_err(|reason| {
                bad("LATCHKEY_REDIS_URL", format!("{:?} {reason}", redact(url)))
            })?;
        }
        if !(1..=60_000).contains(&settings.redis_timeout_ms) {
            return Err(bad(
                "LATCHKEY_REDIS_TIMEOUT_MS",
                format!(
                    "{} is not between 1 and 60000 milliseconds (default 250: well under a \
                     second, so that requests fail fast while Redis is down)",
                    settings.redis_timeout_ms
                ),
            ));
        }
        let master_key = match (settings.master_key, settings.master_key_file) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "LATCHKEY_MASTER_KEY",
                    "set either LATCHKEY_MASTER_KEY or LATCHKEY_MASTER_KEY_FILE, not both",
                ));
            }
            (Some(value), None) => {
                MasterKeySource::Value(parse_master_key("LATCHKEY_MASTER_KEY", &value)?)
            }
            (None, Some(file)) => MasterKeySource::File(file),
            (None, None) if embedded => {
                MasterKeySource::Development(settings.data_dir.join("master.key"))
            }
            (None, None) => {
                return Err(bad(
                    "LATCHKEY_MASTER_KEY",
                    "required outside the embedded mode (32 random bytes, base64 or hex; \
                     generate one with `openssl rand -base64 32`), or LATCHKEY_MASTER_KEY_FILE",
                ));
            }
        };
        if let Some(token) = &settings.platform_token
            && (token.len() < 32 || token.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(bad(
                "LATCHKEY_PLATFORM_TOKEN",
                "must be at least 32 characters with no spaces",
            ));
        }
        if let Some(token) = &settings.metrics_token
            && (token.len() < 32 || token.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(bad(
                "LATCHKEY_METRICS_TOKEN",
                "must be at least 32 characters with no spaces",
            ));
        }
        let public_url = match settings.public_url {
            Some(url) => {
                check_url("LATCHKEY_PUBLIC_URL", &url, &["http", "https"])?;
                Some(url.trim_end_matches('/').to_owned())
            }
            None => None,
        };
        if let Some(domain) = &settings.base_domain {
            latchkey_core::validate::Domain::parse("LATCHKEY_BASE_DOMAIN", domain)
                .map_err(|e| bad("LATCHKEY_BASE_DOMAIN", e.to_string()))?;
        }
        let max_cost = settings
            .graphql_max_cost
            .or(settings.graphql_max_complexity)
            .unwrap_or(DEFAULT_GRAPHQL_MAX_COST);
        for (name, value) in [
            ("LATCHKEY_GRAPHQL_MAX_DEPTH", settings.graphql_max_depth),
            ("LATCHKEY_GRAPHQL_MAX_COST", max_cost),
            ("LATCHKEY_GRAPHQL_MAX_NODES", settings.graphql_max_nodes),
            (
                "LATCHKEY_GRAPHQL_TIMEOUT_SECONDS",
                usize::try_from(settings.graphql_timeout_seconds).unwrap_or(usize::MAX),
            ),
            ("LATCHKEY_GRAPHQL_MAX_ALIASES", settings.graphql_max_aliases),
            (
                "LATCHKEY_GRAPHQL_MAX_DIRECTIVES",
                settings.graphql_max_directives,
            ),
            ("LATCHKEY_GRAPHQL_MAX_BATCH", settings.graphql_max_batch),
            ("LATCHKEY_MAX_BODY_BYTES", settings.max_body_bytes),
            (
                "LATCHKEY_DATABASE_MAX_CONNECTIONS",
                settings.database_max_connections as usize,
            ),
            (
                "LATCHKEY_DATABASE_ACQUIRE_TIMEOUT_MS",
                usize::try_from(settings.database_acquire_timeout_ms).unwrap_or(usize::MAX),
            ),
            (
                "LATCHKEY_CEREMONY_TTL_SECONDS",
                settings.ceremony_ttl_seconds as usize,
            ),
            (
                "LATCHKEY_CRM_POLL_INTERVAL_MS",
                settings.crm_poll_interval_ms as usize,
            ),
            (
                "LATCHKEY_CRM_MAX_ATTEMPTS",
                settings.crm_max_attempts as usize,
            ),
            (
                "LATCHKEY_CRM_LEASE_SECONDS",
                settings.crm_lease_seconds as usize,
            ),
            (
                "LATCHKEY_CRM_CONCURRENCY",
                settings.crm_concurrency as usize,
            ),
            (
                "LATCHKEY_CRM_RETRY_BASE_MS",
                settings.crm_retry_base_ms as usize,
            ),
            (
                "LATCHKEY_CRM_TIMEOUT_SECONDS",
                settings.crm_timeout_seconds as usize,
            ),
        ] {
            if value == 0 {
                return Err(bad(name, "must be greater than 0"));
            }
        }
        let mail = MailSettings::check(
            settings.smtp_url.as_deref(),
            &settings.mail_from,
            &settings.data_dir,
        )?;
        let dns_server = match &settings.dns_server {
            Some(server) => Some(server.parse().map_err(|_| {
                bad(
                    "LATCHKEY_DNS_SERVER",
                    "must be an IP address and port, such as 127.0.0.1:53",
                )
            })?),
            None => None,
        };
        Ok(Self {
            mail,
            dns_server,
            dispatch: DispatchSettings {
                poll_interval: std::time::Duration::from_millis(settings.crm_poll_interval_ms),
                max_attempts: settings.crm_max_attempts,
                retry_base: std::time::Duration::from_millis(settings.crm_retry_base_ms),
                lease: std::time::Duration::from_secs(settings.crm_lease_seconds),
                concurrency: settings.crm_concurrency as usize,
                ..DispatchSettings::default()
            },
            crm_timeout: std::time::Duration::from_secs(settings.crm_timeout_seconds),
            metrics_tenant_label_limit: settings.metrics_tenant_label_limit,
            metrics_token: settings.metrics_token,
            shutdown_drain: std::time::Duration::from_millis(settings.shutdown_drain_ms),
            allow_private_networks: settings.allow_private_networks
                || settings.crm_allow_private_networks,
            crm_dispatcher: settings.crm_dispatcher,
            bind,
            data_dir: settings.data_dir,
            auto_migrate: settings
                .auto_migrate
                .unwrap_or(!database_url.starts_with("postgres")),
            database_url,
            migration_database_url,
            embedded,
            redis_url: settings.redis_url,
            redis_timeout: std::time::Duration::from_millis(settings.redis_timeout_ms),
            master_key,
            platform_token: settings.platform_token,
            public_url,
            base_domain: settings.base_domain,
            demo_tenant: settings.demo_tenant.unwrap_or(embedded),
            database_pool: latchkey_core::PoolSettings {
                max_connections: settings.database_max_connections,
                acquire_timeout: std::time::Duration::from_millis(
                    settings.database_acquire_timeout_ms,
                ),
            },
            database_wait: std::time::Duration::from_secs(settings.database_wait_seconds),
            ceremony_ttl: std::time::Duration::from_secs(settings.ceremony_ttl_seconds),
            trusted_proxies: match &settings.trusted_proxies {
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        IpRange::parse(s).ok_or_else(|| {
                            bad(
                                "LATCHKEY_TRUSTED_PROXIES",
                                format!(
                                    "{s:?} is not an IP address or CIDR range such as 10.0.0.0/8"
                                ),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => Vec::new(),
            },
            limits: GraphqlLimits {
                max_depth: settings.graphql_max_depth,
                max_cost,
                max_nodes: settings.graphql_max_nodes,
                timeout: std::time::Duration::from_secs(settings.graphql_timeout_seconds),
                max_aliases: settings.graphql_max_aliases,
                max_directives: settings.graphql_max_directives,
                max_batch: settings.graphql_max_batch,
                max_body_bytes: settings.max_body_bytes,
                introspection: settings.graphql_introspection.unwrap_or(embedded),
            },
        })
    }

    /// The public URL, given the address the server actually bound.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{}", bound.port()))
    }
}

fn check_url(setting: &str, url: &str, schemes: &[&str]) -> Result<(), ConfigError> {
    let scheme = url.split(':').next().unwrap_or("");
    let rest = &url[scheme.len()..];
    if !schemes.contains(&scheme) || !rest.starts_with(':') || rest.len() < 2 {
        return Err(bad(
            setting,
            format!(
                "{:?} is not a URL with scheme {}",
                redact(url),
                schemes.join(" or ")
            ),
        ));
    }
    Ok(())
}

/// A URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(start), Some(at)) if at > start => {
            format!("{}://…@{}", &url[..start], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    fn settings() -> Settings {
        Settings::default()
    }

    #[test]
    fn embedded_defaults() {
        let config = Config::check(settings()).unwrap();
        assert!(config.embedded);
        assert!(config.auto_migrate);
        assert!(config.demo_tenant);
        assert!(config.limits.introspection);
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert!(config.database_url.starts_with("sqlite://"));
        assert!(matches!(config.master_key, MasterKeySource::Development(_)));
    }

    #[test]
    fn production_needs_a_master_key_and_turns_introspection_off() {
        let mut s = settings();
        s.database_url = Some("postgres://app@db/latchkey".into());
        let error = Config::check(s.clone()).unwrap_err();
        assert_eq!(error.setting, "LATCHKEY_MASTER_KEY");
        s.master_key = Some(STANDARD.encode([7u8; 32]));
        let config = Config::check(s).unwrap();
        assert!(!config.auto_migrate);
        assert!(!config.demo_tenant);
        assert!(!config.limits.introspection);
    }

    #[test]
    fn bad_values_name_their_setting() {
        type Change = Box<dyn Fn(&mut Settings)>;
        let cases: Vec<(&str, Change)> = vec![
            ("LATCHKEY_BIND", Box::new(|s| s.bind = "nowhere".into())),
            (
                "LATCHKEY_DATABASE_URL",
                Box::new(|s| s.database_url = Some("mysql://x".into())),
            ),
            (
                "LATCHKEY_REDIS_URL",
                Box::new(|s| s.redis_url = Some("localhost:6379".into())),
            ),
            (
                "LATCHKEY_REDIS_URL",
                Box::new(|s| s.redis_url = Some("redis+sentinel://s1:26379".into())),
            ),
            (
                "LATCHKEY_REDIS_TIMEOUT_MS",
                Box::new(|s| s.redis_timeout_ms = 0),
            ),
            (
                "LATCHKEY_MASTER_KEY",
                Box::new(|s| s.master_key = Some("short".into())),
            ),
            (
                "LATCHKEY_PLATFORM_TOKEN",
                Box::new(|s| s.platform_token = Some("abc".into())),
            ),
            (
                "LATCHKEY_PUBLIC_URL",
                Box::new(|s| s.public_url = Some("localhost:8080".into())),
            ),
            (
                "LATCHKEY_GRAPHQL_MAX_DEPTH",
                Box::new(|s| s.graphql_max_depth = 0),
            ),
        ];
        for (setting, change) in cases {
            let mut s = settings();
            change(&mut s);
            let error = Config::check(s).unwrap_err();
            assert_eq!(error.setting, setting, "{error}");
        }
    }

    #[test]
    fn ip_ranges() {
        let range = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(range.contains("10.1.2.3".parse().unwrap()));
        assert!(!range.contains("11.0.0.1".parse().unwrap()));
        assert!(!range.contains("::1".parse().unwrap()));
        assert!(
            IpRange::parse("192.0.2.7")
                .unwrap()
                .contains("192.0.2.7".parse().unwrap())
        );
        assert!(
            IpRange::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(
            IpRange::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x"] {
            assert!(IpRange::parse(bad).is_none(), "{bad}");
        }
        let mut s = settings();
        s.trusted_proxies = Some("10.0.0.0/8, bad".into());
        assert_eq!(
            Config::check(s).unwrap_err().setting,
            "LATCHKEY_TRUSTED_PROXIES"
        );
    }

    #[test]
    fn redis_urls_of_every_topology_are_accepted() {
        for url in [
            "redis://127.0.0.1:6379",
            "rediss://:pw@cache:6380/1",
            "redis+cluster://10.0.0.1:7000,10.0.0.2:7000",
            "rediss+cluster://app:pw@10.0.0.1:7000",
            "redis+sentinel://s1:26379,s2:26379,s3:26379/main",
            "rediss+sentinel://:pw@s1:26379/main",
        ] {
            let mut s = settings();
            s.redis_url = Some(url.into());
            assert_eq!(Config::check(s).unwrap().redis_url.as_deref(), Some(url));
        }
        let mut s = settings();
        s.redis_url = Some("redis+cluster://u:secret@a:notaport".into());
        let error = Config::check(s).unwrap_err().to_string();
        assert!(
            error.contains("invalid port") && !error.contains("secret"),
            "{error}"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@db/x"), "postgres://…@db/x");
    }
}
