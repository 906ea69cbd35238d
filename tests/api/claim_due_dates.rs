//! Working days past the loaded years: a decision due date that reaches into a year whose holiday
//! notice is not loaded is counted on that year's statutory holidays and marked provisional; when
//! SetPublicHoliday loads the year, it is counted again, with a timeline entry and an event.
use crate::claims::{Setup, apply_request, claims, report_request, set_today};
use crate::helpers::*;
use flexcover::pb;

#[tokio::test]
async fn a_due_date_across_an_unloaded_year_is_provisional_and_moves_when_the_year_is_loaded() {
    let Setup {
        app,
        meituan,
        agency,
    } = crate::claims::setup().await;
    // Reported and applied for on Monday 30 November 2026; only 2025 and 2026 are loaded.
    set_today(&app, "2026-11-30");
    let mut client = claims(&app).await;
    let claim_id = client
        .report_incident(authed(
            report_request("r1", STANDARD_ID, "2026-06-14T02:10:00Z"),
            &meituan,
        ))
        .await
        .expect("reported")
        .into_inner()
        .claim_id;
    let applied = client
        .apply_for_confirmation(authed(apply_request("a1", &claim_id, ""), &meituan))
        .await
        .expect("applied")
        .into_inner();
    // 23 working days in December, New Year's Day 2027 (statutory) skipped: 12 January 2027, not
    // the 11th a plain weekday count gives; provisional.
    assert_eq!(applied.decision_due, Some(date(2027, 1, 12)));
    assert!(applied.decision_due_provisional);
    let detail = &applied.timeline.last().expect("entry").detail;
    assert!(detail.contains("provisional"), "{detail}");

    // The 2027 notice is loaded; it makes Monday 4 January a bridge day off.
    let admin = app.token("national-admin").await;
    app.admin_client()
        .await
        .set_public_holiday(authed(
            pb::SetPublicHolidayRequest {
                request_id: "h-2027-01-04".into(),
                day: Some(date(2027, 1, 4)),
                holiday: true,
                name: "New Year's Day".into(),
            },
            &admin,
        ))
        .await
        .expect("loaded");
    let moved = client
        .get_claim(authed(
            pb::GetClaimRequest {
                claim_id: claim_id.clone(),
            },
            &agency,
        ))
        .await
        .expect("read")
        .into_inner();
    assert_eq!(moved.decision_due, Some(date(2027, 1, 13)));
    assert!(!moved.decision_due_provisional);
    assert_eq!(moved.status(), pb::ClaimStatus::Applied);
    let last = moved.timeline.last().expect("entry");
    assert_eq!(last.step(), pb::ClaimStep::DueRecounted);
    assert!(
        last.detail.contains("2027-01-12 -> 2027-01-13"),
        "{}",
        last.detail
    );
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'claim.due_recounted.v1'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("events");
    assert_eq!(events, 1);
    // A later day of the notice changes nothing more: no entry, no event.
    app.admin_client()
        .await
        .set_public_holiday(authed(
            pb::SetPublicHolidayRequest {
                request_id: "h-2027-02-05".into(),
                day: Some(date(2027, 2, 5)),
                holiday: true,
                name: "Spring Festival".into(),
            },
            &admin,
        ))
        .await
        .expect("loaded");
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE event_type = 'claim.due_recounted.v1'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("events");
    assert_eq!(events, 1);
    app.stop().await;
}
