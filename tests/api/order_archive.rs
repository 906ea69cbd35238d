//! Orders partitioned by month, through the binary and gRPC: `flexcover admin maintain` archives a
//! month past its retention only when its declarations count its orders (else it opens it again),
//! to an owner-only gzip CSV file, and drops it; the month then refuses orders and declarations;
//! a second pass does nothing; `restore-orders` loads the file into a table to read and refuses a
//! file that differs. Exactly once per (platform, order id) holds across months.
use crate::helpers::*;
use flexcover::pb;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use tonic::Code;

fn flexcover(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flexcover"))
        .env("DATABASE_URL", url)
        .env(
            "FLEXCOVER_PII_KEY",
            flexcover::pii::PiiKeys::generate_text(),
        )
        .env_remove("FLEXCOVER_PII_KEY_FILE")
        .env_remove("FLEXCOVER_ARCHIVE_DIR")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run flexcover")
}

fn succeeded(output: Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// One order of the standard worker (Nanshan, instant delivery) accepted at `accepted`; the
/// outcome.
async fn record(
    app: &TestApp,
    token: &str,
    order_id: &str,
    accepted: &str,
) -> pb::record_orders_result::Outcome {
    let orders = vec![crate::supervision::order(order_id, accepted)];
    let mut outcomes = crate::supervision::record(app, token, orders).await;
    outcomes.remove(0)
}

fn accepted(outcome: &pb::record_orders_result::Outcome) -> bool {
    matches!(outcome, pb::record_orders_result::Outcome::Accepted(_))
}

async fn declare(
    app: &TestApp,
    token: &str,
    request_id: &str,
    period: &str,
) -> Result<pb::Declaration, tonic::Status> {
    app.contribution_client()
        .await
        .declare_contributions(authed(
            pb::DeclareContributionsRequest {
                request_id: request_id.into(),
                province_code: "44".into(),
                period: period.into(),
                source: Some(pb::declare_contributions_request::Source::FromOrders(
                    pb::FromOrders {},
                )),
            },
            token,
        ))
        .await
        .map(|response| response.into_inner())
}

async fn state_of(app: &TestApp, month: &str) -> String {
    sqlx::query_scalar("SELECT state FROM order_partitions WHERE month = $1::date")
        .bind(format!("{month}-01"))
        .fetch_one(&app.pool)
        .await
        .expect("partition row")
}

/// A stdout line's `key=value`.
fn field(stdout: &str, line_start: &str, key: &str) -> Option<String> {
    stdout
        .lines()
        .filter(|line| line.starts_with(line_start))
        .flat_map(|line| line.split_whitespace())
        .find_map(|word| word.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

/// The test runs the passes itself (as the command); serve's own would race it.
async fn app_without_maintenance() -> TestApp {
    spawn_app_with(flexcover::config::ServerSettings {
        health_interval_ms: 100,
        maintenance_interval_secs: 0,
        ..flexcover::config::ServerSettings::default()
    })
    .await
}

/// The app (no maintenance of its own), the pilot, rates, and the standard worker enrolled with
/// Meituan; Meituan's token.
async fn enrolled() -> (TestApp, String) {
    let app = app_without_maintenance().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    let meituan = app.token("platform:meituan").await;
    app.enrolment_client()
        .await
        .enrol_worker(authed(enrol_request("e1", STANDARD_ID), &meituan))
        .await
        .expect("enrolled");
    (app, meituan)
}

/// Orders kept in detail one month (so every month up to September 2026 is past retention on the
/// day these tests were written, and on any day after); the database URL and an archive
/// directory for the test.
fn one_month_retention(app: &TestApp) -> (String, std::path::PathBuf) {
    let url = database_url(&admin_url(), &app.database);
    succeeded(flexcover(
        &url,
        &["admin", "set-retention", "--order-detail-months", "1"],
    ));
    let archive = std::env::temp_dir().join(format!("flexcover-archive-{}", app.database));
    (url, archive)
}

#[tokio::test]
async fn a_declared_month_past_retention_is_archived_once_and_closed() {
    let (app, meituan) = enrolled().await;
    for n in 1..=3 {
        let at = format!("2026-06-0{n}T04:00:00Z");
        assert!(accepted(
            &record(&app, &meituan, &format!("june-{n}"), &at).await
        ));
    }
    // Exactly once across months: the same order id with another month's time is a duplicate.
    assert!(matches!(
        record(&app, &meituan, "june-1", "2026-05-20T04:00:00Z").await,
        pb::record_orders_result::Outcome::DuplicateOrderId(_)
    ));
    app.clock.set(test_now() + chrono::Duration::days(30));
    declare(&app, &meituan, "june", "2026-06")
        .await
        .expect("June declared");
    // July has an order and is declared; August has an order recorded after its declaration.
    assert!(accepted(
        &record(&app, &meituan, "july-1", "2026-07-03T04:00:00Z").await
    ));
    app.clock.set(test_now() + chrono::Duration::days(80));
    declare(&app, &meituan, "july", "2026-07")
        .await
        .expect("July declared");
    assert!(accepted(
        &record(&app, &meituan, "august-1", "2026-08-03T04:00:00Z").await
    ));
    declare(&app, &meituan, "august", "2026-08")
        .await
        .expect("August declared");
    assert!(accepted(
        &record(&app, &meituan, "august-2", "2026-08-04T04:00:00Z").await
    ));

    let (url, archive) = one_month_retention(&app);
    let dir = archive.to_str().expect("utf-8 path");
    let first = succeeded(flexcover(
        &url,
        &["admin", "maintain", "--archive-dir", dir],
    ));

    // June and July were archived (with every empty month before them); August was opened again.
    let june = field(&first, "orders archived=2026-06", "file").expect("June archived");
    assert_eq!(
        field(&first, "orders archived=2026-06", "rows").as_deref(),
        Some("3")
    );
    assert_eq!(
        field(&first, "orders archived=2026-07", "rows").as_deref(),
        Some("1")
    );
    assert!(first.contains("2026-08 was opened again"), "{first}");
    assert!(first.contains("2 recorded, 1 declared"), "{first}");
    assert_eq!(state_of(&app, "2026-06").await, "archived");
    assert_eq!(state_of(&app, "2026-08").await, "attached");

    // The file: owner-only, gzip CSV, a header and the three June orders.
    let metadata = std::fs::metadata(&june).expect("archive file");
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&june).expect("open"))
        .read_to_string(&mut text)
        .expect("gzip");
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(
        text.starts_with("province_code,platform_id,order_id"),
        "{text}"
    );
    assert!(text.contains("june-2"));

    // Closed: the partition is gone, June's orders and declarations are refused, its keys gone.
    assert_eq!(
        app.count("order_keys").await,
        2,
        "June's and July's keys deleted"
    );
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('orders_2026_06') IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .expect("regclass");
    assert!(!exists, "June's partition dropped");
    let refused = record(&app, &meituan, "june-9", "2026-06-09T04:00:00Z").await;
    let pb::record_orders_result::Outcome::Error(status) = refused else {
        panic!("an order of an archived month was not refused: {refused:?}");
    };
    assert!(status.message.contains("archived"), "{status:?}");
    let status = declare(&app, &meituan, "june-again", "2026-06")
        .await
        .expect_err("June is final");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    // August stays open: it takes orders, and once declared again it is archived.
    assert!(accepted(
        &record(&app, &meituan, "august-3", "2026-08-05T04:00:00Z").await
    ));
    declare(&app, &meituan, "august-again", "2026-08")
        .await
        .expect("declared");
    let second = succeeded(flexcover(
        &url,
        &["admin", "maintain", "--archive-dir", dir],
    ));
    assert_eq!(
        field(&second, "orders archived=2026-08", "rows").as_deref(),
        Some("3")
    );
    assert!(
        !second.contains("archived=2026-06"),
        "June is not archived twice: {second}"
    );
    let third = succeeded(flexcover(
        &url,
        &["admin", "maintain", "--archive-dir", dir],
    ));
    assert!(
        !third.contains("archived="),
        "a third pass has nothing to do: {third}"
    );

    // Restored to read, with the archive's rows; a file that differs is refused.
    let restored = succeeded(flexcover(&url, &["admin", "restore-orders", &june]));
    assert_eq!(field(&restored, "restored", "rows").as_deref(), Some("3"));
    let copies: i64 = sqlx::query_scalar("SELECT count(*) FROM restored_orders_2026_06")
        .fetch_one(&app.pool)
        .await
        .expect("restored table");
    assert_eq!(copies, 3);
    let tampered_dir = archive.join("tampered");
    std::fs::create_dir_all(&tampered_dir).expect("dir");
    let tampered = tampered_dir.join("orders-2026-06.csv.gz");
    let mut bytes = std::fs::read(&june).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&tampered, bytes).expect("write");
    let refused = flexcover(
        &url,
        &["admin", "restore-orders", tampered.to_str().expect("utf-8")],
    );
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("differs"),
        "{refused:?}"
    );
    let _ = std::fs::remove_dir_all(&archive);
}

#[tokio::test]
async fn an_undeclared_month_is_not_archived() {
    let (app, meituan) = enrolled().await;
    assert!(accepted(
        &record(&app, &meituan, "june-1", "2026-06-01T04:00:00Z").await
    ));
    let (url, archive) = one_month_retention(&app);
    let dir = archive.to_str().expect("utf-8 path");
    let report = succeeded(flexcover(
        &url,
        &["admin", "maintain", "--archive-dir", dir],
    ));
    assert!(
        report.contains("2026-06 is past its retention but not declared"),
        "{report}"
    );
    assert!(!report.contains("archived=2026-06"), "{report}");
    assert_eq!(state_of(&app, "2026-06").await, "attached");
    assert!(accepted(
        &record(&app, &meituan, "june-2", "2026-06-02T04:00:00Z").await
    ));
    let _ = std::fs::remove_dir_all(&archive);
}
