//! A worker's name and phone number. `Debug` masks both so they cannot leak into logs.
use super::{Invalid, masking};

/// The separator of transliterated names, as in 阿依古丽·买买提.
const MIDDLE_DOT: char = '\u{00B7}';

/// CJK ideographs (unified, extensions A to F and compatibility) and Latin letters (basic,
/// Latin-1, extended A and B, additional).
fn is_name_letter(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2EBEF}'
        | '\u{30000}'..='\u{3134F}'
    ) || (c.is_alphabetic()
        && matches!(c, 'A'..='Z' | 'a'..='z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
        && c != '\u{00D7}'
        && c != '\u{00F7}')
}

#[derive(Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// 1 to 50 characters: letters (CJK ideographs, Latin), the middle dot `·` of transliterated
    /// names between letters, and single spaces between words. No digits, emoji, punctuation,
    /// control or invisible formatting characters; nothing to trim.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let length = raw.chars().count();
        if length == 0 {
            return Err(Invalid::new("required"));
        }
        if length > 50 {
            return Err(Invalid::new("must be at most 50 characters"));
        }
        if !raw
            .chars()
            .all(|c| is_name_letter(c) || c == ' ' || c == MIDDLE_DOT)
        {
            return Err(Invalid::new(
                "may contain only letters (Chinese characters or Latin), the middle dot · and single spaces between words",
            ));
        }
        let chars: Vec<char> = raw.chars().collect();
        let separators_between_letters = chars.iter().enumerate().all(|(i, &c)| {
            let is_separator = c == ' ' || c == MIDDLE_DOT;
            !is_separator
                || (i > 0
                    && i + 1 < chars.len()
                    && is_name_letter(chars[i - 1])
                    && is_name_letter(chars[i + 1]))
        });
        if !separators_between_letters {
            return Err(Invalid::new(
                "spaces and middle dots must stand alone between letters (no leading, trailing or double ones)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first character, then one `*` per remaining character: `张**`.
    pub fn masked(&self) -> String {
        let mut chars = self.0.chars();
        let first = chars.next().unwrap_or('*');
        let rest = chars.count().max(1);
        std::iter::once(first)
            .chain(std::iter::repeat_n('*', rest))
            .collect()
    }
}

impl std::fmt::Debug for PersonName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}

/// An 11-digit mainland mobile number starting with 1.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Exactly 11 digits starting with 1: no `+86`, spaces or dashes.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.len() != 11 || !raw.bytes().all(|b| b.is_ascii_digit()) || !raw.starts_with('1') {
            return Err(Invalid::new(
                "must be exactly 11 digits starting with 1, without +86, spaces or dashes",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`
    pub fn masked(&self) -> String {
        masking::mask_middle(&self.0, 3, 4)
    }
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_after_the_first_character() {
        assert_eq!(
            PersonName::parse("张三丰").map(|n| n.masked()),
            Ok("张**".to_owned())
        );
        assert_eq!(
            PersonName::parse("李").map(|n| n.masked()),
            Ok("李*".to_owned())
        );
        assert_eq!(
            PersonName::parse("Ann Lee").map(|n| n.masked()),
            Ok("A******".to_owned())
        );
        assert!(PersonName::parse("阿依古丽·买买提").is_ok());
        assert!(PersonName::parse("José Müller").is_ok());
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "",
            "   ",
            " Ann Lee",
            "Ann Lee ",
            "Ann  Lee",
            "·Ann",
            "张\n三",
            "abc1",
            "张三😀",
            "张\u{202E}三",
            "Robert'); DROP TABLE enrolments;--",
            "Ann·",
            &"长".repeat(51),
        ] {
            assert!(PersonName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(
            Phone::parse("13812345678").map(|p| p.masked()),
            Ok("138****5678".to_owned())
        );
        for bad in [
            "+8613812345678",
            " 13812345678",
            "138 1234 5678",
            "",
            "1381234567",
            "138123456789",
            "23812345678",
            "1381234567a",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_is_masked() {
        let phone = Phone::parse("13812345678").expect("valid");
        assert_eq!(format!("{phone:?}"), "Phone(138****5678)");
        let name = PersonName::parse("张三").expect("valid");
        assert_eq!(format!("{name:?}"), "PersonName(张*)");
    }
}
