//! Idle connections are closed after the configurable timeout; a connection with a call open is
//! not, and a client whose idle connection was closed just reconnects on its next call.
use crate::helpers::*;
use flexcover::config::ServerSettings;
use flexcover::pb;
use flexcover::pb::federation_service_client::FederationServiceClient;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn idle_after(secs: u64) -> ServerSettings {
    ServerSettings {
        health_interval_ms: 100,
        // Pings off: only the idle timeout may close the raw peer below.
        http2_keepalive_secs: 0,
        idle_connection_timeout_secs: secs,
        ..Default::default()
    }
}

/// Opens a raw HTTP/2 connection that never calls, and how long the server kept it (None: still
/// open after `watch`).
async fn held_open_for(addr: std::net::SocketAddr, watch: Duration) -> Option<Duration> {
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .expect("preface");
    let opened = Instant::now();
    tokio::time::timeout(watch, async {
        let mut buffer = [0u8; 1024];
        while let Ok(read) = socket.read(&mut buffer).await
            && read > 0
        {}
    })
    .await
    .ok()
    .map(|()| opened.elapsed())
}

#[tokio::test]
async fn a_connection_without_calls_is_closed_after_the_idle_timeout_and_only_then() {
    let app = spawn_app_with(idle_after(1)).await;
    let held = held_open_for(app.addr, Duration::from_secs(6))
        .await
        .expect("an idle connection is closed");
    assert!(
        held >= Duration::from_millis(900),
        "closed after {held:?}, before the timeout"
    );
    app.stop().await;

    let never = spawn_app_with(idle_after(0)).await;
    assert_eq!(
        held_open_for(never.addr, Duration::from_secs(3)).await,
        None,
        "with the timeout off an idle connection stays open"
    );
    never.stop().await;
}

#[tokio::test]
async fn an_open_stream_keeps_its_connection_and_an_idle_client_reconnects() {
    let app = spawn_app_with(idle_after(1)).await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let guangdong = app.token("province:44").await;
    let mut events = FederationServiceClient::new(app.channel().await)
        .stream_events(authed(
            pb::StreamEventsRequest {
                province_code: "44".into(),
                after_seq: 0,
                after_hash: String::new(),
                follow: true,
            },
            &guangdong,
        ))
        .await
        .expect("follow")
        .into_inner();
    let mut enrolment = app.enrolment_client().await;
    enrolment
        .enrol_worker(authed(enrol_request("idle-1", STANDARD_ID), &meituan))
        .await
        .expect("first enrolment");
    let next_event = async |events: &mut tonic::Streaming<pb::FederatedEvent>| {
        tokio::time::timeout(Duration::from_secs(5), events.message())
            .await
            .expect("the follower receives within seconds")
            .expect("the follower's stream is intact")
            .expect("an event")
    };
    assert_eq!(next_event(&mut events).await.seq, 1);
    // Past the timeout: the follower's connection carries an open call, the other one none.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = enrol_request("idle-2", &id_number("440305", "19900101", 2));
    enrolment
        .enrol_worker(authed(second, &meituan))
        .await
        .expect("the client reconnects after its idle connection was closed");
    assert_eq!(next_event(&mut events).await.seq, 2);
    app.stop().await;
}
