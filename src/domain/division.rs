//! Administrative division codes (GB/T 2260): 2-digit province + 2 prefecture + 2 county.
use super::Invalid;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

static CURRENT: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    include_str!("data/divisions_current.tsv")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .collect()
});

static HISTORICAL: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("data/divisions_historical.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect()
});

/// Whether `code` was an address code at any time since 1980 (ID numbers keep the code in force
/// when they were issued, so a code abolished since is still valid in an ID number).
pub fn is_historical_address_code(code: &str) -> bool {
    HISTORICAL.contains(code)
}

/// A province-level division that exists today, e.g. `11` (Beijing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProvinceCode(String);

impl ProvinceCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.len() != 2 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(
                "must be a 2-digit GB/T 2260 province code, e.g. 11",
            ));
        }
        if !CURRENT.contains_key(format!("{raw}0000").as_str()) {
            return Err(Invalid::new(format!(
                "{raw} is not a province code in GB/T 2260"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn name(&self) -> &'static str {
        CURRENT
            .get(format!("{}0000", self.0).as_str())
            .copied()
            .unwrap_or_default()
    }
}

impl std::fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A place of employment: a prefecture- or county-level division that exists today.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PlaceOfEmployment(String);

impl PlaceOfEmployment {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.len() != 6 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(
                "must be a 6-digit GB/T 2260 division code, e.g. 440305",
            ));
        }
        if raw.ends_with("0000") {
            return Err(Invalid::new(format!(
                "{raw} is a province; give the prefecture or county where the worker takes orders"
            )));
        }
        if !CURRENT.contains_key(raw) {
            return Err(Invalid::new(format!(
                "{raw} is not a prefecture or county code in force today"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn province(&self) -> ProvinceCode {
        ProvinceCode(self.0[..2].to_owned())
    }

    pub fn name(&self) -> &'static str {
        CURRENT.get(self.0.as_str()).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn county_and_prefecture_codes_in_force_are_places_of_employment() {
        let nanshan = PlaceOfEmployment::parse("440305").expect("Nanshan, Shenzhen");
        assert_eq!(nanshan.province().as_str(), "44");
        assert_eq!(nanshan.name(), "南山区");
        assert!(
            PlaceOfEmployment::parse("130100").is_ok(),
            "Shijiazhuang prefecture"
        );
        assert!(
            PlaceOfEmployment::parse("110105").is_ok(),
            "Chaoyang, Beijing"
        );
    }

    #[test]
    fn provinces_malformed_and_abolished_codes_are_refused() {
        assert!(PlaceOfEmployment::parse("110000").is_err(), "a province");
        assert!(PlaceOfEmployment::parse("11010").is_err());
        assert!(PlaceOfEmployment::parse("11010a").is_err());
        assert!(PlaceOfEmployment::parse("999999").is_err());
        assert!(
            PlaceOfEmployment::parse(" 440305").is_err(),
            "not canonical"
        );
        assert!(
            PlaceOfEmployment::parse("440305 ").is_err(),
            "not canonical"
        );
        // Xuanwu district of Beijing was merged into Xicheng in 2010.
        assert!(PlaceOfEmployment::parse("110104").is_err());
        assert!(is_historical_address_code("110104"));
    }

    #[test]
    fn province_codes() {
        assert_eq!(ProvinceCode::parse("44").map(|p| p.name()), Ok("广东省"));
        assert!(ProvinceCode::parse("99").is_err());
        assert!(ProvinceCode::parse("4").is_err());
        assert!(ProvinceCode::parse(" 44").is_err(), "not canonical");
    }

    #[test]
    fn historical_codes_include_residence_permits() {
        for code in ["810000", "820000", "830000", "110105"] {
            assert!(is_historical_address_code(code), "{code}");
        }
        assert!(!is_historical_address_code("999999"));
    }
}
