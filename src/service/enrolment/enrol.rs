//! EnrolWorker, and the stages every enrolment goes through, one at a time or in a chunk of a
//! batch: `prepare` (rules, encryption, the reply and event it will produce, in memory), `write`
//! (set-based, one transaction per chunk), `reply` (the item's outcome for the caller).
use super::{events, own_platform};
use crate::auth::Principal;
use crate::domain::clock::china_date;
use crate::domain::code::Code;
use crate::domain::enrolment::{
    CoverStartWindows, EnrolWorker, EnrolmentStatus, check_cover_start, check_minimum_age,
};
use crate::domain::industry::Industry;
use crate::domain::platform::PlatformId;
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations, is_retryable};
use crate::policy::{self, Action, Owner};
use crate::service::{AppState, RequestKey, not_in_pilot, open_reply, seal_reply};
use crate::store::enrolment_writes::{self, NewEnrolment, Outcome};
use crate::store::enrolments::EnrolmentRow;
use crate::store::idempotency::Stored;
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use std::sync::Arc;
use uuid::Uuid;

/// The idempotency scope of enrolments, shared by EnrolWorker and BatchEnrolWorkers: a retried
/// item replays whichever way it came.
pub const RPC: &str = "EnrolWorker";

/// Enrol a worker for the calling platform.
#[derive(Debug, Clone)]
pub struct EnrolWorkerCommand {
    pub key: RequestKey,
    pub worker: EnrolWorker,
}

/// What enrolments by one platform need to know, loaded once per call or stream.
pub struct Enroller {
    role: Role,
    platform: PlatformId,
    industries: Vec<Industry>,
    /// Read when the call or stream starts: a stream sees the windows of its start.
    windows: CoverStartWindows,
    caller: String,
}

impl Enroller {
    /// The calling platform, which the policy must allow to enrol and which must be registered.
    pub async fn load(state: &AppState, principal: &Principal) -> AppResult<Self> {
        let own = own_platform(principal);
        policy::authorize_scope(
            &principal.role,
            Action::EnrolWorker,
            Owner {
                province: None,
                platform: own,
            },
        )?;
        let platform = own
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the policy let a caller without a platform enrol"))?;
        let registered = state
            .cache
            .platform(&state.pool, platform.as_str())
            .await?
            .ok_or_else(|| {
                AppError::FailedPrecondition(format!("platform {platform} is not registered"))
            })?;
        let industries = registered
            .industries
            .iter()
            .filter_map(|name| Industry::from_code(name))
            .collect();
        Ok(Self {
            role: principal.role.clone(),
            platform,
            industries,
            windows: state.cache.cover_start_windows(&state.pool).await?,
            caller: principal.caller_key(),
        })
    }

    /// The rules an enrolment must meet beyond its fields, every violation at once.
    fn check(&self, worker: &EnrolWorker, today: NaiveDate) -> AppResult<()> {
        let mut violations = Violations::new();
        if !self.industries.contains(&worker.industry) {
            let offered: Vec<&str> = self.industries.iter().map(|i| i.as_str()).collect();
            violations.add(
                "industry",
                format!(
                    "platform {} is registered for {}",
                    self.platform,
                    offered.join(", ")
                ),
            );
        }
        violations.check(
            "worker.id_number",
            check_minimum_age(&worker.id_number, worker.cover_start),
        );
        let province = worker.place.province();
        violations.check(
            "cover_start_date",
            check_cover_start(
                worker.cover_start,
                today,
                self.windows.days_ahead(Some(&province)),
            ),
        );
        violations.into_result()
    }

    /// Checks, encrypts and seals one enrolment into a row ready to write, with the reply `R` it
    /// will answer (sealed for replays) and its event.
    pub fn prepare<R>(
        &self,
        state: &AppState,
        command: EnrolWorkerCommand,
        now: DateTime<Utc>,
    ) -> AppResult<NewEnrolment>
    where
        R: Message + for<'a> From<&'a EnrolmentRow>,
    {
        let EnrolWorkerCommand { key, worker } = command;
        let province = worker.place.province();
        policy::authorize_scope(
            &self.role,
            Action::EnrolWorker,
            Owner::of(&province, &self.platform),
        )?;
        self.check(&worker, china_date(now))?;
        let enrolment_id = Uuid::now_v7();
        let person_key = state.pii.person_key(&worker.id_number);
        let row = EnrolmentRow {
            province_code: province.as_str().to_owned(),
            enrolment_id,
            platform_id: self.platform.as_str().to_owned(),
            place_code: worker.place.as_str().to_owned(),
            industry: worker.industry,
            status: EnrolmentStatus::Active,
            cover_start: worker.cover_start,
            id_masked: worker.id_number.masked(),
            name_masked: worker.name.masked(),
            phone_masked: worker.phone.masked(),
            created_at: now,
            cover_end: None,
            transferred_from: None,
            transferred_to: None,
        };
        let event = events::opened(&row, &person_key, &self.caller, now);
        let response = seal_reply(state, &self.caller, &key.request_id, &R::from(&row))?;
        // Personal data is sealed to its row.
        let row_context = enrolment_id.as_bytes();
        Ok(NewEnrolment {
            request_id: key.request_id,
            request_hash: key.request_hash,
            enrolment_id,
            province,
            id_number: state.pii.seal(worker.id_number.as_str(), &person_key)?,
            person_key,
            id_masked: row.id_masked,
            birth_date: worker.id_number.birth_date(),
            place: worker.place,
            industry: worker.industry,
            cover_start: worker.cover_start,
            name: state.pii.seal(worker.name.as_str(), row_context)?,
            name_masked: row.name_masked,
            phone: state.pii.seal(worker.phone.as_str(), row_context)?,
            phone_masked: row.phone_masked,
            response,
            event,
            created_at: now,
        })
    }

    /// The idempotency scope and event actor of its calls.
    pub fn caller(&self) -> &str {
        &self.caller
    }

    /// Writes prepared items in one transaction, retrying the whole chunk on a deadlock.
    pub async fn write(
        &self,
        pool: &sqlx::PgPool,
        items: &[NewEnrolment],
        now: DateTime<Utc>,
    ) -> AppResult<Vec<Outcome>> {
        let context = enrolment_writes::Context {
            caller: &self.caller,
            rpc: RPC,
            platform_id: self.platform.as_str(),
            now,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = crate::service::begin_on(pool).await?;
            match enrolment_writes::create(&mut tx, &context, items).await {
                Ok(outcomes) => {
                    tx.commit().await?;
                    return Ok(outcomes);
                }
                Err(error) if attempt < 3 && is_retryable(&error) => {
                    tracing::info!(attempt, "enrolment chunk hit a deadlock; retrying");
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The reply of an item's outcome, or the error the caller sees.
    pub fn reply<R: Message + Default>(
        &self,
        state: &AppState,
        item: &NewEnrolment,
        outcome: Outcome,
    ) -> AppResult<R> {
        let stored = match outcome {
            Outcome::Created => Stored::Sealed(item.response.clone()),
            Outcome::Replayed(stored) => stored,
            Outcome::KeyReused => return Err(AppError::reused_request_id()),
            Outcome::OutOfScope => {
                return Err(not_in_pilot(
                    &self.platform,
                    &item.province,
                    item.cover_start,
                ));
            }
            Outcome::AlreadyOpen(existing) => {
                return Err(AppError::AlreadyExists(format!(
                    "this worker already has an open enrolment with platform {}: {existing}",
                    self.platform
                )));
            }
        };
        open_reply(state, &self.caller, &item.request_id, &stored)
    }
}

/// EnrolWorker: a chunk of one through the set-based path.
pub async fn enrol<R>(
    state: &AppState,
    principal: &Principal,
    command: EnrolWorkerCommand,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a EnrolmentRow>,
{
    let enroller = Arc::new(Enroller::load(state, principal).await?);
    let now = state.clock.now();
    let item = enroller.prepare::<R>(state, command, now)?;
    crate::service::record_province(item.province.as_str());
    // Written with whatever other EnrolWorker calls arrive meanwhile, in one transaction.
    let (item, outcome) = state.enrolments.write(Arc::clone(&enroller), item).await?;
    let reply = enroller.reply(state, &item, outcome?)?;
    tracing::info!(enrolment_id = %item.enrolment_id, "worker enrolled");
    Ok(reply)
}
