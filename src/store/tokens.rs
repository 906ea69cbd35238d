//! API tokens: only a hash of each secret is stored.
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub token_id: String,
    pub secret_hash: Vec<u8>,
    pub role: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(db: impl PgExecutor<'_>, token: &TokenRow) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO api_tokens (token_id, secret_hash, role, label, created_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        token.token_id,
        token.secret_hash,
        token.role,
        token.label,
        token.created_at,
        token.revoked_at,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn get(db: impl PgExecutor<'_>, token_id: &str) -> AppResult<Option<TokenRow>> {
    Ok(sqlx::query_as!(
        TokenRow,
        "SELECT token_id, secret_hash, role, label, created_at, revoked_at
         FROM api_tokens WHERE token_id = $1",
        token_id,
    )
    .fetch_optional(db)
    .await?)
}

/// Marks the token revoked (keeping the first revocation time); None if there is no such token.
pub async fn revoke(
    db: impl PgExecutor<'_>,
    token_id: &str,
    at: DateTime<Utc>,
) -> AppResult<Option<TokenRow>> {
    Ok(sqlx::query_as!(
        TokenRow,
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE token_id = $1
         RETURNING token_id, secret_hash, role, label, created_at, revoked_at",
        token_id,
        at,
    )
    .fetch_optional(db)
    .await?)
}

/// Tokens newest first, after `after` (a token id; keyset pagination on the time-ordered ids).
pub async fn list(
    db: impl PgExecutor<'_>,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<TokenRow>> {
    Ok(sqlx::query_as!(
        TokenRow,
        "SELECT token_id, secret_hash, role, label, created_at, revoked_at
         FROM api_tokens WHERE ($1::text IS NULL OR token_id < $1)
         ORDER BY token_id DESC LIMIT $2",
        after,
        limit,
    )
    .fetch_all(db)
    .await?)
}
