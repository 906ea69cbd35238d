//! `serve --clock-offset-days`: a training copy whose registry lives a year ahead accepts a day
//! that is still in the machine's future, which a registry on the machine's clock refuses.
use crate::helpers::*;
use chrono::Datelike;
use flexcover::pb;
use std::process::{Command, Stdio};
use std::time::Duration;

const KEY: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn flexcover(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .env("DATABASE_URL", url)
        .env("FLEXCOVER_PII_KEY", KEY)
        .env_remove("FLEXCOVER_PII_KEY_FILE")
        .stdin(Stdio::null());
    command
}

#[tokio::test]
async fn a_training_copy_runs_its_clock_whole_days_ahead() {
    let url = fresh_database_url().await;
    let migrated = flexcover(&url).arg("migrate").output().expect("migrate");
    assert!(migrated.status.success(), "{migrated:?}");
    let created = flexcover(&url)
        .args(["admin", "create-token", "--role", "province:44"])
        .output()
        .expect("create-token");
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8(created.stdout).expect("utf-8");
    let token = token.trim();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut server = flexcover(&url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("FLEXCOVER_CLOCK_OFFSET_DAYS", "400")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut client = loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(endpoint.clone())
            .expect("endpoint")
            .connect()
            .await
        {
            break pb::claim_service_client::ClaimServiceClient::new(channel);
        }
        assert!(server.try_wait().expect("poll").is_none(), "serve exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // 300 days after the machine's today: the past for a registry 400 days ahead.
    let later = chrono::Utc::now().date_naive() + chrono::Duration::days(300);
    let as_of = date(later.year(), later.month() as i32, later.day() as i32);
    let listed = client
        .list_benefits_due(authed(
            pb::ListBenefitsDueRequest {
                province_code: "44".into(),
                as_of: Some(as_of),
                ..Default::default()
            },
            token,
        ))
        .await;
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let output = server.wait_with_output().expect("wait");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(listed.is_ok(), "{listed:?}");
    assert!(log.contains("clock is offset"), "said at start: {log}");
}
