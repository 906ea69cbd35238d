//! Canonical input only, through the wire: the examples of lenient input each answer
//! INVALID_ARGUMENT naming the field, and a message that does not even decode is the caller's
//! error, not INTERNAL.
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

/// GetStatementRequest as bytes: `period` (field 3) is sent as raw bytes, so it can be invalid
/// UTF-8, which a generated client cannot send.
#[derive(Clone, PartialEq, prost::Message)]
struct RawStatementRequest {
    #[prost(string, tag = "1")]
    province_code: String,
    #[prost(bytes = "vec", tag = "3")]
    period: Vec<u8>,
}

#[tokio::test]
async fn a_message_that_does_not_decode_is_invalid_argument_not_internal() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let token = app.token("platform:meituan").await;
    let mut grpc = tonic::client::Grpc::new(app.channel().await);
    grpc.ready().await.expect("ready");
    let request = RawStatementRequest {
        province_code: "44".into(),
        period: vec![b'2', b'0', 0xff, 0xfe, b'-', b'0', b'1'],
    };
    let status = grpc
        .unary::<_, pb::Statement, _>(
            authed(request, &token),
            http::uri::PathAndQuery::from_static("/flexcover.v1.ContributionService/GetStatement"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .expect_err("invalid UTF-8");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("does not decode"),
        "{}",
        status.message()
    );
    app.stop().await;
}

#[tokio::test]
async fn periods_roles_and_credit_codes_are_taken_exactly_as_written() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let admin = app.token("national-admin").await;
    let meituan = app.token("platform:meituan").await;
    let mut contributions = app.contribution_client().await;
    for period in ["2026-1", " 2026-01", "2026-01 ", "2026/01"] {
        let status = contributions
            .get_statement(authed(
                pb::GetStatementRequest {
                    province_code: "44".into(),
                    platform_id: String::new(),
                    period: period.into(),
                    as_of: None,
                },
                &meituan,
            ))
            .await
            .expect_err(period);
        assert_field_violation(&status, "period");
    }
    let mut admin_client = app.admin_client().await;
    for (n, role) in [
        "national-admin ",
        " auditor",
        "Province:44",
        "province:44\n",
    ]
    .into_iter()
    .enumerate()
    {
        let status = admin_client
            .create_token(authed(
                pb::CreateTokenRequest {
                    request_id: format!("role-{n}"),
                    role: role.into(),
                    label: String::new(),
                },
                &admin,
            ))
            .await
            .expect_err(role);
        assert_field_violation(&status, "role");
    }
    for (n, code) in [
        "9144030071526726xg",
        " 9144030071526726XG",
        "9144030071526726XG ",
    ]
    .into_iter()
    .enumerate()
    {
        let status = admin_client
            .register_platform(authed(
                pb::RegisterPlatformRequest {
                    request_id: format!("platform-{n}"),
                    platform_id: "tencent-run".into(),
                    name: "腾讯跑腿".into(),
                    credit_code: code.into(),
                    industries: vec![pb::Industry::InstantDelivery as i32],
                },
                &admin,
            ))
            .await
            .expect_err(code);
        assert_field_violation(&status, "credit_code");
    }
    assert_eq!(app.count("api_tokens").await, 2, "no token was issued");
    app.stop().await;
}
