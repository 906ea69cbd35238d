//! Monthly declarations: from orders or declared counts (same shape), half-up rounding once per
//! line, corrections as new versions with deltas, due dates as data, and who may read them.
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::contribution_service_client::ContributionServiceClient;
use tonic::Code;
use tonic::transport::Channel;

async fn record_june_orders(
    client: &mut ContributionServiceClient<Channel>,
    token: &str,
    ids: std::ops::Range<u32>,
) {
    let orders: Vec<pb::OrderRecord> = ids
        .map(|n| pb::OrderRecord {
            order_id: format!("june-{n}"),
            worker: Some(pb::order_record::Worker::IdNumber(STANDARD_ID.into())),
            place_of_employment: "440305".into(),
            industry: pb::Industry::InstantDelivery as i32,
            accepted_at: Some(at(&format!("2026-06-{:02}T04:00:00Z", 1 + n % 28))),
            completed_at: None,
        })
        .collect();
    let mut results = client
        .record_orders(authed(tokio_stream::iter(orders), token))
        .await
        .expect("stream")
        .into_inner();
    while let Some(result) = results.message().await.expect("result") {
        assert!(
            matches!(
                result.outcome,
                Some(pb::record_orders_result::Outcome::Accepted(_))
            ),
            "{result:?}"
        );
    }
}

fn from_orders(request_id: &str) -> pb::DeclareContributionsRequest {
    pb::DeclareContributionsRequest {
        request_id: request_id.into(),
        province_code: "44".into(),
        period: "2026-06".into(),
        source: Some(pb::declare_contributions_request::Source::FromOrders(
            pb::FromOrders {},
        )),
    }
}

#[tokio::test]
async fn declarations_from_orders_are_versioned_with_deltas() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    // Guangdong has set Meituan's instant-delivery multiplier to 1.3 for 2026.
    let multiplier = flexcover::store::rates::NewMultiplier {
        province_code: "44",
        platform_id: "meituan",
        industry: flexcover::domain::industry::Industry::InstantDelivery,
        valid_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        multiplier: flexcover::domain::rates::Multiplier::from_tenths(13).expect("1.3"),
    };
    flexcover::store::rates::insert_multiplier(&app.pool, &multiplier, chrono::Utc::now())
        .await
        .expect("multiplier");
    let token = app.token("platform:meituan").await;
    app.enrolment_client()
        .await
        .enrol_worker(authed(enrol_request("e", STANDARD_ID), &token))
        .await
        .expect("enrolled");
    let mut client = app.contribution_client().await;
    record_june_orders(&mut client, &token, 0..15).await;

    // June is not over on 2026-06-15.
    let status = client
        .declare_contributions(authed(from_orders("too-early"), &token))
        .await
        .expect_err("June has not ended");
    assert_field_violation(&status, "period");

    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-07-02T02:00:00Z")
            .expect("instant")
            .to_utc(),
    );
    let first = client
        .declare_contributions(authed(from_orders("d1"), &token))
        .await
        .expect("declared")
        .into_inner();
    assert_eq!(
        (first.version, first.total_fen),
        (1, 137),
        "15 orders x 7 fen x 1.3 = 136.5 fen, rounded once"
    );
    assert_eq!(first.lines.len(), 1);
    assert_eq!(
        (first.lines[0].orders, first.lines[0].amount_fen),
        (15, 137)
    );
    assert_eq!(first.due_date, Some(date(2026, 7, 15)));
    assert_eq!(first.source(), pb::DeclarationSource::Orders);
    assert_eq!((first.previous_total_fen, first.delta_fen), (0, 137));
    let replay = client
        .declare_contributions(authed(from_orders("d1"), &token))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(replay, first);

    // Five more June orders arrive late: the correction is version 2 with its delta.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-06-30T02:00:00Z")
            .expect("instant")
            .to_utc(),
    );
    record_june_orders(&mut client, &token, 15..20).await;
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-07-03T02:00:00Z")
            .expect("instant")
            .to_utc(),
    );
    let second = client
        .declare_contributions(authed(from_orders("d2"), &token))
        .await
        .expect("corrected")
        .into_inner();
    assert_eq!((second.version, second.total_fen), (2, 182), "20 x 9.1 fen");
    assert_eq!((second.previous_total_fen, second.delta_fen), (137, 45));
    assert_eq!(
        second.industry_deltas,
        vec![pb::IndustryDelta {
            industry: pb::Industry::InstantDelivery as i32,
            delta_fen: 45
        }]
    );

    // Reading: the platform, Guangdong with the platform named, not Beijing, not another platform.
    let get = |version: Option<i32>| pb::GetDeclarationRequest {
        province_code: "44".into(),
        platform_id: String::new(),
        period: "2026-06".into(),
        version,
    };
    assert_eq!(
        client
            .get_declaration(authed(get(None), &token))
            .await
            .expect("latest")
            .into_inner(),
        second
    );
    assert_eq!(
        client
            .get_declaration(authed(get(Some(1)), &token))
            .await
            .expect("v1")
            .into_inner(),
        first
    );
    let guangdong = app.token("province:44").await;
    let named = pb::GetDeclarationRequest {
        platform_id: "meituan".into(),
        ..get(None)
    };
    assert_eq!(
        client
            .get_declaration(authed(named.clone(), &guangdong))
            .await
            .expect("agency")
            .into_inner()
            .version,
        2
    );
    let beijing = app.token("province:11").await;
    let hidden = client
        .get_declaration(authed(named.clone(), &beijing))
        .await
        .expect_err("Beijing");
    let never = client
        .get_declaration(authed(
            pb::GetDeclarationRequest {
                period: "2026-05".into(),
                ..named.clone()
            },
            &guangdong,
        ))
        .await
        .expect_err("May was never declared");
    assert_eq!(
        (
            hidden.code(),
            hidden.message().replace("2026-06", "<month>")
        ),
        (
            Code::NotFound,
            never.message().replace("2026-05", "<month>")
        ),
        "hidden reads as missing"
    );
    assert_eq!(
        client
            .get_declaration(authed(get(Some(3)), &token))
            .await
            .expect_err("no version 3")
            .code(),
        Code::NotFound
    );
    assert_field_violation(
        &client
            .get_declaration(authed(get(Some(0)), &token))
            .await
            .expect_err("version 0"),
        "version",
    );
    let eleme = app.token("platform:eleme").await;
    assert_eq!(
        client
            .get_declaration(authed(named, &eleme))
            .await
            .expect_err("eleme")
            .code(),
        Code::NotFound
    );

    let filed: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'declaration.filed.v1' AND province_code = '44'")
        .fetch_one(&app.pool).await.expect("events");
    assert_eq!(filed, 2);
    app.stop().await;
}

#[tokio::test]
async fn declared_counts_give_the_same_shape_and_are_validated() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-07-02T02:00:00Z")
            .expect("instant")
            .to_utc(),
    );
    let token = app.token("platform:eleme").await;
    let mut client = app.contribution_client().await;
    let counts = |request_id: &str, counts: Vec<(i32, i64)>| pb::DeclareContributionsRequest {
        request_id: request_id.into(),
        province_code: "44".into(),
        period: "2026-06".into(),
        source: Some(pb::declare_contributions_request::Source::DeclaredCounts(
            pb::DeclaredCounts {
                counts: counts
                    .into_iter()
                    .map(|(industry, orders)| pb::IndustryOrders { industry, orders })
                    .collect(),
            },
        )),
    };
    let instant = pb::Industry::InstantDelivery as i32;
    let declared = client
        .declare_contributions(authed(counts("c1", vec![(instant, 1_000_001)]), &token))
        .await
        .expect("declared")
        .into_inner();
    assert_eq!(declared.source(), pb::DeclarationSource::DeclaredCounts);
    assert_eq!(
        (declared.lines[0].orders, declared.total_fen),
        (1_000_001, 7_000_007)
    );
    assert!(declared.lines[0].rate_version.ends_with("-m0"));
    assert_eq!(declared.due_date, Some(date(2026, 7, 15)));

    for (field, request) in [
        (
            "declared_counts.counts[0].orders",
            counts("c2", vec![(instant, -1)]),
        ),
        (
            "declared_counts.counts[1].industry",
            counts("c3", vec![(instant, 1), (instant, 2)]),
        ),
        (
            "declared_counts.counts[0].industry",
            counts("c4", vec![(0, 1)]),
        ),
        (
            "period",
            pb::DeclareContributionsRequest {
                period: "2026-7".into(),
                ..counts("c5", vec![(instant, 1)])
            },
        ),
        (
            "province_code",
            pb::DeclareContributionsRequest {
                province_code: "99".into(),
                ..counts("c6", vec![(instant, 1)])
            },
        ),
        (
            "source",
            pb::DeclareContributionsRequest {
                source: None,
                ..counts("c7", vec![])
            },
        ),
        (
            "declared_counts.counts[0].orders",
            counts("c9", vec![(instant, 1_000_000_000_001)]),
        ),
        (
            "declared_counts.counts[0].orders",
            counts("c10", vec![(instant, i64::MAX)]),
        ),
        (
            // 10¹² orders at 7 fen would be 7 × 10¹² fen, over the bound of one amount.
            "declared_counts.counts[0].orders",
            counts("c11", vec![(instant, 1_000_000_000_000)]),
        ),
        ("request_id", counts(" c12", vec![(instant, 1)])),
    ] {
        let status = client
            .declare_contributions(authed(request, &token))
            .await
            .expect_err(field);
        assert_field_violation(&status, field);
    }
    for role in ["national-admin", "province:44", "auditor"] {
        let status = client
            .declare_contributions(authed(
                counts("c8", vec![(instant, 1)]),
                &app.token(role).await,
            ))
            .await
            .expect_err(role);
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
    }
    assert_eq!(
        app.count("declarations").await,
        1,
        "refusals declared nothing"
    );
    app.stop().await;
}
