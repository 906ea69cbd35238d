//! How long records are kept (issue 17): the settings' bounds and the cutoff they give.
use super::Invalid;
use chrono::{DateTime, Months, Utc};

/// PIPL: records of who looked up a person are kept at least three years.
pub const MIN_ACCESS_LOG_YEARS: u32 = 3;
pub const MAX_ACCESS_LOG_YEARS: u32 = 30;
pub const MIN_ORDER_DETAIL_MONTHS: u32 = 1;
pub const MAX_ORDER_DETAIL_MONTHS: u32 = 600;

/// The retention settings (the national row of `retention_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    access_log_years: u32,
    order_detail_months: u32,
}

impl Retention {
    /// Settings within their bounds; the access log's floor is the statutory three years.
    pub fn new(access_log_years: u32, order_detail_months: u32) -> Result<Self, Invalid> {
        if !(MIN_ACCESS_LOG_YEARS..=MAX_ACCESS_LOG_YEARS).contains(&access_log_years) {
            return Err(Invalid::new(format!(
                "the access log is kept {MIN_ACCESS_LOG_YEARS} to {MAX_ACCESS_LOG_YEARS} years \
                 (PIPL: at least {MIN_ACCESS_LOG_YEARS})"
            )));
        }
        if !(MIN_ORDER_DETAIL_MONTHS..=MAX_ORDER_DETAIL_MONTHS).contains(&order_detail_months) {
            return Err(Invalid::new(format!(
                "orders are kept in detail {MIN_ORDER_DETAIL_MONTHS} to \
                 {MAX_ORDER_DETAIL_MONTHS} months"
            )));
        }
        Ok(Self {
            access_log_years,
            order_detail_months,
        })
    }

    pub fn access_log_years(self) -> u32 {
        self.access_log_years
    }

    pub fn order_detail_months(self) -> u32 {
        self.order_detail_months
    }

    /// Access-log rows from before this instant may be purged: the same instant `years` calendar
    /// years earlier. From 29 February it falls back to 28 February, keeping a day more rather
    /// than less; an instant before the calendar's range purges nothing.
    pub fn access_log_cutoff(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        now.checked_sub_months(Months::new(self.access_log_years * 12))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn the_cutoff_is_the_same_instant_whole_years_earlier() {
        let three = Retention::new(3, 24).expect("valid");
        assert_eq!(
            three.access_log_cutoff(at(2026, 11, 30, 13)),
            Some(at(2023, 11, 30, 13))
        );
        let five = Retention::new(5, 24).expect("valid");
        assert_eq!(
            five.access_log_cutoff(at(2026, 1, 1, 0)),
            Some(at(2021, 1, 1, 0))
        );
    }

    #[test]
    fn from_a_leap_day_the_cutoff_keeps_a_day_more() {
        let three = Retention::new(3, 24).expect("valid");
        // 2025 has no 29 February: 28 February, one day older than "three years" could mean.
        assert_eq!(
            three.access_log_cutoff(at(2028, 2, 29, 10)),
            Some(at(2025, 2, 28, 10))
        );
        let four = Retention::new(4, 24).expect("valid");
        assert_eq!(
            four.access_log_cutoff(at(2028, 2, 29, 10)),
            Some(at(2024, 2, 29, 10))
        );
    }

    #[test]
    fn the_access_log_is_kept_at_least_three_years() {
        assert!(Retention::new(2, 24).is_err());
        assert!(Retention::new(0, 24).is_err());
        assert!(Retention::new(3, 24).is_ok());
        assert!(Retention::new(30, 24).is_ok());
        assert!(Retention::new(31, 24).is_err());
    }

    #[test]
    fn order_months_are_bounded() {
        assert!(Retention::new(3, 0).is_err());
        assert!(Retention::new(3, 1).is_ok());
        assert!(Retention::new(3, 600).is_ok());
        assert!(Retention::new(3, 601).is_err());
    }
}
