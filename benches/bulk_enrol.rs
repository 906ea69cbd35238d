//! Bulk enrolment throughput: `BatchEnrolWorkers` against a raw `COPY` of equivalent rows into the
//! same table, on the same PostgreSQL, in one run. The server runs as its own process (the release
//! `flexcover` binary) so its memory can be sampled while the stream runs.
//!
//! `cargo bench --bench bulk_enrol -- --rows 1000000` (DATABASE_URL, or an embedded cluster).
use flexcover::pb;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use flexcover::postgres::{EmbeddedOptions, EmbeddedPostgres};
use sqlx::Connection;
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Row n's ID number: unique for n below 36.5 million (birth date from n / 1000, sequence n % 1000).
fn id_number(n: u64) -> String {
    let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("date")
        + chrono::Duration::days((n / 1000) as i64);
    let first17 = format!("110105{}{:03}", born.format("%Y%m%d"), n % 1000);
    let digits: [u8; 17] = first17.as_bytes().try_into().expect("17 digits");
    format!(
        "{first17}{}",
        flexcover::domain::id_number::check_character(&digits)
    )
}

fn request(n: u64) -> pb::EnrolWorkerRequest {
    pb::EnrolWorkerRequest {
        request_id: format!("bench-{n}"),
        worker: Some(pb::Worker {
            id_number: id_number(n),
            name: "张三丰".into(),
            phone: "13812345678".into(),
        }),
        place_of_employment: "440305".into(),
        industry: pb::Industry::InstantDelivery as i32,
        cover_start_date: Some(pb::Date {
            year: 2026,
            month: 1,
            day: 5,
        }),
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn fresh_database(admin_url: &str, name: &str) -> String {
    let mut connection = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut connection)
    .await
    .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut connection)
        .await
        .expect("create");
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, String::new()), |(b, q)| (b, format!("?{q}")));
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    let url = format!("{server}/{name}{query}");
    let pool = flexcover::store::connect(&url, 2).await.expect("pool");
    flexcover::store::migrate(&pool).await.expect("migrate");
    pool.close().await;
    url
}

struct BatchFigures {
    rows: u64,
    ok: u64,
    seconds: f64,
    rss_start_kib: u64,
    rss_max_kib: u64,
    rss_end_kib: u64,
}

async fn run_batch(url: &str, rows: u64) -> BatchFigures {
    let pool = flexcover::store::connect(url, 2).await.expect("pool");
    flexcover::seed::seed_pilot(&pool, chrono::Utc::now())
        .await
        .expect("seed");
    let token = flexcover::api::admin::create_token(
        &mut pool.acquire().await.expect("connection"),
        &flexcover::domain::role::Role::parse("platform:meituan").expect("role"),
        "bench",
        chrono::Utc::now(),
    )
    .await
    .expect("token")
    .token;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_flexcover"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", url)
        .env(
            "FLEXCOVER_PII_KEY",
            flexcover::pii::PiiKeys::generate_text(),
        )
        .env("FLEXCOVER_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("start the server");
    let endpoint = format!("http://127.0.0.1:{port}");
    let channel = loop {
        if let Ok(channel) = tonic::transport::Endpoint::from_shared(endpoint.clone())
            .expect("endpoint")
            .connect()
            .await
        {
            break channel;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut client = EnrolmentServiceClient::new(channel);
    let pid = server.id();
    let rss_start_kib = rss_kib(pid).unwrap_or(0);
    let sampling = tokio::spawn(async move {
        let mut max = 0;
        loop {
            match rss_kib(pid) {
                Some(rss) => max = max.max(rss),
                None => return max,
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let started = Instant::now();
    let mut stream = tonic::Request::new(tokio_stream::iter((0..rows).map(request)));
    stream.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    let mut results = client
        .batch_enrol_workers(stream)
        .await
        .expect("stream")
        .into_inner();
    let mut ok = 0;
    let mut seen = 0;
    while let Some(result) = results.message().await.expect("result") {
        seen += 1;
        if matches!(
            result.outcome,
            Some(pb::batch_enrol_result::Outcome::Enrolment(_))
        ) {
            ok += 1;
        }
        if seen % 100_000 == 0 {
            eprintln!(
                "  batch: {seen} rows, {:.0} rows/s, server RSS {} MiB",
                seen as f64 / started.elapsed().as_secs_f64(),
                rss_kib(pid).unwrap_or(0) / 1024
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let rss_end_kib = rss_kib(pid).unwrap_or(0);
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = server.wait();
    let rss_max_kib = sampling.await.unwrap_or(0);
    pool.close().await;
    BatchFigures {
        rows,
        ok,
        seconds,
        rss_start_kib,
        rss_max_kib,
        rss_end_kib,
    }
}

fn hex_bytes(bytes: &[u8]) -> String {
    format!("\\\\x{}", hex::encode(bytes))
}

/// COPYs `rows` enrolments shaped like the batch's (same columns, same value sizes) into the
/// enrolments table; the persons they refer to are loaded first and not timed.
async fn run_copy(url: &str, rows: u64) -> f64 {
    let mut connection = sqlx::PgConnection::connect(url).await.expect("connection");
    let keys =
        flexcover::pii::PiiKeys::parse(&flexcover::pii::PiiKeys::generate_text()).expect("keys");
    let mut persons = Vec::new();
    let mut enrolments = Vec::new();
    for n in 0..rows {
        let id = flexcover::domain::id_number::IdNumber::parse(&id_number(n)).expect("valid");
        let person_key = keys.person_key(&id);
        let enrolment_id = uuid::Uuid::now_v7();
        let sealed_id = keys.seal(id.as_str(), &person_key).expect("seal");
        let name = keys.seal("张三丰", enrolment_id.as_bytes()).expect("seal");
        let phone = keys
            .seal("13812345678", enrolment_id.as_bytes())
            .expect("seal");
        persons.push(format!(
            "{}\t{}\tk1\t{}\t{}\t2026-06-15 00:00:00+00\n",
            hex_bytes(&person_key),
            hex_bytes(&sealed_id.bytes),
            id.masked(),
            id.birth_date()
        ));
        enrolments.push(format!(
            "44\t{enrolment_id}\tmeituan\t{}\t440305\tinstant_delivery\tactive\t2026-01-05\t{}\t张**\t{}\t138****5678\tk1\t2026-06-15 00:00:00+00\tplatform:meituan\n",
            hex_bytes(&person_key), hex_bytes(&name.bytes), hex_bytes(&phone.bytes)
        ));
    }
    sqlx::query("INSERT INTO platforms (platform_id, name, industries, created_at) VALUES ('meituan', 'Meituan', '{instant_delivery}', now())")
        .execute(&mut connection).await.expect("platform");
    let mut copy = connection.copy_in_raw("COPY persons (person_key, id_ciphertext, id_key_id, id_masked, birth_date, created_at) FROM STDIN").await.expect("copy persons");
    copy.send(persons.concat().into_bytes())
        .await
        .expect("send");
    copy.finish().await.expect("finish");
    let started = Instant::now();
    let mut copy = connection
        .copy_in_raw("COPY enrolments (province_code, enrolment_id, platform_id, person_key, place_code, industry, status, cover_start, name_ciphertext, name_masked, phone_ciphertext, phone_masked, pii_key_id, created_at, created_by) FROM STDIN")
        .await
        .expect("copy enrolments");
    for piece in enrolments.chunks(10_000) {
        copy.send(piece.concat().into_bytes()).await.expect("send");
    }
    copy.finish().await.expect("finish");
    started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let rows: u64 = arg("--rows")
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    let mut embedded = None;
    let admin_url = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let cluster = EmbeddedPostgres::start(&EmbeddedOptions {
                data_dir: std::env::temp_dir()
                    .join(format!("flexcover-bench-pg-{}", std::process::id())),
                os_user: "postgres".into(),
                bin_dir: None,
                durable: true,
                serving: true,
            })
            .await
            .expect("embedded PostgreSQL");
            let url = cluster.database_url("postgres");
            embedded = Some(cluster);
            url
        }
    };
    eprintln!("bulk enrolment benchmark: {rows} rows");
    let batch_url = fresh_database(&admin_url, "flexcover_bench_batch").await;
    let batch = run_batch(&batch_url, rows).await;
    let copy_url = fresh_database(&admin_url, "flexcover_bench_copy").await;
    let copy_seconds = run_copy(&copy_url, rows).await;

    let batch_rate = batch.rows as f64 / batch.seconds;
    let copy_rate = rows as f64 / copy_seconds;
    println!("| measure | value |");
    println!("|---|---|");
    println!("| rows | {} ({} enrolled) |", batch.rows, batch.ok);
    println!(
        "| BatchEnrolWorkers | {:.1} s, {:.0} rows/s |",
        batch.seconds, batch_rate
    );
    println!(
        "| raw COPY into enrolments | {:.1} s, {:.0} rows/s |",
        copy_seconds, copy_rate
    );
    println!("| ratio (batch / COPY) | {:.2} |", batch_rate / copy_rate);
    println!(
        "| server RSS start / max / end | {} / {} / {} MiB |",
        batch.rss_start_kib / 1024,
        batch.rss_max_kib / 1024,
        batch.rss_end_kib / 1024
    );
    assert_eq!(
        batch.ok, batch.rows,
        "every generated row is valid and must be enrolled"
    );
    if let Some(cluster) = embedded {
        let _ = cluster.stop().await;
    }
}
