//! The service layer, one module per aggregate: each function takes the caller and a typed
//! command, asks `policy` whether the caller may act, applies the rules of `domain`, and writes
//! through `store` in one transaction (with the idempotency record and the event).
//!
//! Nothing here knows the API's messages. Answers that are stored for replays are generic over
//! the reply type `R` (a protobuf message the API layer builds `From` the service's answer), so the
//! reply can be stored in the same transaction without this layer naming it. The one exception is
//! each aggregate's `events.rs`: event payloads are the federation's wire format (protobuf), and
//! those files, and only those, build them from the API's messages.
pub mod claim;
pub mod contribution;
pub mod enrolment;
pub mod federation;
pub mod pension;
pub mod rates;
pub mod registry;
pub mod supervision;

use crate::auth::Principal;
use crate::domain::clock::Clock;
use crate::error::{AppError, AppResult};
use crate::pii::PiiKeys;
use crate::store::idempotency::{self, Stored, response_context};
use crate::store::{Tx, access_log};
use prost::Message;
use sqlx::PgPool;
use std::sync::Arc;

/// What every service needs.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub pii: Arc<PiiKeys>,
    pub clock: Arc<dyn Clock>,
    /// Credentials and small reference data, kept exact by the invalidation listener.
    pub cache: Arc<crate::cache::Cache>,
    /// Lookups by full ID number are logged through it, in groups, before they answer.
    pub access_log: crate::access_log::AccessLog,
    /// Concurrent EnrolWorker calls join its groups.
    pub enrolments: crate::service::enrolment::coalesce::Coalescer,
    /// What `/metrics` shows.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// A mutating request's idempotency key (AIP-155), as decoded by the API layer: the request_id
/// and a hash of the whole request, to tell a retry from a different request under the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub request_id: String,
    pub request_hash: Vec<u8>,
}

/// A request's idempotency record, scoped to the caller and the RPC.
pub struct Idempotent {
    caller: String,
    rpc: &'static str,
    key: RequestKey,
}

impl Idempotent {
    pub fn new(principal: &Principal, rpc: &'static str, key: &RequestKey) -> Self {
        Self {
            caller: principal.caller_key(),
            rpc,
            key: key.clone(),
        }
    }

    fn key(&self) -> idempotency::Key<'_> {
        idempotency::Key {
            caller: &self.caller,
            request_id: &self.key.request_id,
            rpc: self.rpc,
            request_hash: &self.key.request_hash,
        }
    }

    /// Starts the transaction. `Err(reply)` is the stored reply of an earlier identical call.
    pub async fn begin<R: Message + Default>(&self, state: &AppState) -> AppResult<Result<Tx, R>> {
        let mut tx = begin(state).await?;
        match idempotency::claim(&mut tx, &self.key(), state.clock.now()).await? {
            idempotency::Claim::Fresh => Ok(Ok(tx)),
            idempotency::Claim::Replay(stored) => {
                tx.rollback().await?;
                Ok(Err(open_reply(
                    state,
                    &self.caller,
                    &self.key.request_id,
                    &stored,
                )?))
            }
        }
    }

    /// Stores `reply`, sealed, for replays and commits the transaction.
    pub async fn commit<R: Message>(
        &self,
        state: &AppState,
        mut tx: Tx,
        reply: &R,
    ) -> AppResult<()> {
        let sealed = seal_reply(state, &self.caller, &self.key.request_id, reply)?;
        idempotency::complete(&mut tx, &self.key(), &sealed).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Opens a call's transaction — unless its caller has already given up: this is the safe point to
/// stop abandoned work (nothing is half done yet), so it cannot crowd out callers who still wait.
pub async fn begin(state: &AppState) -> AppResult<Tx> {
    begin_on(&state.pool).await
}

/// [`begin`] on a pool of the caller's choosing.
pub async fn begin_on(pool: &PgPool) -> AppResult<Tx> {
    let connection = acquire(pool).await?;
    Ok(Tx::new(sqlx::Transaction::begin(connection, None).await?))
}

/// A pooled connection for the current call, unless its caller gives up first. Waiting for the
/// pool is the one wait that is safe to abandon (no query is half sent), and abandoned calls must
/// not queue for connections ahead of callers who still wait.
pub async fn acquire(pool: &PgPool) -> AppResult<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    if crate::admission::caller_gone() {
        return Err(AppError::Cancelled);
    }
    tokio::select! {
        biased;
        connection = pool.acquire() => Ok(connection?),
        () = crate::admission::until_caller_gone() => Err(AppError::Cancelled),
    }
}

/// A reply sealed for storage, bound to its caller and request_id.
pub fn seal_reply<R: Message>(
    state: &AppState,
    caller: &str,
    request_id: &str,
    reply: &R,
) -> AppResult<crate::pii::Sealed> {
    Ok(state.pii.seal_bytes(
        &reply.encode_to_vec(),
        &response_context(caller, request_id),
    )?)
}

/// A stored reply, opened and decoded.
pub fn open_reply<R: Message + Default>(
    state: &AppState,
    caller: &str,
    request_id: &str,
    stored: &Stored,
) -> AppResult<R> {
    let opened;
    let bytes = match stored {
        Stored::Plain(bytes) => bytes.as_slice(),
        Stored::Sealed(sealed) => {
            opened = state
                .pii
                .open_bytes(sealed, &response_context(caller, request_id))
                .map_err(|error| anyhow::anyhow!("opening a stored response: {error}"))?;
            opened.as_slice()
        }
    };
    R::decode(bytes).map_err(|error| anyhow::anyhow!("decoding a stored response: {error}").into())
}

/// A lookup of a person by full ID number or person key, for the access log.
pub fn person_access<'a>(
    state: &AppState,
    principal: &'a Principal,
    person_key: &'a [u8],
    rpc: &'a str,
) -> access_log::Access<'a> {
    access_log::Access {
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
    province: &crate::domain::division::ProvinceCode,
    day: chrono::NaiveDate,
) -> AppError {
    AppError::FailedPrecondition(format!(
        "platform {platform} is not in the occupational-injury pilot in province {province} ({}) on {day}",
        province.name()
    ))
}

/// Records the province an RPC concerns on its span.
pub fn record_province(province_code: &str) {
    tracing::Span::current().record("province", province_code);
}
