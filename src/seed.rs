//! Loading published reference data into the database.
use crate::domain::pilot;
use crate::error::AppResult;
use crate::store::{pilot_scope, platforms};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Loads the pilot's platforms and scope periods (DOMAIN.md). Safe to run again: existing
/// platforms and overlapping periods are left as they are. Returns how many periods were added.
pub async fn seed_pilot(pool: &PgPool, now: DateTime<Utc>) -> AppResult<usize> {
    let mut tx = crate::store::Tx::new(pool.begin().await?);
    for platform in pilot::PLATFORMS {
        let row = platforms::PlatformRow {
            platform_id: platform.platform_id.to_owned(),
            name: platform.name.to_owned(),
            credit_code: None,
            industries: platform
                .industries
                .iter()
                .map(|i| i.as_str().to_owned())
                .collect(),
            created_at: now,
        };
        platforms::ensure(&mut tx, &row).await?;
    }
    let mut added = 0;
    for (province_code, platform_id, valid_from) in pilot::scope() {
        let row = pilot_scope::ScopeRow {
            province_code: province_code.to_owned(),
            platform_id: platform_id.to_owned(),
            valid_from,
            valid_to: None,
        };
        if pilot_scope::ensure(&mut tx, &row).await? {
            added += 1;
        }
    }
    tx.commit().await?;
    Ok(added)
}

/// Loads the base rates published from 2025-07-01 (DOMAIN.md). Safe to run again. Returns how many
/// versions were added. Platform rate classes and provincial multipliers are left to admins.
pub async fn seed_rates(pool: &PgPool, now: DateTime<Utc>) -> AppResult<usize> {
    let mut added = 0;
    for rate in crate::domain::rates::published_base_rates() {
        let row = crate::store::rates::BaseRateRow {
            base_rate_id: 0,
            industry: rate.industry.as_str().to_owned(),
            rate_class: rate.class.as_str().to_owned(),
            valid_from: rate.valid_from,
            fen_per_order: rate.fen_per_order,
        };
        if crate::store::rates::ensure_base_rate(pool, &row, now).await? {
            added += 1;
        }
    }
    Ok(added)
}
