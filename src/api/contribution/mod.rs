//! `flexcover.v1.ContributionService`: each RPC decodes its request (`decode`), calls the service
//! (`service::contribution`, `service::pension`, `service::rates`), and encodes the answer
//! (`encode`). Who may do what is decided there, by `crate::policy`.
pub(crate) mod decode;
mod encode;
mod orders;
pub mod wages;

use super::AppState;
use crate::auth::principal;
use crate::pb;
use crate::pb::contribution_service_server::ContributionService;
use crate::service::contribution::{coverage, declarations, payments};
use crate::service::{pension, rates};
use decode::AsOf;
use tonic::{Request, Response, Status, Streaming};

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
        let command = rates::GetRate::try_from(request.into_inner())?;
        let rate = rates::get_rate(&self.state, &principal, command).await?;
        Ok(Response::new(pb::RateInForce::from(&rate)))
    }

    type RecordOrdersStream = orders::ResultStream;

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
        let command = declarations::DeclareContributions::try_from(AsOf::new(
            request.into_inner(),
            self.state.clock.now(),
        ))?;
        Ok(Response::new(
            declarations::declare::<pb::Declaration>(&self.state, &principal, command).await?,
        ))
    }

    async fn get_declaration(
        &self,
        request: Request<pb::GetDeclarationRequest>,
    ) -> Result<Response<pb::Declaration>, Status> {
        let principal = principal(&request)?;
        let command = declarations::GetDeclaration::try_from(request.into_inner())?;
        let declaration = declarations::get(&self.state, &principal, command).await?;
        Ok(Response::new(pb::Declaration::from(&declaration)))
    }

    async fn get_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::Statement>, Status> {
        let principal = principal(&request)?;
        let command = payments::GetStatement::try_from(request.into_inner())?;
        let statement = payments::get_statement(&self.state, &principal, command).await?;
        Ok(Response::new(pb::Statement::from(&statement)))
    }

    async fn record_payment(
        &self,
        request: Request<pb::RecordPaymentRequest>,
    ) -> Result<Response<pb::Statement>, Status> {
        let principal = principal(&request)?;
        let command = payments::RecordPayment::try_from(AsOf::new(
            request.into_inner(),
            self.state.clock.now(),
        ))?;
        Ok(Response::new(
            payments::record_payment::<pb::Statement>(&self.state, &principal, command).await?,
        ))
    }

    async fn list_arrears(
        &self,
        request: Request<pb::ListArrearsRequest>,
    ) -> Result<Response<pb::ListArrearsResponse>, Status> {
        let principal = principal(&request)?;
        let command = payments::ListArrears::try_from(AsOf::new(
            request.into_inner(),
            self.state.clock.now(),
        ))?;
        let arrears = payments::list_arrears(&self.state, &principal, command).await?;
        Ok(Response::new(pb::ListArrearsResponse::from(&arrears)))
    }

    async fn enrol_pension(
        &self,
        request: Request<pb::EnrolPensionRequest>,
    ) -> Result<Response<pb::PensionEnrolment>, Status> {
        let principal = principal(&request)?;
        let command = pension::EnrolPension::try_from(request.into_inner())?;
        Ok(Response::new(
            pension::enrol::<pb::PensionEnrolment>(&self.state, &principal, command).await?,
        ))
    }

    async fn transfer_pension(
        &self,
        request: Request<pb::TransferPensionRequest>,
    ) -> Result<Response<pb::PensionEnrolment>, Status> {
        let principal = principal(&request)?;
        let command = pension::TransferPension::try_from(request.into_inner())?;
        Ok(Response::new(
            pension::transfer::<pb::PensionEnrolment>(&self.state, &principal, command).await?,
        ))
    }

    async fn declare_pension_contribution(
        &self,
        request: Request<pb::DeclarePensionContributionRequest>,
    ) -> Result<Response<pb::PensionContribution>, Status> {
        let principal = principal(&request)?;
        let command = pension::DeclarePensionContribution::try_from(AsOf::new(
            request.into_inner(),
            self.state.clock.now(),
        ))?;
        Ok(Response::new(
            pension::declare::<pb::PensionContribution>(&self.state, &principal, command).await?,
        ))
    }

    async fn get_pension_account(
        &self,
        request: Request<pb::GetPensionAccountRequest>,
    ) -> Result<Response<pb::PensionAccount>, Status> {
        let principal = principal(&request)?;
        let lookup = pension::PensionLookup::try_from(request.into_inner())?;
        let account = pension::account(&self.state, &principal, lookup).await?;
        Ok(Response::new(pb::PensionAccount::from(&account)))
    }

    async fn check_coverage(
        &self,
        request: Request<pb::CheckCoverageRequest>,
    ) -> Result<Response<pb::CoverageAnswer>, Status> {
        let principal = principal(&request)?;
        let command = coverage::CheckCoverage::try_from(request.into_inner())?;
        let answer = coverage::check(&self.state, &principal, command).await?;
        Ok(Response::new(pb::CoverageAnswer::from(&answer)))
    }
}
