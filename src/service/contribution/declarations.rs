//! Monthly declarations: built from recorded orders or declared counts, versioned with deltas.
use super::{events, own_platform};
use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::industry::Industry;
use crate::domain::late_fee::{DeclarationSource, Period};
use crate::domain::money::{Fen, MAX_AMOUNT_FEN};
use crate::domain::platform::PlatformId;
use crate::domain::rates::{
    declaration_total, industry_deltas, line_amount, line_amount_from_tenths,
};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner, Resource};
use crate::service::rates::{no_rate, rate_in_force_in};
use crate::service::{AppState, Idempotent, RequestKey, record_province};
use crate::store::Tx;
use crate::store::declarations::{self as store, DeclarationRow, Key, LineRow};
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;

/// DeclareContributions: the calling platform's declaration for a province and an ended month.
#[derive(Debug, Clone)]
pub struct DeclareContributions {
    pub key: RequestKey,
    pub province: ProvinceCode,
    pub period: Period,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Lines from the orders recorded through RecordOrders.
    FromOrders,
    /// Lines from declared order counts, one per industry (each 0 to `MAX_DECLARED_ORDERS`).
    DeclaredCounts(Vec<(Industry, i64)>),
}

/// GetDeclaration: a version (or the latest) of a platform's declaration.
#[derive(Debug, Clone)]
pub struct GetDeclaration {
    pub province: ProvinceCode,
    /// Unset: the calling platform's own.
    pub platform: Option<PlatformId>,
    pub period: Period,
    /// Unset: the latest.
    pub version: Option<i32>,
}

/// A declaration as shown: its lines, and the change from the version before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub province: ProvinceCode,
    pub platform: PlatformId,
    pub period: Period,
    pub version: i32,
    pub source: DeclarationSource,
    pub lines: Vec<LineRow>,
    pub total: Fen,
    pub due_date: NaiveDate,
    pub declared_at: DateTime<Utc>,
    /// The previous version's total (0 for version 1) and the change from it.
    pub previous_total: Fen,
    pub delta: Fen,
    pub industry_deltas: Vec<(Industry, Fen)>,
}

fn amounts(lines: &[LineRow]) -> Vec<(Industry, Fen)> {
    lines
        .iter()
        .map(|line| (line.industry, Fen(line.amount_fen)))
        .collect()
}

/// A declaration with the version before it (if any), as shown.
fn shown(
    row: DeclarationRow,
    lines: Vec<LineRow>,
    previous: Option<(i64, Vec<LineRow>)>,
) -> AppResult<Declaration> {
    let (previous_total, previous_lines) = previous.unwrap_or_default();
    // Totals are at most MAX_AMOUNT_FEN each, so neither difference can overflow.
    let out_of_bounds = || anyhow::anyhow!("a stored declaration exceeds the amount bounds");
    let deltas =
        industry_deltas(&amounts(&lines), &amounts(&previous_lines)).ok_or_else(out_of_bounds)?;
    let delta = Fen(row.total_fen)
        .checked_sub(Fen(previous_total))
        .ok_or_else(out_of_bounds)?;
    Ok(Declaration {
        province: super::stored_province(&row.province_code)?,
        platform: super::stored_platform(&row.platform_id)?,
        period: Period::containing(row.period),
        version: row.version,
        source: row.source,
        lines,
        total: Fen(row.total_fen),
        due_date: row.due_date,
        declared_at: row.declared_at,
        previous_total: Fen(previous_total),
        delta,
        industry_deltas: deltas,
    })
}

/// NOT_FOUND for a declaration that does not exist or that the caller may not see: the same
/// words either way, naming only what the caller asked for.
pub fn not_found(
    province: &ProvinceCode,
    platform: &PlatformId,
    period: Period,
    version: Option<i32>,
) -> AppError {
    let version = version
        .map(|v| format!(", version {v}"))
        .unwrap_or_default();
    AppError::NotFound(format!(
        "no declaration of {platform} for province {province}, {period}{version}"
    ))
}

/// Midnight at the start of `period` in China Standard Time, as an instant.
fn period_start(period: Period) -> DateTime<Utc> {
    period
        .first_day()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        - chrono::Duration::hours(8)
}

pub async fn declare<R>(
    state: &AppState,
    principal: &Principal,
    command: DeclareContributions,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a Declaration>,
{
    let DeclareContributions {
        key,
        province,
        period,
        source,
    } = command;
    let platform = own_platform(principal);
    policy::authorize_scope(
        &principal.role,
        Action::DeclareContributions,
        Owner {
            province: Some(&province),
            platform,
        },
    )?;
    let platform = platform.cloned().ok_or_else(|| {
        anyhow::anyhow!("the policy let a caller without a platform declare contributions")
    })?;
    record_province(province.as_str());
    let idempotent = Idempotent::new(principal, "DeclareContributions", &key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let key = Key {
        province_code: province.as_str(),
        platform_id: platform.as_str(),
        period: period.first_day(),
    };
    store::lock_series(&mut tx, &key).await?;
    crate::store::order_partitions::hold_open(&mut tx, key.period).await?;
    let (source, lines) = match &source {
        Source::DeclaredCounts(counts) => (
            DeclarationSource::DeclaredCounts,
            lines_from_counts(&mut tx, &key, counts).await?,
        ),
        Source::FromOrders => (
            DeclarationSource::Orders,
            lines_from_orders(&mut tx, &key, period).await?,
        ),
    };
    let total =
        declaration_total(lines.iter().map(|line| Fen(line.amount_fen))).ok_or_else(|| {
            AppError::FailedPrecondition(format!(
                "the declaration's total would exceed {} yuan, the most one declaration may carry",
                Fen(MAX_AMOUNT_FEN)
            ))
        })?;
    let previous = store::get(&mut *tx, &key, None).await?;
    let previous = match previous {
        Some(previous) => {
            let lines = store::lines(&mut *tx, &key, previous.version).await?;
            Some((previous, lines))
        }
        None => None,
    };
    let (due_day, _) = store::policy(&mut *tx, province.as_str()).await?;
    let row = DeclarationRow {
        province_code: province.to_string(),
        platform_id: platform.to_string(),
        period: period.first_day(),
        version: previous.as_ref().map_or(1, |(p, _)| p.version + 1),
        source,
        total_fen: total.0,
        due_date: period.due_date(due_day),
        declared_at: state.clock.now(),
        declared_by: principal.caller_key(),
    };
    store::insert(&mut tx, &row, &lines).await?;
    let declaration = shown(
        row,
        lines,
        previous.map(|(previous, lines)| (previous.total_fen, lines)),
    )?;
    crate::store::events::append(
        &mut tx,
        events::declaration_filed(&declaration, principal.caller_key()),
    )
    .await?;
    let reply = R::from(&declaration);
    idempotent.commit(state, tx, &reply).await?;
    Ok(reply)
}

/// Lines from declared counts, each priced at the rate in force on the month's first day.
async fn lines_from_counts(
    tx: &mut Tx,
    key: &Key<'_>,
    counts: &[(Industry, i64)],
) -> AppResult<Vec<LineRow>> {
    let mut lines = Vec::with_capacity(counts.len());
    for (i, (industry, orders)) in counts.iter().enumerate() {
        let rate = rate_in_force_in(
            &mut **tx,
            key.province_code,
            key.platform_id,
            *industry,
            key.period,
        )
        .await?
        .ok_or_else(|| AppError::FailedPrecondition(no_rate(*industry, key.period)))?;
        let multiplier = rate.multiplier.as_ref().map(|m| m.tenths);
        let amount = line_amount(
            *orders,
            rate.base.fen_per_order,
            multiplier.unwrap_or(crate::domain::rates::Multiplier::ONE),
        )
        .ok_or_else(|| {
            AppError::invalid(
                format!("declared_counts.counts[{i}].orders"),
                format!(
                    "the line's amount would exceed {} yuan, the most one amount may be",
                    Fen(MAX_AMOUNT_FEN)
                ),
            )
        })?;
        lines.push(LineRow {
            industry: *industry,
            base_rate_id: rate.base.base_rate_id,
            multiplier_id: rate.multiplier.as_ref().map(|m| m.multiplier_id),
            orders: *orders,
            amount_fen: amount.0,
        });
    }
    Ok(lines)
}

/// Lines from the month's recorded orders, by industry and rate versions, each rounded once.
async fn lines_from_orders(tx: &mut Tx, key: &Key<'_>, period: Period) -> AppResult<Vec<LineRow>> {
    let totals =
        store::order_totals(tx, key, period_start(period), period_start(period.next())).await?;
    totals
        .into_iter()
        .map(|(line, tenth_fen)| {
            let amount = line_amount_from_tenths(tenth_fen).ok_or_else(|| {
                AppError::FailedPrecondition(format!(
                    "the {} orders of the month would exceed {} yuan in one line",
                    line.industry.as_str(),
                    Fen(MAX_AMOUNT_FEN)
                ))
            })?;
            Ok(LineRow {
                amount_fen: amount.0,
                ..line
            })
        })
        .collect()
}

/// The platform a read is about: the one named, else the calling platform's own.
pub(crate) fn platform_asked(
    principal: &Principal,
    asked: Option<PlatformId>,
) -> AppResult<PlatformId> {
    asked
        .or_else(|| own_platform(principal).cloned())
        .ok_or_else(|| AppError::invalid(
                "platform_id",
                "required: the platform whose month to read (a platform may leave it empty for its own)",
            ))
}

pub async fn get(
    state: &AppState,
    principal: &Principal,
    command: GetDeclaration,
) -> AppResult<Declaration> {
    let GetDeclaration {
        province,
        platform,
        period,
        version,
    } = command;
    let platform = platform_asked(principal, platform)?;
    let key = Key {
        province_code: province.as_str(),
        platform_id: platform.as_str(),
        period: period.first_day(),
    };
    let missing = || not_found(&province, &platform, period, version);
    let mut connection = state.pool.acquire().await?;
    let row = store::get(&mut *connection, &key, version)
        .await?
        .ok_or_else(missing)?;
    policy::authorize(
        &principal.role,
        Action::ReadDeclaration,
        Resource::Record(Owner::of(&province, &platform)),
        missing,
    )?;
    let lines = store::lines(&mut *connection, &key, row.version).await?;
    let previous = if row.version > 1 {
        let before = store::get(&mut *connection, &key, Some(row.version - 1))
            .await?
            .ok_or_else(|| anyhow::anyhow!("a declaration version is missing"))?;
        let before_lines = store::lines(&mut *connection, &key, before.version).await?;
        Some((before.total_fen, before_lines))
    } else {
        None
    };
    shown(row, lines, previous)
}
