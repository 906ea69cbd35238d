//! The right bases as data: grades 5 and 6 get their one-time allowance (months from the claim
//! policy), a death is assessed on its own statistic (the urban private-sector wage, set by
//! SetPrivateSectorWage) and percent, 2024's national income is loaded, and every formula input is
//! stored with its item.
use crate::claim_payments::assessed;
use crate::claims::{
    Setup, apply_request, claims, item, report_request, set_average_wage, set_private_sector_wage,
};
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

#[tokio::test]
async fn grades_5_and_6_get_their_one_time_allowance_from_the_policy() {
    let setup = crate::claims::setup().await;
    // Grade 6 on the national default: 25 months of 10,000 yuan beside the 16-month subsidy.
    let claim_id = assessed(
        &setup,
        Some(6),
        pb::AssessBenefitsRequest {
            request_id: "b1".into(),
            ..Default::default()
        },
    )
    .await;
    let claim = claims(&setup.app)
        .await
        .get_claim(authed(pb::GetClaimRequest { claim_id }, &setup.agency))
        .await
        .expect("read")
        .into_inner();
    let allowance = item(&claim, pb::BenefitKind::OneTimeDisabilityAllowance);
    assert_eq!(allowance.amount_fen, 25 * 1_000_000);
    assert_eq!(
        (allowance.payer(), allowance.monthly),
        (pb::BenefitPayer::Fund, false)
    );
    for (name, value) in [
        ("grade", 6),
        ("months", 25),
        ("wage_year", 2025),
        ("average_annual_wage_fen", 12_000_000),
        ("average_monthly_wage_fen", 1_000_000),
        ("wage_base_percent", 100),
        ("wage_base_fen", 1_000_000),
    ] {
        assert_eq!(allowance.inputs.get(name), Some(&value), "{name}");
    }
    assert_eq!(
        item(&claim, pb::BenefitKind::OneTimeDisabilitySubsidy).amount_fen,
        16 * 1_000_000
    );
    setup.app.stop().await;
}

#[tokio::test]
async fn a_province_sets_its_own_grade_5_months() {
    let setup = crate::claims::setup().await;
    let admin = setup.app.token("national-admin").await;
    setup
        .app
        .admin_client()
        .await
        .set_claim_policy(authed(
            pb::SetClaimPolicyRequest {
                request_id: "policy-44".into(),
                policy: Some(pb::ClaimPolicy {
                    province_code: "44".into(),
                    platform_application_days: 30,
                    worker_application_days: 90,
                    decision_working_days: 30,
                    duplicate_window_minutes: 120,
                    wage_base_percent: 100,
                    wage_base_year_offset: -1,
                    death_base_percent: 60,
                    grade_5_allowance_months: 24,
                    grade_6_allowance_months: 25,
                    child_pension_until_age: 18,
                    review_interval_months: 12,
                }),
            },
            &admin,
        ))
        .await
        .expect("Guangdong's policy");
    let claim_id = assessed(
        &setup,
        Some(5),
        pb::AssessBenefitsRequest {
            request_id: "b1".into(),
            ..Default::default()
        },
    )
    .await;
    let claim = claims(&setup.app)
        .await
        .get_claim(authed(pb::GetClaimRequest { claim_id }, &setup.agency))
        .await
        .expect("read")
        .into_inner();
    let allowance = item(&claim, pb::BenefitKind::OneTimeDisabilityAllowance);
    assert_eq!(allowance.amount_fen, 24 * 1_000_000);
    assert_eq!(allowance.inputs.get("months"), Some(&24));
    setup.app.stop().await;
}

#[tokio::test]
async fn a_death_in_2025_is_assessed_on_the_private_sector_base_and_2024_income() {
    let Setup {
        app,
        meituan,
        agency,
    } = crate::claims::setup().await;
    // An accident on 20 November 2025 (the worker was not yet covered: recorded, flagged).
    let mut request = report_request("r1", STANDARD_ID, "2025-11-20T02:10:00Z");
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
    let assess = pb::AssessBenefitsRequest {
        request_id: "b1".into(),
        claim_id: claim_id.clone(),
        dependants: vec![pb::Dependant {
            relation: pb::Relation::Spouse as i32,
            orphan_or_lone_elderly: false,
            birth_date: None,
        }],
        ..Default::default()
    };
    // Neither the all-sector wage nor an income figure is set by the test: a death without
    // treatment days needs only the 2024 private-sector wage, and names the RPC that sets it.
    let missing = client
        .assess_benefits(authed(assess.clone(), &agency))
        .await
        .expect_err("no private-sector wage yet");
    assert_eq!(missing.code(), Code::FailedPrecondition);
    assert!(
        missing
            .message()
            .contains("2024 urban private-sector average wage")
            && missing.message().contains("SetPrivateSectorWage"),
        "{}",
        missing.message()
    );
    // 2024: 90,000 yuan a year, 7,500 a month; 60% = 4,500 yuan. The all-sector wage (set to
    // something else) plays no part.
    set_private_sector_wage(&app, 2024, 9_000_000).await;
    set_average_wage(&app, 2024, 24_000_000).await;
    let claim = client
        .assess_benefits(authed(assess, &agency))
        .await
        .expect("assessed")
        .into_inner();
    let funeral = item(&claim, pb::BenefitKind::FuneralSubsidy);
    assert_eq!(funeral.amount_fen, 6 * 450_000);
    for (name, value) in [
        ("months", 6),
        ("private_sector_wage_year", 2024),
        ("private_sector_annual_wage_fen", 9_000_000),
        ("private_sector_monthly_wage_fen", 750_000),
        ("death_base_percent", 60),
        ("death_base_fen", 450_000),
    ] {
        assert_eq!(funeral.inputs.get(name), Some(&value), "{name}");
    }
    // 20 x 54,188 yuan (2024, loaded by migration) = 1,083,760 yuan.
    let subsidy = item(&claim, pb::BenefitKind::DeathSubsidy);
    assert_eq!(subsidy.amount_fen, 108_376_000);
    assert_eq!(subsidy.inputs.get("national_income_year"), Some(&2024));
    // The spouse: 40% of the death base.
    let pension = item(&claim, pb::BenefitKind::DependantPension);
    assert_eq!(pension.amount_fen, 180_000);
    assert_eq!(pension.inputs.get("death_base_fen"), Some(&450_000));
    app.stop().await;
}
