//! The orders' partition maintenance (issue 17), a step of the maintenance pass: partitions are
//! created ahead of their months, and the oldest month past its retention is closed, detached,
//! written to an archive file and dropped, one month after another.
//!
//! Each month moves through states kept in `order_partitions`, so a pass cut short anywhere is
//! continued by the next: closed ('archiving': orders of the month refused, its declarations
//! final) → detached (concurrently: ingest is never blocked) → checked (every platform's latest
//! declaration counts the orders recorded, else the month is attached and opened again) → file
//! written (its SHA-256 and rows recorded) → keys deleted in block ranges → dropped ('archived').
pub mod file;

use crate::domain::clock::china_date;
use crate::domain::rates::MAX_ORDER_HOURS;
use crate::domain::retention::{Retention, statuses_citing_orders};
use crate::store::order_partitions::{self as store, Attachment, MonthRow, Unaccounted};
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use sqlx::{Connection, PgConnection};
use std::path::{Path, PathBuf};

/// Partitions exist this many days ahead of the registry's today.
pub const DAYS_AHEAD: u64 = 93;
/// Blocks of the detached table per key-deletion transaction (about 30,000 orders).
const KEY_BLOCKS: i64 = 500;

/// Creates the partitions of every month kept in detail under `retention` through
/// [`DAYS_AHEAD`] days from `now`; how many.
pub async fn create_ahead(
    db: &mut PgConnection,
    now: DateTime<Utc>,
    retention: Retention,
) -> anyhow::Result<i32> {
    let today = china_date(now);
    let through = today + chrono::Days::new(DAYS_AHEAD);
    store::create(db, retention.first_month_kept(today), through, now).await
}

/// [`create_ahead`] under the stored retention, on a connection of the pool.
pub async fn create_ahead_now(pool: &sqlx::PgPool, now: DateTime<Utc>) -> anyhow::Result<i32> {
    let mut connection = pool.acquire().await?;
    let retention = crate::store::retention::read(&mut *connection).await?;
    create_ahead(&mut connection, now, retention).await
}

/// What the orders step did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrdersReport {
    pub partitions_created: i32,
    pub archived: Vec<ArchivedMonth>,
    /// Why the oldest month past its retention was not archived, if it was not.
    pub blocked: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedMonth {
    pub month: NaiveDate,
    pub rows: u64,
    /// None for a month without orders (dropped without a file).
    pub file: Option<PathBuf>,
    pub keys_deleted: u64,
    pub seconds: f64,
}

/// Creates partitions ahead, then archives months past their retention, oldest first, until one
/// is not yet due or cannot be archived.
pub async fn step(
    connection: &mut PgConnection,
    now: DateTime<Utc>,
    retention: Retention,
    archive_dir: Option<&Path>,
) -> anyhow::Result<OrdersReport> {
    let mut report = OrdersReport {
        partitions_created: create_ahead(&mut *connection, now, retention).await?,
        ..OrdersReport::default()
    };
    while let Some(month) = store::next_to_archive(&mut *connection).await? {
        let started = std::time::Instant::now();
        if month.state == "attached" {
            if let Some(reason) = not_archivable(connection, &month, now, retention).await? {
                report.blocked = reason.blocking.then_some(reason.text);
                break;
            }
            // Without a directory a month with orders cannot be written: found before closing it,
            // so a pass without one (serve's default) neither closes nor detaches anything.
            let table = store::table_name(month.month);
            if archive_dir.is_none() && store::has_orders(&mut *connection, &table).await? {
                report.blocked = Some(no_directory(month.month));
                break;
            }
            if !store::close(&mut *connection, month.month).await? {
                continue;
            }
        }
        match archive(connection, &month, archive_dir, now).await? {
            Ok(mut archived) => {
                archived.seconds = started.elapsed().as_secs_f64();
                report.archived.push(archived);
            }
            Err(reason) => {
                report.blocked = Some(reason);
                break;
            }
        }
    }
    Ok(report)
}

struct NotArchivable {
    text: String,
    /// False when the month is simply not due: nothing to report.
    blocking: bool,
}

/// Why an attached month may not be closed yet, if it may not.
async fn not_archivable(
    connection: &mut PgConnection,
    month: &MonthRow,
    now: DateTime<Utc>,
    retention: Retention,
) -> anyhow::Result<Option<NotArchivable>> {
    let name = month.month.format("%Y-%m");
    if !retention.order_month_expired(month.month, china_date(now)) {
        return Ok(Some(NotArchivable {
            text: format!("{name} is within its retention"),
            blocking: false,
        }));
    }
    let undeclared = store::undeclared_pairs(&mut *connection, month.month).await?;
    if let Some((province, platform)) = undeclared.first() {
        return Ok(Some(NotArchivable {
            text: format!(
                "{name} is past its retention but not declared by {} (province, platform) pairs, \
                 e.g. {platform} in {province}",
                undeclared.len()
            ),
            blocking: true,
        }));
    }
    let (from, until) = month_instants(month.month)?;
    let citing = store::claims_citing(
        &mut *connection,
        from,
        until + Duration::hours(MAX_ORDER_HOURS),
        &statuses_citing_orders(),
    )
    .await?;
    if citing > 0 {
        return Ok(Some(NotArchivable {
            text: format!(
                "{name} is past its retention but {citing} claims deciding coverage may cite its orders"
            ),
            blocking: true,
        }));
    }
    Ok(None)
}

/// The month's first instant and the next month's (China Standard Time).
fn month_instants(month: NaiveDate) -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let start = |day: NaiveDate| {
        day.and_hms_opt(0, 0, 0)
            .map(|midnight| midnight.and_utc() - Duration::hours(8))
    };
    let next = month
        .checked_add_months(Months::new(1))
        .ok_or_else(|| anyhow::anyhow!("no month after {month}"))?;
    match (start(month), start(next)) {
        (Some(from), Some(until)) => Ok((from, until)),
        _ => anyhow::bail!("month {month} out of range"),
    }
}

/// Archives a closed month from wherever a pass left it. `Err(reason)`: it was opened again
/// (its declarations do not account for its orders) or cannot be written (no archive directory).
async fn archive(
    connection: &mut PgConnection,
    month: &MonthRow,
    archive_dir: Option<&Path>,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<ArchivedMonth, String>> {
    let table = store::table_name(month.month);
    let name = month.month.format("%Y-%m");
    let mut archived = ArchivedMonth {
        month: month.month,
        rows: 0,
        file: None,
        keys_deleted: 0,
        seconds: 0.0,
    };
    let attachment = store::attachment(&mut *connection, &table).await?;
    if attachment.is_none() {
        // Dropped by a pass that stopped before recording it.
        finish(connection, &table, month.month, now).await?;
        return Ok(Ok(archived));
    }
    if matches!(
        attachment,
        Some(Attachment::Attached | Attachment::DetachPending)
    ) {
        store::detach(
            connection,
            &table,
            attachment == Some(Attachment::DetachPending),
        )
        .await?;
    }
    if month.archive_sha256.is_none() {
        let unaccounted = store::unaccounted_pairs(&mut *connection, &table, month.month).await?;
        if !unaccounted.is_empty() {
            reopen(connection, &table, month.month).await?;
            return Ok(Err(describe_unaccounted(&name.to_string(), &unaccounted)));
        }
        let rows = file::count(&mut *connection, &table).await?;
        if rows > 0 {
            // Only a pass resuming a month closed by one that had a directory gets here without.
            let Some(dir) = archive_dir else {
                reopen(connection, &table, month.month).await?;
                return Ok(Err(no_directory(month.month)));
            };
            let written = file::write(connection, &table, dir, month.month).await?;
            store::record_file(
                &mut *connection,
                month.month,
                &written.path.display().to_string(),
                written.rows,
                &written.sha256,
            )
            .await?;
            archived.file = Some(written.path);
        }
        archived.rows = rows;
    } else {
        archived.rows = month
            .archive_rows
            .and_then(|rows| u64::try_from(rows).ok())
            .unwrap_or(0);
        archived.file = month.archive_file.as_ref().map(PathBuf::from);
    }
    archived.keys_deleted = delete_keys(connection, &table).await?;
    finish(connection, &table, month.month, now).await?;
    Ok(Ok(archived))
}

/// Attaches a detached month again and opens it to orders and declarations.
async fn reopen(
    connection: &mut PgConnection,
    table: &str,
    month: NaiveDate,
) -> anyhow::Result<()> {
    store::reattach(connection, table, month).await?;
    store::reopen(&mut *connection, month).await
}

fn no_directory(month: NaiveDate) -> String {
    format!(
        "{} is due for archiving but has orders and no archive directory is set \
         (--archive-dir or FLEXCOVER_ARCHIVE_DIR)",
        month.format("%Y-%m")
    )
}

fn describe_unaccounted(month: &str, unaccounted: &[Unaccounted]) -> String {
    let first = &unaccounted[0];
    let declared = first
        .declared
        .map_or_else(|| "no declaration".to_owned(), |n| format!("{n} declared"));
    format!(
        "{month} was opened again: {} (province, platform) pairs' latest declarations do not \
         count the orders recorded, e.g. {} in {}: {} recorded, {declared}",
        unaccounted.len(),
        first.platform_id,
        first.province_code,
        first.recorded
    )
}

/// Deletes the keys of the detached table's orders, a block range per transaction.
async fn delete_keys(connection: &mut PgConnection, table: &str) -> anyhow::Result<u64> {
    let blocks = store::blocks(&mut *connection, table).await?;
    let mut deleted = 0;
    let mut from = 0;
    while from < blocks {
        let until = from + KEY_BLOCKS;
        let mut tx = connection.begin().await?;
        deleted += store::delete_keys(&mut tx, table, from, until).await?;
        tx.commit().await?;
        from = until;
    }
    Ok(deleted)
}

async fn finish(
    connection: &mut PgConnection,
    table: &str,
    month: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut tx = connection.begin().await?;
    store::finish(&mut tx, table, month, now).await?;
    tx.commit().await?;
    Ok(())
}
