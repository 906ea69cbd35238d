//! Rate administration on AdminService (SetBaseRate, SetRateMultiplier, SetPlatformRateClass):
//! decode, call `service::rates`, encode. Also the proto form of rate versions, which
//! ContributionService's answers share.
use super::AppState;
use super::contribution::decode::AsOf;
use super::convert::{date_from_proto, date_to_proto, industry_from_proto, industry_to_proto};
use super::request_key as key;
use crate::auth::Principal;
use crate::domain::Invalid;
use crate::domain::division::ProvinceCode;
use crate::domain::platform::PlatformId;
use crate::domain::rates::{self, BaseRate, Multiplier, RateClass, check_fen_per_order};
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::service::rates::{
    self as service, BaseRateVersion, MultiplierVersion, PlatformRateClass, SetBaseRate,
    SetPlatformRateClass, SetRateMultiplier,
};
use chrono::NaiveDate;

fn rate_class_from_proto(value: i32) -> Result<RateClass, Invalid> {
    match pb::RateClass::try_from(value) {
        Ok(pb::RateClass::Standard) => Ok(RateClass::Standard),
        Ok(pb::RateClass::EarlyPilot) => Ok(RateClass::EarlyPilot),
        Ok(pb::RateClass::Unspecified) => Err(Invalid::new("required")),
        Err(_) => Err(Invalid::new(format!("unknown rate class {value}"))),
    }
}

fn rate_class_to_proto(class: RateClass) -> pb::RateClass {
    match class {
        RateClass::Standard => pb::RateClass::Standard,
        RateClass::EarlyPilot => pb::RateClass::EarlyPilot,
    }
}

impl From<&BaseRateVersion> for pb::BaseRate {
    fn from(row: &BaseRateVersion) -> Self {
        pb::BaseRate {
            base_rate_id: row.base_rate_id,
            industry: industry_to_proto(row.industry) as i32,
            rate_class: rate_class_to_proto(row.rate_class) as i32,
            valid_from: Some(date_to_proto(row.valid_from)),
            fen_per_order: row.fen_per_order,
        }
    }
}

impl From<&MultiplierVersion> for pb::RateMultiplier {
    fn from(row: &MultiplierVersion) -> Self {
        pb::RateMultiplier {
            multiplier_id: row.multiplier_id,
            province_code: row.province_code.clone(),
            platform_id: row.platform_id.clone(),
            industry: industry_to_proto(row.industry) as i32,
            valid_from: Some(date_to_proto(row.valid_from)),
            tenths: i32::try_from(row.tenths.tenths()).unwrap_or_default(),
        }
    }
}

impl From<&PlatformRateClass> for pb::PlatformRateClass {
    fn from(class: &PlatformRateClass) -> Self {
        pb::PlatformRateClass {
            platform_id: class.platform.to_string(),
            industry: industry_to_proto(class.industry) as i32,
            rate_class: rate_class_to_proto(class.class) as i32,
        }
    }
}

/// Rate versions take effect in the future only: amounts already computed keep their version.
fn in_the_future(valid_from: NaiveDate, today: NaiveDate) -> Result<NaiveDate, Invalid> {
    if valid_from <= today {
        return Err(Invalid::new(format!(
            "must be after today ({today}): rates are never changed retroactively"
        )));
    }
    Ok(valid_from)
}

impl TryFrom<AsOf<pb::SetBaseRateRequest>> for SetBaseRate {
    type Error = AppError;

    fn try_from(request: AsOf<pb::SetBaseRateRequest>) -> Result<Self, AppError> {
        let today = request.today();
        let mut violations = Violations::new();
        let key = key(
            &mut violations,
            &request.message.request_id,
            &request.message,
        );
        let pb::SetBaseRateRequest {
            request_id: _,
            industry,
            rate_class,
            valid_from,
            fen_per_order,
        } = request.message;
        let industry = violations.check("industry", industry_from_proto(industry));
        let class = violations.check("rate_class", rate_class_from_proto(rate_class));
        let valid_from = violations.check(
            "valid_from",
            date_from_proto(valid_from.as_ref()).and_then(|day| in_the_future(day, today)),
        );
        let fen_per_order = violations.check("fen_per_order", check_fen_per_order(fen_per_order));
        let (Some(key), Some(industry), Some(class), Some(valid_from), Some(fen_per_order)) =
            (key, industry, class, valid_from, fen_per_order)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(SetBaseRate {
            key,
            rate: BaseRate {
                industry,
                class,
                valid_from,
                fen_per_order,
            },
        })
    }
}

impl TryFrom<AsOf<pb::SetRateMultiplierRequest>> for SetRateMultiplier {
    type Error = AppError;

    fn try_from(request: AsOf<pb::SetRateMultiplierRequest>) -> Result<Self, AppError> {
        let today = request.today();
        let mut violations = Violations::new();
        let key = key(
            &mut violations,
            &request.message.request_id,
            &request.message,
        );
        let pb::SetRateMultiplierRequest {
            request_id: _,
            province_code,
            platform_id,
            industry,
            valid_from,
            tenths,
        } = request.message;
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let platform = violations.check("platform_id", PlatformId::parse(&platform_id));
        let industry = violations.check("industry", industry_from_proto(industry));
        let valid_from = violations.check(
            "valid_from",
            date_from_proto(valid_from.as_ref())
                .and_then(|day| rates::check_multiplier_change(day, &[]).map(|()| day))
                .and_then(|day| in_the_future(day, today)),
        );
        let multiplier = violations.check("tenths", Multiplier::from_tenths(tenths));
        let (
            Some(key),
            Some(province),
            Some(platform),
            Some(industry),
            Some(valid_from),
            Some(multiplier),
        ) = (key, province, platform, industry, valid_from, multiplier)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(SetRateMultiplier {
            key,
            province,
            platform,
            industry,
            valid_from,
            multiplier,
        })
    }
}

impl TryFrom<pb::SetPlatformRateClassRequest> for SetPlatformRateClass {
    type Error = AppError;

    fn try_from(request: pb::SetPlatformRateClassRequest) -> Result<Self, AppError> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::SetPlatformRateClassRequest {
            request_id: _,
            platform_id,
            industry,
            rate_class,
        } = request;
        let platform = violations.check("platform_id", PlatformId::parse(&platform_id));
        let industry = violations.check("industry", industry_from_proto(industry));
        let class = violations.check("rate_class", rate_class_from_proto(rate_class));
        let (Some(key), Some(platform), Some(industry), Some(class)) =
            (key, platform, industry, class)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(SetPlatformRateClass {
            key,
            platform,
            industry,
            class,
        })
    }
}

pub async fn set_base_rate(
    state: &AppState,
    principal: &Principal,
    request: pb::SetBaseRateRequest,
) -> AppResult<pb::BaseRate> {
    let command = SetBaseRate::try_from(AsOf::new(request, state.clock.now()))?;
    service::set_base_rate::<pb::BaseRate>(state, principal, command).await
}

pub async fn set_rate_multiplier(
    state: &AppState,
    principal: &Principal,
    request: pb::SetRateMultiplierRequest,
) -> AppResult<pb::RateMultiplier> {
    let command = SetRateMultiplier::try_from(AsOf::new(request, state.clock.now()))?;
    service::set_rate_multiplier::<pb::RateMultiplier>(state, principal, command).await
}

pub async fn set_platform_rate_class(
    state: &AppState,
    principal: &Principal,
    request: pb::SetPlatformRateClassRequest,
) -> AppResult<pb::PlatformRateClass> {
    let command = SetPlatformRateClass::try_from(request)?;
    service::set_platform_rate_class::<pb::PlatformRateClass>(state, principal, command).await
}
