//! `flexcover.v1.EnrolmentService`.
mod batch;
mod enrol;
mod lifecycle;
mod query;
pub mod settings;

use super::AppState;
use super::convert::{self, date_to_proto, timestamp};
use crate::auth::{Principal, principal};
use crate::domain::enrolment::EnrolmentStatus;
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::pb;
use crate::pb::enrolment_service_server::EnrolmentService;
use crate::store::enrolments::EnrolmentRow;
use tonic::{Request, Response, Status, Streaming};

pub struct EnrolmentApi {
    state: AppState,
}

impl EnrolmentApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

pub fn status_to_proto(stored: &str) -> pb::EnrolmentStatus {
    match EnrolmentStatus::from_db(stored) {
        Ok(EnrolmentStatus::Active) => pb::EnrolmentStatus::Active,
        Ok(EnrolmentStatus::Suspended) => pb::EnrolmentStatus::Suspended,
        Ok(EnrolmentStatus::Terminated) => pb::EnrolmentStatus::Terminated,
        Ok(EnrolmentStatus::Transferred) => pb::EnrolmentStatus::Transferred,
        Err(_) => pb::EnrolmentStatus::Unspecified,
    }
}

pub fn status_from_proto(value: i32) -> Result<Option<EnrolmentStatus>, crate::domain::Invalid> {
    match pb::EnrolmentStatus::try_from(value) {
        Ok(pb::EnrolmentStatus::Unspecified) => Ok(None),
        Ok(pb::EnrolmentStatus::Active) => Ok(Some(EnrolmentStatus::Active)),
        Ok(pb::EnrolmentStatus::Suspended) => Ok(Some(EnrolmentStatus::Suspended)),
        Ok(pb::EnrolmentStatus::Terminated) => Ok(Some(EnrolmentStatus::Terminated)),
        Ok(pb::EnrolmentStatus::Transferred) => Ok(Some(EnrolmentStatus::Transferred)),
        Err(_) => Err(crate::domain::Invalid::new(format!(
            "unknown status {value}"
        ))),
    }
}

pub fn to_proto(row: &EnrolmentRow) -> pb::Enrolment {
    let id_or_empty = |id: Option<uuid::Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    pb::Enrolment {
        enrolment_id: row.enrolment_id.to_string(),
        platform_id: row.platform_id.clone(),
        province_code: row.province_code.clone(),
        place_of_employment: row.place_code.clone(),
        industry: convert::stored_industry_to_proto(&row.industry),
        status: status_to_proto(&row.status) as i32,
        cover_start_date: Some(date_to_proto(row.cover_start)),
        id_number_masked: row.id_masked.clone(),
        name_masked: row.name_masked.clone(),
        phone_masked: row.phone_masked.clone(),
        created_at: Some(timestamp(row.created_at)),
        cover_end_date: row.cover_end.map(date_to_proto),
        transferred_from: id_or_empty(row.transferred_from),
        transferred_to: id_or_empty(row.transferred_to),
    }
}

/// Whether the caller may see this enrolment. Others get NOT_FOUND, never a hint it exists.
fn visible_to(principal: &Principal, row: &EnrolmentRow) -> bool {
    match &principal.role {
        Role::NationalAdmin | Role::Auditor => true,
        Role::ProvinceAgency(province) => row.province_code == province.as_str(),
        Role::Platform(platform) => row.platform_id == platform.as_str(),
    }
}

/// Enrolment and lifecycle changes are the platform's own business.
fn require_platform(principal: &Principal) -> AppResult<&PlatformId> {
    match &principal.role {
        Role::Platform(platform) => Ok(platform),
        _ => Err(AppError::PermissionDenied(
            "only platforms enrol workers and change their enrolments (with a platform:<id> token)"
                .into(),
        )),
    }
}

fn parse_enrolment_id(raw: &str) -> AppResult<uuid::Uuid> {
    uuid::Uuid::parse_str(raw.trim())
        .map_err(|_| AppError::invalid("enrolment_id", "must be a UUID"))
}

type ResultStream = tokio_stream::wrappers::ReceiverStream<Result<pb::BatchEnrolResult, Status>>;

#[tonic::async_trait]
impl EnrolmentService for EnrolmentApi {
    async fn enrol_worker(
        &self,
        request: Request<pb::EnrolWorkerRequest>,
    ) -> Result<Response<pb::EnrolWorkerResponse>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            enrol::enrol_one(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn get_enrolment(
        &self,
        request: Request<pb::GetEnrolmentRequest>,
    ) -> Result<Response<pb::Enrolment>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            query::get(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn list_enrolments(
        &self,
        request: Request<pb::ListEnrolmentsRequest>,
    ) -> Result<Response<pb::ListEnrolmentsResponse>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            query::list(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    type BatchEnrolWorkersStream = ResultStream;

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
        Ok(Response::new(
            lifecycle::transfer(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn suspend_enrolment(
        &self,
        request: Request<pb::SuspendEnrolmentRequest>,
    ) -> Result<Response<pb::Enrolment>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            lifecycle::change_status(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn resume_enrolment(
        &self,
        request: Request<pb::ResumeEnrolmentRequest>,
    ) -> Result<Response<pb::Enrolment>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            lifecycle::change_status(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn terminate_enrolment(
        &self,
        request: Request<pb::TerminateEnrolmentRequest>,
    ) -> Result<Response<pb::Enrolment>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            lifecycle::change_status(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn get_enrolment_history(
        &self,
        request: Request<pb::GetEnrolmentHistoryRequest>,
    ) -> Result<Response<pb::EnrolmentHistory>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            query::history(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    async fn find_enrolments_by_id_number(
        &self,
        request: Request<pb::FindEnrolmentsByIdNumberRequest>,
    ) -> Result<Response<pb::FindEnrolmentsByIdNumberResponse>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            query::find_by_id_number(&self.state, &principal, request.into_inner()).await?,
        ))
    }
}
