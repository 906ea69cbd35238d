//! BatchEnrolWorkers: a bidirectional stream of enrolments written in set-based chunks through the
//! shared ordered pipeline (`streaming::pipelined`), a chunk per transaction through the same path
//! as EnrolWorker. Chunks whose rows touch different persons and request_ids are written at once.
use super::enrol::Enroller;
use super::{AppState, ResultStream};
use crate::api::streaming::{self, Footprint, Pipeline, footprint_key};
use crate::auth::Principal;
use crate::error::{AppError, rpc_status};
use crate::pb;
use crate::store::enrolment_writes::{NewEnrolment, Outcome};
use std::collections::HashMap;
use std::sync::Arc;
use tonic::Streaming;

const PIPELINE: Pipeline = Pipeline {
    chunk_size: 1000,
    prepared_ahead: 2,
    in_flight: 2,
};

pub async fn start(
    state: AppState,
    principal: Principal,
    inbound: Streaming<pb::EnrolWorkerRequest>,
) -> Result<ResultStream, AppError> {
    let enroller = Arc::new(Enroller::load(&state, &principal).await?);
    let (prepare_state, prepare_enroller) = (state.clone(), Arc::clone(&enroller));
    Ok(streaming::pipelined(
        inbound,
        PIPELINE,
        move |first_index, items| {
            let chunk = prepare_chunk(&prepare_state, &prepare_enroller, first_index, &items);
            let keys = footprint(&chunk);
            (chunk, keys)
        },
        move |chunk| {
            let (state, enroller) = (state.clone(), Arc::clone(&enroller));
            async move { write_chunk(&state, &enroller, chunk).await }
        },
    ))
}

/// A chunk validated and encrypted, waiting for its turn to be written.
struct PreparedChunk {
    first_index: i64,
    slots: Vec<Slot>,
    to_write: Vec<NewEnrolment>,
}

/// Per item: refused in memory, a position among the items to write, or a repeat of an earlier
/// item of its chunk with the same request_id.
enum Slot {
    Refused(AppError),
    Write(usize),
    RepeatOf(usize),
}

/// What a chunk's rows touch: request_ids and persons.
fn footprint(chunk: &PreparedChunk) -> Footprint {
    chunk
        .to_write
        .iter()
        .flat_map(|item| {
            [
                footprint_key(&[b"r", item.request_id.as_bytes()]),
                footprint_key(&[b"p", &item.person_key]),
            ]
        })
        .collect()
}

fn prepare_chunk(
    state: &AppState,
    enroller: &Enroller,
    first_index: i64,
    chunk: &[pb::EnrolWorkerRequest],
) -> PreparedChunk {
    let now = state.clock.now();
    let mut slots = Vec::with_capacity(chunk.len());
    let mut to_write: Vec<NewEnrolment> = Vec::with_capacity(chunk.len());
    let mut by_request_id: HashMap<String, usize> = HashMap::new();
    for request in chunk {
        let slot = match enroller.prepare(state, request, now) {
            Err(error) => Slot::Refused(error),
            Ok(item) => match by_request_id.get(&item.request_id) {
                Some(&earlier) if to_write[earlier].request_hash == item.request_hash => {
                    Slot::RepeatOf(earlier)
                }
                Some(_) => Slot::Refused(AppError::reused_request_id()),
                None => {
                    by_request_id.insert(item.request_id.clone(), to_write.len());
                    to_write.push(item);
                    Slot::Write(to_write.len() - 1)
                }
            },
        };
        slots.push(slot);
    }
    PreparedChunk {
        first_index,
        slots,
        to_write,
    }
}

/// Writes one prepared chunk; one result per item, in order.
async fn write_chunk(
    state: &AppState,
    enroller: &Enroller,
    chunk: PreparedChunk,
) -> Result<Vec<pb::BatchEnrolResult>, AppError> {
    let PreparedChunk {
        first_index,
        slots,
        to_write,
    } = chunk;
    let now = state.clock.now();
    let outcomes: Vec<Outcome> = if to_write.is_empty() {
        Vec::new()
    } else {
        enroller.write(state, &to_write, now).await?
    };
    let outcome_of =
        |position: usize| enroller.response(state, &to_write[position], outcomes[position].clone());
    let results = slots
        .into_iter()
        .enumerate()
        .map(|(offset, slot)| {
            let result = match slot {
                Slot::Refused(error) => Err(error),
                Slot::Write(position) | Slot::RepeatOf(position) => outcome_of(position),
            };
            let outcome = match result {
                Ok(response) => response
                    .enrolment
                    .map(pb::batch_enrol_result::Outcome::Enrolment),
                Err(error) => Some(pb::batch_enrol_result::Outcome::Error(rpc_status(error))),
            };
            pb::BatchEnrolResult {
                index: first_index + offset as i64,
                outcome,
            }
        })
        .collect();
    Ok(results)
}
