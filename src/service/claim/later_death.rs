//! AssessBenefits on an injury claim whose benefits ran, once the worker's death of the injury
//! ended the disability allowance (ChangePeriodicBenefit, WORKER_DIED): the relatives receive the
//! death benefits on the same claim (DOMAIN.md, Claims §7). They are computed on the figures of
//! the year before the death and stored as a new version of the assessment beside the items that
//! ran (carried over with their own days); the claim is assessed again until they are paid.
use super::benefits::{missing, too_large};
use super::record::{Change, Locked, advance};
use super::relapse::carried;
use super::{AssessBenefits, ClaimReply};
use crate::auth::Principal;
use crate::domain::benefits::{self, BenefitKind, Dependant};
use crate::domain::claim::{Step, StepTaken};
use crate::domain::money::Fen;
use crate::domain::periodic::{self, ChangeKind, ChangeReason};
use crate::error::{AppError, AppResult};
use crate::service::AppState;
use crate::store::claims::{self as store, NewItem};
use crate::store::periodic as periodic_store;
use chrono::Datelike;

pub(super) async fn assess_later_death<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    mut locked: Locked,
    command: AssessBenefits,
) -> AppResult<R> {
    let next = advance(&locked.claim, Step::AssessLaterDeath)?;
    let bills = [
        ("medical_costs_fen", command.medical_costs),
        ("rehabilitation_costs_fen", command.rehabilitation_costs),
        (
            "assistive_devices_costs_fen",
            command.assistive_devices_costs,
        ),
    ];
    if let Some((field, _)) = bills.iter().find(|(_, amount)| amount.0 > 0) {
        return Err(AppError::invalid(
            *field,
            "not with the relatives' death benefits (RecordRelapse records later bills)",
        ));
    }
    if command.treatment_days > 0 {
        return Err(AppError::invalid(
            "treatment_days",
            "not with the relatives' death benefits",
        ));
    }
    let claim = &locked.claim;
    let tx = &mut locked.tx;
    let died_on = periodic_store::changes(&mut **tx, claim)
        .await?
        .iter()
        .find(|row| {
            row.change.kind == ChangeKind::End && row.change.reason == ChangeReason::WorkerDied
        })
        .map(|row| row.change.effective_on)
        .ok_or_else(|| {
            AppError::FailedPrecondition(
                "the benefits of this claim were assessed; the relatives' death benefits follow \
                 once the worker's death has ended the disability allowance (ChangePeriodicBenefit, \
                 PERIODIC_CHANGE_REASON_WORKER_DIED)"
                    .into(),
            )
        })?;
    let items = store::items(&mut **tx, claim).await?;
    if items
        .iter()
        .any(|item| item.kind == BenefitKind::FuneralSubsidy)
    {
        return Err(AppError::FailedPrecondition(
            "the relatives' death benefits are already assessed".into(),
        ));
    }
    let policy = state
        .cache
        .claim_policy(&mut **tx, &claim.province_code)
        .await?;
    let province = claim.province_code.as_str();
    let year = benefits::death_base_year(died_on.year());
    let annual = store::private_sector_wage(&mut **tx, province, year)
        .await?
        .ok_or_else(|| {
            missing(
                format!("{year} urban private-sector average wage"),
                province,
                "SetPrivateSectorWage",
            )
        })?;
    let income = store::national_income(&mut **tx, year).await?.ok_or_else(|| {
        AppError::FailedPrecondition(format!(
            "no {year} national urban per-capita disposable income is recorded (SetNationalIncome)"
        ))
    })?;
    let base = benefits::wage_base(year, annual, policy.death_base_percent);
    let dependants: Vec<Dependant> = command
        .dependants
        .iter()
        .map(|d| Dependant {
            relation: d.relation,
            orphan_or_lone_elderly: d.orphan_or_lone_elderly,
            eligible_before: d
                .birth_date
                .map(|born| periodic::eligible_before(born, policy.child_pension_until_age)),
        })
        .collect();
    let death =
        benefits::death_benefits(&base, (year, income), &dependants).map_err(|_| too_large())?;
    let today = state.clock.today();
    let mut rows: Vec<NewItem<'_>> = items.iter().map(carried).collect();
    rows.extend(death.iter().map(|item| NewItem {
        kind: item.kind,
        payer: item.kind.payer(),
        amount_fen: item.amount.0,
        monthly: item.kind.monthly(),
        formula: item.formula,
        input_names: item.inputs.iter().map(|(name, _)| *name).collect(),
        input_values: item.inputs.iter().map(|(_, value)| *value).collect(),
        eligible_before: item.eligible_before,
        assessed_on: today,
    }));
    store::insert_items(tx, claim, &rows).await?;
    let once = Fen::checked_sum(
        death
            .iter()
            .filter(|item| !item.kind.monthly())
            .map(|item| item.amount),
    )
    .ok_or_else(too_large)?;
    let detail = format!(
        "the worker died of the injury on {died_on}: {} death benefits for the relatives on a death \
         base of {} yuan a month ({year}), {once} yuan once",
        death.len(),
        base.wage_base
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
