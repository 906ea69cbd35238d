//! Money in integer fen (0.01 yuan), and the one rounding rule: half-up, once, where a rule says so.
use super::Invalid;

/// An amount of money in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(pub i64);

/// The largest amount any one request may carry: 10¹² fen (ten billion yuan). Sums of many
/// bounded amounts stay far inside i64 (9.2 × 10¹⁸), so a stored total can always be read back.
pub const MAX_AMOUNT_FEN: i64 = 1_000_000_000_000;

impl Fen {
    /// A positive amount from a request, at most `MAX_AMOUNT_FEN`.
    pub fn positive(fen: i64) -> Result<Self, Invalid> {
        if (1..=MAX_AMOUNT_FEN).contains(&fen) {
            Ok(Fen(fen))
        } else {
            Err(Invalid::new(format!("must be 1 to {MAX_AMOUNT_FEN} fen")))
        }
    }

    /// A non-negative amount from a request, at most `MAX_AMOUNT_FEN`.
    pub fn non_negative(fen: i64) -> Result<Self, Invalid> {
        if (0..=MAX_AMOUNT_FEN).contains(&fen) {
            Ok(Fen(fen))
        } else {
            Err(Invalid::new(format!("must be 0 to {MAX_AMOUNT_FEN} fen")))
        }
    }

    /// The sum of `amounts`, or None if it would not fit.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Fen>) -> Option<Fen> {
        amounts
            .into_iter()
            .try_fold(Fen(0), |sum, amount| sum.checked_add(amount))
    }

    /// Parses yuan written with at most two decimals, e.g. `0.07`, `51821`, `1036420.00`.
    pub fn parse_yuan(raw: &str) -> Result<Self, Invalid> {
        let invalid =
            || Invalid::new("must be an amount in yuan with at most two decimals, e.g. 0.07");
        let (negative, digits) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 2 {
            return Err(invalid());
        }
        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        let fraction: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
        let fen = whole
            .checked_mul(100)
            .and_then(|f| f.checked_add(fraction))
            .ok_or_else(invalid)?;
        Ok(Fen(if negative { -fen } else { fen }))
    }

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }
}

impl std::fmt::Display for Fen {
    /// As yuan: `0.07`, `-12.30`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// `numerator / denominator` rounded half away from zero (half-up for the non-negative amounts of
/// contributions). `denominator` must be positive.
pub fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0);
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_parse_to_fen() {
        assert_eq!(Fen::parse_yuan("0.07"), Ok(Fen(7)));
        assert_eq!(Fen::parse_yuan("0.1"), Ok(Fen(10)));
        assert_eq!(Fen::parse_yuan("51821"), Ok(Fen(5_182_100)));
        assert_eq!(Fen::parse_yuan("1036420.00"), Ok(Fen(103_642_000)));
        assert_eq!(Fen::parse_yuan("-1.5"), Ok(Fen(-150)));
        for bad in [
            "",
            "1.234",
            "abc",
            "1,5",
            ".5",
            "1.-5",
            "99999999999999999999",
        ] {
            assert!(Fen::parse_yuan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fen_display_as_yuan() {
        assert_eq!(Fen(7).to_string(), "0.07");
        assert_eq!(Fen(103_642_000).to_string(), "1036420.00");
        assert_eq!(Fen(-1230).to_string(), "-12.30");
    }

    #[test]
    fn rounding_is_half_up_once() {
        assert_eq!(div_round_half_up(14, 10), 1);
        assert_eq!(div_round_half_up(15, 10), 2);
        assert_eq!(div_round_half_up(25, 10), 3);
        assert_eq!(div_round_half_up(-15, 10), -2);
        assert_eq!(div_round_half_up(-14, 10), -1);
        assert_eq!(div_round_half_up(0, 10), 0);
    }
}
