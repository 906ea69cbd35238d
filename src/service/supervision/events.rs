//! Supervision events, in the federation's wire format: a finding opened or resolved, on its
//! province's stream. The samples (order ids, masked workers) stay out of events.
use crate::api::convert::timestamp;
use crate::domain::supervision::{Change, Transition};
use crate::pb;
use crate::store::events::{NewEvent, SUPERVISION_FINDING_OPENED, SUPERVISION_FINDING_RESOLVED};
use crate::store::supervision_reads::FindingView;
use chrono::{DateTime, Utc};
use prost::Message;

/// One event per finding whose state changed.
pub fn changed(changes: &[Change], now: DateTime<Utc>) -> Vec<NewEvent<'_>> {
    changes
        .iter()
        .filter_map(|change| {
            let event_type = match change.transition? {
                Transition::Opened => SUPERVISION_FINDING_OPENED,
                Transition::Resolved => SUPERVISION_FINDING_RESOLVED,
            };
            let view = FindingView {
                finding: change.finding.clone(),
                sample_order_ids: Vec::new(),
                sample_workers: Vec::new(),
            };
            let payload = pb::FindingChangedV1 {
                finding: Some(pb::Finding::from(&view)),
                occurred_at: Some(timestamp(now)),
            };
            Some(NewEvent {
                province_code: change.finding.province_code.as_str(),
                event_type,
                aggregate_id: change.finding.finding_id,
                payload: payload.encode_to_vec(),
                occurred_at: now,
            })
        })
        .collect()
}
