//! The occupational-injury claim: its state machine (report → application → decision → appraisal
//! → assessment → payments, with appeal and withdrawal), who applied, and the deadlines the claim
//! policy sets. Each step names the states it may start from, so a refusal can say where the claim
//! stands.
use super::Invalid;
use super::holidays;
use super::working_days::{Calendar, DayKind};
use chrono::{Datelike, NaiveDate};
use std::fmt;
use std::ops::RangeInclusive;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimStatus {
    Reported,
    Applied,
    Confirmed,
    NotConfirmed,
    Appraised,
    Assessed,
    /// Every one-time item is paid; a periodic benefit still runs.
    InPayment,
    Closed,
    Withdrawn,
}

impl ClaimStatus {
    pub const ALL: [ClaimStatus; 9] = [
        Self::Reported,
        Self::Applied,
        Self::Confirmed,
        Self::NotConfirmed,
        Self::Appraised,
        Self::Assessed,
        Self::InPayment,
        Self::Closed,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Applied => "applied",
            Self::Confirmed => "confirmed",
            Self::NotConfirmed => "not_confirmed",
            Self::Appraised => "appraised",
            Self::Assessed => "assessed",
            Self::InPayment => "in_payment",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
        }
    }
}

impl fmt::Display for ClaimStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::code_from_as_str!(ClaimStatus, "claim status");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IncidentKind {
    Injury,
    Death,
}

impl IncidentKind {
    pub const ALL: [IncidentKind; 2] = [Self::Injury, Self::Death];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Injury => "injury",
            Self::Death => "death",
        }
    }
}

crate::code_from_as_str!(IncidentKind, "incident kind");

/// Who applies for confirmation of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Applicant {
    /// The reporting platform, through its backend.
    Platform,
    /// The worker, at the agency's counter.
    Worker,
    /// A close relative of the worker, at the agency's counter.
    Relative,
}

impl Applicant {
    pub const ALL: [Applicant; 3] = [Self::Platform, Self::Worker, Self::Relative];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Worker => "worker",
            Self::Relative => "relative",
        }
    }
}

impl fmt::Display for Applicant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::code_from_as_str!(Applicant, "applicant");

/// A step as recorded on the claim's timeline and in its event (`claim.<step>.v1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepTaken {
    Reported,
    Applied,
    Decided,
    Appraised,
    Assessed,
    Paid,
    Appealed,
    Withdrawn,
    BenefitEnded,
    BenefitSuspended,
    BenefitResumed,
    /// A review appraisal (复查鉴定) after the benefits ran.
    Reviewed,
    /// A relapse (旧伤复发) reopened medical treatment.
    Relapsed,
    /// The decision due date counted again once a year's holiday notice was loaded.
    DueRecounted,
}

impl StepTaken {
    pub const ALL: [StepTaken; 14] = [
        Self::Reported,
        Self::Applied,
        Self::Decided,
        Self::Appraised,
        Self::Assessed,
        Self::Paid,
        Self::Appealed,
        Self::Withdrawn,
        Self::BenefitEnded,
        Self::BenefitSuspended,
        Self::BenefitResumed,
        Self::Reviewed,
        Self::Relapsed,
        Self::DueRecounted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Applied => "applied",
            Self::Decided => "decided",
            Self::Appraised => "appraised",
            Self::Assessed => "assessed",
            Self::Paid => "paid",
            Self::Appealed => "appealed",
            Self::Withdrawn => "withdrawn",
            Self::BenefitEnded => "benefit_ended",
            Self::BenefitSuspended => "benefit_suspended",
            Self::BenefitResumed => "benefit_resumed",
            Self::Reviewed => "reviewed",
            Self::Relapsed => "relapsed",
            Self::DueRecounted => "due_recounted",
        }
    }
}

crate::code_from_as_str!(StepTaken, "claim step");

/// What a payment was, for its maintenance type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentNote {
    /// The claim's first benefit payment.
    pub first: bool,
    /// A month of a periodic benefit.
    pub periodic: bool,
}

/// The IAIABC maintenance type code of a step (after the IAIABC SROI codes; verify): 00 original
/// (the report), 04 denial (not confirmed), IP initial payment (the first benefit payment), PY a
/// later payment of a periodic benefit, S1 suspension, RB reinstatement of benefits, CB change of
/// benefit (a periodic benefit ended while the claim stays open), FN final (closed or withdrawn),
/// 02 change (every other step).
pub fn maintenance_type_code(
    step: StepTaken,
    after: ClaimStatus,
    payment: PaymentNote,
) -> &'static str {
    match (step, after) {
        (StepTaken::Reported, _) => "00",
        (_, ClaimStatus::NotConfirmed) => "04",
        (_, ClaimStatus::Closed | ClaimStatus::Withdrawn) => "FN",
        (StepTaken::Paid, _) if payment.first => "IP",
        (StepTaken::Paid, _) if payment.periodic => "PY",
        (StepTaken::BenefitSuspended, _) => "S1",
        (StepTaken::BenefitResumed, _) => "RB",
        (StepTaken::BenefitEnded, _) => "CB",
        _ => "02",
    }
}

/// A step of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Apply,
    Decide {
        confirmed: bool,
    },
    Appraise,
    /// A review appraisal of a claim whose benefits ran (in payment or closed); its benefits are
    /// then re-assessed as a new version.
    Review,
    /// A relapse of the injury on a claim whose benefits ran: its bills are added to the medical
    /// items of a new version, which are paid again.
    Relapse,
    /// The relatives' death benefits, assessed when a worker whose benefits ran died of the
    /// injury (the disability allowance ended for that reason).
    AssessLaterDeath,
    Assess,
    /// A benefit payment; `settled` when every one-time item is then paid in full, `running` while
    /// a periodic benefit has not ended.
    Pay {
        settled: bool,
        running: bool,
    },
    /// A periodic benefit ended, suspended or resumed; `settled` and `running` after it, as for a
    /// payment.
    ChangePeriodic {
        settled: bool,
        running: bool,
    },
    Appeal,
    Withdraw,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Self::Apply => "apply for confirmation",
            Self::Decide { .. } => "decide confirmation",
            Self::Appraise => "record an appraisal",
            Self::Review => "record a review appraisal",
            Self::Relapse => "record a relapse",
            Self::AssessLaterDeath => "assess the relatives' death benefits",
            Self::Assess => "assess benefits",
            Self::Pay { .. } => "record a benefit payment",
            Self::ChangePeriodic { .. } => "change a periodic benefit",
            Self::Appeal => "appeal the decision",
            Self::Withdraw => "withdraw",
        }
    }
}

/// Why a step cannot be taken now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// The status after `step`, or why it is refused. A death has no appraisal: its benefits are
/// assessed straight after confirmation. A re-appraisal supersedes the earlier one and calls for a
/// new assessment.
pub fn next(status: ClaimStatus, kind: IncidentKind, step: Step) -> Result<ClaimStatus, Refused> {
    use ClaimStatus::*;
    let next = match (status, step) {
        (Reported, Step::Apply) => Some(Applied),
        (Applied, Step::Decide { confirmed: true }) => Some(Confirmed),
        (Applied, Step::Decide { confirmed: false }) => Some(NotConfirmed),
        (Confirmed | Appraised | Assessed, Step::Appraise) if kind == IncidentKind::Injury => {
            Some(Appraised)
        }
        (InPayment | Closed, Step::Review) if kind == IncidentKind::Injury => Some(Appraised),
        (InPayment | Closed, Step::Relapse | Step::AssessLaterDeath)
            if kind == IncidentKind::Injury =>
        {
            Some(Assessed)
        }
        (Appraised, Step::Assess) => Some(Assessed),
        (Confirmed, Step::Assess) if kind == IncidentKind::Death => Some(Assessed),
        (
            Assessed | InPayment,
            Step::Pay { settled, running } | Step::ChangePeriodic { settled, running },
        ) => Some(match (settled, running) {
            (false, _) => Assessed,
            (true, true) => InPayment,
            (true, false) => Closed,
        }),
        (Confirmed | NotConfirmed, Step::Appeal) => Some(Applied),
        (Reported | Applied | NotConfirmed, Step::Withdraw) => Some(Withdrawn),
        _ => None,
    };
    next.ok_or_else(|| {
        let hint = match (status, step, kind) {
            (_, Step::Appraise, IncidentKind::Death) => " (a death has no disability appraisal)",
            (Confirmed, Step::Assess, IncidentKind::Injury) => {
                " (an injury is appraised before its benefits are assessed)"
            }
            _ => "",
        };
        Refused(format!(
            "cannot {} a claim that is {status}{hint}",
            step.name()
        ))
    })
}

/// The claim rules that are data (SetClaimPolicy), nationally or for one province.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimPolicy {
    /// Calendar days the platform has to apply, from the day it reported.
    pub platform_application_days: i32,
    /// Calendar days the worker or a relative has to apply, from the day of the incident.
    pub worker_application_days: i32,
    /// Working days the agency has to decide, from the application (or the appeal).
    pub decision_working_days: i32,
    /// Reports of the same person within this many minutes of each other are flagged.
    pub duplicate_window_minutes: i32,
    /// The monthly wage base: this percent of the average monthly wage of the base year.
    pub wage_base_percent: i32,
    /// The base year: the accident's year plus this (−1: the year before).
    pub wage_base_year_offset: i32,
    /// The death base (funeral subsidy, dependants' pensions and their cap): this percent of the
    /// previous year's urban private-sector average monthly wage.
    pub death_base_percent: i32,
    /// The one-time disability allowance of grades 5 and 6, in months of the wage base.
    pub grade_5_allowance_months: i32,
    pub grade_6_allowance_months: i32,
    /// A child's dependant pension runs for the months that begin before this birthday.
    pub child_pension_until_age: i32,
    /// A review appraisal may be made this many months after the last appraisal's conclusion.
    pub review_interval_months: i32,
}

/// What each field of a claim policy may be.
pub const APPLICATION_DAYS: RangeInclusive<i32> = 1..=3650;
pub const DECISION_WORKING_DAYS: RangeInclusive<i32> = 1..=250;
pub const DUPLICATE_WINDOW_MINUTES: RangeInclusive<i32> = 0..=10_080;
pub const WAGE_BASE_PERCENT: RangeInclusive<i32> = 1..=300;
pub const WAGE_BASE_YEAR_OFFSET: RangeInclusive<i32> = -5..=0;
pub const DEATH_BASE_PERCENT: RangeInclusive<i32> = 1..=300;
pub const ALLOWANCE_MONTHS: RangeInclusive<i32> = 0..=120;
pub const REVIEW_INTERVAL_MONTHS: RangeInclusive<i32> = 1..=120;

/// A review appraisal is possible from `review_interval_months` after the day the last appraisal
/// concluded (China Standard Time); earlier it is refused, naming the day.
pub fn check_review(
    policy: &ClaimPolicy,
    last_appraised_on: NaiveDate,
    today: NaiveDate,
) -> Result<(), Refused> {
    let from = last_appraised_on
        .checked_add_months(chrono::Months::new(
            policy.review_interval_months.unsigned_abs(),
        ))
        .unwrap_or(NaiveDate::MAX);
    if today < from {
        return Err(Refused(format!(
            "a review appraisal is possible from {from}, {} months after the appraisal of {last_appraised_on}",
            policy.review_interval_months
        )));
    }
    Ok(())
}

/// A policy field within its range.
pub fn policy_value(value: i32, range: &RangeInclusive<i32>) -> Result<i32, Invalid> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Invalid::new(format!(
            "must be {} to {}",
            range.start(),
            range.end()
        )))
    }
}

/// The last days (China Standard Time) on which each applicant may apply without explaining why
/// the application is late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationDeadlines {
    pub platform: NaiveDate,
    pub worker: NaiveDate,
}

impl ApplicationDeadlines {
    /// The platform counts from the day it reported; the worker and relatives from the day of the
    /// incident.
    pub fn new(policy: &ClaimPolicy, reported_on: NaiveDate, occurred_on: NaiveDate) -> Self {
        let after = |day: NaiveDate, days: i32| {
            day.checked_add_days(chrono::Days::new(u64::from(days.unsigned_abs())))
                .unwrap_or(day)
        };
        Self {
            platform: after(reported_on, policy.platform_application_days),
            worker: after(occurred_on, policy.worker_application_days),
        }
    }

    pub fn due_for(&self, applicant: Applicant) -> NaiveDate {
        match applicant {
            Applicant::Platform => self.platform,
            Applicant::Worker | Applicant::Relative => self.worker,
        }
    }

    /// Whether an application on `today` is late (the due day itself is in time); a late one
    /// needs a written explanation.
    pub fn check_application(
        &self,
        applicant: Applicant,
        today: NaiveDate,
        explained: bool,
    ) -> Result<bool, Refused> {
        let due = self.due_for(applicant);
        let late = today > due;
        if late && !explained {
            return Err(Refused(format!(
                "the {applicant}'s application was due by {due} (China Standard Time); a later application needs a written late_explanation"
            )));
        }
        Ok(late)
    }
}

/// Calendar days of holidays and make-up days to load to count `working_days` from a day: five
/// working days never span more than seven calendar days outside holidays, and a year's public
/// holidays add fewer than 30.
pub fn calendar_days_for(working_days: i32) -> i64 {
    i64::from(working_days.max(0)) * 7 / 5 + 7 + 30
}

/// The day a decision is due: `decision_working_days` working days after `today` (China Standard
/// Time); `calendar` must hold the exceptions from `today` over `calendar_days_for` days.
pub fn decision_due(policy: &ClaimPolicy, calendar: &Calendar, today: NaiveDate) -> NaiveDate {
    calendar.add_working_days(today, policy.decision_working_days.unsigned_abs())
}

/// A decision due date, provisional when its count reached into a year whose holiday notice is
/// not loaded (counted on that year's statutory holidays alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionDue {
    pub day: NaiveDate,
    pub provisional: bool,
}

/// The decision due date counted from `from` on the statutory holidays of every year it may reach
/// (`holidays::statutory_holidays`) overlaid with the loaded notices (`loaded`, bridge days and
/// make-up working days over `calendar_days_for` days), and whether it is provisional: the count
/// reached a year in which no day is loaded (`loaded_years`).
pub fn decision_due_counted(
    policy: &ClaimPolicy,
    from: NaiveDate,
    loaded: impl IntoIterator<Item = (NaiveDate, DayKind)>,
    loaded_years: &[i32],
) -> DecisionDue {
    let last = from
        .checked_add_days(chrono::Days::new(
            calendar_days_for(policy.decision_working_days).unsigned_abs(),
        ))
        .unwrap_or(from);
    let statutory = (from.year()..=last.year()).flat_map(|year| {
        holidays::statutory_holidays(year)
            .into_iter()
            .map(|(day, _)| (day, DayKind::Holiday))
    });
    // A loaded notice wins over the computed holidays (entries later in the list override).
    let calendar = Calendar::new(statutory.chain(loaded));
    let day = decision_due(policy, &calendar, from);
    DecisionDue {
        day,
        provisional: (from.year()..=day.year()).any(|year| !loaded_years.contains(&year)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClaimStatus::*;

    const INJURY: IncidentKind = IncidentKind::Injury;
    const DEATH: IncidentKind = IncidentKind::Death;

    #[test]
    fn an_injury_claim_runs_from_report_to_closed() {
        let mut status = Reported;
        for step in [
            Step::Apply,
            Step::Decide { confirmed: true },
            Step::Appraise,
            Step::Assess,
            Step::Pay {
                settled: false,
                running: false,
            },
            Step::Pay {
                settled: true,
                running: false,
            },
        ] {
            status = next(status, INJURY, step).expect("allowed");
        }
        assert_eq!(status, Closed);
    }

    #[test]
    fn a_claim_with_periodic_benefits_is_in_payment_until_the_last_ends() {
        let pay = |settled, running| Step::Pay { settled, running };
        let change = |settled, running| Step::ChangePeriodic { settled, running };
        // A month of allowance before the one-time items are paid keeps the claim assessed.
        assert_eq!(next(Assessed, INJURY, pay(false, true)), Ok(Assessed));
        assert_eq!(next(Assessed, INJURY, pay(true, true)), Ok(InPayment));
        assert_eq!(next(InPayment, INJURY, pay(true, true)), Ok(InPayment));
        assert_eq!(next(InPayment, INJURY, change(true, true)), Ok(InPayment));
        assert_eq!(next(InPayment, INJURY, change(true, false)), Ok(Closed));
        // An end before the one-time items are paid leaves the claim assessed; they close it.
        assert_eq!(next(Assessed, DEATH, change(false, false)), Ok(Assessed));
        assert_eq!(next(Assessed, DEATH, pay(true, false)), Ok(Closed));
        let refused = next(Closed, INJURY, pay(true, true)).expect_err("closed");
        assert!(refused.0.contains("closed"), "{}", refused.0);
        assert!(next(InPayment, INJURY, Step::Appeal).is_err());
        assert!(next(InPayment, INJURY, Step::Withdraw).is_err());
    }

    #[test]
    fn a_death_is_assessed_without_appraisal() {
        assert_eq!(next(Confirmed, DEATH, Step::Assess), Ok(Assessed));
        let refused = next(Confirmed, DEATH, Step::Appraise).expect_err("no appraisal");
        assert!(refused.0.contains("death has no disability appraisal"));
        assert!(next(Confirmed, INJURY, Step::Assess).is_err());
    }

    #[test]
    fn re_appraisal_reopens_the_assessment() {
        assert_eq!(next(Appraised, INJURY, Step::Appraise), Ok(Appraised));
        assert_eq!(next(Assessed, INJURY, Step::Appraise), Ok(Appraised));
    }

    #[test]
    fn appeals_reopen_a_decision_and_withdrawal_ends_an_undecided_claim() {
        assert_eq!(next(NotConfirmed, INJURY, Step::Appeal), Ok(Applied));
        assert_eq!(next(Confirmed, INJURY, Step::Appeal), Ok(Applied));
        assert!(next(Applied, INJURY, Step::Appeal).is_err());
        for from in [Reported, Applied, NotConfirmed] {
            assert_eq!(next(from, INJURY, Step::Withdraw), Ok(Withdrawn));
        }
        for from in [Confirmed, Appraised, Assessed, InPayment, Closed, Withdrawn] {
            assert!(next(from, INJURY, Step::Withdraw).is_err());
        }
    }

    #[test]
    fn every_refusal_names_the_current_state() {
        let steps = [
            Step::Apply,
            Step::Decide { confirmed: true },
            Step::Appraise,
            Step::Review,
            Step::Assess,
            Step::Pay {
                settled: true,
                running: false,
            },
            Step::ChangePeriodic {
                settled: true,
                running: true,
            },
            Step::Appeal,
            Step::Withdraw,
        ];
        for status in ClaimStatus::ALL {
            for step in steps {
                if let Err(Refused(message)) = next(status, INJURY, step) {
                    assert!(message.contains(status.as_str()), "{message}");
                }
            }
        }
        assert!(
            next(
                Closed,
                INJURY,
                Step::Pay {
                    settled: true,
                    running: false
                }
            )
            .is_err()
        );
        assert!(next(Reported, INJURY, Step::Decide { confirmed: true }).is_err());
    }

    const POLICY: ClaimPolicy = ClaimPolicy {
        platform_application_days: 30,
        worker_application_days: 90,
        decision_working_days: 30,
        duplicate_window_minutes: 120,
        wage_base_percent: 100,
        wage_base_year_offset: -1,
        death_base_percent: 60,
        grade_5_allowance_months: 30,
        grade_6_allowance_months: 25,
        child_pension_until_age: 18,
        review_interval_months: 12,
    };

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn application_deadlines_count_from_the_report_and_from_the_incident() {
        // Reported on 15 June 2026 for an incident on 14 June: the platform has until 15 July, the
        // worker 90 days from the incident, until 12 September.
        let deadlines = ApplicationDeadlines::new(&POLICY, d("2026-06-15"), d("2026-06-14"));
        assert_eq!(deadlines.platform, d("2026-07-15"));
        assert_eq!(deadlines.worker, d("2026-09-12"));
        assert_eq!(deadlines.due_for(Applicant::Relative), d("2026-09-12"));
        // The last day is in time, the day after needs an explanation.
        assert_eq!(
            deadlines.check_application(Applicant::Platform, d("2026-07-15"), false),
            Ok(false)
        );
        let refused = deadlines
            .check_application(Applicant::Platform, d("2026-07-16"), false)
            .expect_err("late");
        assert!(refused.0.contains("2026-07-15"), "{}", refused.0);
        assert_eq!(
            deadlines.check_application(Applicant::Platform, d("2026-07-16"), true),
            Ok(true)
        );
        assert_eq!(
            deadlines.check_application(Applicant::Worker, d("2026-07-16"), false),
            Ok(false)
        );
    }

    #[test]
    fn decisions_are_due_in_working_days_over_holidays() {
        use crate::domain::working_days::DayKind;
        // Applied on Tuesday 29 September 2026: National Day (1-7 October) is off and Saturday
        // 10 October is worked, so 30 working days end on Monday 16 November.
        let mut exceptions: Vec<(NaiveDate, DayKind)> = (1..=7)
            .map(|day| (d(&format!("2026-10-{day:02}")), DayKind::Holiday))
            .collect();
        exceptions.push((d("2026-10-10"), DayKind::Workday));
        let calendar = Calendar::new(exceptions);
        assert_eq!(
            decision_due(&POLICY, &calendar, d("2026-09-29")),
            d("2026-11-16")
        );
        // The calendar loaded is long enough for the longest policy.
        assert!(calendar_days_for(30) >= 42 + 7);
        assert!(calendar_days_for(250) >= 350 + 30);
    }

    #[test]
    fn maintenance_type_codes() {
        use StepTaken as S;
        let once = PaymentNote {
            first: false,
            periodic: false,
        };
        let first = PaymentNote {
            first: true,
            ..once
        };
        let monthly = PaymentNote {
            periodic: true,
            ..once
        };
        assert_eq!(maintenance_type_code(S::Reported, Reported, once), "00");
        assert_eq!(maintenance_type_code(S::Decided, NotConfirmed, once), "04");
        assert_eq!(maintenance_type_code(S::Decided, Confirmed, once), "02");
        assert_eq!(maintenance_type_code(S::Paid, Assessed, first), "IP");
        assert_eq!(maintenance_type_code(S::Paid, Assessed, once), "02");
        assert_eq!(maintenance_type_code(S::Paid, InPayment, monthly), "PY");
        assert_eq!(maintenance_type_code(S::Paid, Closed, first), "FN");
        assert_eq!(maintenance_type_code(S::Withdrawn, Withdrawn, once), "FN");
        assert_eq!(
            maintenance_type_code(S::BenefitSuspended, InPayment, once),
            "S1"
        );
        assert_eq!(
            maintenance_type_code(S::BenefitResumed, InPayment, once),
            "RB"
        );
        assert_eq!(
            maintenance_type_code(S::BenefitEnded, InPayment, once),
            "CB"
        );
        assert_eq!(maintenance_type_code(S::BenefitEnded, Closed, once), "FN");
    }

    #[test]
    fn policy_values_are_bounded() {
        assert_eq!(policy_value(30, &APPLICATION_DAYS), Ok(30));
        assert!(policy_value(0, &APPLICATION_DAYS).is_err());
        assert!(policy_value(1, &WAGE_BASE_YEAR_OFFSET).is_err());
    }

    #[test]
    fn a_review_appraisal_reopens_a_claim_whose_benefits_ran_after_the_interval() {
        assert_eq!(next(InPayment, INJURY, Step::Review), Ok(Appraised));
        assert_eq!(next(Closed, INJURY, Step::Review), Ok(Appraised));
        assert!(next(Assessed, INJURY, Step::Review).is_err());
        assert!(next(InPayment, DEATH, Step::Review).is_err());
        // A relapse reopens the payments of a claim whose benefits ran.
        assert_eq!(next(Closed, INJURY, Step::Relapse), Ok(Assessed));
        assert_eq!(next(InPayment, INJURY, Step::Relapse), Ok(Assessed));
        assert!(next(Assessed, INJURY, Step::Relapse).is_err());
        assert!(next(Closed, DEATH, Step::Relapse).is_err());
        // The relatives' death benefits after the worker's later death, on the same claim.
        assert_eq!(next(Closed, INJURY, Step::AssessLaterDeath), Ok(Assessed));
        assert!(next(Appraised, INJURY, Step::AssessLaterDeath).is_err());
        // Appraised on 15 June 2026: a review from 15 June 2027 (12 months, data).
        assert!(check_review(&POLICY, d("2026-06-15"), d("2027-06-15")).is_ok());
        let early = check_review(&POLICY, d("2026-06-15"), d("2027-06-14")).expect_err("early");
        assert!(early.0.contains("2027-06-15"), "{}", early.0);
        let six = ClaimPolicy {
            review_interval_months: 6,
            ..POLICY
        };
        assert!(check_review(&six, d("2026-06-15"), d("2026-12-15")).is_ok());
    }

    #[test]
    fn a_due_date_across_an_unloaded_year_counts_its_statutory_holidays_and_is_provisional() {
        // Applied on Monday 30 November 2026 with only 2026 loaded: 23 working days in December,
        // New Year's Day 2027 (a Friday, statutory) skipped, 4-8 and 11-12 January: 12 January,
        // provisional. Counted as a plain working day, New Year's Day gave 11 January.
        let due = decision_due_counted(&POLICY, d("2026-11-30"), vec![], &[2026]);
        assert_eq!(
            due,
            DecisionDue {
                day: d("2027-01-12"),
                provisional: true
            }
        );
        // The 2027 notice loaded, with Monday 4 January a bridge day off: 13 January, final.
        let notice = vec![(d("2027-01-04"), DayKind::Holiday)];
        assert_eq!(
            decision_due_counted(&POLICY, d("2026-11-30"), notice, &[2026, 2027]),
            DecisionDue {
                day: d("2027-01-13"),
                provisional: false
            }
        );
        // A count that stays inside a loaded year is final.
        let inside = decision_due_counted(&POLICY, d("2026-06-15"), vec![], &[2026]);
        assert!(!inside.provisional);
    }
}
