//! A request over the message-size limit is RESOURCE_EXHAUSTED, gRPC's code for it; tonic reports
//! it as OUT_OF_RANGE. Unary calls fail before their handler, as a trailers-only response, so this
//! layer rewrites that response's status; streams meet the limit in their handler, which maps the
//! item error with `resource_exhausted_if_oversize`.
use futures_util::future::BoxFuture;
use std::task::{Context, Poll};
use tonic::{Code, Status};

const TONIC_OVERSIZE: &str = "Error, decoded message length too large";

fn is_oversize(status: &Status) -> bool {
    status.code() == Code::OutOfRange && status.message().starts_with(TONIC_OVERSIZE)
}

/// RESOURCE_EXHAUSTED for tonic's oversize error; any other status unchanged.
pub fn resource_exhausted_if_oversize(status: Status) -> Status {
    if is_oversize(&status) {
        Status::resource_exhausted(oversize_message(status.message()))
    } else {
        status
    }
}

fn oversize_message(tonic_message: &str) -> String {
    let detail = tonic_message
        .split_once(": ")
        .map_or(tonic_message, |(_, detail)| detail);
    format!("the message is larger than this server accepts ({detail})")
}

#[derive(Clone, Default)]
pub struct OversizeLayer;

impl<S> tower::Layer<S> for OversizeLayer {
    type Service = Oversize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Oversize { inner }
    }
}

#[derive(Clone)]
pub struct Oversize<S> {
    inner: S,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for Oversize<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            let headers = response.headers_mut();
            if let Some(status) = Status::from_header_map(headers)
                && is_oversize(&status)
            {
                let mapped = resource_exhausted_if_oversize(status);
                {
                    headers.remove("grpc-message");
                    if let Err(error) = mapped.add_header(headers) {
                        tracing::warn!(%error, "cannot rewrite an oversize status");
                    }
                }
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tonics_oversize_error_becomes_resource_exhausted() {
        let status = resource_exhausted_if_oversize(Status::out_of_range(
            "Error, decoded message length too large: found 4121 bytes, the limit is: 1024 bytes",
        ));
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "the message is larger than this server accepts (found 4121 bytes, the limit is: 1024 bytes)"
        );
        let other = resource_exhausted_if_oversize(Status::out_of_range("after_seq is beyond"));
        assert_eq!(other.code(), Code::OutOfRange);
    }
}
