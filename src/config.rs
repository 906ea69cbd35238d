//! Settings from flags and environment variables (FLEXCOVER_*, DATABASE_URL, OTEL_*).
use crate::telemetry::LogFormat;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the database is: `DATABASE_URL`, or else the embedded cluster in the data directory.
#[derive(clap::Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// PostgreSQL URL. When unset, an embedded PostgreSQL is started in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Data directory of the embedded PostgreSQL and the generated PII key file. Default `data`
    /// in the working directory; as root, when the PostgreSQL OS user cannot reach that (a
    /// checkout in a private home directory), a per-checkout directory under /var/lib/flexcover.
    #[arg(long, env = "FLEXCOVER_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// OS user that runs the embedded PostgreSQL when flexcover runs as root.
    #[arg(
        long,
        env = "FLEXCOVER_PG_OS_USER",
        default_value = "postgres",
        global = true
    )]
    pub pg_os_user: String,
    /// Directory with initdb and postgres; searched on PATH and under /usr/lib/postgresql if unset.
    #[arg(long, env = "FLEXCOVER_PG_BIN_DIR", global = true)]
    pub pg_bin_dir: Option<PathBuf>,
    /// Connection pool size.
    #[arg(
        long,
        env = "FLEXCOVER_DB_MAX_CONNECTIONS",
        default_value_t = 32,
        global = true
    )]
    pub db_max_connections: u32,
}

impl DatabaseArgs {
    /// The data directory: as given, else the default (see `--data-dir`).
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => crate::postgres::default_data_dir(&self.pg_os_user),
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct TelemetryArgs {
    /// Log format on stderr; the filter is FLEXCOVER_LOG (EnvFilter syntax, default info).
    #[arg(
        long,
        env = "FLEXCOVER_LOG_FORMAT",
        value_enum,
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to serve gRPC on.
    #[arg(long, env = "FLEXCOVER_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub pii: PiiKeyArgs,
    /// Days the registry's clock runs ahead of (or behind) the machine's: for a training or
    /// demonstration copy walked through a claim's months and years, never for a live registry
    /// (facts recorded ahead stay ahead when the offset is taken away).
    #[arg(
        long,
        env = "FLEXCOVER_CLOCK_OFFSET_DAYS",
        default_value_t = 0,
        allow_hyphen_values = true,
        value_parser = clap::value_parser!(i64).range(-3660..=3660)
    )]
    pub clock_offset_days: i64,
    #[command(flatten)]
    pub server: ServerSettings,
}

/// Where the PII key ring is (`serve` and the key-rotation commands).
#[derive(clap::Args, Debug, Clone)]
pub struct PiiKeyArgs {
    /// PII key ring: `KEY_ID:BASE64(32 bytes)` entries separated by commas, the last sealing new
    /// writes, plus `blind-index:BASE64` once there are several.
    #[arg(long, env = "FLEXCOVER_PII_KEY", hide_env_values = true)]
    pub pii_key: Option<String>,
    /// File holding the PII key ring, one entry a line. With the embedded database it defaults
    /// to DATA_DIR/pii.key, created (mode 0600) on first start.
    #[arg(long, env = "FLEXCOVER_PII_KEY_FILE")]
    pub pii_key_file: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ServerSettings {
    /// Deadline for one call, in seconds (a shorter client deadline wins).
    #[arg(long, env = "FLEXCOVER_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Calls served at once across all connections; more wait in the admission queue.
    #[arg(long, env = "FLEXCOVER_MAX_CONCURRENT_REQUESTS", default_value_t = 256)]
    pub max_concurrent_requests: usize,
    /// Calls that may wait for a place beyond the concurrent ones; more are refused at once
    /// with RESOURCE_EXHAUSTED.
    #[arg(long, env = "FLEXCOVER_ADMISSION_QUEUE", default_value_t = 1024)]
    pub admission_queue: usize,
    /// How long a call waits for a place before it is refused with RESOURCE_EXHAUSTED, in
    /// milliseconds.
    #[arg(long, env = "FLEXCOVER_ADMISSION_WAIT_MS", default_value_t = 1000)]
    pub admission_wait_ms: u64,
    /// Largest request or response message, in bytes.
    #[arg(long, env = "FLEXCOVER_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_message_bytes: usize,
    /// How often health checks probe the database, in milliseconds.
    #[arg(long, env = "FLEXCOVER_HEALTH_INTERVAL_MS", default_value_t = 2000)]
    pub health_interval_ms: u64,
    /// How often every province's supervision findings are refreshed in the background, in
    /// seconds (0: only when read). Each replica refreshes; refreshes of a province take turns.
    #[arg(
        long,
        env = "FLEXCOVER_SUPERVISION_REFRESH_SECS",
        default_value_t = 300
    )]
    pub supervision_refresh_secs: u64,
    /// How often `serve` runs the maintenance pass (retention purges; one replica at a time), in
    /// seconds (0: never; then run `flexcover admin maintain`).
    #[arg(
        long,
        env = "FLEXCOVER_MAINTENANCE_INTERVAL_SECS",
        default_value_t = 3600,
        value_parser = clap::value_parser!(u64).range(0..=604_800)
    )]
    pub maintenance_interval_secs: u64,
    /// Where the maintenance pass writes the archive files of orders' months past their
    /// retention (unset: months with orders are not archived; a warning says so).
    #[arg(long, env = "FLEXCOVER_ARCHIVE_DIR")]
    pub archive_dir: Option<PathBuf>,
    /// How often the server pings an HTTP/2 connection to find a dead peer, in seconds (0: never).
    #[arg(long, env = "FLEXCOVER_HTTP2_KEEPALIVE_SECS", default_value_t = 60)]
    pub http2_keepalive_secs: u64,
    /// How long a keepalive ping may go unanswered before the connection is closed, in seconds.
    #[arg(
        long,
        env = "FLEXCOVER_HTTP2_KEEPALIVE_TIMEOUT_SECS",
        default_value_t = 20
    )]
    pub http2_keepalive_timeout_secs: u64,
    /// A connection with no call open for this long is closed, in seconds (0: never).
    #[arg(
        long,
        env = "FLEXCOVER_IDLE_CONNECTION_TIMEOUT_SECS",
        default_value_t = 300
    )]
    pub idle_connection_timeout_secs: u64,
    /// Send small writes at once (TCP_NODELAY); off only to measure what Nagle's algorithm costs.
    #[arg(long, env = "FLEXCOVER_TCP_NODELAY", default_value_t = true, action = clap::ArgAction::Set)]
    pub tcp_nodelay: bool,
    /// Most EnrolWorker calls written in one transaction (1: each alone).
    #[arg(long, env = "FLEXCOVER_COALESCE_MAX", default_value_t = 256)]
    pub coalesce_max: usize,
    /// Address of the Prometheus `/metrics` listener (unset: no metrics listener).
    #[arg(long, env = "FLEXCOVER_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Longest a cached token, platform or setting is used without a fresh read, in seconds; a
    /// change reaches every replica sooner by notification (0: no cache).
    #[arg(long, env = "FLEXCOVER_CACHE_MAX_AGE_SECS", default_value_t = 5)]
    pub cache_max_age_secs: u64,
    /// How long shutdown waits for in-flight calls, in seconds.
    #[arg(long, env = "FLEXCOVER_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Serve TLS with this certificate chain (PEM, leaf first); reread on SIGHUP.
    #[arg(long, env = "FLEXCOVER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM); reread on SIGHUP.
    #[arg(long, env = "FLEXCOVER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates issued by these CAs (PEM): mutual TLS. Needs --tls-cert.
    #[arg(long, env = "FLEXCOVER_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            request_timeout_secs: 30,
            max_concurrent_requests: 256,
            admission_queue: 1024,
            admission_wait_ms: 1000,
            max_message_bytes: 4 * 1024 * 1024,
            health_interval_ms: 2000,
            supervision_refresh_secs: 300,
            maintenance_interval_secs: 3600,
            archive_dir: None,
            http2_keepalive_secs: 60,
            http2_keepalive_timeout_secs: 20,
            idle_connection_timeout_secs: 300,
            cache_max_age_secs: 5,
            tcp_nodelay: true,
            coalesce_max: 256,
            metrics_listen: None,
            shutdown_grace_secs: 30,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
        }
    }
}

impl ServerSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn admission(&self) -> crate::admission::Limits {
        crate::admission::Limits {
            limit: self.max_concurrent_requests,
            queue: self.admission_queue,
            wait: Duration::from_millis(self.admission_wait_ms),
            deadline: self.request_timeout(),
        }
    }

    /// The HTTP/2 keepalive ping interval, if pings are on.
    pub fn http2_keepalive(&self) -> Option<Duration> {
        (self.http2_keepalive_secs > 0).then(|| Duration::from_secs(self.http2_keepalive_secs))
    }

    /// How long a connection may stay without an open call, if it is ever closed for it.
    pub fn idle_connection_timeout(&self) -> Option<Duration> {
        (self.idle_connection_timeout_secs > 0)
            .then(|| Duration::from_secs(self.idle_connection_timeout_secs))
    }

    pub fn cache_max_age(&self) -> Duration {
        Duration::from_secs(self.cache_max_age_secs)
    }

    /// The background refresh's interval, if it runs.
    pub fn supervision_refresh(&self) -> Option<Duration> {
        (self.supervision_refresh_secs > 0)
            .then(|| Duration::from_secs(self.supervision_refresh_secs))
    }

    /// The maintenance pass's interval, if serve runs it.
    pub fn maintenance_interval(&self) -> Option<Duration> {
        (self.maintenance_interval_secs > 0)
            .then(|| Duration::from_secs(self.maintenance_interval_secs))
    }

    /// The TLS files, when the listener serves TLS.
    pub fn tls_files(&self) -> anyhow::Result<Option<crate::tls::TlsFiles>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(crate::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
            })),
            (None, None) if self.tls_client_ca.is_none() => Ok(None),
            _ => anyhow::bail!(
                "TLS needs both --tls-cert and --tls-key (--tls-client-ca only with them)"
            ),
        }
    }

    /// The listener's TLS, loaded now (a file that does not load is an error), if it serves TLS.
    pub fn load_tls(&self) -> anyhow::Result<Option<std::sync::Arc<crate::tls::ServerTls>>> {
        self.tls_files()?
            .map(|files| crate::tls::ServerTls::load(files).map(std::sync::Arc::new))
            .transpose()
    }

    pub fn health_interval(&self) -> Duration {
        Duration::from_millis(self.health_interval_ms)
    }
}
