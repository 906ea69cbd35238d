//! Idempotency records (AIP-155), in the same transaction as the side effect.
//!
//! `claim` inserts the key first. A concurrent request with the same key blocks on the unique index
//! until the first transaction ends, then sees its committed record and replays it; if the first
//! rolled back, the second proceeds as if it were first. So two identical racing requests make one
//! side effect.
use super::{Tx, column};
use crate::error::{AppError, AppResult};
use crate::pii::Sealed;
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
    Replay(Stored),
}

/// A stored response: sealed, or plain if written before responses were sealed (`serve` seals
/// those at start-up, see `seal_plain_responses`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Sealed(Sealed),
    Plain(Vec<u8>),
}

pub async fn claim(tx: &mut Tx, key: &Key<'_>, now: DateTime<Utc>) -> AppResult<Claim> {
    let one = BatchKey {
        request_id: key.request_id,
        request_hash: key.request_hash,
        response: None,
    };
    let claimed = claim_many(tx, key.caller, key.rpc, &[one], now)
        .await?
        .pop();
    match claimed {
        Some(BatchClaim::Fresh) => Ok(Claim::Fresh),
        Some(BatchClaim::Replay(response)) => Ok(Claim::Replay(response)),
        Some(BatchClaim::Mismatch) => Err(AppError::reused_request_id()),
        None => Err(anyhow::anyhow!("an idempotency claim returned nothing").into()),
    }
}

pub async fn complete(tx: &mut Tx, key: &Key<'_>, response: &Sealed) -> AppResult<()> {
    sqlx::query!(
        "UPDATE idempotency_keys SET response = $3, response_key_id = $4
         WHERE caller = $1 AND request_id = $2",
        key.caller,
        key.request_id,
        response.bytes,
        response.key_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One item of a set-based claim.
pub struct BatchKey<'a> {
    pub request_id: &'a str,
    pub request_hash: &'a [u8],
    /// The sealed response to store now when it is known before the work (it is released if the
    /// work fails); None to store it later with `complete`.
    pub response: Option<&'a Sealed>,
}

/// What a set-based claim found for each item, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchClaim {
    Fresh,
    Replay(Stored),
    /// The request_id was used before for a different request.
    Mismatch,
}

#[derive(sqlx::FromRow)]
struct StoredKey {
    request_id: String,
    rpc: String,
    request_hash: Vec<u8>,
    response: Option<Vec<u8>>,
    response_key_id: Option<String>,
}

/// Claims many keys of one caller and RPC in a few statements. Keys must be distinct; they are
/// inserted in sorted order so that concurrent batches wait on each other instead of deadlocking.
pub async fn claim_many(
    tx: &mut Tx,
    caller: &str,
    rpc: &str,
    keys: &[BatchKey<'_>],
    now: DateTime<Utc>,
) -> AppResult<Vec<BatchClaim>> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| keys[i].request_id);
    let ids = column(keys, &order, |key| key.request_id);
    let hashes = column(keys, &order, |key| key.request_hash);
    let responses = column(keys, &order, |key| key.response.map(|r| r.bytes.as_slice()));
    let key_ids = column(keys, &order, |key| key.response.map(|r| r.key_id.as_str()));
    let fresh: Vec<String> = sqlx::query_scalar!(
        "INSERT INTO idempotency_keys
             (caller, request_id, rpc, request_hash, response, response_key_id, created_at)
         SELECT $1, t.request_id, $2, t.request_hash, t.response, t.key_id, $3
         FROM UNNEST($4::text[], $5::bytea[], $6::bytea[], $7::text[])
              WITH ORDINALITY AS t(request_id, request_hash, response, key_id, n)
         ORDER BY t.n
         ON CONFLICT (caller, request_id) DO NOTHING
         RETURNING request_id",
        caller,
        rpc,
        now,
        ids as _,
        hashes as _,
        responses as _,
        key_ids as _,
    )
    .fetch_all(&mut **tx)
    .await?;
    let fresh: std::collections::HashSet<String> = fresh.into_iter().collect();
    let seen: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !fresh.contains(*id))
        .collect();
    let mut earlier = std::collections::HashMap::new();
    if !seen.is_empty() {
        let rows: Vec<StoredKey> = sqlx::query_as!(
            StoredKey,
            "SELECT request_id, rpc, request_hash, response, response_key_id FROM idempotency_keys
             WHERE caller = $1 AND request_id = ANY($2)",
            caller,
            seen as _,
        )
        .fetch_all(&mut **tx)
        .await?;
        for row in rows {
            let stored = match (row.response, row.response_key_id) {
                (Some(bytes), Some(key_id)) => Some(Stored::Sealed(Sealed { key_id, bytes })),
                (Some(bytes), None) => Some(Stored::Plain(bytes)),
                (None, _) => None,
            };
            earlier.insert(row.request_id, (row.rpc, row.request_hash, stored));
        }
    }
    keys.iter()
        .map(|key| {
            if fresh.contains(key.request_id) {
                return Ok(BatchClaim::Fresh);
            }
            match earlier.get(key.request_id) {
                Some((stored_rpc, hash, _)) if stored_rpc != rpc || hash != key.request_hash => {
                    Ok(BatchClaim::Mismatch)
                }
                Some((_, _, Some(response))) => Ok(BatchClaim::Replay(response.clone())),
                _ => Err(anyhow::anyhow!("idempotency record vanished or has no response").into()),
            }
        })
        .collect()
}

/// Releases the claims of fresh items that failed, so a corrected retry with the same key works.
pub async fn release_many(tx: &mut Tx, caller: &str, request_ids: &[&str]) -> AppResult<()> {
    if request_ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "DELETE FROM idempotency_keys WHERE caller = $1 AND request_id = ANY($2)",
        caller,
        request_ids as _,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Seals responses stored before responses were sealed, a batch at a time, and returns how many
/// it sealed. Run by `serve` at start-up; harmless to repeat.
pub async fn seal_plain_responses(
    pool: &sqlx::PgPool,
    pii: &crate::pii::PiiKeys,
) -> anyhow::Result<u64> {
    let mut sealed = 0;
    loop {
        let mut tx = pool.begin().await?;
        let rows: Vec<(String, String, Vec<u8>)> = sqlx::query!(
            r#"SELECT caller, request_id, response AS "response!" FROM idempotency_keys
             WHERE response IS NOT NULL AND response_key_id IS NULL
             LIMIT 1000 FOR UPDATE SKIP LOCKED"#,
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|row| (row.caller, row.request_id, row.response))
        .collect();
        if rows.is_empty() {
            return Ok(sealed);
        }
        for (caller, request_id, response) in &rows {
            let seal = pii.seal_bytes(response, &response_context(caller, request_id))?;
            sqlx::query!(
                "UPDATE idempotency_keys SET response = $3, response_key_id = $4
                 WHERE caller = $1 AND request_id = $2",
                caller,
                request_id,
                seal.bytes,
                seal.key_id,
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        sealed += rows.len() as u64;
    }
}

/// What a stored response is sealed to: its caller and request_id, so it opens nowhere else.
pub fn response_context(caller: &str, request_id: &str) -> Vec<u8> {
    let mut context = Vec::with_capacity(caller.len() + request_id.len() + 1);
    context.extend_from_slice(caller.as_bytes());
    context.push(0);
    context.extend_from_slice(request_id.as_bytes());
    context
}
