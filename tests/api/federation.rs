//! FederationService and the sequencer: each province gets exactly its events, gapless and in
//! order, with a verifiable chain; a transaction held open is numbered once it commits, none
//! skipped; cursors resume and mismatches are refused; followers get new events live.
use crate::helpers::*;
use flexcover::domain::chain;
use flexcover::pb;
use flexcover::pb::federation_service_client::FederationServiceClient;
use std::time::Duration;
use tonic::Code;
use tonic::transport::Channel;

async fn federation(app: &TestApp) -> FederationServiceClient<Channel> {
    FederationServiceClient::new(app.channel().await)
}

async fn enrol(app: &TestApp, token: &str, request_id: &str, id: &str, place: &str) {
    let mut request = enrol_request(request_id, id);
    request.place_of_employment = place.into();
    app.enrolment_client()
        .await
        .enrol_worker(authed(request, token))
        .await
        .expect("enrolled");
}

async fn head(app: &TestApp, token: &str, province: &str) -> pb::Digest {
    federation(app)
        .await
        .get_digest(authed(
            pb::GetDigestRequest {
                province_code: province.into(),
                seq: 0,
            },
            token,
        ))
        .await
        .expect("digest")
        .into_inner()
}

/// Waits until the province's head reaches `seq` (the background sequencer runs every 100 ms).
async fn wait_for_head(app: &TestApp, token: &str, province: &str, seq: i64) -> pb::Digest {
    for _ in 0..100 {
        let digest = head(app, token, province).await;
        if digest.head_seq >= seq {
            return digest;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("province {province} never reached seq {seq}");
}

async fn stream(
    app: &TestApp,
    token: &str,
    request: pb::StreamEventsRequest,
) -> Result<Vec<pb::FederatedEvent>, tonic::Status> {
    let mut events = federation(app)
        .await
        .stream_events(authed(request, token))
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(event) = events.message().await? {
        out.push(event);
    }
    Ok(out)
}

fn from(province: &str, after_seq: i64, after_hash: &str) -> pb::StreamEventsRequest {
    pb::StreamEventsRequest {
        province_code: province.into(),
        after_seq,
        after_hash: after_hash.into(),
        follow: false,
    }
}

/// Recomputes the chain over received events, as a subscriber does.
fn verify_chain(events: &[pb::FederatedEvent], mut previous: Vec<u8>, first_seq: i64) -> Vec<u8> {
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event.seq, first_seq + n as i64, "gapless and in order");
        let id = uuid::Uuid::parse_str(&event.event_id).expect("event id");
        previous = chain::link(&previous, event.seq, id, &event.payload);
        assert_eq!(
            hex::encode(&previous),
            event.chain_hash,
            "seq {}",
            event.seq
        );
    }
    previous
}

#[tokio::test]
async fn each_province_streams_exactly_its_events_with_a_verifiable_chain() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let admin = app.token("national-admin").await;
    let guangdong = app.token("province:44").await;
    let beijing = app.token("province:11").await;
    enrol(&app, &meituan, "e1", STANDARD_ID, "440305").await;
    enrol(
        &app,
        &meituan,
        "e2",
        &id_number("440305", "19900315", 123),
        "440305",
    )
    .await;
    enrol(
        &app,
        &meituan,
        "e3",
        &id_number("110105", "19800101", 1),
        "110105",
    )
    .await;
    let digest = wait_for_head(&app, &admin, "44", 2).await;
    wait_for_head(&app, &admin, "11", 1).await;
    let events = stream(&app, &guangdong, from("44", 0, ""))
        .await
        .expect("stream");
    assert!(events.iter().all(|e| e.province_code == "44"));
    let enrolments = events
        .iter()
        .filter(|e| e.event_type == "enrolment.opened.v1")
        .count();
    assert_eq!(enrolments, 2, "Guangdong's two enrolments, not Beijing's");
    let last = verify_chain(&events, chain::GENESIS.to_vec(), 1);
    assert_eq!(events.len() as i64, digest.head_seq);
    assert_eq!(hex::encode(last), digest.head_hash);
    let denied = stream(&app, &beijing, from("44", 0, ""))
        .await
        .expect_err("not Beijing's");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let numbered: i64 = sqlx::query_scalar("SELECT count(*) FROM province_log")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(
        numbered,
        app.count("events").await,
        "every event numbered once"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_transaction_held_open_is_numbered_once_it_commits_and_none_is_skipped() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let admin = app.token("national-admin").await;
    enrol(&app, &meituan, "e1", STANDARD_ID, "440305").await;
    let before = wait_for_head(&app, &admin, "44", 1).await.head_seq;

    // A writer that started earlier and commits late.
    let mut held = app.pool.begin().await.expect("begin");
    let held_id = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO events (province_code, event_id, event_type, aggregate_id, payload, occurred_at)
         VALUES ('44', $1, 'test.held.v1', $1, '\\x01', now())",
    )
    .bind(held_id)
    .execute(&mut *held)
    .await
    .expect("held event");
    enrol(
        &app,
        &meituan,
        "e2",
        &id_number("440305", "19900315", 123),
        "440305",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        head(&app, &admin, "44").await.head_seq,
        before,
        "nothing after the open transaction is numbered while it is open"
    );
    held.commit().await.expect("commit late");
    let digest = wait_for_head(&app, &admin, "44", before + 2).await;
    assert_eq!(digest.head_seq, before + 2, "both, once");
    let events = stream(&app, &admin, from("44", 0, ""))
        .await
        .expect("stream");
    verify_chain(&events, chain::GENESIS.to_vec(), 1);
    let types: Vec<&str> = events[before as usize..]
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        ["test.held.v1", "enrolment.opened.v1"],
        "in transaction order"
    );
    app.stop().await;
}

#[tokio::test]
async fn cursors_resume_and_mismatches_are_refused() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let admin = app.token("national-admin").await;
    for n in 0..3 {
        enrol(
            &app,
            &meituan,
            &format!("e{n}"),
            &id_number("440305", "19900315", n),
            "440305",
        )
        .await;
    }
    wait_for_head(&app, &admin, "44", 3).await;
    let all = stream(&app, &admin, from("44", 0, "")).await.expect("all");
    // Cut after the first event, resume from there.
    let rest = stream(&app, &admin, from("44", 1, &all[0].chain_hash))
        .await
        .expect("resume");
    assert_eq!(rest, all[1..].to_vec(), "the rest, no gap, no duplicate");
    let mismatch = stream(&app, &admin, from("44", 1, &all[1].chain_hash))
        .await
        .expect_err("wrong hash");
    assert_eq!(mismatch.code(), Code::FailedPrecondition);
    // A cursor without its hash is not a divergence: it is an incomplete request.
    let no_hash = stream(&app, &admin, from("44", 1, ""))
        .await
        .expect_err("no hash");
    assert_field_violation(&no_hash, "after_hash");
    assert!(
        no_hash
            .message()
            .contains("after_hash is required with after_seq"),
        "{}",
        no_hash.message()
    );
    let uppercase = stream(
        &app,
        &admin,
        from("44", 1, &all[0].chain_hash.to_uppercase()),
    )
    .await
    .expect_err("not as the service writes it");
    assert_field_violation(&uppercase, "after_hash");
    let negative = stream(&app, &admin, from("44", -1, ""))
        .await
        .expect_err("negative");
    assert_field_violation(&negative, "after_seq");
    let auditor = app.token("auditor").await;
    let denied = stream(&app, &auditor, from("44", 0, ""))
        .await
        .expect_err("auditors do not follow provinces");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let beyond = stream(
        &app,
        &admin,
        from("44", all.len() as i64 + 1, &all[0].chain_hash),
    )
    .await
    .expect_err("beyond the head");
    assert_eq!(beyond.code(), Code::OutOfRange);
    // The digest at a seq equals the chain hash there; a corrupted copy does not.
    let at_two = federation(&app)
        .await
        .get_digest(authed(
            pb::GetDigestRequest {
                province_code: "44".into(),
                seq: 2,
            },
            &admin,
        ))
        .await
        .expect("digest")
        .into_inner();
    assert_eq!(at_two.chain_hash, all[1].chain_hash);
    let mut corrupted = all[..2].to_vec();
    corrupted[0].payload.push(0);
    let id = |e: &pb::FederatedEvent| uuid::Uuid::parse_str(&e.event_id).expect("id");
    let mut hash = chain::GENESIS.to_vec();
    for event in &corrupted {
        hash = chain::link(&hash, event.seq, id(event), &event.payload);
    }
    assert_ne!(hex::encode(hash), at_two.chain_hash, "the corruption shows");
    app.stop().await;
}

#[tokio::test]
async fn a_follower_receives_new_events_as_they_are_numbered() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let guangdong = app.token("province:44").await;
    let mut events = federation(&app)
        .await
        .stream_events(authed(
            pb::StreamEventsRequest {
                province_code: "44".into(),
                after_seq: 0,
                after_hash: String::new(),
                follow: true,
            },
            &guangdong,
        ))
        .await
        .expect("follow")
        .into_inner();
    enrol(&app, &meituan, "e1", STANDARD_ID, "440305").await;
    let event = tokio::time::timeout(Duration::from_secs(5), events.message())
        .await
        .expect("live within seconds")
        .expect("stream")
        .expect("an event");
    assert_eq!(
        (event.seq, event.event_type.as_str()),
        (1, "enrolment.opened.v1")
    );
    app.stop().await;
}

#[tokio::test]
async fn an_agency_resolves_a_person_key_from_its_events_and_the_lookup_is_logged() {
    use prost::Message;
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let guangdong = app.token("province:44").await;
    let beijing = app.token("province:11").await;
    enrol(&app, &meituan, "e1", STANDARD_ID, "440305").await;
    wait_for_head(&app, &guangdong, "44", 1).await;
    let events = stream(&app, &guangdong, from("44", 0, ""))
        .await
        .expect("stream");
    let opened = events
        .iter()
        .find(|e| e.event_type == "enrolment.opened.v1")
        .expect("opened");
    let payload = pb::EnrolmentOpenedV1::decode(opened.payload.as_slice()).expect("payload");
    assert_eq!(payload.id_number_masked, "110105********002X");
    assert!(!String::from_utf8_lossy(&opened.payload).contains(STANDARD_ID));
    let resolve = |province: &str| pb::ResolvePersonRequest {
        province_code: province.into(),
        person_key: payload.person_key.clone(),
    };
    let resolved = federation(&app)
        .await
        .resolve_person(authed(resolve("44"), &guangdong))
        .await
        .expect("resolved")
        .into_inner();
    assert_eq!(resolved.id_number, STANDARD_ID);
    let elsewhere = federation(&app)
        .await
        .resolve_person(authed(resolve("11"), &beijing))
        .await
        .expect_err("no records in Beijing");
    assert_eq!(elsewhere.code(), Code::NotFound);
    let unknown = federation(&app)
        .await
        .resolve_person(authed(
            pb::ResolvePersonRequest {
                province_code: "11".into(),
                person_key: "0".repeat(64),
            },
            &beijing,
        ))
        .await
        .expect_err("nobody");
    assert_eq!(
        (unknown.code(), unknown.message()),
        (elsewhere.code(), elsewhere.message()),
        "a person elsewhere is answered as nobody"
    );
    let not_theirs = federation(&app)
        .await
        .resolve_person(authed(resolve("11"), &guangdong))
        .await
        .expect_err("another province's agency");
    assert_eq!(not_theirs.code(), Code::PermissionDenied);
    let uppercase = federation(&app)
        .await
        .resolve_person(authed(
            pb::ResolvePersonRequest {
                province_code: "44".into(),
                person_key: payload.person_key.to_uppercase(),
            },
            &guangdong,
        ))
        .await
        .expect_err("not as in the events");
    assert_field_violation(&uppercase, "person_key");
    // A national admin resolves through any province: the person is seen through Guangdong.
    let admin = app.token("national-admin").await;
    let by_admin = federation(&app)
        .await
        .resolve_person(authed(resolve("11"), &admin))
        .await
        .expect("national admin")
        .into_inner();
    assert_eq!(by_admin.id_number_masked, "110105********002X");
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM person_access_log WHERE rpc = 'ResolvePerson' AND actor = 'province:44'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("log");
    assert_eq!(logged, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_backlog_of_several_pages_arrives_whole_and_in_order_from_any_cursor() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let guangdong = app.token("province:44").await;
    // More events than a few of the pages read at once, written as one burst.
    let backlog: i64 = 9_357;
    sqlx::query(
        "INSERT INTO events (province_code, event_id, event_type, aggregate_id, payload, occurred_at)
         SELECT '44', id, 'test.backlog.v1', id, convert_to(id::text, 'UTF8'), now()
         FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $1)) t",
    )
    .bind(backlog)
    .execute(&app.pool)
    .await
    .expect("backlog");
    let digest = wait_for_head(&app, &guangdong, "44", backlog).await;

    let all = stream(&app, &guangdong, from("44", 0, ""))
        .await
        .expect("from the start");
    assert_eq!(all.len() as i64, digest.head_seq);
    let head = verify_chain(&all, chain::GENESIS.to_vec(), 1);
    assert_eq!(hex::encode(head), digest.head_hash);

    // A cursor inside a page: the rest arrives from the next seq, identical to the first copy.
    let cursor = &all[2_998];
    let rest = stream(&app, &guangdong, from("44", cursor.seq, &cursor.chain_hash))
        .await
        .expect("from a cursor");
    assert_eq!(rest.len(), all.len() - 2_999);
    let mut previous = hex::decode(&cursor.chain_hash).expect("hex");
    previous = verify_chain(&rest, previous, cursor.seq + 1);
    assert_eq!(hex::encode(previous), digest.head_hash);
    assert_eq!(
        rest.first().map(|e| &e.event_id),
        Some(&all[2_999].event_id)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_sequencer_pass_is_bounded_in_transaction_order_across_a_power_of_ten() {
    let app = spawn_app().await;
    // Five writer transactions of three events each whose ids cross 9,999,999,999 → 10^10 (far
    // above any real id, so the running sequencer never reaches them). In text order "10000000000"
    // sorts before "9999999998": a pass bound computed that way numbered 248,000 events at once
    // in a benchmark instead of 10,000.
    let xids = [
        9_999_999_998_i64,
        9_999_999_999,
        10_000_000_000,
        10_000_000_001,
        10_000_000_002,
    ];
    sqlx::query(
        "INSERT INTO events (province_code, event_id, event_type, aggregate_id, payload, occurred_at, writer_xid)
         SELECT '44', id, 'test.bound.v1', id, '\\x00', now(), x::text::xid8
         FROM (SELECT gen_random_uuid() AS id, x FROM UNNEST($1::bigint[]) AS x, generate_series(1, 3)) t",
    )
    .bind(xids.as_slice())
    .execute(&app.pool)
    .await
    .expect("events");
    let mut tx = flexcover::store::Tx::new(app.pool.begin().await.expect("tx"));
    for (max_events, upper, why) in [
        (6, "10000000000", "six events: the first two transactions"),
        (
            2,
            "9999999999",
            "fewer than a transaction: still the whole first one",
        ),
        (100, "10000000003", "more than there are: up to the horizon"),
    ] {
        let bound = flexcover::store::federation::pass_bound(
            &mut tx,
            "9999999998",
            "10000000003",
            max_events,
        )
        .await
        .expect("bound");
        assert_eq!(bound, upper, "{why}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_follower_cut_by_shutdown_sees_unavailable_not_an_end() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let admin = app.token("national-admin").await;
    enrol(&app, &meituan, "cut-1", STANDARD_ID, "440305").await;
    wait_for_head(&app, &admin, "44", 1).await;
    let mut events = federation(&app)
        .await
        .stream_events(authed(
            pb::StreamEventsRequest {
                province_code: "44".into(),
                after_seq: 0,
                after_hash: String::new(),
                follow: true,
            },
            &admin,
        ))
        .await
        .expect("stream")
        .into_inner();
    events
        .message()
        .await
        .expect("first event")
        .expect("an event");
    let stopping = tokio::spawn(app.stop());
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the stream ends with the shutdown");
    let status = ended.expect_err("a cut, not an end");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    stopping.await.expect("stopped");
}
