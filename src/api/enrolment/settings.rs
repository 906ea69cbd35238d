//! AdminService.SetBackdatingWindow: how far back lifecycle changes may take effect, per province
//! or national default. Lives with enrolments, whose rules use it.
use crate::api::convert::non_empty;
use crate::api::{AppState, Idempotent, require_national_admin};
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::error::{AppResult, Violations};
use crate::pb;

pub async fn set_backdating_window(
    state: &AppState,
    principal: &Principal,
    request: pb::SetBackdatingWindowRequest,
) -> AppResult<pb::BackdatingWindow> {
    require_national_admin(principal)?;
    // An upsert: repeating it is harmless, so the request_id is only checked.
    Idempotent::new(
        principal,
        "SetBackdatingWindow",
        &request.request_id,
        &request,
    )?;
    let pb::SetBackdatingWindowRequest {
        request_id: _,
        province_code,
        max_backdate_days,
    } = request;
    let mut violations = Violations::new();
    let province = non_empty(&province_code)
        .and_then(|code| violations.check("province_code", ProvinceCode::parse(code)));
    if !(0..=3650).contains(&max_backdate_days) {
        violations.add("max_backdate_days", "must be between 0 and 3650");
    }
    violations.into_result()?;
    let key = province
        .as_ref()
        .map_or(crate::domain::lifecycle::NATIONAL_DEFAULT, |p| p.as_str());
    crate::store::lifecycle::set_max_backdate_days(
        &state.pool,
        key,
        max_backdate_days,
        state.clock.now(),
    )
    .await?;
    Ok(pb::BackdatingWindow {
        province_code: province.map(|p| p.to_string()).unwrap_or_default(),
        max_backdate_days,
    })
}
