//! The one place where the pool, the services and the layers are wired into a gRPC server.
use crate::api::AppState;
use crate::api::admin::AdminApi;
use crate::api::claim::ClaimApi;
use crate::api::contribution::ContributionApi;
use crate::api::enrolment::EnrolmentApi;
use crate::api::federation::FederationApi;
use crate::api::supervision::SupervisionApi;
use crate::auth::AuthLayer;
use crate::config::ServerSettings;
use crate::connection::TrackedStream;
use crate::pb;
use crate::pb::admin_service_server::AdminServiceServer;
use crate::pb::claim_service_server::ClaimServiceServer;
use crate::pb::contribution_service_server::ContributionServiceServer;
use crate::pb::enrolment_service_server::EnrolmentServiceServer;
use crate::pb::federation_service_server::FederationServiceServer;
use crate::pb::supervision_service_server::SupervisionServiceServer;
use crate::rpc_span::RpcSpanLayer;
use crate::store;
use anyhow::Context;
use futures_util::StreamExt;
use futures_util::future::Either;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Service names reported by health checks, besides the overall "".
const SERVICES: [&str; 5] = [
    "flexcover.v1.EnrolmentService",
    "flexcover.v1.AdminService",
    "flexcover.v1.ContributionService",
    "flexcover.v1.ClaimService",
    "flexcover.v1.FederationService",
];

/// The HTTP/2 flow-control window of one stream.
const STREAM_WINDOW_BYTES: u32 = 1 << 20;

/// Serves until `shutdown` resolves, then drains in-flight calls (bounded by the grace period).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    settings: &ServerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // First: a certificate that does not load stops start-up before anything runs.
    let tls = settings.load_tls()?;
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let (stop_probe, probe_stopped) = watch::channel(false);
    let probe = tokio::spawn(probe_database(
        state.pool.clone(),
        health_reporter,
        settings.health_interval(),
        probe_stopped,
    ));
    // Orders' partitions for the months ahead exist before the first order arrives (the
    // maintenance pass keeps them ahead); a database away now leaves that to the pass.
    match crate::order_archive::create_ahead_now(&state.pool, state.clock.now()).await {
        Ok(0) => {}
        Ok(created) => tracing::info!(created, "orders partitions created ahead"),
        Err(error) => tracing::warn!(
            error = %crate::cli::describe(&error),
            "could not create orders partitions ahead; the maintenance pass will"
        ),
    }
    // Every replica runs a sequencer (one works at a time) and a listener for its notifications.
    let (numbered, numbered_seen) = watch::channel(0_u64);
    let metrics = match settings.metrics_listen {
        Some(address) => {
            let listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("binding the metrics listener {address}"))?;
            tracing::info!(%address, "metrics on /metrics");
            Some(tokio::spawn(crate::metrics::serve(
                listener,
                state.metrics.clone(),
                state.pool.clone(),
            )))
        }
        None => None,
    };
    let reload = tls
        .as_ref()
        .map(|tls| tokio::spawn(crate::tls::reload_on_hangup(Arc::clone(tls))));
    let mut background = vec![
        tokio::spawn(crate::sequencer::run(
            state.pool.clone(),
            state.clock.clone(),
        )),
        tokio::spawn(crate::sequencer::listen(state.pool.clone(), numbered)),
        tokio::spawn(crate::cache::listen(
            state.pool.clone(),
            state.cache.clone(),
        )),
    ];
    if let Some(interval) = settings.supervision_refresh() {
        background.push(tokio::spawn(crate::service::supervision::refresh::run(
            state.clone(),
            interval,
        )));
    }
    if let Some(interval) = settings.maintenance_interval() {
        background.push(tokio::spawn(crate::maintenance::run(
            state.pool.clone(),
            state.clock.clone(),
            interval,
            settings.archive_dir.clone(),
        )));
    }

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building reflection v1")?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("building reflection v1alpha")?;
    let max_message = settings.max_message_bytes;
    let enrolment = EnrolmentServiceServer::new(EnrolmentApi::new(state.clone()))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);
    let admin = AdminServiceServer::new(AdminApi::new(state.clone()))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);
    let contribution = ContributionServiceServer::new(ContributionApi::new(state.clone()))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);

    let claim = ClaimServiceServer::new(ClaimApi::new(state.clone()))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);
    let supervision = SupervisionServiceServer::new(SupervisionApi::new(state.clone()))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);

    // Set when shutdown begins: followers' streams end then (they resume from their cursor) rather
    // than holding the drain for the whole grace period.
    let (signalled, mut signal_seen) = watch::channel(false);
    let federation = FederationServiceServer::new(FederationApi::new(
        state.clone(),
        numbered_seen,
        signal_seen.clone(),
    ))
    .max_decoding_message_size(max_message)
    .max_encoding_message_size(max_message);

    let layers = tower::ServiceBuilder::new()
        .layer(crate::connection::StreamCountLayer)
        .layer(RpcSpanLayer::new(state.metrics.clone()))
        .layer(crate::oversize::OversizeLayer)
        .layer(
            crate::admission::AdmissionLayer::new(settings.admission())
                .with_metrics(state.metrics.clone()),
        )
        .layer(AuthLayer::new(state.pool.clone(), state.cache.clone()))
        .into_inner();

    // The drain is bounded: after the signal, in-flight calls get the grace period, no more.
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight calls");
        let _ = signalled.send(true);
    };
    let server = tonic::transport::Server::builder()
        // h2 closes a connection (GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames") once the small
        // DATA frames it holds unread cost more than half the connection window in framing
        // overhead. gRPC clients such as grpcio send one small frame per message, so a stream that
        // outpaces the database filled a 1 MiB connection window with ~130-byte frames and tripped
        // it. Each stream may still buffer only its own 1 MiB window; the connection window (and
        // with it the budget) is 16 streams' worth.
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(16 * STREAM_WINDOW_BYTES)
        // Pings find peers that vanished without closing (a NAT that forgot them, a killed host).
        .http2_keepalive_interval(settings.http2_keepalive())
        .http2_keepalive_timeout(Some(Duration::from_secs(
            settings.http2_keepalive_timeout_secs,
        )))
        .layer(layers)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(enrolment)
        .add_service(admin)
        .add_service(contribution)
        .add_service(claim)
        .add_service(federation)
        .add_service(supervision)
        .serve_with_incoming_shutdown(accepted(listener, settings, tls), shutdown);
    let bounded = async {
        let _ = signal_seen.wait_for(|seen| *seen).await;
        tokio::time::sleep(grace).await;
    };
    let result = tokio::select! {
        result = server => result.context("gRPC server"),
        () = bounded => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight calls did not finish within the grace period");
            Ok(())
        }
    };
    let _ = stop_probe.send(true);
    let _ = probe.await;
    for task in background.into_iter().chain(metrics).chain(reload) {
        task.abort();
    }
    result
}

/// Accepted connections (after their TLS handshake, with TLS), each tracked for the idle timeout.
fn accepted(
    listener: TcpListener,
    settings: &ServerSettings,
    tls: Option<Arc<crate::tls::ServerTls>>,
) -> impl futures_util::Stream<Item = std::io::Result<TrackedStream>> {
    let idle_timeout = settings.idle_connection_timeout();
    let nodelay = settings.tcp_nodelay;
    match tls {
        Some(tls) => Either::Left(crate::tls::accepted(listener, tls, idle_timeout, nodelay)),
        None => Either::Right(
            tokio_stream::wrappers::TcpListenerStream::new(listener).map(move |socket| {
                socket.map(|socket| TrackedStream::new(socket, idle_timeout, nodelay))
            }),
        ),
    }
}

/// Drives health status from a database probe: SERVING only while the database answers.
async fn probe_database(
    pool: sqlx::PgPool,
    reporter: HealthReporter,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut serving: Option<bool> = None;
    loop {
        let answers = store::ping(&pool, interval.max(Duration::from_millis(500))).await;
        if serving != Some(answers) {
            let status = if answers {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            for service in std::iter::once("").chain(SERVICES) {
                reporter.set_service_status(service, status).await;
            }
            if answers {
                tracing::info!("database answers: SERVING");
            } else {
                tracing::warn!("database does not answer: NOT_SERVING");
            }
            serving = Some(answers);
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
