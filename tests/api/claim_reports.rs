//! What a report records about cover: the order the report names is the covering order when it
//! was in progress at the instant, even when another order was opened later.
use crate::claims::{Setup, claims, report_request};
use crate::helpers::*;

#[tokio::test]
async fn the_order_the_report_names_wins_when_it_covers_the_instant() {
    let Setup { app, meituan, .. } = crate::claims::setup().await;
    // order-1 runs 10:00-10:30 Beijing time; order-2, accepted at 10:05, runs until 10:40.
    crate::claims::record_order(
        &app,
        &meituan,
        "order-2",
        "2026-06-14T02:05:00Z",
        "2026-06-14T02:40:00Z",
    )
    .await;
    let client = claims(&app).await;
    let report = |request_id: &str, order_id: &str| {
        let mut request = report_request(request_id, STANDARD_ID, "2026-06-14T02:10:00Z");
        request.order_id = order_id.into();
        let mut client = client.clone();
        let request = authed(request, &meituan);
        async move { client.report_incident(request).await }
    };
    // Both orders cover 10:10: the named one wins, whichever it is.
    let first = report("r1", "order-1")
        .await
        .expect("reported")
        .into_inner();
    assert_eq!(first.covering_order_id, "order-1");
    let second = report("r2", "order-2")
        .await
        .expect("reported")
        .into_inner();
    assert_eq!(second.covering_order_id, "order-2");
    // An order that is not in progress then does not win: the latest accepted covers.
    let unknown = report("r3", "order-9")
        .await
        .expect("reported")
        .into_inner();
    assert!(unknown.covered);
    assert_eq!(unknown.covering_order_id, "order-2");
    app.stop().await;
}
