//! Orders, priced once at the rate in force at acceptance and recorded exactly once per platform
//! and order id; the covered days they prove are a view over them. Set-based: a fixed handful of statements per
//! chunk.
use super::Tx;
use super::enrolments::active_on;
use super::rates::{RateInForce, RateKey, in_force_many};
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A validated order of one platform.
pub struct NewOrder {
    pub order_id: String,
    /// The worker, by blind index or by enrolment id (one of them).
    pub person_key: Option<Vec<u8>>,
    pub enrolment_id: Option<Uuid>,
    pub place_code: String,
    pub province_code: String,
    pub industry: &'static str,
    pub accepted_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The day of acceptance in China Standard Time.
    pub day: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderOutcome {
    Accepted {
        enrolment_id: Uuid,
        base_rate_id: i64,
        multiplier_id: Option<i64>,
        premium_tenth_fen: i64,
    },
    /// Recorded before (by this or another stream): never charged twice.
    Duplicate,
    /// The platform has no enrolment of the worker active on that day.
    NotCovered,
    /// The worker is enrolled in another province or industry.
    Mismatch(String),
    /// No base rate was in force for the industry on that day.
    NoRate,
}

#[derive(sqlx::FromRow)]
struct Covering {
    n: i64,
    enrolment_id: Uuid,
    province_code: String,
    industry: String,
}

/// The platform's enrolment of each order's worker whose state on the order's day was active.
async fn covering(
    tx: &mut Tx,
    platform_id: &str,
    orders: &[NewOrder],
) -> AppResult<HashMap<usize, Covering>> {
    let rows: Vec<Covering> = sqlx::query_as(concat!(
        // The worker is resolved to a person key first, so each lookup is an index probe (an OR of
        // person and enrolment id would defeat the indexes).
        "WITH t AS (
             SELECT u.n, u.day,
                    COALESCE(u.person_key, (SELECT x.person_key FROM enrolments x WHERE x.enrolment_id = u.enrolment_id)) AS person_key
             FROM UNNEST($2::bytea[], $3::uuid[], $4::date[]) WITH ORDINALITY AS u(person_key, enrolment_id, day, n))
         SELECT t.n, e.enrolment_id, e.province_code::text AS province_code, e.industry
         FROM t
         JOIN LATERAL (
             SELECT e.* FROM enrolments e
             WHERE e.person_key = t.person_key AND e.platform_id = $1
               AND ", active_on!("t.day"), "
             ORDER BY e.cover_start DESC LIMIT 1) e ON true",
    ))
    .bind(platform_id)
    .bind(orders.iter().map(|o| o.person_key.as_deref()).collect::<Vec<_>>())
    .bind(orders.iter().map(|o| o.enrolment_id).collect::<Vec<_>>())
    .bind(orders.iter().map(|o| o.day).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ((row.n - 1) as usize, row))
        .collect())
}

/// Records a chunk of one platform's orders; one outcome per order, in order. Order ids must be
/// distinct within the chunk.
pub async fn record(
    tx: &mut Tx,
    platform_id: &str,
    orders: &[NewOrder],
    now: DateTime<Utc>,
) -> AppResult<Vec<OrderOutcome>> {
    let covering = covering(tx, platform_id, orders).await?;
    let mut outcomes: Vec<Option<OrderOutcome>> = vec![None; orders.len()];
    let mut rate_keys = HashSet::new();
    for (i, order) in orders.iter().enumerate() {
        match covering.get(&i) {
            None => outcomes[i] = Some(OrderOutcome::NotCovered),
            Some(c) if c.province_code != order.province_code => {
                outcomes[i] = Some(OrderOutcome::Mismatch(format!(
                    "the worker's enrolment is in province {}, not {}; transfer it first",
                    c.province_code, order.province_code
                )))
            }
            Some(c) if c.industry != order.industry => {
                outcomes[i] = Some(OrderOutcome::Mismatch(format!(
                    "the worker is enrolled for {}",
                    c.industry
                )))
            }
            Some(c) => {
                rate_keys.insert((c.province_code.clone(), c.industry.clone(), order.day));
            }
        }
    }
    let keys: Vec<&RateKey> = rate_keys.iter().collect();
    let rates = in_force_many(&mut **tx, platform_id, &keys).await?;
    let mut priced: Vec<(usize, Uuid, &RateInForce)> = Vec::new();
    for (i, order) in orders.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        let Some(c) = covering.get(&i) else { continue };
        match rates.get(&(c.province_code.clone(), c.industry.clone(), order.day)) {
            Some(rate) => priced.push((i, c.enrolment_id, rate)),
            None => outcomes[i] = Some(OrderOutcome::NoRate),
        }
    }
    // Sorted, so concurrent streams sending the same orders wait on each other, not deadlock.
    priced.sort_by(|a, b| orders[a.0].order_id.cmp(&orders[b.0].order_id));
    let premium = |rate: &RateInForce| rate.fen_per_order * i64::from(rate.tenths.unwrap_or(10));
    let inserted: Vec<String> = sqlx::query_scalar(
        "INSERT INTO orders (province_code, platform_id, order_id, enrolment_id, place_code, industry,
             accepted_at, completed_at, base_rate_id, multiplier_id, premium_tenth_fen, recorded_at)
         SELECT t.province_code, $1, t.order_id, t.enrolment_id, t.place_code, t.industry,
                t.accepted_at, t.completed_at, t.base_rate_id, t.multiplier_id, t.premium, $11
         FROM UNNEST($2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[],
                     $8::timestamptz[], $9::bigint[], $10::bigint[], $12::bigint[])
              WITH ORDINALITY AS t(province_code, order_id, enrolment_id, place_code, industry,
                                   accepted_at, completed_at, base_rate_id, multiplier_id, premium, n)
         ORDER BY t.n
         ON CONFLICT (platform_id, order_id) DO NOTHING
         RETURNING order_id",
    )
    .bind(platform_id)
    .bind(priced.iter().map(|p| orders[p.0].province_code.as_str()).collect::<Vec<_>>())
    .bind(priced.iter().map(|p| orders[p.0].order_id.as_str()).collect::<Vec<_>>())
    .bind(priced.iter().map(|p| p.1).collect::<Vec<_>>())
    .bind(priced.iter().map(|p| orders[p.0].place_code.as_str()).collect::<Vec<_>>())
    .bind(priced.iter().map(|p| orders[p.0].industry).collect::<Vec<_>>())
    .bind(priced.iter().map(|p| orders[p.0].accepted_at).collect::<Vec<_>>())
    .bind(priced.iter().map(|p| orders[p.0].completed_at).collect::<Vec<_>>())
    .bind(priced.iter().map(|p| p.2.base_rate_id).collect::<Vec<_>>())
    .bind(priced.iter().map(|p| p.2.multiplier_id).collect::<Vec<_>>())
    .bind(now)
    .bind(priced.iter().map(|p| premium(p.2)).collect::<Vec<_>>())
    .fetch_all(&mut **tx)
    .await?;
    let inserted: HashSet<String> = inserted.into_iter().collect();
    for (i, enrolment_id, rate) in &priced {
        let order = &orders[*i];
        outcomes[*i] = Some(if inserted.contains(&order.order_id) {
            OrderOutcome::Accepted {
                enrolment_id: *enrolment_id,
                base_rate_id: rate.base_rate_id,
                multiplier_id: rate.multiplier_id,
                premium_tenth_fen: premium(rate),
            }
        } else {
            OrderOutcome::Duplicate
        });
    }
    // Orders that failed a check may still have been recorded earlier: those are duplicates too.
    let unresolved: Vec<&str> = (0..orders.len())
        .filter(|&i| {
            !matches!(
                outcomes[i],
                Some(OrderOutcome::Accepted { .. }) | Some(OrderOutcome::Duplicate)
            )
        })
        .map(|i| orders[i].order_id.as_str())
        .collect();
    if !unresolved.is_empty() {
        let seen: Vec<String> = sqlx::query_scalar(
            "SELECT order_id FROM orders WHERE platform_id = $1 AND order_id = ANY($2)",
        )
        .bind(platform_id)
        .bind(&unresolved)
        .fetch_all(&mut **tx)
        .await?;
        let seen: HashSet<String> = seen.into_iter().collect();
        for (i, order) in orders.iter().enumerate() {
            if seen.contains(&order.order_id)
                && !matches!(outcomes[i], Some(OrderOutcome::Accepted { .. }))
            {
                outcomes[i] = Some(OrderOutcome::Duplicate);
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| anyhow::anyhow!("an order was left without an outcome").into()))
        .collect()
}
