//! Periodic benefits in payment: each periodic item's dated changes (end, suspension,
//! resumption), its monthly payments, and the province-wide reads the list of what is due takes.
use super::Tx;
use crate::domain::benefits::BenefitKind;
use crate::domain::late_fee::Period;
use crate::domain::periodic::{Adjustment, Change, ChangeKind, ChangeReason};
use crate::error::AppResult;
use crate::store::claims::ClaimRow;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

crate::stored_as_text!(ChangeKind, ChangeReason);

/// A periodic item's change, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub claim_id: Uuid,
    pub kind: BenefitKind,
    pub item: i32,
    pub change: Change,
}

/// The changes of every periodic item of a claim, in the order recorded.
pub async fn changes(db: impl PgExecutor<'_>, claim: &ClaimRow) -> AppResult<Vec<ChangeRow>> {
    changes_of(db, &claim.province_code, &[claim.claim_id], None).await
}

/// The changes of the periodic items of `claims` (one province), in the order recorded, those
/// effective on or before `as_of` when given.
pub async fn changes_of(
    db: impl PgExecutor<'_>,
    province_code: &str,
    claims: &[Uuid],
    as_of: Option<NaiveDate>,
) -> AppResult<Vec<ChangeRow>> {
    let rows = sqlx::query!(
        r#"SELECT claim_id, kind AS "kind: BenefitKind", item, change AS "change: ChangeKind",
                  reason AS "reason: ChangeReason", effective_on
           FROM periodic_changes
           WHERE province_code = $1 AND claim_id = ANY($2::uuid[])
             AND ($3::date IS NULL OR effective_on <= $3)
           ORDER BY claim_id, kind, item, seq"#,
        province_code,
        claims,
        as_of,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ChangeRow {
            claim_id: row.claim_id,
            kind: row.kind,
            item: row.item,
            change: Change {
                kind: row.change,
                reason: row.reason,
                effective_on: row.effective_on,
            },
        })
        .collect())
}

pub async fn insert_change(
    tx: &mut Tx,
    claim: &ClaimRow,
    kind: BenefitKind,
    item: i32,
    change: &Change,
    actor: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO periodic_changes (province_code, claim_id, kind, item, seq, change, reason,
             effective_on, recorded_at, actor)
         SELECT $1, $2, $3, $4, COALESCE(max(seq), 0) + 1, $5, $6, $7, $8, $9
         FROM periodic_changes
         WHERE province_code = $1 AND claim_id = $2 AND kind = $3 AND item = $4",
        claim.province_code,
        claim.claim_id,
        kind as BenefitKind,
        item,
        change.kind as ChangeKind,
        change.reason as ChangeReason,
        change.effective_on,
        now,
        actor,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What was paid for `month` (its first day) of a periodic item, if anything.
pub async fn paid_for_month(
    tx: &mut Tx,
    claim: &ClaimRow,
    kind: BenefitKind,
    item: i32,
    month: NaiveDate,
) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar!(
        "SELECT amount_fen FROM benefit_payments
         WHERE province_code = $1 AND claim_id = $2 AND kind = $3 AND item = $4 AND month = $5",
        claim.province_code,
        claim.claim_id,
        kind as BenefitKind,
        item,
        month,
    )
    .fetch_optional(&mut **tx)
    .await?)
}

/// A periodic item of a claim's current assessment, for the list of what is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItemRow {
    pub claim_id: Uuid,
    pub item: i32,
    pub kind: BenefitKind,
    pub amount_fen: i64,
    pub assessed_on: NaiveDate,
    pub eligible_before: Option<NaiveDate>,
}

/// The periodic items of the province's claims, assessed on or before `as_of`, by claim and
/// item, from (`claim_id`, `item`) on when given, at most `limit`.
pub async fn due_items(
    db: impl PgExecutor<'_>,
    province_code: &str,
    as_of: NaiveDate,
    from: Option<(Uuid, i32)>,
    limit: i64,
) -> AppResult<Vec<DueItemRow>> {
    let rows = sqlx::query!(
        r#"SELECT b.claim_id, b.item, b.kind AS "kind: BenefitKind", b.amount_fen, b.assessed_on,
                  b.eligible_before
           FROM benefit_items b
           WHERE b.province_code = $1 AND b.monthly AND b.assessed_on <= $2
             AND b.assessment = (SELECT max(assessment) FROM benefit_items x
                                 WHERE x.province_code = b.province_code
                                   AND x.claim_id = b.claim_id)
             AND ($3::uuid IS NULL OR (b.claim_id, b.item) >= ($3, $4::integer))
           ORDER BY b.claim_id, b.item
           LIMIT $5"#,
        province_code,
        as_of,
        from.map(|(claim_id, _)| claim_id),
        from.map(|(_, item)| item),
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DueItemRow {
            claim_id: row.claim_id,
            item: row.item,
            kind: row.kind,
            amount_fen: row.amount_fen,
            assessed_on: row.assessed_on,
            eligible_before: row.eligible_before,
        })
        .collect())
}

/// A periodic item in one version of a claim's assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub claim_id: Uuid,
    pub kind: BenefitKind,
    pub item: i32,
    pub assessment: i32,
    pub assessed_on: NaiveDate,
    pub amount_fen: i64,
}

/// The periodic items of every version of the assessments of `claims` (one province): a review's
/// version holds from its own day, the earlier ones for the months before.
pub async fn periodic_versions(
    db: impl PgExecutor<'_>,
    province_code: &str,
    claims: &[Uuid],
) -> AppResult<Vec<VersionRow>> {
    Ok(sqlx::query_as!(
        VersionRow,
        r#"SELECT claim_id, kind AS "kind: BenefitKind", item, assessment, assessed_on AS "assessed_on!",
                  amount_fen
           FROM benefit_items
           WHERE province_code = $1 AND claim_id = ANY($2) AND monthly
           ORDER BY claim_id, kind, item, assessment"#,
        province_code,
        claims,
    )
    .fetch_all(db)
    .await?)
}

/// A month's payment of a periodic item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthPaidRow {
    pub claim_id: Uuid,
    pub kind: BenefitKind,
    pub item: i32,
    pub month: NaiveDate,
    pub amount_fen: i64,
}

/// The monthly payments of the periodic items of `claims` (one province) paid on or before
/// `as_of`.
pub async fn month_payments_of(
    db: impl PgExecutor<'_>,
    province_code: &str,
    claims: &[Uuid],
    as_of: NaiveDate,
) -> AppResult<Vec<MonthPaidRow>> {
    let rows = sqlx::query!(
        r#"SELECT claim_id, kind AS "kind: BenefitKind", item AS "item!", month AS "month!",
                  amount_fen
           FROM benefit_payments
           WHERE province_code = $1 AND claim_id = ANY($2::uuid[]) AND month IS NOT NULL
             AND paid_on <= $3"#,
        province_code,
        claims,
        as_of,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| MonthPaidRow {
            claim_id: row.claim_id,
            kind: row.kind,
            item: row.item,
            month: row.month,
            amount_fen: row.amount_fen,
        })
        .collect())
}

/// The province's adjustments of periodic benefits, by effective month.
pub async fn adjustments(
    db: impl PgExecutor<'_>,
    province_code: &str,
) -> AppResult<Vec<Adjustment>> {
    let rows = sqlx::query!(
        "SELECT adjustment_id, effective_month, basis_points FROM benefit_adjustments
         WHERE province_code = $1 ORDER BY effective_month",
        province_code,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Adjustment {
            id: row.adjustment_id,
            effective: Period::containing(row.effective_month),
            basis_points: row.basis_points,
        })
        .collect())
}

/// Records an adjustment; None when the province already has one for that month (versions are
/// never overwritten).
pub async fn insert_adjustment(
    tx: &mut Tx,
    province_code: &str,
    effective: Period,
    basis_points: i32,
    actor: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<i64>> {
    Ok(sqlx::query_scalar!(
        "INSERT INTO benefit_adjustments (province_code, effective_month, basis_points,
             recorded_at, actor)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (province_code, effective_month) DO NOTHING
         RETURNING adjustment_id",
        province_code,
        effective.first_day(),
        basis_points,
        now,
        actor,
    )
    .fetch_optional(&mut **tx)
    .await?)
}
