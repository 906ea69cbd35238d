//! Who may call: the roles an API token is issued for.
use super::{Invalid, division::ProvinceCode, platform::PlatformId};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// Runs the national platform: administration and every province's data.
    NationalAdmin,
    /// Reads everything, changes nothing.
    Auditor,
    /// A provincial social-insurance agency: its own province's data.
    ProvinceAgency(ProvinceCode),
    /// A platform enterprise's backend: its own workers.
    Platform(PlatformId),
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.split_once(':') {
            None if raw == "national-admin" => Ok(Role::NationalAdmin),
            None if raw == "auditor" => Ok(Role::Auditor),
            Some(("province", code)) => ProvinceCode::parse(code).map(Role::ProvinceAgency),
            Some(("platform", id)) => PlatformId::parse(id).map(Role::Platform),
            _ => Err(Invalid::new(
                "must be national-admin, auditor, province:<2-digit code> or platform:<platform id>",
            )),
        }
    }

    /// The caller's own platform, when the caller is one: what fills "whose" in a request that
    /// defaults to the caller. It decides nothing; `policy` decides who may do what.
    pub fn platform(&self) -> Option<&PlatformId> {
        match self {
            Role::Platform(platform) => Some(platform),
            _ => None,
        }
    }

    /// The kind of caller, for telemetry (no identifiers).
    pub fn kind(&self) -> &'static str {
        match self {
            Role::NationalAdmin => "national-admin",
            Role::Auditor => "auditor",
            Role::ProvinceAgency(_) => "province",
            Role::Platform(_) => "platform",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::NationalAdmin => f.write_str("national-admin"),
            Role::Auditor => f.write_str("auditor"),
            Role::ProvinceAgency(code) => write!(f, "province:{code}"),
            Role::Platform(id) => write!(f, "platform:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for raw in [
            "national-admin",
            "auditor",
            "province:44",
            "platform:meituan",
        ] {
            assert_eq!(Role::parse(raw).map(|r| r.to_string()), Ok(raw.to_owned()));
        }
    }

    #[test]
    fn bad_roles_are_refused() {
        for raw in [
            "",
            "admin",
            "province:99",
            "province:",
            "platform:",
            "platform:Bad",
            "x:y",
            "national-admin ",
            " auditor",
            "province: 44",
            "platform:meituan ",
        ] {
            assert!(Role::parse(raw).is_err(), "{raw}");
        }
    }
}
