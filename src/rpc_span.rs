//! One server span per RPC, named and attributed by OpenTelemetry's RPC conventions
//! (`flexcover.v1.EnrolmentService/EnrolWorker`, kind SERVER, `rpc.system` grpc, `rpc.service`,
//! `rpc.method`, `rpc.grpc.status_code`, `server.address`/`server.port`, `error.type` and status
//! ERROR for the codes that are the server's fault), continuing the caller's trace when the
//! request carries a W3C `traceparent`. Inner layers and handlers fill in `caller.kind` and
//! `province` through `Span::current()`. The trace id is also a field, so JSON log lines of the
//! call carry it.
use crate::connection::ConnectionInfo;
use crate::metrics::Metrics;
use futures_util::future::BoxFuture;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The span layer, and the metrics it records each answer in (none in unit tests).
#[derive(Clone, Default)]
pub struct RpcSpanLayer {
    metrics: Option<Arc<Metrics>>,
}

impl RpcSpanLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics: Some(metrics),
        }
    }
}

impl<S> tower::Layer<S> for RpcSpanLayer {
    type Service = RpcSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcSpan {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RpcSpan<S> {
    inner: S,
    metrics: Option<Arc<Metrics>>,
}

/// The gRPC status of a response that carries it in its headers (trailers-only errors); a
/// response without one is OK as far as the headers tell.
fn grpc_code<B>(response: &http::Response<B>) -> i32 {
    response
        .headers()
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// The codes a server span reports as errors (OpenTelemetry's gRPC conventions): UNKNOWN,
/// DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS. The others are the caller's.
fn is_server_error(code: i32) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

/// gRPC's name of a status code, for `error.type`.
fn code_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("UNKNOWN")
}

/// A served RPC: its service and method, named once for the life of the process.
pub type Served = (&'static str, &'static str);

/// Every RPC this server serves (its own services, health and reflection), by path without the
/// leading slash. Built once; the names are leaked on purpose so every call can label with them
/// without allocating.
fn served_methods() -> HashMap<String, Served> {
    use prost::Message;
    let mut served: Vec<(String, String)> = Vec::new();
    for set in [
        crate::pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ] {
        let Ok(files) = prost_types::FileDescriptorSet::decode(set) else {
            continue;
        };
        for file in files.file {
            let package = file.package.unwrap_or_default();
            for service in file.service {
                let name = format!("{package}.{}", service.name.unwrap_or_default());
                for method in service.method {
                    served.push((name.clone(), method.name.unwrap_or_default()));
                }
            }
        }
    }
    for reflection in [
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        served.push((reflection.into(), "ServerReflectionInfo".into()));
    }
    served
        .into_iter()
        .map(|(service, method)| {
            let path = format!("{service}/{method}");
            let named: Served = (service.leak(), method.leak());
            (path, named)
        })
        .collect()
}

static SERVED: LazyLock<HashMap<String, Served>> = LazyLock::new(served_methods);

/// The served RPC at `path` (`/package.Service/Method`), if this server serves it. Any path a
/// client sends reaches the span layer (authentication and routing refuse it later), so spans and
/// metrics name a path it does not serve `unknown`: what a client sends cannot grow a trace
/// backend's names or the metric labels.
pub fn served(path: &str) -> Option<Served> {
    SERVED.get(path.trim_start_matches('/')).copied()
}

struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|key| key.as_str()).collect()
    }
}

fn start_span<B>(request: &http::Request<B>, served: Option<Served>) -> tracing::Span {
    let path = request.uri().path();
    let (name, service, method) = match served {
        Some((service, method)) => (path.trim_start_matches('/'), service, method),
        None => ("unknown", "unknown", "unknown"),
    };
    let local = request
        .extensions()
        .get::<ConnectionInfo>()
        .and_then(|info| info.local_addr);
    let span = tracing::info_span!(
        "rpc",
        otel.name = %name,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
        "error.type" = tracing::field::Empty,
        server.address = local.map(|a| a.ip().to_string()),
        server.port = local.map(|a| a.port()),
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        caller.kind = tracing::field::Empty,
        province = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let parent = opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .extract(&Headers(request.headers()));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    // For JSON log lines: every line of the call names the trace and this span.
    let context = span.context();
    let ids = context.span().span_context().clone();
    if ids.trace_id() != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(ids.trace_id()));
    }
    if ids.span_id() != opentelemetry::trace::SpanId::INVALID {
        span.record("span_id", tracing::field::display(ids.span_id()));
    }
    span
}

fn record_answer(span: &tracing::Span, code: i32, latency_ms: f64) {
    span.record("latency_ms", latency_ms);
    span.record("rpc.grpc.status_code", code);
    if is_server_error(code) {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", code_name(code));
        tracing::warn!(rpc.grpc.status_code = code, latency_ms, "rpc failed");
    } else {
        tracing::info!(rpc.grpc.status_code = code, latency_ms, "rpc finished");
    }
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for RpcSpan<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>> + Send,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let served = served(request.uri().path());
        let span = start_span(&request, served);
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let future = self.inner.call(request);
        let record_span = span.clone();
        Box::pin(
            async move {
                let result = future.await;
                let elapsed = started.elapsed();
                let latency_ms = elapsed.as_secs_f64() * 1000.0;
                match &result {
                    Ok(response) => {
                        let code = grpc_code(response);
                        record_answer(&record_span, code, latency_ms);
                        if let Some(metrics) = &metrics {
                            metrics.record_rpc(served, code, elapsed);
                        }
                    }
                    Err(error) => {
                        record_span.record("otel.status_code", "ERROR");
                        record_span.record("error.type", "transport");
                        tracing::warn!(%error, latency_ms, "rpc transport error");
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests;
