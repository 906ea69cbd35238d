//! Rates: the rate in force (GetRate, coverage answers, declared counts) and their administration
//! (base rates, multipliers, platform rate classes). The premium itself is
//! `domain::rates::order_premium_tenth_fen`.
use crate::auth::Principal;
use crate::domain::clock::china_date;
use crate::domain::division::ProvinceCode;
use crate::domain::industry::Industry;
use crate::domain::platform::PlatformId;
use crate::domain::rates::{self, BaseRate, Multiplier, RateClass};
use crate::error::{AppError, AppResult};
use crate::policy::{self, Action, Owner};
use crate::service::contribution::own_platform;
use crate::service::{AppState, Idempotent, RequestKey};
use crate::store::rates as store;
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;

pub use crate::store::rates::{BaseRateVersion, MultiplierVersion};

/// GetRate: the rate for a province, platform and industry at an instant.
#[derive(Debug, Clone)]
pub struct GetRate {
    pub province: ProvinceCode,
    /// Unset: the calling platform's own.
    pub platform: Option<PlatformId>,
    pub industry: Industry,
    /// Unset: now.
    pub at: Option<DateTime<Utc>>,
}

/// The rate versions in force and the premium they give one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateInForce {
    pub base: BaseRateVersion,
    /// None while the province has set no multiplier (1.0).
    pub multiplier: Option<MultiplierVersion>,
    pub premium_tenth_fen_per_order: i64,
}

impl RateInForce {
    /// The versions, as stored with every amount computed at this rate.
    pub fn version(&self) -> String {
        rates::rate_version(
            self.base.base_rate_id,
            self.multiplier.as_ref().map(|m| m.multiplier_id),
        )
    }
}

impl From<store::RateInForce> for RateInForce {
    fn from(found: store::RateInForce) -> Self {
        let premium_tenth_fen_per_order = found.premium_tenth_fen();
        let multiplier = match (
            found.multiplier_id,
            found.tenths,
            found.multiplier_valid_from,
        ) {
            (Some(multiplier_id), Some(tenths), Some(valid_from)) => Some(MultiplierVersion {
                multiplier_id,
                province_code: found.province_code.clone(),
                platform_id: String::new(),
                industry: found.industry,
                valid_from,
                tenths,
            }),
            _ => None,
        };
        RateInForce {
            base: BaseRateVersion {
                base_rate_id: found.base_rate_id,
                industry: found.industry,
                rate_class: found.rate_class,
                valid_from: found.base_valid_from,
                fen_per_order: found.fen_per_order,
            },
            multiplier,
            premium_tenth_fen_per_order,
        }
    }
}

/// The rate in force for a province, platform and industry on `day`; None before any base rate.
/// From memory (see `crate::cache`), for reads; a miss is read through `db`.
pub async fn rate_in_force(
    state: &AppState,
    db: impl sqlx::PgExecutor<'_>,
    province: &str,
    platform: &str,
    industry: Industry,
    day: NaiveDate,
) -> AppResult<Option<RateInForce>> {
    let found = state
        .cache
        .rate(db, platform, province, industry, day)
        .await?;
    Ok(found.map(|found| answer(found, platform)))
}

/// [`rate_in_force`] read in a transaction, for writes that must price within their snapshot.
pub async fn rate_in_force_in(
    db: impl sqlx::PgExecutor<'_>,
    province: &str,
    platform: &str,
    industry: Industry,
    day: NaiveDate,
) -> AppResult<Option<RateInForce>> {
    let found = store::in_force(db, province, platform, industry, day).await?;
    Ok(found.map(|found| answer(found, platform)))
}

fn answer(found: store::RateInForce, platform: &str) -> RateInForce {
    let mut rate = RateInForce::from(found);
    if let Some(multiplier) = rate.multiplier.as_mut() {
        multiplier.platform_id = platform.to_owned();
    }
    rate
}

/// NOT_FOUND: no base rate of the industry is in force that day.
pub fn no_rate(industry: Industry, day: NaiveDate) -> String {
    format!("no {} base rate is in force on {day}", industry.as_str())
}

pub async fn get_rate(
    state: &AppState,
    principal: &Principal,
    command: GetRate,
) -> AppResult<RateInForce> {
    let GetRate {
        province,
        platform,
        industry,
        at,
    } = command;
    let platform = platform
        .or_else(|| own_platform(principal).cloned())
        .ok_or_else(|| AppError::invalid(
            "platform_id",
            "required: the platform whose rate to read (a platform may leave it empty for its own)",
        ))?;
    policy::authorize_scope(
        &principal.role,
        Action::ReadRate,
        Owner::of(&province, &platform),
    )?;
    let day = china_date(at.unwrap_or_else(|| state.clock.now()));
    rate_in_force(
        state,
        &state.pool,
        province.as_str(),
        platform.as_str(),
        industry,
        day,
    )
    .await?
    .ok_or_else(|| AppError::NotFound(no_rate(industry, day)))
}

/// SetBaseRate: a new base rate version, in force from a day in the future.
#[derive(Debug, Clone)]
pub struct SetBaseRate {
    pub key: RequestKey,
    pub rate: BaseRate,
}

pub async fn set_base_rate<R>(
    state: &AppState,
    principal: &Principal,
    command: SetBaseRate,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a BaseRateVersion>,
{
    policy::authorize_scope(&principal.role, Action::Administer, Owner::NATIONAL)?;
    let idempotent = Idempotent::new(principal, "SetBaseRate", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let row = store::insert_base_rate(&mut *tx, &command.rate, state.clock.now()).await?;
    let reply = R::from(&row);
    idempotent.commit(state, tx, &reply).await?;
    // Rates in force on this replica at once; on the others by notification.
    state.cache.forget("base_rates");
    Ok(reply)
}

/// SetRateMultiplier: a province's multiplier for a platform and industry from 1 January.
#[derive(Debug, Clone)]
pub struct SetRateMultiplier {
    pub key: RequestKey,
    pub province: ProvinceCode,
    pub platform: PlatformId,
    pub industry: Industry,
    pub valid_from: NaiveDate,
    pub multiplier: Multiplier,
}

pub async fn set_rate_multiplier<R>(
    state: &AppState,
    principal: &Principal,
    command: SetRateMultiplier,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a MultiplierVersion>,
{
    policy::authorize_scope(&principal.role, Action::Administer, Owner::NATIONAL)?;
    let idempotent = Idempotent::new(principal, "SetRateMultiplier", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    let existing = store::multiplier_dates(
        &mut *tx,
        command.province.as_str(),
        command.platform.as_str(),
        command.industry,
    )
    .await?;
    rates::check_multiplier_change(command.valid_from, &existing)
        .map_err(|invalid| AppError::FailedPrecondition(invalid.0))?;
    let new = store::NewMultiplier {
        province_code: command.province.as_str(),
        platform_id: command.platform.as_str(),
        industry: command.industry,
        valid_from: command.valid_from,
        multiplier: command.multiplier,
    };
    let row = store::insert_multiplier(&mut *tx, &new, state.clock.now()).await?;
    let reply = R::from(&row);
    idempotent.commit(state, tx, &reply).await?;
    // Rates in force on this replica at once; on the others by notification.
    state.cache.forget("base_rates");
    Ok(reply)
}

/// SetPlatformRateClass: which base rate of an industry a platform pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPlatformRateClass {
    pub key: RequestKey,
    pub platform: PlatformId,
    pub industry: Industry,
    pub class: RateClass,
}

/// The class a platform now pays in an industry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRateClass {
    pub platform: PlatformId,
    pub industry: Industry,
    pub class: RateClass,
}

pub async fn set_platform_rate_class<R>(
    state: &AppState,
    principal: &Principal,
    command: SetPlatformRateClass,
) -> AppResult<R>
where
    R: Message + Default + for<'a> From<&'a PlatformRateClass>,
{
    policy::authorize_scope(&principal.role, Action::Administer, Owner::NATIONAL)?;
    let idempotent = Idempotent::new(principal, "SetPlatformRateClass", &command.key);
    let mut tx = match idempotent.begin::<R>(state).await? {
        Ok(tx) => tx,
        Err(replayed) => return Ok(replayed),
    };
    store::set_platform_class(
        &mut *tx,
        command.platform.as_str(),
        command.industry,
        command.class,
        state.clock.now(),
    )
    .await?;
    let reply = R::from(&PlatformRateClass {
        platform: command.platform,
        industry: command.industry,
        class: command.class,
    });
    idempotent.commit(state, tx, &reply).await?;
    // Rates in force on this replica at once; on the others by notification.
    state.cache.forget("base_rates");
    Ok(reply)
}
