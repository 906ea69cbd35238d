//! Maintenance (issue 17): removes what the retention settings no longer keep. Run by
//! `flexcover admin maintain` and periodically by `serve`, one replica at a time (a session
//! advisory lock on a connection of its own: it goes when the pass ends or the connection dies).
//!
//! Each step is idempotent and works in bounded batches, one short transaction each, so a pass cut
//! short is simply run again and continues; nothing is done twice. Steps run in order; the orders'
//! partition maintenance is to become another step of [`pass`].
use crate::domain::clock::Clock;
use crate::store::retention;
use chrono::{DateTime, Utc};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use std::sync::Arc;
use std::time::Duration;

/// Any value: the maintenance pass's session advisory lock.
const MAINTENANCE_LOCK: i64 = 0x0066_6c65_786d_6e74; // "flexmnt"
/// Rows purged per transaction: short enough not to hold anything for long (the access log's
/// writers insert new rows, which the purge never touches).
pub const DEFAULT_BATCH: u32 = 10_000;
pub const MAX_BATCH: u32 = 100_000;

/// What one pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Another pass (another replica, or the command) held the lock; nothing was done.
    Skipped,
    Done {
        access_log: Purge,
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

/// One pass at `now`, purging at most `batch_size` rows per transaction.
pub async fn pass(pool: &PgPool, now: DateTime<Utc>, batch_size: u32) -> anyhow::Result<Report> {
    let batch_size = batch_size.clamp(1, MAX_BATCH);
    let mut connection = pool.connect_options().connect().await?;
    let result = locked_pass(&mut connection, now, batch_size).await;
    // Closing ends the session and with it the lock.
    let _ = connection.close().await;
    result
}

async fn locked_pass(
    connection: &mut PgConnection,
    now: DateTime<Utc>,
    batch_size: u32,
) -> anyhow::Result<Report> {
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(MAINTENANCE_LOCK)
        .fetch_one(&mut *connection)
        .await?;
    if !locked {
        return Ok(Report::Skipped);
    }
    let settings = retention::read(&mut *connection).await?;
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
    Ok(Report::Done { access_log, events })
}

/// When serve's first pass runs, at the latest: replicas restarted more often than the interval
/// still maintain, and start-up itself is left alone.
const FIRST_PASS_AFTER: Duration = Duration::from_secs(60);

/// A pass every `interval` until the task is dropped (the first one a minute after start, or
/// sooner with a shorter interval). A failed pass (the database away) is logged and the next one
/// tries again.
pub async fn run(pool: PgPool, clock: Arc<dyn Clock>, interval: Duration) {
    let mut wait = interval.min(FIRST_PASS_AFTER);
    loop {
        tokio::time::sleep(wait).await;
        wait = interval;
        match pass(&pool, clock.now(), DEFAULT_BATCH).await {
            Ok(Report::Skipped) => {
                tracing::debug!("maintenance skipped: another replica holds the lock");
            }
            Ok(Report::Done { access_log, events }) => {
                for province in events.provinces.iter().filter(|p| p.rows > 0) {
                    tracing::info!(
                        province = %province.province_code,
                        rows = province.rows,
                        batches = province.batches,
                        purged_through = province.purged_through,
                        days_after_ack = events.days_after_ack,
                        "maintenance purged acknowledged federation events"
                    );
                }
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
            Err(error) => tracing::warn!(
                error = %crate::cli::describe(&error),
                "maintenance pass failed; the next one retries"
            ),
        }
    }
}
