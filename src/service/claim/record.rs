//! What every claim step shares: the claim locked and authorized for a step, the step written to
//! the claim, its timeline and its event, and the claim as the caller may see it (each such answer
//! is a read of sensitive data, written to the access log).
use super::ClaimReply;
use super::events;
use crate::auth::Principal;
use crate::domain::benefits::BenefitKind;
use crate::domain::claim::{self, ClaimStatus, Step, StepTaken};
use crate::domain::division::ProvinceCode;
use crate::domain::late_fee::Period;
use crate::domain::money::Fen;
use crate::domain::periodic::{self, Standing};
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult};
use crate::pii::Sealed;
use crate::policy::{self, Action, Decision, Owner, Resource};
use crate::service::{AppState, Idempotent, RequestKey, person_access, record_province};
use crate::store::Tx;
use crate::store::claims::{self as store, ClaimRow, ItemRow, TimelineRow};
use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

/// A claim as its caller may see it.
#[derive(Debug, Clone)]
pub struct ClaimAnswer {
    pub claim: ClaimRow,
    /// What happened, opened from its sealed column.
    pub description: String,
    pub timeline: Vec<TimelineRow>,
    pub benefits: Vec<ItemView>,
    /// Other claims of the same person near in time; None for callers who may not see the flags.
    pub duplicates: Option<Vec<Uuid>>,
}

/// A benefit item with, for a periodic one, where it stands.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub row: ItemRow,
    pub standing: Option<Standing>,
}

/// The answer for a claim that does not exist, and for one the caller may not see.
pub fn not_found(claim_id: Uuid) -> AppError {
    AppError::NotFound(format!("no claim {claim_id}"))
}

/// Whether `role` may read a visible claim's duplicate flags (`Action::ReadDuplicateFlags`): a
/// flag points at other platforms' reports, so platforms never see them.
pub fn may_read_duplicate_flags(role: &Role, claim: &ClaimRow) -> AppResult<bool> {
    let (province, platform) = owner_of(claim)?;
    Ok(policy::decide(
        role,
        Action::ReadDuplicateFlags,
        Resource::Record(Owner::of(&province, &platform)),
    ) == Decision::Allow)
}

/// The province and platform that own a claim, as the policy takes them.
fn owner_of(claim: &ClaimRow) -> AppResult<(ProvinceCode, PlatformId)> {
    let corrupt = |what: &str| {
        AppError::Internal(anyhow::anyhow!(
            "claim {} has a malformed stored {what}",
            claim.claim_id
        ))
    };
    let province = ProvinceCode::parse(&claim.province_code).map_err(|_| corrupt("province"))?;
    let platform = PlatformId::parse(&claim.platform_id).map_err(|_| corrupt("platform"))?;
    Ok((province, platform))
}

/// The policy's answer for `action` on `claim`: unseen claims are NOT_FOUND exactly as a missing
/// one.
pub(super) fn authorize(principal: &Principal, action: Action, claim: &ClaimRow) -> AppResult<()> {
    let (province, platform) = owner_of(claim)?;
    policy::authorize(
        &principal.role,
        action,
        Resource::Record(Owner::of(&province, &platform)),
        || not_found(claim.claim_id),
    )
}

/// The status after `step`, or FAILED_PRECONDITION naming the current one.
pub(super) fn advance(claim: &ClaimRow, step: Step) -> AppResult<ClaimStatus> {
    claim::next(claim.status, claim.kind, step)
        .map_err(|refused| AppError::FailedPrecondition(refused.0))
}

/// What a step changes, for the claim row, its timeline and its event.
pub(super) struct Change {
    pub step: StepTaken,
    pub status: ClaimStatus,
    pub detail: String,
    /// For payments: the item paid.
    pub benefit_kind: Option<BenefitKind>,
    /// For payments the amount paid; for assessments the one-time total.
    pub amount: Fen,
    pub first_payment: bool,
    /// For a periodic benefit's payment or change: the item's number.
    pub item: Option<i32>,
    /// For a periodic benefit's payment: the month paid for.
    pub month: Option<Period>,
    /// For a periodic benefit's change: what changed, why, from when.
    pub periodic_change: Option<periodic::Change>,
    /// For a periodic benefit's payment: the adjustment versions of the month's entitlement.
    pub adjustment_version: Option<String>,
}

impl Change {
    pub fn new(step: StepTaken, status: ClaimStatus, detail: String) -> Self {
        Self {
            step,
            status,
            detail,
            benefit_kind: None,
            amount: Fen(0),
            first_payment: false,
            item: None,
            month: None,
            periodic_change: None,
            adjustment_version: None,
        }
    }
}

/// A claim locked for a step by a caller the policy allows to take it.
pub(super) struct Locked {
    pub idempotent: Idempotent,
    pub tx: Tx,
    pub claim: ClaimRow,
    pub rpc: &'static str,
}

pub(super) enum Opened<R> {
    Fresh(Box<Locked>),
    /// The stored reply of an earlier identical request.
    Replayed(R),
}

/// Idempotency first (a replay returns the first reply), then the claim locked (missing: NOT_FOUND)
/// and the policy asked for `action` (unseen: the same NOT_FOUND).
pub(super) async fn open<R: ClaimReply>(
    state: &AppState,
    principal: &Principal,
    rpc: &'static str,
    key: &RequestKey,
    claim_id: Uuid,
    action: Action,
) -> AppResult<Opened<R>> {
    let idempotent = Idempotent::new(principal, rpc, key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(Opened::Replayed(replayed)),
    };
    let claim = store::lock(&mut tx, claim_id)
        .await?
        .ok_or_else(|| not_found(claim_id))?;
    authorize(principal, action, &claim)?;
    record_province(&claim.province_code);
    Ok(Opened::Fresh(Box::new(Locked {
        idempotent,
        tx,
        claim,
        rpc,
    })))
}

/// `open`, returning the stored reply from the calling function on a replay.
macro_rules! open_or_replay {
    ($state:expr, $principal:expr, $rpc:expr, $key:expr, $claim_id:expr, $action:expr) => {
        match super::record::open($state, $principal, $rpc, $key, $claim_id, $action).await? {
            super::record::Opened::Fresh(locked) => *locked,
            super::record::Opened::Replayed(reply) => return Ok(reply),
        }
    };
}
pub(super) use open_or_replay;

impl Locked {
    /// Records the step and answers with the claim, stored (sealed) for replays of the request.
    pub async fn conclude<R: ClaimReply>(
        mut self,
        state: &AppState,
        principal: &Principal,
        change: Change,
    ) -> AppResult<R> {
        record_change(state, &mut self.tx, principal, &mut self.claim, change).await?;
        finish(
            state,
            self.tx,
            &self.idempotent,
            principal,
            self.claim,
            self.rpc,
        )
        .await
    }
}

/// Answers with the claim and commits, the reply stored for replays.
pub(super) async fn finish<R: ClaimReply>(
    state: &AppState,
    mut tx: Tx,
    idempotent: &Idempotent,
    principal: &Principal,
    claim: ClaimRow,
    rpc: &str,
) -> AppResult<R> {
    let answer = answer(state, &mut tx, principal, claim, rpc).await?;
    let reply = R::from(&answer);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

/// Writes the claim's new state, a timeline entry and an event.
pub(super) async fn record_change(
    state: &AppState,
    tx: &mut Tx,
    principal: &Principal,
    claim: &mut ClaimRow,
    change: Change,
) -> AppResult<()> {
    let now = state.clock.now();
    let actor = principal.caller_key();
    claim.status = change.status;
    store::update(tx, claim, now).await?;
    store::append_timeline(tx, claim, change.step, &actor, &change.detail, now).await?;
    events::append_step(tx, claim, &change, &actor, now).await
}

/// The day a decision is due if its working days are counted from `from` (the application or the
/// appeal), and whether it is provisional.
pub(super) async fn decision_due(
    tx: &mut Tx,
    province_code: &str,
    from: NaiveDate,
) -> AppResult<claim::DecisionDue> {
    let policy = store::policy(&mut **tx, province_code).await?;
    let days = claim::calendar_days_for(policy.decision_working_days);
    let loaded = store::calendar(&mut **tx, from, days).await?;
    let last_year = from.year() + i32::try_from(days / 365 + 1).unwrap_or(1);
    let years = store::loaded_years(&mut **tx, from.year(), last_year).await?;
    Ok(claim::decision_due_counted(&policy, from, loaded, &years))
}

/// Sets a claim's decision due date counted from `from`.
pub(super) async fn set_decision_due(
    tx: &mut Tx,
    claim: &mut ClaimRow,
    from: NaiveDate,
) -> AppResult<claim::DecisionDue> {
    let due = decision_due(tx, &claim.province_code, from).await?;
    claim.decision_due = Some(due.day);
    claim.decision_due_provisional = due.provisional;
    claim.decision_counted_from = Some(from);
    Ok(due)
}

/// The whole claim for `principal`, read in `tx` and logged as a read through `rpc`.
pub(super) async fn answer(
    state: &AppState,
    tx: &mut Tx,
    principal: &Principal,
    claim: ClaimRow,
    rpc: &str,
) -> AppResult<ClaimAnswer> {
    let sealed = Sealed {
        key_id: claim.description_key_id.clone(),
        bytes: claim.description_ciphertext.clone(),
    };
    let description = state
        .pii
        .open(&sealed, claim.claim_id.as_bytes())
        .map_err(|error| anyhow::anyhow!("opening claim {}: {error}", claim.claim_id))?;
    let timeline = store::timeline(&mut **tx, &claim).await?;
    let items = store::items(&mut **tx, &claim).await?;
    let changes = crate::store::periodic::changes(&mut **tx, &claim).await?;
    let benefits = items
        .into_iter()
        .map(|row| ItemView {
            standing: row
                .monthly
                .then(|| super::periodic::schedule_of(&row, &changes, &[], vec![]).standing()),
            row,
        })
        .collect();
    let duplicates = if may_read_duplicate_flags(&principal.role, &claim)? {
        Some(store::duplicates_of(&mut **tx, claim.claim_id).await?)
    } else {
        None
    };
    state
        .access_log
        .record(&person_access(state, principal, &claim.person_key, rpc), 1)
        .await?;
    Ok(ClaimAnswer {
        claim,
        description,
        timeline,
        benefits,
        duplicates,
    })
}
