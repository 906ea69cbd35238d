//! `flexcover.v1.ClaimService`: occupational-injury claims from the report to benefits paid. Each
//! RPC decodes its request (`decode`), calls `service::claim`, and encodes the answer (`encode`).
mod decode;
mod decode_periodic;
mod encode;
mod reference;

pub use reference::{
    set_benefit_adjustment, set_claim_policy, set_national_income, set_private_sector_wage,
    set_public_holiday,
};

use crate::api::AppState;
use crate::auth::principal;
use crate::pb;
use crate::pb::claim_service_server::ClaimService;
use crate::service::claim::{self as service, GetClaim, ListBenefitsDue, ListClaims};
use tonic::{Request, Response, Status};

pub struct ClaimApi {
    state: AppState,
}

impl ClaimApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// A mutating RPC: the caller, the decoded command, the service's reply (a `pb::Claim`).
macro_rules! call {
    ($self:ident, $request:ident, $service:ident) => {{
        let principal = principal(&$request)?;
        let command = $request.into_inner().try_into()?;
        Ok(Response::new(
            service::$service::<pb::Claim>(&$self.state, &principal, command).await?,
        ))
    }};
}

#[tonic::async_trait]
impl ClaimService for ClaimApi {
    async fn report_incident(
        &self,
        request: Request<pb::ReportIncidentRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, report_incident)
    }

    async fn apply_for_confirmation(
        &self,
        request: Request<pb::ApplyForConfirmationRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, apply_for_confirmation)
    }

    async fn decide_confirmation(
        &self,
        request: Request<pb::DecideConfirmationRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, decide_confirmation)
    }

    async fn record_appraisal(
        &self,
        request: Request<pb::RecordAppraisalRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, record_appraisal)
    }

    async fn assess_benefits(
        &self,
        request: Request<pb::AssessBenefitsRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, assess_benefits)
    }

    async fn record_benefit_payment(
        &self,
        request: Request<pb::RecordBenefitPaymentRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, record_benefit_payment)
    }

    async fn record_relapse(
        &self,
        request: Request<pb::RecordRelapseRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, record_relapse)
    }

    async fn change_periodic_benefit(
        &self,
        request: Request<pb::ChangePeriodicBenefitRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, change_periodic_benefit)
    }

    async fn list_benefits_due(
        &self,
        request: Request<pb::ListBenefitsDueRequest>,
    ) -> Result<Response<pb::ListBenefitsDueResponse>, Status> {
        let principal = principal(&request)?;
        let command = ListBenefitsDue::try_from(request.into_inner())?;
        let page = service::list_benefits_due(&self.state, &principal, command).await?;
        Ok(Response::new(pb::ListBenefitsDueResponse::from(&page)))
    }

    async fn appeal_decision(
        &self,
        request: Request<pb::AppealDecisionRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, appeal_decision)
    }

    async fn withdraw_claim(
        &self,
        request: Request<pb::WithdrawClaimRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        call!(self, request, withdraw_claim)
    }

    async fn get_claim(
        &self,
        request: Request<pb::GetClaimRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        let principal = principal(&request)?;
        let command = GetClaim::try_from(request.into_inner())?;
        let answer = service::get_claim(&self.state, &principal, command).await?;
        Ok(Response::new(pb::Claim::from(&answer)))
    }

    async fn list_claims(
        &self,
        request: Request<pb::ListClaimsRequest>,
    ) -> Result<Response<pb::ListClaimsResponse>, Status> {
        let principal = principal(&request)?;
        let command = ListClaims::try_from(request.into_inner())?;
        let page = service::list_claims(&self.state, &principal, command).await?;
        Ok(Response::new(pb::ListClaimsResponse::from(&page)))
    }
}
