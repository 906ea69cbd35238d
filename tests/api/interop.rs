//! Other gRPC clients: a Python grpcio backend streams 100,000 enrolments and 100,000 orders,
//! reading results as they come. (h2 used to close such connections with GOAWAY
//! ENHANCE_YOUR_CALM "too_many_data_frames": grpcio sends a small DATA frame per message.)
//!
//! Needs python3 with venv and pip; it installs grpcio, grpcio-tools and googleapis-common-protos
//! from PyPI into a venv under the target directory, and skips, saying why, where that is
//! impossible.
use crate::helpers::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const ITEMS: &str = "100000";

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|error| format!("{command:?}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// A venv with grpcio and grpcio-tools, and Python stubs generated from proto/.
fn python_client() -> Result<(PathBuf, PathBuf), String> {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = root.join("interop-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let installed = Command::new(&python)
        .args(["-c", "import grpc, grpc_tools, google.rpc.status_pb2"])
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "grpcio>=1.60,<2",
            "grpcio-tools>=1.60,<2",
            "googleapis-common-protos>=1.60,<2",
        ]))?;
    }
    let stubs = root.join("interop-stubs");
    std::fs::create_dir_all(&stubs).map_err(|error| error.to_string())?;
    // As README.md says: everything under proto/, with google/rpc's imports resolved from
    // third_party/ but not generated (googleapis-common-protos provides google.rpc at run time).
    let protos: Vec<PathBuf> = std::fs::read_dir("proto/flexcover/v1")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    // Stubs of an earlier layout would still shadow googleapis-common-protos.
    let _ = std::fs::remove_dir_all(stubs.join("google"));
    run(Command::new(&python)
        .args([
            "-m",
            "grpc_tools.protoc",
            "-Iproto",
            "-Ithird_party/googleapis",
        ])
        .arg(format!("--python_out={}", stubs.display()))
        .arg(format!("--grpc_python_out={}", stubs.display()))
        .args(&protos))?;
    Ok((python, stubs))
}

#[tokio::test]
async fn a_python_grpcio_client_streams_100_000_enrolments_and_orders() {
    let (python, stubs) = match tokio::task::spawn_blocking(python_client)
        .await
        .expect("join")
    {
        Ok(client) => client,
        Err(why) => {
            eprintln!("SKIPPED: no Python grpcio client could be set up here: {why}");
            return;
        }
    };
    let app = spawn_app().await;
    app.seed_pilot().await;
    flexcover::seed::seed_rates(&app.pool, test_now())
        .await
        .expect("rates");
    let token = app.token("platform:meituan").await;
    let output = tokio::task::spawn_blocking({
        let address = app.addr.to_string();
        let now = test_now().timestamp().to_string();
        move || {
            Command::new(python)
                .arg("tests/interop/grpcio_streams.py")
                .arg(stubs)
                .args([address.as_str(), token.as_str(), ITEMS, now.as_str()])
                .output()
        }
    })
    .await
    .expect("join")
    .expect("run the Python client");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("BatchEnrolWorkers: 100000 results (0 refused)"),
        "{said}"
    );
    assert!(said.contains("RecordOrders: 100000 results"), "{said}");
    assert_eq!(app.count("enrolments").await, 100_000);
    app.stop().await;
}
