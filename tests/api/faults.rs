//! Callers that give up must not break other callers: a storm of short-deadline calls beside
//! normal ones. (A query future dropped mid-flight used to cost its pooled connection; the storm of
//! reconnects overflowed the embedded server's Unix-socket listen queue — EAGAIN, os error 11 —
//! and left connections mid-transaction, so normal callers got UNAVAILABLE and INTERNAL.)
use crate::helpers::*;
use flexcover::pb;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tonic::Code;

const IMPATIENT: usize = 80;
const NORMAL: usize = 20;
const STORM: Duration = Duration::from_secs(6);

#[derive(Default)]
struct Tally {
    normal_ok: AtomicUsize,
    normal_failed: AtomicUsize,
    impatient_internal: AtomicUsize,
    impatient_calls: AtomicUsize,
}

#[tokio::test]
async fn a_storm_of_impatient_callers_does_not_break_the_others() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let token = Arc::new(app.token("platform:meituan").await);
    let tally = Arc::new(Tally::default());
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let deadline = tokio::time::Instant::now() + STORM;
    let mut callers = Vec::new();
    for caller in 0..IMPATIENT + NORMAL {
        let impatient = caller < IMPATIENT;
        let channel = app.channel().await;
        let (token, tally, failures) = (token.clone(), tally.clone(), failures.clone());
        callers.push(tokio::spawn(async move {
            let mut client = pb::enrolment_service_client::EnrolmentServiceClient::new(channel);
            let mut n = 0u32;
            while tokio::time::Instant::now() < deadline {
                n += 1;
                // Every call writes: a transaction with its idempotency record, events and rows.
                let id = id_number("440305", "19900101", (caller as u32 * 7 + n) % 1000);
                let mut request =
                    authed(enrol_request(&format!("storm-{caller}-{n}"), &id), &token);
                if impatient {
                    let millis = 5 + (caller as u64 * 13 + u64::from(n)) % 76;
                    request.set_timeout(Duration::from_millis(millis));
                }
                let answer = client.enrol_worker(request).await;
                match (impatient, answer) {
                    (true, Err(status)) if status.code() == Code::Internal => {
                        tally.impatient_internal.fetch_add(1, Ordering::Relaxed);
                    }
                    (true, _) => {
                        tally.impatient_calls.fetch_add(1, Ordering::Relaxed);
                    }
                    // A person already enrolled by another caller is a fine answer.
                    (false, Ok(_)) => {
                        tally.normal_ok.fetch_add(1, Ordering::Relaxed);
                    }
                    (false, Err(status)) if status.code() == Code::AlreadyExists => {
                        tally.normal_ok.fetch_add(1, Ordering::Relaxed);
                    }
                    (false, Err(status)) => {
                        tally.normal_failed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut failures) = failures.lock() {
                            failures.push(format!("{:?}: {}", status.code(), status.message()));
                        }
                    }
                }
            }
        }));
    }
    for caller in callers {
        caller.await.expect("caller");
    }
    let failed = tally.normal_failed.load(Ordering::Relaxed);
    let failures = failures.lock().map(|f| f.clone()).unwrap_or_default();
    eprintln!(
        "normal calls ok: {}, failed: {failed}; impatient calls: {}, INTERNAL among them: {}",
        tally.normal_ok.load(Ordering::Relaxed),
        tally.impatient_calls.load(Ordering::Relaxed),
        tally.impatient_internal.load(Ordering::Relaxed),
    );
    assert!(
        tally.normal_ok.load(Ordering::Relaxed) > 0,
        "normal calls ran"
    );
    assert_eq!(failed, 0, "normal callers failed: {failures:?}");
    assert_eq!(
        tally.impatient_internal.load(Ordering::Relaxed),
        0,
        "giving up is never INTERNAL"
    );
    // The service is whole afterwards: a plain call works.
    app.enrolment_client()
        .await
        .list_enrolments(authed(pb::ListEnrolmentsRequest::default(), &token))
        .await
        .expect("a call after the storm");
    app.stop().await;
}

/// A peer that vanished without closing (it never answers a ping) is found and closed by the
/// server's HTTP/2 keepalive, so it does not hold a connection for ever.
#[tokio::test]
async fn a_peer_that_never_answers_pings_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(flexcover::config::ServerSettings {
        health_interval_ms: 100,
        http2_keepalive_secs: 1,
        http2_keepalive_timeout_secs: 1,
        ..Default::default()
    })
    .await;
    let mut socket = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    // The HTTP/2 client preface and an empty SETTINGS frame; then silence.
    socket
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .expect("preface");
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buffer = [0u8; 1024];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept a silent peer's connection for 15 s"
    );
    app.stop().await;
}

/// A call that outlives the server's deadline answers DEADLINE_EXCEEDED (gRPC's code for it, not
/// CANCELLED); its work still finishes, so a retry with the same request_id replays it.
#[tokio::test]
async fn a_call_past_the_servers_deadline_is_deadline_exceeded_and_replays_on_retry() {
    use sqlx::Connection;
    let app = spawn_app_with(flexcover::config::ServerSettings {
        health_interval_ms: 100,
        request_timeout_secs: 1,
        ..Default::default()
    })
    .await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;
    let mut blocker = sqlx::PgConnection::connect_with(&app.pool.connect_options())
        .await
        .expect("a connection of its own");
    let mut held = blocker.begin().await.expect("begin");
    sqlx::query("LOCK TABLE enrolments IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *held)
        .await
        .expect("lock");
    let status = client
        .enrol_worker(authed(enrol_request("slow", STANDARD_ID), &meituan))
        .await
        .expect_err("blocked past the deadline");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    held.rollback().await.expect("release");
    let replayed = client
        .enrol_worker(authed(enrol_request("slow", STANDARD_ID), &meituan))
        .await
        .expect("the retry is answered");
    assert!(replayed.into_inner().enrolment.is_some());
    assert_eq!(app.count("enrolments").await, 1);
    app.stop().await;
}
