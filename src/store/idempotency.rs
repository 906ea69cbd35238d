//! Idempotency records (AIP-155), in the same transaction as the side effect.
//!
//! `claim` inserts the key first. A concurrent request with the same key blocks on the unique index
//! until the first transaction ends, then sees its committed record and replays it; if the first
//! rolled back, the second proceeds as if it were first. So two identical racing requests make one
//! side effect.
use super::Tx;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};

pub struct Key<'a> {
    /// The caller's role, so keys of different callers never collide.
    pub caller: &'a str,
    pub request_id: &'a str,
    pub rpc: &'a str,
    /// Hash of the whole request, to tell a retry from a different request under the same key.
    pub request_hash: &'a [u8],
}

pub enum Claim {
    /// First time: do the work, then `complete`.
    Fresh,
    /// Seen before: return this stored response.
    Replay(Vec<u8>),
}

pub async fn claim(tx: &mut Tx, key: &Key<'_>, now: DateTime<Utc>) -> AppResult<Claim> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (caller, request_id, rpc, request_hash, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (caller, request_id) DO NOTHING",
    )
    .bind(key.caller)
    .bind(key.request_id)
    .bind(key.rpc)
    .bind(key.request_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let (rpc, request_hash, response): (String, Vec<u8>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT rpc, request_hash, response FROM idempotency_keys
         WHERE caller = $1 AND request_id = $2",
    )
    .bind(key.caller)
    .bind(key.request_id)
    .fetch_one(&mut **tx)
    .await?;
    if rpc != key.rpc || request_hash != key.request_hash {
        return Err(AppError::invalid(
            "request_id",
            "this request_id was already used for a different request; use a new request_id",
        ));
    }
    let response = response
        .ok_or_else(|| anyhow::anyhow!("committed idempotency record without a response"))?;
    Ok(Claim::Replay(response))
}

pub async fn complete(tx: &mut Tx, key: &Key<'_>, response: &[u8]) -> AppResult<()> {
    sqlx::query("UPDATE idempotency_keys SET response = $3 WHERE caller = $1 AND request_id = $2")
        .bind(key.caller)
        .bind(key.request_id)
        .bind(response)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
