//! Credentials and small reference data from memory: tokens, platforms and the cover-start
//! windows, read by nearly every call, cost no round trip once seen.
//!
//! Staying exact: triggers on their tables `NOTIFY` [`CHANNEL`] when a row changes (migration
//! 0019), whoever changed it — an RPC, the CLI or a person with psql — and every replica's
//! [`listen`] drops the entry, so a revocation reaches every replica within milliseconds of its
//! commit. Entries are used only while the listener is connected (a reconnect clears everything,
//! since notifications sent while it was away are lost), and never past `max_age` in any case, so
//! a notification missed any other way leaves a stale entry for at most that long. A read that
//! races a notification is not kept (the generation check), and unknown tokens are never cached.
use crate::domain::claim::ClaimPolicy;
use crate::domain::enrolment::CoverStartWindows;
use crate::domain::industry::Industry;
use crate::error::AppResult;
use crate::store::platforms::{self, PlatformRow};
use crate::store::rates::{self, RateInForce};
use crate::store::tokens::{self, TokenRow};
use chrono::NaiveDate;
use sqlx::PgPool;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// The channel the invalidation triggers notify; payloads `token:<id>`, `platform:<id>`, or the
/// name of a reference table (`enrolment_policy`, `base_rates`, `rate_multipliers`,
/// `platform_rate_classes`, `claim_policy`).
pub const CHANNEL: &str = "flexcover_cache";

/// More entries than this and the table starts over: a bound on memory, not an eviction policy.
const MAX_ENTRIES: usize = 100_000;

pub struct Cache {
    entries: Mutex<Entries>,
    listening: AtomicBool,
    max_age: Duration,
}

#[derive(Default)]
struct Entries {
    /// Bumped by every invalidation: a read that started before one is not kept.
    generation: u64,
    /// Only known tokens and platforms are kept (never a None).
    tokens: HashMap<String, (Instant, Option<TokenRow>)>,
    platforms: HashMap<String, (Instant, Option<PlatformRow>)>,
    /// One entry, under `()`.
    windows: HashMap<(), (Instant, CoverStartWindows)>,
    /// Rates in force by (platform, province, industry, day); None: no base rate in force yet.
    rates: HashMap<RateKey, (Instant, Option<RateInForce>)>,
    /// Claim policies in force by province (the province's own, else the national default).
    claim_policies: HashMap<String, (Instant, ClaimPolicy)>,
}

/// A platform's rate at a province, industry and day.
type RateKey = (String, String, Industry, NaiveDate);

impl Entries {
    fn clear(&mut self) {
        self.generation += 1;
        self.tokens.clear();
        self.platforms.clear();
        self.windows.clear();
        self.rates.clear();
        self.claim_policies.clear();
    }
}

fn fresh<V: Clone>(entry: Option<&(Instant, V)>, max_age: Duration) -> Option<V> {
    entry
        .filter(|(read_at, _)| read_at.elapsed() < max_age)
        .map(|(_, value)| value.clone())
}

fn keep<K: std::hash::Hash + Eq, V>(
    table: &mut HashMap<K, (Instant, V)>,
    key: K,
    read_at: Instant,
    value: V,
) {
    if table.len() >= MAX_ENTRIES {
        table.clear();
    }
    table.insert(key, (read_at, value));
}

impl Cache {
    /// A cache whose entries live at most `max_age` (zero: nothing is cached).
    pub fn new(max_age: Duration) -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            listening: AtomicBool::new(false),
            max_age,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Entries) -> T) -> T {
        f(&mut self.entries.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether entries may be used: only while invalidations arrive.
    fn usable(&self) -> bool {
        self.listening.load(Ordering::Acquire) && !self.max_age.is_zero()
    }

    /// The generation and time before a read, for `keep_if_current`.
    fn before_read(&self) -> (u64, Instant) {
        (self.with(|e| e.generation), Instant::now())
    }

    fn keep_if_current(
        &self,
        (generation, read_at): (u64, Instant),
        f: impl FnOnce(&mut Entries, Instant),
    ) {
        if self.usable() {
            self.with(|entries| {
                if entries.generation == generation {
                    f(entries, read_at);
                }
            });
        }
    }

    /// `key` of `table`, from memory while fresh, else read by `fetch` and kept (when
    /// `worth_keeping`) unless an invalidation arrived while it read.
    async fn read_through<K, V, F>(
        &self,
        table: fn(&mut Entries) -> &mut HashMap<K, (Instant, V)>,
        key: K,
        worth_keeping: fn(&V) -> bool,
        fetch: impl FnOnce() -> F,
    ) -> AppResult<V>
    where
        K: Hash + Eq,
        V: Clone,
        F: Future<Output = AppResult<V>>,
    {
        if self.usable()
            && let Some(value) = self.with(|e| fresh(table(e).get(&key), self.max_age))
        {
            return Ok(value);
        }
        let before = self.before_read();
        let value = fetch().await?;
        if worth_keeping(&value) {
            self.keep_if_current(before, |e, at| keep(table(e), key, at, value.clone()));
        }
        Ok(value)
    }

    /// The token row, from memory or the database (acquiring a connection only on a miss).
    /// Unknown tokens are never kept: anyone can send them.
    pub async fn token(&self, pool: &PgPool, token_id: &str) -> AppResult<Option<TokenRow>> {
        let fetch = || async {
            let mut connection = crate::service::acquire(pool).await?;
            tokens::get(&mut *connection, token_id).await
        };
        self.read_through(
            |e| &mut e.tokens,
            token_id.to_owned(),
            Option::is_some,
            fetch,
        )
        .await
    }

    /// The platform row, from memory or the database.
    pub async fn platform(
        &self,
        pool: &PgPool,
        platform_id: &str,
    ) -> AppResult<Option<PlatformRow>> {
        let fetch = || platforms::get(pool, platform_id);
        self.read_through(
            |e| &mut e.platforms,
            platform_id.to_owned(),
            Option::is_some,
            fetch,
        )
        .await
    }

    /// The cover-start windows, from memory or the database.
    pub async fn cover_start_windows(&self, pool: &PgPool) -> AppResult<CoverStartWindows> {
        let fetch = || crate::store::lifecycle::cover_start_windows(pool);
        self.read_through(|e| &mut e.windows, (), |_| true, fetch)
            .await
    }

    /// The rate in force for a platform at a province, industry and day, from memory or the
    /// database (rates are effective-dated, so a day's answer changes only when a table does).
    /// `db` is the caller's transaction when it holds one: a second connection taken from the
    /// pool while holding the first could wait forever once every caller holds one.
    pub async fn rate(
        &self,
        db: impl sqlx::PgExecutor<'_>,
        platform_id: &str,
        province_code: &str,
        industry: Industry,
        day: NaiveDate,
    ) -> AppResult<Option<RateInForce>> {
        let key: RateKey = (
            platform_id.to_owned(),
            province_code.to_owned(),
            industry,
            day,
        );
        let fetch = || rates::in_force(db, province_code, platform_id, industry, day);
        self.read_through(|e| &mut e.rates, key, |_| true, fetch)
            .await
    }

    /// The claim policy in force for a province, from memory or through `db`. (The working-day
    /// calendar is not cached: SetPublicHoliday recounts due dates in the transaction that loads a
    /// day, and a claim counting its due date from a calendar a notification behind could miss
    /// that recount. Pilot scope is checked inside the enrolment's own set-based transaction, once
    /// per coalesced group, so a scope ended on another replica can never admit an enrolment.)
    pub async fn claim_policy(
        &self,
        db: impl sqlx::PgExecutor<'_>,
        province_code: &str,
    ) -> AppResult<ClaimPolicy> {
        let fetch = || crate::store::claim_reference::policy(db, province_code);
        self.read_through(
            |e| &mut e.claim_policies,
            province_code.to_owned(),
            |_| true,
            fetch,
        )
        .await
    }

    /// Drops what a notification names (anything unrecognised drops everything). Also called by
    /// the replica that committed a change, whose own callers must see it before the notification
    /// arrives.
    pub fn forget(&self, payload: &str) {
        self.with(|entries| {
            entries.generation += 1;
            if let Some(token_id) = payload.strip_prefix("token:") {
                entries.tokens.remove(token_id);
            } else if let Some(platform_id) = payload.strip_prefix("platform:") {
                entries.platforms.remove(platform_id);
            } else if payload == "enrolment_policy" {
                entries.windows.clear();
            } else if matches!(
                payload,
                "base_rates" | "rate_multipliers" | "platform_rate_classes"
            ) {
                entries.rates.clear();
            } else if payload == "claim_policy" {
                entries.claim_policies.clear();
            } else {
                entries.clear();
            }
        });
    }

    fn set_listening(&self, listening: bool) {
        self.with(Entries::clear);
        self.listening.store(listening, Ordering::Release);
    }
}

/// Applies invalidations until the process ends; reconnects after a failure. Entries are used
/// only while this listens.
pub async fn listen(pool: PgPool, cache: Arc<Cache>) {
    loop {
        let listening = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            cache.set_listening(true);
            loop {
                let notification = listener.recv().await?;
                cache.forget(notification.payload());
            }
        };
        let Err(error): Result<std::convert::Infallible, sqlx::Error> = listening.await;
        cache.set_listening(false);
        tracing::warn!(%error, "listening for cache invalidations failed; reconnecting");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_row(id: &str) -> TokenRow {
        crate::auth::issue(
            &crate::domain::role::Role::NationalAdmin,
            id,
            chrono::Utc::now(),
        )
        .row
    }

    fn cached_token(cache: &Cache, id: &str) -> Option<TokenRow> {
        cache
            .with(|e| fresh(e.tokens.get(id), cache.max_age))
            .flatten()
    }

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_max_age_even_without_a_notification() {
        let cache = Cache::new(Duration::from_secs(5));
        cache.set_listening(true);
        let before = cache.before_read();
        cache.keep_if_current(before, |e, at| {
            keep(&mut e.tokens, "t".into(), at, Some(token_row("t")))
        });
        assert!(cached_token(&cache, "t").is_some());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(cached_token(&cache, "t").is_none(), "stale past max_age");
    }

    #[tokio::test]
    async fn a_read_that_raced_an_invalidation_is_not_kept() {
        let cache = Cache::new(Duration::from_secs(5));
        cache.set_listening(true);
        let before = cache.before_read();
        cache.forget("token:t");
        cache.keep_if_current(before, |e, at| {
            keep(&mut e.tokens, "t".into(), at, Some(token_row("t")))
        });
        assert!(cached_token(&cache, "t").is_none());
    }

    #[tokio::test]
    async fn each_reference_table_drops_its_own_entries() {
        let cache = Cache::new(Duration::from_secs(5));
        cache.set_listening(true);
        let before = cache.before_read();
        cache.keep_if_current(before, |e, at| {
            keep(&mut e.tokens, "t".into(), at, Some(token_row("t")));
            e.windows
                .insert((), (at, CoverStartWindows::new(None, Vec::new())));
        });
        let policies = |cache: &Cache| cache.with(|e| e.claim_policies.len());
        cache.with(|e| {
            let policy = crate::domain::claim::ClaimPolicy {
                platform_application_days: 5,
                worker_application_days: 30,
                decision_working_days: 20,
                duplicate_window_minutes: 60,
                wage_base_percent: 100,
                wage_base_year_offset: -1,
                death_base_percent: 60,
                grade_5_allowance_months: 30,
                grade_6_allowance_months: 25,
                child_pension_until_age: 18,
                review_interval_months: 12,
            };
            keep(&mut e.claim_policies, "44".into(), Instant::now(), policy);
        });
        assert_eq!(policies(&cache), 1);
        cache.forget("claim_policy");
        assert_eq!(policies(&cache), 0);
        assert!(
            cached_token(&cache, "t").is_some(),
            "a token outlives a policy change"
        );
        cache.forget("enrolment_policy");
        assert!(cache.with(|e| e.windows.is_empty()));
        cache.forget("something_new");
        assert!(
            cached_token(&cache, "t").is_none(),
            "an unknown payload drops everything"
        );
    }

    #[tokio::test]
    async fn nothing_is_kept_while_not_listening_and_a_notification_drops_its_entry() {
        let cache = Cache::new(Duration::from_secs(5));
        let before = cache.before_read();
        cache.keep_if_current(before, |e, at| {
            keep(&mut e.tokens, "t".into(), at, Some(token_row("t")))
        });
        assert!(cached_token(&cache, "t").is_none(), "not listening");
        cache.set_listening(true);
        let before = cache.before_read();
        cache.keep_if_current(before, |e, at| {
            keep(&mut e.tokens, "t".into(), at, Some(token_row("t")))
        });
        assert!(cached_token(&cache, "t").is_some());
        cache.forget("token:t");
        assert!(cached_token(&cache, "t").is_none());
    }
}
