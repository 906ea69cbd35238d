//! The transactional outbox. Writers only insert; numbering happens after commit (federation).
use super::Tx;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub struct NewEvent<'a> {
    pub province_code: &'a str,
    pub event_type: &'a str,
    pub aggregate_id: Uuid,
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
}

pub async fn append(tx: &mut Tx, event: NewEvent<'_>) -> AppResult<Uuid> {
    let event_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO events (province_code, event_id, event_type, aggregate_id, payload, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(event.province_code)
    .bind(event_id)
    .bind(event.event_type)
    .bind(event.aggregate_id)
    .bind(event.payload)
    .bind(event.occurred_at)
    .execute(&mut **tx)
    .await?;
    Ok(event_id)
}
