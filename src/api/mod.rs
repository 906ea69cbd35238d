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
use crate::domain::clock::Clock;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::pii::PiiKeys;
use crate::store::{Tx, idempotency};
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::sync::Arc;

/// What every handler needs.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub pii: Arc<PiiKeys>,
    pub clock: Arc<dyn Clock>,
}

/// `request_id` must be 1 to 128 printable ASCII characters (AIP-155).
pub fn check_request_id(request_id: &str) -> Result<(), crate::domain::Invalid> {
    let well_formed =
        (1..=128).contains(&request_id.len()) && request_id.bytes().all(|b| b.is_ascii_graphic());
    if well_formed {
        Ok(())
    } else {
        Err(crate::domain::Invalid::new(
            "required: 1 to 128 printable ASCII characters, unique per request (a UUID is a good choice)",
        ))
    }
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

/// A lookup of a person by full ID number, for the access log.
pub fn person_access<'a>(
    state: &AppState,
    principal: &'a Principal,
    person_key: &'a [u8],
    rpc: &'a str,
) -> crate::store::access_log::Access<'a> {
    crate::store::access_log::Access {
        at: state.clock.now(),
        actor: principal.caller_key(),
        token_id: &principal.token_id,
        person_key,
        rpc,
    }
}

/// FAILED_PRECONDITION: the platform is not in the pilot in the province on that day.
pub fn not_in_pilot(
    platform: &crate::domain::platform::PlatformId,
    province_code: &str,
    day: chrono::NaiveDate,
) -> AppError {
    let province = crate::domain::division::ProvinceCode::parse(province_code)
        .map(|p| format!("{p} ({})", p.name()))
        .unwrap_or_else(|_| province_code.to_owned());
    AppError::FailedPrecondition(format!(
        "platform {platform} is not in the occupational-injury pilot in province {province} on {day}"
    ))
}

/// A mutating request's idempotency key, checked and scoped to the caller.
pub struct Idempotent {
    caller: String,
    request_id: String,
    rpc: &'static str,
    request_hash: Vec<u8>,
}

impl Idempotent {
    /// `request_id` must be 1 to 128 printable ASCII characters.
    pub fn new<M: Message>(
        principal: &Principal,
        rpc: &'static str,
        request_id: &str,
        request: &M,
    ) -> AppResult<Self> {
        check_request_id(request_id)
            .map_err(|invalid| AppError::invalid("request_id", invalid.0))?;
        Ok(Self {
            caller: principal.caller_key(),
            request_id: request_id.to_owned(),
            rpc,
            request_hash: Sha256::digest(request.encode_to_vec()).to_vec(),
        })
    }

    fn key(&self) -> idempotency::Key<'_> {
        idempotency::Key {
            caller: &self.caller,
            request_id: &self.request_id,
            rpc: self.rpc,
            request_hash: &self.request_hash,
        }
    }

    /// Starts the transaction. `Err(response)` is the stored response of an earlier identical call.
    pub async fn begin<R: Message + Default>(&self, state: &AppState) -> AppResult<Result<Tx, R>> {
        let mut tx = state.pool.begin().await?;
        match idempotency::claim(&mut tx, &self.key(), state.clock.now()).await? {
            idempotency::Claim::Fresh => Ok(Ok(tx)),
            idempotency::Claim::Replay(bytes) => {
                tx.rollback().await?;
                let response = R::decode(bytes.as_slice())
                    .map_err(|error| anyhow::anyhow!("stored {} response: {error}", self.rpc))?;
                Ok(Err(response))
            }
        }
    }

    /// Stores `response` for replays and commits the transaction.
    pub async fn commit<R: Message>(&self, mut tx: Tx, response: &R) -> AppResult<()> {
        idempotency::complete(&mut tx, &self.key(), &response.encode_to_vec()).await?;
        tx.commit().await?;
        Ok(())
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

/// Records the province an RPC concerns on its span.
pub fn record_province(province_code: &str) {
    tracing::Span::current().record("province", province_code);
}
