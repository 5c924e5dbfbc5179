//! Tidy: the invariants ARCHITECTURE.md states, checked on the source text
//! in the manner of rust-analyzer's tidy tests. Each test reads `src/` (or
//! `tests/`), blanks comments, string contents and `#[cfg(test)]` items,
//! and looks for what must not be there:
//!
//! - `use crate::` only in the allowed directions between top-level modules
//!   (`LAYERS`, a table with no cycles), and `main.rs` uses only `cli`;
//! - no printing (`println!`, `eprintln!`, `print!`, `eprint!`, the stdout and
//!   stderr handles) and no `std::process::exit`/`abort` outside `src/cli/`
//!   and `src/main.rs`, and no `dbg!` anywhere;
//! - no file system, clock or environment access in `src/engine/` and
//!   `src/model/`, and no threads in `src/engine/`;
//! - no `HashMap`/`HashSet` in `src/engine/` and `src/model/`;
//! - no ambient randomness (`thread_rng`, `rand::rng()`, `StdRng`,
//!   `SmallRng`, ...) anywhere, tests and benches included;
//! - `#![forbid(unsafe_code)]` in `lib.rs` and `main.rs`;
//! - the engine never mentions Coder, builds no `ScenarioError` (nor does
//!   the model), and only `store/` reads the wall clock;
//! - the tests are one binary, and only `support.rs` runs `capsim`, sets a
//!   working directory or makes a temporary folder.
//!
//! `KNOWN` lists the violations that exist today. It is a ratchet: a
//! violation not on it fails its test, and so does one on it that is gone
//! (remove the line). Add nothing to it.

use crate::support::repo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// ----- the rules, as data -----------------------------------------------------

/// Each top-level module of `src/` and the top-level modules it may use
/// (`crate::...`, `super::...`, or a re-export of `lib.rs`), lowest first:
/// the engine at the bottom; the scenario (the input); how values are
/// shown (`format`); the results; the model, which turns a scenario into
/// results; the monthly cost of a scenario; the sinks and searches around
/// them; the CLI on top. `main.rs` uses `cli` only. The table has no
/// cycles (checked), so neither can the code.
const LAYERS: &[(&str, &[&str])] = &[
    ("engine", &[]),
    ("shard", &[]),
    ("scenario", &["engine"]),
    ("format", &["engine", "scenario"]),
    ("result", &["engine", "scenario", "format"]),
    ("model", &["engine", "scenario", "result"]),
    ("cost", &["scenario", "format", "result"]),
    (
        "report",
        &["engine", "scenario", "format", "result", "model", "cost"],
    ),
    (
        "store",
        &[
            "engine", "shard", "scenario", "format", "result", "model", "cost", "report",
        ],
    ),
    (
        "sensitivity",
        &["engine", "scenario", "format", "result", "model", "report"],
    ),
    (
        "compare",
        &[
            "engine",
            "shard",
            "scenario",
            "format",
            "result",
            "model",
            "cost",
            "report",
            "sensitivity",
        ],
    ),
    (
        "calibrate",
        &["engine", "scenario", "format", "result", "model", "report"],
    ),
    (
        "prom",
        &[
            "engine",
            "scenario",
            "format",
            "result",
            "model",
            "report",
            "calibrate",
        ],
    ),
    (
        "cli",
        &[
            "engine",
            "shard",
            "scenario",
            "format",
            "result",
            "model",
            "cost",
            "report",
            "store",
            "compare",
            "calibrate",
            "sensitivity",
            "prom",
        ],
    ),
];

/// The violations on main when this test was written, each being removed
/// on another branch of issue 10: `rule: file: what`. A ratchet: the tidy
/// tests fail on a violation that is not listed and on a listed one that
/// is gone. Remove lines as they are fixed; add none.
const KNOWN: &[&str] = &[];

// ----- the checks ---------------------------------------------------------------

#[test]
fn layers_table_is_acyclic_and_names_every_module() {
    let declared = lib_modules();
    let table: BTreeSet<&str> = LAYERS.iter().map(|(m, _)| *m).collect();
    let missing: Vec<&String> = declared
        .iter()
        .filter(|m| !table.contains(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "src/lib.rs declares modules that LAYERS does not place: {missing:?}; add each to LAYERS \
         (tests/it/tidy.rs) with the modules it may use"
    );
    let stale: Vec<&&str> = table.iter().filter(|m| !declared.contains(**m)).collect();
    assert!(
        stale.is_empty(),
        "LAYERS names modules src/lib.rs lacks: {stale:?}"
    );
    // Each module may use only modules placed before it: a topological order, so no cycles.
    for (i, (m, deps)) in LAYERS.iter().enumerate() {
        for d in *deps {
            let j = LAYERS.iter().position(|(x, _)| x == d);
            assert!(
                j.is_some_and(|j| j < i),
                "LAYERS: {m} may use {d}, which is not below it"
            );
        }
    }
}

#[test]
fn modules_use_each_other_only_downwards() {
    let allowed: BTreeMap<&str, BTreeSet<&str>> = LAYERS
        .iter()
        .map(|(m, d)| (*m, d.iter().copied().collect()))
        .collect();
    let modules = lib_modules();
    let reexports = lib_reexports();
    let mut found = Violations::new("layering");
    for f in src_files() {
        let path = module_path(&f.rel);
        let Some(top) = path.first() else { continue };
        let Some(may) = allowed.get(top.as_str()) else {
            continue; // an unplaced module: layers_table_is_acyclic_and_names_every_module
        };
        for (line, target) in crate_references(&f.code, &path) {
            let target = match reexports.get(&target) {
                Some(m) => m.clone(),
                None => target,
            };
            if &target != top && modules.contains(&target) && !may.contains(target.as_str()) {
                found.add(&f.rel, line, format!("{top} uses {target}"));
            }
        }
    }
    // main.rs parses and dispatches: it uses the library's `cli` and nothing else.
    let main = Source::read("src/main.rs");
    for (i, l) in main.code.lines().enumerate() {
        for (pos, _) in l.match_indices("capsim::") {
            for head in path_heads(&l[pos + "capsim::".len()..]) {
                if head != "cli" {
                    found.add(&main.rel, i + 1, format!("main uses {head}"));
                }
            }
        }
    }
    found.check();
}

#[test]
fn only_cli_and_main_print_or_exit() {
    const OUTPUT: &[&str] = &[
        "println!",
        "print!",
        "eprintln!",
        "eprint!",
        "process::exit",
        "process::abort",
        "io::stdout",
        "io::stderr",
    ];
    let mut found = Violations::new("output");
    for f in src_files() {
        if !(f.rel.starts_with("src/cli/") || f.rel == "src/main.rs") {
            found.scan(&f, &f.code, OUTPUT);
        }
        // Debug output is for a developer's terminal, never for a commit.
        found.scan(&f, &f.code, &["dbg!"]);
    }
    found.check();
}

#[test]
fn engine_and_model_do_no_io_and_read_no_clock_or_environment() {
    const IO: &[&str] = &["std::fs", "fs::", "File", "OpenOptions", "std::io"];
    const CLOCK: &[&str] = &["Instant", "SystemTime", "UNIX_EPOCH"];
    const ENV: &[&str] = &["std::env", "env::", "env!", "option_env!"];
    const THREADS: &[&str] = &["std::thread", "thread::", "rayon"];
    let mut io = Violations::new("io");
    let mut clock = Violations::new("clock");
    let mut env = Violations::new("env");
    let mut threads = Violations::new("threads");
    for f in src_files() {
        let engine = f.rel.starts_with("src/engine/");
        if engine || f.rel.starts_with("src/model/") {
            io.scan(&f, &f.code, IO);
            clock.scan(&f, &f.code, CLOCK);
            env.scan(&f, &f.code, ENV);
        }
        // The model runs replications in parallel; the engine never.
        if engine {
            threads.scan(&f, &f.code, THREADS);
        }
    }
    check_all(&[&io, &clock, &env, &threads]);
}

#[test]
fn outputs_and_prometheus_name_metrics_by_the_models_constants() {
    // `src/model/metric_names.rs` owns every metric name; the figure
    // catalogue, the comparisons and the Prometheus mapping refer to its
    // constants, so a renamed metric is one change. (`compare/size/ladder.rs`
    // names `--resources` such as `coderd_replicas`, which are not metrics.)
    let quoted: Vec<String> = capsim::model::metric_names::ALL
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect();
    let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
    let mut found = Violations::new("metric-name");
    for f in src_files() {
        let scoped = f.rel.starts_with("src/report/")
            || f.rel.starts_with("src/prom/")
            || (f.rel.starts_with("src/compare/") && f.rel != "src/compare/size/ladder.rs");
        if !scoped {
            continue;
        }
        // Strings kept, test items blanked: a line blank in `code` is test code.
        let text: String = f
            .code_and_strings
            .lines()
            .zip(f.code.lines())
            .map(|(with, without)| if without.trim().is_empty() { "" } else { with })
            .collect::<Vec<_>>()
            .join("\n");
        found.scan(&f, &text, &quoted);
    }
    found.check();
}

#[test]
fn engine_and_model_use_no_hash_collections() {
    let mut found = Violations::new("hash");
    for f in src_files() {
        if f.rel.starts_with("src/engine/") || f.rel.starts_with("src/model/") {
            found.scan(&f, &f.code, &["HashMap", "HashSet", "hash_map", "hash_set"]);
        }
    }
    found.check();
}

#[test]
fn there_is_no_ambient_randomness() {
    const AMBIENT: &[&str] = &[
        "thread_rng",
        "ThreadRng",
        "rand::rng",
        "rand::random",
        "StdRng",
        "SmallRng",
        "OsRng",
        "from_entropy",
        "from_os_rng",
    ];
    let mut found = Violations::new("randomness");
    // Everywhere, tests and benches included, unit tests too.
    for f in rust_files(&["src", "benches", "tests"]) {
        if f.rel != "tests/it/tidy.rs" {
            found.scan(&f, &f.code_with_tests, AMBIENT);
        }
    }
    found.check();
}

#[test]
fn unsafe_code_is_forbidden() {
    let mut found = Violations::new("unsafe");
    for rel in ["src/lib.rs", "src/main.rs"] {
        let f = Source::read(rel);
        if !f.code.contains("#![forbid(unsafe_code)]") {
            found.add(rel, 1, "no #![forbid(unsafe_code)]".to_string());
        }
    }
    found.check();
}

#[test]
fn the_engine_never_mentions_coder_nor_makes_input_errors() {
    let mut coder = Violations::new("coder");
    let mut input = Violations::new("input");
    for f in src_files() {
        let engine = f.rel.starts_with("src/engine/");
        if engine {
            // Identifiers and strings, not comments ("knows nothing of Coder").
            for (i, l) in f.code_and_strings.lines().enumerate() {
                if l.to_lowercase().contains("coder") {
                    coder.add(&f.rel, i + 1, "mentions coder".to_string());
                }
            }
        }
        // Nothing below `scenario::resolve` checks input: a `Scenario` is valid.
        if engine || f.rel.starts_with("src/model/") {
            input.scan(&f, &f.code, &["ScenarioError"]);
        }
    }
    check_all(&[&coder, &input]);
}

#[test]
fn only_the_store_reads_the_wall_clock() {
    let mut found = Violations::new("wall-clock");
    for f in src_files() {
        if !f.rel.starts_with("src/store/") {
            found.scan(&f, &f.code, &["SystemTime", "UNIX_EPOCH"]);
        }
        // The CLI times what it does (`--timings`, progress); nothing else does.
        if !f.rel.starts_with("src/cli/") {
            found.scan(&f, &f.code, &["Instant"]);
        }
    }
    found.check();
}

#[test]
fn tests_are_one_binary() {
    let mut stray = Vec::new();
    for e in std::fs::read_dir(repo().join("tests")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let binary = p.extension().is_some_and(|x| x == "rs")
            || (p.is_dir() && p.join("main.rs").exists() && name != "it");
        if binary {
            stray.push(name);
        }
    }
    assert!(
        stray.is_empty(),
        "integration tests are modules of tests/it/main.rs, not binaries of their own: {stray:?}"
    );
    // And every file of tests/it/ is a module of it (an undeclared one would never run).
    let main = Source::read("tests/it/main.rs");
    let declared: BTreeSet<String> = main
        .code
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';'))
        .map(|m| format!("{m}.rs"))
        .collect();
    let mut orphans = Vec::new();
    for e in std::fs::read_dir(repo().join("tests/it")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") && name != "main.rs" && !declared.contains(&name) {
            orphans.push(name);
        }
    }
    assert!(
        orphans.is_empty(),
        "tests/it/main.rs does not declare these modules, so their tests never run: {orphans:?}"
    );
}

#[test]
fn only_support_runs_capsim_or_makes_folders() {
    // support::capsim runs the binary in a Scratch folder, so its default
    // reports/ and run store never land in the checkout; support::scratch
    // makes every temporary folder (under target/tmp/).
    const RESERVED: &[&str] = &[
        "CARGO_BIN_EXE_capsim",
        "Command::new",
        "current_dir",
        "tempfile",
        "temp_dir",
        "CARGO_TARGET_TMPDIR",
    ];
    let mut found = Violations::new("tests");
    for f in rust_files(&["tests"]) {
        if f.rel != "tests/it/support.rs" && f.rel != "tests/it/tidy.rs" {
            found.scan(&f, &f.code_with_tests, RESERVED);
        }
    }
    found.check();
}

#[test]
fn the_lexer_blanks_comments_strings_and_test_items() {
    let text = r###"use crate::engine; // crate::cli
/* crate::store /* nested */ crate::store */ let s = "crate::report \" println!";
let r = r#"println!("x")"#; let c = '"'; let q = '\''; let l: &'a str = "";
#[cfg(test)]
mod tests {
    use crate::cli;
    fn f() { let x = "}"; }
}
#[cfg(test)]
const N: usize = 8;
fn g() { println!() }
"###;
    let (code, with_strings, with_tests) = blank(text);
    assert_eq!(code.lines().count(), text.lines().count());
    assert!(code.contains("use crate::engine;"));
    for gone in [
        "crate::cli",
        "crate::store",
        "crate::report",
        "println!(\"x\")",
        "const N",
    ] {
        assert!(!code.contains(gone), "{gone} left in:\n{code}");
    }
    assert!(code.contains("fn g() { println!() }"), "{code}");
    assert!(
        code.contains("&'a str"),
        "lifetimes are not char literals:\n{code}"
    );
    assert!(with_strings.contains("crate::report") && !with_strings.contains("crate::store"));
    assert!(with_tests.contains("use crate::cli;") && !with_tests.contains("crate::report"));
    let refs: Vec<String> = crate_references(
        "use crate::{engine::SimTime, model::{a, b}};\nuse super::super::store::X;\n$crate::cli",
        &["report".to_string(), "plot".to_string()],
    )
    .into_iter()
    .map(|(_, m)| m)
    .collect();
    assert_eq!(refs, ["engine", "model", "store"]);
}

// ----- the source ----------------------------------------------------------------

/// One Rust file: its path relative to the repository (with `/`) and its
/// text with comments and string contents blanked (`code`), with comments
/// blanked only (`code_and_strings`), and with `#[cfg(test)]` items kept
/// (`code_with_tests`). Blanking keeps every line where it was.
struct Source {
    rel: String,
    code: String,
    code_and_strings: String,
    code_with_tests: String,
}

impl Source {
    fn read(rel: &str) -> Source {
        let text =
            std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let (code, code_and_strings, code_with_tests) = blank(&text);
        Source {
            rel: rel.to_string(),
            code,
            code_and_strings,
            code_with_tests,
        }
    }
}

fn rust_files(dirs: &[&str]) -> Vec<Source> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = repo();
    let mut paths = Vec::new();
    for d in dirs {
        walk(&root.join(d), &mut paths);
    }
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap();
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Source::read(&rel.join("/"))
        })
        .collect()
}

fn src_files() -> Vec<Source> {
    rust_files(&["src"])
}

/// The module path of a file of `src/`: `src/model/world/control.rs` is
/// `model::world::control`, `src/model/mod.rs` is `model`, `src/lib.rs` and
/// `src/main.rs` are the crate roots (empty).
fn module_path(rel: &str) -> Vec<String> {
    let inner = rel.strip_prefix("src/").expect("a file of src/");
    if inner == "lib.rs" || inner == "main.rs" {
        return Vec::new();
    }
    let mut parts: Vec<String> = inner.split('/').map(String::from).collect();
    let last = parts.pop().unwrap();
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts
}

/// The top-level modules `src/lib.rs` declares.
fn lib_modules() -> BTreeSet<String> {
    let lib = Source::read("src/lib.rs");
    lib.code
        .lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("pub ").unwrap_or(l.trim());
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(|m| m.trim().to_string())
        })
        .collect()
}

/// Names `src/lib.rs` re-exports (`pub use model::simulate;`) and the
/// module each comes from, so `crate::simulate` counts as using `model`.
fn lib_reexports() -> BTreeMap<String, String> {
    let lib = Source::read("src/lib.rs");
    let mut out = BTreeMap::new();
    for stmt in lib.code.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        for item in items.split([',', '{', '}']) {
            let item = item.trim();
            let name = item
                .rsplit(" as ")
                .next()
                .unwrap()
                .rsplit("::")
                .next()
                .unwrap()
                .trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The first identifier of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
    &s[..end]
}

/// Every top-level name a file at `module` refers to by a path from the
/// crate root: `crate::x`, each branch of `crate::{x::.., y}`, and
/// `super::` chains that climb to the root. With the line of each.
fn crate_references(code: &str, module: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut pos = 0;
    while pos < code.len() {
        let at = &code[pos..];
        let fresh = !code[..pos]
            .chars()
            .next_back()
            .is_some_and(|c| is_ident(c) || c == '$' || c == ':');
        if fresh && let Some(after) = at.strip_prefix("crate::") {
            out.extend(path_heads(after).into_iter().map(|h| (line, h)));
            pos += "crate::".len();
        } else if fresh && at.starts_with("super::") {
            let mut up = 0;
            let mut tail = at;
            while let Some(t) = tail.strip_prefix("super::") {
                up += 1;
                tail = t;
            }
            if up >= module.len() {
                out.extend(path_heads(tail).into_iter().map(|h| (line, h)));
            }
            pos += at.len() - tail.len();
        } else {
            let c = at.chars().next().unwrap();
            if c == '\n' {
                line += 1;
            }
            pos += c.len_utf8();
        }
    }
    out
}

/// The first segment of a path (`x` of `x::y`), or of each branch of a
/// group (`x` and `y` of `{x::{..}, y}`, which may span lines).
fn path_heads(path: &str) -> Vec<String> {
    let Some(group) = path.strip_prefix('{') else {
        let name = ident(path);
        return if name.is_empty() {
            Vec::new()
        } else {
            vec![name.to_string()]
        };
    };
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut start = true;
    for (k, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && depth == 0 && is_ident(c) => {
                heads.push(ident(&group[k..]).to_string());
                start = false;
            }
            c if !c.is_whitespace() => start = false,
            _ => {}
        }
    }
    heads.retain(|h| h != "self");
    heads
}

/// `text` with (1) comments, string and char contents and `#[cfg(test)]`
/// items blanked, (2) comments blanked only, (3) comments and string
/// contents blanked but test items kept. Newlines are kept, so line numbers
/// hold.
fn blank(text: &str) -> (String, String, String) {
    let chars: Vec<char> = text.chars().collect();
    let mut code = chars.clone();
    let mut with_strings = chars.clone();
    let blank_at = |v: &mut Vec<char>, i: usize| {
        if v[i] != '\n' {
            v[i] = ' ';
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank_at(&mut code, i);
                blank_at(&mut with_strings, i);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    for k in i..i + 2 {
                        blank_at(&mut code, k);
                        blank_at(&mut with_strings, k);
                    }
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    for k in i..i + 2 {
                        blank_at(&mut code, k);
                        blank_at(&mut with_strings, k);
                    }
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank_at(&mut code, i);
                    blank_at(&mut with_strings, i);
                    i += 1;
                }
            }
        } else if c == '"'
            || ((c == 'r' || c == 'b')
                && !(i > 0 && is_ident(chars[i - 1]))
                && starts_raw_string(&chars, i))
        {
            // Raw strings: r"..", r#".."#, br#".."#; others end at an unescaped quote.
            let mut j = i;
            if chars[j] == 'b' {
                j += 1;
            }
            let raw = chars[j] == 'r';
            if raw {
                j += 1;
            }
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            j += 1; // the opening quote
            loop {
                if j >= chars.len() {
                    break;
                }
                if !raw && chars[j] == '\\' {
                    blank_at(&mut code, j);
                    if j + 1 < chars.len() {
                        blank_at(&mut code, j + 1);
                    }
                    j += 2;
                    continue;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    break;
                }
                blank_at(&mut code, j);
                j += 1;
            }
            i = j + 1 + hashes;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), or a lifetime or label ('a).
            if next == Some('\\') {
                let mut j = i + 3; // past the escaped character, which may be a quote
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                for k in i + 1..j {
                    blank_at(&mut code, k);
                }
                i = j + 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                blank_at(&mut code, i + 1);
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    let with_tests: String = code.iter().collect();
    // #[cfg(test)] items: a `mod`/`fn`/`impl` to its closing brace, others to their `;`.
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= code.len() {
        if code[i..i + marker.len()] != marker[..] {
            i += 1;
            continue;
        }
        let mut j = i + marker.len();
        while j < code.len() && code[j] != '{' && code[j] != ';' {
            j += 1;
        }
        if j < code.len() && code[j] == '{' {
            let mut depth = 0;
            while j < code.len() {
                match code[j] {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        for k in i..(j + 1).min(code.len()) {
            blank_at(&mut code, k);
        }
        i = j + 1;
    }
    (
        code.iter().collect(),
        with_strings.iter().collect(),
        with_tests,
    )
}

/// Whether a string starts at `i` with a prefix: `b"`, `r"`, `r#"`, `br#"`, ...
fn starts_raw_string(chars: &[char], i: usize) -> bool {
    let mut j = i;
    if chars[j] == 'b' {
        j += 1;
        if chars.get(j) == Some(&'"') {
            return true;
        }
    }
    if chars.get(j) != Some(&'r') {
        return false;
    }
    j += 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

// ----- violations and the ratchet ----------------------------------------------

/// The violations of one rule, `rule: file: what`, with the first line of each.
struct Violations {
    rule: &'static str,
    found: BTreeMap<String, usize>,
}

impl Violations {
    fn new(rule: &'static str) -> Violations {
        Violations {
            rule,
            found: BTreeMap::new(),
        }
    }

    fn add(&mut self, file: &str, line: usize, what: String) {
        self.found
            .entry(format!("{}: {file}: {what}", self.rule))
            .or_insert(line);
    }

    /// Every occurrence in `text` of a pattern that starts at a word
    /// boundary (and ends at one if it ends in a letter). Patterns are tried
    /// in order and a match inside an earlier one's is skipped, so list
    /// `std::fs` before `fs::`.
    fn scan(&mut self, f: &Source, text: &str, patterns: &[&str]) {
        for (i, l) in text.lines().enumerate() {
            let mut taken: Vec<(usize, usize)> = Vec::new();
            for p in patterns {
                for (pos, _) in l.match_indices(p) {
                    let end = pos + p.len();
                    let before = l[..pos].chars().next_back();
                    let after = l[end..].chars().next();
                    let starts = !before.is_some_and(is_ident);
                    let ends = !p.ends_with(is_ident) || !after.is_some_and(is_ident);
                    let inside = taken.iter().any(|&(a, b)| pos < b && a < end);
                    if starts && ends && !inside {
                        taken.push((pos, end));
                        self.add(&f.rel, i + 1, (*p).to_string());
                    }
                }
            }
        }
    }

    /// What is wrong compared with `KNOWN`: new violations, and listed ones that are gone.
    fn problems(&self) -> Vec<String> {
        let prefix = format!("{}: ", self.rule);
        let known: BTreeSet<&str> = KNOWN
            .iter()
            .copied()
            .filter(|k| k.starts_with(&prefix))
            .collect();
        let mut out: Vec<String> = self
            .found
            .iter()
            .filter(|(k, _)| !known.contains(k.as_str()))
            .map(|(k, line)| {
                let (file, what) = k[prefix.len()..].split_once(": ").unwrap();
                format!("{}: {file}:{line}: {what}", self.rule)
            })
            .collect();
        out.extend(
            known
                .iter()
                .filter(|k| !self.found.contains_key(**k))
                .map(|k| format!("fixed, well done: remove {k:?} from KNOWN in tests/it/tidy.rs")),
        );
        out
    }

    /// Fail on any problem of this rule.
    fn check(&self) {
        check_all(&[self]);
    }
}

/// Fail on any problem of these rules, listing them all.
fn check_all(rules: &[&Violations]) {
    let problems: Vec<String> = rules.iter().flat_map(|v| v.problems()).collect();
    assert!(
        problems.is_empty(),
        "the invariants of ARCHITECTURE.md (Invariants) are broken:\n  {}",
        problems.join("\n  ")
    );
}
