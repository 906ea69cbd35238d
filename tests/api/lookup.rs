//! FindEnrolmentsByIdNumber: where is this person covered, each lookup in the access log.
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

#[tokio::test]
async fn lookups_by_id_number_are_scoped_and_logged() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let mut client = app.enrolment_client().await;
    let meituan = app.token("platform:meituan").await;
    let eleme = app.token("platform:eleme").await;
    client
        .enrol_worker(authed(enrol_request("m", STANDARD_ID), &meituan))
        .await
        .expect("meituan, Guangdong");
    let mut beijing = enrol_request("e", STANDARD_ID);
    beijing.place_of_employment = "110105".into();
    client
        .enrol_worker(authed(beijing, &eleme))
        .await
        .expect("eleme, Beijing");
    client
        .enrol_worker(authed(
            enrol_request("other", &id_number("110105", "19900101", 5)),
            &meituan,
        ))
        .await
        .expect("someone else");

    let find = |token: String, id: &str| {
        let mut client = client.clone();
        let request = pb::FindEnrolmentsByIdNumberRequest {
            id_number: id.to_owned(),
        };
        async move {
            client
                .find_enrolments_by_id_number(authed(request, &token))
                .await
        }
    };
    let platforms = |response: pb::FindEnrolmentsByIdNumberResponse| {
        let mut found: Vec<String> = response
            .enrolments
            .into_iter()
            .map(|e| format!("{}@{}", e.platform_id, e.province_code))
            .collect();
        found.sort();
        found
    };
    let admin = app.token("national-admin").await;
    let everywhere = find(admin.clone(), "11010519491231002x")
        .await
        .expect("admin")
        .into_inner();
    assert_eq!(platforms(everywhere), vec!["eleme@11", "meituan@44"]);
    let guangdong = find(app.token("province:44").await, STANDARD_ID)
        .await
        .expect("agency")
        .into_inner();
    assert_eq!(platforms(guangdong), vec!["meituan@44"]);
    let own = find(meituan.clone(), STANDARD_ID)
        .await
        .expect("platform")
        .into_inner();
    assert_eq!(platforms(own), vec!["meituan@44"]);
    let nobody = find(admin.clone(), &id_number("110105", "19900101", 6))
        .await
        .expect("unknown person")
        .into_inner();
    assert!(nobody.enrolments.is_empty());
    assert_field_violation(
        &find(admin.clone(), "110105194912310021")
            .await
            .expect_err("bad number"),
        "id_number",
    );

    let log: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT actor, rpc, results FROM person_access_log ORDER BY access_id")
            .fetch_all(&app.pool)
            .await
            .expect("log");
    assert_eq!(
        log,
        vec![
            (
                "national-admin".to_owned(),
                "FindEnrolmentsByIdNumber".to_owned(),
                2
            ),
            (
                "province:44".to_owned(),
                "FindEnrolmentsByIdNumber".to_owned(),
                1
            ),
            (
                "platform:meituan".to_owned(),
                "FindEnrolmentsByIdNumber".to_owned(),
                1
            ),
            (
                "national-admin".to_owned(),
                "FindEnrolmentsByIdNumber".to_owned(),
                0
            ),
        ]
    );
    let dump: String =
        sqlx::query_scalar("SELECT string_agg(l::text, ' ') FROM person_access_log l")
            .fetch_one(&app.pool)
            .await
            .expect("dump");
    assert!(
        !dump.contains("19491231"),
        "the log holds the blind index, not the number"
    );

    // Append-only: the log cannot be edited or emptied.
    for statement in [
        "UPDATE person_access_log SET results = 0",
        "DELETE FROM person_access_log",
        "TRUNCATE person_access_log",
    ] {
        let error = sqlx::query(statement)
            .execute(&app.pool)
            .await
            .expect_err(statement);
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    assert_eq!(app.count("person_access_log").await, 4);
    let status = find(String::new(), STANDARD_ID)
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);
    app.stop().await;
}
