//! `flexcover.v1.ClaimService`: occupational-injury claims from the report to benefits paid.
mod policy;
mod read;
mod report;
mod steps;
mod view;

pub use policy::{set_claim_policy, set_national_income, set_public_holiday};

use super::AppState;
use crate::auth::principal;
use crate::pb;
use crate::pb::claim_service_server::ClaimService;
use tonic::{Request, Response, Status};

pub struct ClaimApi {
    state: AppState,
}

impl ClaimApi {
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
impl ClaimService for ClaimApi {
    async fn report_incident(
        &self,
        request: Request<pb::ReportIncidentRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        handle!(self, request, report::report)
    }

    async fn apply_for_confirmation(
        &self,
        request: Request<pb::ApplyForConfirmationRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        handle!(self, request, steps::apply)
    }

    async fn decide_confirmation(
        &self,
        request: Request<pb::DecideConfirmationRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        handle!(self, request, steps::decide)
    }

    async fn record_appraisal(
        &self,
        request: Request<pb::RecordAppraisalRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        handle!(self, request, steps::appraise)
    }

    async fn assess_benefits(
        &self,
        request: Request<pb::AssessBenefitsRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        handle!(self, request, steps::assess)
    }

    async fn record_benefit_payment(
        &self,
        request: Request<pb::RecordBenefitPaymentRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        handle!(self, request, steps::pay)
    }

    async fn appeal_decision(
        &self,
        request: Request<pb::AppealDecisionRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        handle!(self, request, steps::appeal)
    }

    async fn withdraw_claim(
        &self,
        request: Request<pb::WithdrawClaimRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        handle!(self, request, steps::withdraw)
    }

    async fn get_claim(
        &self,
        request: Request<pb::GetClaimRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        handle!(self, request, read::get)
    }

    async fn list_claims(
        &self,
        request: Request<pb::ListClaimsRequest>,
    ) -> Result<Response<pb::ListClaimsResponse>, Status> {
        handle!(self, request, read::list)
    }
}
