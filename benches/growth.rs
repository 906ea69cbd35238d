//! Growth (issue 17): months of orders in one run on one PostgreSQL. Ingest rate per step of
//! orders as the table grows, each month's declaration as months accumulate, table and index
//! sizes, and the time `flexcover admin maintain` takes to detach and archive the oldest month.
//!
//! `cargo bench --bench growth -- --workers 1000000 --orders 30000000 --months 3 [--step N]`
#[path = "support.rs"]
mod support;

use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate, TimeZone, Utc};
use flexcover::pb;
use flexcover::pb::contribution_service_client::ContributionServiceClient;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use std::time::{Duration, Instant};
use support::*;

/// A whole calendar month in China Standard Time, by its first day.
#[derive(Clone, Copy)]
struct Month(NaiveDate);

impl Month {
    fn label(&self) -> String {
        self.0.format("%Y-%m").to_string()
    }

    /// `n` months after this one's first day, as an instant (midnight, China Standard Time).
    fn start_plus(&self, n: u32) -> DateTime<Utc> {
        let day = self.0 + Months::new(n);
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
        let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
        cst.from_local_datetime(&midnight)
            .single()
            .expect("no DST")
            .to_utc()
    }
}

/// The `count` whole months (China Standard Time) ending with last month.
fn past_months(count: u32, now: DateTime<Utc>) -> Vec<Month> {
    let today = now.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("UTC+8"));
    let this_month = today.date_naive().with_day(1).expect("first of the month");
    (1..=count)
        .rev()
        .map(|back| Month(this_month - Months::new(back)))
        .collect()
}

/// The largest order-detail retention (in months) for which `month`'s end is at least that many
/// months before `now`: with it, `month` is past retention and the month after it is not.
fn retention_leaving_out(month: &Month, now: DateTime<Utc>) -> u32 {
    (0_u32..600)
        .take_while(|&n| month.start_plus(n + 2) <= now)
        .count() as u32
}

/// Order `n` of the run (ids unique across the run), the `k`-th of its month, spread over it.
fn order(n: u64, k: u64, start: i64, seconds: u64, workers: u64) -> pb::OrderRecord {
    pb::OrderRecord {
        order_id: format!("growth-{n}"),
        worker: Some(pb::order_record::Worker::IdNumber(id_number(n % workers))),
        place_of_employment: "440305".into(),
        industry: pb::Industry::InstantDelivery as i32,
        accepted_at: Some(prost_types::Timestamp {
            seconds: start + (k * 7919 % seconds) as i64,
            nanos: 0,
        }),
        completed_at: None,
    }
}

/// One relation: name, rows (pg_class.reltuples: an estimate, close after VACUUM (ANALYZE)),
/// table and index bytes.
type Size = (String, i64, i64, i64);

/// `table` and, if partitioned, each partition (through the catalogs: works before and after
/// partitioning); then each of its indexes, summed over partitions. None if it does not exist.
async fn sizes(pool: &sqlx::PgPool, table: &str) -> Option<(Vec<Size>, Vec<(String, i64)>)> {
    let parts: Vec<Size> = sqlx::query_as(
        "WITH leaves AS (
             SELECT relid FROM pg_partition_tree(to_regclass($1)) WHERE isleaf
             UNION ALL
             SELECT to_regclass($1) WHERE NOT EXISTS (SELECT FROM pg_partition_tree(to_regclass($1))))
         SELECT l.relid::regclass::text, greatest(c.reltuples, 0)::bigint,
                pg_table_size(l.relid), pg_indexes_size(l.relid)
         FROM leaves l JOIN pg_class c ON c.oid = l.relid ORDER BY 1",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("partition sizes");
    let indexes: Vec<(String, i64)> = sqlx::query_as(
        "SELECT i.indexrelid::regclass::text,
                coalesce((SELECT sum(pg_relation_size(t.relid)) FROM pg_partition_tree(i.indexrelid) t
                          WHERE t.isleaf), pg_relation_size(i.indexrelid))::bigint
         FROM pg_index i WHERE i.indrelid = to_regclass($1) ORDER BY 1",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("index sizes");
    if parts.is_empty() {
        return None; // no such table
    }
    let sum = |f: fn(&Size) -> i64| parts.iter().map(f).sum();
    let partitioned = parts.len() > 1 || parts.first().is_some_and(|p| p.0 != table);
    let name = match partitioned {
        true => format!(
            "{table} (total of {} partitions; empty ones not listed)",
            parts.len()
        ),
        false => table.to_owned(),
    };
    let total = (name, sum(|p| p.1), sum(|p| p.2), sum(|p| p.3));
    let listed = parts.into_iter().filter(|p| partitioned && p.1 > 0);
    let all = std::iter::once(total).chain(listed);
    Some((all.collect(), indexes))
}

fn describe((name, rows, table, indexes): &Size) -> String {
    let (table, indexes) = (mib(*table), mib(*indexes));
    format!("{name}: {rows} rows, table {table}, indexes {indexes}")
}

fn mib(bytes: i64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1_048_576.0)
}

/// Runs `flexcover admin ARGS` against `url`: whether it succeeded, what it printed, seconds.
fn admin(url: &str, args: &[&str]) -> (bool, String, f64) {
    let started = Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flexcover"))
        .arg("admin")
        .args(args)
        .env("DATABASE_URL", url)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run flexcover admin");
    let (out, err) = (&output.stdout, &output.stderr);
    let text = String::from_utf8_lossy(out).into_owned() + &String::from_utf8_lossy(err);
    let secs = started.elapsed().as_secs_f64();
    (output.status.success(), text, secs)
}

#[tokio::main]
async fn main() {
    let number =
        |name: &str, default: u64| arg(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let workers = number("--workers", 1_000_000);
    let orders = number("--orders", 30_000_000);
    let months_wanted = number("--months", 3).clamp(1, 24) as u32;
    let step = number("--step", (orders / 30).clamp(1, 1_000_000));
    let now = Utc::now();
    let months = past_months(months_wanted, now);
    let labels: Vec<String> = months.iter().map(Month::label).collect();
    eprintln!("months (China Standard Time): {}", labels.join(", "));

    let (admin_url, embedded) = cluster("growth").await;
    let url = fresh_database(&admin_url, "flexcover_bench_growth").await;
    let pool = flexcover::store::connect(&url, 4).await.expect("pool");
    flexcover::seed::seed_pilot(&pool, now)
        .await
        .expect("seed pilot");
    flexcover::seed::seed_rates(&pool, now)
        .await
        .expect("seed rates");
    let token = token(&url, "platform:meituan").await;
    let server = start_server(&url).await;

    // Enrolment may start a cover in the past (the pilot scope bounds it: Guangdong and Meituan
    // from 2022; the backdating window concerns later changes), so every cover starts on the
    // first day of the first month.
    let first = months[0].0;
    let (year, month) = (first.year(), first.month() as i32);
    let cover_start = pb::Date {
        year,
        month,
        day: 1,
    };
    eprintln!("enrolling {workers} workers, covered from {first}");
    let started = Instant::now();
    let mut enrolments = EnrolmentServiceClient::new(server.channel.clone());
    let requests = (0..workers).map(move |n| pb::EnrolWorkerRequest {
        cover_start_date: Some(cover_start),
        ..enrol_request("growth-enrol", n)
    });
    let mut results = enrolments
        .batch_enrol_workers(authed(tokio_stream::iter(requests), &token))
        .await
        .expect("stream")
        .into_inner();
    let mut enrolled = 0_u64;
    while let Some(result) = results.message().await.expect("result") {
        if let Some(pb::batch_enrol_result::Outcome::Enrolment(_)) = result.outcome {
            enrolled += 1;
        }
    }
    let enrol_seconds = started.elapsed().as_secs_f64();
    eprintln!("  {enrolled} enrolled in {enrol_seconds:.1} s");
    assert_eq!(enrolled, workers, "every worker enrolled");
    settle_after_enrolment(&pool).await;

    let mut contributions = ContributionServiceClient::new(server.channel.clone());
    let keys = sqlx::query_scalar("SELECT to_regclass('order_keys') IS NOT NULL");
    let keys: bool = keys.fetch_one(&pool).await.expect("order_keys");
    let vacuumed = ["orders", "orders, order_keys"][usize::from(keys)];
    let (mut ingest_time, mut last_mark, mut seen) = (Duration::ZERO, Duration::ZERO, 0_u64);
    let mut steps: Vec<f64> = Vec::new(); // seconds per step
    let (mut accepted, mut duplicates, mut refused) = (0_u64, 0_u64, 0_u64);
    let (mut month_rates, mut vacuums) = (Vec::new(), Vec::new());
    let mut declarations: Vec<Vec<f64>> = Vec::new(); // [after month][month declared]
    let mut size_rows: Vec<(String, Vec<Size>)> = Vec::new();
    let (n, per_month) = (months.len() as u64, orders / months.len() as u64);
    let counts: Vec<u64> = (1..=n)
        .map(|m| per_month + u64::from(m == n) * (orders % n))
        .collect();
    for (m, month) in months.iter().enumerate() {
        let (count, first_n) = (counts[m], m as u64 * per_month);
        let start = month.start_plus(0).timestamp();
        let seconds = (month.start_plus(1).timestamp() - start) as u64;
        eprintln!("{}: recording {count} orders", labels[m]);
        let started = Instant::now();
        let stream = (0..count).map(move |k| order(first_n + k, k, start, seconds, workers));
        let mut results = contributions
            .record_orders(authed(tokio_stream::iter(stream), &token))
            .await
            .expect("stream")
            .into_inner();
        while let Some(result) = results.message().await.expect("result") {
            seen += 1;
            match result.outcome {
                Some(pb::record_orders_result::Outcome::Accepted(_)) => accepted += 1,
                Some(pb::record_orders_result::Outcome::DuplicateOrderId(_)) => duplicates += 1,
                other => {
                    refused += 1;
                    if refused <= 5 {
                        eprintln!("  order {seen} not accepted: {other:?}");
                    }
                }
            }
            if seen.is_multiple_of(step) {
                let mark = ingest_time + started.elapsed();
                steps.push((mark - last_mark).as_secs_f64());
                last_mark = mark;
                let rate = step as f64 / steps[steps.len() - 1];
                let background = background_work(&pool).await;
                eprintln!("  {seen} orders: the last {step} at {rate:.0} orders/s{background}");
            }
        }
        ingest_time += started.elapsed();
        month_rates.push(count as f64 / started.elapsed().as_secs_f64());
        eprintln!("  {count} orders at {:.0} orders/s", month_rates[m]);

        // A month is declared after it ends, when autovacuum has long processed its orders and
        // the planner has their statistics; straight after the ingest autovacuum would still be
        // at work on them alongside the declaration's scan. So vacuum now, as the month's end
        // would have. The order_keys claim table, where there is one, is written with them.
        let started = Instant::now();
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM (ANALYZE) {vacuumed}")))
            .execute(&pool)
            .await
            .expect("vacuum orders");
        vacuums.push(started.elapsed().as_secs_f64());
        eprintln!(
            "  VACUUM (ANALYZE) {vacuumed}: {:.1} s (stands in for autovacuum after the month's end)",
            vacuums[m]
        );
        // And checkpoint: by then checkpoints have written the month's pages too; straight after
        // the ingest the declaration's scan would evict the ingest's dirty buffers and pay for
        // writing them.
        let started = Instant::now();
        sqlx::query("CHECKPOINT")
            .execute(&pool)
            .await
            .expect("checkpoint");
        eprintln!("  CHECKPOINT: {:.1} s", started.elapsed().as_secs_f64());
        let mut times = Vec::new();
        for (d, declared) in months[..=m].iter().enumerate() {
            let tag = format!("after-{m}");
            times.push(declare(&mut contributions, &token, declared, &tag, counts[d]).await);
        }
        declarations.push(times);

        let mut all = Vec::new();
        for table in ["orders", "order_keys"] {
            if let Some((sizes, indexes)) = sizes(&pool, table).await {
                for size in &sizes {
                    eprintln!("  {}", describe(size));
                }
                for (name, bytes) in indexes {
                    eprintln!("    index {name}: {}", mib(bytes));
                }
                all.extend(sizes);
            }
        }
        size_rows.push((labels[m].clone(), all));
    }
    // Maintenance is a pass of its own: the server (whose hourly pass would contend for the same
    // lock) is stopped first.
    server.stop();
    let maintained = maintain(&url, &pool, &months).await;

    let rates: Vec<f64> = steps.iter().map(|&s| step as f64 / s).collect();
    let (first, last) = (rates.first().copied(), rates.last().copied());
    let (first, last) = (first.unwrap_or(0.0), last.unwrap_or(0.0));
    // Less noisy on a shared machine: the first tenth of the steps against the last tenth.
    let tenth = (rates.len() / 10).max(1).min(rates.len());
    let mean = |r: &[f64]| r.iter().sum::<f64>() / r.len() as f64;
    let (head, tail) = (mean(&rates[..tenth]), mean(&rates[rates.len() - tenth..]));
    println!("| measure | value |\n|---|---|");
    println!("| workers enrolled (BatchEnrolWorkers) | {workers} in {enrol_seconds:.1} s |");
    println!(
        "| months (China Standard Time), orders each | {} ({per_month}) |",
        labels.join(", ")
    );
    println!("| orders accepted / duplicate / other | {accepted} / {duplicates} / {refused} |");
    println!(
        "| RecordOrders, {orders} orders, month by month | {:.1} s, {:.0} orders/s; per month {} |",
        ingest_time.as_secs_f64(),
        orders as f64 / ingest_time.as_secs_f64(),
        list(&month_rates, 0)
    );
    println!(
        "| rate per {step} orders: first / last (ratio) / min / max | {first:.0} / {last:.0} (**{:.2}**) / {:.0} / {:.0} orders/s |",
        last / first,
        rates.iter().copied().fold(f64::INFINITY, f64::min),
        rates.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "| rate, mean of the first / last {tenth} steps | {head:.0} / {tail:.0} orders/s (**{:.2}**) |",
        tail / head
    );
    println!(
        "| VACUUM (ANALYZE) {vacuumed} after each month | {} s |",
        list(&vacuums, 1)
    );
    println!(
        "| flexcover admin maintain: detach and archive {} | {maintained} |",
        labels[0]
    );
    println!("\nRate per {step} orders (orders/s): {}", list(&rates, 0));
    println!(
        "\n| DeclareContributions, after ingesting | {} |",
        labels.join(" | ")
    );
    println!("|---|{}", "---|".repeat(labels.len()));
    for (m, times) in declarations.iter().enumerate() {
        let cells =
            (0..labels.len()).map(|d| times.get(d).map_or("—".into(), |t| format!("{t:.2} s")));
        println!(
            "| {} | {} |",
            labels[m],
            cells.collect::<Vec<_>>().join(" | ")
        );
    }
    println!("\n| after ingesting | relation | rows | table | indexes |\n|---|---|---|---|---|");
    for (label, sizes) in &size_rows {
        for (name, rows, table, indexes) in sizes {
            let (table, indexes) = (mib(*table), mib(*indexes));
            println!("| {label} | {name} | {rows} | {table} | {indexes} |");
        }
    }
    pool.close().await;
    finish("growth", embedded).await;
}

fn list(values: &[f64], decimals: usize) -> String {
    let texts: Vec<String> = values.iter().map(|v| format!("{v:.decimals$}")).collect();
    texts.join(", ")
}

/// Declares `month` for Guangdong from the orders recorded; its seconds (reported either way).
async fn declare(
    client: &mut ContributionServiceClient<tonic::transport::Channel>,
    token: &str,
    month: &Month,
    tag: &str,
    expected: u64,
) -> f64 {
    let request = pb::DeclareContributionsRequest {
        request_id: format!("growth-declare-{}-{tag}", month.label()),
        province_code: "44".into(),
        period: month.label(),
        source: Some(pb::declare_contributions_request::Source::FromOrders(
            pb::FromOrders {},
        )),
    };
    let started = Instant::now();
    let answer = client.declare_contributions(authed(request, token)).await;
    let secs = started.elapsed().as_secs_f64();
    match answer {
        Ok(declaration) => {
            let declaration = declaration.into_inner();
            let total: i64 = declaration.lines.iter().map(|l| l.orders).sum();
            let wrong = ["", " — NOT the orders recorded"][usize::from(total as u64 != expected)];
            let (label, version) = (month.label(), declaration.version);
            eprintln!(
                "  declared {label} (version {version}): {total} orders in {secs:.2} s{wrong}"
            );
        }
        Err(status) => eprintln!(
            "  declaring {} failed after {secs:.2} s: {status}",
            month.label()
        ),
    }
    secs
}

/// Sets retention so that exactly the first month is past it and times `flexcover admin
/// maintain` (with `--archive-dir` once it has one); what it did, for the table.
async fn maintain(url: &str, pool: &sqlx::PgPool, months: &[Month]) -> String {
    let keep = retention_leaving_out(&months[0], Utc::now());
    if keep < 1 || months.len() < 2 {
        return format!(
            "not run: no retention of 1 month or more leaves out only {}",
            months[0].label()
        );
    }
    let (ok, text, _) = admin(
        url,
        &["set-retention", "--order-detail-months", &keep.to_string()],
    );
    eprintln!(
        "set-retention --order-detail-months {keep} (ok: {ok}): {}",
        text.trim()
    );
    let partitioned = "SELECT relkind = 'p' FROM pg_class WHERE oid = 'orders'::regclass";
    let partitioned: bool = sqlx::query_scalar(partitioned)
        .fetch_one(pool)
        .await
        .expect("relkind");
    let dir = std::env::temp_dir().join(format!("flexcover-growth-archive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("archive dir");
    let dir_text = dir.display().to_string();
    let mut args = vec!["maintain"];
    let help = admin(url, &["maintain", "--help"]).1;
    if help.contains("--archive-dir") {
        args.extend(["--archive-dir", dir_text.as_str()]);
    } else {
        eprintln!("this flexcover's maintain has no --archive-dir: it archives no orders yet");
    }
    let (ok, text, secs) = admin(url, &args);
    let command = args.join(" ");
    eprintln!(
        "flexcover admin {command} (ok: {ok}, {secs:.1} s):\n{}",
        text.trim_end()
    );
    // Every file under the archive directory (at any depth) and its size.
    let listing = std::process::Command::new("find")
        .arg(&dir)
        .args(["-type", "f", "-printf", "%s %P\\n"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let listing = listing.unwrap_or_default();
    eprintln!(
        "archive files (bytes, name): {}\n{}",
        listing.lines().count(),
        listing.trim_end()
    );
    let sizes_of = listing
        .lines()
        .filter_map(|l| l.split(' ').next()?.parse::<i64>().ok());
    let (files, archived) = (listing.lines().count(), sizes_of.sum::<i64>());
    let _ = std::fs::remove_dir_all(&dir);
    // The archived month's keys were deleted: their count is an estimate until analyzed.
    let _ = sqlx::query("ANALYZE order_keys").execute(pool).await;
    let keys = sizes(pool, "order_keys")
        .await
        .map(|k| k.0)
        .unwrap_or_default();
    let after = sizes(pool, "orders").await.expect("orders").0;
    for size in after.iter().chain(&keys) {
        eprintln!("after maintain: {}", describe(size));
    }
    let after = &after[0];
    // `orders archived=YYYY-MM rows=N file=F seconds=S`, one line per month archived (also the
    // empty months before the first, dropped without a file).
    let archived_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("orders archived="))
        .collect();
    let empty = archived_lines
        .iter()
        .filter(|l| l.contains(" rows=0 "))
        .count();
    let first = format!("orders archived={} ", months[0].label());
    let first = archived_lines.iter().find(|l| l.starts_with(&first));
    let first = first.map_or("none".into(), |l| {
        let fields = l.split(' ').skip(2).filter(|f| !f.starts_with("file="));
        format!(
            "{}: {}",
            months[0].label(),
            fields.collect::<Vec<_>>().join(" ")
        )
    });
    format!(
        "{} in {secs:.2} s (order detail kept {keep} months{}); {} months archived ({empty} empty; {first}); {} archive file(s), {}{}; orders left: {} rows, table {}, indexes {}",
        if ok { "ran" } else { "FAILED" },
        ["; orders not partitioned", ""][usize::from(partitioned)],
        archived_lines.len(),
        files,
        mib(archived),
        [", nothing archived", ""][usize::from(files > 0)],
        after.1,
        mib(after.2),
        mib(after.3)
    )
}

/// What autovacuum is doing now and how many checkpoints have run: shown with each step's rate,
/// to tell the table's growth from the database's background work.
async fn background_work(pool: &sqlx::PgPool) -> String {
    let row: Result<(Option<String>, i64, i64), sqlx::Error> = sqlx::query_as(
        "SELECT (SELECT string_agg(query, '; ') FROM pg_stat_activity
                 WHERE backend_type = 'autovacuum worker'),
                checkpoints_timed, checkpoints_req FROM pg_stat_bgwriter",
    )
    .fetch_one(pool)
    .await;
    match row {
        Ok((vacuuming, timed, requested)) => format!(
            " (checkpoints so far {}; autovacuum now: {})",
            timed + requested,
            vacuuming.unwrap_or_else(|| "none".into())
        ),
        Err(_) => String::new(),
    }
}
