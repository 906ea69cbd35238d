//! Injectable time, so that deadlines and effective dates can be tested by moving the clock.
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use std::sync::Mutex;

pub trait Clock: Send + Sync + 'static {
    /// The current instant, at microsecond precision: what PostgreSQL stores, so a value returned
    /// at write time equals the value read back later.
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in China Standard Time (UTC+8), the calendar the pilot's dates are written in.
    fn today(&self) -> NaiveDate {
        china_date(self.now())
    }
}

/// The calendar day of an instant in China Standard Time (UTC+8, no daylight saving).
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    (at + chrono::Duration::hours(8)).date_naive()
}

/// The first day of the occupational-injury pilot (2022-07-01, China Standard Time): no fact the
/// registry records (an incident, a payment, an order) can be older.
pub const PILOT_START: NaiveDate = match NaiveDate::from_ymd_opt(2022, 7, 1) {
    Some(day) => day,
    None => panic!("a valid date"),
};

/// A recorded fact's instant: not before the pilot began, not after `now`.
pub fn check_fact_instant(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), super::Invalid> {
    if china_date(at) < PILOT_START {
        return Err(super::Invalid::new(format!(
            "must not be before the pilot began ({PILOT_START}, China Standard Time)"
        )));
    }
    if at > now {
        return Err(super::Invalid::new("must not be in the future"));
    }
    Ok(())
}

/// A recorded fact's day (China Standard Time): not before the pilot began, not after `today`.
pub fn check_fact_day(day: NaiveDate, today: NaiveDate) -> Result<(), super::Invalid> {
    if day < PILOT_START {
        return Err(super::Invalid::new(format!(
            "must not be before the pilot began ({PILOT_START})"
        )));
    }
    if day > today {
        return Err(super::Invalid::new(format!(
            "must not be in the future (today is {today}, China Standard Time)"
        )));
    }
    Ok(())
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// The machine's clock moved by a fixed offset: the registry of a training or demonstration copy
/// lives through a claim's months without waiting for them (`serve --clock-offset-days`).
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    offset: chrono::Duration,
}

impl OffsetClock {
    pub fn days(days: i64) -> Self {
        Self {
            offset: chrono::Duration::days(days),
        }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        SystemClock.now() + self.offset
    }
}

/// A clock that stands still until moved; for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instant(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .expect("instant")
            .to_utc()
    }

    #[test]
    fn facts_lie_between_the_pilot_start_and_now() {
        let now = instant("2026-06-15T08:00:00Z");
        assert!(
            check_fact_instant(instant("2022-06-30T16:00:00Z"), now).is_ok(),
            "midnight CST"
        );
        assert!(check_fact_instant(instant("2022-06-30T15:59:59Z"), now).is_err());
        assert!(check_fact_instant(instant("0001-01-01T00:00:00Z"), now).is_err());
        assert!(check_fact_instant(now, now).is_ok());
        assert!(check_fact_instant(now + chrono::Duration::seconds(1), now).is_err());
        let today = china_date(now);
        assert!(check_fact_day(today, today).is_ok());
        assert!(check_fact_day(today + chrono::Duration::days(1), today).is_err());
        assert!(check_fact_day(PILOT_START - chrono::Duration::days(1), today).is_err());
    }

    #[test]
    fn an_offset_clock_runs_whole_days_from_the_machine_clock() {
        let ahead = OffsetClock::days(400).now();
        let machine = SystemClock.now();
        let days = (ahead - machine).num_days();
        assert!((399..=400).contains(&days), "{days}");
        assert!(OffsetClock::days(-3).today() < SystemClock.today());
    }
}
