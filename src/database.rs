//! The connection pool, from `DATABASE_URL` or the embedded cluster, migrated and ready.
use crate::config::DatabaseArgs;
use crate::postgres::{EmbeddedOptions, EmbeddedPostgres};
use crate::store;
use anyhow::Context;
use sqlx::PgPool;
use std::time::Duration;

/// The database the embedded cluster serves flexcover from.
const EMBEDDED_DATABASE: &str = "flexcover";

pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
    /// The embedded cluster's data directory (resolved once: the default may say where it went).
    data_dir: Option<std::path::PathBuf>,
}

impl Database {
    /// Connects (starting the embedded cluster when no URL is given) and runs the migrations.
    /// `serving` processes own their embedded cluster; other commands may use a running one.
    pub async fn open(args: &DatabaseArgs, serving: bool) -> anyhow::Result<Self> {
        let (url, embedded, data_dir) = match &args.database_url {
            Some(url) => (url.clone(), None, None),
            None => {
                let data_dir = args.data_dir()?;
                let shown = std::path::absolute(&data_dir).unwrap_or_else(|_| data_dir.clone());
                tracing::info!(
                    data_dir = %shown.display(),
                    "data directory: the embedded PostgreSQL in postgres/, its log in postgres.log, \
                     the generated PII key in pii.key (unless FLEXCOVER_PII_KEY or _FILE is set)"
                );
                let embedded = EmbeddedPostgres::start(&EmbeddedOptions {
                    data_dir: data_dir.join("postgres"),
                    os_user: args.pg_os_user.clone(),
                    bin_dir: args.pg_bin_dir.clone(),
                    durable: true,
                    serving,
                })
                .await?;
                create_database_if_missing(&embedded.database_url("postgres"), EMBEDDED_DATABASE)
                    .await?;
                (
                    embedded.database_url(EMBEDDED_DATABASE),
                    Some(embedded),
                    Some(data_dir),
                )
            }
        };
        let pool = store::connect(&url, args.db_max_connections).await?;
        store::migrate(&pool).await?;
        Ok(Self {
            pool,
            embedded,
            data_dir,
        })
    }

    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// The data directory of the embedded cluster (None with DATABASE_URL).
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.data_dir.as_deref()
    }

    /// Closes the pool (bounded: a dead database must not hang shutdown), then stops the
    /// embedded cluster if this process started it.
    pub async fn close(self) -> anyhow::Result<()> {
        if tokio::time::timeout(Duration::from_secs(5), self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("closing the connection pool timed out");
        }
        if let Some(embedded) = self.embedded {
            embedded.stop().await?;
        }
        Ok(())
    }
}

pub async fn create_database_if_missing(admin_url: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(admin_url)
        .await
        .context("connecting to the maintenance database")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut connection)
            .await?;
    if !exists {
        // Identifiers cannot be bound; `name` is a constant or a generated test name.
        let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut connection)
            .await;
        // Another process may have created it since we looked.
        let created_meanwhile = |error: &sqlx::Error| {
            matches!(
                crate::error::sqlstate(error).as_deref(),
                Some("42P04") | Some(crate::error::UNIQUE_VIOLATION)
            )
        };
        match created {
            Ok(_) => {}
            Err(error) if created_meanwhile(&error) => {}
            Err(error) => return Err(error).with_context(|| format!("creating database {name}")),
        }
    }
    connection.close().await.ok();
    Ok(())
}
