//! AdminService's claim reference data (the working-day calendar, the national income figure and
//! the claim policy), handled here with the claims they serve: decode, call, encode.
use super::decode::decoded;
use crate::api::AppState;
use crate::api::convert::{date_from_proto, date_to_proto, non_empty};
use crate::api::request_key as key;
use crate::auth::Principal;
use crate::domain::Invalid;
use crate::domain::claim::{self, ClaimPolicy};
use crate::domain::division::ProvinceCode;
use crate::domain::late_fee::Period;
use crate::domain::money::Fen;
use crate::domain::periodic;
use crate::domain::text::check_line;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::service::claim::{
    self as service, BenefitAdjustment, MAX_HOLIDAY_NAME_CHARS, NationalIncome, PolicyInForce,
    PrivateSectorWage, PublicHoliday, SetBenefitAdjustment, SetClaimPolicy, SetNationalIncome,
    SetPrivateSectorWage, SetPublicHoliday,
};

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

pub async fn set_private_sector_wage(
    state: &AppState,
    principal: &Principal,
    request: pb::SetPrivateSectorWageRequest,
) -> AppResult<pb::PrivateSectorWage> {
    let command = SetPrivateSectorWage::try_from(request)?;
    service::set_private_sector_wage(state, principal, command).await
}

pub async fn set_benefit_adjustment(
    state: &AppState,
    principal: &Principal,
    request: pb::SetBenefitAdjustmentRequest,
) -> AppResult<pb::BenefitAdjustment> {
    let command = SetBenefitAdjustment::try_from(request)?;
    service::set_benefit_adjustment(state, principal, command).await
}

pub async fn set_claim_policy(
    state: &AppState,
    principal: &Principal,
    request: pb::SetClaimPolicyRequest,
) -> AppResult<pb::ClaimPolicy> {
    let command = SetClaimPolicy::try_from(request)?;
    service::set_claim_policy(state, principal, command).await
}

impl TryFrom<pb::SetPublicHolidayRequest> for SetPublicHoliday {
    type Error = AppError;

    fn try_from(request: pb::SetPublicHolidayRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::SetPublicHolidayRequest {
            request_id: _,
            day,
            holiday,
            name,
        } = request;
        let day = violations.check("day", date_from_proto(day.as_ref()));
        let name = violations.check(
            "name",
            check_line(&name, MAX_HOLIDAY_NAME_CHARS).map(|()| name.clone()),
        );
        let built = (|| {
            Some(SetPublicHoliday {
                key: key?,
                day: day?,
                holiday,
                name: name?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::SetNationalIncomeRequest> for SetNationalIncome {
    type Error = AppError;

    fn try_from(request: pb::SetNationalIncomeRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::SetNationalIncomeRequest {
            request_id: _,
            year,
            annual_fen,
        } = request;
        let year = violations.check("year", statistic_year(year));
        let annual = violations.check("annual_fen", Fen::positive(annual_fen));
        let built = (|| {
            Some(SetNationalIncome {
                key: key?,
                year: year?,
                annual: annual?,
            })
        })();
        decoded(violations, built)
    }
}

/// A statistic's year: 1990 to 2200.
fn statistic_year(year: i32) -> Result<i32, Invalid> {
    (1990..=2200)
        .contains(&year)
        .then_some(year)
        .ok_or_else(|| Invalid::new("must be 1990 to 2200"))
}

impl TryFrom<pb::SetPrivateSectorWageRequest> for SetPrivateSectorWage {
    type Error = AppError;

    fn try_from(request: pb::SetPrivateSectorWageRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::SetPrivateSectorWageRequest {
            request_id: _,
            province_code,
            year,
            annual_fen,
        } = request;
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let year = violations.check("year", statistic_year(year));
        let annual = violations.check("annual_fen", Fen::positive(annual_fen));
        let built = (|| {
            Some(SetPrivateSectorWage {
                key: key?,
                province: province?,
                year: year?,
                annual: annual?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::SetBenefitAdjustmentRequest> for SetBenefitAdjustment {
    type Error = AppError;

    fn try_from(request: pb::SetBenefitAdjustmentRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::SetBenefitAdjustmentRequest {
            request_id: _,
            province_code,
            effective_month,
            basis_points,
        } = request;
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let effective = violations.check("effective_month", Period::parse(&effective_month));
        let basis_points = violations.check(
            "basis_points",
            (periodic::ADJUSTMENT_BASIS_POINTS.contains(&basis_points) && basis_points != 0)
                .then_some(basis_points)
                .ok_or_else(|| Invalid::new("must be -5000 to 5000 and not 0")),
        );
        let built = (|| {
            Some(SetBenefitAdjustment {
                key: key?,
                province: province?,
                effective: effective?,
                basis_points: basis_points?,
            })
        })();
        decoded(violations, built)
    }
}

impl TryFrom<pb::SetClaimPolicyRequest> for SetClaimPolicy {
    type Error = AppError;

    fn try_from(request: pb::SetClaimPolicyRequest) -> AppResult<Self> {
        let mut violations = Violations::new();
        let key = key(&mut violations, &request.request_id, &request);
        let pb::SetClaimPolicyRequest {
            request_id: _,
            policy,
        } = request;
        let Some(policy) = policy else {
            violations.add("policy", "required");
            return Err(violations.into_error());
        };
        let pb::ClaimPolicy {
            province_code,
            platform_application_days,
            worker_application_days,
            decision_working_days,
            duplicate_window_minutes,
            wage_base_percent,
            wage_base_year_offset,
            death_base_percent,
            grade_5_allowance_months,
            grade_6_allowance_months,
            child_pension_until_age,
            review_interval_months,
        } = policy;
        // Empty: the national default.
        let province = non_empty(&province_code)
            .and_then(|code| violations.check("policy.province_code", ProvinceCode::parse(code)));
        let mut field = |name: &str, value: i32, range: &std::ops::RangeInclusive<i32>| {
            violations.check(&format!("policy.{name}"), claim::policy_value(value, range))
        };
        let platform_application_days = field(
            "platform_application_days",
            platform_application_days,
            &claim::APPLICATION_DAYS,
        );
        let worker_application_days = field(
            "worker_application_days",
            worker_application_days,
            &claim::APPLICATION_DAYS,
        );
        let decision_working_days = field(
            "decision_working_days",
            decision_working_days,
            &claim::DECISION_WORKING_DAYS,
        );
        let duplicate_window_minutes = field(
            "duplicate_window_minutes",
            duplicate_window_minutes,
            &claim::DUPLICATE_WINDOW_MINUTES,
        );
        let wage_base_percent = field(
            "wage_base_percent",
            wage_base_percent,
            &claim::WAGE_BASE_PERCENT,
        );
        let wage_base_year_offset = field(
            "wage_base_year_offset",
            wage_base_year_offset,
            &claim::WAGE_BASE_YEAR_OFFSET,
        );
        let death_base_percent = field(
            "death_base_percent",
            death_base_percent,
            &claim::DEATH_BASE_PERCENT,
        );
        let grade_5_allowance_months = field(
            "grade_5_allowance_months",
            grade_5_allowance_months,
            &claim::ALLOWANCE_MONTHS,
        );
        let grade_6_allowance_months = field(
            "grade_6_allowance_months",
            grade_6_allowance_months,
            &claim::ALLOWANCE_MONTHS,
        );
        let child_pension_until_age = field(
            "child_pension_until_age",
            child_pension_until_age,
            &periodic::CHILD_PENSION_UNTIL_AGE,
        );
        let review_interval_months = field(
            "review_interval_months",
            review_interval_months,
            &claim::REVIEW_INTERVAL_MONTHS,
        );
        let built = (|| {
            Some(SetClaimPolicy {
                key: key?,
                province: if province_code.is_empty() {
                    None
                } else {
                    Some(province?)
                },
                policy: ClaimPolicy {
                    platform_application_days: platform_application_days?,
                    worker_application_days: worker_application_days?,
                    decision_working_days: decision_working_days?,
                    duplicate_window_minutes: duplicate_window_minutes?,
                    wage_base_percent: wage_base_percent?,
                    wage_base_year_offset: wage_base_year_offset?,
                    death_base_percent: death_base_percent?,
                    grade_5_allowance_months: grade_5_allowance_months?,
                    grade_6_allowance_months: grade_6_allowance_months?,
                    child_pension_until_age: child_pension_until_age?,
                    review_interval_months: review_interval_months?,
                },
            })
        })();
        decoded(violations, built)
    }
}

impl From<&PublicHoliday> for pb::PublicHoliday {
    fn from(holiday: &PublicHoliday) -> Self {
        pb::PublicHoliday {
            day: Some(date_to_proto(holiday.day)),
            holiday: holiday.holiday,
            name: holiday.name.clone(),
        }
    }
}

impl From<&NationalIncome> for pb::NationalIncome {
    fn from(income: &NationalIncome) -> Self {
        pb::NationalIncome {
            year: income.year,
            annual_fen: income.annual.0,
        }
    }
}

impl From<&PrivateSectorWage> for pb::PrivateSectorWage {
    fn from(wage: &PrivateSectorWage) -> Self {
        pb::PrivateSectorWage {
            province_code: wage.province.to_string(),
            year: wage.year,
            annual_fen: wage.annual.0,
        }
    }
}

impl From<&BenefitAdjustment> for pb::BenefitAdjustment {
    fn from(adjustment: &BenefitAdjustment) -> Self {
        pb::BenefitAdjustment {
            province_code: adjustment.province.to_string(),
            effective_month: periodic::show(adjustment.effective),
            basis_points: adjustment.basis_points,
            version: adjustment.version.clone(),
        }
    }
}

impl From<&PolicyInForce> for pb::ClaimPolicy {
    fn from(in_force: &PolicyInForce) -> Self {
        let policy = &in_force.policy;
        pb::ClaimPolicy {
            province_code: in_force
                .province
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            platform_application_days: policy.platform_application_days,
            worker_application_days: policy.worker_application_days,
            decision_working_days: policy.decision_working_days,
            duplicate_window_minutes: policy.duplicate_window_minutes,
            wage_base_percent: policy.wage_base_percent,
            wage_base_year_offset: policy.wage_base_year_offset,
            death_base_percent: policy.death_base_percent,
            grade_5_allowance_months: policy.grade_5_allowance_months,
            grade_6_allowance_months: policy.grade_6_allowance_months,
            child_pension_until_age: policy.child_pension_until_age,
            review_interval_months: policy.review_interval_months,
        }
    }
}
