//! Conversions between proto values and domain values, with the field named on failure.
use crate::domain::Invalid;
use crate::domain::industry::Industry;
use crate::pb;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub fn date_to_proto(date: NaiveDate) -> pb::Date {
    pb::Date {
        year: date.year(),
        month: date.month() as i32,
        day: date.day() as i32,
    }
}

pub fn date_from_proto(date: Option<&pb::Date>) -> Result<NaiveDate, Invalid> {
    let date = date.ok_or_else(|| Invalid::new("required, as {year, month, day}"))?;
    let month = u32::try_from(date.month).ok();
    let day = u32::try_from(date.day).ok();
    month
        .zip(day)
        .and_then(|(month, day)| NaiveDate::from_ymd_opt(date.year, month, day))
        .filter(|d| (1900..=2200).contains(&d.year()))
        .ok_or_else(|| Invalid::new("is not a real calendar date"))
}

/// An optional date: unset stays None, set must be real.
pub fn optional_date_from_proto(date: Option<&pb::Date>) -> Result<Option<NaiveDate>, Invalid> {
    date.map(|d| date_from_proto(Some(d))).transpose()
}

pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

pub fn instant_from_proto(at: &prost_types::Timestamp) -> Result<DateTime<Utc>, Invalid> {
    u32::try_from(at.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(at.seconds, nanos))
        .ok_or_else(|| Invalid::new("is not a valid timestamp"))
}

pub fn industry_from_proto(value: i32) -> Result<Industry, Invalid> {
    match pb::Industry::try_from(value) {
        Ok(pb::Industry::RideHailing) => Ok(Industry::RideHailing),
        Ok(pb::Industry::InstantDelivery) => Ok(Industry::InstantDelivery),
        Ok(pb::Industry::SameCityFreight) => Ok(Industry::SameCityFreight),
        Ok(pb::Industry::Unspecified) => Err(Invalid::new("required")),
        Err(_) => Err(Invalid::new(format!("unknown industry {value}"))),
    }
}

pub fn industry_to_proto(industry: Industry) -> pb::Industry {
    match industry {
        Industry::RideHailing => pb::Industry::RideHailing,
        Industry::InstantDelivery => pb::Industry::InstantDelivery,
        Industry::SameCityFreight => pb::Industry::SameCityFreight,
    }
}

/// An industry name as stored, back to proto (unknown names become UNSPECIFIED).
pub fn stored_industry_to_proto(stored: &str) -> i32 {
    Industry::from_db(stored).map_or(pb::Industry::Unspecified, industry_to_proto) as i32
}

/// An optional text filter: empty means unset. Anything else is parsed as it is (never trimmed).
pub fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}
