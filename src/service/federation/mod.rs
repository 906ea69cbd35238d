//! Federation: a province's numbered events from a verified cursor (then live), digests to compare
//! copies, and person keys resolved for the agencies whose province holds the person's records.
//! The log is a scope (`Action::ReadProvinceLog`: its agency and national admins); a person is a
//! record of each province where they have records (`Action::ResolvePerson`). Acknowledged events
//! may be purged (`acknowledge`): reads below the purge point are OUT_OF_RANGE.
mod acknowledge;
mod relay;

pub use acknowledge::{AcknowledgeEvents, Acknowledgement, acknowledge_events};

use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::error::{AppError, AppResult};
use crate::pii::Sealed;
use crate::policy::{self, Action, Owner, Resource};
use crate::service::{AppState, person_access, record_province};
use crate::store::federation::{self as store, LogRow};
use futures_util::Stream;
use std::pin::Pin;
use tokio::sync::watch;

/// A cursor: the events after `after_seq`, whose chain hash the subscriber holds.
#[derive(Debug, Clone)]
pub struct StreamEvents {
    pub province: ProvinceCode,
    pub after_seq: i64,
    /// Required when `after_seq` > 0 (checked by decoding); at 0, if given, the genesis hash.
    pub after_hash: Option<Vec<u8>>,
    pub follow: bool,
}

#[derive(Debug, Clone)]
pub struct GetDigest {
    pub province: ProvinceCode,
    /// 0 for the head.
    pub seq: i64,
}

#[derive(Debug, Clone)]
pub struct ResolvePerson {
    pub province: ProvinceCode,
    pub person_key: Vec<u8>,
}

/// The chain at a seq and at the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub province: ProvinceCode,
    pub seq: i64,
    pub chain_hash: Vec<u8>,
    pub head_seq: i64,
    pub head_hash: Vec<u8>,
    /// The purge point (0: nothing purged).
    pub purged_through: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPerson {
    pub person_key: Vec<u8>,
    pub id_number: String,
    pub id_number_masked: String,
}

/// What a stream waits on: new events numbered, and the server shutting down.
#[derive(Clone)]
pub struct Watches {
    pub numbered: watch::Receiver<u64>,
    pub shutting_down: watch::Receiver<bool>,
}

/// Events as the API sends them, built by `encode` from each numbered event of the province.
pub type EventStream<E> = Pin<Box<dyn Stream<Item = Result<E, AppError>> + Send>>;

fn read_log(principal: &Principal, province: &ProvinceCode) -> AppResult<()> {
    policy::authorize_scope(
        &principal.role,
        Action::ReadProvinceLog,
        Owner::province(province),
    )
}

/// Catches up from the cursor and, with `follow`, keeps sending events as they are numbered.
pub async fn stream_events<E: Send + 'static>(
    state: &AppState,
    principal: &Principal,
    watches: Watches,
    command: StreamEvents,
    encode: fn(&str, LogRow) -> E,
) -> AppResult<EventStream<E>> {
    let province = command.province;
    read_log(principal, &province)?;
    record_province(province.as_str());
    let (head_seq, _) = store::head(&state.pool, province.as_str()).await?;
    let after_seq = command.after_seq;
    if after_seq > head_seq {
        return Err(AppError::OutOfRange(format!(
            "after_seq {after_seq} is beyond province {province}'s head ({head_seq})"
        )));
    }
    let purged = acknowledge::purge_point(&state.pool, &province).await?;
    acknowledge::refuse_if_purged(&province, after_seq, purged)?;
    if let Some(after_hash) = &command.after_hash {
        let held = match store::hash_at(&state.pool, province.as_str(), after_seq).await? {
            Some(held) => held,
            None => {
                return Err(
                    acknowledge::missing_hash(&state.pool, &province, after_seq, head_seq).await,
                );
            }
        };
        if *after_hash != held {
            return Err(AppError::FailedPrecondition(format!(
                "the cursor's hash does not match province {province}'s chain at seq {after_seq}: the copy has diverged (compare GetDigest to find where)"
            )));
        }
    }
    Ok(relay::start(
        state.pool.clone(),
        province,
        watches,
        (after_seq, head_seq, command.follow),
        encode,
    ))
}

pub async fn get_digest(
    state: &AppState,
    principal: &Principal,
    command: GetDigest,
) -> AppResult<Digest> {
    let province = command.province;
    read_log(principal, &province)?;
    let (head_seq, head_hash) = store::head(&state.pool, province.as_str()).await?;
    let seq = if command.seq == 0 {
        head_seq
    } else {
        command.seq
    };
    let purged = acknowledge::purge_point(&state.pool, &province).await?;
    acknowledge::refuse_if_purged(&province, seq, purged)?;
    let chain_hash = match store::hash_at(&state.pool, province.as_str(), seq).await? {
        Some(hash) => hash,
        None => return Err(acknowledge::missing_hash(&state.pool, &province, seq, head_seq).await),
    };
    Ok(Digest {
        province,
        seq,
        chain_hash,
        head_seq,
        head_hash,
        purged_through: purged,
    })
}

/// The province a person is seen through: the one asked for if the person has records there,
/// otherwise any other where they do (so only national readers see them); None if none.
fn seen_through(asked: &ProvinceCode, provinces: &[String]) -> Option<ProvinceCode> {
    if provinces.iter().any(|p| p == asked.as_str()) {
        return Some(asked.clone());
    }
    provinces
        .iter()
        .find_map(|province| ProvinceCode::parse(province).ok())
}

pub async fn resolve_person(
    state: &AppState,
    principal: &Principal,
    command: ResolvePerson,
) -> AppResult<ResolvedPerson> {
    const RPC: &str = "ResolvePerson";
    let province = command.province;
    policy::authorize_scope(
        &principal.role,
        Action::ResolvePerson,
        Owner::province(&province),
    )?;
    let not_found = || AppError::NotFound(format!("no person with records in province {province}"));
    let person_key = command.person_key;
    let mut tx = crate::service::begin(state).await?;
    let person = store::person_record(&mut *tx, &person_key)
        .await?
        .ok_or_else(not_found)?;
    let owner = seen_through(&province, &person.provinces).ok_or_else(not_found)?;
    policy::authorize(
        &principal.role,
        Action::ResolvePerson,
        Resource::Record(Owner::province(&owner)),
        not_found,
    )?;
    let sealed = Sealed {
        key_id: person.id_key_id,
        bytes: person.id_ciphertext,
    };
    let id_number = state
        .pii
        .open(&sealed, &person_key)
        .map_err(|error| anyhow::anyhow!("opening a person's ID number: {error}"))?;
    state
        .access_log
        .record(&person_access(state, principal, &person_key, RPC), 1)
        .await?;
    tx.commit().await?;
    Ok(ResolvedPerson {
        person_key,
        id_number,
        id_number_masked: person.id_masked,
    })
}
