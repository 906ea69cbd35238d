//! Order ingest with and without refusals for missing cover, in one run on one PostgreSQL: what
//! keeping refusals as facts (issue 18) costs RecordOrders. Short streams of each kind alternate,
//! round after round, and each kind's median is compared: load from elsewhere on the machine falls
//! on every kind alike and a spike moves one round, not the median.
//!
//! `cargo bench --bench supervision -- --workers 100000 --orders 200000 --rounds 7`
#[path = "support.rs"]
mod support;

use flexcover::pb;
use flexcover::pb::contribution_service_client::ContributionServiceClient;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use std::time::Instant;
use support::*;

/// Workers never enrolled, whose orders are refused: ID numbers after the enrolled ones.
const UNENROLLED: u64 = 10_000;

/// The kinds of stream compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// Every order covered: today's path.
    Covered,
    /// One order in ten from an unenrolled worker: every chunk has refusals.
    TenthRefused,
    /// Every order refused.
    AllRefused,
}

impl Mix {
    fn name(self) -> &'static str {
        match self {
            Mix::Covered => "no refusals",
            Mix::TenthRefused => "10% refused",
            Mix::AllRefused => "100% refused",
        }
    }

    fn refused(self, n: u64) -> bool {
        match self {
            Mix::Covered => false,
            Mix::TenthRefused => n % 10 == 3,
            Mix::AllRefused => true,
        }
    }
}

/// Orders spread over October 2026, as in the contributions benchmark.
fn order(stream: &str, n: u64, workers: u64, mix: Mix) -> pb::OrderRecord {
    let start = chrono::DateTime::parse_from_rfc3339("2026-09-30T16:00:00Z")
        .expect("instant")
        .to_utc();
    let accepted = start + chrono::Duration::seconds((n * 7919 % (31 * 86_400)) as i64);
    let worker = if mix.refused(n) {
        workers + n % UNENROLLED
    } else {
        n % workers
    };
    pb::OrderRecord {
        order_id: format!("{stream}-{n}"),
        worker: Some(pb::order_record::Worker::IdNumber(id_number(worker))),
        place_of_employment: "440305".into(),
        industry: pb::Industry::InstantDelivery as i32,
        accepted_at: Some(prost_types::Timestamp {
            seconds: accepted.timestamp(),
            nanos: 0,
        }),
        completed_at: None,
    }
}

/// Streams `orders` orders of `mix` and reads every result; (seconds, accepted, refused).
async fn ingest(
    client: &mut ContributionServiceClient<tonic::transport::Channel>,
    token: &str,
    stream: String,
    orders: u64,
    workers: u64,
    mix: Mix,
) -> (f64, u64, u64) {
    let started = Instant::now();
    let mut results = client
        .record_orders(authed(
            tokio_stream::iter((0..orders).map(move |n| order(&stream, n, workers, mix))),
            token,
        ))
        .await
        .expect("stream")
        .into_inner();
    let (mut accepted, mut refused) = (0_u64, 0_u64);
    while let Some(result) = results.message().await.expect("result") {
        match result.outcome {
            Some(pb::record_orders_result::Outcome::Accepted(_)) => accepted += 1,
            Some(pb::record_orders_result::Outcome::Error(_)) => refused += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    (started.elapsed().as_secs_f64(), accepted, refused)
}

#[tokio::main]
async fn main() {
    let workers: u64 = arg("--workers")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let orders: u64 = arg("--orders")
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let rounds: u64 = arg("--rounds").and_then(|v| v.parse().ok()).unwrap_or(7);
    let (admin_url, embedded) = cluster("supervision").await;
    let url = fresh_database(&admin_url, "flexcover_bench_supervision").await;
    let pool = flexcover::store::connect(&url, 4).await.expect("pool");
    flexcover::seed::seed_pilot(&pool, chrono::Utc::now())
        .await
        .expect("seed pilot");
    flexcover::seed::seed_rates(&pool, chrono::Utc::now())
        .await
        .expect("seed rates");
    let token = token(&url, "platform:meituan").await;
    // The background refresh is not on the ingest path; it stays off so it cannot add noise.
    let server = start_server_with(&url, &[("FLEXCOVER_SUPERVISION_REFRESH_SECS", "0")]).await;

    eprintln!("enrolling {workers} workers");
    let mut enrolments = EnrolmentServiceClient::new(server.channel.clone());
    let mut results = enrolments
        .batch_enrol_workers(authed(
            tokio_stream::iter((0..workers).map(|n| enrol_request("bench-enrol", n))),
            &token,
        ))
        .await
        .expect("stream")
        .into_inner();
    while results.message().await.expect("result").is_some() {}
    settle_after_enrolment(&pool).await;

    let mut contributions = ContributionServiceClient::new(server.channel.clone());
    let mixes = [Mix::Covered, Mix::TenthRefused, Mix::AllRefused];
    let mut rates: Vec<(Mix, Vec<f64>)> = mixes.iter().map(|&m| (m, Vec::new())).collect();
    let mut expected_refused = 0_u64;
    for round in 0..rounds {
        for (i, &mix) in mixes.iter().enumerate() {
            let stream = format!("r{round}m{i}");
            eprintln!("round {round}: {orders} orders, {}", mix.name());
            let (seconds, accepted, refused) =
                ingest(&mut contributions, &token, stream, orders, workers, mix).await;
            let want = (0..orders).filter(|&n| mix.refused(n)).count() as u64;
            assert_eq!((accepted, refused), (orders - want, want), "{mix:?}");
            expected_refused += refused;
            let rate = orders as f64 / seconds;
            eprintln!("  {seconds:.1} s, {rate:.0} orders/s");
            rates[i].1.push(rate);
        }
    }
    server.stop();

    // Every refusal counted once, never charged.
    let (counted, days, worker_rows, orders_rows): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COALESCE(sum(refused_orders), 0)::bigint FROM cover_shortfalls),
                (SELECT count(*) FROM cover_shortfalls),
                (SELECT count(*) FROM cover_shortfall_days),
                (SELECT count(*) FROM orders)",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert_eq!(counted as u64, expected_refused);

    let median = |values: &[f64]| {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
    };
    let baseline = median(&rates[0].1);
    println!(
        "| stream ({orders} orders, {rounds} rounds) | orders/s per round | median | ratio to no refusals |"
    );
    println!("|---|---|---|---|");
    for (mix, values) in &rates {
        let per_round: Vec<String> = values.iter().map(|v| format!("{v:.0}")).collect();
        println!(
            "| {} | {} | {:.0} | {:.2} |",
            mix.name(),
            per_round.join(", "),
            median(values),
            median(values) / baseline
        );
    }
    println!(
        "| kept | {counted} refusals counted in {days} day rows and {worker_rows} worker-day rows; {orders_rows} orders recorded |  |  |"
    );
    pool.close().await;
    finish("supervision", embedded).await;
}
