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

    // Refusals.
    let admin = app.token("national-admin").await;
    for (token, code) in [
        (&eleme, Code::PermissionDenied),
        (&app.token("province:11").await, Code::PermissionDenied),
    ] {
        let status = client
            .record_payment(authed(payment("x", 1, date(2026, 7, 20)), token))
            .await
            .expect_err("may not record");
        assert_eq!(status.code(), code);
    }
    let undeclared = pb::RecordPaymentRequest {
        period: "2026-05".into(),
        ..payment("u", 100, date(2026, 7, 20))
    };
    assert_eq!(
        client
            .record_payment(authed(undeclared, &admin))
            .await
            .expect_err("nothing declared")
            .code(),
        Code::FailedPrecondition
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
    let beijing = app.token("province:11").await;
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
