//! Rate versions: base rates, platform rate classes, multipliers, and the rate in force.
use crate::domain::industry::Industry;
use crate::domain::rates::{Multiplier, RateClass, order_premium_tenth_fen};
use crate::error::{AppError, AppResult, UNIQUE_VIOLATION, sqlstate};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgExecutor;
use std::collections::HashMap;

crate::stored_as_text!(RateClass);

/// A multiplier is stored as its tenths (`smallint`, 5 to 15 by a check constraint); a stored
/// value outside that range is a decoding error, never a wrong premium.
impl sqlx::Type<sqlx::Postgres> for Multiplier {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <i16 as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for Multiplier {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        // 5 to 15: always fits.
        let tenths = i16::try_from(self.tenths()).unwrap_or(i16::MAX);
        <i16 as sqlx::Encode<sqlx::Postgres>>::encode(tenths, buf)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Multiplier {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let tenths = <i16 as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Multiplier::from_tenths(i32::from(tenths))
            .map_err(|invalid| format!("stored multiplier: {invalid}").into())
    }
}

/// A base rate version as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BaseRateVersion {
    pub base_rate_id: i64,
    pub industry: Industry,
    pub rate_class: RateClass,
    pub valid_from: NaiveDate,
    pub fen_per_order: i64,
}

/// A multiplier version as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MultiplierVersion {
    pub multiplier_id: i64,
    pub province_code: String,
    pub platform_id: String,
    pub industry: Industry,
    pub valid_from: NaiveDate,
    pub tenths: Multiplier,
}

/// The shape `seed::seed_rates` writes base rates in (names as text). Kept so the seed compiles
/// unchanged; new code uses [`BaseRateVersion`] and [`ensure_published`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseRateRow {
    pub base_rate_id: i64,
    pub industry: String,
    pub rate_class: String,
    pub valid_from: NaiveDate,
    pub fen_per_order: i64,
}

/// Adds a base rate version; the same industry, class and start twice is ALREADY_EXISTS.
pub async fn insert_base_rate(
    db: impl PgExecutor<'_>,
    rate: &crate::domain::rates::BaseRate,
    now: DateTime<Utc>,
) -> AppResult<BaseRateVersion> {
    let inserted = sqlx::query_as!(
        BaseRateVersion,
        r#"INSERT INTO base_rates (industry, rate_class, valid_from, fen_per_order, created_at)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING base_rate_id, industry AS "industry: Industry", rate_class AS "rate_class: RateClass",
                   valid_from, fen_per_order"#,
        rate.industry as Industry,
        rate.class as RateClass,
        rate.valid_from,
        rate.fen_per_order,
        now,
    )
    .fetch_one(db)
    .await;
    match inserted {
        Ok(row) => Ok(row),
        Err(error) if sqlstate(&error).as_deref() == Some(UNIQUE_VIOLATION) => {
            Err(AppError::AlreadyExists(format!(
                "a {} {} base rate from {} already exists; rate versions are never overwritten",
                rate.industry.as_str(),
                rate.class.as_str(),
                rate.valid_from
            )))
        }
        Err(error) => Err(error.into()),
    }
}

/// Adds a published base rate unless that version exists; for seeding. Returns whether it was
/// added.
pub async fn ensure_published(
    db: impl PgExecutor<'_>,
    rate: &crate::domain::rates::BaseRate,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let added = sqlx::query!(
        "INSERT INTO base_rates (industry, rate_class, valid_from, fen_per_order, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        rate.industry as Industry,
        rate.class as RateClass,
        rate.valid_from,
        rate.fen_per_order,
        now,
    )
    .execute(db)
    .await?;
    Ok(added.rows_affected() == 1)
}

/// [`ensure_published`] for the seed's text shape; an unknown name is an error, not a row.
pub async fn ensure_base_rate(
    db: impl PgExecutor<'_>,
    rate: &BaseRateRow,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    use crate::domain::code::Code;
    let industry = Industry::from_code(&rate.industry)
        .ok_or_else(|| anyhow::anyhow!("unknown industry {:?}", rate.industry))?;
    let class = RateClass::from_code(&rate.rate_class)
        .ok_or_else(|| anyhow::anyhow!("unknown rate class {:?}", rate.rate_class))?;
    let published = crate::domain::rates::BaseRate {
        industry,
        class,
        valid_from: rate.valid_from,
        fen_per_order: rate.fen_per_order,
    };
    ensure_published(db, &published, now).await
}

pub async fn set_platform_class(
    db: impl PgExecutor<'_>,
    platform_id: &str,
    industry: Industry,
    rate_class: RateClass,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let written = sqlx::query!(
        "INSERT INTO platform_rate_classes (platform_id, industry, rate_class, updated_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (platform_id, industry) DO UPDATE SET rate_class = $3, updated_at = $4",
        platform_id,
        industry as Industry,
        rate_class as RateClass,
        now,
    )
    .execute(db)
    .await;
    match written {
        Ok(_) => Ok(()),
        Err(error) if sqlstate(&error).as_deref() == Some(crate::error::FOREIGN_KEY_VIOLATION) => {
            Err(no_platform(platform_id))
        }
        Err(error) => Err(error.into()),
    }
}

/// NOT_FOUND for a platform that is not registered.
pub fn no_platform(platform_id: &str) -> AppError {
    AppError::NotFound(format!("no platform {platform_id}"))
}

/// The start dates of the multipliers of one province, platform and industry.
pub async fn multiplier_dates(
    db: impl PgExecutor<'_>,
    province_code: &str,
    platform_id: &str,
    industry: Industry,
) -> AppResult<Vec<NaiveDate>> {
    Ok(sqlx::query_scalar!(
        "SELECT valid_from FROM rate_multipliers
         WHERE province_code = $1 AND platform_id = $2 AND industry = $3 ORDER BY valid_from",
        province_code,
        platform_id,
        industry as Industry,
    )
    .fetch_all(db)
    .await?)
}

/// A multiplier version to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMultiplier<'a> {
    pub province_code: &'a str,
    pub platform_id: &'a str,
    pub industry: Industry,
    pub valid_from: NaiveDate,
    pub multiplier: Multiplier,
}

pub async fn insert_multiplier(
    db: impl PgExecutor<'_>,
    multiplier: &NewMultiplier<'_>,
    now: DateTime<Utc>,
) -> AppResult<MultiplierVersion> {
    let inserted = sqlx::query_as!(
        MultiplierVersion,
        r#"INSERT INTO rate_multipliers (province_code, platform_id, industry, valid_from, tenths, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING multiplier_id, province_code::text AS "province_code!", platform_id,
                   industry AS "industry: Industry", valid_from, tenths AS "tenths: Multiplier""#,
        multiplier.province_code,
        multiplier.platform_id,
        multiplier.industry as Industry,
        multiplier.valid_from,
        multiplier.multiplier as Multiplier,
        now,
    )
    .fetch_one(db)
    .await;
    match inserted {
        Ok(row) => Ok(row),
        Err(error) if sqlstate(&error).as_deref() == Some(UNIQUE_VIOLATION) => {
            Err(AppError::FailedPrecondition(format!(
                "the multiplier already changes on {}; it may change at most once a year",
                multiplier.valid_from
            )))
        }
        Err(error) if sqlstate(&error).as_deref() == Some(crate::error::FOREIGN_KEY_VIOLATION) => {
            Err(no_platform(multiplier.platform_id))
        }
        Err(error) => Err(error.into()),
    }
}

/// The rate versions in force for a province, platform and industry on `day`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RateInForce {
    pub province_code: String,
    pub day: NaiveDate,
    pub base_rate_id: i64,
    pub industry: Industry,
    pub rate_class: RateClass,
    pub base_valid_from: NaiveDate,
    pub fen_per_order: i64,
    pub multiplier_id: Option<i64>,
    pub tenths: Option<Multiplier>,
    pub multiplier_valid_from: Option<NaiveDate>,
}

impl RateInForce {
    /// The multiplier in force: 1.0 while the province has set none.
    pub fn multiplier(&self) -> Multiplier {
        self.tenths.unwrap_or(Multiplier::ONE)
    }

    /// One order's premium at this rate, in tenths of a fen (`domain::rates`' definition).
    pub fn premium_tenth_fen(&self) -> i64 {
        order_premium_tenth_fen(self.fen_per_order, self.multiplier())
    }
}

/// A (province, industry, day) to price.
pub type RateKey = (String, Industry, NaiveDate);

/// The rates in force for one platform at many (province, industry, day) keys, in one statement.
/// A key with no base rate in force yet (for the platform's class) is absent from the answer.
pub async fn in_force_many(
    db: impl PgExecutor<'_>,
    platform_id: &str,
    keys: &[&RateKey],
) -> AppResult<HashMap<RateKey, RateInForce>> {
    let rows: Vec<RateInForce> = sqlx::query_as!(
        RateInForce,
        r#"SELECT t.province_code AS "province_code!", t.day AS "day!", b.base_rate_id AS "base_rate_id!",
                b.industry AS "industry!: Industry", b.rate_class AS "rate_class!: RateClass",
                b.valid_from AS "base_valid_from!", b.fen_per_order AS "fen_per_order!",
                m.multiplier_id AS "multiplier_id?", m.tenths AS "tenths?: Multiplier",
                m.valid_from AS "multiplier_valid_from?"
         FROM UNNEST($2::text[], $3::text[], $4::date[]) AS t(province_code, industry, day)
         JOIN LATERAL (SELECT b.* FROM base_rates b
                       WHERE b.industry = t.industry AND b.valid_from <= t.day
                         AND b.rate_class = COALESCE((SELECT c.rate_class FROM platform_rate_classes c
                                                      WHERE c.platform_id = $1 AND c.industry = t.industry), $5)
                       ORDER BY b.valid_from DESC LIMIT 1) b ON true
         LEFT JOIN LATERAL (SELECT m.* FROM rate_multipliers m
                            WHERE m.province_code = t.province_code AND m.platform_id = $1
                              AND m.industry = t.industry AND m.valid_from <= t.day
                            ORDER BY m.valid_from DESC LIMIT 1) m ON true"#,
        platform_id,
        keys.iter().map(|k| k.0.as_str()).collect::<Vec<_>>() as _,
        keys.iter().map(|k| k.1).collect::<Vec<_>>() as _,
        &keys.iter().map(|k| k.2).collect::<Vec<_>>(),
        // A platform without a class of its own pays the standard rate.
        RateClass::Standard as RateClass,
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.province_code.clone(), r.industry, r.day), r))
        .collect())
}

/// None when no base rate is in force yet for the platform's class in that industry.
pub async fn in_force(
    db: impl PgExecutor<'_>,
    province_code: &str,
    platform_id: &str,
    industry: Industry,
    day: NaiveDate,
) -> AppResult<Option<RateInForce>> {
    let key: RateKey = (province_code.to_owned(), industry, day);
    Ok(in_force_many(db, platform_id, &[&key]).await?.remove(&key))
}
