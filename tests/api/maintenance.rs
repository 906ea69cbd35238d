//! Retention as data and `flexcover admin maintain` through the binary: access-log rows older than
//! the retention are purged in batches, younger ones kept, a rerun purges nothing; the three-year
//! floor is refused below it; `serve` runs the same pass periodically and survives a failed one.
use crate::helpers::*;
use sqlx::{Connection, PgConnection};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const KEY: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn flexcover(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .env("DATABASE_URL", url)
        .env("FLEXCOVER_PII_KEY", KEY)
        .env_remove("FLEXCOVER_PII_KEY_FILE")
        .env_remove("FLEXCOVER_MAINTENANCE_INTERVAL_SECS")
        .stdin(Stdio::null());
    command
}

fn run(url: &str, args: &[&str]) -> Output {
    flexcover(url).args(args).output().expect("run flexcover")
}

async fn migrated() -> (String, PgConnection) {
    let url = fresh_database_url().await;
    let migrated = run(&url, &["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let connection = PgConnection::connect(&url).await.expect("connect");
    (url, connection)
}

/// Logs `rows` lookups made `age` ago (a PostgreSQL interval), a minute apart going back.
async fn log_lookups(db: &mut PgConnection, rows: i32, age: &str, rpc: &str) {
    sqlx::query(
        "INSERT INTO person_access_log
         SELECT gen_random_uuid(), now() - $2::interval - i * interval '1 minute', 'test', 't1',
                '\\x00'::bytea, $3, 1
         FROM generate_series(1, $1) AS i",
    )
    .bind(rows)
    .bind(age)
    .bind(rpc)
    .execute(&mut *db)
    .await
    .expect("insert access-log rows");
}

async fn count(db: &mut PgConnection, rpc: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM person_access_log WHERE rpc = $1")
        .bind(rpc)
        .fetch_one(&mut *db)
        .await
        .expect("count")
}

fn purged(output: &Output) -> u64 {
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .split_whitespace()
        .find_map(|word| word.strip_prefix("purged="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no purged= in {stdout}"))
}

#[tokio::test]
async fn maintain_purges_the_access_log_past_its_retention_once() {
    let (url, mut db) = migrated().await;
    log_lookups(&mut db, 25, "3 years 10 days", "old").await;
    log_lookups(&mut db, 5, "3 years -10 days", "young").await;
    log_lookups(&mut db, 5, "1 hour", "recent").await;

    let first = run(&url, &["admin", "maintain", "--batch-size", "10"]);
    assert_eq!(purged(&first), 25, "{first:?}");
    let said = String::from_utf8_lossy(&first.stderr);
    assert!(said.contains("in 3 batches"), "{said}");
    assert_eq!(count(&mut db, "old").await, 0);
    assert_eq!(
        count(&mut db, "young").await,
        5,
        "younger than 3 years: kept"
    );
    assert_eq!(count(&mut db, "recent").await, 5);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(rows_removed), 0)::bigint FROM maintenance_log WHERE step = 'access_log'",
    )
    .fetch_one(&mut db)
    .await
    .expect("maintenance_log");
    assert_eq!(recorded, 25, "each batch recorded with its purge");

    let second = run(&url, &["admin", "maintain"]);
    assert_eq!(purged(&second), 0, "a rerun has nothing left to do");

    // Outside the purge the log stays append-only.
    let deleted = sqlx::query("DELETE FROM person_access_log WHERE rpc = 'young'")
        .execute(&mut db)
        .await;
    assert!(deleted.is_err(), "{deleted:?}");
    let declared = async {
        let mut tx = db.begin().await?;
        sqlx::query("SELECT set_config('flexcover.access_log_cutoff', (now() - interval '3 years 20 days')::text, true)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM person_access_log WHERE rpc = 'young'")
            .execute(&mut *tx)
            .await
    }
    .await;
    assert!(
        declared.is_err(),
        "rows younger than the declared cutoff stay: {declared:?}"
    );
}

#[tokio::test]
async fn the_access_log_is_kept_at_least_three_years() {
    let (url, mut db) = migrated().await;
    let shown = run(&url, &["admin", "set-retention"]);
    assert!(shown.status.success(), "{shown:?}");
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout).trim(),
        "access_log_years=3 order_detail_months=24 event_days_after_ack=30",
        "the national default"
    );
    let refused = run(&url, &["admin", "set-retention", "--access-log-years", "2"]);
    assert!(!refused.status.success(), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("at least 3"),
        "{refused:?}"
    );
    let direct = sqlx::query("UPDATE retention_policy SET access_log_years = 2")
        .execute(&mut db)
        .await;
    assert!(direct.is_err(), "the table refuses it too: {direct:?}");

    let set = run(
        &url,
        &[
            "admin",
            "set-retention",
            "--access-log-years",
            "5",
            "--order-detail-months",
            "36",
        ],
    );
    assert!(set.status.success(), "{set:?}");
    assert_eq!(
        String::from_utf8_lossy(&set.stdout).trim(),
        "access_log_years=5 order_detail_months=36 event_days_after_ack=30"
    );
    log_lookups(&mut db, 3, "4 years", "four").await;
    log_lookups(&mut db, 2, "5 years 10 days", "older").await;

    // One pass at a time: while another holds the lock, the command does nothing and says so.
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(0x0066_6c65_786d_6e74_i64)
        .execute(&mut db)
        .await
        .expect("lock");
    let busy = run(&url, &["admin", "maintain"]);
    assert!(!busy.status.success(), "{busy:?}");
    assert!(String::from_utf8_lossy(&busy.stderr).contains("another maintenance pass"));
    assert_eq!(count(&mut db, "older").await, 2);
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(0x0066_6c65_786d_6e74_i64)
        .execute(&mut db)
        .await
        .expect("unlock");

    assert_eq!(purged(&run(&url, &["admin", "maintain"])), 2);
    assert_eq!(count(&mut db, "four").await, 3, "kept five years now");
}

#[tokio::test]
async fn serve_runs_maintenance_and_retries_after_a_failed_pass() {
    let (url, mut db) = migrated().await;
    // The pass cannot read its settings: it fails, and serve goes on.
    sqlx::query("ALTER TABLE retention_policy RENAME TO retention_policy_away")
        .execute(&mut db)
        .await
        .expect("rename");
    log_lookups(&mut db, 7, "3 years 10 days", "old").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut server = flexcover(&url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("FLEXCOVER_MAINTENANCE_INTERVAL_SECS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(server.try_wait().expect("poll").is_none(), "serve lives on");
    assert_eq!(
        count(&mut db, "old").await,
        7,
        "nothing purged while it fails"
    );
    sqlx::query("ALTER TABLE retention_policy_away RENAME TO retention_policy")
        .execute(&mut db)
        .await
        .expect("rename back");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count(&mut db, "old").await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve did not purge"
        );
        assert!(server.try_wait().expect("poll").is_none(), "serve exited");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let output = server.wait_with_output().expect("wait");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("maintenance pass failed"), "{log}");
    assert!(log.contains("maintenance purged access-log rows"), "{log}");
}
