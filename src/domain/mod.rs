//! Pure rules of the domain: identity numbers, division codes, credit codes, roles, masking.
//! No I/O here; every type can only hold a valid value (parse, don't validate).

pub mod benefits;
pub mod chain;
pub mod claim;
pub mod clock;
pub mod code;
pub mod credit_code;
pub mod division;
pub mod enrolment;
pub mod event_retention;
pub mod holidays;
pub mod id_number;
pub mod industry;
pub mod late_fee;
pub mod lifecycle;
pub mod masking;
pub mod money;
pub mod pension;
pub mod periodic;
pub mod person;
pub mod pilot;
pub mod platform;
pub mod rates;
pub mod retention;
pub mod role;
pub mod settlement;
pub mod supervision;
pub mod text;
pub mod working_days;

/// Why a value was refused, phrased for the caller. Never contains the refused value itself,
/// because the value may be personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
