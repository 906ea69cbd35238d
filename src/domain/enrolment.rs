//! Enrolment of a worker by a platform at a place of employment.
use super::{
    Invalid,
    division::PlaceOfEmployment,
    id_number::IdNumber,
    industry::Industry,
    person::{PersonName, Phone},
};
use chrono::NaiveDate;

/// Workers must be at least this old on the first day of cover (the legal working age).
pub const MINIMUM_AGE: i32 = 16;

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

    pub fn from_db(value: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| Invalid::new(format!("unknown enrolment status {value:?}")))
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

#[cfg(test)]
mod tests {
    use super::*;

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
