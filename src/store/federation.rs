//! The sequencer's pass and the reads of the numbered province logs.
use super::Tx;
use crate::domain::chain;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use std::collections::HashMap;
use uuid::Uuid;

/// Any value: the sequencer's transaction-scoped advisory lock.
const SEQUENCER_LOCK: i64 = 0x0066_6c65_7873_6571; // "flexseq"
/// Events numbered per pass, at most (whole writer transactions are never split).
pub const MAX_EVENTS_PER_PASS: i64 = 10_000;
pub const CHANNEL: &str = "flexcover_events";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Events numbered in this pass.
    pub numbered: usize,
    /// Whether another replica held the lock (nothing was done).
    pub skipped: bool,
    /// Whether the pass stopped at MAX_EVENTS_PER_PASS with more ready.
    pub more: bool,
}

#[derive(sqlx::FromRow)]
pub(super) struct Ready {
    pub(super) province_code: String,
    pub(super) event_id: Uuid,
    pub(super) payload: Vec<u8>,
}

/// One pass, in one short transaction. See migrations/0013_federation.sql for why it cannot skip a
/// late-committing transaction.
pub async fn sequence_pass(tx: &mut Tx, now: DateTime<Utc>) -> AppResult<Pass> {
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(SEQUENCER_LOCK)
        .fetch_one(&mut **tx)
        .await?;
    if !locked {
        return Ok(Pass {
            skipped: true,
            ..Pass::default()
        });
    }
    // Read before this transaction has an id of its own, so its xmin is about the others.
    let (old, new): (String, String) = sqlx::query_as(
        "SELECT frontier::text, pg_snapshot_xmin(pg_current_snapshot())::text
         FROM sequencer_frontier",
    )
    .fetch_one(&mut **tx)
    .await?;
    if super::rebase::counter_went_back(&old, &new) {
        return super::rebase::rebase(tx, &old, &new, now).await;
    }
    let upper = pass_bound(tx, &old, &new, MAX_EVENTS_PER_PASS).await?;
    let more = upper != new;
    let ready: Vec<Ready> = sqlx::query_as(
        "SELECT province_code::text AS province_code, event_id, payload FROM events
         WHERE writer_xid >= $1::xid8 AND writer_xid < $2::xid8
         ORDER BY writer_xid, event_id",
    )
    .bind(&old)
    .bind(&upper)
    .fetch_all(&mut **tx)
    .await?;
    if !ready.is_empty() {
        number(tx, &ready, now).await?;
    }
    if upper == old || (ready.is_empty() && !far_behind(&old, &upper)) {
        // Nothing to number: write nothing. (Moving the frontier past transactions without events
        // took a transaction id of its own, so the next pass found one more finished transaction
        // and wrote again: an idle sequencer flushed the WAL fifty times a second.)
        return Ok(Pass::default());
    }
    let moved = sqlx::query(
        "UPDATE sequencer_frontier SET frontier = $2::xid8, passes = passes + 1, updated_at = $3
         WHERE frontier = $1::xid8",
    )
    .bind(&old)
    .bind(&upper)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(anyhow::anyhow!("the sequencer frontier moved under a pass").into());
    }
    if !ready.is_empty() {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&mut **tx)
            .await?;
    }
    Ok(Pass {
        numbered: ready.len(),
        skipped: false,
        more,
    })
}

/// Committed events the sequencer has not numbered yet: its lag, for the metrics.
pub async fn events_awaiting_sequencing(db: impl sqlx::PgExecutor<'_>) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM events e
         WHERE e.writer_xid >= (SELECT f.frontier FROM sequencer_frontier f)
           AND NOT EXISTS (SELECT 1 FROM province_log l
                           WHERE l.province_code = e.province_code AND l.event_id = e.event_id)"#,
    )
    .fetch_one(db)
    .await?)
}

/// Whether the frontier lags so far behind that it should move even with nothing to number (so
/// the next pass's range scan stays short).
fn far_behind(old: &str, upper: &str) -> bool {
    const FAR: u64 = 100_000;
    match (old.parse::<u64>(), upper.parse::<u64>()) {
        (Ok(old), Ok(upper)) => upper.saturating_sub(old) > FAR,
        _ => true,
    }
}

/// Where a pass over the events of writer transactions `old..new` stops: before the transaction
/// holding the event at position `max_events`, so a pass numbers up to `max_events` events, always
/// whole writer transactions (and at least the first, however large).
pub async fn pass_bound(tx: &mut Tx, old: &str, new: &str, max_events: i64) -> AppResult<String> {
    // Ordered by the xid8 column itself: an output column of the same name (the text cast) would
    // take precedence in ORDER BY and sort "1000" before "999".
    let (at_limit, first): (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT (SELECT e.writer_xid::text AS xid FROM events e
                 WHERE e.writer_xid >= $1::xid8 AND e.writer_xid < $2::xid8
                 ORDER BY e.writer_xid OFFSET $3 LIMIT 1),
                (SELECT e.writer_xid::text AS xid FROM events e
                 WHERE e.writer_xid >= $1::xid8 AND e.writer_xid < $2::xid8
                 ORDER BY e.writer_xid LIMIT 1)",
    )
    .bind(old)
    .bind(new)
    .bind(max_events)
    .fetch_one(&mut **tx)
    .await?;
    let parse = |xid: &str| {
        xid.parse::<u64>()
            .map_err(|error| anyhow::anyhow!("transaction id {xid:?}: {error}"))
    };
    Ok(match (at_limit, first) {
        (Some(at_limit), Some(first)) => parse(&at_limit)?.max(parse(&first)? + 1).to_string(),
        _ => new.to_owned(),
    })
}

/// Numbers `ready` (in order) after each province's head and moves the heads.
pub(super) async fn number(tx: &mut Tx, ready: &[Ready], now: DateTime<Utc>) -> AppResult<()> {
    let provinces: Vec<&str> = {
        let mut p: Vec<&str> = ready.iter().map(|r| r.province_code.as_str()).collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let heads: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT province_code::text, seq, chain_hash FROM province_heads
         WHERE province_code = ANY($1) FOR UPDATE",
    )
    .bind(&provinces)
    .fetch_all(&mut **tx)
    .await?;
    let before: HashMap<String, (i64, Vec<u8>)> = heads
        .into_iter()
        .map(|(province, seq, hash)| (province, (seq, hash)))
        .collect();
    let mut heads = before.clone();
    let (mut log_provinces, mut seqs, mut ids, mut hashes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for event in ready {
        let head = heads
            .entry(event.province_code.clone())
            .or_insert_with(|| (0, chain::GENESIS.to_vec()));
        let seq = head.0 + 1;
        let hash = chain::link(&head.1, seq, event.event_id, &event.payload);
        *head = (seq, hash.clone());
        log_provinces.push(event.province_code.as_str());
        seqs.push(seq);
        ids.push(event.event_id);
        hashes.push(hash);
    }
    sqlx::query(
        "INSERT INTO province_log (province_code, seq, event_id, chain_hash, sequenced_at)
         SELECT p, s, e, h, $5 FROM UNNEST($1::text[], $2::bigint[], $3::uuid[], $4::bytea[]) AS t(p, s, e, h)",
    )
    .bind(&log_provinces)
    .bind(&seqs)
    .bind(&ids)
    .bind(&hashes)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for (province, (seq, hash)) in &heads {
        let moved = match before.get(province) {
            Some((old_seq, _)) => sqlx::query!(
                "UPDATE province_heads SET seq = $2, chain_hash = $3
                 WHERE province_code = $1 AND seq = $4",
                province,
                seq,
                hash,
                old_seq,
            )
            .execute(&mut **tx)
            .await?
            .rows_affected(),
            None => sqlx::query!(
                "INSERT INTO province_heads (province_code, seq, chain_hash) VALUES ($1, $2, $3)",
                province,
                seq,
                hash,
            )
            .execute(&mut **tx)
            .await?
            .rows_affected(),
        };
        if moved != 1 {
            return Err(
                anyhow::anyhow!("the head of province {province} moved under a pass").into(),
            );
        }
    }
    Ok(())
}

/// A numbered event as a province receives it.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub seq: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub aggregate_id: Uuid,
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
    pub chain_hash: Vec<u8>,
}

/// By position: catch-up decodes a million of these, and looking each column up by name showed in
/// its profile.
impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for LogRow {
    fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Self {
            seq: row.try_get(0)?,
            event_id: row.try_get(1)?,
            event_type: row.try_get(2)?,
            aggregate_id: row.try_get(3)?,
            payload: row.try_get(4)?,
            occurred_at: row.try_get(5)?,
            chain_hash: row.try_get(6)?,
        })
    }
}

/// Up to `limit` events after `after_seq`, in seq order.
pub async fn log_after(
    pool: &sqlx::PgPool,
    province_code: &str,
    after_seq: i64,
    limit: i64,
) -> AppResult<Vec<LogRow>> {
    let mut tx = pool.begin().await?;
    // The page's shape is known (a seq range walked in order, one probe per event); the planner's
    // alternatives, a parallel gather or a bitmap per probe, cost several milliseconds a page and
    // it picks them whenever statistics lag a fresh backlog.
    sqlx::query(
        "SELECT set_config('max_parallel_workers_per_gather', '0', true),
                set_config('enable_bitmapscan', 'off', true)",
    )
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query_as(
        // The page of the log first, then one index probe per event: a plain join let the planner
        // hash the whole events table for every page. Numbering is gapless, so the page is the seq
        // range itself: bounded however stale the statistics (an open-ended `seq > $2` read and
        // sorted the whole rest of the log for each page right after a large backlog was numbered).
        "SELECT l.seq, l.event_id, e.event_type, e.aggregate_id, e.payload, e.occurred_at, l.chain_hash
         FROM (SELECT * FROM province_log
               WHERE province_code = $1 AND seq > $2 AND seq <= $2 + $3
               ORDER BY seq) l
         CROSS JOIN LATERAL (SELECT * FROM events e
                             WHERE e.province_code = l.province_code AND e.event_id = l.event_id) e
         ORDER BY l.seq",
    )
    .bind(province_code)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The head (seq and hash) of a province; (0, genesis) before its first event.
pub async fn head(db: impl PgExecutor<'_>, province_code: &str) -> AppResult<(i64, Vec<u8>)> {
    let row: Option<(i64, Vec<u8>)> = sqlx::query!(
        "SELECT seq, chain_hash FROM province_heads WHERE province_code = $1",
        province_code,
    )
    .fetch_optional(db)
    .await?
    .map(|row| (row.seq, row.chain_hash));
    Ok(row.unwrap_or_else(|| (0, chain::GENESIS.to_vec())))
}

/// The chain hash at `seq` (genesis at 0), if the province has got that far and it was not
/// purged: at the purge point itself it comes from the checkpoint (callers refuse a seq below the
/// purge point first, see `store::event_retention::checkpoint`).
pub async fn hash_at(
    db: impl PgExecutor<'_>,
    province_code: &str,
    seq: i64,
) -> AppResult<Option<Vec<u8>>> {
    if seq == 0 {
        return Ok(Some(chain::GENESIS.to_vec()));
    }
    Ok(sqlx::query_scalar(
        "SELECT chain_hash FROM province_log WHERE province_code = $1 AND seq = $2
         UNION ALL
         SELECT chain_hash FROM province_log_checkpoints WHERE province_code = $1 AND seq = $2
         LIMIT 1",
    )
    .bind(province_code)
    .bind(seq)
    .fetch_optional(db)
    .await?)
}

/// A person's sealed ID number and mask, and the provinces where they have records (enrolments,
/// claims or pension enrolments), for ResolvePerson.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRecord {
    pub id_ciphertext: Vec<u8>,
    pub id_key_id: String,
    pub id_masked: String,
    pub provinces: Vec<String>,
}

pub async fn person_record(
    db: impl PgExecutor<'_>,
    person_key: &[u8],
) -> AppResult<Option<PersonRecord>> {
    Ok(sqlx::query_as!(
        PersonRecord,
        r#"SELECT p.id_ciphertext, p.id_key_id, p.id_masked,
                ARRAY(SELECT e.province_code FROM enrolments e WHERE e.person_key = p.person_key
                      UNION SELECT c.province_code FROM claims c WHERE c.person_key = p.person_key
                      UNION SELECT x.province_code FROM pension_enrolments x
                            WHERE x.person_key = p.person_key
                      ORDER BY 1) AS "provinces!"
         FROM persons p WHERE p.person_key = $1"#,
        person_key,
    )
    .fetch_optional(db)
    .await?)
}
