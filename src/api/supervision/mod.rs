//! `flexcover.v1.SupervisionService`: each RPC decodes its request (`decode`), calls
//! `service::supervision` (which asks `crate::policy`), and encodes the answer (`encode`).
mod decode;
mod encode;

use super::AppState;
use crate::auth::principal;
use crate::pb;
use crate::pb::supervision_service_server::SupervisionService;
use crate::service::supervision::{self as service, ListFindings, RankQuery, SummaryQuery};
use tonic::{Request, Response, Status};

pub struct SupervisionApi {
    state: AppState,
}

impl SupervisionApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl SupervisionService for SupervisionApi {
    async fn list_findings(
        &self,
        request: Request<pb::ListFindingsRequest>,
    ) -> Result<Response<pb::ListFindingsResponse>, Status> {
        let principal = principal(&request)?;
        let command = ListFindings::try_from(request.into_inner())?;
        let page = service::list(&self.state, &principal, command).await?;
        Ok(Response::new(pb::ListFindingsResponse::from(&page)))
    }

    async fn get_finding(
        &self,
        request: Request<pb::GetFindingRequest>,
    ) -> Result<Response<pb::Finding>, Status> {
        let principal = principal(&request)?;
        let finding_id = decode::finding_id(request.into_inner())?;
        let view = service::get(&self.state, &principal, finding_id).await?;
        Ok(Response::new(pb::Finding::from(&view)))
    }

    async fn get_compliance_summary(
        &self,
        request: Request<pb::GetComplianceSummaryRequest>,
    ) -> Result<Response<pb::ComplianceSummary>, Status> {
        let principal = principal(&request)?;
        let query = SummaryQuery::try_from(request.into_inner())?;
        let summary = service::summary(&self.state, &principal, query).await?;
        Ok(Response::new(pb::ComplianceSummary::from(&summary)))
    }

    async fn rank_platforms(
        &self,
        request: Request<pb::RankPlatformsRequest>,
    ) -> Result<Response<pb::RankPlatformsResponse>, Status> {
        let principal = principal(&request)?;
        let query = RankQuery::try_from(request.into_inner())?;
        let ranking = service::rank(&self.state, &principal, query).await?;
        Ok(Response::new(pb::RankPlatformsResponse::from(&ranking)))
    }
}
