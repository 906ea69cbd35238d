//! `flexcover.v1.EnrolmentService`: each RPC decodes its request into a command (`decode`), calls
//! `service::enrolment`, and encodes the answer (`encode`). Who may do what is decided there, by
//! the policy.
mod batch;
mod decode;
pub mod encode;
pub mod settings;

pub use encode::to_proto;

use super::AppState;
use crate::auth::principal;
use crate::pb;
use crate::pb::enrolment_service_server::EnrolmentService;
use crate::service::enrolment::{enrol, lifecycle, query};
use tonic::{Request, Response, Status, Streaming};
use uuid::Uuid;

pub struct EnrolmentApi {
    state: AppState,
}

impl EnrolmentApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl EnrolmentService for EnrolmentApi {
    async fn enrol_worker(
        &self,
        request: Request<pb::EnrolWorkerRequest>,
    ) -> Result<Response<pb::EnrolWorkerResponse>, Status> {
        let principal = principal(&request)?;
        let command = enrol::EnrolWorkerCommand::try_from(request.into_inner())?;
        let reply =
            enrol::enrol::<pb::EnrolWorkerResponse>(&self.state, &principal, command).await?;
        Ok(Response::new(reply))
    }

    async fn get_enrolment(
        &self,
        request: Request<pb::GetEnrolmentRequest>,
    ) -> Result<Response<pb::Enrolment>, Status> {
        let principal = principal(&request)?;
        let enrolment_id = Uuid::try_from(request.into_inner())?;
        let row = query::get(&self.state, &principal, enrolment_id).await?;
        Ok(Response::new(to_proto(&row)))
    }

    async fn list_enrolments(
        &self,
        request: Request<pb::ListEnrolmentsRequest>,
    ) -> Result<Response<pb::ListEnrolmentsResponse>, Status> {
        let principal = principal(&request)?;
        let command = query::ListEnrolments::try_from(request.into_inner())?;
        let page = query::list(&self.state, &principal, command).await?;
        Ok(Response::new((&page).into()))
    }

    type BatchEnrolWorkersStream = batch::ResultStream;

    async fn batch_enrol_workers(
        &self,
        request: Request<Streaming<pb::EnrolWorkerRequest>>,
    ) -> Result<Response<Self::BatchEnrolWorkersStream>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            batch::start(self.state.clone(), principal, request.into_inner()).await?,
        ))
    }

    async fn transfer_enrolment(
        &self,
        request: Request<pb::TransferEnrolmentRequest>,
    ) -> Result<Response<pb::TransferEnrolmentResponse>, Status> {
        let principal = principal(&request)?;
        let command = lifecycle::Transfer::try_from(request.into_inner())?;
        let reply =
            lifecycle::transfer::<pb::TransferEnrolmentResponse>(&self.state, &principal, command)
                .await?;
        Ok(Response::new(reply))
    }

    async fn suspend_enrolment(
        &self,
        request: Request<pb::SuspendEnrolmentRequest>,
    ) -> Result<Response<pb::Enrolment>, Status> {
        let principal = principal(&request)?;
        let command = lifecycle::ChangeStatus::try_from(request.into_inner())?;
        let reply =
            lifecycle::change_status::<pb::Enrolment>(&self.state, &principal, command).await?;
        Ok(Response::new(reply))
    }

    async fn resume_enrolment(
        &self,
        request: Request<pb::ResumeEnrolmentRequest>,
    ) -> Result<Response<pb::Enrolment>, Status> {
        let principal = principal(&request)?;
        let command = lifecycle::ChangeStatus::try_from(request.into_inner())?;
        let reply =
            lifecycle::change_status::<pb::Enrolment>(&self.state, &principal, command).await?;
        Ok(Response::new(reply))
    }

    async fn terminate_enrolment(
        &self,
        request: Request<pb::TerminateEnrolmentRequest>,
    ) -> Result<Response<pb::Enrolment>, Status> {
        let principal = principal(&request)?;
        let command = lifecycle::ChangeStatus::try_from(request.into_inner())?;
        let reply =
            lifecycle::change_status::<pb::Enrolment>(&self.state, &principal, command).await?;
        Ok(Response::new(reply))
    }

    async fn get_enrolment_history(
        &self,
        request: Request<pb::GetEnrolmentHistoryRequest>,
    ) -> Result<Response<pb::EnrolmentHistory>, Status> {
        let principal = principal(&request)?;
        let enrolment_id = Uuid::try_from(request.into_inner())?;
        let history = query::history(&self.state, &principal, enrolment_id).await?;
        Ok(Response::new((&history).into()))
    }

    async fn find_enrolments_by_id_number(
        &self,
        request: Request<pb::FindEnrolmentsByIdNumberRequest>,
    ) -> Result<Response<pb::FindEnrolmentsByIdNumberResponse>, Status> {
        let principal = principal(&request)?;
        let id_number = crate::domain::id_number::IdNumber::try_from(request.into_inner())?;
        let rows = query::find_by_id_number(&self.state, &principal, &id_number).await?;
        Ok(Response::new(encode::found(&rows)))
    }
}
