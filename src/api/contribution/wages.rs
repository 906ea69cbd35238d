//! AdminService.SetAverageWage: the provincial average wage of a year, which bounds pension
//! contribution bases (and is the wage base of injury benefits).
use crate::api::{AppState, Idempotent, require_national_admin};
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::error::{AppResult, Violations};
use crate::pb;

pub async fn set_average_wage(
    state: &AppState,
    principal: &Principal,
    request: pb::SetAverageWageRequest,
) -> AppResult<pb::AverageWage> {
    require_national_admin(principal)?;
    // An upsert: repeating it is harmless, so the request_id is only checked.
    Idempotent::new(principal, "SetAverageWage", &request.request_id, &request)?;
    let pb::SetAverageWageRequest {
        request_id: _,
        province_code,
        year,
        annual_fen,
    } = request;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(&province_code));
    if !(1990..=2200).contains(&year) {
        violations.add("year", "must be a year from 1990");
    }
    if annual_fen <= 0 {
        violations.add("annual_fen", "must be positive");
    }
    let Some(province) = province else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    crate::store::pension::set_average_wage(
        &state.pool,
        province.as_str(),
        year,
        annual_fen,
        state.clock.now(),
    )
    .await?;
    Ok(pb::AverageWage {
        province_code: province.to_string(),
        year,
        annual_fen,
    })
}
