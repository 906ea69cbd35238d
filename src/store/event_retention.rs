//! Acknowledgements of province logs, their retention setting, and the purge of acknowledged
//! events (see migrations/0042_event_retention.sql).
use crate::domain::event_retention::EventRetention;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

/// The national setting: days acknowledged events stay online.
pub async fn read(db: impl PgExecutor<'_>) -> anyhow::Result<EventRetention> {
    let days: i32 = sqlx::query_scalar(
        "SELECT event_days_after_ack FROM retention_policy WHERE province_code = '00'",
    )
    .fetch_one(db)
    .await?;
    EventRetention::new(u32::try_from(days).unwrap_or(u32::MAX))
        .map_err(|invalid| anyhow::anyhow!("stored retention_policy: {}", invalid.0))
}

pub async fn set(
    db: impl PgExecutor<'_>,
    retention: EventRetention,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let days = i32::try_from(retention.days_after_ack())?;
    let updated = sqlx::query(
        "UPDATE retention_policy SET event_days_after_ack = $1, updated_at = $2
         WHERE province_code = '00'",
    )
    .bind(days)
    .bind(now)
    .execute(db)
    .await?;
    anyhow::ensure!(
        updated.rows_affected() == 1,
        "retention_policy has no national row"
    );
    Ok(())
}

/// A province's highest acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Acknowledged {
    pub seq: i64,
    pub chain_hash: Vec<u8>,
    pub acknowledged_at: DateTime<Utc>,
}

pub async fn acknowledged(
    db: impl PgExecutor<'_>,
    province_code: &str,
) -> AppResult<Option<Acknowledged>> {
    Ok(sqlx::query_as(
        "SELECT seq, chain_hash, acknowledged_at FROM province_acknowledgements
         WHERE province_code = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(province_code)
    .fetch_optional(db)
    .await?)
}

/// Records an acknowledgement above the current one (the caller checked the hash). A concurrent
/// acknowledgement of the same seq leaves the first.
pub async fn record(
    db: impl PgExecutor<'_>,
    province_code: &str,
    seq: i64,
    chain_hash: &[u8],
    (now, token_id): (DateTime<Utc>, &str),
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO province_acknowledgements
             (province_code, seq, chain_hash, acknowledged_at, acknowledged_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (province_code, seq) DO NOTHING",
    )
    .bind(province_code)
    .bind(seq)
    .bind(chain_hash)
    .bind(now)
    .bind(token_id)
    .execute(db)
    .await?;
    Ok(())
}

/// How far a province's log has been purged: every event up to seq, and the chain hash at seq;
/// None before any purge.
pub async fn checkpoint(
    db: impl PgExecutor<'_>,
    province_code: &str,
) -> AppResult<Option<(i64, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT seq, chain_hash FROM province_log_checkpoints WHERE province_code = $1",
    )
    .bind(province_code)
    .fetch_optional(db)
    .await?)
}

/// A province with acknowledged events due for the purge: `bound` is the highest seq acknowledged
/// at or before the cutoff, `purged` the current purge point (0 for none).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Due {
    pub province_code: String,
    pub bound: i64,
    pub purged: i64,
}

pub async fn due(db: impl PgExecutor<'_>, cutoff: DateTime<Utc>) -> anyhow::Result<Vec<Due>> {
    Ok(sqlx::query_as(
        "SELECT a.province_code, max(a.seq) AS bound, coalesce(max(c.seq), 0) AS purged
         FROM province_acknowledgements a
         LEFT JOIN province_log_checkpoints c USING (province_code)
         WHERE a.acknowledged_at <= $1
         GROUP BY a.province_code
         HAVING max(a.seq) > coalesce(max(c.seq), 0)
         ORDER BY a.province_code",
    )
    .bind(cutoff)
    .fetch_all(db)
    .await?)
}

/// Purges the province's events after its purge point `purged` up to `end` (at most the bound the
/// caller read from [`due`]), in the caller's transaction: the log rows, their payloads in
/// `events`, the purge point moved to `end` with the chain hash there, the acknowledgements below
/// `bound` (superseded) dropped, and the batch recorded in `maintenance_log`. The purge is declared
/// to the log's trigger, which lets through only rows an acknowledgement covers. Returns the rows
/// removed from the log; 0 if another pass moved the purge point first.
pub async fn purge_batch(
    tx: &mut PgConnection,
    due: &Due,
    end: i64,
    (cutoff, now): (DateTime<Utc>, DateTime<Utc>),
) -> anyhow::Result<u64> {
    let province = due.province_code.as_str();
    let current: Option<i64> = sqlx::query_scalar(
        "SELECT seq FROM province_log_checkpoints WHERE province_code = $1 FOR UPDATE",
    )
    .bind(province)
    .fetch_optional(&mut *tx)
    .await?;
    if current.unwrap_or(0) != due.purged {
        return Ok(0);
    }
    let hash: Vec<u8> = sqlx::query_scalar(
        "SELECT chain_hash FROM province_log WHERE province_code = $1 AND seq = $2",
    )
    .bind(province)
    .bind(end)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| anyhow::anyhow!("province {province}'s log has no seq {end} to purge to"))?;
    sqlx::query("SELECT set_config('flexcover.province_log_purge', $1, true)")
        .bind(format!("{province}:{end}"))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "DELETE FROM events e USING province_log l
         WHERE l.province_code = $1 AND l.seq > $2 AND l.seq <= $3
           AND e.province_code = l.province_code AND e.event_id = l.event_id",
    )
    .bind(province)
    .bind(due.purged)
    .bind(end)
    .execute(&mut *tx)
    .await?;
    let purged =
        sqlx::query("DELETE FROM province_log WHERE province_code = $1 AND seq > $2 AND seq <= $3")
            .bind(province)
            .bind(due.purged)
            .bind(end)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    sqlx::query(
        "INSERT INTO province_log_checkpoints (province_code, seq, chain_hash, purged_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (province_code) DO UPDATE
         SET seq = EXCLUDED.seq, chain_hash = EXCLUDED.chain_hash, purged_at = EXCLUDED.purged_at",
    )
    .bind(province)
    .bind(end)
    .bind(&hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM province_acknowledgements WHERE province_code = $1 AND seq < $2")
        .bind(province)
        .bind(due.bound)
        .execute(&mut *tx)
        .await?;
    if purged > 0 {
        sqlx::query(
            "INSERT INTO maintenance_log (step, finished_at, cutoff, rows_removed)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(format!("province_log:{province}"))
        .bind(now)
        .bind(cutoff)
        .bind(i64::try_from(purged)?)
        .execute(&mut *tx)
        .await?;
    }
    Ok(purged)
}
