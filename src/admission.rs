//! Admission of calls, and running each admitted call to completion.
//!
//! - At most `limit` calls run at once. Up to `queue` more wait for a place, each for at most
//!   `wait`; a call that finds the queue full, or waits in vain, is refused at once with
//!   RESOURCE_EXHAUSTED, so overload sheds instead of queueing without bound.
//! - Health checks and reflection are never queued: they bypass admission, so an operator can
//!   always see the server even when it sheds.
//! - An admitted call runs in a task of its own and the caller's future only waits for it. A
//!   caller that gives up (deadline, reset, shutdown) therefore cannot abandon a database call
//!   half way: the work finishes, its transaction commits or rolls back, and its connection goes
//!   back to the pool clean. (A query future dropped mid-flight used to cost its pooled
//!   connection; under a storm of impatient callers those reconnects overflowed the embedded
//!   server's Unix-socket listen queue, which fails a non-blocking connect at once with EAGAIN.)
//! - Work a caller abandoned must not crowd out the others: `caller_gone` tells the service, at
//!   the safe point before it opens a transaction, that nobody waits for the answer any more, so
//!   it stops there instead of doing the writes.
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tracing::Instrument;

/// Whether the caller of a running call still waits for its answer.
#[derive(Default)]
struct Gone {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

tokio::task_local! {
    /// Set when the caller of the call this task runs stopped waiting for it.
    static CALLER_GONE: Arc<Gone>;
}

/// Whether the caller of the current call has given up (deadline, reset, shutdown). False outside
/// an admitted call's task.
pub fn caller_gone() -> bool {
    CALLER_GONE
        .try_with(|gone| gone.flag.load(Ordering::Acquire))
        .unwrap_or(false)
}

/// Resolves when the caller of the current call gives up; never outside an admitted call's task.
/// Only for racing waits that are safe to drop (a pool's acquire), never a query.
pub async fn until_caller_gone() {
    let Ok(gone) = CALLER_GONE.try_with(Arc::clone) else {
        return std::future::pending().await;
    };
    loop {
        let notified = gone.notify.notified();
        if gone.flag.load(Ordering::Acquire) {
            return;
        }
        notified.await;
    }
}

/// Marks the call abandoned when the caller's future is dropped before the answer.
struct Abandon(Option<Arc<Gone>>);

impl Abandon {
    /// The answer arrived: nothing was abandoned.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Abandon {
    fn drop(&mut self) {
        if let Some(gone) = self.0.take() {
            gone.flag.store(true, Ordering::Release);
            gone.notify.notify_waiters();
        }
    }
}

/// How many calls run, how many wait and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub limit: usize,
    pub queue: usize,
    pub wait: Duration,
    /// The longest an admitted call may take to answer: then DEADLINE_EXCEEDED (its work still
    /// finishes in its own task, as for a caller who gives up).
    pub deadline: Duration,
}

#[derive(Clone)]
pub struct AdmissionLayer {
    shared: Arc<Shared>,
}

struct Shared {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    limits: Limits,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl AdmissionLayer {
    pub fn new(limits: Limits) -> Self {
        Self {
            shared: Arc::new(Shared {
                running: Arc::new(Semaphore::new(limits.limit.max(1))),
                waiting: AtomicUsize::new(0),
                limits,
                metrics: None,
            }),
        }
    }

    /// Counts running, waiting and shed calls in `metrics`.
    pub fn with_metrics(self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        let shared = Shared {
            running: Arc::clone(&self.shared.running),
            waiting: AtomicUsize::new(0),
            limits: self.shared.limits,
            metrics: Some(metrics),
        };
        Self {
            shared: Arc::new(shared),
        }
    }
}

impl<S> tower::Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

#[derive(Clone)]
pub struct Admission<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// Health checks and server reflection: open without a token and never queued.
pub fn is_infrastructure(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/") || path.starts_with("/grpc.reflection.")
}

/// Counts a waiting call for as long as it waits, however the wait ends (even by being dropped).
struct Waiting<'a>(&'a Shared);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
        if let Some(metrics) = &self.0.metrics {
            metrics.admission_waiting.dec();
        }
    }
}

impl Shared {
    /// A place to run, or the refusal to send.
    async fn admit(&self) -> Result<OwnedSemaphorePermit, Status> {
        if let Ok(permit) = Arc::clone(&self.running).try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        if let Some(metrics) = &self.metrics {
            metrics.admission_waiting.inc();
        }
        let _waiting = Waiting(self);
        if queued >= self.limits.queue {
            return Err(shed("the server is at capacity and its queue is full"));
        }
        match tokio::time::timeout(self.limits.wait, Arc::clone(&self.running).acquire_owned())
            .await
        {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(Status::unavailable("the server is shutting down")),
            Err(_elapsed) => Err(shed("the server stayed at capacity while the call waited")),
        }
    }
}

fn shed(why: &str) -> Status {
    Status::resource_exhausted(format!("{why}; retry with backoff"))
}

impl<S, B> tower::Service<http::Request<B>> for Admission<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was made ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if is_infrastructure(request.uri().path()) {
            return Box::pin(inner.call(request));
        }
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            let permit = match shared.admit().await {
                Ok(permit) => permit,
                Err(status) => {
                    tracing::debug!(code = ?status.code(), "call shed");
                    if let Some(metrics) = &shared.metrics {
                        metrics.admission_shed.inc();
                    }
                    return Ok(status.into_http());
                }
            };
            if let Some(metrics) = &shared.metrics {
                metrics.admission_running.inc();
            }
            let call = inner.call(request);
            let running_metrics = shared.metrics.clone();
            let gone = Arc::new(Gone::default());
            let abandon = Abandon(Some(Arc::clone(&gone)));
            let task = tokio::spawn(
                CALLER_GONE
                    .scope(gone, async move {
                        let result = call.await;
                        drop(permit);
                        if let Some(metrics) = &running_metrics {
                            metrics.admission_running.dec();
                        }
                        result
                    })
                    .instrument(tracing::Span::current()),
            );
            let Ok(answer) = tokio::time::timeout(shared.limits.deadline, task).await else {
                // Dropping `abandon` tells the call nobody waits for it any more.
                return Ok(Status::deadline_exceeded(
                    "the call did not finish within the server's deadline",
                )
                .into_http());
            };
            abandon.disarm();
            match answer {
                Ok(result) => result,
                Err(error) => {
                    tracing::error!(%error, "a call's task ended without an answer");
                    Ok(Status::internal("internal error; it has been logged").into_http())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(limit: usize, queue: usize, wait_ms: u64) -> Limits {
        Limits {
            limit,
            queue,
            wait: Duration::from_millis(wait_ms),
            deadline: Duration::from_secs(30),
        }
    }

    #[tokio::test]
    async fn beyond_the_limit_calls_wait_then_are_shed() {
        let layer = AdmissionLayer::new(limits(1, 1, 50));
        let shared = &layer.shared;
        let first = shared.admit().await.expect("a place");
        let started = tokio::time::Instant::now();
        let waited = shared.admit().await.expect_err("no place within the wait");
        assert_eq!(waited.code(), tonic::Code::ResourceExhausted);
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(
            shared.waiting.load(Ordering::Acquire),
            0,
            "the wait is over"
        );
        drop(first);
        let _again = shared.admit().await.expect("a place again");
    }

    #[tokio::test]
    async fn a_full_queue_sheds_at_once() {
        let layer = AdmissionLayer::new(limits(1, 1, 10_000));
        let shared = Arc::clone(&layer.shared);
        let _running = shared.admit().await.expect("a place");
        let queued = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move { shared.admit().await.map(drop) }
        });
        while shared.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let started = tokio::time::Instant::now();
        let shed = shared.admit().await.expect_err("the queue is full");
        assert_eq!(shed.code(), tonic::Code::ResourceExhausted);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused at once"
        );
        queued.abort();
        let _ = queued.await;
        assert_eq!(
            shared.waiting.load(Ordering::Acquire),
            0,
            "a dropped wait leaves the queue"
        );
    }

    #[test]
    fn health_and_reflection_bypass_admission() {
        assert!(is_infrastructure("/grpc.health.v1.Health/Check"));
        assert!(is_infrastructure(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        ));
        assert!(!is_infrastructure(
            "/flexcover.v1.EnrolmentService/EnrolWorker"
        ));
    }
}
