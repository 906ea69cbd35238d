//! Accepted connections: small writes go out at once, and a connection with no call open for the
//! idle timeout is closed.
//!
//! - `serve_with_incoming` ignores tonic's `tcp_nodelay`, so each accepted socket sets it itself:
//!   with Nagle's algorithm on, a response's trailers wait for the peer's ACK of its headers.
//! - Idle is counted per connection: `StreamCountLayer` (outermost) holds a `OpenCall` for each
//!   call from its start until its response body ends or is dropped; the socket wrapper reports
//!   end-of-stream to HTTP/2 once no call has been open for the timeout. With no stream open, h2
//!   ends the connection cleanly; a gRPC client reconnects on its next call. Keepalive pings do
//!   not count as activity, so a peer that answers pings but never calls is still closed.
//! - With TLS the tracking sits above the TLS session, so an idle connection ends with h2's
//!   GOAWAY and a TLS close_notify, as a plaintext one ends with GOAWAY.
use futures_util::future::BoxFuture;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tonic::transport::server::Connected;

/// Calls open on one connection, and since when none has been.
#[derive(Debug)]
pub struct Activity {
    state: Mutex<OpenCalls>,
}

#[derive(Debug)]
struct OpenCalls {
    open: usize,
    idle_since: Instant,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(OpenCalls {
                open: 0,
                idle_since: Instant::now(),
            }),
        }
    }

    fn with<T>(&self, change: impl FnOnce(&mut OpenCalls) -> T) -> T {
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Counts a call as open until the returned guard drops.
    pub fn open_call(self: &Arc<Self>) -> OpenCall {
        self.with(|calls| calls.open += 1);
        OpenCall(Arc::clone(self))
    }

    /// When the connection falls idle, if no call is open now.
    fn idle_since(&self) -> Option<Instant> {
        self.with(|calls| (calls.open == 0).then_some(calls.idle_since))
    }
}

/// One open call; dropping it (answered, reset or abandoned) closes it.
pub struct OpenCall(Arc<Activity>);

impl Drop for OpenCall {
    fn drop(&mut self) {
        self.0.with(|calls| {
            calls.open = calls.open.saturating_sub(1);
            if calls.open == 0 {
                calls.idle_since = Instant::now();
            }
        });
    }
}

/// What each call learns about its connection (tonic puts it in the request's extensions).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The server's own address on this connection (`server.address` of the call's span).
    pub local_addr: Option<std::net::SocketAddr>,
    pub activity: Arc<Activity>,
}

/// An accepted socket, in plaintext or after its TLS handshake.
pub enum Socket {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// An accepted socket that reads end-of-stream once it has been idle for `idle_timeout`.
pub struct TrackedStream {
    io: Socket,
    local_addr: Option<std::net::SocketAddr>,
    activity: Arc<Activity>,
    idle_timeout: Option<Duration>,
    check: Pin<Box<Sleep>>,
    closed: bool,
}

impl TrackedStream {
    pub fn new(io: TcpStream, idle_timeout: Option<Duration>, nodelay: bool) -> Self {
        if let Err(error) = io.set_nodelay(nodelay) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let local_addr = io.local_addr().ok();
        Self::tracking(Socket::Plain(io), local_addr, idle_timeout)
    }

    /// A socket whose TLS handshake is done (TCP_NODELAY was set before it).
    pub fn tls(
        io: tokio_rustls::server::TlsStream<TcpStream>,
        local_addr: Option<std::net::SocketAddr>,
        idle_timeout: Option<Duration>,
    ) -> Self {
        Self::tracking(Socket::Tls(Box::new(io)), local_addr, idle_timeout)
    }

    fn tracking(
        io: Socket,
        local_addr: Option<std::net::SocketAddr>,
        idle_timeout: Option<Duration>,
    ) -> Self {
        let first_check = Instant::now() + idle_timeout.unwrap_or(Duration::ZERO);
        Self {
            io,
            local_addr,
            activity: Arc::new(Activity::new()),
            idle_timeout,
            check: Box::pin(tokio::time::sleep_until(first_check)),
            closed: false,
        }
    }

    /// Whether the idle timeout has passed; otherwise arms the timer for the next check.
    fn idle_too_long(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(timeout) = self.idle_timeout else {
            return false;
        };
        while self.check.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            let next = match self.activity.idle_since() {
                Some(since) if now >= since + timeout => return true,
                Some(since) => since + timeout,
                None => now + timeout,
            };
            self.check.as_mut().reset(next);
        }
        false
    }
}

impl Connected for TrackedStream {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        ConnectionInfo {
            local_addr: self.local_addr,
            activity: Arc::clone(&self.activity),
        }
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.closed || self.idle_too_long(cx) {
            if !self.closed {
                tracing::debug!("closing a connection idle past the timeout");
                self.closed = true;
            }
            // Nothing read: end-of-stream.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(io) => Pin::new(io).poll_read(cx, buf),
            Socket::Tls(io) => Pin::new(io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Plain(io) => Pin::new(io).poll_write(cx, buf),
            Socket::Tls(io) => Pin::new(io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Plain(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            Socket::Tls(io) => Pin::new(io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Socket::Plain(io) => io.is_write_vectored(),
            Socket::Tls(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(io) => Pin::new(io).poll_flush(cx),
            Socket::Tls(io) => Pin::new(io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(io) => Pin::new(io).poll_shutdown(cx),
            Socket::Tls(io) => Pin::new(io).poll_shutdown(cx),
        }
    }
}

/// Holds each call open on its connection until its response body ends.
#[derive(Clone, Default)]
pub struct StreamCountLayer;

impl<S> tower::Layer<S> for StreamCountLayer {
    type Service = StreamCount<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StreamCount { inner }
    }
}

#[derive(Clone)]
pub struct StreamCount<S> {
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for StreamCount<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let open = request
            .extensions()
            .get::<ConnectionInfo>()
            .map(|info| info.activity.open_call());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(match open {
                Some(open) => {
                    response.map(|body| tonic::body::Body::new(CountedBody { body, open }))
                }
                None => response,
            })
        })
    }
}

/// A response body that keeps its call open until it is dropped.
struct CountedBody {
    body: tonic::body::Body,
    #[allow(dead_code)] // held for its Drop
    open: OpenCall,
}

impl http_body::Body for CountedBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
