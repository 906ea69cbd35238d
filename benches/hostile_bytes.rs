//! `cargo bench --bench hostile_bytes [-- --inputs N]`: N generated hostile inputs (default
//! 1,000,000) per decoder and validator; prints a table and fails on any panic or wrong refusal.
#[path = "../tests/api/hostile_targets.rs"]
mod hostile_targets;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let inputs = args
        .iter()
        .position(|arg| arg == "--inputs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000u64);
    println!("| target | inputs | accepted | refused | panics | wrong refusals | seconds |");
    println!("|---|---|---|---|---|---|---|");
    let mut failed = false;
    for (n, target) in hostile_targets::targets().iter().enumerate() {
        let started = std::time::Instant::now();
        let report = hostile_targets::run(target, inputs, 0xbe_e5 + n as u64);
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.1} |",
            target.name,
            report.inputs,
            report.accepted,
            report.refused,
            report.panics.len(),
            report.wrong.len(),
            started.elapsed().as_secs_f64()
        );
        if !report.panics.is_empty() || !report.wrong.is_empty() {
            eprintln!("{}: {:?} {:?}", target.name, report.panics, report.wrong);
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
