//! The append-only log of lookups of a person by full ID number (PIPL).
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

pub struct Access<'a> {
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub token_id: &'a str,
    pub person_key: &'a [u8],
    pub rpc: &'a str,
    pub results: i32,
}

pub async fn record(db: impl PgExecutor<'_>, access: &Access<'_>) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO person_access_log (access_id, accessed_at, actor, token_id, person_key, rpc, results)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(access.at)
    .bind(access.actor)
    .bind(access.token_id)
    .bind(access.person_key)
    .bind(access.rpc)
    .bind(access.results)
    .execute(db)
    .await?;
    Ok(())
}
