//! Progress for long CLI runs: a redrawn bar with rate and ETA on a terminal, plain lines otherwise.
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    started: Instant,
    last_drawn: Option<Instant>,
    interactive: bool,
    every: Duration,
}

impl Progress {
    pub fn new() -> Self {
        let interactive = std::io::stderr().is_terminal();
        Self {
            started: Instant::now(),
            last_drawn: None,
            interactive,
            every: if interactive {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(2)
            },
        }
    }

    /// Redraws if enough time has passed. `fraction` is the share of the input consumed.
    pub fn update(&mut self, rows: u64, rejected: u64, fraction: f64) {
        let now = Instant::now();
        if self.last_drawn.is_some_and(|last| now - last < self.every) {
            return;
        }
        self.last_drawn = Some(now);
        self.draw(rows, rejected, fraction);
    }

    pub fn finish(&mut self, rows: u64, rejected: u64) {
        self.draw(rows, rejected, 1.0);
        if self.interactive {
            eprintln!();
        }
    }

    fn draw(&self, rows: u64, rejected: u64, fraction: f64) {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = rows as f64 / elapsed;
        let fraction = fraction.clamp(0.0, 1.0);
        let eta = if fraction > 0.0 {
            elapsed * (1.0 - fraction) / fraction
        } else {
            0.0
        };
        let summary = format!(
            "{rows} rows ({rejected} rejected) {rate:.0} rows/s, {:.0}% done, ETA {}",
            fraction * 100.0,
            format_duration(eta)
        );
        let mut stderr = std::io::stderr().lock();
        if self.interactive {
            const WIDTH: usize = 30;
            let filled = (fraction * WIDTH as f64).round() as usize;
            let bar = format!("{}{}", "#".repeat(filled), "-".repeat(WIDTH - filled));
            let _ = write!(stderr, "\r[{bar}] {summary}\x1b[K");
        } else {
            let _ = writeln!(stderr, "progress: {summary}");
        }
        let _ = stderr.flush();
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

fn format_duration(seconds: f64) -> String {
    let seconds = seconds.round() as u64;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_naturally() {
        assert_eq!(super::format_duration(5.4), "5s");
        assert_eq!(super::format_duration(125.0), "2m05s");
        assert_eq!(super::format_duration(7300.0), "2h01m");
    }
}
