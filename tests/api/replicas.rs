//! Two `flexcover serve` processes on one database, written to through both at once: event
//! numbering stays gapless and unique, and when one is killed the other's sequencer carries on.
use crate::helpers::*;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tonic::transport::Channel;

struct Replica {
    child: Child,
    channel: Channel,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn start(url: &str, pii_key: &str) -> Replica {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flexcover"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", url)
        .env("FLEXCOVER_PII_KEY", pii_key)
        .env("FLEXCOVER_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a replica");
    for _ in 0..200 {
        if let Ok(channel) = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .connect()
            .await
        {
            return Replica { child, channel };
        }
        assert!(child.try_wait().expect("poll").is_none(), "replica exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("replica did not start");
}

async fn enrol_through(channel: Channel, token: String, from: u32, to: u32) {
    let mut client = EnrolmentServiceClient::new(channel);
    for n in from..to {
        client
            .enrol_worker(authed(
                enrol_request(&format!("r{n}"), &id_number("440305", "19900315", n)),
                &token,
            ))
            .await
            .expect("enrolled");
    }
}

/// Waits until every event is numbered; panics after `within`.
async fn all_numbered(pool: &sqlx::PgPool, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (events, numbered): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM province_log)",
        )
        .fetch_one(pool)
        .await
        .expect("counts");
        if events == numbered {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{numbered} of {events} events numbered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn assert_gapless(pool: &sqlx::PgPool) {
    let (rows, max, distinct_events): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), COALESCE(max(seq), 0), count(DISTINCT event_id) FROM province_log
         WHERE province_code = '44'",
    )
    .fetch_one(pool)
    .await
    .expect("log");
    assert_eq!(
        (rows, distinct_events),
        (max, max),
        "gapless from 1, each event once"
    );
}

#[tokio::test]
async fn two_replicas_number_gaplessly_and_one_takes_over_when_the_other_dies() {
    let url = fresh_database_url().await;
    let pool = flexcover::store::connect(&url, 4).await.expect("pool");
    flexcover::seed::seed_pilot(&pool, chrono::Utc::now())
        .await
        .expect("pilot");
    let token = {
        let mut connection = pool.acquire().await.expect("connection");
        flexcover::api::admin::create_token(
            &mut connection,
            &flexcover::domain::role::Role::parse("platform:meituan").expect("role"),
            "replicas",
            chrono::Utc::now(),
        )
        .await
        .expect("token")
        .token
    };
    let key = flexcover::pii::PiiKeys::generate_text();
    let mut first = start(&url, &key).await;
    let mut second = start(&url, &key).await;
    tokio::join!(
        enrol_through(first.channel.clone(), token.clone(), 0, 30),
        enrol_through(second.channel.clone(), token.clone(), 30, 60),
    );
    all_numbered(&pool, Duration::from_secs(10)).await;
    assert_gapless(&pool).await;

    // Whichever was sequencing, kill -9 one: the other's passes carry on within seconds.
    first.child.kill().expect("kill -9");
    let _ = first.child.wait();
    enrol_through(second.channel.clone(), token.clone(), 60, 70).await;
    all_numbered(&pool, Duration::from_secs(5)).await;
    assert_gapless(&pool).await;
    let enrolments: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM province_log l JOIN events e USING (province_code, event_id)
         WHERE e.event_type = 'enrolment.opened.v1'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(
        enrolments, 70,
        "every enrolment through either replica, numbered once"
    );
    let _ = second.child.kill();
    let _ = second.child.wait();
}
