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
use crate::store::{access_log, enrolments, orders};

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
    let candidates = orders::covering_enrolments(
        &state.pool,
        person_key.as_deref(),
        enrolment_id,
        day,
        platform.as_ref().map(|p| p.as_str()),
        province.as_ref().map(|p| p.as_str()),
    )
    .await?;
    if let Some(person_key) = &person_key {
        access_log::record(
            &state.pool,
            &access_log::Access {
                at: state.clock.now(),
                actor: &principal.caller_key(),
                token_id: &principal.token_id,
                person_key,
                rpc: RPC,
                results: i32::try_from(candidates.len()).unwrap_or(i32::MAX),
            },
        )
        .await?;
    }
    // Prefer the enrolment the worker was on an order for at that instant.
    let mut chosen = None;
    for id in &candidates {
        if let Some(order) = orders::in_progress(&state.pool, *id, instant).await? {
            chosen = Some((*id, Some(order)));
            break;
        }
    }
    let Some((enrolment_id, order)) = chosen.or_else(|| candidates.first().map(|id| (*id, None)))
    else {
        return Ok(pb::CoverageAnswer {
            covered: false,
            enrolment: None,
            order: None,
            rate: None,
        });
    };
    let row = enrolments::get(&state.pool, enrolment_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("covering enrolment {enrolment_id} vanished"))?;
    let rate = match (
        ProvinceCode::parse(&row.province_code),
        PlatformId::parse(&row.platform_id),
    ) {
        (Ok(province), Ok(platform)) => {
            match rate_in_force(state, &province, &platform, &row.industry, day).await {
                Ok(rate) => Some(rate),
                Err(AppError::NotFound(_)) => None,
                Err(error) => return Err(error),
            }
        }
        _ => None,
    };
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
