//! Maintenance (issue 17): removes what the retention settings no longer keep. Run by
//! `flexcover admin maintain` and periodically by `serve`, one replica at a time (a session
//! advisory lock on a connection of its own: it goes when the pass ends or the connection dies).
//!
//! Each step is idempotent and works in bounded batches, one short transaction each, so a pass cut
//! short is simply run again and continues; nothing is done twice. Steps run in order: the
//! orders' partitions (created ahead; months past their retention archived,
//! [`crate::order_archive`]), then the access-log purge.
use crate::domain::clock::Clock;
use crate::order_archive::{self, OrdersReport};
use crate::store::retention;
use chrono::{DateTime, Utc};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Any value: the maintenance pass's session advisory lock.
const MAINTENANCE_LOCK: i64 = 0x0066_6c65_786d_6e74; // "flexmnt"
/// Rows purged per transaction: short enough not to hold anything for long (the access log's
/// writers insert new rows, which the purge never touches).
pub const DEFAULT_BATCH: u32 = 10_000;
pub const MAX_BATCH: u32 = 100_000;

/// What one pass did.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// Another pass (another replica, or the command) held the lock; nothing was done.
    Skipped,
    Done {
        access_log: Purge,
        orders: OrdersReport,
        /// Acknowledged federation events (see [`crate::event_purge`]).
        events: crate::event_purge::EventPurge,
    },
}

/// One purge step: rows removed from before `cutoff`, in `batches` transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purge {
    pub retention_years: u32,
    pub cutoff: Option<DateTime<Utc>>,
    pub rows: u64,
    pub batches: u64,
}

/// One pass at `now`, purging at most `batch_size` rows per transaction and writing archived
/// months of orders to `archive_dir` (without one, months with orders are not archived).
pub async fn pass(
    pool: &PgPool,
    now: DateTime<Utc>,
    batch_size: u32,
    archive_dir: Option<&Path>,
) -> anyhow::Result<Report> {
    let batch_size = batch_size.clamp(1, MAX_BATCH);
    let mut connection = pool.connect_options().connect().await?;
    let result = locked_pass(&mut connection, now, batch_size, archive_dir).await;
    // Closing ends the session and with it the lock.
    let _ = connection.close().await;
    result
}

async fn locked_pass(
    connection: &mut PgConnection,
    now: DateTime<Utc>,
    batch_size: u32,
    archive_dir: Option<&Path>,
) -> anyhow::Result<Report> {
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(MAINTENANCE_LOCK)
        .fetch_one(&mut *connection)
        .await?;
    if !locked {
        return Ok(Report::Skipped);
    }
    let settings = retention::read(&mut *connection).await?;
    // Partitions ahead first: the most pressing of the steps.
    let orders = order_archive::step(connection, now, settings, archive_dir).await?;
    let mut access_log = Purge {
        retention_years: settings.access_log_years(),
        cutoff: settings.access_log_cutoff(now),
        rows: 0,
        batches: 0,
    };
    if let Some(cutoff) = access_log.cutoff {
        loop {
            let mut tx = connection.begin().await?;
            let purged =
                retention::purge_access_log_batch(&mut tx, cutoff, batch_size, now).await?;
            tx.commit().await?;
            access_log.batches += 1;
            access_log.rows += purged;
            if purged < u64::from(batch_size) {
                break;
            }
        }
    }
    let events = crate::event_purge::step(&mut *connection, now, batch_size).await?;
    Ok(Report::Done {
        access_log,
        orders,
        events,
    })
}

/// When serve's first pass runs, at the latest: replicas restarted more often than the interval
/// still maintain, and start-up itself is left alone.
const FIRST_PASS_AFTER: Duration = Duration::from_secs(60);

/// A pass every `interval` until the task is dropped (the first one a minute after start, or
/// sooner with a shorter interval). A failed pass (the database away) is logged and the next one
/// tries again.
pub async fn run(
    pool: PgPool,
    clock: Arc<dyn Clock>,
    interval: Duration,
    archive_dir: Option<PathBuf>,
) {
    let mut wait = interval.min(FIRST_PASS_AFTER);
    loop {
        tokio::time::sleep(wait).await;
        wait = interval;
        match pass(&pool, clock.now(), DEFAULT_BATCH, archive_dir.as_deref()).await {
            Ok(Report::Skipped) => {
                tracing::debug!("maintenance skipped: another replica holds the lock");
            }
            Ok(Report::Done {
                access_log,
                orders,
                events,
            }) => {
                log_access_log(&access_log);
                log_orders(&orders);
                crate::event_purge::log(&events);
            }
            Err(error) => tracing::warn!(
                error = %crate::cli::describe(&error),
                "maintenance pass failed; the next one retries"
            ),
        }
    }
}

fn log_access_log(access_log: &Purge) {
    if access_log.rows > 0 {
        tracing::info!(
            rows = access_log.rows,
            batches = access_log.batches,
            cutoff = ?access_log.cutoff,
            retention_years = access_log.retention_years,
            "maintenance purged access-log rows past their retention"
        );
    } else {
        tracing::debug!(cutoff = ?access_log.cutoff, "maintenance: nothing to purge");
    }
}

fn log_orders(orders: &OrdersReport) {
    if orders.partitions_created > 0 {
        tracing::info!(
            created = orders.partitions_created,
            "maintenance created orders partitions ahead"
        );
    }
    for month in &orders.archived {
        tracing::info!(
            month = %month.month.format("%Y-%m"),
            rows = month.rows,
            file = ?month.file,
            keys_deleted = month.keys_deleted,
            seconds = month.seconds,
            "maintenance archived a month of orders"
        );
    }
    if let Some(reason) = &orders.blocked {
        tracing::warn!(reason = %reason, "maintenance could not archive a month of orders");
    }
}

/// What `flexcover admin maintain` prints: a sentence per step on stderr, `key=value` lines on
/// stdout for scripts.
pub fn print(report: &Report) {
    let Report::Done {
        access_log,
        orders,
        events,
    } = report
    else {
        return;
    };
    let cutoff = access_log
        .cutoff
        .map_or_else(|| "none".to_owned(), |cutoff| cutoff.to_rfc3339());
    eprintln!(
        "access log: kept {} years; purged {} rows accessed before {cutoff} in {} batches",
        access_log.retention_years, access_log.rows, access_log.batches
    );
    println!("access_log purged={} cutoff={cutoff}", access_log.rows);
    eprintln!(
        "orders: {} partitions created ahead; {} months archived",
        orders.partitions_created,
        orders.archived.len()
    );
    println!("orders partitions_created={}", orders.partitions_created);
    for month in &orders.archived {
        let file = month
            .file
            .as_ref()
            .map_or_else(|| "none".to_owned(), |file| file.display().to_string());
        eprintln!(
            "orders of {}: {} rows archived to {file}, {} keys deleted, partition dropped, in {:.1} s",
            month.month.format("%Y-%m"),
            month.rows,
            month.keys_deleted,
            month.seconds
        );
        println!(
            "orders archived={} rows={} file={file} seconds={:.1}",
            month.month.format("%Y-%m"),
            month.rows,
            month.seconds
        );
    }
    if let Some(reason) = &orders.blocked {
        eprintln!("orders: not archived: {reason}");
        println!("orders blocked={reason:?}");
    }
    crate::event_purge::print(events);
}
