//! Concurrent EnrolWorker calls are written together, yet each caller gets exactly its own result
//! or its own error: fresh workers, one person asked for five times, invalid requests, a province
//! outside the pilot and a request sent twice at once.
use crate::helpers::*;
use flexcover::pb;
use tonic::Code;

enum Expect {
    Enrolled(String),
    SamePerson,
    Invalid,
    OutOfPilot,
    Twice,
}

fn requests() -> Vec<(pb::EnrolWorkerRequest, Expect)> {
    let mut requests = Vec::new();
    for n in 0..30 {
        let id = id_number("440305", "19900101", n);
        requests.push((
            enrol_request(&format!("fresh-{n}"), &id),
            Expect::Enrolled(id),
        ));
    }
    for n in 0..5 {
        let request = enrol_request(&format!("same-{n}"), STANDARD_ID);
        requests.push((request, Expect::SamePerson));
    }
    for n in 0..3 {
        let mut request =
            enrol_request(&format!("invalid-{n}"), &id_number("440305", "19900102", n));
        request.cover_start_date = Some(date(2030, 1, 1));
        requests.push((request, Expect::Invalid));
    }
    for n in 0..2 {
        let mut request = enrol_request(&format!("henan-{n}"), &id_number("410105", "19900103", n));
        request.place_of_employment = "410105".into();
        requests.push((request, Expect::OutOfPilot));
    }
    for _ in 0..2 {
        let request = enrol_request("twice", &id_number("440305", "19900104", 1));
        requests.push((request, Expect::Twice));
    }
    requests
}

#[tokio::test]
async fn coalesced_callers_each_get_their_own_result_or_error() {
    let app = spawn_app().await;
    app.seed_pilot().await;
    let meituan = app.token("platform:meituan").await;
    let client = app.enrolment_client().await;
    let calls: Vec<_> = requests()
        .into_iter()
        .map(|(request, expect)| {
            let mut client = client.clone();
            let request = authed(request, &meituan);
            tokio::spawn(async move { (client.enrol_worker(request).await, expect) })
        })
        .collect();
    let mut same_person_enrolled = 0;
    let mut twice_ids = Vec::new();
    for call in calls {
        let (answer, expect) = call.await.expect("call task");
        match expect {
            Expect::Enrolled(id) => {
                let enrolment = answer
                    .expect("a fresh worker")
                    .into_inner()
                    .enrolment
                    .expect("enrolment");
                let masked = format!("{}********{}", &id[..6], &id[14..]);
                assert_eq!(enrolment.id_number_masked, masked, "its own enrolment");
            }
            Expect::SamePerson => match answer {
                Ok(_) => same_person_enrolled += 1,
                Err(status) => assert_eq!(status.code(), Code::AlreadyExists, "{status:?}"),
            },
            Expect::Invalid => {
                let status = answer.expect_err("invalid");
                assert_field_violation(&status, "cover_start_date");
            }
            Expect::OutOfPilot => {
                let status = answer.expect_err("outside the pilot");
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
            }
            Expect::Twice => {
                let enrolment = answer
                    .expect("sent twice")
                    .into_inner()
                    .enrolment
                    .expect("enrolment");
                twice_ids.push(enrolment.enrolment_id);
            }
        }
    }
    assert_eq!(
        same_person_enrolled, 1,
        "one of five requests for one person wins"
    );
    assert_eq!(twice_ids.len(), 2);
    assert_eq!(twice_ids[0], twice_ids[1], "a request sent twice replays");
    assert_eq!(app.count("enrolments").await, 32);
    // Written together: fewer transactions than enrolments.
    let transactions: i64 = sqlx::query_scalar("SELECT count(DISTINCT xmin::text) FROM enrolments")
        .fetch_one(&app.pool)
        .await
        .expect("transactions");
    assert!(
        transactions < 32,
        "{transactions} transactions for 32 enrolments"
    );
    app.stop().await;
}
