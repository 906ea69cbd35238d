//! ClaimService's trust boundary: who applies and who records a payment, other tenants answered
//! exactly as for a claim that does not exist on every RPC, canonical input only, typed enums on
//! the wire, and the claim policy as data.
use crate::claims::{
    Setup, apply_request, claims, report_request, reported, set_average_wage, setup,
};
use crate::helpers::*;
use flexcover::pb;
use tonic::{Code, Status};

fn apply_as(
    request_id: &str,
    claim_id: &str,
    applicant: pb::Applicant,
) -> pb::ApplyForConfirmationRequest {
    pb::ApplyForConfirmationRequest {
        applicant: applicant as i32,
        ..apply_request(request_id, claim_id, "")
    }
}

async fn status_of(app: &TestApp, token: &str, claim_id: &str) -> pb::Claim {
    claims(app)
        .await
        .get_claim(authed(
            pb::GetClaimRequest {
                claim_id: claim_id.into(),
            },
            token,
        ))
        .await
        .expect("read")
        .into_inner()
}

#[tokio::test]
async fn platforms_apply_for_themselves_and_agencies_record_counter_applications() {
    let Setup {
        app,
        meituan,
        agency,
    } = setup().await;
    let admin = app.token("national-admin").await;
    let mut client = claims(&app).await;
    let claim_id = reported(&app, &meituan, "r1").await;
    for (request_id, applicant, token, who) in [
        (
            "x1",
            pb::Applicant::Worker,
            &meituan,
            "a platform as the worker",
        ),
        (
            "x2",
            pb::Applicant::Relative,
            &meituan,
            "a platform as a relative",
        ),
        (
            "x3",
            pb::Applicant::Platform,
            &agency,
            "an agency as the platform",
        ),
        (
            "x4",
            pb::Applicant::Worker,
            &admin,
            "a national admin at no counter",
        ),
    ] {
        let refused = client
            .apply_for_confirmation(authed(apply_as(request_id, &claim_id, applicant), token))
            .await
            .expect_err(who);
        assert_eq!(refused.code(), Code::PermissionDenied, "{who}: {refused:?}");
    }
    let unchanged = status_of(&app, &agency, &claim_id).await;
    assert_eq!(unchanged.status(), pb::ClaimStatus::Reported);
    assert_eq!(unchanged.timeline.len(), 1, "refusals change nothing");
    let applied = client
        .apply_for_confirmation(authed(
            apply_as("a1", &claim_id, pb::Applicant::Relative),
            &agency,
        ))
        .await
        .expect("recorded at the counter")
        .into_inner();
    assert_eq!(applied.applicant(), pb::Applicant::Relative);
    assert_eq!(applied.status(), pb::ClaimStatus::Applied);
    app.stop().await;
}

/// The message with the claim id in it replaced, to compare answers about different ids.
fn shape(status: &Status, claim_id: &str) -> (Code, String) {
    (status.code(), status.message().replace(claim_id, "<id>"))
}

/// Every claim RPC that names a claim, by `token`, on `claim_id`.
async fn every_rpc(app: &TestApp, token: &str, claim_id: &str) -> Vec<(&'static str, Status)> {
    let mut client = claims(app).await;
    let id = || claim_id.to_owned();
    let mut out = Vec::new();
    let get = client
        .get_claim(authed(pb::GetClaimRequest { claim_id: id() }, token))
        .await;
    out.push(("GetClaim", get.map(|_| ())));
    for applicant in [pb::Applicant::Platform, pb::Applicant::Worker] {
        let applied = client
            .apply_for_confirmation(authed(apply_as("t-apply", claim_id, applicant), token))
            .await;
        out.push(("ApplyForConfirmation", applied.map(|_| ())));
    }
    let decided = client
        .decide_confirmation(authed(
            pb::DecideConfirmationRequest {
                request_id: "t-decide".into(),
                claim_id: id(),
                confirmed: true,
                reasons: "on an order".into(),
            },
            token,
        ))
        .await;
    out.push(("DecideConfirmation", decided.map(|_| ())));
    let appraised = client
        .record_appraisal(authed(
            pb::RecordAppraisalRequest {
                request_id: "t-appraise".into(),
                claim_id: id(),
                grade: Some(8),
            },
            token,
        ))
        .await;
    out.push(("RecordAppraisal", appraised.map(|_| ())));
    let assessed = client
        .assess_benefits(authed(
            pb::AssessBenefitsRequest {
                request_id: "t-assess".into(),
                claim_id: id(),
                ..Default::default()
            },
            token,
        ))
        .await;
    out.push(("AssessBenefits", assessed.map(|_| ())));
    for kind in [pb::BenefitKind::Medical, pb::BenefitKind::LivingAllowance] {
        let paid = client
            .record_benefit_payment(authed(
                pb::RecordBenefitPaymentRequest {
                    request_id: "t-pay".into(),
                    claim_id: id(),
                    kind: kind as i32,
                    amount_fen: 100,
                    paid_on: Some(date(2026, 6, 15)),
                    ..Default::default()
                },
                token,
            ))
            .await;
        out.push(("RecordBenefitPayment", paid.map(|_| ())));
    }
    let appealed = client
        .appeal_decision(authed(
            pb::AppealDecisionRequest {
                request_id: "t-appeal".into(),
                claim_id: id(),
                grounds: "the order log".into(),
            },
            token,
        ))
        .await;
    out.push(("AppealDecision", appealed.map(|_| ())));
    let withdrawn = client
        .withdraw_claim(authed(
            pb::WithdrawClaimRequest {
                request_id: "t-withdraw".into(),
                claim_id: id(),
                reason: "reported by mistake".into(),
            },
            token,
        ))
        .await;
    out.push(("WithdrawClaim", withdrawn.map(|_| ())));
    out.into_iter()
        .map(|(rpc, result)| (rpc, result.expect_err(rpc)))
        .collect()
}

#[tokio::test]
async fn another_tenant_is_answered_as_for_a_claim_that_does_not_exist_on_every_rpc() {
    let Setup { app, meituan, .. } = setup().await;
    let claim_id = reported(&app, &meituan, "r1").await;
    let random = uuid::Uuid::now_v7().to_string();
    for role in ["province:11", "platform:eleme"] {
        let token = app.token(role).await;
        let theirs = every_rpc(&app, &token, &claim_id).await;
        let nobodys = every_rpc(&app, &token, &random).await;
        for ((rpc, hidden), (_, missing)) in theirs.iter().zip(&nobodys) {
            assert_eq!(hidden.code(), Code::NotFound, "{role} {rpc}: {hidden:?}");
            assert_eq!(
                shape(hidden, &claim_id),
                shape(missing, &random),
                "{role} {rpc}"
            );
        }
    }
    let timeline: i64 = sqlx::query_scalar("SELECT count(*) FROM claim_timeline")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(timeline, 1, "nothing but the report was recorded");
    app.stop().await;
}

/// A change to a valid report.
type Change = fn(&mut pb::ReportIncidentRequest);

#[tokio::test]
async fn claim_input_is_canonical_and_refused_whole() {
    let Setup {
        app,
        meituan,
        agency,
    } = setup().await;
    let mut client = claims(&app).await;
    let report = |change: Change| {
        let mut request = report_request("bad", STANDARD_ID, "2026-06-14T02:10:00Z");
        change(&mut request);
        request
    };
    let cases: [(&str, Change); 8] = [
        ("description", |r| r.description.push(' ')),
        ("description", |r| r.description.insert(4, '\u{202E}')),
        ("description", |r| r.description.clear()),
        ("occurred_at", |r| {
            r.occurred_at = Some(at("0001-01-01T00:00:00Z"))
        }),
        ("occurred_at", |r| {
            r.occurred_at = Some(at("2026-06-15T08:00:01Z"))
        }),
        ("order_id", |r| r.order_id = " order-1".into()),
        ("enrolment_id", |r| {
            r.worker = Some(pb::report_incident_request::Worker::EnrolmentId(
                uuid::Uuid::now_v7().to_string().to_uppercase(),
            ))
        }),
        ("kind", |r| r.kind = 7),
    ];
    for (field, change) in cases {
        let status = client
            .report_incident(authed(report(change), &meituan))
            .await
            .expect_err(field);
        assert_field_violation(&status, field);
    }
    let status = client
        .report_incident(authed(
            report(|r| {
                r.request_id = String::new();
                r.description = " x".into();
                r.place_code = "44030".into();
            }),
            &meituan,
        ))
        .await
        .expect_err("three fields");
    for field in ["request_id", "description", "place_code"] {
        assert_field_violation(&status, field);
    }
    assert_eq!(app.count("claims").await, 0);
    // Line breaks are fine in free text.
    let multiline = client
        .report_incident(authed(
            report(|r| r.description = "fell at a crossing\nleft wrist fractured".into()),
            &meituan,
        ))
        .await
        .expect("multi-line description")
        .into_inner();
    let claim_id = multiline.claim_id;

    let get = |claim_id: String| pb::GetClaimRequest { claim_id };
    for bad in [
        claim_id.to_uppercase(),
        format!(" {claim_id}"),
        format!("{{{claim_id}}}"),
    ] {
        let status = client
            .get_claim(authed(get(bad), &agency))
            .await
            .expect_err("not as the service writes it");
        assert_field_violation(&status, "claim_id");
    }
    let mut apply = apply_as("a0", &claim_id, pb::Applicant::Unspecified);
    apply.late_explanation = "late \u{202E}".into();
    let status = client
        .apply_for_confirmation(authed(apply, &meituan))
        .await
        .expect_err("applicant and explanation");
    assert_field_violation(&status, "applicant");
    assert_field_violation(&status, "late_explanation");
    assert!(
        status
            .message()
            .contains("required: one of APPLICANT_PLATFORM, APPLICANT_WORKER, APPLICANT_RELATIVE"),
        "{}",
        status.message()
    );
    let status = client
        .decide_confirmation(authed(
            pb::DecideConfirmationRequest {
                request_id: "d0".into(),
                claim_id: claim_id.clone(),
                confirmed: true,
                reasons: "on an order ".into(),
            },
            &agency,
        ))
        .await
        .expect_err("trailing space");
    assert_field_violation(&status, "reasons");
    for grade in [None, Some(11), Some(-1)] {
        let status = client
            .record_appraisal(authed(
                pb::RecordAppraisalRequest {
                    request_id: "g0".into(),
                    claim_id: claim_id.clone(),
                    grade,
                },
                &agency,
            ))
            .await
            .expect_err("a grade is required, 0 to 10");
        assert_field_violation(&status, "grade");
    }
    let status = client
        .assess_benefits(authed(
            pb::AssessBenefitsRequest {
                request_id: "b0".into(),
                claim_id: claim_id.clone(),
                medical_costs_fen: -1,
                rehabilitation_costs_fen: 1_000_000_000_001,
                ..Default::default()
            },
            &agency,
        ))
        .await
        .expect_err("bounded costs");
    assert_field_violation(&status, "medical_costs_fen");
    assert_field_violation(&status, "rehabilitation_costs_fen");
    let pay = |kind: i32, amount_fen: i64, paid_on: pb::Date| pb::RecordBenefitPaymentRequest {
        request_id: "p0".into(),
        claim_id: claim_id.clone(),
        kind,
        amount_fen,
        paid_on: Some(paid_on),
        ..Default::default()
    };
    for (field, request) in [
        ("kind", pay(0, 100, date(2026, 6, 15))),
        ("kind", pay(99, 100, date(2026, 6, 15))),
        ("amount_fen", pay(1, 1_000_000_000_001, date(2026, 6, 15))),
        ("amount_fen", pay(1, 0, date(2026, 6, 15))),
        ("paid_on", pay(1, 100, date(2022, 6, 30))),
        ("paid_on", pay(1, 100, date(2026, 6, 16))),
    ] {
        let status = client
            .record_benefit_payment(authed(request, &agency))
            .await
            .expect_err(field);
        assert_field_violation(&status, field);
        if field == "kind" {
            assert!(
                status
                    .message()
                    .contains("required: one of BENEFIT_KIND_MEDICAL"),
                "{}",
                status.message()
            );
        }
    }
    let status = client
        .list_claims(authed(
            pb::ListClaimsRequest {
                status: 99,
                ..Default::default()
            },
            &agency,
        ))
        .await
        .expect_err("unknown status");
    assert_field_violation(&status, "status");
    let reported = |status: pb::ClaimStatus| pb::ListClaimsRequest {
        status: status as i32,
        ..Default::default()
    };
    let listed = client
        .list_claims(authed(reported(pb::ClaimStatus::Reported), &agency))
        .await
        .expect("by status")
        .into_inner();
    assert_eq!(listed.claims.len(), 1);
    assert_eq!(listed.claims[0].grade, None);
    let none = client
        .list_claims(authed(reported(pb::ClaimStatus::Closed), &agency))
        .await
        .expect("by status")
        .into_inner();
    assert!(none.claims.is_empty());
    let other_province = client
        .list_claims(authed(
            pb::ListClaimsRequest {
                province_code: "11".into(),
                ..Default::default()
            },
            &agency,
        ))
        .await
        .expect_err("another province's listing");
    assert_eq!(other_province.code(), Code::PermissionDenied);
    assert_eq!(
        status_of(&app, &agency, &claim_id).await.timeline.len(),
        1,
        "nothing refused was recorded"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_claim_policy_is_data_per_province() {
    let Setup {
        app,
        meituan,
        agency,
    } = setup().await;
    let admin = app.token("national-admin").await;
    let mut admin_client = app.admin_client().await;
    let policy = |province_code: &str, platform_application_days: i32| pb::ClaimPolicy {
        province_code: province_code.into(),
        platform_application_days,
        worker_application_days: 90,
        decision_working_days: 30,
        duplicate_window_minutes: 120,
        wage_base_percent: 60,
        wage_base_year_offset: -1,
        death_base_percent: 60,
        grade_5_allowance_months: 30,
        grade_6_allowance_months: 25,
        child_pension_until_age: 18,
        review_interval_months: 12,
    };
    let set = |request_id: &str, policy: pb::ClaimPolicy| pb::SetClaimPolicyRequest {
        request_id: request_id.into(),
        policy: Some(policy),
    };
    let status = admin_client
        .set_claim_policy(authed(set("c0", policy("00", 10)), &admin))
        .await
        .expect_err("the national default is the empty province code");
    assert_field_violation(&status, "policy.province_code");
    let status = admin_client
        .set_claim_policy(authed(set("c1", policy("44", 10)), &agency))
        .await
        .expect_err("admins only");
    assert_eq!(status.code(), Code::PermissionDenied);
    let set_44 = admin_client
        .set_claim_policy(authed(set("c2", policy("44", 10)), &admin))
        .await
        .expect("Guangdong's own")
        .into_inner();
    assert_eq!(set_44, policy("44", 10));
    let national = admin_client
        .set_claim_policy(authed(set("c3", policy("", 20)), &admin))
        .await
        .expect("the national default")
        .into_inner();
    assert_eq!(national.province_code, "");
    let mut client = claims(&app).await;
    let claim = client
        .report_incident(authed(
            report_request("r1", STANDARD_ID, "2026-06-14T02:10:00Z"),
            &meituan,
        ))
        .await
        .expect("reported")
        .into_inner();
    assert_eq!(
        claim.platform_application_due,
        Some(date(2026, 6, 25)),
        "Guangdong's 10 days from the report on 15 June"
    );
    // The wage base is Guangdong's 60% of 120,000 yuan a year / 12: 6,000 yuan a month.
    set_average_wage(&app, 2025, 12_000_000).await;
    client
        .apply_for_confirmation(authed(apply_request("a1", &claim.claim_id, ""), &meituan))
        .await
        .expect("applied");
    client
        .decide_confirmation(authed(
            pb::DecideConfirmationRequest {
                request_id: "d1".into(),
                claim_id: claim.claim_id.clone(),
                confirmed: true,
                reasons: "on an order".into(),
            },
            &agency,
        ))
        .await
        .expect("confirmed");
    client
        .record_appraisal(authed(
            pb::RecordAppraisalRequest {
                request_id: "g1".into(),
                claim_id: claim.claim_id.clone(),
                grade: Some(10),
            },
            &agency,
        ))
        .await
        .expect("appraised");
    let assessed = client
        .assess_benefits(authed(
            pb::AssessBenefitsRequest {
                request_id: "b1".into(),
                claim_id: claim.claim_id.clone(),
                ..Default::default()
            },
            &agency,
        ))
        .await
        .expect("assessed")
        .into_inner();
    let subsidy = assessed
        .benefits
        .iter()
        .find(|i| i.kind() == pb::BenefitKind::OneTimeDisabilitySubsidy)
        .expect("subsidy");
    assert_eq!(subsidy.inputs.get("wage_base_fen"), Some(&600_000));
    assert_eq!(subsidy.amount_fen, 7 * 600_000, "grade 10: 7 months");
    let events: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT payload FROM events WHERE event_type = 'claim.assessed.v1'")
            .fetch_all(&app.pool)
            .await
            .expect("event");
    use prost::Message;
    let step = pb::ClaimStepV1::decode(events[0].as_slice()).expect("payload");
    assert_eq!(
        (step.step(), step.status(), step.grade, step.amount_fen),
        (
            pb::ClaimStep::Assessed,
            pb::ClaimStatus::Assessed,
            Some(10),
            7 * 600_000
        )
    );
    app.stop().await;
}
