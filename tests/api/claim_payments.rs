//! Benefit payments through ClaimService: who records which item (the payer decides), on which
//! day (not in the future, not before the assessment) and how much (never above the entitlement).
use crate::claims::{Setup, apply_request, claims, report_request, set_average_wage, set_today};
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

/// A claim of Meituan's worker reported, applied for, confirmed and (for an injury) appraised at
/// `grade`, then assessed on 15 June 2026 on a wage base of 10,000 yuan a month (Guangdong 2025).
pub async fn assessed(
    setup: &Setup,
    grade: Option<i32>,
    assess: pb::AssessBenefitsRequest,
) -> String {
    let Setup {
        app,
        meituan,
        agency,
    } = setup;
    let mut request = report_request("r1", STANDARD_ID, "2026-06-14T02:10:00Z");
    if grade.is_none() {
        request.kind = pb::IncidentKind::Death as i32;
    }
    let mut client = claims(app).await;
    let claim_id = client
        .report_incident(authed(request, meituan))
        .await
        .expect("reported")
        .into_inner()
        .claim_id;
    client
        .apply_for_confirmation(authed(apply_request("a1", &claim_id, ""), meituan))
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
            agency,
        ))
        .await
        .expect("confirmed");
    if grade.is_some() {
        client
            .record_appraisal(authed(
                pb::RecordAppraisalRequest {
                    request_id: "g1".into(),
                    claim_id: claim_id.clone(),
                    grade,
                },
                agency,
            ))
            .await
            .expect("appraised");
    }
    set_average_wage(app, 2025, 12_000_000).await;
    client
        .assess_benefits(authed(
            pb::AssessBenefitsRequest {
                claim_id: claim_id.clone(),
                ..assess
            },
            agency,
        ))
        .await
        .expect("assessed");
    claim_id
}

pub fn payment(
    request_id: &str,
    claim_id: &str,
    kind: pb::BenefitKind,
    amount_fen: i64,
    paid_on: pb::Date,
) -> pb::RecordBenefitPaymentRequest {
    pb::RecordBenefitPaymentRequest {
        request_id: request_id.into(),
        claim_id: claim_id.into(),
        kind: kind as i32,
        amount_fen,
        paid_on: Some(paid_on),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_payer_records_its_items_on_days_after_the_assessment() {
    let setup = crate::claims::setup().await;
    let claim_id = assessed(
        &setup,
        Some(8),
        pb::AssessBenefitsRequest {
            request_id: "b1".into(),
            medical_costs_fen: 1_234_567,
            treatment_days: 30,
            ..Default::default()
        },
    )
    .await;
    let Setup {
        app,
        meituan,
        agency,
    } = &setup;
    let mut client = claims(app).await;
    use pb::BenefitKind::{LivingAllowance, Medical};

    // The fund's items are the agency's to record, the platform's item the platform's: each
    // other's is PERMISSION_DENIED (they both see the claim).
    set_today(app, "2026-06-20");
    let day = date(2026, 6, 18);
    for (token, kind) in [(meituan, Medical), (agency, LivingAllowance)] {
        let refused = client
            .record_benefit_payment(authed(payment("p0", &claim_id, kind, 100, day), token))
            .await
            .expect_err("not the payer");
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    }
    // Callers who may not see the claim get NOT_FOUND, as for a claim that does not exist.
    let beijing = app.token("province:11").await;
    let didi = app.token("platform:didi").await;
    for (token, kind) in [(&beijing, Medical), (&didi, LivingAllowance)] {
        let hidden = client
            .record_benefit_payment(authed(payment("p0", &claim_id, kind, 100, day), token))
            .await
            .expect_err("unseen");
        assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
    }

    // Assessed on 15 June: a payment dated the 14th is refused, naming the field and the day; so
    // is one dated after today (the injectable clock says 20 June).
    for (paid_on, says) in [
        (date(2026, 6, 14), "2026-06-15"),
        (date(2026, 6, 21), "future"),
    ] {
        let refused = client
            .record_benefit_payment(authed(
                payment("p1", &claim_id, Medical, 100, paid_on),
                agency,
            ))
            .await
            .expect_err("refused day");
        assert_field_violation(&refused, "paid_on");
        assert!(refused.message().contains(says), "{}", refused.message());
    }
    // The assessment day itself and today are fine; each payer records its own item.
    for (request_id, kind, paid_on, token) in [
        ("p2", Medical, date(2026, 6, 15), agency),
        ("p3", LivingAllowance, date(2026, 6, 20), meituan),
    ] {
        client
            .record_benefit_payment(authed(
                payment(request_id, &claim_id, kind, 100, paid_on),
                token,
            ))
            .await
            .unwrap_or_else(|status| panic!("{request_id}: {status:?}"));
    }
    // Never above what remains of a one-time item.
    let over = client
        .record_benefit_payment(authed(
            payment("p4", &claim_id, Medical, 1_234_467 + 1, day),
            agency,
        ))
        .await
        .expect_err("more than remains");
    assert_eq!(over.code(), Code::FailedPrecondition);
    assert!(over.message().contains("12344.67"), "{}", over.message());
    setup.app.stop().await;
}
