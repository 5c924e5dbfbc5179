//! Progress of a long command (`batch`, `size`, `calibrate`, and any
//! later search such as a sensitivity analysis): a bar on a terminal, a
//! plain line every few seconds when stderr is not a terminal (a CI log, a
//! file, `2>&1 | tee`), nothing with `-q`.
//!
//! A command makes one [`Progress`], counts finished work with
//! [`Progress::inc`] (simulations, replications), may say what it is doing
//! with [`Progress::set_message`], prints its own lines through
//! [`Progress::println`] (so they do not tear the bar) and ends with
//! [`Progress::finish`]. A line reads
//!
//! ```text
//! size: 1 min 05 s, 46 simulations; 1,000 users
//! batch: 12 s, 34 of 200 replications (17%), about 58 s left
//! ```
//!
//! Lines come every [`DEFAULT_INTERVAL_S`] seconds, or every
//! `CAPSIM_PROGRESS_INTERVAL` seconds (a number; `0` prints a line for every
//! unit of work, which is what the tests use).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Seconds between progress lines when stderr is not a terminal.
pub const DEFAULT_INTERVAL_S: f64 = 5.0;

struct State {
    what: String,
    unit: String,
    start: Instant,
    done: AtomicU64,
    /// 0: unknown.
    total: AtomicU64,
    message: Mutex<String>,
    /// When the last line was printed, and whether the ticker should stop.
    last: Mutex<(Instant, bool)>,
    wake: Condvar,
}

impl State {
    fn line(&self) -> String {
        self.line_at(self.done.load(Ordering::Relaxed))
    }

    /// The line when `done` units are done.
    fn line_at(&self, done: u64) -> String {
        let elapsed = self.start.elapsed().as_secs_f64();
        let total = self.total.load(Ordering::Relaxed);
        let mut line = format!("{}: {}, ", self.what, duration_words(elapsed));
        if total > 0 {
            line += &format!(
                "{} of {} {} ({:.0}%)",
                crate::format::thousands(done),
                crate::format::thousands(total),
                self.unit,
                100.0 * done as f64 / total as f64
            );
            if done > 0 && done < total {
                let left = elapsed / done as f64 * (total - done) as f64;
                line += &format!(", about {} left", duration_words(left));
            }
        } else {
            line += &format!("{} {}", crate::format::thousands(done), self.unit);
        }
        let msg = self.message.lock().unwrap_or_else(|e| e.into_inner());
        if !msg.is_empty() {
            line += &format!("; {msg}");
        }
        line
    }

    /// `done` units are done: print a line if `interval` has passed since
    /// the last one.
    fn maybe_print(&self, done: u64, interval: Duration) {
        self.done.fetch_max(done, Ordering::Relaxed);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.0.elapsed() >= interval {
            last.0 = Instant::now();
            eprintln!("{}", self.line_at(done));
        }
    }
}

/// `45 s`, `1 min 05 s`, `1 h 02 min`.
fn duration_words(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, s / 60 % 60)
    }
}

enum Mode {
    Hidden,
    Bar(indicatif::ProgressBar),
    Lines {
        state: Arc<State>,
        interval: Duration,
        ticker: Option<std::thread::JoinHandle<()>>,
    },
}

/// The progress of one command (see the module documentation).
pub struct Progress {
    mode: Mode,
    what: String,
    unit: String,
    message: Mutex<String>,
    done: AtomicU64,
}

fn interval() -> Duration {
    let s = std::env::var("CAPSIM_PROGRESS_INTERVAL")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite() && *x >= 0.0)
        .unwrap_or(DEFAULT_INTERVAL_S);
    Duration::from_secs_f64(s)
}

impl Progress {
    /// Progress of `what` (`batch`, `size`), counting `unit`s
    /// (`replications`, `simulations`) out of `total` (0: unknown).
    pub fn new(what: &str, unit: &str, total: u64) -> Progress {
        let mode = if super::ui::quiet() {
            Mode::Hidden
        } else if std::io::stderr().is_terminal() {
            let pb = if total > 0 {
                indicatif::ProgressBar::new(total).with_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed}, {eta} left)",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                )
            } else {
                indicatif::ProgressBar::new_spinner().with_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                        .expect("valid template"),
                )
            };
            pb.set_message(if total > 0 {
                what.to_string()
            } else {
                format!("{what}: 0 {unit}")
            });
            pb.enable_steady_tick(Duration::from_millis(200));
            Mode::Bar(pb)
        } else {
            let state = Arc::new(State {
                what: what.to_string(),
                unit: unit.to_string(),
                start: Instant::now(),
                done: AtomicU64::new(0),
                total: AtomicU64::new(total),
                message: Mutex::new(String::new()),
                last: Mutex::new((Instant::now(), false)),
                wake: Condvar::new(),
            });
            let interval = interval();
            // A ticker prints a line every interval even while no work
            // finishes (one long simulation), and stops at `finish`.
            let ticker = (!interval.is_zero()).then(|| {
                let st = Arc::clone(&state);
                std::thread::spawn(move || {
                    let mut guard = st.last.lock().unwrap_or_else(|e| e.into_inner());
                    loop {
                        let wait = interval.saturating_sub(guard.0.elapsed());
                        let (g, _) = st
                            .wake
                            .wait_timeout(guard, wait.max(Duration::from_millis(10)))
                            .unwrap_or_else(|e| e.into_inner());
                        guard = g;
                        if guard.1 {
                            return;
                        }
                        if guard.0.elapsed() >= interval {
                            guard.0 = Instant::now();
                            eprintln!("{}", st.line());
                        }
                    }
                })
            });
            Mode::Lines {
                state,
                interval,
                ticker,
            }
        };
        Progress {
            mode,
            what: what.to_string(),
            unit: unit.to_string(),
            message: Mutex::new(String::new()),
            done: AtomicU64::new(0),
        }
    }

    /// Progress that shows nothing (a library call's caller that reports
    /// no progress).
    pub fn hidden() -> Progress {
        Progress {
            mode: Mode::Hidden,
            what: String::new(),
            unit: String::new(),
            message: Mutex::new(String::new()),
            done: AtomicU64::new(0),
        }
    }

    /// `n` more units done.
    pub fn inc(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match &self.mode {
            Mode::Hidden => {}
            Mode::Bar(pb) => {
                pb.inc(n);
                self.bar_message(pb);
            }
            Mode::Lines {
                state, interval, ..
            } => state.maybe_print(done, *interval),
        }
    }

    fn bar_message(&self, pb: &indicatif::ProgressBar) {
        let msg = self.message.lock().unwrap_or_else(|e| e.into_inner());
        let mut m = self.what.clone();
        if pb.length().is_none() {
            m += &format!(": {} {}", self.done(), self.unit);
        }
        if !msg.is_empty() {
            m += &format!("; {msg}");
        }
        pb.set_message(m);
    }

    /// Units done so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// The total is now `n` units.
    pub fn set_total(&self, n: u64) {
        match &self.mode {
            Mode::Hidden => {}
            Mode::Bar(pb) => pb.set_length(n),
            Mode::Lines { state, .. } => state.total.store(n, Ordering::Relaxed),
        }
    }

    /// What the command is doing now (`1,000 users`, `leave-one-out`).
    pub fn set_message(&self, msg: &str) {
        *self.message.lock().unwrap_or_else(|e| e.into_inner()) = msg.to_string();
        match &self.mode {
            Mode::Hidden => {}
            Mode::Bar(pb) => self.bar_message(pb),
            Mode::Lines { state, .. } => {
                *state.message.lock().unwrap_or_else(|e| e.into_inner()) = msg.to_string();
            }
        }
    }

    /// Print a line of the command's own (unless `-q`) without tearing
    /// the bar.
    pub fn println(&self, line: &str) {
        if super::ui::quiet() {
            return;
        }
        match &self.mode {
            Mode::Bar(pb) => pb.suspend(|| anstream::eprintln!("{line}")),
            _ => anstream::eprintln!("{line}"),
        }
    }

    /// Remove the bar, stop the lines.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        match &mut self.mode {
            Mode::Hidden => {}
            Mode::Bar(pb) => pb.finish_and_clear(),
            Mode::Lines { state, ticker, .. } => {
                state.last.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
                state.wake.notify_all();
                if let Some(t) = ticker.take() {
                    let _ = t.join();
                }
            }
        }
        self.mode = Mode::Hidden;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_words() {
        assert_eq!(duration_words(4.6), "5 s");
        assert_eq!(duration_words(65.0), "1 min 05 s");
        assert_eq!(duration_words(3720.0), "1 h 02 min");
    }

    #[test]
    fn a_line_says_what_how_far_and_how_long_is_left() {
        let st = State {
            what: "batch".into(),
            unit: "replications".into(),
            start: Instant::now(),
            done: AtomicU64::new(50),
            total: AtomicU64::new(200),
            message: Mutex::new(String::new()),
            last: Mutex::new((Instant::now(), false)),
            wake: Condvar::new(),
        };
        let l = st.line();
        assert!(
            l.starts_with("batch: 0 s, 50 of 200 replications (25%), about"),
            "{l}"
        );
        st.total.store(0, Ordering::Relaxed);
        *st.message.lock().unwrap() = "1,000 users".into();
        assert_eq!(st.line(), "batch: 0 s, 50 replications; 1,000 users");
    }
}
