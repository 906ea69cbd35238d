//! CheckCoverage: was this worker covered at this instant, on which order, at what rate?
use crate::auth::Principal;
use crate::domain::clock::china_date;
use crate::domain::id_number::IdNumber;
use crate::domain::platform::PlatformId;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner, Resource};
use crate::service::rates::{RateInForce, rate_in_force};
use crate::service::{AppState, person_access};
use crate::store::coverage::{self as store, Covering, OrderInProgress};
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub const RPC: &str = "CheckCoverage";

#[derive(Debug, Clone)]
pub struct CheckCoverage {
    pub worker: CoverageWorker,
    /// Within one platform's enrolments (a platform caller is always limited to its own).
    pub platform: Option<PlatformId>,
    /// Unset: now.
    pub at: Option<DateTime<Utc>>,
}

/// Whom to look for: a person by ID number (a search, narrowed to what the caller sees), or the
/// person of an enrolment (a record: it must exist and be visible to the caller).
#[derive(Debug, Clone)]
pub enum CoverageWorker {
    IdNumber(IdNumber),
    Enrolment(Uuid),
}

/// The answer: the covering enrolment, the order in progress and the rate, when covered.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub covered: Option<Covered>,
}

#[derive(Debug, Clone)]
pub struct Covered {
    pub enrolment: Covering,
    pub order: Option<OrderInProgress>,
    pub rate: Option<RateInForce>,
}

/// NOT_FOUND for an enrolment that does not exist or that the caller may not see.
fn no_enrolment(enrolment_id: Uuid) -> AppError {
    AppError::NotFound(format!("no enrolment {enrolment_id}"))
}

pub async fn check(
    state: &AppState,
    principal: &Principal,
    command: CheckCoverage,
) -> AppResult<Coverage> {
    let CheckCoverage {
        worker,
        platform,
        at,
    } = command;
    let narrowed = policy::narrow(&principal.role, Action::CheckCoverage, None, platform)?;
    let instant = at.unwrap_or_else(|| state.clock.now());
    let day = china_date(instant);
    let mut tx = crate::service::begin(state).await?;
    crate::store::reuse_plans(&mut tx).await?;
    let (person_key, enrolment_id) = match &worker {
        CoverageWorker::IdNumber(id) => (Some(state.pii.person_key(id)), None),
        CoverageWorker::Enrolment(enrolment_id) => {
            let missing = || no_enrolment(*enrolment_id);
            let owner = store::enrolment_owner(&mut *tx, *enrolment_id)
                .await?
                .ok_or_else(missing)?;
            let province = super::stored_province(&owner.province_code)?;
            let platform = super::stored_platform(&owner.platform_id)?;
            policy::authorize(
                &principal.role,
                Action::CheckCoverage,
                Resource::Record(Owner::of(&province, &platform)),
                missing,
            )?;
            (None, Some(*enrolment_id))
        }
    };
    let query = store::CoverageQuery {
        person_key: person_key.as_deref(),
        enrolment_id,
        at: instant,
        day,
        platform_id: narrowed.platform.as_ref().map(|p| p.as_str()),
        province_code: narrowed.province.as_ref().map(|p| p.as_str()),
        order_id: None,
    };
    let covered = match store::covering_at(&mut *tx, &query, None).await? {
        Some((enrolment, order)) => {
            let rate = rate_in_force(
                state,
                &mut *tx,
                &enrolment.province_code,
                &enrolment.platform_id,
                enrolment.industry,
                day,
            )
            .await?;
            Some(Covered {
                enrolment,
                order,
                rate,
            })
        }
        None => None,
    };
    tx.commit().await?;
    if let Some(person_key) = &person_key {
        // A lookup by ID number answers only once its access-log row is durable.
        let access = person_access(state, principal, person_key, RPC);
        state
            .access_log
            .record(&access, i32::from(covered.is_some()))
            .await?;
    }
    Ok(Coverage { covered })
}
