//! RecordOrders: a platform's orders, recorded exactly once and priced at acceptance, in
//! set-based chunks (the API layer reads the stream and pipelines the chunks).
use super::events;
use crate::auth::Principal;
use crate::domain::clock::china_date;
use crate::domain::division::PlaceOfEmployment;
use crate::domain::id_number::IdNumber;
use crate::domain::industry::Industry;
use crate::domain::platform::PlatformId;
use crate::domain::rates::rate_version;
use crate::error::{AppError, AppResult, is_retryable};
use crate::policy::{self, Action, Owner};
use crate::service::AppState;
use crate::store::orders::{self as store, NewOrder, OrderOutcome, Repeats};
use crate::store::shortfalls;
use chrono::{DateTime, Utc};
use chrono::{Datelike, NaiveDate};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use uuid::Uuid;

/// One order as the platform reported it, decoded.
#[derive(Debug, Clone)]
pub struct OrderLine {
    pub order_id: String,
    pub worker: OrderWorker,
    pub place: PlaceOfEmployment,
    pub industry: Industry,
    pub accepted_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Whose order: by ID number, or by one of the platform's own enrolment ids.
#[derive(Debug, Clone)]
pub enum OrderWorker {
    IdNumber(IdNumber),
    Enrolment(Uuid),
}

/// Only platforms record orders, each its own: the stream is the calling platform's.
pub fn authorize(principal: &Principal) -> AppResult<PlatformId> {
    let platform = super::own_platform(principal);
    policy::authorize_scope(
        &principal.role,
        Action::RecordOrders,
        Owner {
            province: None,
            platform,
        },
    )?;
    platform.cloned().ok_or_else(|| {
        anyhow::anyhow!("the policy let a caller without a platform record orders").into()
    })
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Per item: refused before writing, a position among the orders to write, or a repeat of an
/// earlier item of its chunk with the same order id.
enum Slot {
    Refused(AppError),
    Write(usize),
    RepeatOf(usize),
}

/// A chunk ready to write: what each item became, and the distinct orders to write.
pub struct PreparedChunk {
    first_index: i64,
    slots: Vec<Slot>,
    to_write: Vec<NewOrder>,
}

impl PreparedChunk {
    /// The order ids this chunk writes (what it may collide on with another chunk).
    pub fn order_ids(&self) -> impl Iterator<Item = &str> {
        self.to_write.iter().map(|order| order.order_id.as_str())
    }
}

/// Turns a chunk of decoded items into orders to write, in memory (the worker's blind index is
/// computed here, off the writer's path).
pub fn prepare(
    state: &AppState,
    first_index: i64,
    lines: Vec<Result<OrderLine, AppError>>,
) -> PreparedChunk {
    let mut to_write: Vec<NewOrder> = Vec::with_capacity(lines.len());
    let mut positions: HashMap<String, usize> = HashMap::new();
    let slots = lines
        .into_iter()
        .map(|line| match line {
            Err(error) => Slot::Refused(error),
            Ok(line) => match positions.get(&line.order_id) {
                Some(&earlier) => Slot::RepeatOf(earlier),
                None => {
                    let order = new_order(state, line);
                    positions.insert(order.order_id.clone(), to_write.len());
                    to_write.push(order);
                    Slot::Write(to_write.len() - 1)
                }
            },
        })
        .collect();
    PreparedChunk {
        first_index,
        slots,
        to_write,
    }
}

fn new_order(state: &AppState, line: OrderLine) -> NewOrder {
    let (person_key, enrolment_id, worker_masked) = match &line.worker {
        OrderWorker::IdNumber(id) => (Some(state.pii.person_key(id)), None, Some(id.masked())),
        OrderWorker::Enrolment(id) => (None, Some(*id), None),
    };
    NewOrder {
        province_code: line.place.province().to_string(),
        place_code: line.place.as_str().to_owned(),
        order_id: line.order_id,
        person_key,
        enrolment_id,
        worker_masked,
        industry: line.industry,
        day: china_date(line.accepted_at),
        accepted_at: line.accepted_at,
        completed_at: line.completed_at,
    }
}

/// What became of one item of the stream.
#[derive(Debug)]
pub struct OrderResult {
    /// 0-based position in the stream.
    pub index: i64,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub enum Outcome {
    Accepted {
        order_id: String,
        enrolment_id: Uuid,
        rate_version: String,
        premium_tenth_fen: i64,
    },
    /// Recorded before: acknowledged, never charged twice.
    Duplicate(String),
    Refused(AppError),
}

/// Writes one stream's chunks. While the stream's chunks repeat recorded orders (a reconnect
/// resends a run of them), its next chunks are written expecting repeats rather than each failing
/// on the first one and being written again.
pub struct Writer {
    platform: PlatformId,
    resending: AtomicBool,
    /// The (province, month) pairs this stream has noted as having orders: each is written once
    /// per stream, not once per chunk.
    months: Mutex<HashSet<(String, NaiveDate)>>,
    /// Chunks written so far: their turn among the rows refusals are counted in.
    chunks: AtomicU64,
}

impl Writer {
    pub fn new(platform: PlatformId) -> Self {
        Self {
            platform,
            resending: AtomicBool::new(false),
            months: Mutex::new(HashSet::new()),
            chunks: AtomicU64::new(0),
        }
    }

    /// Records one prepared chunk; one result per item, in order.
    pub async fn record(
        &self,
        state: &AppState,
        chunk: PreparedChunk,
    ) -> AppResult<Vec<OrderResult>> {
        let PreparedChunk {
            first_index,
            slots,
            to_write,
        } = chunk;
        let outcomes = self.write(state, &to_write).await?;
        let results = slots
            .into_iter()
            .enumerate()
            .map(|(offset, slot)| {
                let outcome = match slot {
                    Slot::Refused(error) => Outcome::Refused(error),
                    Slot::Write(position) => self.outcome(&to_write[position], &outcomes[position]),
                    // The same order twice in one chunk: the second is a duplicate of the first.
                    Slot::RepeatOf(position) => match &outcomes[position] {
                        OrderOutcome::Accepted { .. } | OrderOutcome::Duplicate => {
                            Outcome::Duplicate(to_write[position].order_id.clone())
                        }
                        other => self.outcome(&to_write[position], other),
                    },
                };
                OrderResult {
                    index: first_index + offset as i64,
                    outcome,
                }
            })
            .collect();
        Ok(results)
    }

    fn outcome(&self, order: &NewOrder, outcome: &OrderOutcome) -> Outcome {
        let refused = |message: String| Outcome::Refused(AppError::FailedPrecondition(message));
        match outcome {
            OrderOutcome::Accepted {
                enrolment_id,
                base_rate_id,
                multiplier_id,
                premium_tenth_fen,
            } => Outcome::Accepted {
                order_id: order.order_id.clone(),
                enrolment_id: *enrolment_id,
                rate_version: rate_version(*base_rate_id, *multiplier_id),
                premium_tenth_fen: *premium_tenth_fen,
            },
            OrderOutcome::Duplicate => Outcome::Duplicate(order.order_id.clone()),
            OrderOutcome::NotCovered => refused(format!(
                "platform {} has no enrolment of this worker active on {} (China Standard Time)",
                self.platform, order.day
            )),
            // Exactly what reading an enrolment one may not see (or that does not exist) answers.
            OrderOutcome::UnknownEnrolment(enrolment_id) => {
                Outcome::Refused(crate::service::enrolment::not_found(*enrolment_id))
            }
            OrderOutcome::Mismatch(message) => refused(message.clone()),
            OrderOutcome::NoRate => {
                refused(crate::service::rates::no_rate(order.industry, order.day))
            }
            OrderOutcome::MonthArchived => refused(format!(
                "orders of {} (China Standard Time) were archived: the month's declarations are \
                 final and it takes no new orders",
                order.day.format("%Y-%m")
            )),
        }
    }

    /// The months of the chunk's accepted orders this stream has not noted yet.
    fn new_months(
        &self,
        orders: &[NewOrder],
        outcomes: &[OrderOutcome],
    ) -> Vec<(String, NaiveDate)> {
        let Ok(known) = self.months.lock() else {
            return Vec::new();
        };
        let mut months: Vec<(String, NaiveDate)> = Vec::new();
        for (order, outcome) in orders.iter().zip(outcomes) {
            if !matches!(outcome, OrderOutcome::Accepted { .. }) {
                continue;
            }
            let key = (order.province_code.clone(), first_of_month(order.day));
            if !known.contains(&key) && !months.contains(&key) {
                months.push(key);
            }
        }
        months
    }

    /// Remembers months noted by a committed chunk.
    fn noted(&self, months: Vec<(String, NaiveDate)>) {
        if let Ok(mut known) = self.months.lock() {
            known.extend(months);
        }
    }

    /// Writes one chunk in one transaction, with one event per province for what it accepted.
    async fn write(&self, state: &AppState, orders: &[NewOrder]) -> AppResult<Vec<OrderOutcome>> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let platform = self.platform.as_str();
        let mut repeats = if self.resending.load(Ordering::Relaxed) {
            Repeats::Expected
        } else {
            Repeats::Unexpected
        };
        let mut deadlocks = 0;
        let slot = self.chunks.fetch_add(1, Ordering::Relaxed);
        loop {
            let now = state.clock.now();
            let mut tx = crate::service::begin(state).await?;
            match store::record(&mut tx, platform, orders, now, repeats).await {
                Ok(Some(outcomes)) => {
                    let recorded = events::orders_recorded(&self.platform, orders, &outcomes, now);
                    crate::store::events::append_many(&mut tx, &recorded).await?;
                    // Supervision's facts, in the same transaction; never charged.
                    shortfalls::record_refusals(&mut tx, platform, orders, &outcomes, slot, now)
                        .await?;
                    let months = self.new_months(orders, &outcomes);
                    shortfalls::note_order_months(&mut tx, platform, &months).await?;
                    tx.commit().await?;
                    self.noted(months);
                    if repeats == Repeats::Expected {
                        let repeated = outcomes.contains(&OrderOutcome::Duplicate);
                        self.resending.store(repeated, Ordering::Relaxed);
                    }
                    return Ok(outcomes);
                }
                Ok(None) => {
                    tx.rollback().await?;
                    self.resending.store(true, Ordering::Relaxed);
                    repeats = Repeats::Expected;
                }
                Err(error) if deadlocks < 2 && is_retryable(&error) => {
                    deadlocks += 1;
                    tracing::info!(attempt = deadlocks, "order chunk hit a deadlock; retrying");
                }
                Err(error) => return Err(error),
            }
        }
    }
}
