//! Shared by the benchmarks: a PostgreSQL (DATABASE_URL or embedded), fresh databases, and the
//! release `flexcover serve` binary as its own process.
#![allow(dead_code)]
use flexcover::postgres::{EmbeddedOptions, EmbeddedPostgres};
use sqlx::Connection;
use std::time::Duration;

/// One PII key ring for every server this bench process starts: servers started one after another
/// on the same database must share the blind index (serve refuses another one once persons exist).
pub fn pii_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(flexcover::pii::PiiKeys::generate_text)
}

pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The admin URL of the server to use, and the embedded cluster if one was started.
pub async fn cluster(name: &str) -> (String, Option<EmbeddedPostgres>) {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let cluster = EmbeddedPostgres::start(&EmbeddedOptions {
                data_dir: embedded_data_dir(name),
                os_user: "postgres".into(),
                bin_dir: None,
                durable: true,
                serving: true,
            })
            .await
            .expect("embedded PostgreSQL");
            (cluster.database_url("postgres"), Some(cluster))
        }
    }
}

pub fn embedded_data_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("flexcover-bench-{name}-{}", std::process::id()))
}

/// Stops the embedded cluster, if one was started, and removes its files (gigabytes after a run).
pub async fn finish(name: &str, embedded: Option<EmbeddedPostgres>) {
    if let Some(cluster) = embedded {
        let _ = cluster.stop().await;
        let dir = embedded_data_dir(name);
        let _ = std::fs::remove_dir_all(&dir);
        for suffix in ["lock", "log", "owner"] {
            let _ = std::fs::remove_file(dir.with_extension(suffix));
        }
    }
}

/// Drops and recreates `name`, migrated; returns its URL.
pub async fn fresh_database(admin_url: &str, name: &str) -> String {
    let mut connection = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut connection)
    .await
    .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut connection)
        .await
        .expect("create");
    let url = database_url(admin_url, name);
    let pool = flexcover::store::connect(&url, 2).await.expect("pool");
    flexcover::store::migrate(&pool).await.expect("migrate");
    pool.close().await;
    url
}

pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, String::new()), |(b, q)| (b, format!("?{q}")));
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    format!("{server}/{name}{query}")
}

/// Row n's ID number: unique for n below 36.5 million.
pub fn id_number(n: u64) -> String {
    let born = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).expect("date")
        + chrono::Duration::days((n / 1000) as i64);
    let first17 = format!("110105{}{:03}", born.format("%Y%m%d"), n % 1000);
    let digits: [u8; 17] = first17.as_bytes().try_into().expect("17 digits");
    format!(
        "{first17}{}",
        flexcover::domain::id_number::check_character(&digits)
    )
}

/// Worker n's enrolment in Nanshan, Shenzhen (instant delivery), with `request_id` prefix-n.
pub fn enrol_request(prefix: &str, n: u64) -> flexcover::pb::EnrolWorkerRequest {
    use flexcover::pb;
    pb::EnrolWorkerRequest {
        request_id: format!("{prefix}-{n}"),
        worker: Some(pb::Worker {
            id_number: id_number(n),
            name: "张三丰".into(),
            phone: "13812345678".into(),
        }),
        place_of_employment: "440305".into(),
        industry: pb::Industry::InstantDelivery as i32,
        cover_start_date: Some(pb::Date {
            year: 2026,
            month: 1,
            day: 5,
        }),
    }
}

/// After a bulk enrolment, waits for what would otherwise share the two cores with the next
/// measurement: the sequencer numbering the enrolment events, and autovacuum after the bulk load.
pub async fn settle_after_enrolment(pool: &sqlx::PgPool) {
    loop {
        let (events, numbered): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM province_log)",
        )
        .fetch_one(pool)
        .await
        .expect("counts");
        if numbered >= events {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sqlx::query("VACUUM (ANALYZE) enrolments, enrolment_history, persons")
        .execute(pool)
        .await
        .expect("vacuum after the bulk enrolment");
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub struct Server {
    pub child: std::process::Child,
    pub channel: tonic::transport::Channel,
    endpoint: String,
}

/// Starts the release server on a free port against `url` and connects to it.
pub async fn start_server(url: &str) -> Server {
    start_server_with(url, &[]).await
}

/// [`start_server`] with extra environment variables (settings).
pub async fn start_server_with(url: &str, settings: &[(&str, &str)]) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_flexcover"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", url)
        .env("FLEXCOVER_PII_KEY", pii_key())
        .env("FLEXCOVER_LOG", "warn")
        .envs(settings.iter().copied())
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("start the server");
    let endpoint = format!("http://127.0.0.1:{port}");
    let channel = loop {
        if let Ok(channel) = tonic::transport::Endpoint::from_shared(endpoint.clone())
            .expect("endpoint")
            .connect()
            .await
        {
            break channel;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    Server {
        child,
        channel,
        endpoint,
    }
}

impl Server {
    /// Another connection to the same server.
    pub async fn reconnect(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.endpoint.clone())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect again")
    }

    pub fn stop(mut self) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

pub async fn token(url: &str, role: &str) -> String {
    let pool = flexcover::store::connect(url, 2).await.expect("pool");
    let role = flexcover::domain::role::Role::parse(role).expect("role");
    let token = flexcover::api::admin::create_token(
        &mut pool.acquire().await.expect("connection"),
        &role,
        "bench",
        chrono::Utc::now(),
    )
    .await
    .expect("token")
    .token;
    pool.close().await;
    token
}

pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    request
}
