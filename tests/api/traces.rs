//! The real binary exporting spans over OTLP/gRPC to a receiver in this test: a call's SERVER span
//! by OpenTelemetry's RPC conventions, in the caller's trace, with a `db.transaction` child; the
//! JSON log lines of the call name the same trace and span.
use crate::helpers::*;
use flexcover::pb;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// A span received, with its resource's attributes.
type Received = (Vec<KeyValue>, Span);

/// What the receiver got.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().expect("spans");
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans.resource.unwrap_or_default().attributes;
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push((resource.clone(), span));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes.iter().find(|kv| kv.key == key)?.value.clone()?;
    match value.value? {
        any_value::Value::StringValue(text) => Some(text),
        any_value::Value::IntValue(number) => Some(number.to_string()),
        other => Some(format!("{:?}", AnyValue { value: Some(other) })),
    }
}

#[tokio::test]
async fn a_call_exports_its_server_span_and_a_database_child_and_logs_their_ids() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let otlp = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let url = fresh_database_url().await;
    let pool = flexcover::store::connect(&url, 2).await.expect("pool");
    let mut connection = pool.acquire().await.expect("connection");
    let role = flexcover::domain::role::Role::parse("national-admin").expect("role");
    let token =
        flexcover::api::admin::create_token(&mut connection, &role, "t", chrono::Utc::now())
            .await
            .expect("token")
            .token;
    drop(connection);
    pool.close().await;

    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let dir = crate::certs::PemDir::new();
    let log_file = dir.file("serve.log");
    let mut server = Command::new(env!("CARGO_BIN_EXE_flexcover"))
        .args(["serve", "--listen", &addr.to_string()])
        .env("DATABASE_URL", &url)
        .env(
            "FLEXCOVER_PII_KEY",
            flexcover::pii::PiiKeys::generate_text(),
        )
        .env_remove("FLEXCOVER_PII_KEY_FILE")
        .env_remove("FLEXCOVER_TLS_CERT")
        .env_remove("FLEXCOVER_TLS_KEY")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{otlp}"))
        .env("OTEL_SERVICE_NAME", "flexcover-trace-test")
        .env("FLEXCOVER_LOG_FORMAT", "json")
        .env("FLEXCOVER_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_file).expect("log file"))
        .spawn()
        .expect("start serve");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let channel = loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
        {
            break channel;
        }
        assert!(server.try_wait().expect("poll").is_none(), "serve exited");
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut request = authed(
        pb::GetClaimRequest {
            claim_id: uuid::Uuid::new_v4().to_string(),
        },
        &token,
    );
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{PARENT_ID}-01")
            .parse()
            .expect("traceparent"),
    );
    let answer = pb::claim_service_client::ClaimServiceClient::new(channel)
        .get_claim(request)
        .await;
    assert_eq!(
        answer.err().map(|status| status.code()),
        Some(tonic::Code::NotFound)
    );

    // SIGTERM flushes the batch exporter on the way out.
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(i32::try_from(server.id()).expect("pid"), libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .expect("join")
        .expect("wait");
    let log = std::fs::read_to_string(&log_file).expect("log");
    assert!(status.success(), "{log}");

    let spans = receiver.spans.lock().expect("spans").clone();
    let hex = |bytes: &[u8]| hex::encode(bytes);
    let (resource, server_span) = spans
        .iter()
        .find(|(_, span)| span.name == "flexcover.v1.ClaimService/GetClaim")
        .expect("the call's span");
    assert_eq!(
        text(resource, "service.name").as_deref(),
        Some("flexcover-trace-test")
    );
    assert_eq!(
        text(resource, "service.version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(server_span.kind, SpanKind::Server as i32);
    assert_eq!(hex(&server_span.trace_id), TRACE_ID);
    assert_eq!(hex(&server_span.parent_span_id), PARENT_ID);
    let attributes = &server_span.attributes;
    assert_eq!(text(attributes, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        text(attributes, "rpc.service").as_deref(),
        Some("flexcover.v1.ClaimService")
    );
    assert_eq!(text(attributes, "rpc.method").as_deref(), Some("GetClaim"));
    assert_eq!(
        text(attributes, "rpc.grpc.status_code").as_deref(),
        Some("5")
    );
    assert_eq!(
        text(attributes, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        text(attributes, "server.port"),
        Some(addr.port().to_string())
    );

    let (_, transaction) = spans
        .iter()
        .find(|(_, span)| span.name == "db.transaction")
        .expect("the call's database transaction");
    assert_eq!(transaction.kind, SpanKind::Client as i32);
    assert_eq!(transaction.trace_id, server_span.trace_id);
    assert_eq!(transaction.parent_span_id, server_span.span_id);
    assert_eq!(
        text(&transaction.attributes, "db.system.name").as_deref(),
        Some("postgresql")
    );
    for kv in &transaction.attributes {
        assert!(
            [
                "db.system.name",
                "db.operation.name",
                "error.type",
                "code.file.path",
                "code.filepath",
                "code.line.number",
                "code.lineno",
                "code.module.name",
                "code.namespace",
                "thread.id",
                "thread.name",
                "target",
                "busy_ns",
                "idle_ns",
            ]
            .contains(&kv.key.as_str()),
            "no values on a transaction's span: {kv:?}"
        );
    }

    // The call's JSON log line names the trace and the SERVER span.
    let finished = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["fields"]["message"] == "rpc finished")
        .unwrap_or_else(|| panic!("a JSON line for the call: {log}"));
    assert_eq!(finished["span"]["trace_id"], TRACE_ID, "{finished}");
    assert_eq!(
        finished["span"]["span_id"],
        hex(&server_span.span_id),
        "{finished}"
    );
}
