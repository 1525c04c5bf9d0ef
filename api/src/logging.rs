//! Logs and traces. Logs: human-readable by default, JSON with `LATCHKEY_LOG_FORMAT=json`;
//! level by `RUST_LOG`. Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` (and the other standard
//! `OTEL_*` variables) set, spans are exported over OTLP/gRPC; without it nothing is exported.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The telemetry pipeline; flush it with [`Telemetry::shutdown`] before the process exits.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered. (The SDK's shutdown blocks; it runs off the async
    /// workers.)
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }
}

fn otlp_provider() -> Option<SdkTracerProvider> {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty())?;
    match opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
    {
        Ok(exporter) => Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name("latchkey").build())
                .build(),
        ),
        Err(error) => {
            eprintln!(
                "warning: OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter failed: {error}"
            );
            None
        }
    }
}

pub fn init() -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    let json = std::env::var("LATCHKEY_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let provider = otlp_provider();
    let traces = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("latchkey")));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(json.then(|| {
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr)
        }))
        .with((!json).then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr)))
        .with(traces)
        .try_init();
    Telemetry { provider }
}
