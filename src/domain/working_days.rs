//! Working days in mainland China: Monday to Friday, minus public holidays, plus the weekend days
//! declared working days to make up for them (调休). The holiday table is admin data.
use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    Holiday,
    /// A weekend day worked in exchange for a holiday.
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Holiday => "holiday",
            Self::Workday => "workday",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Holiday, Self::Workday]
            .into_iter()
            .find(|k| k.as_str() == stored)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    exceptions: HashMap<NaiveDate, DayKind>,
}

impl Calendar {
    pub fn new(exceptions: impl IntoIterator<Item = (NaiveDate, DayKind)>) -> Self {
        Self {
            exceptions: exceptions.into_iter().collect(),
        }
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        match self.exceptions.get(&day) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The `n`th working day after `start` (`start` itself does not count).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut day = start;
        let mut counted = 0;
        while counted < n {
            day = day.succ_opt().unwrap_or(day);
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn weekends_do_not_count() {
        let calendar = Calendar::default();
        // Friday 2026-06-05: the next working day is Monday the 8th.
        assert_eq!(
            calendar.add_working_days(d("2026-06-05"), 1),
            d("2026-06-08")
        );
        assert_eq!(
            calendar.add_working_days(d("2026-06-01"), 5),
            d("2026-06-08")
        );
    }

    #[test]
    fn holidays_are_skipped_and_make_up_days_count() {
        // National Day 2026: 1-7 October off, Saturday 10 October worked.
        let mut exceptions: Vec<(NaiveDate, DayKind)> = (1..=7)
            .map(|day| (d(&format!("2026-10-{day:02}")), DayKind::Holiday))
            .collect();
        exceptions.push((d("2026-10-10"), DayKind::Workday));
        let calendar = Calendar::new(exceptions);
        assert!(!calendar.is_working_day(d("2026-10-05")));
        assert!(calendar.is_working_day(d("2026-10-10")));
        // From Wednesday 30 September: Thu 8, Fri 9, Sat 10 (make-up), Mon 12.
        assert_eq!(
            calendar.add_working_days(d("2026-09-30"), 1),
            d("2026-10-08")
        );
        assert_eq!(
            calendar.add_working_days(d("2026-09-30"), 3),
            d("2026-10-10")
        );
        assert_eq!(
            calendar.add_working_days(d("2026-09-30"), 4),
            d("2026-10-12")
        );
    }
}
