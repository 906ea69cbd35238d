//! The retention settings (`retention_policy`) and the purge of what they no longer keep.
use crate::domain::retention::Retention;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// The national retention settings.
pub async fn read(db: impl PgExecutor<'_>) -> anyhow::Result<Retention> {
    let (years, months): (i32, i32) = sqlx::query_as(
        "SELECT access_log_years, order_detail_months FROM retention_policy
         WHERE province_code = '00'",
    )
    .fetch_one(db)
    .await?;
    let bounded = |n: i32| u32::try_from(n).unwrap_or(0);
    Retention::new(bounded(years), bounded(months))
        .map_err(|invalid| anyhow::anyhow!("stored retention_policy: {}", invalid.0))
}

/// Replaces the national retention settings.
pub async fn set(
    db: impl PgExecutor<'_>,
    retention: Retention,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let years = i32::try_from(retention.access_log_years())?;
    let months = i32::try_from(retention.order_detail_months())?;
    sqlx::query(
        "INSERT INTO retention_policy (province_code, access_log_years, order_detail_months,
                                       updated_at)
         VALUES ('00', $1, $2, $3)
         ON CONFLICT (province_code) DO UPDATE
         SET access_log_years = EXCLUDED.access_log_years,
             order_detail_months = EXCLUDED.order_detail_months,
             updated_at = EXCLUDED.updated_at",
    )
    .bind(years)
    .bind(months)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes up to `limit` access-log rows from before `cutoff`, oldest first, in the caller's
/// transaction, and records the batch in `maintenance_log` there too (a batch is purged and
/// recorded together or not at all). The cutoff is declared to the table's trigger, which refuses
/// to delete any younger row.
pub async fn purge_access_log_batch(
    tx: &mut PgConnection,
    cutoff: DateTime<Utc>,
    limit: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    sqlx::query("SELECT set_config('flexcover.access_log_cutoff', $1, true)")
        .bind(cutoff.to_rfc3339())
        .execute(&mut *tx)
        .await?;
    let purged = sqlx::query(
        "DELETE FROM person_access_log WHERE access_id IN (
             SELECT access_id FROM person_access_log WHERE accessed_at < $1
             ORDER BY accessed_at LIMIT $2)",
    )
    .bind(cutoff)
    .bind(i64::from(limit))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if purged > 0 {
        sqlx::query(
            "INSERT INTO maintenance_log (step, finished_at, cutoff, rows_removed)
             VALUES ('access_log', $1, $2, $3)",
        )
        .bind(now)
        .bind(cutoff)
        .bind(i64::try_from(purged)?)
        .execute(&mut *tx)
        .await?;
    }
    Ok(purged)
}
