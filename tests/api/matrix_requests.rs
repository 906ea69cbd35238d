//! The matrix's table: one entry per RPC (or per way of calling it: by id or by ID number, per
//! applicant, per payer), saying how its target is owned, who may do it, what a target names and
//! how the call is made.
use crate::helpers::*;
use crate::matrix::{
    ADMIN, ADMIN_AND_AGENCY, AGENCY, AGENCY_AND_PLATFORM, Boxed, CallFn, Caller, EVERYONE, Entry,
    NATIONAL_READERS, Outcome, PLATFORM, READERS, Shape, Subject, SubjectFn, Target,
};
use crate::matrix_fixtures::{ClaimState, Ctx, Tenant, assessment, today};
use flexcover::pb;
use tonic::{Code, Response, Status, Streaming};

macro_rules! subject {
    (|$cx:ident, $rpc:ident, $target:ident, $fresh:ident| $body:expr) => {{
        fn subject<'a>(
            $cx: &'a Ctx,
            $rpc: &'static str,
            $target: Target,
            $fresh: bool,
        ) -> Boxed<'a, Subject> {
            Box::pin(async move { $body })
        }
        subject as SubjectFn
    }};
}

macro_rules! call {
    (|$cx:ident, $who:ident, $s:ident| $body:expr) => {{
        fn call<'a>($cx: &'a Ctx, $who: Caller, $s: &'a Subject) -> Boxed<'a, Outcome> {
            Box::pin(async move { $body })
        }
        call as CallFn
    }};
}

fn unary<T>(result: Result<Response<T>, Status>) -> Outcome {
    showing(result, |_| Vec::new())
}

/// The outcome, with the owners (province, platform) of the records the answer shows.
fn showing<T>(
    result: Result<Response<T>, Status>,
    shown: impl FnOnce(&T) -> Vec<(String, String)>,
) -> Outcome {
    match result {
        Ok(response) => Outcome {
            shown: shown(response.get_ref()),
            ..Outcome::ok()
        },
        Err(status) => Outcome::status(&status),
    }
}

/// A stream's first item (or end, or error); `refusal` reads a per-item error.
async fn first_item<T>(
    result: Result<Response<Streaming<T>>, Status>,
    refusal: impl FnOnce(&T) -> Option<Outcome>,
) -> Outcome {
    let mut stream = match result {
        Ok(response) => response.into_inner(),
        Err(status) => return Outcome::status(&status),
    };
    match stream.message().await {
        Ok(Some(item)) => refusal(&item).unwrap_or_else(Outcome::ok),
        Ok(None) => Outcome::ok(),
        Err(status) => Outcome::status(&status),
    }
}

fn item_error(code: i32, message: &str) -> Outcome {
    Outcome {
        code: Code::from(code),
        message: message.to_owned(),
        shown: Vec::new(),
    }
}

fn subject_of(target: Target, tenant: &'static Tenant, id: String, extra: String) -> Subject {
    Subject {
        target,
        tenant,
        id,
        extra,
    }
}

fn random(target: Target) -> Subject {
    subject_of(
        target,
        Tenant::of(target),
        uuid::Uuid::new_v4().to_string(),
        String::new(),
    )
}

/// Scopes, listings and creations: the target's tenant only.
fn tenant() -> SubjectFn {
    subject!(|_cx, _rpc, target, _fresh| subject_of(
        target,
        Tenant::of(target),
        String::new(),
        String::new()
    ))
}

/// An enrolment: id, and the person's ID number in `extra`.
fn enrolment() -> SubjectFn {
    subject!(|cx, rpc, target, fresh| {
        if target == Target::Random {
            return random(target);
        }
        let found = cx.enrolment(rpc, target, fresh).await;
        subject_of(
            target,
            Tenant::of(target),
            found[0].clone(),
            found[1].clone(),
        )
    })
}

fn suspended_enrolment() -> SubjectFn {
    subject!(|cx, rpc, target, fresh| {
        if target == Target::Random {
            return random(target);
        }
        let found = cx.suspended_enrolment(rpc, target, fresh).await;
        subject_of(
            target,
            Tenant::of(target),
            found[0].clone(),
            found[1].clone(),
        )
    })
}

/// A person enrolled by the target's platform, by ID number (random: never enrolled).
fn person() -> SubjectFn {
    subject!(|cx, rpc, target, _fresh| {
        let id = if target == Target::Random {
            cx.new_id()
        } else {
            cx.enrolment(rpc, target, false).await[1].clone()
        };
        subject_of(target, Tenant::of(target), id, String::new())
    })
}

/// A declaration (province, platform, period in `extra`); random: a month nobody declared.
fn declaration() -> SubjectFn {
    subject!(|_cx, _rpc, target, _fresh| match target {
        Target::Random => subject_of(target, &Tenant::OTHER, String::new(), "2026-04".into()),
        _ => subject_of(target, Tenant::of(target), String::new(), "2026-05".into()),
    })
}

/// A pension enrolment: id, and the person's ID number in `extra`.
fn pension() -> SubjectFn {
    subject!(|cx, rpc, target, fresh| {
        if target == Target::Random {
            return random(target);
        }
        let found = cx.pension(rpc, target, fresh).await;
        subject_of(
            target,
            Tenant::of(target),
            found[0].clone(),
            found[1].clone(),
        )
    })
}

/// A person with a pension enrolment, by ID number (random: none).
fn pension_person() -> SubjectFn {
    subject!(|cx, rpc, target, _fresh| {
        let id = if target == Target::Random {
            cx.new_id()
        } else {
            cx.pension(rpc, target, false).await[1].clone()
        };
        subject_of(target, Tenant::of(target), id, String::new())
    })
}

macro_rules! claim_in {
    ($state:expr) => {
        subject!(|cx, rpc, target, fresh| {
            if target == Target::Random {
                // A random claim id, with a benefit item kind the service knows.
                let item = cx
                    .claim(rpc, Target::Own, false, ClaimState::Assessed)
                    .await[1]
                    .clone();
                return Subject {
                    extra: item,
                    ..random(target)
                };
            }
            let found = cx.claim(rpc, target, fresh, $state).await;
            subject_of(
                target,
                Tenant::of(target),
                found[0].clone(),
                found[1].clone(),
            )
        })
    };
}

/// A person key: of a person with records in the target's province (random: a random key in
/// province 44).
fn person_key() -> SubjectFn {
    subject!(|cx, rpc, target, _fresh| match target {
        Target::Random => subject_of(
            target,
            &Tenant::OWN,
            hex::encode(uuid::Uuid::new_v4().as_bytes()).repeat(2),
            String::new()
        ),
        _ => subject_of(
            target,
            Tenant::of(target),
            cx.person_key(rpc, target).await,
            String::new()
        ),
    })
}

fn token() -> SubjectFn {
    subject!(|cx, rpc, target, fresh| {
        let found = cx.token_id(rpc, target, fresh).await;
        subject_of(target, Tenant::of(target), found[0].clone(), String::new())
    })
}

fn enrolment_owner(e: &pb::Enrolment) -> (String, String) {
    (e.province_code.clone(), e.platform_id.clone())
}

fn filter(s: &Subject) -> (String, String) {
    match s.target {
        Target::Random => (String::new(), String::new()),
        _ => (s.tenant.province.into(), s.tenant.platform.into()),
    }
}

/// The place a pension moves to: the other side's.
fn elsewhere(s: &Subject) -> &'static str {
    if s.tenant.province == Tenant::OTHER.province {
        Tenant::OWN.place
    } else {
        Tenant::OTHER.place
    }
}

fn industry_of(target: Target) -> pb::Industry {
    match target {
        Target::Own => pb::Industry::InstantDelivery,
        Target::Other => pb::Industry::RideHailing,
        Target::Random => pb::Industry::SameCityFreight,
    }
}

fn target_number(target: Target) -> i32 {
    match target {
        Target::Own => 1,
        Target::Other => 2,
        Target::Random => 3,
    }
}

fn credit_code(target: Target) -> String {
    let first17 = format!("91110108MA000000{}", target_number(target));
    let check =
        flexcover::domain::credit_code::check_character(first17.as_bytes()).expect("alphabet");
    format!("{first17}{check}")
}

fn enrolment_entries() -> Vec<Entry> {
    let record = Shape::Record {
        platforms_see: true,
    };
    vec![
        Entry {
            rpc: "EnrolWorker",
            mutating: true,
            shape: Shape::ForItself,
            allowed: PLATFORM,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let mut request = enrol_request(&cx.rid(), &cx.new_id());
                request.place_of_employment = s.tenant.place.into();
                unary(cx.enrolments().enrol_worker(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "BatchEnrolWorkers",
            mutating: true,
            shape: Shape::ForItself,
            allowed: PLATFORM,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let mut request = enrol_request(&cx.rid(), &cx.new_id());
                request.place_of_employment = s.tenant.place.into();
                let items = tokio_stream::iter(vec![request]);
                let result = cx
                    .enrolments()
                    .batch_enrol_workers(cx.req(who, items))
                    .await;
                first_item(result, |item| match &item.outcome {
                    Some(pb::batch_enrol_result::Outcome::Error(status)) => {
                        Some(item_error(status.code, &status.message))
                    }
                    _ => None,
                })
                .await
            }),
        },
        Entry {
            rpc: "GetEnrolment",
            mutating: false,
            shape: record,
            allowed: EVERYONE,
            subject: enrolment(),
            call: call!(|cx, who, s| {
                let request = pb::GetEnrolmentRequest {
                    enrolment_id: s.id.clone(),
                };
                unary(cx.enrolments().get_enrolment(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "ListEnrolments",
            mutating: false,
            shape: Shape::Listing,
            allowed: EVERYONE,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let (province_code, platform_id) = filter(s);
                let request = pb::ListEnrolmentsRequest {
                    province_code,
                    platform_id,
                    ..Default::default()
                };
                showing(
                    cx.enrolments().list_enrolments(cx.req(who, request)).await,
                    |list| list.enrolments.iter().map(enrolment_owner).collect(),
                )
            }),
        },
        Entry {
            rpc: "TransferEnrolment",
            mutating: true,
            shape: record,
            allowed: PLATFORM,
            subject: enrolment(),
            call: call!(|cx, who, s| {
                let request = pb::TransferEnrolmentRequest {
                    request_id: cx.rid(),
                    enrolment_id: s.id.clone(),
                    new_place_of_employment: s.tenant.second_place.into(),
                    effective_date: Some(today()),
                    reason: pb::ChangeReason::Moved as i32,
                };
                unary(
                    cx.enrolments()
                        .transfer_enrolment(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "SuspendEnrolment",
            mutating: true,
            shape: record,
            allowed: PLATFORM,
            subject: enrolment(),
            call: call!(|cx, who, s| {
                let request = pb::SuspendEnrolmentRequest {
                    request_id: cx.rid(),
                    enrolment_id: s.id.clone(),
                    effective_date: Some(today()),
                    reason: pb::ChangeReason::WorkerRequest as i32,
                };
                unary(
                    cx.enrolments()
                        .suspend_enrolment(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "ResumeEnrolment",
            mutating: true,
            shape: record,
            allowed: PLATFORM,
            subject: suspended_enrolment(),
            call: call!(|cx, who, s| {
                let request = pb::ResumeEnrolmentRequest {
                    request_id: cx.rid(),
                    enrolment_id: s.id.clone(),
                    effective_date: Some(today()),
                    reason: pb::ChangeReason::WorkerRequest as i32,
                };
                unary(cx.enrolments().resume_enrolment(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "TerminateEnrolment",
            mutating: true,
            shape: record,
            allowed: PLATFORM,
            subject: enrolment(),
            call: call!(|cx, who, s| {
                let request = pb::TerminateEnrolmentRequest {
                    request_id: cx.rid(),
                    enrolment_id: s.id.clone(),
                    effective_date: Some(today()),
                    reason: pb::ChangeReason::LeftPlatform as i32,
                };
                unary(
                    cx.enrolments()
                        .terminate_enrolment(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "GetEnrolmentHistory",
            mutating: false,
            shape: record,
            allowed: EVERYONE,
            subject: enrolment(),
            call: call!(|cx, who, s| {
                let request = pb::GetEnrolmentHistoryRequest {
                    enrolment_id: s.id.clone(),
                };
                unary(
                    cx.enrolments()
                        .get_enrolment_history(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "FindEnrolmentsByIdNumber",
            mutating: false,
            shape: Shape::Narrowed,
            allowed: EVERYONE,
            subject: person(),
            call: call!(|cx, who, s| {
                let request = pb::FindEnrolmentsByIdNumberRequest {
                    id_number: s.id.clone(),
                };
                showing(
                    cx.enrolments()
                        .find_enrolments_by_id_number(cx.req(who, request))
                        .await,
                    |found| found.enrolments.iter().map(enrolment_owner).collect(),
                )
            }),
        },
    ]
}

fn order(s: &Subject, order_id: String, worker: pb::order_record::Worker) -> pb::OrderRecord {
    pb::OrderRecord {
        order_id,
        worker: Some(worker),
        place_of_employment: s.tenant.place.into(),
        industry: pb::Industry::InstantDelivery as i32,
        accepted_at: Some(at("2026-06-14T02:00:00Z")),
        completed_at: Some(at("2026-06-14T02:30:00Z")),
    }
}

async fn record_orders(cx: &Ctx, who: Caller, order: pb::OrderRecord) -> Outcome {
    let items = tokio_stream::iter(vec![order]);
    let result = cx.contributions().record_orders(cx.req(who, items)).await;
    first_item(result, |item| match &item.outcome {
        Some(pb::record_orders_result::Outcome::Error(status)) => {
            Some(item_error(status.code, &status.message))
        }
        _ => None,
    })
    .await
}

fn contribution_entries() -> Vec<Entry> {
    let record = Shape::Record {
        platforms_see: true,
    };
    let pension_record = Shape::Record {
        platforms_see: false,
    };
    vec![
        Entry {
            rpc: "GetRate",
            mutating: false,
            shape: Shape::Scope { by_platform: true },
            allowed: EVERYONE,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let request = pb::GetRateRequest {
                    province_code: s.tenant.province.into(),
                    platform_id: s.tenant.platform.into(),
                    industry: pb::Industry::InstantDelivery as i32,
                    at: None,
                };
                unary(cx.contributions().get_rate(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "RecordOrders (by ID number)",
            mutating: true,
            shape: Shape::ForItself,
            allowed: PLATFORM,
            subject: person(),
            call: call!(|cx, who, s| {
                let worker = pb::order_record::Worker::IdNumber(s.id.clone());
                record_orders(cx, who, order(s, cx.rid(), worker)).await
            }),
        },
        Entry {
            rpc: "RecordOrders (by enrolment id)",
            mutating: true,
            shape: Shape::ForItselfAbout,
            allowed: PLATFORM,
            subject: enrolment(),
            call: call!(|cx, who, s| {
                let worker = pb::order_record::Worker::EnrolmentId(s.id.clone());
                record_orders(cx, who, order(s, cx.rid(), worker)).await
            }),
        },
        Entry {
            rpc: "CheckCoverage (by enrolment id)",
            mutating: false,
            shape: record,
            allowed: EVERYONE,
            subject: enrolment(),
            call: call!(|cx, who, s| {
                let request = pb::CheckCoverageRequest {
                    worker: Some(pb::check_coverage_request::Worker::EnrolmentId(
                        s.id.clone(),
                    )),
                    platform_id: String::new(),
                    at: None,
                };
                showing(
                    cx.contributions()
                        .check_coverage(cx.req(who, request))
                        .await,
                    |answer| answer.enrolment.iter().map(enrolment_owner).collect(),
                )
            }),
        },
        Entry {
            rpc: "CheckCoverage (by ID number)",
            mutating: false,
            shape: Shape::Narrowed,
            allowed: EVERYONE,
            subject: person(),
            call: call!(|cx, who, s| {
                let request = pb::CheckCoverageRequest {
                    worker: Some(pb::check_coverage_request::Worker::IdNumber(s.id.clone())),
                    platform_id: String::new(),
                    at: None,
                };
                showing(
                    cx.contributions()
                        .check_coverage(cx.req(who, request))
                        .await,
                    |answer| answer.enrolment.iter().map(enrolment_owner).collect(),
                )
            }),
        },
        Entry {
            rpc: "DeclareContributions",
            mutating: true,
            shape: Shape::ForItself,
            allowed: PLATFORM,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let request = cx.declaration_request(s.tenant.province);
                unary(
                    cx.contributions()
                        .declare_contributions(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "GetDeclaration",
            mutating: false,
            shape: record,
            allowed: EVERYONE,
            subject: declaration(),
            call: call!(|cx, who, s| {
                let request = pb::GetDeclarationRequest {
                    province_code: s.tenant.province.into(),
                    platform_id: s.tenant.platform.into(),
                    period: s.extra.clone(),
                    version: None,
                };
                unary(
                    cx.contributions()
                        .get_declaration(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "GetStatement",
            mutating: false,
            shape: record,
            allowed: EVERYONE,
            subject: declaration(),
            call: call!(|cx, who, s| {
                let request = pb::GetStatementRequest {
                    province_code: s.tenant.province.into(),
                    platform_id: s.tenant.platform.into(),
                    period: s.extra.clone(),
                    as_of: None,
                };
                unary(cx.contributions().get_statement(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "RecordPayment",
            mutating: true,
            shape: record,
            allowed: ADMIN_AND_AGENCY,
            subject: declaration(),
            call: call!(|cx, who, s| {
                let request = pb::RecordPaymentRequest {
                    request_id: cx.rid(),
                    province_code: s.tenant.province.into(),
                    platform_id: s.tenant.platform.into(),
                    period: s.extra.clone(),
                    amount_fen: 100,
                    paid_on: Some(today()),
                };
                unary(
                    cx.contributions()
                        .record_payment(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "ListArrears",
            mutating: false,
            shape: Shape::Scope { by_platform: false },
            allowed: READERS,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let request = pb::ListArrearsRequest {
                    province_code: s.tenant.province.into(),
                    as_of: Some(today()),
                    page_size: 10,
                    page_token: String::new(),
                };
                showing(
                    cx.contributions().list_arrears(cx.req(who, request)).await,
                    |list| {
                        list.arrears
                            .iter()
                            .map(|a| (a.province_code.clone(), a.platform_id.clone()))
                            // Arrears are the province's: platforms do not list them.
                            .map(|(province, _)| (province, String::new()))
                            .collect()
                    },
                )
            }),
        },
        Entry {
            rpc: "EnrolPension",
            mutating: true,
            shape: Shape::Scope { by_platform: false },
            allowed: ADMIN_AND_AGENCY,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let request = pb::EnrolPensionRequest {
                    request_id: cx.rid(),
                    id_number: cx.new_id(),
                    place_of_employment: s.tenant.place.into(),
                    monthly_base_fen: 600_000,
                };
                unary(cx.contributions().enrol_pension(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "TransferPension",
            mutating: true,
            shape: pension_record,
            allowed: ADMIN_AND_AGENCY,
            subject: pension(),
            call: call!(|cx, who, s| {
                let request = pb::TransferPensionRequest {
                    request_id: cx.rid(),
                    pension_id: s.id.clone(),
                    new_place_of_employment: elsewhere(s).into(),
                    monthly_base_fen: None,
                };
                unary(
                    cx.contributions()
                        .transfer_pension(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "DeclarePensionContribution",
            mutating: true,
            shape: pension_record,
            allowed: ADMIN_AND_AGENCY,
            subject: pension(),
            call: call!(|cx, who, s| {
                let request = pb::DeclarePensionContributionRequest {
                    request_id: cx.rid(),
                    pension_id: s.id.clone(),
                    year: 2026,
                    first_month: 6,
                    frequency: pb::PaymentFrequency::Monthly as i32,
                };
                unary(
                    cx.contributions()
                        .declare_pension_contribution(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "GetPensionAccount (by pension id)",
            mutating: false,
            shape: pension_record,
            allowed: READERS,
            subject: pension(),
            call: call!(|cx, who, s| {
                let request = pb::GetPensionAccountRequest {
                    worker: Some(pb::get_pension_account_request::Worker::PensionId(
                        s.id.clone(),
                    )),
                };
                unary(
                    cx.contributions()
                        .get_pension_account(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "GetPensionAccount (by ID number)",
            mutating: false,
            shape: pension_record,
            allowed: READERS,
            subject: pension_person(),
            call: call!(|cx, who, s| {
                let request = pb::GetPensionAccountRequest {
                    worker: Some(pb::get_pension_account_request::Worker::IdNumber(
                        s.id.clone(),
                    )),
                };
                unary(
                    cx.contributions()
                        .get_pension_account(cx.req(who, request))
                        .await,
                )
            }),
        },
    ]
}

fn report(
    cx: &Ctx,
    s: &Subject,
    worker: pb::report_incident_request::Worker,
) -> pb::ReportIncidentRequest {
    pb::ReportIncidentRequest {
        request_id: cx.rid(),
        worker: Some(worker),
        order_id: format!("order-{}", cx.rid()),
        occurred_at: Some(at("2026-06-14T02:10:00Z")),
        place_code: s.tenant.place.into(),
        description: "slipped on a wet staircase while delivering".into(),
        kind: pb::IncidentKind::Injury as i32,
    }
}

fn apply(cx: &Ctx, s: &Subject, applicant: pb::Applicant) -> pb::ApplyForConfirmationRequest {
    pb::ApplyForConfirmationRequest {
        request_id: cx.rid(),
        claim_id: s.id.clone(),
        applicant: applicant as i32,
        late_explanation: String::new(),
    }
}

/// `kind` is a `pb::BenefitKind` number, written out (the subject keeps it as text).
fn pay(cx: &Ctx, s: &Subject, kind: &str) -> pb::RecordBenefitPaymentRequest {
    pb::RecordBenefitPaymentRequest {
        request_id: cx.rid(),
        claim_id: s.id.clone(),
        kind: kind.parse().unwrap_or_default(),
        amount_fen: 100,
        paid_on: Some(today()),
        ..Default::default()
    }
}

fn claim_entries() -> Vec<Entry> {
    let record = Shape::Record {
        platforms_see: true,
    };
    vec![
        Entry {
            rpc: "ReportIncident (by ID number)",
            mutating: true,
            shape: Shape::ForItself,
            allowed: PLATFORM,
            subject: person(),
            call: call!(|cx, who, s| {
                let worker = pb::report_incident_request::Worker::IdNumber(s.id.clone());
                unary(
                    cx.claims()
                        .report_incident(cx.req(who, report(cx, s, worker)))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "ReportIncident (by enrolment id)",
            mutating: true,
            shape: Shape::ForItselfAbout,
            allowed: PLATFORM,
            subject: enrolment(),
            call: call!(|cx, who, s| {
                let worker = pb::report_incident_request::Worker::EnrolmentId(s.id.clone());
                unary(
                    cx.claims()
                        .report_incident(cx.req(who, report(cx, s, worker)))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "ApplyForConfirmation (APPLICANT_PLATFORM)",
            mutating: true,
            shape: record,
            allowed: PLATFORM,
            subject: claim_in!(ClaimState::Reported),
            call: call!(|cx, who, s| {
                let request = apply(cx, s, pb::Applicant::Platform);
                unary(
                    cx.claims()
                        .apply_for_confirmation(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "ApplyForConfirmation (APPLICANT_WORKER)",
            mutating: true,
            shape: record,
            allowed: AGENCY,
            subject: claim_in!(ClaimState::Reported),
            call: call!(|cx, who, s| {
                let request = apply(cx, s, pb::Applicant::Worker);
                unary(
                    cx.claims()
                        .apply_for_confirmation(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "ApplyForConfirmation (APPLICANT_RELATIVE)",
            mutating: true,
            shape: record,
            allowed: AGENCY,
            subject: claim_in!(ClaimState::Reported),
            call: call!(|cx, who, s| {
                let request = apply(cx, s, pb::Applicant::Relative);
                unary(
                    cx.claims()
                        .apply_for_confirmation(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "DecideConfirmation",
            mutating: true,
            shape: record,
            allowed: AGENCY,
            subject: claim_in!(ClaimState::Applied),
            call: call!(|cx, who, s| {
                let request = pb::DecideConfirmationRequest {
                    request_id: cx.rid(),
                    claim_id: s.id.clone(),
                    confirmed: true,
                    reasons: "injured on an order".into(),
                };
                unary(cx.claims().decide_confirmation(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "RecordAppraisal",
            mutating: true,
            shape: record,
            allowed: AGENCY,
            subject: claim_in!(ClaimState::Confirmed),
            call: call!(|cx, who, s| {
                let request = pb::RecordAppraisalRequest {
                    request_id: cx.rid(),
                    claim_id: s.id.clone(),
                    grade: Some(8),
                };
                unary(cx.claims().record_appraisal(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "AssessBenefits",
            mutating: true,
            shape: record,
            allowed: AGENCY,
            subject: claim_in!(ClaimState::Appraised),
            call: call!(|cx, who, s| {
                let request = assessment(&s.id, cx.rid());
                unary(cx.claims().assess_benefits(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "RecordBenefitPayment (medical: the fund pays)",
            mutating: true,
            shape: record,
            allowed: AGENCY,
            subject: claim_in!(ClaimState::Assessed),
            call: call!(|cx, who, s| {
                let request = pay(cx, s, &(pb::BenefitKind::Medical as i32).to_string());
                unary(
                    cx.claims()
                        .record_benefit_payment(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "RecordBenefitPayment (the platform pays)",
            mutating: true,
            shape: record,
            allowed: PLATFORM,
            subject: claim_in!(ClaimState::Assessed),
            call: call!(|cx, who, s| {
                let request = pay(cx, s, &s.extra);
                unary(
                    cx.claims()
                        .record_benefit_payment(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "RecordRelapse",
            mutating: true,
            shape: record,
            allowed: AGENCY,
            subject: claim_in!(ClaimState::Assessed),
            call: call!(|cx, who, s| {
                let request = pb::RecordRelapseRequest {
                    request_id: cx.rid(),
                    claim_id: s.id.clone(),
                    relapsed_on: Some(today()),
                    medical_costs_fen: 10_000,
                    ..Default::default()
                };
                unary(cx.claims().record_relapse(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "ChangePeriodicBenefit",
            mutating: true,
            shape: record,
            allowed: AGENCY,
            subject: claim_in!(ClaimState::Assessed),
            call: call!(|cx, who, s| {
                let request = pb::ChangePeriodicBenefitRequest {
                    request_id: cx.rid(),
                    claim_id: s.id.clone(),
                    kind: pb::BenefitKind::DisabilityAllowance as i32,
                    item: 0,
                    change: pb::PeriodicChange::Suspend as i32,
                    reason: pb::PeriodicChangeReason::Imprisoned as i32,
                    effective_on: Some(today()),
                };
                unary(
                    cx.claims()
                        .change_periodic_benefit(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "ListBenefitsDue",
            mutating: false,
            shape: Shape::Scope { by_platform: false },
            allowed: READERS,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let request = pb::ListBenefitsDueRequest {
                    province_code: s.tenant.province.into(),
                    as_of: Some(today()),
                    page_size: 10,
                    page_token: String::new(),
                };
                showing(
                    cx.claims().list_benefits_due(cx.req(who, request)).await,
                    |list| {
                        list.due
                            .iter()
                            // Due benefits are the province's claims': shown as the province's.
                            .map(|_| (s.tenant.province.to_owned(), String::new()))
                            .collect()
                    },
                )
            }),
        },
        Entry {
            rpc: "AppealDecision",
            mutating: true,
            shape: record,
            allowed: AGENCY_AND_PLATFORM,
            subject: claim_in!(ClaimState::NotConfirmed),
            call: call!(|cx, who, s| {
                let request = pb::AppealDecisionRequest {
                    request_id: cx.rid(),
                    claim_id: s.id.clone(),
                    grounds: "the order log shows the rider on an order".into(),
                };
                unary(cx.claims().appeal_decision(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "WithdrawClaim",
            mutating: true,
            shape: record,
            allowed: AGENCY_AND_PLATFORM,
            subject: claim_in!(ClaimState::Reported),
            call: call!(|cx, who, s| {
                let request = pb::WithdrawClaimRequest {
                    request_id: cx.rid(),
                    claim_id: s.id.clone(),
                    reason: "reported by mistake".into(),
                };
                unary(cx.claims().withdraw_claim(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "GetClaim",
            mutating: false,
            shape: record,
            allowed: EVERYONE,
            subject: claim_in!(ClaimState::Reported),
            call: call!(|cx, who, s| {
                let request = pb::GetClaimRequest {
                    claim_id: s.id.clone(),
                };
                unary(cx.claims().get_claim(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "ListClaims",
            mutating: false,
            shape: Shape::Listing,
            allowed: EVERYONE,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let (province_code, platform_id) = filter(s);
                let request = pb::ListClaimsRequest {
                    province_code,
                    platform_id,
                    ..Default::default()
                };
                showing(
                    cx.claims().list_claims(cx.req(who, request)).await,
                    |list| {
                        list.claims
                            .iter()
                            .map(|c| (c.province_code.clone(), c.platform_id.clone()))
                            .collect()
                    },
                )
            }),
        },
    ]
}

/// A supervision finding of the target's tenant (random: a random id).
fn finding() -> SubjectFn {
    subject!(|cx, _rpc, target, _fresh| {
        if target == Target::Random {
            return random(target);
        }
        let id = cx.finding(target).await;
        subject_of(target, Tenant::of(target), id, String::new())
    })
}

fn supervision_entries() -> Vec<Entry> {
    vec![
        Entry {
            rpc: "ListFindings",
            mutating: false,
            shape: Shape::Listing,
            allowed: EVERYONE,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let (province_code, platform_id) = filter(s);
                let request = pb::ListFindingsRequest {
                    province_code,
                    platform_id,
                    ..Default::default()
                };
                showing(
                    cx.supervision().list_findings(cx.req(who, request)).await,
                    |list| {
                        list.findings
                            .iter()
                            .map(|f| (f.province_code.clone(), f.platform_id.clone()))
                            .collect()
                    },
                )
            }),
        },
        Entry {
            rpc: "GetFinding",
            mutating: false,
            shape: Shape::Record {
                platforms_see: true,
            },
            allowed: EVERYONE,
            subject: finding(),
            call: call!(|cx, who, s| {
                let request = pb::GetFindingRequest {
                    finding_id: s.id.clone(),
                };
                unary(cx.supervision().get_finding(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "GetComplianceSummary",
            mutating: false,
            shape: Shape::Scope { by_platform: true },
            allowed: EVERYONE,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let request = pb::GetComplianceSummaryRequest {
                    province_code: s.tenant.province.into(),
                    platform_id: s.tenant.platform.into(),
                    period_from: Some(date(2026, 1, 1)),
                    period_to: Some(date(2027, 1, 1)),
                };
                unary(
                    cx.supervision()
                        .get_compliance_summary(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "RankPlatforms",
            mutating: false,
            shape: Shape::Scope { by_platform: false },
            allowed: READERS,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let request = pb::RankPlatformsRequest {
                    month: Some(date(2026, 6, 1)),
                    province_code: s.tenant.province.into(),
                    ..Default::default()
                };
                unary(cx.supervision().rank_platforms(cx.req(who, request)).await)
            }),
        },
    ]
}

fn federation_entries() -> Vec<Entry> {
    vec![
        Entry {
            rpc: "StreamEvents",
            mutating: false,
            shape: Shape::Scope { by_platform: false },
            allowed: ADMIN_AND_AGENCY,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let request = pb::StreamEventsRequest {
                    province_code: s.tenant.province.into(),
                    after_seq: 0,
                    after_hash: String::new(),
                    follow: false,
                };
                let result = cx.federation().stream_events(cx.req(who, request)).await;
                first_item(result, |_| None).await
            }),
        },
        Entry {
            rpc: "GetDigest",
            mutating: false,
            shape: Shape::Scope { by_platform: false },
            allowed: ADMIN_AND_AGENCY,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let request = pb::GetDigestRequest {
                    province_code: s.tenant.province.into(),
                    seq: 0,
                };
                unary(cx.federation().get_digest(cx.req(who, request)).await)
            }),
        },
        Entry {
            rpc: "AcknowledgeEvents",
            mutating: true,
            shape: Shape::Scope { by_platform: false },
            allowed: ADMIN_AND_AGENCY,
            subject: tenant(),
            call: call!(|cx, who, s| {
                // A hash no chain has: allowed callers get past the policy to FAILED_PRECONDITION
                // (or OUT_OF_RANGE before the first event), and nothing is written.
                let request = pb::AcknowledgeEventsRequest {
                    province_code: s.tenant.province.into(),
                    seq: 1,
                    chain_hash: "ab".repeat(32),
                };
                unary(
                    cx.federation()
                        .acknowledge_events(cx.req(who, request))
                        .await,
                )
            }),
        },
        Entry {
            rpc: "ResolvePerson",
            mutating: false,
            shape: Shape::ScopeThenRecord,
            allowed: ADMIN_AND_AGENCY,
            subject: person_key(),
            call: call!(|cx, who, s| {
                let request = pb::ResolvePersonRequest {
                    province_code: s.tenant.province.into(),
                    person_key: s.id.clone(),
                };
                unary(cx.federation().resolve_person(cx.req(who, request)).await)
            }),
        },
    ]
}

/// AdminService. Its data is national; the targets only vary what a write names (the own
/// tenant's province or platform, the other's, a third one) so each allowed write succeeds.
fn admin_entries() -> Vec<Entry> {
    let write = |rpc: &'static str, subject: SubjectFn, call: CallFn| Entry {
        rpc,
        mutating: true,
        shape: Shape::National,
        allowed: ADMIN,
        subject,
        call,
    };
    vec![
        write(
            "RegisterPlatform",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::RegisterPlatformRequest {
                    request_id: cx.rid(),
                    platform_id: format!("mx-{}", s.tenant.platform),
                    name: "矩阵测试平台".into(),
                    credit_code: credit_code(s.target),
                    industries: vec![pb::Industry::InstantDelivery as i32],
                };
                unary(cx.admin().register_platform(cx.req(who, request)).await)
            }),
        ),
        Entry {
            rpc: "ListPlatforms",
            mutating: false,
            shape: Shape::National,
            allowed: NATIONAL_READERS,
            subject: tenant(),
            call: call!(|cx, who, _s| {
                let request = pb::ListPlatformsRequest::default();
                unary(cx.admin().list_platforms(cx.req(who, request)).await)
            }),
        },
        write(
            "CreateToken",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::CreateTokenRequest {
                    request_id: cx.rid(),
                    role: format!("platform:{}", s.tenant.platform),
                    label: "matrix".into(),
                };
                unary(cx.admin().create_token(cx.req(who, request)).await)
            }),
        ),
        write(
            "RevokeToken",
            token(),
            call!(|cx, who, s| {
                let request = pb::RevokeTokenRequest {
                    request_id: cx.rid(),
                    token_id: s.id.clone(),
                };
                unary(cx.admin().revoke_token(cx.req(who, request)).await)
            }),
        ),
        Entry {
            rpc: "ListTokens",
            mutating: false,
            shape: Shape::National,
            allowed: NATIONAL_READERS,
            subject: tenant(),
            call: call!(|cx, who, _s| {
                let request = pb::ListTokensRequest::default();
                unary(cx.admin().list_tokens(cx.req(who, request)).await)
            }),
        },
        write(
            "AddPilotScope",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::AddPilotScopeRequest {
                    request_id: cx.rid(),
                    province_code: "41".into(),
                    platform_id: s.tenant.platform.into(),
                    valid_from: Some(date(2027, 1, 1)),
                    valid_to: None,
                };
                unary(cx.admin().add_pilot_scope(cx.req(who, request)).await)
            }),
        ),
        write(
            "EndPilotScope",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::EndPilotScopeRequest {
                    request_id: cx.rid(),
                    province_code: s.tenant.province.into(),
                    platform_id: s.tenant.platform.into(),
                    end_date: Some(date(2030, 1, 1)),
                };
                unary(cx.admin().end_pilot_scope(cx.req(who, request)).await)
            }),
        ),
        Entry {
            rpc: "ListPilotScope",
            mutating: false,
            shape: Shape::Listing,
            allowed: EVERYONE,
            subject: tenant(),
            call: call!(|cx, who, s| {
                let (province_code, platform_id) = filter(s);
                let request = pb::ListPilotScopeRequest {
                    province_code,
                    platform_id,
                    on_date: None,
                };
                showing(
                    cx.admin().list_pilot_scope(cx.req(who, request)).await,
                    |list| {
                        list.scopes
                            .iter()
                            .map(|p| (p.province_code.clone(), p.platform_id.clone()))
                            .collect()
                    },
                )
            }),
        },
        write(
            "SetBackdatingWindow",
            tenant(),
            call!(|cx, who, s| {
                let province_code = match s.target {
                    Target::Random => String::new(),
                    _ => s.tenant.province.into(),
                };
                let request = pb::SetBackdatingWindowRequest {
                    request_id: cx.rid(),
                    province_code,
                    max_backdate_days: 30,
                    max_cover_start_days_ahead: None,
                };
                unary(cx.admin().set_backdating_window(cx.req(who, request)).await)
            }),
        ),
        write(
            "SetBaseRate",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::SetBaseRateRequest {
                    request_id: cx.rid(),
                    industry: industry_of(s.target) as i32,
                    rate_class: pb::RateClass::Standard as i32,
                    valid_from: Some(date(2027, 7, 1)),
                    fen_per_order: 9,
                };
                unary(cx.admin().set_base_rate(cx.req(who, request)).await)
            }),
        ),
        write(
            "SetRateMultiplier",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::SetRateMultiplierRequest {
                    request_id: cx.rid(),
                    province_code: s.tenant.province.into(),
                    platform_id: s.tenant.platform.into(),
                    industry: pb::Industry::InstantDelivery as i32,
                    valid_from: Some(date(2027, 1, 1)),
                    tenths: 10,
                };
                unary(cx.admin().set_rate_multiplier(cx.req(who, request)).await)
            }),
        ),
        write(
            "SetPlatformRateClass",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::SetPlatformRateClassRequest {
                    request_id: cx.rid(),
                    platform_id: s.tenant.platform.into(),
                    industry: pb::Industry::InstantDelivery as i32,
                    rate_class: pb::RateClass::Standard as i32,
                };
                unary(
                    cx.admin()
                        .set_platform_rate_class(cx.req(who, request))
                        .await,
                )
            }),
        ),
        write(
            "SetAverageWage",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::SetAverageWageRequest {
                    request_id: cx.rid(),
                    province_code: s.tenant.province.into(),
                    year: 2024,
                    annual_fen: 10_000_000,
                };
                unary(cx.admin().set_average_wage(cx.req(who, request)).await)
            }),
        ),
        write(
            "SetPublicHoliday",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::SetPublicHolidayRequest {
                    request_id: cx.rid(),
                    day: Some(date(2030, 10, target_number(s.target))),
                    holiday: true,
                    name: "国庆节".into(),
                };
                unary(cx.admin().set_public_holiday(cx.req(who, request)).await)
            }),
        ),
        write(
            "SetNationalIncome",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::SetNationalIncomeRequest {
                    request_id: cx.rid(),
                    year: 2018 + target_number(s.target),
                    annual_fen: 4_000_000,
                };
                unary(cx.admin().set_national_income(cx.req(who, request)).await)
            }),
        ),
        write(
            "SetClaimPolicy",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::SetClaimPolicyRequest {
                    request_id: cx.rid(),
                    policy: Some(pb::ClaimPolicy {
                        province_code: s.tenant.province.into(),
                        platform_application_days: 30,
                        worker_application_days: 90,
                        decision_working_days: 30,
                        duplicate_window_minutes: 120,
                        wage_base_percent: 100,
                        wage_base_year_offset: -1,
                        death_base_percent: 60,
                        grade_5_allowance_months: 30,
                        grade_6_allowance_months: 25,
                        child_pension_until_age: 18,
                        review_interval_months: 12,
                    }),
                };
                unary(cx.admin().set_claim_policy(cx.req(who, request)).await)
            }),
        ),
        write(
            "SetPrivateSectorWage",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::SetPrivateSectorWageRequest {
                    request_id: cx.rid(),
                    province_code: s.tenant.province.into(),
                    year: 2018 + target_number(s.target),
                    annual_fen: 8_000_000,
                };
                unary(
                    cx.admin()
                        .set_private_sector_wage(cx.req(who, request))
                        .await,
                )
            }),
        ),
        write(
            "SetBenefitAdjustment",
            tenant(),
            call!(|cx, who, s| {
                let request = pb::SetBenefitAdjustmentRequest {
                    request_id: cx.rid(),
                    province_code: s.tenant.province.into(),
                    effective_month: format!("2027-{:02}", target_number(s.target)),
                    basis_points: 300,
                };
                unary(
                    cx.admin()
                        .set_benefit_adjustment(cx.req(who, request))
                        .await,
                )
            }),
        ),
    ]
}

/// Every RPC of the five services. Administration comes last: its allowed writes change data the
/// other calls read (pilot periods, rates, calendars), though only in the future.
pub fn entries() -> Vec<Entry> {
    let mut entries = enrolment_entries();
    entries.extend(contribution_entries());
    entries.extend(claim_entries());
    entries.extend(federation_entries());
    entries.extend(supervision_entries());
    entries.extend(admin_entries());
    entries
}
