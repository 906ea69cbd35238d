//! Suspend, resume, terminate, transfer: every transition allowed and refused, effective dates,
//! history and events. The clock stands at 2026-06-15; the default backdating window is 30 days.
use crate::helpers::*;
use flexcover::pb;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

const REASON: i32 = pb::ChangeReason::WorkerRequest as i32;

fn day_key(day: &pb::Date) -> String {
    format!("{}-{}-{}", day.year, day.month, day.day)
}

struct Fixture {
    app: TestApp,
    client: EnrolmentServiceClient<Channel>,
    token: String,
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let token = app.token("platform:meituan").await;
    let client = app.enrolment_client().await;
    Fixture { app, client, token }
}

impl Fixture {
    async fn enrol(&mut self, seq: u32) -> pb::Enrolment {
        let request = enrol_request(
            &format!("enrol-{seq}"),
            &id_number("110105", "19900101", seq),
        );
        self.client
            .enrol_worker(authed(request, &self.token))
            .await
            .expect("enrolled")
            .into_inner()
            .enrolment
            .expect("enrolment")
    }

    async fn suspend(&mut self, id: &str, day: pb::Date) -> Result<pb::Enrolment, tonic::Status> {
        let request = pb::SuspendEnrolmentRequest {
            request_id: format!("s-{id}-{}", day_key(&day)),
            enrolment_id: id.into(),
            effective_date: Some(day),
            reason: REASON,
        };
        self.client
            .suspend_enrolment(authed(request, &self.token))
            .await
            .map(|r| r.into_inner())
    }

    async fn resume(&mut self, id: &str, day: pb::Date) -> Result<pb::Enrolment, tonic::Status> {
        let request = pb::ResumeEnrolmentRequest {
            request_id: format!("r-{id}-{}", day_key(&day)),
            enrolment_id: id.into(),
            effective_date: Some(day),
            reason: REASON,
        };
        self.client
            .resume_enrolment(authed(request, &self.token))
            .await
            .map(|r| r.into_inner())
    }

    async fn terminate(&mut self, id: &str, day: pb::Date) -> Result<pb::Enrolment, tonic::Status> {
        let request = pb::TerminateEnrolmentRequest {
            request_id: format!("t-{id}-{}", day_key(&day)),
            enrolment_id: id.into(),
            effective_date: Some(day),
            reason: pb::ChangeReason::LeftPlatform as i32,
        };
        self.client
            .terminate_enrolment(authed(request, &self.token))
            .await
            .map(|r| r.into_inner())
    }

    async fn transfer(
        &mut self,
        id: &str,
        place: &str,
        day: pb::Date,
    ) -> Result<pb::TransferEnrolmentResponse, tonic::Status> {
        let request = pb::TransferEnrolmentRequest {
            request_id: format!("x-{id}-{place}-{}", day_key(&day)),
            enrolment_id: id.into(),
            new_place_of_employment: place.into(),
            effective_date: Some(day),
            reason: pb::ChangeReason::Moved as i32,
        };
        self.client
            .transfer_enrolment(authed(request, &self.token))
            .await
            .map(|r| r.into_inner())
    }

    async fn history(&mut self, id: &str) -> Vec<pb::EnrolmentHistoryEntry> {
        let request = pb::GetEnrolmentHistoryRequest {
            enrolment_id: id.into(),
        };
        self.client
            .get_enrolment_history(authed(request, &self.token))
            .await
            .expect("history")
            .into_inner()
            .entries
    }
}

fn status_of(entries: &[pb::EnrolmentHistoryEntry]) -> Vec<pb::EnrolmentStatus> {
    entries.iter().map(|e| e.status()).collect()
}

#[tokio::test]
async fn suspend_resume_terminate_with_full_history() {
    let mut f = fixture().await;
    let id = f.enrol(1).await.enrolment_id;
    let suspended = f.suspend(&id, date(2026, 6, 1)).await.expect("suspend");
    assert_eq!(suspended.status(), pb::EnrolmentStatus::Suspended);
    let resumed = f.resume(&id, date(2026, 6, 10)).await.expect("resume");
    assert_eq!(resumed.status(), pb::EnrolmentStatus::Active);
    let terminated = f
        .terminate(&id, date(2026, 6, 15))
        .await
        .expect("terminate");
    assert_eq!(terminated.status(), pb::EnrolmentStatus::Terminated);
    assert_eq!(terminated.cover_end_date, Some(date(2026, 6, 15)));

    let history = f.history(&id).await;
    use pb::EnrolmentStatus::*;
    assert_eq!(
        status_of(&history),
        vec![Active, Suspended, Active, Terminated]
    );
    assert_eq!(
        history.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(history[0].reason(), pb::ChangeReason::Enrolled);
    assert_eq!(history[0].effective_date, Some(date(2026, 1, 5)));
    assert_eq!(history[1].effective_date, Some(date(2026, 6, 1)));
    assert_eq!(history[1].reason(), pb::ChangeReason::WorkerRequest);
    assert_eq!(history[3].reason(), pb::ChangeReason::LeftPlatform);
    assert!(
        history
            .iter()
            .all(|e| e.actor == "platform:meituan" && e.recorded_at.is_some())
    );

    let changes: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM events WHERE event_type = 'enrolment.changed.v1' ORDER BY event_id",
    )
    .fetch_all(&f.app.pool)
    .await
    .expect("events");
    let statuses: Vec<pb::EnrolmentStatus> = changes
        .iter()
        .map(|p| {
            pb::EnrolmentChangedV1::decode(p.as_slice())
                .expect("event")
                .status()
        })
        .collect();
    assert_eq!(statuses, vec![Suspended, Active, Terminated]);

    // Terminated is final; the platform may enrol the person afresh.
    let again = enrol_request("enrol-again", &id_number("110105", "19900101", 1));
    f.client
        .enrol_worker(authed(again, &f.token))
        .await
        .expect("a new enrolment after termination");
    f.app.stop().await;
}

#[tokio::test]
async fn refused_transitions_name_the_state_and_change_nothing() {
    let mut f = fixture().await;
    let active = f.enrol(1).await.enrolment_id;
    let status = f
        .resume(&active, date(2026, 6, 1))
        .await
        .expect_err("resume an active one");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("active"), "{}", status.message());

    f.suspend(&active, date(2026, 6, 1)).await.expect("suspend");
    for (what, status) in [
        (
            "suspend twice",
            f.suspend(&active, date(2026, 6, 2)).await.map(drop),
        ),
        (
            "transfer a suspended one",
            f.transfer(&active, "110105", date(2026, 6, 2))
                .await
                .map(drop),
        ),
    ] {
        let status = status.expect_err(what);
        assert_eq!(status.code(), Code::FailedPrecondition, "{what}");
        assert!(
            status.message().contains("suspended"),
            "{what}: {}",
            status.message()
        );
    }

    f.terminate(&active, date(2026, 6, 3))
        .await
        .expect("terminate a suspended one");
    for (what, status) in [
        (
            "suspend",
            f.suspend(&active, date(2026, 6, 4)).await.map(drop),
        ),
        (
            "resume",
            f.resume(&active, date(2026, 6, 4)).await.map(drop),
        ),
        (
            "terminate",
            f.terminate(&active, date(2026, 6, 4)).await.map(drop),
        ),
        (
            "transfer",
            f.transfer(&active, "110105", date(2026, 6, 4))
                .await
                .map(drop),
        ),
    ] {
        let status = status.expect_err(what);
        assert_eq!(
            status.code(),
            Code::FailedPrecondition,
            "{what} a terminated one"
        );
        assert!(
            status.message().contains("terminated"),
            "{}",
            status.message()
        );
    }

    let moved = f.enrol(2).await.enrolment_id;
    f.transfer(&moved, "110105", date(2026, 6, 5))
        .await
        .expect("transfer");
    for (what, status) in [
        (
            "suspend",
            f.suspend(&moved, date(2026, 6, 6)).await.map(drop),
        ),
        ("resume", f.resume(&moved, date(2026, 6, 6)).await.map(drop)),
        (
            "terminate",
            f.terminate(&moved, date(2026, 6, 6)).await.map(drop),
        ),
        (
            "transfer",
            f.transfer(&moved, "310115", date(2026, 6, 6))
                .await
                .map(drop),
        ),
    ] {
        let status = status.expect_err(what);
        assert_eq!(
            status.code(),
            Code::FailedPrecondition,
            "{what} a transferred one"
        );
        assert!(
            status.message().contains("transferred"),
            "{}",
            status.message()
        );
    }
    assert_eq!(
        f.history(&active).await.len(),
        3,
        "refusals wrote no history"
    );
    f.app.stop().await;
}

#[tokio::test]
async fn effective_dates_are_bounded_and_the_window_is_data() {
    let mut f = fixture().await;
    let id = f.enrol(1).await.enrolment_id;
    let cases = [
        (date(2026, 6, 16), "future"),
        (date(2026, 5, 15), "31 days back"),
        (date(2025, 12, 31), "before the cover started"),
    ];
    for (day, what) in cases {
        assert_field_violation(
            &f.suspend(&id, day).await.expect_err(what),
            "effective_date",
        );
    }
    f.suspend(&id, date(2026, 5, 16))
        .await
        .expect("exactly 30 days back");
    assert_field_violation(
        &f.resume(&id, date(2026, 5, 15))
            .await
            .expect_err("before the last change"),
        "effective_date",
    );

    // A national admin widens Guangdong's window to 90 days.
    let admin = f.app.token("national-admin").await;
    let mut admin_client = f.app.admin_client().await;
    let set = pb::SetBackdatingWindowRequest {
        request_id: "w".into(),
        province_code: "44".into(),
        max_backdate_days: 90,
        max_cover_start_days_ahead: None,
    };
    admin_client
        .set_backdating_window(authed(set, &admin))
        .await
        .expect("set window");
    let other = f.enrol(2).await.enrolment_id;
    f.suspend(&other, date(2026, 4, 1))
        .await
        .expect("75 days back is inside 90");
    let bad = pb::SetBackdatingWindowRequest {
        request_id: "w2".into(),
        province_code: "44".into(),
        max_backdate_days: -1,
        max_cover_start_days_ahead: None,
    };
    assert_field_violation(
        &admin_client
            .set_backdating_window(authed(bad, &admin))
            .await
            .expect_err("negative"),
        "max_backdate_days",
    );

    // Moving the clock moves "today".
    f.app.clock.set(test_now() + chrono::Duration::days(200));
    assert_field_violation(
        &f.resume(&id, date(2026, 6, 1))
            .await
            .expect_err("now too far back"),
        "effective_date",
    );
    for (field, request) in [
        (
            "reason",
            pb::ResumeEnrolmentRequest {
                request_id: "x".into(),
                enrolment_id: id.clone(),
                effective_date: Some(date(2026, 12, 1)),
                reason: 0,
            },
        ),
        (
            "reason",
            pb::ResumeEnrolmentRequest {
                request_id: "x".into(),
                enrolment_id: id.clone(),
                effective_date: Some(date(2026, 12, 1)),
                reason: pb::ChangeReason::Enrolled as i32,
            },
        ),
        (
            "enrolment_id",
            pb::ResumeEnrolmentRequest {
                request_id: "x".into(),
                enrolment_id: "nope".into(),
                effective_date: Some(date(2026, 12, 1)),
                reason: REASON,
            },
        ),
        (
            "effective_date",
            pb::ResumeEnrolmentRequest {
                request_id: "x".into(),
                enrolment_id: id.clone(),
                effective_date: None,
                reason: REASON,
            },
        ),
    ] {
        let status = f
            .client
            .resume_enrolment(authed(request, &f.token))
            .await
            .expect_err(field);
        assert_field_violation(&status, field);
    }
    f.app.stop().await;
}

#[tokio::test]
async fn a_transfer_ends_one_enrolment_and_opens_a_linked_one_elsewhere() {
    let mut f = fixture().await;
    let old = f.enrol(1).await;
    let moved = f
        .transfer(&old.enrolment_id, "110105", date(2026, 6, 10))
        .await
        .expect("transfer");
    let (previous, current) = (
        moved.previous.expect("previous"),
        moved.current.expect("current"),
    );
    assert_eq!(previous.status(), pb::EnrolmentStatus::Transferred);
    assert_eq!(previous.cover_end_date, Some(date(2026, 6, 10)));
    assert_eq!(previous.transferred_to, current.enrolment_id);
    assert_eq!(current.status(), pb::EnrolmentStatus::Active);
    assert_eq!(
        (
            current.province_code.as_str(),
            current.place_of_employment.as_str()
        ),
        ("11", "110105")
    );
    assert_eq!(current.cover_start_date, Some(date(2026, 6, 10)));
    assert_eq!(current.transferred_from, old.enrolment_id);
    assert_eq!(
        (
            current.id_number_masked.as_str(),
            current.name_masked.as_str(),
            current.phone_masked.as_str()
        ),
        (
            old.id_number_masked.as_str(),
            old.name_masked.as_str(),
            old.phone_masked.as_str()
        )
    );

    let old_history = f.history(&old.enrolment_id).await;
    assert_eq!(
        status_of(&old_history),
        vec![
            pb::EnrolmentStatus::Active,
            pb::EnrolmentStatus::Transferred
        ]
    );
    assert_eq!(old_history[1].related_enrolment_id, current.enrolment_id);
    let new_history = f.history(&current.enrolment_id).await;
    assert_eq!(new_history.len(), 1);
    assert_eq!(new_history[0].reason(), pb::ChangeReason::Moved);
    assert_eq!(new_history[0].related_enrolment_id, old.enrolment_id);

    // Each province's event stream gets its side of the move.
    let events: Vec<(String, String)> =
        sqlx::query_as("SELECT province_code::text, event_type FROM events ORDER BY event_id")
            .fetch_all(&f.app.pool)
            .await
            .expect("events");
    assert!(events.contains(&("44".into(), "enrolment.changed.v1".into())));
    assert!(events.contains(&("11".into(), "enrolment.opened.v1".into())));

    // Beijing's agency sees the new enrolment, not the old one; the new one can be worked on.
    let beijing = f.app.token("province:11").await;
    let get = |id: &str| pb::GetEnrolmentRequest {
        enrolment_id: id.into(),
    };
    f.client
        .get_enrolment(authed(get(&current.enrolment_id), &beijing))
        .await
        .expect("Beijing sees it");
    assert_eq!(
        f.client
            .get_enrolment(authed(get(&old.enrolment_id), &beijing))
            .await
            .expect_err("old")
            .code(),
        Code::NotFound
    );
    f.suspend(&current.enrolment_id, date(2026, 6, 12))
        .await
        .expect("the continuation is a normal enrolment");

    // Refusals: same place, outside the pilot, another platform's enrolment, a non-platform caller.
    let other = f.enrol(2).await.enrolment_id;
    assert_field_violation(
        &f.transfer(&other, "440305", date(2026, 6, 10))
            .await
            .expect_err("same place"),
        "new_place_of_employment",
    );
    assert_eq!(
        f.transfer(&other, "410105", date(2026, 6, 10))
            .await
            .expect_err("Henan")
            .code(),
        Code::FailedPrecondition
    );
    let eleme = f.app.token("platform:eleme").await;
    let theirs = pb::SuspendEnrolmentRequest {
        request_id: "e".into(),
        enrolment_id: other.clone(),
        effective_date: Some(date(2026, 6, 10)),
        reason: REASON,
    };
    assert_eq!(
        f.client
            .suspend_enrolment(authed(theirs.clone(), &eleme))
            .await
            .expect_err("another platform's")
            .code(),
        Code::NotFound
    );
    let agency = f.app.token("province:44").await;
    assert_eq!(
        f.client
            .suspend_enrolment(authed(theirs, &agency))
            .await
            .expect_err("agency")
            .code(),
        Code::PermissionDenied
    );
    f.app.stop().await;
}

#[tokio::test]
async fn lifecycle_changes_are_idempotent_and_suspended_still_counts_as_open() {
    let mut f = fixture().await;
    let id = f.enrol(1).await.enrolment_id;
    let request = pb::SuspendEnrolmentRequest {
        request_id: "once".into(),
        enrolment_id: id.clone(),
        effective_date: Some(date(2026, 6, 1)),
        reason: REASON,
    };
    let first = f
        .client
        .suspend_enrolment(authed(request.clone(), &f.token))
        .await
        .expect("first")
        .into_inner();
    let again = f
        .client
        .suspend_enrolment(authed(request.clone(), &f.token))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(f.history(&id).await.len(), 2);
    let reused = pb::SuspendEnrolmentRequest {
        effective_date: Some(date(2026, 6, 2)),
        ..request
    };
    assert_field_violation(
        &f.client
            .suspend_enrolment(authed(reused, &f.token))
            .await
            .expect_err("reused key"),
        "request_id",
    );

    let duplicate = enrol_request("enrol-dup", &id_number("110105", "19900101", 1));
    let status = f
        .client
        .enrol_worker(authed(duplicate, &f.token))
        .await
        .expect_err("suspended is open");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains(&id));
    f.app.stop().await;
}

/// What a caller gets for `enrolment_id` through Get, History, Suspend and Transfer: (code,
/// message) of each.
async fn answers(
    client: &mut EnrolmentServiceClient<Channel>,
    token: &str,
    enrolment_id: &str,
) -> Vec<(Code, String)> {
    let id = || enrolment_id.to_owned();
    let mut out = Vec::new();
    let mut note = |result: Result<(), tonic::Status>| {
        let status = result.expect_err("refused");
        out.push((status.code(), status.message().to_owned()));
    };
    note(
        client
            .get_enrolment(authed(
                pb::GetEnrolmentRequest { enrolment_id: id() },
                token,
            ))
            .await
            .map(drop),
    );
    note(
        client
            .get_enrolment_history(authed(
                pb::GetEnrolmentHistoryRequest { enrolment_id: id() },
                token,
            ))
            .await
            .map(drop),
    );
    note(
        client
            .suspend_enrolment(authed(
                pb::SuspendEnrolmentRequest {
                    request_id: format!("s-{enrolment_id}"),
                    enrolment_id: id(),
                    effective_date: Some(date(2026, 6, 10)),
                    reason: REASON,
                },
                token,
            ))
            .await
            .map(drop),
    );
    note(
        client
            .transfer_enrolment(authed(
                pb::TransferEnrolmentRequest {
                    request_id: format!("x-{enrolment_id}"),
                    enrolment_id: id(),
                    new_place_of_employment: "110105".into(),
                    effective_date: Some(date(2026, 6, 10)),
                    reason: pb::ChangeReason::Moved as i32,
                },
                token,
            ))
            .await
            .map(drop),
    );
    out
}

/// Another tenant's enrolment answers exactly as an id that does not exist: same code, same
/// message with the id in its place. An agency that can see the enrolment may not change it.
#[tokio::test]
async fn another_tenants_enrolment_is_indistinguishable_from_a_random_id() {
    let mut f = fixture().await;
    let theirs = f.enrol(1).await.enrolment_id;
    let random = uuid::Uuid::now_v7().to_string();
    let not_found = |id: &str| vec![(Code::NotFound, format!("no enrolment {id}")); 4];
    for role in ["platform:eleme", "province:11"] {
        let token = f.app.token(role).await;
        assert_eq!(
            answers(&mut f.client, &token, &theirs).await,
            not_found(&theirs),
            "{role} on another tenant's enrolment"
        );
        assert_eq!(
            answers(&mut f.client, &token, &random).await,
            not_found(&random),
            "{role} on a random id"
        );
    }

    // Guangdong's agency sees it (Get, History) but may not change it.
    let guangdong = f.app.token("province:44").await;
    f.client
        .get_enrolment(authed(
            pb::GetEnrolmentRequest {
                enrolment_id: theirs.clone(),
            },
            &guangdong,
        ))
        .await
        .expect("the agency of its province reads it");
    let suspend = pb::SuspendEnrolmentRequest {
        request_id: "agency".into(),
        enrolment_id: theirs.clone(),
        effective_date: Some(date(2026, 6, 10)),
        reason: REASON,
    };
    let status = f
        .client
        .suspend_enrolment(authed(suspend.clone(), &guangdong))
        .await
        .expect_err("seen, not changed");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let beijing = f.app.token("province:11").await;
    let status = f
        .client
        .suspend_enrolment(authed(suspend, &beijing))
        .await
        .expect_err("unseen");
    assert_eq!(
        (status.code(), status.message()),
        (Code::NotFound, format!("no enrolment {theirs}").as_str())
    );

    // Nothing was written by any refusal, and the owner can still act.
    assert_eq!(f.history(&theirs).await.len(), 1);
    assert_eq!(f.app.count("events").await, 1);
    assert_eq!(
        f.app.count("idempotency_keys").await,
        1,
        "the enrolment's own"
    );
    f.suspend(&theirs, date(2026, 6, 10))
        .await
        .expect("the platform changes its own");
    f.app.stop().await;
}
