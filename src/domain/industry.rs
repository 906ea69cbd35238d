//! The industries of the pilot. Food delivery counts as instant delivery (merged 2025-07-01).
use super::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Industry {
    RideHailing,
    InstantDelivery,
    SameCityFreight,
}

impl Industry {
    pub const ALL: [Industry; 3] = [
        Industry::RideHailing,
        Industry::InstantDelivery,
        Industry::SameCityFreight,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Industry::RideHailing => "ride_hailing",
            Industry::InstantDelivery => "instant_delivery",
            Industry::SameCityFreight => "same_city_freight",
        }
    }

    pub fn from_db(value: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|industry| industry.as_str() == value)
            .ok_or_else(|| Invalid::new(format!("unknown industry {value:?}")))
    }
}
