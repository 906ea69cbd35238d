//! The background sequencer: numbers committed events per province. Every replica runs one; the
//! advisory lock lets one work at a time, and if its process dies the lock goes with its
//! connection, so another replica's next pass takes over.
use crate::domain::clock::Clock;
use crate::store::federation::{self, Pass};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// How often an idle sequencer looks for newly committed events: the floor of commit-to-subscriber
/// latency. An idle pass reads three rows and writes nothing.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// One pass in its own transaction.
pub async fn pass(pool: &PgPool, clock: &dyn Clock) -> crate::error::AppResult<Pass> {
    let mut tx = crate::store::Tx::new(pool.begin().await?);
    let pass = federation::sequence_pass(&mut tx, clock.now()).await?;
    tx.commit().await?;
    Ok(pass)
}

/// Runs passes until the process ends: straight away while a pass leaves more ready, else every
/// INTERVAL. Errors are logged and retried.
pub async fn run(pool: PgPool, clock: Arc<dyn Clock>) {
    loop {
        match pass(&pool, clock.as_ref()).await {
            Ok(done) if done.more => continue,
            Ok(done) => {
                if done.numbered > 0 {
                    tracing::debug!(numbered = done.numbered, "sequencer pass");
                }
            }
            Err(error) => tracing::warn!(%error, "sequencer pass failed; retrying"),
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Bumps `numbered` on every notification the sequencer sends (from any replica). Reconnects after
/// a failure; followers also poll, so a lost notification only delays them.
pub async fn listen(pool: PgPool, numbered: tokio::sync::watch::Sender<u64>) {
    loop {
        let listening = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(federation::CHANNEL).await?;
            loop {
                listener.recv().await?;
                numbered.send_modify(|n| *n = n.wrapping_add(1));
            }
        };
        let Err(error): Result<std::convert::Infallible, sqlx::Error> = listening.await;
        tracing::warn!(%error, "listening for numbered events failed; reconnecting");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
