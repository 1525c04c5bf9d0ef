//! The end-to-end test harness: starts a real Latchkey server on a free port and speaks HTTP
//! to it. With `LATCHKEY_TEST_DATABASE_URL` (and optionally `LATCHKEY_TEST_REDIS_URL`) the
//! server runs on PostgreSQL and Redis; otherwise on in-memory SQLite and the in-process store.
//! Every test works in tenants of its own, so tests never depend on each other's data.

pub mod clock;
pub mod console;
pub mod crm;
pub mod dns;
pub mod fault_proxy;
pub mod mailbox;
pub mod oidc;
pub mod orgs;
pub mod passkey;
pub mod passwords;
pub mod replicas;
pub mod saml;
pub mod scim;
pub mod smtp;
pub mod transfer;

use latchkey_api::config::{Config, Settings};
use latchkey_api::server::{RunningServer, start_with_clock};
use latchkey_core::clock::{Clock, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// The PostgreSQL URL tests run against (the application role), if any.
pub fn test_database_url() -> Option<String> {
    std::env::var("LATCHKEY_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// The URL with the rights to migrate (defaults to [`test_database_url`]).
pub fn test_migration_database_url() -> Option<String> {
    std::env::var("LATCHKEY_TEST_MIGRATION_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(test_database_url)
}

pub fn test_redis_url() -> Option<String> {
    std::env::var("LATCHKEY_TEST_REDIS_URL")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A fixed, valid master key for tests (base64 of 32 bytes).
pub const TEST_MASTER_KEY: &str = "bGF0Y2hrZXktdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGU=";

/// A random suffix so slugs and emails never collide between tests or runs.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// A fresh email address that no other test or run uses.
pub fn unique_email() -> String {
    format!("{}@example.com", unique("user"))
}

/// One platform token per test process: servers sharing a database share the configured
/// platform credential (setting a new one replaces the old, as a rotation would).
fn process_platform_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| format!("lkp_{}", unique("test-platform-token")))
}

/// Settings for a test server: a free port, a known platform token, and the database and
/// store named by the environment.
pub fn test_settings() -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: std::env::temp_dir().join(unique("latchkey-test")),
        database_url: Some(test_database_url().unwrap_or_else(|| "sqlite::memory:".into())),
        migration_database_url: test_migration_database_url(),
        redis_url: test_redis_url(),
        // Roomier than the 250 ms default: suites run many servers at once on a busy machine.
        redis_timeout_ms: 1000,
        master_key: Some(TEST_MASTER_KEY.into()),
        platform_token: Some(process_platform_token().to_owned()),
        auto_migrate: Some(true),
        database_max_connections: 5,
        // Many test servers share one PostgreSQL in CI: a busy moment is not an outage.
        database_acquire_timeout_ms: 10_000,
        // CRM deliveries retry fast and give up after three attempts. On PostgreSQL every test
        // server's dispatcher may deliver any test's events, so all of them pace alike.
        crm_poll_interval_ms: 50,
        crm_retry_base_ms: 50,
        crm_max_attempts: 3,
        crm_timeout_seconds: 5,
        // Test servers stop (and drop their dispatchers) all the time: what one claimed is
        // taken over soon.
        crm_lease_seconds: 6,
        // The fake CRMs and the upstream identity providers listen on loopback.
        allow_private_networks: true,
        ..Settings::default()
    }
}

/// [`test_settings`] whose data outlives the server, for tests that restart it or share its
/// database with a command or a second server: a SQLite file in the data directory, or the
/// test PostgreSQL database.
pub fn durable_settings() -> Settings {
    let mut settings = test_settings();
    if test_database_url().is_none() {
        std::fs::create_dir_all(&settings.data_dir).unwrap();
        settings.database_url = Some(format!(
            "sqlite://{}?mode=rwc",
            settings.data_dir.join("latchkey.db").display()
        ));
    }
    settings
}

/// A running server and an HTTP client for it.
pub struct TestApp {
    /// Where the test reaches the server.
    pub url: String,
    /// Where users reach it: the issuer of its tokens and the origin of its passkeys.
    pub public_url: String,
    pub platform_token: String,
    pub client: reqwest::Client,
    /// Where the server's mail goes when it has no SMTP server (the embedded default).
    pub mailbox: std::path::PathBuf,
    /// The SMTP listener the server sends to, when a test gave it one
    /// ([`TestApp::start_with_smtp`]).
    pub smtp: Option<smtp::SmtpSink>,
    /// The server, when this process runs it ([`TestApp::remote`] ones run elsewhere).
    server: Option<RunningServer>,
}

/// A tenant created for one test, with its owner API key.
#[derive(Clone, Debug)]
pub struct TestTenant {
    pub id: String,
    pub slug: String,
    pub api_key: String,
}

/// The answer to one GraphQL request.
#[derive(Debug)]
pub struct GraphqlResponse {
    pub status: StatusCode,
    pub body: Value,
}

impl GraphqlResponse {
    /// `data`, after checking that there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors (HTTP {}): {}",
            self.status,
            self.body
        );
        &self.body["data"]
    }

    /// The `extensions.code` of the first error.
    pub fn error_code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error, got {}", self.body))
    }

    /// Asserts the answer is `BAD_USER_INPUT` naming `field` (`extensions.field`).
    #[track_caller]
    pub fn assert_bad_input(&self, field: &str) {
        assert_eq!(self.error_code(), "BAD_USER_INPUT", "{}", self.body);
        assert_eq!(
            self.body["errors"][0]["extensions"]["field"], field,
            "{}",
            self.body
        );
    }

    pub fn error_message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(test_settings()).await
    }

    pub async fn start_with(settings: Settings) -> Self {
        Self::start_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// A server whose time-based rules are measured against `clock` (see
    /// [`clock::ManualClock`]).
    pub async fn start_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> Self {
        let platform_token = settings.platform_token.clone().expect("platform token");
        let mailbox = settings.data_dir.join("mailbox.txt");
        let config = Config::check(settings).expect("test configuration");
        let server = start_with_clock(config, clock)
            .await
            .expect("server starts");
        let url = format!("http://{}", server.addr);
        Self {
            public_url: url.replace("127.0.0.1", "localhost"),
            url,
            platform_token,
            client: reqwest::Client::new(),
            mailbox,
            smtp: None,
            server: Some(server),
        }
    }

    /// A client of a server that runs elsewhere (another process, or replicas behind a load
    /// balancer), reached at `url` and known to its users as `public_url`, which writes its
    /// mail to `mailbox`.
    pub fn remote(url: &str, public_url: &str, platform_token: &str, mailbox: &Path) -> Self {
        Self {
            url: url.to_owned(),
            public_url: public_url.to_owned(),
            platform_token: platform_token.to_owned(),
            client: reqwest::Client::new(),
            mailbox: mailbox.to_owned(),
            smtp: None,
            server: None,
        }
    }

    /// A server that sends its mail over SMTP to `sink`.
    pub async fn start_with_smtp(mut settings: Settings, sink: &smtp::SmtpSink) -> Self {
        settings.smtp_url = Some(sink.url.clone());
        let mut app = Self::start_with(settings).await;
        app.smtp = Some(sink.clone());
        app
    }

    pub async fn stop(self) {
        if let Some(server) = self.server {
            server.stop().await;
        }
    }

    /// POSTs a GraphQL operation to `path` with an optional bearer token.
    pub async fn graphql(
        &self,
        path: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> GraphqlResponse {
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request is sent");
        let status = response.status();
        let body = response.json().await.expect("JSON response");
        GraphqlResponse { status, body }
    }

    pub async fn platform(&self, query: &str, variables: Value) -> GraphqlResponse {
        self.graphql(
            "/platform/graphql",
            Some(&self.platform_token),
            query,
            variables,
        )
        .await
    }

    /// Creates a tenant whose slug starts with `prefix`.
    pub async fn create_tenant(&self, prefix: &str) -> TestTenant {
        let slug = unique(prefix);
        let response = self
            .platform(
                "mutation($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id slug } adminApiKey } }",
                json!({ "input": { "slug": slug, "name": format!("Tenant {slug}") } }),
            )
            .await;
        let created = &response.data()["createTenant"];
        TestTenant {
            id: created["tenant"]["id"].as_str().unwrap().to_owned(),
            slug: created["tenant"]["slug"].as_str().unwrap().to_owned(),
            api_key: created["adminApiKey"].as_str().unwrap().to_owned(),
        }
    }

    /// Calls `tenant`'s API with its owner key.
    pub async fn tenant(
        &self,
        tenant: &TestTenant,
        query: &str,
        variables: Value,
    ) -> GraphqlResponse {
        self.as_key(tenant, &tenant.api_key, query, variables).await
    }

    /// Calls `tenant`'s API with another bearer token.
    pub async fn as_key(
        &self,
        tenant: &TestTenant,
        token: &str,
        query: &str,
        variables: Value,
    ) -> GraphqlResponse {
        self.graphql(
            &format!("/t/{}/graphql", tenant.slug),
            Some(token),
            query,
            variables,
        )
        .await
    }

    /// `/metrics`, parsed from the Prometheus text format into `name{labels}` → value.
    /// `/readyz`: its status and body.
    pub async fn readyz(&self) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}/readyz", self.url))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// The status `secret` gets for `query` once the change feed has carried another replica's
    /// change: the first answer other than 200 within a second (the feed takes milliseconds; a
    /// cached entry would live 60 s), else the last 200.
    pub async fn status_after_feed(&self, tenant: &TestTenant, secret: &str, query: &str) -> u16 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            let status = self.as_key(tenant, secret, query, json!({})).await.status;
            if status != StatusCode::OK || std::time::Instant::now() > deadline {
                return status.as_u16();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub async fn metrics(&self) -> HashMap<String, f64> {
        let response = self
            .client
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        response
            .text()
            .await
            .unwrap()
            .lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| {
                let (series, value) = line.rsplit_once(' ').unwrap();
                (series.to_owned(), value.parse().unwrap())
            })
            .collect()
    }

    /// Creates an identity in `tenant` and returns its id.
    pub async fn create_identity(&self, tenant: &TestTenant, email: &str) -> String {
        let response = self
            .tenant(
                tenant,
                "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }",
                json!({ "input": { "email": email } }),
            )
            .await;
        response.data()["createIdentity"]["identity"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates an API key with `roles` in `tenant` and returns its (id, secret).
    pub async fn create_api_key(&self, tenant: &TestTenant, roles: &[&str]) -> (String, String) {
        let response = self
            .tenant(
                tenant,
                "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } secret } }",
                json!({ "input": { "name": "test key", "roles": roles } }),
            )
            .await;
        let payload = &response.data()["createApiKey"];
        (
            payload["apiKey"]["id"].as_str().unwrap().to_owned(),
            payload["secret"].as_str().unwrap().to_owned(),
        )
    }
}
