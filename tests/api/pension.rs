//! Flexible-worker pension: base bounds (edges inclusive), one active enrolment per person, months
//! of one year and never an earlier one, the account with gaps, transfers.
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

fn enrol(request_id: &str, place: &str, base: i64) -> pb::EnrolPensionRequest {
    pb::EnrolPensionRequest {
        request_id: request_id.into(),
        id_number: STANDARD_ID.into(),
        place_of_employment: place.into(),
        monthly_base_fen: base,
    }
}

fn pay(
    request_id: &str,
    pension_id: &str,
    year: i32,
    first_month: i32,
    frequency: pb::PaymentFrequency,
) -> pb::DeclarePensionContributionRequest {
    pb::DeclarePensionContributionRequest {
        request_id: request_id.into(),
        pension_id: pension_id.into(),
        year,
        first_month,
        frequency: frequency as i32,
    }
}

#[tokio::test]
async fn pension_enrolment_contributions_account_and_transfer() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let guangdong = app.token("province:44").await;
    let beijing = app.token("province:11").await;
    let mut admin_client = app.admin_client().await;
    // Guangdong's 2025 average wage: 120,000 yuan a year, so a base of 6,000 to 30,000 yuan a month.
    let wage = |province: &str| pb::SetAverageWageRequest {
        request_id: format!("w{province}"),
        province_code: province.into(),
        year: 2025,
        annual_fen: 12_000_000,
    };
    admin_client
        .set_average_wage(authed(wage("44"), &admin))
        .await
        .expect("wage");
    let mut client = app.contribution_client().await;

    for (base, what) in [(599_999, "just-below-60%"), (3_000_001, "just-above-300%")] {
        let status = client
            .enrol_pension(authed(enrol(what, "440305", base), &guangdong))
            .await
            .expect_err(what);
        assert_field_violation(&status, "monthly_base_fen");
        assert!(
            status.message().contains("6000.00") && status.message().contains("30000.00"),
            "{}",
            status.message()
        );
    }
    let enrolment = client
        .enrol_pension(authed(enrol("e1", "440305", 600_000), &guangdong))
        .await
        .expect("60% exactly")
        .into_inner();
    assert_eq!(
        (enrolment.status(), enrolment.id_number_masked.as_str()),
        (pb::PensionStatus::Active, "110105********002X")
    );
    let status = client
        .enrol_pension(authed(enrol("e2", "440106", 3_000_000), &guangdong))
        .await
        .expect_err("second active");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains(&enrolment.pension_id));
    assert_eq!(
        client
            .enrol_pension(authed(enrol("e3", "110105", 600_000), &beijing))
            .await
            .expect_err("no Beijing wage")
            .code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        client
            .enrol_pension(authed(enrol("e4", "440305", 600_000), &beijing))
            .await
            .expect_err("not Beijing's")
            .code(),
        Code::PermissionDenied
    );
    let platform = app.token("platform:meituan").await;
    assert_eq!(
        client
            .enrol_pension(authed(enrol("e5", "440305", 600_000), &platform))
            .await
            .expect_err("platform")
            .code(),
        Code::PermissionDenied
    );

    // A quarter from April: 3 x 20% of 6,000 yuan, 8% of it to the individual account.
    let id = enrolment.pension_id.clone();
    let quarter = client
        .declare_pension_contribution(authed(
            pay("q2", &id, 2026, 4, pb::PaymentFrequency::Quarterly),
            &guangdong,
        ))
        .await
        .expect("Q2")
        .into_inner();
    assert_eq!(
        quarter
            .months
            .iter()
            .map(|m| m.month.as_str())
            .collect::<Vec<_>>(),
        vec!["2026-04", "2026-05", "2026-06"]
    );
    assert_eq!(
        (quarter.total_fen, quarter.individual_fen),
        (360_000, 144_000)
    );
    let again = client
        .declare_pension_contribution(authed(
            pay("q2-again", &id, 2026, 6, pb::PaymentFrequency::Monthly),
            &guangdong,
        ))
        .await
        .expect_err("June twice");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_field_violation(
        &client
            .declare_pension_contribution(authed(
                pay("old", &id, 2025, 12, pb::PaymentFrequency::Monthly),
                &guangdong,
            ))
            .await
            .expect_err("2025"),
        "year",
    );
    assert_field_violation(
        &client
            .declare_pension_contribution(authed(
                pay("feb", &id, 2026, 2, pb::PaymentFrequency::Quarterly),
                &guangdong,
            ))
            .await
            .expect_err("quarter from February"),
        "first_month",
    );

    // By September, July and August are gaps.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-09-10T02:00:00Z")
            .expect("instant")
            .to_utc(),
    );
    let by_id = pb::GetPensionAccountRequest {
        worker: Some(pb::get_pension_account_request::Worker::PensionId(
            id.clone(),
        )),
    };
    let account = client
        .get_pension_account(authed(by_id.clone(), &guangdong))
        .await
        .expect("account")
        .into_inner();
    assert_eq!(account.months_paid.len(), 3);
    assert_eq!(account.gaps, vec!["2026-07", "2026-08"]);
    assert_eq!(account.individual_balance_fen, 144_000);
    assert_eq!(
        client
            .get_pension_account(authed(by_id, &beijing))
            .await
            .expect_err("Beijing")
            .code(),
        Code::NotFound
    );

    // The worker moves to Beijing: Guangdong's agency moves the enrolment, and the months paid
    // move with the person.
    admin_client
        .set_average_wage(authed(wage("11"), &admin))
        .await
        .expect("Beijing wage");
    let to_beijing = |request_id: &str| pb::TransferPensionRequest {
        request_id: request_id.into(),
        pension_id: id.clone(),
        new_place_of_employment: "110105".into(),
        monthly_base_fen: None,
    };
    let moved = client
        .transfer_pension(authed(to_beijing("t"), &guangdong))
        .await
        .expect("transfer")
        .into_inner();
    assert_eq!(
        (
            moved.province_code.as_str(),
            moved.status(),
            moved.monthly_base_fen
        ),
        ("11", pb::PensionStatus::Active, 600_000)
    );
    let by_number = pb::GetPensionAccountRequest {
        worker: Some(pb::get_pension_account_request::Worker::IdNumber(
            STANDARD_ID.into(),
        )),
    };
    let account = client
        .get_pension_account(authed(by_number, &beijing))
        .await
        .expect("account in Beijing")
        .into_inner();
    assert_eq!(
        account.enrolment.map(|e| e.pension_id),
        Some(moved.pension_id.clone())
    );
    assert_eq!(account.individual_balance_fen, 144_000);
    let old = client
        .declare_pension_contribution(authed(
            pay("old-one", &id, 2026, 9, pb::PaymentFrequency::Monthly),
            &guangdong,
        ))
        .await
        .expect_err("moved away");
    assert_eq!(old.code(), Code::FailedPrecondition);
    // The new enrolment is Beijing's: Guangdong no longer sees it.
    assert_eq!(
        client
            .declare_pension_contribution(authed(
                pay(
                    "not-ours",
                    &moved.pension_id,
                    2026,
                    9,
                    pb::PaymentFrequency::Monthly
                ),
                &guangdong,
            ))
            .await
            .expect_err("Beijing's now")
            .code(),
        Code::NotFound
    );
    client
        .declare_pension_contribution(authed(
            pay(
                "q4",
                &moved.pension_id,
                2026,
                10,
                pb::PaymentFrequency::Quarterly,
            ),
            &beijing,
        ))
        .await
        .expect("Q4 in Beijing");
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'pension.changed.v1'")
            .fetch_one(&app.pool)
            .await
            .expect("events");
    assert_eq!(events, 5, "enrolled, Q2 paid, moved out, moved in, Q4 paid");
    app.stop().await;
}

/// The message of a NOT_FOUND with the id it names replaced: a hidden record's answer must read
/// exactly like a missing one's.
fn shape(status: &tonic::Status, id: &str) -> (Code, String) {
    (status.code(), status.message().replace(id, "<id>"))
}

#[tokio::test]
async fn another_province_neither_sees_nor_changes_a_pension_and_nothing_is_written() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let guangdong = app.token("province:44").await;
    let beijing = app.token("province:11").await;
    let auditor = app.token("auditor").await;
    let meituan = app.token("platform:meituan").await;
    let mut admin_client = app.admin_client().await;
    for province in ["44", "11"] {
        admin_client
            .set_average_wage(authed(
                pb::SetAverageWageRequest {
                    request_id: format!("w{province}"),
                    province_code: province.into(),
                    year: 2025,
                    annual_fen: 12_000_000,
                },
                &admin,
            ))
            .await
            .expect("wage");
    }
    let mut client = app.contribution_client().await;
    let id = client
        .enrol_pension(authed(enrol("e", "440305", 600_000), &guangdong))
        .await
        .expect("enrolled")
        .into_inner()
        .pension_id;
    let random = uuid::Uuid::now_v7().to_string();
    let transfer = |pension_id: &str, request_id: &str| pb::TransferPensionRequest {
        request_id: request_id.into(),
        pension_id: pension_id.into(),
        new_place_of_employment: "110105".into(),
        monthly_base_fen: None,
    };
    let events_before = app.count("events").await;

    for (who, token) in [("Beijing", &beijing), ("a platform", &meituan)] {
        let missing = client
            .transfer_pension(authed(transfer(&random, "t-random"), token))
            .await
            .expect_err("random id");
        let hidden = client
            .transfer_pension(authed(transfer(&id, "t-hidden"), token))
            .await
            .expect_err(who);
        assert_eq!(missing.code(), Code::NotFound, "{who}: {missing:?}");
        assert_eq!(
            shape(&hidden, &id),
            shape(&missing, &random),
            "{who}: a hidden pension reads as a missing one"
        );
        assert!(
            !shape(&hidden, &id).1.contains("44"),
            "names no province: {}",
            hidden.message()
        );

        let missing = client
            .declare_pension_contribution(authed(
                pay("p-random", &random, 2026, 7, pb::PaymentFrequency::Monthly),
                token,
            ))
            .await
            .expect_err("random id");
        let hidden = client
            .declare_pension_contribution(authed(
                pay("p-hidden", &id, 2026, 7, pb::PaymentFrequency::Monthly),
                token,
            ))
            .await
            .expect_err(who);
        assert_eq!(missing.code(), Code::NotFound);
        assert_eq!(shape(&hidden, &id), shape(&missing, &random), "{who}");
    }
    // An auditor sees the pension, so it is told it may not change it.
    assert_eq!(
        client
            .transfer_pension(authed(transfer(&id, "t-auditor"), &auditor))
            .await
            .expect_err("auditor")
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        client
            .declare_pension_contribution(authed(
                pay("p-auditor", &id, 2026, 7, pb::PaymentFrequency::Monthly),
                &auditor,
            ))
            .await
            .expect_err("auditor")
            .code(),
        Code::PermissionDenied
    );

    // Canonical input only; amounts bounded.
    let upper = id.to_uppercase();
    assert_field_violation(
        &client
            .transfer_pension(authed(transfer(&upper, "t-upper"), &guangdong))
            .await
            .expect_err("uppercase id"),
        "pension_id",
    );
    for base in [0, 1_000_000_000_001, i64::MAX] {
        assert_field_violation(
            &client
                .transfer_pension(authed(
                    pb::TransferPensionRequest {
                        monthly_base_fen: Some(base),
                        ..transfer(&id, &format!("t-{base}"))
                    },
                    &guangdong,
                ))
                .await
                .expect_err("base out of bounds"),
            "monthly_base_fen",
        );
        assert_field_violation(
            &client
                .enrol_pension(authed(
                    enrol(&format!("e-{base}"), "440305", base),
                    &guangdong,
                ))
                .await
                .expect_err("base out of bounds"),
            "monthly_base_fen",
        );
    }
    assert_field_violation(
        &client
            .declare_pension_contribution(authed(
                pay("far", &id, i32::MAX, 1, pb::PaymentFrequency::Monthly),
                &guangdong,
            ))
            .await
            .expect_err("year"),
        "year",
    );

    // Refusals wrote nothing.
    assert_eq!(app.count("pension_enrolments").await, 1);
    assert_eq!(app.count("pension_months").await, 0);
    assert_eq!(app.count("events").await, events_before);

    // The national admin may move it; the platform still cannot read it.
    let moved = client
        .transfer_pension(authed(transfer(&id, "t-admin"), &admin))
        .await
        .expect("national admin moves it")
        .into_inner();
    assert_eq!(moved.status(), pb::PensionStatus::Active);
    let by_id = |pension_id: &str| pb::GetPensionAccountRequest {
        worker: Some(pb::get_pension_account_request::Worker::PensionId(
            pension_id.into(),
        )),
    };
    let old = client
        .get_pension_account(authed(by_id(&id), &guangdong))
        .await
        .expect("Guangdong still reads the old one")
        .into_inner();
    assert_eq!(
        old.enrolment.map(|e| (e.status(), e.transferred_to)),
        Some((pb::PensionStatus::Transferred, moved.pension_id.clone()))
    );
    assert_eq!(
        client
            .get_pension_account(authed(by_id(&moved.pension_id), &meituan))
            .await
            .expect_err("platform")
            .code(),
        Code::NotFound
    );
    app.stop().await;
}
