//! TLS on the listener (with and without client certificates) and the client subcommands over
//! `https://`, with certificates made in the test.
use crate::certs::*;
use crate::helpers::*;
use flexcover::config::ServerSettings;
use std::process::{Command, Stdio};
use tokio_rustls::rustls::pki_types::pem::PemObject;

fn tls_settings(dir: &PemDir, server: &Pair, client_ca: Option<&TestCa>) -> ServerSettings {
    ServerSettings {
        health_interval_ms: 100,
        tls_cert: Some(dir.write("server.pem", &server.cert)),
        tls_key: Some(dir.write("server.key", &server.key)),
        tls_client_ca: client_ca.map(|ca| dir.write("client-ca.pem", &ca.pem())),
        ..ServerSettings::default()
    }
}

#[tokio::test]
async fn a_tls_listener_answers_tls_and_refuses_plaintext_and_untrusted_clients() {
    let dir = PemDir::new();
    let ca = TestCa::new("flexcover test CA");
    let app = spawn_app_with(tls_settings(&dir, &ca.server(), None)).await;

    let channel = tls_channel(app.addr, &ca.pem(), None)
        .await
        .expect("TLS connection");
    let token = app.token("national-admin").await;
    let platforms = flexcover::pb::admin_service_client::AdminServiceClient::new(channel)
        .list_platforms(authed(
            flexcover::pb::ListPlatformsRequest::default(),
            &token,
        ))
        .await;
    assert!(
        platforms.is_ok(),
        "an authorised call over TLS: {platforms:?}"
    );

    // The same port in plaintext: the server reads no HTTP/2 before a handshake.
    let plaintext = tonic::transport::Channel::from_shared(format!("http://{}", app.addr))
        .expect("endpoint")
        .connect()
        .await;
    let answered = match plaintext {
        Ok(channel) => answers(channel).await,
        Err(_) => false,
    };
    assert!(!answered, "plaintext HTTP/2 to the TLS listener");

    // A client that does not trust the server's CA.
    let other = TestCa::new("another CA");
    assert!(!answers_over_tls(app.addr, &other.pem(), None).await);
    app.stop().await;
}

#[tokio::test]
async fn mutual_tls_refuses_a_client_without_a_certificate_from_the_client_ca() {
    let dir = PemDir::new();
    let ca = TestCa::new("flexcover test CA");
    let clients = TestCa::new("flexcover test client CA");
    let app = spawn_app_with(tls_settings(&dir, &ca.server(), Some(&clients))).await;

    assert!(
        answers_over_tls(app.addr, &ca.pem(), Some(&clients.client("platform-a"))).await,
        "a client certificate from the client CA"
    );
    assert!(
        !answers_over_tls(app.addr, &ca.pem(), None).await,
        "no client certificate"
    );
    let stranger = TestCa::new("a stranger's CA");
    assert!(
        !answers_over_tls(app.addr, &ca.pem(), Some(&stranger.client("platform-a"))).await,
        "a client certificate from another CA"
    );
    app.stop().await;
}

fn import(server: &str, csv: &std::path::Path, token_file: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .args(["import", "enrolments"])
        .arg(csv)
        .args(["--server", server])
        .arg("--token-file")
        .arg(token_file)
        .env_remove("DATABASE_URL")
        .env_remove("FLEXCOVER_CA")
        .env_remove("FLEXCOVER_CLIENT_CERT")
        .env_remove("FLEXCOVER_CLIENT_KEY")
        .env_remove("SSL_CERT_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

async fn run(mut command: Command) -> (Option<i32>, String) {
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run the client");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn import_speaks_https_with_the_given_ca_and_never_plaintext_to_a_remote_host() {
    let dir = PemDir::new();
    let ca = TestCa::new("flexcover test CA");
    let clients = TestCa::new("flexcover test client CA");
    let app = spawn_app_with(tls_settings(&dir, &ca.server(), Some(&clients))).await;
    app.seed_pilot().await;
    let token_file = dir.write("token", &app.token("platform:meituan").await);
    let mut csv_text =
        String::from("name,id_number,phone,place_of_employment,industry,cover_start_date,notes\n");
    for n in 0..3 {
        csv_text.push_str(&format!(
            "\"王小明\",{},13812345678,440305,instant_delivery,2026-01-05,row {n}\n",
            id_number("110105", "19850101", n)
        ));
    }
    let csv = dir.write("riders.csv", &csv_text);
    let ca_file = dir.write("ca.pem", &ca.pem());
    let client = clients.client("meituan-backend");
    let client_cert = dir.write("client.pem", &client.cert);
    let client_key = dir.write("client.key", &client.key);
    let server = format!("https://127.0.0.1:{}", app.addr.port());

    let mut with_ca = import(&server, &csv, &token_file);
    with_ca
        .arg("--ca")
        .arg(&ca_file)
        .env("FLEXCOVER_CLIENT_CERT", &client_cert)
        .env("FLEXCOVER_CLIENT_KEY", &client_key);
    let (code, log) = run(with_ca).await;
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("3 enrolled"), "{log}");
    assert_eq!(app.count("enrolments").await, 3);

    // Without --ca the public roots do not vouch for the test CA.
    let mut without_ca = import(&server, &csv, &token_file);
    without_ca
        .arg("--client-cert")
        .arg(&client_cert)
        .arg("--client-key")
        .arg(&client_key);
    let (code, log) = run(without_ca).await;
    assert_ne!(code, Some(0), "{log}");

    // A token goes in plaintext to no address but the loopback.
    let (code, log) = run(import("http://10.255.255.1:50051", &csv, &token_file)).await;
    assert_ne!(code, Some(0));
    assert!(
        log.contains("refusing to send a bearer token in plaintext"),
        "{log}"
    );
    app.stop().await;
}

/// Reads until the server closes `socket` (end-of-stream or an error); how long that took, or
/// None if still open after `watch`.
async fn closed_within(
    mut socket: impl tokio::io::AsyncRead + Unpin,
    watch: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::AsyncReadExt;
    let opened = std::time::Instant::now();
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
async fn a_silent_peer_holds_up_no_one_and_is_closed_at_the_handshake_timeout() {
    let dir = PemDir::new();
    let ca = TestCa::new("flexcover test CA");
    let app = spawn_app_with(tls_settings(&dir, &ca.server(), None)).await;
    let silent = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let answered = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        answers_over_tls(app.addr, &ca.pem(), None),
    )
    .await;
    assert_eq!(
        answered.ok(),
        Some(true),
        "a handshake waiting on a silent peer does not hold up the next connection"
    );
    let timeout = flexcover::tls::HANDSHAKE_TIMEOUT;
    let held = closed_within(silent, timeout + std::time::Duration::from_secs(5))
        .await
        .expect("the silent peer is closed");
    assert!(
        held + std::time::Duration::from_secs(1) >= timeout,
        "closed after {held:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_idle_tls_connection_is_closed_after_the_idle_timeout() {
    use tokio::io::AsyncWriteExt;
    use tokio_rustls::rustls;
    let dir = PemDir::new();
    let ca = TestCa::new("flexcover test CA");
    let app = spawn_app_with(ServerSettings {
        http2_keepalive_secs: 0,
        idle_connection_timeout_secs: 1,
        ..tls_settings(&dir, &ca.server(), None)
    })
    .await;

    let mut roots = rustls::RootCertStore::empty();
    let ca_der = rustls::pki_types::CertificateDer::from_pem_slice(ca.pem().as_bytes());
    roots.add(ca_der.expect("CA DER")).expect("root");
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let socket = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(
            rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name"),
            socket,
        )
        .await
        .expect("handshake");
    tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .expect("preface");
    let held = closed_within(tls, std::time::Duration::from_secs(6))
        .await
        .expect("an idle TLS connection is closed");
    assert!(
        held >= std::time::Duration::from_millis(900),
        "closed after {held:?}, before the timeout"
    );
    app.stop().await;
}
