//! Prometheus metrics at `/metrics` (text format). One registry per server, held in the app
//! state (no global registry), so tests can run several servers in one process. Labels are
//! bounded: routes are the matched route patterns, GraphQL operations are named by their
//! root fields (from the schema), outcomes are fixed words.

use latchkey_tenants::crm::dispatch::DeliveryObserver;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub graphql_operations: IntCounterVec,
    pub sign_ins: IntCounterVec,
    pub federated_sign_ins: IntCounterVec,
    pub tokens_issued: IntCounterVec,
    pub oauth_token_requests: IntCounterVec,
    pub rate_limited: IntCounterVec,
    pub database_connections: IntGauge,
    pub database_idle_connections: IntGauge,
    database_statements: IntCounterVec,
    pub crm_deliveries: IntCounterVec,
    pub crm_delivery_duration: HistogramVec,
    pub crm_queue_depth: IntGauge,
    /// Two scrapes at once must not both add the same difference.
    statements_sync: std::sync::Mutex<()>,
    /// Tenant API requests by tenant: the first `limit` tenants seen by their slug, the rest
    /// as `other` (absent when the limit is 0).
    tenant_requests: Option<TenantLabels>,
}

impl Metrics {
    /// `tenant_label_limit`: how many tenants get their own `tenant` label value (0: no
    /// per-tenant metric at all).
    pub fn new(tenant_label_limit: usize) -> Self {
        let registry =
            Registry::new_custom(Some("latchkey".into()), None).expect("a valid metrics prefix");
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let counter = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(counter.clone()))
                .expect("registered once");
            counter
        };
        let gauge = |name: &str, help: &str| {
            let gauge = IntGauge::new(name, help).expect("valid metric");
            registry
                .register(Box::new(gauge.clone()))
                .expect("registered once");
            gauge
        };
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(http_duration.clone()))
            .expect("registered once");
        let crm_delivery_duration = HistogramVec::new(
            HistogramOpts::new(
                "crm_delivery_duration_seconds",
                "Time of one CRM delivery attempt (the CRM call), by connector kind",
            )
            .buckets(vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["kind"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(crm_delivery_duration.clone()))
            .expect("registered once");
        Self {
            http_requests: counter(
                "http_requests_total",
                "HTTP requests by route, method and status",
                &["route", "method", "status"],
            ),
            http_duration,
            graphql_operations: counter(
                "graphql_operations_total",
                "GraphQL operations by API, root field and outcome",
                &["api", "field", "outcome"],
            ),
            sign_ins: counter(
                "sign_ins_total",
                "Sign-ins by method and outcome",
                &["method", "outcome"],
            ),
            federated_sign_ins: counter(
                "federated_sign_ins_total",
                "Federated sign-ins by provider preset and outcome (signed_in, linked, refused)",
                &["preset", "outcome"],
            ),
            tokens_issued: counter(
                "tokens_issued_total",
                "Access, refresh and ID tokens issued",
                &["kind"],
            ),
            oauth_token_requests: counter(
                "oauth_token_requests_total",
                "OAuth token endpoint requests by grant type and outcome",
                &["grant", "outcome"],
            ),
            rate_limited: counter(
                "rate_limited_total",
                "Requests refused by a rate limit",
                &["api"],
            ),
            database_connections: gauge("database_pool_connections", "Open database connections"),
            database_idle_connections: gauge(
                "database_pool_idle_connections",
                "Idle database connections",
            ),
            database_statements: counter(
                "database_statements_total",
                "SQL statements run, by outcome",
                &["outcome"],
            ),
            statements_sync: std::sync::Mutex::new(()),
            tenant_requests: (tenant_label_limit > 0).then(|| TenantLabels {
                counter: counter(
                    "tenant_graphql_requests_total",
                    "Tenant API requests by tenant (the first LATCHKEY_METRICS_TENANT_LABEL_LIMIT tenants by slug, the rest as other)",
                    &["tenant"],
                ),
                limit: tenant_label_limit,
                seen: std::sync::Mutex::new(std::collections::HashSet::new()),
            }),
            crm_deliveries: counter(
                "crm_deliveries_total",
                "CRM delivery attempts by connector kind and outcome (delivered, retry, dead)",
                &["kind", "outcome"],
            ),
            crm_delivery_duration,
            crm_queue_depth: gauge("crm_queue_depth", "CRM deliveries waiting, all tenants"),
            registry,
        }
    }

    /// Counts one tenant API request of `slug`, under its own label while the label limit
    /// allows.
    pub fn tenant_request(&self, slug: &str) {
        let Some(labels) = &self.tenant_requests else {
            return;
        };
        let label = {
            let mut seen = labels.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.contains(slug) || seen.len() < labels.limit {
                seen.insert(slug.to_owned());
                slug
            } else {
                "other"
            }
        };
        labels.counter.with_label_values(&[label]).inc();
    }

    /// Brings the statement counters up to the pool's own counts (taken at scrape time).
    pub fn observe_statements(&self, (succeeded, failed): (u64, u64)) {
        let _sync = self
            .statements_sync
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (outcome, total) in [("ok", succeeded), ("error", failed)] {
            let counter = self.database_statements.with_label_values(&[outcome]);
            counter.inc_by(total.saturating_sub(counter.get()));
        }
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding does not fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

/// A counter whose `tenant` label takes a bounded number of values.
struct TenantLabels {
    counter: IntCounterVec,
    limit: usize,
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl DeliveryObserver for Metrics {
    fn attempted(&self, kind: &str, outcome: &str, took: std::time::Duration) {
        self.crm_deliveries
            .with_label_values(&[kind, outcome])
            .inc();
        self.crm_delivery_duration
            .with_label_values(&[kind])
            .observe(took.as_secs_f64());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(0)
    }
}
