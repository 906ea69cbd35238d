//! Reading enrolments: one, its history, a filtered page, and a person's by ID number.
use super::{authorize, not_found};
use crate::api::paging;
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::enrolment::EnrolmentStatus;
use crate::domain::id_number::IdNumber;
use crate::domain::platform::PlatformId;
use crate::domain::text::parse_id;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action};
use crate::service::{AppState, person_access};
use crate::store::enrolments::{self, EnrolmentRow, ListFilter};
use crate::store::lifecycle::{self, HistoryRow};
use uuid::Uuid;

/// The enrolment if the caller may read it; NOT_FOUND otherwise, whether or not it exists.
pub async fn get(
    state: &AppState,
    principal: &Principal,
    enrolment_id: Uuid,
) -> AppResult<EnrolmentRow> {
    let row = enrolments::get(&state.pool, enrolment_id)
        .await?
        .ok_or_else(|| not_found(enrolment_id))?;
    authorize(principal, Action::ReadEnrolment, &row)?;
    Ok(row)
}

/// Every state an enrolment has been in, oldest first.
pub struct History {
    pub enrolment_id: Uuid,
    pub entries: Vec<HistoryRow>,
}

pub async fn history(
    state: &AppState,
    principal: &Principal,
    enrolment_id: Uuid,
) -> AppResult<History> {
    get(state, principal, enrolment_id).await?;
    Ok(History {
        enrolment_id,
        entries: lifecycle::history(&state.pool, enrolment_id).await?,
    })
}

/// ListEnrolments: filters (None: any) and a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEnrolments {
    pub page_size: i64,
    /// Opaque, from the previous page of the same listing; empty for the first page.
    pub page_token: String,
    pub province: Option<ProvinceCode>,
    pub platform: Option<PlatformId>,
    /// Exactly 6 digits.
    pub place_code: Option<String>,
    pub status: Option<EnrolmentStatus>,
}

pub struct Page {
    pub enrolments: Vec<EnrolmentRow>,
    pub next_page_token: String,
}

/// Enrolments newest first, narrowed by the policy to what the caller may see.
pub async fn list(
    state: &AppState,
    principal: &Principal,
    command: ListEnrolments,
) -> AppResult<Page> {
    let ListEnrolments {
        page_size,
        page_token,
        province,
        platform,
        place_code,
        status,
    } = command;
    let narrowed = policy::narrow(&principal.role, Action::ListEnrolments, province, platform)?;
    let filter = ListFilter {
        province: narrowed.province,
        platform: narrowed.platform,
        place_code,
        status,
    };
    let query = format!("enrolments|{}|{filter:?}", principal.caller_key());
    let before = paging::decode_token(&query, &page_token)?
        .map(|cursor| parse_id(&cursor))
        .transpose()
        .map_err(|_| AppError::invalid("page_token", "is not a token from this listing"))?;
    let mut rows = enrolments::list(&state.pool, &filter, before, page_size + 1).await?;
    let next_page_token = paging::next_token(&mut rows, page_size, |last| {
        paging::encode_token(&query, &last.enrolment_id.to_string())
    });
    Ok(Page {
        enrolments: rows,
        next_page_token,
    })
}

pub const FIND_RPC: &str = "FindEnrolmentsByIdNumber";

/// Where is this person covered? Narrowed by the policy to what the caller may see; every lookup
/// is logged before its answer is returned.
pub async fn find_by_id_number(
    state: &AppState,
    principal: &Principal,
    id_number: &IdNumber,
) -> AppResult<Vec<EnrolmentRow>> {
    let narrowed = policy::narrow(&principal.role, Action::FindPerson, None, None)?;
    let person_key = state.pii.person_key(id_number);
    let rows = enrolments::find_by_person(
        &state.pool,
        &person_key,
        narrowed.platform.as_ref(),
        narrowed.province.as_ref(),
    )
    .await?;
    state
        .access_log
        .record(
            &person_access(state, principal, &person_key, FIND_RPC),
            i32::try_from(rows.len()).unwrap_or(i32::MAX),
        )
        .await?;
    Ok(rows)
}
