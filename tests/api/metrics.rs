//! The Prometheus endpoint: RPC durations by service, method and status code, the pool, admission
//! and the sequencer's lag, scraped over plain HTTP as Prometheus does.
use crate::helpers::*;
use flexcover::pb;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(address: SocketAddr, path: &str) -> String {
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect to the metrics listener");
    socket
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut response = String::new();
    socket
        .read_to_string(&mut response)
        .await
        .expect("response");
    response
}

/// The value of the sample whose line starts with `name{` and contains every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn calls_pool_admission_and_sequencer_lag_are_scraped() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let app = spawn_app_with(flexcover::config::ServerSettings {
        health_interval_ms: 100,
        metrics_listen: Some(port),
        ..Default::default()
    })
    .await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;
    client
        .enrol_worker(authed(enrol_request("m1", STANDARD_ID), &meituan))
        .await
        .expect("enrolled");
    for _ in 0..2 {
        let _ = client
            .list_enrolments(authed(pb::ListEnrolmentsRequest::default(), "fc_forged"))
            .await
            .expect_err("unauthenticated");
    }
    let response = get(port, "/metrics").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let enrolled = [
        "rpc_system=\"grpc\"",
        "rpc_service=\"flexcover.v1.EnrolmentService\"",
        "rpc_method=\"EnrolWorker\"",
        "rpc_grpc_status_code=\"0\"",
    ];
    assert_eq!(
        sample(&response, "rpc_server_duration_seconds_count", &enrolled),
        Some(1.0),
        "{response}"
    );
    let refused = [
        "rpc_method=\"ListEnrolments\"",
        "rpc_grpc_status_code=\"16\"",
    ];
    assert_eq!(
        sample(&response, "rpc_server_duration_seconds_count", &refused),
        Some(2.0)
    );
    assert_eq!(
        sample(&response, "db_client_connections_max", &[]),
        Some(10.0)
    );
    assert!(
        sample(
            &response,
            "db_client_connections_usage",
            &["state=\"idle\""]
        )
        .is_some()
    );
    assert_eq!(
        sample(&response, "flexcover_admission_running", &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(&response, "flexcover_admission_shed_total", &[]),
        Some(0.0)
    );
    assert!(sample(&response, "flexcover_events_awaiting_sequencing", &[]).is_some());
    assert!(get(port, "/other").await.starts_with("HTTP/1.1 404"));
    app.stop().await;
}
