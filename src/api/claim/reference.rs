//! AdminService's claim reference data (the working-day calendar, the national income figure and
//! the claim policy), handled here with the claims they serve: decode, call, encode.
use crate::api::AppState;
use crate::auth::Principal;
use crate::error::AppResult;
use crate::pb;
use crate::service::claim::{self as service, SetClaimPolicy, SetNationalIncome, SetPublicHoliday};

pub async fn set_public_holiday(
    state: &AppState,
    principal: &Principal,
    request: pb::SetPublicHolidayRequest,
) -> AppResult<pb::PublicHoliday> {
    let command = SetPublicHoliday::try_from(request)?;
    service::set_public_holiday(state, principal, command).await
}

pub async fn set_national_income(
    state: &AppState,
    principal: &Principal,
    request: pb::SetNationalIncomeRequest,
) -> AppResult<pb::NationalIncome> {
    let command = SetNationalIncome::try_from(request)?;
    service::set_national_income(state, principal, command).await
}

pub async fn set_claim_policy(
    state: &AppState,
    principal: &Principal,
    request: pb::SetClaimPolicyRequest,
) -> AppResult<pb::ClaimPolicy> {
    let command = SetClaimPolicy::try_from(request)?;
    service::set_claim_policy(state, principal, command).await
}
