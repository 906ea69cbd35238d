//! AssessBenefits and RecordBenefitPayment: the itemised benefits on the claim's wage base, and
//! payments against them until every one-time item is paid (the claim then closes). Fund-paid
//! items are recorded by the agency, platform-paid items by the reporting platform.
use super::record::{Change, advance, open_or_replay};
use super::{AssessBenefits, ClaimReply, RecordBenefitPayment};
use crate::auth::Principal;
use crate::domain::benefits::{
    self, AssessError, Balance, BenefitKind, GradeAllowanceMonths, Payer,
};
use crate::domain::claim::{IncidentKind, Step, StepTaken};
use crate::domain::clock::{check_fact_day, china_date};
use crate::domain::money::Fen;
use crate::error::{AppError, AppResult};
use crate::policy::Action;
use crate::service::AppState;
use crate::store::claims::{self as store, NewItem};
use chrono::Datelike;

/// A statistic the rules need is not loaded: the admin RPC that loads it is named.
fn missing(what: String, province: &str, rpc: &str) -> AppError {
    AppError::FailedPrecondition(format!(
        "no {what} is recorded for province {province} ({rpc})"
    ))
}

fn too_large() -> AppError {
    AppError::FailedPrecondition(
        "the assessed amounts exceed what the ledger can hold; check the average wage and income figures".into(),
    )
}

pub async fn assess_benefits<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: AssessBenefits,
) -> AppResult<R> {
    let mut locked = open_or_replay!(
        state,
        principal,
        "AssessBenefits",
        &command.key,
        command.claim_id,
        Action::DecideClaim
    );
    let next = advance(&locked.claim, Step::Assess)?;
    let claim = &locked.claim;
    if claim.kind == IncidentKind::Injury && !command.dependants.is_empty() {
        return Err(AppError::invalid("dependants", "only for a death"));
    }
    let tx = &mut locked.tx;
    let policy = store::policy(&mut **tx, &claim.province_code).await?;
    let accident_year = china_date(claim.occurred_at).year();
    let province = claim.province_code.as_str();
    let wage = if benefits::needs_wage_base(claim.kind, command.treatment_days) {
        let year = benefits::wage_base_year(accident_year, policy.wage_base_year_offset);
        let annual = crate::store::pension::average_wage(&mut **tx, province, year)
            .await?
            .map(Fen)
            .ok_or_else(|| missing(format!("{year} average wage"), province, "SetAverageWage"))?;
        Some(benefits::wage_base(year, annual, policy.wage_base_percent))
    } else {
        None
    };
    let (death_base, national_income) = if claim.kind == IncidentKind::Death {
        let year = benefits::death_base_year(accident_year);
        let annual = store::private_sector_wage(&mut **tx, province, year)
            .await?
            .ok_or_else(|| {
                missing(
                    format!("{year} urban private-sector average wage"),
                    province,
                    "SetPrivateSectorWage",
                )
            })?;
        let income_year = benefits::national_income_year(accident_year);
        let income = store::national_income(&mut **tx, income_year).await?.ok_or_else(|| {
            AppError::FailedPrecondition(format!(
                "no {income_year} national urban per-capita disposable income is recorded (SetNationalIncome)"
            ))
        })?;
        (
            Some(benefits::wage_base(year, annual, policy.death_base_percent)),
            Some((income_year, income)),
        )
    } else {
        (None, None)
    };
    let items = benefits::assess(&benefits::Inputs {
        kind: claim.kind,
        grade: claim
            .grade
            .and_then(|g| u8::try_from(g).ok())
            .filter(|g| *g > 0),
        wage,
        death_base,
        national_income,
        grade_allowance_months: GradeAllowanceMonths {
            grade_5: i64::from(policy.grade_5_allowance_months),
            grade_6: i64::from(policy.grade_6_allowance_months),
        },
        medical_costs: command.medical_costs,
        rehabilitation_costs: command.rehabilitation_costs,
        assistive_devices_costs: command.assistive_devices_costs,
        treatment_days: command.treatment_days,
        dependants: command.dependants,
    })
    .map_err(|error| match error {
        AssessError::TooLarge => too_large(),
        AssessError::Missing(what) => AppError::Internal(anyhow::anyhow!(
            "assessing claim {}: {what} was not loaded",
            claim.claim_id
        )),
    })?;
    let total = |monthly: bool| {
        Fen::checked_sum(
            items
                .iter()
                .filter(|i| i.kind.monthly() == monthly)
                .map(|i| i.amount),
        )
        .ok_or_else(too_large)
    };
    let (once, per_month) = (total(false)?, total(true)?);
    let rows: Vec<NewItem<'_>> = items
        .iter()
        .map(|item| NewItem {
            kind: item.kind,
            payer: item.kind.payer(),
            amount_fen: item.amount.0,
            monthly: item.kind.monthly(),
            formula: item.formula,
            input_names: item.inputs.iter().map(|(name, _)| *name).collect(),
            input_values: item.inputs.iter().map(|(_, value)| *value).collect(),
        })
        .collect();
    store::insert_items(tx, claim, &rows, state.clock.today()).await?;
    let base = |label: &str, base: Option<benefits::WageBase>| {
        base.map(|b| format!(" on a {label} of {} yuan a month ({})", b.wage_base, b.year))
            .unwrap_or_default()
    };
    let detail = format!(
        "{} items{}{}: {once} yuan once, {per_month} yuan a month",
        items.len(),
        base("wage base", wage),
        base("death base", death_base),
    );
    locked
        .conclude(
            state,
            principal,
            Change {
                amount: once,
                ..Change::new(StepTaken::Assessed, next, detail)
            },
        )
        .await
}

/// Who records a payment of `kind`: the agency for what the fund pays, the platform for what it
/// pays itself.
fn payment_action(kind: BenefitKind) -> Action {
    match kind.payer() {
        Payer::Fund => Action::PayFundItem,
        Payer::Platform => Action::PayPlatformItem,
    }
}

pub async fn record_benefit_payment<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: RecordBenefitPayment,
) -> AppResult<R> {
    check_fact_day(command.paid_on, state.clock.today())
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
    // Checked before the amount, so a claim not yet assessed says so.
    advance(&locked.claim, Step::Pay { settled: false })?;
    let items = store::items(&mut *locked.tx, &locked.claim).await?;
    let balances: Vec<Balance> = items
        .iter()
        .map(|item| Balance {
            kind: item.kind,
            amount: Fen(item.amount_fen),
            paid: Fen(item.paid_fen),
        })
        .collect();
    if let Some(item) = items.iter().find(|item| item.kind == kind) {
        benefits::check_paid_on(command.paid_on, item.assessed_on)
            .map_err(|refused| AppError::invalid("paid_on", refused.0))?;
    }
    benefits::check_payment(&balances, kind, command.amount)
        .map_err(|refused| AppError::FailedPrecondition(refused.0))?;
    let first = store::payments_count(&mut locked.tx, &locked.claim).await? == 0;
    store::insert_payment(
        &mut locked.tx,
        &locked.claim,
        kind,
        command.amount,
        command.paid_on,
        &principal.caller_key(),
        state.clock.now(),
    )
    .await?;
    let settled = benefits::settled_after(&balances, kind, command.amount);
    let next = advance(&locked.claim, Step::Pay { settled })?;
    let detail = format!(
        "{} yuan of {} paid on {}{}",
        command.amount,
        kind.as_str(),
        command.paid_on,
        if settled {
            "; every one-time item is paid in full"
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
                amount: command.amount,
                first_payment: first,
                ..Change::new(StepTaken::Paid, next, detail)
            },
        )
        .await
}
