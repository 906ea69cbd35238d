//! Suspend, resume, terminate and transfer an enrolment. Each change: idempotency first (a retry
//! replays), then lock the enrolment, ask the policy, check the state machine and the effective
//! date, and write the status, history, event and stored reply in one transaction.
use super::{authorize, events, not_found};
use crate::auth::Principal;
use crate::domain::division::PlaceOfEmployment;
use crate::domain::enrolment::EnrolmentStatus;
use crate::domain::lifecycle::{self, Change, Reason};
use crate::error::{AppError, AppResult};
use crate::policy::Action;
use crate::service::{AppState, Idempotent, RequestKey, not_in_pilot};
use crate::store::lifecycle::{self as store, Continuation, HistoryRow, Locked, StatusChange};
use crate::store::{Tx, enrolments, events as event_store, pilot_scope};
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use uuid::Uuid;

/// Suspend, resume or terminate an enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeStatus {
    pub key: RequestKey,
    pub change: Change,
    pub enrolment_id: Uuid,
    pub effective: NaiveDate,
    pub reason: Reason,
}

/// Move an enrolment to a new place of employment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub key: RequestKey,
    pub enrolment_id: Uuid,
    pub new_place: PlaceOfEmployment,
    pub effective: NaiveDate,
    pub reason: Reason,
}

/// A transfer's answer: the enrolment that ended and the one that continues it.
pub struct Transferred {
    pub previous: enrolments::EnrolmentRow,
    pub current: enrolments::EnrolmentRow,
}

/// The RPC a change is requested by: the scope of its request_id.
fn rpc(change: Change) -> &'static str {
    match change {
        Change::Suspend => "SuspendEnrolment",
        Change::Resume => "ResumeEnrolment",
        Change::Terminate => "TerminateEnrolment",
        Change::Transfer => "TransferEnrolment",
    }
}

/// Locks the enrolment for a change the policy must allow; unseen is NOT_FOUND as if missing.
async fn lock(tx: &mut Tx, principal: &Principal, enrolment_id: Uuid) -> AppResult<Locked> {
    let locked = store::lock(tx, enrolment_id)
        .await?
        .ok_or_else(|| not_found(enrolment_id))?;
    authorize(principal, Action::ChangeEnrolment, &locked.row)?;
    Ok(locked)
}

/// The state machine and the effective-date rules for `change` of `locked`: the new status.
async fn check(
    tx: &mut Tx,
    state: &AppState,
    locked: &Locked,
    change: Change,
    effective: NaiveDate,
) -> AppResult<EnrolmentStatus> {
    let next = lifecycle::apply(locked.row.status, change)
        .map_err(|forbidden| AppError::FailedPrecondition(forbidden.0))?;
    let (province, _) = super::owner_of(&locked.row)?;
    let window = store::max_backdate_days(&mut **tx, &province).await?;
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

/// One change to record.
struct Recorded<'a> {
    status: EnrolmentStatus,
    effective: NaiveDate,
    reason: Reason,
    related: Option<Uuid>,
    actor: &'a str,
    at: DateTime<Utc>,
}

/// Records the new state of `locked`: status, history entry and event.
async fn record(tx: &mut Tx, locked: &Locked, change: &Recorded<'_>) -> AppResult<()> {
    let ends_cover = matches!(
        change.status,
        EnrolmentStatus::Terminated | EnrolmentStatus::Transferred
    );
    store::change_status(
        tx,
        locked,
        &StatusChange {
            status: change.status,
            cover_end: ends_cover.then_some(change.effective),
            transferred_to: change
                .related
                .filter(|_| change.status == EnrolmentStatus::Transferred),
            at: change.at,
        },
    )
    .await?;
    store::append_history(
        tx,
        &HistoryRow {
            province_code: locked.row.province_code.clone(),
            enrolment_id: locked.row.enrolment_id,
            seq: locked.last_seq + 1,
            status: change.status,
            effective_date: change.effective,
            reason: change.reason,
            actor: change.actor.to_owned(),
            recorded_at: change.at,
            related_enrolment_id: change.related,
        },
    )
    .await?;
    let payload = events::changed(&events::Changed {
        row: &locked.row,
        person_key: &locked.person_key,
        status: change.status,
        effective: change.effective,
        reason: change.reason,
        related: change.related,
        actor: change.actor,
        at: change.at,
    });
    event_store::append(
        tx,
        event_store::NewEvent {
            province_code: &locked.row.province_code,
            event_type: event_store::ENROLMENT_CHANGED,
            aggregate_id: locked.row.enrolment_id,
            payload,
            occurred_at: change.at,
        },
    )
    .await
}

async fn reread(tx: &mut Tx, enrolment_id: Uuid) -> AppResult<enrolments::EnrolmentRow> {
    enrolments::get(&mut **tx, enrolment_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("changed enrolment {enrolment_id} vanished").into())
}

/// Suspend, resume or terminate; the reply is built from the enrolment as changed.
pub async fn change_status<R>(
    state: &AppState,
    principal: &Principal,
    command: ChangeStatus,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a enrolments::EnrolmentRow>,
{
    let idempotent = Idempotent::new(principal, rpc(command.change), &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let locked = lock(&mut tx, principal, command.enrolment_id).await?;
    let next = check(&mut tx, state, &locked, command.change, command.effective).await?;
    let actor = principal.caller_key();
    record(
        &mut tx,
        &locked,
        &Recorded {
            status: next,
            effective: command.effective,
            reason: command.reason,
            related: None,
            actor: &actor,
            at: state.clock.now(),
        },
    )
    .await?;
    let reply = R::from(&reread(&mut tx, command.enrolment_id).await?);
    idempotent.commit(state, tx, &reply).await?;
    tracing::info!(enrolment_id = %command.enrolment_id, status = next.as_str(), "enrolment changed");
    Ok(reply)
}

/// Transfer: the enrolment ends on the effective date and a linked one starts at the new place
/// (possibly in another province, where the platform must be in the pilot on that day).
pub async fn transfer<R>(state: &AppState, principal: &Principal, command: Transfer) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a Transferred>,
{
    let idempotent = Idempotent::new(principal, rpc(Change::Transfer), &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let locked = lock(&mut tx, principal, command.enrolment_id).await?;
    let next = check(&mut tx, state, &locked, Change::Transfer, command.effective).await?;
    if command.new_place.as_str() == locked.row.place_code {
        return Err(AppError::invalid(
            "new_place_of_employment",
            "is already this enrolment's place of employment",
        ));
    }
    let (_, platform) = super::owner_of(&locked.row)?;
    let new_province = command.new_place.province();
    if !pilot_scope::covers(
        &mut *tx,
        new_province.as_str(),
        platform.as_str(),
        command.effective,
    )
    .await?
    {
        return Err(not_in_pilot(&platform, &new_province, command.effective));
    }
    let actor = principal.caller_key();
    let now = state.clock.now();
    let new_id = Uuid::now_v7();
    let recorded = |status, related| Recorded {
        status,
        effective: command.effective,
        reason: command.reason,
        related: Some(related),
        actor: &actor,
        at: now,
    };
    record(&mut tx, &locked, &recorded(next, new_id)).await?;
    continue_elsewhere(state, &mut tx, &locked, &command, new_id, &actor, now).await?;
    let current = reread(&mut tx, new_id).await?;
    event_store::append(
        &mut tx,
        event_store::NewEvent {
            province_code: &current.province_code,
            event_type: event_store::ENROLMENT_OPENED,
            aggregate_id: new_id,
            payload: events::opened(&current, &locked.person_key, &actor, now),
            occurred_at: now,
        },
    )
    .await?;
    let answer = Transferred {
        previous: reread(&mut tx, locked.row.enrolment_id).await?,
        current,
    };
    let reply = R::from(&answer);
    idempotent.commit(state, tx, &reply).await?;
    tracing::info!(from = %locked.row.enrolment_id, to = %new_id, "enrolment transferred");
    Ok(reply)
}

/// Inserts the continuation of a transfer and its first history entry.
async fn continue_elsewhere(
    state: &AppState,
    tx: &mut Tx,
    locked: &Locked,
    command: &Transfer,
    new_id: Uuid,
    actor: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    // Personal data is sealed to its row, so the continuation gets its own ciphertexts.
    let reseal = |sealed| -> AppResult<_> {
        let plain = state.pii.open(sealed, locked.row.enrolment_id.as_bytes())?;
        Ok(state.pii.seal(&plain, new_id.as_bytes())?)
    };
    let (name, phone) = (reseal(&locked.name)?, reseal(&locked.phone)?);
    store::insert_continuation(
        tx,
        locked,
        &Continuation {
            enrolment_id: new_id,
            place: &command.new_place,
            cover_start: command.effective,
            name: &name,
            phone: &phone,
            created_by: actor,
            at: now,
        },
    )
    .await?;
    store::append_history(
        tx,
        &HistoryRow {
            province_code: command.new_place.province().as_str().to_owned(),
            enrolment_id: new_id,
            seq: 1,
            status: EnrolmentStatus::Active,
            effective_date: command.effective,
            reason: command.reason,
            actor: actor.to_owned(),
            recorded_at: now,
            related_enrolment_id: Some(locked.row.enrolment_id),
        },
    )
    .await
}
