//! Scenario 6 (issue #17): PostgreSQL failover under Patroni. `flexcover serve` reaches the
//! cluster through HAProxy while writers enrol; the primary's postmaster is killed (Patroni
//! restarts or replaces it), then the primary's Patroni (the synchronous standby is promoted once
//! the leader key expires; the killed node rejoins as a standby). Afterwards: every acknowledged
//! write once, the province's chain unchanged up to where it stood and numbered on to the end,
//! and requests answered before the faults replayed with the same answer by the new primary.
use crate::patroni::PatroniCluster;
use crate::processes::{Serve, lazy_channel, wait_serving};
use crate::report::Row;
use crate::support::authed;
use crate::writers::{Load, enrolment, verify};
use crate::{Mode, WRITERS};
use flexcover::pb;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use flexcover::pb::federation_service_client::FederationServiceClient;
use std::time::{Duration, Instant};

/// Requests answered before the faults, sent again after them.
const PROBES: u64 = 20;

#[derive(Debug, Clone, Copy)]
enum Fault {
    Postmaster,
    Patroni,
}

pub async fn patroni_failover(mode: Mode) -> Row {
    let scenario = "6. Patroni failover";
    let cluster = match PatroniCluster::start().await {
        Ok(cluster) => cluster,
        Err(why) => {
            println!("scenario 6 skipped: {why}");
            return Row {
                scenario: scenario.to_owned(),
                notes: format!("skipped: {why}"),
                ..Row::default()
            };
        }
    };
    let url = crate::support::fresh_database(&cluster.admin_url(), "flexcover_failover").await;
    let mut serve = Serve::external(&url, cluster.log_dir());
    let health = lazy_channel(&serve.endpoint());
    wait_serving(&mut serve, &health, Duration::from_secs(120)).await;
    let token = serve.platform_token();
    let agency = serve.admin(&["create-token", "--role", "province:44"]);
    let channel = lazy_channel(&serve.endpoint());
    let probes = answered_probes(&channel, &token).await;
    let before = settled_digest(&channel, &agency).await;

    let load = Load::start(&serve.endpoint(), &token, WRITERS, scenario);
    let rounds = if mode.short { 1 } else { 3 };
    let mut faults = Vec::new();
    let mut violations = Vec::new();
    for fault in [Fault::Postmaster, Fault::Patroni].repeat(rounds) {
        tokio::time::sleep(Duration::from_millis(rand::random_range(2_000..4_000))).await;
        if let Err(why) = cluster.wait_synchronous(Duration::from_secs(60)).await {
            violations.push(format!("before {fault:?}: {why}"));
            break;
        }
        let Some(leader) = cluster.leader().await else {
            violations.push(format!("before {fault:?}: no primary behind HAProxy"));
            break;
        };
        let at = Instant::now();
        let pid = match fault {
            Fault::Postmaster => cluster.postmaster_pid(leader),
            Fault::Patroni => cluster.patroni_pid(leader),
        };
        let Some(pid) = pid else {
            violations.push(format!("{fault:?}: no pid for node {}", leader + 1));
            break;
        };
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let successor = match recovered(&cluster, &load, fault, leader, at).await {
            Ok(primary) => primary,
            Err(why) => {
                violations.push(format!("{fault:?} of node {}: {why}", leader + 1));
                break;
            }
        };
        if matches!(fault, Fault::Patroni) {
            // The synchronous standby took over; the killed node rejoins as a standby.
            cluster.rejoin(leader);
        }
        faults.push((fault, leader, successor, at));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ledger = load.finish().await;
    let mut acknowledged = ledger.acknowledged.lock().expect("ledger").clone();
    let writes = acknowledged.len();
    acknowledged.extend(probes.iter().map(|(request, enrolment_id)| {
        let id_number = request.worker.as_ref().map(|w| w.id_number.clone());
        (id_number.unwrap_or_default(), enrolment_id.clone())
    }));
    let verdict = verify(channel.clone(), &token, &acknowledged).await;
    let pauses = {
        let times = ledger.acknowledged_at.lock().expect("ledger");
        faults
            .iter()
            .map(|(_, _, _, at)| longest_pause(&times, *at))
            .collect::<Vec<f64>>()
    };
    let replayed_differently = replay_probes(&channel, &token, &probes).await;
    let after = settled_digest(&channel, &agency).await;
    let prefix = digest(&channel, &agency, before.head_seq).await;

    let mut row = Row {
        scenario: scenario.to_owned(),
        acknowledged: Some(writes as u64),
        lost: Some(verdict.lost),
        duplicates: Some(verdict.duplicates),
        internal: ledger.tally.internal(),
        others: ledger.tally.others(),
        seconds_to_serving: pauses.clone(),
        notes: format!(
            "{} faults ({}), {WRITERS} writers; seconds column: the longest pause in \
             acknowledged writes after each fault; chain: seq {} kept its hash, head {} → {}; \
             {PROBES} earlier requests replayed",
            faults.len(),
            faults
                .iter()
                .zip(&pauses)
                .map(|((fault, node, successor, _), pause)| {
                    format!(
                        "{fault:?} of node {} → primary node {}, {pause:.1} s",
                        node + 1,
                        successor + 1
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            before.head_seq,
            before.head_seq,
            after.head_seq,
        ),
        violations,
    };
    row.check_common(&ledger.tally);
    if ledger.tally.internal() > 0 {
        eprintln!("serve's log ends:\n{}", serve.log_tail());
    }
    row.require_zero(
        "calls never answered",
        ledger.unresolved.load(std::sync::atomic::Ordering::Relaxed),
    );
    row.require_zero("replays that answered differently", replayed_differently);
    if prefix.chain_hash != before.head_hash {
        row.violations
            .push(format!("the chain changed at seq {}", before.head_seq));
    }
    // One event per enrolment: the sequencer numbered every acknowledged write on the new primary.
    let expected = before.head_seq + writes as i64;
    if after.head_seq != expected {
        row.violations.push(format!(
            "head seq {} after the faults, expected {expected}",
            after.head_seq
        ));
    }
    row.require_zero("serve exited by itself", u64::from(serve.exited()));
    serve.stop();
    row
}

/// Waits until a primary answers behind HAProxy (after the death of a Patroni, another node than
/// `leader`) and the writers have been acknowledged through it; returns that primary.
async fn recovered(
    cluster: &PatroniCluster,
    load: &Load,
    fault: Fault,
    leader: usize,
    at: Instant,
) -> Result<usize, String> {
    let limit = Duration::from_secs(120);
    let acknowledged_since = |since: Instant| {
        let times = load.ledger.acknowledged_at.lock().expect("ledger");
        times.iter().filter(|t| **t > since).count() as u64
    };
    loop {
        if at.elapsed() > limit {
            return Err(format!("no primary took writes within {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Some(primary) = cluster.leader().await else {
            continue;
        };
        if matches!(fault, Fault::Patroni) && primary == leader {
            continue;
        }
        let found = Instant::now();
        while at.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if acknowledged_since(found) >= WRITERS * 2 {
                return Ok(primary);
            }
        }
    }
}

/// The longest gap between acknowledged writes in the minute after `at`, counting from `at`.
fn longest_pause(times: &[Instant], at: Instant) -> f64 {
    let window: Vec<Instant> = times
        .iter()
        .copied()
        .filter(|t| *t > at && *t < at + Duration::from_secs(60))
        .collect();
    let mut previous = at;
    let mut longest = Duration::ZERO;
    for t in window {
        longest = longest.max(t.duration_since(previous));
        previous = t;
    }
    longest.as_secs_f64()
}

async fn answered_probes(
    channel: &tonic::transport::Channel,
    token: &str,
) -> Vec<(pb::EnrolWorkerRequest, String)> {
    let mut client = EnrolmentServiceClient::new(channel.clone());
    let mut answered = Vec::new();
    for n in 0..PROBES {
        // Worker numbers far from the writers' ranges.
        let request = enrolment("probe", 5_000_000 + n);
        let answer = client
            .enrol_worker(authed(request.clone(), token))
            .await
            .expect("a probe before the faults");
        let enrolment_id = answer
            .into_inner()
            .enrolment
            .expect("enrolment")
            .enrolment_id;
        answered.push((request, enrolment_id));
    }
    answered
}

/// How many probes, sent again with the same request_id, got another answer than the first.
async fn replay_probes(
    channel: &tonic::transport::Channel,
    token: &str,
    probes: &[(pb::EnrolWorkerRequest, String)],
) -> u64 {
    let mut client = EnrolmentServiceClient::new(channel.clone());
    let mut different = 0;
    for (request, first) in probes {
        let again = client
            .enrol_worker(authed(request.clone(), token))
            .await
            .ok()
            .and_then(|answer| answer.into_inner().enrolment)
            .map(|enrolment| enrolment.enrolment_id);
        if again.as_ref() != Some(first) {
            different += 1;
        }
    }
    different
}

async fn digest(channel: &tonic::transport::Channel, token: &str, seq: i64) -> pb::Digest {
    let mut client = FederationServiceClient::new(channel.clone());
    for _ in 0..100 {
        let request = pb::GetDigestRequest {
            province_code: "44".into(),
            seq,
        };
        if let Ok(answer) = client.get_digest(authed(request, token)).await {
            return answer.into_inner();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("GetDigest failed 100 times")
}

/// The head once the sequencer has numbered everything (unchanged for two seconds).
async fn settled_digest(channel: &tonic::transport::Channel, token: &str) -> pb::Digest {
    let mut last = digest(channel, token, 0).await;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = digest(channel, token, 0).await;
        if now.head_seq == last.head_seq {
            return now;
        }
        last = now;
    }
}
