//! BatchEnrolWorkers: a bidirectional stream of enrolments written in set-based chunks.
//!
//! Items are read into chunks (up to CHUNK_SIZE, or whatever has arrived after a short linger),
//! validated in memory, and written a chunk per transaction through the same path as EnrolWorker.
//! Up to PIPELINE chunks are written at once on separate connections; results still leave in
//! stream order. Every buffer is bounded: a client that sends faster than the database writes is
//! slowed by HTTP/2 flow control instead of growing the server's memory.
use super::enrol::Enroller;
use super::{AppState, ResultStream};
use crate::auth::Principal;
use crate::error::{AppError, rpc_status};
use crate::pb;
use crate::store::enrolment_writes::{NewEnrolment, Outcome};
use futures_util::{FutureExt, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::{Status, Streaming};

const CHUNK_SIZE: usize = 1000;
const PIPELINE: usize = 2;
/// How long a partly filled chunk waits for more items before it is written anyway.
const LINGER: Duration = Duration::from_millis(5);

pub async fn start(
    state: AppState,
    principal: Principal,
    inbound: Streaming<pb::EnrolWorkerRequest>,
) -> Result<ResultStream, AppError> {
    let enroller = Arc::new(Enroller::load(&state, &principal).await?);
    let (results, receiver) = mpsc::channel(CHUNK_SIZE * PIPELINE);
    tokio::spawn(async move {
        let chunks = futures_util::stream::unfold(
            (inbound, 0_i64, false),
            |(mut inbound, next_index, done)| async move {
                if done {
                    return None;
                }
                let (chunk, end) = read_chunk(&mut inbound).await;
                if chunk.is_empty() && end.is_none() {
                    return None;
                }
                let next = next_index + chunk.len() as i64;
                let ended = end.is_some();
                Some(((next_index, chunk, end), (inbound, next, ended)))
            },
        );
        let written = chunks
            .map(|(first, chunk, end)| {
                let state = state.clone();
                let enroller = Arc::clone(&enroller);
                async move { (write_chunk(&state, &enroller, first, chunk).await, end) }
            })
            .buffered(PIPELINE);
        let mut written = std::pin::pin!(written);
        while let Some((outcome, end)) = written.next().await {
            match outcome {
                Ok(chunk_results) => {
                    for result in chunk_results {
                        if results.send(Ok(result)).await.is_err() {
                            return; // the client went away
                        }
                    }
                }
                Err(error) => {
                    let _ = results.send(Err(Status::from(error))).await;
                    return;
                }
            }
            if let Some(Err(status)) = end {
                let _ = results.send(Err(status)).await;
                return;
            }
        }
    });
    Ok(tokio_stream::wrappers::ReceiverStream::new(receiver))
}

/// Reads up to CHUNK_SIZE items: waits for the first, then takes what arrives within LINGER.
/// The second value is set when the inbound stream ended (Ok) or failed (Err).
async fn read_chunk(
    inbound: &mut Streaming<pb::EnrolWorkerRequest>,
) -> (Vec<pb::EnrolWorkerRequest>, Option<Result<(), Status>>) {
    let mut chunk = Vec::new();
    match inbound.next().await {
        None => return (chunk, Some(Ok(()))),
        Some(Err(status)) => return (chunk, Some(Err(status))),
        Some(Ok(item)) => chunk.push(item),
    }
    while chunk.len() < CHUNK_SIZE {
        let next = match inbound.next().now_or_never() {
            Some(next) => next,
            None => match tokio::time::timeout(LINGER, inbound.next()).await {
                Ok(next) => next,
                Err(_) => break,
            },
        };
        match next {
            None => return (chunk, Some(Ok(()))),
            Some(Err(status)) => return (chunk, Some(Err(status))),
            Some(Ok(item)) => chunk.push(item),
        }
    }
    (chunk, None)
}

/// Validates and writes one chunk; one result per item, in order.
async fn write_chunk(
    state: &AppState,
    enroller: &Enroller,
    first_index: i64,
    chunk: Vec<pb::EnrolWorkerRequest>,
) -> Result<Vec<pb::BatchEnrolResult>, AppError> {
    let now = state.clock.now();
    // Per item: refused in memory, a position among the items to write, or a repeat of an earlier
    // item of this chunk with the same request_id.
    enum Slot {
        Refused(AppError),
        Write(usize),
        RepeatOf(usize),
    }
    let mut slots = Vec::with_capacity(chunk.len());
    let mut to_write: Vec<NewEnrolment> = Vec::with_capacity(chunk.len());
    let mut by_request_id: HashMap<String, usize> = HashMap::new();
    for request in &chunk {
        let slot = match enroller.prepare(state, request, now) {
            Err(error) => Slot::Refused(error),
            Ok(item) => match by_request_id.get(&item.request_id) {
                Some(&earlier) if to_write[earlier].request_hash == item.request_hash => {
                    Slot::RepeatOf(earlier)
                }
                Some(_) => Slot::Refused(AppError::invalid(
                    "request_id",
                    "this request_id was already used for a different request; use a new request_id",
                )),
                None => {
                    by_request_id.insert(item.request_id.clone(), to_write.len());
                    to_write.push(item);
                    Slot::Write(to_write.len() - 1)
                }
            },
        };
        slots.push(slot);
    }
    let outcomes: Vec<Outcome> = if to_write.is_empty() {
        Vec::new()
    } else {
        enroller.write(state, &to_write, now).await?
    };
    let outcome_of = |position: usize| {
        let item = &to_write[position];
        enroller.response(item, outcomes[position].clone())
    };
    Ok(slots
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
        .collect())
}
