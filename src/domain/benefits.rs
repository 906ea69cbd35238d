//! Occupational-injury benefits, itemised with payer, formula and inputs (DOMAIN.md, Claims §5),
//! the wage base they are computed on, and when a claim's benefits are settled. Amounts in fen;
//! every product is rounded half-up once, per item, in i128 so that no bounded input can wrap.
use super::claim::IncidentKind;
use super::money::{Fen, div_round_half_up};
use chrono::NaiveDate;

pub use super::settlement::*;

/// One-time disability subsidy, months of the wage base by grade 1..10.
pub const DISABILITY_SUBSIDY_MONTHS: [i64; 10] = [27, 25, 23, 21, 18, 16, 13, 11, 9, 7];
/// Monthly disability allowance for grades 1..4, percent of the wage base.
pub const DISABILITY_ALLOWANCE_PERCENT: [i64; 4] = [90, 85, 80, 75];
pub const FUNERAL_SUBSIDY_MONTHS: i64 = 6;
pub const DEATH_SUBSIDY_YEARS_OF_INCOME: i64 = 20;
pub const SPOUSE_PENSION_PERCENT: i64 = 40;
pub const OTHER_DEPENDANT_PENSION_PERCENT: i64 = 30;
pub const ORPHAN_OR_LONE_ELDERLY_EXTRA_PERCENT: i64 = 10;
/// The living allowance pays the month's wage base per 30 days of treatment.
pub const DAYS_PER_MONTH: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payer {
    Fund,
    Platform,
}

impl Payer {
    pub const ALL: [Payer; 2] = [Self::Fund, Self::Platform];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fund => "fund",
            Self::Platform => "platform",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BenefitKind {
    Medical,
    Rehabilitation,
    AssistiveDevices,
    OneTimeDisabilitySubsidy,
    DisabilityAllowance,
    LivingAllowance,
    FuneralSubsidy,
    DeathSubsidy,
    DependantPension,
    /// Grades 5 and 6: months of the wage base, once (the claim policy's data).
    OneTimeDisabilityAllowance,
}

impl BenefitKind {
    pub const ALL: [BenefitKind; 10] = [
        Self::Medical,
        Self::Rehabilitation,
        Self::AssistiveDevices,
        Self::OneTimeDisabilitySubsidy,
        Self::DisabilityAllowance,
        Self::LivingAllowance,
        Self::FuneralSubsidy,
        Self::DeathSubsidy,
        Self::DependantPension,
        Self::OneTimeDisabilityAllowance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Medical => "medical",
            Self::Rehabilitation => "rehabilitation",
            Self::AssistiveDevices => "assistive_devices",
            Self::OneTimeDisabilitySubsidy => "one_time_disability_subsidy",
            Self::DisabilityAllowance => "disability_allowance",
            Self::LivingAllowance => "living_allowance",
            Self::FuneralSubsidy => "funeral_subsidy",
            Self::DeathSubsidy => "death_subsidy",
            Self::DependantPension => "dependant_pension",
            Self::OneTimeDisabilityAllowance => "one_time_disability_allowance",
        }
    }

    pub fn payer(self) -> Payer {
        match self {
            Self::LivingAllowance => Payer::Platform,
            _ => Payer::Fund,
        }
    }

    /// Paid every month rather than once.
    pub fn monthly(self) -> bool {
        matches!(self, Self::DisabilityAllowance | Self::DependantPension)
    }
}

crate::code_from_as_str!(Payer, "benefit payer");
crate::code_from_as_str!(BenefitKind, "benefit kind");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Spouse,
    /// A parent or another dependant relative.
    Other,
    /// A child: eligible until the age of the claim policy.
    Child,
}

impl Relation {
    pub const ALL: [Relation; 3] = [Self::Spouse, Self::Other, Self::Child];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spouse => "spouse",
            Self::Other => "other",
            Self::Child => "child",
        }
    }
}

crate::code_from_as_str!(Relation, "relation");

/// A monthly base an assessment is computed on, with every figure it came from: a percent of a
/// province's average monthly wage of a year (the all-sector wage for the injury wage base, the
/// urban private-sector wage for the death base).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WageBase {
    /// The statistic's year.
    pub year: i32,
    /// The province's average annual wage of that year.
    pub annual: Fen,
    /// Its average monthly wage: the annual average / 12, half-up.
    pub average_monthly_wage: Fen,
    pub percent: i32,
    /// The monthly base: `percent` of the average monthly wage, half-up.
    pub wage_base: Fen,
}

impl WageBase {
    /// The figures as an item's stored inputs, named after the base they make.
    fn inputs(&self, base: Base) -> Vec<(&'static str, i64)> {
        let names = match base {
            Base::Injury => [
                "wage_year",
                "average_annual_wage_fen",
                "average_monthly_wage_fen",
                "wage_base_percent",
                "wage_base_fen",
            ],
            Base::Death => [
                "private_sector_wage_year",
                "private_sector_annual_wage_fen",
                "private_sector_monthly_wage_fen",
                "death_base_percent",
                "death_base_fen",
            ],
        };
        names
            .into_iter()
            .zip([
                i64::from(self.year),
                self.annual.0,
                self.average_monthly_wage.0,
                i64::from(self.percent),
                self.wage_base.0,
            ])
            .collect()
    }
}

/// Which base an item is computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Injury,
    Death,
}

/// The year of the urban private-sector wage a death base is computed on: the year before the
/// accident.
pub fn death_base_year(accident_year: i32) -> i32 {
    accident_year - 1
}

/// The year whose provincial average wage sets the base: the accident's year plus the policy's
/// offset (−1: the year before).
pub fn wage_base_year(accident_year: i32, offset: i32) -> i32 {
    accident_year + offset
}

/// The year of the national income figure a death subsidy is computed on: the year before the
/// accident.
pub fn national_income_year(accident_year: i32) -> i32 {
    accident_year - 1
}

/// A monthly base from a province's annual average wage of `year`: to a monthly average, then
/// `percent` of it, each rounded half-up once. Never wraps: the monthly average is at most
/// i64::MAX / 12 and the percent at most 300.
pub fn wage_base(year: i32, annual_average_wage: Fen, percent: i32) -> WageBase {
    let monthly = div_round_half_up(i128::from(annual_average_wage.0), 12);
    let base = div_round_half_up(monthly * i128::from(percent), 100);
    WageBase {
        year,
        annual: annual_average_wage,
        average_monthly_wage: Fen(saturate(monthly)),
        percent,
        wage_base: Fen(saturate(base)),
    }
}

/// Whether an assessment needs the injury wage base: every injury (its subsidies and allowances),
/// and a death only for a living allowance during treatment.
pub fn needs_wage_base(kind: IncidentKind, treatment_days: i64) -> bool {
    kind == IncidentKind::Injury || treatment_days > 0
}

pub(super) fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dependant {
    pub relation: Relation,
    /// An orphan or an elderly person living alone: 10 points more.
    pub orphan_or_lone_elderly: bool,
    /// A child's age limit (`periodic::eligible_before`): months beginning on or after it are not
    /// due.
    pub eligible_before: Option<NaiveDate>,
}

/// The one-time disability allowance of grades 5 and 6, months of the wage base (claim policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradeAllowanceMonths {
    pub grade_5: i64,
    pub grade_6: i64,
}

/// What an assessment is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub kind: IncidentKind,
    /// 1 (most severe) to 10; None when no grade was given (or for a death).
    pub grade: Option<u8>,
    /// The injury wage base; needed when `needs_wage_base`.
    pub wage: Option<WageBase>,
    /// For a death: the base of the funeral subsidy and the dependants' pensions and their cap.
    pub death_base: Option<WageBase>,
    /// For a death: the previous year's national urban per-capita disposable income, by year.
    pub national_income: Option<(i32, Fen)>,
    pub grade_allowance_months: GradeAllowanceMonths,
    pub medical_costs: Fen,
    pub rehabilitation_costs: Fen,
    pub assistive_devices_costs: Fen,
    pub treatment_days: i64,
    pub dependants: Vec<Dependant>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub kind: BenefitKind,
    pub amount: Fen,
    pub formula: &'static str,
    /// Every figure the amount was computed from, stored with the item.
    pub inputs: Vec<(&'static str, i64)>,
    /// A dependant's pension: the day its eligibility by age ends.
    pub eligible_before: Option<NaiveDate>,
}

/// Why an assessment cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssessError {
    /// Its amounts would not fit in the ledger (never with inputs within their bounds).
    TooLarge,
    /// A figure the rules need was not given (the caller loads them first).
    Missing(&'static str),
}

fn fen(value: i128) -> Result<Fen, AssessError> {
    i64::try_from(value)
        .map(Fen)
        .map_err(|_| AssessError::TooLarge)
}

fn times(base: Fen, factor: i64) -> Result<Fen, AssessError> {
    fen(i128::from(base.0) * i128::from(factor))
}

fn percent_of(base: Fen, percent: i64) -> Result<Fen, AssessError> {
    fen(div_round_half_up(
        i128::from(base.0) * i128::from(percent),
        100,
    ))
}

fn with(
    mut inputs: Vec<(&'static str, i64)>,
    more: Vec<(&'static str, i64)>,
) -> Vec<(&'static str, i64)> {
    inputs.extend(more);
    inputs
}

fn bill(kind: BenefitKind, amount: Fen, items: &mut Vec<Item>) {
    if amount.0 > 0 {
        items.push(Item {
            kind,
            amount,
            formula: "submitted bills",
            inputs: vec![("bills_fen", amount.0)],
            eligible_before: None,
        });
    }
}

/// The itemised benefits.
pub fn assess(inputs: &Inputs) -> Result<Vec<Item>, AssessError> {
    let mut items = Vec::new();
    bill(BenefitKind::Medical, inputs.medical_costs, &mut items);
    bill(
        BenefitKind::Rehabilitation,
        inputs.rehabilitation_costs,
        &mut items,
    );
    bill(
        BenefitKind::AssistiveDevices,
        inputs.assistive_devices_costs,
        &mut items,
    );
    let wage = if needs_wage_base(inputs.kind, inputs.treatment_days) {
        Some(inputs.wage.ok_or(AssessError::Missing("the wage base"))?)
    } else {
        None
    };
    if let Some(wage) = wage.filter(|_| inputs.treatment_days > 0) {
        items.push(Item {
            kind: BenefitKind::LivingAllowance,
            amount: fen(div_round_half_up(
                i128::from(wage.wage_base.0) * i128::from(inputs.treatment_days),
                i128::from(DAYS_PER_MONTH),
            ))?,
            formula: "wage base per month x treatment days / 30",
            inputs: with(
                vec![("treatment_days", inputs.treatment_days)],
                wage.inputs(Base::Injury),
            ),
            eligible_before: None,
        });
    }
    match (inputs.kind, wage) {
        (IncidentKind::Injury, Some(wage)) => injury_items(inputs, &wage, &mut items)?,
        (IncidentKind::Injury, None) => return Err(AssessError::Missing("the wage base")),
        (IncidentKind::Death, _) => death_items(inputs, &mut items)?,
    }
    Ok(items)
}

/// The disability items by grade: the one-time subsidy (every grade), the one-time allowance
/// (grades 5 and 6) and the monthly allowance (grades 1 to 4).
fn injury_items(
    inputs: &Inputs,
    wage: &WageBase,
    items: &mut Vec<Item>,
) -> Result<(), AssessError> {
    let Some(grade) = inputs.grade.filter(|g| (1..=10).contains(g)) else {
        return Ok(());
    };
    let graded = |more: Vec<(&'static str, i64)>| {
        with(
            with(vec![("grade", i64::from(grade))], more),
            wage.inputs(Base::Injury),
        )
    };
    let months = DISABILITY_SUBSIDY_MONTHS[usize::from(grade - 1)];
    items.push(Item {
        kind: BenefitKind::OneTimeDisabilitySubsidy,
        amount: times(wage.wage_base, months)?,
        formula: "months by grade x wage base",
        inputs: graded(vec![("months", months)]),
        eligible_before: None,
    });
    let allowance_months = match grade {
        5 => Some(inputs.grade_allowance_months.grade_5),
        6 => Some(inputs.grade_allowance_months.grade_6),
        _ => None,
    };
    if let Some(months) = allowance_months.filter(|months| *months > 0) {
        items.push(Item {
            kind: BenefitKind::OneTimeDisabilityAllowance,
            amount: times(wage.wage_base, months)?,
            formula: "months by grade (claim policy) x wage base",
            inputs: graded(vec![("months", months)]),
            eligible_before: None,
        });
    }
    if let Some(&percent) = DISABILITY_ALLOWANCE_PERCENT.get(usize::from(grade - 1)) {
        items.push(Item {
            kind: BenefitKind::DisabilityAllowance,
            amount: percent_of(wage.wage_base, percent)?,
            formula: "percent by grade x wage base, monthly",
            inputs: graded(vec![("percent", percent)]),
            eligible_before: None,
        });
    }
    Ok(())
}

/// The death items: funeral subsidy and dependants' pensions on the death base, the one-time
/// death subsidy on the national income.
fn death_items(inputs: &Inputs, items: &mut Vec<Item>) -> Result<(), AssessError> {
    let base = inputs
        .death_base
        .ok_or(AssessError::Missing("the death base"))?;
    let income = inputs
        .national_income
        .ok_or(AssessError::Missing("the national income"))?;
    items.extend(death_benefits(&base, income, &inputs.dependants)?);
    Ok(())
}

/// The relatives' death benefits: the funeral subsidy and the dependants' pensions on the death
/// base, the one-time death subsidy on the national income (`income`: its year and amount). For a
/// death at the accident, and for a worker of grades 1-4 who later dies of the injury (then on
/// the figures of the year before the death).
pub fn death_benefits(
    base: &WageBase,
    income: (i32, Fen),
    dependants: &[Dependant],
) -> Result<Vec<Item>, AssessError> {
    let (income_year, income) = income;
    let mut items = Vec::new();
    items.push(Item {
        kind: BenefitKind::FuneralSubsidy,
        amount: times(base.wage_base, FUNERAL_SUBSIDY_MONTHS)?,
        formula: "6 x death base (percent of the urban private-sector average monthly wage)",
        inputs: with(
            vec![("months", FUNERAL_SUBSIDY_MONTHS)],
            base.inputs(Base::Death),
        ),
        eligible_before: None,
    });
    items.push(Item {
        kind: BenefitKind::DeathSubsidy,
        amount: times(income, DEATH_SUBSIDY_YEARS_OF_INCOME)?,
        formula: "20 x previous-year national urban per-capita disposable income",
        inputs: vec![
            ("years", DEATH_SUBSIDY_YEARS_OF_INCOME),
            ("national_income_year", i64::from(income_year)),
            ("national_income_fen", income.0),
        ],
        eligible_before: None,
    });
    items.extend(dependant_pensions(base, dependants)?);
    Ok(items)
}

/// Dependants' monthly pensions: 40% of the death base for a spouse, 30% for others, 10 points
/// more for an orphan or a lone elderly person; together at most the death base. Over the cap,
/// each is cut in proportion (half-up), the last absorbing the rounding so the total is the cap
/// exactly.
fn dependant_pensions(base: &WageBase, dependants: &[Dependant]) -> Result<Vec<Item>, AssessError> {
    let cap = base.wage_base;
    let percents: Vec<i64> = dependants
        .iter()
        .map(|d| {
            let percent = match d.relation {
                Relation::Spouse => SPOUSE_PENSION_PERCENT,
                Relation::Other | Relation::Child => OTHER_DEPENDANT_PENSION_PERCENT,
            };
            percent
                + if d.orphan_or_lone_elderly {
                    ORPHAN_OR_LONE_ELDERLY_EXTRA_PERCENT
                } else {
                    0
                }
        })
        .collect();
    let total_percent: i64 = percents.iter().sum();
    let capped = total_percent > 100;
    // Each share is at most the base, so the amounts fit whenever the base does.
    let mut amounts: Vec<i64> = percents
        .iter()
        .map(|&p| {
            if capped {
                fen(div_round_half_up(
                    i128::from(cap.0) * i128::from(p),
                    i128::from(total_percent),
                ))
                .map(|amount| amount.0)
            } else {
                percent_of(cap, p).map(|amount| amount.0)
            }
        })
        .collect::<Result<_, _>>()?;
    if capped && let Some((_, others)) = amounts.split_last() {
        let others: i64 = others.iter().sum();
        if let Some(last) = amounts.last_mut() {
            *last = cap.0 - others;
        }
    }
    Ok(percents
        .iter()
        .zip(amounts)
        .zip(dependants)
        .map(|((&percent, amount), dependant)| Item {
            kind: BenefitKind::DependantPension,
            amount: Fen(amount),
            formula: if capped {
                "percent x death base, monthly, cut in proportion to the death-base cap"
            } else {
                "percent x death base, monthly"
            },
            inputs: with(
                vec![("percent", percent), ("total_percent", total_percent)],
                base.inputs(Base::Death),
            ),
            eligible_before: dependant.eligible_before,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guangdong 2025: 120,000 yuan a year, 10,000 a month, all of it the base.
    const WAGE: WageBase = WageBase {
        year: 2025,
        annual: Fen(12_000_000),
        average_monthly_wage: Fen(1_000_000),
        percent: 100,
        wage_base: Fen(1_000_000),
    };

    const NATIONAL_MONTHS: GradeAllowanceMonths = GradeAllowanceMonths {
        grade_5: 30,
        grade_6: 25,
    };

    fn injury(grade: Option<u8>) -> Inputs {
        Inputs {
            kind: IncidentKind::Injury,
            grade,
            wage: Some(WAGE),
            death_base: None,
            national_income: None,
            grade_allowance_months: NATIONAL_MONTHS,
            medical_costs: Fen(2_345_600),
            rehabilitation_costs: Fen(0),
            assistive_devices_costs: Fen(0),
            treatment_days: 45,
            dependants: vec![],
        }
    }

    fn amount(items: &[Item], kind: BenefitKind) -> Vec<i64> {
        items
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.amount.0)
            .collect()
    }

    #[test]
    fn a_grade_8_rider_gets_11_months_of_the_wage_base() {
        let items = assess(&injury(Some(8))).expect("fits");
        assert_eq!(
            amount(&items, BenefitKind::OneTimeDisabilitySubsidy),
            vec![11 * 1_000_000]
        );
        assert!(amount(&items, BenefitKind::DisabilityAllowance).is_empty());
        assert_eq!(amount(&items, BenefitKind::Medical), vec![2_345_600]);
        // 10,000 yuan a month x 45 days / 30.
        assert_eq!(
            amount(&items, BenefitKind::LivingAllowance),
            vec![1_500_000]
        );
        let living = items
            .iter()
            .find(|i| i.kind == BenefitKind::LivingAllowance)
            .expect("living");
        assert_eq!(living.kind.payer(), Payer::Platform);
        assert_eq!(
            amount(&items, BenefitKind::Rehabilitation),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn grades_1_to_4_also_get_a_monthly_allowance() {
        for (grade, months, percent) in [(1, 27, 90), (2, 25, 85), (3, 23, 80), (4, 21, 75)] {
            let items = assess(&injury(Some(grade))).expect("fits");
            assert_eq!(
                amount(&items, BenefitKind::OneTimeDisabilitySubsidy),
                vec![months * 1_000_000]
            );
            assert_eq!(
                amount(&items, BenefitKind::DisabilityAllowance),
                vec![percent * 10_000]
            );
        }
        assert_eq!(
            amount(
                &assess(&injury(Some(10))).expect("fits"),
                BenefitKind::OneTimeDisabilitySubsidy
            ),
            vec![7 * 1_000_000]
        );
        assert!(
            amount(
                &assess(&injury(None)).expect("fits"),
                BenefitKind::OneTimeDisabilitySubsidy
            )
            .is_empty()
        );
    }

    fn death(dependants: Vec<Dependant>) -> Inputs {
        Inputs {
            kind: IncidentKind::Death,
            grade: None,
            wage: None,
            // 100% of 10,000.01 yuan a month.
            death_base: Some(wage_base(2025, Fen(12_000_012), 100)),
            national_income: Some((2023, Fen(5_182_100))),
            grade_allowance_months: NATIONAL_MONTHS,
            medical_costs: Fen(0),
            rehabilitation_costs: Fen(0),
            assistive_devices_costs: Fen(0),
            treatment_days: 0,
            dependants,
        }
    }

    const SPOUSE: Dependant = Dependant {
        relation: Relation::Spouse,
        orphan_or_lone_elderly: false,
        eligible_before: None,
    };
    const CHILD: Dependant = Dependant {
        relation: Relation::Other,
        orphan_or_lone_elderly: false,
        eligible_before: None,
    };
    const ORPHAN: Dependant = Dependant {
        relation: Relation::Other,
        orphan_or_lone_elderly: true,
        eligible_before: None,
    };

    #[test]
    fn a_death_with_a_spouse_and_two_children() {
        let items = assess(&death(vec![SPOUSE, CHILD, CHILD])).expect("fits");
        assert_eq!(amount(&items, BenefitKind::FuneralSubsidy), vec![6_000_006]);
        // 2023: 51,821 yuan x 20 = 1,036,420 yuan.
        assert_eq!(amount(&items, BenefitKind::DeathSubsidy), vec![103_642_000]);
        // 40% and 30% of 10,000.01 yuan, half-up: 400,000.4 -> 400,000; 300,000.3 -> 300,000.
        assert_eq!(
            amount(&items, BenefitKind::DependantPension),
            vec![400_000, 300_000, 300_000]
        );
        assert!(amount(&items, BenefitKind::OneTimeDisabilitySubsidy).is_empty());
    }

    #[test]
    fn dependants_pensions_are_capped_at_the_wage_base() {
        // Spouse 40% + two orphans 40% each = 120%: cut to 100% in proportion.
        let items = assess(&death(vec![SPOUSE, ORPHAN, ORPHAN])).expect("fits");
        let pensions = amount(&items, BenefitKind::DependantPension);
        assert_eq!(pensions.iter().sum::<i64>(), 1_000_001, "exactly the cap");
        assert_eq!(pensions, vec![333_334, 333_334, 333_333]);
    }

    #[test]
    fn the_wage_base_is_a_percent_of_the_average_monthly_wage() {
        // Guangdong 2025, 120,000 yuan a year: 10,000 yuan a month, all of it the base.
        assert_eq!(wage_base(2025, Fen(12_000_000), 100), WAGE);
        // 77,777.77 yuan a year: 6,481.4808 a month -> 6,481.48; 60% = 3,888.888 -> 3,888.89.
        assert_eq!(
            wage_base(2025, Fen(7_777_777), 60),
            WageBase {
                year: 2025,
                annual: Fen(7_777_777),
                average_monthly_wage: Fen(648_148),
                percent: 60,
                wage_base: Fen(388_889)
            }
        );
        // An accident in 2026 with the default offset -1 uses 2025's wage; a death 2025's income.
        assert_eq!(wage_base_year(2026, -1), 2025);
        assert_eq!(national_income_year(2026), 2025);
        // The largest annual wage cannot wrap.
        assert!(wage_base(2025, Fen(i64::MAX), 300).wage_base.0 > 0);
        assert_eq!(death_base_year(2026), 2025);
    }

    fn balance(kind: BenefitKind, amount: i64, paid: i64) -> Balance {
        Balance {
            kind,
            amount: Fen(amount),
            paid: Fen(paid),
        }
    }

    #[test]
    fn a_claim_is_settled_when_every_one_time_item_is_paid_in_full() {
        let items = [
            balance(BenefitKind::OneTimeDisabilitySubsidy, 11_000_000, 5_000_000),
            balance(BenefitKind::Medical, 1_234_567, 1_234_567),
            balance(BenefitKind::LivingAllowance, 1_500_000, 1_500_000),
            balance(BenefitKind::DisabilityAllowance, 750_000, 0),
        ];
        // 60,000 yuan of the subsidy remain; a payment above it is refused, naming what remains.
        assert_eq!(
            remaining(&items, BenefitKind::OneTimeDisabilitySubsidy),
            Fen(6_000_000)
        );
        let refused = check_payment(
            &items,
            BenefitKind::OneTimeDisabilitySubsidy,
            Fen(6_000_001),
        )
        .expect_err("more than remains");
        assert!(refused.0.contains("60000.00"), "{}", refused.0);
        assert!(
            check_payment(
                &items,
                BenefitKind::OneTimeDisabilitySubsidy,
                Fen(6_000_000)
            )
            .is_ok()
        );
        assert!(
            check_payment(&items, BenefitKind::DeathSubsidy, Fen(1)).is_err(),
            "no such item"
        );
        // Monthly items are paid as they fall due and never hold the claim open.
        assert!(check_payment(&items, BenefitKind::DisabilityAllowance, Fen(9_999_999)).is_ok());
        assert!(!settled_after(
            &items,
            BenefitKind::OneTimeDisabilitySubsidy,
            Fen(5_999_999)
        ));
        assert!(settled_after(
            &items,
            BenefitKind::OneTimeDisabilitySubsidy,
            Fen(6_000_000)
        ));
        assert!(!settled_after(&items, BenefitKind::Medical, Fen(1)));
    }

    #[test]
    fn a_payment_is_not_dated_before_the_assessment() {
        let assessed = NaiveDate::from_ymd_opt(2026, 7, 20).expect("date");
        assert!(check_paid_on(assessed, assessed).is_ok(), "the same day");
        let day_before = NaiveDate::from_ymd_opt(2026, 7, 19).expect("date");
        let refused = check_paid_on(day_before, assessed).expect_err("before");
        assert!(refused.0.contains("2026-07-20"), "{}", refused.0);
    }

    #[test]
    fn an_assessment_that_would_wrap_is_refused() {
        let mut inputs = injury(Some(1));
        inputs.wage = Some(wage_base(2025, Fen(i64::MAX), 200));
        assert_eq!(assess(&inputs), Err(AssessError::TooLarge));
        inputs.wage = None;
        assert_eq!(assess(&inputs), Err(AssessError::Missing("the wage base")));
    }

    #[test]
    fn grades_5_and_6_get_a_one_time_allowance_of_months_as_data() {
        for (grade, subsidy, allowance) in [(5, 18, 30), (6, 16, 25)] {
            let items = assess(&injury(Some(grade))).expect("fits");
            assert_eq!(
                amount(&items, BenefitKind::OneTimeDisabilitySubsidy),
                vec![subsidy * 1_000_000]
            );
            assert_eq!(
                amount(&items, BenefitKind::OneTimeDisabilityAllowance),
                vec![allowance * 1_000_000]
            );
            let item = items
                .iter()
                .find(|i| i.kind == BenefitKind::OneTimeDisabilityAllowance)
                .expect("allowance");
            assert_eq!(item.kind.payer(), Payer::Fund);
            assert!(!item.kind.monthly());
            assert!(item.inputs.contains(&("months", allowance)));
            assert!(
                item.inputs
                    .contains(&("average_annual_wage_fen", 12_000_000))
            );
            assert!(item.inputs.contains(&("wage_year", 2025)));
        }
        // A province that sets other months gets them; none for grades 4 and 7.
        let mut inputs = injury(Some(5));
        inputs.grade_allowance_months.grade_5 = 12;
        assert_eq!(
            amount(
                &assess(&inputs).expect("fits"),
                BenefitKind::OneTimeDisabilityAllowance
            ),
            vec![12 * 1_000_000]
        );
        for grade in [4, 7] {
            assert!(
                amount(
                    &assess(&injury(Some(grade))).expect("fits"),
                    BenefitKind::OneTimeDisabilityAllowance
                )
                .is_empty()
            );
        }
    }

    #[test]
    fn a_death_in_2025_on_60_percent_of_the_private_sector_wage_with_four_dependants() {
        // 2024 urban private-sector wage 80,000 yuan: 6,666.6667 a month -> 6,666.67; 60% of it
        // = 4,000.002 -> 4,000.00 yuan, the death base.
        let base = wage_base(2024, Fen(8_000_000), 60);
        assert_eq!(base.average_monthly_wage, Fen(666_667));
        assert_eq!(base.wage_base, Fen(400_000));
        const PARENT: Dependant = Dependant {
            relation: Relation::Other,
            orphan_or_lone_elderly: true,
            eligible_before: None,
        };
        let inputs = Inputs {
            death_base: Some(base),
            // 2024: 54,188 yuan.
            national_income: Some((2024, Fen(5_418_800))),
            ..death(vec![SPOUSE, CHILD, CHILD, PARENT])
        };
        let items = assess(&inputs).expect("fits");
        // Six months of the death base: 24,000 yuan.
        assert_eq!(amount(&items, BenefitKind::FuneralSubsidy), vec![2_400_000]);
        // 20 x 54,188 = 1,083,760 yuan.
        assert_eq!(amount(&items, BenefitKind::DeathSubsidy), vec![108_376_000]);
        // 40 + 30 + 30 + 40 = 140% of the base, cut to the base: 4,000 x 40/140 = 1,142.857 ->
        // 1,142.86; x 30/140 = 857.142 -> 857.14; the last takes the rest, 1,142.86.
        let pensions = amount(&items, BenefitKind::DependantPension);
        assert_eq!(pensions, vec![114_286, 85_714, 85_714, 114_286]);
        assert_eq!(pensions.iter().sum::<i64>(), 400_000, "exactly the cap");
        let funeral = items
            .iter()
            .find(|i| i.kind == BenefitKind::FuneralSubsidy)
            .expect("funeral");
        for input in [
            ("private_sector_wage_year", 2024),
            ("private_sector_annual_wage_fen", 8_000_000),
            ("private_sector_monthly_wage_fen", 666_667),
            ("death_base_percent", 60),
            ("death_base_fen", 400_000),
        ] {
            assert!(
                funeral.inputs.contains(&input),
                "{input:?} in {:?}",
                funeral.inputs
            );
        }
        // No wage base is needed for a death without treatment days.
        assert!(!needs_wage_base(IncidentKind::Death, 0));
        assert!(needs_wage_base(IncidentKind::Death, 3));
        assert_eq!(
            assess(&Inputs {
                death_base: None,
                ..inputs
            }),
            Err(AssessError::Missing("the death base"))
        );
    }

    #[test]
    fn a_review_shows_what_changed_by_kind() {
        // Grade 2 -> grade 1 on 10,000 yuan: the subsidy 25 -> 27 months, the allowance 85 -> 90%.
        let before = [
            (BenefitKind::OneTimeDisabilitySubsidy, Fen(25_000_000)),
            (BenefitKind::DisabilityAllowance, Fen(850_000)),
            (BenefitKind::Medical, Fen(100_000)),
        ];
        let after = [
            (BenefitKind::Medical, Fen(100_000)),
            (BenefitKind::OneTimeDisabilitySubsidy, Fen(27_000_000)),
            (BenefitKind::DisabilityAllowance, Fen(900_000)),
        ];
        assert_eq!(
            differences(&before, &after),
            vec![
                (
                    BenefitKind::OneTimeDisabilitySubsidy,
                    Fen(25_000_000),
                    Fen(27_000_000)
                ),
                (BenefitKind::DisabilityAllowance, Fen(850_000), Fen(900_000)),
            ]
        );
        assert!(differences(&after, &after).is_empty());
    }

    #[test]
    fn a_relapse_adds_its_bills_to_the_medical_items() {
        let current = [
            (BenefitKind::Medical, Fen(1_234_567)),
            (BenefitKind::OneTimeDisabilitySubsidy, Fen(11_000_000)),
        ];
        let bills = Bills {
            medical: Fen(500_000),
            rehabilitation: Fen(80_000),
            assistive_devices: Fen(0),
        };
        // Medical 12,345.67 + 5,000.00 = 17,345.67 yuan; rehabilitation is new.
        assert_eq!(
            after_relapse(&current, &bills),
            Ok(vec![
                (BenefitKind::Medical, Fen(500_000), Fen(1_734_567)),
                (BenefitKind::Rehabilitation, Fen(80_000), Fen(80_000)),
            ])
        );
        assert_eq!(after_relapse(&current, &Bills::default()), Ok(vec![]));
    }
}
