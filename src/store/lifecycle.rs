//! Lifecycle changes of one enrolment: lock it, change its status, record history, and insert the
//! continuation of a transfer; and the enrolment windows (backdating, cover start) per province.
use super::Tx;
use super::enrolments::EnrolmentRow;
use crate::domain::division::{PlaceOfEmployment, ProvinceCode};
use crate::domain::enrolment::{CoverStartWindows, EnrolmentStatus};
use crate::domain::industry::Industry;
use crate::domain::lifecycle::{NATIONAL_DEFAULT, Reason};
use crate::error::AppResult;
use crate::pii::Sealed;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

crate::stored_as_text!(Reason);

/// An enrolment locked for a change, with what a change needs beyond the read model.
pub struct Locked {
    pub row: EnrolmentRow,
    pub person_key: Vec<u8>,
    pub name: Sealed,
    pub phone: Sealed,
    pub last_seq: i32,
    pub last_effective: NaiveDate,
}

#[derive(sqlx::FromRow)]
struct LockedRow {
    province_code: String,
    person_key: Vec<u8>,
    name_ciphertext: Vec<u8>,
    phone_ciphertext: Vec<u8>,
    pii_key_id: String,
}

/// Locks the enrolment row (FOR UPDATE) until the transaction ends.
pub async fn lock(tx: &mut Tx, enrolment_id: Uuid) -> AppResult<Option<Locked>> {
    let locked: Option<LockedRow> = sqlx::query_as!(
        LockedRow,
        r#"SELECT province_code::text AS "province_code!", person_key, name_ciphertext, phone_ciphertext, pii_key_id
         FROM enrolments WHERE enrolment_id = $1 FOR UPDATE"#,
        enrolment_id,
    )
    .fetch_optional(&mut **tx)
    .await?;
    let Some(LockedRow {
        province_code,
        person_key,
        name_ciphertext: name,
        phone_ciphertext: phone,
        pii_key_id: key_id,
    }) = locked
    else {
        return Ok(None);
    };
    let row = super::enrolments::get(&mut **tx, enrolment_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("locked enrolment {enrolment_id} vanished"))?;
    let last = sqlx::query!(
        "SELECT seq, effective_date FROM enrolment_history
         WHERE province_code = $1 AND enrolment_id = $2 ORDER BY seq DESC LIMIT 1",
        province_code,
        enrolment_id,
    )
    .fetch_one(&mut **tx)
    .await?;
    let (last_seq, last_effective) = (last.seq, last.effective_date);
    Ok(Some(Locked {
        row,
        person_key,
        name: Sealed {
            key_id: key_id.clone(),
            bytes: name,
        },
        phone: Sealed {
            key_id,
            bytes: phone,
        },
        last_seq,
        last_effective,
    }))
}

pub struct StatusChange {
    pub status: EnrolmentStatus,
    /// The first day without cover, for terminations and transfers.
    pub cover_end: Option<NaiveDate>,
    pub transferred_to: Option<Uuid>,
    pub at: DateTime<Utc>,
}

pub async fn change_status(tx: &mut Tx, locked: &Locked, change: &StatusChange) -> AppResult<()> {
    sqlx::query!(
        "UPDATE enrolments SET status = $3, cover_end = $4, transferred_to = $5, updated_at = $6
         WHERE province_code = $1 AND enrolment_id = $2",
        locked.row.province_code,
        locked.row.enrolment_id,
        change.status as EnrolmentStatus,
        change.cover_end,
        change.transferred_to,
        change.at,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HistoryRow {
    pub province_code: String,
    pub enrolment_id: Uuid,
    pub seq: i32,
    pub status: EnrolmentStatus,
    pub effective_date: NaiveDate,
    pub reason: Reason,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
    pub related_enrolment_id: Option<Uuid>,
}

/// Appends a history entry and moves the enrolment's `status_since` to its effective date: the
/// latest entry's date is what lets coverage skip the history for later days.
pub async fn append_history(tx: &mut Tx, entry: &HistoryRow) -> AppResult<()> {
    sqlx::query!(
        "WITH appended AS (
             INSERT INTO enrolment_history (province_code, enrolment_id, seq, status,
                 effective_date, reason, actor, recorded_at, related_enrolment_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             RETURNING province_code, enrolment_id, effective_date)
         UPDATE enrolments e SET status_since = appended.effective_date
         FROM appended
         WHERE e.province_code = appended.province_code AND e.enrolment_id = appended.enrolment_id",
        entry.province_code,
        entry.enrolment_id,
        entry.seq,
        entry.status as EnrolmentStatus,
        entry.effective_date,
        entry.reason as Reason,
        entry.actor,
        entry.recorded_at,
        entry.related_enrolment_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn history(db: impl PgExecutor<'_>, enrolment_id: Uuid) -> AppResult<Vec<HistoryRow>> {
    Ok(sqlx::query_as!(
        HistoryRow,
        r#"SELECT province_code::text AS "province_code!", enrolment_id, seq,
                status AS "status: EnrolmentStatus", effective_date, reason AS "reason: Reason", actor,
                recorded_at, related_enrolment_id
         FROM enrolment_history WHERE enrolment_id = $1 ORDER BY seq"#,
        enrolment_id,
    )
    .fetch_all(db)
    .await?)
}

/// The new enrolment a transfer opens: same platform, person and industry, new place.
pub struct Continuation<'a> {
    pub enrolment_id: Uuid,
    pub place: &'a PlaceOfEmployment,
    pub cover_start: NaiveDate,
    pub name: &'a Sealed,
    pub phone: &'a Sealed,
    pub created_by: &'a str,
    pub at: DateTime<Utc>,
}

pub async fn insert_continuation(
    tx: &mut Tx,
    previous: &Locked,
    next: &Continuation<'_>,
) -> AppResult<()> {
    let province = next.place.province();
    sqlx::query!(
        "INSERT INTO enrolments (province_code, enrolment_id, platform_id, person_key, place_code,
             industry, status, cover_start, status_since, name_ciphertext, name_masked,
             phone_ciphertext, phone_masked, pii_key_id, created_at, created_by, transferred_from)
         VALUES ($1, $2, $3, $4, $5, $6, $16, $7, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        province.as_str(),
        next.enrolment_id,
        previous.row.platform_id,
        previous.person_key,
        next.place.as_str(),
        previous.row.industry as Industry,
        next.cover_start,
        next.name.bytes,
        previous.row.name_masked,
        next.phone.bytes,
        previous.row.phone_masked,
        next.name.key_id,
        next.at,
        next.created_by,
        previous.row.enrolment_id,
        EnrolmentStatus::Active as EnrolmentStatus,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The backdating window for a province: its own setting, else the national default.
pub async fn max_backdate_days(db: impl PgExecutor<'_>, province: &ProvinceCode) -> AppResult<i64> {
    let days: Option<i32> = sqlx::query_scalar!(
        "SELECT max_backdate_days FROM enrolment_policy
         WHERE province_code IN ($1, $2) ORDER BY province_code = $2 LIMIT 1",
        province.as_str(),
        NATIONAL_DEFAULT,
    )
    .fetch_optional(db)
    .await?;
    Ok(days.map_or(0, i64::from))
}

/// Every cover-start window set: the national default and the provinces with their own. The table
/// holds at most one row per province, so this is read whole.
pub async fn cover_start_windows(db: impl PgExecutor<'_>) -> AppResult<CoverStartWindows> {
    let rows = sqlx::query!(
        r#"SELECT province_code::text AS "province_code!", max_cover_start_days_ahead AS "max_cover_start_days_ahead!"
         FROM enrolment_policy
         WHERE max_cover_start_days_ahead IS NOT NULL"#,
    )
    .fetch_all(db)
    .await?;
    let mut national = None;
    let mut provinces = Vec::with_capacity(rows.len());
    for row in rows {
        let (province, days) = (row.province_code, row.max_cover_start_days_ahead);
        if province == NATIONAL_DEFAULT {
            national = Some(i64::from(days));
        } else {
            provinces.push((province, i64::from(days)));
        }
    }
    Ok(CoverStartWindows::new(national, provinces))
}

/// The windows to set for a province, or for the national default with `None`.
pub struct Windows<'a> {
    pub province: Option<&'a ProvinceCode>,
    pub max_backdate_days: i32,
    /// `None` leaves the stored value as it is (for a province without one: the national default).
    pub max_cover_start_days_ahead: Option<i32>,
    pub at: DateTime<Utc>,
}

pub async fn set_windows(tx: &mut Tx, windows: &Windows<'_>) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO enrolment_policy (province_code, max_backdate_days, max_cover_start_days_ahead,
             updated_at)
         -- CHECK constraints apply to the proposed row even when it conflicts: the national row
         -- (always present) must never be proposed without its cover-start window.
         VALUES ($1, $2, COALESCE($3, CASE WHEN $1 = '00' THEN 30 END), $4)
         ON CONFLICT (province_code) DO UPDATE SET max_backdate_days = $2,
             max_cover_start_days_ahead = COALESCE($3, enrolment_policy.max_cover_start_days_ahead),
             updated_at = $4",
        windows.province.map_or(NATIONAL_DEFAULT, ProvinceCode::as_str),
        windows.max_backdate_days,
        windows.max_cover_start_days_ahead,
        windows.at,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
