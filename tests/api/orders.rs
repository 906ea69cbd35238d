//! RecordOrders and CheckCoverage: exactly-once ingest under retries, reconnects and concurrent
//! streams; pricing at acceptance, across the instant a rate changes; coverage at instants inside,
//! between and outside orders; tenant isolation.
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::record_orders_result::Outcome;
use tonic::Code;

fn order(
    order_id: &str,
    worker: pb::order_record::Worker,
    accepted: &str,
    completed: Option<&str>,
) -> pb::OrderRecord {
    pb::OrderRecord {
        order_id: order_id.into(),
        worker: Some(worker),
        place_of_employment: "440305".into(),
        industry: pb::Industry::InstantDelivery as i32,
        accepted_at: Some(at(accepted)),
        completed_at: completed.map(at),
    }
}

fn by_id(id: &str) -> pb::order_record::Worker {
    pb::order_record::Worker::IdNumber(id.into())
}

async fn record(
    app: &TestApp,
    token: &str,
    orders: Vec<pb::OrderRecord>,
) -> Vec<pb::RecordOrdersResult> {
    let mut client = app.contribution_client().await;
    let mut stream = client
        .record_orders(authed(tokio_stream::iter(orders), token))
        .await
        .expect("stream")
        .into_inner();
    let mut results = Vec::new();
    while let Some(result) = stream.message().await.expect("result") {
        results.push(result);
    }
    results
}

async fn setup() -> (TestApp, String, pb::Enrolment) {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    let token = app.token("platform:meituan").await;
    let enrolment = app
        .enrolment_client()
        .await
        .enrol_worker(authed(enrol_request("e1", STANDARD_ID), &token))
        .await
        .expect("enrolled")
        .into_inner()
        .enrolment
        .expect("enrolment");
    (app, token, enrolment)
}

fn error_code(result: &pb::RecordOrdersResult) -> Option<i32> {
    match &result.outcome {
        Some(Outcome::Error(status)) => Some(status.code),
        _ => None,
    }
}

#[tokio::test]
async fn orders_are_recorded_once_and_priced_at_acceptance() {
    let (app, token, enrolment) = setup().await;
    let by_enrolment = pb::order_record::Worker::EnrolmentId(enrolment.enrolment_id.clone());
    let results = record(
        &app,
        &token,
        vec![
            order(
                "o1",
                by_id(STANDARD_ID),
                "2026-06-14T02:00:00Z",
                Some("2026-06-14T02:30:00Z"),
            ),
            order("o2", by_enrolment, "2026-06-14T05:00:00Z", None),
            order(
                "o1",
                by_id(STANDARD_ID),
                "2026-06-14T02:00:00Z",
                Some("2026-06-14T02:30:00Z"),
            ),
        ],
    )
    .await;
    assert_eq!(results.len(), 3);
    let Some(Outcome::Accepted(first)) = &results[0].outcome else {
        panic!("{:?}", results[0])
    };
    assert_eq!(
        (first.premium_tenth_fen, first.enrolment_id.as_str()),
        (70, enrolment.enrolment_id.as_str())
    );
    assert!(
        first.rate_version.starts_with('b') && first.rate_version.ends_with("-m0"),
        "{}",
        first.rate_version
    );
    assert!(matches!(results[1].outcome, Some(Outcome::Accepted(_))));
    assert_eq!(
        results[2].outcome,
        Some(Outcome::DuplicateOrderId("o1".into())),
        "the same order twice in one stream"
    );

    // A reconnect resends both: acknowledged, never charged twice.
    let again = record(
        &app,
        &token,
        vec![
            order(
                "o1",
                by_id(STANDARD_ID),
                "2026-06-14T02:00:00Z",
                Some("2026-06-14T02:30:00Z"),
            ),
            order("o2", by_id(STANDARD_ID), "2026-06-14T05:00:00Z", None),
        ],
    )
    .await;
    assert!(
        again
            .iter()
            .all(|r| matches!(r.outcome, Some(Outcome::DuplicateOrderId(_)))),
        "{again:?}"
    );
    assert_eq!(app.count("orders").await, 2);
    assert_eq!(
        app.count("covered_days").await,
        1,
        "both on 2026-06-14 in Beijing"
    );
    let premiums: i64 = sqlx::query_scalar("SELECT sum(premium_tenth_fen)::bigint FROM orders")
        .fetch_one(&app.pool)
        .await
        .expect("sum");
    assert_eq!(premiums, 140);

    let stranger = id_number("110105", "19900101", 77);
    let results = record(
        &app,
        &token,
        vec![
            order("x1", by_id(&stranger), "2026-06-14T02:00:00Z", None),
            order("x2", by_id(STANDARD_ID), "2026-01-04T02:00:00Z", None),
            pb::OrderRecord {
                place_of_employment: "110105".into(),
                ..order("x3", by_id(STANDARD_ID), "2026-06-14T02:00:00Z", None)
            },
            pb::OrderRecord {
                accepted_at: None,
                ..order("x4", by_id(STANDARD_ID), "2026-06-14T02:00:00Z", None)
            },
            order("x5", by_id(STANDARD_ID), "2026-06-16T02:00:00Z", None),
            order(
                "x6",
                by_id(STANDARD_ID),
                "2026-06-14T02:00:00Z",
                Some("2026-06-14T01:00:00Z"),
            ),
            order(
                "x7",
                by_id("110105194912310021"),
                "2026-06-14T02:00:00Z",
                None,
            ),
        ],
    )
    .await;
    let codes: Vec<Option<i32>> = results.iter().map(error_code).collect();
    let precondition = Some(Code::FailedPrecondition as i32);
    let invalid = Some(Code::InvalidArgument as i32);
    assert_eq!(
        codes,
        vec![
            precondition,
            precondition,
            precondition,
            invalid,
            invalid,
            invalid,
            invalid
        ],
        "{results:?}"
    );
    assert_eq!(
        app.count("orders").await,
        2,
        "refused orders are not recorded"
    );
    app.stop().await;
}

fn error_message(result: &pb::RecordOrdersResult) -> String {
    match &result.outcome {
        Some(Outcome::Error(status)) => status.message.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn refusals_say_why_and_a_refused_resend_of_a_recorded_order_is_its_duplicate() {
    let (app, token, _) = setup().await;
    let first = record(
        &app,
        &token,
        vec![order(
            "r1",
            by_id(STANDARD_ID),
            "2026-06-14T02:00:00Z",
            None,
        )],
    )
    .await;
    assert!(matches!(first[0].outcome, Some(Outcome::Accepted(_))));

    let results = record(
        &app,
        &token,
        vec![
            // Another province than the enrolment's.
            pb::OrderRecord {
                place_of_employment: "110105".into(),
                ..order("r2", by_id(STANDARD_ID), "2026-06-14T03:00:00Z", None)
            },
            // Another industry than the enrolment's.
            pb::OrderRecord {
                industry: pb::Industry::RideHailing as i32,
                ..order("r3", by_id(STANDARD_ID), "2026-06-14T03:00:00Z", None)
            },
            // Before the enrolment's cover.
            order("r4", by_id(STANDARD_ID), "2026-01-04T02:00:00Z", None),
            // Recorded above; resent with another place it would be refused, but it is the
            // same order: acknowledged as a duplicate, not refused and not charged.
            pb::OrderRecord {
                place_of_employment: "110105".into(),
                ..order("r1", by_id(STANDARD_ID), "2026-06-14T02:00:00Z", None)
            },
        ],
    )
    .await;
    assert_eq!(
        error_message(&results[0]),
        "the worker's enrolment is in province 44, not 11; transfer it first"
    );
    assert_eq!(
        error_message(&results[1]),
        "the worker is enrolled for instant_delivery"
    );
    assert!(
        error_message(&results[2]).contains("no enrolment of this worker active on 2026-01-04"),
        "{:?}",
        results[2]
    );
    assert_eq!(
        results[3].outcome,
        Some(Outcome::DuplicateOrderId("r1".into()))
    );
    assert_eq!(app.count("orders").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn two_concurrent_streams_sending_the_same_orders_charge_each_once() {
    let (app, token, _) = setup().await;
    let orders: Vec<pb::OrderRecord> = (0..3000)
        .map(|n| {
            order(
                &format!("race-{n}"),
                by_id(STANDARD_ID),
                "2026-06-14T02:00:00Z",
                None,
            )
        })
        .collect();
    let (left, right) = tokio::join!(
        record(&app, &token, orders.clone()),
        record(&app, &token, orders)
    );
    let accepted = left
        .iter()
        .chain(&right)
        .filter(|r| matches!(r.outcome, Some(Outcome::Accepted(_))))
        .count();
    let duplicates = left
        .iter()
        .chain(&right)
        .filter(|r| matches!(r.outcome, Some(Outcome::DuplicateOrderId(_))))
        .count();
    assert_eq!((accepted, duplicates), (3000, 3000));
    assert_eq!(app.count("orders").await, 3000);
    // The order volumes provinces receive count each order once too.
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE event_type = 'orders.recorded.v1' AND province_code = '44'",
    )
    .fetch_all(&app.pool)
    .await
    .expect("events");
    let evented: i64 = payloads
        .iter()
        .map(|p| {
            <pb::OrdersRecordedV1 as prost::Message>::decode(p.as_slice())
                .expect("payload")
                .orders
        })
        .sum();
    assert_eq!(evented, 3000);
    app.stop().await;
}

#[tokio::test]
async fn a_reconnect_resending_recorded_orders_then_new_ones_gets_duplicates_then_acceptances() {
    let (app, token, _) = setup().await;
    let orders = |numbers: std::ops::Range<usize>| -> Vec<pb::OrderRecord> {
        numbers
            .map(|n| {
                order(
                    &format!("rc-{n}"),
                    by_id(STANDARD_ID),
                    "2026-06-14T02:00:00Z",
                    None,
                )
            })
            .collect()
    };
    let first = record(&app, &token, orders(0..5000)).await;
    assert!(
        first
            .iter()
            .all(|r| matches!(r.outcome, Some(Outcome::Accepted(_))))
    );
    // After a reconnect the platform resends the last 3,000 it had no answer for and carries on
    // with 3,000 new ones, in one stream: whole chunks of repeats, one chunk of both, new chunks.
    let again = record(&app, &token, orders(2000..8000)).await;
    assert_eq!(again.len(), 6000);
    for (result, n) in again.iter().zip(2000..) {
        if n < 5000 {
            assert_eq!(
                result.outcome,
                Some(Outcome::DuplicateOrderId(format!("rc-{n}"))),
                "order {n}"
            );
        } else {
            assert!(
                matches!(&result.outcome, Some(Outcome::Accepted(a)) if a.order_id == format!("rc-{n}")),
                "order {n}: {result:?}"
            );
        }
    }
    assert_eq!(app.count("orders").await, 8000);
    let premiums: i64 = sqlx::query_scalar("SELECT sum(premium_tenth_fen)::bigint FROM orders")
        .fetch_one(&app.pool)
        .await
        .expect("sum");
    assert_eq!(premiums, 8000 * 70, "each order charged once");
    app.stop().await;
}

#[tokio::test]
async fn a_repeat_later_in_the_same_stream_is_the_duplicate_even_across_chunks_in_flight() {
    let (app, token, _) = setup().await;
    // Orders 0..3000, then the same again: the repeats land in the chunks right after the
    // originals' (chunks hold up to 2000), which the server would write at the same time were it
    // not for their common order ids.
    let orders: Vec<pb::OrderRecord> = (0..6000)
        .map(|n| {
            order(
                &format!("again-{}", n % 3000),
                by_id(STANDARD_ID),
                "2026-06-14T02:00:00Z",
                None,
            )
        })
        .collect();
    let results = record(&app, &token, orders).await;
    assert_eq!(results.len(), 6000);
    for (n, result) in results.iter().enumerate() {
        assert_eq!(result.index, n as i64, "results come back in stream order");
        if n < 3000 {
            assert!(
                matches!(result.outcome, Some(Outcome::Accepted(_))),
                "order {n}: the first copy is the one accepted, got {:?}",
                result.outcome
            );
        } else {
            assert_eq!(
                result.outcome,
                Some(Outcome::DuplicateOrderId(format!("again-{}", n - 3000))),
                "order {n}: the repeat is the duplicate"
            );
        }
    }
    assert_eq!(app.count("orders").await, 3000);
    app.stop().await;
}

#[tokio::test]
async fn an_order_at_the_instant_a_rate_changes_gets_the_new_rate() {
    let (app, token, _) = setup().await;
    let admin = app.token("national-admin").await;
    let multiplier = pb::SetRateMultiplierRequest {
        request_id: "m".into(),
        province_code: "44".into(),
        platform_id: "meituan".into(),
        industry: pb::Industry::InstantDelivery as i32,
        valid_from: Some(date(2027, 1, 1)),
        tenths: 13,
    };
    app.admin_client()
        .await
        .set_rate_multiplier(authed(multiplier, &admin))
        .await
        .expect("multiplier");
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-01-02T00:00:00Z")
            .expect("instant")
            .to_utc(),
    );
    let results = record(
        &app,
        &token,
        vec![
            order("before", by_id(STANDARD_ID), "2026-12-31T15:59:59Z", None),
            order("at", by_id(STANDARD_ID), "2026-12-31T16:00:00Z", None),
        ],
    )
    .await;
    let premiums: Vec<i64> = results
        .iter()
        .filter_map(|r| match &r.outcome {
            Some(Outcome::Accepted(accepted)) => Some(accepted.premium_tenth_fen),
            _ => None,
        })
        .collect();
    assert_eq!(
        premiums,
        vec![70, 91],
        "7 fen, then 7 fen x 1.3 from midnight in Beijing"
    );
    let days: i64 = app.count("covered_days").await;
    assert_eq!(days, 2, "31 December and 1 January");
    app.stop().await;
}

#[tokio::test]
async fn coverage_inside_between_and_outside_orders_and_only_for_those_concerned() {
    let (app, token, enrolment) = setup().await;
    record(
        &app,
        &token,
        vec![
            order(
                "o1",
                by_id(STANDARD_ID),
                "2026-06-14T02:00:00Z",
                Some("2026-06-14T02:30:00Z"),
            ),
            order(
                "o2",
                by_id(STANDARD_ID),
                "2026-06-14T05:00:00Z",
                Some("2026-06-14T05:45:00Z"),
            ),
        ],
    )
    .await;
    let mut client = app.contribution_client().await;
    let check = |id: &str, when: &str| pb::CheckCoverageRequest {
        worker: Some(pb::check_coverage_request::Worker::IdNumber(id.into())),
        platform_id: String::new(),
        at: Some(at(when)),
    };
    let inside = client
        .check_coverage(authed(check(STANDARD_ID, "2026-06-14T02:10:00Z"), &token))
        .await
        .expect("inside")
        .into_inner();
    assert!(inside.covered);
    assert_eq!(
        inside.enrolment.as_ref().map(|e| e.enrolment_id.as_str()),
        Some(enrolment.enrolment_id.as_str())
    );
    assert_eq!(
        inside.order.as_ref().map(|o| o.order_id.as_str()),
        Some("o1")
    );
    assert_eq!(
        inside.rate.as_ref().map(|r| r.premium_tenth_fen_per_order),
        Some(70)
    );

    let between = client
        .check_coverage(authed(check(STANDARD_ID, "2026-06-14T03:00:00Z"), &token))
        .await
        .expect("between")
        .into_inner();
    assert!(between.covered && between.order.is_none());
    let second = client
        .check_coverage(authed(check(STANDARD_ID, "2026-06-14T05:45:00Z"), &token))
        .await
        .expect("end of o2")
        .into_inner();
    assert_eq!(second.order.map(|o| o.order_id), Some("o2".into()));
    let before = client
        .check_coverage(authed(check(STANDARD_ID, "2026-01-04T12:00:00Z"), &token))
        .await
        .expect("before")
        .into_inner();
    assert!(!before.covered && before.enrolment.is_none());

    // After a suspension the worker is not covered.
    let suspend = pb::SuspendEnrolmentRequest {
        request_id: "s".into(),
        enrolment_id: enrolment.enrolment_id.clone(),
        effective_date: Some(date(2026, 6, 15)),
        reason: pb::ChangeReason::Inactivity as i32,
    };
    app.enrolment_client()
        .await
        .suspend_enrolment(authed(suspend, &token))
        .await
        .expect("suspend");
    let suspended = client
        .check_coverage(authed(check(STANDARD_ID, "2026-06-15T08:00:00Z"), &token))
        .await
        .expect("suspended")
        .into_inner();
    assert!(!suspended.covered);
    let day_before = client
        .check_coverage(authed(check(STANDARD_ID, "2026-06-14T08:00:00Z"), &token))
        .await
        .expect("day before")
        .into_inner();
    assert!(day_before.covered, "history keeps the day before covered");

    // Others learn nothing they should not.
    for (role, covered) in [
        ("platform:eleme", false),
        ("province:11", false),
        ("province:44", true),
        ("national-admin", true),
    ] {
        let other = app.token(role).await;
        let answer = client
            .check_coverage(authed(check(STANDARD_ID, "2026-06-14T02:10:00Z"), &other))
            .await
            .expect(role)
            .into_inner();
        assert_eq!(answer.covered, covered, "{role}");
    }
    let eleme = app.token("platform:eleme").await;
    let asked = pb::CheckCoverageRequest {
        platform_id: "meituan".into(),
        ..check(STANDARD_ID, "2026-06-14T02:10:00Z")
    };
    assert_eq!(
        client
            .check_coverage(authed(asked, &eleme))
            .await
            .expect_err("another platform")
            .code(),
        Code::PermissionDenied
    );
    let lookups: i64 =
        sqlx::query_scalar("SELECT count(*) FROM person_access_log WHERE rpc = 'CheckCoverage'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(lookups, 10, "every lookup by ID number is logged");

    let admin = app.token("national-admin").await;
    let status = record_as_error(&app, &admin).await;
    assert_eq!(status, Code::PermissionDenied);
    app.stop().await;
}

async fn record_as_error(app: &TestApp, token: &str) -> Code {
    let mut client = app.contribution_client().await;
    let orders = vec![order("a", by_id(STANDARD_ID), "2026-06-14T02:00:00Z", None)];
    client
        .record_orders(authed(tokio_stream::iter(orders), token))
        .await
        .expect_err("not a platform")
        .code()
}

#[tokio::test]
async fn orders_follow_the_status_in_force_on_their_day_across_suspension_and_resumption() {
    let (app, token, enrolment) = setup().await;
    let mut lifecycle = app.enrolment_client().await;
    let outcomes = |results: &[pb::RecordOrdersResult]| -> Vec<bool> {
        results
            .iter()
            .map(|r| matches!(r.outcome, Some(Outcome::Accepted(_))))
            .collect()
    };
    lifecycle
        .suspend_enrolment(authed(
            pb::SuspendEnrolmentRequest {
                request_id: "s".into(),
                enrolment_id: enrolment.enrolment_id.clone(),
                effective_date: Some(date(2026, 6, 5)),
                reason: pb::ChangeReason::Inactivity as i32,
            },
            &token,
        ))
        .await
        .expect("suspend");
    // Suspended now: days from the suspension on are not covered, earlier ones still are.
    let results = record(
        &app,
        &token,
        vec![
            order("d1", by_id(STANDARD_ID), "2026-06-04T02:00:00Z", None),
            order("d2", by_id(STANDARD_ID), "2026-06-05T02:00:00Z", None),
            order("d3", by_id(STANDARD_ID), "2026-06-06T02:00:00Z", None),
        ],
    )
    .await;
    assert_eq!(outcomes(&results), vec![true, false, false], "{results:?}");

    lifecycle
        .resume_enrolment(authed(
            pb::ResumeEnrolmentRequest {
                request_id: "r".into(),
                enrolment_id: enrolment.enrolment_id.clone(),
                effective_date: Some(date(2026, 6, 10)),
                reason: pb::ChangeReason::Inactivity as i32,
            },
            &token,
        ))
        .await
        .expect("resume");
    // Active again from the 10th; the days before keep the status they had.
    let results = record(
        &app,
        &token,
        vec![
            order("d4", by_id(STANDARD_ID), "2026-06-03T02:00:00Z", None),
            order("d5", by_id(STANDARD_ID), "2026-06-07T02:00:00Z", None),
            order("d6", by_id(STANDARD_ID), "2026-06-09T15:59:59Z", None),
            order("d7", by_id(STANDARD_ID), "2026-06-09T16:00:00Z", None),
            order("d8", by_id(STANDARD_ID), "2026-06-11T02:00:00Z", None),
        ],
    )
    .await;
    assert_eq!(
        outcomes(&results),
        vec![true, false, false, true, true],
        "{results:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn coverage_by_enrolment_id_answers_not_found_for_missing_and_hidden_enrolments() {
    let (app, token, enrolment) = setup().await;
    record(
        &app,
        &token,
        vec![order(
            "o1",
            by_id(STANDARD_ID),
            "2026-06-14T02:00:00Z",
            Some("2026-06-14T02:30:00Z"),
        )],
    )
    .await;
    let mut client = app.contribution_client().await;
    let check = |enrolment_id: &str| pb::CheckCoverageRequest {
        worker: Some(pb::check_coverage_request::Worker::EnrolmentId(
            enrolment_id.into(),
        )),
        platform_id: String::new(),
        at: Some(at("2026-06-14T02:10:00Z")),
    };
    let id = enrolment.enrolment_id.as_str();
    for role in [
        "platform:meituan",
        "province:44",
        "national-admin",
        "auditor",
    ] {
        let answer = client
            .check_coverage(authed(check(id), &app.token(role).await))
            .await
            .expect(role)
            .into_inner();
        assert!(answer.covered, "{role}");
        assert_eq!(
            answer.order.map(|o| o.order_id).as_deref(),
            Some("o1"),
            "{role}"
        );
    }
    let random = uuid::Uuid::now_v7().to_string();
    for role in ["platform:meituan", "platform:eleme", "province:11"] {
        let token = app.token(role).await;
        let missing = client
            .check_coverage(authed(check(&random), &token))
            .await
            .expect_err("no such enrolment");
        assert_eq!(missing.code(), Code::NotFound, "{role}: {missing:?}");
        if role == "platform:meituan" {
            continue;
        }
        let hidden = client
            .check_coverage(authed(check(id), &token))
            .await
            .expect_err(role);
        assert_eq!(
            (hidden.code(), hidden.message().replace(id, "<id>")),
            (missing.code(), missing.message().replace(&random, "<id>")),
            "{role}: another tenant's enrolment reads as a missing one"
        );
    }
    for not_canonical in [id.to_uppercase(), format!(" {id}"), format!("{{{id}}}")] {
        assert_field_violation(
            &client
                .check_coverage(authed(check(&not_canonical), &token))
                .await
                .expect_err("not canonical"),
            "enrolment_id",
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn orders_take_canonical_ids_facts_from_the_pilot_start_and_only_own_enrolments() {
    let (app, token, enrolment) = setup().await;
    let eleme = app.token("platform:eleme").await;
    let id = enrolment.enrolment_id.clone();
    let by_enrolment =
        |enrolment_id: &str| pb::order_record::Worker::EnrolmentId(enrolment_id.to_owned());
    let results = record(
        &app,
        &token,
        vec![
            order(
                "c1",
                by_enrolment(&format!(" {id}")),
                "2026-06-14T02:00:00Z",
                None,
            ),
            order(
                "c2",
                by_enrolment(&id.to_uppercase()),
                "2026-06-14T02:00:00Z",
                None,
            ),
            order("c3", by_id(STANDARD_ID), "2022-06-30T15:59:59Z", None),
            order(" c4", by_id(STANDARD_ID), "2026-06-14T02:00:00Z", None),
            order("c5", by_id(STANDARD_ID), "2026-06-15T08:05:00Z", None),
            order("c6", by_id(STANDARD_ID), "2026-06-15T08:05:01Z", None),
        ],
    )
    .await;
    let invalid = Some(Code::InvalidArgument as i32);
    assert_eq!(
        results.iter().map(error_code).collect::<Vec<_>>(),
        vec![invalid, invalid, invalid, invalid, None, invalid],
        "{results:?}"
    );
    // Another platform cannot name this platform's enrolment, even for a worker it enrolled too.
    app.enrolment_client()
        .await
        .enrol_worker(authed(enrol_request("e-eleme", STANDARD_ID), &eleme))
        .await
        .expect("eleme enrols the same worker");
    let theirs = record(
        &app,
        &eleme,
        vec![order("e1", by_enrolment(&id), "2026-06-14T02:00:00Z", None)],
    )
    .await;
    // Answered exactly as for an enrolment that does not exist.
    assert_eq!(
        error_code(&theirs[0]),
        Some(Code::NotFound as i32),
        "{theirs:?}"
    );
    assert_eq!(app.count("orders").await, 1, "only c5 was recorded");
    app.stop().await;
}

#[tokio::test]
async fn recorded_premiums_are_the_domain_formula_for_a_spread_of_rates() {
    use flexcover::domain::industry::Industry;
    use flexcover::domain::rates::{BaseRate, Multiplier, RateClass, order_premium_tenth_fen};
    let (app, token, _) = setup().await;
    let now = chrono::Utc::now();
    let day = |m: u32| chrono::NaiveDate::from_ymd_opt(2026, m, 1).expect("date");
    let tenths = Multiplier::from_tenths(15).expect("1.5");
    flexcover::store::rates::insert_multiplier(
        &app.pool,
        &flexcover::store::rates::NewMultiplier {
            province_code: "44",
            platform_id: "meituan",
            industry: Industry::InstantDelivery,
            valid_from: day(1),
            multiplier: tenths,
        },
        now,
    )
    .await
    .expect("multiplier");
    // January keeps the published 7 fen; then a new version each month, up to the largest rate.
    let spread = [(2, 0), (3, 1), (4, 25), (5, 100_000)];
    for (month, fen_per_order) in spread {
        let rate = BaseRate {
            industry: Industry::InstantDelivery,
            class: RateClass::Standard,
            valid_from: day(month),
            fen_per_order,
        };
        flexcover::store::rates::insert_base_rate(&app.pool, &rate, now)
            .await
            .expect("base rate");
    }
    let months = ["01", "02", "03", "04", "05"];
    let orders = months
        .iter()
        .map(|m| {
            order(
                &format!("p-{m}"),
                by_id(STANDARD_ID),
                &format!("2026-{m}-20T02:00:00Z"),
                None,
            )
        })
        .collect();
    let results = record(&app, &token, orders).await;
    let premiums: Vec<i64> = results
        .iter()
        .map(|r| match &r.outcome {
            Some(Outcome::Accepted(accepted)) => accepted.premium_tenth_fen,
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<i64> = [7, 0, 1, 25, 100_000]
        .into_iter()
        .map(|fen| order_premium_tenth_fen(fen, tenths))
        .collect();
    assert_eq!(premiums, expected);
    assert_eq!(premiums, vec![105, 0, 15, 375, 1_500_000]);
    let stored: Vec<i64> =
        sqlx::query_scalar("SELECT premium_tenth_fen FROM orders ORDER BY accepted_at")
            .fetch_all(&app.pool)
            .await
            .expect("stored premiums");
    assert_eq!(stored, expected, "what is stored is what was answered");
    // The rate in force says the same per order.
    let mut client = app.contribution_client().await;
    for (m, want) in months.iter().zip(&expected) {
        let rate = client
            .get_rate(authed(
                pb::GetRateRequest {
                    province_code: "44".into(),
                    platform_id: String::new(),
                    industry: pb::Industry::InstantDelivery as i32,
                    at: Some(at(&format!("2026-{m}-20T02:00:00Z"))),
                },
                &token,
            ))
            .await
            .expect("rate")
            .into_inner();
        assert_eq!(rate.premium_tenth_fen_per_order, *want, "2026-{m}");
    }
    app.stop().await;
}
