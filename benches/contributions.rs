//! Contributions at scale, in one run on one PostgreSQL: order ingest through RecordOrders,
//! CheckCoverage throughput and p99 against pgbench selecting the same row, and the month-end
//! declaration built from a month of orders.
//!
//! `cargo bench --bench contributions -- --workers 1000000 --orders 5000000`
#[path = "support.rs"]
mod support;

use flexcover::pb;
use flexcover::pb::contribution_service_client::ContributionServiceClient;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use std::time::Instant;
use support::*;

/// Orders are spread over October 2026 (a whole past month), every worker getting some.
fn order(n: u64, workers: u64) -> pb::OrderRecord {
    let start = chrono::DateTime::parse_from_rfc3339("2026-09-30T16:00:00Z")
        .expect("instant")
        .to_utc();
    let accepted = start + chrono::Duration::seconds((n * 7919 % (31 * 86_400)) as i64);
    pb::OrderRecord {
        order_id: format!("bench-{n}"),
        worker: Some(pb::order_record::Worker::IdNumber(id_number(n % workers))),
        place_of_employment: "440305".into(),
        industry: pb::Industry::InstantDelivery as i32,
        accepted_at: Some(prost_types::Timestamp {
            seconds: accepted.timestamp(),
            nanos: 0,
        }),
        completed_at: None,
    }
}

#[tokio::main]
async fn main() {
    let workers: u64 = arg("--workers")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let orders: u64 = arg("--orders")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000_000);
    let checks: usize = arg("--checks")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let (admin_url, embedded) = cluster("contributions").await;
    let url = fresh_database(&admin_url, "flexcover_bench_contributions").await;
    let pool = flexcover::store::connect(&url, 4).await.expect("pool");
    flexcover::seed::seed_pilot(&pool, chrono::Utc::now())
        .await
        .expect("seed pilot");
    flexcover::seed::seed_rates(&pool, chrono::Utc::now())
        .await
        .expect("seed rates");
    let token = token(&url, "platform:meituan").await;
    let server = start_server(&url).await;
    let pid = server.child.id();

    eprintln!("enrolling {workers} workers");
    let started = Instant::now();
    let mut enrolments = EnrolmentServiceClient::new(server.channel.clone());
    let mut results = enrolments
        .batch_enrol_workers(authed(
            tokio_stream::iter((0..workers).map(|n| enrol_request("bench-enrol", n))),
            &token,
        ))
        .await
        .expect("stream")
        .into_inner();
    let mut first_enrolment = None;
    while let Some(result) = results.message().await.expect("result") {
        if let Some(pb::batch_enrol_result::Outcome::Enrolment(e)) = result.outcome {
            first_enrolment.get_or_insert(e.enrolment_id);
        }
    }
    eprintln!("  {:.1} s", started.elapsed().as_secs_f64());
    // What would otherwise share the two cores with the first minute of ingest: the sequencer
    // numbering the million enrolment events, and autovacuum after the bulk load.
    settle_after_enrolment(&pool).await;

    eprintln!("recording {orders} orders");
    let mut contributions = ContributionServiceClient::new(server.channel.clone());
    let rss_start = rss_kib(pid).unwrap_or(0);
    let mut rss_max = rss_start;
    let started = Instant::now();
    let mut results = contributions
        .record_orders(authed(
            tokio_stream::iter((0..orders).map(move |n| order(n, workers))),
            &token,
        ))
        .await
        .expect("stream")
        .into_inner();
    let (mut accepted, mut seen) = (0_u64, 0_u64);
    while let Some(result) = results.message().await.expect("result") {
        seen += 1;
        if matches!(
            result.outcome,
            Some(pb::record_orders_result::Outcome::Accepted(_))
        ) {
            accepted += 1;
        }
        if seen % 250_000 == 0 {
            let rss = rss_kib(pid).unwrap_or(0);
            rss_max = rss_max.max(rss);
            eprintln!(
                "  {seen} orders, {:.0} orders/s, server RSS {} MiB",
                seen as f64 / started.elapsed().as_secs_f64(),
                rss / 1024
            );
        }
    }
    let ingest_seconds = started.elapsed().as_secs_f64();
    assert_eq!(accepted, orders, "every generated order is valid and new");

    // A reconnect resends what it has no answer for: the first tenth again, all duplicates.
    let resent = orders / 10;
    eprintln!("resending {resent} recorded orders");
    let started = Instant::now();
    let mut results = contributions
        .record_orders(authed(
            tokio_stream::iter((0..resent).map(move |n| order(n, workers))),
            &token,
        ))
        .await
        .expect("stream")
        .into_inner();
    let mut duplicates = 0_u64;
    while let Some(result) = results.message().await.expect("result") {
        if matches!(
            result.outcome,
            Some(pb::record_orders_result::Outcome::DuplicateOrderId(_))
        ) {
            duplicates += 1;
        }
    }
    let resend_seconds = started.elapsed().as_secs_f64();
    assert_eq!(duplicates, resent, "every resent order is a duplicate");

    eprintln!("checking coverage {checks} times, 16 at once");
    let at = prost_types::Timestamp {
        seconds: chrono::DateTime::parse_from_rfc3339("2026-10-15T04:00:00Z")
            .expect("instant")
            .timestamp(),
        nanos: 0,
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for lane in 0..16_u64 {
        let mut client = contributions.clone();
        let (token, at) = (token.clone(), at);
        let per_lane = checks as u64 / 16;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_lane as usize);
            for i in 0..per_lane {
                let worker = (lane * per_lane + i) * 7_919 % workers;
                let request = pb::CheckCoverageRequest {
                    worker: Some(pb::check_coverage_request::Worker::IdNumber(id_number(
                        worker,
                    ))),
                    platform_id: String::new(),
                    at: Some(at),
                };
                let one = Instant::now();
                let answer = client
                    .check_coverage(authed(request, &token))
                    .await
                    .expect("coverage")
                    .into_inner();
                latencies.push(one.elapsed());
                assert!(answer.covered);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("lane"));
    }
    let coverage_seconds = started.elapsed().as_secs_f64();
    latencies.sort();

    // pgbench: the same row, by primary key, 16 clients.
    let enrolment_id = first_enrolment.expect("an enrolment");
    let script = std::env::temp_dir().join(format!("flexcover-pgbench-{}.sql", std::process::id()));
    std::fs::write(&script, format!("SELECT enrolment_id, status, cover_start FROM enrolments WHERE enrolment_id = '{enrolment_id}';\n")).expect("script");
    let log_dir =
        std::env::temp_dir().join(format!("flexcover-pgbench-log-{}", std::process::id()));
    std::fs::create_dir_all(&log_dir).expect("log dir");
    let pgbench = ["/usr/lib/postgresql/15/bin/pgbench", "pgbench"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists() || *p == "pgbench")
        .expect("pgbench");
    let output = std::process::Command::new(pgbench)
        .current_dir(&log_dir)
        .args(["-n", "-c", "16", "-j", "2", "-T", "10", "-l", "-f"])
        .arg(&script)
        .arg(&url)
        .output()
        .expect("run pgbench");
    let report = String::from_utf8_lossy(&output.stdout).to_string();
    let tps = report
        .lines()
        .find(|l| l.starts_with("tps"))
        .unwrap_or("tps = ?")
        .to_owned();
    let mut pg_latencies: Vec<u64> = std::fs::read_dir(&log_dir)
        .expect("logs")
        .flatten()
        .flat_map(|entry| {
            std::fs::read_to_string(entry.path())
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse().ok())
                .collect::<Vec<u64>>()
        })
        .collect();
    pg_latencies.sort();
    let pg_p99 = pg_latencies
        .get(((pg_latencies.len() as f64 - 1.0) * 0.99) as usize)
        .copied()
        .unwrap_or(0);
    let _ = std::fs::remove_dir_all(&log_dir);

    // A month is declared after it ends, when autovacuum has long processed its orders; right
    // after the ingest it is still vacuuming them, alongside the declaration's scan.
    let vacuuming: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_progress_vacuum WHERE relid = 'orders'::regclass",
    )
    .fetch_one(&pool)
    .await
    .expect("vacuum progress");
    let started = Instant::now();
    sqlx::query("VACUUM (ANALYZE) orders")
        .execute(&pool)
        .await
        .expect("vacuum orders");
    eprintln!(
        "  orders vacuumed in {:.1} s (autovacuum was {}at work on them)",
        started.elapsed().as_secs_f64(),
        if vacuuming > 0 { "" } else { "not " }
    );

    eprintln!("declaring October from {orders} orders of {workers} workers");
    let started = Instant::now();
    let declare = pb::DeclareContributionsRequest {
        request_id: "bench-declare".into(),
        province_code: "44".into(),
        period: "2026-10".into(),
        source: Some(pb::declare_contributions_request::Source::FromOrders(
            pb::FromOrders {},
        )),
    };
    let declaration = contributions
        .declare_contributions(authed(declare, &token))
        .await
        .expect("declare")
        .into_inner();
    let declare_seconds = started.elapsed().as_secs_f64();
    let declared_orders: i64 = declaration.lines.iter().map(|l| l.orders).sum();
    assert_eq!(declared_orders as u64, orders);
    server.stop();

    println!("| measure | value |");
    println!("|---|---|");
    println!("| workers enrolled | {workers} |");
    println!(
        "| RecordOrders | {orders} orders in {ingest_seconds:.1} s, {:.0} orders/s |",
        orders as f64 / ingest_seconds
    );
    println!(
        "| RecordOrders resending {resent} recorded orders (all duplicates) | {resend_seconds:.1} s, {:.0} orders/s |",
        resent as f64 / resend_seconds
    );
    println!(
        "| server RSS during ingest start / max | {} / {} MiB |",
        rss_start / 1024,
        rss_max / 1024
    );
    println!(
        "| CheckCoverage (16 concurrent, by ID number) | {} calls in {coverage_seconds:.1} s, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms |",
        latencies.len(),
        latencies.len() as f64 / coverage_seconds,
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    println!(
        "| pgbench, same row by primary key (16 clients) | {tps}, p99 {:.2} ms |",
        pg_p99 as f64 / 1000.0
    );
    println!(
        "| month-end DeclareContributions from orders | {declare_seconds:.1} s for {declared_orders} orders, total {} fen |",
        declaration.total_fen
    );
    pool.close().await;
    finish("contributions", embedded).await;
}
