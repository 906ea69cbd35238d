//! `flexcover.v1.EnrolmentService`.
use super::convert::{self, date_from_proto, date_to_proto, non_empty, timestamp};
use super::{AppState, Idempotent, paging, record_province};
use crate::auth::{Principal, principal};
use crate::domain::division::{PlaceOfEmployment, ProvinceCode};
use crate::domain::enrolment::{EnrolWorker, EnrolmentStatus, check_minimum_age};
use crate::domain::id_number::IdNumber;
use crate::domain::industry::Industry;
use crate::domain::person::{PersonName, Phone};
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::pb::enrolment_service_server::EnrolmentService;
use crate::store::{self, enrolments, events, persons};
use prost::Message;
use tonic::{Request, Response, Status};
use uuid::Uuid;

pub struct EnrolmentApi {
    state: AppState,
}

impl EnrolmentApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// Decodes and validates every field of the request, reporting all violations at once.
fn decode_enrol(request: &pb::EnrolWorkerRequest) -> AppResult<EnrolWorker> {
    let pb::EnrolWorkerRequest {
        request_id: _,
        worker,
        place_of_employment,
        industry,
        cover_start_date,
    } = request;
    let mut violations = Violations::new();
    let (id_number, name, phone) = match worker {
        Some(pb::Worker {
            id_number,
            name,
            phone,
        }) => (
            violations.check("worker.id_number", IdNumber::parse(id_number)),
            violations.check("worker.name", PersonName::parse(name)),
            violations.check("worker.phone", Phone::parse(phone)),
        ),
        None => {
            violations.add("worker", "required");
            (None, None, None)
        }
    };
    let place = violations.check(
        "place_of_employment",
        PlaceOfEmployment::parse(place_of_employment),
    );
    let industry = violations.check("industry", convert::industry_from_proto(*industry));
    let cover_start = violations.check(
        "cover_start_date",
        date_from_proto(cover_start_date.as_ref()),
    );
    if let (Some(id_number), Some(cover_start)) = (&id_number, cover_start) {
        violations.check(
            "worker.id_number",
            check_minimum_age(id_number, cover_start),
        );
    }
    match (id_number, name, phone, place, industry, cover_start) {
        (
            Some(id_number),
            Some(name),
            Some(phone),
            Some(place),
            Some(industry),
            Some(cover_start),
        ) if violations.is_empty() => Ok(EnrolWorker {
            id_number,
            name,
            phone,
            place,
            industry,
            cover_start,
        }),
        _ => Err(violations.into_result().err().unwrap_or_else(|| {
            AppError::Internal(anyhow::anyhow!("enrolment decode lost its violations"))
        })),
    }
}

fn to_proto(row: &enrolments::EnrolmentRow) -> pb::Enrolment {
    let status = match EnrolmentStatus::from_db(&row.status) {
        Ok(EnrolmentStatus::Active) => pb::EnrolmentStatus::Active,
        Err(_) => pb::EnrolmentStatus::Unspecified,
    };
    pb::Enrolment {
        enrolment_id: row.enrolment_id.to_string(),
        platform_id: row.platform_id.clone(),
        province_code: row.province_code.clone(),
        place_of_employment: row.place_code.clone(),
        industry: convert::stored_industry_to_proto(&row.industry),
        status: status as i32,
        cover_start_date: Some(date_to_proto(row.cover_start)),
        id_number_masked: row.id_masked.clone(),
        name_masked: row.name_masked.clone(),
        phone_masked: row.phone_masked.clone(),
        created_at: Some(timestamp(row.created_at)),
    }
}

/// Whether the caller may see this enrolment. Others get NOT_FOUND, never a hint it exists.
fn visible_to(principal: &Principal, row: &enrolments::EnrolmentRow) -> bool {
    match &principal.role {
        Role::NationalAdmin | Role::Auditor => true,
        Role::ProvinceAgency(province) => row.province_code == province.as_str(),
        Role::Platform(platform) => row.platform_id == platform.as_str(),
    }
}

impl EnrolmentApi {
    async fn enrol(
        &self,
        principal: Principal,
        request: pb::EnrolWorkerRequest,
    ) -> AppResult<pb::EnrolWorkerResponse> {
        let Role::Platform(platform_id) = &principal.role else {
            return Err(AppError::PermissionDenied(
                "only platforms enrol workers (with a platform:<id> token)".into(),
            ));
        };
        let idempotent = Idempotent::new(&principal, "EnrolWorker", &request.request_id, &request)?;
        let command = decode_enrol(&request)?;
        let province = command.place.province();
        record_province(province.as_str());
        let state = &self.state;
        let mut tx = match idempotent.begin::<pb::EnrolWorkerResponse>(state).await? {
            Ok(tx) => tx,
            Err(replayed) => return Ok(replayed),
        };
        check_platform_may_enrol(&mut tx, platform_id, &province, &command).await?;

        let now = state.clock.now();
        let person_key = state.pii.person_key(&command.id_number);
        let id_sealed = state.pii.seal(command.id_number.as_str(), &person_key)?;
        let id_masked = command.id_number.masked();
        persons::ensure(
            &mut tx,
            persons::NewPerson {
                person_key: &person_key,
                id_number: &id_sealed,
                id_masked: &id_masked,
                birth_date: command.id_number.birth_date(),
                created_at: now,
            },
        )
        .await?;

        let enrolment_id = Uuid::now_v7();
        let row_context = enrolment_id.as_bytes();
        let name_masked = command.name.masked();
        let phone_masked = command.phone.masked();
        let new = enrolments::NewEnrolment {
            province_code: province.as_str(),
            enrolment_id,
            platform_id: platform_id.as_str(),
            person_key: &person_key,
            place_code: command.place.as_str(),
            industry: command.industry.as_str(),
            status: EnrolmentStatus::Active.as_str(),
            cover_start: command.cover_start,
            name: &state.pii.seal(command.name.as_str(), row_context)?,
            name_masked: &name_masked,
            phone: &state.pii.seal(command.phone.as_str(), row_context)?,
            phone_masked: &phone_masked,
            created_at: now,
            created_by: &principal.caller_key(),
        };
        if let enrolments::Inserted::AlreadyOpen(existing) =
            enrolments::insert(&mut tx, &new).await?
        {
            return Err(AppError::AlreadyExists(format!(
                "this worker already has an active enrolment with platform {platform_id}: {existing}"
            )));
        }
        let event = pb::EnrolmentOpenedV1 {
            enrolment_id: enrolment_id.to_string(),
            platform_id: platform_id.to_string(),
            province_code: province.to_string(),
            place_of_employment: command.place.as_str().to_owned(),
            industry: convert::industry_to_proto(command.industry) as i32,
            cover_start_date: Some(date_to_proto(command.cover_start)),
            person_key: hex::encode(&person_key),
            id_number_masked: id_masked.clone(),
            occurred_at: Some(timestamp(now)),
            actor: principal.caller_key(),
        };
        events::append(
            &mut tx,
            events::NewEvent {
                province_code: province.as_str(),
                event_type: "enrolment.opened.v1",
                aggregate_id: enrolment_id,
                payload: event.encode_to_vec(),
                occurred_at: now,
            },
        )
        .await?;
        let row = enrolments::EnrolmentRow {
            province_code: province.to_string(),
            enrolment_id,
            platform_id: platform_id.to_string(),
            place_code: command.place.as_str().to_owned(),
            industry: command.industry.as_str().to_owned(),
            status: EnrolmentStatus::Active.as_str().to_owned(),
            cover_start: command.cover_start,
            id_masked,
            name_masked,
            phone_masked,
            created_at: now,
        };
        let response = pb::EnrolWorkerResponse {
            enrolment: Some(to_proto(&row)),
        };
        idempotent.commit(tx, &response).await?;
        tracing::info!(enrolment_id = %enrolment_id, "worker enrolled");
        Ok(response)
    }

    async fn get(
        &self,
        principal: Principal,
        request: pb::GetEnrolmentRequest,
    ) -> AppResult<pb::Enrolment> {
        let pb::GetEnrolmentRequest { enrolment_id } = request;
        let id = Uuid::parse_str(enrolment_id.trim())
            .map_err(|_| AppError::invalid("enrolment_id", "must be a UUID"))?;
        let not_found = || AppError::NotFound(format!("no enrolment {id}"));
        let row = enrolments::get(&self.state.pool, id)
            .await?
            .ok_or_else(not_found)?;
        if !visible_to(&principal, &row) {
            return Err(not_found());
        }
        record_province(&row.province_code);
        Ok(to_proto(&row))
    }

    async fn list(
        &self,
        principal: Principal,
        request: pb::ListEnrolmentsRequest,
    ) -> AppResult<pb::ListEnrolmentsResponse> {
        let pb::ListEnrolmentsRequest {
            page_size,
            page_token,
            province_code,
            place_of_employment,
            status,
            platform_id,
        } = request;
        let page_size = paging::page_size(page_size)?;
        let mut violations = Violations::new();
        let province = non_empty(&province_code)
            .and_then(|code| violations.check("province_code", ProvinceCode::parse(code)));
        let place = non_empty(&place_of_employment).and_then(|code| {
            let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
            if !well_formed {
                violations.add(
                    "place_of_employment",
                    "must be a 6-digit GB/T 2260 division code",
                );
            }
            well_formed.then(|| code.to_owned())
        });
        let platform = non_empty(&platform_id)
            .and_then(|id| violations.check("platform_id", PlatformId::parse(id)));
        let status = match pb::EnrolmentStatus::try_from(status) {
            Ok(pb::EnrolmentStatus::Unspecified) => None,
            Ok(pb::EnrolmentStatus::Active) => Some(EnrolmentStatus::Active.as_str().to_owned()),
            Err(_) => {
                violations.add("status", format!("unknown status {status}"));
                None
            }
        };
        violations.into_result()?;

        let mut filter = enrolments::ListFilter {
            province_code: province.map(|p| p.to_string()),
            platform_id: platform.map(|p| p.to_string()),
            place_code: place,
            status,
        };
        match &principal.role {
            Role::NationalAdmin | Role::Auditor => {}
            Role::ProvinceAgency(own) => {
                if filter
                    .province_code
                    .as_deref()
                    .is_some_and(|p| p != own.as_str())
                {
                    return Err(AppError::PermissionDenied(format!(
                        "a province agency lists only its own province ({own})"
                    )));
                }
                filter.province_code = Some(own.to_string());
            }
            Role::Platform(own) => {
                if filter
                    .platform_id
                    .as_deref()
                    .is_some_and(|p| p != own.as_str())
                {
                    return Err(AppError::PermissionDenied(
                        "a platform lists only its own enrolments".into(),
                    ));
                }
                filter.platform_id = Some(own.to_string());
            }
        }
        let query = format!("enrolments|{}|{filter:?}", principal.caller_key());
        let before = paging::decode_token(&query, &page_token)?
            .map(|cursor| Uuid::parse_str(&cursor))
            .transpose()
            .map_err(|_| AppError::invalid("page_token", "is not a token from this listing"))?;
        let mut rows = enrolments::list(&self.state.pool, &filter, before, page_size + 1).await?;
        let next_page_token = paging::next_token(&mut rows, page_size, |last| {
            paging::encode_token(&query, &last.enrolment_id.to_string())
        });
        Ok(pb::ListEnrolmentsResponse {
            enrolments: rows.iter().map(to_proto).collect(),
            next_page_token,
        })
    }
}

/// The platform must offer the industry, and be in the pilot in the province on the start date.
async fn check_platform_may_enrol(
    tx: &mut store::Tx,
    platform_id: &PlatformId,
    province: &ProvinceCode,
    command: &EnrolWorker,
) -> AppResult<()> {
    let platform = store::platforms::get(&mut **tx, platform_id.as_str())
        .await?
        .ok_or_else(|| {
            AppError::FailedPrecondition(format!("platform {platform_id} is not registered"))
        })?;
    let industries: Vec<Industry> = platform
        .industries
        .iter()
        .filter_map(|name| Industry::from_db(name).ok())
        .collect();
    if !industries.contains(&command.industry) {
        let allowed: Vec<&str> = industries.iter().map(|i| i.as_str()).collect();
        return Err(AppError::invalid(
            "industry",
            format!(
                "platform {platform_id} is registered for {}",
                allowed.join(", ")
            ),
        ));
    }
    let in_scope = store::pilot_scope::covers(
        &mut **tx,
        province.as_str(),
        platform_id.as_str(),
        command.cover_start,
    )
    .await?;
    if !in_scope {
        return Err(AppError::FailedPrecondition(format!(
            "platform {platform_id} is not in the occupational-injury pilot in province {province} ({}) on {}",
            province.name(),
            command.cover_start
        )));
    }
    Ok(())
}

#[tonic::async_trait]
impl EnrolmentService for EnrolmentApi {
    async fn enrol_worker(
        &self,
        request: Request<pb::EnrolWorkerRequest>,
    ) -> Result<Response<pb::EnrolWorkerResponse>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            self.enrol(principal, request.into_inner()).await?,
        ))
    }

    async fn get_enrolment(
        &self,
        request: Request<pb::GetEnrolmentRequest>,
    ) -> Result<Response<pb::Enrolment>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            self.get(principal, request.into_inner()).await?,
        ))
    }

    async fn list_enrolments(
        &self,
        request: Request<pb::ListEnrolmentsRequest>,
    ) -> Result<Response<pb::ListEnrolmentsResponse>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            self.list(principal, request.into_inner()).await?,
        ))
    }
}
