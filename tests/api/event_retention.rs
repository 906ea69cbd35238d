//! Federation events kept until their province has acknowledged them (issue 17): AcknowledgeEvents
//! checks the hash against the chain and never moves back; `flexcover admin maintain` (the binary)
//! purges only acknowledged events past the retention's days, of that province only, in batches,
//! once; afterwards streams from the acknowledged cursor and digests at or after the purge point
//! still verify, and reads below it are OUT_OF_RANGE saying how far the log was purged. The
//! helpers serve `event_retention_streams` too.
use crate::helpers::*;
use flexcover::domain::chain;
use flexcover::pb;
use flexcover::pb::federation_service_client::FederationServiceClient;
use std::process::{Output, Stdio};
use std::time::Duration;
use tonic::Code;
use tonic::transport::Channel;

pub(crate) const KEY: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// `flexcover` run without blocking the test's runtime (the test's server runs on it).
pub(crate) async fn run_async(url: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_flexcover"))
        .env("DATABASE_URL", url)
        .env("FLEXCOVER_PII_KEY", KEY)
        .env_remove("FLEXCOVER_PII_KEY_FILE")
        .env_remove("FLEXCOVER_MAINTENANCE_INTERVAL_SECS")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .await
        .expect("run flexcover")
}

pub(crate) fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) async fn federation(app: &TestApp) -> FederationServiceClient<Channel> {
    FederationServiceClient::new(app.channel().await)
}

pub(crate) async fn enrol(app: &TestApp, token: &str, n: u32, place: &str) {
    let mut request = enrol_request(&format!("r{n}"), &id_number(place, "19900315", n));
    request.place_of_employment = place.into();
    app.enrolment_client()
        .await
        .enrol_worker(authed(request, token))
        .await
        .expect("enrolled");
}

pub(crate) async fn digest(
    app: &TestApp,
    token: &str,
    province: &str,
    seq: i64,
) -> Result<pb::Digest, tonic::Status> {
    let request = pb::GetDigestRequest {
        province_code: province.into(),
        seq,
    };
    Ok(federation(app)
        .await
        .get_digest(authed(request, token))
        .await?
        .into_inner())
}

/// Waits until every event of the province is numbered; its head then.
pub(crate) async fn settled(app: &TestApp, token: &str, province: &str) -> pb::Digest {
    for _ in 0..200 {
        // Purged events are gone from `events` but were numbered up to the purge point.
        let written: i64 = sqlx::query_scalar(
            "SELECT count(*) + coalesce((SELECT seq FROM province_log_checkpoints
                                         WHERE province_code = $1), 0)
             FROM events WHERE province_code = $1",
        )
        .bind(province)
        .fetch_one(&app.pool)
        .await
        .expect("count");
        let head = digest(app, token, province, 0).await.expect("digest");
        if head.head_seq > 0 && head.head_seq >= written {
            return head;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("province {province}'s events were never all numbered");
}

pub(crate) async fn stream(
    app: &TestApp,
    token: &str,
    province: &str,
    (after_seq, after_hash): (i64, &str),
) -> Result<Vec<pb::FederatedEvent>, tonic::Status> {
    let request = pb::StreamEventsRequest {
        province_code: province.into(),
        after_seq,
        after_hash: after_hash.into(),
        follow: false,
    };
    let mut events = federation(app)
        .await
        .stream_events(authed(request, token))
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(event) = events.message().await? {
        out.push(event);
    }
    Ok(out)
}

/// Recomputes the chain over received events from `previous` at `after_seq`, as a subscriber does.
pub(crate) fn verify_chain(
    events: &[pb::FederatedEvent],
    mut previous: Vec<u8>,
    after_seq: i64,
) -> String {
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event.seq, after_seq + 1 + n as i64, "gapless and in order");
        let id = uuid::Uuid::parse_str(&event.event_id).expect("event id");
        previous = chain::link(&previous, event.seq, id, &event.payload);
        assert_eq!(
            hex::encode(&previous),
            event.chain_hash,
            "seq {}",
            event.seq
        );
    }
    hex::encode(previous)
}

pub(crate) async fn acknowledge(
    app: &TestApp,
    token: &str,
    province: &str,
    seq: i64,
    chain_hash: &str,
) -> Result<pb::Acknowledgement, tonic::Status> {
    let request = pb::AcknowledgeEventsRequest {
        province_code: province.into(),
        seq,
        chain_hash: chain_hash.into(),
    };
    Ok(federation(app)
        .await
        .acknowledge_events(authed(request, token))
        .await?
        .into_inner())
}

pub(crate) async fn rows(app: &TestApp, table: &str, province: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table} WHERE province_code = '{province}'"
    )))
    .fetch_one(&app.pool)
    .await
    .expect("count")
}

/// The `events province=…` line of `maintain`'s output, if any.
pub(crate) fn purge_line(output: &str, province: &str) -> Option<String> {
    output
        .lines()
        .find(|line| line.starts_with(&format!("events province={province} ")))
        .map(str::to_owned)
}

#[tokio::test]
async fn acknowledged_events_are_purged_after_their_days_and_the_chain_still_verifies() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let guangdong = app.token("province:44").await;
    let beijing = app.token("province:11").await;
    let admin = app.token("national-admin").await;
    for n in 1..=3 {
        enrol(&app, &meituan, n, "440305").await;
    }
    for n in 4..=5 {
        enrol(&app, &meituan, n, "110105").await;
    }
    let head44 = settled(&app, &admin, "44").await;
    let head11 = settled(&app, &admin, "11").await;
    let events = stream(&app, &guangdong, "44", (0, ""))
        .await
        .expect("stream");
    assert_eq!(
        verify_chain(&events, chain::GENESIS.to_vec(), 0),
        head44.head_hash
    );
    let acked = head44.head_seq - 1;
    assert!(acked >= 2, "at least three events in 44: {head44:?}");
    let acked_hash = events[(acked - 1) as usize].chain_hash.clone();

    // Refused: a hash that is not the chain's, a seq beyond the head, seq 0, another province.
    let wrong = acknowledge(&app, &guangdong, "44", acked, &"ab".repeat(32))
        .await
        .expect_err("wrong hash");
    assert_eq!(wrong.code(), Code::FailedPrecondition, "{wrong:?}");
    let beyond = acknowledge(&app, &guangdong, "44", head44.head_seq + 1, &acked_hash)
        .await
        .expect_err("beyond the head");
    assert_eq!(beyond.code(), Code::OutOfRange, "{beyond:?}");
    let zero = acknowledge(&app, &guangdong, "44", 0, &acked_hash)
        .await
        .expect_err("seq 0");
    assert_field_violation(&zero, "seq");
    let elsewhere = acknowledge(&app, &beijing, "44", acked, &acked_hash)
        .await
        .expect_err("not Beijing's log");
    assert_eq!(elsewhere.code(), Code::PermissionDenied, "{elsewhere:?}");
    assert_eq!(rows(&app, "province_acknowledgements", "44").await, 0);

    // Acknowledged; a lower seq changes nothing.
    let ack = acknowledge(&app, &guangdong, "44", acked, &acked_hash)
        .await
        .expect("acknowledged");
    assert_eq!(
        (ack.seq, ack.chain_hash.as_str()),
        (acked, acked_hash.as_str())
    );
    assert_eq!(ack.purged_through_seq, 0);
    let lower = acknowledge(&app, &admin, "44", 1, &events[0].chain_hash)
        .await
        .expect("a lower seq is a no-op");
    assert_eq!(
        (lower.seq, lower.acknowledged_at),
        (acked, ack.acknowledged_at)
    );

    // Acknowledged ten days ago: the default thirty days keep it.
    sqlx::query(
        "UPDATE province_acknowledgements SET acknowledged_at = now() - interval '10 days'",
    )
    .execute(&app.pool)
    .await
    .expect("backdate");
    let url = database_url(&admin_url(), &app.database);
    let kept = stdout(&run_async(&url, &["admin", "maintain"]).await);
    assert_eq!(purge_line(&kept, "44"), None, "{kept}");
    assert_eq!(rows(&app, "province_log", "44").await, head44.head_seq);

    let refused = run_async(
        &url,
        &["admin", "set-retention", "--event-days-after-ack", "3651"],
    )
    .await;
    assert!(!refused.status.success(), "{refused:?}");
    let set = stdout(
        &run_async(
            &url,
            &["admin", "set-retention", "--event-days-after-ack", "7"],
        )
        .await,
    );
    assert!(set.trim().ends_with("event_days_after_ack=7"), "{set}");

    // Seven days now: purged, one event per batch, only up to the acknowledgement, only in 44.
    let first = stdout(&run_async(&url, &["admin", "maintain", "--batch-size", "1"]).await);
    assert_eq!(
        purge_line(&first, "44").as_deref(),
        Some(
            format!("events province=44 purged={acked} batches={acked} purged_through_seq={acked}")
                .as_str()
        ),
        "{first}"
    );
    assert_eq!(purge_line(&first, "11"), None, "11 acknowledged nothing");
    assert_eq!(
        rows(&app, "province_log", "44").await,
        head44.head_seq - acked
    );
    let events_left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE province_code = '44'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(events_left, head44.head_seq - acked, "the payloads go too");
    assert_eq!(rows(&app, "province_log", "11").await, head11.head_seq);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(rows_removed), 0)::bigint FROM maintenance_log
         WHERE step = 'province_log:44'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("maintenance_log");
    assert_eq!(recorded, acked, "each batch recorded");

    let second = stdout(&run_async(&url, &["admin", "maintain"]).await);
    assert_eq!(
        purge_line(&second, "44"),
        None,
        "nothing left to do: {second}"
    );

    // The head is unchanged; the purge point keeps its hash; below it is OUT_OF_RANGE.
    let after = digest(&app, &guangdong, "44", 0).await.expect("head");
    assert_eq!(
        (after.head_seq, &after.head_hash),
        (head44.head_seq, &head44.head_hash)
    );
    let at_point = digest(&app, &guangdong, "44", acked)
        .await
        .expect("at the purge point");
    assert_eq!(at_point.chain_hash, acked_hash);
    let below = digest(&app, &guangdong, "44", acked - 1)
        .await
        .expect_err("purged");
    assert_eq!(below.code(), Code::OutOfRange, "{below:?}");
    assert!(
        below.message().contains(&format!(
            "events up to seq {acked} of province 44 were purged"
        )),
        "{below:?}"
    );

    // Streaming from the acknowledged cursor continues, and the chain verifies, new events too.
    let rest = stream(&app, &guangdong, "44", (acked, &acked_hash))
        .await
        .expect("from the acknowledged cursor");
    let hash = hex::decode(&acked_hash).expect("hex");
    assert_eq!(verify_chain(&rest, hash.clone(), acked), head44.head_hash);
    enrol(&app, &meituan, 6, "440305").await;
    let newer = settled(&app, &admin, "44").await;
    assert!(newer.head_seq > head44.head_seq);
    let rest = stream(&app, &guangdong, "44", (acked, &acked_hash))
        .await
        .expect("again, with a new event");
    assert_eq!(verify_chain(&rest, hash, acked), newer.head_hash);
    for cursor in [(0, String::new()), (1, events[0].chain_hash.clone())] {
        let gone = stream(&app, &guangdong, "44", (cursor.0, &cursor.1))
            .await
            .expect_err("a cursor below the purge point");
        assert_eq!(gone.code(), Code::OutOfRange, "{gone:?}");
        assert!(
            gone.message().contains("purged after acknowledgement"),
            "{gone:?}"
        );
    }
    // Beijing's log is whole.
    let beijing_events = stream(&app, &beijing, "11", (0, "")).await.expect("11");
    assert_eq!(
        verify_chain(&beijing_events, chain::GENESIS.to_vec(), 0),
        head11.head_hash
    );

    // Below the purge point an acknowledgement cannot be checked, and changes nothing.
    let old = acknowledge(&app, &guangdong, "44", 1, &"cd".repeat(32))
        .await
        .expect("an old acknowledgement");
    assert_eq!((old.seq, old.purged_through_seq), (acked, acked));

    // Outside the purge the log stays append-only, even with a purge declared for what no
    // acknowledgement covers.
    let deleted = sqlx::query("DELETE FROM province_log WHERE province_code = '11'")
        .execute(&app.pool)
        .await;
    assert!(deleted.is_err(), "{deleted:?}");
    let declared = async {
        let mut tx = app.pool.begin().await?;
        sqlx::query("SELECT set_config('flexcover.province_log_purge', '11:100', true)")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM province_log WHERE province_code = '11'")
            .execute(&mut *tx)
            .await
    }
    .await;
    assert!(declared.is_err(), "unacknowledged: {declared:?}");
    assert_eq!(rows(&app, "province_log", "11").await, head11.head_seq);
    app.stop().await;
}
