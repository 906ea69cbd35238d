//! The transactional outbox. Writers only insert; numbering happens after commit (federation).
use super::Tx;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub const ENROLMENT_OPENED: &str = "enrolment.opened.v1";
pub const ENROLMENT_CHANGED: &str = "enrolment.changed.v1";
pub const PILOT_SCOPE_CHANGED: &str = "pilot_scope.changed.v1";
pub const DECLARATION_FILED: &str = "declaration.filed.v1";
pub const PAYMENT_RECORDED: &str = "payment.recorded.v1";
pub const PENSION_CHANGED: &str = "pension.changed.v1";
pub const ORDERS_RECORDED: &str = "orders.recorded.v1";
pub const SUPERVISION_FINDING_OPENED: &str = "supervision.finding_opened.v1";
pub const SUPERVISION_FINDING_RESOLVED: &str = "supervision.finding_resolved.v1";

pub struct NewEvent<'a> {
    pub province_code: &'a str,
    pub event_type: &'a str,
    pub aggregate_id: Uuid,
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
}

pub async fn append(tx: &mut Tx, event: NewEvent<'_>) -> AppResult<()> {
    append_many(tx, &[event]).await
}

/// Appends events in one statement.
pub async fn append_many(tx: &mut Tx, events: &[NewEvent<'_>]) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO events (province_code, event_id, event_type, aggregate_id, payload, occurred_at)
         SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::uuid[], $5::bytea[], $6::timestamptz[])",
        events.iter().map(|e| e.province_code).collect::<Vec<_>>() as _,
        &events.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>(),
        events.iter().map(|e| e.event_type).collect::<Vec<_>>() as _,
        &events.iter().map(|e| e.aggregate_id).collect::<Vec<_>>(),
        events.iter().map(|e| e.payload.as_slice()).collect::<Vec<_>>() as _,
        &events.iter().map(|e| e.occurred_at).collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
