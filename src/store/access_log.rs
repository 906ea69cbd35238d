//! The append-only log of lookups of a person by full ID number (PIPL).
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// Who looked up which person, when, through which RPC.
pub struct Access<'a> {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub token_id: &'a str,
    pub person_key: &'a [u8],
    pub rpc: &'a str,
}

/// Logs a lookup that found `results` records.
pub async fn record(db: impl PgExecutor<'_>, access: &Access<'_>, results: i32) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO person_access_log (access_id, accessed_at, actor, token_id, person_key, rpc, results)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        Uuid::now_v7(),
        access.at,
        access.actor,
        access.token_id,
        access.person_key,
        access.rpc,
        results,
    )
    .execute(db)
    .await?;
    Ok(())
}
