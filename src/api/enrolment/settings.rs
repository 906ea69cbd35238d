//! AdminService.SetBackdatingWindow, which AdminService delegates here: the enrolment windows live
//! with enrolments, whose rules use them.
use crate::api::AppState;
use crate::auth::Principal;
use crate::error::AppResult;
use crate::pb;
use crate::service::enrolment::settings::{self, SetWindows};

pub async fn set_backdating_window(
    state: &AppState,
    principal: &Principal,
    request: pb::SetBackdatingWindowRequest,
) -> AppResult<pb::BackdatingWindow> {
    let command = SetWindows::try_from(request)?;
    settings::set_windows::<pb::BackdatingWindow>(state, principal, command).await
}
