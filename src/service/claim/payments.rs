//! RecordBenefitPayment: payments against the current assessment. The payer decides who records
//! (fund items: the agency; platform items: the reporting platform, through the policy); no
//! payment is dated before the assessment or in the future; a one-time item is never paid beyond
//! what remains of it, a periodic item once a month, at most the month's entitlement. When every
//! one-time item is paid the claim is in payment while a periodic benefit runs, else closed.
use super::periodic::{earlier_segments, pick_item, running, schedule_of};
use super::record::{Change, advance, open_or_replay};
use super::{ClaimReply, RecordBenefitPayment};
use crate::auth::Principal;
use crate::domain::benefits::{self, Balance, BenefitKind, Payer};
use crate::domain::claim::{Step, StepTaken};
use crate::domain::clock::check_fact_day;
use crate::domain::late_fee::Period;
use crate::domain::money::Fen;
use crate::domain::periodic::show;
use crate::error::{AppError, AppResult};
use crate::policy::Action;
use crate::service::AppState;
use crate::store::claims::{self as store, PaidFor};
use crate::store::periodic as periodic_store;

/// Who records a payment of `kind`: the agency for what the fund pays, the platform for what it
/// pays itself.
fn payment_action(kind: BenefitKind) -> Action {
    match kind.payer() {
        Payer::Fund => Action::PayFundItem,
        Payer::Platform => Action::PayPlatformItem,
    }
}

fn refused(refused: crate::domain::claim::Refused) -> AppError {
    AppError::FailedPrecondition(refused.0)
}

pub async fn record_benefit_payment<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: RecordBenefitPayment,
) -> AppResult<R> {
    let today = state.clock.today();
    check_fact_day(command.paid_on, today)
        .map_err(|invalid| AppError::invalid("paid_on", invalid.0))?;
    let kind = command.kind;
    let mut locked = open_or_replay!(
        state,
        principal,
        "RecordBenefitPayment",
        &command.key,
        command.claim_id,
        payment_action(kind)
    );
    // Checked before the amount, so a claim not yet assessed (or closed) says so.
    advance(
        &locked.claim,
        Step::Pay {
            settled: false,
            running: true,
        },
    )?;
    let items = store::items(&mut *locked.tx, &locked.claim).await?;
    let changes = periodic_store::changes(&mut *locked.tx, &locked.claim).await?;
    let balances: Vec<Balance> = items
        .iter()
        .map(|item| Balance {
            kind: item.kind,
            amount: Fen(item.amount_fen),
            paid: Fen(item.paid_fen),
        })
        .collect();
    let version: String;
    let (paid_for, what) = match command.month {
        Some(month) => {
            let item = pick_item(&items, kind, command.item)?;
            benefits::check_paid_on(command.paid_on, item.assessed_on)
                .map_err(|refused| AppError::invalid("paid_on", refused.0))?;
            let already = periodic_store::paid_for_month(
                &mut locked.tx,
                &locked.claim,
                kind,
                item.item,
                month.first_day(),
            )
            .await?;
            let adjustments =
                periodic_store::adjustments(&mut *locked.tx, &locked.claim.province_code).await?;
            let versions = periodic_store::periodic_versions(
                &mut *locked.tx,
                &locked.claim.province_code,
                &[locked.claim.claim_id],
            )
            .await?;
            let earlier = earlier_segments(
                (locked.claim.claim_id, kind, item.item),
                item.assessed_on,
                &versions,
            );
            let entitlement = schedule_of(item, &changes, &adjustments, earlier)
                .check_payment(
                    month,
                    Period::containing(today),
                    command.amount,
                    already.map(Fen),
                )
                .map_err(refused)?;
            version = entitlement.version();
            (
                PaidFor {
                    kind,
                    month: Some((item.item, month.first_day())),
                    adjustment_version: Some(&version),
                },
                format!(
                    " (item {}) for {} of {} yuan due (adjustments: {version})",
                    item.item,
                    show(month),
                    entitlement.amount
                ),
            )
        }
        None => {
            if let Some(item) = items.iter().find(|item| item.kind == kind) {
                benefits::check_paid_on(command.paid_on, item.assessed_on)
                    .map_err(|refused| AppError::invalid("paid_on", refused.0))?;
            }
            benefits::check_payment(&balances, kind, command.amount).map_err(refused)?;
            (
                PaidFor {
                    kind,
                    month: None,
                    adjustment_version: None,
                },
                String::new(),
            )
        }
    };
    let first = store::payments_count(&mut locked.tx, &locked.claim).await? == 0;
    store::insert_payment(
        &mut locked.tx,
        &locked.claim,
        paid_for,
        command.amount,
        command.paid_on,
        &principal.caller_key(),
        state.clock.now(),
    )
    .await?;
    let settled = benefits::settled_after(&balances, kind, command.amount);
    let running = running(&items, &changes);
    let next = advance(&locked.claim, Step::Pay { settled, running })?;
    let detail = format!(
        "{} yuan of {}{what} paid on {}{}",
        command.amount,
        kind.as_str(),
        command.paid_on,
        match (settled, running) {
            (true, true) => "; every one-time item is paid in full, periodic benefits run",
            (true, false) => "; every one-time item is paid in full",
            (false, _) => "",
        }
    );
    locked
        .conclude(
            state,
            principal,
            Change {
                benefit_kind: Some(kind),
                amount: command.amount,
                first_payment: first,
                item: paid_for.month.map(|(item, _)| item),
                month: command.month,
                adjustment_version: paid_for.adjustment_version.map(str::to_owned),
                ..Change::new(StepTaken::Paid, next, detail)
            },
        )
        .await
}
