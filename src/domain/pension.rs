//! Employee basic pension insurance for flexible workers (DOMAIN.md, Pension).
//!
//! The worker chooses a monthly base between 60% and 300% of the province's previous-year average
//! wage (edges inclusive) and pays 20% of it a month, 8% of the base going to the individual
//! account; payments cover months of one calendar year, monthly, quarterly, half-yearly or yearly,
//! and never months of an earlier year.
use super::Invalid;
use super::money::{Fen, div_round_half_up};
use chrono::{Datelike, NaiveDate};

/// Where a pension enrolment stands. One active enrolment per person, nationally; a move leaves
/// the old one transferred, pointing at the new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PensionStatus {
    Active,
    Transferred,
}

impl PensionStatus {
    pub const ALL: [PensionStatus; 2] = [PensionStatus::Active, PensionStatus::Transferred];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PensionStatus::Active => "active",
            PensionStatus::Transferred => "transferred",
        }
    }
}

crate::code_from_as_str!(PensionStatus, "pension status");

/// Only an active enrolment takes payments or moves; a transferred one is acted on through the
/// enrolment it moved to (`instead` says how).
pub fn check_active(status: PensionStatus, instead: &str) -> Result<(), String> {
    match status {
        PensionStatus::Active => Ok(()),
        PensionStatus::Transferred => {
            Err(format!("the pension enrolment is transferred; {instead}"))
        }
    }
}

/// The latest year a payment may cover. Months of coming years may be paid ahead; the calendar
/// ends somewhere.
pub const LAST_PAYABLE_YEAR: i32 = 9999;

pub const MIN_BASE_PERCENT: i128 = 60;
pub const MAX_BASE_PERCENT: i128 = 300;
pub const CONTRIBUTION_PERCENT: i128 = 20;
pub const INDIVIDUAL_ACCOUNT_PERCENT: i128 = 8;

/// The allowed monthly base for an annual average wage, in fen: the lower bound rounded up and the
/// upper rounded down, so both are inside the legal range.
pub fn base_range(annual_average_wage: Fen) -> (Fen, Fen) {
    let annual = i128::from(annual_average_wage.0);
    let low = (annual * MIN_BASE_PERCENT + 1199) / 1200;
    let high = annual * MAX_BASE_PERCENT / 1200;
    (Fen(low as i64), Fen(high as i64))
}

/// Checks a monthly base exactly (no rounding): 60% ≤ base × 12 / annual average ≤ 300%.
pub fn check_base(base: Fen, annual_average_wage: Fen) -> Result<(), Invalid> {
    let (base_12, annual) = (
        i128::from(base.0) * 12 * 100,
        i128::from(annual_average_wage.0),
    );
    if base_12 < annual * MIN_BASE_PERCENT || base_12 > annual * MAX_BASE_PERCENT {
        let (low, high) = base_range(annual_average_wage);
        return Err(Invalid::new(format!(
            "the monthly base must be between {low} and {high} yuan (60% to 300% of the province's \
             previous-year average wage)"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Monthly,
    Quarterly,
    HalfYearly,
    Yearly,
}

impl Frequency {
    pub fn months(self) -> u32 {
        match self {
            Frequency::Monthly => 1,
            Frequency::Quarterly => 3,
            Frequency::HalfYearly => 6,
            Frequency::Yearly => 12,
        }
    }
}

/// Why the months of a payment were refused: its year or its first month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonthsRefused {
    Year(Invalid),
    FirstMonth(Invalid),
}

/// The months a payment covers: `first_month` of `year` and the following ones of its frequency,
/// aligned to the calendar (quarters start in January, April, July, October) and inside the year.
/// Months of a year before `today`'s are refused.
pub fn months_covered(
    year: i32,
    first_month: i32,
    frequency: Frequency,
    today: NaiveDate,
) -> Result<Vec<NaiveDate>, MonthsRefused> {
    if year < today.year() {
        return Err(MonthsRefused::Year(Invalid::new(format!(
            "months of {year} can no longer be paid: no payment reaches back into an earlier year"
        ))));
    }
    if year > LAST_PAYABLE_YEAR {
        return Err(MonthsRefused::Year(Invalid::new(format!(
            "must be at most {LAST_PAYABLE_YEAR}"
        ))));
    }
    let n = frequency.months();
    let first_month = u32::try_from(first_month).unwrap_or(0);
    if !(1..=12).contains(&first_month) || !(first_month - 1).is_multiple_of(n) {
        return Err(MonthsRefused::FirstMonth(Invalid::new(format!(
            "a {}-month payment starts in month {} of the year",
            n,
            (1..=12)
                .step_by(n as usize)
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))));
    }
    (first_month..first_month + n)
        .map(|month| {
            NaiveDate::from_ymd_opt(year, month, 1)
                .ok_or_else(|| MonthsRefused::FirstMonth(Invalid::new("not a real month")))
        })
        .collect()
}

/// One month's contribution on `base`: (total 20%, of which 8% to the individual account), each
/// rounded half-up to the fen.
pub fn monthly_contribution(base: Fen) -> (Fen, Fen) {
    let base = i128::from(base.0);
    let total = div_round_half_up(base * CONTRIBUTION_PERCENT, 100);
    let individual = div_round_half_up(base * INDIVIDUAL_ACCOUNT_PERCENT, 100);
    (Fen(total as i64), Fen(individual as i64))
}

/// One paid month: the base it was paid on, the total and the individual account's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidMonth {
    pub month: NaiveDate,
    pub base: Fen,
    pub total: Fen,
    pub individual: Fen,
}

/// The months a payment covers, each at 20% of `base` with 8% to the individual account.
pub fn contributions(base: Fen, months: &[NaiveDate]) -> Vec<PaidMonth> {
    let (total, individual) = monthly_contribution(base);
    months
        .iter()
        .map(|month| PaidMonth {
            month: *month,
            base,
            total,
            individual,
        })
        .collect()
}

/// The sums of months' totals and individual parts. None if they do not fit, which bounded bases
/// (at most 300% of an average wage of at most 10¹² fen a year) rule out: a month pays at most
/// 5 × 10¹⁰ fen, and a person has fewer than 10⁵ months to pay.
pub fn sums(months: &[PaidMonth]) -> Option<(Fen, Fen)> {
    Some((
        Fen::checked_sum(months.iter().map(|m| m.total))?,
        Fen::checked_sum(months.iter().map(|m| m.individual))?,
    ))
}

/// The months from the first enrolment's month up to (not including) the current month that
/// were not paid.
pub fn gaps(first_enrolled: NaiveDate, today: NaiveDate, paid: &[NaiveDate]) -> Vec<NaiveDate> {
    let first_of = |day: NaiveDate| day.with_day(1).unwrap_or(day);
    let current = first_of(today);
    let mut month = first_of(first_enrolled);
    let mut gaps = Vec::new();
    while month < current {
        if !paid.contains(&month) {
            gaps.push(month);
        }
        match month.checked_add_months(chrono::Months::new(1)) {
            Some(next) => month = next,
            None => break,
        }
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn the_base_edges_are_inclusive() {
        // An average wage of 120,000.00 yuan a year: 10,000.00 a month; bounds 6,000.00 and 30,000.00.
        let annual = Fen(12_000_000);
        assert_eq!(base_range(annual), (Fen(600_000), Fen(3_000_000)));
        assert!(check_base(Fen(600_000), annual).is_ok(), "60% exactly");
        assert!(check_base(Fen(3_000_000), annual).is_ok(), "300% exactly");
        let below = check_base(Fen(599_999), annual).expect_err("just below");
        assert!(
            below.0.contains("6000.00") && below.0.contains("30000.00"),
            "{below}"
        );
        assert!(check_base(Fen(3_000_001), annual).is_err(), "just above");
    }

    #[test]
    fn uneven_bounds_round_inwards() {
        // 100,000.01 yuan a year: 60% a month is 5,000.0005 yuan → 5,000.01; 300% is 25,000.0025 → 25,000.00.
        let annual = Fen(10_000_001);
        assert_eq!(base_range(annual), (Fen(500_001), Fen(2_500_000)));
        assert!(check_base(Fen(500_000), annual).is_err());
        assert!(check_base(Fen(500_001), annual).is_ok());
        assert!(check_base(Fen(2_500_000), annual).is_ok());
    }

    #[test]
    fn payments_cover_months_of_one_year_and_never_an_earlier_one() {
        let today = day(2026, 6, 15);
        assert_eq!(
            months_covered(2026, 4, Frequency::Quarterly, today).map(|m| m.len()),
            Ok(3)
        );
        assert_eq!(
            months_covered(2026, 1, Frequency::Yearly, today).map(|m| m.last().copied()),
            Ok(Some(day(2026, 12, 1)))
        );
        assert_eq!(
            months_covered(2026, 7, Frequency::HalfYearly, today).map(|m| m[0]),
            Ok(day(2026, 7, 1))
        );
        assert_eq!(
            months_covered(2026, 11, Frequency::Monthly, today).map(|m| m.len()),
            Ok(1)
        );
        let earlier = months_covered(2025, 12, Frequency::Monthly, today).expect_err("2025");
        assert!(
            matches!(&earlier, MonthsRefused::Year(why) if why.0.contains("earlier year")),
            "{earlier:?}"
        );
        assert!(matches!(
            months_covered(i32::MAX, 1, Frequency::Monthly, today),
            Err(MonthsRefused::Year(_))
        ));
        assert!(matches!(
            months_covered(2026, -1, Frequency::Monthly, today),
            Err(MonthsRefused::FirstMonth(_))
        ));
        assert!(
            months_covered(2026, 2, Frequency::Quarterly, today).is_err(),
            "quarters start in 1, 4, 7, 10"
        );
        assert!(
            months_covered(2026, 11, Frequency::Quarterly, today).is_err(),
            "would cross into 2027"
        );
        assert!(months_covered(2026, 13, Frequency::Monthly, today).is_err());
    }

    #[test]
    fn gaps_are_unpaid_months_before_the_current_one() {
        let paid = [day(2026, 4, 1), day(2026, 5, 1), day(2026, 6, 1)];
        assert_eq!(
            gaps(day(2026, 4, 20), day(2026, 9, 10), &paid),
            vec![day(2026, 7, 1), day(2026, 8, 1)]
        );
        assert!(gaps(day(2026, 9, 1), day(2026, 9, 10), &[]).is_empty());
    }

    #[test]
    fn months_and_their_sums() {
        let paid = contributions(Fen(600_000), &[day(2026, 4, 1), day(2026, 5, 1)]);
        assert_eq!(paid.len(), 2);
        assert_eq!(sums(&paid), Some((Fen(240_000), Fen(96_000))));
        assert_eq!(check_active(PensionStatus::Active, "pay"), Ok(()));
        assert!(check_active(PensionStatus::Transferred, "pay").is_err());
    }

    #[test]
    fn contributions_are_twenty_percent_with_eight_to_the_individual_account() {
        assert_eq!(
            monthly_contribution(Fen(600_000)),
            (Fen(120_000), Fen(48_000))
        );
        // 6,000.03 yuan: 20% = 1,200.006 → 1,200.01; 8% = 480.0024 → 480.00.
        assert_eq!(
            monthly_contribution(Fen(600_003)),
            (Fen(120_001), Fen(48_000))
        );
    }
}
