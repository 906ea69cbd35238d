//! AdminService's registry (platforms, tokens and the pilot scope): decode, call
//! `service::registry`, encode.
mod decode;
mod encode;

pub use crate::service::registry::create_token;

use crate::api::AppState;
use crate::auth::Principal;
use crate::error::AppResult;
use crate::pb;
use crate::service::registry::{
    self as service, AddPilotScope, CreateToken, EndPilotScope, ListPilotScope, RegisterPlatform,
    RevokeToken,
};

pub async fn register_platform(
    state: &AppState,
    principal: &Principal,
    request: pb::RegisterPlatformRequest,
) -> AppResult<pb::Platform> {
    let command = RegisterPlatform::try_from(request)?;
    service::register_platform(state, principal, command).await
}

pub async fn list_platforms(
    state: &AppState,
    principal: &Principal,
    request: pb::ListPlatformsRequest,
) -> AppResult<pb::ListPlatformsResponse> {
    let page = decode::platform_page(request)?;
    let page = service::list_platforms(state, principal, page).await?;
    Ok(pb::ListPlatformsResponse::from(&page))
}

pub async fn create_token_call(
    state: &AppState,
    principal: &Principal,
    request: pb::CreateTokenRequest,
) -> AppResult<pb::CreateTokenResponse> {
    let command = CreateToken::try_from(request)?;
    service::create_token_call(state, principal, command).await
}

pub async fn revoke_token(
    state: &AppState,
    principal: &Principal,
    request: pb::RevokeTokenRequest,
) -> AppResult<pb::RevokeTokenResponse> {
    let command = RevokeToken::try_from(request)?;
    service::revoke_token(state, principal, command).await
}

pub async fn list_tokens(
    state: &AppState,
    principal: &Principal,
    request: pb::ListTokensRequest,
) -> AppResult<pb::ListTokensResponse> {
    let page = decode::token_page(request)?;
    let page = service::list_tokens(state, principal, page).await?;
    Ok(pb::ListTokensResponse::from(&page))
}

pub async fn add_pilot_scope(
    state: &AppState,
    principal: &Principal,
    request: pb::AddPilotScopeRequest,
) -> AppResult<pb::PilotScope> {
    let command = AddPilotScope::try_from(request)?;
    service::add_pilot_scope(state, principal, command).await
}

pub async fn end_pilot_scope(
    state: &AppState,
    principal: &Principal,
    request: pb::EndPilotScopeRequest,
) -> AppResult<pb::PilotScope> {
    let command = EndPilotScope::try_from(request)?;
    service::end_pilot_scope(state, principal, command).await
}

pub async fn list_pilot_scope(
    state: &AppState,
    principal: &Principal,
    request: pb::ListPilotScopeRequest,
) -> AppResult<pb::ListPilotScopeResponse> {
    let command = ListPilotScope::try_from(request)?;
    let scopes = service::list_pilot_scope(state, principal, command).await?;
    Ok(pb::ListPilotScopeResponse {
        scopes: scopes.iter().map(pb::PilotScope::from).collect(),
    })
}
