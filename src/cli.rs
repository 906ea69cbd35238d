//! The command line: `serve`, `migrate`, `admin …`.
use crate::api::AppState;
use crate::config::{DatabaseArgs, PiiKeyArgs, ServeArgs, TelemetryArgs};
use crate::database::Database;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::pilot;
use crate::domain::role::Role;
use crate::store::tokens;
use anyhow::{Context, bail};
use std::sync::Arc;

#[derive(clap::Parser, Debug)]
#[command(
    name = "flexcover",
    version,
    about = "Social-insurance enrolment of platform workers, over gRPC"
)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Serve gRPC (runs migrations first).
    Serve(ServeArgs),
    /// Run the database migrations and exit.
    Migrate,
    /// Administration straight against the database.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Bulk import through a running server (exit code 3 when some rows were rejected).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Follow a province's event stream into a local copy (the reference subscriber).
    Follow(crate::follow::FollowArgs),
}

#[derive(clap::Subcommand, Debug)]
pub enum ImportCommand {
    /// Enrol the workers of a CSV file through BatchEnrolWorkers.
    Enrolments(crate::import::ImportArgs),
}

/// Exit code of an import that finished but rejected some rows.
pub const EXIT_SOME_REJECTED: u8 = 3;

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an API token and print it (once) on stdout.
    CreateToken {
        /// national-admin | auditor | province:<2-digit code> | platform:<platform id>
        #[arg(long)]
        role: String,
        /// Free text to recognise the token by.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke an API token by its id.
    RevokeToken {
        #[arg(long)]
        token_id: String,
    },
    /// Load the published pilot scope (2022-07-01 and 2025-07-01): platforms, provinces, periods.
    SeedPilot,
    /// Load the base rates per order published from 2025-07-01.
    SeedRates,
    /// Create (or recreate) the logical-replication publications of one province, and print how a
    /// provincial PostgreSQL subscribes.
    PublishProvince {
        /// Two-digit province code, e.g. 11.
        province: String,
    },
    /// Add a fresh key to the PII key ring (the key file is rewritten, mode 0600); it seals new
    /// writes once serve restarts with it.
    AddPiiKey {
        /// Id of the new key (default: the next free kN).
        #[arg(long)]
        id: Option<String>,
        /// Add it first in the ring, opening values but sealing nothing until
        /// `promote-pii-key` (roll it out to every replica in between).
        #[arg(long)]
        staged: bool,
        #[command(flatten)]
        keys: PiiKeyArgs,
    },
    /// Make a staged key of the PII key ring the one that seals new writes.
    PromotePiiKey {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        keys: PiiKeyArgs,
    },
    /// Which PII key ids the stored values use, per table, and which keys may be retired.
    PiiKeyUsage {
        #[command(flatten)]
        keys: PiiKeyArgs,
    },
    /// Re-encrypt every stored value under the ring's current key, in batches, while serve runs;
    /// started again after an interruption, it continues where it stopped.
    Reseal {
        /// Rows re-sealed per transaction.
        #[arg(long, default_value_t = 500)]
        batch_size: u32,
        /// Stop after about this many values (the rest on the next run).
        #[arg(long)]
        max_rows: Option<u64>,
        #[command(flatten)]
        keys: PiiKeyArgs,
    },
    /// Remove a key from the PII key ring; refused while any stored value is sealed under it.
    RetirePiiKey {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        keys: PiiKeyArgs,
    },
    /// Set the national retention settings (either or both) and print them; with neither, print
    /// them.
    SetRetention {
        /// Years the person access log is kept (3 to 30; PIPL asks for at least 3).
        #[arg(long)]
        access_log_years: Option<u32>,
        /// Months orders are kept in detail after their month ends (1 to 600), then archived.
        #[arg(long)]
        order_detail_months: Option<u32>,
        /// Days federation events stay online after their province acknowledged them (0 to
        /// 3650; 30 by default).
        #[arg(long)]
        event_days_after_ack: Option<u32>,
    },
    /// Remove what the retention settings no longer keep (access-log rows past their years;
    /// federation events acknowledged more than the retention's days ago;
    /// orders' months past their retention, declared and cited by no claim deciding coverage,
    /// detached and archived to files) and create orders partitions ahead, while serve runs;
    /// started again after an interruption, it continues. Prints what it did on stdout.
    Maintain {
        /// Rows purged per transaction (1 to 100000).
        #[arg(long, default_value_t = crate::maintenance::DEFAULT_BATCH,
              value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::maintenance::MAX_BATCH)))]
        batch_size: u32,
        /// Where archived months of orders are written (orders-YYYY-MM.csv.gz, owner-only).
        #[arg(long, env = "FLEXCOVER_ARCHIVE_DIR")]
        archive_dir: Option<std::path::PathBuf>,
    },
    /// Load an archived month (orders-YYYY-MM.csv.gz) into the table restored_orders_YYYY_MM to
    /// read; the month stays closed. Refused if the file differs from the one archived.
    RestoreOrders {
        /// The archive file.
        file: std::path::PathBuf,
    },
}

/// Runs a command; the exit code on success.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Serve(args) => serve(&cli.database, args).await.map(|()| 0),
        Command::Migrate => {
            let database = Database::open(&cli.database, false).await?;
            tracing::info!("migrations applied");
            database.close().await.map(|()| 0)
        }
        Command::Admin(command) => {
            let database = Database::open(&cli.database, false).await?;
            let result = admin(&database, command).await;
            database.close().await?;
            result.map(|()| 0)
        }
        Command::Follow(args) => crate::follow::follow(&args).await,
        Command::Import(ImportCommand::Enrolments(args)) => {
            let summary = crate::import::import_enrolments(&args).await?;
            eprintln!(
                "{} rows: {} enrolled (or already enrolled by an earlier run), {} rejected{}",
                summary.rows,
                summary.enrolled,
                summary.rejected,
                if summary.rejected > 0 {
                    format!(" (see {})", summary.rejects_file.display())
                } else {
                    String::new()
                }
            );
            Ok(if summary.rejected > 0 {
                EXIT_SOME_REJECTED
            } else {
                0
            })
        }
    }
}

async fn serve(database_args: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    // Bind first: a taken port should fail before the database is touched.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    // A certificate that does not load fails here, before the database is started.
    args.server.load_tls()?;
    let database = Database::open(database_args, true).await?;
    let pii = match crate::key_rotation::load(&args.pii, database.data_dir(), true) {
        Ok(pii) => pii,
        Err(error) => {
            database.close().await?;
            return Err(error);
        }
    };
    if let Err(error) =
        crate::store::sealed::check_blind_index(&database.pool, &pii, SystemClock.now()).await
    {
        database.close().await?;
        return Err(error);
    }
    let sealed = crate::store::idempotency::seal_plain_responses(&database.pool, &pii)
        .await
        .context("sealing stored responses written before they were sealed")?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "sealed stored responses written before they were sealed"
        );
    }
    let state = AppState {
        pool: database.pool.clone(),
        pii: Arc::new(pii),
        clock: serve_clock(args.clock_offset_days),
        cache: Arc::new(crate::cache::Cache::new(args.server.cache_max_age())),
        access_log: crate::access_log::AccessLog::start(&database.pool),
        enrolments: crate::service::enrolment::coalesce::Coalescer::start(
            database.pool.clone(),
            args.server.coalesce_max,
        ),
        metrics: Arc::new(crate::metrics::Metrics::default()),
    };
    tracing::info!(
        listen = %args.listen,
        tls = args.server.tls_cert.is_some(),
        mutual_tls = args.server.tls_client_ca.is_some(),
        "flexcover serving"
    );
    let served =
        crate::app::serve(listener, state, &args.server, crate::app::shutdown_signal()).await;
    let closed = database.close().await;
    tracing::info!("flexcover stopped");
    served.and(closed)
}

/// The machine's clock, or one moved by whole days for a training copy (said loudly, since every
/// fact recorded is then dated by it).
fn serve_clock(offset_days: i64) -> Arc<dyn Clock> {
    if offset_days == 0 {
        return Arc::new(SystemClock);
    }
    let clock = crate::domain::clock::OffsetClock::days(offset_days);
    tracing::warn!(
        offset_days,
        today = %clock.today(),
        "the registry's clock is offset from the machine's: a training copy, not a live registry"
    );
    Arc::new(clock)
}

async fn admin(database: &Database, command: AdminCommand) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let data_dir = database.data_dir();
    match command {
        AdminCommand::AddPiiKey { id, staged, keys } => {
            crate::key_rotation::add_key(&keys, data_dir, id.as_deref(), staged)?;
        }
        AdminCommand::PromotePiiKey { id, keys } => {
            crate::key_rotation::promote_key(&keys, data_dir, &id)?;
        }
        AdminCommand::PiiKeyUsage { keys } => {
            let ring = crate::key_rotation::load(&keys, data_dir, false)?;
            crate::key_rotation::report_usage(&database.pool, &ring).await?;
        }
        AdminCommand::Reseal {
            batch_size,
            max_rows,
            keys,
        } => {
            let ring = crate::key_rotation::load(&keys, data_dir, false)?;
            crate::store::sealed::check_blind_index(&database.pool, &ring, now).await?;
            crate::key_rotation::reseal(&database.pool, &ring, batch_size, max_rows).await?;
        }
        AdminCommand::RetirePiiKey { id, keys } => {
            crate::key_rotation::retire_key(&database.pool, &keys, data_dir, &id).await?;
        }
        AdminCommand::CreateToken { role, label } => {
            let role = Role::parse(&role).map_err(|invalid| anyhow::anyhow!("--role {invalid}"))?;
            let mut connection = database.pool.acquire().await?;
            let issued =
                crate::api::admin::create_token(&mut connection, &role, &label, now).await?;
            eprintln!(
                "created token {} for role {role}; it is shown only this once",
                issued.row.token_id
            );
            println!("{}", issued.token);
        }
        AdminCommand::RevokeToken { token_id } => {
            match tokens::revoke(&database.pool, &token_id, now).await? {
                Some(_) => eprintln!("revoked token {token_id}"),
                None => bail!("no token {token_id}"),
            }
        }
        AdminCommand::SeedRates => {
            let added = crate::seed::seed_rates(&database.pool, now).await?;
            eprintln!("base rates seeded: {added} new versions");
        }
        AdminCommand::PublishProvince { province } => {
            let province = crate::domain::division::ProvinceCode::parse(&province)
                .map_err(|invalid| anyhow::anyhow!("province {invalid}"))?;
            let (all, inserts) =
                crate::store::publication::publish_province(&database.pool, &province).await?;
            eprintln!("published province {province} as {all} and {inserts}");
            println!(
                "-- On the provincial PostgreSQL 15+, in a database with flexcover's schema\n\
                 -- (flexcover migrate), run:\n\
                 CREATE SUBSCRIPTION flexcover_{province}\n    \
                 CONNECTION 'host=<national host> port=5432 dbname=<database> user=<replication user>'\n    \
                 PUBLICATION {all}, {inserts};"
            );
        }
        AdminCommand::SetRetention {
            access_log_years,
            order_detail_months,
            event_days_after_ack,
        } => {
            if let Some(days) = event_days_after_ack {
                // Refused before anything is written.
                crate::domain::event_retention::EventRetention::new(days)
                    .map_err(|invalid| anyhow::anyhow!("refused: {}", invalid.0))?;
            }
            let current = crate::store::retention::read(&database.pool).await?;
            let wanted = crate::domain::retention::Retention::new(
                access_log_years.unwrap_or(current.access_log_years()),
                order_detail_months.unwrap_or(current.order_detail_months()),
            )
            .map_err(|invalid| anyhow::anyhow!("refused: {}", invalid.0))?;
            if wanted != current {
                crate::store::retention::set(&database.pool, wanted, now).await?;
            }
            let events = set_event_retention(&database.pool, event_days_after_ack, now).await?;
            println!(
                "access_log_years={} order_detail_months={} event_days_after_ack={}",
                wanted.access_log_years(),
                wanted.order_detail_months(),
                events.days_after_ack()
            );
        }
        AdminCommand::Maintain {
            batch_size,
            archive_dir,
        } => {
            let report =
                crate::maintenance::pass(&database.pool, now, batch_size, archive_dir.as_deref())
                    .await?;
            if report == crate::maintenance::Report::Skipped {
                bail!(
                    "another maintenance pass (serve, or this command) is running; try again later"
                );
            }
            crate::maintenance::print(&report);
        }
        AdminCommand::RestoreOrders { file } => {
            let mut connection = database.pool.acquire().await?;
            let restored = crate::order_archive::file::restore(&mut connection, &file).await?;
            let verified = match restored.verified {
                Some(true) => "matches the archive recorded",
                _ => "no archive of it recorded in this registry",
            };
            eprintln!(
                "restored {} orders of {} into table {} ({verified}); the month stays closed",
                restored.rows,
                restored.month.format("%Y-%m"),
                restored.table
            );
            println!("restored table={} rows={}", restored.table, restored.rows);
        }
        AdminCommand::SeedPilot => {
            let added = crate::seed::seed_pilot(&database.pool, now).await?;
            eprintln!(
                "pilot scope seeded: {} platforms, {} provinces, {added} new periods",
                pilot::PLATFORMS.len(),
                pilot::PROVINCES.len()
            );
        }
    }
    Ok(())
}

/// The events' retention after `set-retention`: changed when asked (checked before anything is
/// written, like the other settings).
async fn set_event_retention(
    pool: &sqlx::PgPool,
    days: Option<u32>,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<crate::domain::event_retention::EventRetention> {
    let current = crate::store::event_retention::read(pool).await?;
    let Some(days) = days else {
        return Ok(current);
    };
    let wanted = crate::domain::event_retention::EventRetention::new(days)
        .map_err(|invalid| anyhow::anyhow!("refused: {}", invalid.0))?;
    if wanted != current {
        crate::store::event_retention::set(pool, wanted, now).await?;
    }
    Ok(wanted)
}

/// An error and its causes on one line, each said once: transport errors repeat their source in
/// their own text ("tcp connect error: tcp connect error: …"), which `{:#}` would print twice.
pub fn describe(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let said = parts.iter().any(|part| part.contains(&text));
        if !said && !text.is_empty() {
            // A cause that repeats the previous part's text in full replaces it.
            if parts
                .last()
                .is_some_and(|last| text.contains(last.as_str()))
            {
                parts.pop();
            }
            parts.push(text);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[derive(Debug)]
    struct Inner;
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("tcp connect error")
        }
    }
    impl std::error::Error for Inner {}

    #[derive(Debug)]
    struct Outer(Inner);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("tcp connect error")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_cause_is_said_once() {
        let error = anyhow::Error::new(Outer(Inner)).context("connecting to http://127.0.0.1:1");
        assert_eq!(
            describe(&error),
            "connecting to http://127.0.0.1:1: tcp connect error"
        );
        let plain = anyhow::anyhow!("root").context("middle").context("top");
        assert_eq!(describe(&plain), "top: middle: root");
    }
}
