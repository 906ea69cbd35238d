//! Platform enterprises.
use super::Tx;
use crate::error::{AppError, AppResult, UNIQUE_VIOLATION, sqlstate};
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlatformRow {
    pub platform_id: String,
    pub name: String,
    pub credit_code: Option<String>,
    pub industries: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Registers a platform. A platform seeded without a credit code (the pilot list) is completed by
/// its registration; any other existing platform id or credit code is ALREADY_EXISTS.
pub async fn register(tx: &mut Tx, platform: &PlatformRow) -> AppResult<PlatformRow> {
    let registered = sqlx::query_as!(
        PlatformRow,
        "INSERT INTO platforms (platform_id, name, credit_code, industries, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (platform_id) DO UPDATE
           SET name = EXCLUDED.name, credit_code = EXCLUDED.credit_code,
               industries = EXCLUDED.industries
           WHERE platforms.credit_code IS NULL
         RETURNING platform_id, name, credit_code, industries, created_at",
        platform.platform_id,
        platform.name,
        platform.credit_code.as_deref(),
        &platform.industries,
        platform.created_at,
    )
    .fetch_optional(&mut **tx)
    .await;
    match registered {
        Ok(Some(row)) => Ok(row),
        Ok(None) => Err(AppError::AlreadyExists(format!(
            "platform {} is already registered",
            platform.platform_id
        ))),
        Err(error) if sqlstate(&error).as_deref() == Some(UNIQUE_VIOLATION) => {
            Err(AppError::AlreadyExists(
                "this credit code is already registered to another platform".into(),
            ))
        }
        Err(error) => Err(error.into()),
    }
}

/// Inserts a platform unless it exists; for seeding.
pub async fn ensure(tx: &mut Tx, platform: &PlatformRow) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO platforms (platform_id, name, credit_code, industries, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform_id) DO NOTHING",
        platform.platform_id,
        platform.name,
        platform.credit_code.as_deref(),
        &platform.industries,
        platform.created_at,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: impl PgExecutor<'_>, platform_id: &str) -> AppResult<Option<PlatformRow>> {
    Ok(sqlx::query_as!(
        PlatformRow,
        "SELECT platform_id, name, credit_code, industries, created_at
         FROM platforms WHERE platform_id = $1",
        platform_id,
    )
    .fetch_optional(db)
    .await?)
}

/// Platforms ordered by id, after `after` (keyset pagination).
pub async fn list(db: impl PgExecutor<'_>, after: &str, limit: i64) -> AppResult<Vec<PlatformRow>> {
    Ok(sqlx::query_as!(
        PlatformRow,
        "SELECT platform_id, name, credit_code, industries, created_at
         FROM platforms WHERE platform_id > $1 ORDER BY platform_id LIMIT $2",
        after,
        limit,
    )
    .fetch_all(db)
    .await?)
}
