//! RecordRelapse: a relapse of the injury (旧伤复发) reopens medical treatment on a claim whose
//! benefits ran. The current assessment is stored again as a new version (the earlier kept) with
//! the relapse's bills added to its bill items; every other item is carried over unchanged, with
//! its own assessment day, so periodic benefits keep their months. The claim is assessed again
//! until the new bills are paid.
use super::record::{Change, advance, open_or_replay};
use super::{ClaimReply, RecordRelapse};
use crate::auth::Principal;
use crate::domain::benefits::{self, BenefitKind, Bills};
use crate::domain::claim::{Step, StepTaken};
use crate::domain::clock::check_fact_day;
use crate::domain::money::Fen;
use crate::error::{AppError, AppResult};
use crate::policy::Action;
use crate::service::AppState;
use crate::store::claims::{self as store, ItemRow, NewItem};

pub async fn record_relapse<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: RecordRelapse,
) -> AppResult<R> {
    let today = state.clock.today();
    check_fact_day(command.relapsed_on, today)
        .map_err(|invalid| AppError::invalid("relapsed_on", invalid.0))?;
    let mut locked = open_or_replay!(
        state,
        principal,
        "RecordRelapse",
        &command.key,
        command.claim_id,
        Action::DecideClaim
    );
    let next = advance(&locked.claim, Step::Relapse)?;
    let items = store::items(&mut *locked.tx, &locked.claim).await?;
    // A relapse follows the treatment whose outcome was assessed.
    if let Some(assessed) = items.iter().map(|item| item.assessed_on).min()
        && command.relapsed_on < assessed
    {
        return Err(AppError::invalid(
            "relapsed_on",
            format!("must not be before the benefits were assessed ({assessed})"),
        ));
    }
    let current: Vec<(BenefitKind, Fen)> = items
        .iter()
        .map(|item| (item.kind, Fen(item.amount_fen)))
        .collect();
    let changed = benefits::after_relapse(&current, &command.bills).map_err(|_| {
        AppError::FailedPrecondition("the bills exceed what the ledger can hold".into())
    })?;
    let total_of = |kind: BenefitKind| {
        changed
            .iter()
            .find(|(k, _, _)| *k == kind)
            .map(|(_, added, total)| (*added, *total))
    };
    // Bill items of a kind are merged into one carrying the kind's total.
    let mut rows: Vec<NewItem<'_>> = Vec::new();
    for item in &items {
        match total_of(item.kind) {
            Some(_) if rows.iter().any(|row| row.kind == item.kind) => {}
            Some((added, total)) => rows.push(bill_row(item.kind, added, total, today)),
            None => rows.push(carried(item)),
        }
    }
    for (kind, added, total) in &changed {
        if !rows.iter().any(|row| row.kind == *kind) {
            rows.push(bill_row(*kind, *added, *total, today));
        }
    }
    store::insert_items(&mut locked.tx, &locked.claim, &rows).await?;
    let detail = format!(
        "relapse on {}: {}; the claim is assessed again until they are paid",
        command.relapsed_on,
        changed
            .iter()
            .map(|(kind, added, total)| format!("{} +{added} (now {total})", kind.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let added = Fen::checked_sum(Bills::KINDS.iter().map(|kind| command.bills.of(*kind)))
        .unwrap_or(Fen(i64::MAX));
    locked
        .conclude(
            state,
            principal,
            Change {
                amount: added,
                ..Change::new(StepTaken::Relapsed, next, detail)
            },
        )
        .await
}

/// An item of the current assessment carried over unchanged into a new version, with its own day
/// (so a periodic item keeps its months).
pub(super) fn carried(item: &ItemRow) -> NewItem<'_> {
    NewItem {
        kind: item.kind,
        payer: item.payer,
        amount_fen: item.amount_fen,
        monthly: item.monthly,
        formula: &item.formula,
        input_names: item.input_names.iter().map(String::as_str).collect(),
        input_values: item.input_values.clone(),
        eligible_before: item.eligible_before,
        assessed_on: item.assessed_on,
    }
}

/// A bill item carrying its kind's total after the relapse.
fn bill_row(
    kind: BenefitKind,
    added: Fen,
    total: Fen,
    today: chrono::NaiveDate,
) -> NewItem<'static> {
    NewItem {
        kind,
        payer: kind.payer(),
        amount_fen: total.0,
        monthly: false,
        formula: "submitted bills, with the relapse's",
        input_names: vec!["bills_fen", "relapse_bills_fen"],
        input_values: vec![total.0, added.0],
        eligible_before: None,
        assessed_on: today,
    }
}
