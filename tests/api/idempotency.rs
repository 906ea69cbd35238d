//! request_id: replays, mismatched payloads, racing duplicates, scoping by caller.
use crate::helpers::*;
use tonic::Code;

#[tokio::test]
async fn a_retried_request_returns_the_first_response_exactly() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;
    let first = client
        .enrol_worker(authed(enrol_request("retry-me", STANDARD_ID), &meituan))
        .await
        .expect("first")
        .into_inner();
    let second = client
        .enrol_worker(authed(enrol_request("retry-me", STANDARD_ID), &meituan))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, second);
    // Also with a newly issued token of the same caller.
    let rotated = app.token("platform:meituan").await;
    let third = client
        .enrol_worker(authed(enrol_request("retry-me", STANDARD_ID), &rotated))
        .await
        .expect("rotated")
        .into_inner();
    assert_eq!(first, third);
    assert_eq!(app.count("enrolments").await, 1);
    assert_eq!(app.count("events").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn the_same_request_id_with_another_payload_is_refused() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;
    client
        .enrol_worker(authed(enrol_request("key-1", STANDARD_ID), &meituan))
        .await
        .expect("first");
    let mut other = enrol_request("key-1", &id_number("110105", "19900101", 7));
    other.place_of_employment = "440106".into();
    let status = client
        .enrol_worker(authed(other, &meituan))
        .await
        .expect_err("reused key");
    assert_field_violation(&status, "request_id");
    assert_eq!(app.count("enrolments").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn identical_requests_racing_make_one_enrolment() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let client = app.enrolment_client().await;
    let calls = (0..8).map(|_| {
        let mut client = client.clone();
        let token = meituan.clone();
        tokio::spawn(async move {
            client
                .enrol_worker(authed(enrol_request("race", STANDARD_ID), &token))
                .await
        })
    });
    let mut responses = Vec::new();
    for call in calls {
        responses.push(
            call.await
                .expect("task")
                .expect("every racer succeeds")
                .into_inner(),
        );
    }
    assert!(
        responses.windows(2).all(|pair| pair[0] == pair[1]),
        "all see the same response"
    );
    assert_eq!(app.count("enrolments").await, 1);
    assert_eq!(app.count("events").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn different_request_ids_racing_for_one_person_make_one_enrolment() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let client = app.enrolment_client().await;
    let calls = (0..8).map(|i| {
        let mut client = client.clone();
        let token = meituan.clone();
        tokio::spawn(async move {
            client
                .enrol_worker(authed(
                    enrol_request(&format!("racer-{i}"), STANDARD_ID),
                    &token,
                ))
                .await
        })
    });
    let mut created = 0;
    for call in calls {
        match call.await.expect("task") {
            Ok(_) => created += 1,
            Err(status) => assert_eq!(status.code(), Code::AlreadyExists, "{status:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(app.count("enrolments").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn request_ids_are_scoped_by_caller() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let mut client = app.enrolment_client().await;
    let meituan = app.token("platform:meituan").await;
    let eleme = app.token("platform:eleme").await;
    let a = client
        .enrol_worker(authed(enrol_request("same-key", STANDARD_ID), &meituan))
        .await
        .expect("meituan")
        .into_inner();
    let b = client
        .enrol_worker(authed(enrol_request("same-key", STANDARD_ID), &eleme))
        .await
        .expect("eleme")
        .into_inner();
    assert_ne!(
        a.enrolment.map(|e| e.enrolment_id),
        b.enrolment.map(|e| e.enrolment_id)
    );
    assert_eq!(app.count("enrolments").await, 2);
    app.stop().await;
}
