//! Pagination (AIP-158): page sizes with a default and a cap, opaque page tokens bound to the query
//! that produced them.
use crate::error::{AppError, AppResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;
const VERSION: u8 = 1;
const FINGERPRINT_LEN: usize = 8;

/// 0 means the default; above the cap is lowered to the cap; negative is an error.
pub fn page_size(requested: i32) -> AppResult<i64> {
    match i64::from(requested) {
        size if size < 0 => Err(AppError::invalid("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        size => Ok(size.min(MAX_PAGE_SIZE)),
    }
}

fn fingerprint(query: &str) -> [u8; FINGERPRINT_LEN] {
    let digest = Sha256::digest(query.as_bytes());
    let mut out = [0u8; FINGERPRINT_LEN];
    out.copy_from_slice(&digest[..FINGERPRINT_LEN]);
    out
}

/// A token for the page after `cursor`; `query` describes the caller and filters.
pub fn encode_token(query: &str, cursor: &str) -> String {
    let mut bytes = vec![VERSION];
    bytes.extend(fingerprint(query));
    bytes.extend(cursor.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The cursor of a token, which must come from the same query. Empty token: first page.
pub fn decode_token(query: &str, token: &str) -> AppResult<Option<String>> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        AppError::invalid(
            "page_token",
            "is not a token from this listing with these filters",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() <= 1 + FINGERPRINT_LEN
        || bytes[0] != VERSION
        || bytes[1..=FINGERPRINT_LEN] != fingerprint(query)
    {
        return Err(invalid());
    }
    String::from_utf8(bytes[1 + FINGERPRINT_LEN..].to_vec())
        .map(Some)
        .map_err(|_| invalid())
}

/// Pages are fetched with one look-ahead row: trims it and returns the token for the next page
/// (empty on the last page).
pub fn next_token<T>(rows: &mut Vec<T>, page_size: i64, token: impl Fn(&T) -> String) -> String {
    if rows.len() as i64 > page_size {
        rows.truncate(page_size as usize);
        rows.last().map(token).unwrap_or_default()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_only_for_their_query() {
        let token = encode_token("platform:a|44", "cursor-1");
        assert_eq!(
            decode_token("platform:a|44", &token)
                .ok()
                .flatten()
                .as_deref(),
            Some("cursor-1")
        );
        assert!(decode_token("platform:a|45", &token).is_err());
        assert!(decode_token("platform:a|44", "garbage!").is_err());
        assert_eq!(decode_token("q", "").ok(), Some(None));
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(0).ok(), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(10).ok(), Some(10));
        assert_eq!(page_size(10_000).ok(), Some(MAX_PAGE_SIZE));
        assert!(page_size(-1).is_err());
    }
}
