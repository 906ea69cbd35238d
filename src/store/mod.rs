//! PostgreSQL access, one module per aggregate. Each write function takes the caller's transaction,
//! so the write, its event and its idempotency record commit together or not at all.
pub mod access_log;
pub mod claim_reference;
pub mod claims;
pub mod codes;
pub mod coverage;
pub mod declarations;
pub mod enrolment_writes;
pub mod enrolments;
pub mod event_retention;
pub mod events;
pub mod federation;
pub mod idempotency;
pub mod lifecycle;
pub mod order_partitions;
pub mod orders;
pub mod payments;
pub mod pension;
pub mod periodic;
pub mod persons;
pub mod pilot_scope;
pub mod platforms;
pub mod publication;
pub mod rates;
pub mod rebase;
pub mod retention;
pub mod sealed;
pub mod shortfalls;
pub mod supervision;
pub mod supervision_reads;
pub mod tokens;

use crate::error::AppResult;
use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

mod tx;
pub use tx::Tx;

/// One array parameter of a set-based statement: `value` of the items at `which`, in that order
/// (the order rows are written in, and the order `WITH ORDINALITY` numbers them).
pub(crate) fn column<'a, T, U>(
    items: &'a [T],
    which: &[usize],
    value: impl Fn(&'a T) -> U,
) -> Vec<U> {
    which.iter().map(|&i| value(&items[i])).collect()
}

pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .context("parsing the database URL")?
        // The set-based writes plan thousands of rows at a time, which crosses the JIT threshold:
        // compiling took longer than running them (18 ms of 55 ms for a chunk of orders). Every
        // query here is short OLTP work.
        .options([("jit", "off")]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        // A ping before every acquire was a round trip per call; only a connection idle for a
        // while is pinged (a broken busy one fails its call with UNAVAILABLE, and is replaced).
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > Duration::from_secs(1) {
                    use sqlx::Connection;
                    return Ok(connection.ping().await.is_ok());
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .context("connecting to PostgreSQL")
}

/// For the rest of the transaction, run prepared statements on their cached generic plan. PostgreSQL
/// otherwise re-plans a statement on every call when its generic plan merely *looks* dearer (array
/// parameters are guessed at 10 elements): for CheckCoverage that was 0.8 ms of planning per call
/// against 0.2 ms of execution. Only for point lookups whose generic plans are known to be good.
pub async fn reuse_plans(tx: &mut Tx) -> AppResult<()> {
    sqlx::query("SET LOCAL plan_cache_mode = force_generic_plan")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("running database migrations")
}

/// Whether the database answers a trivial query within `timeout`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> bool {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool);
    matches!(tokio::time::timeout(timeout, probe).await, Ok(Ok(1)))
}
