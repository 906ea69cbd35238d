//! Unified social credit codes of organisations (GB 32100-2015).
//!
//! 18 characters from a 31-character alphabet (no I, O, Z, S, V): registration authority,
//! organisation category, 6-digit division code, 9-character organisation code, check character.
use super::Invalid;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode(String);

fn alphabet_value(byte: u8) -> Option<u32> {
    ALPHABET.iter().position(|&c| c == byte).map(|p| p as u32)
}

/// The GB 32100 check character for the first 17 characters, or None if one is outside the alphabet.
pub fn check_character(first17: &[u8]) -> Option<char> {
    let mut sum = 0;
    for (&byte, weight) in first17.iter().zip(WEIGHTS) {
        sum += alphabet_value(byte)? * weight;
    }
    let check = (31 - sum % 31) % 31;
    Some(char::from(ALPHABET[check as usize]))
}

impl CreditCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let value = raw.to_owned();
        let bytes = value.as_bytes();
        if bytes.len() != 18 {
            return Err(Invalid::new("must be 18 characters (GB 32100)"));
        }
        if !bytes.iter().all(|&b| alphabet_value(b).is_some()) {
            return Err(Invalid::new(
                "may contain only digits and the capital letters A-H, J-N, P-R, T, U, W-Y",
            ));
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(Invalid::new("characters 3 to 8 must be a division code"));
        }
        if check_character(&bytes[..17]) != Some(char::from(bytes[17])) {
            return Err(Invalid::new(
                "the check character does not match (GB 32100)",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_codes_are_valid() {
        for code in [
            "9144030071526726XG", // Shenzhen Tencent Computer Systems
            "91330100799655058B", // Alibaba (China)
            "91110000802100433B", // Beijing Baidu Netcom
            "91310000MA1FL1MMXL",
        ] {
            assert!(CreditCode::parse(code).is_ok(), "{code}");
        }
        for not_canonical in [
            "9144030071526726xg",
            " 9144030071526726XG",
            "9144030071526726XG ",
        ] {
            assert!(
                CreditCode::parse(not_canonical).is_err(),
                "{not_canonical:?}"
            );
        }
    }

    #[test]
    fn wrong_check_character_is_refused() {
        let err = CreditCode::parse("9144030071526726XH").expect_err("bad check");
        assert!(err.0.contains("check character"));
    }

    #[test]
    fn letters_outside_the_alphabet_and_bad_lengths_are_refused() {
        assert!(
            CreditCode::parse("9144030071526726IG").is_err(),
            "I is not used"
        );
        assert!(CreditCode::parse("9144030071526726X").is_err());
        assert!(
            CreditCode::parse("91AA030071526726XG").is_err(),
            "division code"
        );
        assert!(CreditCode::parse("").is_err());
    }
}
