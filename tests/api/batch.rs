//! BatchEnrolWorkers: 10,000 rows with a sprinkling of every kind of bad row, each row's outcome
//! checked; a replayed batch creates nothing.
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::batch_enrol_result::Outcome;
use std::collections::HashMap;
use tonic::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Created,
    Invalid(&'static str),
    OutOfScope,
    AlreadyOpen,
}

/// A distinct, valid ID number per row (birth month from n / 1000, sequence from n % 1000).
fn person(n: u32) -> String {
    id_number(
        "110105",
        &format!("1990{:02}01", 1 + (n / 1000) % 12),
        n % 1000,
    )
}

/// What row `n` is, before the rules that refer to earlier rows.
fn plain_kind(n: u32) -> Expect {
    if n % 97 == 13 {
        Expect::Invalid("worker.id_number")
    } else if n % 101 == 17 {
        Expect::Invalid("worker.phone")
    } else if n % 103 == 19 {
        Expect::OutOfScope
    } else if n % 113 == 31 {
        Expect::Invalid("place_of_employment")
    } else {
        Expect::Created
    }
}

/// Row `n` of the test batch and what should become of it, given what became of earlier rows.
fn row(n: u32, earlier: &[Expect]) -> (pb::EnrolWorkerRequest, Expect) {
    let enrolled = |m: u32| earlier[m as usize] == Expect::Created;
    let mut request = enrol_request(&format!("batch-{n}"), &person(n));
    let worker = request.worker.as_mut().expect("worker");
    let mut expect = plain_kind(n);
    match expect {
        Expect::Invalid("worker.id_number") => worker.id_number = "110105194912310021".into(),
        Expect::Invalid("worker.phone") => worker.phone = "2381234567".into(),
        Expect::Invalid(_) => request.place_of_employment = "440000".into(),
        Expect::OutOfScope => request.place_of_employment = "410105".into(),
        Expect::Created | Expect::AlreadyOpen => {
            if n % 107 == 23 && n >= 1000 && enrolled(n - 1000) {
                // The same person as a row already enrolled, under a new request_id.
                worker.id_number = person(n - 1000);
                expect = Expect::AlreadyOpen;
            } else if n % 109 == 29 && n >= 1 && enrolled(n - 1) {
                // The request_id of the previous (enrolled) row, with a different payload.
                request.request_id = format!("batch-{}", n - 1);
                expect = Expect::Invalid("request_id");
            }
        }
    }
    (request, expect)
}

async fn run_batch(
    app: &TestApp,
    token: &str,
    rows: Vec<pb::EnrolWorkerRequest>,
) -> Vec<pb::BatchEnrolResult> {
    let mut client = app.enrolment_client().await;
    let stream = tokio_stream::iter(rows);
    let mut results = client
        .batch_enrol_workers(authed(stream, token))
        .await
        .expect("stream accepted")
        .into_inner();
    let mut out = Vec::new();
    while let Some(result) = results.message().await.expect("result") {
        out.push(result);
    }
    out
}

#[tokio::test]
async fn ten_thousand_rows_each_with_its_own_outcome() {
    const ROWS: u32 = 10_000;
    let app = spawn_app().await;
    app.seed_pilot().await;
    let token = app.token("platform:meituan").await;
    let mut requests = Vec::new();
    let mut expected = Vec::new();
    for n in 0..ROWS {
        let (request, expect) = row(n, &expected);
        requests.push(request);
        expected.push(expect);
    }
    let results = run_batch(&app, &token, requests.clone()).await;
    assert_eq!(results.len(), ROWS as usize, "one result per row");

    let mut created = HashMap::new();
    for (n, (result, expect)) in results.iter().zip(&expected).enumerate() {
        assert_eq!(result.index, n as i64, "results in order");
        match (&result.outcome, expect) {
            (Some(Outcome::Enrolment(enrolment)), Expect::Created) => {
                created.insert(n, enrolment.enrolment_id.clone());
            }
            (Some(Outcome::Error(status)), Expect::Invalid(field)) => {
                assert_eq!(
                    status.code,
                    Code::InvalidArgument as i32,
                    "row {n}: {status:?}"
                );
                let bad_request = status.details.iter().find_map(|any| {
                    use prost::Message;
                    tonic_types::pb::BadRequest::decode(any.value.as_slice()).ok()
                });
                let fields: Vec<String> = bad_request
                    .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
                    .unwrap_or_default();
                assert!(
                    fields.iter().any(|f| f == field),
                    "row {n}: wanted {field}, got {fields:?}"
                );
            }
            (Some(Outcome::Error(status)), Expect::OutOfScope) => {
                assert_eq!(
                    status.code,
                    Code::FailedPrecondition as i32,
                    "row {n}: {status:?}"
                );
            }
            (Some(Outcome::Error(status)), Expect::AlreadyOpen) => {
                assert_eq!(
                    status.code,
                    Code::AlreadyExists as i32,
                    "row {n}: {status:?}"
                );
            }
            (outcome, expect) => panic!("row {n}: expected {expect:?}, got {outcome:?}"),
        }
    }
    let expected_created = expected.iter().filter(|e| **e == Expect::Created).count();
    assert_eq!(created.len(), expected_created);
    assert!(
        expected_created > 9_000,
        "mostly good rows: {expected_created}"
    );
    assert_eq!(app.count("enrolments").await, expected_created as i64);
    assert_eq!(
        app.count("enrolment_history").await,
        expected_created as i64
    );
    assert_eq!(app.count("events").await, expected_created as i64);
    assert_eq!(
        app.count("idempotency_keys").await,
        expected_created as i64,
        "failed rows leave no key behind"
    );

    // The whole batch again: every created row replays its enrolment, nothing new is written.
    let replayed = run_batch(&app, &token, requests).await;
    for (n, id) in &created {
        match &replayed[*n].outcome {
            Some(Outcome::Enrolment(enrolment)) => {
                assert_eq!(&enrolment.enrolment_id, id, "row {n}")
            }
            other => panic!("row {n} did not replay: {other:?}"),
        }
    }
    assert_eq!(app.count("enrolments").await, expected_created as i64);
    assert_eq!(app.count("events").await, expected_created as i64);
    app.stop().await;
}

#[tokio::test]
async fn only_platforms_may_stream_enrolments() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let mut client = app.enrolment_client().await;
    let stream = tokio_stream::iter(vec![enrol_request("a", STANDARD_ID)]);
    let status = client
        .batch_enrol_workers(authed(stream, &admin))
        .await
        .expect_err("admin");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(app.count("enrolments").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_slow_reader_does_not_stop_the_stream_from_finishing() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let token = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;
    let rows: Vec<_> = (0..3000)
        .map(|n| enrol_request(&format!("slow-{n}"), &person(n)))
        .collect();
    let mut results = client
        .batch_enrol_workers(authed(tokio_stream::iter(rows), &token))
        .await
        .expect("stream")
        .into_inner();
    let mut received = 0;
    while let Some(result) = results.message().await.expect("result") {
        assert!(
            matches!(result.outcome, Some(Outcome::Enrolment(_))),
            "{result:?}"
        );
        received += 1;
        if received % 500 == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    assert_eq!(received, 3000);
    assert_eq!(app.count("enrolments").await, 3000);
    app.stop().await;
}

#[tokio::test]
async fn an_interactive_client_gets_each_result_before_sending_the_next_item() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let token = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;
    let (items, outgoing) = tokio::sync::mpsc::channel(1);
    let mut results = client
        .batch_enrol_workers(authed(
            tokio_stream::wrappers::ReceiverStream::new(outgoing),
            &token,
        ))
        .await
        .expect("stream")
        .into_inner();
    for n in 0..5 {
        items
            .send(enrol_request(&format!("ping-{n}"), &person(n)))
            .await
            .expect("send");
        let result = tokio::time::timeout(std::time::Duration::from_secs(10), results.message())
            .await
            .expect("the result of each item arrives without waiting for more items")
            .expect("result")
            .expect("one result");
        assert_eq!(result.index, i64::from(n));
        assert!(
            matches!(result.outcome, Some(Outcome::Enrolment(_))),
            "{result:?}"
        );
    }
    drop(items);
    assert!(results.message().await.expect("clean end").is_none());
    assert_eq!(app.count("enrolments").await, 5);
    app.stop().await;
}

/// The field a refused item names, from its google.rpc.BadRequest details.
fn violated_fields(status: &tonic_types::pb::Status) -> Vec<String> {
    use prost::Message;
    status
        .details
        .iter()
        .find_map(|any| tonic_types::pb::BadRequest::decode(any.value.as_slice()).ok())
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Non-canonical items are refused one by one, by name; their neighbours are enrolled.
#[tokio::test]
async fn invalid_items_never_fail_their_neighbours() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let token = app.token("platform:meituan").await;
    type Change = fn(&mut pb::EnrolWorkerRequest);
    let items: Vec<(Option<&str>, Change)> = vec![
        (None, |_| {}),
        (Some("worker.id_number"), |r| {
            let worker = r.worker.as_mut().expect("worker");
            worker.id_number = format!(" {}", worker.id_number)
        }),
        (None, |_| {}),
        (Some("place_of_employment"), |r| {
            r.place_of_employment = "440305 ".into()
        }),
        (Some("worker.phone"), |r| {
            r.worker.as_mut().expect("worker").phone = "+8613812345678".into()
        }),
        (None, |_| {}),
        (Some("worker.name"), |r| {
            r.worker.as_mut().expect("worker").name = "Robert'); DROP TABLE enrolments;--".into()
        }),
        (Some("worker.name"), |r| {
            r.worker.as_mut().expect("worker").name = "张\u{202E}三".into()
        }),
        (Some("cover_start_date"), |r| {
            r.cover_start_date = Some(date(2099, 12, 31))
        }),
        (Some("request_id"), |r| r.request_id = String::new()),
        (None, |_| {}),
    ];
    let rows: Vec<pb::EnrolWorkerRequest> = items
        .iter()
        .enumerate()
        .map(|(n, (_, change))| {
            let mut request = enrol_request(&format!("mixed-{n}"), &person(n as u32));
            change(&mut request);
            request
        })
        .collect();
    let results = run_batch(&app, &token, rows).await;
    assert_eq!(results.len(), items.len());
    for (n, (result, (refused, _))) in results.iter().zip(&items).enumerate() {
        assert_eq!(result.index, n as i64);
        match (&result.outcome, refused) {
            (Some(Outcome::Enrolment(_)), None) => {}
            (Some(Outcome::Error(status)), Some(field)) => {
                assert_eq!(status.code, Code::InvalidArgument as i32, "item {n}");
                assert_eq!(violated_fields(status), vec![field.to_string()], "item {n}");
            }
            (outcome, expected) => panic!("item {n}: expected {expected:?}, got {outcome:?}"),
        }
    }
    let good = items
        .iter()
        .filter(|(refused, _)| refused.is_none())
        .count() as i64;
    assert_eq!(app.count("enrolments").await, good);
    assert_eq!(app.count("persons").await, good);
    assert_eq!(app.count("idempotency_keys").await, good);
    app.stop().await;
}
