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

use crate::auth::Principal;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::store::Tx;
use prost::Message;
use sha2::{Digest, Sha256};

pub use crate::service::{AppState, RequestKey, not_in_pilot, person_access, record_province};

/// `request_id` must be 1 to 128 printable ASCII characters (AIP-155).
pub fn check_request_id(request_id: &str) -> Result<(), crate::domain::Invalid> {
    crate::domain::text::check_request_id(request_id)
}

/// A request's idempotency key: its request_id, checked, and a hash of the whole message.
pub fn request_key<M: Message>(request_id: &str, request: &M) -> AppResult<RequestKey> {
    check_request_id(request_id).map_err(|invalid| AppError::invalid("request_id", invalid.0))?;
    Ok(RequestKey {
        request_id: request_id.to_owned(),
        request_hash: Sha256::digest(request.encode_to_vec()).to_vec(),
    })
}

/// Narrows a listing to what the caller may see: an agency its province, a platform its own `what`;
/// asking for someone else's is PERMISSION_DENIED. National readers list anything.
pub fn scope_listing(
    principal: &Principal,
    province_code: &mut Option<String>,
    platform_id: &mut Option<String>,
    what: &str,
) -> AppResult<()> {
    match &principal.role {
        Role::NationalAdmin | Role::Auditor => Ok(()),
        Role::ProvinceAgency(own) => {
            if province_code.as_deref().is_some_and(|p| p != own.as_str()) {
                return Err(AppError::PermissionDenied(format!(
                    "a province agency lists only its own province ({own})"
                )));
            }
            *province_code = Some(own.to_string());
            Ok(())
        }
        Role::Platform(own) => {
            if platform_id.as_deref().is_some_and(|p| p != own.as_str()) {
                return Err(AppError::PermissionDenied(format!(
                    "a platform lists only its own {what}"
                )));
            }
            *platform_id = Some(own.to_string());
            Ok(())
        }
    }
}

/// A mutating request's idempotency key, checked and scoped to the caller.
pub struct Idempotent(crate::service::Idempotent);

impl Idempotent {
    /// `request_id` must be 1 to 128 printable ASCII characters.
    pub fn new<M: Message>(
        principal: &Principal,
        rpc: &'static str,
        request_id: &str,
        request: &M,
    ) -> AppResult<Self> {
        let key = request_key(request_id, request)?;
        Ok(Self(crate::service::Idempotent::new(principal, rpc, &key)))
    }

    /// Starts the transaction. `Err(response)` is the stored response of an earlier identical call.
    pub async fn begin<R: Message + Default>(&self, state: &AppState) -> AppResult<Result<Tx, R>> {
        self.0.begin(state).await
    }

    /// Stores `response` for replays and commits the transaction.
    pub async fn commit<R: Message>(
        &self,
        state: &AppState,
        tx: Tx,
        response: &R,
    ) -> AppResult<()> {
        self.0.commit(state, tx, response).await
    }
}

pub fn require_national_admin(principal: &Principal) -> AppResult<()> {
    match principal.role {
        Role::NationalAdmin => Ok(()),
        _ => Err(AppError::PermissionDenied(
            "this call is for national admins".into(),
        )),
    }
}

/// National admins and auditors: read access to everything.
pub fn require_national_reader(principal: &Principal) -> AppResult<()> {
    match principal.role {
        Role::NationalAdmin | Role::Auditor => Ok(()),
        _ => Err(AppError::PermissionDenied(
            "this call is for national admins and auditors".into(),
        )),
    }
}
