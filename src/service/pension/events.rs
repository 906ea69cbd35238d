//! The pension event, in the federation's wire format.
use crate::api::convert::timestamp;
use crate::domain::late_fee::Period;
use crate::domain::pension::PaidMonth;
use crate::pb;
use crate::store::events::{self, NewEvent};
use crate::store::pension::PensionRow;
use chrono::{DateTime, Utc};
use prost::Message;

/// What happened to a pension enrolment (the event's `change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Enrolled,
    TransferredOut,
    TransferredIn,
    MonthsPaid,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Enrolled => "enrolled",
            Change::TransferredOut => "transferred_out",
            Change::TransferredIn => "transferred_in",
            Change::MonthsPaid => "months_paid",
        }
    }
}

/// A pension enrolment opened, moved or paid for. `total_fen` is the sum of `months`, which is
/// bounded (see `domain::pension::sums`).
pub fn pension_changed<'a>(
    row: &'a PensionRow,
    change: Change,
    months: &[PaidMonth],
    total_fen: i64,
    actor: String,
    at: DateTime<Utc>,
) -> NewEvent<'a> {
    let payload = pb::PensionChangedV1 {
        pension_id: row.pension_id.to_string(),
        province_code: row.province_code.clone(),
        change: change.as_str().to_owned(),
        person_key: hex::encode(&row.person_key),
        id_number_masked: row.id_masked.clone(),
        monthly_base_fen: row.monthly_base_fen,
        months: months
            .iter()
            .map(|m| Period::containing(m.month).to_string())
            .collect(),
        total_fen,
        occurred_at: Some(timestamp(at)),
        actor,
    };
    NewEvent {
        province_code: &row.province_code,
        event_type: events::PENSION_CHANGED,
        aggregate_id: row.pension_id,
        payload: payload.encode_to_vec(),
        occurred_at: at,
    }
}
