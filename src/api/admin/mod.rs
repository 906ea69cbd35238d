//! `flexcover.v1.AdminService`. Each RPC is handled where its data lives: the registry of
//! platforms, tokens and the pilot scope here; rates in `api::rates`; enrolment windows in
//! `api::enrolment::settings`; average wages in `api::contribution::wages`; claim reference data
//! in `api::claim`.
mod registry;

pub use registry::create_token;

use crate::api::AppState;
use crate::auth::principal;
use crate::pb;
use crate::pb::admin_service_server::AdminService;
use tonic::{Request, Response, Status};

pub struct AdminApi {
    state: AppState,
}

impl AdminApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// Each RPC: the caller, then the handler; errors become statuses.
macro_rules! handle {
    ($self:ident, $request:ident, $handler:path) => {{
        let principal = principal(&$request)?;
        Ok(Response::new(
            $handler(&$self.state, &principal, $request.into_inner()).await?,
        ))
    }};
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn register_platform(
        &self,
        request: Request<pb::RegisterPlatformRequest>,
    ) -> Result<Response<pb::Platform>, Status> {
        handle!(self, request, registry::register_platform)
    }

    async fn list_platforms(
        &self,
        request: Request<pb::ListPlatformsRequest>,
    ) -> Result<Response<pb::ListPlatformsResponse>, Status> {
        handle!(self, request, registry::list_platforms)
    }

    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        handle!(self, request, registry::create_token_call)
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::RevokeTokenResponse>, Status> {
        handle!(self, request, registry::revoke_token)
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        handle!(self, request, registry::list_tokens)
    }

    async fn add_pilot_scope(
        &self,
        request: Request<pb::AddPilotScopeRequest>,
    ) -> Result<Response<pb::PilotScope>, Status> {
        handle!(self, request, registry::add_pilot_scope)
    }

    async fn end_pilot_scope(
        &self,
        request: Request<pb::EndPilotScopeRequest>,
    ) -> Result<Response<pb::PilotScope>, Status> {
        handle!(self, request, registry::end_pilot_scope)
    }

    async fn list_pilot_scope(
        &self,
        request: Request<pb::ListPilotScopeRequest>,
    ) -> Result<Response<pb::ListPilotScopeResponse>, Status> {
        handle!(self, request, registry::list_pilot_scope)
    }

    async fn set_backdating_window(
        &self,
        request: Request<pb::SetBackdatingWindowRequest>,
    ) -> Result<Response<pb::BackdatingWindow>, Status> {
        handle!(
            self,
            request,
            crate::api::enrolment::settings::set_backdating_window
        )
    }

    async fn set_base_rate(
        &self,
        request: Request<pb::SetBaseRateRequest>,
    ) -> Result<Response<pb::BaseRate>, Status> {
        handle!(self, request, crate::api::rates::set_base_rate)
    }

    async fn set_rate_multiplier(
        &self,
        request: Request<pb::SetRateMultiplierRequest>,
    ) -> Result<Response<pb::RateMultiplier>, Status> {
        handle!(self, request, crate::api::rates::set_rate_multiplier)
    }

    async fn set_platform_rate_class(
        &self,
        request: Request<pb::SetPlatformRateClassRequest>,
    ) -> Result<Response<pb::PlatformRateClass>, Status> {
        handle!(self, request, crate::api::rates::set_platform_rate_class)
    }

    async fn set_average_wage(
        &self,
        request: Request<pb::SetAverageWageRequest>,
    ) -> Result<Response<pb::AverageWage>, Status> {
        handle!(
            self,
            request,
            crate::api::contribution::wages::set_average_wage
        )
    }

    async fn set_public_holiday(
        &self,
        request: Request<pb::SetPublicHolidayRequest>,
    ) -> Result<Response<pb::PublicHoliday>, Status> {
        handle!(self, request, crate::api::claim::set_public_holiday)
    }

    async fn set_national_income(
        &self,
        request: Request<pb::SetNationalIncomeRequest>,
    ) -> Result<Response<pb::NationalIncome>, Status> {
        handle!(self, request, crate::api::claim::set_national_income)
    }

    async fn set_claim_policy(
        &self,
        request: Request<pb::SetClaimPolicyRequest>,
    ) -> Result<Response<pb::ClaimPolicy>, Status> {
        handle!(self, request, crate::api::claim::set_claim_policy)
    }

    async fn set_private_sector_wage(
        &self,
        request: Request<pb::SetPrivateSectorWageRequest>,
    ) -> Result<Response<pb::PrivateSectorWage>, Status> {
        handle!(self, request, crate::api::claim::set_private_sector_wage)
    }

    async fn set_benefit_adjustment(
        &self,
        request: Request<pb::SetBenefitAdjustmentRequest>,
    ) -> Result<Response<pb::BenefitAdjustment>, Status> {
        handle!(self, request, crate::api::claim::set_benefit_adjustment)
    }
}
