//! The enrolment events, in the federation's wire format: the one file of this service that builds
//! protobuf messages.
use crate::api::convert::{date_to_proto, industry_to_proto, timestamp};
use crate::domain::enrolment::EnrolmentStatus;
use crate::domain::lifecycle::Reason;
use crate::pb;
use crate::store::enrolments::EnrolmentRow;
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use uuid::Uuid;

/// `enrolment.opened.v1` for `row`, a new enrolment (a continuation names its predecessor in
/// `transferred_from`).
pub fn opened(row: &EnrolmentRow, person_key: &[u8], actor: &str, at: DateTime<Utc>) -> Vec<u8> {
    pb::EnrolmentOpenedV1 {
        enrolment_id: row.enrolment_id.to_string(),
        platform_id: row.platform_id.clone(),
        province_code: row.province_code.clone(),
        place_of_employment: row.place_code.clone(),
        industry: industry_to_proto(row.industry) as i32,
        cover_start_date: Some(date_to_proto(row.cover_start)),
        person_key: hex::encode(person_key),
        id_number_masked: row.id_masked.clone(),
        occurred_at: Some(timestamp(at)),
        actor: actor.to_owned(),
        transferred_from: row
            .transferred_from
            .map(|id| id.to_string())
            .unwrap_or_default(),
    }
    .encode_to_vec()
}

/// What a lifecycle change did, for `enrolment.changed.v1`.
pub struct Changed<'a> {
    pub row: &'a EnrolmentRow,
    pub person_key: &'a [u8],
    pub status: EnrolmentStatus,
    pub effective: NaiveDate,
    pub reason: Reason,
    /// The other side of a transfer.
    pub related: Option<Uuid>,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

pub fn changed(change: &Changed<'_>) -> Vec<u8> {
    pb::EnrolmentChangedV1 {
        enrolment_id: change.row.enrolment_id.to_string(),
        platform_id: change.row.platform_id.clone(),
        province_code: change.row.province_code.clone(),
        status: pb::EnrolmentStatus::from(change.status) as i32,
        effective_date: Some(date_to_proto(change.effective)),
        reason: pb::ChangeReason::from(change.reason) as i32,
        person_key: hex::encode(change.person_key),
        id_number_masked: change.row.id_masked.clone(),
        related_enrolment_id: change.related.map(|id| id.to_string()).unwrap_or_default(),
        occurred_at: Some(timestamp(change.at)),
        actor: change.actor.to_owned(),
    }
    .encode_to_vec()
}
