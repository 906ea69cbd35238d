//! The claim rules' admin data: the claim policy (national default and per province), the
//! working-day calendar, the national income figures and the provinces' urban private-sector
//! wages.
use crate::domain::claim::ClaimPolicy;
use crate::domain::money::Fen;
use crate::domain::working_days::DayKind;
use crate::error::AppResult;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;

/// The national default row of claim_policy.
pub const NATIONAL_POLICY: &str = "00";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct PolicyRow {
    platform_application_days: i32,
    worker_application_days: i32,
    decision_working_days: i32,
    duplicate_window_minutes: i32,
    wage_base_percent: i32,
    wage_base_year_offset: i32,
    death_base_percent: i32,
    grade_5_allowance_months: i32,
    grade_6_allowance_months: i32,
    child_pension_until_age: i32,
    review_interval_months: i32,
}

/// The province's policy, else the national default.
pub async fn policy(db: impl PgExecutor<'_>, province_code: &str) -> AppResult<ClaimPolicy> {
    let row: Option<PolicyRow> = sqlx::query_as!(
        PolicyRow,
        "SELECT platform_application_days,
                worker_application_days, decision_working_days, duplicate_window_minutes,
                wage_base_percent, wage_base_year_offset, death_base_percent,
                grade_5_allowance_months, grade_6_allowance_months, child_pension_until_age,
                review_interval_months
         FROM claim_policy WHERE province_code IN ($1, $2)
         ORDER BY province_code = $1 DESC LIMIT 1",
        province_code,
        NATIONAL_POLICY,
    )
    .fetch_optional(db)
    .await?;
    let row = row.ok_or_else(|| anyhow::anyhow!("the national claim policy row is missing"))?;
    Ok(ClaimPolicy {
        platform_application_days: row.platform_application_days,
        worker_application_days: row.worker_application_days,
        decision_working_days: row.decision_working_days,
        duplicate_window_minutes: row.duplicate_window_minutes,
        wage_base_percent: row.wage_base_percent,
        wage_base_year_offset: row.wage_base_year_offset,
        death_base_percent: row.death_base_percent,
        grade_5_allowance_months: row.grade_5_allowance_months,
        grade_6_allowance_months: row.grade_6_allowance_months,
        child_pension_until_age: row.child_pension_until_age,
        review_interval_months: row.review_interval_months,
    })
}

/// Sets the policy of `province_code` (`NATIONAL_POLICY` for the national default).
pub async fn set_policy(
    db: impl PgExecutor<'_>,
    province_code: &str,
    row: &ClaimPolicy,
    now: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO claim_policy (province_code, platform_application_days,
             worker_application_days, decision_working_days, duplicate_window_minutes,
             wage_base_percent, wage_base_year_offset, updated_at, death_base_percent,
             grade_5_allowance_months, grade_6_allowance_months, child_pension_until_age,
             review_interval_months)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (province_code) DO UPDATE SET
             platform_application_days = $2, worker_application_days = $3,
             decision_working_days = $4, duplicate_window_minutes = $5,
             wage_base_percent = $6, wage_base_year_offset = $7, updated_at = $8,
             death_base_percent = $9, grade_5_allowance_months = $10,
             grade_6_allowance_months = $11, child_pension_until_age = $12,
             review_interval_months = $13",
        province_code,
        row.platform_application_days,
        row.worker_application_days,
        row.decision_working_days,
        row.duplicate_window_minutes,
        row.wage_base_percent,
        row.wage_base_year_offset,
        now,
        row.death_base_percent,
        row.grade_5_allowance_months,
        row.grade_6_allowance_months,
        row.child_pension_until_age,
        row.review_interval_months,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The years from `first` to `last` in which at least one day of a holiday notice is loaded.
pub async fn loaded_years(db: impl PgExecutor<'_>, first: i32, last: i32) -> AppResult<Vec<i32>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT DISTINCT extract(year FROM day)::integer AS "year!" FROM public_holidays
         WHERE day >= make_date($1, 1, 1) AND day < make_date($2 + 1, 1, 1)"#,
        first,
        last,
    )
    .fetch_all(db)
    .await?)
}

/// The loaded exceptions (public holidays and make-up working days) from `from` over `days` days.
pub async fn calendar(
    db: impl PgExecutor<'_>,
    from: NaiveDate,
    days: i64,
) -> AppResult<Vec<(NaiveDate, DayKind)>> {
    let rows = sqlx::query!(
        "SELECT day, holiday FROM public_holidays WHERE day BETWEEN $1 AND $1 + $2::integer",
        from,
        days as i32,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let kind = if row.holiday {
                DayKind::Holiday
            } else {
                DayKind::Workday
            };
            (row.day, kind)
        })
        .collect())
}

pub async fn set_public_holiday(
    db: impl PgExecutor<'_>,
    day: NaiveDate,
    holiday: bool,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO public_holidays (day, holiday, name, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (day) DO UPDATE SET holiday = $2, name = $3, updated_at = $4",
        day,
        holiday,
        name,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn national_income(db: impl PgExecutor<'_>, year: i32) -> AppResult<Option<Fen>> {
    let annual: Option<i64> = sqlx::query_scalar!(
        "SELECT annual_fen FROM national_incomes WHERE year = $1",
        year,
    )
    .fetch_optional(db)
    .await?;
    Ok(annual.map(Fen))
}

/// A province's urban private-sector average wage of `year` (the death base).
pub async fn private_sector_wage(
    db: impl PgExecutor<'_>,
    province_code: &str,
    year: i32,
) -> AppResult<Option<Fen>> {
    let annual: Option<i64> = sqlx::query_scalar!(
        "SELECT annual_fen FROM private_sector_wages WHERE province_code = $1 AND year = $2",
        province_code,
        year,
    )
    .fetch_optional(db)
    .await?;
    Ok(annual.map(Fen))
}

pub async fn set_private_sector_wage(
    db: impl PgExecutor<'_>,
    province_code: &str,
    year: i32,
    annual: Fen,
    now: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO private_sector_wages (province_code, year, annual_fen, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (province_code, year) DO UPDATE SET annual_fen = $3, updated_at = $4",
        province_code,
        year,
        annual.0,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_national_income(
    db: impl PgExecutor<'_>,
    year: i32,
    annual: Fen,
    now: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query!(
        "INSERT INTO national_incomes (year, annual_fen, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (year) DO UPDATE SET annual_fen = $2, updated_at = $3",
        year,
        annual.0,
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}
