//! The embedded local PostgreSQL used when no `DATABASE_URL` is given: `initdb` on first start,
//! a server that lives and dies with this process, reachable only through a private Unix socket.
//!
//! PostgreSQL refuses to run as root, so when flexcover runs as root the server processes run as an
//! unprivileged OS user (default `postgres`). The server is started in its own session (a Ctrl-C
//! meant for flexcover must not stop the database before in-flight calls drain) with a parent-death
//! signal, so it shuts down even if flexcover is killed. Processes on the same data directory take
//! turns under a file lock: a command run while `serve` runs (e.g. `flexcover admin …`) uses serve's
//! cluster; otherwise each waits for the current owner's cluster to stop and starts its own.
//!
//! The server is supervised: if the postmaster dies (killed, crashed), it is started again at once
//! — PostgreSQL runs crash recovery from its WAL — with a short backoff while the dead server's
//! last backends let go of their shared memory. The pool reconnects by itself.
use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use sqlx::Connection;
use std::ffi::CString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The port only names the socket file; the server listens on no TCP address.
const PORT: u16 = 5432;
const SUPERUSER: &str = "postgres";

#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    pub data_dir: PathBuf,
    /// The OS user that runs the server when flexcover runs as root.
    pub os_user: String,
    /// Where `initdb` and `postgres` are; searched on PATH and under /usr/lib/postgresql when unset.
    pub bin_dir: Option<PathBuf>,
    /// false for throwaway test clusters: no fsync.
    pub durable: bool,
    /// `serve` owns its cluster for its whole life; other commands use the cluster of a running
    /// `serve`, and otherwise start their own for the moment. Anyone else's short-lived cluster is
    /// waited out, because it stops when its command ends.
    pub serving: bool,
}

#[derive(Debug, Clone, Copy)]
struct OsUser {
    uid: libc::uid_t,
    gid: libc::gid_t,
}

#[derive(Clone)]
struct Running {
    pid: i32,
    exited: watch::Receiver<bool>,
}

/// What it takes to start the server again.
struct ServerCommand {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    log_path: PathBuf,
    run_as: Option<OsUser>,
    durable: bool,
}

/// The server this process runs, restarted whenever it dies until `stop`.
struct Supervised {
    current: std::sync::Mutex<Running>,
    stopping: AtomicBool,
    command: ServerCommand,
}

impl Supervised {
    fn current(&self) -> Running {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

pub struct EmbeddedPostgres {
    socket_dir: PathBuf,
    /// None when attached to a server that another flexcover process started.
    server: Option<Arc<Supervised>>,
    supervisor: Option<tokio::task::JoinHandle<()>>,
    /// Says who runs the cluster (`serve` or `command`, and the pid) while this process does.
    owner_file: Option<PathBuf>,
}

impl EmbeddedPostgres {
    pub async fn start(options: &EmbeddedOptions) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir(
            options.bin_dir.as_deref(),
            std::env::var_os("PATH"),
            Path::new("/usr/lib/postgresql"),
        )?;
        // SAFETY: geteuid has no preconditions.
        let run_as = if unsafe { libc::geteuid() } == 0 {
            Some(lookup_user(&options.os_user)?)
        } else {
            None
        };
        let data_dir = absolute(&options.data_dir)?;
        let socket_dir = socket_dir_for(&data_dir);
        let deadline = Instant::now() + Duration::from_secs(60);
        let server = loop {
            // Processes starting on the same data directory take turns: the first initialises and
            // starts the cluster, the others then find it running.
            let turn = StartLock::acquire(&data_dir.with_extension("lock")).await?;
            prepare_dir(&data_dir, run_as)?;
            prepare_dir(&socket_dir, run_as)?;
            if let Some(user) = run_as {
                check_reachable(&data_dir, user, &options.os_user)?;
            }
            if !data_dir.join("PG_VERSION").exists() {
                init_cluster(&bin_dir, &data_dir, run_as, options.durable)?;
            }
            let attached = Self {
                socket_dir: socket_dir.clone(),
                server: None,
                supervisor: None,
                owner_file: None,
            };
            let owner_file = data_dir.with_extension("owner");
            let answering =
                socket_dir.join(format!(".s.PGSQL.{PORT}")).exists() && attached.answers().await;
            // A postmaster that is alive but not answering is still starting or stopping.
            if answering || live_postmaster(&data_dir).is_some() {
                let owned_by_serve = std::fs::read_to_string(&owner_file)
                    .is_ok_and(|owner| owner.starts_with("serve"));
                if answering && !options.serving && owned_by_serve {
                    tracing::info!(data_dir = %data_dir.display(), "using the embedded PostgreSQL of the running flexcover serve");
                    return Ok(attached);
                }
                // Anyone else's cluster stops when its owner ends: wait for that, then start ours.
                drop(turn);
                if Instant::now() > deadline {
                    bail!(
                        "the embedded PostgreSQL in {} is run by another flexcover process (is another \
                         `flexcover serve` using this data directory?); stop it or choose another --data-dir",
                        data_dir.display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            let command = ServerCommand {
                bin_dir: bin_dir.clone(),
                data_dir: data_dir.clone(),
                socket_dir: socket_dir.clone(),
                log_path: data_dir.with_extension("log"),
                run_as,
                durable: options.durable,
            };
            let running = spawn_server(&command)?;
            let url = attached.database_url("postgres");
            wait_ready(&url, &running, &command.log_path).await?;
            let supervised = Arc::new(Supervised {
                current: std::sync::Mutex::new(running),
                stopping: AtomicBool::new(false),
                command,
            });
            let server = Self {
                socket_dir: socket_dir.clone(),
                supervisor: Some(tokio::spawn(supervise(Arc::clone(&supervised), url))),
                server: Some(supervised),
                owner_file: Some(owner_file.clone()),
            };
            let kind = if options.serving { "serve" } else { "command" };
            std::fs::write(&owner_file, format!("{kind}\n{}\n", std::process::id()))
                .with_context(|| format!("writing {}", owner_file.display()))?;
            break server;
        };
        tracing::info!(data_dir = %data_dir.display(), "embedded PostgreSQL started");
        Ok(server)
    }

    /// The directory of the server's Unix socket (a libpq `host`).
    pub fn socket_dir(&self) -> &std::path::Path {
        &self.socket_dir
    }

    /// A connection URL for `database` on this server (over its Unix socket).
    pub fn database_url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost:{PORT}/{database}?host={}",
            self.socket_dir.display()
        )
    }

    async fn answers(&self) -> bool {
        answers(&self.database_url("postgres")).await
    }

    /// Fast shutdown: disconnects clients, checkpoints and exits. A no-op when attached.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let Some(server) = self.server.take() else {
            return Ok(());
        };
        server.stopping.store(true, Ordering::SeqCst);
        if let Some(supervisor) = self.supervisor.take() {
            // Waited for, so a restart it had in flight is registered as current before we read it.
            supervisor.abort();
            let _ = supervisor.await;
        }
        if let Some(owner_file) = self.owner_file.take() {
            let _ = std::fs::remove_file(owner_file);
        }
        let mut running = server.current();
        for (signal, grace) in [(libc::SIGINT, 30), (libc::SIGQUIT, 5)] {
            // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
            unsafe { libc::kill(running.pid, signal) };
            let exited = running.exited.wait_for(|exited| *exited);
            if tokio::time::timeout(Duration::from_secs(grace), exited)
                .await
                .is_ok()
            {
                tracing::info!("embedded PostgreSQL stopped");
                return Ok(());
            }
        }
        bail!("the embedded PostgreSQL (pid {}) did not stop", running.pid)
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if let Some(supervisor) = self.supervisor.take() {
            supervisor.abort();
        }
        if let Some(server) = &self.server {
            server.stopping.store(true, Ordering::SeqCst);
            // Best effort on paths that did not call stop(); the parent-death signal is the backstop.
            // SAFETY: as in stop().
            unsafe { libc::kill(server.current().pid, libc::SIGINT) };
        }
    }
}

/// Whether the server accepts a connection within two seconds.
async fn answers(url: &str) -> bool {
    match tokio::time::timeout(Duration::from_secs(2), sqlx::PgConnection::connect(url)).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            true
        }
        _ => false,
    }
}

/// Waits until `running` accepts connections at `url`; fails if it exits or takes a minute.
async fn wait_ready(url: &str, running: &Running, log_path: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if *running.exited.borrow() {
            bail!(
                "the embedded PostgreSQL exited during start-up; its log {} ends:\n{}",
                log_path.display(),
                log_tail(log_path)
            );
        }
        if answers(url).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the embedded PostgreSQL did not accept connections within 60 s; see {}",
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Restarts the server whenever it exits, until `stopping` is set.
async fn supervise(server: Arc<Supervised>, url: String) {
    loop {
        let mut exited = server.current().exited;
        let _ = exited.wait_for(|exited| *exited).await;
        if server.stopping.load(Ordering::SeqCst) {
            return;
        }
        tracing::error!("the embedded PostgreSQL exited unexpectedly; restarting it");
        let started = Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            if server.stopping.load(Ordering::SeqCst) {
                return;
            }
            // A killed postmaster's backends hold its shared memory for a moment; the new server
            // refuses to start until they are gone, so retry with a short backoff.
            let restarted = match spawn_server(&server.command) {
                Ok(running) => {
                    // Current from the moment it runs: a stop while it starts must signal it, not
                    // the dead server it replaces (it would outlive us).
                    *server
                        .current
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = running.clone();
                    wait_ready(&url, &running, &server.command.log_path).await
                }
                Err(error) => Err(error),
            };
            match restarted {
                Ok(()) => {
                    tracing::warn!(
                        seconds = started.elapsed().as_secs_f64(),
                        "the embedded PostgreSQL is back (crash recovery done)"
                    );
                    break;
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "restarting the embedded PostgreSQL failed; retrying"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}

/// An exclusive advisory lock (flock) held while a cluster is initialised and started.
struct StartLock {
    _file: std::fs::File,
}

impl StartLock {
    async fn acquire(path: &Path) -> anyhow::Result<Self> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("opening the start-up lock {}", path.display()))?;
        let file = tokio::task::spawn_blocking(move || {
            // SAFETY: flock on a descriptor we own; blocks until the other process releases it.
            let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if locked == 0 {
                Ok(file)
            } else {
                Err(std::io::Error::last_os_error())
            }
        })
        .await
        .context("waiting for the start-up lock")?
        .with_context(|| format!("locking {}", path.display()))?;
        // Released when the file is closed, i.e. when this value is dropped.
        Ok(Self { _file: file })
    }
}

/// The pid in `postmaster.pid` if that process is alive.
fn live_postmaster(data_dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(data_dir.join("postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    path.canonicalize()
        .with_context(|| format!("resolving {}", path.display()))
}

/// A short, private socket directory per data directory (socket paths are limited to ~107 bytes).
fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    std::env::temp_dir().join(format!("flexcover-pg-{}", &hex::encode(digest)[..16]))
}

fn prepare_dir(dir: &Path, owner: Option<OsUser>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Some(user) = owner {
        std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid))
            .with_context(|| format!("giving {} to the PostgreSQL OS user", dir.display()))?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {} to mode 0700", dir.display()))
}

/// PostgreSQL's OS user must be able to search every parent of the data directory.
fn check_reachable(data_dir: &Path, user: OsUser, user_name: &str) -> anyhow::Result<()> {
    for ancestor in data_dir.ancestors().skip(1) {
        let meta = std::fs::metadata(ancestor)
            .with_context(|| format!("inspecting {}", ancestor.display()))?;
        let mode = meta.mode();
        let searchable = mode & 0o001 != 0
            || (meta.uid() == user.uid && mode & 0o100 != 0)
            || (meta.gid() == user.gid && mode & 0o010 != 0);
        if !searchable {
            bail!(
                "the embedded PostgreSQL runs as OS user {user_name:?} (PostgreSQL refuses root), \
                 and that user cannot reach the data directory {}: {} has mode {:o}. Choose a data \
                 directory it can reach with --data-dir / FLEXCOVER_DATA_DIR (e.g. under /var/tmp), \
                 or set DATABASE_URL to use a PostgreSQL server",
                data_dir.display(),
                ancestor.display(),
                mode & 0o777
            );
        }
    }
    Ok(())
}

/// The configured directory, else the first PATH entry with both binaries, else the newest
/// `<versions_root>/<major>/bin` (Debian's layout).
fn find_bin_dir(
    configured: Option<&Path>,
    path_var: Option<std::ffi::OsString>,
    versions_root: &Path,
) -> anyhow::Result<PathBuf> {
    let has_binaries = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = configured {
        if has_binaries(dir) {
            return Ok(dir.to_owned());
        }
        bail!("no initdb and postgres binaries in {}", dir.display());
    }
    if let Some(path) = path_var
        && let Some(dir) = std::env::split_paths(&path).find(|dir| has_binaries(dir))
    {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(versions_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_binaries(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).context(
        "no PostgreSQL server binaries (initdb, postgres) found on PATH or under \
         /usr/lib/postgresql/*/bin. Install PostgreSQL 14 or newer (Debian/Ubuntu: \
         `apt-get install postgresql`), point FLEXCOVER_PG_BIN_DIR at its bin directory, or set \
         DATABASE_URL to use a running server",
    )
}

fn lookup_user(name: &str) -> anyhow::Result<OsUser> {
    let c_name = CString::new(name).context("OS user name contains a NUL byte")?;
    let mut passwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live, correctly sized storage for the duration of the call.
    let status = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut passwd,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut result,
        )
    };
    if status != 0 || result.is_null() {
        bail!(
            "flexcover runs as root, so the embedded PostgreSQL must run as an unprivileged OS user, \
             but there is no user {name:?}; create it or set FLEXCOVER_PG_OS_USER"
        );
    }
    Ok(OsUser {
        uid: passwd.pw_uid,
        gid: passwd.pw_gid,
    })
}

/// A command that runs as `user` (when set). std drops root's supplementary groups, then sets the
/// gid and uid, before any `pre_exec` hook runs.
fn command_as(program: PathBuf, user: Option<OsUser>) -> Command {
    let mut command = Command::new(program);
    if let Some(user) = user {
        command.uid(user.uid).gid(user.gid);
    }
    command
}

fn init_cluster(
    bin_dir: &Path,
    data_dir: &Path,
    user: Option<OsUser>,
    durable: bool,
) -> anyhow::Result<()> {
    let mut command = command_as(bin_dir.join("initdb"), user);
    command
        .arg("-D")
        .arg(data_dir)
        .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C"])
        .stdin(Stdio::null());
    if !durable {
        command.arg("--no-sync");
    }
    let output = command.output().context("running initdb")?;
    if !output.status.success() {
        bail!(
            "initdb failed for {}: {}",
            data_dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    tracing::info!(data_dir = %data_dir.display(), "initialised a new PostgreSQL cluster");
    Ok(())
}

fn spawn_server(server: &ServerCommand) -> anyhow::Result<Running> {
    let ServerCommand {
        bin_dir,
        data_dir,
        socket_dir,
        log_path,
        run_as: user,
        durable,
    } = server;
    let (user, durable) = (*user, *durable);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut command = command_as(bin_dir.join("postgres"), user);
    command
        .arg("-D")
        .arg(data_dir)
        .arg("-k")
        .arg(socket_dir)
        .args(["-p", &PORT.to_string(), "-c", "listen_addresses="])
        // Sized for a service rather than PostgreSQL's minimal defaults (128 MB buffers, 1 GB of
        // WAL between checkpoints): order ingest evicted index pages and checkpointed every minute.
        .args(["-c", "shared_buffers=512MB", "-c", "max_wal_size=4GB"])
        // A new WAL segment is otherwise zero-filled (16 MB written) by whichever commit needs it:
        // 4.5% of the CPU during order ingest on a young cluster, before segments are recycled.
        // ext4 and xfs allocate the blocks on write anyway.
        .args(["-c", "wal_init_zero=off"])
        // Provinces that run PostgreSQL subscribe to their publications (admin publish-province).
        .args(["-c", "wal_level=logical"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    if !durable {
        command.args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]);
    }
    // SAFETY: setsid and prctl are async-signal-safe. The death signal is set after the uid change
    // (which would clear it) and survives exec.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let (pid_sender, pid_receiver) = std::sync::mpsc::channel();
    let (exited_sender, exited) = watch::channel(false);
    // The parent-death signal fires when the *thread* that forked exits, so the server is spawned
    // and waited for on a thread that lives exactly as long as the server.
    std::thread::Builder::new()
        .name("embedded-postgres".into())
        .spawn(move || match command.spawn() {
            Ok(mut child) => {
                let _ = pid_sender.send(Ok(child.id()));
                let _ = child.wait();
                let _ = exited_sender.send(true);
            }
            Err(error) => {
                let _ = pid_sender.send(Err(error));
            }
        })
        .context("starting the embedded PostgreSQL supervisor thread")?;
    let pid = pid_receiver
        .recv()
        .context("the embedded PostgreSQL supervisor thread died")?
        .context("starting postgres")?;
    Ok(Running {
        pid: i32::try_from(pid).context("pid out of range")?,
        exited,
    })
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_get_one_clear_error() {
        let nowhere = Path::new("/nonexistent/flexcover");
        let error = find_bin_dir(None, Some("/nonexistent/bin".into()), nowhere).expect_err("none");
        let message = error.to_string();
        assert!(message.contains("apt-get install postgresql"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
    }

    #[test]
    fn the_newest_versioned_directory_wins() {
        let root = std::env::temp_dir().join(format!("flexcover-bin-test-{}", std::process::id()));
        for version in ["9", "15", "14"] {
            let bin = root.join(version).join("bin");
            std::fs::create_dir_all(&bin).expect("dir");
            std::fs::write(bin.join("initdb"), "").expect("initdb");
            std::fs::write(bin.join("postgres"), "").expect("postgres");
        }
        let found = find_bin_dir(None, None, &root).expect("found");
        assert_eq!(found, root.join("15").join("bin"));
        std::fs::remove_dir_all(root).ok();
    }

    #[test]
    fn unreachable_data_directories_are_explained() {
        let root =
            std::env::temp_dir().join(format!("flexcover-reach-test-{}", std::process::id()));
        let private = root.join("private");
        std::fs::create_dir_all(private.join("data")).expect("dirs");
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let stranger = OsUser {
            uid: 65_534,
            gid: 65_534,
        };
        let error =
            check_reachable(&private.join("data"), stranger, "nobody").expect_err("unreachable");
        assert!(error.to_string().contains("--data-dir"), "{error}");
        assert!(check_reachable(&root, stranger, "nobody").is_ok());
        std::fs::remove_dir_all(root).ok();
    }
}
