//! EnrolWorker, GetEnrolment, ListEnrolments: happy paths, every validation rule, pilot scope,
//! duplicates, listing and tenant isolation.
use crate::helpers::*;
use flexcover::pb;
use prost::Message;
use tonic::Code;

#[tokio::test]
async fn a_platform_enrols_a_worker_and_everyone_entitled_reads_it_masked() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;

    let response = client
        .enrol_worker(authed(
            enrol_request("req-1", "11010519491231002x"),
            &meituan,
        ))
        .await
        .expect("enrolled")
        .into_inner();
    let enrolment = response.enrolment.expect("enrolment");
    assert_eq!(enrolment.platform_id, "meituan");
    assert_eq!(enrolment.province_code, "44");
    assert_eq!(enrolment.place_of_employment, "440305");
    assert_eq!(enrolment.industry, pb::Industry::InstantDelivery as i32);
    assert_eq!(enrolment.status, pb::EnrolmentStatus::Active as i32);
    assert_eq!(enrolment.cover_start_date, Some(date(2026, 1, 5)));
    assert_eq!(enrolment.id_number_masked, "110105********002X");
    assert_eq!(enrolment.name_masked, "张**");
    assert_eq!(enrolment.phone_masked, "138****5678");

    let get = pb::GetEnrolmentRequest {
        enrolment_id: enrolment.enrolment_id.clone(),
    };
    for role in [
        "platform:meituan",
        "province:44",
        "national-admin",
        "auditor",
    ] {
        let token = app.token(role).await;
        let read = client
            .get_enrolment(authed(get.clone(), &token))
            .await
            .expect(role)
            .into_inner();
        assert_eq!(read, enrolment, "{role} reads the same enrolment");
    }

    // Stored: the person once, the ID number only encrypted, the event in the outbox.
    let (ciphertext, masked): (Vec<u8>, String) =
        sqlx::query_as("SELECT id_ciphertext, id_masked FROM persons")
            .fetch_one(&app.pool)
            .await
            .expect("person");
    assert_eq!(masked, "110105********002X");
    assert!(
        !String::from_utf8_lossy(&ciphertext).contains("19491231"),
        "ID number stored encrypted"
    );
    let (name, phone): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT name_ciphertext, phone_ciphertext FROM enrolments")
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert!(!String::from_utf8_lossy(&name).contains("张三丰"));
    assert!(!String::from_utf8_lossy(&phone).contains("13812345678"));
    let (province, event_type, payload): (String, String, Vec<u8>) =
        sqlx::query_as("SELECT province_code, event_type, payload FROM events")
            .fetch_one(&app.pool)
            .await
            .expect("event");
    assert_eq!(
        (province.as_str(), event_type.as_str()),
        ("44", "enrolment.opened.v1")
    );
    let event = pb::EnrolmentOpenedV1::decode(payload.as_slice()).expect("event payload");
    assert_eq!(event.enrolment_id, enrolment.enrolment_id);
    assert_eq!(event.id_number_masked, "110105********002X");
    assert_eq!(event.person_key.len(), 64, "hex HMAC");
    assert_eq!(event.actor, "platform:meituan");
    app.stop().await;
}

/// Each bad request names its field and writes nothing.
#[tokio::test]
async fn every_validation_rule_is_enforced_and_names_its_field() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;
    let with_id = |id: &str| enrol_request("r", id);
    let mut cases: Vec<(&str, pb::EnrolWorkerRequest, &str)> = vec![
        (
            "wrong check character",
            with_id("110105194912310021"),
            "worker.id_number",
        ),
        (
            "15-digit legacy number",
            with_id("110105491231002"),
            "worker.id_number",
        ),
        (
            "impossible birth date",
            with_id(&id_number("110105", "19900230", 1)),
            "worker.id_number",
        ),
        (
            "unknown address code",
            with_id(&id_number("999999", "19900101", 1)),
            "worker.id_number",
        ),
        (
            "under 16 on the start date",
            with_id(&id_number("110105", "20100106", 1)),
            "worker.id_number",
        ),
        (
            "letters in the number",
            with_id("11010519491231002Y"),
            "worker.id_number",
        ),
    ];
    let mut add = |what, field, change: &dyn Fn(&mut pb::EnrolWorkerRequest)| {
        let mut request = enrol_request("r", STANDARD_ID);
        change(&mut request);
        cases.push((what, request, field));
    };
    add("province instead of place", "place_of_employment", &|r| {
        r.place_of_employment = "440000".into()
    });
    add("unknown place", "place_of_employment", &|r| {
        r.place_of_employment = "449999".into()
    });
    add("abolished place", "place_of_employment", &|r| {
        r.place_of_employment = "110104".into()
    });
    add("malformed place", "place_of_employment", &|r| {
        r.place_of_employment = "44030".into()
    });
    add("phone too short", "worker.phone", &|r| {
        r.worker
            .as_mut()
            .map(|w| w.phone = "1381234567".into())
            .unwrap_or_default()
    });
    add("phone not starting with 1", "worker.phone", &|r| {
        r.worker
            .as_mut()
            .map(|w| w.phone = "23812345678".into())
            .unwrap_or_default()
    });
    add("empty name", "worker.name", &|r| {
        r.worker
            .as_mut()
            .map(|w| w.name = " ".into())
            .unwrap_or_default()
    });
    add("no worker", "worker", &|r| r.worker = None);
    add("no industry", "industry", &|r| r.industry = 0);
    add("unknown industry", "industry", &|r| r.industry = 99);
    add("industry the platform does not offer", "industry", &|r| {
        r.industry = pb::Industry::RideHailing as i32
    });
    add("no start date", "cover_start_date", &|r| {
        r.cover_start_date = None
    });
    add("impossible start date", "cover_start_date", &|r| {
        r.cover_start_date = Some(date(2026, 2, 30))
    });
    add("no request id", "request_id", &|r| {
        r.request_id = String::new()
    });

    for (what, request, field) in cases {
        let status = client
            .enrol_worker(authed(request, &meituan))
            .await
            .expect_err(what);
        assert_field_violation(&status, field);
        assert!(
            !status.message().contains("1949"),
            "{what}: the ID number is not echoed"
        );
    }
    for table in ["enrolments", "persons", "events", "idempotency_keys"] {
        assert_eq!(app.count(table).await, 0, "{table} untouched");
    }
    // A lowercase x is normalised, not refused.
    client
        .enrol_worker(authed(enrol_request("ok", "11010519491231002x"), &meituan))
        .await
        .expect("lowercase x");
    app.stop().await;
}

#[tokio::test]
async fn all_violations_are_reported_at_once() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut request = enrol_request("r", "110105194912310021");
    request.place_of_employment = "440000".into();
    request.cover_start_date = None;
    let status = app
        .enrolment_client()
        .await
        .enrol_worker(authed(request, &meituan))
        .await
        .expect_err("invalid");
    for field in [
        "worker.id_number",
        "place_of_employment",
        "cover_start_date",
    ] {
        assert_field_violation(&status, field);
    }
    app.stop().await;
}

#[tokio::test]
async fn enrolment_outside_the_pilot_scope_is_a_failed_precondition() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let mut client = app.enrolment_client().await;
    let meituan = app.token("platform:meituan").await;
    let didi = app.token("platform:didi").await;

    // Henan (41) is not in the 2022 or 2025 pilot.
    let mut henan = enrol_request("r1", STANDARD_ID);
    henan.place_of_employment = "410105".into();
    let status = client
        .enrol_worker(authed(henan, &meituan))
        .await
        .expect_err("Henan");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("province 41"),
        "{}",
        status.message()
    );

    // Didi joined on 2025-07-01: not before.
    let mut early = enrol_request("r2", STANDARD_ID);
    early.industry = pb::Industry::RideHailing as i32;
    early.cover_start_date = Some(date(2025, 6, 30));
    let status = client
        .enrol_worker(authed(early.clone(), &didi))
        .await
        .expect_err("before joining");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("2025-06-30"),
        "{}",
        status.message()
    );
    assert_eq!(app.count("enrolments").await, 0);

    early.request_id = "r3".into();
    early.cover_start_date = Some(date(2025, 7, 1));
    client
        .enrol_worker(authed(early, &didi))
        .await
        .expect("on the day Didi joined");
    app.stop().await;
}

#[tokio::test]
async fn one_open_enrolment_per_platform_and_person_but_many_platforms() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let mut client = app.enrolment_client().await;
    let meituan = app.token("platform:meituan").await;
    let eleme = app.token("platform:eleme").await;

    let first = client
        .enrol_worker(authed(enrol_request("a", STANDARD_ID), &meituan))
        .await
        .expect("first")
        .into_inner();
    let first_id = first.enrolment.expect("enrolment").enrolment_id;
    let mut again = enrol_request("b", "11010519491231002x");
    again.place_of_employment = "110105".into();
    let status = client
        .enrol_worker(authed(again, &meituan))
        .await
        .expect_err("second open enrolment");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(
        status.message().contains(&first_id),
        "names the existing enrolment: {}",
        status.message()
    );

    client
        .enrol_worker(authed(enrol_request("a", STANDARD_ID), &eleme))
        .await
        .expect("another platform");
    assert_eq!(app.count("enrolments").await, 2);
    assert_eq!(
        app.count("persons").await,
        1,
        "one person record across platforms"
    );
    app.stop().await;
}

async fn enrol_at(
    client: &mut flexcover::pb::enrolment_service_client::EnrolmentServiceClient<
        tonic::transport::Channel,
    >,
    token: &str,
    seq: u32,
    place: &str,
) -> pb::Enrolment {
    let mut request = enrol_request(
        &format!("req-{seq}-{place}"),
        &id_number("110105", "19900101", seq),
    );
    request.place_of_employment = place.to_owned();
    client
        .enrol_worker(authed(request, token))
        .await
        .expect("enrolled")
        .into_inner()
        .enrolment
        .expect("enrolment")
}

#[tokio::test]
async fn listing_filters_pages_and_isolates_tenants() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let mut client = app.enrolment_client().await;
    let meituan = app.token("platform:meituan").await;
    let eleme = app.token("platform:eleme").await;
    let mut expected = Vec::new();
    for (seq, place) in [
        (1, "440305"),
        (2, "440106"),
        (3, "110105"),
        (4, "440305"),
        (5, "310115"),
    ] {
        expected.push(enrol_at(&mut client, &meituan, seq, place).await);
    }
    let eleme_one = enrol_at(&mut client, &eleme, 9, "440305").await;

    // Pages of two, newest first, each enrolment exactly once.
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListEnrolmentsRequest {
            page_size: 2,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = client
            .list_enrolments(authed(request, &meituan))
            .await
            .expect("page")
            .into_inner();
        assert!(page.enrolments.len() <= 2);
        seen.extend(page.enrolments);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let mut newest_first = expected.clone();
    newest_first.reverse();
    assert_eq!(
        seen, newest_first,
        "a platform lists exactly its own, newest first"
    );

    let list = |request: pb::ListEnrolmentsRequest, token: &str| {
        let mut client = client.clone();
        let token = token.to_owned();
        async move { client.list_enrolments(authed(request, &token)).await }
    };
    let in_44 = list(
        pb::ListEnrolmentsRequest {
            province_code: "44".into(),
            ..Default::default()
        },
        &meituan,
    )
    .await
    .expect("province filter")
    .into_inner();
    assert_eq!(in_44.enrolments.len(), 3);
    let in_nanshan = list(
        pb::ListEnrolmentsRequest {
            place_of_employment: "440305".into(),
            ..Default::default()
        },
        &meituan,
    )
    .await
    .expect("place filter")
    .into_inner();
    assert_eq!(in_nanshan.enrolments.len(), 2);
    let active = list(
        pb::ListEnrolmentsRequest {
            status: pb::EnrolmentStatus::Active as i32,
            ..Default::default()
        },
        &meituan,
    )
    .await
    .expect("status filter")
    .into_inner();
    assert_eq!(active.enrolments.len(), 5);

    // A province agency sees its province across platforms, and may filter by platform.
    let guangdong = app.token("province:44").await;
    let agency = list(pb::ListEnrolmentsRequest::default(), &guangdong)
        .await
        .expect("agency")
        .into_inner();
    assert_eq!(agency.enrolments.len(), 4);
    assert!(agency.enrolments.iter().all(|e| e.province_code == "44"));
    let agency_eleme = list(
        pb::ListEnrolmentsRequest {
            platform_id: "eleme".into(),
            ..Default::default()
        },
        &guangdong,
    )
    .await
    .expect("agency platform filter")
    .into_inner();
    assert_eq!(agency_eleme.enrolments, vec![eleme_one.clone()]);
    let other_province = list(
        pb::ListEnrolmentsRequest {
            province_code: "11".into(),
            ..Default::default()
        },
        &guangdong,
    )
    .await
    .expect_err("another province");
    assert_eq!(other_province.code(), Code::PermissionDenied);

    // A platform cannot list another platform's workers.
    let status = list(
        pb::ListEnrolmentsRequest {
            platform_id: "eleme".into(),
            ..Default::default()
        },
        &meituan,
    )
    .await
    .expect_err("other platform");
    assert_eq!(status.code(), Code::PermissionDenied);
    let eleme_list = list(pb::ListEnrolmentsRequest::default(), &eleme)
        .await
        .expect("eleme")
        .into_inner();
    assert_eq!(eleme_list.enrolments, vec![eleme_one]);

    // National admins see everything.
    let admin = app.token("national-admin").await;
    let all = list(
        pb::ListEnrolmentsRequest {
            page_size: 100,
            ..Default::default()
        },
        &admin,
    )
    .await
    .expect("admin")
    .into_inner();
    assert_eq!(all.enrolments.len(), 6);

    // Page tokens are bound to their query; malformed filters are refused by name.
    let first = list(
        pb::ListEnrolmentsRequest {
            page_size: 1,
            ..Default::default()
        },
        &meituan,
    )
    .await
    .expect("first")
    .into_inner();
    let reused = pb::ListEnrolmentsRequest {
        page_size: 1,
        page_token: first.next_page_token,
        province_code: "44".into(),
        ..Default::default()
    };
    assert_field_violation(
        &list(reused, &meituan)
            .await
            .expect_err("token of another query"),
        "page_token",
    );
    let garbage = pb::ListEnrolmentsRequest {
        page_token: "not-a-token".into(),
        ..Default::default()
    };
    assert_field_violation(
        &list(garbage, &meituan).await.expect_err("garbage token"),
        "page_token",
    );
    for (request, field) in [
        (
            pb::ListEnrolmentsRequest {
                province_code: "99".into(),
                ..Default::default()
            },
            "province_code",
        ),
        (
            pb::ListEnrolmentsRequest {
                place_of_employment: "44".into(),
                ..Default::default()
            },
            "place_of_employment",
        ),
        (
            pb::ListEnrolmentsRequest {
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListEnrolmentsRequest {
                status: 42,
                ..Default::default()
            },
            "status",
        ),
    ] {
        assert_field_violation(&list(request, &meituan).await.expect_err(field), field);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_caller_cannot_see_enrolments_outside_its_tenancy() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let mut client = app.enrolment_client().await;
    let meituan = app.token("platform:meituan").await;
    let enrolment = enrol_at(&mut client, &meituan, 1, "440305").await;
    let get = pb::GetEnrolmentRequest {
        enrolment_id: enrolment.enrolment_id.clone(),
    };
    for role in ["platform:eleme", "province:11"] {
        let token = app.token(role).await;
        let status = client
            .get_enrolment(authed(get.clone(), &token))
            .await
            .expect_err(role);
        assert_eq!(
            status.code(),
            Code::NotFound,
            "{role} must not learn it exists"
        );
    }
    let missing = pb::GetEnrolmentRequest {
        enrolment_id: uuid::Uuid::now_v7().to_string(),
    };
    assert_eq!(
        client
            .get_enrolment(authed(missing, &meituan))
            .await
            .expect_err("missing")
            .code(),
        Code::NotFound
    );
    let malformed = pb::GetEnrolmentRequest {
        enrolment_id: "nope".into(),
    };
    assert_field_violation(
        &client
            .get_enrolment(authed(malformed, &meituan))
            .await
            .expect_err("malformed"),
        "enrolment_id",
    );
    app.stop().await;
}

/// Issue 12: what is not canonical is refused by name and stores nothing; nothing is trimmed.
#[tokio::test]
async fn non_canonical_worker_fields_are_refused_by_name_and_store_nothing() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;
    type Change = fn(&mut pb::EnrolWorkerRequest);
    let cases: Vec<(&str, &str, Change)> = vec![
        ("leading space in the ID number", "worker.id_number", |r| {
            r.worker.as_mut().expect("worker").id_number = format!(" {STANDARD_ID}")
        }),
        ("trailing space in the ID number", "worker.id_number", |r| {
            r.worker.as_mut().expect("worker").id_number = format!("{STANDARD_ID} ")
        }),
        ("leading space in the place", "place_of_employment", |r| {
            r.place_of_employment = " 440305".into()
        }),
        ("trailing space in the place", "place_of_employment", |r| {
            r.place_of_employment = "440305 ".into()
        }),
        ("+86 phone", "worker.phone", |r| {
            r.worker.as_mut().expect("worker").phone = "+8613812345678".into()
        }),
        ("spaced phone", "worker.phone", |r| {
            r.worker.as_mut().expect("worker").phone = "138 1234 5678".into()
        }),
        ("emoji name", "worker.name", |r| {
            r.worker.as_mut().expect("worker").name = "张三😀".into()
        }),
        ("right-to-left override", "worker.name", |r| {
            r.worker.as_mut().expect("worker").name = "张\u{202E}三".into()
        }),
        ("SQL in the name", "worker.name", |r| {
            r.worker.as_mut().expect("worker").name = "Robert'); DROP TABLE enrolments;--".into()
        }),
        ("double inner space", "worker.name", |r| {
            r.worker.as_mut().expect("worker").name = "Ann  Lee".into()
        }),
        ("padded name", "worker.name", |r| {
            r.worker.as_mut().expect("worker").name = " 张三".into()
        }),
        ("padded request id", "request_id", |r| {
            r.request_id = " r".into()
        }),
    ];
    for (what, field, change) in cases {
        let mut request = enrol_request("r", STANDARD_ID);
        change(&mut request);
        let status = client
            .enrol_worker(authed(request, &meituan))
            .await
            .expect_err(what);
        assert_field_violation(&status, field);
        for personal in ["1949", "Robert", "张", "DROP"] {
            assert!(
                !status.message().contains(personal),
                "{what}: the value is not echoed: {}",
                status.message()
            );
        }
    }
    for table in ["enrolments", "persons", "events", "idempotency_keys"] {
        assert_eq!(app.count(table).await, 0, "{table} untouched");
    }
    // The canonical forms of the same worker are taken.
    let mut good = enrol_request("ok", STANDARD_ID);
    good.worker.as_mut().expect("worker").name = "Ann Lee".into();
    client
        .enrol_worker(authed(good, &meituan))
        .await
        .expect("canonical");
    app.stop().await;
}

/// Ids the service issued are taken only as it writes them.
#[tokio::test]
async fn non_canonical_enrolment_ids_are_invalid_arguments() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut client = app.enrolment_client().await;
    let id = enrol_at(&mut client, &meituan, 1, "440305")
        .await
        .enrolment_id;
    for bad in [
        id.to_uppercase(),
        format!("{{{id}}}"),
        format!(" {id}"),
        format!("{id} "),
        id.replace('-', ""),
        format!("urn:uuid:{id}"),
    ] {
        let get = pb::GetEnrolmentRequest {
            enrolment_id: bad.clone(),
        };
        assert_field_violation(
            &client
                .get_enrolment(authed(get, &meituan))
                .await
                .expect_err(&bad),
            "enrolment_id",
        );
        let history = pb::GetEnrolmentHistoryRequest {
            enrolment_id: bad.clone(),
        };
        assert_field_violation(
            &client
                .get_enrolment_history(authed(history, &meituan))
                .await
                .expect_err(&bad),
            "enrolment_id",
        );
        let suspend = pb::SuspendEnrolmentRequest {
            request_id: "s".into(),
            enrolment_id: bad.clone(),
            effective_date: Some(date(2026, 6, 1)),
            reason: pb::ChangeReason::WorkerRequest as i32,
        };
        assert_field_violation(
            &client
                .suspend_enrolment(authed(suspend, &meituan))
                .await
                .expect_err(&bad),
            "enrolment_id",
        );
    }
    assert_eq!(app.count("enrolment_history").await, 1, "nothing changed");
    app.stop().await;
}

fn starting(request_id: &str, seq: u32, place: &str, day: pb::Date) -> pb::EnrolWorkerRequest {
    let mut request = enrol_request(request_id, &id_number("110105", "19900101", seq));
    request.place_of_employment = place.into();
    request.cover_start_date = Some(day);
    request
}

fn window(
    request_id: &str,
    province: &str,
    backdate: i32,
    ahead: Option<i32>,
) -> pb::SetBackdatingWindowRequest {
    pb::SetBackdatingWindowRequest {
        request_id: request_id.into(),
        province_code: province.into(),
        max_backdate_days: backdate,
        max_cover_start_days_ahead: ahead,
    }
}

/// A cover starts at most N days ahead of today (China Standard Time); N is data, 30 by default,
/// per province with a national default.
#[tokio::test]
async fn a_cover_start_beyond_the_window_is_refused_and_the_window_is_data() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let admin = app.token("national-admin").await;
    let mut client = app.enrolment_client().await;
    let mut admin_client = app.admin_client().await;

    // Today is 2026-06-15 in Beijing: 30 days ahead is 2026-07-15.
    for (n, day) in [(1, date(2026, 7, 16)), (2, date(2099, 12, 31))] {
        let status = client
            .enrol_worker(authed(
                starting(&format!("far-{n}"), n, "440305", day),
                &meituan,
            ))
            .await
            .expect_err("too far ahead");
        assert_field_violation(&status, "cover_start_date");
        assert!(status.message().contains("30 days"), "{}", status.message());
    }
    assert_eq!(app.count("enrolments").await, 0);
    client
        .enrol_worker(authed(
            starting("edge", 3, "440305", date(2026, 7, 15)),
            &meituan,
        ))
        .await
        .expect("exactly 30 days ahead");

    // Guangdong's own window: 90 days. Beijing keeps the national default.
    let set = admin_client
        .set_backdating_window(authed(window("w1", "44", 30, Some(90)), &admin))
        .await
        .expect("set")
        .into_inner();
    assert_eq!(
        set,
        pb::BackdatingWindow {
            province_code: "44".into(),
            max_backdate_days: 30,
            max_cover_start_days_ahead: 90,
        }
    );
    client
        .enrol_worker(authed(
            starting("gd-90", 4, "440305", date(2026, 9, 13)),
            &meituan,
        ))
        .await
        .expect("90 days ahead in Guangdong");
    let status = client
        .enrol_worker(authed(
            starting("bj-31", 5, "110105", date(2026, 7, 16)),
            &meituan,
        ))
        .await
        .expect_err("Beijing follows the national 30");
    assert!(status.message().contains("30 days"), "{}", status.message());

    // The national default moves every province without its own; Guangdong keeps 90, also when
    // only its backdating window is set again.
    let national = admin_client
        .set_backdating_window(authed(window("w2", "", 30, Some(5)), &admin))
        .await
        .expect("national")
        .into_inner();
    assert_eq!(national.max_cover_start_days_ahead, 5);
    assert_eq!(national.province_code, "");
    let status = client
        .enrol_worker(authed(
            starting("bj-6", 6, "110105", date(2026, 6, 21)),
            &meituan,
        ))
        .await
        .expect_err("6 days ahead is beyond 5");
    assert!(status.message().contains("5 days"), "{}", status.message());
    client
        .enrol_worker(authed(
            starting("bj-5", 7, "110105", date(2026, 6, 20)),
            &meituan,
        ))
        .await
        .expect("5 days ahead");
    let guangdong = admin_client
        .set_backdating_window(authed(window("w3", "44", 60, None), &admin))
        .await
        .expect("backdating only")
        .into_inner();
    assert_eq!(
        (
            guangdong.max_backdate_days,
            guangdong.max_cover_start_days_ahead
        ),
        (60, 90)
    );

    // Bounds, by name; only national admins set windows.
    for (request, field) in [
        (
            window("b1", "44", 30, Some(-1)),
            "max_cover_start_days_ahead",
        ),
        (
            window("b2", "44", 30, Some(3651)),
            "max_cover_start_days_ahead",
        ),
        (window("b3", " 44", 30, Some(10)), "province_code"),
    ] {
        assert_field_violation(
            &admin_client
                .set_backdating_window(authed(request, &admin))
                .await
                .expect_err(field),
            field,
        );
    }
    for role in ["auditor", "province:44", "platform:meituan"] {
        let token = app.token(role).await;
        let status = admin_client
            .set_backdating_window(authed(window("x", "44", 30, Some(1)), &token))
            .await
            .expect_err(role);
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
    }
    let ahead: Option<i32> = sqlx::query_scalar(
        "SELECT max_cover_start_days_ahead FROM enrolment_policy WHERE province_code = '44'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("row");
    assert_eq!(ahead, Some(90), "refusals changed nothing");
    app.stop().await;
}
