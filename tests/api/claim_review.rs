//! The review appraisal (复查鉴定): on a claim whose benefits ran, possible from the claim policy's
//! interval after the last appraisal; the benefits are re-assessed as a new version from the
//! review's day, with the differences shown and the earlier version kept. A relapse (旧伤复发)
//! reopens the medical items of a closed claim.
use crate::claim_payments::{assessed, payment};
use crate::claims::{Setup, claims, item, set_today};
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

#[tokio::test]
async fn a_review_a_year_after_the_appraisal_re_assesses_the_benefits_as_a_new_version() {
    let setup = crate::claims::setup().await;
    // Grade 2 on 10,000 yuan, assessed on 15 June 2026: 25 months once, 85% a month.
    let claim_id = assessed(
        &setup,
        Some(2),
        pb::AssessBenefitsRequest {
            request_id: "b1".into(),
            ..Default::default()
        },
    )
    .await;
    let Setup { app, agency, .. } = &setup;
    let mut client = claims(app).await;
    use pb::BenefitKind::{DisabilityAllowance, OneTimeDisabilitySubsidy};
    let monthly = |request_id: &str, month: &str, amount_fen: i64, paid_on: pb::Date| {
        pb::RecordBenefitPaymentRequest {
            month: month.into(),
            ..payment(
                request_id,
                &claim_id,
                DisabilityAllowance,
                amount_fen,
                paid_on,
            )
        }
    };
    for request in [
        payment(
            "p1",
            &claim_id,
            OneTimeDisabilitySubsidy,
            25_000_000,
            date(2026, 6, 15),
        ),
        monthly("p2", "2026-06", 850_000, date(2026, 6, 15)),
    ] {
        client
            .record_benefit_payment(authed(request, agency))
            .await
            .expect("paid");
    }
    let review = |request_id: &str| pb::RecordAppraisalRequest {
        request_id: request_id.into(),
        claim_id: claim_id.clone(),
        grade: Some(1),
    };
    // A day before the year is out: refused, naming the first possible day.
    set_today(app, "2027-06-14");
    let early = client
        .record_appraisal(authed(review("g2"), agency))
        .await
        .expect_err("too early");
    assert_eq!(early.code(), Code::FailedPrecondition);
    assert!(
        early.message().contains("2027-06-15"),
        "{}",
        early.message()
    );
    // On 20 June 2027 the worker is found grade 1.
    set_today(app, "2027-06-20");
    let reviewed = client
        .record_appraisal(authed(review("g3"), agency))
        .await
        .expect("reviewed")
        .into_inner();
    assert_eq!(
        (reviewed.status(), reviewed.grade),
        (pb::ClaimStatus::Appraised, Some(1))
    );
    assert_eq!(
        reviewed.timeline.last().map(|t| t.step()),
        Some(pb::ClaimStep::Reviewed)
    );
    let reassessed = client
        .assess_benefits(authed(
            pb::AssessBenefitsRequest {
                request_id: "b2".into(),
                claim_id: claim_id.clone(),
                ..Default::default()
            },
            agency,
        ))
        .await
        .expect("re-assessed")
        .into_inner();
    let detail = &reassessed.timeline.last().expect("entry").detail;
    assert!(
        detail.contains(
            "supersedes the earlier assessment: one_time_disability_subsidy 250000.00 -> 270000.00, disability_allowance 8500.00 -> 9000.00"
        ),
        "{detail}"
    );
    // What was paid of the subsidy counts: 2 months' difference remain.
    let subsidy = item(&reassessed, OneTimeDisabilitySubsidy);
    assert_eq!(
        (subsidy.amount_fen, subsidy.paid_fen),
        (27_000_000, 25_000_000)
    );
    // The new allowance runs from the review's month; the months before keep the earlier
    // version's amount, still due (never lost with the re-assessment) and paid at it.
    let due = client
        .list_benefits_due(authed(
            pb::ListBenefitsDueRequest {
                province_code: "44".into(),
                page_size: 100,
                ..Default::default()
            },
            agency,
        ))
        .await
        .expect("due")
        .into_inner()
        .due;
    let months: Vec<(&str, i64)> = due
        .iter()
        .map(|d| (d.month.as_str(), d.entitlement_fen))
        .collect();
    assert_eq!(months.len(), 12, "July 2026 to June 2027: {months:?}");
    assert_eq!(months.first(), Some(&("2026-07", 850_000)));
    assert_eq!(months.get(10), Some(&("2027-05", 850_000)));
    assert_eq!(months.last(), Some(&("2027-06", 900_000)));
    let above = client
        .record_benefit_payment(authed(
            monthly("p3", "2027-05", 900_000, date(2027, 6, 20)),
            agency,
        ))
        .await
        .expect_err("above the earlier version's amount");
    assert!(above.message().contains("8500.00"), "{}", above.message());
    // May 2027 at 85%, June 2027 (the review's month) at 90%.
    for (request_id, month, amount) in [("p3b", "2027-05", 850_000), ("p4", "2027-06", 900_000)] {
        client
            .record_benefit_payment(authed(
                monthly(request_id, month, amount, date(2027, 6, 20)),
                agency,
            ))
            .await
            .expect("paid at the month's amount");
    }
    let settled = client
        .record_benefit_payment(authed(
            payment(
                "p5",
                &claim_id,
                OneTimeDisabilitySubsidy,
                2_000_000,
                date(2027, 6, 20),
            ),
            agency,
        ))
        .await
        .expect("the difference")
        .into_inner();
    assert_eq!(settled.status(), pb::ClaimStatus::InPayment);
    let versions: Vec<(i32, i64)> = sqlx::query_as(
        "SELECT assessment, amount_fen FROM benefit_items WHERE kind = 'disability_allowance'
         ORDER BY assessment",
    )
    .fetch_all(&app.pool)
    .await
    .expect("versions");
    assert_eq!(versions, [(1, 850_000), (2, 900_000)]);
    setup.app.stop().await;
}

/// A review re-assessed without the first assessment's bills lists fewer items; the allowance
/// keeps its number, so the months paid and due before the review still belong to it.
#[tokio::test]
async fn a_periodic_item_keeps_its_number_when_a_review_drops_the_bills() {
    let setup = crate::claims::setup().await;
    let claim_id = assessed(
        &setup,
        Some(2),
        pb::AssessBenefitsRequest {
            request_id: "b1".into(),
            medical_costs_fen: 100_000,
            ..Default::default()
        },
    )
    .await;
    let Setup { app, agency, .. } = &setup;
    let mut client = claims(app).await;
    use pb::BenefitKind::{DisabilityAllowance, Medical, OneTimeDisabilitySubsidy};
    let june = date(2026, 6, 15);
    for request in [
        payment("p1", &claim_id, OneTimeDisabilitySubsidy, 25_000_000, june),
        payment("p2", &claim_id, Medical, 100_000, june),
    ] {
        client
            .record_benefit_payment(authed(request, agency))
            .await
            .expect("paid");
    }
    let before = client
        .get_claim(authed(
            pb::GetClaimRequest {
                claim_id: claim_id.clone(),
            },
            agency,
        ))
        .await
        .expect("claim")
        .into_inner();
    let number = item(&before, DisabilityAllowance).item;
    assert_eq!(number, 3, "medical, subsidy, allowance");
    set_today(app, "2027-06-20");
    client
        .record_appraisal(authed(
            pb::RecordAppraisalRequest {
                request_id: "review-1".into(),
                claim_id: claim_id.clone(),
                grade: Some(1),
            },
            agency,
        ))
        .await
        .expect("reviewed");
    let reassessed = client
        .assess_benefits(authed(
            pb::AssessBenefitsRequest {
                request_id: "b2".into(),
                claim_id: claim_id.clone(),
                ..Default::default()
            },
            agency,
        ))
        .await
        .expect("re-assessed")
        .into_inner();
    assert_eq!(item(&reassessed, DisabilityAllowance).item, number);
    let due = client
        .list_benefits_due(authed(
            pb::ListBenefitsDueRequest {
                province_code: "44".into(),
                page_size: 100,
                ..Default::default()
            },
            agency,
        ))
        .await
        .expect("due")
        .into_inner()
        .due;
    assert_eq!(due.len(), 13, "June 2026 to June 2027: {due:?}");
    assert!(due.iter().all(|d| d.item == number));
    client
        .record_benefit_payment(authed(
            pb::RecordBenefitPaymentRequest {
                month: "2026-06".into(),
                item: number,
                ..payment(
                    "p3",
                    &claim_id,
                    DisabilityAllowance,
                    850_000,
                    date(2027, 6, 20),
                )
            },
            agency,
        ))
        .await
        .expect("a month before the review, at its amount");
    setup.app.stop().await;
}

#[tokio::test]
async fn a_relapse_reopens_the_medical_items_of_a_closed_claim() {
    let setup = crate::claims::setup().await;
    // Grade 8 (no periodic benefit), medical bills of 12,345.67 yuan, all paid: closed.
    let claim_id = assessed(
        &setup,
        Some(8),
        pb::AssessBenefitsRequest {
            request_id: "b1".into(),
            medical_costs_fen: 1_234_567,
            ..Default::default()
        },
    )
    .await;
    let Setup { app, agency, .. } = &setup;
    let mut client = claims(app).await;
    use pb::BenefitKind::{Medical, OneTimeDisabilitySubsidy};
    for request in [
        payment(
            "p1",
            &claim_id,
            OneTimeDisabilitySubsidy,
            11_000_000,
            date(2026, 6, 15),
        ),
        payment("p2", &claim_id, Medical, 1_234_567, date(2026, 6, 15)),
    ] {
        client
            .record_benefit_payment(authed(request, agency))
            .await
            .expect("paid");
    }
    let relapse = |request_id: &str, claim_id: &str, medical: i64| pb::RecordRelapseRequest {
        request_id: request_id.into(),
        claim_id: claim_id.into(),
        relapsed_on: Some(date(2026, 9, 1)),
        medical_costs_fen: medical,
        ..Default::default()
    };
    set_today(app, "2026-09-03");
    let none = client
        .record_relapse(authed(relapse("r0", &claim_id, 0), agency))
        .await
        .expect_err("no bill");
    assert_field_violation(&none, "medical_costs_fen");
    let before_assessment = client
        .record_relapse(authed(
            pb::RecordRelapseRequest {
                relapsed_on: Some(date(2026, 6, 14)),
                ..relapse("r-early", &claim_id, 500_000)
            },
            agency,
        ))
        .await
        .expect_err("before the assessment");
    assert_field_violation(&before_assessment, "relapsed_on");
    let reopened = client
        .record_relapse(authed(relapse("r1", &claim_id, 500_000), agency))
        .await
        .expect("relapse")
        .into_inner();
    assert_eq!(reopened.status(), pb::ClaimStatus::Assessed);
    assert_eq!(
        reopened.timeline.last().map(|t| t.step()),
        Some(pb::ClaimStep::Relapsed)
    );
    // The medical item now holds both bills; what was paid counts; the subsidy is unchanged.
    let medical = item(&reopened, Medical);
    assert_eq!(
        (medical.amount_fen, medical.paid_fen),
        (1_734_567, 1_234_567)
    );
    assert_eq!(medical.inputs.get("relapse_bills_fen"), Some(&500_000));
    let subsidy = item(&reopened, OneTimeDisabilitySubsidy);
    assert_eq!(
        (subsidy.amount_fen, subsidy.paid_fen),
        (11_000_000, 11_000_000)
    );
    // Paying the relapse's bills closes the claim again.
    let closed = client
        .record_benefit_payment(authed(
            payment("p3", &claim_id, Medical, 500_000, date(2026, 9, 3)),
            agency,
        ))
        .await
        .expect("paid")
        .into_inner();
    assert_eq!(closed.status(), pb::ClaimStatus::Closed);
    // Another relapse of the closed claim reopens it again; one being assessed has none.
    let again = client
        .record_relapse(authed(relapse("r2", &claim_id, 1), agency))
        .await
        .expect("a second relapse of the closed claim")
        .into_inner();
    assert_eq!(again.status(), pb::ClaimStatus::Assessed);
    let refused = client
        .record_relapse(authed(relapse("r3", &claim_id, 1), agency))
        .await
        .expect_err("not closed or in payment");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    setup.app.stop().await;
}
