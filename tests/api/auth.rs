//! Authentication and authorisation failures; health and reflection stay open.
use crate::helpers::*;
use flexcover::pb;
use tonic::{Code, Request};

#[tokio::test]
async fn missing_unknown_and_forged_tokens_are_unauthenticated() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let mut client = app.enrolment_client().await;
    let status = client
        .list_enrolments(Request::new(pb::ListEnrolmentsRequest::default()))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);

    let real = app.token("platform:meituan").await;
    let forged = format!("{}{}", &real[..real.len() - 4], "AAAA");
    let unknown = format!("fc_{}_{}", "0".repeat(32), "x".repeat(43));
    for token in ["garbage", forged.as_str(), unknown.as_str(), ""] {
        let status = client
            .list_enrolments(authed(pb::ListEnrolmentsRequest::default(), token))
            .await
            .expect_err(token);
        assert_eq!(status.code(), Code::Unauthenticated, "{token}");
    }
    client
        .list_enrolments(authed(pb::ListEnrolmentsRequest::default(), &real))
        .await
        .expect("the real token works");
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let mut admin_client = app.admin_client().await;
    let created = admin_client
        .create_token(authed(
            pb::CreateTokenRequest {
                request_id: "t1".into(),
                role: "platform:meituan".into(),
                label: "backend".into(),
            },
            &admin,
        ))
        .await
        .expect("created")
        .into_inner();
    let mut client = app.enrolment_client().await;
    client
        .list_enrolments(authed(pb::ListEnrolmentsRequest::default(), &created.token))
        .await
        .expect("works before");

    let revoked = admin_client
        .revoke_token(authed(
            pb::RevokeTokenRequest {
                request_id: "rv1".into(),
                token_id: created.token_id.clone(),
            },
            &admin,
        ))
        .await
        .expect("revoked")
        .into_inner();
    assert!(revoked.token.expect("token info").revoked_at.is_some());
    let status = client
        .list_enrolments(authed(pb::ListEnrolmentsRequest::default(), &created.token))
        .await
        .expect_err("revoked");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("revoked"));
    app.stop().await;
}

#[tokio::test]
async fn roles_may_call_only_their_rpcs() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let mut enrolments = app.enrolment_client().await;
    let mut admin = app.admin_client().await;
    for role in ["province:44", "national-admin", "auditor"] {
        let token = app.token(role).await;
        let status = enrolments
            .enrol_worker(authed(enrol_request("r", STANDARD_ID), &token))
            .await
            .expect_err(role);
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{role} may not enrol"
        );
    }
    for role in ["platform:meituan", "province:44", "auditor"] {
        let token = app.token(role).await;
        let request = pb::CreateTokenRequest {
            request_id: "x".into(),
            role: "national-admin".into(),
            label: String::new(),
        };
        let status = admin
            .create_token(authed(request, &token))
            .await
            .expect_err(role);
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{role} may not create tokens"
        );
    }
    for role in ["platform:meituan", "province:44"] {
        let token = app.token(role).await;
        let status = admin
            .list_platforms(authed(pb::ListPlatformsRequest::default(), &token))
            .await
            .expect_err(role);
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{role} may not list platforms"
        );
    }
    let auditor = app.token("auditor").await;
    admin
        .list_platforms(authed(pb::ListPlatformsRequest::default(), &auditor))
        .await
        .expect("auditors read");
    admin
        .list_tokens(authed(pb::ListTokensRequest::default(), &auditor))
        .await
        .expect("auditors read tokens");
    assert_eq!(app.count("enrolments").await, 0);
    app.stop().await;
}

#[tokio::test]
async fn only_a_hash_of_each_token_is_stored() {
    let app = spawn_app().await;
    let token = app.token("national-admin").await;
    let secret = token.rsplit('_').next().expect("secret part");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT secret_hash FROM api_tokens")
        .fetch_all(&app.pool)
        .await
        .expect("rows");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 32, "SHA-256");
    let dump: String = sqlx::query_scalar("SELECT string_agg(t::text, ' ') FROM api_tokens t")
        .fetch_one(&app.pool)
        .await
        .expect("dump");
    assert!(!dump.contains(secret));
    app.stop().await;
}

#[tokio::test]
async fn health_and_reflection_need_no_token() {
    let app = spawn_app().await;
    let channel = app.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let response = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await;
    assert!(response.is_ok(), "{response:?}");
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(channel);
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_request::MessageRequest,
        server_reflection_response::MessageResponse,
    };
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection")
        .into_inner();
    let reply = stream.message().await.expect("reply").expect("one message");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("unexpected reply")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in [
        "flexcover.v1.EnrolmentService",
        "flexcover.v1.AdminService",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == service), "{service} in {names:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let app = spawn_app_with(flexcover::config::ServerSettings {
        max_message_bytes: 1024,
        health_interval_ms: 100,
        ..Default::default()
    })
    .await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let mut request = enrol_request("big", STANDARD_ID);
    request
        .worker
        .as_mut()
        .map(|w| w.name = "长".repeat(2000))
        .unwrap_or_default();
    let status = app
        .enrolment_client()
        .await
        .enrol_worker(authed(request, &meituan))
        .await
        .expect_err("too big");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(app.count("enrolments").await, 0);
    app.stop().await;
}

/// Two replicas on one database: a token revoked through one is refused by the other within a
/// second, though the other had it in memory (the default cache age is longer than that).
#[tokio::test]
async fn a_token_revoked_on_one_replica_is_refused_by_another_within_a_second() {
    let first = spawn_app().await;
    first.seed_pilot().await;
    let url = database_url(&admin_url(), &first.database);
    let second = spawn_app_on(&url, first.database.clone(), Default::default()).await;
    let admin = first.token("national-admin").await;
    let platform = first.token("platform:meituan").await;
    let mut on_second = second.enrolment_client().await;
    let list = || authed(pb::ListEnrolmentsRequest::default(), &platform);
    for _ in 0..3 {
        on_second
            .list_enrolments(list())
            .await
            .expect("in memory now");
    }
    let token_id = platform.split('_').nth(1).expect("token id").to_string();
    first
        .admin_client()
        .await
        .revoke_token(authed(
            pb::RevokeTokenRequest {
                request_id: "rv-replica".into(),
                token_id,
            },
            &admin,
        ))
        .await
        .expect("revoked on the first replica");
    let revoked_at = std::time::Instant::now();
    loop {
        match on_second.list_enrolments(list()).await {
            Err(status) if status.code() == Code::Unauthenticated => break,
            Err(status) => panic!("unexpected {status:?}"),
            Ok(_) => assert!(
                revoked_at.elapsed() < std::time::Duration::from_secs(1),
                "the second replica still accepted the revoked token after a second"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    second.stop().await;
    first.stop().await;
}
