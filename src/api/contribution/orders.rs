//! RecordOrders: a platform's order stream, recorded exactly once and priced at acceptance, in
//! set-based chunks.
use crate::api::AppState;
use crate::api::convert::{self, instant_from_proto};
use crate::api::rates::rate_version;
use crate::api::streaming::{self, Pipeline, footprint_key};
use crate::auth::Principal;
use crate::domain::Invalid;
use crate::domain::clock::china_date;
use crate::domain::division::PlaceOfEmployment;
use crate::domain::id_number::IdNumber;
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::{AppError, Violations, is_retryable, rpc_status};
use crate::pb;
use crate::store::orders::{self, NewOrder, OrderOutcome, Repeats};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

const PIPELINE: Pipeline = Pipeline {
    chunk_size: 2000,
    prepared_ahead: 2,
    in_flight: 3,
};
/// Orders may be reported late, but not from the future (beyond a little clock skew).
const MAX_CLOCK_SKEW_MINUTES: i64 = 5;

pub type ResultStream = ReceiverStream<Result<pb::RecordOrdersResult, Status>>;

/// Chunks whose order ids differ are written at once; a chunk repeating an order id of one in
/// flight waits for it, so the earlier copy is the one accepted.
pub async fn start(
    state: AppState,
    principal: Principal,
    inbound: Streaming<pb::OrderRecord>,
) -> Result<ResultStream, AppError> {
    let Role::Platform(platform) = principal.role else {
        return Err(AppError::PermissionDenied(
            "only platforms record orders (with a platform:<id> token)".into(),
        ));
    };
    let prepare_state = state.clone();
    let platform = Arc::new(platform);
    let resending = Arc::new(AtomicBool::new(false));
    Ok(streaming::pipelined(
        inbound,
        PIPELINE,
        move |first_index, items| {
            let chunk = prepare_chunk(&prepare_state, first_index, &items);
            let keys = chunk
                .to_write
                .iter()
                .map(|order| footprint_key(&[order.order_id.as_bytes()]))
                .collect();
            (chunk, keys)
        },
        move |chunk| {
            let (state, platform) = (state.clone(), Arc::clone(&platform));
            let resending = Arc::clone(&resending);
            async move { record_chunk(&state, &platform, &resending, chunk).await }
        },
    ))
}

/// Per item: refused in memory, a position among the orders to write, or a repeat of an earlier
/// item of its chunk with the same order id.
enum Slot {
    Refused(AppError),
    Write(usize),
    RepeatOf(usize),
}

struct PreparedChunk {
    first_index: i64,
    slots: Vec<Slot>,
    to_write: Vec<NewOrder>,
}

fn prepare_chunk(state: &AppState, first_index: i64, items: &[pb::OrderRecord]) -> PreparedChunk {
    let mut to_write: Vec<NewOrder> = Vec::with_capacity(items.len());
    let mut positions: HashMap<String, usize> = HashMap::new();
    let slots = items
        .iter()
        .map(|record| match decode(state, record) {
            Err(error) => Slot::Refused(error),
            Ok(order) => match positions.get(&order.order_id) {
                Some(&earlier) => Slot::RepeatOf(earlier),
                None => {
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

fn decode(state: &AppState, record: &pb::OrderRecord) -> Result<NewOrder, AppError> {
    let pb::OrderRecord {
        order_id,
        worker,
        place_of_employment,
        industry,
        accepted_at,
        completed_at,
    } = record;
    let mut violations = Violations::new();
    if !(1..=64).contains(&order_id.len()) || !order_id.bytes().all(|b| b.is_ascii_graphic()) {
        violations.add("order_id", "required: 1 to 64 printable ASCII characters");
    }
    let (person_key, enrolment_id) = match worker {
        Some(pb::order_record::Worker::IdNumber(id)) => (
            violations
                .check("id_number", IdNumber::parse(id))
                .map(|id| state.pii.person_key(&id)),
            None,
        ),
        Some(pb::order_record::Worker::EnrolmentId(id)) => {
            let parsed =
                uuid::Uuid::parse_str(id.trim()).map_err(|_| Invalid::new("must be a UUID"));
            (None, violations.check("enrolment_id", parsed))
        }
        None => {
            violations.add("worker", "required: id_number or enrolment_id");
            (None, None)
        }
    };
    let place = violations.check(
        "place_of_employment",
        PlaceOfEmployment::parse(place_of_employment),
    );
    let industry = violations.check("industry", convert::industry_from_proto(*industry));
    let accepted = violations.check(
        "accepted_at",
        accepted_at
            .as_ref()
            .ok_or_else(|| Invalid::new("required"))
            .and_then(instant_from_proto),
    );
    let completed = completed_at
        .as_ref()
        .and_then(|at| violations.check("completed_at", instant_from_proto(at)));
    if let Some(accepted) = accepted {
        if accepted > state.clock.now() + chrono::Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
            violations.add("accepted_at", "must not be in the future");
        }
        if completed.is_some_and(|completed| completed < accepted) {
            violations.add("completed_at", "must not precede accepted_at");
        }
    }
    match (place, industry, accepted) {
        (Some(place), Some(industry), Some(accepted)) if violations.is_empty() => Ok(NewOrder {
            order_id: order_id.clone(),
            person_key,
            enrolment_id,
            province_code: place.province().to_string(),
            place_code: place.as_str().to_owned(),
            industry: industry.as_str(),
            accepted_at: accepted,
            completed_at: completed,
            day: china_date(accepted),
        }),
        _ => Err(violations.into_error()),
    }
}

fn outcome_to_proto(
    platform: &PlatformId,
    order: &NewOrder,
    outcome: OrderOutcome,
) -> pb::record_orders_result::Outcome {
    use pb::record_orders_result::Outcome;
    let refused =
        |message: String| Outcome::Error(rpc_status(AppError::FailedPrecondition(message)));
    match outcome {
        OrderOutcome::Accepted {
            enrolment_id,
            base_rate_id,
            multiplier_id,
            premium_tenth_fen,
        } => Outcome::Accepted(pb::OrderAccepted {
            order_id: order.order_id.clone(),
            enrolment_id: enrolment_id.to_string(),
            rate_version: rate_version(base_rate_id, multiplier_id),
            premium_tenth_fen,
        }),
        OrderOutcome::Duplicate => Outcome::DuplicateOrderId(order.order_id.clone()),
        OrderOutcome::NotCovered => refused(format!(
            "platform {platform} has no enrolment of this worker active on {} (China Standard Time)",
            order.day
        )),
        OrderOutcome::Mismatch(message) => refused(message),
        OrderOutcome::NoRate => refused(format!(
            "no {} base rate is in force on {}",
            order.industry, order.day
        )),
    }
}

/// Records one prepared chunk; one result per item, in order.
async fn record_chunk(
    state: &AppState,
    platform: &PlatformId,
    resending: &AtomicBool,
    chunk: PreparedChunk,
) -> Result<Vec<pb::RecordOrdersResult>, AppError> {
    let PreparedChunk {
        first_index,
        slots,
        to_write,
    } = chunk;
    let outcomes = write(state, platform, &to_write, resending).await?;
    let results = slots
        .into_iter()
        .enumerate()
        .map(|(offset, slot)| {
            let outcome = match slot {
                Slot::Refused(error) => pb::record_orders_result::Outcome::Error(rpc_status(error)),
                Slot::Write(position) => {
                    outcome_to_proto(platform, &to_write[position], outcomes[position].clone())
                }
                // The same order twice in one chunk: the second is a duplicate of the first.
                Slot::RepeatOf(position) => match &outcomes[position] {
                    OrderOutcome::Accepted { .. } | OrderOutcome::Duplicate => {
                        pb::record_orders_result::Outcome::DuplicateOrderId(
                            to_write[position].order_id.clone(),
                        )
                    }
                    other => outcome_to_proto(platform, &to_write[position], other.clone()),
                },
            };
            pb::RecordOrdersResult {
                index: first_index + offset as i64,
                outcome: Some(outcome),
            }
        })
        .collect();
    Ok(results)
}

/// One event per province for the orders this chunk accepted: the order volumes provinces receive.
fn recorded_events<'a>(
    platform: &PlatformId,
    orders: &'a [NewOrder],
    outcomes: &[OrderOutcome],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<crate::store::events::NewEvent<'a>> {
    use prost::Message;
    type Accepted<'o> = (Vec<&'o NewOrder>, i64);
    let mut by_province: std::collections::BTreeMap<&str, Accepted<'a>> = Default::default();
    for (order, outcome) in orders.iter().zip(outcomes) {
        if let OrderOutcome::Accepted {
            premium_tenth_fen, ..
        } = outcome
        {
            let (accepted, premium) = by_province.entry(order.province_code.as_str()).or_default();
            accepted.push(order);
            *premium += premium_tenth_fen;
        }
    }
    by_province
        .into_iter()
        .map(|(province_code, (accepted, premium_tenth_fen))| {
            let instants = accepted.iter().map(|o| o.accepted_at);
            let event = pb::OrdersRecordedV1 {
                platform_id: platform.to_string(),
                province_code: province_code.to_owned(),
                orders: accepted.len() as i64,
                premium_tenth_fen,
                first_accepted_at: instants.clone().min().map(convert::timestamp),
                last_accepted_at: instants.max().map(convert::timestamp),
                order_ids: accepted.iter().map(|o| o.order_id.clone()).collect(),
                occurred_at: Some(convert::timestamp(now)),
            };
            crate::store::events::NewEvent {
                province_code,
                event_type: crate::store::events::ORDERS_RECORDED,
                aggregate_id: uuid::Uuid::now_v7(),
                payload: event.encode_to_vec(),
                occurred_at: now,
            }
        })
        .collect()
}

/// Writes one chunk in one transaction. `resending` is set while this stream's chunks repeat
/// recorded orders (a reconnect resends a run of them): its next chunks are then written expecting
/// repeats rather than each failing on the first one and being written again.
async fn write(
    state: &AppState,
    platform: &PlatformId,
    orders: &[NewOrder],
    resending: &AtomicBool,
) -> Result<Vec<OrderOutcome>, AppError> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let mut repeats = if resending.load(Ordering::Relaxed) {
        Repeats::Expected
    } else {
        Repeats::Unexpected
    };
    let mut deadlocks = 0;
    loop {
        let now = state.clock.now();
        let mut tx = state.pool.begin().await?;
        match orders::record(&mut tx, platform.as_str(), orders, now, repeats).await {
            Ok(Some(outcomes)) => {
                let recorded = recorded_events(platform, orders, &outcomes, now);
                crate::store::events::append_many(&mut tx, &recorded).await?;
                tx.commit().await?;
                if repeats == Repeats::Expected {
                    let repeated = outcomes.contains(&OrderOutcome::Duplicate);
                    resending.store(repeated, Ordering::Relaxed);
                }
                return Ok(outcomes);
            }
            Ok(None) => {
                tx.rollback().await?;
                resending.store(true, Ordering::Relaxed);
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
