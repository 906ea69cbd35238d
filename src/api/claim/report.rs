//! ReportIncident: a platform reports an incident of one of its workers. The report is always
//! recorded; coverage at the instant is checked and stored, and so are the application deadlines.
//! Reports of the same person close in time, through any platform, are flagged as possible
//! duplicates for the agencies.
use super::steps::{Change, record_change};
use super::view;
use crate::api::convert::instant_from_proto;
use crate::api::{AppState, Idempotent, person_access, record_province};
use crate::auth::Principal;
use crate::domain::Invalid;
use crate::domain::claim::{ClaimStatus, IncidentKind};
use crate::domain::clock::china_date;
use crate::domain::division::PlaceOfEmployment;
use crate::domain::id_number::IdNumber;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::claims::{self as store, ClaimRow};
use crate::store::{coverage, enrolments};
use chrono::Duration;
use uuid::Uuid;

pub const RPC: &str = "ReportIncident";
const MAX_DESCRIPTION_CHARS: usize = 2000;

enum Worker {
    Id(IdNumber),
    Enrolment(Uuid),
}

pub async fn report(
    state: &AppState,
    principal: &Principal,
    request: pb::ReportIncidentRequest,
) -> AppResult<pb::Claim> {
    let Role::Platform(platform) = &principal.role else {
        return Err(AppError::PermissionDenied(
            "incidents are reported by platforms (with a platform:<id> token)".into(),
        ));
    };
    let idempotent = Idempotent::new(principal, RPC, &request.request_id, &request)?;
    let pb::ReportIncidentRequest {
        request_id: _,
        worker,
        order_id,
        occurred_at,
        place_code,
        description,
        kind,
    } = &request;
    let mut violations = Violations::new();
    let worker = match worker {
        Some(pb::report_incident_request::Worker::IdNumber(id)) => violations
            .check("id_number", IdNumber::parse(id))
            .map(Worker::Id),
        Some(pb::report_incident_request::Worker::EnrolmentId(id)) => violations
            .check(
                "enrolment_id",
                Uuid::parse_str(id.trim()).map_err(|_| Invalid::new("must be a UUID")),
            )
            .map(Worker::Enrolment),
        None => {
            violations.add("worker", "required: id_number or enrolment_id");
            None
        }
    };
    if !(1..=64).contains(&order_id.len()) || !order_id.bytes().all(|b| b.is_ascii_graphic()) {
        violations.add("order_id", "required: 1 to 64 printable ASCII characters");
    }
    let occurred = violations.check(
        "occurred_at",
        occurred_at
            .as_ref()
            .ok_or_else(|| Invalid::new("required"))
            .and_then(instant_from_proto),
    );
    if occurred.is_some_and(|at| at > state.clock.now() + Duration::minutes(5)) {
        violations.add("occurred_at", "must not be in the future");
    }
    let place = violations.check("place_code", PlaceOfEmployment::parse(place_code));
    if description.trim().is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
        violations.add(
            "description",
            format!("required: what happened, up to {MAX_DESCRIPTION_CHARS} characters"),
        );
    }
    let kind = match pb::IncidentKind::try_from(*kind) {
        Ok(pb::IncidentKind::Injury) => Some(IncidentKind::Injury),
        Ok(pb::IncidentKind::Death) => Some(IncidentKind::Death),
        _ => {
            violations.add(
                "kind",
                "required: INCIDENT_KIND_INJURY or INCIDENT_KIND_DEATH",
            );
            None
        }
    };
    let (Some(worker), Some(occurred), Some(place), Some(kind)) = (worker, occurred, place, kind)
    else {
        return Err(violations.into_error());
    };
    violations.into_result()?;

    let mut tx = match idempotent.begin::<pb::Claim>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let now = state.clock.now();
    // The person: by ID number, or through one of this platform's enrolments.
    let (person_key, id_masked, enrolment_id) = match &worker {
        Worker::Id(id) => (state.pii.person_key(id), id.masked(), None),
        Worker::Enrolment(enrolment_id) => {
            let (key, id_masked) =
                enrolments::person_of(&mut *tx, *enrolment_id, platform.as_str())
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("no enrolment {enrolment_id}")))?;
            (key, id_masked, Some(*enrolment_id))
        }
    };
    let access =
        matches!(worker, Worker::Id(_)).then(|| person_access(state, principal, &person_key, RPC));
    let covering = coverage::coverage_at(
        &mut *tx,
        &coverage::CoverageQuery {
            person_key: Some(&person_key),
            enrolment_id: None,
            at: occurred,
            day: china_date(occurred),
            platform_id: Some(platform.as_str()),
            province_code: None,
        },
        access.as_ref(),
    )
    .await?
    // Reported by enrolment id: that enrolment's cover counts, not another of the person's.
    .filter(|(row, _)| enrolment_id.is_none_or(|id| id == row.enrolment_id));
    let province_code = covering
        .as_ref()
        .map(|(row, _)| row.province_code.clone())
        .unwrap_or_else(|| place.province().to_string());
    record_province(&province_code);
    let policy = store::policy(&mut *tx, &province_code).await?;
    let claim_id = Uuid::now_v7();
    let sealed = state
        .pii
        .seal(description.trim(), claim_id.as_bytes())
        .map_err(|error| anyhow::anyhow!("sealing a claim description: {error}"))?;
    let mut claim = ClaimRow {
        province_code,
        claim_id,
        platform_id: platform.to_string(),
        person_key,
        id_masked,
        order_id: order_id.clone(),
        occurred_at: occurred,
        place_code: place.as_str().to_owned(),
        kind: kind.as_str().to_owned(),
        description_ciphertext: sealed.bytes,
        description_key_id: sealed.key_id,
        status: ClaimStatus::Reported.as_str().to_owned(),
        covered: covering.is_some(),
        enrolment_id: covering
            .as_ref()
            .map(|(row, _)| row.enrolment_id)
            .or(enrolment_id),
        covering_order_id: covering
            .as_ref()
            .and_then(|(_, order)| order.as_ref().map(|o| o.order_id.clone())),
        reported_at: now,
        platform_application_due: china_date(now)
            + Duration::days(i64::from(policy.platform_application_days)),
        worker_application_due: china_date(occurred)
            + Duration::days(i64::from(policy.worker_application_days)),
        decision_due: None,
        applicant: None,
        late_explanation: None,
        decision_reasons: None,
        grade: None,
    };
    store::insert(&mut tx, &claim, now).await?;
    let others = store::near_in_time(
        &mut tx,
        &claim.person_key,
        occurred,
        policy.duplicate_window_minutes,
        claim_id,
    )
    .await?;
    if !others.is_empty() {
        store::flag_duplicates(&mut tx, (&claim.province_code, claim_id), &others, now).await?;
    }
    let detail = if claim.covered {
        "reported; covered at that instant".to_owned()
    } else {
        "reported; FLAGGED: no enrolment of this platform was active at that instant".to_owned()
    };
    record_change(
        state,
        &mut tx,
        principal,
        &mut claim,
        Change::new("reported", ClaimStatus::Reported, "00", detail),
    )
    .await?;
    let response = view::full(state, &mut tx, principal, &claim, RPC).await?;
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}
