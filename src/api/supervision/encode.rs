//! Answers of `SupervisionService`, and the finding as events carry it.
use crate::api::convert::{date_to_proto, timestamp};
use crate::domain::supervision::{FindingKind, FindingState};
use crate::pb;
use crate::service::supervision::{FindingsPage, Rank, Ranking, Summary};
use crate::store::supervision_reads::FindingView;

pub fn kind(kind: FindingKind) -> pb::FindingKind {
    match kind {
        FindingKind::UncoveredOrders => pb::FindingKind::UncoveredOrders,
        FindingKind::UndeclaredMonth => pb::FindingKind::UndeclaredMonth,
        FindingKind::Arrears => pb::FindingKind::Arrears,
        FindingKind::UncoveredClaims => pb::FindingKind::UncoveredClaims,
        FindingKind::LateEnrolment => pb::FindingKind::LateEnrolment,
    }
}

fn state(state: FindingState) -> pb::FindingState {
    match state {
        FindingState::Open => pb::FindingState::Open,
        FindingState::Resolved => pb::FindingState::Resolved,
    }
}

impl From<&FindingView> for pb::Finding {
    fn from(view: &FindingView) -> Self {
        let f = &view.finding;
        pb::Finding {
            finding_id: f.finding_id.to_string(),
            province_code: f.province_code.clone(),
            platform_id: f.key.platform_id.clone(),
            kind: kind(f.key.kind) as i32,
            period_start: Some(date_to_proto(f.key.period_start)),
            period_end: Some(date_to_proto(f.period_end)),
            subject: f.key.subject.clone(),
            measure: f.measure,
            detail: f.detail.clone(),
            state: state(f.state) as i32,
            opened_at: Some(timestamp(f.opened_at)),
            resolved_at: f.resolved_at.map(timestamp),
            updated_at: Some(timestamp(f.updated_at)),
            sample_order_ids: view.sample_order_ids.clone(),
            sample_workers: view.sample_workers.clone(),
        }
    }
}

impl From<&FindingsPage> for pb::ListFindingsResponse {
    fn from(page: &FindingsPage) -> Self {
        pb::ListFindingsResponse {
            findings: page.findings.iter().map(pb::Finding::from).collect(),
            next_page_token: page.next_page_token.clone(),
        }
    }
}

impl From<&Summary> for pb::ComplianceSummary {
    fn from(summary: &Summary) -> Self {
        let [band_0_30, band_31_90, band_over_90] = summary.arrears_fen;
        pb::ComplianceSummary {
            province_code: summary.province.to_string(),
            platform_id: summary.platform.to_string(),
            period_from: Some(date_to_proto(summary.from)),
            period_to: Some(date_to_proto(summary.to)),
            kinds: summary
                .kinds
                .iter()
                .map(|k| pb::KindSummary {
                    kind: kind(k.kind) as i32,
                    open: k.open,
                    resolved: k.resolved,
                    open_measure: k.open_measure,
                    total_measure: k.total_measure,
                })
                .collect(),
            refused_orders: summary.refused_orders,
            arrears_0_30_fen: band_0_30,
            arrears_31_90_fen: band_31_90,
            arrears_over_90_fen: band_over_90,
        }
    }
}

impl From<&Rank> for pb::PlatformRank {
    fn from(rank: &Rank) -> Self {
        pb::PlatformRank {
            province_code: rank.province_code.clone(),
            platform_id: rank.platform_id.clone(),
            refused_orders: rank.refused,
            accepted_orders: rank.accepted,
            uncovered_per_thousand: rank.per_thousand,
            rank: rank.rank,
        }
    }
}

impl From<&Ranking> for pb::RankPlatformsResponse {
    fn from(ranking: &Ranking) -> Self {
        pb::RankPlatformsResponse {
            month: Some(date_to_proto(ranking.month)),
            ranks: ranking.ranks.iter().map(pb::PlatformRank::from).collect(),
            next_page_token: ranking.next_page_token.clone(),
        }
    }
}
