//! Employee pension insurance of flexible workers: enrolment, transfer, contributions, the
//! account, and the provincial average wages that bound the contribution base.
mod commands;
mod events;

pub use commands::{
    AverageWage, DeclarePensionContribution, EnrolPension, PensionAccount, PensionContribution,
    PensionLookup, SetAverageWage, TransferPension,
};

use crate::auth::Principal;
use crate::domain::clock::china_date;
use crate::domain::division::ProvinceCode;
use crate::domain::money::Fen;
use crate::domain::pension::{self, PaidMonth, PensionStatus};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Decision, Owner, Resource};
use crate::service::contribution::stored_province;
use crate::service::{AppState, Idempotent, person_access, record_province};
use crate::store::Tx;
use crate::store::pension::{self as store, PensionRow};
use chrono::{Datelike, NaiveDate};
use events::Change;
use prost::Message;
use uuid::Uuid;

/// A pension enrolment as stored and shown.
pub use crate::store::pension::PensionRow as PensionEnrolment;

/// NOT_FOUND for a pension enrolment that does not exist or that the caller may not see.
fn no_pension(pension_id: Uuid) -> AppError {
    AppError::NotFound(format!("no pension enrolment {pension_id}"))
}

fn out_of_bounds() -> AppError {
    anyhow::anyhow!("pension sums exceed the amount bounds").into()
}

/// The monthly base must fit the province's range, from its previous-year average wage.
async fn check_base(
    tx: &mut Tx,
    province: &ProvinceCode,
    base: Fen,
    today: NaiveDate,
) -> AppResult<()> {
    let year = today.year() - 1;
    let annual = store::average_wage(&mut **tx, province.as_str(), year)
        .await?
        .ok_or_else(|| {
            AppError::FailedPrecondition(format!(
                "no {year} average wage is recorded for province {province}"
            ))
        })?;
    pension::check_base(base, Fen(annual))
        .map_err(|invalid| AppError::invalid("monthly_base_fen", invalid.0))
}

/// Loads and locks an enrolment the caller may change (else NOT_FOUND or PERMISSION_DENIED).
async fn lock_to_change(
    tx: &mut Tx,
    principal: &Principal,
    pension_id: Uuid,
) -> AppResult<PensionRow> {
    let missing = || no_pension(pension_id);
    let row = store::lock(tx, pension_id).await?.ok_or_else(missing)?;
    let province = stored_province(&row.province_code)?;
    policy::authorize(
        &principal.role,
        Action::ChangePension,
        Resource::Record(Owner::province(&province)),
        missing,
    )?;
    Ok(row)
}

pub async fn enrol<R>(
    state: &AppState,
    principal: &Principal,
    command: EnrolPension,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a PensionEnrolment>,
{
    let EnrolPension {
        key,
        id_number,
        place,
        monthly_base,
    } = command;
    let province = place.province();
    policy::authorize_scope(
        &principal.role,
        Action::EnrolPension,
        Owner::province(&province),
    )?;
    record_province(province.as_str());
    let idempotent = Idempotent::new(principal, "EnrolPension", &key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    check_base(&mut tx, &province, monthly_base, state.clock.today()).await?;
    let now = state.clock.now();
    let person_key = state.pii.person_key(&id_number);
    let sealed = state.pii.seal(id_number.as_str(), &person_key)?;
    let person = crate::store::persons::NewPerson {
        person_key: &person_key,
        id_number: &sealed,
        id_masked: &id_number.masked(),
        birth_date: id_number.birth_date(),
    };
    crate::store::persons::ensure(&mut tx, &[person], now).await?;
    let row = PensionRow {
        province_code: province.to_string(),
        pension_id: Uuid::now_v7(),
        person_key,
        id_masked: id_number.masked(),
        place_code: place.as_str().to_owned(),
        monthly_base_fen: monthly_base.0,
        status: PensionStatus::Active,
        transferred_to: None,
        created_at: now,
    };
    let actor = principal.caller_key();
    if let Err(existing) = store::insert(&mut tx, &row, &actor).await? {
        // The one-active-per-person rule tells that an enrolment exists; only a caller who may
        // read it is told which.
        let existing_province = stored_province(&existing.province_code)?;
        let visible = policy::decide(
            &principal.role,
            Action::ReadPension,
            Resource::Record(Owner::province(&existing_province)),
        ) == Decision::Allow;
        let which = if visible {
            format!(" ({})", existing.pension_id)
        } else {
            String::new()
        };
        return Err(AppError::AlreadyExists(format!(
            "this person already has an active pension enrolment{which}; a move is a TransferPension"
        )));
    }
    let event = events::pension_changed(&row, Change::Enrolled, &[], 0, actor, now);
    crate::store::events::append(&mut tx, event).await?;
    let reply = R::from(&row);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

pub async fn transfer<R>(
    state: &AppState,
    principal: &Principal,
    command: TransferPension,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a PensionEnrolment>,
{
    let TransferPension {
        key,
        pension_id,
        new_place,
        monthly_base,
    } = command;
    let idempotent = Idempotent::new(principal, "TransferPension", &key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let old = lock_to_change(&mut tx, principal, pension_id).await?;
    record_province(&old.province_code);
    pension::check_active(old.status, "act on the one it moved to")
        .map_err(AppError::FailedPrecondition)?;
    if new_place.as_str() == old.place_code {
        return Err(AppError::invalid(
            "new_place_of_employment",
            "is already this enrolment's place",
        ));
    }
    let new_province = new_place.province();
    let base = monthly_base.unwrap_or(Fen(old.monthly_base_fen));
    check_base(&mut tx, &new_province, base, state.clock.today()).await?;
    let now = state.clock.now();
    let new = PensionRow {
        province_code: new_province.to_string(),
        pension_id: Uuid::now_v7(),
        place_code: new_place.as_str().to_owned(),
        monthly_base_fen: base.0,
        created_at: now,
        ..old.clone()
    };
    store::mark_transferred(&mut tx, &old, new.pension_id).await?;
    if let Err(existing) = store::insert(&mut tx, &new, &principal.caller_key()).await? {
        return Err(anyhow::anyhow!(
            "pension {} still active after a transfer",
            existing.pension_id
        )
        .into());
    }
    let actor = principal.caller_key();
    let moved_out = PensionRow {
        status: PensionStatus::Transferred,
        transferred_to: Some(new.pension_id),
        ..old
    };
    let out = events::pension_changed(
        &moved_out,
        Change::TransferredOut,
        &[],
        0,
        actor.clone(),
        now,
    );
    let into = events::pension_changed(&new, Change::TransferredIn, &[], 0, actor, now);
    crate::store::events::append_many(&mut tx, &[out, into]).await?;
    let reply = R::from(&new);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

pub async fn declare<R>(
    state: &AppState,
    principal: &Principal,
    command: DeclarePensionContribution,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a PensionContribution>,
{
    let DeclarePensionContribution {
        key,
        pension_id,
        months,
    } = command;
    let idempotent = Idempotent::new(principal, "DeclarePensionContribution", &key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = lock_to_change(&mut tx, principal, pension_id).await?;
    record_province(&row.province_code);
    pension::check_active(row.status, "pay under the one it moved to")
        .map_err(AppError::FailedPrecondition)?;
    let paid = pension::contributions(Fen(row.monthly_base_fen), &months);
    let (total, individual) = pension::sums(&paid).ok_or_else(out_of_bounds)?;
    let now = state.clock.now();
    if store::insert_months(&mut tx, &row, &paid, now)
        .await?
        .is_err()
    {
        return Err(AppError::FailedPrecondition(
            "some of these months are already paid".into(),
        ));
    }
    let event = events::pension_changed(
        &row,
        Change::MonthsPaid,
        &paid,
        total.0,
        principal.caller_key(),
        now,
    );
    crate::store::events::append(&mut tx, event).await?;
    let reply = R::from(&PensionContribution {
        pension_id,
        months: paid,
        total,
        individual,
    });
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

pub async fn account(
    state: &AppState,
    principal: &Principal,
    lookup: PensionLookup,
) -> AppResult<PensionAccount> {
    let missing = || AppError::NotFound("no such pension enrolment".into());
    let row = match lookup {
        PensionLookup::PensionId(pension_id) => store::get(&state.pool, pension_id).await?,
        PensionLookup::IdNumber(id) => {
            let person_key = state.pii.person_key(&id);
            let current = store::current_of_person(&state.pool, &person_key).await?;
            state
                .access_log
                .record(
                    &person_access(state, principal, &person_key, "GetPensionAccount"),
                    i32::from(current.is_some()),
                )
                .await?;
            match current {
                Some(pension_id) => store::get(&state.pool, pension_id).await?,
                None => None,
            }
        }
    };
    let row = row.ok_or_else(missing)?;
    let province = stored_province(&row.province_code)?;
    policy::authorize(
        &principal.role,
        Action::ReadPension,
        Resource::Record(Owner::province(&province)),
        missing,
    )?;
    let months_paid: Vec<PaidMonth> = store::months_of_person(&state.pool, &row.person_key)
        .await?
        .iter()
        .map(|month| month.paid())
        .collect();
    let first = store::first_enrolled_at(&state.pool, &row.person_key).await?;
    let paid_days: Vec<NaiveDate> = months_paid.iter().map(|m| m.month).collect();
    let gaps = first.map_or_else(Vec::new, |first| {
        pension::gaps(china_date(first), state.clock.today(), &paid_days)
    });
    let (_, individual_balance) = pension::sums(&months_paid).ok_or_else(out_of_bounds)?;
    Ok(PensionAccount {
        enrolment: row,
        months_paid,
        gaps,
        individual_balance,
    })
}

pub async fn set_average_wage<R>(
    state: &AppState,
    principal: &Principal,
    command: SetAverageWage,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a AverageWage>,
{
    policy::authorize_scope(&principal.role, Action::Administer, Owner::NATIONAL)?;
    let SetAverageWage {
        key,
        province,
        year,
        annual,
    } = command;
    let idempotent = Idempotent::new(principal, "SetAverageWage", &key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    store::set_average_wage(
        &mut *tx,
        province.as_str(),
        year,
        annual.0,
        state.clock.now(),
    )
    .await?;
    let reply = R::from(&AverageWage {
        province,
        year,
        annual,
    });
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}
