//! Federation events kept until their province has acknowledged them (issue 17): AcknowledgeEvents
//! checks the hash against the chain and never moves back; `flexcover admin maintain` (the binary)
//! purges only acknowledged events past the retention's days, of that province only, in batches,
//! once; afterwards streams from the acknowledged cursor and digests at or after the purge point
//! still verify, and reads below it are OUT_OF_RANGE saying how far the log was purged; a stream
//! catching up when the purge passes its cursor ends OUT_OF_RANGE, never with a gap; `follow
//! --acknowledge` acknowledges and `follow --verify` still proves its copy after the purge.
use crate::helpers::*;
use flexcover::domain::chain;
use flexcover::pb;
use flexcover::pb::federation_service_client::FederationServiceClient;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tonic::Code;
use tonic::transport::Channel;

const KEY: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flexcover"))
        .env("DATABASE_URL", url)
        .env("FLEXCOVER_PII_KEY", KEY)
        .env_remove("FLEXCOVER_PII_KEY_FILE")
        .env_remove("FLEXCOVER_MAINTENANCE_INTERVAL_SECS")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .expect("run flexcover")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn federation(app: &TestApp) -> FederationServiceClient<Channel> {
    FederationServiceClient::new(app.channel().await)
}

async fn enrol(app: &TestApp, token: &str, n: u32, place: &str) {
    let mut request = enrol_request(&format!("r{n}"), &id_number(place, "19900315", n));
    request.place_of_employment = place.into();
    app.enrolment_client()
        .await
        .enrol_worker(authed(request, token))
        .await
        .expect("enrolled");
}

async fn digest(
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
async fn settled(app: &TestApp, token: &str, province: &str) -> pb::Digest {
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

async fn stream(
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
fn verify_chain(events: &[pb::FederatedEvent], mut previous: Vec<u8>, after_seq: i64) -> String {
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

async fn acknowledge(
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

async fn rows(app: &TestApp, table: &str, province: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table} WHERE province_code = '{province}'"
    )))
    .fetch_one(&app.pool)
    .await
    .expect("count")
}

/// The `events province=…` line of `maintain`'s output, if any.
fn purge_line(output: &str, province: &str) -> Option<String> {
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
    let kept = stdout(&run(&url, &["admin", "maintain"]));
    assert_eq!(purge_line(&kept, "44"), None, "{kept}");
    assert_eq!(rows(&app, "province_log", "44").await, head44.head_seq);

    let refused = run(
        &url,
        &["admin", "set-retention", "--event-days-after-ack", "3651"],
    );
    assert!(!refused.status.success(), "{refused:?}");
    let set = stdout(&run(
        &url,
        &["admin", "set-retention", "--event-days-after-ack", "7"],
    ));
    assert!(set.trim().ends_with("event_days_after_ack=7"), "{set}");

    // Seven days now: purged, one event per batch, only up to the acknowledgement, only in 44.
    let first = stdout(&run(&url, &["admin", "maintain", "--batch-size", "1"]));
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

    let second = stdout(&run(&url, &["admin", "maintain"]));
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

/// `flexcover` run without blocking the test's runtime (the test's server runs on it).
async fn run_async(url: &str, args: &[&str]) -> Output {
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

#[tokio::test]
async fn follow_acknowledges_and_its_copy_still_verifies_after_the_purge() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let agency = app.token("province:44").await;
    let dir = std::env::temp_dir().join(format!("flexcover-ack-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let token_file = dir.join("agency.token");
    std::fs::write(&token_file, &agency).expect("token file");
    let state = dir.join("copy");
    let follow = |extra: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_flexcover"));
        command
            .args(["follow", "--province", "44", "--server"])
            .arg(format!("http://{}", app.addr))
            .arg("--token-file")
            .arg(&token_file)
            .arg("--state")
            .arg(&state)
            .args(extra)
            .stdin(Stdio::null());
        command
    };
    for n in 1..=3 {
        enrol(&app, &meituan, n, "440305").await;
    }
    let head = settled(&app, &agency, "44").await;
    let once = follow(&["--once", "--acknowledge"])
        .output()
        .await
        .expect("follow");
    let said = String::from_utf8_lossy(&once.stderr);
    assert!(once.status.success(), "{said}");
    assert!(
        said.contains(&format!("acknowledged seq {}", head.head_seq)),
        "{said}"
    );

    let url = database_url(&admin_url(), &app.database);
    let set = run_async(
        &url,
        &["admin", "set-retention", "--event-days-after-ack", "0"],
    )
    .await;
    assert!(stdout(&set).contains("event_days_after_ack=0"));
    let purged = stdout(&run_async(&url, &["admin", "maintain"]).await);
    assert!(
        purged.contains(&format!(
            "events province=44 purged={0} batches=1 purged_through_seq={0}",
            head.head_seq
        )),
        "{purged}"
    );
    assert_eq!(
        rows(&app, "province_log", "44").await,
        0,
        "all acknowledged"
    );

    // The copy proves itself through the hash kept at the purge point; following resumes.
    let verified = follow(&["--verify"]).output().await.expect("verify");
    let said = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{said}");
    assert!(
        said.starts_with(&format!("same: seq {}", head.head_seq)),
        "{said}"
    );
    enrol(&app, &meituan, 4, "440305").await;
    let newer = settled(&app, &agency, "44").await;
    let resumed = follow(&["--once"]).output().await.expect("resume");
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let verified = follow(&["--verify"]).output().await.expect("verify");
    let said = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{said}");
    assert!(
        said.starts_with(&format!("same: seq {}", newer.head_seq)),
        "{said}"
    );

    // A copy that diverged before the purge point (consistent in itself): found, exit 4.
    let text = std::fs::read_to_string(state.join("events.tsv")).expect("copy");
    let mut previous = chain::GENESIS.to_vec();
    let rewritten: Vec<String> = text
        .lines()
        .map(|line| {
            let mut fields: Vec<String> = line.split('\t').map(str::to_owned).collect();
            let seq: i64 = fields[0].parse().expect("seq");
            if seq == 1 {
                fields[2] = "enrolment.closed.v1".into();
                fields[4] = "AAAA".into();
            }
            use base64::Engine;
            let payload = base64::engine::general_purpose::STANDARD
                .decode(&fields[4])
                .expect("base64");
            let id = uuid::Uuid::parse_str(&fields[1]).expect("id");
            previous = chain::link(&previous, seq, id, &payload);
            fields[5] = hex::encode(&previous);
            fields.join("\t")
        })
        .collect();
    std::fs::write(state.join("events.tsv"), rewritten.join("\n") + "\n").expect("rewrite");
    let diverged = follow(&["--verify"]).output().await.expect("verify");
    let said = String::from_utf8_lossy(&diverged.stdout);
    assert_eq!(diverged.status.code(), Some(4), "{said}");
    assert!(
        said.contains(&format!("at or before seq {}", head.head_seq)),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}

#[tokio::test]
async fn a_stream_catching_up_when_the_purge_passes_its_cursor_ends_out_of_range_without_a_gap() {
    let app = spawn_app().await;
    let admin = app.token("national-admin").await;
    // Many more events than the pages a stream reads ahead of a subscriber that does not read.
    sqlx::query(
        "INSERT INTO events (province_code, event_id, event_type, aggregate_id, payload, occurred_at)
         SELECT '44', id, 'test.backlog.v1', id, convert_to(id::text, 'UTF8'), now()
         FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, 40000)) t",
    )
    .execute(&app.pool)
    .await
    .expect("backlog");
    let head = settled(&app, &admin, "44").await;
    let request = pb::StreamEventsRequest {
        province_code: "44".into(),
        after_seq: 0,
        after_hash: String::new(),
        follow: false,
    };
    let mut events = federation(&app)
        .await
        .stream_events(authed(request, &admin))
        .await
        .expect("stream")
        .into_inner();
    let mut received = vec![events.message().await.expect("first").expect("an event")];
    // The relay reads a few pages ahead, then waits for the subscriber.
    tokio::time::sleep(Duration::from_millis(500)).await;
    acknowledge(&app, &admin, "44", head.head_seq, &head.head_hash)
        .await
        .expect("acknowledged");
    let url = database_url(&admin_url(), &app.database);
    assert!(
        stdout(
            &run_async(
                &url,
                &["admin", "set-retention", "--event-days-after-ack", "0"]
            )
            .await
        )
        .contains("event_days_after_ack=0")
    );
    let purged = stdout(&run_async(&url, &["admin", "maintain"]).await);
    assert!(
        purged.contains(&format!("purged_through_seq={}", head.head_seq)),
        "{purged}"
    );
    let ended = loop {
        match events.message().await {
            Ok(Some(event)) => received.push(event),
            Ok(None) => break None,
            Err(status) => break Some(status),
        }
    };
    let status = ended.expect("the stream ends with a status, not quietly");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("purged after acknowledgement"),
        "{status:?}"
    );
    assert!(
        (received.len() as i64) < head.head_seq,
        "the purge passed the stream"
    );
    // What arrived before is gapless and verifies.
    verify_chain(&received, chain::GENESIS.to_vec(), 0);
    app.stop().await;
}
