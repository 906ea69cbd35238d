//! Acknowledged events purged under subscribers: a stream catching up when the purge passes its
//! cursor ends OUT_OF_RANGE, never with a gap; `follow --acknowledge` acknowledges, and `follow
//! --verify` still proves its copy after the purge (through the hash kept at the purge point).
use crate::event_retention::*;
use crate::helpers::*;
use flexcover::domain::chain;
use flexcover::pb;
use std::process::Stdio;
use std::time::Duration;
use tonic::Code;

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
