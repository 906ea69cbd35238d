//! Federation at scale, in one run on one PostgreSQL: how fast the sequencer numbers committed
//! events, how fast StreamEvents catches a province up, and how long a committed change takes to
//! reach a following subscriber while writes go on.
//!
//! `cargo bench --bench federation -- --events 1000000 --writes 5000`
#[path = "support.rs"]
mod support;

use flexcover::pb;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use flexcover::pb::federation_service_client::FederationServiceClient;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

async fn numbered(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM province_log")
        .fetch_one(pool)
        .await
        .expect("count")
}

#[tokio::main]
async fn main() {
    let events: i64 = arg("--events")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let writes: u64 = arg("--writes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let (admin_url, embedded) = cluster("federation").await;
    let url = fresh_database(&admin_url, "flexcover_bench_federation").await;
    let pool = flexcover::store::connect(&url, 4).await.expect("pool");
    flexcover::seed::seed_pilot(&pool, chrono::Utc::now())
        .await
        .expect("seed pilot");
    // A backlog of committed events in Guangdong, written before any server (and so any sequencer)
    // runs: time-ordered ids as the service makes them, 200-byte payloads, 1,000 per transaction.
    eprintln!("writing {events} events");
    let payload = vec![b'.'; 200];
    for first in (0..events).step_by(1000) {
        let count = (events - first).min(1000) as usize;
        let ids: Vec<uuid::Uuid> = (0..count).map(|_| uuid::Uuid::now_v7()).collect();
        sqlx::query(
            "INSERT INTO events (province_code, event_id, event_type, aggregate_id, payload, occurred_at)
             SELECT '44', id, 'bench.backlog.v1', id, $2, now() FROM UNNEST($1::uuid[]) AS t(id)",
        )
        .bind(&ids)
        .bind(&payload)
        .execute(&pool)
        .await
        .expect("backlog");
    }
    let backlog: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .expect("count");
    let admin = token(&url, "national-admin").await;
    let agency = token(&url, "province:44").await;
    let platform = token(&url, "platform:meituan").await;

    eprintln!("sequencing {backlog} events");
    let started = Instant::now();
    let server = start_server(&url).await;
    while numbered(&pool).await < backlog {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sequencing_seconds = started.elapsed().as_secs_f64();
    // The backlog arrived in one burst a service never sees: let autovacuum's work on it (and the
    // statistics it gathers) happen before, not during, the catch-up measured below.
    sqlx::query("VACUUM (ANALYZE) events, province_log")
        .execute(&pool)
        .await
        .expect("vacuum");

    eprintln!("catching up over {events} events");
    let mut federation = FederationServiceClient::new(server.channel.clone());
    let started = Instant::now();
    let mut stream = federation
        .stream_events(authed(
            pb::StreamEventsRequest {
                province_code: "44".into(),
                after_seq: 0,
                after_hash: String::new(),
                follow: false,
            },
            &agency,
        ))
        .await
        .expect("stream")
        .into_inner();
    let mut received = 0_i64;
    let mut last_hash = String::new();
    while let Some(event) = stream.message().await.expect("event") {
        received += 1;
        last_hash = event.chain_hash;
    }
    let catch_up_seconds = started.elapsed().as_secs_f64();
    let head = federation
        .get_digest(authed(
            pb::GetDigestRequest {
                province_code: "44".into(),
                seq: 0,
            },
            &admin,
        ))
        .await
        .expect("digest")
        .into_inner();
    assert_eq!(head.head_hash, last_hash, "the copy ends at the head");

    eprintln!("{writes} enrolments, 8 at a time, followed live");
    let committed: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let follower = {
        let (mut federation, agency, arrived) =
            (federation.clone(), agency.clone(), Arc::clone(&arrived));
        let after = (head.head_seq, head.head_hash.clone());
        tokio::spawn(async move {
            let mut stream = federation
                .stream_events(authed(
                    pb::StreamEventsRequest {
                        province_code: "44".into(),
                        after_seq: after.0,
                        after_hash: after.1,
                        follow: true,
                    },
                    &agency,
                ))
                .await
                .expect("follow")
                .into_inner();
            let mut seen = 0;
            while let Some(event) = stream.message().await.expect("event") {
                arrived
                    .lock()
                    .expect("lock")
                    .insert(event.aggregate_id, Instant::now());
                seen += 1;
                if seen == writes {
                    return;
                }
            }
        })
    };
    let started = Instant::now();
    let mut lanes = Vec::new();
    for lane in 0..8_u64 {
        let (channel, platform, committed) = (
            server.channel.clone(),
            platform.clone(),
            Arc::clone(&committed),
        );
        lanes.push(tokio::spawn(async move {
            let mut client = EnrolmentServiceClient::new(channel);
            for n in (lane..writes).step_by(8) {
                let request = enrol_request("live", n);
                let enrolment = client
                    .enrol_worker(authed(request, &platform))
                    .await
                    .expect("enrol")
                    .into_inner()
                    .enrolment
                    .expect("enrolment");
                committed
                    .lock()
                    .expect("lock")
                    .insert(enrolment.enrolment_id, Instant::now());
            }
        }));
    }
    for lane in lanes {
        lane.await.expect("lane");
    }
    let write_seconds = started.elapsed().as_secs_f64();
    tokio::time::timeout(Duration::from_secs(60), follower)
        .await
        .expect("the follower gets every event")
        .expect("follower");
    let (committed, arrived) = (
        committed.lock().expect("lock").clone(),
        arrived.lock().expect("lock").clone(),
    );
    let mut latencies: Vec<Duration> = committed
        .iter()
        .filter_map(|(id, at)| {
            arrived
                .get(id)
                .map(|seen| seen.saturating_duration_since(*at))
        })
        .collect();
    latencies.sort();
    assert_eq!(
        latencies.len() as u64,
        writes,
        "every write reached the follower"
    );
    server.stop();

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| sequencer, backlog of {backlog} committed events | {sequencing_seconds:.1} s, {:.0} events/s |",
        backlog as f64 / sequencing_seconds
    );
    println!(
        "| StreamEvents catch-up, province 44 from seq 0 | {received} events in {catch_up_seconds:.1} s, {:.0} events/s |",
        received as f64 / catch_up_seconds
    );
    println!(
        "| commit → follower, {writes} EnrolWorker calls 8 at a time ({:.0}/s) | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
        writes as f64 / write_seconds,
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
    pool.close().await;
    finish("federation", embedded).await;
}
