//! The published pilot scope of occupational-injury protection (DOMAIN.md), as seed data.
//! Expansion of the pilot after this is an admin operation with an effective date.
use super::industry::Industry;
use chrono::NaiveDate;

pub struct PilotPlatform {
    pub platform_id: &'static str,
    pub name: &'static str,
    pub industries: &'static [Industry],
    pub joined: (i32, u32, u32),
}

pub struct PilotProvince {
    pub code: &'static str,
    pub name: &'static str,
    pub joined: (i32, u32, u32),
}

const FIRST: (i32, u32, u32) = (2022, 7, 1);
const EXPANSION: (i32, u32, u32) = (2025, 7, 1);

pub const PLATFORMS: &[PilotPlatform] = &[
    PilotPlatform {
        platform_id: "caocao",
        name: "曹操出行 Caocao",
        industries: &[Industry::RideHailing],
        joined: FIRST,
    },
    // Food delivery, counted as instant delivery since 2025-07-01.
    PilotPlatform {
        platform_id: "meituan",
        name: "美团 Meituan",
        industries: &[Industry::InstantDelivery],
        joined: FIRST,
    },
    PilotPlatform {
        platform_id: "eleme",
        name: "饿了么 Ele.me",
        industries: &[Industry::InstantDelivery],
        joined: FIRST,
    },
    PilotPlatform {
        platform_id: "dada",
        name: "达达 Dada",
        industries: &[Industry::InstantDelivery],
        joined: FIRST,
    },
    PilotPlatform {
        platform_id: "shansong",
        name: "闪送 Shansong",
        industries: &[Industry::InstantDelivery],
        joined: FIRST,
    },
    PilotPlatform {
        platform_id: "huolala",
        name: "货拉拉 Huolala",
        industries: &[Industry::SameCityFreight],
        joined: FIRST,
    },
    PilotPlatform {
        platform_id: "kuaigou",
        name: "快狗打车 Kuaigou",
        industries: &[Industry::SameCityFreight],
        joined: FIRST,
    },
    PilotPlatform {
        platform_id: "didi",
        name: "滴滴出行 Didi",
        industries: &[Industry::RideHailing],
        joined: EXPANSION,
    },
    PilotPlatform {
        platform_id: "sf-intra-city",
        name: "顺丰同城 SF Intra-city",
        industries: &[Industry::InstantDelivery],
        joined: EXPANSION,
    },
    PilotPlatform {
        platform_id: "didi-freight",
        name: "滴滴货运 Didi Freight",
        industries: &[Industry::SameCityFreight],
        joined: EXPANSION,
    },
    PilotPlatform {
        platform_id: "manbang",
        name: "满帮 Manbang",
        industries: &[Industry::SameCityFreight],
        joined: EXPANSION,
    },
];

pub const PROVINCES: &[PilotProvince] = &[
    PilotProvince {
        code: "11",
        name: "北京 Beijing",
        joined: FIRST,
    },
    PilotProvince {
        code: "31",
        name: "上海 Shanghai",
        joined: FIRST,
    },
    PilotProvince {
        code: "32",
        name: "江苏 Jiangsu",
        joined: FIRST,
    },
    PilotProvince {
        code: "44",
        name: "广东 Guangdong",
        joined: FIRST,
    },
    PilotProvince {
        code: "46",
        name: "海南 Hainan",
        joined: FIRST,
    },
    PilotProvince {
        code: "50",
        name: "重庆 Chongqing",
        joined: FIRST,
    },
    PilotProvince {
        code: "51",
        name: "四川 Sichuan",
        joined: FIRST,
    },
    PilotProvince {
        code: "12",
        name: "天津 Tianjin",
        joined: EXPANSION,
    },
    PilotProvince {
        code: "13",
        name: "河北 Hebei",
        joined: EXPANSION,
    },
    PilotProvince {
        code: "21",
        name: "辽宁 Liaoning",
        joined: EXPANSION,
    },
    PilotProvince {
        code: "33",
        name: "浙江 Zhejiang",
        joined: EXPANSION,
    },
    PilotProvince {
        code: "34",
        name: "安徽 Anhui",
        joined: EXPANSION,
    },
    PilotProvince {
        code: "35",
        name: "福建 Fujian",
        joined: EXPANSION,
    },
    PilotProvince {
        code: "37",
        name: "山东 Shandong",
        joined: EXPANSION,
    },
    PilotProvince {
        code: "42",
        name: "湖北 Hubei",
        joined: EXPANSION,
    },
    PilotProvince {
        code: "45",
        name: "广西 Guangxi",
        joined: EXPANSION,
    },
    PilotProvince {
        code: "64",
        name: "宁夏 Ningxia",
        joined: EXPANSION,
    },
];

fn date((year, month, day): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

impl PilotPlatform {
    pub fn joined(&self) -> NaiveDate {
        date(self.joined)
    }
}

/// Every (province, platform, from) of the published scope: a pair is in the pilot from the later
/// of the days its province and its platform joined, open-ended.
pub fn scope() -> Vec<(&'static str, &'static str, NaiveDate)> {
    PROVINCES
        .iter()
        .flat_map(|province| {
            PLATFORMS.iter().map(move |platform| {
                let from = date(province.joined).max(date(platform.joined));
                (province.code, platform.platform_id, from)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{division::ProvinceCode, platform::PlatformId};

    #[test]
    fn seven_by_seven_in_2022_and_seventeen_by_eleven_from_2025() {
        let scope = scope();
        let first = date(FIRST);
        assert_eq!(
            scope.iter().filter(|(_, _, from)| *from == first).count(),
            49
        );
        assert_eq!(scope.len(), 17 * 11);
        assert!(scope.contains(&("44", "meituan", first)));
        assert!(scope.contains(&("44", "didi", date(EXPANSION))));
        assert!(scope.contains(&("33", "meituan", date(EXPANSION))));
    }

    #[test]
    fn seed_codes_are_valid() {
        for province in PROVINCES {
            assert!(
                ProvinceCode::parse(province.code).is_ok(),
                "{}",
                province.code
            );
        }
        for platform in PLATFORMS {
            assert!(
                PlatformId::parse(platform.platform_id).is_ok(),
                "{}",
                platform.platform_id
            );
        }
    }
}
