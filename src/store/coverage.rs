//! Coverage at an instant, in one statement: the worker's enrolments in a state of cover that day,
//! the one the worker was on an order for at that instant (the order the caller names first, else
//! the latest accepted; else the newest enrolment), that order, and (for a lookup by ID number) the
//! access-log row, committed with the answer.
use super::access_log::Access;
use super::enrolments::{EnrolmentRow, active_on, select_enrolments};
use crate::domain::industry::Industry;
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// How long an order without a completion time counts as in progress.
pub const OPEN_ORDER_HOURS: i32 = 12;
/// [`crate::domain::rates::MAX_ORDER_HOURS`], as the statement's parameter.
const MAX_ORDER_HOURS: i64 = crate::domain::rates::MAX_ORDER_HOURS;

/// Whom to look for, when, and within what.
pub struct CoverageQuery<'a> {
    /// The worker, by blind index or by enrolment id (one of them).
    pub person_key: Option<&'a [u8]>,
    pub enrolment_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    /// The day of `at` in China Standard Time.
    pub day: NaiveDate,
    pub platform_id: Option<&'a str>,
    pub province_code: Option<&'a str>,
    /// An order the caller names (a report's order): when it is in progress at the instant it is
    /// the order answered, before any other open at that instant.
    pub order_id: Option<&'a str>,
}

/// An order in progress at the instant: accepted at or before it and completed at or after it (an
/// order not completed counts for OPEN_ORDER_HOURS after acceptance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderInProgress {
    pub order_id: String,
    pub accepted_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub base_rate_id: i64,
    pub multiplier_id: Option<i64>,
    pub premium_tenth_fen: i64,
}

/// Who owns an enrolment: its province and platform.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EnrolmentOwner {
    pub province_code: String,
    pub platform_id: String,
}

/// The owner of an enrolment, if it exists.
pub async fn enrolment_owner(
    db: impl PgExecutor<'_>,
    enrolment_id: Uuid,
) -> AppResult<Option<EnrolmentOwner>> {
    Ok(sqlx::query_as!(
        EnrolmentOwner,
        r#"SELECT province_code::text AS "province_code!", platform_id FROM enrolments
         WHERE enrolment_id = $1"#,
        enrolment_id,
    )
    .fetch_optional(db)
    .await?)
}

/// The covering enrolment: the row as the enrolment API shows it, and what pricing needs.
#[derive(Debug, Clone)]
pub struct Covering {
    pub enrolment: EnrolmentRow,
    pub province_code: String,
    pub platform_id: String,
    pub industry: Industry,
}

#[derive(sqlx::FromRow)]
struct Row {
    #[sqlx(flatten)]
    enrolment: EnrolmentRow,
    covered_province: String,
    covered_platform: String,
    covered_industry: Industry,
    order_id: Option<String>,
    order_accepted_at: Option<DateTime<Utc>>,
    order_completed_at: Option<DateTime<Utc>>,
    order_base_rate_id: Option<i64>,
    order_multiplier_id: Option<i64>,
    order_premium_tenth_fen: Option<i64>,
}

/// The covering enrolment and the order in progress, if any. `access` is logged, with the number of
/// enrolments found, in the same statement, so no answer leaves without its log row.
pub async fn coverage_at(
    db: impl PgExecutor<'_>,
    query: &CoverageQuery<'_>,
    access: Option<&Access<'_>>,
) -> AppResult<Option<(EnrolmentRow, Option<OrderInProgress>)>> {
    Ok(covering_at(db, query, access)
        .await?
        .map(|(covering, order)| (covering.enrolment, order)))
}

/// [`coverage_at`], with the covering enrolment's owner and industry typed for pricing.
pub async fn covering_at(
    db: impl PgExecutor<'_>,
    query: &CoverageQuery<'_>,
    access: Option<&Access<'_>>,
) -> AppResult<Option<(Covering, Option<OrderInProgress>)>> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "WITH candidates AS (
             SELECT e.enrolment_id FROM enrolments e
             WHERE e.person_key = COALESCE($1, (SELECT x.person_key FROM enrolments x WHERE x.enrolment_id = $2))
               AND ($4::text IS NULL OR e.platform_id = $4)
               AND ($5::text IS NULL OR e.province_code = $5)
               AND ", active_on!("$3"), "),
         chosen AS (
             SELECT c.enrolment_id, o.order_id, o.accepted_at AS order_accepted_at,
                    o.completed_at AS order_completed_at, o.base_rate_id AS order_base_rate_id,
                    o.multiplier_id AS order_multiplier_id,
                    o.premium_tenth_fen AS order_premium_tenth_fen
             FROM candidates c
             LEFT JOIN LATERAL (
                 SELECT * FROM orders o
                 WHERE o.enrolment_id = c.enrolment_id AND o.accepted_at <= $6
                   -- No order lasts longer: only the partitions of these two days are probed.
                   AND o.accepted_at >= $6 - make_interval(hours => $15)
                   AND (o.completed_at >= $6
                        OR (o.completed_at IS NULL AND o.accepted_at >= $6 - make_interval(hours => $7)))
                 ORDER BY (o.order_id = $14) IS TRUE DESC, o.accepted_at DESC LIMIT 1) o ON true
             ORDER BY (o.order_id = $14) IS TRUE DESC, o.order_id IS NULL, c.enrolment_id DESC
             LIMIT 1),
         logged AS (
             INSERT INTO person_access_log (access_id, accessed_at, actor, token_id, person_key, rpc, results)
             SELECT $8, $9, $10, $11, $12, $13, (SELECT count(*) FROM candidates)
             WHERE $12::bytea IS NOT NULL)
         SELECT r.*, r.province_code::text AS covered_province, r.platform_id AS covered_platform,
                r.industry AS covered_industry, c.order_id, c.order_accepted_at, c.order_completed_at, c.order_base_rate_id,
                c.order_multiplier_id, c.order_premium_tenth_fen
         FROM chosen c CROSS JOIN LATERAL (",
        select_enrolments!(),
        "WHERE e.enrolment_id = c.enrolment_id) r"
    ))
    .bind(query.person_key)
    .bind(query.enrolment_id)
    .bind(query.day)
    .bind(query.platform_id)
    .bind(query.province_code)
    .bind(query.at)
    .bind(OPEN_ORDER_HOURS)
    .bind(Uuid::now_v7())
    .bind(access.map(|a| a.at))
    .bind(access.map(|a| a.actor.as_str()))
    .bind(access.map(|a| a.token_id))
    .bind(access.map(|a| a.person_key))
    .bind(access.map(|a| a.rpc))
    .bind(query.order_id)
    .bind(MAX_ORDER_HOURS as i32)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| {
        let order = match (
            row.order_id,
            row.order_accepted_at,
            row.order_base_rate_id,
            row.order_premium_tenth_fen,
        ) {
            (Some(order_id), Some(accepted_at), Some(base_rate_id), Some(premium_tenth_fen)) => {
                Some(OrderInProgress {
                    order_id,
                    accepted_at,
                    completed_at: row.order_completed_at,
                    base_rate_id,
                    multiplier_id: row.order_multiplier_id,
                    premium_tenth_fen,
                })
            }
            _ => None,
        };
        let covering = Covering {
            enrolment: row.enrolment,
            province_code: row.covered_province,
            platform_id: row.covered_platform,
            industry: row.covered_industry,
        };
        (covering, order)
    }))
}
