//! Statements, payments (partial and over), late fees day by day, arrears by province.
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

fn set_day(app: &TestApp, rfc3339: &str) {
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .expect("instant")
            .to_utc(),
    );
}

fn june_counts(request_id: &str, orders: i64) -> pb::DeclareContributionsRequest {
    pb::DeclareContributionsRequest {
        request_id: request_id.into(),
        province_code: "44".into(),
        period: "2026-06".into(),
        source: Some(pb::declare_contributions_request::Source::DeclaredCounts(
            pb::DeclaredCounts {
                counts: vec![pb::IndustryOrders {
                    industry: pb::Industry::InstantDelivery as i32,
                    orders,
                }],
            },
        )),
    }
}

fn payment(request_id: &str, amount_fen: i64, paid_on: pb::Date) -> pb::RecordPaymentRequest {
    pb::RecordPaymentRequest {
        request_id: request_id.into(),
        province_code: "44".into(),
        platform_id: "eleme".into(),
        period: "2026-06".into(),
        amount_fen,
        paid_on: Some(paid_on),
    }
}

#[tokio::test]
async fn statements_payments_late_fees_and_arrears() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    set_day(&app, "2026-07-02T02:00:00Z");
    let eleme = app.token("platform:eleme").await;
    let meituan = app.token("platform:meituan").await;
    let guangdong = app.token("province:44").await;
    let mut client = app.contribution_client().await;
    // 1,000,000 orders at 7 fen: 70,000.00 yuan due on 15 July.
    client
        .declare_contributions(authed(june_counts("e", 1_000_000), &eleme))
        .await
        .expect("eleme declares");
    client
        .declare_contributions(authed(june_counts("m", 10), &meituan))
        .await
        .expect("meituan declares");

    let statement = |as_of: pb::Date| pb::GetStatementRequest {
        province_code: "44".into(),
        platform_id: String::new(),
        period: "2026-06".into(),
        as_of: Some(as_of),
    };
    let on_time = client
        .get_statement(authed(statement(date(2026, 7, 15)), &eleme))
        .await
        .expect("statement")
        .into_inner();
    assert_eq!(
        (
            on_time.due_fen,
            on_time.paid_fen,
            on_time.balance_fen,
            on_time.late_fee_fen
        ),
        (7_000_000, 0, 7_000_000, 0)
    );
    assert_eq!(on_time.due_date, Some(date(2026, 7, 15)));

    // 40,000 yuan arrives on the 17th.
    set_day(&app, "2026-07-20T02:00:00Z");
    let after_partial = client
        .record_payment(authed(
            payment("p1", 4_000_000, date(2026, 7, 17)),
            &guangdong,
        ))
        .await
        .expect("partial")
        .into_inner();
    assert_eq!(
        (
            after_partial.paid_fen,
            after_partial.balance_fen,
            after_partial.days_late
        ),
        (4_000_000, 3_000_000, 5)
    );
    // 16th-17th on 70,000 (2 x 35.00) + 18th-20th on 30,000 (3 x 15.00) = 115.00 yuan.
    assert_eq!(after_partial.late_fee_fen, 11_500);
    let replay = client
        .record_payment(authed(
            payment("p1", 4_000_000, date(2026, 7, 17)),
            &guangdong,
        ))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(replay, after_partial);

    // Listing arrears on the 18th: both platforms owe; pages of one.
    let arrears = |as_of: pb::Date, page_token: String| pb::ListArrearsRequest {
        province_code: "44".into(),
        as_of: Some(as_of),
        page_size: 1,
        page_token,
    };
    let first = client
        .list_arrears(authed(
            arrears(date(2026, 7, 18), String::new()),
            &guangdong,
        ))
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(
        first
            .arrears
            .iter()
            .map(|a| a.platform_id.as_str())
            .collect::<Vec<_>>(),
        vec!["eleme"]
    );
    assert_eq!(first.arrears[0].balance_fen, 3_000_000);
    let second = client
        .list_arrears(authed(
            arrears(date(2026, 7, 18), first.next_page_token.clone()),
            &guangdong,
        ))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(
        second
            .arrears
            .iter()
            .map(|a| (a.platform_id.as_str(), a.balance_fen))
            .collect::<Vec<_>>(),
        vec![("meituan", 70)]
    );
    assert!(second.next_page_token.is_empty());

    // An over-payment on the 20th: a credit, and the fee stops where it was.
    let over = client
        .record_payment(authed(
            payment("p2", 3_500_000, date(2026, 7, 20)),
            &guangdong,
        ))
        .await
        .expect("over-payment")
        .into_inner();
    assert_eq!(over.balance_fen, -500_000);
    let later = client
        .get_statement(authed(statement(date(2026, 7, 25)), &eleme))
        .await
        .expect("later")
        .into_inner();
    assert_eq!(
        (
            later.balance_fen,
            later.late_fee_fen,
            later.days_late,
            later.payments.len()
        ),
        (-500_000, 11_500, 0, 2)
    );
    let now_owing = client
        .list_arrears(authed(
            pb::ListArrearsRequest {
                page_size: 10,
                ..arrears(date(2026, 7, 25), String::new())
            },
            &guangdong,
        ))
        .await
        .expect("arrears")
        .into_inner();
    assert_eq!(
        now_owing
            .arrears
            .iter()
            .map(|a| a.platform_id.as_str())
            .collect::<Vec<_>>(),
        vec!["meituan"]
    );

    // Refusals: who sees the declaration but may not record is told so; who does not see it
    // gets the answer of a month never declared.
    let admin = app.token("national-admin").await;
    let beijing = app.token("province:11").await;
    let payments_before = app.count("contribution_payments").await;
    for (who, token, code) in [
        ("the declaring platform", &eleme, Code::PermissionDenied),
        (
            "an auditor",
            &app.token("auditor").await,
            Code::PermissionDenied,
        ),
        ("another province", &beijing, Code::NotFound),
        ("another platform", &meituan, Code::NotFound),
    ] {
        let status = client
            .record_payment(authed(payment("x", 1, date(2026, 7, 20)), token))
            .await
            .expect_err(who);
        assert_eq!(status.code(), code, "{who}: {status:?}");
    }
    let undeclared = |token: &str| {
        let mut client = client.clone();
        let request = pb::RecordPaymentRequest {
            period: "2026-05".into(),
            ..payment("u", 100, date(2026, 7, 20))
        };
        let token = token.to_owned();
        async move {
            client
                .record_payment(authed(request, &token))
                .await
                .expect_err("nothing declared")
        }
    };
    let missing = undeclared(&admin).await;
    let missing_for_beijing = undeclared(&beijing).await;
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    let hidden = client
        .record_payment(authed(payment("y", 1, date(2026, 7, 20)), &beijing))
        .await
        .expect_err("Beijing");
    assert_eq!(
        (
            hidden.code(),
            hidden.message().replace("2026-06", "<month>")
        ),
        (
            missing.code(),
            missing.message().replace("2026-05", "<month>")
        ),
        "a month Beijing may not see reads as a month never declared"
    );
    assert_eq!(
        missing_for_beijing.message(),
        missing.message(),
        "the same words for every caller"
    );
    assert_eq!(
        app.count("contribution_payments").await,
        payments_before,
        "refusals recorded nothing"
    );
    assert_field_violation(
        &client
            .record_payment(authed(payment("old", 10, date(2022, 6, 30)), &admin))
            .await
            .expect_err("before the pilot"),
        "paid_on",
    );
    assert_field_violation(
        &client
            .record_payment(authed(
                pb::RecordPaymentRequest {
                    period: "2026-6".into(),
                    ..payment("p6", 10, date(2026, 7, 20))
                },
                &admin,
            ))
            .await
            .expect_err("not YYYY-MM"),
        "period",
    );
    assert_field_violation(
        &client
            .record_payment(authed(payment("z", 0, date(2026, 7, 20)), &admin))
            .await
            .expect_err("zero"),
        "amount_fen",
    );
    assert_field_violation(
        &client
            .record_payment(authed(payment("f", 10, date(2026, 7, 21)), &admin))
            .await
            .expect_err("future"),
        "paid_on",
    );
    let other = pb::GetStatementRequest {
        platform_id: "meituan".into(),
        ..statement(date(2026, 7, 20))
    };
    assert_eq!(
        client
            .get_statement(authed(other, &eleme))
            .await
            .expect_err("another platform's")
            .code(),
        Code::NotFound
    );
    assert_eq!(
        client
            .list_arrears(authed(arrears(date(2026, 7, 20), String::new()), &beijing))
            .await
            .expect_err("Beijing")
            .code(),
        Code::PermissionDenied
    );
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'payment.recorded.v1'")
            .fetch_one(&app.pool)
            .await
            .expect("events");
    assert_eq!(recorded, 2);
    app.stop().await;
}

const MAX_AMOUNT_FEN: i64 = 1_000_000_000_000;

#[tokio::test]
async fn amounts_are_bounded_so_no_payment_can_break_a_later_read() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    set_day(&app, "2026-07-02T02:00:00Z");
    let eleme = app.token("platform:eleme").await;
    let meituan = app.token("platform:meituan").await;
    let guangdong = app.token("province:44").await;
    let mut client = app.contribution_client().await;
    for (request_id, token) in [("e", &eleme), ("m", &meituan)] {
        client
            .declare_contributions(authed(june_counts(request_id, 1_000_000), token))
            .await
            .expect("declared");
    }
    set_day(&app, "2026-07-20T02:00:00Z");

    // Twice the largest i64: refused as it arrives, so nothing can wrap later.
    for request_id in ["max-1", "max-2"] {
        assert_field_violation(
            &client
                .record_payment(authed(
                    payment(request_id, i64::MAX, date(2026, 7, 17)),
                    &guangdong,
                ))
                .await
                .expect_err("i64::MAX"),
            "amount_fen",
        );
    }
    assert_field_violation(
        &client
            .record_payment(authed(
                payment("over", MAX_AMOUNT_FEN + 1, date(2026, 7, 17)),
                &guangdong,
            ))
            .await
            .expect_err("just over the bound"),
        "amount_fen",
    );
    assert_eq!(app.count("contribution_payments").await, 0);

    // Up to the bound is accepted, twice.
    for request_id in ["big-1", "big-2"] {
        client
            .record_payment(authed(
                payment(request_id, MAX_AMOUNT_FEN, date(2026, 7, 17)),
                &guangdong,
            ))
            .await
            .expect("the largest amount");
    }
    let statement = |as_of: pb::Date| pb::GetStatementRequest {
        province_code: "44".into(),
        platform_id: "eleme".into(),
        period: "2026-06".into(),
        as_of: Some(as_of),
    };
    let read = client
        .get_statement(authed(statement(date(2026, 7, 20)), &guangdong))
        .await
        .expect("the statement still answers")
        .into_inner();
    assert_eq!(
        (read.paid_fen, read.balance_fen),
        (2 * MAX_AMOUNT_FEN, 7_000_000 - 2 * MAX_AMOUNT_FEN)
    );

    // A month's payments add up to at most 1,000 of the largest: fill it to the bound (written
    // straight into the table, as a thousand calls would), and the next one is refused.
    sqlx::query(
        "INSERT INTO contribution_payments (province_code, payment_id, platform_id, period,
             amount_fen, paid_on, recorded_at, recorded_by)
         SELECT '44', gen_random_uuid(), 'eleme', DATE '2026-06-01', $1, DATE '2026-07-18', now(), 'test'
         FROM generate_series(1, 998)",
    )
    .bind(MAX_AMOUNT_FEN)
    .execute(&app.pool)
    .await
    .expect("payments up to the bound");
    let status = client
        .record_payment(authed(
            payment("one-more", 1, date(2026, 7, 19)),
            &guangdong,
        ))
        .await
        .expect_err("beyond the series bound");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let read = client
        .get_statement(authed(statement(date(2026, 7, 20)), &eleme))
        .await
        .expect("the statement answers at the bound")
        .into_inner();
    assert_eq!(read.paid_fen, 1_000 * MAX_AMOUNT_FEN);
    assert_eq!(read.payments.len(), 1_000);

    // Arrears still answer for every caller allowed to list them: Meituan owes, Eleme does not.
    for token in [&guangdong, &app.token("auditor").await] {
        let listed = client
            .list_arrears(authed(
                pb::ListArrearsRequest {
                    province_code: "44".into(),
                    as_of: Some(date(2026, 7, 20)),
                    page_size: 10,
                    page_token: String::new(),
                },
                token,
            ))
            .await
            .expect("arrears answer")
            .into_inner();
        assert_eq!(
            listed
                .arrears
                .iter()
                .map(|a| a.platform_id.as_str())
                .collect::<Vec<_>>(),
            vec!["meituan"]
        );
    }
    app.stop().await;
}
