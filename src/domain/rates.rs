//! Per-order premium rates of occupational-injury protection (DOMAIN.md, Contributions).
//!
//! A rate is an industry base rate (whole fen per order, effective-dated, with a second class for
//! the instant-delivery platforms of the early pilot) times a province × platform multiplier from
//! 0.5 to 1.5 in steps of 0.1, changed at most once a year, effective 1 January. One order's premium
//! is exact in tenths of a fen (base × multiplier tenths); a declaration line rounds its sum half-up
//! to the fen, once.
use super::Invalid;
use super::industry::Industry;
use super::money::{Fen, MAX_AMOUNT_FEN, div_round_half_up};
use chrono::{Datelike, NaiveDate};

/// Which base rate of an industry applies to a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    Standard,
    /// Instant-delivery platforms of the early pilot, placed by their payout ratio.
    EarlyPilot,
}

impl RateClass {
    pub const ALL: [RateClass; 2] = [RateClass::Standard, RateClass::EarlyPilot];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::Standard => "standard",
            RateClass::EarlyPilot => "early_pilot",
        }
    }
}

crate::code_from_as_str!(RateClass, "rate class");

/// The largest base rate: 100,000 fen (1,000 yuan) per order. With the largest multiplier (1.5)
/// one order's premium is at most 1,500,000 tenths of a fen.
pub const MAX_FEN_PER_ORDER: i64 = 100_000;

/// A base rate from a request: 0 to [`MAX_FEN_PER_ORDER`] fen per order.
pub fn check_fen_per_order(fen_per_order: i64) -> Result<i64, Invalid> {
    if (0..=MAX_FEN_PER_ORDER).contains(&fen_per_order) {
        Ok(fen_per_order)
    } else {
        Err(Invalid::new(format!(
            "must be 0 to {MAX_FEN_PER_ORDER} fen (1,000 yuan) per order"
        )))
    }
}

/// The most orders one declared line may count: 10¹² (its amount is bounded too, by
/// [`MAX_AMOUNT_FEN`]).
pub const MAX_DECLARED_ORDERS: i64 = 1_000_000_000_000;

/// A declared order count: 0 to [`MAX_DECLARED_ORDERS`].
pub fn check_declared_orders(orders: i64) -> Result<i64, Invalid> {
    if (0..=MAX_DECLARED_ORDERS).contains(&orders) {
        Ok(orders)
    } else {
        Err(Invalid::new(format!(
            "must be 0 to {MAX_DECLARED_ORDERS} orders"
        )))
    }
}

/// One published base rate, in force from `valid_from` until the next one for the same
/// industry and class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseRate {
    pub industry: Industry,
    pub class: RateClass,
    pub valid_from: NaiveDate,
    pub fen_per_order: i64,
}

const JULY_2025: (i32, u32, u32) = (2025, 7, 1);

/// The base rates published from 2025-07-01, yuan per order: ride-hailing 0.01; instant delivery
/// 0.07 (new platforms) or 0.25 (early-pilot platforms); same-city freight 0.18.
pub fn published_base_rates() -> Vec<BaseRate> {
    let from =
        NaiveDate::from_ymd_opt(JULY_2025.0, JULY_2025.1, JULY_2025.2).unwrap_or(NaiveDate::MIN);
    let rate = |industry, class, fen_per_order| BaseRate {
        industry,
        class,
        valid_from: from,
        fen_per_order,
    };
    vec![
        rate(Industry::RideHailing, RateClass::Standard, 1),
        rate(Industry::InstantDelivery, RateClass::Standard, 7),
        rate(Industry::InstantDelivery, RateClass::EarlyPilot, 25),
        rate(Industry::SameCityFreight, RateClass::Standard, 18),
    ]
}

/// A province × platform multiplier: 0.5 to 1.5 in steps of 0.1, held in tenths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Multiplier(u8);

impl Multiplier {
    pub const ONE: Multiplier = Multiplier(10);

    pub fn from_tenths(tenths: i32) -> Result<Self, Invalid> {
        match u8::try_from(tenths) {
            Ok(tenths @ 5..=15) => Ok(Multiplier(tenths)),
            _ => Err(Invalid::new(
                "must be 0.5 to 1.5 in steps of 0.1 (5 to 15 tenths)",
            )),
        }
    }

    /// Parses `0.5` … `1.5` with one decimal (or a whole `1`), exactly as written.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid::new("must be 0.5 to 1.5 in steps of 0.1, e.g. 1.2");
        let (whole, tenth) = raw.split_once('.').unwrap_or((raw, "0"));
        if whole.len() != 1 || tenth.len() != 1 {
            return Err(invalid());
        }
        let whole: i32 = whole.parse().map_err(|_| invalid())?;
        let tenth: i32 = tenth.parse().map_err(|_| invalid())?;
        Self::from_tenths(whole * 10 + tenth).map_err(|_| invalid())
    }

    pub fn tenths(self) -> i64 {
        i64::from(self.0)
    }
}

impl std::fmt::Display for Multiplier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

/// A new multiplier may take effect only on 1 January, and only once a year: `existing` are the
/// effective dates already recorded for the same province, platform and industry.
pub fn check_multiplier_change(
    effective_from: NaiveDate,
    existing: &[NaiveDate],
) -> Result<(), Invalid> {
    if (effective_from.month(), effective_from.day()) != (1, 1) {
        return Err(Invalid::new(format!(
            "multipliers change only on 1 January; {effective_from} is not (use {}-01-01)",
            effective_from.year() + 1
        )));
    }
    if existing
        .iter()
        .any(|day| day.year() == effective_from.year())
    {
        return Err(Invalid::new(format!(
            "the multiplier already changes in {}; it may change at most once a year",
            effective_from.year()
        )));
    }
    Ok(())
}

/// The version in force on `day`: the latest whose start is on or before it. `versions` may be
/// in any order.
pub fn in_force<T>(
    versions: &[T],
    day: NaiveDate,
    valid_from: impl Fn(&T) -> NaiveDate,
) -> Option<&T> {
    versions
        .iter()
        .filter(|v| valid_from(v) <= day)
        .max_by_key(|v| valid_from(v))
}

/// One order's premium, exact, in tenths of a fen: the base fen per order times the multiplier's
/// tenths. THE definition of the premium: order ingest, the rate in force and declarations all
/// call this. Saturates instead of wrapping, though stored rates (at most [`MAX_FEN_PER_ORDER`])
/// give at most 1,500,000.
pub fn order_premium_tenth_fen(fen_per_order: i64, multiplier: Multiplier) -> i64 {
    fen_per_order.saturating_mul(multiplier.tenths())
}

/// A declaration line's amount from its orders' exact premiums (in tenths of a fen), rounded
/// half-up to the fen once. None when negative or above [`MAX_AMOUNT_FEN`].
pub fn line_amount_from_tenths(tenth_fen: i128) -> Option<Fen> {
    if tenth_fen < 0 {
        return None;
    }
    i64::try_from(div_round_half_up(tenth_fen, 10))
        .ok()
        .filter(|fen| *fen <= MAX_AMOUNT_FEN)
        .map(Fen)
}

/// A declaration line: `orders` at one rate, rounded half-up to the fen once. None on a negative
/// order count or rate, or an amount above [`MAX_AMOUNT_FEN`].
pub fn line_amount(orders: i64, fen_per_order: i64, multiplier: Multiplier) -> Option<Fen> {
    if orders < 0 || fen_per_order < 0 {
        return None;
    }
    line_amount_from_tenths(
        i128::from(orders) * i128::from(order_premium_tenth_fen(fen_per_order, multiplier)),
    )
}

/// A declaration's total: the sum of its lines, at most [`MAX_AMOUNT_FEN`].
pub fn declaration_total(lines: impl IntoIterator<Item = Fen>) -> Option<Fen> {
    Fen::checked_sum(lines).filter(|total| total.0 <= MAX_AMOUNT_FEN)
}

/// Per industry, this version's amount minus the previous version's, for every industry in
/// either, ordered by the industry's name. Amounts are bounded, so the differences cannot
/// overflow; None if they somehow would.
pub fn industry_deltas(
    now: &[(Industry, Fen)],
    before: &[(Industry, Fen)],
) -> Option<Vec<(Industry, Fen)>> {
    use std::collections::BTreeMap;
    let mut deltas: BTreeMap<&'static str, (Industry, i64)> = BTreeMap::new();
    for (industry, amount) in now {
        let entry = &mut deltas.entry(industry.as_str()).or_insert((*industry, 0)).1;
        *entry = entry.checked_add(amount.0)?;
    }
    for (industry, amount) in before {
        let entry = &mut deltas.entry(industry.as_str()).or_insert((*industry, 0)).1;
        *entry = entry.checked_sub(amount.0)?;
    }
    Some(
        deltas
            .into_values()
            .map(|(industry, delta)| (industry, Fen(delta)))
            .collect(),
    )
}

/// Orders may be reported late, but not from the future beyond a little clock skew.
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 5;

/// An order's acceptance, the instant that prices it: a fact like any other (not before the pilot
/// began), allowing the platform's clock to run up to [`MAX_CLOCK_SKEW_MINUTES`] ahead.
pub fn check_accepted_at(
    accepted_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Invalid> {
    super::clock::check_fact_instant(
        accepted_at,
        now + chrono::Duration::minutes(MAX_CLOCK_SKEW_MINUTES),
    )
}

/// The longest an order may last, acceptance to completion. It bounds how far back "the order
/// the worker was on at that instant" is looked for (one or two monthly partitions, not all).
pub const MAX_ORDER_HOURS: i64 = 48;

/// An order's completion: not before its acceptance, and within [`MAX_ORDER_HOURS`] of it.
pub fn check_completed_at(
    accepted_at: chrono::DateTime<chrono::Utc>,
    completed_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), Invalid> {
    if completed_at < accepted_at {
        return Err(Invalid::new("must not precede accepted_at"));
    }
    if completed_at - accepted_at > chrono::Duration::hours(MAX_ORDER_HOURS) {
        return Err(Invalid::new(format!(
            "an order lasts at most {MAX_ORDER_HOURS} hours from accepted_at"
        )));
    }
    Ok(())
}

/// Names the versions an amount was computed with: `b<base rate id>-m<multiplier id or 0>`.
pub fn rate_version(base_rate_id: i64, multiplier_id: Option<i64>) -> String {
    format!("b{base_rate_id}-m{}", multiplier_id.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn multipliers_are_half_to_one_and_a_half_in_tenths() {
        assert_eq!(Multiplier::parse("1.3").map(|m| m.tenths()), Ok(13));
        assert_eq!(Multiplier::parse("1").map(|m| m.tenths()), Ok(10));
        assert_eq!(
            Multiplier::parse("0.5").map(|m| m.to_string()),
            Ok("0.5".to_owned())
        );
        for bad in ["0.4", "1.6", "1.25", "2", "", "x", "-1.0"] {
            assert!(Multiplier::parse(bad).is_err(), "{bad}");
        }
        assert!(Multiplier::from_tenths(4).is_err());
        assert!(Multiplier::from_tenths(16).is_err());
    }

    #[test]
    fn multipliers_change_on_the_first_of_january_once_a_year() {
        assert!(check_multiplier_change(day(2027, 1, 1), &[day(2026, 1, 1)]).is_ok());
        let not_january = check_multiplier_change(day(2027, 3, 1), &[]).expect_err("March");
        assert!(not_january.0.contains("2028-01-01"), "{not_january}");
        let twice =
            check_multiplier_change(day(2027, 1, 1), &[day(2027, 1, 1)]).expect_err("twice");
        assert!(twice.0.contains("once a year"), "{twice}");
    }

    #[test]
    fn the_version_in_force_is_the_latest_started() {
        let versions = [
            (day(2025, 7, 1), "a"),
            (day(2027, 1, 1), "c"),
            (day(2026, 1, 1), "b"),
        ];
        let at = |d| in_force(&versions, d, |v| v.0).map(|v| v.1);
        assert_eq!(at(day(2025, 6, 30)), None);
        assert_eq!(at(day(2025, 7, 1)), Some("a"));
        assert_eq!(at(day(2026, 12, 31)), Some("b"));
        assert_eq!(at(day(2027, 1, 1)), Some("c"));
    }

    #[test]
    fn rounding_vectors() {
        let m = |raw| Multiplier::parse(raw).expect("multiplier");
        // 7 fen × 1.3 = 9.1 fen per order; 15 orders = 136.5 fen → 137 (half-up, once per line).
        assert_eq!(line_amount(15, 7, m("1.3")), Some(Fen(137)));
        assert_eq!(line_amount(14, 7, m("1.3")), Some(Fen(127))); // 127.4
        // Rounding per order instead would give 15 × 9 = 135: the line rounds once.
        assert_eq!(line_amount(1, 7, m("1.3")), Some(Fen(9)));
        assert_eq!(line_amount(1_000_000, 25, m("0.5")), Some(Fen(12_500_000)));
        assert_eq!(line_amount(3, 1, m("1.5")), Some(Fen(5))); // 4.5 → 5
        assert_eq!(line_amount(0, 18, Multiplier::ONE), Some(Fen(0)));
        assert_eq!(line_amount(-1, 18, Multiplier::ONE), None);
        assert_eq!(
            line_amount(i64::MAX, 25, m("1.5")),
            None,
            "overflow is refused, not wrapped"
        );
        // The bound: 10¹² fen exactly is a line; a tenth of a fen more rounds to 10¹² too, half a
        // fen more does not fit.
        assert_eq!(
            line_amount_from_tenths(i128::from(MAX_AMOUNT_FEN) * 10 + 4),
            Some(Fen(MAX_AMOUNT_FEN))
        );
        assert_eq!(
            line_amount_from_tenths(i128::from(MAX_AMOUNT_FEN) * 10 + 5),
            None
        );
        assert_eq!(line_amount_from_tenths(-1), None);
    }

    #[test]
    fn the_premium_is_base_fen_times_multiplier_tenths() {
        let m = |tenths| Multiplier::from_tenths(tenths).expect("multiplier");
        assert_eq!(order_premium_tenth_fen(7, Multiplier::ONE), 70);
        assert_eq!(order_premium_tenth_fen(7, m(13)), 91);
        assert_eq!(order_premium_tenth_fen(25, m(5)), 125);
        assert_eq!(
            order_premium_tenth_fen(MAX_FEN_PER_ORDER, m(15)),
            1_500_000,
            "the largest premium"
        );
        assert_eq!(rate_version(3, None), "b3-m0");
        assert_eq!(rate_version(3, Some(9)), "b3-m9");
    }

    fn instant(rfc3339: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .expect("instant")
            .to_utc()
    }

    #[test]
    fn orders_are_accepted_from_the_pilot_start_to_a_little_ahead_of_now() {
        let now = instant("2026-06-15T08:00:00Z");
        assert!(check_accepted_at(instant("2026-06-15T08:05:00Z"), now).is_ok());
        assert!(check_accepted_at(instant("2026-06-15T08:05:01Z"), now).is_err());
        assert!(check_accepted_at(instant("2022-06-30T16:00:00Z"), now).is_ok());
        assert!(check_accepted_at(instant("2022-06-30T15:59:59Z"), now).is_err());
    }

    #[test]
    fn an_order_lasts_at_most_two_days() {
        let accepted = instant("2026-06-15T08:00:00Z");
        assert!(check_completed_at(accepted, accepted).is_ok());
        assert!(check_completed_at(accepted, instant("2026-06-17T08:00:00Z")).is_ok());
        assert!(check_completed_at(accepted, instant("2026-06-17T08:00:01Z")).is_err());
        assert!(check_completed_at(accepted, instant("2026-06-15T07:59:59Z")).is_err());
    }

    #[test]
    fn request_bounds() {
        assert_eq!(check_fen_per_order(0), Ok(0));
        assert_eq!(check_fen_per_order(100_000), Ok(100_000));
        assert!(check_fen_per_order(100_001).is_err());
        assert!(check_fen_per_order(-1).is_err());
        assert!(check_declared_orders(MAX_DECLARED_ORDERS).is_ok());
        assert!(check_declared_orders(MAX_DECLARED_ORDERS + 1).is_err());
        assert!(check_declared_orders(-1).is_err());
    }

    #[test]
    fn totals_and_deltas() {
        assert_eq!(declaration_total([Fen(1), Fen(2)]), Some(Fen(3)));
        assert_eq!(
            declaration_total([Fen(MAX_AMOUNT_FEN), Fen(1)]),
            None,
            "a total is bounded like any amount"
        );
        let deltas = industry_deltas(
            &[
                (Industry::InstantDelivery, Fen(182)),
                (Industry::RideHailing, Fen(5)),
            ],
            &[
                (Industry::InstantDelivery, Fen(137)),
                (Industry::SameCityFreight, Fen(9)),
            ],
        );
        assert_eq!(
            deltas,
            Some(vec![
                (Industry::InstantDelivery, Fen(45)),
                (Industry::RideHailing, Fen(5)),
                (Industry::SameCityFreight, Fen(-9)),
            ])
        );
    }

    #[test]
    fn the_published_rates() {
        let rates = published_base_rates();
        let fen = |industry, class| {
            rates
                .iter()
                .find(|r| r.industry == industry && r.class == class)
                .map(|r| r.fen_per_order)
        };
        assert_eq!(fen(Industry::RideHailing, RateClass::Standard), Some(1));
        assert_eq!(fen(Industry::InstantDelivery, RateClass::Standard), Some(7));
        assert_eq!(
            fen(Industry::InstantDelivery, RateClass::EarlyPilot),
            Some(25)
        );
        assert_eq!(
            fen(Industry::SameCityFreight, RateClass::Standard),
            Some(18)
        );
    }
}
