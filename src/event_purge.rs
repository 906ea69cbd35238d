//! The maintenance step that purges acknowledged federation events (issue 17): for each province,
//! the events up to its highest seq acknowledged at least `event_days_after_ack` days ago, in
//! batches of one short transaction each (log rows, payloads, the purge point and the record in
//! `maintenance_log` together). A pass cut short continues from the purge point; a rerun finds
//! nothing due. Run by [`crate::maintenance::pass`] under its lock.
use crate::domain::event_retention::next_batch_end;
use crate::store::event_retention as store;
use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

/// What the step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPurge {
    pub days_after_ack: u32,
    /// Events acknowledged at or before this instant were due.
    pub cutoff: Option<DateTime<Utc>>,
    /// Per province with something due, in code order.
    pub provinces: Vec<ProvincePurge>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvincePurge {
    pub province_code: String,
    /// Events removed from the log (and their payloads from `events`).
    pub rows: u64,
    pub batches: u64,
    /// The purge point afterwards: every event up to it is gone.
    pub purged_through: i64,
}

impl EventPurge {
    pub fn rows(&self) -> u64 {
        self.provinces.iter().map(|p| p.rows).sum()
    }
}

pub async fn step(
    connection: &mut PgConnection,
    now: DateTime<Utc>,
    batch_size: u32,
) -> anyhow::Result<EventPurge> {
    let retention = store::read(&mut *connection).await?;
    let mut report = EventPurge {
        days_after_ack: retention.days_after_ack(),
        cutoff: retention.ack_cutoff(now),
        provinces: Vec::new(),
    };
    let Some(cutoff) = report.cutoff else {
        return Ok(report);
    };
    for mut due in store::due(&mut *connection, cutoff).await? {
        let mut done = ProvincePurge {
            province_code: due.province_code.clone(),
            rows: 0,
            batches: 0,
            purged_through: due.purged,
        };
        while let Some(end) = next_batch_end(due.purged, due.bound, batch_size) {
            let mut tx = connection.begin().await?;
            let purged = store::purge_batch(&mut tx, &due, end, (cutoff, now)).await?;
            tx.commit().await?;
            if purged == 0 {
                break; // the purge point moved under us (cannot happen under the lock)
            }
            done.rows += purged;
            done.batches += 1;
            done.purged_through = end;
            due.purged = end;
        }
        report.provinces.push(done);
    }
    Ok(report)
}

/// Serve's log line for the step: one per province purged.
pub fn log(events: &EventPurge) {
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
}

/// `maintain`'s lines for the federation events: one per province with something due.
pub fn print(events: &EventPurge) {
    let cutoff = events
        .cutoff
        .map_or_else(|| "none".to_owned(), |cutoff| cutoff.to_rfc3339());
    eprintln!(
        "federation events: kept {} days after acknowledgement; purged {} events acknowledged \
         before {cutoff} in {} provinces",
        events.days_after_ack,
        events.rows(),
        events.provinces.len()
    );
    for province in &events.provinces {
        println!(
            "events province={} purged={} batches={} purged_through_seq={}",
            province.province_code, province.rows, province.batches, province.purged_through
        );
    }
}
