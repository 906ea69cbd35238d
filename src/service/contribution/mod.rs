//! Contributions of occupational-injury protection: order ingest, coverage, declarations,
//! statements, payments and arrears.
pub mod coverage;
pub mod declarations;
mod events;
pub mod orders;
pub mod payments;

use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::platform::PlatformId;
use crate::error::AppResult;

/// The caller's own platform, when the caller is a platform: fills "whose" in commands that
/// default to the caller (it decides nothing; the policy does).
pub fn own_platform(principal: &Principal) -> Option<&PlatformId> {
    principal.role.platform()
}

/// A province code read back from the database.
pub(crate) fn stored_province(code: &str) -> AppResult<ProvinceCode> {
    ProvinceCode::parse(code)
        .map_err(|invalid| anyhow::anyhow!("stored province code: {invalid}").into())
}

/// A platform id read back from the database.
pub(crate) fn stored_platform(id: &str) -> AppResult<PlatformId> {
    PlatformId::parse(id).map_err(|invalid| anyhow::anyhow!("stored platform id: {invalid}").into())
}
