//! The command line: `serve`, `migrate`, `admin …`.
use crate::api::AppState;
use crate::config::{DatabaseArgs, ServeArgs, TelemetryArgs};
use crate::database::Database;
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::pilot;
use crate::domain::role::Role;
use crate::pii::PiiKeys;
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
    let pii = match (&args.pii_key, &args.pii_key_file) {
        (Some(key), _) => PiiKeys::parse(key).context("FLEXCOVER_PII_KEY")?,
        (None, Some(path)) => PiiKeys::load_file(path)?,
        (None, None) if database.is_embedded() => {
            PiiKeys::load_or_create_file(&database_args.data_dir.join("pii.key"))?
        }
        (None, None) => {
            database.close().await?;
            bail!(
                "with DATABASE_URL set, a PII key is required: set FLEXCOVER_PII_KEY \
                 (KEY_ID:BASE64 of 32 bytes) or FLEXCOVER_PII_KEY_FILE"
            );
        }
    };
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
    match command {
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
