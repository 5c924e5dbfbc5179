//! The README's promises: its two set-up commands are the ones that work
//! (CI runs exactly its test command, then checks the tests left the
//! checkout clean), and it lists every metric a run produces.

use crate::support::{repo, scenario_files};

pub const RUN_EXAMPLE: &str = "cargo run --release -- run scenarios/build-queue/working-day.toml";
const RUN_TESTS: &str = "cargo test --release --all-targets";

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn readme_gives_the_two_set_up_commands_and_ci_runs_the_test_one() {
    let readme = read("README.md");
    for cmd in [RUN_EXAMPLE, RUN_TESTS] {
        assert!(
            readme.contains(&format!("```sh\n{cmd}\n```")),
            "README lacks the command block `{cmd}`"
        );
    }
    // The example it runs exists and is valid.
    let example = RUN_EXAMPLE.rsplit(' ').next().unwrap();
    capsim::scenario::load(&repo().join(example)).unwrap_or_else(|e| panic!("{e}"));

    // CI runs the README's test command and no other cargo command...
    let ci = read(".ci/run");
    let cargo: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.split_whitespace().any(|w| w == "cargo"))
        .collect();
    assert_eq!(
        cargo,
        vec![RUN_TESTS],
        ".ci/run must run exactly the README's test command"
    );
    assert!(
        ci.contains("set -euo pipefail"),
        ".ci/run must fail when the command fails"
    );
    // ...then checks that the tests left the checkout as they found it,
    // ignored files (the default run store in reports/) included.
    assert!(
        ci.contains("git status --porcelain --ignored"),
        ".ci/run must look at the checkout, ignored files included"
    );
    let (before, after) = ci.split_once(RUN_TESTS).unwrap();
    assert!(
        before.contains("checkout_state") && after.contains("checkout_state"),
        ".ci/run must compare the checkout after the tests with before"
    );
    assert!(
        readme.contains("left the checkout as they found it"),
        "README must say what CI checks besides the tests"
    );
}

#[test]
fn readme_lists_every_metric_with_its_unit() {
    let readme = read("README.md");
    let mut metrics = Vec::new();
    for f in scenario_files() {
        let s = capsim::scenario::load(&f).unwrap_or_else(|e| panic!("{e}"));
        if !s.is_abstract {
            metrics.extend(capsim::simulate(&s, s.seed).metrics);
        }
    }
    assert!(!metrics.is_empty());
    let mut missing = Vec::new();
    for m in &metrics {
        // A row of the metrics table: | `name` | stats | unit | ...
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", m.name)));
        match row {
            None => missing.push(format!("{} (no row)", m.name)),
            Some(row) => {
                if !row.contains(&format!("`{}`", m.stat)) {
                    missing.push(format!("{} stat {}", m.name, m.stat));
                }
                if !row.split('|').nth(3).is_some_and(|u| u.contains(&m.unit)) {
                    missing.push(format!("{} unit {}", m.name, m.unit));
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "README metrics table lacks: {missing:?}"
    );
}

/// The committed completion scripts and man pages are what the CLI
/// definition generates today (`CAPSIM_BLESS=1` rewrites them).
#[test]
fn completions_and_man_pages_are_current() {
    use capsim::cli::docs::{Shell, completion_script, man_pages};
    let bless = std::env::var("CAPSIM_BLESS").is_ok_and(|v| v == "1");
    let mut want: Vec<(std::path::PathBuf, Vec<u8>)> = Shell::ALL
        .iter()
        .map(|s| {
            (
                repo().join("assets/completions").join(s.file_name()),
                completion_script(*s),
            )
        })
        .collect();
    let man_dir = repo().join("assets/man");
    for (file, page) in man_pages().unwrap() {
        want.push((man_dir.join(file), page));
    }
    let mut stale = Vec::new();
    for (path, bytes) in &want {
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        } else if std::fs::read(path).ok().as_ref() != Some(bytes) {
            stale.push(path.display().to_string());
        }
    }
    // No page of a command that is gone.
    for dir in ["assets/completions", "assets/man"] {
        let Ok(entries) = std::fs::read_dir(repo().join(dir)) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if !want.iter().any(|(w, _)| *w == p) {
                stale.push(format!("{} (no longer generated)", p.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are out of date: {stale:?}\n\
         regenerate with: CAPSIM_BLESS=1 cargo test --release --test it docs::"
    );
    // The scripts complete the commands.
    let bash = String::from_utf8(completion_script(Shell::Bash)).unwrap();
    for cmd in [
        "run",
        "batch",
        "runs",
        "compare",
        "size",
        "calibrate",
        "completions",
    ] {
        assert!(bash.contains(cmd), "{cmd}");
    }
    let man = String::from_utf8(man_pages().unwrap()[0].1.clone()).unwrap();
    assert!(
        man.contains(".TH capsim 1") && man.contains("capsim\\-run(1)"),
        "{man}"
    );
}
