//! The statutory public holidays of a year (DOMAIN.md, Working days; the national holiday rules as
//! revised in 2024, in force from 2025), computed: what a deadline may count on for a year whose
//! State Council notice (bridge days off, weekend make-up working days) is not loaded yet. The
//! lunar dates come from the Chinese lunisolar calendar (1901-2100); Qingming from the solar-term
//! formula of the 21st century.
use chinese_lunisolar_calendar::LunisolarDate;
use chrono::{Datelike, Days, NaiveDate};

/// The years whose holidays can be computed.
pub const COMPUTED_YEARS: std::ops::RangeInclusive<i32> = 2001..=2099;

fn day(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The solar day of lunar `month`/`day` of the lunar year that begins in `year`.
fn lunar(year: i32, month: u8, day: u8) -> Option<NaiveDate> {
    let year = u16::try_from(year).ok()?;
    LunisolarDate::from_ymd(year, month, false, day)
        .ok()
        .map(LunisolarDate::to_naive_date)
}

/// Qingming (清明), the solar term near 5 April: day = ⌊Y × 0.2422 + 4.81⌋ − ⌊Y / 4⌋ with Y the
/// year within the century (2001-2099).
fn qingming(year: i32) -> Option<NaiveDate> {
    let y = year % 100;
    let d = (f64::from(y) * 0.2422 + 4.81).floor() as i32 - y / 4;
    day(year, 4, u32::try_from(d).ok()?)
}

/// The statutory holidays of `year`, each with its name; empty outside `COMPUTED_YEARS`.
pub fn statutory_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    if !COMPUTED_YEARS.contains(&year) {
        return Vec::new();
    }
    let mut days: Vec<(Option<NaiveDate>, &'static str)> = vec![
        (day(year, 1, 1), "New Year's Day"),
        (qingming(year), "Qingming Festival"),
        (day(year, 5, 1), "Labour Day"),
        (day(year, 5, 2), "Labour Day"),
        (lunar(year, 5, 5), "Dragon Boat Festival"),
        (lunar(year, 8, 15), "Mid-Autumn Festival"),
        (day(year, 10, 1), "National Day"),
        (day(year, 10, 2), "National Day"),
        (day(year, 10, 3), "National Day"),
    ];
    // Spring Festival: lunar New Year's Eve and the first three days of the lunar year.
    if let Some(new_year) = lunar(year, 1, 1) {
        days.push((new_year.checked_sub_days(Days::new(1)), "Spring Festival"));
        for n in 0..3 {
            days.push((new_year.checked_add_days(Days::new(n)), "Spring Festival"));
        }
    }
    let mut holidays: Vec<(NaiveDate, &'static str)> = days
        .into_iter()
        .filter_map(|(day, name)| day.map(|day| (day, name)))
        .filter(|(day, _)| day.year() == year)
        .collect();
    holidays.sort();
    holidays
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn days(year: i32) -> Vec<NaiveDate> {
        statutory_holidays(year)
            .into_iter()
            .map(|(day, _)| day)
            .collect()
    }

    #[test]
    fn the_statutory_holidays_of_2026_match_the_published_ones() {
        // 2026: lunar New Year on 17 February (Eve the 16th), Qingming 5 April, Dragon Boat 19
        // June, Mid-Autumn 25 September: all inside the State Council's 2026 arrangement.
        assert_eq!(
            days(2026),
            [
                "2026-01-01",
                "2026-02-16",
                "2026-02-17",
                "2026-02-18",
                "2026-02-19",
                "2026-04-05",
                "2026-05-01",
                "2026-05-02",
                "2026-06-19",
                "2026-09-25",
                "2026-10-01",
                "2026-10-02",
                "2026-10-03",
            ]
            .map(d)
        );
    }

    #[test]
    fn the_statutory_holidays_of_2027_are_computed() {
        // 2027: lunar New Year on 6 February (Eve the 5th), Qingming 5 April, Dragon Boat 9 June,
        // Mid-Autumn 15 September.
        let computed = days(2027);
        for day in [
            "2027-01-01",
            "2027-02-05",
            "2027-02-06",
            "2027-02-07",
            "2027-02-08",
            "2027-04-05",
            "2027-05-01",
            "2027-05-02",
            "2027-06-09",
            "2027-09-15",
            "2027-10-01",
            "2027-10-02",
            "2027-10-03",
        ] {
            assert!(computed.contains(&d(day)), "{day} in {computed:?}");
        }
        assert_eq!(computed.len(), 13);
        // Qingming of 2025 and 2028 fall on 4 April.
        assert!(days(2025).contains(&d("2025-04-04")));
        assert!(days(2028).contains(&d("2028-04-04")));
        assert!(statutory_holidays(2100).is_empty());
    }
}
