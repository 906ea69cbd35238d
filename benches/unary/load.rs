//! Closed-loop callers: each sends its next call as soon as the previous one answers.
use crate::support::{Server, authed, enrol_request, id_number, percentile};
use flexcover::pb;
use flexcover::pb::contribution_service_client::ContributionServiceClient;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Connections the callers share, as a platform backend's client pool would.
const CONNECTIONS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Health,
    GetRate,
    CheckCoverage,
    EnrolWorker,
}

impl Call {
    pub fn name(self) -> &'static str {
        match self {
            Call::Health => "health",
            Call::GetRate => "GetRate",
            Call::CheckCoverage => "CheckCoverage",
            Call::EnrolWorker => "EnrolWorker",
        }
    }
}

pub struct Target {
    channels: Vec<Channel>,
    token: String,
    /// Workers from this one on are this target's.
    first_worker: u64,
    /// Workers enrolled so far: worker first_worker + n for n below it is enrolled.
    enrolled: AtomicU64,
}

impl Target {
    pub async fn new(server: &Server, token: String, first_worker: u64) -> Arc<Self> {
        let mut channels = vec![server.channel.clone()];
        while channels.len() < CONNECTIONS {
            channels.push(server.reconnect().await);
        }
        Arc::new(Self {
            channels,
            token,
            first_worker,
            enrolled: AtomicU64::new(0),
        })
    }

    fn channel(&self, caller: usize) -> Channel {
        self.channels[caller % self.channels.len()].clone()
    }
}

/// Sends one call; true when it succeeded.
pub async fn one_call(target: &Target, call: Call, caller: usize) -> bool {
    let channel = target.channel(caller);
    let token = &target.token;
    match call {
        Call::Health => HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .is_ok(),
        Call::GetRate => ContributionServiceClient::new(channel)
            .get_rate(authed(
                pb::GetRateRequest {
                    province_code: "44".into(),
                    platform_id: String::new(),
                    industry: pb::Industry::InstantDelivery as i32,
                    at: None,
                },
                token,
            ))
            .await
            .is_ok(),
        Call::CheckCoverage => {
            let enrolled = target.enrolled.load(Ordering::Relaxed).max(1);
            let n = target.first_worker + rand::random_range(0..enrolled);
            ContributionServiceClient::new(channel)
                .check_coverage(authed(
                    pb::CheckCoverageRequest {
                        worker: Some(pb::check_coverage_request::Worker::IdNumber(id_number(n))),
                        platform_id: String::new(),
                        at: None,
                    },
                    token,
                ))
                .await
                .is_ok()
        }
        Call::EnrolWorker => {
            let n = target.first_worker + target.enrolled.fetch_add(1, Ordering::Relaxed);
            EnrolmentServiceClient::new(channel)
                .enrol_worker(authed(enrol_request("unary", n), token))
                .await
                .is_ok()
        }
    }
}

/// Enrols `count` more workers, 16 at a time.
pub async fn enrol_workers(target: &Arc<Target>, count: u64) {
    let goal = target.enrolled.load(Ordering::Relaxed) + count;
    let tasks: Vec<_> = (0..16)
        .map(|caller| {
            let target = Arc::clone(target);
            tokio::spawn(async move {
                while target.enrolled.load(Ordering::Relaxed) < goal {
                    assert!(one_call(&target, Call::EnrolWorker, caller).await, "enrol");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("enrolling task");
    }
}

/// Calls answered per second with latencies, over a closed loop.
pub struct Measure {
    pub calls: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Measure {
    pub fn rate(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }
}

impl std::fmt::Display for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            self.rate(),
            self.p50.as_secs_f64() * 1000.0,
            self.p99.as_secs_f64() * 1000.0,
            self.errors
        )
    }
}

/// `concurrency` callers for `run_for`.
pub async fn closed_loop(
    target: &Arc<Target>,
    call: Call,
    concurrency: usize,
    run_for: Duration,
) -> Measure {
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|caller| {
            let target = Arc::clone(target);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while started.elapsed() < run_for {
                    let sent = Instant::now();
                    if one_call(&target, call, caller).await {
                        latencies.push(sent.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (mine, failed) = task.await.expect("caller task");
        latencies.extend(mine);
        errors += failed;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let (p50, p99) = if latencies.is_empty() {
        (Duration::ZERO, Duration::ZERO)
    } else {
        (percentile(&latencies, 0.50), percentile(&latencies, 0.99))
    };
    Measure {
        calls: latencies.len(),
        errors,
        elapsed,
        p50,
        p99,
    }
}
