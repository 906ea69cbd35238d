//! ContributionService answers into proto messages.
use super::decode::{arrears_cursor, arrears_query};
use crate::api::convert::{date_to_proto, industry_to_proto, timestamp};
use crate::api::paging;
use crate::domain::late_fee::{DeclarationSource, Period};
use crate::domain::pension::{PaidMonth, PensionStatus};
use crate::domain::rates::rate_version;
use crate::error::rpc_status;
use crate::pb;
use crate::service::contribution::coverage::Coverage;
use crate::service::contribution::declarations::Declaration;
use crate::service::contribution::orders::{OrderResult, Outcome};
use crate::service::contribution::payments::{Arrears, Statement};
use crate::service::pension::{PensionAccount, PensionContribution, PensionEnrolment};
use crate::service::rates::RateInForce;

impl From<&RateInForce> for pb::RateInForce {
    fn from(rate: &RateInForce) -> Self {
        pb::RateInForce {
            base_rate: Some(pb::BaseRate::from(&rate.base)),
            multiplier: rate.multiplier.as_ref().map(pb::RateMultiplier::from),
            premium_tenth_fen_per_order: rate.premium_tenth_fen_per_order,
            rate_version: rate.version(),
        }
    }
}

impl From<OrderResult> for pb::RecordOrdersResult {
    fn from(result: OrderResult) -> Self {
        use pb::record_orders_result::Outcome as Wire;
        let outcome = match result.outcome {
            Outcome::Accepted {
                order_id,
                enrolment_id,
                rate_version,
                premium_tenth_fen,
            } => Wire::Accepted(pb::OrderAccepted {
                order_id,
                enrolment_id: enrolment_id.to_string(),
                rate_version,
                premium_tenth_fen,
            }),
            Outcome::Duplicate(order_id) => Wire::DuplicateOrderId(order_id),
            Outcome::Refused(error) => Wire::Error(rpc_status(error)),
        };
        pb::RecordOrdersResult {
            index: result.index,
            outcome: Some(outcome),
        }
    }
}

impl From<&Coverage> for pb::CoverageAnswer {
    fn from(answer: &Coverage) -> Self {
        let Some(covered) = &answer.covered else {
            return pb::CoverageAnswer {
                covered: false,
                enrolment: None,
                order: None,
                rate: None,
            };
        };
        pb::CoverageAnswer {
            covered: true,
            enrolment: Some(crate::api::enrolment::to_proto(
                &covered.enrolment.enrolment,
            )),
            order: covered.order.as_ref().map(|order| pb::CoveredOrder {
                order_id: order.order_id.clone(),
                accepted_at: Some(timestamp(order.accepted_at)),
                completed_at: order.completed_at.map(timestamp),
                rate_version: rate_version(order.base_rate_id, order.multiplier_id),
                premium_tenth_fen: order.premium_tenth_fen,
            }),
            rate: covered.rate.as_ref().map(pb::RateInForce::from),
        }
    }
}

fn source_to_proto(source: DeclarationSource) -> pb::DeclarationSource {
    match source {
        DeclarationSource::Orders => pb::DeclarationSource::Orders,
        DeclarationSource::DeclaredCounts => pb::DeclarationSource::DeclaredCounts,
    }
}

impl From<&Declaration> for pb::Declaration {
    fn from(declaration: &Declaration) -> Self {
        pb::Declaration {
            province_code: declaration.province.to_string(),
            platform_id: declaration.platform.to_string(),
            period: declaration.period.to_string(),
            version: declaration.version,
            source: source_to_proto(declaration.source) as i32,
            lines: declaration
                .lines
                .iter()
                .map(|line| pb::DeclarationLine {
                    industry: industry_to_proto(line.industry) as i32,
                    orders: line.orders,
                    rate_version: rate_version(line.base_rate_id, line.multiplier_id),
                    amount_fen: line.amount_fen,
                })
                .collect(),
            total_fen: declaration.total.0,
            due_date: Some(date_to_proto(declaration.due_date)),
            declared_at: Some(timestamp(declaration.declared_at)),
            previous_total_fen: declaration.previous_total.0,
            delta_fen: declaration.delta.0,
            industry_deltas: declaration
                .industry_deltas
                .iter()
                .map(|(industry, delta)| pb::IndustryDelta {
                    industry: industry_to_proto(*industry) as i32,
                    delta_fen: delta.0,
                })
                .collect(),
        }
    }
}

impl From<&Statement> for pb::Statement {
    fn from(statement: &Statement) -> Self {
        let figures = &statement.figures;
        pb::Statement {
            province_code: statement.province_code.clone(),
            platform_id: statement.platform_id.clone(),
            period: statement.period.to_string(),
            as_of: Some(date_to_proto(statement.as_of)),
            declaration_version: statement.declaration_version,
            due_fen: statement.due.0,
            due_date: Some(date_to_proto(statement.due_date)),
            paid_fen: figures.paid.0,
            balance_fen: figures.balance.0,
            days_late: figures.days_late,
            late_fee_fen: figures.late_fee.0,
            payments: statement
                .payments
                .iter()
                .map(|p| pb::Payment {
                    payment_id: p.payment_id.to_string(),
                    amount_fen: p.amount_fen,
                    paid_on: Some(date_to_proto(p.paid_on)),
                    recorded_at: Some(timestamp(p.recorded_at)),
                })
                .collect(),
        }
    }
}

impl From<&Arrears> for pb::ListArrearsResponse {
    fn from(arrears: &Arrears) -> Self {
        let next_page_token = arrears
            .next
            .as_ref()
            .map(|(platform_id, period)| {
                paging::encode_token(
                    &arrears_query(&arrears.province, arrears.as_of),
                    &arrears_cursor(platform_id, *period),
                )
            })
            .unwrap_or_default();
        pb::ListArrearsResponse {
            arrears: arrears.statements.iter().map(pb::Statement::from).collect(),
            next_page_token,
        }
    }
}

fn status_to_proto(status: PensionStatus) -> pb::PensionStatus {
    match status {
        PensionStatus::Active => pb::PensionStatus::Active,
        PensionStatus::Transferred => pb::PensionStatus::Transferred,
    }
}

impl From<&PensionEnrolment> for pb::PensionEnrolment {
    fn from(row: &PensionEnrolment) -> Self {
        pb::PensionEnrolment {
            pension_id: row.pension_id.to_string(),
            province_code: row.province_code.clone(),
            place_of_employment: row.place_code.clone(),
            id_number_masked: row.id_masked.clone(),
            monthly_base_fen: row.monthly_base_fen,
            status: status_to_proto(row.status) as i32,
            transferred_to: row
                .transferred_to
                .map(|id| id.to_string())
                .unwrap_or_default(),
            created_at: Some(timestamp(row.created_at)),
        }
    }
}

fn month_to_proto(month: &PaidMonth) -> pb::PensionMonth {
    pb::PensionMonth {
        month: Period::containing(month.month).to_string(),
        base_fen: month.base.0,
        total_fen: month.total.0,
        individual_fen: month.individual.0,
    }
}

impl From<&PensionContribution> for pb::PensionContribution {
    fn from(paid: &PensionContribution) -> Self {
        pb::PensionContribution {
            pension_id: paid.pension_id.to_string(),
            months: paid.months.iter().map(month_to_proto).collect(),
            total_fen: paid.total.0,
            individual_fen: paid.individual.0,
        }
    }
}

impl From<&PensionAccount> for pb::PensionAccount {
    fn from(account: &PensionAccount) -> Self {
        pb::PensionAccount {
            enrolment: Some(pb::PensionEnrolment::from(&account.enrolment)),
            months_paid: account.months_paid.iter().map(month_to_proto).collect(),
            gaps: account
                .gaps
                .iter()
                .map(|month| Period::containing(*month).to_string())
                .collect(),
            individual_balance_fen: account.individual_balance.0,
        }
    }
}
