//! Platform enterprises.
use super::Invalid;

/// A platform's short, stable identifier: lowercase letters, digits and dashes, 2 to 40 characters,
/// starting with a letter or digit (e.g. `meituan`, `sf-intra-city`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlatformId(String);

impl PlatformId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let well_formed = (2..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if !well_formed {
            return Err(Invalid::new(
                "must be 2 to 40 lowercase letters, digits or dashes, e.g. meituan",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PlatformId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A platform's display name.
pub fn parse_platform_name(raw: &str) -> Result<String, Invalid> {
    super::text::check_line(raw, 100)?;
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_ids() {
        assert!(PlatformId::parse("meituan").is_ok());
        assert!(PlatformId::parse("sf-intra-city").is_ok());
        for bad in ["", "a", "Meituan", "-x", "x-", "美团", "a b"] {
            assert!(PlatformId::parse(bad).is_err(), "{bad}");
        }
    }
}
