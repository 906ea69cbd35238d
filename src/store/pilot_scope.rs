//! The pilot scope: which platform is in the pilot in which province, over [valid_from, valid_to).
use super::Tx;
use crate::error::{AppError, AppResult, EXCLUSION_VIOLATION, FOREIGN_KEY_VIOLATION, sqlstate};
use chrono::NaiveDate;
use sqlx::PgExecutor;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScopeRow {
    pub province_code: String,
    pub platform_id: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

pub async fn add(tx: &mut Tx, scope: &ScopeRow) -> AppResult<ScopeRow> {
    let added = sqlx::query_as!(
        ScopeRow,
        "INSERT INTO pilot_scope (province_code, platform_id, valid_from, valid_to)
         VALUES ($1, $2, $3, $4)
         RETURNING province_code, platform_id, valid_from, valid_to",
        scope.province_code,
        scope.platform_id,
        scope.valid_from,
        scope.valid_to,
    )
    .fetch_one(&mut **tx)
    .await;
    match added {
        Ok(row) => Ok(row),
        Err(error) => Err(match sqlstate(&error).as_deref() {
            Some(EXCLUSION_VIOLATION) | Some(crate::error::UNIQUE_VIOLATION) => {
                AppError::FailedPrecondition(format!(
                    "platform {} already has a pilot period in province {} overlapping this one",
                    scope.platform_id, scope.province_code
                ))
            }
            Some(FOREIGN_KEY_VIOLATION) => {
                AppError::NotFound(format!("no platform {}", scope.platform_id))
            }
            _ => error.into(),
        }),
    }
}

/// Inserts the period unless an overlapping one exists; for seeding. Returns whether it was added.
pub async fn ensure(tx: &mut Tx, scope: &ScopeRow) -> AppResult<bool> {
    let added = sqlx::query!(
        "INSERT INTO pilot_scope (province_code, platform_id, valid_from, valid_to)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        scope.province_code,
        scope.platform_id,
        scope.valid_from,
        scope.valid_to,
    )
    .execute(&mut **tx)
    .await?;
    Ok(added.rows_affected() == 1)
}

/// Ends the open-ended period of (province, platform) on `end_date` (exclusive).
pub async fn end(
    tx: &mut Tx,
    province_code: &str,
    platform_id: &str,
    end_date: NaiveDate,
) -> AppResult<ScopeRow> {
    let open: Option<ScopeRow> = sqlx::query_as!(
        ScopeRow,
        "SELECT province_code, platform_id, valid_from, valid_to FROM pilot_scope
         WHERE province_code = $1 AND platform_id = $2 AND valid_to IS NULL FOR UPDATE",
        province_code,
        platform_id,
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(open) = open else {
        return Err(AppError::NotFound(format!(
            "platform {platform_id} has no open-ended pilot period in province {province_code}"
        )));
    };
    if end_date <= open.valid_from {
        return Err(AppError::invalid(
            "end_date",
            format!("must be after the period's start {}", open.valid_from),
        ));
    }
    Ok(sqlx::query_as!(
        ScopeRow,
        "UPDATE pilot_scope SET valid_to = $4
         WHERE province_code = $1 AND platform_id = $2 AND valid_from = $3
         RETURNING province_code, platform_id, valid_from, valid_to",
        province_code,
        platform_id,
        open.valid_from,
        end_date,
    )
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn list(
    db: impl PgExecutor<'_>,
    province_code: Option<&str>,
    platform_id: Option<&str>,
    on_date: Option<NaiveDate>,
) -> AppResult<Vec<ScopeRow>> {
    Ok(sqlx::query_as!(
        ScopeRow,
        "SELECT province_code, platform_id, valid_from, valid_to FROM pilot_scope
         WHERE ($1::text IS NULL OR province_code = $1)
           AND ($2::text IS NULL OR platform_id = $2)
           AND ($3::date IS NULL OR daterange(valid_from, valid_to) @> $3)
         ORDER BY province_code, platform_id, valid_from",
        province_code,
        platform_id,
        on_date,
    )
    .fetch_all(db)
    .await?)
}

/// Whether the platform is in the pilot in the province on `date`.
pub async fn covers(
    db: impl PgExecutor<'_>,
    province_code: &str,
    platform_id: &str,
    date: NaiveDate,
) -> AppResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM pilot_scope
           WHERE province_code = $1 AND platform_id = $2
             AND daterange(valid_from, valid_to) @> $3::date) AS "covers!""#,
        province_code,
        platform_id,
        date,
    )
    .fetch_one(db)
    .await?)
}
