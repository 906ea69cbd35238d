//! Enrolment of a worker by a platform at a place of employment.
use super::division::ProvinceCode;
use super::{
    Invalid,
    division::PlaceOfEmployment,
    id_number::IdNumber,
    industry::Industry,
    person::{PersonName, Phone},
};
use chrono::NaiveDate;
use std::collections::HashMap;

/// Workers must be at least this old on the first day of cover (the legal working age).
pub const MINIMUM_AGE: i32 = 16;

/// How many days ahead of today a cover may start when nothing else is set (the national default
/// stored by migration 0018; a province may have its own).
pub const DEFAULT_MAX_COVER_START_DAYS_AHEAD: i64 = 30;

/// See [`super::lifecycle`] for the transitions between these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolmentStatus {
    Active,
    Suspended,
    Terminated,
    Transferred,
}

impl EnrolmentStatus {
    pub const ALL: [EnrolmentStatus; 4] = [
        EnrolmentStatus::Active,
        EnrolmentStatus::Suspended,
        EnrolmentStatus::Terminated,
        EnrolmentStatus::Transferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EnrolmentStatus::Active => "active",
            EnrolmentStatus::Suspended => "suspended",
            EnrolmentStatus::Terminated => "terminated",
            EnrolmentStatus::Transferred => "transferred",
        }
    }
}

/// A validated request to enrol a worker; the platform comes from the caller.
#[derive(Debug, Clone)]
pub struct EnrolWorker {
    pub id_number: IdNumber,
    pub name: PersonName,
    pub phone: Phone,
    pub place: PlaceOfEmployment,
    pub industry: Industry,
    pub cover_start: NaiveDate,
}

/// The worker must be at least [`MINIMUM_AGE`] on the first day of cover.
pub fn check_minimum_age(id_number: &IdNumber, cover_start: NaiveDate) -> Result<(), Invalid> {
    if id_number.age_on(cover_start) < MINIMUM_AGE {
        return Err(Invalid::new(format!(
            "the worker must be at least {MINIMUM_AGE} years old on the cover start date"
        )));
    }
    Ok(())
}

/// A cover may start at most `max_days_ahead` days after `today` (China Standard Time): an
/// enrolment is made for work that is about to begin, not reserved years ahead. Past starts are
/// the pilot scope's business.
pub fn check_cover_start(
    cover_start: NaiveDate,
    today: NaiveDate,
    max_days_ahead: i64,
) -> Result<(), Invalid> {
    let latest = today.checked_add_signed(chrono::Duration::days(max_days_ahead));
    match latest {
        Some(latest) if cover_start > latest => Err(Invalid::new(format!(
            "must be at most {max_days_ahead} days after today ({today}, China Standard Time), \
             so not after {latest}"
        ))),
        _ => Ok(()),
    }
}

/// The cover-start windows in force: each province's own, else the national default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverStartWindows {
    national: i64,
    provinces: HashMap<String, i64>,
}

impl CoverStartWindows {
    /// `national` is the default (None: [`DEFAULT_MAX_COVER_START_DAYS_AHEAD`]); `provinces` the
    /// provinces with their own window.
    pub fn new(national: Option<i64>, provinces: impl IntoIterator<Item = (String, i64)>) -> Self {
        Self {
            national: national.unwrap_or(DEFAULT_MAX_COVER_START_DAYS_AHEAD),
            provinces: provinces.into_iter().collect(),
        }
    }

    /// The window of `province`, or the national default's with `None`.
    pub fn days_ahead(&self, province: Option<&ProvinceCode>) -> i64 {
        province
            .and_then(|province| self.provinces.get(province.as_str()))
            .copied()
            .unwrap_or(self.national)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn a_cover_starts_at_most_n_days_ahead() {
        let today = day(2026, 6, 15);
        assert!(check_cover_start(today, today, 30).is_ok(), "today");
        assert!(
            check_cover_start(day(2022, 7, 1), today, 30).is_ok(),
            "the past is not this rule's business"
        );
        assert!(
            check_cover_start(day(2026, 7, 15), today, 30).is_ok(),
            "exactly 30 days ahead"
        );
        let refused = check_cover_start(day(2026, 7, 16), today, 30).expect_err("31 days");
        assert!(refused.0.contains("30 days"), "{refused}");
        assert!(refused.0.contains("2026-07-15"), "{refused}");
        assert!(check_cover_start(day(2099, 12, 31), today, 30).is_err());
        assert!(check_cover_start(today, today, 0).is_ok());
        assert!(check_cover_start(day(2026, 6, 16), today, 0).is_err());
        assert!(check_cover_start(day(2027, 6, 15), today, 365).is_ok());
    }

    #[test]
    fn a_province_window_overrides_the_national_default() {
        let guangdong = ProvinceCode::parse("44").expect("province");
        let beijing = ProvinceCode::parse("11").expect("province");
        let windows = CoverStartWindows::new(Some(10), [("44".to_owned(), 90)]);
        assert_eq!(windows.days_ahead(Some(&guangdong)), 90);
        assert_eq!(windows.days_ahead(Some(&beijing)), 10);
        assert_eq!(windows.days_ahead(None), 10);
        assert_eq!(
            CoverStartWindows::new(None, []).days_ahead(Some(&beijing)),
            DEFAULT_MAX_COVER_START_DAYS_AHEAD
        );
    }

    #[test]
    fn sixteen_on_the_start_date_is_old_enough() {
        // Born 2010-06-15 (check character computed by GB 11643).
        let digits: [u8; 17] = *b"11010520100615001";
        let id = IdNumber::parse(&format!(
            "11010520100615001{}",
            crate::domain::id_number::check_character(&digits)
        ))
        .expect("valid");
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert!(check_minimum_age(&id, day(2026, 6, 15)).is_ok());
        assert!(check_minimum_age(&id, day(2026, 6, 14)).is_err());
    }
}
