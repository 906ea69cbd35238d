//! Occupational-injury claims: the claim row with its deadlines, the timeline, duplicate pairs,
//! benefit items and payments (the admin data the rules read is in `claim_reference`, re-exported
//! here). Rows carry the domain's closed sets (status, kind, applicant, step, benefit kind, payer)
//! as enums, stored by name.
use super::Tx;
use crate::domain::benefits::{BenefitKind, Payer};
use crate::domain::claim::{Applicant, ClaimStatus, IncidentKind, StepTaken};
use crate::domain::money::Fen;
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

pub use super::claim_reference::*;

crate::stored_as_text!(
    ClaimStatus,
    IncidentKind,
    Applicant,
    StepTaken,
    BenefitKind,
    Payer
);

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimRow {
    pub province_code: String,
    pub claim_id: Uuid,
    pub platform_id: String,
    pub person_key: Vec<u8>,
    pub id_masked: String,
    pub order_id: String,
    pub occurred_at: DateTime<Utc>,
    pub place_code: String,
    pub kind: IncidentKind,
    pub description_ciphertext: Vec<u8>,
    pub description_key_id: String,
    pub status: ClaimStatus,
    pub covered: bool,
    pub enrolment_id: Option<Uuid>,
    pub covering_order_id: Option<String>,
    pub reported_at: DateTime<Utc>,
    pub platform_application_due: NaiveDate,
    pub worker_application_due: NaiveDate,
    pub decision_due: Option<NaiveDate>,
    /// The decision due date counted into a year whose holiday notice was not loaded.
    pub decision_due_provisional: bool,
    /// The day the decision's working days are counted from (the application or the appeal).
    pub decision_counted_from: Option<NaiveDate>,
    pub applicant: Option<Applicant>,
    pub late_explanation: Option<String>,
    pub decision_reasons: Option<String>,
    pub grade: Option<i16>,
}

pub async fn insert(tx: &mut Tx, row: &ClaimRow, now: DateTime<Utc>) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO claims (province_code, claim_id, platform_id, person_key, id_masked, order_id,
             occurred_at, place_code, kind, description_ciphertext, description_key_id, status,
             covered, enrolment_id, covering_order_id, reported_at, platform_application_due,
             worker_application_due, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        row.province_code,
        row.claim_id,
        row.platform_id,
        row.person_key,
        row.id_masked,
        row.order_id,
        row.occurred_at,
        row.place_code,
        row.kind as IncidentKind,
        row.description_ciphertext,
        row.description_key_id,
        row.status as ClaimStatus,
        row.covered,
        row.enrolment_id,
        row.covering_order_id,
        row.reported_at,
        row.platform_application_due,
        row.worker_application_due,
        now,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get(db: impl PgExecutor<'_>, claim_id: Uuid) -> AppResult<Option<ClaimRow>> {
    Ok(
        sqlx::query_as!(
        ClaimRow,
        r#"SELECT province_code::text AS "province_code!", claim_id, platform_id, person_key, id_masked,
                order_id, occurred_at, place_code::text AS "place_code!", kind AS "kind: IncidentKind",
                description_ciphertext, description_key_id, status AS "status: ClaimStatus", covered,
                enrolment_id, covering_order_id, reported_at, platform_application_due,
                worker_application_due, decision_due, decision_due_provisional,
                decision_counted_from, applicant AS "applicant: Applicant",
                late_explanation, decision_reasons, grade
         FROM claims WHERE claim_id = $1"#,
        claim_id,
    )
            .fetch_optional(db)
            .await?,
    )
}

/// The claim, locked for a step.
pub async fn lock(tx: &mut Tx, claim_id: Uuid) -> AppResult<Option<ClaimRow>> {
    Ok(
        sqlx::query_as!(
        ClaimRow,
        r#"SELECT province_code::text AS "province_code!", claim_id, platform_id, person_key, id_masked,
                order_id, occurred_at, place_code::text AS "place_code!", kind AS "kind: IncidentKind",
                description_ciphertext, description_key_id, status AS "status: ClaimStatus", covered,
                enrolment_id, covering_order_id, reported_at, platform_application_due,
                worker_application_due, decision_due, decision_due_provisional,
                decision_counted_from, applicant AS "applicant: Applicant",
                late_explanation, decision_reasons, grade
         FROM claims WHERE claim_id = $1 FOR UPDATE"#,
        claim_id,
    )
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Writes the fields a step may change (status, application, decision, appraisal).
pub async fn update(tx: &mut Tx, row: &ClaimRow, now: DateTime<Utc>) -> AppResult<()> {
    sqlx::query!(
        "UPDATE claims SET status = $3, decision_due = $4, applicant = $5, late_explanation = $6,
                decision_reasons = $7, grade = $8, updated_at = $9,
                decision_due_provisional = $10, decision_counted_from = $11
         WHERE province_code = $1 AND claim_id = $2",
        row.province_code,
        row.claim_id,
        row.status as ClaimStatus,
        row.decision_due,
        row.applicant as Option<Applicant>,
        row.late_explanation,
        row.decision_reasons,
        row.grade,
        now,
        row.decision_due_provisional,
        row.decision_counted_from,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The claims awaiting a decision whose due date is provisional, to count again when a year's
/// holiday notice is loaded.
pub async fn provisional_due(db: impl PgExecutor<'_>) -> AppResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT claim_id FROM claims
         WHERE decision_due_provisional AND status = 'applied' ORDER BY claim_id",
    )
    .fetch_all(db)
    .await?)
}

/// Other claims of the person whose incident lies within `window_minutes` of `at`, on any platform.
pub async fn near_in_time(
    tx: &mut Tx,
    person_key: &[u8],
    at: DateTime<Utc>,
    window_minutes: i32,
    except: Uuid,
) -> AppResult<Vec<(String, Uuid)>> {
    Ok(sqlx::query!(
        r#"SELECT province_code::text AS "province_code!", claim_id FROM claims
         WHERE person_key = $1 AND claim_id <> $4
           AND occurred_at BETWEEN $2::timestamptz - make_interval(mins => $3) AND $2::timestamptz + make_interval(mins => $3)"#,
        person_key,
        at,
        window_minutes,
        except,
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|row| (row.province_code, row.claim_id))
    .collect())
}

/// Flags each pair both ways.
pub async fn flag_duplicates(
    tx: &mut Tx,
    claim: (&str, Uuid),
    others: &[(String, Uuid)],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut provinces = Vec::new();
    let mut claims = Vec::new();
    let mut other_claims = Vec::new();
    for (province, other) in others {
        provinces.extend([claim.0.to_owned(), province.clone()]);
        claims.extend([claim.1, *other]);
        other_claims.extend([*other, claim.1]);
    }
    sqlx::query!(
        "INSERT INTO claim_duplicates (province_code, claim_id, other_claim_id, flagged_at)
         SELECT p, c, o, $4 FROM UNNEST($1::text[], $2::uuid[], $3::uuid[]) AS t(p, c, o)
         ON CONFLICT DO NOTHING",
        &provinces,
        &claims,
        &other_claims,
        now,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn duplicates_of(db: impl PgExecutor<'_>, claim_id: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT other_claim_id FROM claim_duplicates WHERE claim_id = $1 ORDER BY other_claim_id",
        claim_id,
    )
    .fetch_all(db)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TimelineRow {
    pub seq: i32,
    pub step: StepTaken,
    pub status: ClaimStatus,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub detail: String,
}

pub async fn append_timeline(
    tx: &mut Tx,
    claim: &ClaimRow,
    step: StepTaken,
    actor: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO claim_timeline (province_code, claim_id, seq, step, status, at, actor, detail)
         SELECT $1, $2, COALESCE(max(seq), 0) + 1, $3, $4, $5, $6, $7
         FROM claim_timeline WHERE province_code = $1 AND claim_id = $2",
        claim.province_code,
        claim.claim_id,
        step as StepTaken,
        claim.status as ClaimStatus,
        at,
        actor,
        detail,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// When `step` was last taken on the claim.
pub async fn last_taken(
    db: impl PgExecutor<'_>,
    claim: &ClaimRow,
    step: StepTaken,
) -> AppResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar!(
        "SELECT max(at) FROM claim_timeline
         WHERE province_code = $1 AND claim_id = $2 AND step = $3",
        claim.province_code,
        claim.claim_id,
        step as StepTaken,
    )
    .fetch_one(db)
    .await?)
}

pub async fn timeline(db: impl PgExecutor<'_>, claim: &ClaimRow) -> AppResult<Vec<TimelineRow>> {
    Ok(sqlx::query_as!(
        TimelineRow,
        r#"SELECT seq, step AS "step: StepTaken", status AS "status: ClaimStatus", at, actor, detail
         FROM claim_timeline
         WHERE province_code = $1 AND claim_id = $2 ORDER BY seq"#,
        claim.province_code,
        claim.claim_id,
    )
    .fetch_all(db)
    .await?)
}

/// A benefit item of the current assessment, with what has been paid against its kind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    /// The item's number in its assessment.
    pub item: i32,
    pub kind: BenefitKind,
    pub payer: Payer,
    pub amount_fen: i64,
    pub monthly: bool,
    pub formula: String,
    pub input_names: Vec<String>,
    pub input_values: Vec<i64>,
    pub paid_fen: i64,
    /// The day (China Standard Time) of the assessment the item belongs to.
    pub assessed_on: NaiveDate,
    /// A dependant's pension: the day its eligibility by age ends.
    pub eligible_before: Option<NaiveDate>,
}

pub struct NewItem<'a> {
    pub kind: BenefitKind,
    pub payer: Payer,
    pub amount_fen: i64,
    pub monthly: bool,
    pub formula: &'a str,
    pub input_names: Vec<&'a str>,
    pub input_values: Vec<i64>,
    pub eligible_before: Option<NaiveDate>,
    /// The day the item was assessed: periodic months run from its month.
    pub assessed_on: NaiveDate,
}

/// Stores a new assessment, superseding the earlier ones (which stay stored).
pub async fn insert_items(tx: &mut Tx, claim: &ClaimRow, items: &[NewItem<'_>]) -> AppResult<()> {
    // Every earlier version's items in one read: the new version's number, the previous
    // version's numbering and the highest number used all come from it.
    let earlier = sqlx::query!(
        r#"SELECT assessment, kind AS "kind: BenefitKind", item FROM benefit_items
         WHERE province_code = $1 AND claim_id = $2 ORDER BY assessment, item"#,
        claim.province_code,
        claim.claim_id,
    )
    .fetch_all(&mut **tx)
    .await?;
    let latest = earlier.last().map_or(0, |row| row.assessment);
    let assessment = latest + 1;
    let previous: Vec<(BenefitKind, i32)> = earlier
        .iter()
        .filter(|row| row.assessment == latest)
        .map(|row| (row.kind, row.item))
        .collect();
    let highest_used = earlier.iter().map(|row| row.item).max().unwrap_or(0);
    let kinds: Vec<BenefitKind> = items.iter().map(|item| item.kind).collect();
    let numbers = crate::domain::settlement::item_numbers(&previous, highest_used, &kinds);
    for (item, number) in items.iter().zip(numbers) {
        sqlx::query!(
            "INSERT INTO benefit_items (province_code, claim_id, assessment, item, kind, payer,
                 amount_fen, monthly, formula, input_names, input_values, assessed_on,
                 eligible_before)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            claim.province_code,
            claim.claim_id,
            assessment,
            number,
            item.kind as BenefitKind,
            item.payer as Payer,
            item.amount_fen,
            item.monthly,
            item.formula,
            item.input_names as _,
            &item.input_values,
            item.assessed_on,
            item.eligible_before,
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The current assessment's items, each with what was paid against it. One-time payments name
/// only their kind and are spread over its items in order; a periodic item counts the monthly
/// payments that name it (payments recorded before months were named count for the kind's first
/// item). The sums cannot overflow: payments of a one-time kind never exceed its items (each at
/// most a few times 10^13 fen); periodic totals are summed as numeric and, past 9.2 x 10^18 fen,
/// shown at that ceiling rather than failing the read.
pub async fn items(db: impl PgExecutor<'_>, claim: &ClaimRow) -> AppResult<Vec<ItemRow>> {
    Ok(sqlx::query_as!(
        ItemRow,
        r#"WITH current AS (
             SELECT * FROM benefit_items
             WHERE province_code = $1 AND claim_id = $2
               AND assessment = (SELECT max(assessment) FROM benefit_items
                                 WHERE province_code = $1 AND claim_id = $2)),
         paid AS (
             SELECT kind, sum(amount_fen) AS total
             FROM benefit_payments
             WHERE province_code = $1 AND claim_id = $2 AND item IS NULL GROUP BY kind),
         paid_items AS (
             SELECT kind, item, sum(amount_fen) AS total
             FROM benefit_payments
             WHERE province_code = $1 AND claim_id = $2 AND item IS NOT NULL GROUP BY kind, item),
         spread AS (
             SELECT c.*, LEAST(COALESCE(p.total, 0), 9223372036854775807)::bigint AS total,
                    COALESCE(pi.total, 0) AS item_total,
                    COALESCE(sum(c.amount_fen) OVER (PARTITION BY c.kind ORDER BY c.item
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::bigint AS before
             FROM current c LEFT JOIN paid p ON p.kind = c.kind
             LEFT JOIN paid_items pi ON pi.kind = c.kind AND pi.item = c.item)
         SELECT item AS "item!", kind AS "kind!: BenefitKind", payer AS "payer!: Payer",
                amount_fen AS "amount_fen!", monthly AS "monthly!", formula AS "formula!",
                input_names AS "input_names!", input_values AS "input_values!",
                CASE WHEN monthly THEN LEAST(item_total
                         + CASE WHEN item = (SELECT min(item) FROM current x WHERE x.kind = spread.kind)
                                THEN total ELSE 0 END, 9223372036854775807)
                     ELSE GREATEST(0, LEAST(amount_fen, total - before)) END::bigint AS "paid_fen!",
                assessed_on AS "assessed_on!", eligible_before
         FROM spread ORDER BY item"#,
        claim.province_code,
        claim.claim_id,
    )
    .fetch_all(db)
    .await?)
}

/// What a payment is for: a one-time kind, or one month of a periodic item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidFor<'a> {
    pub kind: BenefitKind,
    /// A periodic payment's item number and month (its first day).
    pub month: Option<(i32, NaiveDate)>,
    /// A periodic payment's entitlement's adjustment versions.
    pub adjustment_version: Option<&'a str>,
}

pub async fn insert_payment(
    tx: &mut Tx,
    claim: &ClaimRow,
    paid_for: PaidFor<'_>,
    amount: Fen,
    paid_on: NaiveDate,
    actor: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO benefit_payments (province_code, claim_id, payment_id, kind, amount_fen,
             paid_on, recorded_at, actor, item, month, adjustment_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        claim.province_code,
        claim.claim_id,
        Uuid::now_v7(),
        paid_for.kind as BenefitKind,
        amount.0,
        paid_on,
        now,
        actor,
        paid_for.month.map(|(item, _)| item),
        paid_for.month.map(|(_, month)| month),
        paid_for.adjustment_version,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn payments_count(tx: &mut Tx, claim: &ClaimRow) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM benefit_payments WHERE province_code = $1 AND claim_id = $2"#,
        claim.province_code,
        claim.claim_id,
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// Filters of a listing; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ListFilter {
    pub province_code: Option<String>,
    pub platform_id: Option<String>,
    pub status: Option<ClaimStatus>,
    /// Only claims overdue on this day: not applied for by the platform's due date, or not decided
    /// by the decision due date.
    pub overdue_on: Option<NaiveDate>,
}

/// Claims newest first (ids are time-ordered UUIDv7), strictly before `before` when given.
pub async fn list(
    db: impl PgExecutor<'_>,
    filter: &ListFilter,
    before: Option<Uuid>,
    limit: i64,
) -> AppResult<Vec<ClaimRow>> {
    Ok(sqlx::query_as!(
        ClaimRow,
        r#"SELECT province_code::text AS "province_code!", claim_id, platform_id, person_key, id_masked,
                order_id, occurred_at, place_code::text AS "place_code!", kind AS "kind: IncidentKind",
                description_ciphertext, description_key_id, status AS "status: ClaimStatus", covered,
                enrolment_id, covering_order_id, reported_at, platform_application_due,
                worker_application_due, decision_due, decision_due_provisional,
                decision_counted_from, applicant AS "applicant: Applicant",
                late_explanation, decision_reasons, grade
         FROM claims WHERE ($1::text IS NULL OR province_code = $1)
           AND ($2::text IS NULL OR platform_id = $2)
           AND ($3::text IS NULL OR status = $3)
           AND ($4::date IS NULL
                OR (status = 'reported' AND platform_application_due < $4)
                OR (status = 'applied' AND decision_due < $4))
           AND ($5::uuid IS NULL OR claim_id < $5)
         ORDER BY claim_id DESC
         LIMIT $6"#,
        filter.province_code.as_deref(),
        filter.platform_id.as_deref(),
        filter.status as Option<ClaimStatus>,
        filter.overdue_on,
        before,
        limit,
    )
    .fetch_all(db)
    .await?)
}
