//! No personal data at rest outside the sealed columns (issue 12, point 6). The real binary serves
//! a fresh database with a PII key and full logging; every path that takes personal data is driven
//! through gRPC (and the import CLI); then a `pg_dump` of the database and the logs are searched
//! for every personal value the integration suite uses (ID numbers, names, phones, incident
//! descriptions), plain and as lowercase and uppercase hex of its UTF-8 bytes: none may appear.
//! The import's rejects file, which holds rejected rows as they were, must be private (0600).
//!
//! Run: `cargo test --test api -- at_rest:: --nocapture`.
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::claim_service_client::ClaimServiceClient;
use flexcover::pb::contribution_service_client::ContributionServiceClient;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tonic::transport::Channel;

/// A personal value and what it is.
struct Personal {
    what: &'static str,
    value: String,
}

fn personal(what: &'static str, value: impl Into<String>) -> Personal {
    Personal {
        what,
        value: value.into(),
    }
}

/// A person driven through the service.
struct Person {
    id: String,
    name: &'static str,
    phone: &'static str,
}

const DESCRIPTION_SUITE: &str = "fell from the e-bike at a crossing; left wrist fractured";
const DESCRIPTION_PROBE: &str = "右腿胫骨骨折 at-rest-probe";
const DESCRIPTION_MATRIX_1: &str = "fell off the scooter at a crossing";
const DESCRIPTION_MATRIX_2: &str = "slipped on a wet staircase while delivering";
const EXPLANATION_SUITE: &str = "the rider was in intensive care";
const EXPLANATION_SUITE_2: &str = "reported late by the platform";
const GROUNDS_SUITE: &str = "the order log shows the rider on an order";
const REASON_PROBE: &str = "骨折住院 withdraw-probe";

/// The people: the suite's (the standard ID number, 张三丰, 13812345678; the import's 王小明;
/// generated numbers the suite uses) and this test's own distinctive ones.
fn people() -> Vec<Person> {
    vec![
        Person {
            id: STANDARD_ID.into(),
            name: "张三丰",
            phone: "13812345678",
        },
        Person {
            id: id_number("440305", "19950817", 42),
            name: "欧阳娜娜",
            phone: "13999887766",
        },
        Person {
            id: id_number("440305", "19900315", 123),
            name: "阿依古丽·买买提",
            phone: "13999887766",
        },
        Person {
            id: id_number("110105", "19900101", 1),
            name: "张三丰",
            phone: "13812345678",
        },
        Person {
            id: id_number("110105", "19800101", 1),
            name: "王小明",
            phone: "13812345678",
        },
    ]
}

/// Every value that must not be found: ID numbers, names, phones and descriptions, including
/// those the suite only sends to be refused (they must not be logged either).
fn personal_values(imported: &[String]) -> Vec<Personal> {
    let mut values = Vec::new();
    for person in people() {
        values.push(personal("ID number", person.id));
    }
    for id in imported {
        values.push(personal("ID number", id.clone()));
    }
    // Invalid (bad check character) in the suite; refused, never stored or logged.
    values.push(personal("ID number", "110105194912310021"));
    for name in ["张三丰", "欧阳娜娜", "阿依古丽·买买提", "王小明"] {
        values.push(personal("name", name));
    }
    for phone in ["13812345678", "13999887766", "23812345678", "2381234567"] {
        values.push(personal("phone", phone));
    }
    for description in [
        DESCRIPTION_SUITE,
        DESCRIPTION_PROBE,
        DESCRIPTION_MATRIX_1,
        DESCRIPTION_MATRIX_2,
    ] {
        values.push(personal("description", description));
    }
    values
}

/// Free text about the worker that issue 12 does not require sealed (late explanations, decision
/// reasons, appeal grounds, withdrawal reasons): reported, not failed.
fn free_text() -> Vec<Personal> {
    [
        EXPLANATION_SUITE,
        EXPLANATION_SUITE_2,
        GROUNDS_SUITE,
        REASON_PROBE,
    ]
    .into_iter()
    .map(|text| personal("free text", text))
    .collect()
}

/// The value shown in a failure: its ends only (short ones, their first character).
fn masked(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let (head, tail) = if chars.len() > 8 { (2, 1) } else { (1, 0) };
    let start: String = chars.iter().take(head).collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    let hidden = chars.len() - head - tail;
    format!(
        "{start}{}{end} ({} chars)",
        "*".repeat(hidden.min(12)),
        chars.len()
    )
}

/// The forms a value is searched in: plain (and the lowercase x of an ID number), lowercase and
/// uppercase hex of its UTF-8 bytes.
fn forms(value: &str) -> Vec<(&'static str, String)> {
    let mut forms = vec![
        ("plain", value.to_owned()),
        ("hex", hex::encode(value.as_bytes())),
    ];
    let upper = hex::encode_upper(value.as_bytes());
    // Digits only (an ID number, a phone) have one hex form: count each hit once.
    if upper != forms[1].1 {
        forms.push(("HEX", upper));
    }
    if value.len() == 18 && value.ends_with('X') {
        let lower = value.to_lowercase();
        forms.push(("plain, lowercase x", lower.clone()));
        forms.push(("hex, lowercase x", hex::encode(lower.as_bytes())));
    }
    forms
}

/// Where each value occurs in `text`: "source table/line N (form)". `COPY public.t` blocks of a
/// dump name the table.
fn occurrences(source: &str, text: &str, values: &[Personal]) -> Vec<String> {
    let searched: Vec<(&Personal, Vec<(&'static str, String)>)> =
        values.iter().map(|v| (v, forms(&v.value))).collect();
    let mut found = Vec::new();
    let mut table: Option<String> = None;
    for (number, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("COPY ") {
            table = rest.split_whitespace().next().map(str::to_owned);
        } else if line == "\\." {
            table = None;
        }
        for (value, forms) in &searched {
            for (form, needle) in forms {
                if line.contains(needle.as_str()) {
                    let place = match &table {
                        Some(table) => format!("{source}, table {table}, line {}", number + 1),
                        None => format!("{source}, line {}", number + 1),
                    };
                    found.push(format!(
                        "{} {} found in {place} ({form})",
                        value.what,
                        masked(&value.value)
                    ));
                }
            }
        }
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn pg_dump() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("pg_dump"))
            .find(|candidate| candidate.is_file())
    });
    on_path
        .or_else(|| {
            let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .flatten()
                .map(|version| version.path().join("bin/pg_dump"))
                .filter(|candidate| candidate.is_file())
                .collect();
            found.sort();
            found.pop()
        })
        .expect("pg_dump on PATH or under /usr/lib/postgresql")
}

/// The server process; killed if the test fails before stopping it.
struct Server {
    child: Option<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    /// SIGTERM, and waits for a clean exit.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().expect("wait for serve");
        assert!(status.success(), "serve exits cleanly: {status:?}");
    }
}

/// A scratch directory, removed at the end.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn wait_until_serving(server: &mut Server, endpoint: &str) -> Channel {
    let child = server.child.as_mut().expect("running");
    crate::helpers::wait_until_serving(child, endpoint, Duration::from_secs(60), String::new).await
}

/// Today in China, and instants relative to now (the binary runs on the real clock).
struct Clock {
    now: chrono::DateTime<chrono::Utc>,
}

impl Clock {
    fn day(&self, days_ago: i64) -> pb::Date {
        use chrono::Datelike;
        let day =
            (self.now + chrono::Duration::hours(8) - chrono::Duration::days(days_ago)).date_naive();
        date(day.year(), day.month() as i32, day.day() as i32)
    }

    fn ago(&self, minutes: i64) -> prost_types::Timestamp {
        prost_types::Timestamp {
            seconds: (self.now - chrono::Duration::minutes(minutes)).timestamp(),
            nanos: 0,
        }
    }
}

struct Clients {
    enrolments: EnrolmentServiceClient<Channel>,
    contributions: ContributionServiceClient<Channel>,
    claims: ClaimServiceClient<Channel>,
    channel: Channel,
}

struct Tokens {
    meituan: String,
    eleme: String,
    guangdong: String,
    admin: String,
}

fn enrol(person: &Person, request_id: &str) -> pb::EnrolWorkerRequest {
    pb::EnrolWorkerRequest {
        request_id: request_id.into(),
        worker: Some(pb::Worker {
            id_number: person.id.clone(),
            name: person.name.into(),
            phone: person.phone.into(),
        }),
        place_of_employment: "440305".into(),
        industry: pb::Industry::InstantDelivery as i32,
        cover_start_date: Some(date(2026, 1, 5)),
    }
}

/// Enrolment: one by one (the standard number with a lowercase x), in a batch (with a refused
/// row), lifecycle changes, a transfer, lookups and coverage by ID number, orders by ID number.
async fn enrolment_paths(c: &mut Clients, t: &Tokens, clock: &Clock, people: &[Person]) {
    let mut first = enrol(&people[0], "rest-e0");
    if let Some(worker) = first.worker.as_mut() {
        worker.id_number = worker.id_number.to_lowercase();
    }
    let mut ids = vec![
        c.enrolments
            .enrol_worker(authed(first, &t.meituan))
            .await
            .expect("enrol with a lowercase x")
            .into_inner()
            .enrolment
            .expect("enrolment")
            .enrolment_id,
    ];
    ids.push(
        c.enrolments
            .enrol_worker(authed(enrol(&people[1], "rest-e1"), &t.meituan))
            .await
            .expect("enrol")
            .into_inner()
            .enrolment
            .expect("enrolment")
            .enrolment_id,
    );
    let mut batch: Vec<pb::EnrolWorkerRequest> = people[2..]
        .iter()
        .enumerate()
        .map(|(n, person)| enrol(person, &format!("rest-b{n}")))
        .collect();
    let mut refused = enrol(&people[1], "rest-b-bad");
    if let Some(worker) = refused.worker.as_mut() {
        worker.phone = "23812345678".into();
    }
    batch.push(refused);
    let mut results = c
        .enrolments
        .batch_enrol_workers(authed(tokio_stream::iter(batch), &t.meituan))
        .await
        .expect("batch")
        .into_inner();
    while let Some(result) = results.message().await.expect("batch result") {
        if let Some(pb::batch_enrol_result::Outcome::Enrolment(enrolment)) = result.outcome {
            ids.push(enrolment.enrolment_id);
        }
    }
    assert_eq!(ids.len(), people.len(), "every good row enrolled");

    let change = |n: usize, days_ago: i64| (ids[n].clone(), Some(clock.day(days_ago)));
    let (id, day) = change(2, 2);
    c.enrolments
        .suspend_enrolment(authed(
            pb::SuspendEnrolmentRequest {
                request_id: "rest-s".into(),
                enrolment_id: id,
                effective_date: day,
                reason: pb::ChangeReason::WorkerRequest as i32,
            },
            &t.meituan,
        ))
        .await
        .expect("suspend");
    let (id, day) = change(2, 1);
    c.enrolments
        .resume_enrolment(authed(
            pb::ResumeEnrolmentRequest {
                request_id: "rest-r".into(),
                enrolment_id: id,
                effective_date: day,
                reason: pb::ChangeReason::WorkerRequest as i32,
            },
            &t.meituan,
        ))
        .await
        .expect("resume");
    let (id, day) = change(3, 0);
    c.enrolments
        .terminate_enrolment(authed(
            pb::TerminateEnrolmentRequest {
                request_id: "rest-t".into(),
                enrolment_id: id,
                effective_date: day,
                reason: pb::ChangeReason::LeftPlatform as i32,
            },
            &t.meituan,
        ))
        .await
        .expect("terminate");
    let (id, day) = change(4, 0);
    c.enrolments
        .transfer_enrolment(authed(
            pb::TransferEnrolmentRequest {
                request_id: "rest-x".into(),
                enrolment_id: id,
                new_place_of_employment: "110105".into(),
                effective_date: day,
                reason: pb::ChangeReason::Moved as i32,
            },
            &t.meituan,
        ))
        .await
        .expect("transfer");

    for person in people {
        for token in [&t.meituan, &t.guangdong] {
            c.enrolments
                .find_enrolments_by_id_number(authed(
                    pb::FindEnrolmentsByIdNumberRequest {
                        id_number: person.id.clone(),
                    },
                    token,
                ))
                .await
                .expect("find");
        }
        c.contributions
            .check_coverage(authed(
                pb::CheckCoverageRequest {
                    worker: Some(pb::check_coverage_request::Worker::IdNumber(
                        person.id.clone(),
                    )),
                    platform_id: String::new(),
                    at: None,
                },
                &t.meituan,
            ))
            .await
            .expect("coverage");
    }
    let orders: Vec<pb::OrderRecord> = people[..2]
        .iter()
        .enumerate()
        .map(|(n, person)| pb::OrderRecord {
            order_id: format!("rest-order-{n}"),
            worker: Some(pb::order_record::Worker::IdNumber(person.id.clone())),
            place_of_employment: "440305".into(),
            industry: pb::Industry::InstantDelivery as i32,
            accepted_at: Some(clock.ago(90)),
            completed_at: Some(clock.ago(60)),
        })
        .collect();
    let mut results = c
        .contributions
        .record_orders(authed(tokio_stream::iter(orders), &t.meituan))
        .await
        .expect("orders")
        .into_inner();
    while let Some(result) = results.message().await.expect("order result") {
        assert!(
            matches!(
                result.outcome,
                Some(pb::record_orders_result::Outcome::Accepted(_))
            ),
            "{result:?}"
        );
    }
}

fn report(
    request_id: &str,
    worker: pb::report_incident_request::Worker,
    description: &str,
    clock: &Clock,
) -> pb::ReportIncidentRequest {
    pb::ReportIncidentRequest {
        request_id: request_id.into(),
        worker: Some(worker),
        order_id: "rest-order-0".into(),
        occurred_at: Some(clock.ago(75)),
        place_code: "440305".into(),
        description: description.into(),
        kind: pb::IncidentKind::Injury as i32,
    }
}

/// Claims: reports with descriptions (by ID number and by enrolment id), applications with late
/// explanations, a decision, appraisal, assessment and payments of both payers, an appeal, a
/// withdrawal, reads.
async fn claim_paths(c: &mut Clients, t: &Tokens, clock: &Clock, people: &[Person]) {
    let by_id = |n: usize| pb::report_incident_request::Worker::IdNumber(people[n].id.clone());
    let found = c
        .enrolments
        .find_enrolments_by_id_number(authed(
            pb::FindEnrolmentsByIdNumberRequest {
                id_number: people[1].id.clone(),
            },
            &t.meituan,
        ))
        .await
        .expect("find")
        .into_inner();
    let enrolment_id = found.enrolments[0].enrolment_id.clone();
    let mut reported = Vec::new();
    for (request_id, worker, description, token) in [
        ("rest-c0", by_id(0), DESCRIPTION_SUITE, &t.meituan),
        (
            "rest-c1",
            pb::report_incident_request::Worker::EnrolmentId(enrolment_id),
            DESCRIPTION_PROBE,
            &t.meituan,
        ),
        ("rest-c2", by_id(2), DESCRIPTION_MATRIX_1, &t.meituan),
        ("rest-c3", by_id(3), DESCRIPTION_MATRIX_2, &t.eleme),
    ] {
        reported.push(
            c.claims
                .report_incident(authed(
                    report(request_id, worker, description, clock),
                    token,
                ))
                .await
                .expect("report")
                .into_inner()
                .claim_id,
        );
    }
    let apply = |request_id: &str, n: usize, applicant: pb::Applicant, explanation: &str| {
        pb::ApplyForConfirmationRequest {
            request_id: request_id.into(),
            claim_id: reported[n].clone(),
            applicant: applicant as i32,
            late_explanation: explanation.into(),
        }
    };
    c.claims
        .apply_for_confirmation(authed(
            apply("rest-a0", 0, pb::Applicant::Platform, EXPLANATION_SUITE),
            &t.meituan,
        ))
        .await
        .expect("apply as the platform");
    c.claims
        .apply_for_confirmation(authed(
            apply("rest-a1", 1, pb::Applicant::Worker, EXPLANATION_SUITE_2),
            &t.guangdong,
        ))
        .await
        .expect("apply at the agency's counter");
    let decide = |request_id: &str, n: usize, confirmed: bool| pb::DecideConfirmationRequest {
        request_id: request_id.into(),
        claim_id: reported[n].clone(),
        confirmed,
        reasons: "on an order at the time".into(),
    };
    c.claims
        .decide_confirmation(authed(decide("rest-d0", 0, true), &t.guangdong))
        .await
        .expect("confirm");
    c.claims
        .decide_confirmation(authed(decide("rest-d1", 1, false), &t.guangdong))
        .await
        .expect("not confirm");
    c.claims
        .appeal_decision(authed(
            pb::AppealDecisionRequest {
                request_id: "rest-ap".into(),
                claim_id: reported[1].clone(),
                grounds: GROUNDS_SUITE.into(),
            },
            &t.meituan,
        ))
        .await
        .expect("appeal");
    c.claims
        .withdraw_claim(authed(
            pb::WithdrawClaimRequest {
                request_id: "rest-w".into(),
                claim_id: reported[2].clone(),
                reason: REASON_PROBE.into(),
            },
            &t.meituan,
        ))
        .await
        .expect("withdraw");
    c.claims
        .record_appraisal(authed(
            pb::RecordAppraisalRequest {
                request_id: "rest-g".into(),
                claim_id: reported[0].clone(),
                grade: Some(8),
            },
            &t.guangdong,
        ))
        .await
        .expect("appraise");
    let assessed = c
        .claims
        .assess_benefits(authed(
            pb::AssessBenefitsRequest {
                request_id: "rest-b".into(),
                claim_id: reported[0].clone(),
                medical_costs_fen: 1_234_567,
                rehabilitation_costs_fen: 0,
                assistive_devices_costs_fen: 0,
                treatment_days: 45,
                dependants: vec![],
            },
            &t.guangdong,
        ))
        .await
        .expect("assess")
        .into_inner();
    let platform_item = assessed
        .benefits
        .iter()
        .find(|item| item.payer == pb::BenefitPayer::Platform as i32)
        .map(|item| item.kind)
        .expect("an item the platform pays");
    for (request_id, kind, token) in [
        ("rest-p0", pb::BenefitKind::Medical as i32, &t.guangdong),
        ("rest-p1", platform_item, &t.meituan),
    ] {
        c.claims
            .record_benefit_payment(authed(
                pb::RecordBenefitPaymentRequest {
                    request_id: request_id.into(),
                    claim_id: reported[0].clone(),
                    kind,
                    amount_fen: 1_000,
                    paid_on: Some(clock.day(0)),
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap_or_else(|status| panic!("{request_id}: {status:?}"));
    }
    for (claim_id, token) in [(&reported[0], &t.guangdong), (&reported[3], &t.eleme)] {
        c.claims
            .get_claim(authed(
                pb::GetClaimRequest {
                    claim_id: claim_id.clone(),
                },
                token,
            ))
            .await
            .expect("read the claim");
    }
    c.claims
        .list_claims(authed(
            pb::ListClaimsRequest {
                province_code: "44".into(),
                ..Default::default()
            },
            &t.guangdong,
        ))
        .await
        .expect("list claims");
}

/// Pensions by ID number, and a person key resolved.
async fn pension_and_federation_paths(
    c: &mut Clients,
    t: &Tokens,
    people: &[Person],
    person_key: &str,
) {
    for (n, person) in people[..2].iter().enumerate() {
        c.contributions
            .enrol_pension(authed(
                pb::EnrolPensionRequest {
                    request_id: format!("rest-pension-{n}"),
                    id_number: person.id.clone(),
                    place_of_employment: "440305".into(),
                    monthly_base_fen: 600_000,
                },
                &t.guangdong,
            ))
            .await
            .expect("pension");
        c.contributions
            .get_pension_account(authed(
                pb::GetPensionAccountRequest {
                    worker: Some(pb::get_pension_account_request::Worker::IdNumber(
                        person.id.clone(),
                    )),
                },
                &t.guangdong,
            ))
            .await
            .expect("pension account");
    }
    let resolved = pb::federation_service_client::FederationServiceClient::new(c.channel.clone())
        .resolve_person(authed(
            pb::ResolvePersonRequest {
                province_code: "44".into(),
                person_key: person_key.into(),
            },
            &t.guangdong,
        ))
        .await
        .expect("resolve")
        .into_inner();
    assert_eq!(resolved.id_number.len(), 18);
}

/// `flexcover import enrolments` with a good row and two refused ones: [the rows' ID numbers].
fn import(dir: &Path, endpoint: &str, token: &str) -> (Vec<String>, String) {
    let ids = vec![
        id_number("110105", "19700101", 0),
        id_number("110105", "19700201", 7),
        id_number("440305", "19880808", 88),
    ];
    let csv = dir.join("riders.csv");
    std::fs::write(
        &csv,
        format!(
            "name,id_number,phone,place_of_employment,industry,cover_start_date,notes\n\
             \"王小明\",{},13812345678,440305,instant_delivery,2026-01-05,row 0\n\
             \"王小明\",{},2381234567,440305,instant_delivery,2026-01-05,row 1\n\
             \"欧阳娜娜\",{},13999887766,440305,taxi,2026-01-05,row 2\n",
            ids[0], ids[1], ids[2]
        ),
    )
    .expect("csv");
    let token_file = dir.join("token");
    std::fs::write(&token_file, token).expect("token file");
    let output = Command::new(env!("CARGO_BIN_EXE_flexcover"))
        .args(["import", "enrolments"])
        .arg(&csv)
        .args(["--server", endpoint])
        .arg("--token-file")
        .arg(&token_file)
        .env_remove("DATABASE_URL")
        .env("FLEXCOVER_LOG", "trace")
        .stdin(Stdio::null())
        .output()
        .expect("run import");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(3), "two rows refused: {log}");
    (ids, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_personal_data_in_the_database_dump_or_the_logs() {
    let started = std::time::Instant::now();
    let url = fresh_database_url().await;
    let pool = flexcover::store::connect(&url, 2).await.expect("pool");
    let now = chrono::Utc::now();
    flexcover::seed::seed_pilot(&pool, now)
        .await
        .expect("pilot");
    flexcover::seed::seed_rates(&pool, now)
        .await
        .expect("rates");
    let t = {
        let mut connection = pool.acquire().await.expect("connection");
        let mut token = async |role: &str| {
            let role = flexcover::domain::role::Role::parse(role).expect("role");
            flexcover::api::admin::create_token(&mut connection, &role, "at rest", now)
                .await
                .expect("token")
                .token
        };
        Tokens {
            meituan: token("platform:meituan").await,
            eleme: token("platform:eleme").await,
            guangdong: token("province:44").await,
            admin: token("national-admin").await,
        }
    };

    let scratch = Scratch(std::env::temp_dir().join(format!(
        "flexcover-at-rest-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    )));
    std::fs::create_dir_all(&scratch.0).expect("scratch dir");
    let log_path = scratch.0.join("serve.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut server = Server {
        child: Some(
            Command::new(env!("CARGO_BIN_EXE_flexcover"))
                .args([
                    "serve",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--health-interval-ms",
                    "200",
                ])
                .env("DATABASE_URL", &url)
                .env(
                    "FLEXCOVER_PII_KEY",
                    flexcover::pii::PiiKeys::generate_text(),
                )
                .env_remove("FLEXCOVER_PII_KEY_FILE")
                .env("FLEXCOVER_LOG", "trace")
                .env("FLEXCOVER_LOG_FORMAT", "human")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("log file"))
                .stderr(log_file)
                .spawn()
                .expect("start flexcover serve"),
        ),
    };
    let channel = wait_until_serving(&mut server, &endpoint).await;
    let mut clients = Clients {
        enrolments: EnrolmentServiceClient::new(channel.clone()),
        contributions: ContributionServiceClient::new(channel.clone()),
        claims: ClaimServiceClient::new(channel.clone()),
        channel: channel.clone(),
    };
    let mut admin = pb::admin_service_client::AdminServiceClient::new(channel.clone());
    for year in [2025, 2026] {
        admin
            .set_average_wage(authed(
                pb::SetAverageWageRequest {
                    request_id: format!("rest-wage-{year}"),
                    province_code: "44".into(),
                    year,
                    annual_fen: 12_000_000,
                },
                &t.admin,
            ))
            .await
            .expect("average wage");
    }
    let clock = Clock { now };
    let people = people();
    enrolment_paths(&mut clients, &t, &clock, &people).await;
    claim_paths(&mut clients, &t, &clock, &people).await;
    let person_key: String =
        sqlx::query_scalar("SELECT encode(person_key, 'hex') FROM enrolments LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("a person key");
    pension_and_federation_paths(&mut clients, &t, &people, &person_key).await;
    let (imported, import_log) = tokio::task::spawn_blocking({
        let (dir, endpoint, token) = (scratch.0.clone(), endpoint.clone(), t.meituan.clone());
        move || import(&dir, &endpoint, &token)
    })
    .await
    .expect("join");
    drop(clients);
    drop(channel);
    server.stop();
    pool.close().await;

    let mut problems = Vec::new();
    let rejects = scratch.0.join("riders.rejects.csv");
    let mode = std::fs::metadata(&rejects)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .expect("rejects file");
    if mode != 0o600 {
        problems.push(format!(
            "the import's rejects file {} has mode {mode:o}, not 600",
            rejects.display()
        ));
    }
    let dump = Command::new(pg_dump())
        .arg("--no-owner")
        .arg("--dbname")
        .arg(&url)
        .output()
        .expect("run pg_dump");
    assert!(
        dump.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8(dump.stdout).expect("dump is UTF-8");
    let log = std::fs::read_to_string(&log_path).expect("server log");
    assert!(
        log.contains("ResolvePerson") || log.contains("resolve_person"),
        "the server logged the calls at trace level"
    );
    let values = personal_values(&imported);
    for (source, text) in [
        ("pg_dump", dump.as_str()),
        ("server log", log.as_str()),
        ("import log", import_log.as_str()),
    ] {
        problems.extend(occurrences(source, text, &values));
    }
    let mut free = Vec::new();
    for (source, text) in [("pg_dump", dump.as_str()), ("server log", log.as_str())] {
        free.extend(occurrences(source, text, &free_text()));
    }
    println!(
        "at rest: {} personal values searched (plain, hex, HEX) in a {} KB dump, a {} KB server \
         log and the import's log; {:.1}s",
        values.len(),
        dump.len() / 1024,
        log.len() / 1024,
        started.elapsed().as_secs_f64()
    );
    if !free.is_empty() {
        println!(
            "free text about workers stored or logged in plain (not required sealed by issue 12):\n  {}",
            free.join("\n  ")
        );
    }
    assert!(
        problems.is_empty(),
        "{} findings of personal data at rest:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn values_are_searched_plain_and_in_both_hex_cases_and_shown_masked() {
    let values = vec![personal("phone", "13812345678"), personal("name", "张三丰")];
    let text = "COPY public.t (a) FROM stdin;\n\\\\x3133383132333435363738\n\\.\n\
                13812345678\nE5BCA0E4B889E4B8B0\n";
    let found = occurrences("dump", text, &values);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found[0].contains("table public.t, line 2 (hex)"),
        "{found:?}"
    );
    assert!(found[1].contains("dump, line 4 (plain)"), "{found:?}");
    assert!(found[2].contains("dump, line 5 (HEX)"), "{found:?}");
    assert!(
        found
            .iter()
            .all(|f| !f.contains("13812345678") && !f.contains("张三丰"))
    );
    let id_forms: Vec<String> = forms("11010519491231002X")
        .into_iter()
        .map(|(_, needle)| needle)
        .collect();
    assert!(
        id_forms.contains(&"11010519491231002x".to_owned())
            && id_forms.contains(&hex::encode("11010519491231002x")),
        "an X is searched in both cases: {id_forms:?}"
    );
}
