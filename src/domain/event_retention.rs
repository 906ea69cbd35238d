//! Federation events kept until their province has acknowledged them (issue 17): the setting's
//! bounds, how an acknowledgement moves, and how far a purge may go.
use super::Invalid;
use chrono::{DateTime, TimeDelta, Utc};

/// Days acknowledged events stay online after their acknowledgement: 0 (purged by the next pass)
/// to ten years; thirty by default.
pub const MIN_EVENT_DAYS_AFTER_ACK: u32 = 0;
pub const MAX_EVENT_DAYS_AFTER_ACK: u32 = 3650;
pub const DEFAULT_EVENT_DAYS_AFTER_ACK: u32 = 30;

/// The retention of acknowledged federation events (a column of the national `retention_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRetention {
    days_after_ack: u32,
}

impl EventRetention {
    pub fn new(days_after_ack: u32) -> Result<Self, Invalid> {
        if !(MIN_EVENT_DAYS_AFTER_ACK..=MAX_EVENT_DAYS_AFTER_ACK).contains(&days_after_ack) {
            return Err(Invalid::new(format!(
                "acknowledged events are kept {MIN_EVENT_DAYS_AFTER_ACK} to \
                 {MAX_EVENT_DAYS_AFTER_ACK} days after their acknowledgement"
            )));
        }
        Ok(Self { days_after_ack })
    }

    pub fn days_after_ack(self) -> u32 {
        self.days_after_ack
    }

    /// Events acknowledged at or before this instant may be purged (whole days of 24 hours).
    pub fn ack_cutoff(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        now.checked_sub_signed(TimeDelta::days(i64::from(self.days_after_ack)))
    }
}

/// What an acknowledgement of `seq` does, given the head and the highest acknowledged seq so far
/// (0 for none). The hash is checked separately, against the chain at `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckStep {
    /// Above the current acknowledgement: recorded.
    Advance,
    /// At or below it: nothing changes (an acknowledgement never moves back).
    Unchanged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckRefused {
    /// Not a seq of the log (seq starts at 1).
    NotPositive,
    /// Beyond the province's head: the copy cannot hold it.
    BeyondHead { head: i64 },
}

pub fn ack_step(seq: i64, head: i64, acknowledged: i64) -> Result<AckStep, AckRefused> {
    if seq < 1 {
        return Err(AckRefused::NotPositive);
    }
    if seq > head {
        return Err(AckRefused::BeyondHead { head });
    }
    Ok(if seq > acknowledged {
        AckStep::Advance
    } else {
        AckStep::Unchanged
    })
}

/// The last seq the next purge batch removes: after the purge point `purged`, up to `limit` events,
/// never past `bound` (the highest seq acknowledged long enough ago). None: nothing to purge.
pub fn next_batch_end(purged: i64, bound: i64, limit: u32) -> Option<i64> {
    (bound > purged).then(|| bound.min(purged.saturating_add(i64::from(limit.max(1)))))
}

/// Whether reading from `seq` (a cursor's after_seq, or a digest's seq) needs events purged
/// already: below the purge point, whose own hash is kept.
pub fn purged_before(seq: i64, purged: i64) -> bool {
    seq < purged
}

/// What a caller is told when it asks for something the purge removed.
pub fn purged_message(province: &str, purged: i64) -> String {
    format!(
        "events up to seq {purged} of province {province} were purged after acknowledgement; \
         read from seq {purged} or later (GetDigest gives its chain hash)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn days_are_bounded_and_default_to_thirty() {
        assert!(EventRetention::new(0).is_ok());
        assert!(EventRetention::new(DEFAULT_EVENT_DAYS_AFTER_ACK).is_ok());
        assert!(EventRetention::new(3650).is_ok());
        assert!(EventRetention::new(3651).is_err());
        assert_eq!(DEFAULT_EVENT_DAYS_AFTER_ACK, 30);
    }

    #[test]
    fn the_cutoff_is_whole_days_back() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
            .single()
            .expect("valid");
        let thirty = EventRetention::new(30).expect("valid");
        assert_eq!(
            thirty.ack_cutoff(now),
            Utc.with_ymd_and_hms(2026, 1, 30, 12, 0, 0).single()
        );
        assert_eq!(
            EventRetention::new(0).expect("valid").ack_cutoff(now),
            Some(now)
        );
    }

    #[test]
    fn an_acknowledgement_never_moves_back() {
        assert_eq!(ack_step(5, 10, 0), Ok(AckStep::Advance));
        assert_eq!(ack_step(10, 10, 5), Ok(AckStep::Advance));
        assert_eq!(ack_step(5, 10, 5), Ok(AckStep::Unchanged));
        assert_eq!(ack_step(3, 10, 5), Ok(AckStep::Unchanged));
        assert_eq!(
            ack_step(11, 10, 5),
            Err(AckRefused::BeyondHead { head: 10 })
        );
        assert_eq!(ack_step(0, 10, 5), Err(AckRefused::NotPositive));
        assert_eq!(ack_step(-1, 10, 0), Err(AckRefused::NotPositive));
    }

    #[test]
    fn a_purge_goes_in_batches_up_to_the_bound() {
        assert_eq!(next_batch_end(0, 25, 10), Some(10));
        assert_eq!(next_batch_end(10, 25, 10), Some(20));
        assert_eq!(next_batch_end(20, 25, 10), Some(25));
        assert_eq!(next_batch_end(25, 25, 10), None, "done");
        assert_eq!(next_batch_end(30, 25, 10), None, "never back");
        assert_eq!(next_batch_end(0, 3, 0), Some(1), "at least one a batch");
        assert_eq!(next_batch_end(i64::MAX - 1, i64::MAX, 10), Some(i64::MAX));
    }

    #[test]
    fn the_purge_point_itself_stays_readable() {
        assert!(purged_before(4, 5));
        assert!(!purged_before(5, 5));
        assert!(!purged_before(6, 5));
        assert!(
            !purged_before(0, 0),
            "nothing purged: the start is readable"
        );
        assert!(purged_before(0, 1), "the start is gone once anything is");
        assert!(purged_message("44", 7).contains("events up to seq 7"));
    }
}
