//! Enrolments of workers by platforms.
use super::Tx;
use crate::error::AppResult;
use crate::pii::Sealed;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// An enrolment as stored, with personal data only masked (the ciphertexts stay in the database).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnrolmentRow {
    pub province_code: String,
    pub enrolment_id: Uuid,
    pub platform_id: String,
    pub place_code: String,
    pub industry: String,
    pub status: String,
    pub cover_start: NaiveDate,
    pub id_masked: String,
    pub name_masked: String,
    pub phone_masked: String,
    pub created_at: DateTime<Utc>,
}

macro_rules! select_enrolments {
    () => {
        "SELECT e.province_code, e.enrolment_id, e.platform_id, e.place_code, e.industry, e.status,
                e.cover_start, p.id_masked, e.name_masked, e.phone_masked, e.created_at
         FROM enrolments e JOIN persons p USING (person_key) "
    };
}

pub struct NewEnrolment<'a> {
    pub province_code: &'a str,
    pub enrolment_id: Uuid,
    pub platform_id: &'a str,
    pub person_key: &'a [u8],
    pub place_code: &'a str,
    pub industry: &'a str,
    pub status: &'a str,
    pub cover_start: NaiveDate,
    pub name: &'a Sealed,
    pub name_masked: &'a str,
    pub phone: &'a Sealed,
    pub phone_masked: &'a str,
    pub created_at: DateTime<Utc>,
    pub created_by: &'a str,
}

pub enum Inserted {
    Created,
    /// The platform already has an open enrolment for this person: its id.
    AlreadyOpen(Uuid),
}

/// Inserts the enrolment unless the platform already has an open one for the person. A concurrent
/// insert for the same platform and person waits on the unique index, then reports that one.
pub async fn insert(tx: &mut Tx, new: &NewEnrolment<'_>) -> AppResult<Inserted> {
    let inserted = sqlx::query(
        "INSERT INTO enrolments (province_code, enrolment_id, platform_id, person_key, place_code,
             industry, status, cover_start, name_ciphertext, name_masked, phone_ciphertext,
             phone_masked, pii_key_id, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (platform_id, person_key) WHERE status IN ('active') DO NOTHING",
    )
    .bind(new.province_code)
    .bind(new.enrolment_id)
    .bind(new.platform_id)
    .bind(new.person_key)
    .bind(new.place_code)
    .bind(new.industry)
    .bind(new.status)
    .bind(new.cover_start)
    .bind(&new.name.bytes)
    .bind(new.name_masked)
    .bind(&new.phone.bytes)
    .bind(new.phone_masked)
    .bind(&new.name.key_id)
    .bind(new.created_at)
    .bind(new.created_by)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Inserted::Created);
    }
    let existing: Uuid = sqlx::query_scalar(
        "SELECT enrolment_id FROM enrolments
         WHERE platform_id = $1 AND person_key = $2 AND status IN ('active')",
    )
    .bind(new.platform_id)
    .bind(new.person_key)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Inserted::AlreadyOpen(existing))
}

pub async fn get(db: impl PgExecutor<'_>, enrolment_id: Uuid) -> AppResult<Option<EnrolmentRow>> {
    Ok(
        sqlx::query_as(concat!(select_enrolments!(), "WHERE e.enrolment_id = $1"))
            .bind(enrolment_id)
            .fetch_optional(db)
            .await?,
    )
}

/// Filters of a listing; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ListFilter {
    pub province_code: Option<String>,
    pub platform_id: Option<String>,
    pub place_code: Option<String>,
    pub status: Option<String>,
}

/// Enrolments newest first (ids are time-ordered UUIDv7), strictly before `before` when given.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &ListFilter,
    before: Option<Uuid>,
    limit: i64,
) -> AppResult<Vec<EnrolmentRow>> {
    Ok(sqlx::query_as(concat!(
        select_enrolments!(),
        "WHERE ($1::text IS NULL OR e.province_code = $1)
           AND ($2::text IS NULL OR e.platform_id = $2)
           AND ($3::text IS NULL OR e.place_code = $3)
           AND ($4::text IS NULL OR e.status = $4)
           AND ($5::uuid IS NULL OR e.enrolment_id < $5)
         ORDER BY e.enrolment_id DESC
         LIMIT $6"
    ))
    .bind(&filter.province_code)
    .bind(&filter.platform_id)
    .bind(&filter.place_code)
    .bind(&filter.status)
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await?)
}
