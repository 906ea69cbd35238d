//! A grade 1-4 worker who later dies of the injury: the death ends the disability allowance, and
//! the relatives receive the death benefits on the same claim, on the figures of the year before
//! the death, as a new version of the assessment.
use crate::claim_payments::{assessed, payment};
use crate::claims::{Setup, claims, item, set_private_sector_wage, set_today};
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

#[tokio::test]
async fn the_relatives_receive_the_death_benefits_when_a_grade_1_worker_dies_of_the_injury() {
    let setup = crate::claims::setup().await;
    let claim_id = assessed(
        &setup,
        Some(1),
        pb::AssessBenefitsRequest {
            request_id: "b1".into(),
            ..Default::default()
        },
    )
    .await;
    let Setup { app, agency, .. } = &setup;
    let mut client = claims(app).await;
    use pb::BenefitKind::{
        DeathSubsidy, DependantPension, DisabilityAllowance, FuneralSubsidy,
        OneTimeDisabilitySubsidy,
    };
    client
        .record_benefit_payment(authed(
            payment(
                "p1",
                &claim_id,
                OneTimeDisabilitySubsidy,
                27_000_000,
                date(2026, 6, 15),
            ),
            agency,
        ))
        .await
        .expect("paid");
    let spouse = pb::AssessBenefitsRequest {
        request_id: "b2".into(),
        claim_id: claim_id.clone(),
        dependants: vec![pb::Dependant {
            relation: pb::Relation::Spouse as i32,
            orphan_or_lone_elderly: false,
            birth_date: None,
        }],
        ..Default::default()
    };
    // While the worker lives, the assessment in payment is not reopened.
    let alive = client
        .assess_benefits(authed(spouse.clone(), agency))
        .await
        .expect_err("the worker lives");
    assert_eq!(alive.code(), Code::FailedPrecondition);
    assert!(
        alive.message().contains("WORKER_DIED"),
        "{}",
        alive.message()
    );

    // The worker dies on 3 March 2027: the allowance ends, the claim closes.
    set_today(app, "2027-03-10");
    let closed = client
        .change_periodic_benefit(authed(
            pb::ChangePeriodicBenefitRequest {
                request_id: "c1".into(),
                claim_id: claim_id.clone(),
                kind: DisabilityAllowance as i32,
                item: 0,
                change: pb::PeriodicChange::End as i32,
                reason: pb::PeriodicChangeReason::WorkerDied as i32,
                effective_on: Some(date(2027, 3, 3)),
            },
            agency,
        ))
        .await
        .expect("ended")
        .into_inner();
    assert_eq!(closed.status(), pb::ClaimStatus::Closed);
    // The death base is of 2026, the year before the death: 90,000 yuan a year, 7,500 a month,
    // 60% = 4,500 yuan; the 2026 income 56,000 yuan.
    let missing = client
        .assess_benefits(authed(spouse.clone(), agency))
        .await
        .expect_err("no 2026 figures");
    assert!(
        missing
            .message()
            .contains("2026 urban private-sector average wage"),
        "{}",
        missing.message()
    );
    set_private_sector_wage(app, 2026, 9_000_000).await;
    let admin = app.token("national-admin").await;
    app.admin_client()
        .await
        .set_national_income(authed(
            pb::SetNationalIncomeRequest {
                request_id: "income-2026".into(),
                year: 2026,
                annual_fen: 5_600_000,
            },
            &admin,
        ))
        .await
        .expect("income");
    let death = client
        .assess_benefits(authed(spouse, agency))
        .await
        .expect("the relatives' benefits")
        .into_inner();
    assert_eq!(death.status(), pb::ClaimStatus::Assessed);
    assert_eq!(item(&death, FuneralSubsidy).amount_fen, 6 * 450_000);
    assert_eq!(item(&death, DeathSubsidy).amount_fen, 20 * 5_600_000);
    let pension = item(&death, DependantPension);
    assert_eq!(pension.amount_fen, 180_000, "40% of the death base");
    assert_eq!(pension.inputs.get("private_sector_wage_year"), Some(&2026));
    // The items that ran are carried over: the allowance stays ended, the subsidy paid.
    assert_eq!(
        item(&death, DisabilityAllowance).standing(),
        pb::PeriodicStanding::Ended
    );
    assert_eq!(item(&death, OneTimeDisabilitySubsidy).paid_fen, 27_000_000);
    // Funeral and death subsidy paid: in payment while the spouse's pension runs.
    for (request_id, kind, amount) in [
        ("p2", FuneralSubsidy, 2_700_000),
        ("p3", DeathSubsidy, 112_000_000),
    ] {
        client
            .record_benefit_payment(authed(
                payment(request_id, &claim_id, kind, amount, date(2027, 3, 10)),
                agency,
            ))
            .await
            .unwrap_or_else(|status| panic!("{request_id}: {status:?}"));
    }
    let paying = client
        .record_benefit_payment(authed(
            pb::RecordBenefitPaymentRequest {
                month: "2027-03".into(),
                ..payment(
                    "p4",
                    &claim_id,
                    DependantPension,
                    180_000,
                    date(2027, 3, 10),
                )
            },
            agency,
        ))
        .await
        .expect("the spouse's March")
        .into_inner();
    assert_eq!(paying.status(), pb::ClaimStatus::InPayment);
    setup.app.stop().await;
}
