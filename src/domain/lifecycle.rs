//! The enrolment state machine and the rules for when a change may take effect.
//!
//! ```text
//!              suspend                 terminate
//!   ACTIVE ───────────────▶ SUSPENDED ───────────▶ TERMINATED
//!     │  ◀─────────────────    (resume)                ▲
//!     │ transfer                                      │ terminate
//!     ▼                                               │
//!   TRANSFERRED (a new ACTIVE enrolment starts at the new place)   ACTIVE ─┘
//! ```
//!
//! | from \ change | suspend   | resume | terminate  | transfer    |
//! |---------------|-----------|--------|------------|-------------|
//! | active        | suspended | —      | terminated | transferred |
//! | suspended     | —         | active | terminated | — (resume first) |
//! | terminated    | —         | —      | —          | —           |
//! | transferred   | —         | —      | —          | — (the new enrolment carries on) |
//!
//! Terminated and transferred are final. Suspended still counts as open: the platform cannot open a
//! second enrolment for the same person beside it.
use super::Invalid;
use super::enrolment::EnrolmentStatus;
use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Suspend,
    Resume,
    Terminate,
    Transfer,
}

impl Change {
    pub fn verb(self) -> &'static str {
        match self {
            Change::Suspend => "suspended",
            Change::Resume => "resumed",
            Change::Terminate => "terminated",
            Change::Transfer => "transferred",
        }
    }
}

/// A change the current state forbids, phrased for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden(pub String);

/// The state after `change`, or why the current state forbids it.
pub fn apply(current: EnrolmentStatus, change: Change) -> Result<EnrolmentStatus, Forbidden> {
    use Change::*;
    use EnrolmentStatus::*;
    let forbidden = |why: &str| {
        Err(Forbidden(format!(
            "the enrolment is {}: it cannot be {}{why}",
            current.as_str(),
            change.verb()
        )))
    };
    match (current, change) {
        (Active, Suspend) => Ok(Suspended),
        (Active, Terminate) | (Suspended, Terminate) => Ok(Terminated),
        (Active, Transfer) => Ok(Transferred),
        (Suspended, Resume) => Ok(Active),
        (Active, Resume) => forbidden(" (it is not suspended)"),
        (Suspended, Suspend) => forbidden(" again"),
        (Suspended, Transfer) => forbidden("; resume it first"),
        (Terminated, _) => forbidden("; termination is final"),
        (Transferred, _) => forbidden("; act on the enrolment it was transferred to"),
    }
}

/// Why an enrolment changed. Stored by name. `Enrolled` is recorded by the service for the first
/// state of every enrolment; callers give one of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Enrolled,
    WorkerRequest,
    Inactivity,
    LeftPlatform,
    SuspendedByPlatform,
    Moved,
    Deceased,
    DataCorrection,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::Enrolled,
        Reason::WorkerRequest,
        Reason::Inactivity,
        Reason::LeftPlatform,
        Reason::SuspendedByPlatform,
        Reason::Moved,
        Reason::Deceased,
        Reason::DataCorrection,
        Reason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Enrolled => "enrolled",
            Reason::WorkerRequest => "worker_request",
            Reason::Inactivity => "inactivity",
            Reason::LeftPlatform => "left_platform",
            Reason::SuspendedByPlatform => "suspended_by_platform",
            Reason::Moved => "moved",
            Reason::Deceased => "deceased",
            Reason::DataCorrection => "data_correction",
            Reason::Other => "other",
        }
    }
}

crate::code_from_as_str!(Reason, "change reason");

/// The province key of the national defaults of the enrolment windows (backdating, cover start).
pub const NATIONAL_DEFAULT: &str = "00";

/// When a change may take effect: not before the cover started, not before the last recorded
/// change (history stays in order), not in the future, and not more than `max_backdate_days`
/// before `today` (backdating is a common abuse; the window is data).
pub fn check_effective_date(
    effective: NaiveDate,
    cover_start: NaiveDate,
    last_change: NaiveDate,
    today: NaiveDate,
    max_backdate_days: i64,
) -> Result<(), Invalid> {
    if effective < cover_start {
        return Err(Invalid::new(format!(
            "must not precede the enrolment's start {cover_start}"
        )));
    }
    if effective < last_change {
        return Err(Invalid::new(format!(
            "must not precede the enrolment's last change, effective {last_change}"
        )));
    }
    if effective > today {
        return Err(Invalid::new(format!(
            "must not be in the future (today is {today})"
        )));
    }
    let earliest = today - chrono::Duration::days(max_backdate_days);
    if effective < earliest {
        return Err(Invalid::new(format!(
            "may lie at most {max_backdate_days} days in the past (earliest {earliest})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Change::*;
    use EnrolmentStatus::*;

    #[test]
    fn every_allowed_transition() {
        assert_eq!(apply(Active, Suspend), Ok(Suspended));
        assert_eq!(apply(Suspended, Resume), Ok(Active));
        assert_eq!(apply(Active, Terminate), Ok(Terminated));
        assert_eq!(apply(Suspended, Terminate), Ok(Terminated));
        assert_eq!(apply(Active, Transfer), Ok(Transferred));
    }

    #[test]
    fn every_refused_transition_names_the_state() {
        let refused = [
            (Active, Resume),
            (Suspended, Suspend),
            (Suspended, Transfer),
            (Terminated, Suspend),
            (Terminated, Resume),
            (Terminated, Terminate),
            (Terminated, Transfer),
            (Transferred, Suspend),
            (Transferred, Resume),
            (Transferred, Terminate),
            (Transferred, Transfer),
        ];
        for (state, change) in refused {
            let Forbidden(message) = apply(state, change).expect_err("refused");
            assert!(message.contains(state.as_str()), "{message}");
            assert!(message.contains(change.verb()), "{message}");
        }
    }

    #[test]
    fn reasons_are_stored_by_distinct_names() {
        use crate::domain::code::Code;
        for reason in Reason::ALL {
            assert_eq!(Reason::from_code(reason.code()), Some(reason));
        }
        let mut names: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Reason::ALL.len());
        assert_eq!(Reason::from_code("enrolled"), Some(Reason::Enrolled));
        assert_eq!(Reason::from_code("Moved"), None);
    }

    #[test]
    fn effective_dates() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).expect("date");
        let check =
            |effective| check_effective_date(effective, day(3, 1), day(4, 1), day(6, 15), 30);
        assert!(check(day(6, 15)).is_ok(), "today");
        assert!(check(day(5, 16)).is_ok(), "30 days back");
        assert!(
            check(day(5, 15))
                .expect_err("31 days")
                .0
                .contains("30 days")
        );
        assert!(check(day(6, 16)).expect_err("future").0.contains("future"));
        assert!(
            check(day(3, 31))
                .expect_err("before last")
                .0
                .contains("last change")
        );
        let before_start = check_effective_date(day(2, 1), day(3, 1), day(3, 1), day(3, 5), 365);
        assert!(before_start.expect_err("before start").0.contains("start"));
    }
}
