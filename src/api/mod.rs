//! gRPC handlers: decode proto messages into validated domain values, authorise, call the store,
//! encode the answer. Nothing below this module knows about proto types.
pub mod admin;
pub mod claim;
pub mod contribution;
pub mod convert;
pub mod enrolment;
pub mod federation;
pub mod paging;
pub mod rates;
pub mod streaming;
pub mod supervision;

use crate::error::Violations;
use prost::Message;
use sha2::{Digest, Sha256};

pub use crate::service::{AppState, RequestKey};

/// A mutating request's idempotency key: its `request_id`, checked (AIP-155: 1 to 128 printable
/// ASCII characters), and a hash of the whole message; or a violation of `request_id`.
pub fn request_key<M: Message>(
    violations: &mut Violations,
    request_id: &str,
    request: &M,
) -> Option<RequestKey> {
    violations.check(
        "request_id",
        crate::domain::text::check_request_id(request_id),
    )?;
    Some(RequestKey {
        request_id: request_id.to_owned(),
        request_hash: Sha256::digest(request.encode_to_vec()).to_vec(),
    })
}
