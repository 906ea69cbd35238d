//! What every scenario counts, and its one result row.
use std::sync::Mutex;
use std::time::Duration;
use tonic::Code;

/// Answers by gRPC code. A server-sent INTERNAL is kept apart from an INTERNAL that tonic's client
/// made up for a broken connection (a status with a transport `source`): only the first is the
/// server's fault, the second is an ambiguous failure like UNAVAILABLE.
#[derive(Default)]
pub struct Tally {
    codes: Mutex<std::collections::BTreeMap<String, u64>>,
    internal: Mutex<Vec<String>>,
}

/// How one failed call should be treated by a writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The write may or may not have happened: retry with the same request_id.
    Ambiguous,
    /// The server said no and meant it.
    Definite,
}

impl Tally {
    /// Records a failed call and says whether it may be retried.
    pub fn failed(&self, status: &tonic::Status) -> Failure {
        let transport = std::error::Error::source(status).is_some();
        let name = match (status.code(), transport) {
            (Code::Internal, false) => {
                let mut internal = self.internal.lock().expect("tally");
                internal.push(status.message().to_owned());
                "INTERNAL".to_owned()
            }
            (code, true) => format!("client-side {code:?}"),
            (code, false) => format!("{code:?}"),
        };
        let mut codes = self.codes.lock().expect("tally");
        let seen = codes.entry(name).or_default();
        if *seen == 0 {
            // The first of each kind, so a surprising code can be understood from the output.
            eprintln!("  first {:?}: {}", status.code(), status.message());
        }
        *seen += 1;
        drop(codes);
        match status.code() {
            _ if transport => Failure::Ambiguous,
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Unknown
            | Code::ResourceExhausted
            | Code::Internal => Failure::Ambiguous,
            _ => Failure::Definite,
        }
    }

    /// Server-sent INTERNAL answers.
    pub fn internal(&self) -> u64 {
        self.internal.lock().expect("tally").len() as u64
    }

    pub fn internal_messages(&self) -> Vec<String> {
        self.internal.lock().expect("tally").clone()
    }

    pub fn count(&self, name: &str) -> u64 {
        self.codes
            .lock()
            .expect("tally")
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// Every failed call.
    pub fn total(&self) -> u64 {
        self.codes.lock().expect("tally").values().sum()
    }

    /// Every code but INTERNAL, as `CODE×n, …`.
    pub fn others(&self) -> String {
        let codes = self.codes.lock().expect("tally");
        let listed: Vec<String> = codes
            .iter()
            .filter(|(name, _)| name.as_str() != "INTERNAL")
            .map(|(name, n)| format!("{name}×{n}"))
            .collect();
        if listed.is_empty() {
            "none".to_owned()
        } else {
            listed.join(", ")
        }
    }
}

/// One scenario's result. `None` where a figure does not apply to the scenario.
#[derive(Default)]
pub struct Row {
    pub scenario: String,
    /// Acknowledged writes that were verified afterwards.
    pub acknowledged: Option<u64>,
    pub lost: Option<u64>,
    pub duplicates: Option<u64>,
    pub internal: u64,
    pub others: String,
    /// One figure per fault injected.
    pub seconds_to_serving: Vec<f64>,
    /// Anything else worth reading: shed rate, latencies, normal callers' failures.
    pub notes: String,
    /// Properties that must hold, with what was seen when they did not.
    pub violations: Vec<String>,
}

impl Row {
    pub fn header() -> &'static str {
        concat!(
            "| scenario | acknowledged | lost | duplicates | INTERNAL | other codes ",
            "| seconds to SERVING (max / mean) | notes |\n|---|---|---|---|---|---|---|---|"
        )
    }

    pub fn markdown(&self) -> String {
        let figure = |value: Option<u64>| value.map_or("—".to_owned(), |v| v.to_string());
        let serving = if self.seconds_to_serving.is_empty() {
            "—".to_owned()
        } else {
            let max = self.seconds_to_serving.iter().copied().fold(0.0, f64::max);
            let mean =
                self.seconds_to_serving.iter().sum::<f64>() / self.seconds_to_serving.len() as f64;
            format!(
                "{max:.2} / {mean:.2} ({} faults)",
                self.seconds_to_serving.len()
            )
        };
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            self.scenario,
            figure(self.acknowledged),
            figure(self.lost),
            figure(self.duplicates),
            self.internal,
            self.others,
            serving,
            self.notes
        )
    }

    /// Records the "must be 0" properties that do not hold.
    pub fn require_zero(&mut self, what: &str, value: u64) {
        if value != 0 {
            self.violations.push(format!("{what}: {value}, must be 0"));
        }
    }

    /// Checks the properties every scenario shares: no lost write, no duplicate, no INTERNAL.
    pub fn check_common(&mut self, tally: &Tally) {
        self.require_zero("acknowledged writes lost", self.lost.unwrap_or(0));
        self.require_zero("duplicates", self.duplicates.unwrap_or(0));
        self.require_zero("INTERNAL answers", self.internal);
        let messages = tally.internal_messages();
        if !messages.is_empty() {
            let first: Vec<_> = messages.iter().take(3).collect();
            self.violations
                .push(format!("first INTERNAL messages: {first:?}"));
        }
    }
}

pub fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
