//! Federation answers as the API shows them.
use crate::api::convert::timestamp;
use crate::pb;
use crate::service::federation::{Acknowledgement, Digest, ResolvedPerson};
use crate::store::federation::LogRow;

/// A numbered event as a province receives it.
pub(super) fn federated_event(province: &str, row: LogRow) -> pb::FederatedEvent {
    pb::FederatedEvent {
        province_code: province.to_owned(),
        seq: row.seq,
        event_id: hyphenated(row.event_id),
        event_type: row.event_type,
        aggregate_id: hyphenated(row.aggregate_id),
        payload: row.payload,
        occurred_at: Some(timestamp(row.occurred_at)),
        chain_hash: lower_hex(&row.chain_hash),
    }
}

/// `Uuid::to_string` goes through the formatting machinery, which showed in the catch-up profile.
fn hyphenated(id: uuid::Uuid) -> String {
    id.hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned()
}

/// `hex::encode` builds its string a char at a time, which showed in the catch-up profile.
fn lower_hex(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    match hex::encode_to_slice(bytes, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => hex::encode(bytes),
    }
}

impl From<&Digest> for pb::Digest {
    fn from(digest: &Digest) -> Self {
        pb::Digest {
            province_code: digest.province.to_string(),
            seq: digest.seq,
            chain_hash: hex::encode(&digest.chain_hash),
            head_seq: digest.head_seq,
            head_hash: hex::encode(&digest.head_hash),
            purged_through_seq: digest.purged_through,
        }
    }
}

impl From<&ResolvedPerson> for pb::ResolvedPerson {
    fn from(resolved: &ResolvedPerson) -> Self {
        pb::ResolvedPerson {
            person_key: hex::encode(&resolved.person_key),
            id_number: resolved.id_number.clone(),
            id_number_masked: resolved.id_number_masked.clone(),
        }
    }
}

impl From<&Acknowledgement> for pb::Acknowledgement {
    fn from(acknowledgement: &Acknowledgement) -> Self {
        pb::Acknowledgement {
            province_code: acknowledgement.province.to_string(),
            seq: acknowledgement.seq,
            chain_hash: hex::encode(&acknowledgement.chain_hash),
            acknowledged_at: Some(timestamp(acknowledgement.acknowledged_at)),
            purged_through_seq: acknowledgement.purged_through,
        }
    }
}
