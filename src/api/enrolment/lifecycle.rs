//! Suspend, resume, terminate and transfer an enrolment. Each change locks the enrolment, checks
//! the state machine and the effective date, updates the status, appends history and an event, and
//! stores the idempotent response — in one transaction.
use super::{AppState, require_platform, to_proto};
use crate::api::convert::{date_from_proto, date_to_proto, timestamp};
use crate::api::{Idempotent, record_province};
use crate::auth::Principal;
use crate::domain::Invalid;
use crate::domain::division::PlaceOfEmployment;
use crate::domain::enrolment::EnrolmentStatus;
use crate::domain::lifecycle::{self, Change, Reason};
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::lifecycle::{self as store, Continuation, HistoryRow, Locked, StatusChange};
use crate::store::{Tx, enrolments, events, pilot_scope};
use chrono::NaiveDate;
use prost::Message;
use uuid::Uuid;

fn reason_from_proto(value: i32) -> Result<Reason, Invalid> {
    use pb::ChangeReason as R;
    match R::try_from(value) {
        Ok(R::WorkerRequest) => Ok(Reason::WorkerRequest),
        Ok(R::Inactivity) => Ok(Reason::Inactivity),
        Ok(R::LeftPlatform) => Ok(Reason::LeftPlatform),
        Ok(R::SuspendedByPlatform) => Ok(Reason::SuspendedByPlatform),
        Ok(R::Moved) => Ok(Reason::Moved),
        Ok(R::Deceased) => Ok(Reason::Deceased),
        Ok(R::DataCorrection) => Ok(Reason::DataCorrection),
        Ok(R::Other) => Ok(Reason::Other),
        Ok(R::Unspecified) => Err(Invalid::new("required")),
        Ok(R::Enrolled) => Err(Invalid::new(
            "ENROLLED is recorded by the service, not given",
        )),
        Err(_) => Err(Invalid::new(format!("unknown reason {value}"))),
    }
}

/// A stored reason back to proto.
pub fn reason_to_proto(stored: &str) -> pb::ChangeReason {
    use pb::ChangeReason as R;
    match stored {
        lifecycle::ENROLLED => R::Enrolled,
        "worker_request" => R::WorkerRequest,
        "inactivity" => R::Inactivity,
        "left_platform" => R::LeftPlatform,
        "suspended_by_platform" => R::SuspendedByPlatform,
        "moved" => R::Moved,
        "deceased" => R::Deceased,
        "data_correction" => R::DataCorrection,
        "other" => R::Other,
        _ => R::Unspecified,
    }
}

/// The fields every change carries, decoded.
struct ChangeRequest {
    enrolment_id: Uuid,
    effective: NaiveDate,
    reason: Reason,
}

fn decode_change_fields(
    enrolment_id: &str,
    effective: Option<&pb::Date>,
    reason: i32,
    violations: &mut Violations,
) -> Option<ChangeRequest> {
    let enrolment_id =
        Uuid::parse_str(enrolment_id.trim()).map_err(|_| Invalid::new("must be a UUID"));
    let enrolment_id = violations.check("enrolment_id", enrolment_id);
    let effective = violations.check("effective_date", date_from_proto(effective));
    let reason = violations.check("reason", reason_from_proto(reason));
    Some(ChangeRequest {
        enrolment_id: enrolment_id?,
        effective: effective?,
        reason: reason?,
    })
}

fn decode_change(
    enrolment_id: &str,
    effective: Option<&pb::Date>,
    reason: i32,
) -> AppResult<ChangeRequest> {
    let mut violations = Violations::new();
    let request = decode_change_fields(enrolment_id, effective, reason, &mut violations);
    match request {
        Some(request) if violations.is_empty() => Ok(request),
        _ => Err(violations.into_error()),
    }
}

/// Locks the caller's enrolment; another platform's is NOT_FOUND.
async fn lock_own(tx: &mut Tx, principal: &Principal, enrolment_id: Uuid) -> AppResult<Locked> {
    let platform = require_platform(principal)?;
    match store::lock(tx, enrolment_id).await? {
        Some(locked) if locked.row.platform_id == platform.as_str() => {
            record_province(&locked.row.province_code);
            Ok(locked)
        }
        _ => Err(AppError::NotFound(format!("no enrolment {enrolment_id}"))),
    }
}

/// The state machine and the effective-date rules for `change` of `locked`.
async fn check(
    tx: &mut Tx,
    state: &AppState,
    locked: &Locked,
    change: Change,
    effective: NaiveDate,
) -> AppResult<EnrolmentStatus> {
    let current = EnrolmentStatus::from_db(&locked.row.status)
        .map_err(|invalid| anyhow::anyhow!("{invalid}"))?;
    let next = lifecycle::apply(current, change)
        .map_err(|forbidden| AppError::FailedPrecondition(forbidden.0))?;
    let window = store::max_backdate_days(&mut **tx, &locked.row.province_code).await?;
    lifecycle::check_effective_date(
        effective,
        locked.row.cover_start,
        locked.last_effective,
        state.clock.today(),
        window,
    )
    .map_err(|invalid| AppError::invalid("effective_date", invalid.0))?;
    Ok(next)
}

fn changed_event(
    locked: &Locked,
    status: EnrolmentStatus,
    request: &ChangeRequest,
    related: Option<Uuid>,
    actor: &str,
    state: &AppState,
) -> Vec<u8> {
    pb::EnrolmentChangedV1 {
        enrolment_id: locked.row.enrolment_id.to_string(),
        platform_id: locked.row.platform_id.clone(),
        province_code: locked.row.province_code.clone(),
        status: super::status_to_proto(status.as_str()) as i32,
        effective_date: Some(date_to_proto(request.effective)),
        reason: reason_to_proto(request.reason.as_str()) as i32,
        person_key: hex::encode(&locked.person_key),
        id_number_masked: locked.row.id_masked.clone(),
        related_enrolment_id: related.map(|id| id.to_string()).unwrap_or_default(),
        occurred_at: Some(timestamp(state.clock.now())),
        actor: actor.to_owned(),
    }
    .encode_to_vec()
}

/// Records the new state of `locked`: status, history entry and event.
async fn record(
    tx: &mut Tx,
    state: &AppState,
    locked: &Locked,
    status: EnrolmentStatus,
    request: &ChangeRequest,
    related: Option<Uuid>,
    actor: &str,
) -> AppResult<()> {
    let now = state.clock.now();
    let ends_cover = matches!(
        status,
        EnrolmentStatus::Terminated | EnrolmentStatus::Transferred
    );
    store::change_status(
        tx,
        locked,
        &StatusChange {
            status: status.as_str(),
            cover_end: ends_cover.then_some(request.effective),
            transferred_to: related.filter(|_| status == EnrolmentStatus::Transferred),
            at: now,
        },
    )
    .await?;
    store::append_history(
        tx,
        &HistoryRow {
            province_code: locked.row.province_code.clone(),
            enrolment_id: locked.row.enrolment_id,
            seq: locked.last_seq + 1,
            status: status.as_str().to_owned(),
            effective_date: request.effective,
            reason: request.reason.as_str().to_owned(),
            actor: actor.to_owned(),
            recorded_at: now,
            related_enrolment_id: related,
        },
    )
    .await?;
    events::append(
        tx,
        events::NewEvent {
            province_code: &locked.row.province_code,
            event_type: events::ENROLMENT_CHANGED,
            aggregate_id: locked.row.enrolment_id,
            payload: changed_event(locked, status, request, related, actor, state),
            occurred_at: now,
        },
    )
    .await
}

async fn reread(tx: &mut Tx, enrolment_id: Uuid) -> AppResult<pb::Enrolment> {
    let row = enrolments::get(&mut **tx, enrolment_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("changed enrolment {enrolment_id} vanished"))?;
    Ok(to_proto(&row))
}

/// The three requests that change only an enrolment's status share one shape.
pub trait StatusChangeRequest: Message + Default {
    const RPC: &'static str;
    const CHANGE: Change;
    /// (request_id, enrolment_id, effective_date, reason), every field named.
    fn parts(&self) -> (&str, &str, Option<&pb::Date>, i32);
}

macro_rules! status_change_request {
    ($message:ty, $rpc:literal, $change:expr) => {
        impl StatusChangeRequest for $message {
            const RPC: &'static str = $rpc;
            const CHANGE: Change = $change;
            fn parts(&self) -> (&str, &str, Option<&pb::Date>, i32) {
                let Self {
                    request_id,
                    enrolment_id,
                    effective_date,
                    reason,
                } = self;
                (request_id, enrolment_id, effective_date.as_ref(), *reason)
            }
        }
    };
}

status_change_request!(
    pb::SuspendEnrolmentRequest,
    "SuspendEnrolment",
    Change::Suspend
);
status_change_request!(
    pb::ResumeEnrolmentRequest,
    "ResumeEnrolment",
    Change::Resume
);
status_change_request!(
    pb::TerminateEnrolmentRequest,
    "TerminateEnrolment",
    Change::Terminate
);

/// Suspend, resume or terminate.
pub async fn change_status<M: StatusChangeRequest>(
    state: &AppState,
    principal: &Principal,
    message: M,
) -> AppResult<pb::Enrolment> {
    require_platform(principal)?;
    let (request_id, enrolment_id, effective_date, reason) = message.parts();
    let idempotent = Idempotent::new(principal, M::RPC, request_id, &message)?;
    let request = decode_change(enrolment_id, effective_date, reason)?;
    let mut tx = match idempotent.begin::<pb::Enrolment>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let locked = lock_own(&mut tx, principal, request.enrolment_id).await?;
    let next = check(&mut tx, state, &locked, M::CHANGE, request.effective).await?;
    record(
        &mut tx,
        state,
        &locked,
        next,
        &request,
        None,
        &principal.caller_key(),
    )
    .await?;
    let response = reread(&mut tx, request.enrolment_id).await?;
    idempotent.commit(state, tx, &response).await?;
    tracing::info!(enrolment_id = %request.enrolment_id, status = next.as_str(), "enrolment changed");
    Ok(response)
}

pub async fn transfer(
    state: &AppState,
    principal: &Principal,
    message: pb::TransferEnrolmentRequest,
) -> AppResult<pb::TransferEnrolmentResponse> {
    let platform = require_platform(principal)?.clone();
    let idempotent = Idempotent::new(
        principal,
        "TransferEnrolment",
        &message.request_id,
        &message,
    )?;
    let pb::TransferEnrolmentRequest {
        request_id: _,
        enrolment_id,
        new_place_of_employment,
        effective_date,
        reason,
    } = &message;
    let mut violations = Violations::new();
    let request = decode_change_fields(
        enrolment_id,
        effective_date.as_ref(),
        *reason,
        &mut violations,
    );
    let place = violations.check(
        "new_place_of_employment",
        PlaceOfEmployment::parse(new_place_of_employment),
    );
    violations.into_result()?;
    let (Some(request), Some(place)) = (request, place) else {
        return Err(anyhow::anyhow!("transfer decode lost its violations").into());
    };
    let mut tx = match idempotent
        .begin::<pb::TransferEnrolmentResponse>(state)
        .await?
    {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let locked = lock_own(&mut tx, principal, request.enrolment_id).await?;
    let next = check(&mut tx, state, &locked, Change::Transfer, request.effective).await?;
    if place.as_str() == locked.row.place_code {
        return Err(AppError::invalid(
            "new_place_of_employment",
            "is already this enrolment's place of employment",
        ));
    }
    let new_province = place.province();
    if !pilot_scope::covers(
        &mut *tx,
        new_province.as_str(),
        platform.as_str(),
        request.effective,
    )
    .await?
    {
        return Err(crate::api::not_in_pilot(
            &platform,
            &new_province,
            request.effective,
        ));
    }
    let actor = principal.caller_key();
    let now = state.clock.now();
    let new_id = Uuid::now_v7();
    // Personal data is sealed to its row, so the continuation gets its own ciphertexts.
    let reseal = |sealed| -> AppResult<_> {
        let plain = state.pii.open(sealed, locked.row.enrolment_id.as_bytes())?;
        Ok(state.pii.seal(&plain, new_id.as_bytes())?)
    };
    let (name, phone) = (reseal(&locked.name)?, reseal(&locked.phone)?);
    record(
        &mut tx,
        state,
        &locked,
        next,
        &request,
        Some(new_id),
        &actor,
    )
    .await?;
    store::insert_continuation(
        &mut tx,
        &locked,
        &Continuation {
            province_code: new_province.as_str(),
            enrolment_id: new_id,
            place_code: place.as_str(),
            cover_start: request.effective,
            name: &name,
            phone: &phone,
            created_by: &actor,
            at: now,
        },
    )
    .await?;
    store::append_history(
        &mut tx,
        &HistoryRow {
            province_code: new_province.to_string(),
            enrolment_id: new_id,
            seq: 1,
            status: EnrolmentStatus::Active.as_str().to_owned(),
            effective_date: request.effective,
            reason: request.reason.as_str().to_owned(),
            actor: actor.clone(),
            recorded_at: now,
            related_enrolment_id: Some(locked.row.enrolment_id),
        },
    )
    .await?;
    let opened = pb::EnrolmentOpenedV1 {
        enrolment_id: new_id.to_string(),
        platform_id: platform.to_string(),
        province_code: new_province.to_string(),
        place_of_employment: place.as_str().to_owned(),
        industry: crate::api::convert::stored_industry_to_proto(&locked.row.industry),
        cover_start_date: Some(date_to_proto(request.effective)),
        person_key: hex::encode(&locked.person_key),
        id_number_masked: locked.row.id_masked.clone(),
        occurred_at: Some(timestamp(now)),
        actor: actor.clone(),
        transferred_from: locked.row.enrolment_id.to_string(),
    };
    events::append(
        &mut tx,
        events::NewEvent {
            province_code: new_province.as_str(),
            event_type: events::ENROLMENT_OPENED,
            aggregate_id: new_id,
            payload: opened.encode_to_vec(),
            occurred_at: now,
        },
    )
    .await?;
    let response = pb::TransferEnrolmentResponse {
        previous: Some(reread(&mut tx, locked.row.enrolment_id).await?),
        current: Some(reread(&mut tx, new_id).await?),
    };
    idempotent.commit(state, tx, &response).await?;
    tracing::info!(from = %locked.row.enrolment_id, to = %new_id, "enrolment transferred");
    Ok(response)
}
