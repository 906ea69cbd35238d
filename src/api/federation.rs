//! `flexcover.v1.FederationService`: a province's numbered events, from a verified cursor, then
//! live; and digests to compare copies.
use super::AppState;
use crate::api::convert::timestamp;
use crate::auth::{Principal, principal};
use crate::domain::division::ProvinceCode;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::pb;
use crate::pb::federation_service_server::FederationService;
use crate::store::federation as store;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Events read from the log at a time; also the stream's buffer, so memory is bounded per stream
/// (a few hundred kilobytes).
const BATCH: i64 = 2000;
/// A follower re-reads the log at least this often, even without a notification.
const POLL: Duration = Duration::from_secs(1);

pub struct FederationApi {
    state: AppState,
    /// Bumped whenever events are numbered (by this replica or, through LISTEN, another).
    numbered: watch::Receiver<u64>,
    /// Set when the server begins to shut down.
    shutting_down: watch::Receiver<bool>,
}

impl FederationApi {
    pub fn new(
        state: AppState,
        numbered: watch::Receiver<u64>,
        shutting_down: watch::Receiver<bool>,
    ) -> Self {
        Self {
            state,
            numbered,
            shutting_down,
        }
    }
}

/// The province's agency or a national admin.
fn province_for(principal: &Principal, raw: &str) -> AppResult<ProvinceCode> {
    let province = ProvinceCode::parse(raw)
        .map_err(|invalid| AppError::invalid("province_code", invalid.0))?;
    match &principal.role {
        Role::NationalAdmin => Ok(province),
        Role::ProvinceAgency(own) if *own == province => Ok(province),
        _ => Err(AppError::PermissionDenied(format!(
            "province {province}'s events are for its agency or a national admin"
        ))),
    }
}

fn to_proto(province: &str, row: store::LogRow) -> pb::FederatedEvent {
    pb::FederatedEvent {
        province_code: province.to_owned(),
        seq: row.seq,
        event_id: row.event_id.to_string(),
        event_type: row.event_type,
        aggregate_id: row.aggregate_id.to_string(),
        payload: row.payload,
        occurred_at: Some(timestamp(row.occurred_at)),
        chain_hash: hex::encode(row.chain_hash),
    }
}

type EventStream = ReceiverStream<Result<pb::FederatedEvent, Status>>;

async fn stream_events(
    state: &AppState,
    principal: &Principal,
    (numbered, shutting_down): (watch::Receiver<u64>, watch::Receiver<bool>),
    request: pb::StreamEventsRequest,
) -> AppResult<EventStream> {
    let province = province_for(principal, &request.province_code)?;
    crate::api::record_province(province.as_str());
    if request.after_seq < 0 {
        return Err(AppError::invalid("after_seq", "must not be negative"));
    }
    let (head_seq, _) = store::head(&state.pool, province.as_str()).await?;
    if request.after_seq > head_seq {
        return Err(AppError::OutOfRange(format!(
            "after_seq {} is beyond province {province}'s head ({head_seq})",
            request.after_seq
        )));
    }
    if request.after_seq > 0 || !request.after_hash.is_empty() {
        let held = store::hash_at(&state.pool, province.as_str(), request.after_seq)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no hash at seq {}", request.after_seq))?;
        if !request.after_hash.eq_ignore_ascii_case(&hex::encode(held)) {
            return Err(AppError::FailedPrecondition(format!(
                "the cursor's hash does not match province {province}'s chain at seq {}: the copy has diverged (compare GetDigest to find where)",
                request.after_seq
            )));
        }
    }
    let (sender, receiver) = mpsc::channel(BATCH as usize);
    let pool = state.pool.clone();
    let follow = request.follow;
    let mut cursor = request.after_seq;
    let mut numbered = numbered;
    let mut shutting_down = shutting_down;
    tokio::spawn(async move {
        // While a full page is being sent, the next one is already being read.
        let mut prefetched: Option<tokio::task::JoinHandle<AppResult<Vec<store::LogRow>>>> = None;
        loop {
            let page = match prefetched.take() {
                Some(reading) => reading
                    .await
                    .unwrap_or_else(|error| Err(anyhow::anyhow!("reading a page: {error}").into())),
                None => store::log_after(&pool, province.as_str(), cursor, BATCH).await,
            };
            let rows = match page {
                Ok(rows) => rows,
                Err(error) => {
                    let _ = sender.send(Err(Status::from(error))).await;
                    return;
                }
            };
            let caught_up = (rows.len() as i64) < BATCH;
            if let (false, Some(last)) = (caught_up, rows.last()) {
                let (pool, province, after) = (pool.clone(), province.clone(), last.seq);
                prefetched = Some(tokio::spawn(async move {
                    store::log_after(&pool, province.as_str(), after, BATCH).await
                }));
            }
            for row in rows {
                cursor = row.seq;
                if sender
                    .send(Ok(to_proto(province.as_str(), row)))
                    .await
                    .is_err()
                {
                    return; // the subscriber went away
                }
            }
            if caught_up {
                if !follow {
                    return;
                }
                tokio::select! {
                    _ = numbered.changed() => {}
                    _ = tokio::time::sleep(POLL) => {}
                    _ = sender.closed() => return,
                    _ = shutting_down.wait_for(|down| *down) => return,
                }
            }
        }
    });
    Ok(ReceiverStream::new(receiver))
}

async fn get_digest(
    state: &AppState,
    principal: &Principal,
    request: pb::GetDigestRequest,
) -> AppResult<pb::Digest> {
    let province = province_for(principal, &request.province_code)?;
    if request.seq < 0 {
        return Err(AppError::invalid("seq", "must not be negative"));
    }
    let (head_seq, head_hash) = store::head(&state.pool, province.as_str()).await?;
    let seq = if request.seq == 0 {
        head_seq
    } else {
        request.seq
    };
    let hash = store::hash_at(&state.pool, province.as_str(), seq)
        .await?
        .ok_or_else(|| {
            AppError::OutOfRange(format!(
                "seq {seq} is beyond province {province}'s head ({head_seq})"
            ))
        })?;
    Ok(pb::Digest {
        province_code: province.to_string(),
        seq,
        chain_hash: hex::encode(hash),
        head_seq,
        head_hash: hex::encode(head_hash),
    })
}

pub const RESOLVE_RPC: &str = "ResolvePerson";

async fn resolve_person(
    state: &AppState,
    principal: &Principal,
    request: pb::ResolvePersonRequest,
) -> AppResult<pb::ResolvedPerson> {
    let province = province_for(principal, &request.province_code)?;
    let person_key = hex::decode(request.person_key.trim())
        .ok()
        .filter(|key| key.len() == 32)
        .ok_or_else(|| {
            AppError::invalid("person_key", "must be 64 hex digits, as in the events")
        })?;
    let mut tx = state.pool.begin().await?;
    let resolved = crate::store::persons::resolve(&mut *tx, &person_key, province.as_str())
        .await?
        .filter(|r| r.in_province || matches!(principal.role, Role::NationalAdmin))
        .ok_or_else(|| {
            AppError::NotFound(format!("no person with records in province {province}"))
        })?;
    let sealed = crate::pii::Sealed {
        key_id: resolved.id_key_id,
        bytes: resolved.id_ciphertext,
    };
    let id_number = state
        .pii
        .open(&sealed, &person_key)
        .map_err(|error| anyhow::anyhow!("opening a person's ID number: {error}"))?;
    crate::store::access_log::record(
        &mut *tx,
        &crate::api::person_access(state, principal, &person_key, RESOLVE_RPC),
        1,
    )
    .await?;
    tx.commit().await?;
    Ok(pb::ResolvedPerson {
        person_key: hex::encode(&person_key),
        id_number,
        id_number_masked: resolved.id_masked,
    })
}

#[tonic::async_trait]
impl FederationService for FederationApi {
    async fn resolve_person(
        &self,
        request: Request<pb::ResolvePersonRequest>,
    ) -> Result<Response<pb::ResolvedPerson>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            resolve_person(&self.state, &principal, request.into_inner()).await?,
        ))
    }

    type StreamEventsStream = EventStream;

    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            stream_events(
                &self.state,
                &principal,
                (self.numbered.clone(), self.shutting_down.clone()),
                request.into_inner(),
            )
            .await?,
        ))
    }

    async fn get_digest(
        &self,
        request: Request<pb::GetDigestRequest>,
    ) -> Result<Response<pb::Digest>, Status> {
        let principal = principal(&request)?;
        Ok(Response::new(
            get_digest(&self.state, &principal, request.into_inner()).await?,
        ))
    }
}
