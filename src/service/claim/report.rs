//! ReportIncident: a platform reports an incident of one of its workers. The report is always
//! recorded; coverage at the instant is checked and stored, and so are the application deadlines.
//! Reports of the same person close in time, through any platform, are flagged as possible
//! duplicates for those who may see the flags.
use super::record::{Change, finish, record_change};
use super::{ClaimReply, ReportIncident, Worker};
use crate::auth::Principal;
use crate::domain::claim::{ApplicationDeadlines, ClaimStatus, StepTaken};
use crate::domain::clock::{check_fact_instant, china_date};
use crate::domain::platform::PlatformId;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner};
use crate::service::{AppState, Idempotent, person_access, record_province};
use crate::store::claims::{self as store, ClaimRow};
use crate::store::{coverage, enrolments};
use uuid::Uuid;

const RPC: &str = "ReportIncident";

/// The reporting platform, once the policy allows the caller to report.
fn reporting_platform(principal: &Principal) -> AppResult<PlatformId> {
    let platform = principal.role.platform();
    policy::authorize_scope(
        &principal.role,
        Action::ReportIncident,
        Owner {
            province: None,
            platform,
        },
    )?;
    platform
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("a caller allowed to report is not a platform").into())
}

pub async fn report_incident<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    command: ReportIncident,
) -> AppResult<R> {
    let platform = reporting_platform(principal)?;
    check_fact_instant(command.occurred_at, state.clock.now())
        .map_err(|invalid| AppError::invalid("occurred_at", invalid.0))?;
    let idempotent = Idempotent::new(principal, RPC, &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let now = state.clock.now();
    // The person: by ID number, or through one of this platform's enrolments.
    let (person_key, id_masked, enrolment_id) = match &command.worker {
        Worker::IdNumber(id) => (state.pii.person_key(id), id.masked(), None),
        Worker::Enrolment(enrolment_id) => {
            let (key, id_masked) =
                enrolments::person_of(&mut *tx, *enrolment_id, platform.as_str())
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("no enrolment {enrolment_id}")))?;
            (key, id_masked, Some(*enrolment_id))
        }
    };
    let access = matches!(command.worker, Worker::IdNumber(_))
        .then(|| person_access(state, principal, &person_key, RPC));
    let occurred = command.occurred_at;
    let covering = coverage::coverage_at(
        &mut *tx,
        &coverage::CoverageQuery {
            person_key: Some(&person_key),
            enrolment_id: None,
            at: occurred,
            day: china_date(occurred),
            platform_id: Some(platform.as_str()),
            province_code: None,
            // The order the report names wins when it was in progress at the instant.
            order_id: Some(&command.order_id),
        },
        access.as_ref(),
    )
    .await?
    // Reported by enrolment id: that enrolment's cover counts, not another of the person's.
    .filter(|(row, _)| enrolment_id.is_none_or(|id| id == row.enrolment_id));
    let province_code = covering
        .as_ref()
        .map(|(row, _)| row.province_code.clone())
        .unwrap_or_else(|| command.place.province().to_string());
    record_province(&province_code);
    let policy = state.cache.claim_policy(&mut *tx, &province_code).await?;
    let deadlines = ApplicationDeadlines::new(&policy, china_date(now), china_date(occurred));
    let claim_id = Uuid::now_v7();
    let sealed = state
        .pii
        .seal(&command.description, claim_id.as_bytes())
        .map_err(|error| anyhow::anyhow!("sealing a claim description: {error}"))?;
    let mut claim = ClaimRow {
        province_code,
        claim_id,
        platform_id: platform.to_string(),
        person_key,
        id_masked,
        order_id: command.order_id,
        occurred_at: occurred,
        place_code: command.place.as_str().to_owned(),
        kind: command.kind,
        description_ciphertext: sealed.bytes,
        description_key_id: sealed.key_id,
        status: ClaimStatus::Reported,
        covered: covering.is_some(),
        enrolment_id: covering
            .as_ref()
            .map(|(row, _)| row.enrolment_id)
            .or(enrolment_id),
        covering_order_id: covering
            .as_ref()
            .and_then(|(_, order)| order.as_ref().map(|o| o.order_id.clone())),
        reported_at: now,
        platform_application_due: deadlines.platform,
        worker_application_due: deadlines.worker,
        decision_due: None,
        decision_due_provisional: false,
        decision_counted_from: None,
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
        Change::new(StepTaken::Reported, ClaimStatus::Reported, detail),
    )
    .await?;
    finish(state, tx, &idempotent, principal, claim, RPC).await
}
