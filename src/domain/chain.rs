//! The per-province hash chain: each numbered event's hash covers the previous hash, its sequence
//! number, its id and its payload exactly as stored, so two copies with the same head hash hold
//! the same events in the same order.
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The hash before the first event of a province.
pub const GENESIS: [u8; 32] = [0; 32];

pub fn link(previous: &[u8], seq: i64, event_id: Uuid, payload: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(seq.to_be_bytes());
    hasher.update(event_id.as_bytes());
    hasher.update(payload);
    hasher.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_changes_the_hash() {
        let id = Uuid::from_u128(7);
        let base = link(&GENESIS, 1, id, b"payload");
        assert_eq!(base, link(&GENESIS, 1, id, b"payload"), "deterministic");
        assert_ne!(base, link(&[1; 32], 1, id, b"payload"));
        assert_ne!(base, link(&GENESIS, 2, id, b"payload"));
        assert_ne!(base, link(&GENESIS, 1, Uuid::from_u128(8), b"payload"));
        assert_ne!(base, link(&GENESIS, 1, id, b"payloaD"));
        assert_eq!(base.len(), 32);
    }
}
