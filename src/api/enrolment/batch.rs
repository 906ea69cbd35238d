//! BatchEnrolWorkers: a bidirectional stream of enrolments through the shared ordered pipeline
//! (`streaming::pipelined`). Each chunk's items are decoded and prepared by the service while the
//! previous chunk is written; chunks whose rows touch different persons and request_ids are
//! written at once. One result per item, in order; a refused item never fails the stream.
use crate::api::AppState;
use crate::api::streaming::{self, Footprint, Pipeline, footprint_key};
use crate::auth::Principal;
use crate::error::{AppError, rpc_status};
use crate::pb;
use crate::service::enrolment::batch::{self, PreparedChunk};
use crate::service::enrolment::enrol::{EnrolWorkerCommand, Enroller};
use std::sync::Arc;
use tonic::{Status, Streaming};

pub type ResultStream =
    tokio_stream::wrappers::ReceiverStream<Result<pb::BatchEnrolResult, Status>>;

const PIPELINE: Pipeline = Pipeline {
    chunk_size: 1000,
    prepared_ahead: 2,
    in_flight: 2,
};

/// The reply each item stores for replays: the same as EnrolWorker's, so a retried item replays
/// whichever way it came.
type Reply = pb::EnrolWorkerResponse;

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
            let commands = items
                .into_iter()
                .map(EnrolWorkerCommand::try_from)
                .collect();
            let chunk = batch::prepare_chunk::<Reply>(
                &prepare_state,
                &prepare_enroller,
                first_index,
                commands,
            );
            let keys = footprint(&chunk);
            (chunk, keys)
        },
        move |chunk| {
            let (state, enroller) = (state.clone(), Arc::clone(&enroller));
            async move { write(&state, &enroller, chunk).await }
        },
    ))
}

/// What a chunk's rows touch: request_ids and persons.
fn footprint(chunk: &PreparedChunk) -> Footprint {
    chunk
        .touches()
        .flat_map(|(request_id, person_key)| {
            [
                footprint_key(&[b"r", request_id.as_bytes()]),
                footprint_key(&[b"p", person_key]),
            ]
        })
        .collect()
}

async fn write(
    state: &AppState,
    enroller: &Enroller,
    chunk: PreparedChunk,
) -> Result<Vec<pb::BatchEnrolResult>, AppError> {
    let written = batch::write_chunk::<Reply>(state, enroller, chunk).await?;
    Ok(written
        .results
        .into_iter()
        .enumerate()
        .map(|(offset, result)| {
            let outcome = match result {
                Ok(reply) => reply
                    .enrolment
                    .map(pb::batch_enrol_result::Outcome::Enrolment),
                Err(error) => Some(pb::batch_enrol_result::Outcome::Error(rpc_status(error))),
            };
            pb::BatchEnrolResult {
                index: written.first_index + offset as i64,
                outcome,
            }
        })
        .collect())
}
