//! Periodic benefits in payment: each periodic item's schedule from its row and its changes, and
//! ChangePeriodicBenefit (the agency ends, suspends or resumes one, from a day, for a reason; the
//! last end of a claim whose one-time items are paid closes it).
use super::record::{Change, advance, open_or_replay};
use super::{ChangePeriodicBenefit, ClaimReply};
use crate::auth::Principal;
use crate::domain::benefits::{self, Balance, BenefitKind};
use crate::domain::claim::{Step, StepTaken};
use crate::domain::clock::check_fact_day;
use crate::domain::money::Fen;
use crate::domain::periodic::{self, Adjustment, ChangeKind, Schedule, Segment};
use crate::error::{AppError, AppResult};
use crate::policy::Action;
use crate::service::AppState;
use crate::store::claims::{self as store, ItemRow};
use crate::store::periodic::{self as periodic_store, ChangeRow, VersionRow};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The schedule of a periodic item, with its changes (of every item of the claim, in order) and
/// the province's adjustments (none where only the months and standing matter).
pub(super) fn schedule_of(
    item: &ItemRow,
    changes: &[ChangeRow],
    adjustments: &[Adjustment],
    earlier: Vec<Segment>,
) -> Schedule {
    Schedule {
        earlier,
        kind: item.kind,
        monthly: Fen(item.amount_fen),
        assessed_on: item.assessed_on,
        eligible_before: item.eligible_before,
        changes: changes
            .iter()
            .filter(|row| row.kind == item.kind && row.item == item.item)
            .map(|row| row.change)
            .collect(),
        adjustments: adjustments.to_vec(),
    }
}

/// The earlier amounts of a periodic item assessed on `assessed_on`: the same kind and item in
/// the claim's versions assessed on an earlier day (the last version of each day), oldest first.
pub(super) fn earlier_segments(
    (claim_id, kind, item): (Uuid, BenefitKind, i32),
    assessed_on: NaiveDate,
    versions: &[VersionRow],
) -> Vec<Segment> {
    let mut by_day: BTreeMap<NaiveDate, &VersionRow> = BTreeMap::new();
    for version in versions.iter().filter(|v| {
        (v.claim_id, v.kind, v.item) == (claim_id, kind, item) && v.assessed_on < assessed_on
    }) {
        let latest = by_day.entry(version.assessed_on).or_insert(version);
        if version.assessment > latest.assessment {
            *latest = version;
        }
    }
    by_day
        .into_values()
        .map(|version| Segment {
            assessed_on: version.assessed_on,
            monthly: Fen(version.amount_fen),
        })
        .collect()
}

/// Whether any periodic item of the current assessment still runs.
pub(super) fn running(items: &[ItemRow], changes: &[ChangeRow]) -> bool {
    items
        .iter()
        .filter(|item| item.monthly)
        .any(|item| schedule_of(item, changes, &[], vec![]).running())
}

/// The periodic item a payment or change names: by number, or the only one of its kind.
pub(super) fn pick_item(
    items: &[ItemRow],
    kind: BenefitKind,
    number: Option<i32>,
) -> AppResult<&ItemRow> {
    let of_kind: Vec<&ItemRow> = items.iter().filter(|item| item.kind == kind).collect();
    match (number, of_kind.as_slice()) {
        (_, []) => Err(AppError::FailedPrecondition(format!(
            "the current assessment has no {} item",
            kind.as_str()
        ))),
        (None, [only]) => Ok(only),
        (None, several) => Err(AppError::invalid(
            "item",
            format!(
                "required: the current assessment has {} {} items ({})",
                several.len(),
                kind.as_str(),
                several
                    .iter()
                    .map(|item| item.item.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        (Some(number), _) => of_kind
            .iter()
            .find(|item| item.item == number)
            .copied()
            .ok_or_else(|| {
                AppError::FailedPrecondition(format!(
                    "the current assessment has no {} item {number}",
                    kind.as_str()
                ))
            }),
    }
}

pub async fn change_periodic_benefit<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: ChangePeriodicBenefit,
) -> AppResult<R> {
    check_fact_day(command.effective_on, state.clock.today())
        .map_err(|invalid| AppError::invalid("effective_on", invalid.0))?;
    let kind = command.kind;
    let mut locked = open_or_replay!(
        state,
        principal,
        "ChangePeriodicBenefit",
        &command.key,
        command.claim_id,
        Action::ChangePeriodicBenefit
    );
    advance(
        &locked.claim,
        Step::ChangePeriodic {
            settled: false,
            running: true,
        },
    )?;
    let items = store::items(&mut *locked.tx, &locked.claim).await?;
    let mut changes = periodic_store::changes(&mut *locked.tx, &locked.claim).await?;
    let item = pick_item(&items, kind, command.item)?;
    let change = periodic::Change {
        kind: command.change,
        reason: command.reason,
        effective_on: command.effective_on,
    };
    schedule_of(item, &changes, &[], vec![])
        .check_change(&change)
        .map_err(|refused| AppError::FailedPrecondition(refused.0))?;
    let number = item.item;
    periodic_store::insert_change(
        &mut locked.tx,
        &locked.claim,
        kind,
        number,
        &change,
        &principal.caller_key(),
        state.clock.now(),
    )
    .await?;
    changes.push(ChangeRow {
        claim_id: locked.claim.claim_id,
        kind,
        item: number,
        change,
    });
    let balances: Vec<Balance> = items
        .iter()
        .map(|item| Balance {
            kind: item.kind,
            amount: Fen(item.amount_fen),
            paid: Fen(item.paid_fen),
        })
        .collect();
    let settled = benefits::settled_after(&balances, kind, Fen(0));
    let running = running(&items, &changes);
    let next = advance(&locked.claim, Step::ChangePeriodic { settled, running })?;
    let step = match change.kind {
        ChangeKind::End => StepTaken::BenefitEnded,
        ChangeKind::Suspend => StepTaken::BenefitSuspended,
        ChangeKind::Resume => StepTaken::BenefitResumed,
    };
    let detail = format!(
        "{} item {number}: {} from {} ({}){}",
        kind.as_str(),
        change.kind.as_str(),
        change.effective_on,
        change.reason.as_str(),
        if settled && !running {
            "; no periodic benefit runs any more"
        } else {
            ""
        }
    );
    locked
        .conclude(
            state,
            principal,
            Change {
                benefit_kind: Some(kind),
                item: Some(number),
                periodic_change: Some(change),
                ..Change::new(step, next, detail)
            },
        )
        .await
}
