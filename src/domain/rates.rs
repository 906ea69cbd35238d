//! Per-order premium rates of occupational-injury protection (DOMAIN.md, Contributions).
//!
//! A rate is an industry base rate (whole fen per order, effective-dated, with a second class for
//! the instant-delivery platforms of the early pilot) times a province × platform multiplier from
//! 0.5 to 1.5 in steps of 0.1, changed at most once a year, effective 1 January. One order's premium
//! is exact in tenths of a fen (base × multiplier tenths); a declaration line rounds its sum half-up
//! to the fen, once.
use super::Invalid;
use super::industry::Industry;
use super::money::{Fen, div_round_half_up};
use chrono::{Datelike, NaiveDate};

/// Which base rate of an industry applies to a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    Standard,
    /// Instant-delivery platforms of the early pilot, placed by their payout ratio.
    EarlyPilot,
}

impl RateClass {
    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::Standard => "standard",
            RateClass::EarlyPilot => "early_pilot",
        }
    }

    pub fn from_db(value: &str) -> Result<Self, Invalid> {
        match value {
            "standard" => Ok(RateClass::Standard),
            "early_pilot" => Ok(RateClass::EarlyPilot),
            other => Err(Invalid::new(format!("unknown rate class {other:?}"))),
        }
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

    /// Parses `0.5` … `1.5` with one decimal.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid::new("must be 0.5 to 1.5 in steps of 0.1, e.g. 1.2");
        let (whole, tenth) = raw.trim().split_once('.').unwrap_or((raw.trim(), "0"));
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

/// One order's premium, exact, in tenths of a fen.
pub fn order_premium_tenth_fen(fen_per_order: i64, multiplier: Multiplier) -> i64 {
    fen_per_order * multiplier.tenths()
}

/// A declaration line: `orders` at one rate, rounded half-up to the fen once. None on overflow or
/// a negative order count.
pub fn line_amount(orders: i64, fen_per_order: i64, multiplier: Multiplier) -> Option<Fen> {
    if orders < 0 || fen_per_order < 0 {
        return None;
    }
    let tenths =
        i128::from(orders) * i128::from(order_premium_tenth_fen(fen_per_order, multiplier));
    i64::try_from(div_round_half_up(tenths, 10)).ok().map(Fen)
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
