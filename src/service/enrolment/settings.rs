//! The enrolment windows (AdminService.SetBackdatingWindow): how far back a lifecycle change may
//! take effect and how far ahead a cover may start, per province or as the national default.
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::error::AppResult;
use crate::policy::{self, Action, Owner};
use crate::service::{AppState, Idempotent, RequestKey};
use crate::store::lifecycle;
use prost::Message;

/// The bounds of both windows, in days.
pub const MAX_WINDOW_DAYS: i32 = 3650;

/// Set a province's windows, or the national defaults with no province.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetWindows {
    pub key: RequestKey,
    pub province: Option<ProvinceCode>,
    /// 0 to [`MAX_WINDOW_DAYS`].
    pub max_backdate_days: i32,
    /// 0 to [`MAX_WINDOW_DAYS`]; `None` leaves it as it is.
    pub max_cover_start_days_ahead: Option<i32>,
}

/// The windows of a province (or the national defaults) after a change: the cover-start window in
/// force, its own or the national default.
pub struct Windows {
    pub province: Option<ProvinceCode>,
    pub max_backdate_days: i32,
    pub max_cover_start_days_ahead: i64,
}

pub async fn set_windows<R>(
    state: &AppState,
    principal: &Principal,
    command: SetWindows,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a Windows>,
{
    policy::authorize_scope(&principal.role, Action::Administer, Owner::NATIONAL)?;
    let idempotent = Idempotent::new(principal, "SetBackdatingWindow", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    lifecycle::set_windows(
        &mut tx,
        &lifecycle::Windows {
            province: command.province.as_ref(),
            max_backdate_days: command.max_backdate_days,
            max_cover_start_days_ahead: command.max_cover_start_days_ahead,
            at: state.clock.now(),
        },
    )
    .await?;
    let in_force = lifecycle::cover_start_windows(&mut *tx).await?;
    let answer = Windows {
        max_cover_start_days_ahead: in_force.days_ahead(command.province.as_ref()),
        province: command.province,
        max_backdate_days: command.max_backdate_days,
    };
    let reply = R::from(&answer);
    idempotent.commit(state, tx, &reply).await?;
    state.cache.forget("enrolment_policy");
    tracing::info!("enrolment windows set");
    Ok(reply)
}
