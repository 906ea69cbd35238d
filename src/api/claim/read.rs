//! GetClaim and ListClaims.
use super::view::{self, parse_claim_id};
use crate::api::convert::{instant_from_proto, non_empty};
use crate::api::{AppState, paging};
use crate::auth::Principal;
use crate::domain::claim::ClaimStatus;
use crate::domain::clock::china_date;
use crate::domain::division::ProvinceCode;
use crate::domain::platform::PlatformId;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::claims::{self as store, ListFilter};
use uuid::Uuid;

pub const GET_RPC: &str = "GetClaim";

/// The claim with its timeline; the read is logged in the same transaction.
pub async fn get(
    state: &AppState,
    principal: &Principal,
    request: pb::GetClaimRequest,
) -> AppResult<pb::Claim> {
    let claim_id = parse_claim_id(&request.claim_id)?;
    let mut tx = state.pool.begin().await?;
    let claim = store::get(&mut *tx, claim_id)
        .await?
        .filter(|claim| view::visible_to(principal, claim))
        .ok_or_else(|| view::not_found(claim_id))?;
    crate::api::record_province(&claim.province_code);
    let answer = view::full(state, &mut tx, principal, &claim, GET_RPC).await?;
    tx.commit().await?;
    Ok(answer)
}

pub async fn list(
    state: &AppState,
    principal: &Principal,
    request: pb::ListClaimsRequest,
) -> AppResult<pb::ListClaimsResponse> {
    let pb::ListClaimsRequest {
        province_code,
        status,
        platform_id,
        overdue_at,
        page_size,
        page_token,
    } = request;
    let page_size = paging::page_size(page_size)?;
    let mut violations = Violations::new();
    let province = non_empty(&province_code)
        .and_then(|code| violations.check("province_code", ProvinceCode::parse(code)));
    let platform = non_empty(&platform_id)
        .and_then(|id| violations.check("platform_id", PlatformId::parse(id)));
    let status = non_empty(&status).and_then(|raw| {
        let parsed = ClaimStatus::parse(raw);
        if parsed.is_none() {
            let known: Vec<&str> = ClaimStatus::ALL.iter().map(|s| s.as_str()).collect();
            violations.add("status", format!("must be one of {}", known.join(", ")));
        }
        parsed
    });
    let overdue_on = overdue_at
        .as_ref()
        .and_then(|at| violations.check("overdue_at", instant_from_proto(at)))
        .map(china_date);
    violations.into_result()?;
    let mut filter = ListFilter {
        province_code: province.map(|p| p.to_string()),
        platform_id: platform.map(|p| p.to_string()),
        status: status.map(|s| s.as_str().to_owned()),
        overdue_on,
    };
    crate::api::scope_listing(
        principal,
        &mut filter.province_code,
        &mut filter.platform_id,
        "claims",
    )?;
    let query = format!("claims|{}|{filter:?}", principal.caller_key());
    let before = paging::decode_token(&query, &page_token)?
        .map(|cursor| Uuid::parse_str(&cursor))
        .transpose()
        .map_err(|_| AppError::invalid("page_token", "is not a token from this listing"))?;
    let mut rows = store::list(&state.pool, &filter, before, page_size + 1).await?;
    let next_page_token = paging::next_token(&mut rows, page_size, |last| {
        paging::encode_token(&query, &last.claim_id.to_string())
    });
    Ok(pb::ListClaimsResponse {
        claims: rows.iter().map(view::summary).collect(),
        next_page_token,
    })
}
