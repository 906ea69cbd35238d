//! Bulk enrolment throughput: `BatchEnrolWorkers` against a raw `COPY` of equivalent rows into the
//! same table, on the same PostgreSQL, in one run. The server runs as its own process (the release
//! `flexcover` binary) so its memory can be sampled while the stream runs.
//!
//! `cargo bench --bench bulk_enrol -- --rows 1000000` (DATABASE_URL, or an embedded cluster).
#[path = "support.rs"]
mod support;

use flexcover::pb;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use sqlx::Connection;
use std::time::{Duration, Instant};
use support::*;

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
    let token = token(url, "platform:meituan").await;
    let server = start_server(url).await;
    let channel = server.channel.clone();
    let mut client = EnrolmentServiceClient::new(channel);
    let pid = server.child.id();
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
    let mut stream = tonic::Request::new(tokio_stream::iter(
        (0..rows).map(|n| enrol_request("bench", n)),
    ));
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
    server.stop();
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
            "44\t{enrolment_id}\tmeituan\t{}\t440305\tinstant_delivery\tactive\t2026-01-05\t2026-01-05\t{}\t张**\t{}\t138****5678\tk1\t2026-06-15 00:00:00+00\tplatform:meituan\n",
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
        .copy_in_raw("COPY enrolments (province_code, enrolment_id, platform_id, person_key, place_code, industry, status, cover_start, status_since, name_ciphertext, name_masked, phone_ciphertext, phone_masked, pii_key_id, created_at, created_by) FROM STDIN")
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
    let (admin_url, embedded) = cluster("bulk").await;
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
    finish("bulk", embedded).await;
}
