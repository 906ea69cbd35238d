//! Pension: average wages, enrolments (one active per person), months paid.
use super::Tx;
use crate::domain::pension::PensionStatus;
use crate::error::{AppResult, UNIQUE_VIOLATION, sqlstate};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

crate::stored_as_text!(PensionStatus);

pub async fn set_average_wage(
    db: impl PgExecutor<'_>,
    province_code: &str,
    year: i32,
    annual_fen: i64,
    at: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO average_wages (province_code, year, annual_fen, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (province_code, year) DO UPDATE SET annual_fen = $3, updated_at = $4",
        province_code,
        year,
        annual_fen,
        at,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn average_wage(
    db: impl PgExecutor<'_>,
    province_code: &str,
    year: i32,
) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar!(
        "SELECT annual_fen FROM average_wages WHERE province_code = $1 AND year = $2",
        province_code,
        year,
    )
    .fetch_optional(db)
    .await?)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PensionRow {
    pub province_code: String,
    pub pension_id: Uuid,
    pub person_key: Vec<u8>,
    pub id_masked: String,
    pub place_code: String,
    pub monthly_base_fen: i64,
    pub status: PensionStatus,
    pub transferred_to: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// The person's active enrolment that stood in the way of another: its id and province.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ActiveElsewhere {
    pub pension_id: Uuid,
    pub province_code: String,
}

/// Inserts an active pension enrolment; Err(the active one) when the person already has one.
/// (`'active'` is written out where it names the partial unique index's predicate.)
pub async fn insert(
    tx: &mut Tx,
    row: &PensionRow,
    created_by: &str,
) -> AppResult<Result<(), ActiveElsewhere>> {
    let inserted = sqlx::query!(
        "INSERT INTO pension_enrolments (province_code, pension_id, person_key, place_code,
             monthly_base_fen, status, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $8, $6, $7)
         ON CONFLICT (person_key) WHERE status = 'active' DO NOTHING",
        row.province_code,
        row.pension_id,
        row.person_key,
        row.place_code,
        row.monthly_base_fen,
        row.created_at,
        created_by,
        PensionStatus::Active as PensionStatus,
    )
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Ok(()));
    }
    let existing = sqlx::query_as!(
        ActiveElsewhere,
        r#"SELECT pension_id, province_code::text AS "province_code!" FROM pension_enrolments
         WHERE person_key = $1 AND status = $2"#,
        row.person_key,
        PensionStatus::Active as PensionStatus,
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(Err(existing))
}

pub async fn get(db: impl PgExecutor<'_>, pension_id: Uuid) -> AppResult<Option<PensionRow>> {
    Ok(sqlx::query_as!(
        PensionRow,
        r#"SELECT e.province_code::text AS "province_code!", e.pension_id, e.person_key, p.id_masked,
                e.place_code::text AS "place_code!", e.monthly_base_fen,
                e.status AS "status: PensionStatus", e.transferred_to, e.created_at
         FROM pension_enrolments e JOIN persons p USING (person_key) WHERE e.pension_id = $1"#,
        pension_id,
    )
    .fetch_optional(db)
    .await?)
}

/// Locks an enrolment for a change.
pub async fn lock(tx: &mut Tx, pension_id: Uuid) -> AppResult<Option<PensionRow>> {
    sqlx::query("SELECT 1 FROM pension_enrolments WHERE pension_id = $1 FOR UPDATE")
        .bind(pension_id)
        .execute(&mut **tx)
        .await?;
    get(&mut **tx, pension_id).await
}

pub async fn mark_transferred(tx: &mut Tx, row: &PensionRow, to: Uuid) -> AppResult<()> {
    sqlx::query!(
        "UPDATE pension_enrolments SET status = $4, transferred_to = $3 WHERE province_code = $1 AND pension_id = $2",
        row.province_code,
        row.pension_id,
        to,
        PensionStatus::Transferred as PensionStatus,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MonthRow {
    pub month: NaiveDate,
    pub base_fen: i64,
    pub total_fen: i64,
    pub individual_fen: i64,
}

impl MonthRow {
    pub fn paid(&self) -> crate::domain::pension::PaidMonth {
        use crate::domain::money::Fen;
        crate::domain::pension::PaidMonth {
            month: self.month,
            base: Fen(self.base_fen),
            total: Fen(self.total_fen),
            individual: Fen(self.individual_fen),
        }
    }
}

/// Records paid months; Err(month) when one of them was paid before (for this person).
pub async fn insert_months(
    tx: &mut Tx,
    row: &PensionRow,
    months: &[crate::domain::pension::PaidMonth],
    at: DateTime<Utc>,
) -> AppResult<Result<(), ()>> {
    let inserted = sqlx::query!(
        "INSERT INTO pension_months (province_code, pension_id, month, person_key, base_fen, total_fen, individual_fen, declared_at)
         SELECT $1, $2, t.month, $3, t.base_fen, t.total_fen, t.individual_fen, $4
         FROM UNNEST($5::date[], $6::bigint[], $7::bigint[], $8::bigint[]) AS t(month, base_fen, total_fen, individual_fen)",
        row.province_code,
        row.pension_id,
        row.person_key,
        at,
        &months.iter().map(|m| m.month).collect::<Vec<_>>(),
        &months.iter().map(|m| m.base.0).collect::<Vec<_>>(),
        &months.iter().map(|m| m.total.0).collect::<Vec<_>>(),
        &months.iter().map(|m| m.individual.0).collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await;
    match inserted {
        Ok(_) => Ok(Ok(())),
        Err(error) if sqlstate(&error).as_deref() == Some(UNIQUE_VIOLATION) => Ok(Err(())),
        Err(error) => Err(error.into()),
    }
}

/// Every month paid by a person, under any of their pension enrolments.
pub async fn months_of_person(
    db: impl PgExecutor<'_>,
    person_key: &[u8],
) -> AppResult<Vec<MonthRow>> {
    Ok(sqlx::query_as!(
        MonthRow,
        "SELECT month, base_fen, total_fen, individual_fen FROM pension_months WHERE person_key = $1 ORDER BY month",
        person_key,
    )
    .fetch_all(db)
    .await?)
}

/// The person's active pension enrolment, else their latest one.
pub async fn current_of_person(
    db: impl PgExecutor<'_>,
    person_key: &[u8],
) -> AppResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT pension_id FROM pension_enrolments WHERE person_key = $1
         ORDER BY status = $2 DESC, created_at DESC LIMIT 1",
        person_key,
        PensionStatus::Active as PensionStatus,
    )
    .fetch_optional(db)
    .await?)
}

/// When the person first joined pension insurance through flexcover.
pub async fn first_enrolled_at(
    db: impl PgExecutor<'_>,
    person_key: &[u8],
) -> AppResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar!(
        "SELECT min(created_at) FROM pension_enrolments WHERE person_key = $1",
        person_key,
    )
    .fetch_one(db)
    .await?)
}
