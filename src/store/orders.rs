//! Orders, priced once at the rate in force at acceptance and recorded exactly once per platform
//! and order id; the covered days they prove are a view over them. Set-based: two statements per
//! chunk (the rates in force, then one that finds the covering enrolments and inserts).
use super::enrolments::active_on;
use super::rates::{RateInForce, RateKey, in_force_many};
use super::{Tx, column};
use crate::domain::industry::Industry;
use crate::error::{AppResult, UNIQUE_VIOLATION};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A validated order of one platform.
pub struct NewOrder {
    pub order_id: String,
    /// The worker, by blind index or by enrolment id (one of them).
    pub person_key: Option<Vec<u8>>,
    pub enrolment_id: Option<Uuid>,
    /// The worker's ID number masked, when the order named it: kept with a refusal's sample.
    pub worker_masked: Option<String>,
    pub place_code: String,
    pub province_code: String,
    pub industry: Industry,
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
    /// The order names an enrolment id that is not one of the platform's (or does not exist).
    UnknownEnrolment(Uuid),
    /// The worker is enrolled in another province or industry.
    Mismatch(String),
    /// No base rate was in force for the industry on that day.
    NoRate,
    /// The order's month was archived (its declarations are final): closed to new orders.
    MonthArchived,
}

/// What the statement tells of one order: the covering enrolment found (if any), and whether the
/// order was recorded before this chunk. Inserted orders come back as their own rows.
#[derive(sqlx::FromRow)]
struct Written {
    n: Option<i64>,
    enrolment_id: Option<Uuid>,
    province_code: Option<String>,
    industry: Option<Industry>,
    recorded_before: bool,
    /// The order named an enrolment id that is none of the platform's enrolments.
    unknown_enrolment: bool,
    /// The order's month was archived: closed to new orders.
    archived: bool,
    inserted_order_id: Option<String>,
}

/// Finds each order's covering enrolment and inserts the orders it covers, in one statement: one
/// round trip and one pass over the chunk instead of sending it twice. An order is written when
/// the platform's enrolment of its worker was active on its day, in the order's province and
/// industry, and a rate was in force; the rest come back with what was found, to be refused.
///
/// There are no joins between the chunk's row sets: a generic plan guesses array parameters at
/// ten elements and would pick nested loops over thousands of rows. Inserted orders come back as
/// separate rows instead.
macro_rules! record_statement {
    ($writes:literal) => {
        concat!(
    "WITH t AS (
         -- The worker is resolved to a person key first, so each lookup is an index probe (an OR of
         -- person and enrolment id would defeat the indexes). A platform names only its own
         -- enrolments: another platform's enrolment id finds no worker.
         SELECT u.*,
                COALESCE(u.person_key, (SELECT x.person_key FROM enrolments x
                                        WHERE x.enrolment_id = u.enrolment_key AND x.platform_id = $1)) AS worker_key,
                -- Months before the oldest attached partition were archived: closed to orders.
                -- (Uncorrelated: evaluated once per statement.)
                u.accepted_at < (SELECT COALESCE(min(p.month)::timestamp AT TIME ZONE INTERVAL '+08:00',
                                                 '-infinity')
                                 FROM order_partitions p WHERE p.state = 'attached') AS archived
         FROM UNNEST($2::bytea[], $3::uuid[], $4::date[], $5::text[], $6::text[], $7::text[], $8::text[],
                     $9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::bigint[], $13::bigint[])
              WITH ORDINALITY AS u(person_key, enrolment_key, day, province_code, order_id, place_code, industry,
                                   accepted_at, completed_at, base_rate_id, multiplier_id, premium, n)),
     c AS (
         -- Only the columns used after: every row is materialized, as both the insert and the
         -- answer read it.
         SELECT t.n, t.order_id, t.province_code, t.place_code, t.industry, t.accepted_at, t.completed_at,
                t.base_rate_id, t.multiplier_id, t.premium,
                e.enrolment_id, e.province_code AS enrolled_province, e.industry AS enrolled_industry,
                e.province_code = t.province_code AND e.industry = t.industry
                    AND t.base_rate_id IS NOT NULL AND NOT t.archived AS to_write,
                t.archived,
                t.enrolment_key IS NOT NULL AND t.worker_key IS NULL AS unknown_enrolment
         FROM t
         LEFT JOIN LATERAL (
             SELECT e.enrolment_id, e.province_code, e.industry FROM enrolments e
             WHERE e.person_key = t.worker_key AND e.platform_id = $1
               AND ", active_on!("t.day"), "
             ORDER BY e.cover_start DESC LIMIT 1) e ON true),
     ", $writes, "
     SELECT c.n, c.enrolment_id, c.enrolled_province AS province_code,
            c.enrolled_industry AS industry,
            -- The statement's snapshot predates its own inserts: this sees earlier recordings only.
            CASE WHEN c.to_write THEN false
                 ELSE EXISTS (SELECT 1 FROM order_keys k WHERE k.platform_id = $1 AND k.order_id = c.order_id) END
                AS recorded_before,
            c.unknown_enrolment, c.archived,
            NULL::text AS inserted_order_id
     FROM c
     UNION ALL
     SELECT NULL, NULL, NULL, NULL, false, false, false, order_id FROM ins",
        )
    };
}

/// How a chunk's orders are inserted. Nearly every chunk is new orders: a plain insert checks each
/// order's key once, as it enters the index. `ON CONFLICT` checks it a second time beforehand (about
/// 8% of the machine's CPU during ingest, perf) and is used only for a chunk that turned out to repeat
/// a recorded order: the plain insert then fails on the key and the chunk is written again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeats {
    /// Insert plainly; a repeated order id fails the chunk (`Ok(None)` from [`record`]).
    Unexpected,
    /// Skip orders recorded before (or by a concurrent stream); they are duplicates.
    Expected,
}

/// New orders: the key claims and the orders inserted plainly, in order-id order (concurrent
/// streams sending the same orders then wait on each other instead of deadlocking).
const RECORD_NEW: &str = record_statement!(
    "keys AS (
         INSERT INTO order_keys (platform_id, order_id)
         SELECT $1, c.order_id FROM c WHERE c.to_write ORDER BY c.n),
     ins AS (
         INSERT INTO orders (province_code, platform_id, order_id, enrolment_id, place_code, industry,
             accepted_at, completed_at, base_rate_id, multiplier_id, premium_tenth_fen, recorded_at)
         SELECT c.province_code, $1, c.order_id, c.enrolment_id, c.place_code, c.industry,
                c.accepted_at, c.completed_at, c.base_rate_id, c.multiplier_id, c.premium, $14
         FROM c WHERE c.to_write ORDER BY c.n
         RETURNING order_id)"
);
/// Orders that may repeat recorded ones: only the keys are claimed here (what comes back is what
/// this chunk won); the won orders are inserted by [`INSERT_CLAIMED`]. Joining the claimed keys
/// back to the chunk inside one statement would be planned for ten rows (a generic plan's guess
/// for an array) and loop over thousands.
const RECORD_REPEATS: &str = record_statement!(
    "ins AS (
         INSERT INTO order_keys (platform_id, order_id)
         SELECT $1, c.order_id FROM c WHERE c.to_write ORDER BY c.n
         ON CONFLICT (platform_id, order_id) DO NOTHING
         RETURNING order_id)"
);
const INSERT_CLAIMED: &str = "INSERT INTO orders (province_code, platform_id, order_id, enrolment_id,
         place_code, industry, accepted_at, completed_at, base_rate_id, multiplier_id,
         premium_tenth_fen, recorded_at)
     SELECT u.province_code, $1, u.order_id, u.enrolment_id, u.place_code, u.industry,
            u.accepted_at, u.completed_at, u.base_rate_id, u.multiplier_id, u.premium, $11
     FROM UNNEST($2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[],
                 $8::timestamptz[], $9::bigint[], $10::bigint[], $12::bigint[])
          AS u(province_code, order_id, enrolment_id, place_code, industry, accepted_at,
               completed_at, base_rate_id, multiplier_id, premium)";

/// Records a chunk of one platform's orders; one outcome per order, in order. Order ids must be
/// distinct within the chunk. `Ok(None)`: with [`Repeats::Unexpected`], an order had been recorded
/// before; the transaction is aborted and the chunk must be written again with
/// [`Repeats::Expected`].
pub async fn record(
    tx: &mut Tx,
    platform_id: &str,
    orders: &[NewOrder],
    now: DateTime<Utc>,
    repeats: Repeats,
) -> AppResult<Option<Vec<OrderOutcome>>> {
    let (rates, rate_index) = rates_of(tx, platform_id, orders).await?;
    let rate_of: Vec<Option<&RateInForce>> = rate_index
        .iter()
        .map(|index| index.and_then(|i| rates.get(i)))
        .collect();
    // Sent in order-id order (the insert's lock order); `n` maps rows back.
    let mut sent: Vec<usize> = (0..orders.len()).collect();
    sent.sort_by(|&a, &b| orders[a].order_id.cmp(&orders[b].order_id));
    let statement = match repeats {
        Repeats::Unexpected => RECORD_NEW,
        Repeats::Expected => RECORD_REPEATS,
    };
    let rate_column = |value: fn(&RateInForce) -> Option<i64>| {
        column(&rate_of, &sent, |rate| rate.and_then(value))
    };
    let query = sqlx::query_as(statement)
        .bind(platform_id)
        .bind(column(orders, &sent, |o| o.person_key.as_deref()))
        .bind(column(orders, &sent, |o| o.enrolment_id))
        .bind(column(orders, &sent, |o| o.day))
        .bind(column(orders, &sent, |o| o.province_code.as_str()))
        .bind(column(orders, &sent, |o| o.order_id.as_str()))
        .bind(column(orders, &sent, |o| o.place_code.as_str()))
        .bind(column(orders, &sent, |o| o.industry))
        .bind(column(orders, &sent, |o| o.accepted_at))
        .bind(column(orders, &sent, |o| o.completed_at))
        .bind(rate_column(|r| Some(r.base_rate_id)))
        .bind(rate_column(|r| r.multiplier_id))
        // Priced here, by `domain::rates::order_premium_tenth_fen` (through `premium_tenth_fen`),
        // and sent as a column: the statement only stores it, so the formula has one definition.
        .bind(rate_column(|r| Some(r.premium_tenth_fen())));
    let query = match repeats {
        Repeats::Unexpected => query.bind(now),
        Repeats::Expected => query,
    };
    let rows: Result<Vec<Written>, sqlx::Error> = query.fetch_all(&mut **tx).await;
    let rows = match rows {
        Err(sqlx::Error::Database(error))
            if repeats == Repeats::Unexpected
                && error.code().as_deref() == Some(UNIQUE_VIOLATION) =>
        {
            return Ok(None);
        }
        rows => rows?,
    };
    let (found, inserted) = sort_rows(rows, &sent, orders.len())?;
    let outcomes: Vec<OrderOutcome> = orders
        .iter()
        .zip(found)
        .zip(rate_of)
        .map(|((order, found), rate)| {
            let found =
                found.ok_or_else(|| anyhow::anyhow!("an order was left without an outcome"))?;
            Ok(outcome(order, found, rate, &inserted))
        })
        .collect::<AppResult<_>>()?;
    if repeats == Repeats::Expected {
        insert_claimed(tx, platform_id, orders, &outcomes, now).await?;
    }
    Ok(Some(outcomes))
}

/// The rate in force for each order, by its own province, industry and day: an order whose
/// enrolment differs in either is refused, so no other rate is ever needed.
/// The rates found, and each order's position among them.
async fn rates_of(
    tx: &mut Tx,
    platform_id: &str,
    orders: &[NewOrder],
) -> AppResult<(Vec<RateInForce>, Vec<Option<usize>>)> {
    let distinct: HashSet<(&str, Industry, NaiveDate)> = orders
        .iter()
        .map(|o| (o.province_code.as_str(), o.industry, o.day))
        .collect();
    let rate_keys: Vec<RateKey> = distinct
        .into_iter()
        .map(|(province, industry, day)| (province.to_owned(), industry, day))
        .collect();
    let rate_keys: Vec<&RateKey> = rate_keys.iter().collect();
    let found: Vec<(RateKey, RateInForce)> = in_force_many(&mut **tx, platform_id, &rate_keys)
        .await?
        .into_iter()
        .collect();
    let rate_by_key: HashMap<(&str, Industry, NaiveDate), usize> = found
        .iter()
        .enumerate()
        .map(|(i, ((province, industry, day), _))| ((province.as_str(), *industry, *day), i))
        .collect();
    let positions = orders
        .iter()
        .map(|o| {
            rate_by_key
                .get(&(o.province_code.as_str(), o.industry, o.day))
                .copied()
        })
        .collect();
    let rates = found.into_iter().map(|(_, rate)| rate).collect();
    Ok((rates, positions))
}

/// The statement's rows by order (positions of `sent`), and the order ids it inserted (or whose
/// keys it claimed).
fn sort_rows(
    rows: Vec<Written>,
    sent: &[usize],
    count: usize,
) -> AppResult<(Vec<Option<Written>>, HashSet<String>)> {
    let mut found: Vec<Option<Written>> = (0..count).map(|_| None).collect();
    let mut inserted: HashSet<String> = HashSet::new();
    for mut row in rows {
        if let Some(order_id) = row.inserted_order_id.take() {
            inserted.insert(order_id);
            continue;
        }
        let i = row
            .n
            .and_then(|n| usize::try_from(n - 1).ok())
            .and_then(|position| sent.get(position).copied())
            .ok_or_else(|| anyhow::anyhow!("an order row came back without its position"))?;
        found[i] = Some(row);
    }
    Ok((found, inserted))
}

/// Inserts the orders whose keys this chunk claimed (accepted outcomes), after a claim that
/// expected repeats.
async fn insert_claimed(
    tx: &mut Tx,
    platform_id: &str,
    orders: &[NewOrder],
    outcomes: &[OrderOutcome],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let claimed: Vec<(&NewOrder, &OrderOutcome)> = orders
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| matches!(outcome, OrderOutcome::Accepted { .. }))
        .collect();
    if claimed.is_empty() {
        return Ok(());
    }
    let all: Vec<usize> = (0..claimed.len()).collect();
    let accepted = |value: fn(&OrderOutcome) -> Option<i64>| {
        column(&claimed, &all, |(_, outcome)| value(outcome))
    };
    sqlx::query(INSERT_CLAIMED)
        .bind(platform_id)
        .bind(column(&claimed, &all, |(o, _)| o.province_code.as_str()))
        .bind(column(&claimed, &all, |(o, _)| o.order_id.as_str()))
        .bind(column(&claimed, &all, |(_, outcome)| match outcome {
            OrderOutcome::Accepted { enrolment_id, .. } => Some(*enrolment_id),
            _ => None,
        }))
        .bind(column(&claimed, &all, |(o, _)| o.place_code.as_str()))
        .bind(column(&claimed, &all, |(o, _)| o.industry))
        .bind(column(&claimed, &all, |(o, _)| o.accepted_at))
        .bind(column(&claimed, &all, |(o, _)| o.completed_at))
        .bind(accepted(|o| match o {
            OrderOutcome::Accepted { base_rate_id, .. } => Some(*base_rate_id),
            _ => None,
        }))
        .bind(accepted(|o| match o {
            OrderOutcome::Accepted { multiplier_id, .. } => *multiplier_id,
            _ => None,
        }))
        .bind(now)
        .bind(accepted(|o| match o {
            OrderOutcome::Accepted {
                premium_tenth_fen, ..
            } => Some(*premium_tenth_fen),
            _ => None,
        }))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An order's outcome from what the statement found. Refusals are checked in the order a reader
/// would: enrolment, then its province and industry, then the rate; an order refused now but
/// recorded before is a duplicate.
fn outcome(
    order: &NewOrder,
    found: Written,
    rate: Option<&RateInForce>,
    inserted: &HashSet<String>,
) -> OrderOutcome {
    if found.archived {
        return OrderOutcome::MonthArchived;
    }
    let refusal = match (found.enrolment_id, found.province_code, found.industry) {
        (Some(enrolment_id), Some(province_code), Some(industry)) => {
            if province_code != order.province_code {
                OrderOutcome::Mismatch(format!(
                    "the worker's enrolment is in province {province_code}, not {}; transfer it first",
                    order.province_code
                ))
            } else if industry != order.industry {
                OrderOutcome::Mismatch(format!("the worker is enrolled for {}", industry.as_str()))
            } else {
                match rate {
                    None => OrderOutcome::NoRate,
                    Some(rate) if inserted.contains(&order.order_id) => OrderOutcome::Accepted {
                        enrolment_id,
                        base_rate_id: rate.base_rate_id,
                        multiplier_id: rate.multiplier_id,
                        premium_tenth_fen: rate.premium_tenth_fen(),
                    },
                    // Written by another transaction first (a conflict): never charged twice.
                    Some(_) => OrderOutcome::Duplicate,
                }
            }
        }
        _ => match order.enrolment_id {
            Some(named) if found.unknown_enrolment => OrderOutcome::UnknownEnrolment(named),
            _ => OrderOutcome::NotCovered,
        },
    };
    match refusal {
        OrderOutcome::Accepted { .. } | OrderOutcome::Duplicate => refusal,
        _ if found.recorded_before => OrderOutcome::Duplicate,
        _ => refusal,
    }
}
