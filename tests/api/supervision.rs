//! Supervision (issue 18): orders refused for missing cover are kept as counted facts; the agency
//! of the province sees findings with the right counts; enrolling the worker and declaring the
//! month resolve what they should; another province's agency and another platform see nothing;
//! findings opened and resolved are events on the province's stream.
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::record_orders_result::Outcome;
use flexcover::pb::supervision_service_client::SupervisionServiceClient;
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

async fn supervision(app: &TestApp) -> SupervisionServiceClient<Channel> {
    SupervisionServiceClient::new(app.channel().await)
}

pub fn order(order_id: &str, accepted: &str) -> pb::OrderRecord {
    pb::OrderRecord {
        order_id: order_id.into(),
        worker: Some(pb::order_record::Worker::IdNumber(STANDARD_ID.into())),
        place_of_employment: "440305".into(),
        industry: pb::Industry::InstantDelivery as i32,
        accepted_at: Some(at(accepted)),
        completed_at: None,
    }
}

pub async fn record(app: &TestApp, token: &str, orders: Vec<pb::OrderRecord>) -> Vec<Outcome> {
    let mut stream = app
        .contribution_client()
        .await
        .record_orders(authed(tokio_stream::iter(orders), token))
        .await
        .expect("stream")
        .into_inner();
    let mut outcomes = Vec::new();
    while let Some(result) = stream.message().await.expect("result") {
        outcomes.push(result.outcome.expect("outcome"));
    }
    outcomes
}

async fn list(app: &TestApp, token: &str, request: pb::ListFindingsRequest) -> Vec<pb::Finding> {
    supervision(app)
        .await
        .list_findings(authed(request, token))
        .await
        .expect("listed")
        .into_inner()
        .findings
}

fn of_kind(findings: &[pb::Finding], kind: pb::FindingKind) -> Vec<&pb::Finding> {
    findings.iter().filter(|f| f.kind() == kind).collect()
}

async fn event_types(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT province_code::text, event_type FROM events
         WHERE event_type LIKE 'supervision.%' ORDER BY event_id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("events")
}

#[tokio::test]
async fn refused_orders_become_findings_that_enrolling_and_declaring_resolve() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    let meituan = app.token("platform:meituan").await;
    let eleme = app.token("platform:eleme").await;
    let agency = app.token("province:44").await;
    let beijing = app.token("province:11").await;
    let admin = app.token("national-admin").await;
    let auditor = app.token("auditor").await;

    // The worker is not enrolled: five orders on two days (China Standard Time) are refused, as
    // today, one per result.
    let outcomes = record(
        &app,
        &meituan,
        vec![
            order("r-1", "2026-06-10T02:00:00Z"),
            order("r-2", "2026-06-10T03:00:00Z"),
            order("r-3", "2026-06-10T04:00:00Z"),
            order("r-4", "2026-06-11T02:00:00Z"),
            // 2026-06-11 in China Standard Time.
            order("r-5", "2026-06-10T17:00:00Z"),
        ],
    )
    .await;
    assert_eq!(outcomes.len(), 5);
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Outcome::Error(status) if status.code == Code::FailedPrecondition as i32),
            "{outcome:?}"
        );
    }

    // The agency sees one finding per day, with the counts and samples (masked, never the number).
    let findings = list(&app, &agency, pb::ListFindingsRequest::default()).await;
    let uncovered = of_kind(&findings, pb::FindingKind::UncoveredOrders);
    assert_eq!(uncovered.len(), 2, "{findings:?}");
    let (june_11, june_10) = (uncovered[0], uncovered[1]);
    assert_eq!(june_11.period_start, Some(date(2026, 6, 11)));
    assert_eq!((june_11.measure, june_10.measure), (2, 3));
    assert_eq!(june_10.period_end, Some(date(2026, 6, 11)));
    assert_eq!(june_10.state(), pb::FindingState::Open);
    assert_eq!(
        (june_10.province_code.as_str(), june_10.platform_id.as_str()),
        ("44", "meituan")
    );
    assert_eq!(june_10.sample_order_ids, ["r-1", "r-2", "r-3"]);
    assert_eq!(june_10.sample_workers, ["110105********002X"]);
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT array_to_string(sample_workers, ',') FROM cover_shortfalls")
            .fetch_all(&app.pool)
            .await
            .expect("samples");
    assert!(stored.iter().all(|s| !s.contains(STANDARD_ID)));
    // Never charged: nothing was written to the orders.
    assert_eq!(app.count("orders").await, 0);

    // Read by id, by the agency, auditors and the platform itself.
    let id = june_10.finding_id.clone();
    for token in [&agency, &auditor, &admin, &meituan] {
        let got = supervision(&app)
            .await
            .get_finding(authed(
                pb::GetFindingRequest {
                    finding_id: id.clone(),
                },
                token,
            ))
            .await
            .expect("seen")
            .into_inner();
        assert_eq!(got.measure, 3);
    }
    // Another province's agency and another platform see nothing of it.
    for token in [&beijing, &eleme] {
        let status = supervision(&app)
            .await
            .get_finding(authed(
                pb::GetFindingRequest {
                    finding_id: id.clone(),
                },
                token,
            ))
            .await
            .expect_err("unseen");
        assert_eq!(status.code(), Code::NotFound);
        assert!(
            list(&app, token, pb::ListFindingsRequest::default())
                .await
                .is_empty()
        );
    }
    let status = supervision(&app)
        .await
        .list_findings(authed(
            pb::ListFindingsRequest {
                province_code: "44".into(),
                ..Default::default()
            },
            &beijing,
        ))
        .await
        .expect_err("another province");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = supervision(&app)
        .await
        .get_compliance_summary(authed(
            pb::GetComplianceSummaryRequest {
                province_code: "44".into(),
                platform_id: "meituan".into(),
                period_from: Some(date(2026, 6, 1)),
                period_to: Some(date(2026, 7, 1)),
            },
            &beijing,
        ))
        .await
        .expect_err("another province");
    assert_eq!(status.code(), Code::PermissionDenied);
    // The platform reads its own.
    assert_eq!(
        list(&app, &meituan, pb::ListFindingsRequest::default())
            .await
            .len(),
        2
    );

    // Paged (AIP-158): one a page, then the second, then no token.
    let first = supervision(&app)
        .await
        .list_findings(authed(
            pb::ListFindingsRequest {
                page_size: 1,
                ..Default::default()
            },
            &agency,
        ))
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(first.findings.len(), 1);
    let second = supervision(&app)
        .await
        .list_findings(authed(
            pb::ListFindingsRequest {
                page_size: 1,
                page_token: first.next_page_token.clone(),
                ..Default::default()
            },
            &agency,
        ))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(second.findings[0].finding_id, id);
    assert!(second.next_page_token.is_empty());

    // Enrolling the worker (from 2026-06-15, five days after the first refusal) and recording an
    // accepted order resolves both days, and records a late enrolment of 5 days.
    let mut enrol = enrol_request("e1", STANDARD_ID);
    enrol.cover_start_date = Some(date(2026, 6, 15));
    app.enrolment_client()
        .await
        .enrol_worker(authed(enrol, &meituan))
        .await
        .expect("enrolled");
    let accepted = record(&app, &meituan, vec![order("a-1", "2026-06-15T03:00:00Z")]).await;
    assert!(matches!(accepted[0], Outcome::Accepted(_)), "{accepted:?}");
    let findings = list(&app, &agency, pb::ListFindingsRequest::default()).await;
    let uncovered = of_kind(&findings, pb::FindingKind::UncoveredOrders);
    assert!(
        uncovered
            .iter()
            .all(|f| f.state() == pb::FindingState::Resolved && f.resolved_at.is_some()),
        "{uncovered:?}"
    );
    let late = of_kind(&findings, pb::FindingKind::LateEnrolment);
    assert_eq!(late.len(), 1, "{findings:?}");
    assert_eq!(late[0].measure, 5);

    // After June's due date (15 July) with no declaration, the month is a finding, 5 days late.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-07-20T04:00:00Z")
            .expect("instant")
            .to_utc(),
    );
    let open = list(
        &app,
        &agency,
        pb::ListFindingsRequest {
            state: pb::FindingState::Open as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].kind(), pb::FindingKind::UndeclaredMonth);
    assert_eq!(
        (open[0].period_start, open[0].measure),
        (Some(date(2026, 6, 1)), 5)
    );

    // Declaring June resolves it; the month, declared late and unpaid, is now in arrears.
    let declared = app
        .contribution_client()
        .await
        .declare_contributions(authed(
            pb::DeclareContributionsRequest {
                request_id: "d1".into(),
                province_code: "44".into(),
                period: "2026-06".into(),
                source: Some(pb::declare_contributions_request::Source::FromOrders(
                    pb::FromOrders {},
                )),
            },
            &meituan,
        ))
        .await
        .expect("declared")
        .into_inner();
    let findings = list(&app, &agency, pb::ListFindingsRequest::default()).await;
    let undeclared = of_kind(&findings, pb::FindingKind::UndeclaredMonth);
    assert_eq!(undeclared[0].state(), pb::FindingState::Resolved);
    let arrears = of_kind(&findings, pb::FindingKind::Arrears);
    assert_eq!(arrears.len(), 1);
    assert_eq!(arrears[0].state(), pb::FindingState::Open);
    assert_eq!(
        (arrears[0].measure, arrears[0].detail.as_str()),
        (declared.total_fen, "0-30")
    );

    // The platform's summary for June.
    let summary = supervision(&app)
        .await
        .get_compliance_summary(authed(
            pb::GetComplianceSummaryRequest {
                province_code: "44".into(),
                platform_id: "meituan".into(),
                period_from: Some(date(2026, 6, 1)),
                period_to: Some(date(2026, 7, 1)),
            },
            &agency,
        ))
        .await
        .expect("summary")
        .into_inner();
    assert_eq!(summary.refused_orders, 5);
    assert_eq!(summary.arrears_0_30_fen, declared.total_fen);
    let uncovered = &summary.kinds[0];
    assert_eq!(uncovered.kind(), pb::FindingKind::UncoveredOrders);
    assert_eq!(
        (uncovered.open, uncovered.resolved, uncovered.total_measure),
        (0, 2, 5)
    );

    // The national admin ranks platforms: 5 refused of 6 sent in June is 833 per thousand.
    let ranking = supervision(&app)
        .await
        .rank_platforms(authed(
            pb::RankPlatformsRequest {
                month: Some(date(2026, 6, 1)),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("ranked")
        .into_inner();
    assert_eq!(ranking.ranks.len(), 1);
    let rank = &ranking.ranks[0];
    assert_eq!(
        (
            rank.refused_orders,
            rank.accepted_orders,
            rank.uncovered_per_thousand,
            rank.rank
        ),
        (5, 1, 833, 1)
    );
    for token in [&meituan, &beijing] {
        let status = supervision(&app)
            .await
            .rank_platforms(authed(
                pb::RankPlatformsRequest {
                    month: Some(date(2026, 6, 1)),
                    province_code: "44".into(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .expect_err("not theirs");
        assert_eq!(status.code(), Code::PermissionDenied);
    }

    // Every change was an event on Guangdong's stream: two days opened and resolved, the late
    // enrolment (born resolved), June undeclared opened and resolved, the arrears opened.
    let events = event_types(&app).await;
    let count = |kind: &str| events.iter().filter(|(_, t)| t == kind).count();
    assert!(events.iter().all(|(province, _)| province == "44"));
    assert_eq!(count("supervision.finding_opened.v1"), 4, "{events:?}");
    assert_eq!(count("supervision.finding_resolved.v1"), 4, "{events:?}");
    let payload: Vec<u8> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE event_type = 'supervision.finding_opened.v1'
         ORDER BY event_id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .expect("payload");
    let event = pb::FindingChangedV1::decode(payload.as_slice()).expect("decodes");
    let finding = event.finding.expect("finding");
    assert_eq!(finding.kind(), pb::FindingKind::UncoveredOrders);
    assert!(finding.sample_workers.is_empty());

    // A refresh with nothing new changes nothing.
    list(&app, &admin, pb::ListFindingsRequest::default()).await;
    assert_eq!(event_types(&app).await.len(), events.len());
}

/// A finding's day, count and samples.
type Seen = (Option<pb::Date>, i64, Vec<String>, Vec<String>);

#[tokio::test]
async fn only_refusals_for_missing_cover_are_counted_and_workers_named_by_enrolment_are_masked() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    let meituan = app.token("platform:meituan").await;
    let agency = app.token("province:44").await;
    let mut enrol = enrol_request("e1", STANDARD_ID);
    enrol.cover_start_date = Some(date(2026, 6, 1));
    let enrolment = app
        .enrolment_client()
        .await
        .enrol_worker(authed(enrol, &meituan))
        .await
        .expect("enrolled")
        .into_inner()
        .enrolment
        .expect("enrolment");
    let by_enrolment = |order_id: &str, enrolment_id: &str, accepted: &str| pb::OrderRecord {
        worker: Some(pb::order_record::Worker::EnrolmentId(enrolment_id.into())),
        ..order(order_id, accepted)
    };
    let mut other_industry = order("m-1", "2026-06-14T02:00:00Z");
    other_industry.industry = pb::Industry::RideHailing as i32;
    let outcomes = record(
        &app,
        &meituan,
        vec![
            // Before the cover starts, named by enrolment id: missing cover.
            by_enrolment("m-0", &enrolment.enrolment_id, "2026-05-20T02:00:00Z"),
            // Enrolled for instant delivery, working ride-hailing: missing cover.
            other_industry,
            // An enrolment id that is none of Meituan's: not a shortfall of cover.
            by_enrolment(
                "m-2",
                &uuid::Uuid::new_v4().to_string(),
                "2026-06-14T02:00:00Z",
            ),
            // Covered.
            order("m-3", "2026-06-14T03:00:00Z"),
        ],
    )
    .await;
    let codes: Vec<Option<i32>> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Error(status) => Some(status.code),
            _ => None,
        })
        .collect();
    assert_eq!(
        codes,
        [
            Some(Code::FailedPrecondition as i32),
            Some(Code::FailedPrecondition as i32),
            Some(Code::NotFound as i32),
            None
        ]
    );
    let findings = list(&app, &agency, pb::ListFindingsRequest::default()).await;
    let uncovered = of_kind(&findings, pb::FindingKind::UncoveredOrders);
    let seen: Vec<Seen> = uncovered
        .iter()
        .map(|f| {
            (
                f.period_start,
                f.measure,
                f.sample_order_ids.clone(),
                f.sample_workers.clone(),
            )
        })
        .collect();
    let masked = vec!["110105********002X".to_owned()];
    assert_eq!(
        seen,
        [
            (
                Some(date(2026, 6, 14)),
                1,
                vec!["m-1".to_owned()],
                masked.clone()
            ),
            (Some(date(2026, 5, 20)), 1, vec!["m-0".to_owned()], masked),
        ]
    );
    // The worker is enrolled (active) for instant delivery: May 20 is resolved, but the
    // ride-hailing day stays open until the worker is enrolled for that industry.
    let states: Vec<pb::FindingState> = uncovered.iter().map(|f| f.state()).collect();
    assert_eq!(states, [pb::FindingState::Open, pb::FindingState::Resolved]);
}
