//! Supervision findings: what the facts show now (one statement per province), the findings kept,
//! and the writes of a refresh. Reads for the RPCs are in `supervision_reads`.
use super::Tx;
use crate::domain::supervision::{
    Change, Finding, FindingKey, FindingKind, FindingState, Observed, age_band,
};
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

crate::stored_as_text!(FindingKind, FindingState);

/// Serializes refreshes of one province (across replicas) for the rest of the transaction, so two
/// refreshes never open the same finding twice or append its event twice.
pub async fn lock_province(tx: &mut Tx, province_code: &str) -> AppResult<()> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('supervision:' || $1::text, 0))",
        province_code
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The provinces with any fact a finding could come from.
pub async fn provinces(db: impl PgExecutor<'_>) -> AppResult<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT province_code AS "province_code!" FROM cover_shortfalls
           UNION SELECT province_code FROM order_months
           UNION SELECT province_code FROM declarations
           UNION SELECT province_code FROM claims WHERE NOT covered
           ORDER BY 1"#
    )
    .fetch_all(db)
    .await?)
}

/// What the facts of a province show on `today` (China Standard Time), one row per finding:
/// - uncovered orders per platform and day, open while a worker refused that day has no
///   enrolment with the platform in that province and industry that is active or was opened
///   since that day;
/// - months with accepted orders, past their due date, not declared by it (open until declared;
///   the measure is the days past due until then);
/// - arrears: the latest declaration of a month owing after its due date (open while owing);
/// - claims reported without cover, per platform and month (open while one is unsettled);
/// - late enrolments: an enrolment opened days after its worker's first refused order with the
///   platform in that province since any earlier enrolment (born resolved: the enrolment is the
///   fix).
pub async fn observe(
    tx: &mut Tx,
    province_code: &str,
    today: NaiveDate,
) -> AppResult<Vec<Observed>> {
    struct Row {
        platform_id: String,
        kind: FindingKind,
        period_start: NaiveDate,
        period_end: NaiveDate,
        subject: String,
        measure: i64,
        open: bool,
        days_past_due: i64,
    }
    let rows = sqlx::query_as!(
        Row,
        r#"SELECT s.platform_id AS "platform_id!", 'uncovered_orders' AS "kind!: FindingKind",
                  s.day AS "period_start!", s.day + 1 AS "period_end!", '' AS "subject!",
                  s.refused AS "measure!", COALESCE(o.open, false) AS "open!",
                  0::bigint AS "days_past_due!"
           FROM (SELECT platform_id, day, sum(refused_orders)::bigint AS refused
                 FROM cover_shortfalls WHERE province_code = $1
                 GROUP BY platform_id, day) s
           LEFT JOIN (
               -- A day stays open while a worker refused that day has no enrolment with the
               -- platform, in that province and industry, active now or opened since that day.
               SELECT w.platform_id, w.day, bool_or(NOT EXISTS (
                          SELECT 1 FROM enrolments e
                          WHERE e.person_key = w.person_key AND e.platform_id = w.platform_id
                            AND e.province_code = w.province_code AND e.industry = w.industry
                            AND (e.status = 'active'
                                 OR (e.created_at AT TIME ZONE INTERVAL '+08:00')::date >= w.day)))
                          AS open
               FROM cover_shortfall_days w WHERE w.province_code = $1
               GROUP BY w.platform_id, w.day) o USING (platform_id, day)
           UNION ALL
           SELECT m.platform_id, 'undeclared_month', m.period, (m.period + interval '1 month')::date, '',
                  (COALESCE(d.first_declared, $2) - due.due_date)::bigint,
                  d.first_declared IS NULL, 0::bigint
           FROM order_months m
           CROSS JOIN LATERAL (
               SELECT (m.period + interval '1 month')::date + (COALESCE(
                   (SELECT due_day FROM contribution_policy WHERE province_code = m.province_code),
                   (SELECT due_day FROM contribution_policy WHERE province_code = '00'), 15) - 1)
                   AS due_date) due
           CROSS JOIN LATERAL (
               SELECT min((x.declared_at AT TIME ZONE INTERVAL '+08:00')::date) AS first_declared
               FROM declarations x
               WHERE x.province_code = m.province_code AND x.platform_id = m.platform_id
                 AND x.period = m.period) d
           WHERE m.province_code = $1 AND due.due_date < $2
             AND (d.first_declared IS NULL OR d.first_declared > due.due_date)
           UNION ALL
           SELECT l.platform_id, 'arrears', l.period, (l.period + interval '1 month')::date, '',
                  -- At most the declared total, which is a bigint.
                  (l.total_fen - COALESCE(p.paid_fen, 0))::bigint, true,
                  ($2 - l.due_date)::bigint
           FROM (SELECT DISTINCT ON (platform_id, period) platform_id, period, total_fen, due_date
                 FROM declarations WHERE province_code = $1
                 ORDER BY platform_id, period, version DESC) l
           LEFT JOIN (SELECT platform_id, period, sum(amount_fen) AS paid_fen
                      FROM contribution_payments WHERE province_code = $1 AND paid_on <= $2
                      GROUP BY platform_id, period) p USING (platform_id, period)
           WHERE l.due_date < $2 AND l.total_fen > COALESCE(p.paid_fen, 0)
           UNION ALL
           SELECT c.platform_id, 'uncovered_claims', c.month, (c.month + interval '1 month')::date, '',
                  count(*), bool_or(c.status NOT IN ('closed', 'not_confirmed', 'withdrawn')), 0::bigint
           FROM (SELECT platform_id, status,
                        date_trunc('month', reported_at AT TIME ZONE INTERVAL '+08:00')::date AS month
                 FROM claims WHERE province_code = $1 AND NOT covered) c
           GROUP BY c.platform_id, c.month
           UNION ALL
           SELECT e.platform_id, 'late_enrolment', e.opened_on, e.opened_on + 1, e.enrolment_id::text,
                  (e.opened_on - min(w.day))::bigint, false, 0::bigint
           FROM (SELECT enrolment_id, platform_id, person_key, province_code, created_at,
                        (created_at AT TIME ZONE INTERVAL '+08:00')::date AS opened_on
                 FROM enrolments WHERE province_code = $1) e
           JOIN cover_shortfall_days w
             ON w.province_code = e.province_code AND w.platform_id = e.platform_id
            AND w.person_key = e.person_key AND w.day < e.opened_on
            -- Refusals before an earlier enrolment of the worker were that enrolment's lateness.
            AND NOT EXISTS (
                SELECT 1 FROM enrolments p
                WHERE p.person_key = e.person_key AND p.platform_id = e.platform_id
                  AND p.created_at < e.created_at
                  AND (p.created_at AT TIME ZONE INTERVAL '+08:00')::date > w.day)
           GROUP BY e.enrolment_id, e.platform_id, e.opened_on"#,
        province_code,
        today,
    )
    .fetch_all(&mut **tx)
    .await?;
    // The age band of arrears is as of today; other kinds carry no detail.
    let observed = rows
        .into_iter()
        .map(|row| {
            let detail = match row.kind {
                FindingKind::Arrears => age_band(row.days_past_due).to_owned(),
                _ => String::new(),
            };
            Observed {
                key: FindingKey {
                    platform_id: row.platform_id,
                    kind: row.kind,
                    period_start: row.period_start,
                    subject: row.subject,
                },
                period_end: row.period_end,
                measure: row.measure,
                detail,
                open: row.open,
            }
        })
        .collect();
    Ok(observed)
}

/// A finding row as stored.
pub(crate) struct FindingRow {
    pub province_code: String,
    pub finding_id: Uuid,
    pub platform_id: String,
    pub kind: FindingKind,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub subject: String,
    pub measure: i64,
    pub detail: String,
    pub state: FindingState,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<FindingRow> for Finding {
    fn from(row: FindingRow) -> Self {
        Finding {
            province_code: row.province_code,
            finding_id: row.finding_id,
            key: FindingKey {
                platform_id: row.platform_id,
                kind: row.kind,
                period_start: row.period_start,
                subject: row.subject,
            },
            period_end: row.period_end,
            measure: row.measure,
            detail: row.detail,
            state: row.state,
            opened_at: row.opened_at,
            resolved_at: row.resolved_at,
            updated_at: row.updated_at,
        }
    }
}

/// Every finding kept for a province.
pub async fn kept(tx: &mut Tx, province_code: &str) -> AppResult<Vec<Finding>> {
    let rows = sqlx::query_as!(
        FindingRow,
        r#"SELECT province_code, finding_id, platform_id, kind AS "kind: FindingKind", period_start,
                  period_end, subject, measure, detail, state AS "state: FindingState", opened_at,
                  resolved_at, updated_at
           FROM supervision_findings WHERE province_code = $1"#,
        province_code
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(Finding::from).collect())
}

/// Writes a refresh's changes in one statement.
pub async fn write(tx: &mut Tx, changes: &[Change]) -> AppResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let f = |change: &Change| change.finding.clone();
    let findings: Vec<Finding> = changes.iter().map(f).collect();
    sqlx::query!(
        "INSERT INTO supervision_findings AS f (province_code, finding_id, platform_id, kind,
             period_start, period_end, subject, measure, detail, state, opened_at, resolved_at,
             updated_at)
         SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::date[],
                              $6::date[], $7::text[], $8::bigint[], $9::text[], $10::text[],
                              $11::timestamptz[], $12::timestamptz[], $13::timestamptz[])
         ON CONFLICT (province_code, finding_id) DO UPDATE SET
             period_end = EXCLUDED.period_end, measure = EXCLUDED.measure,
             detail = EXCLUDED.detail, state = EXCLUDED.state, opened_at = EXCLUDED.opened_at,
             resolved_at = EXCLUDED.resolved_at, updated_at = EXCLUDED.updated_at",
        &findings
            .iter()
            .map(|x| x.province_code.as_str())
            .collect::<Vec<_>>() as &[&str],
        &findings.iter().map(|x| x.finding_id).collect::<Vec<_>>(),
        &findings
            .iter()
            .map(|x| x.key.platform_id.as_str())
            .collect::<Vec<_>>() as &[&str],
        &findings
            .iter()
            .map(|x| x.key.kind.as_str())
            .collect::<Vec<_>>() as &[&str],
        &findings
            .iter()
            .map(|x| x.key.period_start)
            .collect::<Vec<_>>(),
        &findings.iter().map(|x| x.period_end).collect::<Vec<_>>(),
        &findings
            .iter()
            .map(|x| x.key.subject.as_str())
            .collect::<Vec<_>>() as &[&str],
        &findings.iter().map(|x| x.measure).collect::<Vec<_>>(),
        &findings
            .iter()
            .map(|x| x.detail.as_str())
            .collect::<Vec<_>>() as &[&str],
        &findings
            .iter()
            .map(|x| x.state.as_str())
            .collect::<Vec<_>>() as &[&str],
        &findings.iter().map(|x| x.opened_at).collect::<Vec<_>>(),
        &findings.iter().map(|x| x.resolved_at).collect::<Vec<_>>() as &[Option<DateTime<Utc>>],
        &findings.iter().map(|x| x.updated_at).collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
