//! Keeps findings current: a refresh reads what a province's facts show today, reconciles it with
//! the findings kept (`domain::supervision::reconcile`), and writes the changes with their events
//! in one transaction. Idempotent: a second refresh with the same facts and day changes nothing.
//!
//! Why on read and periodically rather than on write: most findings change with the calendar
//! alone (a due date passes, arrears age), so no write could keep them current; and deriving them
//! on the order path would cost every chunk. Reads refresh the provinces they read, so an answer
//! is never older than the facts; the background task makes the events flow without readers.
use super::events;
use crate::domain::clock::china_date;
use crate::domain::supervision::reconcile;
use crate::error::AppResult;
use crate::service::AppState;
use crate::store::supervision as store;
use std::time::Duration;

/// Refreshes one province's findings; returns how many changed.
pub async fn province(state: &AppState, province_code: &str) -> AppResult<usize> {
    let now = state.clock.now();
    let today = china_date(now);
    let mut tx = crate::service::begin(state).await?;
    store::lock_province(&mut tx, province_code).await?;
    let kept = store::kept(&mut tx, province_code).await?;
    let observed = store::observe(&mut tx, province_code, today).await?;
    let changes = reconcile(province_code, kept, observed, now);
    store::write(&mut tx, &changes).await?;
    let changed = events::changed(&changes, now);
    crate::store::events::append_many(&mut tx, &changed).await?;
    tx.commit().await?;
    Ok(changes.len())
}

/// Refreshes every province with facts (a national reader's view, and the background task).
pub async fn every_province(state: &AppState) -> AppResult<usize> {
    let mut changed = 0;
    for province_code in store::provinces(&state.pool).await? {
        changed += province(state, &province_code).await?;
    }
    Ok(changed)
}

/// Refreshes every province each `interval`, until the task is dropped. A failed pass is logged
/// and the next one tries again.
pub async fn run(state: AppState, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        match every_province(&state).await {
            Ok(0) => {}
            Ok(changed) => tracing::info!(changed, "supervision findings refreshed"),
            Err(error) => tracing::warn!(error = %error, "refreshing supervision findings failed"),
        }
    }
}
