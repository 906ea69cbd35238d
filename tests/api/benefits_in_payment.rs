//! Benefits in payment through ClaimService: a claim whose one-time items are paid is in payment
//! while a periodic benefit runs; periodic items are paid month by month (once a month, from the
//! assessment's month to the current one, at most the month's entitlement), listed when due and
//! unpaid, suspended, resumed and ended with a date and reason; the last end closes the claim.
use crate::claim_payments::{assessed, payment};
use crate::claims::{Setup, claims, set_private_sector_wage, set_today};
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::claim_service_client::ClaimServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Status};

use pb::BenefitKind::{
    DeathSubsidy, DependantPension, DisabilityAllowance, FuneralSubsidy, LivingAllowance, Medical,
    OneTimeDisabilitySubsidy,
};

async fn read(client: &mut ClaimServiceClient<Channel>, token: &str, claim_id: &str) -> pb::Claim {
    client
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

/// A month of a periodic item.
fn monthly(
    request_id: &str,
    claim_id: &str,
    kind: pb::BenefitKind,
    item: i32,
    month: &str,
    amount_fen: i64,
    paid_on: pb::Date,
) -> pb::RecordBenefitPaymentRequest {
    pb::RecordBenefitPaymentRequest {
        month: month.into(),
        item,
        ..payment(request_id, claim_id, kind, amount_fen, paid_on)
    }
}

async fn pay(
    client: &mut ClaimServiceClient<Channel>,
    token: &str,
    request: pb::RecordBenefitPaymentRequest,
) -> Result<pb::Claim, Status> {
    client
        .record_benefit_payment(authed(request, token))
        .await
        .map(tonic::Response::into_inner)
}

fn change(
    request_id: &str,
    claim_id: &str,
    kind: pb::BenefitKind,
    item: i32,
    change: pb::PeriodicChange,
    reason: pb::PeriodicChangeReason,
    effective_on: pb::Date,
) -> pb::ChangePeriodicBenefitRequest {
    pb::ChangePeriodicBenefitRequest {
        request_id: request_id.into(),
        claim_id: claim_id.into(),
        kind: kind as i32,
        item,
        change: change as i32,
        reason: reason as i32,
        effective_on: Some(effective_on),
    }
}

async fn due(
    client: &mut ClaimServiceClient<Channel>,
    token: &str,
    as_of: pb::Date,
    page_size: i32,
    page_token: &str,
) -> pb::ListBenefitsDueResponse {
    client
        .list_benefits_due(authed(
            pb::ListBenefitsDueRequest {
                province_code: "44".into(),
                as_of: Some(as_of),
                page_size,
                page_token: page_token.into(),
            },
            token,
        ))
        .await
        .expect("due")
        .into_inner()
}

fn allowance(claim: &pb::Claim) -> pb::BenefitItem {
    crate::claims::item(claim, DisabilityAllowance)
}

#[tokio::test]
async fn a_grade_1_claim_pays_its_one_time_items_then_its_allowance_month_after_month() {
    let setup = crate::claims::setup().await;
    // Assessed on 15 June 2026 on 10,000 yuan a month: 27 months once, 90% a month.
    let claim_id = assessed(
        &setup,
        Some(1),
        pb::AssessBenefitsRequest {
            request_id: "b1".into(),
            medical_costs_fen: 100_000,
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
    let claim = read(&mut client, agency, &claim_id).await;
    let item = allowance(&claim);
    assert_eq!(item.amount_fen, 900_000);
    assert_eq!(item.standing(), pb::PeriodicStanding::Running);
    let n = item.item;
    assert!(n > 0);

    // June's allowance, before the one-time items: the claim stays assessed.
    let june = pay(
        &mut client,
        agency,
        monthly(
            "m-06",
            &claim_id,
            DisabilityAllowance,
            0,
            "2026-06",
            900_000,
            date(2026, 6, 15),
        ),
    )
    .await
    .expect("June");
    assert_eq!(june.status(), pb::ClaimStatus::Assessed);
    assert_eq!(allowance(&june).paid_fen, 900_000);
    // A periodic payment names its month; July is not due yet in June; May precedes the
    // assessment.
    let no_month = pay(
        &mut client,
        agency,
        payment(
            "m-x",
            &claim_id,
            DisabilityAllowance,
            900_000,
            date(2026, 6, 15),
        ),
    )
    .await
    .expect_err("no month");
    assert_field_violation(&no_month, "month");
    for (month, says) in [
        ("2026-07", "current month is 2026-06"),
        ("2026-05", "2026-06"),
    ] {
        let refused = pay(
            &mut client,
            agency,
            monthly(
                "m-y",
                &claim_id,
                DisabilityAllowance,
                n,
                month,
                1,
                date(2026, 6, 15),
            ),
        )
        .await
        .expect_err("not due");
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        assert!(refused.message().contains(says), "{}", refused.message());
    }

    // The one-time items paid in full: in payment, not closed.
    for (request_id, kind, amount, token) in [
        ("o1", OneTimeDisabilitySubsidy, 27_000_000, agency),
        ("o2", Medical, 100_000, agency),
        ("o3", LivingAllowance, 1_000_000, meituan),
    ] {
        pay(
            &mut client,
            token,
            payment(request_id, &claim_id, kind, amount, date(2026, 6, 15)),
        )
        .await
        .unwrap_or_else(|status| panic!("{request_id}: {status:?}"));
    }
    let in_payment = read(&mut client, agency, &claim_id).await;
    assert_eq!(in_payment.status(), pb::ClaimStatus::InPayment);

    // A second payment for June is refused, whatever the amount.
    let twice = pay(
        &mut client,
        agency,
        monthly(
            "m-06b",
            &claim_id,
            DisabilityAllowance,
            n,
            "2026-06",
            1,
            date(2026, 6, 15),
        ),
    )
    .await
    .expect_err("second payment for June");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    assert!(
        twice.message().contains("already paid for 2026-06"),
        "{}",
        twice.message()
    );

    // July: above the entitlement refused, half of it accepted (the shortfall stays due).
    set_today(app, "2026-07-10");
    let over = pay(
        &mut client,
        agency,
        monthly(
            "m-07",
            &claim_id,
            DisabilityAllowance,
            n,
            "2026-07",
            900_001,
            date(2026, 7, 10),
        ),
    )
    .await
    .expect_err("above the entitlement");
    assert_eq!(over.code(), Code::FailedPrecondition);
    assert!(
        over.message().contains("at most 9000.00 yuan"),
        "{}",
        over.message()
    );
    pay(
        &mut client,
        agency,
        monthly(
            "m-07",
            &claim_id,
            DisabilityAllowance,
            n,
            "2026-07",
            450_000,
            date(2026, 7, 10),
        ),
    )
    .await
    .expect("half of July");
    // The wrong payer: the platform may see the claim but not pay the fund's allowance; another
    // province's agency may not see it.
    let platform = pay(
        &mut client,
        meituan,
        monthly(
            "m-07p",
            &claim_id,
            DisabilityAllowance,
            n,
            "2026-07",
            1,
            date(2026, 7, 10),
        ),
    )
    .await
    .expect_err("the fund pays the allowance");
    assert_eq!(platform.code(), Code::PermissionDenied);
    let beijing = app.token("province:11").await;
    let hidden = pay(
        &mut client,
        &beijing,
        monthly(
            "m-07b",
            &claim_id,
            DisabilityAllowance,
            n,
            "2026-07",
            1,
            date(2026, 7, 10),
        ),
    )
    .await
    .expect_err("unseen");
    assert_eq!(hidden.code(), Code::NotFound);

    // August paid in full in September; as of 5 September July's half and September are due.
    set_today(app, "2026-09-05");
    pay(
        &mut client,
        agency,
        monthly(
            "m-08",
            &claim_id,
            DisabilityAllowance,
            n,
            "2026-08",
            900_000,
            date(2026, 9, 1),
        ),
    )
    .await
    .expect("August");
    let listed = due(&mut client, agency, date(2026, 9, 5), 0, "").await;
    let rows: Vec<(String, i64, i64, i64)> = listed
        .due
        .iter()
        .map(|d| {
            (
                d.month.clone(),
                d.entitlement_fen,
                d.paid_fen,
                d.shortfall_fen,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-07".to_owned(), 900_000, 450_000, 450_000),
            ("2026-09".to_owned(), 900_000, 0, 900_000)
        ]
    );
    assert!(
        listed
            .due
            .iter()
            .all(|d| d.claim_id == claim_id && d.item == n)
    );
    // As of 20 July only July's shortfall was due; a page of one leads to the next.
    let first = due(&mut client, agency, date(2026, 9, 5), 1, "").await;
    assert_eq!(first.due.len(), 1);
    assert!(!first.next_page_token.is_empty());
    let second = due(
        &mut client,
        agency,
        date(2026, 9, 5),
        1,
        &first.next_page_token,
    )
    .await;
    assert_eq!(second.due[0].month, "2026-09");
    assert!(second.next_page_token.is_empty());
    let july = due(&mut client, agency, date(2026, 7, 20), 0, "").await;
    assert_eq!(july.due.len(), 1);
    assert_eq!(july.due[0].shortfall_fen, 450_000);
    // Platforms do not list what the fund owes; another province is out of reach.
    for token in [meituan, &beijing] {
        let refused = client
            .list_benefits_due(authed(
                pb::ListBenefitsDueRequest {
                    province_code: "44".into(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .expect_err("not theirs");
        assert_eq!(refused.code(), Code::PermissionDenied);
    }

    // Suspended from 5 September (imprisonment): September is not due, not payable.
    use pb::PeriodicChange::{End, Resume, Suspend};
    use pb::PeriodicChangeReason::{GroundsEnded, Imprisoned, WorkerDied};
    let suspended = client
        .change_periodic_benefit(authed(
            change(
                "c1",
                &claim_id,
                DisabilityAllowance,
                n,
                Suspend,
                Imprisoned,
                date(2026, 9, 5),
            ),
            agency,
        ))
        .await
        .expect("suspended")
        .into_inner();
    assert_eq!(suspended.status(), pb::ClaimStatus::InPayment);
    assert_eq!(
        allowance(&suspended).standing(),
        pb::PeriodicStanding::Suspended
    );
    let refused = pay(
        &mut client,
        agency,
        monthly(
            "m-09",
            &claim_id,
            DisabilityAllowance,
            n,
            "2026-09",
            900_000,
            date(2026, 9, 5),
        ),
    )
    .await
    .expect_err("suspended");
    assert!(
        refused.message().contains("suspended"),
        "{}",
        refused.message()
    );
    let listed = due(&mut client, agency, date(2026, 9, 5), 0, "").await;
    assert_eq!(
        listed.due.len(),
        1,
        "only July's shortfall: {:?}",
        listed.due
    );
    // The platform may not change the fund's benefit.
    let platform = client
        .change_periodic_benefit(authed(
            change(
                "c2",
                &claim_id,
                DisabilityAllowance,
                n,
                Resume,
                GroundsEnded,
                date(2026, 9, 5),
            ),
            meituan,
        ))
        .await
        .expect_err("agency only");
    assert_eq!(platform.code(), Code::PermissionDenied);

    // Resumed on 1 October: October is due and paid.
    set_today(app, "2026-10-02");
    client
        .change_periodic_benefit(authed(
            change(
                "c3",
                &claim_id,
                DisabilityAllowance,
                n,
                Resume,
                GroundsEnded,
                date(2026, 10, 1),
            ),
            agency,
        ))
        .await
        .expect("resumed");
    pay(
        &mut client,
        agency,
        monthly(
            "m-10",
            &claim_id,
            DisabilityAllowance,
            n,
            "2026-10",
            900_000,
            date(2026, 10, 2),
        ),
    )
    .await
    .expect("October");

    // The worker dies on 20 October: the allowance ends, the claim closes; nothing more is paid.
    set_today(app, "2026-10-25");
    let closed = client
        .change_periodic_benefit(authed(
            change(
                "c4",
                &claim_id,
                DisabilityAllowance,
                n,
                End,
                WorkerDied,
                date(2026, 10, 20),
            ),
            agency,
        ))
        .await
        .expect("ended")
        .into_inner();
    assert_eq!(closed.status(), pb::ClaimStatus::Closed);
    assert_eq!(allowance(&closed).standing(), pb::PeriodicStanding::Ended);
    assert_eq!(allowance(&closed).paid_fen, 900_000 * 3 + 450_000);
    use pb::ClaimStep::{BenefitEnded, BenefitResumed, BenefitSuspended};
    let steps: Vec<pb::ClaimStep> = closed.timeline.iter().map(|t| t.step()).collect();
    assert_eq!(
        steps[steps.len() - 4..],
        [
            BenefitSuspended,
            BenefitResumed,
            pb::ClaimStep::Paid,
            BenefitEnded
        ]
    );
    let late = pay(
        &mut client,
        agency,
        monthly(
            "m-10b",
            &claim_id,
            DisabilityAllowance,
            n,
            "2026-09",
            1,
            date(2026, 10, 25),
        ),
    )
    .await
    .expect_err("closed");
    assert!(late.message().contains("closed"), "{}", late.message());

    // Each step is an event with its subsequent-report code.
    use prost::Message;
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE event_type LIKE 'claim.%' ORDER BY event_id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("events");
    let codes: Vec<String> = payloads
        .iter()
        .map(|bytes| {
            pb::ClaimStepV1::decode(bytes.as_slice())
                .expect("payload")
                .maintenance_type_code
        })
        .collect();
    assert_eq!(
        codes[codes.len() - 5..],
        ["PY", "S1", "RB", "PY", "FN"],
        "{codes:?}"
    );
    let last = pb::ClaimStepV1::decode(payloads[payloads.len() - 1].as_slice()).expect("payload");
    assert_eq!(
        (
            last.periodic_change(),
            last.change_reason(),
            last.benefit_item
        ),
        (End, WorkerDied, n)
    );
    assert_eq!(last.effective_on, Some(date(2026, 10, 20)));
    setup.app.stop().await;
}

#[tokio::test]
async fn a_death_with_spouse_two_children_and_a_lone_parent_pays_each_dependant_until_eligibility_ends()
 {
    let setup = crate::claims::setup().await;
    // 2025 urban private-sector wage 80,000 yuan: 6,666.67 a month, 60% = 4,000 yuan, the base.
    set_private_sector_wage(&setup.app, 2025, 8_000_000).await;
    let admin = setup.app.token("national-admin").await;
    setup
        .app
        .admin_client()
        .await
        .set_national_income(authed(
            pb::SetNationalIncomeRequest {
                request_id: "income-2025".into(),
                year: 2025,
                annual_fen: 5_600_000,
            },
            &admin,
        ))
        .await
        .expect("income");
    let dependant = |relation: pb::Relation, lone: bool, born: Option<pb::Date>| pb::Dependant {
        relation: relation as i32,
        orphan_or_lone_elderly: lone,
        birth_date: born,
    };
    // The first child turns 18 on 20 August 2026, the second in 2030.
    let claim_id = assessed(
        &setup,
        None,
        pb::AssessBenefitsRequest {
            request_id: "b1".into(),
            dependants: vec![
                dependant(pb::Relation::Spouse, false, None),
                dependant(pb::Relation::Child, false, Some(date(2008, 8, 20))),
                dependant(pb::Relation::Child, false, Some(date(2012, 3, 1))),
                dependant(pb::Relation::Other, true, None),
            ],
            ..Default::default()
        },
    )
    .await;
    let Setup { app, agency, .. } = &setup;
    let mut client = claims(app).await;
    let claim = read(&mut client, agency, &claim_id).await;
    assert_eq!(
        crate::claims::item(&claim, FuneralSubsidy).amount_fen,
        6 * 400_000
    );
    // 40 + 30 + 30 + 40 = 140% of the base, cut to the base in proportion.
    let pensions: Vec<&pb::BenefitItem> = claim
        .benefits
        .iter()
        .filter(|i| i.kind() == DependantPension)
        .collect();
    let amounts: Vec<i64> = pensions.iter().map(|p| p.amount_fen).collect();
    assert_eq!(amounts, [114_286, 85_714, 85_714, 114_286]);
    for pension in &pensions {
        assert_eq!(pension.inputs.get("death_base_fen"), Some(&400_000));
        assert_eq!(pension.inputs.get("death_base_percent"), Some(&60));
        assert_eq!(pension.inputs.get("total_percent"), Some(&140));
    }
    assert_eq!(pensions[1].eligible_before, Some(date(2026, 8, 20)));
    assert_eq!(pensions[0].eligible_before, None);
    let items: Vec<(i32, i64)> = pensions.iter().map(|p| (p.item, p.amount_fen)).collect();

    // Several pensions: each payment names its item.
    let unnamed = pay(
        &mut client,
        agency,
        monthly(
            "u",
            &claim_id,
            DependantPension,
            0,
            "2026-06",
            1,
            date(2026, 6, 15),
        ),
    )
    .await
    .expect_err("which dependant?");
    assert_field_violation(&unnamed, "item");
    // The one-time items paid: in payment.
    for (request_id, kind, amount) in [
        ("o1", FuneralSubsidy, 2_400_000),
        ("o2", DeathSubsidy, 20 * 5_600_000),
    ] {
        pay(
            &mut client,
            agency,
            payment(request_id, &claim_id, kind, amount, date(2026, 6, 15)),
        )
        .await
        .unwrap_or_else(|status| panic!("{request_id}: {status:?}"));
    }
    assert_eq!(
        read(&mut client, agency, &claim_id).await.status(),
        pb::ClaimStatus::InPayment
    );
    // June to August: every dependant each month.
    for (today, month) in [
        ("2026-06-20", "2026-06"),
        ("2026-07-20", "2026-07"),
        ("2026-08-20", "2026-08"),
    ] {
        set_today(app, today);
        let paid_on = date(2026, month[5..].parse().expect("month"), 20);
        for (n, amount) in &items {
            pay(
                &mut client,
                agency,
                monthly(
                    &format!("p-{month}-{n}"),
                    &claim_id,
                    DependantPension,
                    *n,
                    month,
                    *amount,
                    paid_on,
                ),
            )
            .await
            .unwrap_or_else(|status| panic!("{month} item {n}: {status:?}"));
        }
    }
    // September: the first child is no longer eligible by age; the others are paid.
    set_today(app, "2026-09-20");
    let (child, child_amount) = items[1];
    let refused = pay(
        &mut client,
        agency,
        monthly(
            "p-09-c",
            &claim_id,
            DependantPension,
            child,
            "2026-09",
            child_amount,
            date(2026, 9, 20),
        ),
    )
    .await
    .expect_err("past the age");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused
            .message()
            .contains("eligibility by age ended on 2026-08-19"),
        "{}",
        refused.message()
    );
    let listed = due(&mut client, agency, date(2026, 9, 20), 0, "").await;
    let owed: Vec<(i32, String)> = listed
        .due
        .iter()
        .map(|d| (d.item, d.month.clone()))
        .collect();
    let expected: Vec<(i32, String)> = [items[0].0, items[2].0, items[3].0]
        .iter()
        .map(|n| (*n, "2026-09".to_owned()))
        .collect();
    assert_eq!(owed, expected, "the child past the age owes nothing");
    // The agency records the end; the claim stays in payment for the others.
    let ended = client
        .change_periodic_benefit(authed(
            change(
                "end-child",
                &claim_id,
                DependantPension,
                child,
                pb::PeriodicChange::End,
                pb::PeriodicChangeReason::EligibilityEnded,
                date(2026, 8, 20),
            ),
            agency,
        ))
        .await
        .expect("ended")
        .into_inner();
    assert_eq!(ended.status(), pb::ClaimStatus::InPayment);
    let standings: Vec<pb::PeriodicStanding> = ended
        .benefits
        .iter()
        .filter(|i| i.kind() == DependantPension)
        .map(|i| i.standing())
        .collect();
    use pb::PeriodicStanding::{Ended, Running};
    assert_eq!(standings, [Running, Ended, Running, Running]);
    // A worker's death is no reason to end a dependant's pension.
    let wrong = client
        .change_periodic_benefit(authed(
            change(
                "wrong",
                &claim_id,
                DependantPension,
                items[0].0,
                pb::PeriodicChange::End,
                pb::PeriodicChangeReason::WorkerDied,
                date(2026, 9, 1),
            ),
            agency,
        ))
        .await
        .expect_err("wrong reason");
    assert_field_violation(&wrong, "reason");
    setup.app.stop().await;
}

#[tokio::test]
async fn a_provincial_adjustment_raises_the_allowance_from_its_month_and_is_kept_with_payments() {
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
    let admin = app.token("national-admin").await;
    let mut admin_client = app.admin_client().await;
    let adjust = |request_id: &str, effective_month: &str, basis_points: i32| {
        pb::SetBenefitAdjustmentRequest {
            request_id: request_id.into(),
            province_code: "44".into(),
            effective_month: effective_month.into(),
            basis_points,
        }
    };
    // In June: +5% from August. A month already begun cannot be re-priced; a month's adjustment
    // is never replaced; only admins adjust.
    let set = admin_client
        .set_benefit_adjustment(authed(adjust("adj-1", "2026-08", 500), &admin))
        .await
        .expect("adjusted")
        .into_inner();
    assert!(set.version.starts_with("adj-"), "{set:?}");
    let past = admin_client
        .set_benefit_adjustment(authed(adjust("adj-2", "2026-05", 500), &admin))
        .await
        .expect_err("the past");
    assert_field_violation(&past, "effective_month");
    let again = admin_client
        .set_benefit_adjustment(authed(adjust("adj-3", "2026-08", 300), &admin))
        .await
        .expect_err("never replaced");
    assert_eq!(again.code(), Code::AlreadyExists);
    let agency_refused = admin_client
        .set_benefit_adjustment(authed(adjust("adj-4", "2026-09", 300), agency))
        .await
        .expect_err("admins only");
    assert_eq!(agency_refused.code(), Code::PermissionDenied);

    // In August: July is 9,000 yuan, August 9,450 (9,000 x 1.05).
    set_today(app, "2026-08-10");
    let mut client = claims(app).await;
    let over_july = pay(
        &mut client,
        agency,
        monthly(
            "m-07",
            &claim_id,
            DisabilityAllowance,
            0,
            "2026-07",
            945_000,
            date(2026, 8, 10),
        ),
    )
    .await
    .expect_err("July is not adjusted");
    assert!(
        over_july.message().contains("at most 9000.00 yuan"),
        "{}",
        over_july.message()
    );
    let over_august = pay(
        &mut client,
        agency,
        monthly(
            "m-08",
            &claim_id,
            DisabilityAllowance,
            0,
            "2026-08",
            945_001,
            date(2026, 8, 10),
        ),
    )
    .await
    .expect_err("above the adjusted entitlement");
    assert!(
        over_august.message().contains("at most 9450.00 yuan")
            && over_august.message().contains(&set.version),
        "{}",
        over_august.message()
    );
    pay(
        &mut client,
        agency,
        monthly(
            "m-08",
            &claim_id,
            DisabilityAllowance,
            0,
            "2026-08",
            945_000,
            date(2026, 8, 10),
        ),
    )
    .await
    .expect("August, adjusted");
    let listed = due(&mut client, agency, date(2026, 8, 10), 0, "").await;
    let rows: Vec<(String, i64, String)> = listed
        .due
        .iter()
        .map(|d| {
            (
                d.month.clone(),
                d.entitlement_fen,
                d.adjustment_version.clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-06".to_owned(), 900_000, "none".to_owned()),
            ("2026-07".to_owned(), 900_000, "none".to_owned())
        ]
    );
    // The payment keeps the version its entitlement used.
    let stored: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT adjustment_version FROM benefit_payments WHERE month IS NOT NULL",
    )
    .fetch_all(&app.pool)
    .await
    .expect("payments");
    assert_eq!(stored, [Some(set.version.clone())]);
    setup.app.stop().await;
}
