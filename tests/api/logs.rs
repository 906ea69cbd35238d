//! Human logs on a terminal: colour, unless `NO_COLOR` is set (the binary's stderr is a pseudo
//! terminal here; into pipes and files there is never colour).
use crate::helpers::*;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

/// What `flexcover migrate` writes to a terminal on its stderr.
async fn stderr_on_a_terminal(database_url: &str, no_color: Option<&str>) -> String {
    let (mut master, slave) = {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two descriptors it opened into the pointers given; the name,
        // termios and window size pointers may be null.
        let opened = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(opened, 0, "openpty");
        // SAFETY: both descriptors were just opened and are owned by nothing else.
        unsafe {
            (
                std::fs::File::from_raw_fd(master),
                OwnedFd::from_raw_fd(slave),
            )
        }
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_flexcover"));
    command
        .arg("migrate")
        .env("DATABASE_URL", database_url)
        .env("FLEXCOVER_LOG", "info")
        .env("FLEXCOVER_LOG_FORMAT", "human")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(slave));
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let mut child = command.spawn().expect("run migrate");
    drop(command); // closes this process's copy of the terminal's slave side
    tokio::task::spawn_blocking(move || {
        let mut output = Vec::new();
        // Reading ends with EIO once the child's side is closed.
        let _ = master.read_to_end(&mut output);
        assert!(child.wait().expect("wait").success());
        String::from_utf8_lossy(&output).into_owned()
    })
    .await
    .expect("join")
}

#[tokio::test]
async fn colour_on_a_terminal_but_never_with_no_color() {
    let url = fresh_database_url().await;
    let coloured = stderr_on_a_terminal(&url, None).await;
    assert!(coloured.contains("migrations applied"), "{coloured:?}");
    assert!(
        coloured.contains("\u{1b}["),
        "colour on a terminal: {coloured:?}"
    );
    let plain = stderr_on_a_terminal(&url, Some("1")).await;
    assert!(plain.contains("migrations applied"), "{plain:?}");
    assert!(!plain.contains("\u{1b}["), "NO_COLOR: {plain:?}");
}
