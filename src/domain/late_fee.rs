//! Declaration periods, due dates, statements and late fees (DOMAIN.md: 0.05% a day of the
//! overdue amount, as configurable data).
use super::Invalid;
use super::money::{Fen, MAX_AMOUNT_FEN, div_round_half_up};
use chrono::{Datelike, NaiveDate};

/// Where a declaration's lines come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeclarationSource {
    /// The orders recorded through RecordOrders.
    Orders,
    /// Order counts the platform declared.
    DeclaredCounts,
}

impl DeclarationSource {
    pub const ALL: [DeclarationSource; 2] =
        [DeclarationSource::Orders, DeclarationSource::DeclaredCounts];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DeclarationSource::Orders => "orders",
            DeclarationSource::DeclaredCounts => "declared_counts",
        }
    }
}

crate::code_from_as_str!(DeclarationSource, "declaration source");

/// The most the payments of one declaration series (platform, province, month) may add up to:
/// 1,000 payments of the largest amount. Partial and over-payments are fine; this bound only keeps
/// every sum a statement shows (paid, balance) far inside a 64-bit integer, so no accepted payment
/// can make a later statement or arrears listing fail.
pub const MAX_SERIES_PAID_FEN: i64 = 1_000 * MAX_AMOUNT_FEN;

/// Whether a payment of `amount` may be added to a series that has received `paid` so far.
pub fn check_series_payment(paid: i128, amount: Fen) -> Result<(), String> {
    if paid + i128::from(amount.0) > i128::from(MAX_SERIES_PAID_FEN) {
        return Err(format!(
            "the payments of one declared month may total at most {} yuan; {} yuan are recorded",
            Fen(MAX_SERIES_PAID_FEN),
            Fen(i64::try_from(paid).unwrap_or(i64::MAX))
        ));
    }
    Ok(())
}

/// What a statement says of a declared month as of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatementFigures {
    pub paid: Fen,
    /// Due minus paid; negative when over-paid.
    pub balance: Fen,
    /// Days late while something is owed; 0 once paid in full.
    pub days_late: i64,
    pub late_fee: Fen,
}

/// The statement of `due` (due on `due_date`) with `payments` received by `as_of`. None when a
/// sum does not fit, which the bounds on amounts ([`MAX_AMOUNT_FEN`], [`MAX_SERIES_PAID_FEN`])
/// rule out for anything accepted.
pub fn statement(
    due: Fen,
    due_date: NaiveDate,
    payments: &[(NaiveDate, Fen)],
    as_of: NaiveDate,
    ppm_per_day: i64,
) -> Option<StatementFigures> {
    let paid = Fen::checked_sum(payments.iter().map(|(_, amount)| *amount))?;
    let balance = due.checked_sub(paid)?;
    Some(StatementFigures {
        paid,
        balance,
        days_late: if balance.0 > 0 {
            days_late(due_date, as_of)
        } else {
            0
        },
        late_fee: late_fee_with_payments(due, due_date, payments, as_of, ppm_per_day),
    })
}

/// A month, held as its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period(NaiveDate);

impl Period {
    /// Parses `YYYY-MM`.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid::new("must be a month written exactly YYYY-MM, e.g. 2026-01");
        let bytes = raw.as_bytes();
        let shaped = bytes.len() == 7
            && bytes[4] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        if !shaped {
            return Err(invalid());
        }
        let year: i32 = raw[..4].parse().map_err(|_| invalid())?;
        let month: u32 = raw[5..].parse().map_err(|_| invalid())?;
        NaiveDate::from_ymd_opt(year, month, 1)
            .filter(|day| day.year() >= 2000)
            .map(Period)
            .ok_or_else(invalid)
    }

    pub fn containing(day: NaiveDate) -> Self {
        Period(day.with_day(1).unwrap_or(day))
    }

    pub fn first_day(self) -> NaiveDate {
        self.0
    }

    pub fn next(self) -> Self {
        Period(
            self.0
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(self.0),
        )
    }

    /// The `due_day`th of the following month (clamped to that month's last day).
    pub fn due_date(self, due_day: u32) -> NaiveDate {
        let next = self.next().0;
        let last = next
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.pred_opt())
            .map_or(28, |d| d.day());
        next.with_day(due_day.clamp(1, last)).unwrap_or(next)
    }
}

/// A month may be declared once it has ended (China Standard Time).
pub fn check_declarable(period: Period, today: NaiveDate) -> Result<(), Invalid> {
    let current = Period::containing(today);
    if period >= current {
        return Err(Invalid::new(format!(
            "must be a month that has ended (before {current})"
        )));
    }
    Ok(())
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m"))
    }
}

/// The statutory late fee: 0.05% of the overdue amount a day, in parts per million.
pub const STATUTORY_PPM_PER_DAY: i64 = 500;

/// Whole days late: paying on the due date is on time; the day after is one day late.
pub fn days_late(due: NaiveDate, as_of: NaiveDate) -> i64 {
    (as_of - due).num_days().max(0)
}

/// The late fee on `overdue` as of `as_of` with nothing paid, rounded half-up to the fen once.
pub fn late_fee(overdue: Fen, due: NaiveDate, as_of: NaiveDate, ppm_per_day: i64) -> Fen {
    late_fee_with_payments(overdue, due, &[], as_of, ppm_per_day)
}

/// The late fee as of `as_of` on `due_amount` due on `due`, with payments received on their days:
/// each day after the due date, up to and including the day of a payment, is charged on the balance
/// still outstanding that morning. Rounded half-up to the fen once, at the end.
pub fn late_fee_with_payments(
    due_amount: Fen,
    due: NaiveDate,
    payments: &[(NaiveDate, Fen)],
    as_of: NaiveDate,
    ppm_per_day: i64,
) -> Fen {
    let mut payments: Vec<(NaiveDate, Fen)> = payments.to_vec();
    payments.sort();
    let mut balance = i128::from(due_amount.0)
        - payments
            .iter()
            .filter(|(day, _)| *day <= due)
            .map(|(_, amount)| i128::from(amount.0))
            .sum::<i128>();
    let mut charged_until = due;
    let mut fen_days: i128 = 0;
    for (day, amount) in payments.iter().filter(|(day, _)| *day > due) {
        let until = (*day).min(as_of);
        if until > charged_until {
            fen_days += balance.max(0) * i128::from((until - charged_until).num_days());
            charged_until = until;
        }
        if *day > as_of {
            break;
        }
        balance -= i128::from(amount.0);
    }
    if as_of > charged_until {
        fen_days += balance.max(0) * i128::from((as_of - charged_until).num_days());
    }
    // Bounded: a balance of at most 10¹² fen, fewer than 70,000 days (dates end in 2200) and at
    // most 100,000 ppm a day give at most 7 × 10¹⁵ fen; saturating is never reached.
    let fee = div_round_half_up(fen_days.saturating_mul(i128::from(ppm_per_day)), 1_000_000);
    Fen(i64::try_from(fee).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn periods_and_due_dates() {
        let january = Period::parse("2026-01").expect("period");
        assert_eq!(january.to_string(), "2026-01");
        assert_eq!(january.due_date(15), day(2026, 2, 15));
        assert_eq!(
            Period::parse("2026-12").map(|p| p.due_date(15)),
            Ok(day(2027, 1, 15))
        );
        assert_eq!(
            Period::parse("2026-01").map(|p| p.due_date(31)),
            Ok(day(2026, 2, 28)),
            "clamped"
        );
        assert_eq!(
            Period::containing(day(2026, 3, 17)),
            Period::parse("2026-03").expect("period")
        );
        assert!(Period::parse("2026-13").is_err());
        assert!(Period::parse("2026").is_err());
        for not_canonical in [
            "2026-1", " 2026-01", "2026-01 ", "2026/01", "+202-01", "2026-00",
        ] {
            assert!(Period::parse(not_canonical).is_err(), "{not_canonical:?}");
        }
    }

    #[test]
    fn only_ended_months_are_declared() {
        let june = Period::parse("2026-06").expect("period");
        assert!(check_declarable(june, day(2026, 6, 30)).is_err());
        assert!(check_declarable(june, day(2026, 7, 1)).is_ok());
    }

    #[test]
    fn days_are_counted_across_month_and_year_ends() {
        assert_eq!(
            days_late(day(2026, 2, 15), day(2026, 2, 15)),
            0,
            "on the due date"
        );
        assert_eq!(days_late(day(2026, 2, 15), day(2026, 2, 16)), 1);
        assert_eq!(
            days_late(day(2026, 2, 15), day(2026, 3, 1)),
            14,
            "February 2026 has 28 days"
        );
        assert_eq!(
            days_late(day(2028, 2, 15), day(2028, 3, 1)),
            15,
            "2028 is a leap year"
        );
        assert_eq!(days_late(day(2026, 1, 15), day(2026, 2, 1)), 17);
        assert_eq!(days_late(day(2026, 12, 15), day(2027, 1, 5)), 21);
        assert_eq!(
            days_late(day(2026, 2, 15), day(2026, 2, 1)),
            0,
            "before the due date"
        );
    }

    #[test]
    fn partial_payments_stop_the_fee_on_what_they_pay() {
        let due = day(2026, 1, 15);
        // 1,000 yuan due; 600 paid on the 17th, the rest on 2026-02-01.
        let payments = [
            (day(2026, 1, 17), Fen(60_000)),
            (day(2026, 2, 1), Fen(40_000)),
        ];
        // 16th and 17th on 1,000 yuan (2 x 0.50), 18th to 1 February on 400 yuan (15 x 0.20).
        assert_eq!(
            late_fee_with_payments(
                Fen(100_000),
                due,
                &payments,
                day(2026, 3, 1),
                STATUTORY_PPM_PER_DAY
            ),
            Fen(400)
        );
        // As of the 20th, the second payment has not happened: 2 x 0.50 + 3 x 0.20 = 1.60 yuan.
        assert_eq!(
            late_fee_with_payments(
                Fen(100_000),
                due,
                &payments,
                day(2026, 1, 20),
                STATUTORY_PPM_PER_DAY
            ),
            Fen(160)
        );
        // Paid in full on time: no fee; over-paid: still none.
        assert_eq!(
            late_fee_with_payments(
                Fen(100_000),
                due,
                &[(due, Fen(100_000))],
                day(2026, 3, 1),
                STATUTORY_PPM_PER_DAY
            ),
            Fen(0)
        );
        assert_eq!(
            late_fee_with_payments(
                Fen(100_000),
                due,
                &[(day(2026, 1, 10), Fen(150_000))],
                day(2026, 3, 1),
                STATUTORY_PPM_PER_DAY
            ),
            Fen(0)
        );
        // No payment: the same as the plain fee.
        assert_eq!(
            late_fee_with_payments(
                Fen(100_000),
                due,
                &[],
                day(2026, 2, 1),
                STATUTORY_PPM_PER_DAY
            ),
            late_fee(Fen(100_000), due, day(2026, 2, 1), STATUTORY_PPM_PER_DAY)
        );
    }

    #[test]
    fn statements_add_payments_without_wrapping() {
        let due = day(2026, 7, 15);
        let paid = [
            (day(2026, 7, 17), Fen(4_000_000)),
            (day(2026, 7, 20), Fen(3_500_000)),
        ];
        let figures = statement(
            Fen(7_000_000),
            due,
            &paid,
            day(2026, 7, 25),
            STATUTORY_PPM_PER_DAY,
        )
        .expect("figures");
        assert_eq!(
            (figures.paid, figures.balance, figures.days_late),
            (Fen(7_500_000), Fen(-500_000), 0)
        );
        // 16th-17th on 70,000 (2 x 35.00) + 18th-20th on 30,000 (3 x 15.00) = 115.00 yuan.
        assert_eq!(figures.late_fee, Fen(11_500));
        let owing = statement(Fen(100), due, &[], day(2026, 7, 18), 500).expect("figures");
        assert_eq!((owing.balance, owing.days_late), (Fen(100), 3));
        // Sums that do not fit are None, never wrapped.
        let huge = [(due, Fen(i64::MAX)), (due, Fen(i64::MAX))];
        assert_eq!(statement(Fen(0), due, &huge, due, 500), None);
        // The largest series the bounds allow still has a statement.
        let most: Vec<(NaiveDate, Fen)> = (0..1_000).map(|_| (due, Fen(MAX_AMOUNT_FEN))).collect();
        let figures = statement(Fen(MAX_AMOUNT_FEN), due, &most, day(2200, 12, 31), 100_000)
            .expect("bounded sums fit");
        assert_eq!(figures.paid, Fen(MAX_SERIES_PAID_FEN));
    }

    #[test]
    fn a_series_receives_at_most_its_bound() {
        assert!(check_series_payment(0, Fen(MAX_AMOUNT_FEN)).is_ok());
        assert!(
            check_series_payment(
                i128::from(MAX_SERIES_PAID_FEN - MAX_AMOUNT_FEN),
                Fen(MAX_AMOUNT_FEN)
            )
            .is_ok()
        );
        assert!(check_series_payment(i128::from(MAX_SERIES_PAID_FEN), Fen(1)).is_err());
    }

    #[test]
    fn declaration_sources_are_codes() {
        use crate::domain::code::Code;
        assert_eq!(
            DeclarationSource::from_code("declared_counts"),
            Some(DeclarationSource::DeclaredCounts)
        );
        assert_eq!(DeclarationSource::from_code("Orders"), None);
    }

    #[test]
    fn fees_are_half_a_permille_a_day() {
        // 1,000.00 yuan overdue 17 days: 1000 × 0.0005 × 17 = 8.50 yuan.
        assert_eq!(
            late_fee(
                Fen(100_000),
                day(2026, 1, 15),
                day(2026, 2, 1),
                STATUTORY_PPM_PER_DAY
            ),
            Fen(850)
        );
        // 0.33 yuan overdue 3 days: 0.495 fen → 0 fen; 1 yuan 1 day: 0.05 fen → 0.
        assert_eq!(
            late_fee(
                Fen(33),
                day(2026, 1, 15),
                day(2026, 1, 18),
                STATUTORY_PPM_PER_DAY
            ),
            Fen(0)
        );
        // 10.00 yuan overdue 1 day: 0.5 fen rounds half-up to 1 fen.
        assert_eq!(
            late_fee(
                Fen(1_000),
                day(2026, 1, 15),
                day(2026, 1, 16),
                STATUTORY_PPM_PER_DAY
            ),
            Fen(1)
        );
        assert_eq!(
            late_fee(
                Fen(0),
                day(2026, 1, 15),
                day(2026, 3, 1),
                STATUTORY_PPM_PER_DAY
            ),
            Fen(0)
        );
        assert_eq!(
            late_fee(
                Fen(100_000),
                day(2026, 1, 15),
                day(2026, 1, 15),
                STATUTORY_PPM_PER_DAY
            ),
            Fen(0)
        );
    }
}
