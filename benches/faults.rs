//! The fault suite (issue #15, point 6): the real `flexcover serve` binary under load while its
//! processes are killed, its database restarted, its callers give up or crowd it.
//!
//! - `cargo test --bench faults -- --short`: the CI form (dev build, a few faults, ~3 minutes);
//! - `cargo bench --bench faults`: the long form (release build, 20+ faults, 10–20 minutes).
//!
//! Each scenario prints one row: acknowledged writes lost, duplicates and INTERNAL answers (all
//! must be 0), other failures by code, seconds until health is SERVING again. The suite exits 1
//! when a property that must hold does not. `--only N` runs scenario N alone.
#[path = "support.rs"]
mod support;

#[path = "faults/crashes.rs"]
mod crashes;
#[path = "faults/failover.rs"]
mod failover;
#[path = "faults/patroni.rs"]
mod patroni;
#[path = "faults/processes.rs"]
mod processes;
#[path = "faults/report.rs"]
mod report;
#[path = "faults/storms.rs"]
mod storms;
#[path = "faults/writers.rs"]
mod writers;

use report::Row;

/// Writers enrolling during the crash scenarios.
pub const WRITERS: u64 = 8;

#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub short: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = Mode {
        short: args.iter().any(|arg| arg == "--short"),
    };
    let only: Option<usize> = support::arg("--only").and_then(|n| n.parse().ok());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = std::time::Instant::now();
    let rows = runtime.block_on(run(mode, only));
    println!(
        "\nfault suite ({} form), {:.0} s\n{}",
        if mode.short { "short" } else { "long" },
        started.elapsed().as_secs_f64(),
        Row::header()
    );
    for row in &rows {
        println!("{}", row.markdown());
    }
    let violations: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            row.violations
                .iter()
                .map(move |v| format!("{}: {v}", row.scenario))
        })
        .collect();
    if !violations.is_empty() {
        eprintln!("\nFAILED:");
        for violation in &violations {
            eprintln!("  {violation}");
        }
        std::process::exit(1);
    }
}

async fn run(mode: Mode, only: Option<usize>) -> Vec<Row> {
    let mut rows = Vec::new();
    for scenario in 1..=6 {
        if only.is_some_and(|only| only != scenario) {
            continue;
        }
        // The failover drill needs Patroni, etcd and HAProxy and a minute or two: long form or
        // `--only 6`.
        if scenario == 6 && mode.short && only.is_none() {
            continue;
        }
        eprintln!("== scenario {scenario}");
        let row = match scenario {
            1 => crashes::kill_serve(mode).await,
            2 => crashes::kill_postmaster(mode).await,
            3 => crashes::restart_external(mode).await,
            4 => storms::cancellation_storm(mode).await,
            5 => storms::overload(mode).await,
            _ => failover::patroni_failover(mode).await,
        };
        // Printed at once too, so a long run shows its progress.
        eprintln!("{}", row.markdown());
        rows.push(row);
    }
    rows
}
