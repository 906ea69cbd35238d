//! Rates as effective-dated data: base rates and classes, multipliers (0.5-1.5, 1 January, once a
//! year), and the rate in force at an instant, including the instant a rate changes.
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

fn instant_delivery(province: &str, platform: &str, when: &str) -> pb::GetRateRequest {
    pb::GetRateRequest {
        province_code: province.into(),
        platform_id: platform.into(),
        industry: pb::Industry::InstantDelivery as i32,
        at: Some(at(when)),
    }
}

#[tokio::test]
async fn the_rate_in_force_follows_classes_and_multipliers_to_the_instant() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("seed rates");
    let admin = app.token("national-admin").await;
    let meituan = app.token("platform:meituan").await;
    let mut admin_client = app.admin_client().await;
    let mut rates = app.contribution_client().await;

    let standard = rates
        .get_rate(authed(
            instant_delivery("44", "", "2026-06-15T08:00:00Z"),
            &meituan,
        ))
        .await
        .expect("rate")
        .into_inner();
    assert_eq!(
        standard.base_rate.as_ref().map(|b| b.fen_per_order),
        Some(7)
    );
    assert_eq!(standard.multiplier, None);
    assert_eq!(standard.premium_tenth_fen_per_order, 70);
    assert!(
        standard.rate_version.ends_with("-m0"),
        "{}",
        standard.rate_version
    );

    let class = pb::SetPlatformRateClassRequest {
        request_id: "c".into(),
        platform_id: "meituan".into(),
        industry: pb::Industry::InstantDelivery as i32,
        rate_class: pb::RateClass::EarlyPilot as i32,
    };
    admin_client
        .set_platform_rate_class(authed(class, &admin))
        .await
        .expect("class");
    let multiplier = pb::SetRateMultiplierRequest {
        request_id: "m".into(),
        province_code: "44".into(),
        platform_id: "meituan".into(),
        industry: pb::Industry::InstantDelivery as i32,
        valid_from: Some(date(2027, 1, 1)),
        tenths: 13,
    };
    let set = admin_client
        .set_rate_multiplier(authed(multiplier.clone(), &admin))
        .await
        .expect("multiplier")
        .into_inner();
    assert_eq!(set.tenths, 13);

    // 23:59:59 on 31 December in Beijing is still the old rate; midnight is the new one.
    let before = rates
        .get_rate(authed(
            instant_delivery("44", "", "2026-12-31T15:59:59Z"),
            &meituan,
        ))
        .await
        .expect("before")
        .into_inner();
    assert_eq!(
        (
            before.premium_tenth_fen_per_order,
            before.multiplier.is_none()
        ),
        (250, true)
    );
    let after = rates
        .get_rate(authed(
            instant_delivery("44", "", "2026-12-31T16:00:00Z"),
            &meituan,
        ))
        .await
        .expect("after")
        .into_inner();
    assert_eq!(after.premium_tenth_fen_per_order, 325, "25 fen x 1.3");
    assert_eq!(
        after.multiplier.as_ref().map(|m| m.multiplier_id),
        Some(set.multiplier_id)
    );
    assert_ne!(after.rate_version, before.rate_version);
    // Other provinces keep 1.0.
    let beijing = rates
        .get_rate(authed(
            instant_delivery("11", "", "2027-06-01T00:00:00Z"),
            &meituan,
        ))
        .await
        .expect("Beijing")
        .into_inner();
    assert_eq!(beijing.premium_tenth_fen_per_order, 250);

    // A new base rate version from 2027-07-01.
    let base = pb::SetBaseRateRequest {
        request_id: "b".into(),
        industry: pb::Industry::InstantDelivery as i32,
        rate_class: pb::RateClass::EarlyPilot as i32,
        valid_from: Some(date(2027, 7, 1)),
        fen_per_order: 20,
    };
    admin_client
        .set_base_rate(authed(base.clone(), &admin))
        .await
        .expect("base rate");
    let july = rates
        .get_rate(authed(
            instant_delivery("44", "", "2027-07-01T00:00:00Z"),
            &meituan,
        ))
        .await
        .expect("July")
        .into_inner();
    assert_eq!(july.premium_tenth_fen_per_order, 260, "20 fen x 1.3");
    let again = pb::SetBaseRateRequest {
        request_id: "b2".into(),
        ..base
    };
    assert_eq!(
        admin_client
            .set_base_rate(authed(again, &admin))
            .await
            .expect_err("same version")
            .code(),
        Code::AlreadyExists
    );
    app.stop().await;
}

#[tokio::test]
async fn multiplier_and_base_rate_rules_are_enforced() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let mut client = app.admin_client().await;
    let good = pb::SetRateMultiplierRequest {
        request_id: "m1".into(),
        province_code: "44".into(),
        platform_id: "meituan".into(),
        industry: pb::Industry::InstantDelivery as i32,
        valid_from: Some(date(2027, 1, 1)),
        tenths: 12,
    };
    client
        .set_rate_multiplier(authed(good.clone(), &admin))
        .await
        .expect("first change of 2027");
    assert_eq!(
        client
            .set_rate_multiplier(authed(good.clone(), &admin))
            .await
            .expect("replay")
            .into_inner()
            .tenths,
        12
    );

    let twice = pb::SetRateMultiplierRequest {
        request_id: "m2".into(),
        tenths: 14,
        ..good.clone()
    };
    let status = client
        .set_rate_multiplier(authed(twice, &admin))
        .await
        .expect_err("twice in 2027");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("once a year"),
        "{}",
        status.message()
    );

    for (field, request) in [
        (
            "valid_from",
            pb::SetRateMultiplierRequest {
                request_id: "x1".into(),
                valid_from: Some(date(2028, 3, 1)),
                ..good.clone()
            },
        ),
        (
            "valid_from",
            pb::SetRateMultiplierRequest {
                request_id: "x2".into(),
                valid_from: Some(date(2026, 1, 1)),
                ..good.clone()
            },
        ),
        (
            "tenths",
            pb::SetRateMultiplierRequest {
                request_id: "x3".into(),
                valid_from: Some(date(2028, 1, 1)),
                tenths: 16,
                ..good.clone()
            },
        ),
        (
            "tenths",
            pb::SetRateMultiplierRequest {
                request_id: "x4".into(),
                valid_from: Some(date(2028, 1, 1)),
                tenths: 4,
                ..good.clone()
            },
        ),
        (
            "province_code",
            pb::SetRateMultiplierRequest {
                request_id: "x5".into(),
                province_code: "99".into(),
                ..good.clone()
            },
        ),
    ] {
        let status = client
            .set_rate_multiplier(authed(request, &admin))
            .await
            .expect_err(field);
        assert_field_violation(&status, field);
    }
    let unknown = pb::SetRateMultiplierRequest {
        request_id: "x6".into(),
        platform_id: "nobody".into(),
        valid_from: Some(date(2028, 1, 1)),
        ..good
    };
    assert_eq!(
        client
            .set_rate_multiplier(authed(unknown, &admin))
            .await
            .expect_err("unknown platform")
            .code(),
        Code::NotFound
    );

    let past = pb::SetBaseRateRequest {
        request_id: "b".into(),
        industry: pb::Industry::RideHailing as i32,
        rate_class: pb::RateClass::Standard as i32,
        valid_from: Some(date(2026, 6, 15)),
        fen_per_order: 2,
    };
    assert_field_violation(
        &client
            .set_base_rate(authed(past, &admin))
            .await
            .expect_err("today is not the future"),
        "valid_from",
    );
    let negative = pb::SetBaseRateRequest {
        request_id: "b2".into(),
        industry: pb::Industry::RideHailing as i32,
        rate_class: pb::RateClass::Standard as i32,
        valid_from: Some(date(2027, 1, 1)),
        fen_per_order: -1,
    };
    assert_field_violation(
        &client
            .set_base_rate(authed(negative, &admin))
            .await
            .expect_err("negative"),
        "fen_per_order",
    );
    let too_dear = pb::SetBaseRateRequest {
        request_id: "b3".into(),
        industry: pb::Industry::RideHailing as i32,
        rate_class: pb::RateClass::Standard as i32,
        valid_from: Some(date(2027, 1, 1)),
        fen_per_order: 100_001,
    };
    assert_field_violation(
        &client
            .set_base_rate(authed(too_dear, &admin))
            .await
            .expect_err("over 1,000 yuan an order"),
        "fen_per_order",
    );
    let wage = |annual_fen: i64| pb::SetAverageWageRequest {
        request_id: format!("w{annual_fen}"),
        province_code: "44".into(),
        year: 2025,
        annual_fen,
    };
    for annual_fen in [0, 1_000_000_000_001, i64::MAX] {
        assert_field_violation(
            &client
                .set_average_wage(authed(wage(annual_fen), &admin))
                .await
                .expect_err("wage out of bounds"),
            "annual_fen",
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM rate_multipliers")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 1, "refusals wrote nothing");
    app.stop().await;
}

#[tokio::test]
async fn rates_are_read_only_by_those_they_concern() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, chrono::Utc::now())
        .await
        .expect("seed rates");
    let mut rates = app.contribution_client().await;
    let eleme = app.token("platform:eleme").await;
    let status = rates
        .get_rate(authed(
            instant_delivery("44", "meituan", "2026-06-15T08:00:00Z"),
            &eleme,
        ))
        .await
        .expect_err("another platform");
    assert_eq!(status.code(), Code::PermissionDenied);
    let beijing = app.token("province:11").await;
    let status = rates
        .get_rate(authed(
            instant_delivery("44", "meituan", "2026-06-15T08:00:00Z"),
            &beijing,
        ))
        .await
        .expect_err("another province");
    assert_eq!(status.code(), Code::PermissionDenied);
    let guangdong = app.token("province:44").await;
    rates
        .get_rate(authed(
            instant_delivery("44", "meituan", "2026-06-15T08:00:00Z"),
            &guangdong,
        ))
        .await
        .expect("own province");
    assert_field_violation(
        &rates
            .get_rate(authed(
                instant_delivery("44", "", "2026-06-15T08:00:00Z"),
                &guangdong,
            ))
            .await
            .expect_err("whose?"),
        "platform_id",
    );
    assert_field_violation(
        &rates
            .get_rate(authed(
                instant_delivery("44", "meituan ", "2026-06-15T08:00:00Z"),
                &guangdong,
            ))
            .await
            .expect_err("not trimmed"),
        "platform_id",
    );
    let early = rates
        .get_rate(authed(
            instant_delivery("44", "", "2025-06-30T08:00:00Z"),
            &eleme,
        ))
        .await
        .expect_err("before any rate");
    assert_eq!(early.code(), Code::NotFound);

    let platform_token = app.token("platform:meituan").await;
    let mut admin = app.admin_client().await;
    let request = pb::SetBaseRateRequest {
        request_id: "b".into(),
        industry: pb::Industry::RideHailing as i32,
        rate_class: pb::RateClass::Standard as i32,
        valid_from: Some(date(2027, 1, 1)),
        fen_per_order: 2,
    };
    assert_eq!(
        admin
            .set_base_rate(authed(request, &platform_token))
            .await
            .expect_err("not an admin")
            .code(),
        Code::PermissionDenied
    );
    app.stop().await;
}
