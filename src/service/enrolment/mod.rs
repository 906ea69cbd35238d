//! Enrolments: enrol workers (one at a time or in set-based chunks), change their enrolments, read
//! them, and the windows that bound their dates.
//!
//! Who may do what is the policy's (`crate::policy`): an enrolment is a record owned by its
//! province and platform, so a caller who may not see it gets exactly the NOT_FOUND a random id
//! gets (`not_found`).
pub mod batch;
pub mod coalesce;
pub mod enrol;
pub mod events;
pub mod lifecycle;
pub mod query;
pub mod settings;

use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::platform::PlatformId;
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner, Resource};
use crate::store::enrolments::EnrolmentRow;
use uuid::Uuid;

/// The answer for an enrolment that does not exist, and for one the caller may not see.
pub fn not_found(enrolment_id: Uuid) -> AppError {
    AppError::NotFound(format!("no enrolment {enrolment_id}"))
}

/// The caller's own platform, if it is one: the platform an enrolment is made for. Whether the
/// caller may enrol at all is the policy's decision, not this helper's.
fn own_platform(principal: &Principal) -> Option<&PlatformId> {
    principal.role.platform()
}

/// The province and platform that own a stored enrolment.
fn owner_of(row: &EnrolmentRow) -> AppResult<(ProvinceCode, PlatformId)> {
    let province = ProvinceCode::parse(&row.province_code)
        .map_err(|invalid| anyhow::anyhow!("stored province of an enrolment: {invalid}"))?;
    let platform = PlatformId::parse(&row.platform_id)
        .map_err(|invalid| anyhow::anyhow!("stored platform of an enrolment: {invalid}"))?;
    Ok((province, platform))
}

/// Asks the policy whether the caller may do `action` on the enrolment `row`; unseen is
/// `not_found`. Records the province on the span once the caller may act.
fn authorize(principal: &Principal, action: Action, row: &EnrolmentRow) -> AppResult<()> {
    let (province, platform) = owner_of(row)?;
    policy::authorize(
        &principal.role,
        action,
        Resource::Record(Owner::of(&province, &platform)),
        || not_found(row.enrolment_id),
    )?;
    crate::service::record_province(province.as_str());
    Ok(())
}
