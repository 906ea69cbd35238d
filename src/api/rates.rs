//! Rate administration (on AdminService) and the rate in force (ContributionService.GetRate).
use super::convert::{self, date_from_proto, date_to_proto, non_empty};
use super::{AppState, Idempotent, require_national_admin};
use crate::auth::Principal;
use crate::domain::Invalid;
use crate::domain::clock::china_date;
use crate::domain::division::ProvinceCode;
use crate::domain::platform::PlatformId;
use crate::domain::rates::{self, Multiplier, RateClass};
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::rates::{self as store, BaseRateRow, MultiplierRow};

fn rate_class_from_proto(value: i32) -> Result<RateClass, Invalid> {
    match pb::RateClass::try_from(value) {
        Ok(pb::RateClass::Standard) => Ok(RateClass::Standard),
        Ok(pb::RateClass::EarlyPilot) => Ok(RateClass::EarlyPilot),
        Ok(pb::RateClass::Unspecified) => Err(Invalid::new("required")),
        Err(_) => Err(Invalid::new(format!("unknown rate class {value}"))),
    }
}

fn rate_class_to_proto(stored: &str) -> i32 {
    match RateClass::from_db(stored) {
        Ok(RateClass::Standard) => pb::RateClass::Standard as i32,
        Ok(RateClass::EarlyPilot) => pb::RateClass::EarlyPilot as i32,
        Err(_) => pb::RateClass::Unspecified as i32,
    }
}

fn base_rate_to_proto(row: &BaseRateRow) -> pb::BaseRate {
    pb::BaseRate {
        base_rate_id: row.base_rate_id,
        industry: convert::stored_industry_to_proto(&row.industry),
        rate_class: rate_class_to_proto(&row.rate_class),
        valid_from: Some(date_to_proto(row.valid_from)),
        fen_per_order: row.fen_per_order,
    }
}

fn multiplier_to_proto(row: &MultiplierRow) -> pb::RateMultiplier {
    pb::RateMultiplier {
        multiplier_id: row.multiplier_id,
        province_code: row.province_code.clone(),
        platform_id: row.platform_id.clone(),
        industry: convert::stored_industry_to_proto(&row.industry),
        valid_from: Some(date_to_proto(row.valid_from)),
        tenths: i32::from(row.tenths),
    }
}

/// Rate versions take effect in the future only: amounts already computed keep their version.
fn check_future(valid_from: chrono::NaiveDate, state: &AppState) -> Result<(), Invalid> {
    let today = state.clock.today();
    if valid_from <= today {
        return Err(Invalid::new(format!(
            "must be after today ({today}): rates are never changed retroactively"
        )));
    }
    Ok(())
}

pub async fn set_base_rate(
    state: &AppState,
    principal: &Principal,
    request: pb::SetBaseRateRequest,
) -> AppResult<pb::BaseRate> {
    require_national_admin(principal)?;
    let idempotent = Idempotent::new(principal, "SetBaseRate", &request.request_id, &request)?;
    let pb::SetBaseRateRequest {
        request_id: _,
        industry,
        rate_class,
        valid_from,
        fen_per_order,
    } = &request;
    let mut violations = Violations::new();
    let industry = violations.check("industry", convert::industry_from_proto(*industry));
    let class = violations.check("rate_class", rate_class_from_proto(*rate_class));
    let from = violations.check("valid_from", date_from_proto(valid_from.as_ref()));
    if let Some(from) = from {
        violations.check("valid_from", check_future(from, state));
    }
    if !(0..=100_000).contains(fen_per_order) {
        violations.add(
            "fen_per_order",
            "must be 0 to 100000 fen (1,000 yuan) per order",
        );
    }
    let (Some(industry), Some(class), Some(from)) = (industry, class, from) else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    let mut tx = match idempotent.begin::<pb::BaseRate>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = BaseRateRow {
        base_rate_id: 0,
        industry: industry.as_str().to_owned(),
        rate_class: class.as_str().to_owned(),
        valid_from: from,
        fen_per_order: *fen_per_order,
    };
    let row = store::insert_base_rate(&mut *tx, &row, state.clock.now()).await?;
    let response = base_rate_to_proto(&row);
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

pub async fn set_rate_multiplier(
    state: &AppState,
    principal: &Principal,
    request: pb::SetRateMultiplierRequest,
) -> AppResult<pb::RateMultiplier> {
    require_national_admin(principal)?;
    let idempotent = Idempotent::new(
        principal,
        "SetRateMultiplier",
        &request.request_id,
        &request,
    )?;
    let pb::SetRateMultiplierRequest {
        request_id: _,
        province_code,
        platform_id,
        industry,
        valid_from,
        tenths,
    } = &request;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(province_code));
    let platform = violations.check("platform_id", PlatformId::parse(platform_id));
    let industry = violations.check("industry", convert::industry_from_proto(*industry));
    let from = violations.check("valid_from", date_from_proto(valid_from.as_ref()));
    let multiplier = violations.check("tenths", Multiplier::from_tenths(*tenths));
    if let Some(from) = from {
        violations.check("valid_from", rates::check_multiplier_change(from, &[]));
        violations.check("valid_from", check_future(from, state));
    }
    let (Some(province), Some(platform), Some(industry), Some(from), Some(multiplier)) =
        (province, platform, industry, from, multiplier)
    else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    let mut tx = match idempotent.begin::<pb::RateMultiplier>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let existing = store::multiplier_dates(
        &mut *tx,
        province.as_str(),
        platform.as_str(),
        industry.as_str(),
    )
    .await?;
    rates::check_multiplier_change(from, &existing)
        .map_err(|invalid| AppError::FailedPrecondition(invalid.0))?;
    let row = MultiplierRow {
        multiplier_id: 0,
        province_code: province.to_string(),
        platform_id: platform.to_string(),
        industry: industry.as_str().to_owned(),
        valid_from: from,
        tenths: multiplier.tenths() as i16,
    };
    let row = store::insert_multiplier(&mut *tx, &row, state.clock.now()).await?;
    let response = multiplier_to_proto(&row);
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

pub async fn set_platform_rate_class(
    state: &AppState,
    principal: &Principal,
    request: pb::SetPlatformRateClassRequest,
) -> AppResult<pb::PlatformRateClass> {
    require_national_admin(principal)?;
    // An upsert: repeating it is harmless, so the request_id is only checked.
    Idempotent::new(
        principal,
        "SetPlatformRateClass",
        &request.request_id,
        &request,
    )?;
    let pb::SetPlatformRateClassRequest {
        request_id: _,
        platform_id,
        industry,
        rate_class,
    } = request;
    let mut violations = Violations::new();
    let platform = violations.check("platform_id", PlatformId::parse(&platform_id));
    let industry = violations.check("industry", convert::industry_from_proto(industry));
    let class = violations.check("rate_class", rate_class_from_proto(rate_class));
    let (Some(platform), Some(industry), Some(class)) = (platform, industry, class) else {
        return Err(violations.into_error());
    };
    if crate::store::platforms::get(&state.pool, platform.as_str())
        .await?
        .is_none()
    {
        return Err(AppError::NotFound(format!("no platform {platform}")));
    }
    store::set_platform_class(
        &state.pool,
        platform.as_str(),
        industry.as_str(),
        class.as_str(),
        state.clock.now(),
    )
    .await?;
    Ok(pb::PlatformRateClass {
        platform_id: platform.to_string(),
        industry: convert::industry_to_proto(industry) as i32,
        rate_class,
    })
}

/// The rate in force for a province, platform and industry on `day`, as the API shows it.
pub async fn rate_in_force(
    db: impl sqlx::PgExecutor<'_>,
    province: &ProvinceCode,
    platform: &PlatformId,
    industry: &str,
    day: chrono::NaiveDate,
) -> AppResult<pb::RateInForce> {
    let found = store::in_force(db, province.as_str(), platform.as_str(), industry, day)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!("no {industry} base rate is in force on {day}"))
        })?;
    let base = BaseRateRow {
        base_rate_id: found.base_rate_id,
        industry: found.industry.clone(),
        rate_class: found.rate_class.clone(),
        valid_from: found.base_valid_from,
        fen_per_order: found.fen_per_order,
    };
    let multiplier = match (
        found.multiplier_id,
        found.tenths,
        found.multiplier_valid_from,
    ) {
        (Some(multiplier_id), Some(tenths), Some(valid_from)) => Some(MultiplierRow {
            multiplier_id,
            province_code: province.to_string(),
            platform_id: platform.to_string(),
            industry: found.industry.clone(),
            valid_from,
            tenths,
        }),
        _ => None,
    };
    let tenths = multiplier
        .as_ref()
        .map_or(Multiplier::ONE.tenths(), |m| i64::from(m.tenths));
    Ok(pb::RateInForce {
        base_rate: Some(base_rate_to_proto(&base)),
        premium_tenth_fen_per_order: found.fen_per_order * tenths,
        rate_version: rate_version(
            found.base_rate_id,
            multiplier.as_ref().map(|m| m.multiplier_id),
        ),
        multiplier: multiplier.as_ref().map(multiplier_to_proto),
    })
}

/// Names the versions an amount was computed with: `b<base rate id>-m<multiplier id or 0>`.
pub fn rate_version(base_rate_id: i64, multiplier_id: Option<i64>) -> String {
    format!("b{base_rate_id}-m{}", multiplier_id.unwrap_or(0))
}

pub async fn get_rate(
    state: &AppState,
    principal: &Principal,
    request: pb::GetRateRequest,
) -> AppResult<pb::RateInForce> {
    let pb::GetRateRequest {
        province_code,
        platform_id,
        industry,
        at,
    } = request;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(&province_code));
    let platform = non_empty(&platform_id)
        .and_then(|id| violations.check("platform_id", PlatformId::parse(id)));
    let industry = violations.check("industry", convert::industry_from_proto(industry));
    let (Some(province), Some(industry)) = (province, industry) else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    let platform = match (&principal.role, platform) {
        (Role::Platform(own), None) => own.clone(),
        (Role::Platform(own), Some(asked)) if asked == *own => asked,
        (Role::Platform(_), Some(_)) => {
            return Err(AppError::PermissionDenied(
                "a platform reads only its own rates".into(),
            ));
        }
        (Role::ProvinceAgency(own), _) if *own != province => {
            return Err(AppError::PermissionDenied(format!(
                "a province agency reads only its own province ({own})"
            )));
        }
        (_, Some(platform)) => platform,
        (_, None) => return Err(AppError::invalid("platform_id", "required")),
    };
    let instant = match at {
        Some(at) => convert::instant_from_proto(&at)
            .map_err(|invalid| AppError::invalid("at", invalid.0))?,
        None => state.clock.now(),
    };
    rate_in_force(
        &state.pool,
        &province,
        &platform,
        industry.as_str(),
        china_date(instant),
    )
    .await
}
