//! Metrics an operator scrapes: Prometheus text (OpenMetrics) on a separate listener,
//! `FLEXCOVER_METRICS_LISTEN`, path `/metrics`.
//!
//! - `rpc_server_duration_seconds{rpc_system, rpc_service, rpc_method, rpc_grpc_status_code}`:
//!   OpenTelemetry's `rpc.server.duration` as a histogram; its `_count` is the call count and the
//!   status code label gives errors by code.
//! - `db_client_connections_usage{state="used"|"idle"}` and `db_client_connections_max`
//!   (OpenTelemetry's database-client pool names), read from the pool at scrape time.
//! - `flexcover_admission_running`, `flexcover_admission_waiting`, `flexcover_admission_shed_total`.
//! - `flexcover_events_awaiting_sequencing`: committed events the sequencer has not numbered yet
//!   (its lag, in events), read at scrape time.
//!
//! The Prometheus project's own Rust client encodes; it has no HTTP server, and a scrape is one
//! small GET, so the listener answers it by hand rather than pull in an HTTP/1 server.
use crate::rpc_span::Served;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    rpc_system: &'static str,
    rpc_service: &'static str,
    rpc_method: &'static str,
    rpc_grpc_status_code: i32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

type HistogramMaker = fn() -> Histogram;

fn rpc_buckets() -> Histogram {
    // 0.25 ms to ~8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    rpc_duration: Family<RpcLabels, Histogram, HistogramMaker>,
    pool_usage: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    pub admission_running: Gauge,
    pub admission_waiting: Gauge,
    pub admission_shed: Counter,
    awaiting_sequencing: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let rpc_duration = Family::<RpcLabels, Histogram, HistogramMaker>::new_with_constructor(
            rpc_buckets as HistogramMaker,
        );
        registry.register_with_unit(
            "rpc_server_duration",
            "Duration of RPCs served, by service, method and gRPC status code",
            Unit::Seconds,
            rpc_duration.clone(),
        );
        let pool_usage = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_client_connections_usage",
            "Database connections of the service's pool, used or idle",
            pool_usage.clone(),
        );
        let pool_max = Gauge::default();
        registry.register(
            "db_client_connections_max",
            "Most connections the service's pool opens",
            pool_max.clone(),
        );
        let admission_running = Gauge::default();
        registry.register(
            "flexcover_admission_running",
            "Calls admitted and running",
            admission_running.clone(),
        );
        let admission_waiting = Gauge::default();
        registry.register(
            "flexcover_admission_waiting",
            "Calls waiting in the admission queue",
            admission_waiting.clone(),
        );
        let admission_shed = Counter::default();
        registry.register(
            "flexcover_admission_shed",
            "Calls refused with RESOURCE_EXHAUSTED because the server was at capacity",
            admission_shed.clone(),
        );
        let awaiting_sequencing = Gauge::default();
        registry.register(
            "flexcover_events_awaiting_sequencing",
            "Committed events the sequencer has not numbered yet (its lag)",
            awaiting_sequencing.clone(),
        );
        Self {
            registry,
            rpc_duration,
            pool_usage,
            pool_max,
            admission_running,
            admission_waiting,
            admission_shed,
            awaiting_sequencing,
        }
    }
}

/// The labels of a call. Any path a client sends reaches the span layer (and is refused there
/// by authentication or routing), so a path the server does not serve is labelled `unknown`: the
/// label sets stay bounded by the RPCs that exist times the status codes.
fn rpc_labels(served: Option<Served>, code: i32) -> RpcLabels {
    let (service, method) = served.unwrap_or(("unknown", "unknown"));
    RpcLabels {
        rpc_system: "grpc",
        rpc_service: service,
        rpc_method: method,
        rpc_grpc_status_code: code,
    }
}

impl Metrics {
    /// One RPC answered with `code` after `elapsed`.
    pub fn record_rpc(&self, served: Option<Served>, code: i32, elapsed: Duration) {
        let labels = rpc_labels(served, code);
        self.rpc_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The text of a scrape: the pool and the sequencer's lag are read now.
    pub async fn scrape(&self, pool: &PgPool) -> String {
        let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
        let size = i64::from(pool.size());
        self.pool_usage
            .get_or_create(&PoolLabels { state: "idle" })
            .set(idle);
        self.pool_usage
            .get_or_create(&PoolLabels { state: "used" })
            .set(size.saturating_sub(idle).max(0));
        self.pool_max
            .set(i64::from(pool.options().get_max_connections()));
        match crate::store::federation::events_awaiting_sequencing(pool).await {
            Ok(count) => {
                self.awaiting_sequencing.set(count);
            }
            Err(error) => tracing::warn!(%error, "reading the sequencer's lag for a scrape"),
        }
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "encoding metrics");
        }
        text
    }
}

/// Answers `GET /metrics` until the process ends; anything else is 404.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, pool: PgPool) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let metrics = Arc::clone(&metrics);
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut request = [0_u8; 1024];
            let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut request))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            let response = if request[..read].starts_with(b"GET /metrics") {
                let body = metrics.scrape(&pool).await;
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
            };
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_the_server_does_not_serve_share_one_label_set() {
        let metrics = Metrics::default();
        for n in 0..100 {
            // Refused by authentication before routing: UNAUTHENTICATED, not UNIMPLEMENTED.
            let path = format!("/made.up{n}/Anything");
            metrics.record_rpc(crate::rpc_span::served(&path), 16, Duration::ZERO);
        }
        let enrol = crate::rpc_span::served("/flexcover.v1.EnrolmentService/EnrolWorker");
        assert!(enrol.is_some());
        metrics.record_rpc(enrol, 0, Duration::ZERO);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).expect("encode");
        let counts: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with("rpc_server_duration_seconds_count"))
            .collect();
        assert_eq!(counts.len(), 2, "{counts:?}");
        assert!(
            counts
                .iter()
                .any(|line| line.contains("rpc_service=\"unknown\"") && line.ends_with(" 100"))
        );
    }
}
