//! Start-up: connect, migrate (when allowed), bootstrap, bind, serve.

use crate::bootstrap::{Bootstrap, bootstrap, warn_conflicting_domains};
use crate::config::{Config, files};
use crate::database_wait;
use crate::graphql::{platform_schema, tenant_schema};
use crate::http::AppState;
use crate::http::caller::RequestId;
use crate::http::routes::routes;
use crate::mail;
use crate::metrics::Metrics;
use crate::shutdown::{self, Draining};
use crate::state::Services;
use actix_web::dev::{ServerHandle, Service};
use actix_web::http::ConnectionType;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpMessage, HttpServer, web};
use anyhow::{Context, bail};
use latchkey_core::Database;
use latchkey_core::clock::{Clock, SystemClock};
use latchkey_core::dns::DnsVerifier;
use latchkey_core::ephemeral::{EphemeralStore, InProcessStore, RedisStore};
use latchkey_core::sessions::KeyCache;
use latchkey_tenants::crm::clients::Clients;
use latchkey_tenants::crm::dispatch::Dispatcher;
use latchkey_tenants::crm::pull::PullContext;
use latchkey_tenants::crm::{DeliverySubscriber, WaitingRecordReactions};
use latchkey_tenants::federation::Federation;
use latchkey_tenants::resolution::Hosts;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Reads W3C trace-context headers from a request.
struct HeaderExtractor<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

const REQUEST_ID: &str = "x-request-id";

/// `Strict-Transport-Security` when the public URL is https: a year, subdomains included
/// (tenants answer on `{slug}.{base domain}`).
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Headers every response carries: no framing by any origin (beside the pages'
/// `frame-ancestors 'none'`), and HSTS behind an https public URL.
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new().add((header::X_FRAME_OPTIONS, "DENY"));
    if https {
        headers.add((header::STRICT_TRANSPORT_SECURITY, HSTS))
    } else {
        headers
    }
}

/// Connects to the database the server works with, applying migrations first when the
/// configuration allows it, and refusing to start on a database that needs them otherwise.
pub async fn open_database(config: &Config) -> anyhow::Result<Database> {
    ensure_data_dir(config)?;
    let db = database_wait::connect(
        &config.database_url,
        config.database_pool,
        vec![
            Arc::new(DeliverySubscriber),
            Arc::new(WaitingRecordReactions),
        ],
        config.database_wait,
    )
    .await
    .context("LATCHKEY_DATABASE_URL")?;
    if config.auto_migrate {
        if config.migration_database_url == config.database_url {
            db.migrate().await.context("applying migrations failed")?;
        } else {
            migrate(config).await?;
        }
    }
    let pending = db
        .pending_migrations()
        .await
        .context("cannot read the migration state")?;
    if pending > 0 {
        bail!(
            "the database needs {pending} migration(s): run `latchkey migrate` \
             (or set LATCHKEY_AUTO_MIGRATE=true)"
        );
    }
    if db.role_bypasses_row_security().await.unwrap_or(false) {
        tracing::warn!(
            "the database role is a superuser or has BYPASSRLS, so row-level security does \
             not apply; connect as a member of the `latchkey_app` role (see docs/architecture.md)"
        );
    }
    Ok(db)
}

/// The embedded SQLite database lives in the data directory: the directory is created 0700 and
/// the database file 0600 before SQLite opens it (its WAL and shared-memory files take the
/// database file's mode).
fn ensure_data_dir(config: &Config) -> anyhow::Result<()> {
    if config.embedded {
        let cannot = |what: &Path| format!("LATCHKEY_DATA_DIR: cannot create {}", what.display());
        files::create_private_dir(&config.data_dir).with_context(|| cannot(&config.data_dir))?;
        let database = config.data_dir.join(files::EMBEDDED_DATABASE);
        files::ensure_private_file(&database).with_context(|| cannot(&database))?;
    }
    Ok(())
}

/// Applies pending migrations with the migration URL; returns how many were applied.
pub async fn migrate(config: &Config) -> anyhow::Result<usize> {
    ensure_data_dir(config)?;
    let pool = latchkey_core::PoolSettings {
        max_connections: 2,
        ..config.database_pool
    };
    let db = database_wait::connect(
        &config.migration_database_url,
        pool,
        Vec::new(),
        config.database_wait,
    )
    .await
    .context("LATCHKEY_MIGRATION_DATABASE_URL")?;
    let pending = db.pending_migrations().await.unwrap_or(0);
    db.migrate().await.context("applying migrations failed")?;
    Ok(pending)
}

/// The ephemeral store; with Redis, also the replicas' change feed of `db`'s near cache.
async fn open_store(config: &Config, db: &Database) -> anyhow::Result<Arc<dyn EphemeralStore>> {
    Ok(match &config.redis_url {
        Some(url) => {
            // Returns whether or not Redis is up: the store connects in the background and
            // logs once while it cannot.
            let store = Arc::new(
                RedisStore::connect(url, config.redis_timeout)
                    .await
                    .context("LATCHKEY_REDIS_URL")?,
            );
            store
                .follow_changes(db.near_cache().freshness())
                .context("LATCHKEY_REDIS_URL")?;
            store
        }
        None => Arc::new(InProcessStore::default()),
    })
}

/// A server that is accepting requests.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub public_url: String,
    pub bootstrap: Bootstrap,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    stop_dispatcher: watch::Sender<bool>,
    dispatcher: tokio::task::JoinHandle<()>,
    draining: Draining,
    drain: Duration,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and returns when the server is down.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
        let _ = self.stop_dispatcher.send(true);
        let _ = self.dispatcher.await;
    }

    /// Runs until the server stops. On SIGTERM or SIGINT it drains first (see [`shutdown`]),
    /// then stops accepting; in-flight requests finish, then the outbox dispatcher finishes
    /// the delivery in hand (the rest of its batch falls due again for any replica).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let served = tokio::select! {
            served = &mut self.task => served,
            requested = shutdown::stop_requested() => {
                requested.context("cannot listen for stop signals")?;
                shutdown::drain(&self.draining, self.drain).await;
                self.handle.stop(true).await;
                self.task.await
            }
        };
        let _ = self.stop_dispatcher.send(true);
        let _ = self.dispatcher.await;
        served??;
        Ok(())
    }
}

/// Starts a complete server: the binary's `serve` and the end-to-end tests both use this.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// [`start`] with the clock that time-based rules are measured against (tests move theirs
/// instead of waiting).
pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<RunningServer> {
    let master_key = Arc::new(config.load_master_key()?);
    let db = open_database(&config).await?.with_clock(clock.clone());
    let store = open_store(&config, &db).await?;
    let bootstrap = bootstrap(&db, &master_key, &config)
        .await
        .context("first-start bootstrap failed")?;
    let listener = std::net::TcpListener::bind(config.bind)
        .with_context(|| format!("LATCHKEY_BIND: cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url_for(addr);
    let hosts = Hosts::new(config.base_domain.as_deref(), &public_url);
    warn_conflicting_domains(&db, &hosts)
        .await
        .context("checking the custom domains failed")?;
    let metrics = Arc::new(Metrics::new(config.metrics_tenant_label_limit));
    let crm = Arc::new(Clients::new(
        config.crm_timeout,
        config.allow_private_networks,
    ));
    let mailer: Arc<dyn latchkey_core::mail::Mailer> = Arc::from(mail::mailer(&config.mail)?);
    let (stop_dispatcher, stopped) = watch::channel(false);
    let dispatcher = if config.crm_dispatcher {
        // The starts and ends of membership windows are background work of the same kind:
        // claimed rows, so every replica may run them.
        let transitions =
            latchkey_core::organizations::run_transitions(db.clone(), stopped.clone());
        // So are the import and export jobs of the API.
        let transfers = latchkey_transfer::worker::run(db.clone(), stopped.clone());
        // And the erasure of accounts whose deletion is due, and the audit-log retention.
        let data_rights = latchkey_core::data_rights::run(db.clone(), stopped.clone());
        let deliveries = Dispatcher::new(
            db.clone(),
            master_key.clone(),
            crm.clone(),
            config.dispatch.clone(),
            metrics.clone(),
        )
        .with_pulls(PullContext {
            key: master_key.clone(),
            mailer: mailer.clone(),
            store: store.clone(),
            public_url: public_url.clone(),
        })
        .run(stopped);
        tokio::spawn(async move {
            futures::join!(deliveries, transitions, transfers, data_rights);
        })
    } else {
        tokio::spawn(async {})
    };
    let draining = Draining::default();
    let drain = config.shutdown_drain;
    let state = web::Data::new(AppState {
        services: Arc::new(Services {
            db,
            store,
            decoy_key: master_key.derive("latchkey decoy credential ids"),
            master_key,
            token_keys: KeyCache::default(),
            signing_keys: Default::default(),
            hosts,
            public_url: public_url.clone(),
            ceremony_ttl: config.ceremony_ttl,
            metrics: metrics.clone(),
            mailer,
            dns: match config.dns_server {
                Some(server) => DnsVerifier::with_server(server),
                None => DnsVerifier::system()?,
            },
            crm,
            federation: Arc::new(Federation::new(
                config.crm_timeout,
                config.allow_private_networks,
            )),
            clock,
        }),
        tenant_schema: tenant_schema(&config.limits),
        platform_schema: platform_schema(&config.limits),
        config: Arc::new(config),
        draining: draining.clone(),
    });
    let https = public_url.starts_with("https://");
    let server_draining = draining.clone();
    let server = HttpServer::new(move || {
        let metrics = metrics.clone();
        let draining = server_draining.clone();
        App::new()
            .app_data(state.clone())
            .wrap(security_headers(https))
            .wrap_fn(move |request, service| {
                let id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .filter(|v| !v.is_empty() && v.len() <= 128)
                    .map(str::to_owned)
                    .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
                request.extensions_mut().insert(RequestId(id.clone()));
                let method = request.method().clone();
                let path = request.path().to_owned();
                let route = request
                    .match_pattern()
                    .unwrap_or_else(|| "(unmatched)".to_owned());
                let started = Instant::now();
                // Every log line of the request carries these; `tenant.id` is filled in once
                // the tenant is resolved.
                let span = tracing::info_span!(
                    "http.request",
                    request.id = %id,
                    http.method = %method,
                    http.route = %route,
                    tenant.id = tracing::field::Empty,
                );
                // W3C trace context from the caller: this request's spans join its trace.
                let parent =
                    TraceContextPropagator::new().extract(&HeaderExtractor(request.headers()));
                let _ = span.set_parent(parent);
                let response = span.in_scope(|| service.call(request));
                let metrics = metrics.clone();
                let request_span = span.clone();
                let draining = draining.clone();
                async move {
                    let mut response = response.await?;
                    if draining.is_draining() {
                        // The client's next request opens a new connection, which the load
                        // balancer gives to a replica that stays.
                        response
                            .response_mut()
                            .head_mut()
                            .set_connection_type(ConnectionType::Close);
                    }
                    let status = response.status().as_u16().to_string();
                    metrics
                        .http_requests
                        .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
                        .inc();
                    metrics
                        .http_duration
                        .with_label_values(&[route.as_str()])
                        .observe(started.elapsed().as_secs_f64());
                    if let Ok(value) = HeaderValue::from_str(&id) {
                        response
                            .headers_mut()
                            .insert(HeaderName::from_static(REQUEST_ID), value);
                    }
                    tracing::info!(
                        request.id = %id,
                        http.method = %method,
                        http.path = %path,
                        http.status = response.status().as_u16(),
                        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                        "request"
                    );
                    Ok(response)
                }
                .instrument(request_span)
            })
            .configure(routes)
    })
    .listen(listener)?
    .shutdown_timeout(30)
    // Signals are handled by [`RunningServer::wait`], which drains before stopping.
    .disable_signals()
    .run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(RunningServer {
        addr,
        public_url,
        bootstrap,
        handle,
        task,
        stop_dispatcher,
        dispatcher,
        draining,
        drain,
    })
}
