//! Pension for flexible workers: enrolment, transfer, contributions, account.
use crate::api::convert::timestamp;
use crate::api::{AppState, Idempotent, record_province};
use crate::auth::Principal;
use crate::domain::division::{PlaceOfEmployment, ProvinceCode};
use crate::domain::id_number::IdNumber;
use crate::domain::late_fee::Period;
use crate::domain::money::Fen;
use crate::domain::pension::{self, Frequency};
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::events;
use crate::store::pension::{self as store, MonthRow, PensionRow};
use chrono::Datelike;
use prost::Message;
use uuid::Uuid;

fn to_proto(row: &PensionRow) -> pb::PensionEnrolment {
    pb::PensionEnrolment {
        pension_id: row.pension_id.to_string(),
        province_code: row.province_code.clone(),
        place_of_employment: row.place_code.clone(),
        id_number_masked: row.id_masked.clone(),
        monthly_base_fen: row.monthly_base_fen,
        status: row.status.clone(),
        transferred_to: row
            .transferred_to
            .map(|id| id.to_string())
            .unwrap_or_default(),
        created_at: Some(timestamp(row.created_at)),
    }
}

fn month_to_proto(month: &MonthRow) -> pb::PensionMonth {
    pb::PensionMonth {
        month: Period::containing(month.month).to_string(),
        base_fen: month.base_fen,
        total_fen: month.total_fen,
        individual_fen: month.individual_fen,
    }
}

/// Province agencies act in their own province; national admins everywhere.
fn require_agency_of(principal: &Principal, province: &ProvinceCode) -> AppResult<()> {
    match &principal.role {
        Role::NationalAdmin => Ok(()),
        Role::ProvinceAgency(own) if own == province => Ok(()),
        _ => Err(AppError::PermissionDenied(format!(
            "pension enrolments are handled by the province agency of {province} or a national admin"
        ))),
    }
}

/// The monthly base must fit the province's range, from its previous-year average wage.
async fn check_base(state: &AppState, province: &ProvinceCode, base: i64) -> AppResult<()> {
    let year = state.clock.today().year() - 1;
    let annual = store::average_wage(&state.pool, province.as_str(), year)
        .await?
        .ok_or_else(|| {
            AppError::FailedPrecondition(format!(
                "no {year} average wage is recorded for province {province}"
            ))
        })?;
    pension::check_base(Fen(base), Fen(annual))
        .map_err(|invalid| AppError::invalid("monthly_base_fen", invalid.0))
}

async fn event(
    tx: &mut crate::store::Tx,
    state: &AppState,
    row: &PensionRow,
    change: &str,
    months: &[MonthRow],
    actor: &str,
) -> AppResult<()> {
    let now = state.clock.now();
    let payload = pb::PensionChangedV1 {
        pension_id: row.pension_id.to_string(),
        province_code: row.province_code.clone(),
        change: change.to_owned(),
        person_key: hex::encode(&row.person_key),
        id_number_masked: row.id_masked.clone(),
        monthly_base_fen: row.monthly_base_fen,
        months: months
            .iter()
            .map(|m| Period::containing(m.month).to_string())
            .collect(),
        total_fen: months.iter().map(|m| m.total_fen).sum(),
        occurred_at: Some(timestamp(now)),
        actor: actor.to_owned(),
    };
    events::append(
        tx,
        events::NewEvent {
            province_code: &row.province_code,
            event_type: events::PENSION_CHANGED,
            aggregate_id: row.pension_id,
            payload: payload.encode_to_vec(),
            occurred_at: now,
        },
    )
    .await
}

pub async fn enrol(
    state: &AppState,
    principal: &Principal,
    request: pb::EnrolPensionRequest,
) -> AppResult<pb::PensionEnrolment> {
    let idempotent = Idempotent::new(principal, "EnrolPension", &request.request_id, &request)?;
    let pb::EnrolPensionRequest {
        request_id: _,
        id_number,
        place_of_employment,
        monthly_base_fen,
    } = &request;
    let mut violations = Violations::new();
    let id = violations.check("id_number", IdNumber::parse(id_number));
    let place = violations.check(
        "place_of_employment",
        PlaceOfEmployment::parse(place_of_employment),
    );
    if *monthly_base_fen <= 0 {
        violations.add("monthly_base_fen", "must be positive");
    }
    let (Some(id), Some(place)) = (id, place) else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    let province = place.province();
    require_agency_of(principal, &province)?;
    record_province(province.as_str());
    check_base(state, &province, *monthly_base_fen).await?;
    let mut tx = match idempotent.begin::<pb::PensionEnrolment>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let now = state.clock.now();
    let person_key = state.pii.person_key(&id);
    let sealed = state.pii.seal(id.as_str(), &person_key)?;
    let person = crate::store::persons::NewPerson {
        person_key: &person_key,
        id_number: &sealed,
        id_masked: &id.masked(),
        birth_date: id.birth_date(),
    };
    crate::store::persons::ensure(&mut tx, &[person], now).await?;
    let row = PensionRow {
        province_code: province.to_string(),
        pension_id: Uuid::now_v7(),
        person_key,
        id_masked: id.masked(),
        place_code: place.as_str().to_owned(),
        monthly_base_fen: *monthly_base_fen,
        status: "active".into(),
        transferred_to: None,
        created_at: now,
    };
    if let Err(existing) = store::insert(&mut tx, &row, &principal.caller_key()).await? {
        return Err(AppError::AlreadyExists(format!(
            "this person already has an active pension enrolment ({existing}); a move is a TransferPension"
        )));
    }
    event(
        &mut tx,
        state,
        &row,
        "enrolled",
        &[],
        &principal.caller_key(),
    )
    .await?;
    let response = to_proto(&row);
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

fn parse_pension_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| AppError::invalid("pension_id", "must be a UUID"))
}

pub async fn transfer(
    state: &AppState,
    principal: &Principal,
    request: pb::TransferPensionRequest,
) -> AppResult<pb::PensionEnrolment> {
    let idempotent = Idempotent::new(principal, "TransferPension", &request.request_id, &request)?;
    let pb::TransferPensionRequest {
        request_id: _,
        pension_id,
        new_place_of_employment,
        monthly_base_fen,
    } = &request;
    let pension_id = parse_pension_id(pension_id)?;
    let place = PlaceOfEmployment::parse(new_place_of_employment)
        .map_err(|invalid| AppError::invalid("new_place_of_employment", invalid.0))?;
    if *monthly_base_fen < 0 {
        return Err(AppError::invalid(
            "monthly_base_fen",
            "must not be negative (0 keeps the current base)",
        ));
    }
    let mut tx = match idempotent.begin::<pb::PensionEnrolment>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let not_found = || AppError::NotFound(format!("no pension enrolment {pension_id}"));
    let old = store::lock(&mut tx, pension_id)
        .await?
        .ok_or_else(not_found)?;
    let old_province = ProvinceCode::parse(&old.province_code)
        .map_err(|invalid| anyhow::anyhow!("stored province: {invalid}"))?;
    let new_province = place.province();
    // Either side's agency may handle the move.
    if require_agency_of(principal, &old_province).is_err() {
        require_agency_of(principal, &new_province)?;
    }
    if old.status != "active" {
        return Err(AppError::FailedPrecondition(format!(
            "the pension enrolment is {}; act on the one it moved to",
            old.status
        )));
    }
    if place.as_str() == old.place_code {
        return Err(AppError::invalid(
            "new_place_of_employment",
            "is already this enrolment's place",
        ));
    }
    let base = if *monthly_base_fen == 0 {
        old.monthly_base_fen
    } else {
        *monthly_base_fen
    };
    check_base(state, &new_province, base).await?;
    let new = PensionRow {
        province_code: new_province.to_string(),
        pension_id: Uuid::now_v7(),
        place_code: place.as_str().to_owned(),
        monthly_base_fen: base,
        created_at: state.clock.now(),
        ..old.clone()
    };
    store::mark_transferred(&mut tx, &old, new.pension_id).await?;
    if let Err(existing) = store::insert(&mut tx, &new, &principal.caller_key()).await? {
        return Err(anyhow::anyhow!("pension {existing} still active after a transfer").into());
    }
    let actor = principal.caller_key();
    event(
        &mut tx,
        state,
        &PensionRow {
            status: "transferred".into(),
            transferred_to: Some(new.pension_id),
            ..old
        },
        "transferred_out",
        &[],
        &actor,
    )
    .await?;
    event(&mut tx, state, &new, "transferred_in", &[], &actor).await?;
    let response = to_proto(&new);
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

fn frequency_from_proto(value: i32) -> Option<Frequency> {
    match pb::PaymentFrequency::try_from(value) {
        Ok(pb::PaymentFrequency::Monthly) => Some(Frequency::Monthly),
        Ok(pb::PaymentFrequency::Quarterly) => Some(Frequency::Quarterly),
        Ok(pb::PaymentFrequency::HalfYearly) => Some(Frequency::HalfYearly),
        Ok(pb::PaymentFrequency::Yearly) => Some(Frequency::Yearly),
        _ => None,
    }
}

pub async fn declare(
    state: &AppState,
    principal: &Principal,
    request: pb::DeclarePensionContributionRequest,
) -> AppResult<pb::PensionContribution> {
    let idempotent = Idempotent::new(
        principal,
        "DeclarePensionContribution",
        &request.request_id,
        &request,
    )?;
    let pb::DeclarePensionContributionRequest {
        request_id: _,
        pension_id,
        year,
        first_month,
        frequency,
    } = &request;
    let pension_id = parse_pension_id(pension_id)?;
    let frequency = frequency_from_proto(*frequency).ok_or_else(|| {
        AppError::invalid(
            "frequency",
            "required: monthly, quarterly, half-yearly or yearly",
        )
    })?;
    let first_month = u32::try_from(*first_month)
        .map_err(|_| AppError::invalid("first_month", "must be 1 to 12"))?;
    let months = pension::months_covered(*year, first_month, frequency, state.clock.today())
        .map_err(|invalid| {
            let field = if invalid.0.contains("earlier year") {
                "year"
            } else {
                "first_month"
            };
            AppError::invalid(field, invalid.0)
        })?;
    let mut tx = match idempotent.begin::<pb::PensionContribution>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = store::lock(&mut tx, pension_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no pension enrolment {pension_id}")))?;
    let province = ProvinceCode::parse(&row.province_code)
        .map_err(|invalid| anyhow::anyhow!("stored province: {invalid}"))?;
    require_agency_of(principal, &province)?;
    if row.status != "active" {
        return Err(AppError::FailedPrecondition(format!(
            "the pension enrolment is {}; pay under the one it moved to",
            row.status
        )));
    }
    let (total, individual) = pension::monthly_contribution(Fen(row.monthly_base_fen));
    let paid: Vec<MonthRow> = months
        .iter()
        .map(|month| MonthRow {
            month: *month,
            base_fen: row.monthly_base_fen,
            total_fen: total.0,
            individual_fen: individual.0,
        })
        .collect();
    if store::insert_months(&mut tx, &row, &paid, state.clock.now())
        .await?
        .is_err()
    {
        return Err(AppError::FailedPrecondition(
            "some of these months are already paid".into(),
        ));
    }
    event(
        &mut tx,
        state,
        &row,
        "months_paid",
        &paid,
        &principal.caller_key(),
    )
    .await?;
    let response = pb::PensionContribution {
        pension_id: pension_id.to_string(),
        months: paid.iter().map(month_to_proto).collect(),
        total_fen: paid.iter().map(|m| m.total_fen).sum(),
        individual_fen: paid.iter().map(|m| m.individual_fen).sum(),
    };
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

pub async fn account(
    state: &AppState,
    principal: &Principal,
    request: pb::GetPensionAccountRequest,
) -> AppResult<pb::PensionAccount> {
    let pb::GetPensionAccountRequest { worker } = request;
    let row = match worker {
        Some(pb::get_pension_account_request::Worker::PensionId(id)) => {
            store::get(&state.pool, parse_pension_id(&id)?).await?
        }
        Some(pb::get_pension_account_request::Worker::IdNumber(id)) => {
            let id = IdNumber::parse(&id)
                .map_err(|invalid| AppError::invalid("id_number", invalid.0))?;
            let person_key = state.pii.person_key(&id);
            let active = store::current_of_person(&state.pool, &person_key).await?;
            crate::store::access_log::record(
                &state.pool,
                &crate::api::person_access(state, principal, &person_key, "GetPensionAccount"),
                i32::from(active.is_some()),
            )
            .await?;
            match active {
                Some(id) => store::get(&state.pool, id).await?,
                None => None,
            }
        }
        None => {
            return Err(AppError::invalid(
                "worker",
                "required: pension_id or id_number",
            ));
        }
    };
    let not_found = || AppError::NotFound("no such pension enrolment".into());
    let row = row.ok_or_else(not_found)?;
    let visible = match &principal.role {
        Role::NationalAdmin | Role::Auditor => true,
        Role::ProvinceAgency(own) => own.as_str() == row.province_code,
        Role::Platform(_) => false,
    };
    if !visible {
        return Err(not_found());
    }
    let paid = store::months_of_person(&state.pool, &row.person_key).await?;
    let first = store::first_enrolled_at(&state.pool, &row.person_key).await?;
    let mut gaps = Vec::new();
    if let Some(first) = first {
        let mut month = Period::containing(crate::domain::clock::china_date(first));
        let current = Period::containing(state.clock.today());
        while month < current {
            if !paid.iter().any(|m| m.month == month.first_day()) {
                gaps.push(month.to_string());
            }
            month = month.next();
        }
    }
    Ok(pb::PensionAccount {
        enrolment: Some(to_proto(&row)),
        individual_balance_fen: paid.iter().map(|m| m.individual_fen).sum(),
        months_paid: paid.iter().map(month_to_proto).collect(),
        gaps,
    })
}
