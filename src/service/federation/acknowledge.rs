//! Acknowledgements: a province states that its copy holds the log up to a seq, with the chain
//! hash there; the service checks the hash against its own chain and keeps the highest. What is
//! acknowledged may be purged by maintenance (`crate::event_purge`); reads below the purge point
//! are OUT_OF_RANGE, saying how far the log was purged.
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::event_retention::{
    AckRefused, AckStep, ack_step, purged_before, purged_message,
};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner};
use crate::service::{AppState, record_province};
use crate::store::event_retention;
use crate::store::federation as log;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

#[derive(Debug, Clone)]
pub struct AcknowledgeEvents {
    pub province: ProvinceCode,
    pub seq: i64,
    pub chain_hash: Vec<u8>,
}

/// A province's highest acknowledgement, and its purge point (0: nothing purged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub province: ProvinceCode,
    pub seq: i64,
    pub chain_hash: Vec<u8>,
    pub acknowledged_at: DateTime<Utc>,
    pub purged_through: i64,
}

/// The province's purge point: every event up to it is gone (0 for none).
pub(super) async fn purge_point(
    db: impl PgExecutor<'_>,
    province: &ProvinceCode,
) -> AppResult<i64> {
    Ok(event_retention::checkpoint(db, province.as_str())
        .await?
        .map_or(0, |(seq, _)| seq))
}

/// OUT_OF_RANGE for a read from `seq` if the purge removed what it needs.
pub(super) fn refuse_if_purged(province: &ProvinceCode, seq: i64, purged: i64) -> AppResult<()> {
    if purged_before(seq, purged) {
        return Err(AppError::OutOfRange(purged_message(
            province.as_str(),
            purged,
        )));
    }
    Ok(())
}

/// Why the chain has no hash at `seq` (at most the head when read): a purge that moved past it
/// since, or else beyond the head. Never INTERNAL: both are the caller's range.
pub(super) async fn missing_hash(
    db: impl PgExecutor<'_>,
    province: &ProvinceCode,
    seq: i64,
    head: i64,
) -> AppError {
    match purge_point(db, province).await {
        Ok(purged) if purged_before(seq, purged) => {
            AppError::OutOfRange(purged_message(province.as_str(), purged))
        }
        Ok(_) => AppError::OutOfRange(format!(
            "seq {seq} is beyond province {province}'s head ({head})"
        )),
        Err(error) => error,
    }
}

pub async fn acknowledge_events(
    state: &AppState,
    principal: &Principal,
    command: AcknowledgeEvents,
) -> AppResult<Acknowledgement> {
    let province = command.province;
    policy::authorize_scope(
        &principal.role,
        Action::AcknowledgeProvinceLog,
        Owner::province(&province),
    )?;
    record_province(province.as_str());
    let code = province.as_str();
    let seq = command.seq;
    let mut tx = crate::service::begin(state).await?;
    let (head, _) = log::head(&mut *tx, code).await?;
    let current = event_retention::acknowledged(&mut *tx, code).await?;
    let step =
        ack_step(seq, head, current.as_ref().map_or(0, |ack| ack.seq)).map_err(|refused| {
            match refused {
                AckRefused::NotPositive => AppError::invalid("seq", "must be at least 1"),
                AckRefused::BeyondHead { head } => AppError::OutOfRange(format!(
                    "seq {seq} is beyond province {province}'s head ({head})"
                )),
            }
        })?;
    let purged = purge_point(&mut *tx, &province).await?;
    // Below the purge point nothing is left to check against; that is an old acknowledgement
    // (the purge point never passes the highest one), which changes nothing anyway.
    if !purged_before(seq, purged) {
        let held = match log::hash_at(&mut *tx, code, seq).await? {
            Some(held) => held,
            None => return Err(missing_hash(&mut *tx, &province, seq, head).await),
        };
        if held != command.chain_hash {
            return Err(AppError::FailedPrecondition(format!(
                "the chain hash does not match province {province}'s chain at seq {seq}: the copy \
                 has diverged (compare GetDigest to find where); nothing was acknowledged"
            )));
        }
    }
    if step == AckStep::Advance {
        event_retention::record(
            &mut *tx,
            code,
            seq,
            &command.chain_hash,
            (state.clock.now(), &principal.token_id),
        )
        .await?;
    }
    let acknowledged = event_retention::acknowledged(&mut *tx, code)
        .await?
        .ok_or_else(|| anyhow::anyhow!("province {province} has no acknowledgement after one"))?;
    tx.commit().await?;
    Ok(Acknowledgement {
        province,
        seq: acknowledged.seq,
        chain_hash: acknowledged.chain_hash,
        acknowledged_at: acknowledged.acknowledged_at,
        purged_through: purged,
    })
}
