//! `flexcover.v1.ContributionService`: rates, order ingest, coverage.
mod coverage;
mod declarations;
mod orders;
mod payments;
mod pension;
pub mod wages;

use super::AppState;
use crate::auth::principal;
use crate::pb;
use crate::pb::contribution_service_server::ContributionService;
use tonic::{Request, Response, Status, Streaming};

/// The platform whose records a caller reads in `province`: a platform its own, the province's
/// agency and national readers the one they name. Anything else is NOT_FOUND, revealing nothing.
fn platform_read_by(
    principal: &crate::auth::Principal,
    province: &crate::domain::division::ProvinceCode,
    asked: Option<crate::domain::platform::PlatformId>,
    what: &str,
) -> crate::error::AppResult<crate::domain::platform::PlatformId> {
    use crate::domain::role::Role;
    use crate::error::AppError;
    match (&principal.role, asked) {
        (Role::Platform(own), None) => Ok(own.clone()),
        (Role::Platform(own), Some(asked)) if asked == *own => Ok(asked),
        (Role::ProvinceAgency(own), Some(asked)) if own == province => Ok(asked),
        (Role::NationalAdmin | Role::Auditor, Some(asked)) => Ok(asked),
        (_, None) => Err(AppError::invalid("platform_id", "required")),
        _ => Err(AppError::NotFound(format!("no such {what}"))),
    }
}

pub struct ContributionApi {
    state: AppState,
}

impl ContributionApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl ContributionService for ContributionApi {
    async fn get_rate(
        &self,
        request: Request<pb::GetRateRequest>,
    ) -> Result<Response<pb::RateInForce>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            super::rates::get_rate(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    type RecordOrdersStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::RecordOrdersResult, Status>>;

    async fn record_orders(
        &self,
        request: Request<Streaming<pb::OrderRecord>>,
    ) -> Result<Response<Self::RecordOrdersStream>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            orders::start(self.state.clone(), principal, request.into_inner()).await?,
        ))
    }

    async fn declare_contributions(
        &self,
        request: Request<pb::DeclareContributionsRequest>,
    ) -> Result<Response<pb::Declaration>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            declarations::declare(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn get_declaration(
        &self,
        request: Request<pb::GetDeclarationRequest>,
    ) -> Result<Response<pb::Declaration>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            declarations::get(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn get_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::Statement>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            payments::get_statement(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn record_payment(
        &self,
        request: Request<pb::RecordPaymentRequest>,
    ) -> Result<Response<pb::Statement>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            payments::record_payment(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn list_arrears(
        &self,
        request: Request<pb::ListArrearsRequest>,
    ) -> Result<Response<pb::ListArrearsResponse>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            payments::list_arrears(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn enrol_pension(
        &self,
        request: Request<pb::EnrolPensionRequest>,
    ) -> Result<Response<pb::PensionEnrolment>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            pension::enrol(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn transfer_pension(
        &self,
        request: Request<pb::TransferPensionRequest>,
    ) -> Result<Response<pb::PensionEnrolment>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            pension::transfer(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn declare_pension_contribution(
        &self,
        request: Request<pb::DeclarePensionContributionRequest>,
    ) -> Result<Response<pb::PensionContribution>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            pension::declare(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn get_pension_account(
        &self,
        request: Request<pb::GetPensionAccountRequest>,
    ) -> Result<Response<pb::PensionAccount>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            pension::account(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn check_coverage(
        &self,
        request: Request<pb::CheckCoverageRequest>,
    ) -> Result<Response<pb::CoverageAnswer>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            coverage::check(&self.state, &principal, request.into_inner()).await?,
        ))
    }
}
