//! Shortfalls kept as facts, written in the order chunk's transaction: the orders refused for
//! missing cover (counted per platform x province x industry x day with bounded samples, and per
//! worker by blind index), and the months a platform had accepted orders in.
use super::Tx;
use super::orders::{NewOrder, OrderOutcome};
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// How many order ids and masked workers a day's count keeps as examples.
pub const SAMPLE_SIZE: i32 = 10;

/// Whether an outcome is a refusal for missing cover: no enrolment active on the order's day, or
/// one in another province or industry. An unknown enrolment id or a missing rate is not.
pub fn is_missing_cover(outcome: &OrderOutcome) -> bool {
    matches!(
        outcome,
        OrderOutcome::NotCovered | OrderOutcome::Mismatch(_)
    )
}

/// How many rows a stream spreads a day's count over: more than the chunks it has in flight.
pub const SLOTS: u64 = 4;

/// Counts a chunk's orders refused for missing cover, in one statement: nothing is sent when none
/// was refused, so a chunk without refusals costs nothing more. `slot` (below [`SLOTS`]) is the
/// stream's own turn, so its chunks in flight update different rows; rows are locked in key order,
/// so chunks of concurrent streams wait on each other rather than deadlock. A worker's day is
/// written once, later refusals of that day only probe the key.
pub async fn record_refusals(
    tx: &mut Tx,
    platform_id: &str,
    orders: &[NewOrder],
    outcomes: &[OrderOutcome],
    slot: u64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let refused: Vec<&NewOrder> = orders
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| is_missing_cover(outcome))
        .map(|(order, _)| order)
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    let provinces: Vec<&str> = refused.iter().map(|o| o.province_code.as_str()).collect();
    let industries: Vec<&str> = refused.iter().map(|o| o.industry.as_str()).collect();
    let days: Vec<NaiveDate> = refused.iter().map(|o| o.day).collect();
    let order_ids: Vec<&str> = refused.iter().map(|o| o.order_id.as_str()).collect();
    let person_keys: Vec<Option<&[u8]>> = refused.iter().map(|o| o.person_key.as_deref()).collect();
    let enrolment_ids: Vec<Option<Uuid>> = refused.iter().map(|o| o.enrolment_id).collect();
    let masked: Vec<Option<&str>> = refused.iter().map(|o| o.worker_masked.as_deref()).collect();
    sqlx::query!(
        r#"WITH r AS (
             -- A worker named by enrolment id is resolved through the platform's own enrolment,
             -- and shown by the mask kept with the person (never the number).
             SELECT u.province_code, u.industry, u.day, u.order_id, u.n,
                    COALESCE(u.person_key, x.person_key) AS person_key,
                    COALESCE(u.masked, p.id_masked) AS masked
             FROM UNNEST($2::text[], $3::text[], $4::date[], $5::text[], $6::bytea[], $7::uuid[],
                         $8::text[])
                  WITH ORDINALITY AS u(province_code, industry, day, order_id, person_key,
                                       enrolment_id, masked, n)
             LEFT JOIN enrolments x
                    ON u.person_key IS NULL AND x.enrolment_id = u.enrolment_id AND x.platform_id = $1
             LEFT JOIN persons p ON p.person_key = x.person_key),
         days AS (
             INSERT INTO cover_shortfalls AS s (province_code, platform_id, industry, day, slot,
                 refused_orders, sample_order_ids, sample_workers, last_refused_at)
             SELECT province_code, $1, industry, day, $11::smallint, count(*),
                    (array_agg(order_id ORDER BY n))[1:$9::int],
                    COALESCE((array_agg(DISTINCT masked) FILTER (WHERE masked IS NOT NULL))[1:$9::int],
                             '{}'),
                    $10
             FROM r GROUP BY province_code, industry, day
             ORDER BY province_code, industry, day
             ON CONFLICT (province_code, platform_id, industry, day, slot) DO UPDATE SET
                 refused_orders = s.refused_orders + EXCLUDED.refused_orders,
                 sample_order_ids = (s.sample_order_ids || EXCLUDED.sample_order_ids)[1:$9::int],
                 sample_workers = (s.sample_workers
                     || ARRAY(SELECT w FROM unnest(EXCLUDED.sample_workers) w
                              WHERE w <> ALL (s.sample_workers)))[1:$9::int],
                 last_refused_at = EXCLUDED.last_refused_at
             RETURNING 1)
         INSERT INTO cover_shortfall_days (province_code, platform_id, person_key, industry, day)
         SELECT DISTINCT province_code, $1, person_key, industry, day
         FROM r WHERE person_key IS NOT NULL
         ORDER BY 1, 2, 3, 4, 5
         ON CONFLICT DO NOTHING"#,
        platform_id,
        &provinces as &[&str],
        &industries as &[&str],
        &days,
        &order_ids as &[&str],
        &person_keys as &[Option<&[u8]>],
        &enrolment_ids as &[Option<Uuid>],
        &masked as &[Option<&str>],
        SAMPLE_SIZE,
        now,
        i16::try_from(slot % SLOTS).unwrap_or(0),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Notes the months (first days) in which the platform had orders accepted in these provinces.
pub async fn note_order_months(
    tx: &mut Tx,
    platform_id: &str,
    months: &[(String, NaiveDate)],
) -> AppResult<()> {
    if months.is_empty() {
        return Ok(());
    }
    let provinces: Vec<&str> = months.iter().map(|(p, _)| p.as_str()).collect();
    let periods: Vec<NaiveDate> = months.iter().map(|(_, m)| *m).collect();
    sqlx::query!(
        "INSERT INTO order_months (province_code, platform_id, period)
         SELECT p, $1, m FROM UNNEST($2::text[], $3::date[]) AS u(p, m)
         ORDER BY p, m
         ON CONFLICT DO NOTHING",
        platform_id,
        &provinces as &[&str],
        &periods,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
