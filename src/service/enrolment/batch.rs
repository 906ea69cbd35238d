//! The chunk path of BatchEnrolWorkers: a chunk of up to a thousand commands is prepared in memory
//! (rules, encryption, sealed replies) while the previous chunk is written, then written with the
//! fixed handful of set-based statements of `store::enrolment_writes`. A refused item never fails
//! its neighbours: it gets its own error and the rest of the chunk goes on.
use super::enrol::{EnrolWorkerCommand, Enroller};
use crate::error::{AppError, AppResult};
use crate::service::AppState;
use crate::store::enrolment_writes::{NewEnrolment, Outcome};
use crate::store::enrolments::EnrolmentRow;
use prost::Message;
use std::collections::HashMap;

/// A chunk checked and encrypted, waiting for its turn to be written.
pub struct PreparedChunk {
    first_index: i64,
    slots: Vec<Slot>,
    to_write: Vec<NewEnrolment>,
}

/// Per item: refused in memory, a position among the items to write, or a repeat of an earlier
/// item of its chunk with the same request_id.
enum Slot {
    Refused(AppError),
    Write(usize),
    RepeatOf(usize),
}

impl PreparedChunk {
    /// What the chunk's writes touch, as (request_id, person key) pairs: chunks that share none
    /// cannot change each other's outcome and may be written at once.
    pub fn touches(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.to_write
            .iter()
            .map(|item| (item.request_id.as_str(), item.person_key.as_slice()))
    }
}

/// Prepares a chunk whose first item is the stream's `first_index`-th. `commands` are the items as
/// decoded: an item that did not decode keeps its error.
pub fn prepare_chunk<R>(
    state: &AppState,
    enroller: &Enroller,
    first_index: i64,
    commands: Vec<AppResult<EnrolWorkerCommand>>,
) -> PreparedChunk
where
    R: Message + for<'a> From<&'a EnrolmentRow>,
{
    let now = state.clock.now();
    let mut slots = Vec::with_capacity(commands.len());
    let mut to_write: Vec<NewEnrolment> = Vec::with_capacity(commands.len());
    let mut by_request_id: HashMap<String, usize> = HashMap::new();
    for command in commands {
        let prepared = command.and_then(|command| enroller.prepare::<R>(state, command, now));
        let slot = match prepared {
            Err(error) => Slot::Refused(error),
            Ok(item) => match by_request_id.get(&item.request_id) {
                Some(&earlier) if to_write[earlier].request_hash == item.request_hash => {
                    Slot::RepeatOf(earlier)
                }
                Some(_) => Slot::Refused(AppError::reused_request_id()),
                None => {
                    by_request_id.insert(item.request_id.clone(), to_write.len());
                    to_write.push(item);
                    Slot::Write(to_write.len() - 1)
                }
            },
        };
        slots.push(slot);
    }
    PreparedChunk {
        first_index,
        slots,
        to_write,
    }
}

/// A written chunk: one result per item, in stream order from `first_index`.
pub struct WrittenChunk<R> {
    pub first_index: i64,
    pub results: Vec<AppResult<R>>,
}

/// Writes one prepared chunk in one transaction. Only a failure of the whole transaction is an
/// error; each item's refusal is its own result.
pub async fn write_chunk<R: Message + Default>(
    state: &AppState,
    enroller: &Enroller,
    chunk: PreparedChunk,
) -> AppResult<WrittenChunk<R>> {
    let PreparedChunk {
        first_index,
        slots,
        to_write,
    } = chunk;
    let outcomes: Vec<Outcome> = if to_write.is_empty() {
        Vec::new()
    } else {
        enroller
            .write(&state.pool, &to_write, state.clock.now())
            .await?
    };
    let reply_of = |position: usize| -> AppResult<R> {
        let outcome = outcomes
            .get(position)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("an enrolment item was written without an outcome"))?;
        enroller.reply(state, &to_write[position], outcome)
    };
    let results = slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Refused(error) => Err(error),
            Slot::Write(position) | Slot::RepeatOf(position) => reply_of(position),
        })
        .collect();
    Ok(WrittenChunk {
        first_index,
        results,
    })
}
