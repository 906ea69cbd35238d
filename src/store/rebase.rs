//! The sequencer after a logical restore (pg_dump into another cluster): the restored events
//! carry the old cluster's transaction ids and the frontier is the old cluster's, but the new
//! cluster counts transactions from near zero. Its snapshots' xmin is then *below* the frontier —
//! impossible otherwise, since the frontier is an earlier xmin — and no pass range would ever hold
//! a new event again: the federation would stop. (A physical backup keeps the counter; nothing
//! to do there.)
//!
//! The rebase, once, under the sequencer lock: every visible unnumbered event is numbered — the
//! restored ones first (they were written before anything in this cluster), in their old order —
//! then the old cluster's events are moved below every future pass range (`writer_xid = 1`: they
//! are all numbered, and only the sequencer reads the column) and the frontier is set to this
//! cluster's xmin. Transactions still open here have ids at or above that xmin and are numbered by
//! the usual passes.
use super::Tx;
use super::federation::{Pass, Ready, number};
use crate::error::AppResult;
use chrono::{DateTime, Utc};

/// Whether the snapshot's xmin `new` is below the frontier `old`.
pub fn counter_went_back(old: &str, new: &str) -> bool {
    matches!((old.parse::<u64>(), new.parse::<u64>()), (Ok(old), Ok(new)) if new < old)
}

pub async fn rebase(tx: &mut Tx, old: &str, new: &str, now: DateTime<Utc>) -> AppResult<Pass> {
    let ready: Vec<Ready> = sqlx::query_as(
        "SELECT e.province_code::text AS province_code, e.event_id, e.payload FROM events e
          WHERE NOT EXISTS (SELECT 1 FROM province_log l
                             WHERE l.province_code = e.province_code AND l.event_id = e.event_id)
            AND (e.writer_xid >= $1::xid8 OR e.writer_xid < $2::xid8)
          ORDER BY (e.writer_xid >= $1::xid8) DESC, e.writer_xid, e.event_id",
    )
    .bind(old)
    .bind(new)
    .fetch_all(&mut **tx)
    .await?;
    if !ready.is_empty() {
        number(tx, &ready, now).await?;
    }
    // Rows of this cluster's finished transactions are all below `new`; those at or above it
    // came from the old cluster (this cluster's open transactions are invisible here).
    let moved =
        sqlx::query("UPDATE events SET writer_xid = '1'::xid8 WHERE writer_xid >= $1::xid8")
            .bind(new)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    let frontier = sqlx::query(
        "UPDATE sequencer_frontier SET frontier = $2::xid8, passes = passes + 1, updated_at = $3
         WHERE frontier = $1::xid8",
    )
    .bind(old)
    .bind(new)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if frontier.rows_affected() != 1 {
        return Err(anyhow::anyhow!("the sequencer frontier moved under a rebase").into());
    }
    if !ready.is_empty() {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(super::federation::CHANNEL)
            .execute(&mut **tx)
            .await?;
    }
    tracing::warn!(
        old_frontier = old,
        new_frontier = new,
        numbered = ready.len(),
        events_moved = moved,
        "the transaction counter is behind the sequencer's frontier (a logical restore into \
         another cluster): rebased the sequencer onto this cluster"
    );
    Ok(Pass {
        numbered: ready.len(),
        skipped: false,
        more: false,
    })
}

#[cfg(test)]
mod tests {
    use super::counter_went_back;

    #[test]
    fn only_a_counter_below_the_frontier_is_a_restore() {
        assert!(counter_went_back("1000000", "750"));
        assert!(!counter_went_back("750", "750"), "an idle cluster");
        assert!(!counter_went_back("750", "1000000"), "the usual case");
        // Compared as numbers, not text.
        assert!(!counter_went_back("999", "1000"));
    }
}
