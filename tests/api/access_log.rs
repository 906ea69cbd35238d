//! Lookups by full ID number are logged in groups: each concurrent lookup gets its own durable row,
//! and a lookup whose row cannot be written fails with UNAVAILABLE instead of answering unlogged.
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::contribution_service_client::ContributionServiceClient;
use tonic::Code;

fn check(id: &str) -> pb::CheckCoverageRequest {
    pb::CheckCoverageRequest {
        worker: Some(pb::check_coverage_request::Worker::IdNumber(id.into())),
        platform_id: String::new(),
        at: None,
    }
}

#[tokio::test]
async fn concurrent_lookups_each_get_their_own_log_row() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    app.enrolment_client()
        .await
        .enrol_worker(authed(enrol_request("g1", STANDARD_ID), &meituan))
        .await
        .expect("enrolled");
    let client = ContributionServiceClient::new(app.channel().await);
    let lookups: Vec<_> = (0..64)
        .map(|_| {
            let mut client = client.clone();
            let request = authed(check(STANDARD_ID), &meituan);
            tokio::spawn(async move { client.check_coverage(request).await })
        })
        .collect();
    for lookup in lookups {
        let answer = lookup.await.expect("task").expect("answered");
        assert!(answer.into_inner().covered);
    }
    assert_eq!(
        app.count("person_access_log WHERE rpc = 'CheckCoverage' AND results = 1")
            .await,
        64
    );
    app.stop().await;
}

#[tokio::test]
async fn a_lookup_whose_log_row_cannot_be_written_fails_unanswered() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut enrolment = app.enrolment_client().await;
    enrolment
        .enrol_worker(authed(enrol_request("g2", STANDARD_ID), &meituan))
        .await
        .expect("enrolled");
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_access_rows() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'the log disk is full'; END $$;
         CREATE TRIGGER refuse_access_rows BEFORE INSERT ON person_access_log
           FOR EACH ROW EXECUTE FUNCTION refuse_access_rows();",
    )
    .execute(&app.pool)
    .await
    .expect("break the log");
    let mut coverage = ContributionServiceClient::new(app.channel().await);
    let status = coverage
        .check_coverage(authed(check(STANDARD_ID), &meituan))
        .await
        .expect_err("not answered unlogged");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(!status.message().contains("disk"), "{status:?}");
    let find = pb::FindEnrolmentsByIdNumberRequest {
        id_number: STANDARD_ID.into(),
    };
    let status = enrolment
        .find_enrolments_by_id_number(authed(find.clone(), &meituan))
        .await
        .expect_err("not answered unlogged");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    sqlx::raw_sql("DROP TRIGGER refuse_access_rows ON person_access_log")
        .execute(&app.pool)
        .await
        .expect("mend the log");
    enrolment
        .find_enrolments_by_id_number(authed(find, &meituan))
        .await
        .expect("answered once logged");
    assert_eq!(app.count("person_access_log").await, 1);
    app.stop().await;
}
