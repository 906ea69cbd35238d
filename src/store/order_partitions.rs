//! The orders' monthly partitions (`order_partitions`, migration 0043): created ahead of the
//! months they hold, and a closed month detached, archived to a file and dropped. The steps and
//! their order are in [`crate::order_archive`]; this is their SQL.
use super::Tx;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, PgExecutor};

/// Creates the missing partitions of the months from `first` through `through` (none at or
/// before an archived month); how many it created. Each is created on its own and attached,
/// which does not block ingest.
pub async fn create(
    db: impl PgExecutor<'_>,
    first: NaiveDate,
    through: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<i32> {
    Ok(
        sqlx::query_scalar("SELECT create_order_partitions($1, $2, $3)")
            .bind(first)
            .bind(through)
            .bind(now)
            .fetch_one(db)
            .await?,
    )
}

/// The partition table's name of a month (`orders_YYYY_MM`).
pub fn table_name(month: NaiveDate) -> String {
    format!("orders_{}", month.format("%Y_%m"))
}

/// In a declaration's transaction: refuses a month closed by archiving, and keeps the month from
/// being closed until the transaction ends (the archive step's update waits for this row lock).
pub async fn hold_open(tx: &mut Tx, month: NaiveDate) -> AppResult<()> {
    let state: Option<(String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT state, archived_at FROM order_partitions WHERE month = $1 FOR SHARE",
    )
    .bind(month)
    .fetch_optional(&mut **tx)
    .await?;
    match state {
        Some((state, archived_at)) if state != "attached" => {
            let when = archived_at.map_or_else(
                || "is being archived".to_owned(),
                |at| format!("were archived on {}", at.format("%Y-%m-%d")),
            );
            Err(AppError::FailedPrecondition(format!(
                "the orders of {} {when}: its declarations are final",
                month.format("%Y-%m")
            )))
        }
        _ => Ok(()),
    }
}

/// A month's partition row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MonthRow {
    pub month: NaiveDate,
    pub state: String,
    pub archive_file: Option<String>,
    pub archive_rows: Option<i64>,
    pub archive_sha256: Option<String>,
}

/// The month being archived (a pass cut short left it), else the oldest attached month.
pub async fn next_to_archive(db: impl PgExecutor<'_>) -> anyhow::Result<Option<MonthRow>> {
    Ok(sqlx::query_as(
        "SELECT month, state, archive_file, archive_rows, archive_sha256 FROM order_partitions
         WHERE state IN ('attached', 'archiving')
         ORDER BY state = 'archiving' DESC, month LIMIT 1",
    )
    .fetch_optional(db)
    .await?)
}

/// The (province, platform) pairs with orders in the month that have not declared it.
pub async fn undeclared_pairs(
    db: impl PgExecutor<'_>,
    month: NaiveDate,
) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT m.province_code::text, m.platform_id FROM order_months m
         WHERE m.period = $1
           AND NOT EXISTS (SELECT 1 FROM declarations d
                           WHERE d.province_code = m.province_code
                             AND d.platform_id = m.platform_id AND d.period = m.period)
         ORDER BY 1, 2",
    )
    .bind(month)
    .fetch_all(db)
    .await?)
}

/// How many claims of the given statuses occurred in [from, until): claims still deciding
/// coverage, which may cite the month's orders.
pub async fn claims_citing(
    db: impl PgExecutor<'_>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    statuses: &[&str],
) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM claims
         WHERE occurred_at >= $1 AND occurred_at < $2 AND status = ANY($3)",
    )
    .bind(from)
    .bind(until)
    .bind(statuses)
    .fetch_one(db)
    .await?)
}

/// Closes an attached month: from the commit on, its orders are refused and its declarations
/// final. Waits for declarations of the month in flight. False if it was not attached.
pub async fn close(db: impl PgExecutor<'_>, month: NaiveDate) -> anyhow::Result<bool> {
    let updated = sqlx::query(
        "UPDATE order_partitions SET state = 'archiving' WHERE month = $1 AND state = 'attached'",
    )
    .bind(month)
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Reopens a month whose declarations did not account for its orders (see
/// [`unaccounted_pairs`]), its partition attached again.
pub async fn reopen(db: impl PgExecutor<'_>, month: NaiveDate) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE order_partitions SET state = 'attached' WHERE month = $1 AND state = 'archiving'",
    )
    .bind(month)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the table exists, and whether it is still (or partly, a detach cut short) a
/// partition of `orders`.
pub async fn attachment(
    db: impl PgExecutor<'_>,
    table: &str,
) -> anyhow::Result<Option<Attachment>> {
    let row: Option<(Option<bool>,)> = sqlx::query_as(
        "SELECT i.inhdetachpending FROM pg_class c
         LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'orders'::regclass
         WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace",
    )
    .bind(table)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(pending,)| match pending {
        None => Attachment::Detached,
        Some(true) => Attachment::DetachPending,
        Some(false) => Attachment::Attached,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment {
    Attached,
    /// A concurrent detach was interrupted between its two transactions.
    DetachPending,
    Detached,
}

/// Detaches the partition without blocking ingest (CONCURRENTLY waits for the transactions that
/// may still write to it instead of locking everyone out), or finishes a detach cut short.
/// Outside any transaction, as PostgreSQL requires.
pub async fn detach(
    connection: &mut PgConnection,
    table: &str,
    pending: bool,
) -> anyhow::Result<()> {
    let how = if pending { "FINALIZE" } else { "CONCURRENTLY" };
    let statement = format!(
        "ALTER TABLE orders DETACH PARTITION {} {how}",
        quoted(table)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(connection)
        .await?;
    Ok(())
}

/// Attaches a detached month again (its CHECK constraint, left by the concurrent detach, spares
/// the scan).
pub async fn reattach(
    connection: &mut PgConnection,
    table: &str,
    month: NaiveDate,
) -> anyhow::Result<()> {
    let statement = format!(
        "ALTER TABLE orders ATTACH PARTITION {} FOR VALUES
         FROM (('{month}'::date)::timestamp AT TIME ZONE INTERVAL '+08:00')
         TO ((('{month}'::date) + interval '1 month')::timestamp AT TIME ZONE INTERVAL '+08:00')",
        quoted(table)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(connection)
        .await?;
    Ok(())
}

/// A pair whose latest declaration of the month does not count the orders recorded.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Unaccounted {
    pub province_code: String,
    pub platform_id: String,
    pub recorded: i64,
    pub declared: Option<i64>,
}

/// The (province, platform) pairs of the detached month whose latest declaration is not final:
/// none at all, or one built from orders that counts fewer or more than were recorded (a
/// declaration of counts stands as declared).
pub async fn unaccounted_pairs(
    db: impl PgExecutor<'_>,
    table: &str,
    month: NaiveDate,
) -> anyhow::Result<Vec<Unaccounted>> {
    let statement = format!(
        "WITH recorded AS (
             SELECT province_code::text AS province_code, platform_id, count(*) AS recorded
             FROM {table} GROUP BY 1, 2),
         latest AS (
             SELECT DISTINCT ON (d.province_code, d.platform_id)
                    d.province_code::text AS province_code, d.platform_id, d.version, d.source
             FROM declarations d WHERE d.period = $1
             ORDER BY d.province_code, d.platform_id, d.version DESC),
         declared AS (
             SELECT v.province_code, v.platform_id, sum(l.orders)::bigint AS declared
             FROM latest v JOIN declaration_lines l
                  ON l.province_code::text = v.province_code AND l.platform_id = v.platform_id
                 AND l.period = $1 AND l.version = v.version
             GROUP BY 1, 2)
         SELECT r.province_code, r.platform_id, r.recorded, d.declared
         FROM recorded r
         LEFT JOIN latest v ON v.province_code = r.province_code AND v.platform_id = r.platform_id
         LEFT JOIN declared d ON d.province_code = r.province_code AND d.platform_id = r.platform_id
         WHERE v.version IS NULL OR (v.source = 'orders' AND r.recorded <> COALESCE(d.declared, 0))
         ORDER BY 1, 2",
        table = quoted(table)
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(statement))
        .bind(month)
        .fetch_all(db)
        .await?)
}

/// Records the archive file written for the month.
pub async fn record_file(
    db: impl PgExecutor<'_>,
    month: NaiveDate,
    file: &str,
    rows: u64,
    sha256: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE order_partitions SET archive_file = $2, archive_rows = $3, archive_sha256 = $4
         WHERE month = $1 AND state = 'archiving'",
    )
    .bind(month)
    .bind(file)
    .bind(i64::try_from(rows)?)
    .bind(sha256)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the month's table holds any order (one row read, whatever its size).
pub async fn has_orders(db: impl PgExecutor<'_>, table: &str) -> anyhow::Result<bool> {
    let statement = format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table));
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(statement))
        .fetch_one(db)
        .await?)
}

/// The detached table's size in 8 kB blocks (the key deletion walks it in block ranges).
pub async fn blocks(db: impl PgExecutor<'_>, table: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT pg_relation_size($1::regclass) / 8192")
            .bind(quoted(table))
            .fetch_one(db)
            .await?,
    )
}

/// Deletes the order keys of the detached table's orders in blocks [from, until), in the
/// caller's transaction; how many keys went. Keys are probed by primary key: a hash join would
/// read every key of every month for each batch.
pub async fn delete_keys(
    tx: &mut PgConnection,
    table: &str,
    from_block: i64,
    until_block: i64,
) -> anyhow::Result<u64> {
    sqlx::raw_sql("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
        .execute(&mut *tx)
        .await?;
    let statement = format!(
        "DELETE FROM order_keys k
         USING (SELECT platform_id, order_id FROM {}
                WHERE ctid >= format('(%s,0)', $1::bigint)::tid
                  AND ctid < format('(%s,0)', $2::bigint)::tid) o
         WHERE k.platform_id = o.platform_id AND k.order_id = o.order_id",
        quoted(table)
    );
    Ok(sqlx::query(sqlx::AssertSqlSafe(statement))
        .bind(from_block)
        .bind(until_block)
        .execute(&mut *tx)
        .await?
        .rows_affected())
}

/// Drops the detached table and marks the month archived, in the caller's transaction.
pub async fn finish(
    tx: &mut PgConnection,
    table: &str,
    month: NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let statement = format!("DROP TABLE IF EXISTS {}", quoted(table));
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE order_partitions
         SET state = 'archived', archived_at = $2, archive_rows = COALESCE(archive_rows, 0)
         WHERE month = $1 AND state = 'archiving'",
    )
    .bind(month)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A month's row, whatever its state.
pub async fn month(db: impl PgExecutor<'_>, month: NaiveDate) -> anyhow::Result<Option<MonthRow>> {
    Ok(sqlx::query_as(
        "SELECT month, state, archive_file, archive_rows, archive_sha256 FROM order_partitions
         WHERE month = $1",
    )
    .bind(month)
    .fetch_optional(db)
    .await?)
}

/// A table name as an SQL identifier. Names here come from [`table_name`] (digits and
/// underscores), so quoting is belt and braces.
fn quoted(table: &str) -> String {
    format!("\"{}\"", table.replace('"', "\"\""))
}
