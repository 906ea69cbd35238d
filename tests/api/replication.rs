//! Logical replication for provinces that run PostgreSQL: a second local cluster subscribes to
//! province 11's publications and ends up with exactly province 11's rows and the same chain head
//! as GetDigest.
use crate::helpers::*;
use flexcover::pb;
use flexcover::postgres::{EmbeddedOptions, EmbeddedPostgres};
use sqlx::Connection;
use std::time::Duration;

async fn cluster(suffix: &str) -> EmbeddedPostgres {
    let data_dir =
        std::env::temp_dir().join(format!("flexcover-test-pg-{}.{suffix}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    EmbeddedPostgres::start(&EmbeddedOptions {
        data_dir,
        os_user: "postgres".into(),
        bin_dir: None,
        durable: false,
        serving: true,
    })
    .await
    .expect("a local cluster")
}

async fn execute(url: &str, statement: String) {
    let mut connection = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&mut connection)
        .await
        .expect("statement");
}

#[tokio::test]
async fn a_provincial_cluster_subscribes_to_exactly_its_province() {
    let national = cluster("national").await;
    let provincial = cluster("beijing").await;
    execute(
        &national.database_url("postgres"),
        "CREATE DATABASE national".into(),
    )
    .await;
    execute(
        &provincial.database_url("postgres"),
        "CREATE DATABASE beijing".into(),
    )
    .await;
    let national_url = national.database_url("national");
    let beijing_url = provincial.database_url("beijing");
    let pool = flexcover::store::connect(&national_url, 2)
        .await
        .expect("pool");
    flexcover::store::migrate(&pool)
        .await
        .expect("migrate national");
    let app = spawn_app_on(&national_url, "national".into(), Default::default()).await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let admin = app.token("national-admin").await;
    let mut enrolments = app.enrolment_client().await;
    for (n, place) in [(1, "110105"), (2, "110105"), (3, "440305"), (4, "110108")] {
        let mut request = enrol_request(&format!("e{n}"), &id_number("110105", "19800101", n));
        request.place_of_employment = place.into();
        enrolments
            .enrol_worker(authed(request, &meituan))
            .await
            .expect("enrolled");
    }
    let head = |province: &str| pb::GetDigestRequest {
        province_code: province.into(),
        seq: 0,
    };
    let mut federation =
        pb::federation_service_client::FederationServiceClient::new(app.channel().await);
    let mut digest = pb::Digest::default();
    for _ in 0..100 {
        digest = federation
            .get_digest(authed(head("11"), &admin))
            .await
            .expect("digest")
            .into_inner();
        if digest.head_seq >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        digest.head_seq >= 3,
        "province 11's three enrolments are numbered"
    );

    let province = flexcover::domain::division::ProvinceCode::parse("11").expect("province");
    let (all, inserts) = flexcover::store::publication::publish_province(&pool, &province)
        .await
        .expect("publish");
    let subscriber = flexcover::store::connect(&beijing_url, 2)
        .await
        .expect("pool");
    flexcover::store::migrate(&subscriber)
        .await
        .expect("schema on the subscriber");
    execute(
        &beijing_url,
        format!(
            "CREATE SUBSCRIPTION beijing CONNECTION 'host={} port=5432 dbname=national user=postgres' PUBLICATION {all}, {inserts}",
            national.socket_dir().display()
        ),
    )
    .await;

    // Each table is copied by its own sync worker, so wait until all of them have caught up.
    let read_copy = || async {
        sqlx::query_as::<_, (i64, String, i64, i64, i64)>(
            "SELECT COALESCE((SELECT seq FROM province_heads WHERE province_code = '11'), 0),
                    COALESCE((SELECT encode(chain_hash, 'hex') FROM province_heads WHERE province_code = '11'), ''),
                    (SELECT count(*) FROM province_log), (SELECT count(*) FROM enrolments),
                    (SELECT count(*) FROM enrolments WHERE province_code <> '11')
                      + (SELECT count(*) FROM events WHERE province_code <> '11')
                      + (SELECT count(*) FROM province_log WHERE province_code <> '11')",
        )
        .fetch_one(&subscriber)
        .await
        .expect("subscriber rows")
    };
    let mut copy = read_copy().await;
    for _ in 0..600 {
        if copy.0 == digest.head_seq && copy.2 == digest.head_seq && copy.3 == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        copy = read_copy().await;
    }
    let (head_seq, head_hash, log_rows, enrolment_rows, foreign) = copy;
    assert_eq!(
        (head_seq, head_hash),
        (digest.head_seq, digest.head_hash.clone()),
        "the same chain head"
    );
    assert_eq!(log_rows, digest.head_seq, "exactly province 11's log");
    assert_eq!(
        enrolment_rows, 3,
        "province 11's three enrolments, not Guangdong's"
    );
    assert_eq!(foreign, 0, "no other province's rows");

    execute(&beijing_url, "ALTER SUBSCRIPTION beijing DISABLE".into()).await;
    execute(
        &beijing_url,
        "ALTER SUBSCRIPTION beijing SET (slot_name = NONE)".into(),
    )
    .await;
    execute(&beijing_url, "DROP SUBSCRIPTION beijing".into()).await;
    subscriber.close().await;
    pool.close().await;
    app.stop().await;
    let _ = provincial.stop().await;
    let _ = national.stop().await;
}
