use super::*;
use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tower::{Layer, Service, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// The spans exported for one call answering `code`, sent with a W3C traceparent.
fn spans_of_a_call_answering(code: i32) -> Vec<SpanData> {
    spans_of_a_call_to("/flexcover.v1.EnrolmentService/EnrolWorker", code)
}

fn spans_of_a_call_to(path: &str, code: i32) -> Vec<SpanData> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let answering = tower::service_fn(move |_: http::Request<()>| async move {
                http::Response::builder()
                    .header("grpc-status", code.to_string())
                    .body(())
                    .map_err(|error| error.to_string())
            });
            let request = http::Request::builder()
                .uri(path)
                .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
                .body(())
                .expect("request");
            RpcSpanLayer::default()
                .layer(answering)
                .ready()
                .await
                .expect("ready")
                .call(request)
                .await
                .expect("answered");
        });
    });
    provider.force_flush().expect("flush");
    exporter.get_finished_spans().expect("spans")
}

fn attribute(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|KeyValue { key: k, .. }| k.as_str() == key)
        .map(|kv| kv.value.clone())
}

#[test]
fn a_failed_call_is_a_server_span_of_the_callers_trace_with_the_rpc_conventions() {
    let spans = spans_of_a_call_answering(14);
    let span = spans
        .iter()
        .find(|s| s.name == "flexcover.v1.EnrolmentService/EnrolWorker")
        .expect("the RPC's span, named without a leading slash");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(span.parent_span_id.to_string(), PARENT_ID);
    assert_eq!(attribute(span, "rpc.system"), Some("grpc".into()));
    assert_eq!(
        attribute(span, "rpc.service"),
        Some("flexcover.v1.EnrolmentService".into())
    );
    assert_eq!(attribute(span, "rpc.method"), Some("EnrolWorker".into()));
    assert_eq!(attribute(span, "rpc.grpc.status_code"), Some(14_i64.into()));
    assert_eq!(attribute(span, "error.type"), Some("UNAVAILABLE".into()));
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    assert_eq!(attribute(span, "trace_id"), Some(TRACE_ID.into()));
    assert_eq!(
        attribute(span, "span_id"),
        Some(span.span_context.span_id().to_string().into()),
        "log lines name the span itself"
    );
}

#[test]
fn a_callers_error_leaves_the_span_status_unset() {
    let spans = spans_of_a_call_answering(5);
    let span = spans.first().expect("a span");
    assert_eq!(attribute(span, "rpc.grpc.status_code"), Some(5_i64.into()));
    assert_eq!(attribute(span, "error.type"), None);
    assert_eq!(span.status, Status::Unset);
}

#[test]
fn status_codes_have_their_grpc_names() {
    assert_eq!(code_name(16), "UNAUTHENTICATED");
    assert_eq!(code_name(99), "UNKNOWN");
}

#[test]
fn a_path_the_server_does_not_serve_is_named_unknown() {
    let spans = spans_of_a_call_to("/made.up.Service/Anything", 16);
    let span = spans.first().expect("a span");
    assert_eq!(span.name, "unknown");
    assert_eq!(attribute(span, "rpc.method"), Some("unknown".into()));
    assert!(super::served("/grpc.health.v1.Health/Check").is_some());
    assert_eq!(
        super::served("/flexcover.v1.ClaimService/ReportIncident"),
        Some(("flexcover.v1.ClaimService", "ReportIncident"))
    );
}
