//! OpenTelemetry: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the binary exports its spans over
//! OTLP/gRPC. An OTLP receiver in this test (tonic + opentelemetry-proto, on loopback) gets
//! the spans of a GraphQL request: the HTTP request span joins the caller's W3C trace, carries
//! `tenant.id`, and parents the GraphQL operation span, which parents the core's storage span.

mod common;

use common::Binary;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a AnyValue> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

#[tokio::test]
async fn spans_of_a_graphql_request_reach_an_otlp_receiver() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let service = receiver.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(service))
            .serve_with_incoming(tokio_stream_from(listener))
            .await
            .unwrap();
    });

    let data_dir = std::env::temp_dir().join(format!("latchkey-otel-{}", uuid::Uuid::now_v7()));
    let endpoint = format!("http://127.0.0.1:{port}");
    let binary = Binary::start(
        &data_dir,
        &[
            ("RUST_LOG", "info,h2=warn,tonic=warn,hyper=warn,tower=warn"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
        Stdio::null(),
    );
    let key = binary
        .secret("Demo tenant owner API key")
        .unwrap()
        .to_owned();
    let base = binary.url.clone();
    let mut child = binary.child;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .post(format!("{base}/t/demo/graphql"))
        .bearer_auth(&key)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({ "query": "{ identities { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let tenant: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/t/demo/graphql"))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "query": "{ tenant { id } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant_id = tenant["data"]["tenant"]["id"].as_str().unwrap().to_owned();

    // A clean stop flushes the exporter.
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success());

    let spans = receiver.spans.lock().unwrap().clone();
    let in_trace: Vec<&Span> = spans
        .iter()
        .filter(|s| hex(&s.trace_id) == trace_id)
        .collect();
    let request = in_trace
        .iter()
        .find(|s| s.name == "http.request")
        .unwrap_or_else(|| {
            panic!(
                "no http.request span in the caller's trace; got {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(
        hex(&request.parent_span_id),
        "00f067aa0ba902b7",
        "the caller's span is the parent"
    );
    assert!(
        matches!(attribute(request, "tenant.id"), Some(AnyValue::StringValue(id)) if *id == tenant_id)
    );
    let operation = in_trace
        .iter()
        .find(|s| s.name == "graphql.operation")
        .expect("a graphql.operation span");
    assert_eq!(operation.parent_span_id, request.span_id);
    let storage = in_trace
        .iter()
        .find(|s| s.name == "core.list_identities")
        .expect("the core's span");
    assert_eq!(storage.parent_span_id, operation.span_id);
    assert!(
        matches!(attribute(storage, "tenant.id"), Some(AnyValue::StringValue(id)) if *id == tenant_id)
    );
    // No secret in any attribute.
    for span in &spans {
        for attribute in &span.attributes {
            assert!(!format!("{:?}", attribute.value).contains(&key));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Serves a tonic server on an already-bound listener.
fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

#[tokio::test]
async fn a_crm_delivery_has_its_span_and_sends_traceparent() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let service = receiver.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(service))
            .serve_with_incoming(tokio_stream_from(listener))
            .await
            .unwrap();
    });
    let webhook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&webhook)
        .await;

    let data_dir = std::env::temp_dir().join(format!("latchkey-otel-{}", uuid::Uuid::now_v7()));
    let endpoint = format!("http://127.0.0.1:{port}");
    let binary = Binary::start(
        &data_dir,
        &[
            ("RUST_LOG", "info,h2=warn,tonic=warn,hyper=warn,tower=warn"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("LATCHKEY_CRM_POLL_INTERVAL_MS", "50"),
            ("LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS", "true"),
        ],
        Stdio::null(),
    );
    let key = binary
        .secret("Demo tenant owner API key")
        .unwrap()
        .to_owned();
    let base = binary.url.clone();
    let mut child = binary.child;
    let client = reqwest::Client::new();
    let graphql = |query: &'static str, variables: serde_json::Value| {
        client
            .post(format!("{base}/t/demo/graphql"))
            .bearer_auth(&key)
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
    };
    let created: serde_json::Value = graphql(
        "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
        serde_json::json!({ "input": { "name": "traced", "kind": "WEBHOOK", "settings": { "url": webhook.uri() }, "credentials": { "secret": "0123456789abcdef0123" } } }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(
        created["data"]["createCrmConnector"]["connector"]["id"].is_string(),
        "{created}"
    );
    graphql(
        "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }",
        serde_json::json!({ "input": { "email": "traced@example.com" } }),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let delivered = loop {
        let requests = webhook.received_requests().await.unwrap();
        if let Some(request) = requests.first() {
            break request.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no delivery");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let traceparent = delivered.headers["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");

    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success());
    let spans = receiver.spans.lock().unwrap().clone();
    let deliver = spans
        .iter()
        .find(|s| s.name == "crm.deliver")
        .unwrap_or_else(|| {
            panic!(
                "no crm.deliver span in {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(
        hex(&deliver.trace_id),
        parts[1],
        "the CRM call carries the delivery's trace"
    );
    assert!(matches!(
        attribute(deliver, "tenant.id"),
        Some(AnyValue::StringValue(_))
    ));
    assert!(
        matches!(attribute(deliver, "crm.connector.kind"), Some(AnyValue::StringValue(kind)) if kind == "webhook")
    );
    assert!(
        matches!(attribute(deliver, "crm.outcome"), Some(AnyValue::StringValue(outcome)) if outcome == "delivered")
    );
    assert!(
        matches!(attribute(deliver, "crm.event.type"), Some(AnyValue::StringValue(t)) if t == "identity.created")
    );
}
