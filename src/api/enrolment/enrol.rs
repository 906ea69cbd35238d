//! EnrolWorker, and the preparation of enrolments shared with BatchEnrolWorkers: decoding,
//! validation, encryption, and the response and event each enrolment will produce.
use super::{AppState, require_platform, to_proto};
use crate::api::convert::{self, date_from_proto, date_to_proto, timestamp};
use crate::auth::Principal;
use crate::domain::division::PlaceOfEmployment;
use crate::domain::enrolment::{EnrolWorker, EnrolmentStatus, check_minimum_age};
use crate::domain::id_number::IdNumber;
use crate::domain::industry::Industry;
use crate::domain::person::{PersonName, Phone};
use crate::domain::platform::PlatformId;
use crate::error::{AppError, AppResult, Violations, is_retryable};
use crate::pb;
use crate::store::enrolment_writes::{self, NewEnrolment, Outcome};
use crate::store::{enrolments::EnrolmentRow, platforms};
use chrono::{DateTime, Utc};
use prost::Message;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const RPC: &str = "EnrolWorker";

/// Decodes and validates every field of the request, reporting all violations at once.
fn decode(request: &pb::EnrolWorkerRequest) -> AppResult<EnrolWorker> {
    let pb::EnrolWorkerRequest {
        request_id,
        worker,
        place_of_employment,
        industry,
        cover_start_date,
    } = request;
    let mut violations = Violations::new();
    violations.check("request_id", crate::api::check_request_id(request_id));
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
        _ => Err(violations.into_error()),
    }
}

/// What enrolments of one platform need to know about it.
pub struct Enroller {
    pub platform_id: PlatformId,
    pub industries: Vec<Industry>,
    pub caller: String,
}

impl Enroller {
    /// The calling platform, which must be registered.
    pub async fn load(state: &AppState, principal: &Principal) -> AppResult<Self> {
        let platform_id = require_platform(principal)?.clone();
        let platform = platforms::get(&state.pool, platform_id.as_str())
            .await?
            .ok_or_else(|| {
                AppError::FailedPrecondition(format!("platform {platform_id} is not registered"))
            })?;
        let industries = platform
            .industries
            .iter()
            .filter_map(|name| Industry::from_db(name).ok())
            .collect();
        Ok(Self {
            platform_id,
            industries,
            caller: principal.caller_key(),
        })
    }

    /// Validates and encrypts one request into a row ready to write.
    pub fn prepare(
        &self,
        state: &AppState,
        request: &pb::EnrolWorkerRequest,
        now: DateTime<Utc>,
    ) -> AppResult<NewEnrolment> {
        let command = decode(request)?;
        if !self.industries.contains(&command.industry) {
            let offered: Vec<&str> = self.industries.iter().map(|i| i.as_str()).collect();
            return Err(AppError::invalid(
                "industry",
                format!(
                    "platform {} is registered for {}",
                    self.platform_id,
                    offered.join(", ")
                ),
            ));
        }
        let province = command.place.province();
        let enrolment_id = Uuid::now_v7();
        let person_key = state.pii.person_key(&command.id_number);
        let row = EnrolmentRow {
            province_code: province.to_string(),
            enrolment_id,
            platform_id: self.platform_id.to_string(),
            place_code: command.place.as_str().to_owned(),
            industry: command.industry.as_str().to_owned(),
            status: EnrolmentStatus::Active.as_str().to_owned(),
            cover_start: command.cover_start,
            id_masked: command.id_number.masked(),
            name_masked: command.name.masked(),
            phone_masked: command.phone.masked(),
            created_at: now,
            cover_end: None,
            transferred_from: None,
            transferred_to: None,
        };
        let event = pb::EnrolmentOpenedV1 {
            enrolment_id: enrolment_id.to_string(),
            platform_id: row.platform_id.clone(),
            province_code: row.province_code.clone(),
            place_of_employment: row.place_code.clone(),
            industry: convert::industry_to_proto(command.industry) as i32,
            cover_start_date: Some(date_to_proto(command.cover_start)),
            person_key: hex::encode(&person_key),
            id_number_masked: row.id_masked.clone(),
            occurred_at: Some(timestamp(now)),
            actor: self.caller.clone(),
            transferred_from: String::new(),
        };
        let response = pb::EnrolWorkerResponse {
            enrolment: Some(to_proto(&row)),
        };
        let sealed_response =
            crate::service::seal_reply(state, &self.caller, &request.request_id, &response)?;
        let row_context = enrolment_id.as_bytes();
        Ok(NewEnrolment {
            request_id: request.request_id.clone(),
            request_hash: Sha256::digest(request.encode_to_vec()).to_vec(),
            enrolment_id,
            province_code: row.province_code,
            id_number: state.pii.seal(command.id_number.as_str(), &person_key)?,
            person_key,
            id_masked: row.id_masked,
            birth_date: command.id_number.birth_date(),
            place_code: row.place_code,
            industry: command.industry.as_str(),
            cover_start: command.cover_start,
            name: state.pii.seal(command.name.as_str(), row_context)?,
            name_masked: row.name_masked,
            phone: state.pii.seal(command.phone.as_str(), row_context)?,
            phone_masked: row.phone_masked,
            response: sealed_response,
            event: event.encode_to_vec(),
        })
    }

    /// Writes prepared items in one transaction, retrying the whole chunk on a deadlock.
    pub async fn write(
        &self,
        state: &AppState,
        items: &[NewEnrolment],
        now: DateTime<Utc>,
    ) -> AppResult<Vec<Outcome>> {
        let context = enrolment_writes::Context {
            caller: &self.caller,
            rpc: RPC,
            platform_id: self.platform_id.as_str(),
            now,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = state.pool.begin().await?;
            match enrolment_writes::create(&mut tx, &context, items).await {
                Ok(outcomes) => {
                    tx.commit().await?;
                    return Ok(outcomes);
                }
                Err(error) if attempt < 3 && is_retryable(&error) => {
                    tracing::info!(attempt, "enrolment chunk hit a deadlock; retrying");
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The response of an item's outcome, or the error the caller sees.
    pub fn response(
        &self,
        state: &AppState,
        item: &NewEnrolment,
        outcome: Outcome,
    ) -> AppResult<pb::EnrolWorkerResponse> {
        let stored = match outcome {
            Outcome::Created => crate::store::idempotency::Stored::Sealed(item.response.clone()),
            Outcome::Replayed(stored) => stored,
            Outcome::KeyReused => {
                return Err(AppError::reused_request_id());
            }
            Outcome::OutOfScope => {
                let province = crate::domain::division::ProvinceCode::parse(&item.province_code)
                    .map_err(|invalid| anyhow::anyhow!("province of an item: {invalid}"))?;
                return Err(crate::api::not_in_pilot(
                    &self.platform_id,
                    &province,
                    item.cover_start,
                ));
            }
            Outcome::AlreadyOpen(existing) => {
                return Err(AppError::AlreadyExists(format!(
                    "this worker already has an open enrolment with platform {}: {existing}",
                    self.platform_id
                )));
            }
        };
        crate::service::open_reply(state, &self.caller, &item.request_id, &stored)
    }
}

pub async fn enrol_one(
    state: &AppState,
    principal: &Principal,
    request: pb::EnrolWorkerRequest,
) -> AppResult<pb::EnrolWorkerResponse> {
    let enroller = Enroller::load(state, principal).await?;
    let now = state.clock.now();
    let item = enroller.prepare(state, &request, now)?;
    crate::api::record_province(&item.province_code);
    let outcome = enroller
        .write(state, std::slice::from_ref(&item), now)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("no outcome for a single enrolment"))?;
    let response = enroller.response(state, &item, outcome)?;
    tracing::info!(enrolment_id = %item.enrolment_id, "worker enrolled");
    Ok(response)
}
