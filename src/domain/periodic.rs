//! Periodic benefits in payment (DOMAIN.md, Claims §7): the monthly disability allowance of grades
//! 1–4 and each dependant's pension run from the month of the assessment, one payment per item per
//! month, each at most that month's entitlement, until an end (the worker's or the dependant's
//! death, a dependant's eligibility ending), with suspensions and resumptions in between. Months
//! are calendar months (China Standard Time), held as `Period`.
use super::benefits::BenefitKind;
use super::claim::Refused;
use super::late_fee::Period;
use super::money::{Fen, div_round_half_up};
use chrono::{Datelike, NaiveDate};
use std::ops::RangeInclusive;

/// A change of a periodic benefit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// No month after the one it takes effect in is due; final.
    End,
    /// No month from the one it takes effect in is due, until resumed.
    Suspend,
    /// Months from the one it takes effect in are due again.
    Resume,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 3] = [Self::End, Self::Suspend, Self::Resume];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::End => "end",
            Self::Suspend => "suspend",
            Self::Resume => "resume",
        }
    }
}

crate::code_from_as_str!(ChangeKind, "periodic benefit change");

/// Why a periodic benefit changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeReason {
    /// The worker died: the disability allowance ends (death benefits are a claim of their own).
    WorkerDied,
    /// The dependant died: that pension ends.
    DependantDied,
    /// The dependant is no longer eligible (a child past the age of the claim policy, and no
    /// longer in full-time education or unable to work; a spouse who remarried).
    EligibilityEnded,
    /// The beneficiary refuses a labour-capacity appraisal (suspension).
    RefusedAppraisal,
    /// The worker refuses treatment (suspension).
    RefusedTreatment,
    /// The beneficiary is serving a prison sentence (suspension).
    Imprisoned,
    /// The grounds of a suspension have ended (resumption).
    GroundsEnded,
}

impl ChangeReason {
    pub const ALL: [ChangeReason; 7] = [
        Self::WorkerDied,
        Self::DependantDied,
        Self::EligibilityEnded,
        Self::RefusedAppraisal,
        Self::RefusedTreatment,
        Self::Imprisoned,
        Self::GroundsEnded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkerDied => "worker_died",
            Self::DependantDied => "dependant_died",
            Self::EligibilityEnded => "eligibility_ended",
            Self::RefusedAppraisal => "refused_appraisal",
            Self::RefusedTreatment => "refused_treatment",
            Self::Imprisoned => "imprisoned",
            Self::GroundsEnded => "grounds_ended",
        }
    }

    /// Whether this reason may bring about `change` of a benefit of `kind`.
    pub fn fits(self, change: ChangeKind, kind: BenefitKind) -> bool {
        use BenefitKind::{DependantPension, DisabilityAllowance};
        match (change, self) {
            (ChangeKind::End, Self::WorkerDied) => kind == DisabilityAllowance,
            (ChangeKind::End, Self::DependantDied | Self::EligibilityEnded) => {
                kind == DependantPension
            }
            (ChangeKind::Suspend, Self::RefusedAppraisal | Self::Imprisoned) => true,
            (ChangeKind::Suspend, Self::RefusedTreatment) => kind == DisabilityAllowance,
            (ChangeKind::Resume, Self::GroundsEnded) => true,
            _ => false,
        }
    }
}

crate::code_from_as_str!(ChangeReason, "periodic benefit change reason");

/// The ages the claim policy may set for the end of a child's pension.
pub const CHILD_PENSION_UNTIL_AGE: RangeInclusive<i32> = 14..=30;

/// The first day on which a dependant born on `birth_date` is no longer eligible by age: the
/// birthday of `until_age` (29 February births: 1 March in common years).
pub fn eligible_before(birth_date: NaiveDate, until_age: i32) -> NaiveDate {
    let year = birth_date.year() + until_age;
    NaiveDate::from_ymd_opt(year, birth_date.month(), birth_date.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or(birth_date)
}

/// A province's adjustment of periodic amounts: from its effective month on, each month's
/// entitlement is the amount so far times (1 + basis_points / 10,000), rounded half-up to the fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjustment {
    /// Its version, kept with every amount it shaped.
    pub id: i64,
    pub effective: Period,
    pub basis_points: i32,
}

/// What an adjustment may be: -50% to +50%, in hundredths of a percent.
pub const ADJUSTMENT_BASIS_POINTS: RangeInclusive<i32> = -5_000..=5_000;

/// An adjustment takes effect from a month not before the current one: a month already due is
/// never re-priced (one payment per month could not make up the difference).
pub fn check_adjustment_month(effective: Period, today: NaiveDate) -> Result<(), Refused> {
    let current = Period::containing(today);
    if effective < current {
        return Err(Refused(format!(
            "must not be before the current month, {}",
            show(current)
        )));
    }
    Ok(())
}

/// The versions of the adjustments an amount used, as stored beside it: `adj-3+adj-7`, or `none`.
pub fn adjustment_version(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    ids.iter()
        .map(|id| format!("adj-{id}"))
        .collect::<Vec<_>>()
        .join("+")
}

/// A month's entitlement and the adjustments that shaped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub amount: Fen,
    pub adjustments: Vec<i64>,
}

impl Entitlement {
    pub fn version(&self) -> String {
        adjustment_version(&self.adjustments)
    }
}

/// A recorded change and the day it takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub reason: ChangeReason,
    pub effective_on: NaiveDate,
}

/// Where a periodic benefit stands after its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Running,
    Suspended { since: NaiveDate },
    Ended { on: NaiveDate },
}

/// One periodic item: its monthly entitlement and what bounds its months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub kind: BenefitKind,
    /// Each month's entitlement.
    pub monthly: Fen,
    /// The day of the assessment: months are due from its month.
    pub assessed_on: NaiveDate,
    /// A dependant's age limit: months that begin on or after this day are not due.
    pub eligible_before: Option<NaiveDate>,
    /// The recorded changes, in the order recorded (their days never go back).
    pub changes: Vec<Change>,
    /// The province's adjustments, by effective month; those effective after the assessment's
    /// month apply.
    pub adjustments: Vec<Adjustment>,
    /// The same item in earlier versions of the assessment assessed before this one (a review
    /// re-assesses from its own day): their amounts still hold for the months before, oldest first.
    pub earlier: Vec<Segment>,
}

/// An earlier version's amount of a periodic item, from the month of its assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub assessed_on: NaiveDate,
    pub monthly: Fen,
}

impl Schedule {
    /// The entitlement of `month`: the assessed amount, adjusted by each adjustment effective
    /// after the assessment's month and by `month`, in order, each rounded half-up once.
    pub fn entitlement(&self, month: Period) -> Entitlement {
        let segment = self.segment_for(month);
        let first = Period::containing(segment.assessed_on);
        let mut amount = i128::from(segment.monthly.0);
        let mut used = Vec::new();
        for adjustment in self
            .adjustments
            .iter()
            .filter(|a| a.effective > first && a.effective <= month)
        {
            amount = div_round_half_up(
                amount * (10_000 + i128::from(adjustment.basis_points)),
                10_000,
            );
            used.push(adjustment.id);
        }
        Entitlement {
            amount: Fen(i64::try_from(amount).unwrap_or(i64::MAX)),
            adjustments: used,
        }
    }

    /// The version whose amount holds in `month`: the latest assessed by then (the earliest for a
    /// month before every version, which is never due).
    fn segment_for(&self, month: Period) -> Segment {
        let current = Segment {
            assessed_on: self.assessed_on,
            monthly: self.monthly,
        };
        std::iter::once(current)
            .chain(self.earlier.iter().rev().copied())
            .find(|segment| Period::containing(segment.assessed_on) <= month)
            .or_else(|| self.earlier.first().copied())
            .unwrap_or(current)
    }

    /// The month the benefit runs from: that of its first version's assessment.
    fn first_month(&self) -> Period {
        let first = self.earlier.first().map_or(self.assessed_on, |segment| {
            segment.assessed_on.min(self.assessed_on)
        });
        Period::containing(first)
    }

    pub fn standing(&self) -> Standing {
        self.changes
            .iter()
            .fold(Standing::Running, |standing, change| match change.kind {
                ChangeKind::End => Standing::Ended {
                    on: change.effective_on,
                },
                ChangeKind::Suspend => Standing::Suspended {
                    since: change.effective_on,
                },
                ChangeKind::Resume => match standing {
                    Standing::Ended { .. } => standing,
                    _ => Standing::Running,
                },
            })
    }

    /// Whether the benefit still runs (suspended counts: it may resume).
    pub fn running(&self) -> bool {
        !matches!(self.standing(), Standing::Ended { .. })
    }

    /// Whether `month` is due by the schedule, or why not. `current` is the month of today (no
    /// later month is due yet). A month is due from the assessment's month on; through the month
    /// an end takes effect in; not from the month a suspension takes effect in until the month of
    /// the resumption; and not when it begins on or after a dependant's age limit.
    pub fn check_month(&self, month: Period, current: Period) -> Result<(), Refused> {
        let refused = |why: String| Err(Refused(format!("{} is not due: {why}", show(month))));
        let first = self.first_month();
        if month < first {
            return refused(format!(
                "the benefit runs from the month of the assessment, {}",
                show(first)
            ));
        }
        if month > current {
            return refused(format!("the current month is {}", show(current)));
        }
        if let Some(limit) = self
            .eligible_before
            .filter(|limit| month.first_day() >= *limit)
        {
            return refused(format!(
                "the dependant's eligibility by age ended on {}",
                limit.pred_opt().unwrap_or(limit)
            ));
        }
        let mut suspended_from: Option<Period> = None;
        for change in &self.changes {
            let at = Period::containing(change.effective_on);
            match change.kind {
                ChangeKind::End if month > at => {
                    return refused(format!("the benefit ended on {}", change.effective_on));
                }
                ChangeKind::End => {}
                ChangeKind::Suspend => suspended_from = Some(at),
                ChangeKind::Resume => {
                    if let Some(from) = suspended_from.take()
                        && (from..at).contains(&month)
                    {
                        return refused(format!(
                            "the benefit was suspended from {} until {}",
                            show(from),
                            show(at)
                        ));
                    }
                }
            }
        }
        match suspended_from {
            Some(from) if month >= from => refused("the benefit is suspended".into()),
            _ => Ok(()),
        }
    }

    /// The months due through `through` (inclusive), in order.
    pub fn due_months(&self, through: Period) -> Vec<Period> {
        let mut months = Vec::new();
        let mut month = self.first_month();
        while month <= through {
            if self.check_month(month, through).is_ok() {
                months.push(month);
            }
            let next = month.next();
            if next == month {
                break;
            }
            month = next;
        }
        months
    }

    /// A payment of `amount` for `month`, `paid` having been paid for it already: the month must
    /// be due, unpaid, and the amount at most its entitlement (less is allowed: the shortfall
    /// stays visible in the list of what is due).
    pub fn check_payment(
        &self,
        month: Period,
        current: Period,
        amount: Fen,
        already_paid: Option<Fen>,
    ) -> Result<Entitlement, Refused> {
        self.check_month(month, current)?;
        if let Some(paid) = already_paid {
            return Err(Refused(format!(
                "{} of {} was already paid for {} (one payment per month)",
                paid,
                self.kind.as_str(),
                show(month)
            )));
        }
        let entitlement = self.entitlement(month);
        if amount > entitlement.amount {
            return Err(Refused(format!(
                "at most {} yuan of {} is due for {} (adjustments: {})",
                entitlement.amount,
                self.kind.as_str(),
                show(month),
                entitlement.version()
            )));
        }
        Ok(entitlement)
    }

    /// Whether `change` may be recorded now: its reason fits, it does not precede the assessment
    /// or the last change, and the benefit is in a state it applies to.
    pub fn check_change(&self, change: &Change) -> Result<(), Refused> {
        if !change.reason.fits(change.kind, self.kind) {
            return Err(Refused(format!(
                "{} is not a reason to {} a {}",
                change.reason.as_str(),
                change.kind.as_str(),
                self.kind.as_str()
            )));
        }
        let latest = self.changes.last().map_or(self.assessed_on, |last| {
            last.effective_on.max(self.assessed_on)
        });
        if change.effective_on < latest {
            return Err(Refused(format!(
                "must not be before {latest} (the assessment or the last change)"
            )));
        }
        match (self.standing(), change.kind) {
            (Standing::Ended { on }, _) => Err(Refused(format!("the benefit ended on {on}"))),
            (Standing::Suspended { since }, ChangeKind::Suspend) => Err(Refused(format!(
                "the benefit is already suspended since {since}"
            ))),
            (Standing::Running, ChangeKind::Resume) => {
                Err(Refused("the benefit is not suspended".into()))
            }
            _ => Ok(()),
        }
    }
}

/// A month as written on the wire, `YYYY-MM`.
pub fn show(month: Period) -> String {
    month.first_day().format("%Y-%m").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn m(text: &str) -> Period {
        Period::parse(text).expect("month")
    }

    /// A grade-1 allowance, 90% of a 10,000-yuan base, assessed on 20 July 2026.
    fn allowance() -> Schedule {
        Schedule {
            kind: BenefitKind::DisabilityAllowance,
            monthly: Fen(900_000),
            assessed_on: d("2026-07-20"),
            eligible_before: None,
            changes: vec![],
            adjustments: vec![],
            earlier: vec![],
        }
    }

    #[test]
    fn a_review_changes_the_amount_from_its_month_and_the_months_before_keep_theirs() {
        // Assessed grade 2 (8,500 yuan) on 20 July 2026; reviewed to grade 1 (9,000 yuan) on
        // 3 August 2027; Guangdong raised benefits 3.5% from December 2026.
        let schedule = Schedule {
            monthly: Fen(900_000),
            assessed_on: d("2027-08-03"),
            earlier: vec![Segment {
                assessed_on: d("2026-07-20"),
                monthly: Fen(850_000),
            }],
            adjustments: vec![Adjustment {
                id: 1,
                effective: m("2026-12"),
                basis_points: 350,
            }],
            ..allowance()
        };
        let current = m("2027-09");
        let months = schedule.due_months(current);
        assert_eq!(
            months.first(),
            Some(&m("2026-07")),
            "from the first version"
        );
        assert_eq!(months.len(), 15, "July 2026 to September 2027");
        assert_eq!(schedule.entitlement(m("2026-11")).amount, Fen(850_000));
        // 850,000 x 1.035 = 879,750: the earlier version, adjusted.
        assert_eq!(schedule.entitlement(m("2027-07")).amount, Fen(879_750));
        // From the review's month the new amount, assessed after the adjustment took effect.
        assert_eq!(schedule.entitlement(m("2027-08")).amount, Fen(900_000));
        assert!(schedule.check_month(m("2027-02"), current).is_ok());
        assert!(schedule.check_month(m("2026-06"), current).is_err());
    }

    #[test]
    fn months_run_from_the_assessment_month_to_the_current_month() {
        let schedule = allowance();
        let current = m("2026-09");
        assert!(schedule.check_month(m("2026-07"), current).is_ok());
        assert!(schedule.check_month(m("2026-09"), current).is_ok());
        let early = schedule
            .check_month(m("2026-06"), current)
            .expect_err("before");
        assert!(early.0.contains("2026-07"), "{}", early.0);
        let ahead = schedule
            .check_month(m("2026-10"), current)
            .expect_err("ahead");
        assert!(ahead.0.contains("current month is 2026-09"), "{}", ahead.0);
        assert_eq!(
            schedule.due_months(current),
            vec![m("2026-07"), m("2026-08"), m("2026-09")]
        );
    }

    #[test]
    fn one_payment_per_month_at_most_the_entitlement() {
        let schedule = allowance();
        let current = m("2026-08");
        assert!(
            schedule
                .check_payment(m("2026-08"), current, Fen(900_000), None)
                .is_ok()
        );
        // Partial is allowed; the shortfall is listed as due.
        assert!(
            schedule
                .check_payment(m("2026-08"), current, Fen(1), None)
                .is_ok()
        );
        let over = schedule
            .check_payment(m("2026-08"), current, Fen(900_001), None)
            .expect_err("above the entitlement");
        assert!(over.0.contains("at most 9000.00 yuan"), "{}", over.0);
        let twice = schedule
            .check_payment(m("2026-07"), current, Fen(1), Some(Fen(900_000)))
            .expect_err("second payment");
        assert!(twice.0.contains("already paid for 2026-07"), "{}", twice.0);
    }

    #[test]
    fn suspension_skips_months_until_resumed_and_an_end_is_final() {
        let mut schedule = allowance();
        let suspend = Change {
            kind: ChangeKind::Suspend,
            reason: ChangeReason::Imprisoned,
            effective_on: d("2026-09-10"),
        };
        assert!(schedule.check_change(&suspend).is_ok());
        schedule.changes.push(suspend);
        assert_eq!(
            schedule.standing(),
            Standing::Suspended {
                since: d("2026-09-10")
            }
        );
        assert!(schedule.check_change(&suspend).is_err(), "suspended twice");
        let resume = Change {
            kind: ChangeKind::Resume,
            reason: ChangeReason::GroundsEnded,
            effective_on: d("2026-11-02"),
        };
        schedule.changes.push(resume);
        // September and October are not due; November is again.
        assert_eq!(
            schedule.due_months(m("2026-12")),
            vec![m("2026-07"), m("2026-08"), m("2026-11"), m("2026-12")]
        );
        let death = Change {
            kind: ChangeKind::End,
            reason: ChangeReason::WorkerDied,
            effective_on: d("2027-01-15"),
        };
        assert!(schedule.check_change(&death).is_ok());
        schedule.changes.push(death);
        assert!(!schedule.running());
        // The month of death is paid in full; none after.
        assert!(schedule.check_month(m("2027-01"), m("2027-03")).is_ok());
        let after = schedule
            .check_month(m("2027-02"), m("2027-03"))
            .expect_err("ended");
        assert!(after.0.contains("ended on 2027-01-15"), "{}", after.0);
        assert!(
            schedule.check_change(&resume).is_err(),
            "nothing after an end"
        );
    }

    #[test]
    fn changes_need_a_fitting_reason_and_never_go_back() {
        let schedule = allowance();
        let wrong = Change {
            kind: ChangeKind::End,
            reason: ChangeReason::EligibilityEnded,
            effective_on: d("2026-08-01"),
        };
        assert!(schedule.check_change(&wrong).is_err(), "not a dependant");
        let before = Change {
            kind: ChangeKind::End,
            reason: ChangeReason::WorkerDied,
            effective_on: d("2026-07-19"),
        };
        let refused = schedule
            .check_change(&before)
            .expect_err("before the assessment");
        assert!(refused.0.contains("2026-07-20"), "{}", refused.0);
        let resume = Change {
            kind: ChangeKind::Resume,
            reason: ChangeReason::GroundsEnded,
            effective_on: d("2026-08-01"),
        };
        assert!(schedule.check_change(&resume).is_err(), "not suspended");
    }

    #[test]
    fn a_childs_pension_ends_at_the_age_of_the_policy() {
        // Born 15 October 2008; 18 on 15 October 2026: October is still due (it began before the
        // birthday), November is not.
        let limit = eligible_before(d("2008-10-15"), 18);
        assert_eq!(limit, d("2026-10-15"));
        let schedule = Schedule {
            kind: BenefitKind::DependantPension,
            monthly: Fen(85_714),
            assessed_on: d("2026-07-20"),
            eligible_before: Some(limit),
            changes: vec![],
            adjustments: vec![],
            earlier: vec![],
        };
        assert_eq!(
            schedule.due_months(m("2026-12")),
            vec![m("2026-07"), m("2026-08"), m("2026-09"), m("2026-10")]
        );
        let refused = schedule
            .check_month(m("2026-11"), m("2026-12"))
            .expect_err("past the age");
        assert!(refused.0.contains("2026-10-14"), "{}", refused.0);
        // Born on 1 November: November begins on the birthday and is not due.
        assert_eq!(eligible_before(d("2008-11-01"), 18), d("2026-11-01"));
        assert_eq!(eligible_before(d("2008-02-29"), 18), d("2026-03-01"));
    }

    #[test]
    fn adjustments_raise_the_months_from_their_effective_month_and_are_kept_as_versions() {
        // +5% from August 2026 (version 3), then -2.5% from January 2027 (version 7).
        let mut schedule = allowance();
        schedule.adjustments = vec![
            Adjustment {
                id: 3,
                effective: m("2026-08"),
                basis_points: 500,
            },
            Adjustment {
                id: 7,
                effective: m("2027-01"),
                basis_points: -250,
            },
        ];
        assert_eq!(
            schedule.entitlement(m("2026-07")),
            Entitlement {
                amount: Fen(900_000),
                adjustments: vec![]
            }
        );
        // 9,000 x 1.05 = 9,450 yuan.
        assert_eq!(schedule.entitlement(m("2026-08")).amount, Fen(945_000));
        // 9,450 x 0.975 = 9,213.75 yuan.
        let january = schedule.entitlement(m("2027-01"));
        assert_eq!(january.amount, Fen(921_375));
        assert_eq!(january.version(), "adj-3+adj-7");
        assert_eq!(schedule.entitlement(m("2026-07")).version(), "none");
        // A payment is checked against the month's adjusted entitlement.
        let current = m("2027-01");
        assert!(
            schedule
                .check_payment(m("2026-08"), current, Fen(945_000), None)
                .is_ok()
        );
        let over = schedule
            .check_payment(m("2026-07"), current, Fen(900_001), None)
            .expect_err("July is not adjusted");
        assert!(over.0.contains("adjustments: none"), "{}", over.0);
        // Rounded half-up once per adjustment: 1 fen x 1.005 stays 1 fen; 100 fen x 1.005 = 100.5
        // -> 101.
        let mut tiny = allowance();
        tiny.adjustments = vec![Adjustment {
            id: 1,
            effective: m("2026-08"),
            basis_points: 50,
        }];
        tiny.monthly = Fen(1);
        assert_eq!(tiny.entitlement(m("2026-08")).amount, Fen(1));
        tiny.monthly = Fen(100);
        assert_eq!(tiny.entitlement(m("2026-08")).amount, Fen(101));
        // An adjustment effective in the assessment's own month does not apply (the amount was
        // assessed then); one before the current month may not be set.
        let mut same_month = allowance();
        same_month.adjustments = vec![Adjustment {
            id: 2,
            effective: m("2026-07"),
            basis_points: 500,
        }];
        assert_eq!(same_month.entitlement(m("2026-09")).amount, Fen(900_000));
        assert!(check_adjustment_month(m("2026-09"), d("2026-09-30")).is_ok());
        assert!(check_adjustment_month(m("2026-08"), d("2026-09-01")).is_err());
    }
}
