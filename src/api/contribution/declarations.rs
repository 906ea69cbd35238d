//! Monthly declarations: built from orders or declared counts, versioned with deltas.
use crate::api::convert::{self, date_to_proto, non_empty, timestamp};
use crate::api::rates::{rate_in_force, rate_version};
use crate::api::{AppState, Idempotent, record_province};
use crate::auth::Principal;
use crate::domain::Invalid;
use crate::domain::division::ProvinceCode;
use crate::domain::industry::Industry;
use crate::domain::late_fee::Period;
use crate::domain::money::div_round_half_up;
use crate::domain::platform::PlatformId;
use crate::domain::rates::{Multiplier, line_amount};
use crate::domain::role::Role;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::store::declarations::{self as store, DeclarationRow, Key, LineRow};
use crate::store::events;
use chrono::{DateTime, Utc};
use prost::Message;
use std::collections::BTreeMap;

const ORDERS: &str = "orders";
const DECLARED_COUNTS: &str = "declared_counts";

/// Midnight at the start of `period` in China Standard Time, as an instant.
fn period_start(period: Period) -> DateTime<Utc> {
    period
        .first_day()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        - chrono::Duration::hours(8)
}

fn to_proto(
    row: &DeclarationRow,
    lines: &[LineRow],
    previous: Option<(i64, &[LineRow])>,
) -> pb::Declaration {
    let by_industry = |lines: &[LineRow]| {
        let mut totals: BTreeMap<String, i64> = BTreeMap::new();
        for line in lines {
            *totals.entry(line.industry.clone()).or_default() += line.amount_fen;
        }
        totals
    };
    let (previous_total, previous_lines) = previous.unwrap_or((0, &[]));
    let (now_totals, before_totals) = (by_industry(lines), by_industry(previous_lines));
    let industries: std::collections::BTreeSet<&String> =
        now_totals.keys().chain(before_totals.keys()).collect();
    pb::Declaration {
        province_code: row.province_code.clone(),
        platform_id: row.platform_id.clone(),
        period: Period::containing(row.period).to_string(),
        version: row.version,
        source: if row.source == ORDERS {
            pb::DeclarationSource::Orders
        } else {
            pb::DeclarationSource::DeclaredCounts
        } as i32,
        lines: lines
            .iter()
            .map(|line| pb::DeclarationLine {
                industry: convert::stored_industry_to_proto(&line.industry),
                orders: line.orders,
                rate_version: rate_version(line.base_rate_id, line.multiplier_id),
                amount_fen: line.amount_fen,
            })
            .collect(),
        total_fen: row.total_fen,
        due_date: Some(date_to_proto(row.due_date)),
        declared_at: Some(timestamp(row.declared_at)),
        previous_total_fen: previous_total,
        delta_fen: row.total_fen - previous_total,
        industry_deltas: industries
            .into_iter()
            .map(|industry| pb::IndustryDelta {
                industry: convert::stored_industry_to_proto(industry),
                delta_fen: now_totals.get(industry).copied().unwrap_or(0)
                    - before_totals.get(industry).copied().unwrap_or(0),
            })
            .collect(),
    }
}

fn parse_period(raw: &str, state: &AppState) -> Result<Period, Invalid> {
    let period = Period::parse(raw)?;
    let current = Period::containing(state.clock.today());
    if period >= current {
        return Err(Invalid::new(format!(
            "must be a month that has ended (before {current})"
        )));
    }
    Ok(period)
}

pub async fn declare(
    state: &AppState,
    principal: &Principal,
    request: pb::DeclareContributionsRequest,
) -> AppResult<pb::Declaration> {
    let Role::Platform(platform) = &principal.role else {
        return Err(AppError::PermissionDenied(
            "only platforms declare contributions".into(),
        ));
    };
    let idempotent = Idempotent::new(
        principal,
        "DeclareContributions",
        &request.request_id,
        &request,
    )?;
    let pb::DeclareContributionsRequest {
        request_id: _,
        province_code,
        period,
        source,
    } = &request;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(province_code));
    let period = violations.check("period", parse_period(period, state));
    let mut counts: Vec<(Industry, i64)> = Vec::new();
    match source {
        None => violations.add("source", "required: from_orders or declared_counts"),
        Some(pb::declare_contributions_request::Source::FromOrders(pb::FromOrders {})) => {}
        Some(pb::declare_contributions_request::Source::DeclaredCounts(pb::DeclaredCounts {
            counts: given,
        })) => {
            for (i, pb::IndustryOrders { industry, orders }) in given.iter().enumerate() {
                let industry = violations.check(
                    &format!("declared_counts.counts[{i}].industry"),
                    convert::industry_from_proto(*industry),
                );
                if *orders < 0 {
                    violations.add(
                        &format!("declared_counts.counts[{i}].orders"),
                        "must not be negative",
                    );
                }
                if let Some(industry) = industry {
                    if counts.iter().any(|(seen, _)| *seen == industry) {
                        violations.add(
                            &format!("declared_counts.counts[{i}].industry"),
                            "appears twice",
                        );
                    }
                    counts.push((industry, *orders));
                }
            }
        }
    }
    let (Some(province), Some(period)) = (province, period) else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    record_province(province.as_str());
    let mut tx = match idempotent.begin::<pb::Declaration>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let key = Key {
        province_code: province.as_str(),
        platform_id: platform.as_str(),
        period: period.first_day(),
    };
    store::lock_series(&mut tx, &key).await?;
    let (source, lines) = match source {
        Some(pb::declare_contributions_request::Source::DeclaredCounts(_)) => {
            let mut lines = Vec::new();
            for (industry, orders) in &counts {
                let rate = rate_in_force(
                    &mut *tx,
                    &province,
                    platform,
                    industry.as_str(),
                    period.first_day(),
                )
                .await
                .map_err(|error| match error {
                    AppError::NotFound(message) => AppError::FailedPrecondition(message),
                    other => other,
                })?;
                let base = rate
                    .base_rate
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("rate without a base"))?;
                let multiplier = match &rate.multiplier {
                    Some(m) => Multiplier::from_tenths(m.tenths)
                        .map_err(|invalid| anyhow::anyhow!("stored multiplier: {invalid}"))?,
                    None => Multiplier::ONE,
                };
                let amount =
                    line_amount(*orders, base.fen_per_order, multiplier).ok_or_else(|| {
                        AppError::invalid("declared_counts", "the amount is too large")
                    })?;
                lines.push(LineRow {
                    industry: industry.as_str().to_owned(),
                    base_rate_id: base.base_rate_id,
                    multiplier_id: rate.multiplier.as_ref().map(|m| m.multiplier_id),
                    orders: *orders,
                    amount_fen: amount.0,
                });
            }
            (DECLARED_COUNTS, lines)
        }
        _ => {
            let totals = store::order_totals(
                &mut tx,
                &key,
                period_start(period),
                period_start(period.next()),
            )
            .await?;
            let lines = totals
                .into_iter()
                .map(|(line, tenth_fen)| LineRow {
                    amount_fen: div_round_half_up(i128::from(tenth_fen), 10) as i64,
                    ..line
                })
                .collect();
            (ORDERS, lines)
        }
    };
    let previous = store::get(&mut *tx, &key, None).await?;
    let previous_lines = match &previous {
        Some(previous) => store::lines(&mut *tx, &key, previous.version).await?,
        None => Vec::new(),
    };
    let (due_day, _) = store::policy(&mut *tx, province.as_str()).await?;
    let row = DeclarationRow {
        province_code: province.to_string(),
        platform_id: platform.to_string(),
        period: period.first_day(),
        version: previous.as_ref().map_or(1, |p| p.version + 1),
        source: source.to_owned(),
        total_fen: lines.iter().map(|l| l.amount_fen).sum(),
        due_date: period.due_date(due_day),
        declared_at: state.clock.now(),
        declared_by: principal.caller_key(),
    };
    store::insert(&mut tx, &row, &lines).await?;
    let response = to_proto(
        &row,
        &lines,
        previous
            .as_ref()
            .map(|p| (p.total_fen, previous_lines.as_slice())),
    );
    events::append(
        &mut tx,
        events::NewEvent {
            province_code: province.as_str(),
            event_type: events::DECLARATION_FILED,
            aggregate_id: uuid::Uuid::now_v7(),
            payload: pb::DeclarationFiledV1 {
                declaration: Some(response.clone()),
                actor: principal.caller_key(),
            }
            .encode_to_vec(),
            occurred_at: row.declared_at,
        },
    )
    .await?;
    idempotent.commit(state, tx, &response).await?;
    Ok(response)
}

pub async fn get(
    state: &AppState,
    principal: &Principal,
    request: pb::GetDeclarationRequest,
) -> AppResult<pb::Declaration> {
    let pb::GetDeclarationRequest {
        province_code,
        platform_id,
        period,
        version,
    } = request;
    let mut violations = Violations::new();
    let province = violations.check("province_code", ProvinceCode::parse(&province_code));
    let asked = non_empty(&platform_id)
        .and_then(|id| violations.check("platform_id", PlatformId::parse(id)));
    let period = violations.check("period", Period::parse(&period));
    if version < 0 {
        violations.add("version", "must be 0 (latest) or a version number");
    }
    let (Some(province), Some(period)) = (province, period) else {
        return Err(violations.into_error());
    };
    violations.into_result()?;
    let platform = super::platform_read_by(principal, &province, asked, "declaration")?;
    let key = Key {
        province_code: province.as_str(),
        platform_id: platform.as_str(),
        period: period.first_day(),
    };
    let not_found = || {
        AppError::NotFound(format!(
            "no declaration of {platform} for province {province}, {period}"
        ))
    };
    let row = store::get(&state.pool, &key, (version > 0).then_some(version))
        .await?
        .ok_or_else(not_found)?;
    let lines = store::lines(&state.pool, &key, row.version).await?;
    let previous = if row.version > 1 {
        let before = store::get(&state.pool, &key, Some(row.version - 1))
            .await?
            .ok_or_else(not_found)?;
        let before_lines = store::lines(&state.pool, &key, before.version).await?;
        Some((before.total_fen, before_lines))
    } else {
        None
    };
    Ok(to_proto(
        &row,
        &lines,
        previous
            .as_ref()
            .map(|(total, lines)| (*total, lines.as_slice())),
    ))
}
