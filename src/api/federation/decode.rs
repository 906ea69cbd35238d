//! FederationService requests decoded into service commands. Hashes and person keys are lowercase
//! hex exactly as the service writes them.
use crate::domain::Invalid;
use crate::domain::division::ProvinceCode;
use crate::error::{AppError, AppResult, Violations};
use crate::pb;
use crate::service::federation::{AcknowledgeEvents, GetDigest, ResolvePerson, StreamEvents};

/// 32 bytes written as 64 lowercase hex digits (chain hashes, person keys).
fn hex_32(raw: &str) -> Result<Vec<u8>, Invalid> {
    let canonical = raw.len() == 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    canonical
        .then(|| hex::decode(raw).ok())
        .flatten()
        .ok_or_else(|| Invalid::new("must be 64 lowercase hex digits, as in the events"))
}

fn not_negative(value: i64) -> Result<i64, Invalid> {
    if value < 0 {
        Err(Invalid::new("must not be negative"))
    } else {
        Ok(value)
    }
}

impl TryFrom<pb::StreamEventsRequest> for StreamEvents {
    type Error = AppError;

    fn try_from(request: pb::StreamEventsRequest) -> AppResult<Self> {
        let pb::StreamEventsRequest {
            province_code,
            after_seq,
            after_hash,
            follow,
        } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let after_seq = violations.check("after_seq", not_negative(after_seq));
        let after_hash = if after_hash.is_empty() {
            if after_seq.is_some_and(|seq| seq > 0) {
                violations.add(
                    "after_hash",
                    "after_hash is required with after_seq: the chain hash held at that seq",
                );
            }
            None
        } else {
            violations.check("after_hash", hex_32(&after_hash))
        };
        violations.into_result()?;
        let (Some(province), Some(after_seq)) = (province, after_seq) else {
            return Err(anyhow::anyhow!("a request was refused without a field violation").into());
        };
        Ok(StreamEvents {
            province,
            after_seq,
            after_hash,
            follow,
        })
    }
}

impl TryFrom<pb::GetDigestRequest> for GetDigest {
    type Error = AppError;

    fn try_from(request: pb::GetDigestRequest) -> AppResult<Self> {
        let pb::GetDigestRequest { province_code, seq } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let seq = violations.check("seq", not_negative(seq));
        violations.into_result()?;
        let (Some(province), Some(seq)) = (province, seq) else {
            return Err(anyhow::anyhow!("a request was refused without a field violation").into());
        };
        Ok(GetDigest { province, seq })
    }
}

impl TryFrom<pb::ResolvePersonRequest> for ResolvePerson {
    type Error = AppError;

    fn try_from(request: pb::ResolvePersonRequest) -> AppResult<Self> {
        let pb::ResolvePersonRequest {
            province_code,
            person_key,
        } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let person_key = violations.check("person_key", hex_32(&person_key));
        violations.into_result()?;
        let (Some(province), Some(person_key)) = (province, person_key) else {
            return Err(anyhow::anyhow!("a request was refused without a field violation").into());
        };
        Ok(ResolvePerson {
            province,
            person_key,
        })
    }
}

impl TryFrom<pb::AcknowledgeEventsRequest> for AcknowledgeEvents {
    type Error = AppError;

    fn try_from(request: pb::AcknowledgeEventsRequest) -> AppResult<Self> {
        let pb::AcknowledgeEventsRequest {
            province_code,
            seq,
            chain_hash,
        } = request;
        let mut violations = Violations::new();
        let province = violations.check("province_code", ProvinceCode::parse(&province_code));
        let seq = violations.check(
            "seq",
            if seq < 1 {
                Err(Invalid::new(
                    "must be at least 1: the last seq the copy holds",
                ))
            } else {
                Ok(seq)
            },
        );
        let chain_hash = violations.check("chain_hash", hex_32(&chain_hash));
        violations.into_result()?;
        let (Some(province), Some(seq), Some(chain_hash)) = (province, seq, chain_hash) else {
            return Err(anyhow::anyhow!("a request was refused without a field violation").into());
        };
        Ok(AcknowledgeEvents {
            province,
            seq,
            chain_hash,
        })
    }
}
