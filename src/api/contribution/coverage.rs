//! CheckCoverage: was this worker covered at this instant, on which order, at what rate?
use crate::api::convert::{instant_from_proto, non_empty, timestamp};
use crate::api::rates::{rate_in_force, rate_version};
use crate::api::{AppState, enrolment};
use crate::auth::Principal;
use crate::domain::clock::china_date;
use crate::domain::division::ProvinceCode;
use crate::domain::id_number::IdNumber;
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::pb;
use crate::store::coverage;

pub const RPC: &str = "CheckCoverage";

pub async fn check(
    state: &AppState,
    principal: &Principal,
    request: pb::CheckCoverageRequest,
) -> AppResult<pb::CoverageAnswer> {
    let pb::CheckCoverageRequest {
        worker,
        platform_id,
        at,
    } = request;
    let asked_platform = non_empty(&platform_id)
        .map(PlatformId::parse)
        .transpose()
        .map_err(|invalid| AppError::invalid("platform_id", invalid.0))?;
    let instant = match at {
        Some(at) => {
            instant_from_proto(&at).map_err(|invalid| AppError::invalid("at", invalid.0))?
        }
        None => state.clock.now(),
    };
    let (person_key, enrolment_id) = match worker {
        Some(pb::check_coverage_request::Worker::IdNumber(id)) => {
            let id = IdNumber::parse(&id)
                .map_err(|invalid| AppError::invalid("id_number", invalid.0))?;
            (Some(state.pii.person_key(&id)), None)
        }
        Some(pb::check_coverage_request::Worker::EnrolmentId(id)) => {
            let id = uuid::Uuid::parse_str(id.trim())
                .map_err(|_| AppError::invalid("enrolment_id", "must be a UUID"))?;
            (None, Some(id))
        }
        None => {
            return Err(AppError::invalid(
                "worker",
                "required: id_number or enrolment_id",
            ));
        }
    };
    let (platform, province): (Option<PlatformId>, Option<ProvinceCode>) = match &principal.role {
        Role::Platform(own) => {
            if asked_platform.as_ref().is_some_and(|asked| asked != own) {
                return Err(AppError::PermissionDenied(
                    "a platform checks only its own workers".into(),
                ));
            }
            (Some(own.clone()), None)
        }
        Role::ProvinceAgency(own) => (asked_platform, Some(own.clone())),
        Role::NationalAdmin | Role::Auditor => (asked_platform, None),
    };
    let day = china_date(instant);
    let access = person_key
        .as_deref()
        .map(|person_key| crate::api::person_access(state, principal, person_key, RPC));
    let query = coverage::CoverageQuery {
        person_key: person_key.as_deref(),
        enrolment_id,
        at: instant,
        day,
        platform_id: platform.as_ref().map(|p| p.as_str()),
        province_code: province.as_ref().map(|p| p.as_str()),
    };
    let mut tx = state.pool.begin().await?;
    crate::store::reuse_plans(&mut tx).await?;
    let Some((row, order)) = coverage::coverage_at(&mut *tx, &query, access.as_ref()).await? else {
        tx.commit().await?;
        return Ok(pb::CoverageAnswer {
            covered: false,
            enrolment: None,
            order: None,
            rate: None,
        });
    };
    let rate = match (
        ProvinceCode::parse(&row.province_code),
        PlatformId::parse(&row.platform_id),
    ) {
        (Ok(province), Ok(platform)) => {
            match rate_in_force(&mut *tx, &province, &platform, row.industry.as_str(), day).await {
                Ok(rate) => Some(rate),
                Err(AppError::NotFound(_)) => None,
                Err(error) => return Err(error),
            }
        }
        _ => None,
    };
    tx.commit().await?;
    Ok(pb::CoverageAnswer {
        covered: true,
        enrolment: Some(enrolment::to_proto(&row)),
        order: order.map(|order| pb::CoveredOrder {
            order_id: order.order_id,
            accepted_at: Some(timestamp(order.accepted_at)),
            completed_at: order.completed_at.map(timestamp),
            rate_version: rate_version(order.base_rate_id, order.multiplier_id),
            premium_tenth_fen: order.premium_tenth_fen,
        }),
        rate,
    })
}
