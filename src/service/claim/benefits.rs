//! AssessBenefits: the itemised benefits on the claim's wage base (an injury) or death base (a
//! death), with every input stored beside each item.
use super::record::{Change, advance, open_or_replay};
use super::{AssessBenefits, ClaimReply};
use crate::auth::Principal;
use crate::domain::benefits::{self, AssessError, BenefitKind, Dependant, GradeAllowanceMonths};
use crate::domain::claim::{ClaimStatus, IncidentKind, Step, StepTaken};
use crate::domain::clock::china_date;
use crate::domain::money::Fen;
use crate::domain::periodic;
use crate::error::{AppError, AppResult};
use crate::policy::Action;
use crate::service::AppState;
use crate::store::claims::{self as store, NewItem};
use chrono::Datelike;

/// A statistic the rules need is not loaded: the admin RPC that loads it is named.
pub(super) fn missing(what: String, province: &str, rpc: &str) -> AppError {
    AppError::FailedPrecondition(format!(
        "no {what} is recorded for province {province} ({rpc})"
    ))
}

pub(super) fn too_large() -> AppError {
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
    // A worker whose benefits ran and who died of the injury: the relatives' death benefits.
    if locked.claim.kind == IncidentKind::Injury
        && matches!(
            locked.claim.status,
            ClaimStatus::InPayment | ClaimStatus::Closed
        )
    {
        return super::later_death::assess_later_death(state, principal, locked, command).await;
    }
    let next = advance(&locked.claim, Step::Assess)?;
    let claim = &locked.claim;
    if claim.kind == IncidentKind::Injury && !command.dependants.is_empty() {
        return Err(AppError::invalid("dependants", "only for a death"));
    }
    let tx = &mut locked.tx;
    let policy = state
        .cache
        .claim_policy(&mut **tx, &claim.province_code)
        .await?;
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
        dependants: command
            .dependants
            .iter()
            .map(|d| Dependant {
                relation: d.relation,
                orphan_or_lone_elderly: d.orphan_or_lone_elderly,
                eligible_before: d
                    .birth_date
                    .map(|born| periodic::eligible_before(born, policy.child_pension_until_age)),
            })
            .collect(),
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
            eligible_before: item.eligible_before,
            assessed_on: state.clock.today(),
        })
        .collect();
    // A new version (after a re-appraisal or a review) never overwrites the earlier one: it is
    // stored beside it, and what it changes is shown.
    let earlier: Vec<(BenefitKind, Fen)> = store::items(&mut **tx, claim)
        .await?
        .iter()
        .map(|item| (item.kind, Fen(item.amount_fen)))
        .collect();
    store::insert_items(tx, claim, &rows).await?;
    let now: Vec<(BenefitKind, Fen)> = items.iter().map(|i| (i.kind, i.amount)).collect();
    let changed = if earlier.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = benefits::differences(&earlier, &now)
            .iter()
            .map(|(kind, before, after)| format!("{} {before} -> {after}", kind.as_str()))
            .collect();
        format!(
            "; supersedes the earlier assessment: {}",
            if list.is_empty() {
                "no amount changes".to_owned()
            } else {
                list.join(", ")
            }
        )
    };
    let base = |label: &str, base: Option<benefits::WageBase>| {
        base.map(|b| format!(" on a {label} of {} yuan a month ({})", b.wage_base, b.year))
            .unwrap_or_default()
    };
    let detail = format!(
        "{} items{}{}: {once} yuan once, {per_month} yuan a month{changed}",
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
