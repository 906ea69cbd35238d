//! The backup and restore drill of docs/OPERATIONS.md: a registry with enrolments in three
//! provinces, orders, a claim and numbered events is dumped with `pg_dump -Fc`, restored with
//! `pg_restore` into a freshly initialised PostgreSQL cluster, and served from there with the
//! same PII key ring. Proven the same: every table's row count, `GetDigest` for every pilot
//! province (chain hash and head), and sealed data (claim description, ID number) still opens.
//! Run alone with `cargo test --test api -- restore_drill`.
use crate::claims::report_request;
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::federation_service_client::FederationServiceClient;
use flexcover::pii::PiiKeys;
use flexcover::postgres::{EmbeddedOptions, EmbeddedPostgres};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

/// Row counts of every table of the schema.
async fn row_counts(pool: &sqlx::PgPool) -> BTreeMap<String, i64> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut counts = BTreeMap::new();
    for table in tables {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{table}\""
        )))
        .fetch_one(pool)
        .await
        .expect("count");
        counts.insert(table, count);
    }
    counts
}

/// GetDigest at the head of every pilot province.
async fn digests(app: &TestApp, token: &str) -> Vec<pb::Digest> {
    let mut client = FederationServiceClient::new(app.channel().await);
    let mut digests = Vec::new();
    for province in flexcover::domain::pilot::PROVINCES {
        let digest = client
            .get_digest(authed(
                pb::GetDigestRequest {
                    province_code: province.code.into(),
                    seq: 0,
                },
                token,
            ))
            .await
            .expect("digest")
            .into_inner();
        digests.push(digest);
    }
    digests
}

/// Waits until the sequencer has numbered every event.
async fn all_numbered(pool: &sqlx::PgPool) {
    for _ in 0..200 {
        let (events, numbered): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM province_log)",
        )
        .fetch_one(pool)
        .await
        .expect("counts");
        if events == numbered {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("events were not all numbered");
}

fn run(command: &mut Command) {
    let output = command.output().expect("run a PostgreSQL client tool");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn restore_drill_a_dump_restored_into_a_fresh_cluster_serves_the_same_registry() {
    let ring_text = PiiKeys::generate_text();
    let database = fresh_database().await;
    let url = database_url(&admin_url(), &database);
    let ring = || PiiKeys::parse(&ring_text).expect("ring");
    let app = spawn_app_keyed(&url, database.clone(), Default::default(), ring()).await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    let meituan = app.token("platform:meituan").await;
    let admin = app.token("national-admin").await;
    let agency = app.token("province:44").await;
    let mut enrolments = app.enrolment_client().await;
    for (n, place) in [(1, "440305"), (2, "110105"), (3, "310115"), (4, "440106")] {
        let mut request = enrol_request(&format!("d{n}"), &id_number("440305", "19900315", n));
        request.place_of_employment = place.into();
        enrolments
            .enrol_worker(authed(request, &meituan))
            .await
            .expect("enrolled");
    }
    enrolments
        .enrol_worker(authed(enrol_request("d0", STANDARD_ID), &meituan))
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
    all_numbered(&app.pool).await;
    let before_digests = digests(&app, &admin).await;
    let before_counts = row_counts(&app.pool).await;
    assert!(
        before_digests.iter().filter(|d| d.head_seq > 0).count() >= 3,
        "events in three provinces: {before_digests:?}"
    );

    // The backup: a custom-format dump (consistent: one snapshot), taken while serving.
    let dir = std::env::temp_dir().join(format!("flexcover-drill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("drill dir");
    let dump = dir.join("flexcover.dump");
    run(Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(&dump)
        .arg(format!("--dbname={url}")));
    app.stop().await;

    // The restore: a fresh cluster, an empty database, pg_restore.
    let fresh = EmbeddedPostgres::start(&EmbeddedOptions {
        data_dir: dir.join("restored"),
        os_user: "postgres".into(),
        bin_dir: None,
        durable: false,
        serving: true,
    })
    .await
    .expect("a fresh cluster");
    flexcover::database::create_database_if_missing(&fresh.database_url("postgres"), "flexcover")
        .await
        .expect("empty database");
    let restored_url = fresh.database_url("flexcover");
    run(Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--single-transaction"])
        .arg(format!("--dbname={restored_url}"))
        .arg(&dump));

    let restored = spawn_app_keyed(
        &restored_url,
        "flexcover".into(),
        Default::default(),
        ring(),
    )
    .await;
    assert_eq!(
        row_counts(&restored.pool).await,
        before_counts,
        "every table"
    );
    assert_eq!(
        digests(&restored, &admin).await,
        before_digests,
        "every province's chain"
    );
    let read = pb::claim_service_client::ClaimServiceClient::new(restored.channel().await)
        .get_claim(authed(
            pb::GetClaimRequest {
                claim_id: claim.claim_id.clone(),
            },
            &agency,
        ))
        .await
        .expect("claim")
        .into_inner();
    assert_eq!(read.description, claim.description, "sealed data opens");
    let found = restored
        .enrolment_client()
        .await
        .find_enrolments_by_id_number(authed(
            pb::FindEnrolmentsByIdNumberRequest {
                id_number: STANDARD_ID.into(),
            },
            &meituan,
        ))
        .await
        .expect("found")
        .into_inner();
    assert_eq!(found.enrolments.len(), 1, "the blind index came along");
    // The restored registry carries on: a new event extends the chain from the restored head.
    restored
        .enrolment_client()
        .await
        .enrol_worker(authed(
            enrol_request("d9", &id_number("440305", "19900315", 9)),
            &meituan,
        ))
        .await
        .expect("enrolled after the restore");
    all_numbered(&restored.pool).await;
    let after = digests(&restored, &admin).await;
    let guangdong = |digests: &[pb::Digest]| {
        digests
            .iter()
            .find(|d| d.province_code == "44")
            .map(|d| d.head_seq)
            .expect("44")
    };
    assert_eq!(guangdong(&after), guangdong(&before_digests) + 1);
    let before_44 = before_digests
        .iter()
        .find(|d| d.province_code == "44")
        .expect("44");
    let prefix = FederationServiceClient::new(restored.channel().await)
        .get_digest(authed(
            pb::GetDigestRequest {
                province_code: "44".into(),
                seq: before_44.head_seq,
            },
            &admin,
        ))
        .await
        .expect("digest")
        .into_inner();
    assert_eq!(
        prefix.chain_hash, before_44.head_hash,
        "the chain extends, unchanged"
    );
    restored.stop().await;
    fresh.stop().await.expect("stop the fresh cluster");
    let _ = std::fs::remove_dir_all(&dir);
}
