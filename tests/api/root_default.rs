//! The README's first command as root on a fresh cloud machine: `flexcover serve` with no
//! settings, from a checkout inside a home directory of mode 0700. The PostgreSQL OS user cannot
//! reach `./data` there, so the data goes to a per-checkout directory under /var/lib/flexcover
//! (said in the log), the cluster's files owned by that user and the PII key root's alone (0600);
//! an admin command from the same checkout finds the same cluster.
use crate::helpers::*;
use flexcover::pb;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::Duration;

fn flexcover(checkout: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .current_dir(checkout)
        .env_remove("DATABASE_URL")
        .env_remove("FLEXCOVER_DATA_DIR")
        .env_remove("FLEXCOVER_PII_KEY")
        .env_remove("FLEXCOVER_PII_KEY_FILE")
        .env("FLEXCOVER_LOG", "info")
        .stdin(Stdio::null());
    command
}

/// A failed assertion must not leave serve (and its cluster) running.
struct KillOnDrop(Option<std::process::Child>);

impl KillOnDrop {
    fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("running")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            // SIGTERM, so serve stops its cluster too.
            // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn as_root_the_default_settings_work_from_a_checkout_in_a_private_home() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "SKIPPED as_root_the_default_settings_work_from_a_checkout_in_a_private_home: \
             it checks what root gets by default; run the tests as root to include it"
        );
        return;
    }
    let home = std::env::temp_dir().join(format!("flexcover-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let checkout = home.join("checkout");
    std::fs::create_dir_all(&checkout).expect("checkout");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let log_path = home.join("serve.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let server = flexcover(&checkout)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("start flexcover serve");
    let mut server = KillOnDrop(Some(server));
    let channel = wait_until_serving(
        server.child(),
        &format!("http://127.0.0.1:{port}"),
        Duration::from_secs(90),
        || std::fs::read_to_string(&log_path).unwrap_or_default(),
    )
    .await;
    let log = std::fs::read_to_string(&log_path).expect("log");
    let start = log
        .find("/var/lib/flexcover/checkout-")
        .unwrap_or_else(|| panic!("the log says where the data went: {log}"));
    let data_dir: String = log[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
        .collect();
    let data_dir = std::path::PathBuf::from(data_dir);
    assert!(!checkout.join("data").exists(), "nothing in the checkout");
    let key = std::fs::metadata(data_dir.join("pii.key")).expect("PII key");
    assert_eq!((key.uid(), key.mode() & 0o777), (0, 0o600), "root's alone");
    let cluster = std::fs::metadata(data_dir.join("postgres")).expect("cluster");
    assert_ne!(
        cluster.uid(),
        0,
        "the cluster belongs to the PostgreSQL OS user"
    );
    assert_eq!(cluster.mode() & 0o777, 0o700);

    // An admin command from the same checkout finds the same (running) cluster.
    let seeded = flexcover(&checkout)
        .args(["admin", "seed-pilot"])
        .output()
        .expect("seed-pilot");
    assert!(seeded.status.success());
    let created = flexcover(&checkout)
        .args(["admin", "create-token", "--role", "platform:meituan"])
        .output()
        .expect("create-token");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8_lossy(&created.stdout).trim().to_owned();
    pb::enrolment_service_client::EnrolmentServiceClient::new(channel)
        .enrol_worker(authed(enrol_request("root-1", STANDARD_ID), &token))
        .await
        .expect("enrolled through the default setup");

    let mut server = server.0.take().expect("running");
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let status = tokio::task::spawn_blocking(move || server.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(status.success(), "clean exit");
    let _ = std::fs::remove_dir_all(&data_dir);
    let _ = std::fs::remove_dir_all(&home);
}
