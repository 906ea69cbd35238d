//! Reading enrolments: one, a filtered page, one's history, and a person's by ID number.
use super::{AppState, parse_enrolment_id, status_from_proto, to_proto, visible_to};
use crate::api::convert::{date_to_proto, non_empty, timestamp};
use crate::api::{paging, record_province};
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::id_number::IdNumber;
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::{access_log, enrolments, lifecycle};
use uuid::Uuid;

pub async fn get(
    state: &AppState,
    principal: &Principal,
    request: pb::GetEnrolmentRequest,
) -> AppResult<pb::Enrolment> {
    let pb::GetEnrolmentRequest { enrolment_id } = request;
    let id = parse_enrolment_id(&enrolment_id)?;
    let row = visible(state, principal, id).await?;
    Ok(to_proto(&row))
}

/// The enrolment if the caller may see it; NOT_FOUND otherwise, whether or not it exists.
async fn visible(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> AppResult<enrolments::EnrolmentRow> {
    let not_found = || AppError::NotFound(format!("no enrolment {id}"));
    let row = enrolments::get(&state.pool, id)
        .await?
        .ok_or_else(not_found)?;
    if !visible_to(principal, &row) {
        return Err(not_found());
    }
    record_province(&row.province_code);
    Ok(row)
}

pub async fn history(
    state: &AppState,
    principal: &Principal,
    request: pb::GetEnrolmentHistoryRequest,
) -> AppResult<pb::EnrolmentHistory> {
    let pb::GetEnrolmentHistoryRequest { enrolment_id } = request;
    let id = parse_enrolment_id(&enrolment_id)?;
    visible(state, principal, id).await?;
    let entries = lifecycle::history(&state.pool, id)
        .await?
        .into_iter()
        .map(|entry| pb::EnrolmentHistoryEntry {
            seq: entry.seq,
            status: super::status_to_proto(&entry.status) as i32,
            effective_date: Some(date_to_proto(entry.effective_date)),
            reason: super::lifecycle::reason_to_proto(&entry.reason) as i32,
            actor: entry.actor,
            recorded_at: Some(timestamp(entry.recorded_at)),
            related_enrolment_id: entry
                .related_enrolment_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        })
        .collect();
    Ok(pb::EnrolmentHistory {
        enrolment_id: id.to_string(),
        entries,
    })
}

pub async fn list(
    state: &AppState,
    principal: &Principal,
    request: pb::ListEnrolmentsRequest,
) -> AppResult<pb::ListEnrolmentsResponse> {
    let pb::ListEnrolmentsRequest {
        page_size,
        page_token,
        province_code,
        place_of_employment,
        status,
        platform_id,
    } = request;
    let page_size = paging::page_size(page_size)?;
    let mut violations = Violations::new();
    let province = non_empty(&province_code)
        .and_then(|code| violations.check("province_code", ProvinceCode::parse(code)));
    let place = non_empty(&place_of_employment).and_then(|code| {
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            violations.add(
                "place_of_employment",
                "must be a 6-digit GB/T 2260 division code",
            );
        }
        well_formed.then(|| code.to_owned())
    });
    let platform = non_empty(&platform_id)
        .and_then(|id| violations.check("platform_id", PlatformId::parse(id)));
    let status = violations
        .check("status", status_from_proto(status))
        .flatten();
    violations.into_result()?;

    let mut filter = enrolments::ListFilter {
        province_code: province.map(|p| p.to_string()),
        platform_id: platform.map(|p| p.to_string()),
        place_code: place,
        status: status.map(|s| s.as_str().to_owned()),
    };
    crate::api::scope_listing(
        principal,
        &mut filter.province_code,
        &mut filter.platform_id,
        "enrolments",
    )?;
    let query = format!("enrolments|{}|{filter:?}", principal.caller_key());
    let before = paging::decode_token(&query, &page_token)?
        .map(|cursor| Uuid::parse_str(&cursor))
        .transpose()
        .map_err(|_| AppError::invalid("page_token", "is not a token from this listing"))?;
    let mut rows = enrolments::list(&state.pool, &filter, before, page_size + 1).await?;
    let next_page_token = paging::next_token(&mut rows, page_size, |last| {
        paging::encode_token(&query, &last.enrolment_id.to_string())
    });
    Ok(pb::ListEnrolmentsResponse {
        enrolments: rows.iter().map(to_proto).collect(),
        next_page_token,
    })
}

pub const FIND_RPC: &str = "FindEnrolmentsByIdNumber";

/// Where is this person covered? Every lookup is logged before its answer is returned.
pub async fn find_by_id_number(
    state: &AppState,
    principal: &Principal,
    request: pb::FindEnrolmentsByIdNumberRequest,
) -> AppResult<pb::FindEnrolmentsByIdNumberResponse> {
    let pb::FindEnrolmentsByIdNumberRequest { id_number } = request;
    let id_number =
        IdNumber::parse(&id_number).map_err(|invalid| AppError::invalid("id_number", invalid.0))?;
    let person_key = state.pii.person_key(&id_number);
    let (platform, province) = match &principal.role {
        Role::NationalAdmin | Role::Auditor => (None, None),
        Role::ProvinceAgency(own) => (None, Some(own.as_str())),
        Role::Platform(own) => (Some(own.as_str()), None),
    };
    let rows = enrolments::find_by_person(&state.pool, &person_key, platform, province).await?;
    access_log::record(
        &state.pool,
        &crate::api::person_access(state, principal, &person_key, FIND_RPC),
        i32::try_from(rows.len()).unwrap_or(i32::MAX),
    )
    .await?;
    Ok(pb::FindEnrolmentsByIdNumberResponse {
        enrolments: rows.iter().map(to_proto).collect(),
    })
}
