//! The claim's event, `claim.<step>.v1` with a `ClaimStepV1` payload: the federation wire format.
//! It carries the person key and the masked ID number, never the description or other free text.
use super::record::Change;
use crate::api::convert::{date_to_proto, timestamp};
use crate::domain::claim::{PaymentNote, maintenance_type_code};
use crate::domain::periodic;
use crate::error::AppResult;
use crate::pb;
use crate::store::claims::ClaimRow;
use crate::store::{Tx, events};
use chrono::{DateTime, Utc};
use prost::Message;

/// The event type of a step, e.g. `claim.reported.v1`.
pub fn event_type(step: crate::domain::claim::StepTaken) -> String {
    format!("claim.{}.v1", step.as_str())
}

/// Appends the event of `change`, taken on `claim` (already in its new state).
pub(super) async fn append_step(
    tx: &mut Tx,
    claim: &ClaimRow,
    change: &Change,
    actor: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let payload = pb::ClaimStepV1 {
        claim_id: claim.claim_id.to_string(),
        province_code: claim.province_code.clone(),
        platform_id: claim.platform_id.clone(),
        step: pb::ClaimStep::from(change.step) as i32,
        status: pb::ClaimStatus::from(claim.status) as i32,
        maintenance_type_code: maintenance_type_code(
            change.step,
            claim.status,
            PaymentNote {
                first: change.first_payment,
                periodic: change.month.is_some(),
            },
        )
        .to_owned(),
        person_key: hex::encode(&claim.person_key),
        id_number_masked: claim.id_masked.clone(),
        kind: pb::IncidentKind::from(claim.kind) as i32,
        benefit_kind: change
            .benefit_kind
            .map_or(pb::BenefitKind::Unspecified, pb::BenefitKind::from)
            as i32,
        amount_fen: change.amount.0,
        grade: claim.grade.map(i32::from),
        occurred_at: Some(timestamp(now)),
        actor: actor.to_owned(),
        benefit_item: change.item.unwrap_or(0),
        month: change.month.map(periodic::show).unwrap_or_default(),
        periodic_change: change
            .periodic_change
            .map_or(pb::PeriodicChange::Unspecified, |c| c.kind.into())
            as i32,
        change_reason: change
            .periodic_change
            .map_or(pb::PeriodicChangeReason::Unspecified, |c| c.reason.into())
            as i32,
        effective_on: change
            .periodic_change
            .map(|c| date_to_proto(c.effective_on)),
        adjustment_version: change.adjustment_version.clone().unwrap_or_default(),
    };
    events::append(
        tx,
        events::NewEvent {
            province_code: &claim.province_code,
            event_type: &event_type(change.step),
            aggregate_id: claim.claim_id,
            payload: payload.encode_to_vec(),
            occurred_at: now,
        },
    )
    .await
}
