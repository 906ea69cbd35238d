//! The unary path against the database's own speed, in one run on one cluster: EnrolWorker,
//! CheckCoverage and GetRate through the release server at concurrency 1, 16 and 64, beside
//! pgbench running the statements each call sends and a bare gRPC health check.
//!
//! `cargo bench --bench unary -- --secs 5`
//!
//! The statements are captured, not guessed: before measuring, one call of each kind runs with
//! `log_statement = all` on the bench database, and the statements it sent are printed from the
//! embedded cluster's log (with DATABASE_URL set, read them from that server's log instead).
#[path = "unary/load.rs"]
mod load;
#[path = "unary/pgbench.rs"]
mod pgbench;
#[path = "support.rs"]
mod support;

use load::{Call, Measure};
use std::time::Duration;
use support::*;

const CONCURRENCY: [usize; 3] = [1, 16, 64];

#[tokio::main]
async fn main() {
    let secs: u64 = arg("--secs").and_then(|v| v.parse().ok()).unwrap_or(5);
    let run_for = Duration::from_secs(secs);
    let (admin_url, embedded) = cluster("unary").await;
    let database = "flexcover_bench_unary";
    let url = fresh_database(&admin_url, database).await;
    let pool = flexcover::store::connect(&url, 4).await.expect("pool");
    flexcover::seed::seed_pilot(&pool, chrono::Utc::now())
        .await
        .expect("seed pilot");
    flexcover::seed::seed_rates(&pool, chrono::Utc::now())
        .await
        .expect("seed rates");
    let token = token(&url, "platform:meituan").await;

    if embedded.is_some() {
        let log = embedded_data_dir("unary").with_extension("log");
        capture_statements(&pool, &url, &token, database, &log).await;
    }
    if arg("--capture-only").is_some() || std::env::args().any(|a| a == "--capture-only") {
        finish("unary", embedded).await;
        return;
    }

    let server = start_server(&url).await;
    let pid = server.child.id();
    let target = load::Target::new(&server, token.clone(), 0).await;
    // Workers for CheckCoverage: enrolled before any measurement.
    load::enrol_workers(&target, 2_000).await;

    let mut rows: Vec<(String, usize, Measure)> = Vec::new();
    let mut peak_rss_kib = 0;
    for call in [
        Call::Health,
        Call::GetRate,
        Call::CheckCoverage,
        Call::EnrolWorker,
    ] {
        for concurrency in CONCURRENCY {
            let measure = load::closed_loop(&target, call, concurrency, run_for).await;
            peak_rss_kib = peak_rss_kib.max(rss_kib(pid).unwrap_or(0));
            eprintln!("{} c={concurrency}: {measure}", call.name());
            rows.push((call.name().into(), concurrency, measure));
        }
    }
    server.stop();
    let ablation = where_the_time_goes(&url, &token, run_for).await;

    let variables = pgbench::Variables {
        token_id: token.split('_').nth(1).expect("token id").to_string(),
        person_key_hex: sqlx::query_scalar(
            "SELECT encode(person_key, 'hex') FROM enrolments LIMIT 1",
        )
        .fetch_one(&pool)
        .await
        .expect("an enrolled person"),
    };
    let mut baselines = Vec::new();
    for script in pgbench::Script::ALL {
        for concurrency in CONCURRENCY {
            let tps = pgbench::run(&url, script, concurrency, run_for, &variables).await;
            eprintln!("pgbench {} c={concurrency}: {tps:.0} tps", script.name());
            baselines.push((script, concurrency, tps));
        }
    }
    pool.close().await;

    println!("\n| call | concurrency | calls/s | p50 | p99 | errors | baseline | ratio |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, concurrency, measure) in &rows {
        let baseline = match name.as_str() {
            "health" => None,
            "GetRate" => rows
                .iter()
                .find(|(n, c, _)| n == "health" && c == concurrency)
                .map(|(_, _, health)| ("grpc health".to_string(), health.rate())),
            _ => baselines
                .iter()
                .find(|(s, c, _)| s.call() == name && c == concurrency)
                .map(|(s, _, tps)| (format!("pgbench {}", s.name()), *tps)),
        };
        let (label, ratio) = baseline.map_or(("—".to_string(), "—".to_string()), |(l, b)| {
            (
                format!("{l} {b:.0}/s"),
                format!("{:.2}", measure.rate() / b),
            )
        });
        println!(
            "| {name} | {concurrency} | {:.0} | {:.2} ms | {:.2} ms | {} | {label} | {ratio} |",
            measure.rate(),
            ms(measure.p50),
            ms(measure.p99),
            measure.errors,
        );
    }
    println!("\npeak server RSS: {} MB", peak_rss_kib / 1024);
    println!("\n## Where the time goes: one setting changed at a time\n");
    println!("| call, server | concurrency | calls/s | p50 | p99 |");
    println!("|---|---|---|---|---|");
    for (label, concurrency, measure) in &ablation {
        println!(
            "| {label} | {concurrency} | {:.0} | {:.3} ms | {:.3} ms |",
            measure.rate(),
            ms(measure.p50),
            ms(measure.p99)
        );
    }
    finish("unary", embedded).await;
}

/// GetRate against servers with one setting changed at a time: TCP_NODELAY off (as before the
/// unary work), the cache off, both.
async fn where_the_time_goes(
    url: &str,
    token: &str,
    run_for: Duration,
) -> Vec<(String, usize, Measure)> {
    let variants: [(&str, &[(&str, &str)]); 4] = [
        ("as shipped", &[]),
        ("TCP_NODELAY off", &[("FLEXCOVER_TCP_NODELAY", "false")]),
        ("cache off", &[("FLEXCOVER_CACHE_MAX_AGE_SECS", "0")]),
        (
            "both off (before)",
            &[
                ("FLEXCOVER_TCP_NODELAY", "false"),
                ("FLEXCOVER_CACHE_MAX_AGE_SECS", "0"),
            ],
        ),
    ];
    let mut rows = Vec::new();
    for (label, settings) in variants {
        let server = start_server_with(url, settings).await;
        let target = load::Target::new(&server, token.to_string(), 0).await;
        for concurrency in [1, 16] {
            let measure = load::closed_loop(&target, Call::GetRate, concurrency, run_for).await;
            eprintln!("{label} GetRate c={concurrency}: {measure}");
            rows.push((format!("GetRate, {label}"), concurrency, measure));
        }
        server.stop();
    }
    // A lone EnrolWorker caller, with and without coalescing: it must not get slower.
    for (label, max) in [("coalesced", "256"), ("each alone", "1")] {
        let server = start_server_with(url, &[("FLEXCOVER_COALESCE_MAX", max)]).await;
        let first_worker = if max == "1" { 12_000_000 } else { 11_000_000 };
        let target = load::Target::new(&server, token.to_string(), first_worker).await;
        for concurrency in [1, 64] {
            let measure = load::closed_loop(&target, Call::EnrolWorker, concurrency, run_for).await;
            eprintln!("EnrolWorker {label} c={concurrency}: {measure}");
            rows.push((format!("EnrolWorker, {label}"), concurrency, measure));
        }
        server.stop();
    }
    rows
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Prints the statements one call of each kind sends, read from the cluster's log.
async fn capture_statements(
    pool: &sqlx::PgPool,
    url: &str,
    token: &str,
    database: &str,
    log_path: &std::path::Path,
) {
    let set = |value: &str| format!("ALTER DATABASE \"{database}\" SET log_statement = '{value}'");
    sqlx::query(sqlx::AssertSqlSafe(set("all")))
        .execute(pool)
        .await
        .expect("log statements");
    let start = std::fs::metadata(log_path).map_or(0, |m| m.len());
    let server = start_server(url).await;
    // Workers of its own, apart from the other runs on this database.
    let target = load::Target::new(&server, token.to_string(), 10_000_000).await;
    load::enrol_workers(&target, 1).await;
    let before_calls = std::fs::metadata(log_path).map_or(0, |m| m.len());
    for call in [Call::GetRate, Call::CheckCoverage, Call::EnrolWorker] {
        load::one_call(&target, call, 1).await;
    }
    server.stop();
    sqlx::query(sqlx::AssertSqlSafe(set("none")))
        .execute(pool)
        .await
        .expect("stop logging statements");
    let log = std::fs::read(log_path).unwrap_or_default();
    let from = (before_calls.max(start) as usize).min(log.len());
    println!("## Statements sent by one GetRate, CheckCoverage and EnrolWorker (in that order)\n");
    for line in String::from_utf8_lossy(&log[from..]).lines() {
        if let Some((_, statement)) = line.split_once("LOG:  ") {
            println!("    {statement}");
        } else if line.starts_with([' ', '\t']) {
            println!("    {line}");
        } else if line.contains("DETAIL:  parameters") {
            println!(
                "        {}",
                line.split_once("DETAIL:  ").map_or(line, |(_, d)| d)
            );
        }
    }
    println!();
}
