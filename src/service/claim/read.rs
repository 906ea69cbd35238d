//! GetClaim and ListClaims.
use super::record::{ClaimAnswer, answer, authorize, not_found};
use super::{GetClaim, ListClaims};
use crate::api::paging;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action};
use crate::service::{AppState, record_province};
use crate::store::claims::{self as store, ClaimRow, ListFilter};
use uuid::Uuid;

/// A page of claim summaries (no description, timeline, benefits or duplicate flags).
#[derive(Debug, Clone)]
pub struct ClaimPage {
    pub claims: Vec<ClaimRow>,
    pub next_page_token: String,
}

/// The claim with its timeline; the read is logged in the same transaction.
pub async fn get_claim(
    state: &AppState,
    principal: &Principal,
    command: GetClaim,
) -> AppResult<ClaimAnswer> {
    let claim_id = command.claim_id;
    let mut tx = crate::service::begin(state).await?;
    let claim = store::get(&mut *tx, claim_id)
        .await?
        .ok_or_else(|| not_found(claim_id))?;
    authorize(principal, Action::ReadClaim, &claim)?;
    record_province(&claim.province_code);
    let answer = answer(state, &mut tx, principal, claim, "GetClaim").await?;
    tx.commit().await?;
    Ok(answer)
}

pub async fn list_claims(
    state: &AppState,
    principal: &Principal,
    command: ListClaims,
) -> AppResult<ClaimPage> {
    let narrowed = policy::narrow(
        &principal.role,
        Action::ListClaims,
        command.province,
        command.platform,
    )?;
    let filter = ListFilter {
        province_code: narrowed.province.map(|p| p.to_string()),
        platform_id: narrowed.platform.map(|p| p.to_string()),
        status: command.status,
        overdue_on: command.overdue_on,
    };
    // A token is bound to the caller and the filters it was issued for.
    let query = format!("claims|{}|{filter:?}", principal.caller_key());
    let before = paging::decode_token(&query, &command.page_token)?
        .map(|cursor| Uuid::parse_str(&cursor))
        .transpose()
        .map_err(|_| AppError::invalid("page_token", "is not a token from this listing"))?;
    let mut claims = store::list(&state.pool, &filter, before, command.page_size + 1).await?;
    let next_page_token = paging::next_token(&mut claims, command.page_size, |last| {
        paging::encode_token(&query, &last.claim_id.to_string())
    });
    Ok(ClaimPage {
        claims,
        next_page_token,
    })
}
