//! Payments against declarations, and what is owed.
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentRow {
    pub payment_id: Uuid,
    pub platform_id: String,
    pub period: NaiveDate,
    pub amount_fen: i64,
    pub paid_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
}

pub struct NewPayment<'a> {
    pub province_code: &'a str,
    pub platform_id: &'a str,
    pub period: NaiveDate,
    pub amount_fen: i64,
    pub paid_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: &'a str,
}

pub async fn insert(db: impl PgExecutor<'_>, payment: &NewPayment<'_>) -> AppResult<Uuid> {
    let payment_id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO contribution_payments (province_code, payment_id, platform_id, period, amount_fen,
             paid_on, recorded_at, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        payment.province_code,
        payment_id,
        payment.platform_id,
        payment.period,
        payment.amount_fen,
        payment.paid_on,
        payment.recorded_at,
        payment.recorded_by,
    )
    .execute(db)
    .await?;
    Ok(payment_id)
}

/// What a series has received so far, on any day, summed as `numeric` (cannot overflow).
pub async fn paid_total(
    db: impl PgExecutor<'_>,
    province_code: &str,
    platform_id: &str,
    period: NaiveDate,
) -> AppResult<i128> {
    let total: Option<String> = sqlx::query_scalar!(
        "SELECT sum(amount_fen)::text FROM contribution_payments
         WHERE province_code = $1 AND platform_id = $2 AND period = $3",
        province_code,
        platform_id,
        period,
    )
    .fetch_one(db)
    .await?;
    super::declarations::numeric_sum(total.as_deref())
}

/// Payments of the given (platform, period) series of a province received on or before `as_of`.
pub async fn for_series(
    db: impl PgExecutor<'_>,
    province_code: &str,
    series: &[(String, NaiveDate)],
    as_of: NaiveDate,
) -> AppResult<Vec<PaymentRow>> {
    Ok(sqlx::query_as!(
        PaymentRow,
        "SELECT p.payment_id, p.platform_id, p.period, p.amount_fen, p.paid_on, p.recorded_at
         FROM contribution_payments p
         JOIN UNNEST($2::text[], $3::date[]) AS s(platform_id, period)
           ON p.platform_id = s.platform_id AND p.period = s.period
         WHERE p.province_code = $1 AND p.paid_on <= $4
         ORDER BY p.paid_on, p.payment_id",
        province_code,
        series.iter().map(|s| s.0.as_str()).collect::<Vec<_>>() as _,
        &series.iter().map(|s| s.1).collect::<Vec<_>>(),
        as_of,
    )
    .fetch_all(db)
    .await?)
}

/// A declaration series still owing money after its due date.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ArrearsRow {
    pub platform_id: String,
    pub period: NaiveDate,
    pub version: i32,
    pub total_fen: i64,
    pub due_date: NaiveDate,
}

/// A province's overdue series as of a day, by platform and period, after a keyset cursor. Sums
/// stay `numeric` (compared, never cast back), so no stored payments can make this fail.
pub async fn arrears(
    db: impl PgExecutor<'_>,
    province_code: &str,
    as_of: NaiveDate,
    after: Option<(String, NaiveDate)>,
    limit: i64,
) -> AppResult<Vec<ArrearsRow>> {
    let (after_platform, after_period) = after.map_or((None, None), |(p, d)| (Some(p), Some(d)));
    Ok(sqlx::query_as!(
        ArrearsRow,
        "WITH latest AS (
             SELECT DISTINCT ON (platform_id, period) platform_id, period, version, total_fen, due_date
             FROM declarations WHERE province_code = $1
             ORDER BY platform_id, period, version DESC),
         paid AS (
             SELECT platform_id, period, sum(amount_fen) AS paid_fen FROM contribution_payments
             WHERE province_code = $1 AND paid_on <= $2 GROUP BY platform_id, period)
         SELECT l.platform_id, l.period, l.version, l.total_fen, l.due_date
         FROM latest l LEFT JOIN paid p USING (platform_id, period)
         WHERE l.due_date < $2 AND l.total_fen > COALESCE(p.paid_fen, 0)
           AND ($3::text IS NULL OR (l.platform_id, l.period) > ($3, $4::date))
         ORDER BY l.platform_id, l.period
         LIMIT $5",
        province_code,
        as_of,
        after_platform,
        after_period,
        limit,
    )
    .fetch_all(db)
    .await?)
}
