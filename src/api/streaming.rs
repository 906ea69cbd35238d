//! Reading client streams in chunks and writing them through a bounded, ordered pipeline, for the
//! set-based streaming RPCs.
use crate::error::AppError;
use futures_util::{FutureExt, StreamExt};
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
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

/// How a set-based streaming RPC is pipelined.
pub struct Pipeline {
    /// Items per chunk (one transaction each).
    pub chunk_size: usize,
    /// Prepared chunks waiting for the writer.
    pub prepared_ahead: usize,
    /// Chunks written at once, on separate connections, when their footprints are disjoint.
    pub in_flight: usize,
}

/// What a chunk's writes touch, as hashes of its keys. Chunks with disjoint footprints cannot
/// change each other's outcome; a hash collision only makes two chunks wait for each other.
pub type Footprint = HashSet<u64>;

pub fn footprint_key(parts: &[&[u8]]) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    for part in parts {
        part.hash(&mut hasher);
    }
    hasher.finish()
}

/// A prepared chunk on its way to the writer; `end` is set on the last one.
struct Ready<C> {
    chunk: C,
    keys: Footprint,
    end: Option<Result<(), Status>>,
}

/// Runs a bidirectional set-based stream in two stages. Stage one reads chunks (up to
/// `chunk_size`, or whatever arrived after a short linger) and prepares them in memory (validation,
/// encryption, hashing) while earlier chunks are written. Stage two writes up to `in_flight` chunks
/// at once when their footprints are disjoint and one after another when they overlap, so an earlier
/// item always takes effect before a later one that could collide with it. Results leave in stream
/// order. Every buffer is bounded: a client that sends faster than the database writes is slowed by
/// HTTP/2 flow control instead of growing the server's memory.
pub fn pipelined<T, C, R, P, W, Fut>(
    inbound: Streaming<T>,
    shape: Pipeline,
    mut prepare: P,
    write: W,
) -> ReceiverStream<Result<R, Status>>
where
    T: Send + 'static,
    C: Send + 'static,
    R: Send + 'static,
    P: FnMut(i64, Vec<T>) -> (C, Footprint) + Send + 'static,
    W: Fn(C) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Vec<R>, AppError>> + Send + 'static,
{
    let (ready_sender, ready) = mpsc::channel(shape.prepared_ahead.max(1));
    let (results, receiver) = mpsc::channel(shape.chunk_size);
    let chunk_size = shape.chunk_size;
    tokio::spawn(async move {
        let mut inbound = inbound;
        let mut next_index = 0_i64;
        loop {
            let (items, end) = read_chunk(&mut inbound, chunk_size).await;
            let first_index = next_index;
            next_index += items.len() as i64;
            let finished = end.is_some();
            let (chunk, keys) = prepare(first_index, items);
            let sent = ready_sender.send(Ready { chunk, keys, end }).await;
            if sent.is_err() || finished {
                return;
            }
        }
    });
    tokio::spawn(write_in_order(
        ready,
        shape.in_flight.max(1),
        write,
        results,
    ));
    ReceiverStream::new(receiver)
}

type InFlight<R> = (
    JoinHandle<Result<Vec<R>, AppError>>,
    Footprint,
    Option<Result<(), Status>>,
);

async fn write_in_order<C, R, W, Fut>(
    mut ready: mpsc::Receiver<Ready<C>>,
    max_in_flight: usize,
    write: W,
    results: mpsc::Sender<Result<R, Status>>,
) where
    C: Send + 'static,
    R: Send + 'static,
    W: Fn(C) -> Fut,
    Fut: Future<Output = Result<Vec<R>, AppError>> + Send + 'static,
{
    let mut in_flight: VecDeque<InFlight<R>> = VecDeque::new();
    let mut waiting: Option<Ready<C>> = None;
    let mut open = true;
    loop {
        let may_start = waiting.as_ref().is_some_and(|next| {
            in_flight.len() < max_in_flight
                && in_flight
                    .iter()
                    .all(|(_, keys, _)| keys.is_disjoint(&next.keys))
        });
        if may_start && let Some(next) = waiting.take() {
            in_flight.push_back((tokio::spawn(write(next.chunk)), next.keys, next.end));
        }
        if !open && waiting.is_none() && in_flight.is_empty() {
            return;
        }
        let front = in_flight.front_mut().map(|(handle, _, _)| handle);
        tokio::select! {
            written = async move {
                match front {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            } => {
                let end = in_flight.pop_front().and_then(|(_, _, end)| end);
                let written = written.unwrap_or_else(|error| {
                    Err(anyhow::anyhow!("chunk writer failed: {error}").into())
                });
                if !emit(written, end, &results).await {
                    return;
                }
            }
            next = ready.recv(), if open && waiting.is_none() => match next {
                Some(next) => waiting = Some(next),
                None => open = false,
            },
        }
    }
}

/// Sends a written chunk's results; false when the stream is over (client gone, or an error sent).
async fn emit<R>(
    written: Result<Vec<R>, AppError>,
    end: Option<Result<(), Status>>,
    results: &mpsc::Sender<Result<R, Status>>,
) -> bool {
    let end = match written {
        Ok(chunk_results) => {
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
        let status = crate::oversize::resource_exhausted_if_oversize(status);
        let _ = results.send(Err(status)).await;
        return false;
    }
    true
}
