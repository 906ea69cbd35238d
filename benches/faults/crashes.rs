//! Scenarios 1–3: processes die under write load; every acknowledged enrolment must survive once,
//! and health must come back.
use crate::processes::{
    ExternalCluster, Serve, TempDir, lazy_channel, wait_serving, watch_recovery,
};
use crate::report::Row;
use crate::writers::{Load, verify};
use crate::{Mode, WRITERS};
use std::time::{Duration, Instant};

/// A pause of random length while the writers run, so faults land at random points of a call.
async fn let_writers_run() {
    let millis = rand::random_range(1_000..3_000);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// Runs the writers against `serve`, injecting `faults` faults; then verifies what was written.
async fn writes_under_faults(
    scenario: &str,
    serve: &mut Serve,
    faults: usize,
    mut inject: impl FnMut(&mut Serve),
) -> Row {
    let health = lazy_channel(&serve.endpoint());
    wait_serving(serve, &health, Duration::from_secs(120)).await;
    let token = serve.platform_token();
    let load = Load::start(&serve.endpoint(), &token, WRITERS, scenario);
    let (mut seconds, mut unnoticed) = (Vec::new(), 0);
    for _ in 0..faults {
        let_writers_run().await;
        let fault = Instant::now();
        let recovery = tokio::spawn(watch_recovery(health.clone(), fault));
        // Faults block (pg_ctl waits for the restart); keep the runtime's other thread running.
        tokio::task::block_in_place(|| inject(serve));
        match recovery.await.expect("health watch") {
            Ok(Some(recovered)) => seconds.push(recovered),
            Ok(None) => unnoticed += 1,
            Err(why) => panic!("{scenario}: {why}; serve's log ends:\n{}", serve.log_tail()),
        }
    }
    let_writers_run().await;
    let ledger = load.finish().await;
    let acknowledged = ledger.acknowledged.lock().expect("ledger").clone();
    let verdict = verify(lazy_channel(&serve.endpoint()), &token, &acknowledged).await;
    let unresolved = ledger.unresolved.load(std::sync::atomic::Ordering::Relaxed);
    let mut row = Row {
        scenario: scenario.to_owned(),
        acknowledged: Some(acknowledged.len() as u64),
        lost: Some(verdict.lost),
        duplicates: Some(verdict.duplicates),
        internal: ledger.tally.internal(),
        others: ledger.tally.others(),
        seconds_to_serving: seconds,
        notes: format!(
            "{faults} faults, {WRITERS} writers; health never left SERVING for {unnoticed} of them"
        ),
        ..Row::default()
    };
    row.check_common(&ledger.tally);
    row.require_zero("calls never answered", unresolved);
    if acknowledged.is_empty() {
        row.violations
            .push("no write was acknowledged: the load did not run".into());
    }
    // Only scenario 1 kills serve, and it restarts it at once: serve must outlive every fault.
    row.require_zero("serve exited by itself", u64::from(serve.exited()));
    serve.stop();
    row
}

/// Scenario 1: SIGKILL of `flexcover serve`, restarted at once on the same data directory: the
/// new serve must wait out the orphaned postmaster (stopped by its parent-death signal) and start
/// its own.
pub async fn kill_serve(mode: Mode) -> Row {
    let dir = TempDir::new("kill-serve");
    let mut serve = Serve::embedded(&dir.0, &[]);
    let faults = if mode.short { 3 } else { 20 };
    writes_under_faults("1. kill -9 serve", &mut serve, faults, |serve| {
        serve.kill9();
        serve.restart();
    })
    .await
}

/// Scenario 2: SIGKILL of the embedded postmaster: serve's supervisor must start it again by
/// itself.
pub async fn kill_postmaster(mode: Mode) -> Row {
    let dir = TempDir::new("kill-postmaster");
    let mut serve = Serve::embedded(&dir.0, &[]);
    let faults = if mode.short { 2 } else { 10 };
    writes_under_faults("2. kill -9 postmaster", &mut serve, faults, |serve| {
        let pid = serve.postmaster_pid().expect("postmaster.pid");
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    })
    .await
}

/// Scenario 3: `pg_ctl restart -m immediate` of an external PostgreSQL that serve reaches by
/// DATABASE_URL.
pub async fn restart_external(mode: Mode) -> Row {
    let scenario = "3. restart external PostgreSQL";
    let cluster = match ExternalCluster::start() {
        Ok(cluster) => cluster,
        Err(why) => {
            println!("scenario 3 skipped: {why}");
            return Row {
                scenario: scenario.to_owned(),
                notes: format!("skipped: {why}"),
                ..Row::default()
            };
        }
    };
    let url = crate::support::fresh_database(&cluster.admin_url(), "flexcover_faults").await;
    let mut serve = Serve::external(&url, cluster.log_dir());
    let faults = if mode.short { 2 } else { 10 };
    writes_under_faults(scenario, &mut serve, faults, |_| {
        cluster.restart_immediate()
    })
    .await
}
