//! Concurrent EnrolWorker calls share the set-based chunk path: one transaction, one WAL flush and
//! a fixed handful of statements for many callers.
//!
//! Each call is checked and prepared on its own (an invalid one never reaches a group), then
//! handed to one gatherer task, and waits for its own outcome. The gatherer takes what has arrived
//! — no timer: a lone caller is written at once, and while groups are being written the next
//! callers gather for the group after — groups it by caller (one platform's enrolments share a
//! context) and writes each group in a task of its own, at most `IN_FLIGHT` at once. A request_id
//! appears at most once per group (a concurrent retry goes in a later group and replays). If a
//! group fails for any reason but a lost connection, its items are written again one by one, so
//! one item's failure never fails its neighbours.
use super::enrol::Enroller;
use crate::error::{AppError, AppResult};
use crate::store::enrolment_writes::{NewEnrolment, Outcome};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Items in one group, at most.
pub const MAX_GROUP: usize = 256;
/// Groups being written at once.
const IN_FLIGHT: usize = 4;
/// Calls waiting to be gathered, at most; beyond it callers wait to hand theirs over.
const QUEUE: usize = 4 * MAX_GROUP;

type Answer = (NewEnrolment, AppResult<Outcome>);

struct Pending {
    enroller: Arc<Enroller>,
    item: NewEnrolment,
    answer: oneshot::Sender<Answer>,
}

/// The handle calls join groups through; the gatherer ends when the last handle is dropped.
#[derive(Clone)]
pub struct Coalescer {
    sender: mpsc::Sender<Pending>,
}

fn gone() -> AppError {
    AppError::Unavailable("the server is shutting down; retry with the same request_id".into())
}

impl Coalescer {
    /// Groups of at most `max_group` items (1: every call alone, as before coalescing).
    pub fn start(pool: PgPool, max_group: usize) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(gather(pool, receiver, max_group.clamp(1, MAX_GROUP)));
        Self { sender }
    }

    /// Writes `item` with whatever else arrives meanwhile; the item back, with its own outcome.
    pub async fn write(&self, enroller: Arc<Enroller>, item: NewEnrolment) -> AppResult<Answer> {
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            enroller,
            item,
            answer,
        };
        self.sender.send(pending).await.map_err(|_| gone())?;
        answered.await.map_err(|_| gone())
    }
}

async fn gather(pool: PgPool, mut receiver: mpsc::Receiver<Pending>, max_group: usize) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut held_over: Vec<Pending> = Vec::new();
    loop {
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        if held_over.is_empty() {
            match receiver.recv().await {
                Some(pending) => held_over.push(pending),
                None => return,
            }
        }
        while held_over.len() < max_group {
            match receiver.try_recv() {
                Ok(pending) => held_over.push(pending),
                Err(_) => break,
            }
        }
        let (groups, rest) = into_groups(std::mem::take(&mut held_over), max_group);
        held_over = rest;
        let pool = pool.clone();
        tokio::spawn(async move {
            for group in groups {
                write_group(&pool, group).await;
            }
            drop(permit);
        });
    }
}

/// Groups by caller; a request_id already in its group waits for a later one.
fn into_groups(arrived: Vec<Pending>, max_group: usize) -> (Vec<Vec<Pending>>, Vec<Pending>) {
    let mut groups: HashMap<String, (HashSet<String>, Vec<Pending>)> = HashMap::new();
    let mut later = Vec::new();
    for pending in arrived {
        let (ids, group) = groups
            .entry(pending.enroller.caller().to_owned())
            .or_default();
        if group.len() < max_group && ids.insert(pending.item.request_id.clone()) {
            group.push(pending);
        } else {
            later.push(pending);
        }
    }
    (
        groups.into_values().map(|(_, group)| group).collect(),
        later,
    )
}

async fn write_group(pool: &PgPool, group: Vec<Pending>) {
    let Some(enroller) = group.first().map(|p| Arc::clone(&p.enroller)) else {
        return;
    };
    let (items, answers): (Vec<NewEnrolment>, Vec<oneshot::Sender<Answer>>) =
        group.into_iter().map(|p| (p.item, p.answer)).unzip();
    let now = items.iter().map(|item| item.created_at).max();
    let Some(now) = now else { return };
    let written = enroller.write(pool, &items, now).await;
    match written {
        Ok(outcomes) => {
            for ((item, outcome), answer) in items.into_iter().zip(outcomes).zip(answers) {
                let _ = answer.send((item, Ok(outcome)));
            }
        }
        Err(AppError::Unavailable(_)) => {
            for (item, answer) in items.into_iter().zip(answers) {
                let _ = answer.send((item, Err(AppError::connection_lost())));
            }
        }
        Err(error) if items.len() == 1 => {
            if let (Some(item), Some(answer)) =
                (items.into_iter().next(), answers.into_iter().next())
            {
                let _ = answer.send((item, Err(error)));
            }
        }
        Err(error) => {
            tracing::warn!(items = items.len(), %error, "an enrolment group failed; writing its items one by one");
            for (item, answer) in items.into_iter().zip(answers) {
                let outcome = enroller
                    .write(pool, std::slice::from_ref(&item), item.created_at)
                    .await
                    .and_then(|mut outcomes| {
                        outcomes
                            .pop()
                            .ok_or_else(|| anyhow::anyhow!("no outcome for an enrolment").into())
                    });
                let _ = answer.send((item, outcome));
            }
        }
    }
}
