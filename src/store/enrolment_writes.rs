//! Set-based creation of enrolments: one transaction and a fixed handful of statements for a whole
//! chunk of requests, whatever its size. Single enrolments go through the same path as a chunk of
//! one, so the rules cannot drift apart.
//!
//! Per chunk: claim the idempotency keys (with the responses, known in advance); check the pilot
//! scope; insert persons, enrolments, their first history entries and their events; release the
//! claims of items that failed. Rows are written in key order, so concurrent chunks wait on each
//! other rather than deadlock.
use super::idempotency::{self, BatchClaim, BatchKey};
use super::{Tx, column};
use crate::domain::division::{PlaceOfEmployment, ProvinceCode};
use crate::domain::enrolment::EnrolmentStatus;
use crate::domain::industry::Industry;
use crate::domain::lifecycle::Reason;
use crate::error::AppResult;
use crate::pii::Sealed;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A validated, encrypted enrolment ready to write, with the response and event it will produce.
pub struct NewEnrolment {
    pub request_id: String,
    pub request_hash: Vec<u8>,
    pub enrolment_id: Uuid,
    pub province: ProvinceCode,
    pub person_key: Vec<u8>,
    pub id_number: Sealed,
    pub id_masked: String,
    pub birth_date: NaiveDate,
    pub place: PlaceOfEmployment,
    pub industry: Industry,
    pub cover_start: NaiveDate,
    pub name: Sealed,
    pub name_masked: String,
    pub phone: Sealed,
    pub phone_masked: String,
    /// The encoded reply, sealed, stored for replays.
    pub response: Sealed,
    /// Encoded event payload.
    pub event: Vec<u8>,
    /// When its call was served: coalesced calls share a transaction, not a time.
    pub created_at: DateTime<Utc>,
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// Seen before: the stored response.
    Replayed(idempotency::Stored),
    /// The request_id was used for a different request.
    KeyReused,
    /// The platform is not in the pilot in that province on the start date.
    OutOfScope,
    /// The platform already has an open enrolment for the person: its id.
    AlreadyOpen(Uuid),
}

/// Who is writing and when.
pub struct Context<'a> {
    pub caller: &'a str,
    pub rpc: &'a str,
    pub platform_id: &'a str,
    pub now: DateTime<Utc>,
}

/// Writes a chunk; `items` must have distinct request_ids. Returns one outcome per item, in order.
pub async fn create(
    tx: &mut Tx,
    context: &Context<'_>,
    items: &[NewEnrolment],
) -> AppResult<Vec<Outcome>> {
    let keys: Vec<BatchKey> = items
        .iter()
        .map(|item| BatchKey {
            request_id: &item.request_id,
            request_hash: &item.request_hash,
            response: Some(&item.response),
        })
        .collect();
    let claims =
        idempotency::claim_many(tx, context.caller, context.rpc, &keys, context.now).await?;
    let mut outcomes: Vec<Option<Outcome>> = claims
        .into_iter()
        .map(|claim| match claim {
            BatchClaim::Fresh => None,
            BatchClaim::Replay(response) => Some(Outcome::Replayed(response)),
            BatchClaim::Mismatch => Some(Outcome::KeyReused),
        })
        .collect();

    let fresh: Vec<usize> = (0..items.len())
        .filter(|&i| outcomes[i].is_none())
        .collect();
    for i in out_of_scope(tx, context.platform_id, items, &fresh).await? {
        outcomes[i] = Some(Outcome::OutOfScope);
    }
    let mut candidates: Vec<usize> = (0..items.len())
        .filter(|&i| outcomes[i].is_none())
        .collect();
    candidates.sort_by(|&a, &b| items[a].person_key.cmp(&items[b].person_key));
    if !candidates.is_empty() {
        let people: Vec<super::persons::NewPerson> = candidates
            .iter()
            .map(|&i| super::persons::NewPerson {
                person_key: &items[i].person_key,
                id_number: &items[i].id_number,
                id_masked: &items[i].id_masked,
                birth_date: items[i].birth_date,
            })
            .collect();
        super::persons::ensure(tx, &people, context.now).await?;
        let created = insert_enrolments(tx, context, items, &candidates).await?;
        let conflicts: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|i| !created.contains(&items[*i].enrolment_id))
            .collect();
        for (i, existing) in open_enrolments(tx, context.platform_id, items, &conflicts).await? {
            outcomes[i] = Some(Outcome::AlreadyOpen(existing));
        }
        let created: Vec<usize> = candidates
            .into_iter()
            .filter(|i| outcomes[*i].is_none())
            .collect();
        insert_first_history(tx, context, items, &created).await?;
        insert_events(tx, items, &created).await?;
        // Their responses were stored with their claims.
        for i in created {
            outcomes[i] = Some(Outcome::Created);
        }
    }
    let failed: Vec<&str> = fresh
        .iter()
        .filter(|&&i| !matches!(outcomes[i], Some(Outcome::Created)))
        .map(|&i| items[i].request_id.as_str())
        .collect();
    idempotency::release_many(tx, context.caller, &failed).await?;
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome.ok_or_else(|| {
                anyhow::anyhow!("an enrolment item was left without an outcome").into()
            })
        })
        .collect()
}

/// The items whose (province, start date) lies outside the platform's pilot scope.
async fn out_of_scope(
    tx: &mut Tx,
    platform_id: &str,
    items: &[NewEnrolment],
    which: &[usize],
) -> AppResult<Vec<usize>> {
    let mut pairs: Vec<(&str, NaiveDate)> = which
        .iter()
        .map(|&i| (items[i].province.as_str(), items[i].cover_start))
        .collect();
    pairs.sort();
    pairs.dedup();
    let provinces: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    let dates: Vec<NaiveDate> = pairs.iter().map(|p| p.1).collect();
    let covered: Vec<(String, NaiveDate)> = sqlx::query!(
        r#"SELECT t.province_code::text AS "province_code!", t.day AS "day!" FROM UNNEST($1::text[], $2::date[]) AS t(province_code, day)
         WHERE EXISTS (SELECT 1 FROM pilot_scope s
                       WHERE s.province_code = t.province_code AND s.platform_id = $3
                         AND daterange(s.valid_from, s.valid_to) @> t.day)"#,
        provinces as _,
        &dates,
        platform_id,
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|row| (row.province_code, row.day))
    .collect();
    let covered: HashSet<(String, NaiveDate)> = covered.into_iter().collect();
    Ok(which
        .iter()
        .copied()
        .filter(|&i| {
            !covered.contains(&(items[i].province.as_str().to_owned(), items[i].cover_start))
        })
        .collect())
}

/// Inserts the enrolments that do not collide with an open one; returns the ids created.
async fn insert_enrolments(
    tx: &mut Tx,
    context: &Context<'_>,
    items: &[NewEnrolment],
    which: &[usize],
) -> AppResult<HashSet<Uuid>> {
    let text = |f: fn(&NewEnrolment) -> &str| column(items, which, f);
    let bytes = |f: fn(&NewEnrolment) -> &[u8]| column(items, which, f);
    let created: Vec<Uuid> = sqlx::query_scalar!(
        "INSERT INTO enrolments (province_code, enrolment_id, platform_id, person_key, place_code,
             industry, status, cover_start, status_since, name_ciphertext, name_masked,
             phone_ciphertext, phone_masked, pii_key_id, created_at, created_by)
         SELECT t.province_code, t.enrolment_id, $12, t.person_key, t.place_code, t.industry,
                $15, t.cover_start, t.cover_start, t.name_ciphertext, t.name_masked, t.phone_ciphertext,
                t.phone_masked, t.pii_key_id, t.created_at, $14
         FROM UNNEST($1::text[], $2::uuid[], $3::bytea[], $4::text[], $5::text[], $6::date[],
                     $7::bytea[], $8::text[], $9::bytea[], $10::text[], $11::text[], $13::timestamptz[])
              AS t(province_code, enrolment_id, person_key, place_code, industry, cover_start,
                   name_ciphertext, name_masked, phone_ciphertext, phone_masked, pii_key_id, created_at)
         ON CONFLICT (platform_id, person_key) WHERE status IN ('active', 'suspended') DO NOTHING
         RETURNING enrolment_id",
        text(|item| item.province.as_str()) as _,
        &column(items, which, |item| item.enrolment_id),
        bytes(|item| &item.person_key) as _,
        text(|item| item.place.as_str()) as _,
        column(items, which, |item| item.industry) as _,
        &column(items, which, |item| item.cover_start),
        bytes(|item| &item.name.bytes) as _,
        text(|item| &item.name_masked) as _,
        bytes(|item| &item.phone.bytes) as _,
        text(|item| &item.phone_masked) as _,
        text(|item| &item.name.key_id) as _,
        context.platform_id,
        &column(items, which, |item| item.created_at),
        context.caller,
        EnrolmentStatus::Active as EnrolmentStatus,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(created.into_iter().collect())
}

/// For items that collided: the open enrolment of the same platform and person.
async fn open_enrolments(
    tx: &mut Tx,
    platform_id: &str,
    items: &[NewEnrolment],
    which: &[usize],
) -> AppResult<Vec<(usize, Uuid)>> {
    if which.is_empty() {
        return Ok(Vec::new());
    }
    let keys = column(items, which, |item| item.person_key.as_slice());
    let rows: Vec<(Vec<u8>, Uuid)> = sqlx::query!(
        "SELECT person_key, enrolment_id FROM enrolments
         WHERE platform_id = $1 AND person_key = ANY($2) AND status IN ('active', 'suspended')",
        platform_id,
        keys as _,
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|row| (row.person_key, row.enrolment_id))
    .collect();
    let open: HashMap<Vec<u8>, Uuid> = rows.into_iter().collect();
    which
        .iter()
        .map(|&i| {
            open.get(&items[i].person_key)
                .map(|id| (i, *id))
                .ok_or_else(|| {
                    anyhow::anyhow!("enrolment insert collided with no open enrolment").into()
                })
        })
        .collect()
}

async fn insert_first_history(
    tx: &mut Tx,
    context: &Context<'_>,
    items: &[NewEnrolment],
    which: &[usize],
) -> AppResult<()> {
    if which.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO enrolment_history (province_code, enrolment_id, seq, status, effective_date,
             reason, actor, recorded_at)
         SELECT t.province_code, t.enrolment_id, 1, $7, t.cover_start, $4, $5, t.recorded_at
         FROM UNNEST($1::text[], $2::uuid[], $3::date[], $6::timestamptz[])
              AS t(province_code, enrolment_id, cover_start, recorded_at)",
        column(items, which, |item| item.province.as_str()) as _,
        &column(items, which, |item| item.enrolment_id),
        &column(items, which, |item| item.cover_start),
        Reason::Enrolled as Reason,
        context.caller,
        &column(items, which, |item| item.created_at),
        EnrolmentStatus::Active as EnrolmentStatus,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_events(tx: &mut Tx, items: &[NewEnrolment], which: &[usize]) -> AppResult<()> {
    if which.is_empty() {
        return Ok(());
    }
    let events: Vec<super::events::NewEvent> = which
        .iter()
        .map(|&i| super::events::NewEvent {
            province_code: items[i].province.as_str(),
            event_type: super::events::ENROLMENT_OPENED,
            aggregate_id: items[i].enrolment_id,
            payload: items[i].event.clone(),
            occurred_at: items[i].created_at,
        })
        .collect();
    super::events::append_many(tx, &events).await
}
