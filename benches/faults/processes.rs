//! The processes a scenario runs — `flexcover serve`, its embedded PostgreSQL, an external
//! cluster — each behind a guard that kills it and removes its files, even when the scenario fails.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The pid on the first line of a pid file (a postmaster's, or one a script wrote).
pub fn pid_in(file: &Path) -> Option<i32> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

fn pid_alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn signal(pid: i32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, signal) };
}

/// A directory under the system temp dir (reachable by the `postgres` OS user), removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "flexcover-faults-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // FLEXCOVER_KEEP_FAULT_DIRS=1 keeps logs and data for a post-mortem.
        if std::env::var_os("FLEXCOVER_KEEP_FAULT_DIRS").is_some() {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `flexcover serve` on a fixed port, restartable with the same settings (so clients reconnect
/// to the same address), killed on drop together with its embedded postmaster.
pub struct Serve {
    child: Option<Child>,
    pub port: u16,
    env: Vec<(String, String)>,
    /// The embedded cluster's data directory (FLEXCOVER_DATA_DIR) when no DATABASE_URL is set.
    pub data_dir: Option<PathBuf>,
    log_path: PathBuf,
}

impl Serve {
    /// Starts serve on the embedded PostgreSQL in `data_dir`.
    pub fn embedded(data_dir: &Path, extra_env: &[(&str, &str)]) -> Self {
        let mut env = vec![(
            "FLEXCOVER_DATA_DIR".to_owned(),
            data_dir.display().to_string(),
        )];
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        Self::start(env, Some(data_dir.to_owned()), data_dir.join("serve.log"))
    }

    /// Starts serve on the PostgreSQL at `url`, its log in `log_dir`.
    pub fn external(url: &str, log_dir: &Path) -> Self {
        let env = vec![
            ("DATABASE_URL".to_owned(), url.to_owned()),
            (
                "FLEXCOVER_PII_KEY".to_owned(),
                flexcover::pii::PiiKeys::generate_text(),
            ),
        ];
        Self::start(env, None, log_dir.join("serve.log"))
    }

    fn start(env: Vec<(String, String)>, data_dir: Option<PathBuf>, log_path: PathBuf) -> Self {
        let mut serve = Self {
            child: None,
            port: free_port(),
            env,
            data_dir,
            log_path,
        };
        serve.restart();
        serve
    }

    fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
        command
            .env_remove("DATABASE_URL")
            .env_remove("FLEXCOVER_PII_KEY")
            .env_remove("FLEXCOVER_PII_KEY_FILE")
            .env("FLEXCOVER_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    /// Starts (again) a serve process; the previous one must be gone.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("serve log");
        let child = self
            .command()
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--health-interval-ms", "200"])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start flexcover serve");
        self.child = Some(child);
    }

    /// SIGKILL: no drain, no shutdown of the embedded cluster (its parent-death signal stops it).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait (drain, stop the embedded cluster); SIGKILL after 40 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        signal(child.id() as i32, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(40);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    pub fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|child| child.try_wait().ok().flatten().is_some())
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The pid in the embedded cluster's `postmaster.pid`.
    pub fn postmaster_pid(&self) -> Option<i32> {
        pid_in(&self.data_dir.as_ref()?.join("postgres/postmaster.pid"))
    }

    /// Runs a `flexcover admin …` command against serve's database; returns its stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let output = self
            .command()
            .arg("admin")
            .args(args)
            .output()
            .expect("flexcover admin");
        assert!(
            output.status.success(),
            "flexcover admin {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    /// Seeds the pilot scope and returns a fresh token for Meituan.
    pub fn platform_token(&self) -> String {
        self.admin(&["seed-pilot"]);
        self.admin(&["create-token", "--role", "platform:meituan"])
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill9();
        // The orphaned postmaster gets SIGINT from its parent-death signal; make sure it is gone
        // before the data directory is removed.
        if let Some(pid) = self.postmaster_pid() {
            let deadline = Instant::now() + Duration::from_secs(20);
            while pid_alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if pid_alive(pid) {
                signal(pid, libc::SIGKILL);
            }
        }
        if let Some(data_dir) = &self.data_dir {
            let _ = std::fs::remove_dir_all(embedded_socket_dir(data_dir));
        }
    }
}

/// The private socket directory serve's embedded cluster uses (see `src/postgres.rs`).
fn embedded_socket_dir(data_dir: &Path) -> PathBuf {
    use sha2::Digest;
    let cluster_dir = data_dir.join("postgres");
    let cluster_dir = cluster_dir.canonicalize().unwrap_or(cluster_dir);
    let digest = sha2::Sha256::digest(cluster_dir.as_os_str().as_encoded_bytes());
    std::env::temp_dir().join(format!("flexcover-pg-{}", &hex::encode(digest)[..16]))
}

/// A channel that connects when first used and reconnects after the server comes back.
pub fn lazy_channel(endpoint: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(1))
        .connect_lazy()
}

/// One health check on "" with a short deadline.
pub async fn serving(channel: &Channel) -> bool {
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    request.set_timeout(Duration::from_millis(500));
    HealthClient::new(channel.clone())
        .check(request)
        .await
        .is_ok_and(|answer| answer.into_inner().status() == ServingStatus::Serving)
}

/// Waits until health says SERVING; panics after `limit`, with serve's log.
pub async fn wait_serving(serve: &mut Serve, channel: &Channel, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if serving(channel).await {
            return started.elapsed();
        }
        assert!(
            !serve.exited(),
            "serve exited; its log ends:\n{}",
            serve.log_tail()
        );
        assert!(
            started.elapsed() < limit,
            "serve was not SERVING within {limit:?}; its log ends:\n{}",
            serve.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Watches health from just before a fault at `fault`: the seconds until SERVING again after
/// health noticed the fault, or None when health never left SERVING within 3 s (the outage fell
/// between two database probes). Polls every 20 ms; gives up after 120 s.
pub async fn watch_recovery(channel: Channel, fault: Instant) -> Result<Option<f64>, String> {
    let mut noticed = false;
    loop {
        let up = serving(&channel).await;
        match (up, noticed) {
            (true, true) => return Ok(Some(fault.elapsed().as_secs_f64())),
            (true, false) if fault.elapsed() > Duration::from_secs(3) => return Ok(None),
            (false, _) => noticed = true,
            (true, false) => {}
        }
        if fault.elapsed() > Duration::from_secs(120) {
            return Err("not SERVING within 120 s of the fault".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throwaway PostgreSQL cluster on a free TCP port, run by the `postgres` OS user when we are
/// root (PostgreSQL refuses root); stopped and removed on drop.
pub struct ExternalCluster {
    dir: TempDir,
    pub port: u16,
}

impl ExternalCluster {
    /// None (and why) when the PostgreSQL 15 binaries are missing.
    pub fn start() -> Result<Self, String> {
        if !Path::new(PG_BIN).join("pg_ctl").exists() {
            return Err(format!("no PostgreSQL binaries in {PG_BIN}"));
        }
        let dir = TempDir::new("external");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let chown = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir.0)
                .status()
                .expect("chown");
            assert!(chown.success(), "chown of the cluster directory");
        }
        let cluster = Self {
            dir,
            port: free_port(),
        };
        cluster.pg(
            "initdb",
            &["-D", &cluster.data(), "-U", "postgres", "--auth=trust"],
        )?;
        cluster.pg_ctl(&["start", "-w", "-l", &cluster.log()])?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.0.join("data").display().to_string()
    }

    fn log(&self) -> String {
        self.dir.0.join("postgres.log").display().to_string()
    }

    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn log_dir(&self) -> &Path {
        &self.dir.0
    }

    /// Runs a PostgreSQL program as the `postgres` OS user when we are root.
    fn pg(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let binary = Path::new(PG_BIN).join(program);
        // SAFETY: geteuid has no preconditions.
        let mut command = if unsafe { libc::geteuid() } == 0 {
            let mut setpriv = Command::new("setpriv");
            setpriv
                .args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
                .arg(binary);
            setpriv
        } else {
            Command::new(binary)
        };
        let output = command
            .args(args)
            .current_dir(&self.dir.0)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("{program}: {error}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let data = self.data();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.0.display()
        );
        let mut all = vec!["-D", data.as_str(), "-o", options.as_str()];
        all.extend_from_slice(args);
        self.pg("pg_ctl", &all)
    }

    /// `pg_ctl restart -m immediate`: every backend dies at once, crash recovery on start.
    pub fn restart_immediate(&self) {
        self.pg_ctl(&["restart", "-m", "immediate", "-w", "-l", &self.log()])
            .expect("pg_ctl restart");
    }
}

impl Drop for ExternalCluster {
    fn drop(&mut self) {
        let data = self.data();
        if let Err(error) = self.pg("pg_ctl", &["-D", &data, "stop", "-m", "immediate", "-w"]) {
            eprintln!("stopping the external cluster failed ({error}); removing its files anyway");
        }
    }
}
