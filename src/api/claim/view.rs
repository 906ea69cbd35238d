//! Who may see a claim, and the claim as a caller sees it. Every answer that shows a claim's
//! details is written to the access log (injury details are sensitive personal information).
use crate::api::convert::{date_to_proto, timestamp};
use crate::api::{AppState, person_access};
use crate::auth::Principal;
use crate::domain::claim::IncidentKind;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::pb;
use crate::pii::Sealed;
use crate::store::access_log;
use crate::store::claims::{self as store, ClaimRow};
use uuid::Uuid;

pub fn parse_claim_id(raw: &str) -> AppResult<Uuid> {
    Uuid::parse_str(raw.trim()).map_err(|_| AppError::invalid("claim_id", "must be a UUID"))
}

/// A platform sees its own workers' claims, a province agency its province's, national readers
/// all. Anyone else is told the claim does not exist.
pub fn visible_to(principal: &Principal, claim: &ClaimRow) -> bool {
    match &principal.role {
        Role::NationalAdmin | Role::Auditor => true,
        Role::ProvinceAgency(own) => own.as_str() == claim.province_code,
        Role::Platform(own) => own.as_str() == claim.platform_id,
    }
}

pub fn not_found(claim_id: Uuid) -> AppError {
    AppError::NotFound(format!("no claim {claim_id}"))
}

/// Duplicate flags are for the agencies: a platform must not learn of another platform's report.
fn sees_duplicates(principal: &Principal) -> bool {
    !matches!(principal.role, Role::Platform(_))
}

pub fn kind_to_proto(stored: &str) -> i32 {
    match IncidentKind::parse(stored) {
        Some(IncidentKind::Injury) => pb::IncidentKind::Injury as i32,
        Some(IncidentKind::Death) => pb::IncidentKind::Death as i32,
        None => pb::IncidentKind::Unspecified as i32,
    }
}

pub fn applicant_to_proto(stored: Option<&str>) -> i32 {
    match stored {
        Some("platform") => pb::Applicant::Platform as i32,
        Some("worker") => pb::Applicant::Worker as i32,
        Some("relative") => pb::Applicant::Relative as i32,
        _ => pb::Applicant::Unspecified as i32,
    }
}

/// The summary fields, without description, timeline, benefits or duplicate flags.
pub fn summary(claim: &ClaimRow) -> pb::Claim {
    pb::Claim {
        claim_id: claim.claim_id.to_string(),
        province_code: claim.province_code.clone(),
        platform_id: claim.platform_id.clone(),
        id_number_masked: claim.id_masked.clone(),
        order_id: claim.order_id.clone(),
        occurred_at: Some(timestamp(claim.occurred_at)),
        place_code: claim.place_code.clone(),
        kind: kind_to_proto(&claim.kind),
        description: String::new(),
        status: claim.status.clone(),
        covered: claim.covered,
        enrolment_id: claim
            .enrolment_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        covering_order_id: claim.covering_order_id.clone().unwrap_or_default(),
        reported_at: Some(timestamp(claim.reported_at)),
        platform_application_due: Some(date_to_proto(claim.platform_application_due)),
        worker_application_due: Some(date_to_proto(claim.worker_application_due)),
        decision_due: claim.decision_due.map(date_to_proto),
        applicant: applicant_to_proto(claim.applicant.as_deref()),
        late_explanation: claim.late_explanation.clone().unwrap_or_default(),
        decision_reasons: claim.decision_reasons.clone().unwrap_or_default(),
        grade: claim.grade.map_or(-1, i32::from),
        benefits: Vec::new(),
        timeline: Vec::new(),
        possible_duplicate: false,
        possible_duplicate_of: Vec::new(),
    }
}

/// The whole claim for `principal`, read in `tx` and logged as a read through `rpc`.
pub async fn full(
    state: &AppState,
    tx: &mut crate::store::Tx,
    principal: &Principal,
    claim: &ClaimRow,
    rpc: &str,
) -> AppResult<pb::Claim> {
    let mut answer = summary(claim);
    let sealed = Sealed {
        key_id: claim.description_key_id.clone(),
        bytes: claim.description_ciphertext.clone(),
    };
    answer.description = state
        .pii
        .open(&sealed, claim.claim_id.as_bytes())
        .map_err(|error| anyhow::anyhow!("opening claim {}: {error}", claim.claim_id))?;
    answer.timeline = store::timeline(&mut **tx, claim)
        .await?
        .into_iter()
        .map(|t| pb::TimelineEntry {
            seq: t.seq,
            step: t.step,
            status: t.status,
            at: Some(timestamp(t.at)),
            actor: t.actor,
            detail: t.detail,
        })
        .collect();
    answer.benefits = store::items(&mut **tx, claim)
        .await?
        .into_iter()
        .map(|item| pb::BenefitItem {
            kind: item.kind,
            payer: item.payer,
            amount_fen: item.amount_fen,
            monthly: item.monthly,
            formula: item.formula,
            inputs: item
                .input_names
                .into_iter()
                .zip(item.input_values)
                .collect(),
            paid_fen: item.paid_fen,
        })
        .collect();
    if sees_duplicates(principal) {
        let others = store::duplicates_of(&mut **tx, claim.claim_id).await?;
        answer.possible_duplicate = !others.is_empty();
        answer.possible_duplicate_of = others.iter().map(Uuid::to_string).collect();
    }
    access_log::record(
        &mut **tx,
        &person_access(state, principal, &claim.person_key, rpc),
        1,
    )
    .await?;
    Ok(answer)
}
