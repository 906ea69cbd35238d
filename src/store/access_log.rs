//! The append-only log of lookups of a person by full ID number (PIPL). Rows are written in
//! groups by `crate::access_log`.
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

/// One row of the log, owned so that it can wait for its group.
pub struct AccessRow {
    access_id: Uuid,
    at: DateTime<Utc>,
    actor: String,
    token_id: String,
    person_key: Vec<u8>,
    rpc: String,
    results: i32,
}

impl AccessRow {
    /// The row of a lookup that found `results` records.
    pub fn new(access: &Access<'_>, results: i32) -> Self {
        Self {
            access_id: Uuid::now_v7(),
            at: access.at,
            actor: access.actor.clone(),
            token_id: access.token_id.to_owned(),
            person_key: access.person_key.to_vec(),
            rpc: access.rpc.to_owned(),
            results,
        }
    }
}

/// Inserts a group of rows in one statement (its own transaction when `db` is the pool).
pub async fn insert_group(db: impl PgExecutor<'_>, rows: &[&AccessRow]) -> AppResult<()> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.access_id).collect();
    let at: Vec<DateTime<Utc>> = rows.iter().map(|r| r.at).collect();
    let actors: Vec<&str> = rows.iter().map(|r| r.actor.as_str()).collect();
    let tokens: Vec<&str> = rows.iter().map(|r| r.token_id.as_str()).collect();
    let people: Vec<&[u8]> = rows.iter().map(|r| r.person_key.as_slice()).collect();
    let rpcs: Vec<&str> = rows.iter().map(|r| r.rpc.as_str()).collect();
    let results: Vec<i32> = rows.iter().map(|r| r.results).collect();
    sqlx::query!(
        "INSERT INTO person_access_log (access_id, accessed_at, actor, token_id, person_key, rpc, results)
         SELECT * FROM UNNEST($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::bytea[],
                              $6::text[], $7::int[])",
        &ids,
        &at,
        &actors as _,
        &tokens as _,
        &people as _,
        &rpcs as _,
        &results,
    )
    .execute(db)
    .await?;
    Ok(())
}
