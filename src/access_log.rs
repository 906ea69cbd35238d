//! The person access log (PIPL), written in groups: a lookup by full ID number answers only once
//! its log row is durable, but rows from concurrent lookups share one insert and one commit, so
//! each waits for one WAL flush shared with the others instead of one of its own.
//!
//! Callers hand their row to [`AccessLog::record`] and wait. One task collects rows: while up to
//! `IN_FLIGHT` groups are being written, newly arrived rows queue and go in the next group (no
//! timer: a lone caller's row is written at once). A group that cannot be written fails every
//! lookup in it with UNAVAILABLE: nothing is answered unlogged.
use crate::error::{AppError, AppResult};
use crate::store::access_log::{self, Access, AccessRow};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Rows in one insert, at most.
const MAX_GROUP: usize = 512;
/// Groups being written at once.
const IN_FLIGHT: usize = 4;
/// Rows waiting for a group, at most; beyond it callers wait to hand theirs over.
const QUEUE: usize = 8 * MAX_GROUP;

struct Pending {
    row: AccessRow,
    written: oneshot::Sender<bool>,
}

/// The handle lookups log through; the writer task ends when the last handle is dropped.
#[derive(Clone)]
pub struct AccessLog {
    sender: mpsc::Sender<Pending>,
}

fn not_logged() -> AppError {
    AppError::Unavailable(
        "the access log cannot be written right now, so the lookup was not answered; retry later"
            .into(),
    )
}

impl AccessLog {
    /// Starts the writer on the current runtime, with connections of its own to the database of
    /// `pool`: callers wait for their rows while holding connections of the service's pool, so a
    /// writer that drew from it could wait behind them.
    pub fn start(pool: &PgPool) -> Self {
        let own = PgPoolOptions::new()
            .max_connections(IN_FLIGHT as u32)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(pool.connect_options().as_ref().clone());
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_groups(own, receiver));
        Self { sender }
    }

    /// Logs a lookup that found `results` records; returns once the row is durable.
    pub async fn record(&self, access: &Access<'_>, results: i32) -> AppResult<()> {
        let (written, answer) = oneshot::channel();
        let row = AccessRow::new(access, results);
        self.sender
            .send(Pending { row, written })
            .await
            .map_err(|_| not_logged())?;
        match answer.await {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => Err(not_logged()),
        }
    }
}

async fn write_groups(pool: PgPool, mut receiver: mpsc::Receiver<Pending>) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        let Some(first) = receiver.recv().await else {
            return;
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(pending) => group.push(pending),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            let rows: Vec<&AccessRow> = group.iter().map(|pending| &pending.row).collect();
            let written = match access_log::insert_group(&pool, &rows).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, rows = group.len(), "writing access-log rows failed; their lookups are refused");
                    false
                }
            };
            drop(rows);
            for pending in group {
                let _ = pending.written.send(written);
            }
            drop(permit);
        });
    }
}
