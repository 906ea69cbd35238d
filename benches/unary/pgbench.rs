//! pgbench on the same cluster, running the statements each call sends (benches/unary/*.sql,
//! written from the statements the capture prints; `-M prepared`, as sqlx prepares them). In
//! prepared mode pgbench reads `:name` even inside a string literal, so no literal holds a colon.
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    GetRate,
    CheckCoverage,
    EnrolWorker,
}

impl Script {
    pub const ALL: [Script; 3] = [Script::GetRate, Script::CheckCoverage, Script::EnrolWorker];

    pub fn name(self) -> &'static str {
        match self {
            Script::GetRate => "GetRate statements",
            Script::CheckCoverage => "CheckCoverage statements",
            Script::EnrolWorker => "EnrolWorker statements",
        }
    }

    /// The call whose statements it runs.
    pub fn call(self) -> &'static str {
        match self {
            Script::GetRate => "GetRate",
            Script::CheckCoverage => "CheckCoverage",
            Script::EnrolWorker => "EnrolWorker",
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Script::GetRate => include_str!("get_rate.sql"),
            Script::CheckCoverage => include_str!("check_coverage.sql"),
            Script::EnrolWorker => include_str!("enrol_worker.sql"),
        }
    }
}

fn pgbench_binary() -> &'static str {
    ["/usr/lib/postgresql/15/bin/pgbench", "pgbench"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("pgbench")
}

/// The values the scripts read: the bench token's id and an enrolled person's key (hex).
pub struct Variables {
    pub token_id: String,
    pub person_key_hex: String,
}

/// Transactions per second of `script` at `clients` for `run_for`.
pub async fn run(
    url: &str,
    script: Script,
    clients: usize,
    run_for: Duration,
    variables: &Variables,
) -> f64 {
    let file = std::env::temp_dir().join(format!(
        "flexcover-unary-{}-{}.sql",
        script.call(),
        std::process::id()
    ));
    std::fs::write(&file, script.sql()).expect("write the pgbench script");
    let output = tokio::process::Command::new(pgbench_binary())
        .args(["-n", "-M", "prepared", "-c", &clients.to_string()])
        .args(["-j", &clients.min(2).to_string()])
        .args(["-T", &run_for.as_secs().max(1).to_string()])
        .args(["-D", &format!("token_id={}", variables.token_id)])
        .args(["-D", &format!("person_key={}", variables.person_key_hex)])
        .arg("-f")
        .arg(&file)
        .arg(url)
        .output()
        .await
        .expect("run pgbench");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench {}: {}\n{stdout}",
        script.name(),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .expect("pgbench printed tps")
}
