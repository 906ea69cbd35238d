//! A worker's name and phone number. `Debug` masks both so they cannot leak into logs.
use super::{Invalid, masking};

#[derive(Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 {
            return Err(Invalid::new("must not be empty"));
        }
        if length > 64 {
            return Err(Invalid::new("must be at most 64 characters"));
        }
        if name.chars().any(|c| c.is_control() || c.is_ascii_digit()) {
            return Err(Invalid::new(
                "must not contain digits or control characters",
            ));
        }
        Ok(Self(name.to_owned()))
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
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let phone = raw.trim();
        let phone = phone.strip_prefix("+86").unwrap_or(phone);
        if phone.len() != 11
            || !phone.bytes().all(|b| b.is_ascii_digit())
            || !phone.starts_with('1')
        {
            return Err(Invalid::new("must be 11 digits starting with 1"));
        }
        Ok(Self(phone.to_owned()))
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
            PersonName::parse(" Ann Lee ").map(|n| n.masked()),
            Ok("A******".to_owned())
        );
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "   ", "张\n三", "abc1", &"长".repeat(65)] {
            assert!(PersonName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(
            Phone::parse("13812345678").map(|p| p.masked()),
            Ok("138****5678".to_owned())
        );
        assert!(Phone::parse("+8613812345678").is_ok());
        for bad in [
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
