//! Reads of supervision findings for the RPCs: listings (keyset paged), one finding, a platform's
//! summary and the ranking by uncovered orders.
use super::supervision::FindingRow;
use crate::domain::supervision::{Finding, FindingKind, FindingState};
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// A finding as shown, with the samples of an uncovered day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingView {
    pub finding: Finding,
    pub sample_order_ids: Vec<String>,
    pub sample_workers: Vec<String>,
}

/// A listing's filters, already narrowed by the policy.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    pub province: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub kind: Option<FindingKind>,
    pub state: Option<FindingState>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

struct ViewRow {
    province_code: String,
    finding_id: Uuid,
    platform_id: String,
    kind: FindingKind,
    period_start: NaiveDate,
    period_end: NaiveDate,
    subject: String,
    measure: i64,
    detail: String,
    state: FindingState,
    opened_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    sample_order_ids: Vec<String>,
    sample_workers: Vec<String>,
}

impl From<ViewRow> for FindingView {
    fn from(row: ViewRow) -> Self {
        FindingView {
            finding: Finding::from(FindingRow {
                province_code: row.province_code,
                finding_id: row.finding_id,
                platform_id: row.platform_id,
                kind: row.kind,
                period_start: row.period_start,
                period_end: row.period_end,
                subject: row.subject,
                measure: row.measure,
                detail: row.detail,
                state: row.state,
                opened_at: row.opened_at,
                resolved_at: row.resolved_at,
                updated_at: row.updated_at,
            }),
            sample_order_ids: row.sample_order_ids,
            sample_workers: row.sample_workers,
        }
    }
}

/// A page of findings, newest period first, after the (period start, id) cursor.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &Filter<'_>,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> AppResult<Vec<FindingView>> {
    let (after_start, after_id) = after.map_or((None, None), |(d, id)| (Some(d), Some(id)));
    let rows = sqlx::query_as!(
        ViewRow,
        r#"SELECT f.province_code, f.finding_id, f.platform_id, f.kind AS "kind: FindingKind",
                  f.period_start, f.period_end, f.subject, f.measure, f.detail,
                  f.state AS "state: FindingState", f.opened_at, f.resolved_at, f.updated_at,
                  ARRAY(SELECT o FROM cover_shortfalls s, unnest(s.sample_order_ids) o
                        WHERE f.kind = 'uncovered_orders' AND s.province_code = f.province_code
                          AND s.platform_id = f.platform_id AND s.day = f.period_start
                        LIMIT 10) AS "sample_order_ids!",
                  ARRAY(SELECT DISTINCT w FROM cover_shortfalls s, unnest(s.sample_workers) w
                        WHERE f.kind = 'uncovered_orders' AND s.province_code = f.province_code
                          AND s.platform_id = f.platform_id AND s.day = f.period_start
                        LIMIT 10) AS "sample_workers!"
           FROM supervision_findings f
           WHERE ($1::text IS NULL OR f.province_code = $1)
             AND ($2::text IS NULL OR f.platform_id = $2)
             AND ($3::text IS NULL OR f.kind = $3)
             AND ($4::text IS NULL OR f.state = $4)
             AND ($5::date IS NULL OR f.period_start >= $5)
             AND ($6::date IS NULL OR f.period_start < $6)
             AND ($7::date IS NULL OR (f.period_start, f.finding_id) < ($7, $8::uuid))
           ORDER BY f.period_start DESC, f.finding_id DESC
           LIMIT $9"#,
        filter.province,
        filter.platform,
        filter.kind.map(FindingKind::as_str),
        filter.state.map(FindingState::as_str),
        filter.from,
        filter.to,
        after_start,
        after_id,
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(FindingView::from).collect())
}

/// One finding by id, whatever its province (the policy decides who sees it).
pub async fn get(db: impl PgExecutor<'_>, finding_id: Uuid) -> AppResult<Option<FindingView>> {
    let row = sqlx::query_as!(
        ViewRow,
        r#"SELECT f.province_code, f.finding_id, f.platform_id, f.kind AS "kind: FindingKind",
                  f.period_start, f.period_end, f.subject, f.measure, f.detail,
                  f.state AS "state: FindingState", f.opened_at, f.resolved_at, f.updated_at,
                  ARRAY(SELECT o FROM cover_shortfalls s, unnest(s.sample_order_ids) o
                        WHERE f.kind = 'uncovered_orders' AND s.province_code = f.province_code
                          AND s.platform_id = f.platform_id AND s.day = f.period_start
                        LIMIT 10) AS "sample_order_ids!",
                  ARRAY(SELECT DISTINCT w FROM cover_shortfalls s, unnest(s.sample_workers) w
                        WHERE f.kind = 'uncovered_orders' AND s.province_code = f.province_code
                          AND s.platform_id = f.platform_id AND s.day = f.period_start
                        LIMIT 10) AS "sample_workers!"
           FROM supervision_findings f WHERE f.finding_id = $1"#,
        finding_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(FindingView::from))
}

/// The province a finding belongs to, if it exists (for a refresh before reading it).
pub async fn province_of(db: impl PgExecutor<'_>, finding_id: Uuid) -> AppResult<Option<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT province_code AS "province_code!" FROM supervision_findings WHERE finding_id = $1"#,
        finding_id
    )
    .fetch_optional(db)
    .await?)
}

/// A platform's findings of one kind and state in a province over a period, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindTotals {
    pub kind: FindingKind,
    pub state: FindingState,
    pub detail: String,
    pub findings: i64,
    pub measure: i64,
}

/// Totals by kind, state and detail (the arrears' age band), and the refused orders counted.
pub async fn summary(
    db: impl PgExecutor<'_> + Copy,
    province: &str,
    platform: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<(Vec<KindTotals>, i64)> {
    let totals = sqlx::query_as!(
        KindTotals,
        // Sums stay numeric in SQL and are capped when read: a fen total of every arrears of a
        // platform cannot reach i64, but nothing should fail if it did.
        r#"SELECT kind AS "kind!: FindingKind", state AS "state!: FindingState", detail AS "detail!",
                  count(*) AS "findings!",
                  LEAST(sum(measure), 9223372036854775807)::bigint AS "measure!"
           FROM supervision_findings
           WHERE province_code = $1 AND platform_id = $2 AND period_start >= $3 AND period_start < $4
           GROUP BY kind, state, detail"#,
        province,
        platform,
        from,
        to,
    )
    .fetch_all(db)
    .await?;
    let refused = sqlx::query_scalar!(
        r#"SELECT LEAST(COALESCE(sum(refused_orders), 0), 9223372036854775807)::bigint AS "refused!"
           FROM cover_shortfalls
           WHERE province_code = $1 AND platform_id = $2 AND day >= $3 AND day < $4"#,
        province,
        platform,
        from,
        to,
    )
    .fetch_one(db)
    .await?;
    Ok((totals, refused))
}

/// One platform's orders in one province and month: refused for missing cover, and accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthOrders {
    pub province_code: String,
    pub platform_id: String,
    pub refused: i64,
    pub accepted: i64,
}

/// Every (province, platform) with orders refused or accepted in the month. Accepted orders are
/// the latest declaration's count; a month not declared yet is counted from its orders (the scan
/// a declaration itself makes, needed only for the months nobody declared).
pub async fn month_orders(
    db: impl PgExecutor<'_>,
    province: Option<&str>,
    month: NaiveDate,
) -> AppResult<Vec<MonthOrders>> {
    Ok(sqlx::query_as!(
        MonthOrders,
        r#"WITH keys AS (
               SELECT province_code, platform_id FROM order_months
               WHERE period = $2 AND ($1::text IS NULL OR province_code = $1)
               UNION
               SELECT province_code, platform_id FROM cover_shortfalls
               WHERE day >= $2 AND day < ($2 + interval '1 month')::date
                 AND ($1::text IS NULL OR province_code = $1))
           SELECT k.province_code AS "province_code!", k.platform_id AS "platform_id!",
                  (SELECT COALESCE(sum(s.refused_orders), 0)::bigint FROM cover_shortfalls s
                   WHERE s.province_code = k.province_code AND s.platform_id = k.platform_id
                     AND s.day >= $2 AND s.day < ($2 + interval '1 month')::date) AS "refused!",
                  COALESCE(
                      (SELECT sum(l.orders)::bigint FROM declaration_lines l
                       WHERE l.province_code = k.province_code AND l.platform_id = k.platform_id
                         AND l.period = $2
                         AND l.version = (SELECT max(d.version) FROM declarations d
                                          WHERE d.province_code = k.province_code
                                            AND d.platform_id = k.platform_id AND d.period = $2)),
                      (SELECT count(*) FROM orders o
                       WHERE o.province_code = k.province_code AND o.platform_id = k.platform_id
                         AND o.accepted_at >= ($2::timestamp AT TIME ZONE INTERVAL '+08:00')
                         AND o.accepted_at < (($2 + interval '1 month')::timestamp
                                              AT TIME ZONE INTERVAL '+08:00'))) AS "accepted!"
           FROM keys k
           ORDER BY k.province_code, k.platform_id"#,
        province,
        month,
    )
    .fetch_all(db)
    .await?)
}
