//! One tracing span per RPC: method, caller kind, province, gRPC status code and latency.
//! Inner layers and handlers fill in `caller.kind` and `province` through `Span::current()`.
use futures_util::future::BoxFuture;
use std::task::{Context, Poll};
use std::time::Instant;
use tracing::Instrument;

#[derive(Clone, Default)]
pub struct RpcSpanLayer;

impl<S> tower::Layer<S> for RpcSpanLayer {
    type Service = RpcSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcSpan { inner }
    }
}

#[derive(Clone)]
pub struct RpcSpan<S> {
    inner: S,
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
        let span = tracing::info_span!(
            "rpc",
            otel.name = %request.uri().path(),
            rpc.method = %request.uri().path(),
            caller.kind = tracing::field::Empty,
            province = tracing::field::Empty,
            grpc.code = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let future = self.inner.call(request);
        let record_span = span.clone();
        Box::pin(
            async move {
                let result = future.await;
                let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                record_span.record("latency_ms", latency_ms);
                match &result {
                    Ok(response) => {
                        let code = grpc_code(response);
                        record_span.record("grpc.code", code);
                        // UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS are ours.
                        if matches!(code, 2 | 4 | 13 | 14 | 15) {
                            tracing::warn!(grpc.code = code, latency_ms, "rpc failed");
                        } else {
                            tracing::info!(grpc.code = code, latency_ms, "rpc finished");
                        }
                    }
                    Err(error) => tracing::warn!(%error, latency_ms, "rpc transport error"),
                }
                result
            }
            .instrument(span),
        )
    }
}
