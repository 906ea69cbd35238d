//! The contribution events, in the federation's wire format: orders recorded (volumes per
//! province), declarations filed, payments recorded.
use super::declarations::Declaration;
use crate::api::convert::{date_to_proto, timestamp};
use crate::domain::platform::PlatformId;
use crate::pb;
use crate::store::events::{self, NewEvent};
use crate::store::orders::{NewOrder, OrderOutcome};
use chrono::{DateTime, Utc};
use prost::Message;
use std::collections::BTreeMap;

/// One event per province for the orders a chunk accepted: the order volumes provinces receive.
pub fn orders_recorded<'a>(
    platform: &PlatformId,
    orders: &'a [NewOrder],
    outcomes: &[OrderOutcome],
    now: DateTime<Utc>,
) -> Vec<NewEvent<'a>> {
    type Accepted<'o> = (Vec<&'o NewOrder>, i64);
    let mut by_province: BTreeMap<&str, Accepted<'a>> = BTreeMap::new();
    for (order, outcome) in orders.iter().zip(outcomes) {
        if let OrderOutcome::Accepted {
            premium_tenth_fen, ..
        } = outcome
        {
            let (accepted, premium) = by_province.entry(order.province_code.as_str()).or_default();
            accepted.push(order);
            // At most 1,500,000 per order and 2,000 orders per chunk: far from overflowing.
            *premium = premium.saturating_add(*premium_tenth_fen);
        }
    }
    by_province
        .into_iter()
        .map(|(province_code, (accepted, premium_tenth_fen))| {
            let instants = accepted.iter().map(|o| o.accepted_at);
            let event = pb::OrdersRecordedV1 {
                platform_id: platform.to_string(),
                province_code: province_code.to_owned(),
                orders: accepted.len() as i64,
                premium_tenth_fen,
                first_accepted_at: instants.clone().min().map(timestamp),
                last_accepted_at: instants.max().map(timestamp),
                order_ids: accepted.iter().map(|o| o.order_id.clone()).collect(),
                occurred_at: Some(timestamp(now)),
            };
            NewEvent {
                province_code,
                event_type: events::ORDERS_RECORDED,
                aggregate_id: uuid::Uuid::now_v7(),
                payload: event.encode_to_vec(),
                occurred_at: now,
            }
        })
        .collect()
}

/// A declaration filed (a new version of a month's declaration).
pub fn declaration_filed<'a>(declaration: &'a Declaration, actor: String) -> NewEvent<'a> {
    NewEvent {
        province_code: declaration.province.as_str(),
        event_type: events::DECLARATION_FILED,
        aggregate_id: uuid::Uuid::now_v7(),
        payload: pb::DeclarationFiledV1 {
            declaration: Some(pb::Declaration::from(declaration)),
            actor,
        }
        .encode_to_vec(),
        occurred_at: declaration.declared_at,
    }
}

/// A payment recorded against a month's declaration.
pub struct PaymentRecorded<'a> {
    pub payment_id: uuid::Uuid,
    pub province_code: &'a str,
    pub platform_id: &'a str,
    pub period: String,
    pub amount_fen: i64,
    pub paid_on: chrono::NaiveDate,
    pub at: DateTime<Utc>,
    pub actor: String,
}

pub fn payment_recorded<'a>(payment: PaymentRecorded<'a>) -> NewEvent<'a> {
    let payload = pb::PaymentRecordedV1 {
        payment_id: payment.payment_id.to_string(),
        province_code: payment.province_code.to_owned(),
        platform_id: payment.platform_id.to_owned(),
        period: payment.period,
        amount_fen: payment.amount_fen,
        paid_on: Some(date_to_proto(payment.paid_on)),
        occurred_at: Some(timestamp(payment.at)),
        actor: payment.actor,
    };
    NewEvent {
        province_code: payment.province_code,
        event_type: events::PAYMENT_RECORDED,
        aggregate_id: payment.payment_id,
        payload: payload.encode_to_vec(),
        occurred_at: payment.at,
    }
}
