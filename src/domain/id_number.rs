//! Resident identity numbers (GB 11643-1999).
//!
//! 18 characters: 6-digit address code, birth date YYYYMMDD, 3-digit sequence, check character.
//! Also accepted, with the same check: residence permits of Hong Kong, Macau and Taiwan residents
//! (address codes 810000, 820000, 830000) and the 2023 foreign permanent resident card (leading 9,
//! then the issuing province's code).
//!
//! 15-digit first-generation numbers are refused: those cards stopped being valid on 2013-01-01, and
//! converting one to 18 digits would guess the century. The caller is told to send the 18-digit number.
use super::{Invalid, division, masking};
use chrono::{Datelike, NaiveDate};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// A valid, normalised (uppercase X) 18-character identity number.
/// `Debug` shows it masked, so it cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber {
    value: String,
    birth_date: NaiveDate,
}

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// The check character GB 11643 assigns to 17 leading digits.
pub fn check_character(first17: &[u8; 17]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    char::from(CHECK_CHARS[(sum % 11) as usize])
}

impl IdNumber {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        // The one normalisation the service makes: a lowercase x as the check character.
        let value = match raw.strip_suffix('x') {
            Some(first17) => format!("{first17}X"),
            None => raw.to_owned(),
        };
        let bytes = value.as_bytes();
        if bytes.len() == 15 && bytes.iter().all(u8::is_ascii_digit) {
            return Err(Invalid::new(
                "15-digit first-generation ID numbers are no longer valid; send the 18-digit number",
            ));
        }
        if bytes.len() != 18 {
            return Err(Invalid::new("must be 18 characters"));
        }
        let Ok(first17) = <[u8; 17]>::try_from(&bytes[..17]) else {
            return Err(Invalid::new("must be 18 characters"));
        };
        if !first17.iter().all(u8::is_ascii_digit) {
            return Err(Invalid::new("the first 17 characters must be digits"));
        }
        let last = bytes[17];
        if !(last.is_ascii_digit() || last == b'X') {
            return Err(Invalid::new("the last character must be a digit or X"));
        }
        if char::from(last) != check_character(&first17) {
            return Err(Invalid::new(
                "the check character does not match (GB 11643)",
            ));
        }
        let address = &value[..6];
        let address_ok = if address.starts_with('9') {
            division::ProvinceCode::parse(&address[1..3]).is_ok()
        } else {
            division::is_historical_address_code(address)
        };
        if !address_ok {
            return Err(Invalid::new(
                "the address code (first 6 digits) is not a GB/T 2260 division code",
            ));
        }
        let birth_date = parse_birth_date(&value[6..14])
            .ok_or_else(|| Invalid::new("the birth date (digits 7 to 14) is not a real date"))?;
        Ok(Self { value, birth_date })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Full years of age on `date`.
    pub fn age_on(&self, date: NaiveDate) -> i32 {
        let born = self.birth_date;
        let had_birthday = (date.month(), date.day()) >= (born.month(), born.day());
        date.year() - born.year() - i32::from(!had_birthday)
    }

    /// `110105********002X`
    pub fn masked(&self) -> String {
        masking::mask_middle(&self.value, 6, 4)
    }
}

fn parse_birth_date(yyyymmdd: &str) -> Option<NaiveDate> {
    let year = yyyymmdd[..4].parse().ok()?;
    let month = yyyymmdd[4..6].parse().ok()?;
    let day = yyyymmdd[6..8].parse().ok()?;
    if year < 1900 {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_check(first17: &str) -> String {
        let digits: [u8; 17] = first17.as_bytes().try_into().expect("17 digits");
        format!("{first17}{}", check_character(&digits))
    }

    #[test]
    fn the_standard_example_is_valid() {
        let id = IdNumber::parse("11010519491231002X").expect("valid");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).expect("date")
        );
        assert_eq!(id.masked(), "110105********002X");
    }

    #[test]
    fn a_lowercase_x_is_the_one_normalisation() {
        let id = IdNumber::parse("11010519491231002x").expect("valid");
        assert_eq!(id.as_str(), "11010519491231002X");
        for padded in [
            " 11010519491231002X",
            "11010519491231002X ",
            "11010519491231002X\n",
        ] {
            assert!(IdNumber::parse(padded).is_err(), "{padded:?}");
        }
    }

    #[test]
    fn wrong_check_character_is_refused() {
        let err = IdNumber::parse("110105194912310021").expect_err("bad check");
        assert!(err.0.contains("check character"), "{err}");
    }

    #[test]
    fn impossible_birth_dates_are_refused() {
        // 1990-02-30 and month 13, each with a correct check character.
        for first17 in ["11010519900230001", "11010519901301001"] {
            let err = IdNumber::parse(&with_check(first17)).expect_err(first17);
            assert!(err.0.contains("birth date"), "{err}");
        }
        assert!(
            IdNumber::parse(&with_check("11010520000229001")).is_ok(),
            "leap day"
        );
    }

    #[test]
    fn unknown_address_codes_are_refused_but_abolished_ones_kept() {
        let err = IdNumber::parse(&with_check("99999919900101001")).expect_err("unknown");
        assert!(err.0.contains("address code"), "{err}");
        // 110104 (Xuanwu) was abolished in 2010; numbers issued before stay valid.
        assert!(IdNumber::parse(&with_check("11010419800101001")).is_ok());
    }

    #[test]
    fn residence_permits_and_foreigner_cards_are_accepted() {
        assert!(
            IdNumber::parse(&with_check("81000019900101001")).is_ok(),
            "Hong Kong"
        );
        assert!(
            IdNumber::parse(&with_check("83000019900101001")).is_ok(),
            "Taiwan"
        );
        // Foreign permanent resident card issued in Beijing (11) to a national of country 156.
        assert!(IdNumber::parse(&with_check("91115619900101001")).is_ok());
        assert!(
            IdNumber::parse(&with_check("99915619900101001")).is_err(),
            "province 99"
        );
    }

    #[test]
    fn legacy_fifteen_digit_numbers_get_a_clear_error() {
        let err = IdNumber::parse("110105491231002").expect_err("legacy");
        assert!(err.0.contains("18-digit"), "{err}");
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for raw in [
            "",
            "1101051949123100",
            "1101051949123100211",
            "11010519491231002Y",
            "1101051949123100X2",
        ] {
            assert!(IdNumber::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn age_counts_whole_years() {
        let id = IdNumber::parse(&with_check("11010520100615001")).expect("valid");
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert_eq!(id.age_on(day(2026, 6, 14)), 15);
        assert_eq!(id.age_on(day(2026, 6, 15)), 16);
    }

    #[test]
    fn debug_output_is_masked() {
        let id = IdNumber::parse("11010519491231002X").expect("valid");
        assert_eq!(format!("{id:?}"), "IdNumber(110105********002X)");
    }
}
