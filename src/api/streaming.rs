//! Reading client streams in chunks, for the set-based streaming RPCs.
use futures_util::{FutureExt, StreamExt};
use std::time::Duration;
use tonic::{Status, Streaming};

/// How long a partly filled chunk waits for more items before it is processed anyway.
const LINGER: Duration = Duration::from_millis(5);

/// Reads up to `max` items: waits for the first, then takes what arrives within a short linger.
/// The second value is set when the stream ended (Ok) or failed (Err).
pub async fn read_chunk<T>(
    inbound: &mut Streaming<T>,
    max: usize,
) -> (Vec<T>, Option<Result<(), Status>>) {
    let mut chunk = Vec::new();
    match inbound.next().await {
        None => return (chunk, Some(Ok(()))),
        Some(Err(status)) => return (chunk, Some(Err(status))),
        Some(Ok(item)) => chunk.push(item),
    }
    while chunk.len() < max {
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
