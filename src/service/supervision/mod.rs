//! Supervision: findings on where each platform's cover falls short, read by agencies (their
//! province), platforms (their own), national admins and auditors (everything), through the one
//! policy. Every read refreshes what it reads first (see `refresh`).
mod events;
pub mod refresh;

use crate::auth::Principal;
use crate::domain::division::ProvinceCode;
use crate::domain::platform::PlatformId;
use crate::domain::supervision::{FindingKind, FindingState, per_thousand};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner, Resource};
use crate::service::{AppState, record_province};
use crate::store::supervision_reads::{self as store, Filter, FindingView, KindTotals};
use chrono::NaiveDate;
use uuid::Uuid;

/// ListFindings, decoded.
#[derive(Debug, Clone)]
pub struct ListFindings {
    pub province: Option<ProvinceCode>,
    pub platform: Option<PlatformId>,
    pub kind: Option<FindingKind>,
    pub state: Option<FindingState>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page_size: i64,
    /// The raw page token: its cursor is checked against the narrowed query.
    pub page_token: String,
}

/// A page of findings and the cursor of the next one.
#[derive(Debug, Clone)]
pub struct FindingsPage {
    pub findings: Vec<FindingView>,
    pub next_page_token: String,
}

/// The listing's query as a page token is bound to it: the caller and the narrowed filters.
fn list_query(principal: &Principal, filter: &Filter<'_>) -> String {
    format!(
        "findings|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        principal.role,
        filter.province,
        filter.platform,
        filter.kind,
        filter.state,
        filter.from,
        filter.to
    )
}

fn parse_cursor(cursor: &str) -> Option<(NaiveDate, Uuid)> {
    let (day, id) = cursor.split_once('|')?;
    Some((
        NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
        Uuid::parse_str(id).ok()?,
    ))
}

/// Refreshes the province a read is narrowed to, or every province with facts.
async fn refresh_for(state: &AppState, province: Option<&ProvinceCode>) -> AppResult<()> {
    match province {
        Some(province) => refresh::province(state, province.as_str()).await?,
        None => refresh::every_province(state).await?,
    };
    Ok(())
}

pub async fn list(
    state: &AppState,
    principal: &Principal,
    command: ListFindings,
) -> AppResult<FindingsPage> {
    let narrowed = policy::narrow(
        &principal.role,
        Action::ReadFindings,
        command.province,
        command.platform,
    )?;
    if let Some(province) = &narrowed.province {
        record_province(province.as_str());
    }
    let filter = Filter {
        province: narrowed.province.as_ref().map(ProvinceCode::as_str),
        platform: narrowed.platform.as_ref().map(PlatformId::as_str),
        kind: command.kind,
        state: command.state,
        from: command.from,
        to: command.to,
    };
    let query = list_query(principal, &filter);
    let after = crate::api::paging::decode_token(&query, &command.page_token)?
        .map(|cursor| {
            parse_cursor(&cursor)
                .ok_or_else(|| AppError::invalid("page_token", "is not a token from this listing"))
        })
        .transpose()?;
    refresh_for(state, narrowed.province.as_ref()).await?;
    let mut findings = store::list(&state.pool, &filter, after, command.page_size + 1).await?;
    let next_page_token =
        crate::api::paging::next_token(&mut findings, command.page_size, |last| {
            let cursor = format!(
                "{}|{}",
                last.finding.key.period_start, last.finding.finding_id
            );
            crate::api::paging::encode_token(&query, &cursor)
        });
    Ok(FindingsPage {
        findings,
        next_page_token,
    })
}

fn not_found(finding_id: Uuid) -> AppError {
    AppError::NotFound(format!("no finding {finding_id}"))
}

/// One finding; unseen is NOT_FOUND, exactly as a random id.
pub async fn get(
    state: &AppState,
    principal: &Principal,
    finding_id: Uuid,
) -> AppResult<FindingView> {
    let seen = store::get(&state.pool, finding_id)
        .await?
        .ok_or_else(|| not_found(finding_id))?;
    let province = crate::service::contribution::stored_province(&seen.finding.province_code)?;
    let platform = crate::service::contribution::stored_platform(&seen.finding.key.platform_id)?;
    policy::authorize(
        &principal.role,
        Action::ReadFindings,
        Resource::Record(Owner::of(&province, &platform)),
        || not_found(finding_id),
    )?;
    record_province(province.as_str());
    refresh::province(state, province.as_str()).await?;
    store::get(&state.pool, finding_id)
        .await?
        .ok_or_else(|| not_found(finding_id))
}

/// GetComplianceSummary, decoded.
#[derive(Debug, Clone)]
pub struct SummaryQuery {
    pub province: ProvinceCode,
    /// None: the calling platform itself.
    pub platform: Option<PlatformId>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A platform's findings in a province over a period, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub province: ProvinceCode,
    pub platform: PlatformId,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub kinds: Vec<KindSummary>,
    pub refused_orders: i64,
    /// Open arrears in fen by age band: 0-30, 31-90, over 90 days past due.
    pub arrears_fen: [i64; 3],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindSummary {
    pub kind: FindingKind,
    pub open: i64,
    pub resolved: i64,
    pub open_measure: i64,
    pub total_measure: i64,
}

pub async fn summary(
    state: &AppState,
    principal: &Principal,
    query: SummaryQuery,
) -> AppResult<Summary> {
    let platform = match query
        .platform
        .or_else(|| principal.role.platform().cloned())
    {
        Some(platform) => platform,
        None => return Err(AppError::invalid("platform_id", "required")),
    };
    policy::authorize_scope(
        &principal.role,
        Action::ReadFindings,
        Owner::of(&query.province, &platform),
    )?;
    record_province(query.province.as_str());
    refresh::province(state, query.province.as_str()).await?;
    let (totals, refused_orders) = store::summary(
        &state.pool,
        query.province.as_str(),
        platform.as_str(),
        query.from,
        query.to,
    )
    .await?;
    Ok(Summary {
        kinds: FindingKind::ALL
            .iter()
            .map(|&kind| kind_summary(kind, &totals))
            .collect(),
        arrears_fen: ["0-30", "31-90", "over-90"].map(|band| {
            totals
                .iter()
                .filter(|t| {
                    t.kind == FindingKind::Arrears
                        && t.state == FindingState::Open
                        && t.detail == band
                })
                .fold(0_i64, |sum, t| sum.saturating_add(t.measure))
        }),
        province: query.province,
        platform,
        from: query.from,
        to: query.to,
        refused_orders,
    })
}

fn kind_summary(kind: FindingKind, totals: &[KindTotals]) -> KindSummary {
    let mut summary = KindSummary {
        kind,
        open: 0,
        resolved: 0,
        open_measure: 0,
        total_measure: 0,
    };
    for t in totals.iter().filter(|t| t.kind == kind) {
        match t.state {
            FindingState::Open => {
                summary.open = summary.open.saturating_add(t.findings);
                summary.open_measure = summary.open_measure.saturating_add(t.measure);
            }
            FindingState::Resolved => {
                summary.resolved = summary.resolved.saturating_add(t.findings)
            }
        }
        summary.total_measure = summary.total_measure.saturating_add(t.measure);
    }
    summary
}

/// RankPlatforms, decoded.
#[derive(Debug, Clone)]
pub struct RankQuery {
    /// First day of the month.
    pub month: NaiveDate,
    pub province: Option<ProvinceCode>,
    pub page_size: i64,
    pub page_token: String,
}

/// One row of the ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rank {
    pub province_code: String,
    pub platform_id: String,
    pub refused: i64,
    pub accepted: i64,
    pub per_thousand: i64,
    /// 1 for the province's worst.
    pub rank: i32,
}

#[derive(Debug, Clone)]
pub struct Ranking {
    pub month: NaiveDate,
    pub ranks: Vec<Rank>,
    pub next_page_token: String,
}

/// Platforms by uncovered orders per thousand, per province, worst first. The set is at most
/// provinces x platforms, so it is ranked whole and paged by position.
pub async fn rank(state: &AppState, principal: &Principal, query: RankQuery) -> AppResult<Ranking> {
    let narrowed = policy::narrow(&principal.role, Action::RankPlatforms, query.province, None)?;
    let province = narrowed.province.as_ref().map(ProvinceCode::as_str);
    let token_query = format!("ranking|{}|{:?}|{}", principal.role, province, query.month);
    let skip = match crate::api::paging::decode_token(&token_query, &query.page_token)? {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .map_err(|_| AppError::invalid("page_token", "is not a token from this listing"))?,
    };
    let rows = store::month_orders(&state.pool, province, query.month).await?;
    let mut ranks: Vec<Rank> = rows
        .into_iter()
        .map(|row| Rank {
            per_thousand: per_thousand(row.refused, row.accepted),
            province_code: row.province_code,
            platform_id: row.platform_id,
            refused: row.refused,
            accepted: row.accepted,
            rank: 0,
        })
        .collect();
    ranks.sort_by(|a, b| {
        a.province_code
            .cmp(&b.province_code)
            .then(b.per_thousand.cmp(&a.per_thousand))
            .then(b.refused.cmp(&a.refused))
            .then(a.platform_id.cmp(&b.platform_id))
    });
    let mut position = 0;
    let mut previous: Option<String> = None;
    for rank in &mut ranks {
        if previous.as_deref() != Some(rank.province_code.as_str()) {
            position = 0;
            previous = Some(rank.province_code.clone());
        }
        position += 1;
        rank.rank = position;
    }
    let mut page: Vec<Rank> = ranks.into_iter().skip(skip).collect();
    let page_size = usize::try_from(query.page_size).unwrap_or(usize::MAX);
    let next_page_token = if page.len() > page_size {
        page.truncate(page_size);
        crate::api::paging::encode_token(&token_query, &(skip + page_size).to_string())
    } else {
        String::new()
    };
    Ok(Ranking {
        month: query.month,
        ranks: page,
        next_page_token,
    })
}
