//! Writers that enrol fresh workers and remember every acknowledged enrolment, and the check that
//! afterwards reads each of them back through the API.
use crate::report::{Failure, Tally};
use crate::support::{authed, enrol_request, id_number};
use flexcover::pb;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// Worker numbers per writer: writer w enrols workers w·SPAN, w·SPAN+1, … (distinct ID numbers).
const SPAN: u64 = 100_000;
/// How long a writer keeps retrying one ambiguous call after the load was told to stop.
const RESOLVE_LIMIT: Duration = Duration::from_secs(120);

/// Worker n's enrolment starting today in China (a cover start may lie at most 30 days back).
pub fn enrolment(prefix: &str, n: u64) -> pb::EnrolWorkerRequest {
    use chrono::Datelike;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    pb::EnrolWorkerRequest {
        cover_start_date: Some(pb::Date {
            year: today.year(),
            month: today.month() as i32,
            day: today.day() as i32,
        }),
        ..enrol_request(prefix, n)
    }
}

/// What the writers were told.
#[derive(Default)]
pub struct Ledger {
    /// (ID number, enrolment id) of every acknowledged enrolment.
    pub acknowledged: Mutex<Vec<(String, String)>>,
    /// When each was acknowledged, in order.
    pub acknowledged_at: Mutex<Vec<Instant>>,
    pub tally: Tally,
    /// Calls still unanswered when the writers gave up (each may or may not have been written).
    pub unresolved: AtomicU64,
}

/// Writers running until `finish`.
pub struct Load {
    stop: Arc<AtomicBool>,
    writers: Vec<tokio::task::JoinHandle<()>>,
    pub ledger: Arc<Ledger>,
}

impl Load {
    /// `count` writers, each on its own connection, enrolling through `token`.
    pub fn start(endpoint: &str, token: &str, count: u64, tag: &str) -> Self {
        // request_ids are printable ASCII without spaces.
        let tag: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let ledger = Arc::new(Ledger::default());
        let writers = (0..count)
            .map(|writer| {
                let client = EnrolmentServiceClient::new(crate::processes::lazy_channel(endpoint));
                let (stop, ledger) = (Arc::clone(&stop), Arc::clone(&ledger));
                let (token, prefix) = (token.to_owned(), format!("{tag}-{writer}"));
                tokio::spawn(async move {
                    let mut client = client;
                    for n in writer * SPAN.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let request = enrolment(&prefix, n);
                        if let Some(enrolment_id) =
                            enrol_until_answered(&mut client, &token, request, &ledger, &stop).await
                        {
                            let mut acknowledged = ledger.acknowledged.lock().expect("ledger");
                            acknowledged.push((id_number(n), enrolment_id));
                            let mut at = ledger.acknowledged_at.lock().expect("ledger");
                            at.push(Instant::now());
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            writers,
            ledger,
        }
    }

    /// Stops the writers; each first settles the call it has in flight.
    pub async fn finish(self) -> Arc<Ledger> {
        self.stop.store(true, Ordering::Relaxed);
        for writer in self.writers {
            writer.await.expect("writer task");
        }
        self.ledger
    }
}

/// Sends `request` until the server answers it. An ambiguous failure (the connection broke, the
/// database went away) is retried with the same request_id, which replays the first answer if the
/// write happened. Returns the enrolment id, or None when the server refused.
async fn enrol_until_answered(
    client: &mut EnrolmentServiceClient<Channel>,
    token: &str,
    request: pb::EnrolWorkerRequest,
    ledger: &Ledger,
    stop: &AtomicBool,
) -> Option<String> {
    let mut stopped_at: Option<Instant> = None;
    loop {
        let mut call = authed(request.clone(), token);
        call.set_timeout(Duration::from_secs(5));
        let status = match client.enrol_worker(call).await {
            Ok(answer) => {
                return Some(
                    answer
                        .into_inner()
                        .enrolment
                        .expect("enrolment")
                        .enrolment_id,
                );
            }
            Err(status) => status,
        };
        if ledger.tally.failed(&status) == Failure::Definite {
            return None;
        }
        if stop.load(Ordering::Relaxed) {
            let since = *stopped_at.get_or_insert_with(Instant::now);
            if since.elapsed() > RESOLVE_LIMIT {
                ledger.unresolved.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A read with retries while the server settles; None when the record is not found.
async fn read_back<T, F, Fut>(mut call: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    for _ in 0..100 {
        match call().await {
            Ok(answer) => return Some(answer.into_inner()),
            Err(status) if status.code() == tonic::Code::NotFound => return None,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    panic!("the verification read failed 100 times")
}

/// What the database holds compared to what was acknowledged.
pub struct Verdict {
    /// Acknowledged enrolments that cannot be read back or are missing from the listing.
    pub lost: u64,
    /// Enrolments beyond one per acknowledged one: a second enrolment of a worker, or an
    /// enrolment no writer was told about.
    pub duplicates: u64,
}

/// Reads every acknowledged enrolment back (GetEnrolment, FindEnrolmentsByIdNumber) and lists all
/// of the platform's enrolments.
pub async fn verify(channel: Channel, token: &str, acknowledged: &[(String, String)]) -> Verdict {
    let mut lost = 0;
    let mut duplicates = 0;
    let mut checks = Vec::new();
    for chunk in acknowledged.chunks(acknowledged.len().div_ceil(8).max(1)) {
        let (chunk, channel, token) = (chunk.to_vec(), channel.clone(), token.to_owned());
        checks.push(tokio::spawn(async move {
            check_each(EnrolmentServiceClient::new(channel), &token, &chunk).await
        }));
    }
    for check in checks {
        let (chunk_lost, chunk_duplicates) = check.await.expect("verification task");
        lost += chunk_lost;
        duplicates += chunk_duplicates;
    }
    let listed = list_all(EnrolmentServiceClient::new(channel), token).await;
    let acknowledged_ids: HashSet<&str> = acknowledged.iter().map(|(_, id)| id.as_str()).collect();
    let unlisted = acknowledged_ids
        .iter()
        .filter(|id| !listed.contains(**id))
        .count() as u64;
    let unacknowledged = listed
        .iter()
        .filter(|id| !acknowledged_ids.contains(id.as_str()))
        .count() as u64;
    Verdict {
        lost: lost.max(unlisted),
        duplicates: duplicates + unacknowledged,
    }
}

/// (lost, duplicates) among `acknowledged`.
async fn check_each(
    client: EnrolmentServiceClient<Channel>,
    token: &str,
    acknowledged: &[(String, String)],
) -> (u64, u64) {
    let (mut lost, mut duplicates) = (0, 0);
    for (id_number, enrolment_id) in acknowledged {
        let request = pb::GetEnrolmentRequest {
            enrolment_id: enrolment_id.clone(),
        };
        let read = read_back(|| {
            let (mut client, request) = (client.clone(), authed(request.clone(), token));
            async move { client.get_enrolment(request).await }
        })
        .await;
        if read.is_none_or(|enrolment| enrolment.enrolment_id != *enrolment_id) {
            lost += 1;
        }
        let request = pb::FindEnrolmentsByIdNumberRequest {
            id_number: id_number.clone(),
        };
        let found = read_back(|| {
            let (mut client, request) = (client.clone(), authed(request.clone(), token));
            async move { client.find_enrolments_by_id_number(request).await }
        })
        .await
        .map_or(0, |found| found.enrolments.len() as u64);
        duplicates += found.saturating_sub(1);
    }
    (lost, duplicates)
}

/// Every enrolment id the platform sees.
async fn list_all(client: EnrolmentServiceClient<Channel>, token: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListEnrolmentsRequest {
            page_size: 500,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = read_back(|| {
            let (mut client, request) = (client.clone(), authed(request.clone(), token));
            async move { client.list_enrolments(request).await }
        })
        .await
        .expect("a listing is never NOT_FOUND");
        ids.extend(page.enrolments.into_iter().map(|e| e.enrolment_id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        page_token = page.next_page_token;
    }
}
