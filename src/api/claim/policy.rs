//! Admin data for claims: the working-day calendar, the national income figure, and the claim
//! policy (deadlines, duplicate window, wage-base rule). National admins only; each is an upsert,
//! so repeating one is harmless and the request_id is only checked.
use crate::api::convert::date_from_proto;
use crate::api::{AppState, Idempotent, require_national_admin};
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::claims::{self as store, NATIONAL_POLICY, PolicyRow};

pub async fn set_public_holiday(
    state: &AppState,
    principal: &Principal,
    request: pb::SetPublicHolidayRequest,
) -> AppResult<pb::PublicHoliday> {
    require_national_admin(principal)?;
    Idempotent::new(principal, "SetPublicHoliday", &request.request_id, &request)?;
    let mut violations = Violations::new();
    let day = violations.check("day", date_from_proto(request.day.as_ref()));
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        violations.add("name", "required: up to 200 characters");
    }
    let Some(day) = day else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    store::set_public_holiday(&state.pool, day, request.holiday, name, state.clock.now()).await?;
    Ok(pb::PublicHoliday {
        day: request.day,
        holiday: request.holiday,
        name: name.to_owned(),
    })
}

pub async fn set_national_income(
    state: &AppState,
    principal: &Principal,
    request: pb::SetNationalIncomeRequest,
) -> AppResult<pb::NationalIncome> {
    require_national_admin(principal)?;
    Idempotent::new(
        principal,
        "SetNationalIncome",
        &request.request_id,
        &request,
    )?;
    let mut violations = Violations::new();
    if !(1990..=2200).contains(&request.year) {
        violations.add("year", "must be a year from 1990");
    }
    if request.annual_fen <= 0 {
        violations.add("annual_fen", "must be positive");
    }
    violations.into_result()?;
    store::set_national_income(
        &state.pool,
        request.year,
        request.annual_fen,
        state.clock.now(),
    )
    .await?;
    Ok(pb::NationalIncome {
        year: request.year,
        annual_fen: request.annual_fen,
    })
}

pub async fn set_claim_policy(
    state: &AppState,
    principal: &Principal,
    request: pb::SetClaimPolicyRequest,
) -> AppResult<pb::ClaimPolicy> {
    require_national_admin(principal)?;
    Idempotent::new(principal, "SetClaimPolicy", &request.request_id, &request)?;
    let policy = request
        .policy
        .ok_or_else(|| AppError::invalid("policy", "required"))?;
    let mut violations = Violations::new();
    if policy.province_code != NATIONAL_POLICY {
        violations.check(
            "policy.province_code",
            ProvinceCode::parse(&policy.province_code),
        );
    }
    for (field, value, range) in [
        (
            "policy.platform_application_days",
            policy.platform_application_days,
            1..=3650,
        ),
        (
            "policy.worker_application_days",
            policy.worker_application_days,
            1..=3650,
        ),
        (
            "policy.decision_working_days",
            policy.decision_working_days,
            1..=250,
        ),
        (
            "policy.duplicate_window_minutes",
            policy.duplicate_window_minutes,
            0..=10_080,
        ),
        (
            "policy.wage_base_percent",
            policy.wage_base_percent,
            1..=300,
        ),
        (
            "policy.wage_base_year_offset",
            policy.wage_base_year_offset,
            -5..=0,
        ),
    ] {
        if !range.contains(&value) {
            violations.add(
                field,
                format!("must be {} to {}", range.start(), range.end()),
            );
        }
    }
    violations.into_result()?;
    store::set_policy(
        &state.pool,
        &PolicyRow {
            province_code: policy.province_code.clone(),
            platform_application_days: policy.platform_application_days,
            worker_application_days: policy.worker_application_days,
            decision_working_days: policy.decision_working_days,
            duplicate_window_minutes: policy.duplicate_window_minutes,
            wage_base_percent: policy.wage_base_percent,
            wage_base_year_offset: policy.wage_base_year_offset,
        },
        state.clock.now(),
    )
    .await?;
    Ok(policy)
}
