//! Hostile bytes in the test suite: 20,000 generated inputs per target (the bench runs a million:
//! `cargo bench --bench hostile_bytes`). No panic, every refusal a caller's error with a reason.
use crate::hostile_targets::{run, targets};

#[test]
fn no_decoder_or_validator_panics_on_hostile_input() {
    let mut findings = Vec::new();
    for (n, target) in targets().iter().enumerate() {
        let report = run(target, 20_000, 0x5eed + n as u64);
        if !report.panics.is_empty() || !report.wrong.is_empty() {
            findings.push(format!(
                "{}: {} panics {:?}, {} wrong refusals {:?}",
                target.name,
                report.panics.len(),
                report.panics,
                report.wrong.len(),
                report.wrong
            ));
        }
        assert!(report.refused > 0, "{}: nothing was refused", target.name);
    }
    assert!(findings.is_empty(), "{findings:#?}");
}
