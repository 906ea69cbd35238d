//! Employee basic pension insurance for flexible workers (DOMAIN.md, Pension).
//!
//! The worker chooses a monthly base between 60% and 300% of the province's previous-year average
//! wage (edges inclusive) and pays 20% of it a month, 8% of the base going to the individual
//! account; payments cover months of one calendar year, monthly, quarterly, half-yearly or yearly,
//! and never months of an earlier year.
use super::Invalid;
use super::money::{Fen, div_round_half_up};
use chrono::{Datelike, NaiveDate};

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

/// The months a payment covers: `first_month` of `year` and the following ones of its frequency,
/// aligned to the calendar (quarters start in January, April, July, October) and inside the year.
/// Months of a year before `today`'s are refused.
pub fn months_covered(
    year: i32,
    first_month: u32,
    frequency: Frequency,
    today: NaiveDate,
) -> Result<Vec<NaiveDate>, Invalid> {
    if year < today.year() {
        return Err(Invalid::new(format!(
            "months of {year} can no longer be paid: no payment reaches back into an earlier year"
        )));
    }
    let n = frequency.months();
    if !(1..=12).contains(&first_month) || !(first_month - 1).is_multiple_of(n) {
        return Err(Invalid::new(format!(
            "a {}-month payment starts in month {} of the year",
            n,
            (1..=12)
                .step_by(n as usize)
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    (first_month..first_month + n)
        .map(|month| {
            NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(|| Invalid::new("not a real month"))
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
        assert!(earlier.0.contains("earlier year"), "{earlier}");
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
