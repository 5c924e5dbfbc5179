//! How the CLI talks to people: colours (`--color auto|always|never`, and
//! `NO_COLOR` / `CLICOLOR_FORCE` as in cargo), `-q` (no progress, no
//! per-scenario lines), and the styled `error:`, `warning:` and `note:`
//! prefixes on stderr.
//!
//! Styled text is written with `anstyle` escapes and printed through
//! `anstream`, which removes them when colours are off: with `--color
//! never`, with `NO_COLOR` set (unless `--color always`), and when the
//! stream is not a terminal (unless `--color always` or `CLICOLOR_FORCE`).

use anstyle::{AnsiColor, Style};
use std::sync::atomic::{AtomicBool, Ordering};

/// When to colour output.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// When the stream is a terminal and `NO_COLOR` is not set.
    Auto,
    Always,
    Never,
}

static QUIET: AtomicBool = AtomicBool::new(false);

/// Apply `--color` and `-q` for the rest of the process.
pub fn setup(color: ColorWhen, quiet: bool) {
    let choice = match color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
    QUIET.store(quiet, Ordering::Relaxed);
}

/// `-q` was given: no progress and no informational lines on stderr.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

fn prefix(color: AnsiColor, word: &str) -> String {
    let s = Style::new().fg_color(Some(color.into())).bold();
    format!("{s}{word}:{s:#}")
}

/// `error: MESSAGE` on stderr (always shown).
pub fn error(msg: impl std::fmt::Display) {
    anstream::eprintln!("{} {msg}", prefix(AnsiColor::Red, "error"));
}

/// `warning: MESSAGE` on stderr (always shown).
pub fn warning(msg: impl std::fmt::Display) {
    anstream::eprintln!("{} {msg}", prefix(AnsiColor::Yellow, "warning"));
}

/// `note: MESSAGE` on stderr, unless `-q`.
pub fn note(msg: impl std::fmt::Display) {
    if !quiet() {
        anstream::eprintln!("{} {msg}", prefix(AnsiColor::Cyan, "note"));
    }
}

/// An informational line on stderr (a finished scenario, a file written),
/// unless `-q`.
pub fn info(line: impl std::fmt::Display) {
    if !quiet() {
        anstream::eprintln!("{line}");
    }
}

/// Text with `anstyle` escapes on stdout (escapes removed when colours
/// are off).
pub fn out(text: &str) {
    anstream::print!("{text}");
}
