//! How long records are kept (issue 17): the settings' bounds and the cutoff they give.
use super::Invalid;
use super::claim::ClaimStatus;
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

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

    /// Whether a month's orders are past their detail retention on `today` (China Standard
    /// Time): `order_detail_months` whole months after the month ended. The month's declarations
    /// must also be final and no claim deciding coverage may cite it; those are facts of the
    /// database, checked by the archive step.
    pub fn order_month_expired(self, month: NaiveDate, today: NaiveDate) -> bool {
        month
            .checked_add_months(Months::new(self.order_detail_months + 1))
            .is_some_and(|kept_until| kept_until <= today)
    }

    /// The first month (its first day) not yet expired on `today`: partitions are created from
    /// it, and orders of earlier months are refused.
    pub fn first_month_kept(self, today: NaiveDate) -> NaiveDate {
        let this_month = today.with_day(1).unwrap_or(today);
        this_month
            .checked_sub_months(Months::new(self.order_detail_months))
            .unwrap_or(NaiveDate::MIN)
    }
}

/// Whether a claim in this status may still cite the orders of its month: while its coverage is
/// being decided (reported, applied) or may be appealed (not confirmed). From confirmation on the
/// claim keeps what it needs (covered, the enrolment and the covering order's id) itself.
pub fn claim_cites_orders(status: ClaimStatus) -> bool {
    matches!(
        status,
        ClaimStatus::Reported | ClaimStatus::Applied | ClaimStatus::NotConfirmed
    )
}

/// The statuses of [`claim_cites_orders`], as stored.
pub fn statuses_citing_orders() -> Vec<&'static str> {
    ClaimStatus::ALL
        .into_iter()
        .filter(|status| claim_cites_orders(*status))
        .map(ClaimStatus::as_str)
        .collect()
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

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid")
    }

    #[test]
    fn a_month_expires_whole_months_after_it_ended() {
        let two = Retention::new(3, 2).expect("valid");
        // August ends 1 September; kept September and October; archivable from 1 November.
        assert!(!two.order_month_expired(day(2026, 8, 1), day(2026, 10, 31)));
        assert!(two.order_month_expired(day(2026, 8, 1), day(2026, 11, 1)));
        assert!(!two.order_month_expired(day(2026, 9, 1), day(2026, 11, 30)));
        let default = Retention::new(3, 24).expect("valid");
        assert!(!default.order_month_expired(day(2024, 10, 1), day(2026, 10, 31)));
        assert!(default.order_month_expired(day(2024, 10, 1), day(2026, 11, 1)));
        // The first month kept is the first not expired.
        for today in [day(2026, 11, 1), day(2026, 11, 30), day(2028, 3, 1)] {
            let first = default.first_month_kept(today);
            assert!(!default.order_month_expired(first, today), "{today}");
            let before = first.checked_sub_months(Months::new(1)).expect("month");
            assert!(default.order_month_expired(before, today), "{today}");
        }
        assert_eq!(two.first_month_kept(day(2026, 11, 30)), day(2026, 9, 1));
    }

    #[test]
    fn only_claims_deciding_coverage_cite_orders() {
        assert_eq!(
            statuses_citing_orders(),
            vec!["reported", "applied", "not_confirmed"]
        );
        assert!(!claim_cites_orders(ClaimStatus::InPayment));
        assert!(!claim_cites_orders(ClaimStatus::Confirmed));
    }

    #[test]
    fn order_months_are_bounded() {
        assert!(Retention::new(3, 0).is_err());
        assert!(Retention::new(3, 1).is_ok());
        assert!(Retention::new(3, 600).is_ok());
        assert!(Retention::new(3, 601).is_err());
    }
}
