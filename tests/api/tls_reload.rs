//! The real binary with TLS: a certificate that does not load stops start-up, and SIGHUP serves
//! new files to new connections (a bad file is logged and the old certificate kept).
use crate::certs::*;
use crate::helpers::*;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

fn serve(addr: SocketAddr, dir: &PemDir, database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .args(["serve", "--listen", &addr.to_string()])
        .arg("--tls-cert")
        .arg(dir.file("server.pem"))
        .arg("--tls-key")
        .arg(dir.file("server.key"))
        .env("DATABASE_URL", database_url)
        .env(
            "FLEXCOVER_PII_KEY",
            flexcover::pii::PiiKeys::generate_text(),
        )
        .env_remove("FLEXCOVER_PII_KEY_FILE")
        .env_remove("FLEXCOVER_TLS_CLIENT_CA")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("FLEXCOVER_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, signal) };
}

/// Waits up to 60 s for `check`, failing early if the server exits.
async fn wait_for<F: Future<Output = bool>>(
    server: &mut Child,
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(
            server.try_wait().expect("poll").is_none(),
            "serve exited: {what}"
        );
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_key_that_does_not_fit_the_certificate_stops_start_up() {
    let dir = PemDir::new();
    let ca = TestCa::new("flexcover test CA");
    dir.write("server.pem", &ca.server().cert);
    dir.write("server.key", &ca.server().key);
    // Start-up fails on the files before the database is touched (there is none here).
    let output = serve(free_addr(), &dir, "postgres://postgres@127.0.0.1:1/nothing")
        .stderr(Stdio::piped())
        .output()
        .expect("run serve");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{log}");
    assert!(log.contains("does not fit the certificate"), "{log}");
}

#[tokio::test]
async fn sighup_serves_the_new_certificate_to_new_connections() {
    let dir = PemDir::new();
    let first = TestCa::new("first CA");
    let second = TestCa::new("second CA");
    let (first_ca, second_ca) = (first.pem(), second.pem());
    let pair = first.server();
    dir.write("server.pem", &pair.cert);
    dir.write("server.key", &pair.key);
    let addr = free_addr();
    let log_file = dir.file("serve.log");
    let mut server = serve(addr, &dir, &fresh_database_url().await)
        .stderr(std::fs::File::create(&log_file).expect("log file"))
        .spawn()
        .expect("start serve");
    let log = || std::fs::read_to_string(&log_file).unwrap_or_default();

    wait_for(&mut server, "TLS with the first certificate", || {
        answers_over_tls(addr, &first_ca, None)
    })
    .await;
    let before = tls_channel(addr, &first.pem(), None)
        .await
        .expect("a connection opened before the reload");
    assert!(answers(before.clone()).await);

    let pair = second.server();
    dir.write("server.pem", &pair.cert);
    dir.write("server.key", &pair.key);
    signal(&server, libc::SIGHUP);
    wait_for(&mut server, "the second certificate after SIGHUP", || {
        answers_over_tls(addr, &second_ca, None)
    })
    .await;
    assert!(
        !answers_over_tls(addr, &first.pem(), None).await,
        "new connections get only the new certificate"
    );
    assert!(
        answers(before).await,
        "a connection opened before the reload goes on"
    );

    // A bad key: logged, and the second certificate still served.
    dir.write("server.key", "not a key");
    signal(&server, libc::SIGHUP);
    wait_for(&mut server, "the failed reload logged", || {
        let failed = log().contains("TLS reload failed");
        async move { failed }
    })
    .await;
    assert!(answers_over_tls(addr, &second.pem(), None).await);

    signal(&server, libc::SIGTERM);
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "{}", log());
    assert!(!log().contains("not a key"), "file contents are not logged");
}
