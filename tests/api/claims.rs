//! ClaimService: a claim from the report to the final payment, every refused transition naming the
//! current state, deadlines on their last day and the day after (over weekends and holidays),
//! duplicate flags across platforms and their invisibility to platforms, benefit formulas on worked
//! examples, appeal and re-appraisal histories, tenant isolation and the access log.
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::claim_service_client::ClaimServiceClient;
use tonic::Code;
use tonic::transport::Channel;

pub async fn claims(app: &TestApp) -> ClaimServiceClient<Channel> {
    ClaimServiceClient::new(app.channel().await)
}

pub fn report_request(request_id: &str, id: &str, occurred: &str) -> pb::ReportIncidentRequest {
    pb::ReportIncidentRequest {
        request_id: request_id.into(),
        worker: Some(pb::report_incident_request::Worker::IdNumber(id.into())),
        order_id: "order-1".into(),
        occurred_at: Some(at(occurred)),
        place_code: "440305".into(),
        description: "fell from the e-bike at a crossing; left wrist fractured".into(),
        kind: pb::IncidentKind::Injury as i32,
    }
}

/// The app with the pilot, rates, a Meituan enrolment and an order in progress at 10:10 Beijing
/// time on 14 June 2026; tokens for Meituan and Guangdong's agency.
pub struct Setup {
    pub app: TestApp,
    pub meituan: String,
    pub agency: String,
}

pub async fn setup() -> Setup {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("rates");
    let meituan = app.token("platform:meituan").await;
    let agency = app.token("province:44").await;
    app.enrolment_client()
        .await
        .enrol_worker(authed(enrol_request("e1", STANDARD_ID), &meituan))
        .await
        .expect("enrolled");
    record_order(
        &app,
        &meituan,
        "order-1",
        "2026-06-14T02:00:00Z",
        "2026-06-14T02:30:00Z",
    )
    .await;
    Setup {
        app,
        meituan,
        agency,
    }
}

/// Records one order of the standard worker in Nanshan (instant delivery) through RecordOrders.
pub async fn record_order(
    app: &TestApp,
    token: &str,
    order_id: &str,
    accepted_at: &str,
    completed_at: &str,
) {
    let order = pb::OrderRecord {
        order_id: order_id.into(),
        worker: Some(pb::order_record::Worker::IdNumber(STANDARD_ID.into())),
        place_of_employment: "440305".into(),
        industry: pb::Industry::InstantDelivery as i32,
        accepted_at: Some(at(accepted_at)),
        completed_at: Some(at(completed_at)),
    };
    let mut results = app
        .contribution_client()
        .await
        .record_orders(authed(tokio_stream::iter(vec![order]), token))
        .await
        .expect("stream")
        .into_inner();
    while results.message().await.expect("result").is_some() {}
}

pub fn set_today(app: &TestApp, day: &str) {
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339(&format!("{day}T04:00:00Z"))
            .expect("instant")
            .to_utc(),
    );
}

pub async fn set_average_wage(app: &TestApp, year: i32, annual_fen: i64) {
    let admin = app.token("national-admin").await;
    app.admin_client()
        .await
        .set_average_wage(authed(
            pb::SetAverageWageRequest {
                request_id: format!("wage-{year}"),
                province_code: "44".into(),
                year,
                annual_fen,
            },
            &admin,
        ))
        .await
        .expect("average wage");
}

pub async fn set_private_sector_wage(app: &TestApp, year: i32, annual_fen: i64) {
    let admin = app.token("national-admin").await;
    app.admin_client()
        .await
        .set_private_sector_wage(authed(
            pb::SetPrivateSectorWageRequest {
                request_id: format!("private-wage-{year}"),
                province_code: "44".into(),
                year,
                annual_fen,
            },
            &admin,
        ))
        .await
        .expect("private-sector wage");
}

pub fn item(claim: &pb::Claim, kind: pb::BenefitKind) -> pb::BenefitItem {
    claim
        .benefits
        .iter()
        .find(|i| i.kind() == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind:?} item in {:?}", claim.benefits))
}

#[tokio::test]
async fn a_claim_runs_from_the_report_to_the_final_payment() {
    let Setup {
        app,
        meituan,
        agency,
    } = setup().await;
    let mut client = claims(&app).await;
    let reported = client
        .report_incident(authed(
            report_request("r1", STANDARD_ID, "2026-06-14T02:10:00Z"),
            &meituan,
        ))
        .await
        .expect("reported")
        .into_inner();
    assert_eq!(reported.status(), pb::ClaimStatus::Reported);
    assert_eq!(reported.grade, None, "not appraised yet");
    assert!(reported.covered, "enrolled and on an order at that instant");
    assert_eq!(reported.covering_order_id, "order-1");
    assert_eq!(reported.province_code, "44");
    assert_eq!(reported.id_number_masked, "110105********002X");
    // Reported on 15 June: the platform has 30 days; the worker 90 days from the accident.
    assert_eq!(reported.platform_application_due, Some(date(2026, 7, 15)));
    assert_eq!(reported.worker_application_due, Some(date(2026, 9, 12)));
    let claim_id = reported.claim_id.clone();

    // Steps out of order are refused, naming the current state, and change nothing.
    let early = client
        .decide_confirmation(authed(
            pb::DecideConfirmationRequest {
                request_id: "d0".into(),
                claim_id: claim_id.clone(),
                confirmed: true,
                reasons: "on an order".into(),
            },
            &agency,
        ))
        .await
        .expect_err("not applied yet");
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(early.message().contains("reported"), "{}", early.message());

    let applied = client
        .apply_for_confirmation(authed(
            pb::ApplyForConfirmationRequest {
                request_id: "a1".into(),
                claim_id: claim_id.clone(),
                applicant: pb::Applicant::Platform as i32,
                late_explanation: String::new(),
            },
            &meituan,
        ))
        .await
        .expect("applied")
        .into_inner();
    assert_eq!(applied.status(), pb::ClaimStatus::Applied);
    // Monday 15 June + 30 working days (Dragon Boat Festival 19 June off): 28 July.
    assert_eq!(applied.decision_due, Some(date(2026, 7, 28)));

    let refused = client
        .decide_confirmation(authed(
            pb::DecideConfirmationRequest {
                request_id: "d1".into(),
                claim_id: claim_id.clone(),
                confirmed: true,
                reasons: "injured on an order".into(),
            },
            &meituan,
        ))
        .await
        .expect_err("platforms do not decide");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let confirmed = client
        .decide_confirmation(authed(
            pb::DecideConfirmationRequest {
                request_id: "d1".into(),
                claim_id: claim_id.clone(),
                confirmed: true,
                reasons: "injured on an order".into(),
            },
            &agency,
        ))
        .await
        .expect("confirmed")
        .into_inner();
    assert_eq!(confirmed.status(), pb::ClaimStatus::Confirmed);

    let appraised = client
        .record_appraisal(authed(
            pb::RecordAppraisalRequest {
                request_id: "g1".into(),
                claim_id: claim_id.clone(),
                grade: Some(8),
            },
            &agency,
        ))
        .await
        .expect("appraised")
        .into_inner();
    assert_eq!(
        (appraised.status(), appraised.grade),
        (pb::ClaimStatus::Appraised, Some(8))
    );

    // Wage base: Guangdong's 2025 average wage, 120,000 yuan a year = 10,000 yuan a month.
    let assess = pb::AssessBenefitsRequest {
        request_id: "b1".into(),
        claim_id: claim_id.clone(),
        medical_costs_fen: 1_234_567,
        rehabilitation_costs_fen: 0,
        assistive_devices_costs_fen: 0,
        treatment_days: 45,
        dependants: vec![],
    };
    let missing = client
        .assess_benefits(authed(assess.clone(), &agency))
        .await
        .expect_err("no wage data yet");
    assert_eq!(missing.code(), Code::FailedPrecondition);
    assert!(
        missing.message().contains("2025 average wage"),
        "{}",
        missing.message()
    );
    set_average_wage(&app, 2025, 12_000_000).await;
    let assessed = client
        .assess_benefits(authed(assess, &agency))
        .await
        .expect("assessed")
        .into_inner();
    assert_eq!(assessed.status(), pb::ClaimStatus::Assessed);
    let subsidy = item(&assessed, pb::BenefitKind::OneTimeDisabilitySubsidy);
    assert_eq!(subsidy.amount_fen, 11 * 1_000_000, "grade 8: 11 months");
    assert_eq!(
        (subsidy.payer(), subsidy.monthly),
        (pb::BenefitPayer::Fund, false)
    );
    assert_eq!(subsidy.inputs.get("months"), Some(&11));
    assert_eq!(subsidy.inputs.get("wage_base_fen"), Some(&1_000_000));
    let living = item(&assessed, pb::BenefitKind::LivingAllowance);
    assert_eq!(
        (living.payer(), living.amount_fen),
        (pb::BenefitPayer::Platform, 1_500_000)
    );
    assert_eq!(
        item(&assessed, pb::BenefitKind::Medical).amount_fen,
        1_234_567
    );

    // Partial payments, paid on 1 August; more than remains is refused; the last one closes the
    // claim.
    set_today(&app, "2026-08-03");
    use pb::BenefitKind::{LivingAllowance, Medical, OneTimeDisabilitySubsidy};
    let pay = |request_id: &str, kind: pb::BenefitKind, amount_fen: i64| {
        pb::RecordBenefitPaymentRequest {
            request_id: request_id.into(),
            claim_id: claim_id.clone(),
            kind: kind as i32,
            amount_fen,
            paid_on: Some(date(2026, 8, 1)),
            ..Default::default()
        }
    };
    let partly = client
        .record_benefit_payment(authed(
            pay("p1", OneTimeDisabilitySubsidy, 5_000_000),
            &agency,
        ))
        .await
        .expect("paid")
        .into_inner();
    assert_eq!(item(&partly, OneTimeDisabilitySubsidy).paid_fen, 5_000_000);
    let replay = client
        .record_benefit_payment(authed(
            pay("p1", OneTimeDisabilitySubsidy, 5_000_000),
            &agency,
        ))
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(replay, partly, "a retried payment is not paid twice");
    let over = client
        .record_benefit_payment(authed(
            pay("p2", OneTimeDisabilitySubsidy, 6_000_001),
            &agency,
        ))
        .await
        .expect_err("more than remains");
    assert_eq!(over.code(), Code::FailedPrecondition);
    assert!(over.message().contains("60000.00"), "{}", over.message());
    let not_theirs = client
        .record_benefit_payment(authed(pay("p3", Medical, 1_234_567), &meituan))
        .await
        .expect_err("the fund pays medical costs");
    assert_eq!(not_theirs.code(), Code::PermissionDenied);
    let not_the_agencys = client
        .record_benefit_payment(authed(pay("p3", LivingAllowance, 1_500_000), &agency))
        .await
        .expect_err("the platform pays the living allowance");
    assert_eq!(not_the_agencys.code(), Code::PermissionDenied);
    for (request_id, kind, amount, token) in [
        ("p4", OneTimeDisabilitySubsidy, 6_000_000, &agency),
        ("p5", Medical, 1_234_567, &agency),
        ("p6", LivingAllowance, 1_500_000, &meituan),
    ] {
        client
            .record_benefit_payment(authed(pay(request_id, kind, amount), token))
            .await
            .unwrap_or_else(|status| panic!("{request_id}: {status:?}"));
    }
    let closed = client
        .get_claim(authed(
            pb::GetClaimRequest {
                claim_id: claim_id.clone(),
            },
            &agency,
        ))
        .await
        .expect("read")
        .into_inner();
    assert_eq!(closed.status(), pb::ClaimStatus::Closed);
    let steps: Vec<pb::ClaimStep> = closed.timeline.iter().map(|t| t.step()).collect();
    use pb::ClaimStep::{Applied, Appraised, Assessed, Decided, Paid, Reported};
    assert_eq!(
        steps,
        [
            Reported, Applied, Decided, Appraised, Assessed, Paid, Paid, Paid, Paid
        ]
    );
    assert_eq!(
        closed.timeline.last().map(|t| t.status()),
        Some(pb::ClaimStatus::Closed)
    );
    assert_eq!(
        closed.description,
        "fell from the e-bike at a crossing; left wrist fractured"
    );
    let codes: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM events WHERE event_type LIKE 'claim.%' ORDER BY event_id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("events");
    assert_eq!(codes.len(), 9, "one event per step: {codes:?}");
    assert_eq!(codes[0], "claim.reported.v1");
    let stored: Vec<u8> = sqlx::query_scalar("SELECT description_ciphertext FROM claims")
        .fetch_one(&app.pool)
        .await
        .expect("claim row");
    assert!(
        !String::from_utf8_lossy(&stored).contains("wrist"),
        "the description is stored encrypted"
    );
    // Nor is it in the replies stored for replays (sealed), nor in any event.
    let replies: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT response FROM idempotency_keys WHERE rpc = 'ReportIncident' AND response IS NOT NULL",
    )
    .fetch_all(&app.pool)
    .await
    .expect("stored replies");
    assert_eq!(replies.len(), 1);
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM events")
        .fetch_all(&app.pool)
        .await
        .expect("events");
    for bytes in replies.iter().chain(&payloads) {
        assert!(!String::from_utf8_lossy(bytes).contains("wrist"));
        assert!(!hex::encode(bytes).contains(&hex::encode("wrist")));
    }
    app.stop().await;
}

#[tokio::test]
async fn duplicates_across_platforms_are_flagged_for_agencies_only() {
    let Setup {
        app,
        meituan,
        agency,
    } = setup().await;
    let eleme = app.token("platform:eleme").await;
    let mut client = claims(&app).await;
    let first = client
        .report_incident(authed(
            report_request("r1", STANDARD_ID, "2026-06-14T02:10:00Z"),
            &meituan,
        ))
        .await
        .expect("meituan")
        .into_inner();
    let second = client
        .report_incident(authed(
            report_request("r1", STANDARD_ID, "2026-06-14T03:40:00Z"),
            &eleme,
        ))
        .await
        .expect("eleme")
        .into_inner();
    assert!(
        !second.covered,
        "eleme has no enrolment of this worker: flagged"
    );
    assert!(second.timeline[0].detail.contains("FLAGGED"));
    // More than 2 hours after both: not a duplicate.
    let later = client
        .report_incident(authed(
            report_request("r2", STANDARD_ID, "2026-06-14T05:41:00Z"),
            &meituan,
        ))
        .await
        .expect("later")
        .into_inner();
    let read = |claim_id: &str| pb::GetClaimRequest {
        claim_id: claim_id.into(),
    };
    for (claim, token) in [(&first, &meituan), (&second, &eleme)] {
        let seen = client
            .get_claim(authed(read(&claim.claim_id), token))
            .await
            .expect("own claim")
            .into_inner();
        assert!(!seen.possible_duplicate && seen.possible_duplicate_of.is_empty());
    }
    assert!(!first.possible_duplicate && !second.possible_duplicate);
    let seen = client
        .get_claim(authed(read(&first.claim_id), &agency))
        .await
        .expect("agency")
        .into_inner();
    assert_eq!(seen.possible_duplicate_of, vec![second.claim_id.clone()]);
    let seen = client
        .get_claim(authed(read(&second.claim_id), &agency))
        .await
        .expect("agency")
        .into_inner();
    assert_eq!(seen.possible_duplicate_of, vec![first.claim_id.clone()]);
    let seen = client
        .get_claim(authed(read(&later.claim_id), &agency))
        .await
        .expect("agency")
        .into_inner();
    assert!(!seen.possible_duplicate);
    // Each platform sees only its own report.
    let hidden = client
        .get_claim(authed(read(&first.claim_id), &eleme))
        .await
        .expect_err("not eleme's");
    assert_eq!(hidden.code(), Code::NotFound);
    let listed = client
        .list_claims(authed(pb::ListClaimsRequest::default(), &eleme))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.claims.len(), 1);
    assert_eq!(listed.claims[0].claim_id, second.claim_id);
    app.stop().await;
}

pub async fn reported(app: &TestApp, token: &str, request_id: &str) -> String {
    claims(app)
        .await
        .report_incident(authed(
            report_request(request_id, STANDARD_ID, "2026-06-14T02:10:00Z"),
            token,
        ))
        .await
        .expect("reported")
        .into_inner()
        .claim_id
}

pub fn apply_request(
    request_id: &str,
    claim_id: &str,
    explanation: &str,
) -> pb::ApplyForConfirmationRequest {
    pb::ApplyForConfirmationRequest {
        request_id: request_id.into(),
        claim_id: claim_id.into(),
        applicant: pb::Applicant::Platform as i32,
        late_explanation: explanation.into(),
    }
}

#[tokio::test]
async fn application_deadlines_hold_on_the_last_day_and_not_the_day_after() {
    let Setup { app, meituan, .. } = setup().await;
    let on_time = reported(&app, &meituan, "r1").await;
    let late = reported(&app, &meituan, "r2").await;
    let mut client = claims(&app).await;
    set_today(&app, "2026-07-15");
    client
        .apply_for_confirmation(authed(apply_request("a1", &on_time, ""), &meituan))
        .await
        .expect("the last day is in time");
    set_today(&app, "2026-07-16");
    let refused = client
        .apply_for_confirmation(authed(apply_request("a2", &late, ""), &meituan))
        .await
        .expect_err("the day after needs an explanation");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("2026-07-15"),
        "{}",
        refused.message()
    );
    let applied = client
        .apply_for_confirmation(authed(
            apply_request("a3", &late, "the rider was in intensive care"),
            &meituan,
        ))
        .await
        .expect("late, explained")
        .into_inner();
    assert_eq!(applied.late_explanation, "the rider was in intensive care");
    app.stop().await;
}

#[tokio::test]
async fn decisions_are_due_in_working_days_and_listed_when_overdue() {
    let Setup {
        app,
        meituan,
        agency,
    } = setup().await;
    let claim_id = reported(&app, &meituan, "r1").await;
    let mut client = claims(&app).await;
    // The worker applies at the agency's counter on Tuesday 29 September 2026, past the 90 days:
    // National Day (1-7 October) is off and Saturday 10 October is worked, so 30 working days end
    // on Monday 16 November (a weekday count alone would say 10 November).
    let mut request = apply_request("a1", &claim_id, "");
    request.applicant = pb::Applicant::Worker as i32;
    set_today(&app, "2026-09-29");
    let applied = client
        .apply_for_confirmation(authed(
            pb::ApplyForConfirmationRequest {
                late_explanation: "reported late by the platform".into(),
                ..request
            },
            &agency,
        ))
        .await
        .expect("applied")
        .into_inner();
    assert_eq!(applied.decision_due, Some(date(2026, 11, 16)));
    let overdue = |day: &str| pb::ListClaimsRequest {
        overdue_at: Some(at(&format!("{day}T04:00:00Z"))),
        ..Default::default()
    };
    let on_the_day = client
        .list_claims(authed(overdue("2026-11-16"), &agency))
        .await
        .expect("list")
        .into_inner();
    assert!(on_the_day.claims.is_empty(), "due today is not overdue");
    let after = client
        .list_claims(authed(overdue("2026-11-17"), &agency))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(after.claims.len(), 1);
    assert_eq!(after.claims[0].claim_id, claim_id);
    assert!(
        after.claims[0].description.is_empty(),
        "listings carry no injury details"
    );
    app.stop().await;
}

#[tokio::test]
async fn appeals_and_re_appraisals_keep_their_history() {
    let Setup {
        app,
        meituan,
        agency,
    } = setup().await;
    let claim_id = reported(&app, &meituan, "r1").await;
    let mut client = claims(&app).await;
    client
        .apply_for_confirmation(authed(apply_request("a1", &claim_id, ""), &meituan))
        .await
        .expect("applied");
    let decide = |request_id: &str, confirmed: bool| pb::DecideConfirmationRequest {
        request_id: request_id.into(),
        claim_id: claim_id.clone(),
        confirmed,
        reasons: if confirmed {
            "on an order"
        } else {
            "not on an order"
        }
        .into(),
    };
    let denied = client
        .decide_confirmation(authed(decide("d1", false), &agency))
        .await
        .expect("denied")
        .into_inner();
    assert_eq!(denied.status(), pb::ClaimStatus::NotConfirmed);
    set_today(&app, "2026-06-22");
    let appealed = client
        .appeal_decision(authed(
            pb::AppealDecisionRequest {
                request_id: "ap1".into(),
                claim_id: claim_id.clone(),
                grounds: "the order log shows the rider on an order".into(),
            },
            &meituan,
        ))
        .await
        .expect("appealed")
        .into_inner();
    assert_eq!(appealed.status(), pb::ClaimStatus::Applied);
    // Monday 22 June + 30 working days: 3 August.
    assert_eq!(appealed.decision_due, Some(date(2026, 8, 3)));
    client
        .decide_confirmation(authed(decide("d2", true), &agency))
        .await
        .expect("confirmed on appeal");
    for (request_id, grade) in [("g1", 8), ("g2", 6)] {
        client
            .record_appraisal(authed(
                pb::RecordAppraisalRequest {
                    request_id: request_id.into(),
                    claim_id: claim_id.clone(),
                    grade: Some(grade),
                },
                &agency,
            ))
            .await
            .expect("appraised");
    }
    let claim = client
        .get_claim(authed(
            pb::GetClaimRequest {
                claim_id: claim_id.clone(),
            },
            &agency,
        ))
        .await
        .expect("read")
        .into_inner();
    assert_eq!(claim.grade, Some(6), "the re-appraisal supersedes");
    let details: Vec<String> = claim
        .timeline
        .iter()
        .map(|t| format!("{:?}: {}", t.step(), t.detail))
        .collect();
    assert!(
        details[2].starts_with("Decided: not confirmed"),
        "{details:?}"
    );
    assert!(details[3].starts_with("Appealed"), "{details:?}");
    assert!(details[4].starts_with("Decided: confirmed"), "{details:?}");
    assert_eq!(details[5], "Appraised: grade 8");
    assert_eq!(
        details[6],
        "Appraised: re-appraisal: grade 6 supersedes grade 8"
    );
    let withdraw = client
        .withdraw_claim(authed(
            pb::WithdrawClaimRequest {
                request_id: "w1".into(),
                claim_id: claim_id.clone(),
                reason: "changed mind".into(),
            },
            &meituan,
        ))
        .await
        .expect_err("a confirmed claim is not withdrawn");
    assert_eq!(withdraw.code(), Code::FailedPrecondition);
    assert!(
        withdraw.message().contains("appraised"),
        "{}",
        withdraw.message()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_death_with_a_spouse_and_two_children() {
    let Setup {
        app,
        meituan,
        agency,
    } = setup().await;
    let mut request = report_request("r1", STANDARD_ID, "2026-06-14T02:10:00Z");
    request.kind = pb::IncidentKind::Death as i32;
    let mut client = claims(&app).await;
    let claim_id = client
        .report_incident(authed(request, &meituan))
        .await
        .expect("reported")
        .into_inner()
        .claim_id;
    client
        .apply_for_confirmation(authed(apply_request("a1", &claim_id, ""), &meituan))
        .await
        .expect("applied");
    client
        .decide_confirmation(authed(
            pb::DecideConfirmationRequest {
                request_id: "d1".into(),
                claim_id: claim_id.clone(),
                confirmed: true,
                reasons: "on an order".into(),
            },
            &agency,
        ))
        .await
        .expect("confirmed");
    set_average_wage(&app, 2025, 12_000_000).await;
    let admin = app.token("national-admin").await;
    app.admin_client()
        .await
        .set_national_income(authed(
            pb::SetNationalIncomeRequest {
                request_id: "income-2025".into(),
                year: 2025,
                annual_fen: 5_182_100,
            },
            &admin,
        ))
        .await
        .expect("income");
    // The death base: 60% of Guangdong's 2025 urban private-sector wage, 100,000 yuan a year
    // (8,333.33 a month): 5,000.00 yuan.
    set_private_sector_wage(&app, 2025, 10_000_000).await;
    let dependant = |relation: pb::Relation| pb::Dependant {
        relation: relation as i32,
        orphan_or_lone_elderly: false,
        birth_date: None,
    };
    let assessed = client
        .assess_benefits(authed(
            pb::AssessBenefitsRequest {
                request_id: "b1".into(),
                claim_id: claim_id.clone(),
                dependants: vec![
                    dependant(pb::Relation::Spouse),
                    dependant(pb::Relation::Other),
                    dependant(pb::Relation::Other),
                ],
                ..Default::default()
            },
            &agency,
        ))
        .await
        .expect("assessed")
        .into_inner();
    assert_eq!(
        item(&assessed, pb::BenefitKind::FuneralSubsidy).amount_fen,
        6 * 500_000
    );
    assert_eq!(
        item(&assessed, pb::BenefitKind::DeathSubsidy).amount_fen,
        103_642_000
    );
    let pensions: Vec<i64> = assessed
        .benefits
        .iter()
        .filter(|i| i.kind() == pb::BenefitKind::DependantPension)
        .map(|i| i.amount_fen)
        .collect();
    assert_eq!(pensions, vec![200_000, 150_000, 150_000]);
    assert!(item(&assessed, pb::BenefitKind::DependantPension).monthly);
    assert_eq!(assessed.grade, None, "a death has no appraisal");
    app.stop().await;
}

#[tokio::test]
async fn bad_reports_change_nothing_and_reads_are_isolated_and_logged() {
    let Setup {
        app,
        meituan,
        agency,
    } = setup().await;
    let mut client = claims(&app).await;
    let mut bad = report_request("r0", STANDARD_ID, "2026-06-14T02:10:00Z");
    bad.place_code = "440000".into();
    bad.kind = 0;
    let status = client
        .report_incident(authed(bad, &meituan))
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_field_violation(&status, "place_code");
    assert_field_violation(&status, "kind");
    assert!(!status.message().contains(STANDARD_ID));
    assert_eq!(app.count("claims").await, 0);

    let claim_id = reported(&app, &meituan, "r1").await;
    let read = || pb::GetClaimRequest {
        claim_id: claim_id.clone(),
    };
    for role in ["platform:eleme", "province:11"] {
        let token = app.token(role).await;
        let status = client
            .get_claim(authed(read(), &token))
            .await
            .expect_err(role);
        assert_eq!(status.code(), Code::NotFound, "{role}");
    }
    let other_agency = app.token("province:11").await;
    let status = client
        .decide_confirmation(authed(
            pb::DecideConfirmationRequest {
                request_id: "d1".into(),
                claim_id: claim_id.clone(),
                confirmed: true,
                reasons: "x".into(),
            },
            &other_agency,
        ))
        .await
        .expect_err("another province");
    assert_eq!(status.code(), Code::NotFound);
    let auditor = app.token("auditor").await;
    client
        .get_claim(authed(read(), &auditor))
        .await
        .expect("auditors read");
    let status = client
        .record_appraisal(authed(
            pb::RecordAppraisalRequest {
                request_id: "g1".into(),
                claim_id: claim_id.clone(),
                grade: Some(3),
            },
            &auditor,
        ))
        .await
        .expect_err("auditors change nothing");
    assert_eq!(status.code(), Code::PermissionDenied);
    client
        .get_claim(authed(read(), &agency))
        .await
        .expect("agency");
    let logged: Vec<String> = sqlx::query_scalar(
        "SELECT actor FROM person_access_log WHERE rpc = 'GetClaim' ORDER BY access_id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("log");
    assert_eq!(logged, vec!["auditor", "province:44"]);
    app.stop().await;
}
