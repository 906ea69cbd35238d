//! spawn_app and friends.
use flexcover::api::AppState;
use flexcover::config::ServerSettings;
use flexcover::domain::clock::ManualClock;
use flexcover::domain::role::Role;
use flexcover::pb;
use flexcover::pb::admin_service_client::AdminServiceClient;
use flexcover::pb::enrolment_service_client::EnrolmentServiceClient;
use flexcover::pii::PiiKeys;
use flexcover::postgres::{EmbeddedOptions, EmbeddedPostgres};
use sqlx::{Connection, PgPool};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// The PostgreSQL server all tests of this process use, and a migrated template database.
struct Cluster {
    admin_url: String,
    template: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);

fn pid_is_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Runs once per test process, on its own thread and runtime: the embedded server must be forked
/// by a thread that outlives every test (its parent-death signal follows the forking thread).
fn start_cluster() -> Cluster {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let pid = std::process::id();
        let admin_url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                drop_stale_databases(&url).await;
                url
            }
            _ => {
                remove_stale_cluster_dirs();
                let data_dir = std::env::temp_dir().join(format!("flexcover-test-pg-{pid}"));
                let embedded = EmbeddedPostgres::start(&EmbeddedOptions {
                    data_dir,
                    os_user: "postgres".into(),
                    bin_dir: None,
                    durable: false,
                    serving: true,
                })
                .await
                .expect("embedded PostgreSQL for tests (set DATABASE_URL to use a running server)");
                let url = embedded.database_url("postgres");
                // Lives until the process exits; the parent-death signal then stops it.
                std::mem::forget(embedded);
                url
            }
        };
        let template = format!("flexcover_tpl_{pid}");
        flexcover::database::create_database_if_missing(&admin_url, &template)
            .await
            .expect("template database");
        let pool = flexcover::store::connect(&database_url(&admin_url, &template), 2)
            .await
            .expect("template pool");
        flexcover::store::migrate(&pool).await.expect("migrations");
        pool.close().await;
        Cluster {
            admin_url,
            template,
        }
    })
}

fn remove_stale_cluster_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = name
            .strip_prefix("flexcover-test-pg-")
            .and_then(|rest| rest.split('.').next()?.parse::<u32>().ok())
            .is_some_and(|pid| !pid_is_alive(pid));
        if stale {
            let path = entry.path();
            if path.is_dir() {
                let _ = std::fs::remove_dir_all(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Drops databases left by earlier test processes that have exited.
async fn drop_stale_databases(admin_url: &str) {
    let Ok(mut connection) = sqlx::PgConnection::connect(admin_url).await else {
        return;
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'flexcover\\_test\\_%' OR datname LIKE 'flexcover\\_tpl\\_%'",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap_or_default();
    for name in names {
        let pid = name
            .split('_')
            .nth(2)
            .and_then(|pid| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| !pid_is_alive(pid)) {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut connection)
            .await;
        }
    }
}

/// A fresh migrated database, by URL (for processes other than the test's own server).
pub async fn fresh_database_url() -> String {
    database_url(&cluster().admin_url, &fresh_database().await)
}

/// The URL of `database` on the server behind `admin_url`.
pub fn database_url(admin_url: &str, database: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    format!("{server}/{database}{query}")
}

/// The URL of the test cluster's admin database.
pub fn admin_url() -> String {
    cluster().admin_url.clone()
}

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        std::thread::spawn(start_cluster)
            .join()
            .expect("cluster start-up thread")
    })
}

/// Creates a fresh, migrated database (a copy of the template) and returns its name.
pub async fn fresh_database() -> String {
    let cluster = cluster();
    let name = format!(
        "flexcover_test_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
    );
    let mut connection = sqlx::PgConnection::connect(&cluster.admin_url)
        .await
        .expect("admin connection");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{name}\" TEMPLATE \"{}\"",
        cluster.template
    )))
    .execute(&mut connection)
    .await
    .expect("create test database");
    name
}

pub async fn admin_connection() -> sqlx::PgConnection {
    sqlx::PgConnection::connect(&cluster().admin_url)
        .await
        .expect("admin connection")
}

/// Tests run on 2026-06-15 (16:00 in Beijing) unless they move the clock.
pub fn test_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-06-15T08:00:00Z")
        .expect("instant")
        .to_utc()
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub pool: PgPool,
    pub database: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ServerSettings {
        health_interval_ms: 100,
        ..ServerSettings::default()
    })
    .await
}

pub async fn spawn_app_with(settings: ServerSettings) -> TestApp {
    let database = fresh_database().await;
    let url = database_url(&cluster().admin_url, &database);
    spawn_app_on(&url, database, settings).await
}

/// A test server on the database at `url` (`database` names it).
pub async fn spawn_app_on(url: &str, database: String, settings: ServerSettings) -> TestApp {
    let pii = PiiKeys::parse(&PiiKeys::generate_text()).expect("test PII key");
    spawn_app_keyed(url, database, settings, pii).await
}

/// [`spawn_app_on`] with the PII key ring `pii`.
pub async fn spawn_app_keyed(
    url: &str,
    database: String,
    settings: ServerSettings,
    pii: PiiKeys,
) -> TestApp {
    let pool = flexcover::store::connect(url, 10).await.expect("test pool");
    let clock = Arc::new(ManualClock::new(test_now()));
    let state = AppState {
        pool: pool.clone(),
        pii: Arc::new(pii),
        clock: clock.clone(),
        cache: Arc::new(flexcover::cache::Cache::new(settings.cache_max_age())),
        access_log: flexcover::access_log::AccessLog::start(&pool),
        enrolments: flexcover::service::enrolment::coalesce::Coalescer::start(
            pool.clone(),
            settings.coalesce_max,
        ),
        metrics: Arc::new(flexcover::metrics::Metrics::default()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (shutdown, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        flexcover::app::serve(listener, state, &settings, async {
            let _ = stop.await;
        })
        .await
    });
    TestApp {
        addr,
        clock,
        pool,
        database,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

impl TestApp {
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect")
    }

    pub async fn enrolment_client(&self) -> EnrolmentServiceClient<Channel> {
        EnrolmentServiceClient::new(self.channel().await)
    }

    pub async fn contribution_client(
        &self,
    ) -> flexcover::pb::contribution_service_client::ContributionServiceClient<Channel> {
        flexcover::pb::contribution_service_client::ContributionServiceClient::new(
            self.channel().await,
        )
    }

    pub async fn admin_client(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::new(self.channel().await)
    }

    /// A token for `role`, created straight in the database as `flexcover admin create-token` does.
    pub async fn token(&self, role: &str) -> String {
        let role = Role::parse(role).expect("test role");
        let mut connection = self.pool.acquire().await.expect("connection");
        flexcover::api::admin::create_token(&mut connection, &role, "test", chrono::Utc::now())
            .await
            .expect("create token")
            .token
    }

    pub async fn seed_pilot(&self) {
        flexcover::seed::seed_pilot(&self.pool, chrono::Utc::now())
            .await
            .expect("seed pilot");
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server result");
        }
    }
}

/// A request with `authorization: Bearer <token>`.
pub fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata value"),
    );
    request
}

/// Asserts an INVALID_ARGUMENT whose BadRequest details name `field`.
pub fn assert_field_violation(status: &Status, field: &str) {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad_request = status
        .get_details_bad_request()
        .expect("google.rpc.BadRequest details");
    assert!(
        bad_request
            .field_violations
            .iter()
            .any(|v| v.field == field),
        "expected a violation of {field}, got {:?}",
        bad_request.field_violations
    );
}

pub fn date(year: i32, month: i32, day: i32) -> pb::Date {
    pb::Date { year, month, day }
}

/// A valid ID number born on `birth` (YYYYMMDD) in `address` with sequence `seq`.
pub fn id_number(address: &str, birth: &str, seq: u32) -> String {
    let first17 = format!("{address}{birth}{seq:03}");
    let digits: [u8; 17] = first17.as_bytes().try_into().expect("17 digits");
    format!(
        "{first17}{}",
        flexcover::domain::id_number::check_character(&digits)
    )
}

/// A valid enrolment request for a grown-up worker in Nanshan, Shenzhen (44), instant delivery.
pub fn enrol_request(request_id: &str, id: &str) -> pb::EnrolWorkerRequest {
    pb::EnrolWorkerRequest {
        request_id: request_id.to_owned(),
        worker: Some(pb::Worker {
            id_number: id.to_owned(),
            name: "张三丰".to_owned(),
            phone: "13812345678".to_owned(),
        }),
        place_of_employment: "440305".to_owned(),
        industry: pb::Industry::InstantDelivery as i32,
        cover_start_date: Some(date(2026, 1, 5)),
    }
}

pub const STANDARD_ID: &str = "11010519491231002X";

/// An instant written in RFC 3339, as a protobuf timestamp.
pub fn at(rfc3339: &str) -> prost_types::Timestamp {
    let instant = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("instant")
        .to_utc();
    prost_types::Timestamp {
        seconds: instant.timestamp(),
        nanos: 0,
    }
}

/// Waits until a `flexcover serve` child answers health SERVING at `endpoint`; panics with what
/// `log` returns if the child exits first or takes longer than `limit`.
pub async fn wait_until_serving(
    child: &mut std::process::Child,
    endpoint: &str,
    limit: std::time::Duration,
    log: impl Fn() -> String,
) -> tonic::transport::Channel {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(endpoint.to_owned())
            .expect("endpoint")
            .connect()
            .await
        {
            let status = HealthClient::new(channel.clone())
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if status.map(|s| s.into_inner().status()).ok() == Some(ServingStatus::Serving) {
                return channel;
            }
        }
        if let Some(status) = child.try_wait().expect("poll") {
            panic!("serve exited ({status}): {}", log());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve was not SERVING within {limit:?}: {}",
            log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
