//! Payments against an assessment (DOMAIN.md, Claims §5-7): what remains of each one-time item,
//! whether a payment fits and when the one-time items are settled, what a new version of an
//! assessment changes, and a relapse's bills added to the bill items. Re-exported by `benefits`,
//! whose tests hold the worked numbers.
use super::benefits::{AssessError, BenefitKind, saturate};
use super::claim::Refused;
use super::money::Fen;
use chrono::NaiveDate;

/// One item of the current assessment with what has been paid against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    pub kind: BenefitKind,
    pub amount: Fen,
    pub paid: Fen,
}

/// What remains to be paid of the one-time items of `kind` (0 for monthly kinds).
pub fn remaining(items: &[Balance], kind: BenefitKind) -> Fen {
    let owed: i128 = items
        .iter()
        .filter(|item| item.kind == kind && !kind.monthly())
        .map(|item| i128::from(item.amount.0) - i128::from(item.paid.0))
        .sum();
    Fen(saturate(owed.max(0)))
}

/// A payment of `amount` against `kind`: the current assessment must have such an item, and a
/// one-time item is never paid beyond what remains of it (monthly items are paid as they fall due).
pub fn check_payment(items: &[Balance], kind: BenefitKind, amount: Fen) -> Result<(), Refused> {
    if !items.iter().any(|item| item.kind == kind) {
        return Err(Refused(format!(
            "the current assessment has no {} item",
            kind.as_str()
        )));
    }
    let left = remaining(items, kind);
    if !kind.monthly() && amount > left {
        return Err(Refused(format!(
            "only {left} yuan of {} remain to be paid",
            kind.as_str()
        )));
    }
    Ok(())
}

/// A payment's day: never before the benefits were assessed (the future is refused with every
/// other fact's day, `clock::check_fact_day`).
pub fn check_paid_on(paid_on: NaiveDate, assessed_on: NaiveDate) -> Result<(), Refused> {
    if paid_on < assessed_on {
        return Err(Refused(format!(
            "must not be before the benefits were assessed ({assessed_on}, China Standard Time)"
        )));
    }
    Ok(())
}

/// What a new assessment changes from the one it supersedes: per kind whose total amount differs,
/// (kind, before, after), in the order of `BenefitKind::ALL`.
pub fn differences(
    before: &[(BenefitKind, Fen)],
    after: &[(BenefitKind, Fen)],
) -> Vec<(BenefitKind, Fen, Fen)> {
    let total = |items: &[(BenefitKind, Fen)], kind: BenefitKind| {
        Fen(saturate(
            items
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, amount)| i128::from(amount.0))
                .sum(),
        ))
    };
    BenefitKind::ALL
        .iter()
        .map(|&kind| (kind, total(before, kind), total(after, kind)))
        .filter(|(_, before, after)| before != after)
        .collect()
}

/// A relapse's bills, added to the bill items of the current assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bills {
    pub medical: Fen,
    pub rehabilitation: Fen,
    pub assistive_devices: Fen,
}

impl Bills {
    /// The bill of `kind` (0 for kinds that are not bills).
    pub fn of(&self, kind: BenefitKind) -> Fen {
        match kind {
            BenefitKind::Medical => self.medical,
            BenefitKind::Rehabilitation => self.rehabilitation,
            BenefitKind::AssistiveDevices => self.assistive_devices,
            _ => Fen(0),
        }
    }

    pub const KINDS: [BenefitKind; 3] = [
        BenefitKind::Medical,
        BenefitKind::Rehabilitation,
        BenefitKind::AssistiveDevices,
    ];
}

/// The bill items after a relapse: each bill kind's total so far plus the relapse's bill, for the
/// kinds that change (a kind with no item so far gets one). Never wraps: bills are bounded.
pub fn after_relapse(
    current: &[(BenefitKind, Fen)],
    bills: &Bills,
) -> Result<Vec<(BenefitKind, Fen, Fen)>, AssessError> {
    Bills::KINDS
        .iter()
        .filter(|kind| bills.of(**kind).0 > 0)
        .map(|&kind| {
            let so_far = Fen::checked_sum(
                current
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, amount)| *amount),
            )
            .ok_or(AssessError::TooLarge)?;
            let total = so_far
                .checked_add(bills.of(kind))
                .ok_or(AssessError::TooLarge)?;
            Ok((kind, bills.of(kind), total))
        })
        .collect()
}

/// The settlement test: after a payment of `amount` against `kind`, is every one-time item paid in
/// full? Monthly items never hold a claim open.
pub fn settled_after(items: &[Balance], kind: BenefitKind, amount: Fen) -> bool {
    BenefitKind::ALL
        .iter()
        .filter(|other| !other.monthly())
        .all(|&other| {
            let paid_now = if other == kind { amount } else { Fen(0) };
            remaining(items, other) <= paid_now
        })
}

/// The item numbers of a new version of an assessment. An item keeps the number of the item of
/// its kind at the same rank in the `previous` version (kind and number, in number order), so the
/// payments and changes that name a periodic item by number still name it after a review or a
/// relapse reorders the items; the others take numbers after `highest_used`, the highest the
/// claim has used in any version. The first version is numbered 1, 2, 3, …
pub fn item_numbers(
    previous: &[(BenefitKind, i32)],
    highest_used: i32,
    kinds: &[BenefitKind],
) -> Vec<i32> {
    let mut next = highest_used;
    let mut rank: Vec<(BenefitKind, usize)> = Vec::new();
    kinds
        .iter()
        .map(|kind| {
            let seen = match rank.iter_mut().find(|(k, _)| k == kind) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    rank.push((*kind, 0));
                    0
                }
            };
            previous
                .iter()
                .filter(|(k, _)| k == kind)
                .nth(seen)
                .map(|(_, number)| *number)
                .unwrap_or_else(|| {
                    next += 1;
                    next
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use BenefitKind::*;

    #[test]
    fn a_periodic_item_keeps_its_number_across_versions() {
        assert_eq!(
            item_numbers(
                &[],
                0,
                &[Medical, OneTimeDisabilitySubsidy, DisabilityAllowance]
            ),
            [1, 2, 3]
        );
        // Reviewed without bills: the allowance is still item 3, the subsidy item 2.
        let previous = [
            (Medical, 1),
            (OneTimeDisabilitySubsidy, 2),
            (DisabilityAllowance, 3),
        ];
        assert_eq!(
            item_numbers(
                &previous,
                3,
                &[OneTimeDisabilitySubsidy, DisabilityAllowance]
            ),
            [2, 3]
        );
        // Two pensions keep theirs by rank; a kind new to the claim takes the next free number.
        let previous = [(DependantPension, 4), (DependantPension, 5)];
        assert_eq!(
            item_numbers(
                &previous,
                5,
                &[FuneralSubsidy, DependantPension, DependantPension]
            ),
            [6, 4, 5]
        );
    }
}
