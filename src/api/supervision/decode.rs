//! Requests of `SupervisionService` into typed queries; every field destructured.
use crate::api::convert::optional_date_from_proto;
use crate::api::paging;
use crate::domain::Invalid;
use crate::domain::division::ProvinceCode;
use crate::domain::platform::PlatformId;
use crate::domain::supervision::{FindingKind, FindingState};
use crate::domain::text::parse_id;
use crate::error::{AppError, Violations};
use crate::pb;
use crate::service::supervision::{ListFindings, RankQuery, SummaryQuery};
use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

fn optional_province(raw: &str) -> Result<Option<ProvinceCode>, Invalid> {
    if raw.is_empty() {
        return Ok(None);
    }
    ProvinceCode::parse(raw).map(Some)
}

fn optional_platform(raw: &str) -> Result<Option<PlatformId>, Invalid> {
    if raw.is_empty() {
        return Ok(None);
    }
    PlatformId::parse(raw).map(Some)
}

fn kind(value: i32) -> Result<Option<FindingKind>, Invalid> {
    match pb::FindingKind::try_from(value) {
        Ok(pb::FindingKind::Unspecified) => Ok(None),
        Ok(pb::FindingKind::UncoveredOrders) => Ok(Some(FindingKind::UncoveredOrders)),
        Ok(pb::FindingKind::UndeclaredMonth) => Ok(Some(FindingKind::UndeclaredMonth)),
        Ok(pb::FindingKind::Arrears) => Ok(Some(FindingKind::Arrears)),
        Ok(pb::FindingKind::UncoveredClaims) => Ok(Some(FindingKind::UncoveredClaims)),
        Ok(pb::FindingKind::LateEnrolment) => Ok(Some(FindingKind::LateEnrolment)),
        Err(_) => Err(Invalid::new("is not a finding kind")),
    }
}

fn state(value: i32) -> Result<Option<FindingState>, Invalid> {
    match pb::FindingState::try_from(value) {
        Ok(pb::FindingState::Unspecified) => Ok(None),
        Ok(pb::FindingState::Open) => Ok(Some(FindingState::Open)),
        Ok(pb::FindingState::Resolved) => Ok(Some(FindingState::Resolved)),
        Err(_) => Err(Invalid::new("is not a finding state")),
    }
}

fn page_size(violations: &mut Violations, requested: i32) -> Option<i64> {
    violations.check(
        "page_size",
        paging::page_size(requested).map_err(|_| Invalid::new("must not be negative")),
    )
}

impl TryFrom<pb::ListFindingsRequest> for ListFindings {
    type Error = AppError;

    fn try_from(request: pb::ListFindingsRequest) -> Result<Self, AppError> {
        let pb::ListFindingsRequest {
            province_code,
            platform_id,
            kind: kind_value,
            state: state_value,
            period_from,
            period_to,
            page_size: size,
            page_token,
        } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", optional_province(&province_code));
        let platform = violations.check("platform_id", optional_platform(&platform_id));
        let kind = violations.check("kind", kind(kind_value));
        let state = violations.check("state", state(state_value));
        let from = violations.check(
            "period_from",
            optional_date_from_proto(period_from.as_ref()),
        );
        let to = violations.check("period_to", optional_date_from_proto(period_to.as_ref()));
        let page_size = page_size(&mut violations, size);
        let (
            Some(province),
            Some(platform),
            Some(kind),
            Some(state),
            Some(from),
            Some(to),
            Some(page_size),
        ) = (province, platform, kind, state, from, to, page_size)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(ListFindings {
            province,
            platform,
            kind,
            state,
            from,
            to,
            page_size,
            page_token,
        })
    }
}

pub fn finding_id(request: pb::GetFindingRequest) -> Result<Uuid, AppError> {
    let pb::GetFindingRequest { finding_id } = request;
    parse_id(&finding_id).map_err(|invalid| AppError::invalid("finding_id", invalid.0))
}

impl TryFrom<pb::GetComplianceSummaryRequest> for SummaryQuery {
    type Error = AppError;

    fn try_from(request: pb::GetComplianceSummaryRequest) -> Result<Self, AppError> {
        let pb::GetComplianceSummaryRequest {
            province_code,
            platform_id,
            period_from,
            period_to,
        } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let platform = violations.check("platform_id", optional_platform(&platform_id));
        let from = violations.check(
            "period_from",
            crate::api::convert::date_from_proto(period_from.as_ref()),
        );
        let to = violations.check(
            "period_to",
            crate::api::convert::date_from_proto(period_to.as_ref()),
        );
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            violations.add("period_to", "must be after period_from");
        }
        let (Some(province), Some(platform), Some(from), Some(to)) = (province, platform, from, to)
        else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(SummaryQuery {
            province,
            platform,
            from,
            to,
        })
    }
}

impl TryFrom<pb::RankPlatformsRequest> for RankQuery {
    type Error = AppError;

    fn try_from(request: pb::RankPlatformsRequest) -> Result<Self, AppError> {
        let pb::RankPlatformsRequest {
            month,
            province_code,
            page_size: size,
            page_token,
        } = request;
        let mut violations = Violations::new();
        let month = violations.check(
            "month",
            crate::api::convert::date_from_proto(month.as_ref()),
        );
        let province = violations.check("province_code", optional_province(&province_code));
        let page_size = page_size(&mut violations, size);
        let (Some(month), Some(province), Some(page_size)) = (month, province, page_size) else {
            return Err(violations.into_error());
        };
        violations.into_result()?;
        Ok(RankQuery {
            month: NaiveDate::from_ymd_opt(month.year(), month.month(), 1).unwrap_or(month),
            province,
            page_size,
            page_token,
        })
    }
}
