//! BatchEnrolWorkers: a bidirectional stream of enrolments written in set-based chunks.
//!
//! Items are read into chunks (up to CHUNK_SIZE, or whatever has arrived after a short linger),
//! validated and encrypted in memory while earlier chunks are written, and written a chunk per
//! transaction through the same path as EnrolWorker. Up to PIPELINE chunks are written at once when
//! their rows touch different persons and request_ids; overlapping chunks wait for each other, so
//! an earlier row always takes effect before a later one it could collide with. Results leave in
//! stream order. Every buffer is bounded: a client that sends faster than the database writes is
//! slowed by HTTP/2 flow control instead of growing the server's memory.
use super::enrol::Enroller;
use super::{AppState, ResultStream};
use crate::auth::Principal;
use crate::error::{AppError, rpc_status};
use crate::pb;
use crate::store::enrolment_writes::{NewEnrolment, Outcome};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;
use tonic::{Status, Streaming};

const CHUNK_SIZE: usize = 1000;
/// Prepared chunks waiting for the writer.
const PREPARED_AHEAD: usize = 2;
/// Chunks written at once (on separate connections) when their rows cannot collide.
const PIPELINE: usize = 2;

pub async fn start(
    state: AppState,
    principal: Principal,
    inbound: Streaming<pb::EnrolWorkerRequest>,
) -> Result<ResultStream, AppError> {
    let enroller = Arc::new(Enroller::load(&state, &principal).await?);
    let (prepared_sender, prepared) = mpsc::channel(PREPARED_AHEAD);
    let (results, receiver) = mpsc::channel(CHUNK_SIZE);
    tokio::spawn(read_and_prepare(
        state.clone(),
        Arc::clone(&enroller),
        inbound,
        prepared_sender,
    ));
    tokio::spawn(write_in_order(state, enroller, prepared, results));
    Ok(tokio_stream::wrappers::ReceiverStream::new(receiver))
}

/// A chunk validated and encrypted, waiting for its turn to be written; `end` is set on the last.
struct PreparedChunk {
    first_index: i64,
    slots: Vec<Slot>,
    to_write: Vec<NewEnrolment>,
    end: Option<Result<(), Status>>,
}

/// Per item: refused in memory, a position among the items to write, or a repeat of an earlier
/// item of its chunk with the same request_id.
enum Slot {
    Refused(AppError),
    Write(usize),
    RepeatOf(usize),
}

/// Stage one: reads and prepares chunks while the previous one is being written.
async fn read_and_prepare(
    state: AppState,
    enroller: Arc<Enroller>,
    mut inbound: Streaming<pb::EnrolWorkerRequest>,
    prepared: mpsc::Sender<PreparedChunk>,
) {
    let mut next_index = 0_i64;
    loop {
        let (chunk, end) = crate::api::streaming::read_chunk(&mut inbound, CHUNK_SIZE).await;
        let first_index = next_index;
        next_index += chunk.len() as i64;
        let finished = end.is_some();
        let mut ready = prepare_chunk(&state, &enroller, first_index, &chunk);
        ready.end = end;
        if prepared.send(ready).await.is_err() || finished {
            return;
        }
    }
}

/// What a chunk's rows touch: request_ids and persons. Chunks with disjoint footprints can be
/// written concurrently without changing any outcome; overlapping ones are written in order.
fn footprint(chunk: &PreparedChunk) -> HashSet<Vec<u8>> {
    chunk
        .to_write
        .iter()
        .flat_map(|item| {
            let request = [b"r:".as_slice(), item.request_id.as_bytes()].concat();
            let person = [b"p:".as_slice(), item.person_key.as_slice()].concat();
            [request, person]
        })
        .collect()
}

type Written = Result<(Vec<pb::BatchEnrolResult>, Option<Result<(), Status>>), AppError>;

/// Stage two: writes up to PIPELINE chunks at once on separate connections when their rows touch
/// different persons and request_ids, and one after another when they overlap, so an earlier row
/// always takes effect before a later one that could collide with it. Results leave in order, as
/// soon as the chunk at the front is written.
async fn write_in_order(
    state: AppState,
    enroller: Arc<Enroller>,
    mut prepared: mpsc::Receiver<PreparedChunk>,
    results: mpsc::Sender<Result<pb::BatchEnrolResult, Status>>,
) {
    let mut in_flight: VecDeque<(tokio::task::JoinHandle<Written>, HashSet<Vec<u8>>)> =
        VecDeque::new();
    let mut waiting: Option<(PreparedChunk, HashSet<Vec<u8>>)> = None;
    let mut open = true;
    loop {
        let may_start = waiting.as_ref().is_some_and(|(_, keys)| {
            in_flight.len() < PIPELINE && in_flight.iter().all(|(_, other)| other.is_disjoint(keys))
        });
        if may_start && let Some((chunk, keys)) = waiting.take() {
            let (state, enroller) = (state.clone(), Arc::clone(&enroller));
            let handle = tokio::spawn(async move { write_chunk(&state, &enroller, chunk).await });
            in_flight.push_back((handle, keys));
        }
        if !open && waiting.is_none() && in_flight.is_empty() {
            return;
        }
        let front = in_flight.front_mut().map(|(handle, _)| handle);
        tokio::select! {
            written = async move {
                match front {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            } => {
                in_flight.pop_front();
                let written = written.unwrap_or_else(|error| Err(anyhow::anyhow!("chunk writer failed: {error}").into()));
                if !emit(written, &results).await {
                    return;
                }
            }
            next = prepared.recv(), if open && waiting.is_none() => match next {
                Some(chunk) => {
                    let keys = footprint(&chunk);
                    waiting = Some((chunk, keys));
                }
                None => open = false,
            },
        }
    }
}

/// Sends a written chunk's results; false when the stream is over (client gone, or an error sent).
async fn emit(
    written: Written,
    results: &mpsc::Sender<Result<pb::BatchEnrolResult, Status>>,
) -> bool {
    let end = match written {
        Ok((chunk_results, end)) => {
            for result in chunk_results {
                if results.send(Ok(result)).await.is_err() {
                    return false; // the client went away
                }
            }
            end
        }
        Err(error) => Some(Err(Status::from(error))),
    };
    if let Some(Err(status)) = end {
        let _ = results.send(Err(status)).await;
        return false;
    }
    true
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
        end: None,
    }
}

/// Writes one prepared chunk; one result per item, in order.
async fn write_chunk(
    state: &AppState,
    enroller: &Enroller,
    chunk: PreparedChunk,
) -> Result<(Vec<pb::BatchEnrolResult>, Option<Result<(), Status>>), AppError> {
    let PreparedChunk {
        first_index,
        slots,
        to_write,
        end,
    } = chunk;
    let now = state.clock.now();
    let outcomes: Vec<Outcome> = if to_write.is_empty() {
        Vec::new()
    } else {
        enroller.write(state, &to_write, now).await?
    };
    let outcome_of =
        |position: usize| enroller.response(&to_write[position], outcomes[position].clone());
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
    Ok((results, end))
}
