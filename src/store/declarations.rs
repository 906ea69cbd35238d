//! Monthly declarations and their lines, versioned: a correction is a new version.
use super::Tx;
use crate::domain::industry::Industry;
use crate::domain::late_fee::DeclarationSource;
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;

crate::stored_as_text!(DeclarationSource);

/// A `numeric` sum read as text (sqlx decodes `numeric` only with an extra crate): sums are taken
/// as `numeric` so that no amount of data can overflow them in SQL; Rust decides what fits.
pub(crate) fn numeric_sum(text: Option<&str>) -> AppResult<i128> {
    match text {
        None => Ok(0),
        Some(text) => text
            .parse::<i128>()
            .map_err(|_| anyhow::anyhow!("a sum of whole amounts is not a whole number").into()),
    }
}

/// The key of a declaration series.
pub struct Key<'a> {
    pub province_code: &'a str,
    pub platform_id: &'a str,
    pub period: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LineRow {
    pub industry: Industry,
    pub base_rate_id: i64,
    pub multiplier_id: Option<i64>,
    pub orders: i64,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeclarationRow {
    pub province_code: String,
    pub platform_id: String,
    pub period: NaiveDate,
    pub version: i32,
    pub source: DeclarationSource,
    pub total_fen: i64,
    pub due_date: NaiveDate,
    pub declared_at: DateTime<Utc>,
    pub declared_by: String,
}

/// Orders of the period grouped by industry and rate versions: (line without amount, exact sum in
/// tenths of a fen). The sum is taken as `numeric`, so it cannot overflow however many orders.
pub async fn order_totals(
    tx: &mut Tx,
    key: &Key<'_>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> AppResult<Vec<(LineRow, i128)>> {
    #[derive(sqlx::FromRow)]
    struct Total {
        industry: Industry,
        base_rate_id: i64,
        multiplier_id: Option<i64>,
        orders: i64,
        tenth_fen: Option<String>,
    }
    let totals: Vec<Total> = sqlx::query_as!(
        Total,
        r#"SELECT industry AS "industry: Industry", base_rate_id, multiplier_id, count(*) AS "orders!",
                sum(premium_tenth_fen)::text AS tenth_fen
         FROM orders
         WHERE province_code = $1 AND platform_id = $2 AND accepted_at >= $3 AND accepted_at < $4
         GROUP BY industry, base_rate_id, multiplier_id
         ORDER BY industry, base_rate_id, multiplier_id NULLS FIRST"#,
        key.province_code,
        key.platform_id,
        from,
        until,
    )
    .fetch_all(&mut **tx)
    .await?;
    totals
        .into_iter()
        .map(|t| {
            let tenth_fen = numeric_sum(t.tenth_fen.as_deref())?;
            let line = LineRow {
                industry: t.industry,
                base_rate_id: t.base_rate_id,
                multiplier_id: t.multiplier_id,
                orders: t.orders,
                amount_fen: 0,
            };
            Ok((line, tenth_fen))
        })
        .collect()
}

/// Serialises declarations of one series until the transaction ends, so versions stay gapless.
pub async fn lock_series(tx: &mut Tx, key: &Key<'_>) -> AppResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!(
            "declaration|{}|{}|{}",
            key.province_code, key.platform_id, key.period
        ))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The latest version, or a given one.
pub async fn get(
    db: impl PgExecutor<'_>,
    key: &Key<'_>,
    version: Option<i32>,
) -> AppResult<Option<DeclarationRow>> {
    Ok(sqlx::query_as!(
        DeclarationRow,
        r#"SELECT province_code::text AS "province_code!", platform_id, period, version,
                source AS "source: DeclarationSource", total_fen, due_date, declared_at, declared_by
         FROM declarations
         WHERE province_code = $1 AND platform_id = $2 AND period = $3 AND ($4::int IS NULL OR version = $4)
         ORDER BY version DESC LIMIT 1"#,
        key.province_code,
        key.platform_id,
        key.period,
        version,
    )
    .fetch_optional(db)
    .await?)
}

pub async fn lines(
    db: impl PgExecutor<'_>,
    key: &Key<'_>,
    version: i32,
) -> AppResult<Vec<LineRow>> {
    Ok(sqlx::query_as!(
        LineRow,
        r#"SELECT industry AS "industry: Industry", base_rate_id, multiplier_id, orders, amount_fen
         FROM declaration_lines
         WHERE province_code = $1 AND platform_id = $2 AND period = $3 AND version = $4 ORDER BY line_no"#,
        key.province_code,
        key.platform_id,
        key.period,
        version,
    )
    .fetch_all(db)
    .await?)
}

pub async fn insert(tx: &mut Tx, declaration: &DeclarationRow, lines: &[LineRow]) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO declarations (province_code, platform_id, period, version, source, total_fen,
             due_date, declared_at, declared_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        declaration.province_code,
        declaration.platform_id,
        declaration.period,
        declaration.version,
        declaration.source as DeclarationSource,
        declaration.total_fen,
        declaration.due_date,
        declaration.declared_at,
        declaration.declared_by,
    )
    .execute(&mut **tx)
    .await?;
    if lines.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO declaration_lines (province_code, platform_id, period, version, line_no, industry,
             base_rate_id, multiplier_id, orders, amount_fen)
         SELECT $1, $2, $3, $4, t.n, t.industry, t.base_rate_id, t.multiplier_id, t.orders, t.amount_fen
         FROM UNNEST($5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
              WITH ORDINALITY AS t(industry, base_rate_id, multiplier_id, orders, amount_fen, n)",
        declaration.province_code,
        declaration.platform_id,
        declaration.period,
        declaration.version,
        lines.iter().map(|l| l.industry).collect::<Vec<_>>() as _,
        &lines.iter().map(|l| l.base_rate_id).collect::<Vec<_>>(),
        lines.iter().map(|l| l.multiplier_id).collect::<Vec<_>>() as _,
        &lines.iter().map(|l| l.orders).collect::<Vec<_>>(),
        &lines.iter().map(|l| l.amount_fen).collect::<Vec<_>>(),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The due day and late fee rate for a province (its own setting, else the national default).
pub async fn policy(db: impl PgExecutor<'_>, province_code: &str) -> AppResult<(u32, i64)> {
    let row: Option<(i32, i32)> = sqlx::query!(
        "SELECT due_day, late_fee_ppm_per_day FROM contribution_policy
         WHERE province_code IN ($1, '00') ORDER BY province_code = '00' LIMIT 1",
        province_code,
    )
    .fetch_optional(db)
    .await?
    .map(|row| (row.due_day, row.late_fee_ppm_per_day));
    let (due_day, ppm) = row.unwrap_or((15, 500));
    Ok((u32::try_from(due_day).unwrap_or(15), i64::from(ppm)))
}
