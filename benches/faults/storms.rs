//! Scenarios 4–5: callers that give up, and more callers than the server admits.
use crate::Mode;
use crate::processes::{Serve, TempDir, lazy_channel, serving, wait_serving};
use crate::report::{Row, Tally, millis};
use crate::support::{authed, percentile};
use crate::writers::{Load, enrolment, verify};
use flexcover::pb;
use flexcover::pb::contribution_service_client::ContributionServiceClient;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

const IMPATIENT: u64 = 80;
const NORMAL: u64 = 20;
/// Impatient callers enrol workers numbered from here (the normal writers' range lies below).
const IMPATIENT_WORKERS: u64 = 3_000_000;

/// A started embedded serve, SERVING, with a token for `platform`.
async fn started(name: &str, env: &[(&str, &str)]) -> (TempDir, Serve, String) {
    let dir = TempDir::new(name);
    let mut serve = Serve::embedded(&dir.0, env);
    let health = lazy_channel(&serve.endpoint());
    wait_serving(&mut serve, &health, Duration::from_secs(120)).await;
    let token = serve.platform_token();
    (dir, serve, token)
}

/// Scenario 4: 80 callers with 5–80 ms deadlines beside 20 normal writers: the normal ones never
/// fail.
pub async fn cancellation_storm(mode: Mode) -> Row {
    let (_dir, mut serve, token) = started("storm", &[]).await;
    // The impatient callers enrol as another platform, so the normal writers' listing holds
    // exactly their own enrolments.
    let impatient_token = serve.admin(&["create-token", "--role", "platform:eleme"]);
    let storm = Duration::from_secs(if mode.short { 6 } else { 30 });
    let normal = Load::start(&serve.endpoint(), &token, NORMAL, "storm-normal");
    let impatient_tally = Arc::new(Tally::default());
    let deadline = Instant::now() + storm;
    let callers: Vec<_> = (0..IMPATIENT)
        .map(|caller| {
            let client = EnrolmentServiceClient::new(lazy_channel(&serve.endpoint()));
            let (token, tally) = (impatient_token.clone(), Arc::clone(&impatient_tally));
            tokio::spawn(impatient_caller(client, token, tally, caller, deadline))
        })
        .collect();
    for caller in callers {
        caller.await.expect("impatient caller");
    }
    let ledger = normal.finish().await;
    let acknowledged = ledger.acknowledged.lock().expect("ledger").clone();
    let verdict = verify(lazy_channel(&serve.endpoint()), &token, &acknowledged).await;
    // The normal writers retry, so their tally counts every failed attempt.
    let normal_failures = ledger.tally.total();
    let mut row = Row {
        scenario: "4. cancellation storm".to_owned(),
        acknowledged: Some(acknowledged.len() as u64),
        lost: Some(verdict.lost),
        duplicates: Some(verdict.duplicates),
        internal: ledger.tally.internal() + impatient_tally.internal(),
        others: format!("impatient: {}", impatient_tally.others()),
        notes: format!(
            "{IMPATIENT} impatient + {NORMAL} normal callers for {} s; \
             normal callers' failures: {normal_failures} ({})",
            storm.as_secs(),
            ledger.tally.others()
        ),
        ..Row::default()
    };
    row.check_common(&ledger.tally);
    row.check_common(&impatient_tally);
    row.require_zero("normal callers' failed calls", normal_failures);
    serve.stop();
    row
}

async fn impatient_caller(
    mut client: EnrolmentServiceClient<Channel>,
    token: String,
    tally: Arc<Tally>,
    caller: u64,
    deadline: Instant,
) {
    let first = IMPATIENT_WORKERS + caller * 50_000;
    for n in first.. {
        if Instant::now() > deadline {
            return;
        }
        let mut request = authed(enrolment(&format!("impatient-{caller}"), n), &token);
        request.set_timeout(Duration::from_millis(rand::random_range(5..=80)));
        if let Err(status) = client.enrol_worker(request).await {
            tally.failed(&status);
        }
    }
}

/// Latencies of successful calls and the failures of the rest.
#[derive(Default)]
struct Calls {
    admitted: Mutex<Vec<Duration>>,
    tally: Tally,
}

impl Calls {
    fn admitted(&self) -> Vec<Duration> {
        let mut latencies = self.admitted.lock().expect("calls").clone();
        latencies.sort();
        latencies
    }

    fn shed(&self) -> u64 {
        self.tally.count("ResourceExhausted")
    }

    fn shed_rate(&self) -> f64 {
        let total = self.admitted.lock().expect("calls").len() as u64 + self.tally.total();
        self.shed() as f64 / total.max(1) as f64
    }
}

/// One call of the overload mix: every other call a CheckCoverage (a cheap read), the rest
/// EnrolWorker for a fresh worker.
async fn one_call(channel: &Channel, token: &str, worker: u64, deadline: Duration, calls: &Calls) {
    let started = Instant::now();
    let answer = if worker.is_multiple_of(2) {
        let mut request = authed(
            pb::CheckCoverageRequest {
                worker: Some(pb::check_coverage_request::Worker::IdNumber(
                    crate::support::id_number(worker),
                )),
                platform_id: String::new(),
                at: None,
            },
            token,
        );
        request.set_timeout(deadline);
        ContributionServiceClient::new(channel.clone())
            .check_coverage(request)
            .await
            .map(drop)
    } else {
        let mut request = authed(enrolment("overload", worker), token);
        request.set_timeout(deadline);
        EnrolmentServiceClient::new(channel.clone())
            .enrol_worker(request)
            .await
            .map(drop)
    };
    match answer {
        Ok(()) => calls
            .admitted
            .lock()
            .expect("calls")
            .push(started.elapsed()),
        Err(status) => {
            calls.tally.failed(&status);
        }
    }
}

/// Health checks every 50 ms until `until`: (latencies sorted, checks that were not SERVING).
async fn probe_health(channel: Channel, until: Instant) -> (Vec<Duration>, u64) {
    let (mut latencies, mut not_serving) = (Vec::new(), 0);
    while Instant::now() < until {
        let started = Instant::now();
        if !serving(&channel).await {
            not_serving += 1;
        }
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort();
    (latencies, not_serving)
}

/// `callers` callers on 20 connections, each calling back to back until `until` (pausing 100 ms
/// after a shed, as a polite client does).
async fn closed_loop(serve: &Serve, token: &str, callers: u64, until: Instant, calls: Arc<Calls>) {
    let channels: Vec<Channel> = (0..20).map(|_| lazy_channel(&serve.endpoint())).collect();
    let tasks: Vec<_> = (0..callers)
        .map(|caller| {
            let channel = channels[caller as usize % channels.len()].clone();
            let (token, calls) = (token.to_owned(), Arc::clone(&calls));
            tokio::spawn(async move {
                for n in 0.. {
                    if Instant::now() > until {
                        return;
                    }
                    let worker = caller * 5_000 + n % 5_000;
                    let shed_before = calls.shed();
                    one_call(&channel, &token, worker, Duration::from_secs(2), &calls).await;
                    if calls.shed() > shed_before {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("caller");
    }
}

/// Scenario 5: FLEXCOVER_MAX_CONCURRENT_REQUESTS=16: (a) a crowd of callers with 2 s deadlines
/// while health is probed; (b) a closed loop at 5× the limit.
pub async fn overload(mode: Mode) -> Row {
    let env = [("FLEXCOVER_MAX_CONCURRENT_REQUESTS", "16")];
    let (_dir, mut serve, token) = started("overload", &env).await;
    let crowd = if mode.short { 500 } else { 2_000 };
    let phase = Duration::from_secs(if mode.short { 5 } else { 30 });

    let crowd_calls = Arc::new(Calls::default());
    let until = Instant::now() + phase;
    let health = tokio::spawn(probe_health(lazy_channel(&serve.endpoint()), until));
    closed_loop(&serve, &token, crowd, until, Arc::clone(&crowd_calls)).await;
    let (health_latencies, not_serving) = health.await.expect("health probe");

    let loop_calls = Arc::new(Calls::default());
    let started_loop = Instant::now();
    let until = started_loop + phase;
    closed_loop(&serve, &token, 80, until, Arc::clone(&loop_calls)).await;
    let admitted = loop_calls.admitted();
    let seconds = started_loop.elapsed().as_secs_f64();

    let mut row = Row {
        scenario: "5. overload (limit 16)".to_owned(),
        internal: crowd_calls.tally.internal() + loop_calls.tally.internal(),
        others: format!(
            "(a) {}; (b) {}",
            crowd_calls.tally.others(),
            loop_calls.tally.others()
        ),
        notes: format!(
            "(a) {crowd} callers {} s: {} admitted, shed {:.1}%, health p50 {} p99 {} max {} \
             ({} checks, {not_serving} not SERVING); \
             (b) 80 callers {} s: {:.0} admitted/s, admitted p50 {} p99 {}, shed {:.1}%",
            phase.as_secs(),
            crowd_calls.admitted().len(),
            crowd_calls.shed_rate() * 100.0,
            millis(percentile(&health_latencies, 0.5)),
            millis(percentile(&health_latencies, 0.99)),
            millis(*health_latencies.last().expect("health checks")),
            health_latencies.len(),
            phase.as_secs(),
            admitted.len() as f64 / seconds,
            millis(percentile(&admitted, 0.5)),
            millis(percentile(&admitted, 0.99)),
            loop_calls.shed_rate() * 100.0,
        ),
        ..Row::default()
    };
    row.check_common(&crowd_calls.tally);
    row.check_common(&loop_calls.tally);
    serve.stop();
    row
}
