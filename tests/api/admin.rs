//! AdminService: platforms, tokens, pilot scope; and the seed.
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

#[tokio::test]
async fn register_platform_checks_the_credit_code_and_replays() {
    let app = spawn_app().await;
    let admin = app.token("national-admin").await;
    let mut client = app.admin_client().await;
    let request = pb::RegisterPlatformRequest {
        request_id: "p1".into(),
        platform_id: "tencent-run".into(),
        name: "腾讯跑腿".into(),
        credit_code: "9144030071526726XG".into(),
        industries: vec![
            pb::Industry::InstantDelivery as i32,
            pb::Industry::InstantDelivery as i32,
        ],
    };
    let lowercase = client
        .register_platform(authed(
            pb::RegisterPlatformRequest {
                request_id: "p0".into(),
                credit_code: "9144030071526726xg".into(),
                ..request.clone()
            },
            &admin,
        ))
        .await
        .expect_err("not canonical");
    assert_field_violation(&lowercase, "credit_code");
    let platform = client
        .register_platform(authed(request.clone(), &admin))
        .await
        .expect("registered")
        .into_inner();
    assert_eq!(platform.credit_code, "9144030071526726XG");
    assert_eq!(
        platform.industries,
        vec![pb::Industry::InstantDelivery as i32]
    );
    let replay = client
        .register_platform(authed(request.clone(), &admin))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(replay, platform);

    let again = pb::RegisterPlatformRequest {
        request_id: "p2".into(),
        ..request.clone()
    };
    assert_eq!(
        client
            .register_platform(authed(again, &admin))
            .await
            .expect_err("duplicate")
            .code(),
        Code::AlreadyExists
    );
    let same_code = pb::RegisterPlatformRequest {
        request_id: "p3".into(),
        platform_id: "other".into(),
        ..request.clone()
    };
    assert_eq!(
        client
            .register_platform(authed(same_code, &admin))
            .await
            .expect_err("same code")
            .code(),
        Code::AlreadyExists
    );

    for (field, change) in [
        (
            "credit_code",
            pb::RegisterPlatformRequest {
                credit_code: "9144030071526726XH".into(),
                ..request.clone()
            },
        ),
        (
            "platform_id",
            pb::RegisterPlatformRequest {
                platform_id: "Bad Id".into(),
                ..request.clone()
            },
        ),
        (
            "name",
            pb::RegisterPlatformRequest {
                name: "".into(),
                ..request.clone()
            },
        ),
        (
            "industries",
            pb::RegisterPlatformRequest {
                industries: vec![],
                ..request.clone()
            },
        ),
        (
            "industries[0]",
            pb::RegisterPlatformRequest {
                industries: vec![0],
                ..request.clone()
            },
        ),
    ] {
        let invalid = pb::RegisterPlatformRequest {
            request_id: format!("bad-{field}"),
            ..change
        };
        assert_field_violation(
            &client
                .register_platform(authed(invalid, &admin))
                .await
                .expect_err(field),
            field,
        );
    }
    assert_eq!(app.count("platforms").await, 1);
    app.stop().await;
}

/// A well-formed code that belongs to nobody: 17 characters and their GB 32100 check character.
fn made_up_credit_code() -> String {
    let first17 = "91110108MA0000001";
    let check =
        flexcover::domain::credit_code::check_character(first17.as_bytes()).expect("alphabet");
    format!("{first17}{check}")
}

#[tokio::test]
async fn registering_a_seeded_platform_completes_it() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let mut client = app.admin_client().await;
    let request = pb::RegisterPlatformRequest {
        request_id: "m".into(),
        platform_id: "meituan".into(),
        name: "美团 Meituan".into(),
        credit_code: made_up_credit_code(),
        industries: vec![pb::Industry::InstantDelivery as i32],
    };
    let platform = client
        .register_platform(authed(request, &admin))
        .await
        .expect("completed")
        .into_inner();
    assert_eq!(platform.credit_code, made_up_credit_code());

    let listed = client
        .list_platforms(authed(
            pb::ListPlatformsRequest {
                page_size: 4,
                page_token: String::new(),
            },
            &admin,
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.platforms.len(), 4);
    let mut all = listed.platforms;
    let mut token = listed.next_page_token;
    while !token.is_empty() {
        let page = client
            .list_platforms(authed(
                pb::ListPlatformsRequest {
                    page_size: 4,
                    page_token: token,
                },
                &admin,
            ))
            .await
            .expect("page")
            .into_inner();
        all.extend(page.platforms);
        token = page.next_page_token;
    }
    assert_eq!(all.len(), 11, "the eleven pilot platforms");
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_created_over_grpc_once_and_listed_without_secrets() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let mut client = app.admin_client().await;
    let request = pb::CreateTokenRequest {
        request_id: "tok".into(),
        role: "province:44".into(),
        label: "Guangdong".into(),
    };
    let created = client
        .create_token(authed(request.clone(), &admin))
        .await
        .expect("created")
        .into_inner();
    assert!(created.token.starts_with("fc_"));
    assert_eq!(created.role, "province:44");
    let replay = client
        .create_token(authed(request, &admin))
        .await
        .expect_err("the secret is shown once");
    assert_eq!(replay.code(), Code::AlreadyExists);
    assert!(replay.message().contains(&created.token_id));

    // The new token works for its role.
    let mut enrolments = app.enrolment_client().await;
    enrolments
        .list_enrolments(authed(pb::ListEnrolmentsRequest::default(), &created.token))
        .await
        .expect("agency token works");

    let listed = client
        .list_tokens(authed(pb::ListTokensRequest::default(), &admin))
        .await
        .expect("list")
        .into_inner();
    assert!(
        listed
            .tokens
            .iter()
            .any(|t| t.token_id == created.token_id && t.label == "Guangdong")
    );

    for (role, code) in [
        ("platform:nobody", Code::FailedPrecondition),
        ("superuser", Code::InvalidArgument),
        ("province:99", Code::InvalidArgument),
    ] {
        let request = pb::CreateTokenRequest {
            request_id: format!("bad-{role}"),
            role: role.into(),
            label: String::new(),
        };
        let status = client
            .create_token(authed(request, &admin))
            .await
            .expect_err(role);
        assert_eq!(status.code(), code, "{role}");
        if code == Code::InvalidArgument {
            assert_field_violation(&status, "role");
        }
    }
    let malformed = pb::RevokeTokenRequest {
        request_id: "r".into(),
        token_id: "nope".into(),
    };
    assert_field_violation(
        &client
            .revoke_token(authed(malformed, &admin))
            .await
            .expect_err("not a token id"),
        "token_id",
    );
    let missing = pb::RevokeTokenRequest {
        request_id: "r".into(),
        token_id: "0".repeat(32),
    };
    assert_eq!(
        client
            .revoke_token(authed(missing, &admin))
            .await
            .expect_err("unknown")
            .code(),
        Code::NotFound
    );
    app.stop().await;
}

#[tokio::test]
async fn registry_input_is_canonical_and_the_scope_is_read_narrowed() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let agency = app.token("province:44").await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.admin_client().await;
    let token = |request_id: &str, role: &str, label: &str| pb::CreateTokenRequest {
        request_id: request_id.into(),
        role: role.into(),
        label: label.into(),
    };
    for (field, request) in [
        ("role", token("t1", "national-admin ", "")),
        ("role", token("t2", "Province:44", "")),
        ("label", token("t3", "auditor", "Guangdong\u{202E}")),
        ("label", token("t4", "auditor", " Guangdong")),
        ("request_id", token("", "auditor", "")),
    ] {
        let status = client
            .create_token(authed(request, &admin))
            .await
            .expect_err(field);
        assert_field_violation(&status, field);
    }
    assert_eq!(app.count("api_tokens").await, 3, "only the test's own");

    // Revocation is stored for replays like any other change.
    let created = client
        .create_token(authed(token("t5", "auditor", "to revoke"), &admin))
        .await
        .expect("created")
        .into_inner();
    let revoke = pb::RevokeTokenRequest {
        request_id: "rv".into(),
        token_id: created.token_id.clone(),
    };
    let first = client
        .revoke_token(authed(revoke.clone(), &admin))
        .await
        .expect("revoked")
        .into_inner();
    let again = client
        .revoke_token(authed(revoke, &admin))
        .await
        .expect("replayed")
        .into_inner();
    assert_eq!(first, again);

    let scope = |province_code: &str, platform_id: &str| pb::ListPilotScopeRequest {
        province_code: province_code.into(),
        platform_id: platform_id.into(),
        on_date: None,
    };
    let own = client
        .list_pilot_scope(authed(scope("", ""), &agency))
        .await
        .expect("own province")
        .into_inner();
    assert_eq!(own.scopes.len(), 11, "Guangdong's eleven platforms");
    assert!(own.scopes.iter().all(|s| s.province_code == "44"));
    for (request, token, who) in [
        (
            scope("11", ""),
            &agency,
            "an agency asking for another province",
        ),
        (
            scope("", "eleme"),
            &meituan,
            "a platform asking for another platform",
        ),
    ] {
        let status = client
            .list_pilot_scope(authed(request, token))
            .await
            .expect_err(who);
        assert_eq!(status.code(), Code::PermissionDenied, "{who}");
    }
    let one = client
        .list_pilot_scope(authed(scope("44", ""), &meituan))
        .await
        .expect("a platform filters by province")
        .into_inner();
    assert_eq!(one.scopes.len(), 1);

    let holiday = pb::SetPublicHolidayRequest {
        request_id: "h1".into(),
        day: Some(date(2027, 1, 1)),
        holiday: true,
        name: "New Year's Day ".into(),
    };
    assert_field_violation(
        &client
            .set_public_holiday(authed(holiday, &admin))
            .await
            .expect_err("trailing space"),
        "name",
    );
    let income = pb::SetNationalIncomeRequest {
        request_id: "i1".into(),
        year: 2026,
        annual_fen: 1_000_000_000_001,
    };
    assert_field_violation(
        &client
            .set_national_income(authed(income, &admin))
            .await
            .expect_err("above the bound"),
        "annual_fen",
    );
    app.stop().await;
}

#[tokio::test]
async fn the_pilot_scope_is_effective_dated_data() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.admin_client().await;
    let mut enrolments = app.enrolment_client().await;
    let henan = |request_id: &str, day: pb::Date| {
        let mut request = enrol_request(request_id, STANDARD_ID);
        request.place_of_employment = "410105".into();
        request.cover_start_date = Some(day);
        request
    };
    // Henan joins for Meituan on 2026-01-01.
    let add = pb::AddPilotScopeRequest {
        request_id: "henan".into(),
        province_code: "41".into(),
        platform_id: "meituan".into(),
        valid_from: Some(date(2026, 1, 1)),
        valid_to: None,
    };
    let scope = client
        .add_pilot_scope(authed(add.clone(), &admin))
        .await
        .expect("added")
        .into_inner();
    assert_eq!(scope.valid_to, None);
    assert_eq!(
        client
            .add_pilot_scope(authed(add.clone(), &admin))
            .await
            .expect("replay")
            .into_inner(),
        scope
    );
    let overlapping = pb::AddPilotScopeRequest {
        request_id: "again".into(),
        valid_from: Some(date(2026, 6, 1)),
        ..add.clone()
    };
    assert_eq!(
        client
            .add_pilot_scope(authed(overlapping, &admin))
            .await
            .expect_err("overlap")
            .code(),
        Code::FailedPrecondition
    );

    let status = enrolments
        .enrol_worker(authed(henan("e1", date(2025, 12, 31)), &meituan))
        .await
        .expect_err("before");
    assert_eq!(status.code(), Code::FailedPrecondition);
    enrolments
        .enrol_worker(authed(henan("e2", date(2026, 1, 1)), &meituan))
        .await
        .expect("from the first day");

    // Ending the period on 2026-03-01 (exclusive) closes enrolment from that day.
    let end = pb::EndPilotScopeRequest {
        request_id: "end".into(),
        province_code: "41".into(),
        platform_id: "meituan".into(),
        end_date: Some(date(2026, 3, 1)),
    };
    let ended = client
        .end_pilot_scope(authed(end, &admin))
        .await
        .expect("ended")
        .into_inner();
    assert_eq!(ended.valid_to, Some(date(2026, 3, 1)));
    let eleme = app.token("platform:eleme").await;
    let add_eleme = pb::AddPilotScopeRequest {
        request_id: "henan-eleme".into(),
        platform_id: "eleme".into(),
        ..add.clone()
    };
    client
        .add_pilot_scope(authed(add_eleme, &admin))
        .await
        .expect("eleme too");
    let mut late = henan("e3", date(2026, 3, 1));
    late.worker
        .as_mut()
        .map(|w| w.id_number = id_number("110105", "19900101", 3))
        .unwrap_or_default();
    assert_eq!(
        enrolments
            .enrol_worker(authed(late.clone(), &meituan))
            .await
            .expect_err("after the end")
            .code(),
        Code::FailedPrecondition
    );
    enrolments
        .enrol_worker(authed(late, &eleme))
        .await
        .expect("eleme still in scope");

    let on_day = pb::ListPilotScopeRequest {
        province_code: "41".into(),
        platform_id: String::new(),
        on_date: Some(date(2026, 3, 1)),
    };
    let listed = client
        .list_pilot_scope(authed(on_day, &admin))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed
            .scopes
            .iter()
            .map(|s| s.platform_id.as_str())
            .collect::<Vec<_>>(),
        vec!["eleme"]
    );
    // A platform sees only its own scope.
    let own = client
        .list_pilot_scope(authed(pb::ListPilotScopeRequest::default(), &meituan))
        .await
        .expect("own")
        .into_inner();
    assert!(own.scopes.iter().all(|s| s.platform_id == "meituan"));
    assert_eq!(own.scopes.len(), 18, "17 seeded provinces plus Henan");

    let scope_events: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'pilot_scope.changed.v1' AND province_code = '41'")
        .fetch_one(&app.pool).await.expect("count");
    assert_eq!(scope_events, 3, "two additions and one end");

    let bad = pb::AddPilotScopeRequest {
        request_id: "bad".into(),
        province_code: "41".into(),
        platform_id: "meituan".into(),
        valid_from: Some(date(2027, 1, 1)),
        valid_to: Some(date(2026, 1, 1)),
    };
    assert_field_violation(
        &client
            .add_pilot_scope(authed(bad, &admin))
            .await
            .expect_err("backwards"),
        "valid_to",
    );
    let unknown = pb::AddPilotScopeRequest {
        request_id: "nobody".into(),
        platform_id: "nobody".into(),
        valid_from: Some(date(2030, 1, 1)),
        ..add
    };
    assert_eq!(
        client
            .add_pilot_scope(authed(unknown, &admin))
            .await
            .expect_err("unknown platform")
            .code(),
        Code::NotFound
    );
    app.stop().await;
}

#[tokio::test]
async fn seeding_the_pilot_is_complete_and_repeatable() {
    let app = spawn_app().await;
    let added = flexcover::seed::seed_pilot(&app.pool, chrono::Utc::now())
        .await
        .expect("seed");
    assert_eq!(added, 17 * 11);
    let again = flexcover::seed::seed_pilot(&app.pool, chrono::Utc::now())
        .await
        .expect("seed again");
    assert_eq!(again, 0);
    let in_2022: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pilot_scope WHERE valid_from = '2022-07-01'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert_eq!(in_2022, 49, "7 platforms x 7 provinces");
    assert_eq!(app.count("platforms").await, 11);
    app.stop().await;
}
