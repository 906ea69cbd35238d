//! PII key rotation through the `flexcover` binary: rows written under k1, `admin add-pii-key`
//! adds k2, new writes go under k2, `admin reseal` re-seals the rest in batches while serve runs
//! (a run stopped early continues on the next), k1 is refused retirement while in use and retired
//! once unused, and serve on the ring without k1 still reads everything and finds people by ID
//! number (the blind index outlived k1).
use crate::claims::report_request;
use crate::helpers::*;
use flexcover::pb;
use flexcover::pii::{PiiKeys, Sealed};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use tonic::transport::Channel;

struct Serve {
    child: Option<Child>,
    channel: Channel,
}

impl Drop for Serve {
    /// A failed assertion must not leave serve running (holding the test's output open).
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn flexcover(url: &str, key_file: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .env("DATABASE_URL", url)
        .env_remove("FLEXCOVER_PII_KEY")
        .env("FLEXCOVER_PII_KEY_FILE", key_file)
        .env("FLEXCOVER_LOG", "warn")
        .stdin(Stdio::null());
    command
}

fn run(url: &str, key_file: &Path, args: &[&str]) -> Output {
    flexcover(url, key_file)
        .args(args)
        .output()
        .expect("run flexcover")
}

fn ok(output: Output) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

async fn start(url: &str, key_file: &Path) -> Serve {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut child = flexcover(url, key_file)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start serve");
    for _ in 0..300 {
        if let Ok(channel) = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .connect()
            .await
        {
            return Serve {
                child: Some(child),
                channel,
            };
        }
        assert!(child.try_wait().expect("poll").is_none(), "serve exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("serve did not start");
}

impl Serve {
    async fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait");
        assert!(status.success(), "serve stopped cleanly");
    }

    fn enrolments(&self) -> pb::enrolment_service_client::EnrolmentServiceClient<Channel> {
        pb::enrolment_service_client::EnrolmentServiceClient::new(self.channel.clone())
    }
}

async fn enrol(serve: &Serve, token: &str, from: u32, to: u32) {
    let mut client = serve.enrolments();
    for n in from..to {
        client
            .enrol_worker(authed(
                enrol_request(&format!("rot-{n}"), &id_number("440305", "19900315", n)),
                token,
            ))
            .await
            .expect("enrolled");
    }
}

/// Key ids per sealed table, as `table:key_id` strings, sorted and deduplicated.
async fn key_ids(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT DISTINCT k FROM (
            SELECT 'persons:' || id_key_id AS k FROM persons
            UNION ALL SELECT 'enrolments:' || pii_key_id FROM enrolments
            UNION ALL SELECT 'claims:' || description_key_id FROM claims
            UNION ALL SELECT 'idempotency_keys:' || response_key_id FROM idempotency_keys
             WHERE response_key_id IS NOT NULL) t ORDER BY k",
    )
    .fetch_all(pool)
    .await
    .expect("key ids")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flexcover-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[tokio::test]
async fn a_second_pii_key_takes_over_and_the_first_is_retired_once_reseal_empties_it() {
    let database = fresh_database().await;
    let url = database_url(&admin_url(), &database);
    let dir = temp_dir("key-rotation");
    let key_file = dir.join("pii.key");
    PiiKeys::write_file(&key_file, &format!("{}\n", PiiKeys::generate_text())).expect("k1");

    // Under k1: a claim (through an in-process server, whose clock can sit on the claim's day)
    // and enrolments through the binary.
    let claim_id = {
        let ring = PiiKeys::load_file(&key_file).expect("ring");
        let app = spawn_app_keyed(&url, database.clone(), Default::default(), ring).await;
        app.seed_pilot().await;
        flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
            .await
            .expect("rates");
        let meituan = app.token("platform:meituan").await;
        app.enrolment_client()
            .await
            .enrol_worker(authed(enrol_request("e1", STANDARD_ID), &meituan))
            .await
            .expect("enrolled");
        crate::claims::record_order(
            &app,
            &meituan,
            "order-1",
            "2026-06-14T02:00:00Z",
            "2026-06-14T02:30:00Z",
        )
        .await;
        let claim = pb::claim_service_client::ClaimServiceClient::new(app.channel().await)
            .report_incident(authed(
                report_request("c1", STANDARD_ID, "2026-06-14T02:10:00Z"),
                &meituan,
            ))
            .await
            .expect("reported")
            .into_inner();
        app.stop().await;
        claim.claim_id
    };
    let pool = flexcover::store::connect(&url, 2).await.expect("pool");
    let (token, _) = ok(run(
        &url,
        &key_file,
        &["admin", "create-token", "--role", "platform:meituan"],
    ));
    let token = token.trim().to_owned();
    let (agency, _) = ok(run(
        &url,
        &key_file,
        &["admin", "create-token", "--role", "province:44"],
    ));
    let agency = agency.trim().to_owned();
    let serve = start(&url, &key_file).await;
    enrol(&serve, &token, 1, 6).await;
    let first_reply = serve
        .enrolments()
        .enrol_worker(authed(
            enrol_request("rot-1", &id_number("440305", "19900315", 1)),
            &token,
        ))
        .await
        .expect("replayed")
        .into_inner();
    serve.stop().await;
    assert_eq!(
        key_ids(&pool).await,
        [
            "claims:k1",
            "enrolments:k1",
            "idempotency_keys:k1",
            "persons:k1"
        ]
    );

    // k2 added: new writes use it, old rows still read.
    let (_, added) = ok(run(&url, &key_file, &["admin", "add-pii-key"]));
    assert!(added.contains("added PII key k2"), "{added}");
    let ring_text = std::fs::read_to_string(&key_file).expect("ring");
    assert!(ring_text.contains("blind-index:") && ring_text.contains("\nk2:"));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file)
            .expect("key file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the rewritten key file stays private");
    let serve = start(&url, &key_file).await;
    enrol(&serve, &token, 6, 9).await;
    // The in-process server's clock sat in June; these three were written just now.
    let new_key: Vec<String> = sqlx::query_scalar(
        "(SELECT pii_key_id FROM enrolments ORDER BY created_at DESC LIMIT 3)
         UNION (SELECT id_key_id FROM persons ORDER BY created_at DESC LIMIT 3)",
    )
    .fetch_all(&pool)
    .await
    .expect("new rows");
    assert_eq!(new_key, ["k2"], "new writes are sealed under k2");
    assert!(key_ids(&pool).await.contains(&"enrolments:k1".to_owned()));

    let refused = run(&url, &key_file, &["admin", "retire-pii-key", "--id", "k1"]);
    assert!(!refused.status.success(), "k1 is still in use");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("reseal"));

    // A reseal stopped early leaves the rest; the next run, while serve takes writes, finishes.
    let (_, partial) = ok(run(
        &url,
        &key_file,
        &["admin", "reseal", "--batch-size", "2", "--max-rows", "3"],
    ));
    assert!(partial.contains("run it again to continue"), "{partial}");
    let (usage, _) = ok(run(&url, &key_file, &["admin", "pii-key-usage"]));
    assert!(usage.contains("k1: in use by"), "{usage}");
    assert!(usage.contains("k2: current"), "{usage}");
    let writes = {
        let serve_channel = serve.channel.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let mut client =
                pb::enrolment_service_client::EnrolmentServiceClient::new(serve_channel);
            for n in 9..15 {
                client
                    .enrol_worker(authed(
                        enrol_request(&format!("rot-{n}"), &id_number("440305", "19900315", n)),
                        &token,
                    ))
                    .await
                    .expect("enrolled during the reseal");
            }
        })
    };
    let (_, full) = ok(run(
        &url,
        &key_file,
        &["admin", "reseal", "--batch-size", "2"],
    ));
    writes.await.expect("writes");
    assert!(full.contains("0 left under keys other than k2"), "{full}");
    assert!(full.contains("persons done"), "progress per table: {full}");
    assert_eq!(
        key_ids(&pool).await,
        [
            "claims:k2",
            "enrolments:k2",
            "idempotency_keys:k2",
            "persons:k2"
        ]
    );
    let (usage, _) = ok(run(&url, &key_file, &["admin", "pii-key-usage"]));
    assert!(usage.contains("k1: unused"), "{usage}");
    ok(run(
        &url,
        &key_file,
        &["admin", "retire-pii-key", "--id", "k1"],
    ));
    let ring_text = std::fs::read_to_string(&key_file).expect("ring");
    assert!(!ring_text.contains("k1:"), "k1 is gone: {ring_text}");
    serve.stop().await;

    // Without k1: every sealed value opens, replays answer as before, people are found by ID.
    let ring = PiiKeys::load_file(&key_file).expect("k2 ring");
    assert_eq!(ring.key_ids(), ["k2"]);
    let rows: Vec<(uuid::Uuid, Vec<u8>, Vec<u8>, String)> = sqlx::query_as(
        "SELECT enrolment_id, name_ciphertext, phone_ciphertext, pii_key_id FROM enrolments",
    )
    .fetch_all(&pool)
    .await
    .expect("enrolments");
    assert_eq!(rows.len(), 15);
    for (id, name, phone, key_id) in rows {
        for bytes in [name, phone] {
            let sealed = Sealed {
                key_id: key_id.clone(),
                bytes,
            };
            ring.open(&sealed, id.as_bytes()).expect("opens under k2");
        }
    }
    let serve = start(&url, &key_file).await;
    let replay = serve
        .enrolments()
        .enrol_worker(authed(
            enrol_request("rot-1", &id_number("440305", "19900315", 1)),
            &token,
        ))
        .await
        .expect("replayed under k2")
        .into_inner();
    assert_eq!(replay, first_reply);
    let found = serve
        .enrolments()
        .find_enrolments_by_id_number(authed(
            pb::FindEnrolmentsByIdNumberRequest {
                id_number: id_number("440305", "19900315", 3),
            },
            &token,
        ))
        .await
        .expect("found")
        .into_inner();
    assert_eq!(found.enrolments.len(), 1, "the blind index outlived k1");
    let claim = pb::claim_service_client::ClaimServiceClient::new(serve.channel.clone())
        .get_claim(authed(pb::GetClaimRequest { claim_id }, &agency))
        .await
        .expect("claim")
        .into_inner();
    assert_eq!(
        claim.description,
        "fell from the e-bike at a crossing; left wrist fractured"
    );
    let person_key: Vec<u8> = sqlx::query_scalar("SELECT person_key FROM persons LIMIT 1")
        .fetch_one(&pool)
        .await
        .expect("a person");
    let person = pb::federation_service_client::FederationServiceClient::new(serve.channel.clone())
        .resolve_person(authed(
            pb::ResolvePersonRequest {
                province_code: "44".into(),
                person_key: hex::encode(person_key),
            },
            &agency,
        ))
        .await
        .expect("resolved")
        .into_inner();
    assert_eq!(person.id_number.len(), 18);
    serve.stop().await;

    // A ring that lost its blind index is refused before it can index anyone wrongly.
    let k2_alone: String = ring_text
        .lines()
        .filter(|line| line.starts_with("k2:"))
        .collect();
    std::fs::write(&key_file, k2_alone).expect("ring without its blind index");
    let refused = run(&url, &key_file, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("blind index"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
