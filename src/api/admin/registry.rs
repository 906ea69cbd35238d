//! AdminService's registry: platforms, tokens and the pilot scope.
use crate::api::convert::{
    self, date_from_proto, date_to_proto, non_empty, optional_date_from_proto, timestamp,
};
use crate::api::{AppState, Idempotent, paging, require_national_admin, require_national_reader};
use crate::auth::{self, Principal};
use crate::domain::credit_code::CreditCode;
use crate::domain::division::ProvinceCode;
use crate::domain::platform::{PlatformId, parse_platform_name};
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::{Tx, events, pilot_scope, platforms, tokens};
use chrono::{DateTime, Utc};
use prost::Message;
use uuid::Uuid;

fn platform_to_proto(row: &platforms::PlatformRow) -> pb::Platform {
    pb::Platform {
        platform_id: row.platform_id.clone(),
        name: row.name.clone(),
        credit_code: row.credit_code.clone().unwrap_or_default(),
        industries: row
            .industries
            .iter()
            .map(|i| convert::stored_industry_to_proto(i))
            .collect(),
        created_at: Some(timestamp(row.created_at)),
    }
}

fn token_to_proto(row: &tokens::TokenRow) -> pb::TokenInfo {
    pb::TokenInfo {
        token_id: row.token_id.clone(),
        role: row.role.clone(),
        label: row.label.clone(),
        created_at: Some(timestamp(row.created_at)),
        revoked_at: row.revoked_at.map(timestamp),
    }
}

fn scope_to_proto(row: &pilot_scope::ScopeRow) -> pb::PilotScope {
    pb::PilotScope {
        province_code: row.province_code.clone(),
        platform_id: row.platform_id.clone(),
        valid_from: Some(date_to_proto(row.valid_from)),
        valid_to: row.valid_to.map(date_to_proto),
    }
}

/// Appends the scope change to the province's event stream.
async fn scope_event(
    tx: &mut Tx,
    row: &pilot_scope::ScopeRow,
    actor: &Principal,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let event = pb::PilotScopeChangedV1 {
        province_code: row.province_code.clone(),
        platform_id: row.platform_id.clone(),
        valid_from: Some(date_to_proto(row.valid_from)),
        valid_to: row.valid_to.map(date_to_proto),
        occurred_at: Some(timestamp(now)),
        actor: actor.caller_key(),
    };
    events::append(
        tx,
        events::NewEvent {
            province_code: &row.province_code,
            event_type: "pilot_scope.changed.v1",
            aggregate_id: Uuid::now_v7(),
            payload: event.encode_to_vec(),
            occurred_at: now,
        },
    )
    .await?;
    Ok(())
}

/// Creates a token for `role` after checking that a platform role names a registered platform.
pub async fn create_token(
    db: &mut sqlx::PgConnection,
    role: &Role,
    label: &str,
    now: DateTime<Utc>,
) -> AppResult<auth::IssuedToken> {
    if let Role::Platform(platform_id) = role
        && platforms::get(&mut *db, platform_id.as_str())
            .await?
            .is_none()
    {
        return Err(AppError::FailedPrecondition(format!(
            "no platform {platform_id}; register it (or run `flexcover admin seed-pilot`) first"
        )));
    }
    let issued = auth::issue(role, label, now);
    tokens::insert(&mut *db, &issued.row).await?;
    Ok(issued)
}

pub async fn register_platform(
    state: &AppState,
    principal: &Principal,
    request: pb::RegisterPlatformRequest,
) -> AppResult<pb::Platform> {
    require_national_admin(principal)?;
    let idempotent = Idempotent::new(principal, "RegisterPlatform", &request.request_id, &request)?;
    let pb::RegisterPlatformRequest {
        request_id: _,
        platform_id,
        name,
        credit_code,
        industries,
    } = &request;
    let mut violations = Violations::new();
    let platform_id = violations.check("platform_id", PlatformId::parse(platform_id));
    let name = violations.check("name", parse_platform_name(name));
    let credit_code = violations.check("credit_code", CreditCode::parse(credit_code));
    let mut parsed_industries = Vec::new();
    for (index, industry) in industries.iter().enumerate() {
        if let Some(industry) = violations.check(
            &format!("industries[{index}]"),
            convert::industry_from_proto(*industry),
        ) {
            parsed_industries.push(industry);
        }
    }
    if industries.is_empty() {
        violations.add("industries", "at least one industry is required");
    }
    violations.into_result()?;
    let (Some(platform_id), Some(name), Some(credit_code)) = (platform_id, name, credit_code)
    else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "platform decode lost its violations"
        )));
    };
    parsed_industries.sort();
    parsed_industries.dedup();
    let mut tx = match idempotent.begin::<pb::Platform>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = platforms::register(
        &mut tx,
        &platforms::PlatformRow {
            platform_id: platform_id.to_string(),
            name,
            credit_code: Some(credit_code.as_str().to_owned()),
            industries: parsed_industries
                .iter()
                .map(|i| i.as_str().to_owned())
                .collect(),
            created_at: state.clock.now(),
        },
    )
    .await?;
    let response = platform_to_proto(&row);
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

pub async fn list_platforms(
    state: &AppState,
    principal: &Principal,
    request: pb::ListPlatformsRequest,
) -> AppResult<pb::ListPlatformsResponse> {
    require_national_reader(principal)?;
    let pb::ListPlatformsRequest {
        page_size,
        page_token,
    } = request;
    let page_size = paging::page_size(page_size)?;
    let after = paging::decode_token("platforms", &page_token)?.unwrap_or_default();
    let mut rows = platforms::list(&state.pool, &after, page_size + 1).await?;
    let next_page_token = paging::next_token(&mut rows, page_size, |row| {
        paging::encode_token("platforms", &row.platform_id)
    });
    Ok(pb::ListPlatformsResponse {
        platforms: rows.iter().map(platform_to_proto).collect(),
        next_page_token,
    })
}

pub async fn create_token_call(
    state: &AppState,
    principal: &Principal,
    request: pb::CreateTokenRequest,
) -> AppResult<pb::CreateTokenResponse> {
    require_national_admin(principal)?;
    let idempotent = Idempotent::new(principal, "CreateToken", &request.request_id, &request)?;
    let pb::CreateTokenRequest {
        request_id: _,
        role,
        label,
    } = &request;
    let mut violations = Violations::new();
    let role = violations.check("role", Role::parse(role));
    if label.chars().count() > 200 {
        violations.add("label", "must be at most 200 characters");
    }
    violations.into_result()?;
    let Some(role) = role else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "token decode lost its violations"
        )));
    };
    let mut tx = match idempotent.begin::<pb::CreateTokenResponse>(state).await? {
        Ok(tx) => tx,
        // The secret is never stored, so a replay cannot show it again.
        Err(replayed) => {
            return Err(AppError::AlreadyExists(format!(
                "token {} was already created for this request_id; its secret is shown only once",
                replayed.token_id
            )));
        }
    };
    let issued = create_token(&mut tx, &role, label.trim(), state.clock.now()).await?;
    let stored = pb::CreateTokenResponse {
        token_id: issued.row.token_id.clone(),
        token: String::new(),
        role: issued.row.role.clone(),
    };
    idempotent.commit(state, tx, &stored).await?;
    Ok(pb::CreateTokenResponse {
        token: issued.token,
        ..stored
    })
}

pub async fn revoke_token(
    state: &AppState,
    principal: &Principal,
    request: pb::RevokeTokenRequest,
) -> AppResult<pb::RevokeTokenResponse> {
    require_national_admin(principal)?;
    // Revocation is idempotent by nature: a repeat keeps the first revocation time.
    Idempotent::new(principal, "RevokeToken", &request.request_id, &request)?;
    let token_id = request.token_id.trim();
    if token_id.is_empty() {
        return Err(AppError::invalid("token_id", "required"));
    }
    let row = tokens::revoke(&state.pool, token_id, state.clock.now())
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no token {token_id}")))?;
    tracing::info!(token_id, "token revoked");
    Ok(pb::RevokeTokenResponse {
        token: Some(token_to_proto(&row)),
    })
}

pub async fn list_tokens(
    state: &AppState,
    principal: &Principal,
    request: pb::ListTokensRequest,
) -> AppResult<pb::ListTokensResponse> {
    require_national_reader(principal)?;
    let pb::ListTokensRequest {
        page_size,
        page_token,
    } = request;
    let page_size = paging::page_size(page_size)?;
    let before = paging::decode_token("tokens", &page_token)?;
    let mut rows = tokens::list(&state.pool, before.as_deref(), page_size + 1).await?;
    let next_page_token = paging::next_token(&mut rows, page_size, |row| {
        paging::encode_token("tokens", &row.token_id)
    });
    Ok(pb::ListTokensResponse {
        tokens: rows.iter().map(token_to_proto).collect(),
        next_page_token,
    })
}

pub async fn add_pilot_scope(
    state: &AppState,
    principal: &Principal,
    request: pb::AddPilotScopeRequest,
) -> AppResult<pb::PilotScope> {
    require_national_admin(principal)?;
    let idempotent = Idempotent::new(principal, "AddPilotScope", &request.request_id, &request)?;
    let pb::AddPilotScopeRequest {
        request_id: _,
        province_code,
        platform_id,
        valid_from,
        valid_to,
    } = &request;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(province_code));
    let platform = violations.check("platform_id", PlatformId::parse(platform_id));
    let from = violations.check("valid_from", date_from_proto(valid_from.as_ref()));
    let to = violations
        .check("valid_to", optional_date_from_proto(valid_to.as_ref()))
        .flatten();
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        violations.add(
            "valid_to",
            "must be after valid_from (the period is [valid_from, valid_to))",
        );
    }
    violations.into_result()?;
    let (Some(province), Some(platform), Some(from)) = (province, platform, from) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "scope decode lost its violations"
        )));
    };
    let mut tx = match idempotent.begin::<pb::PilotScope>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = pilot_scope::add(
        &mut tx,
        &pilot_scope::ScopeRow {
            province_code: province.to_string(),
            platform_id: platform.to_string(),
            valid_from: from,
            valid_to: to,
        },
    )
    .await?;
    scope_event(&mut tx, &row, principal, state.clock.now()).await?;
    let response = scope_to_proto(&row);
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

pub async fn end_pilot_scope(
    state: &AppState,
    principal: &Principal,
    request: pb::EndPilotScopeRequest,
) -> AppResult<pb::PilotScope> {
    require_national_admin(principal)?;
    let idempotent = Idempotent::new(principal, "EndPilotScope", &request.request_id, &request)?;
    let pb::EndPilotScopeRequest {
        request_id: _,
        province_code,
        platform_id,
        end_date,
    } = &request;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(province_code));
    let platform = violations.check("platform_id", PlatformId::parse(platform_id));
    let end = violations.check("end_date", date_from_proto(end_date.as_ref()));
    violations.into_result()?;
    let (Some(province), Some(platform), Some(end)) = (province, platform, end) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "scope decode lost its violations"
        )));
    };
    let mut tx = match idempotent.begin::<pb::PilotScope>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = pilot_scope::end(&mut tx, province.as_str(), platform.as_str(), end).await?;
    scope_event(&mut tx, &row, principal, state.clock.now()).await?;
    let response = scope_to_proto(&row);
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

pub async fn list_pilot_scope(
    state: &AppState,
    principal: &Principal,
    request: pb::ListPilotScopeRequest,
) -> AppResult<pb::ListPilotScopeResponse> {
    let pb::ListPilotScopeRequest {
        province_code,
        platform_id,
        on_date,
    } = request;
    let mut violations = Violations::new();
    let mut province = non_empty(&province_code)
        .and_then(|code| violations.check("province_code", ProvinceCode::parse(code)))
        .map(|p| p.to_string());
    let mut platform = non_empty(&platform_id)
        .and_then(|id| violations.check("platform_id", PlatformId::parse(id)))
        .map(|p| p.to_string());
    let on_date = violations
        .check("on_date", optional_date_from_proto(on_date.as_ref()))
        .flatten();
    violations.into_result()?;
    // Everyone may read the scope that concerns them.
    match &principal.role {
        Role::NationalAdmin | Role::Auditor => {}
        Role::ProvinceAgency(own) => province = Some(own.to_string()),
        Role::Platform(own) => platform = Some(own.to_string()),
    }
    let rows = pilot_scope::list(
        &state.pool,
        province.as_deref(),
        platform.as_deref(),
        on_date,
    )
    .await?;
    Ok(pb::ListPilotScopeResponse {
        scopes: rows.iter().map(scope_to_proto).collect(),
    })
}
