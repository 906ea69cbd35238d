//! Enrolments of workers by platforms.
use crate::domain::division::ProvinceCode;
use crate::domain::enrolment::EnrolmentStatus;
use crate::domain::industry::Industry;
use crate::domain::platform::PlatformId;
use crate::error::AppResult;
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
    pub industry: Industry,
    pub status: EnrolmentStatus,
    pub cover_start: NaiveDate,
    pub id_masked: String,
    pub name_masked: String,
    pub phone_masked: String,
    pub created_at: DateTime<Utc>,
    pub cover_end: Option<NaiveDate>,
    pub transferred_from: Option<Uuid>,
    pub transferred_to: Option<Uuid>,
}

macro_rules! select_enrolments {
    () => {
        "SELECT e.province_code, e.enrolment_id, e.platform_id, e.place_code, e.industry, e.status,
                e.cover_start, p.id_masked, e.name_masked, e.phone_masked, e.created_at,
                e.cover_end, e.transferred_from, e.transferred_to
         FROM enrolments e JOIN persons p USING (person_key) "
    };
}
pub(crate) use select_enrolments;

/// SQL: enrolment `e` was active on the day `$day` (a date expression): inside its cover, and
/// active under the latest history entry in force that day. For days on or after `status_since`
/// (the latest entry's date) that entry is the current status, so the history is read only for
/// earlier days. One rule for order ingest and coverage checks; a SQL function would not be
/// inlined into their plans.
macro_rules! active_on {
    ($day:literal) => {
        concat!(
            "e.cover_start <= ", $day, " AND (e.cover_end IS NULL OR ", $day, " < e.cover_end)
             AND CASE WHEN e.status_since <= ", $day, " THEN e.status
                      ELSE (SELECT h.status FROM enrolment_history h
                            WHERE h.province_code = e.province_code AND h.enrolment_id = e.enrolment_id
                              AND h.effective_date <= ", $day, "
                            ORDER BY h.seq DESC LIMIT 1) END = 'active'"
        )
    };
}
pub(crate) use active_on;

pub async fn get(db: impl PgExecutor<'_>, enrolment_id: Uuid) -> AppResult<Option<EnrolmentRow>> {
    Ok(sqlx::query_as!(
        EnrolmentRow,
        r#"SELECT e.province_code, e.enrolment_id, e.platform_id, e.place_code,
                e.industry AS "industry: Industry", e.status AS "status: EnrolmentStatus",
                e.cover_start, p.id_masked, e.name_masked, e.phone_masked, e.created_at,
                e.cover_end, e.transferred_from, e.transferred_to
         FROM enrolments e JOIN persons p USING (person_key) WHERE e.enrolment_id = $1"#,
        enrolment_id,
    )
    .fetch_optional(db)
    .await?)
}

/// Filters of a listing; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub province: Option<ProvinceCode>,
    pub platform: Option<PlatformId>,
    /// A 6-digit division code (also one no longer in force: old enrolments keep theirs).
    pub place_code: Option<String>,
    pub status: Option<EnrolmentStatus>,
}

/// Enrolments newest first (ids are time-ordered UUIDv7), strictly before `before` when given.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &ListFilter,
    before: Option<Uuid>,
    limit: i64,
) -> AppResult<Vec<EnrolmentRow>> {
    Ok(sqlx::query_as!(
        EnrolmentRow,
        r#"SELECT e.province_code, e.enrolment_id, e.platform_id, e.place_code,
                e.industry AS "industry: Industry", e.status AS "status: EnrolmentStatus",
                e.cover_start, p.id_masked, e.name_masked, e.phone_masked, e.created_at,
                e.cover_end, e.transferred_from, e.transferred_to
         FROM enrolments e JOIN persons p USING (person_key) WHERE ($1::text IS NULL OR e.province_code = $1)
           AND ($2::text IS NULL OR e.platform_id = $2)
           AND ($3::text IS NULL OR e.place_code = $3)
           AND ($4::text IS NULL OR e.status = $4)
           AND ($5::uuid IS NULL OR e.enrolment_id < $5)
         ORDER BY e.enrolment_id DESC
         LIMIT $6"#,
        filter.province.as_ref().map(ProvinceCode::as_str),
        filter.platform.as_ref().map(PlatformId::as_str),
        filter.place_code.as_deref(),
        filter.status as Option<EnrolmentStatus>,
        before,
        limit,
    )
    .fetch_all(db)
    .await?)
}

/// Every enrolment of a person (by blind index), newest first, optionally limited to a platform or
/// a province.
pub async fn find_by_person(
    db: impl PgExecutor<'_>,
    person_key: &[u8],
    platform: Option<&PlatformId>,
    province: Option<&ProvinceCode>,
) -> AppResult<Vec<EnrolmentRow>> {
    Ok(sqlx::query_as!(
        EnrolmentRow,
        r#"SELECT e.province_code, e.enrolment_id, e.platform_id, e.place_code,
                e.industry AS "industry: Industry", e.status AS "status: EnrolmentStatus",
                e.cover_start, p.id_masked, e.name_masked, e.phone_masked, e.created_at,
                e.cover_end, e.transferred_from, e.transferred_to
         FROM enrolments e JOIN persons p USING (person_key) WHERE e.person_key = $1
           AND ($2::text IS NULL OR e.platform_id = $2)
           AND ($3::text IS NULL OR e.province_code = $3)
         ORDER BY e.enrolment_id DESC"#,
        person_key,
        platform.map(PlatformId::as_str),
        province.map(ProvinceCode::as_str),
    )
    .fetch_all(db)
    .await?)
}

/// The person of one platform's enrolment: blind index and masked ID number.
pub async fn person_of(
    db: impl PgExecutor<'_>,
    enrolment_id: Uuid,
    platform_id: &str,
) -> AppResult<Option<(Vec<u8>, String)>> {
    Ok(sqlx::query!(
        "SELECT e.person_key, p.id_masked FROM enrolments e JOIN persons p USING (person_key)
         WHERE e.enrolment_id = $1 AND e.platform_id = $2",
        enrolment_id,
        platform_id,
    )
    .fetch_optional(db)
    .await?
    .map(|row| (row.person_key, row.id_masked)))
}
