//! RecordOrders, the streaming handler: reads the platform's stream in chunks, decodes each order,
//! and pipelines the chunks through `service::contribution::orders` (validation and hashing of
//! one chunk overlap the writing of earlier ones).
use super::decode::AsOf;
use crate::api::AppState;
use crate::api::streaming::{self, Pipeline, footprint_key};
use crate::auth::Principal;
use crate::error::AppError;
use crate::pb;
use crate::service::contribution::orders::{self as service, OrderLine, Writer};
use std::sync::Arc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

const PIPELINE: Pipeline = Pipeline {
    chunk_size: 2000,
    prepared_ahead: 2,
    in_flight: 3,
};

pub type ResultStream = ReceiverStream<Result<pb::RecordOrdersResult, Status>>;

/// Chunks whose order ids differ are written at once; a chunk repeating an order id of one in
/// flight waits for it, so the earlier copy is the one accepted.
pub async fn start(
    state: AppState,
    principal: Principal,
    inbound: Streaming<pb::OrderRecord>,
) -> Result<ResultStream, AppError> {
    let writer = Arc::new(Writer::new(service::authorize(&principal)?));
    let prepare_state = state.clone();
    Ok(streaming::pipelined(
        inbound,
        PIPELINE,
        move |first_index, items| {
            // One clock reading per chunk: "not in the future" is judged as the chunk arrives.
            let now = prepare_state.clock.now();
            let lines = items
                .into_iter()
                .map(|record| OrderLine::try_from(AsOf::new(record, now)))
                .collect();
            let chunk = service::prepare(&prepare_state, first_index, lines);
            let keys = chunk
                .order_ids()
                .map(|order_id| footprint_key(&[order_id.as_bytes()]))
                .collect();
            (chunk, keys)
        },
        move |chunk| {
            let (state, writer) = (state.clone(), Arc::clone(&writer));
            async move {
                let results = writer.record(&state, chunk).await?;
                Ok(results
                    .into_iter()
                    .map(pb::RecordOrdersResult::from)
                    .collect())
            }
        },
    ))
}
