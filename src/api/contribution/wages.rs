//! AdminService.SetAverageWage: the provincial average wage of a year, which bounds pension
//! contribution bases (and is the wage base of injury benefits). Decode, call
//! `service::pension::set_average_wage`, encode.
use crate::api::AppState;
use crate::api::request_key as key;
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::money::Fen;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::service::pension::{self as service, AverageWage, SetAverageWage};

/// The years an average wage may be recorded for.
const YEARS: std::ops::RangeInclusive<i32> = 1990..=2200;

impl TryFrom<pb::SetAverageWageRequest> for SetAverageWage {
    type Error = AppError;

    fn try_from(request: pb::SetAverageWageRequest) -> Result<Self, AppError> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::SetAverageWageRequest {
            request_id: _,
            province_code,
            year,
            annual_fen,
        } = request;
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        if !YEARS.contains(&year) {
            violations.add("year", "must be a year from 1990 to 2200");
        }
        let annual = violations.check("annual_fen", Fen::positive(annual_fen));
        let (Some(key), Some(province), Some(annual)) = (key, province, annual) else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(SetAverageWage {
            key,
            province,
            year,
            annual,
        })
    }
}

impl From<&AverageWage> for pb::AverageWage {
    fn from(wage: &AverageWage) -> Self {
        pb::AverageWage {
            province_code: wage.province.to_string(),
            year: wage.year,
            annual_fen: wage.annual.0,
        }
    }
}

pub async fn set_average_wage(
    state: &AppState,
    principal: &Principal,
    request: pb::SetAverageWageRequest,
) -> AppResult<pb::AverageWage> {
    let command = SetAverageWage::try_from(request)?;
    service::set_average_wage::<pb::AverageWage>(state, principal, command).await
}
