//! Claim reference data, set by national admins through AdminService: the working-day calendar,
//! the national income figure, the provinces' urban private-sector wages (the death base), and the
//! claim policy (deadlines, duplicate window, wage-base and death-base rules, allowance months).
//! Each is an upsert, stored with its reply for replays.
use super::record::{Change, record_change, set_decision_due};
use super::steps::provisional_note;
use super::{
    SetBenefitAdjustment, SetClaimPolicy, SetNationalIncome, SetPrivateSectorWage, SetPublicHoliday,
};
use crate::auth::Principal;
use crate::domain::claim::ClaimPolicy;
use crate::domain::claim::StepTaken;
use crate::domain::division::ProvinceCode;
use crate::domain::late_fee::Period;
use crate::domain::money::Fen;
use crate::domain::periodic;
use crate::error::AppError;
use crate::error::AppResult;
use crate::policy::{self, Action, Owner};
use crate::service::{AppState, Idempotent};
use crate::store::Tx;
use crate::store::claims as store;
use chrono::{Datelike, NaiveDate};
use prost::Message;

/// A day that is not what its weekday says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicHoliday {
    pub day: NaiveDate,
    pub holiday: bool,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NationalIncome {
    pub year: i32,
    pub annual: Fen,
}

/// A province's urban private-sector average wage of a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateSectorWage {
    pub province: ProvinceCode,
    pub year: i32,
    pub annual: Fen,
}

/// A province's adjustment of periodic benefits, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitAdjustment {
    pub province: ProvinceCode,
    pub effective: Period,
    pub basis_points: i32,
    pub version: String,
}

/// A claim policy and where it applies (None: the national default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInForce {
    pub province: Option<ProvinceCode>,
    pub policy: ClaimPolicy,
}

fn administer(principal: &Principal) -> AppResult<()> {
    policy::authorize_scope(&principal.role, Action::Administer, Owner::NATIONAL)
}

pub async fn set_public_holiday<R>(
    state: &AppState,
    principal: &Principal,
    command: SetPublicHoliday,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a PublicHoliday>,
{
    administer(principal)?;
    let idempotent = Idempotent::new(principal, "SetPublicHoliday", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let answer = PublicHoliday {
        day: command.day,
        holiday: command.holiday,
        name: command.name,
    };
    store::set_public_holiday(
        &mut *tx,
        answer.day,
        answer.holiday,
        &answer.name,
        state.clock.now(),
    )
    .await?;
    recount_provisional_due_dates(state, &mut tx, principal, answer.day).await?;
    let reply = R::from(&answer);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

/// Counts again the decision due dates that were provisional, now that a day of `loaded`'s year is
/// loaded: each that moves, or stops being provisional, gets a timeline entry and an event.
async fn recount_provisional_due_dates(
    state: &AppState,
    tx: &mut Tx,
    principal: &Principal,
    loaded: NaiveDate,
) -> AppResult<()> {
    for claim_id in store::provisional_due(&mut **tx).await? {
        let Some(mut claim) = store::lock(tx, claim_id).await? else {
            continue;
        };
        let Some(from) = claim.decision_counted_from else {
            continue;
        };
        let (before, was_provisional) = (claim.decision_due, claim.decision_due_provisional);
        let due = set_decision_due(tx, &mut claim, from).await?;
        if claim.decision_due == before && due.provisional == was_provisional {
            continue;
        }
        let detail = format!(
            "decision due date counted again from {from} after the {} holiday notice was loaded: {} -> {}{}",
            loaded.year(),
            before.map_or_else(|| "none".to_owned(), |day| day.to_string()),
            due.day,
            provisional_note(due)
        );
        let status = claim.status;
        record_change(
            state,
            tx,
            principal,
            &mut claim,
            Change::new(StepTaken::DueRecounted, status, detail),
        )
        .await?;
    }
    Ok(())
}

pub async fn set_national_income<R>(
    state: &AppState,
    principal: &Principal,
    command: SetNationalIncome,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a NationalIncome>,
{
    administer(principal)?;
    let idempotent = Idempotent::new(principal, "SetNationalIncome", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let answer = NationalIncome {
        year: command.year,
        annual: command.annual,
    };
    store::set_national_income(&mut *tx, answer.year, answer.annual, state.clock.now()).await?;
    let reply = R::from(&answer);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

pub async fn set_private_sector_wage<R>(
    state: &AppState,
    principal: &Principal,
    command: SetPrivateSectorWage,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a PrivateSectorWage>,
{
    administer(principal)?;
    let idempotent = Idempotent::new(principal, "SetPrivateSectorWage", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let answer = PrivateSectorWage {
        province: command.province,
        year: command.year,
        annual: command.annual,
    };
    store::set_private_sector_wage(
        &mut *tx,
        answer.province.as_str(),
        answer.year,
        answer.annual,
        state.clock.now(),
    )
    .await?;
    let reply = R::from(&answer);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

pub async fn set_benefit_adjustment<R>(
    state: &AppState,
    principal: &Principal,
    command: SetBenefitAdjustment,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a BenefitAdjustment>,
{
    administer(principal)?;
    periodic::check_adjustment_month(command.effective, state.clock.today())
        .map_err(|refused| AppError::invalid("effective_month", refused.0))?;
    let idempotent = Idempotent::new(principal, "SetBenefitAdjustment", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let province = command.province.as_str();
    let id = crate::store::periodic::insert_adjustment(
        &mut tx,
        province,
        command.effective,
        command.basis_points,
        &principal.caller_key(),
        state.clock.now(),
    )
    .await?
    .ok_or_else(|| {
        AppError::AlreadyExists(format!(
            "province {province} already has an adjustment from {} (versions are never changed)",
            periodic::show(command.effective)
        ))
    })?;
    let reply = R::from(&BenefitAdjustment {
        province: command.province,
        effective: command.effective,
        basis_points: command.basis_points,
        version: periodic::adjustment_version(&[id]),
    });
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

pub async fn set_claim_policy<R>(
    state: &AppState,
    principal: &Principal,
    command: SetClaimPolicy,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a PolicyInForce>,
{
    administer(principal)?;
    let idempotent = Idempotent::new(principal, "SetClaimPolicy", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let province_code = command
        .province
        .as_ref()
        .map_or(store::NATIONAL_POLICY, ProvinceCode::as_str);
    store::set_policy(&mut *tx, province_code, &command.policy, state.clock.now()).await?;
    let reply = R::from(&PolicyInForce {
        province: command.province,
        policy: command.policy,
    });
    idempotent.commit(state, tx, &reply).await?;
    state.cache.forget("claim_policy");
    Ok(reply)
}
