//! `flexcover follow`, the reference subscriber, as an agency runs it: it copies a province's
//! events, resumes after kill -9 with no gap and no duplicate, and `--verify` proves the copy or
//! finds where a diverged copy parts from the server's.
use crate::helpers::*;
use flexcover::domain::chain;
use std::process::Stdio;
// tokio's: the test's own server runs on the test's runtime, so waiting for the CLI must not block it.
use std::time::Duration;
use tokio::process::Command;

fn follow(app: &TestApp, token_file: &std::path::Path, state: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .args(["follow", "--province", "44", "--server"])
        .arg(format!("http://{}", app.addr))
        .arg("--token-file")
        .arg(token_file)
        .arg("--state")
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `follow --once` to catch the copy up; it must succeed.
async fn resume_once(app: &TestApp, token_file: &std::path::Path, state: &std::path::Path) {
    let once = follow(app, token_file, state)
        .arg("--once")
        .output()
        .await
        .expect("resume");
    assert!(
        once.status.success(),
        "{}",
        String::from_utf8_lossy(&once.stderr)
    );
}

fn lines(state: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(state.join("events.tsv"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn enrol(app: &TestApp, token: &str, n: u32) {
    app.enrolment_client()
        .await
        .enrol_worker(authed(
            enrol_request(&format!("e{n}"), &id_number("440305", "19900315", n)),
            token,
        ))
        .await
        .expect("enrolled");
}

async fn head(app: &TestApp, token: &str) -> i64 {
    flexcover::pb::federation_service_client::FederationServiceClient::new(app.channel().await)
        .get_digest(authed(
            flexcover::pb::GetDigestRequest {
                province_code: "44".into(),
                seq: 0,
            },
            token,
        ))
        .await
        .expect("digest")
        .into_inner()
        .head_seq
}

async fn wait_for_head(app: &TestApp, token: &str, seq: i64) {
    for _ in 0..100 {
        if head(app, token).await >= seq {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never reached seq {seq}");
}

#[tokio::test]
async fn follow_copies_resumes_after_kill_9_and_verifies() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let agency = app.token("province:44").await;
    let dir = std::env::temp_dir().join(format!("flexcover-follow-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let token_file = dir.join("agency.token");
    std::fs::write(&token_file, &agency).expect("token file");
    let state = dir.join("copy");
    for n in 0..3 {
        enrol(&app, &meituan, n).await;
    }
    wait_for_head(&app, &agency, 3).await;

    // Live, then killed with SIGKILL while more events arrive.
    let mut live = follow(&app, &token_file, &state).spawn().expect("follow");
    for n in 3..8 {
        enrol(&app, &meituan, n).await;
    }
    wait_for_head(&app, &agency, 8).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    live.kill().await.expect("kill -9");
    for n in 8..10 {
        enrol(&app, &meituan, n).await;
    }
    wait_for_head(&app, &agency, 10).await;
    resume_once(&app, &token_file, &state).await;
    let copied = lines(&state);
    let seqs: Vec<i64> = copied
        .iter()
        .map(|l| {
            l.split('\t')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("seq")
        })
        .collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<i64>>(), "no gap, no duplicate");

    let verified = follow(&app, &token_file, &state)
        .arg("--verify")
        .output()
        .await
        .expect("verify");
    assert_eq!(verified.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&verified.stdout).starts_with("same: seq 10"));

    // A copy that diverged at seq 4 but is internally consistent: verify finds where.
    let mut previous = chain::GENESIS.to_vec();
    let rewritten: Vec<String> = copied
        .iter()
        .map(|line| {
            let mut fields: Vec<String> = line.split('\t').map(str::to_owned).collect();
            let seq: i64 = fields[0].parse().expect("seq");
            if seq == 4 {
                fields[4] = "AAAA".into(); // another payload
            }
            let payload = base64_decode(&fields[4]);
            let id = uuid::Uuid::parse_str(&fields[1]).expect("id");
            previous = chain::link(&previous, seq, id, &payload);
            fields[5] = hex::encode(&previous);
            fields.join("\t")
        })
        .collect();
    std::fs::write(state.join("events.tsv"), rewritten.join("\n") + "\n").expect("rewrite");
    let diverged = follow(&app, &token_file, &state)
        .arg("--verify")
        .output()
        .await
        .expect("verify");
    assert_eq!(diverged.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&diverged.stdout).contains("part at seq 4"),
        "{}",
        String::from_utf8_lossy(&diverged.stdout)
    );

    // A copy whose own chain is broken (a payload changed, its hash not): exit 4, naming the seq.
    let broken: Vec<String> = copied
        .iter()
        .map(|line| {
            let mut fields: Vec<String> = line.split('\t').map(str::to_owned).collect();
            if fields[0] == "6" {
                fields[4] = "AAAA".into();
            }
            fields.join("\t")
        })
        .collect();
    std::fs::write(state.join("events.tsv"), broken.join("\n") + "\n").expect("rewrite");
    let broken = follow(&app, &token_file, &state)
        .arg("--verify")
        .output()
        .await
        .expect("verify");
    let said = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(4), "{said}");
    assert!(said.contains("own chain breaks at seq 6"), "{said}");

    // A column the chain hash does not cover (the event type) changed: still found, exit 4.
    let retyped: Vec<String> = copied
        .iter()
        .map(|line| {
            let mut fields: Vec<String> = line.split('\t').map(str::to_owned).collect();
            if fields[0] == "7" {
                fields[2] = "enrolment.closed.v1".into();
            }
            fields.join("\t")
        })
        .collect();
    std::fs::write(state.join("events.tsv"), retyped.join("\n") + "\n").expect("rewrite");
    let retyped = follow(&app, &token_file, &state)
        .arg("--verify")
        .output()
        .await
        .expect("verify");
    let said = String::from_utf8_lossy(&retyped.stdout);
    assert_eq!(retyped.status.code(), Some(4), "{said}");
    assert!(said.contains("part at seq 7 (event_type)"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

#[tokio::test]
async fn follow_killed_mid_catch_up_with_a_torn_line_resumes_without_gap_or_duplicate() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let agency = app.token("province:44").await;
    let requests: Vec<_> = (0..3000)
        .map(|n| {
            let birth = format!("1985010{}", n / 1000 + 1);
            enrol_request(&format!("b{n}"), &id_number("440305", &birth, n % 1000))
        })
        .collect();
    let mut results = app
        .enrolment_client()
        .await
        .batch_enrol_workers(authed(tokio_stream::iter(requests), &meituan))
        .await
        .expect("batch")
        .into_inner();
    while results.message().await.expect("result").is_some() {}
    wait_for_head(&app, &agency, 3000).await;
    let total = head(&app, &agency).await;
    let dir = std::env::temp_dir().join(format!("flexcover-follow-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let token_file = dir.join("agency.token");
    std::fs::write(&token_file, &agency).expect("token file");
    let state = dir.join("copy");

    // Killed as soon as part of the copy is written.
    let mut live = follow(&app, &token_file, &state).spawn().expect("follow");
    for _ in 0..2000 {
        if lines(&state).len() > 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    live.kill().await.expect("kill -9");
    let before = lines(&state).len() as i64;
    assert!(
        before > 0 && before < total,
        "killed mid-way: {before} of {total} events copied"
    );
    // A crash can tear the last line: half of the next event, no newline.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(state.join("events.tsv"))
        .expect("copy");
    std::io::Write::write_all(&mut file, format!("{}\t01a2", before + 1).as_bytes())
        .expect("torn line");
    drop(file);

    resume_once(&app, &token_file, &state).await;
    let seqs: Vec<i64> = lines(&state)
        .iter()
        .map(|l| {
            l.split('\t')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("seq")
        })
        .collect();
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<i64>>(),
        "no gap, no duplicate, torn line cut"
    );
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}
