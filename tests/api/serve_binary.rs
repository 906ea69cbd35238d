//! The `flexcover` binary as a newcomer runs it: `serve` with no DATABASE_URL starts an embedded
//! PostgreSQL, `admin` commands attach to it, and SIGTERM stops both cleanly.
use crate::helpers::*;
use flexcover::pb;
use std::process::{Command, Stdio};
use std::time::Duration;

fn flexcover(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("FLEXCOVER_PII_KEY")
        .env_remove("FLEXCOVER_PII_KEY_FILE")
        .env("FLEXCOVER_DATA_DIR", data_dir)
        .stdin(Stdio::null());
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test]
async fn serve_with_the_embedded_database_from_scratch_and_stop_on_sigterm() {
    let data_dir =
        std::env::temp_dir().join(format!("flexcover-test-pg-{}.serve", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let port = free_port();
    let mut server = flexcover(&data_dir)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--health-interval-ms",
            "200",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flexcover serve");

    let endpoint = format!("http://127.0.0.1:{port}");
    let channel =
        wait_until_serving(&mut server, &endpoint, Duration::from_secs(90), String::new).await;
    let key_mode = std::fs::metadata(data_dir.join("pii.key"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(
        key_mode.ok(),
        Some(0o600),
        "generated PII key file is private"
    );

    // The admin CLI attaches to the running embedded server.
    let seeded = flexcover(&data_dir)
        .args(["admin", "seed-pilot"])
        .output()
        .expect("seed-pilot");
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let created = flexcover(&data_dir)
        .args(["admin", "create-token", "--role", "platform:meituan"])
        .output()
        .expect("create-token");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8(created.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert!(token.starts_with("fc_"), "only the token on stdout");

    let mut client = pb::enrolment_service_client::EnrolmentServiceClient::new(channel);
    let enrolled = client
        .enrol_worker(authed(enrol_request("bin-1", STANDARD_ID), &token))
        .await
        .expect("enrol")
        .into_inner();
    let id = enrolled.enrolment.expect("enrolment").enrolment_id;
    let read = client
        .get_enrolment(authed(pb::GetEnrolmentRequest { enrolment_id: id }, &token))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read.id_number_masked, "110105********002X");

    // kill -9 of the embedded postmaster: serve restarts it, and calls come back by themselves.
    let postmaster: i32 = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid"))
        .expect("postmaster.pid")
        .lines()
        .next()
        .and_then(|line| line.trim().parse().ok())
        .expect("postmaster pid");
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(postmaster, libc::SIGKILL) };
    let killed_at = tokio::time::Instant::now();
    let mut codes_seen = Vec::new();
    loop {
        let answer = client
            .get_enrolment(authed(
                pb::GetEnrolmentRequest {
                    enrolment_id: read.enrolment_id.clone(),
                },
                &token,
            ))
            .await;
        match answer {
            Ok(_) if killed_at.elapsed() > Duration::from_millis(300) => break,
            Ok(_) => {}
            Err(status) => codes_seen.push(status.code()),
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "calls did not come back within 30 s of the postmaster's death (codes: {codes_seen:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "back after {:?}; codes meanwhile: {codes_seen:?}",
        killed_at.elapsed()
    );
    assert!(
        codes_seen
            .iter()
            .all(|code| *code == tonic::Code::Unavailable),
        "a lost database is UNAVAILABLE, never anything else: {codes_seen:?}"
    );
    assert!(
        server.try_wait().expect("poll").is_none(),
        "serve survives its database's death"
    );

    // SIGTERM: drain, stop the embedded PostgreSQL, exit 0.
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || server.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let log = String::from_utf8_lossy(&status.stderr);
    assert!(status.status.success(), "clean exit: {log}");
    assert!(log.contains("embedded PostgreSQL stopped"), "{log}");
    assert!(!log.contains("19491231"), "no ID number in the logs");
    assert!(
        !data_dir.join("postgres/postmaster.pid").exists(),
        "PostgreSQL is down"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn commands_started_together_on_a_fresh_data_directory_take_turns() {
    let data_dir =
        std::env::temp_dir().join(format!("flexcover-test-pg-{}.together", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let children: Vec<_> = (0..3)
        .map(|_| {
            flexcover(&data_dir)
                .arg("migrate")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start migrate")
        })
        .collect();
    for child in children {
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .expect("join")
            .expect("wait");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Logs for operators: a filter that does not parse is refused (not silently replaced by the
/// default), and human logs into a pipe carry no colour codes.
#[tokio::test]
async fn an_invalid_log_filter_is_refused_and_piped_logs_have_no_colour_codes() {
    let data_dir = std::env::temp_dir().join(format!("flexcover-logs-{}", std::process::id()));
    let refused = flexcover(&data_dir)
        .args([
            "migrate",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .env("FLEXCOVER_LOG", "info,flexcover=loud")
        .output()
        .expect("run flexcover");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("FLEXCOVER_LOG"), "{stderr}");

    let url = fresh_database_url().await;
    let piped = flexcover(&data_dir)
        .args(["migrate", "--database-url", &url])
        .env("FLEXCOVER_LOG", "info")
        .env("FLEXCOVER_LOG_FORMAT", "human")
        .output()
        .expect("run flexcover");
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(stderr.contains("INFO"), "a log line: {stderr:?}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe: {stderr:?}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
