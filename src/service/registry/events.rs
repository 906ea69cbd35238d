//! The registry's event: a pilot scope period added or ended, in the province's stream.
use crate::api::convert::{date_to_proto, timestamp};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::pb;
use crate::store::pilot_scope::ScopeRow;
use crate::store::{Tx, events};
use chrono::{DateTime, Utc};
use prost::Message;
use uuid::Uuid;

pub(super) async fn scope_changed(
    tx: &mut Tx,
    row: &ScopeRow,
    actor: &Principal,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let event = pb::PilotScopeChangedV1 {
        province_code: row.province_code.clone(),
        platform_id: row.platform_id.clone(),
        valid_from: Some(date_to_proto(row.valid_from)),
        valid_to: row.valid_to.map(date_to_proto),
        occurred_at: Some(timestamp(now)),
        actor: actor.caller_key(),
    };
    events::append(
        tx,
        events::NewEvent {
            province_code: &row.province_code,
            event_type: events::PILOT_SCOPE_CHANGED,
            aggregate_id: Uuid::now_v7(),
            payload: event.encode_to_vec(),
            occurred_at: now,
        },
    )
    .await
}
