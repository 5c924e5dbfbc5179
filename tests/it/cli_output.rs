//! What the binary shows people and writes for scripts: the default `run`
//! output (verdict first, in units, one screen), `-q`, colours, progress
//! lines when stderr is not a terminal, the self-describing CSV files
//! against the store, and reports that draw no plot without data.

use crate::support::*;
use capsim::format::fmt_pair;
use capsim::report::text::{slo_unit, slo_words};
use std::path::Path;

/// The scenario of the README's first command (`docs::RUN_EXAMPLE`).
fn readme_example() -> std::path::PathBuf {
    repo().join(crate::docs::RUN_EXAMPLE.rsplit(' ').next().unwrap())
}

/// The summary `run --format json` prints for `path` (one replication).
fn json_summary(tmp: &Scratch, path: &Path, extra: &[&str]) -> (capsim::Summary, String) {
    let out = ok(capsim(tmp)
        .args(["run", "--format", "json", "--no-store", "--no-report"])
        .args(extra)
        .arg(path));
    let text = stdout(&out);
    let mut all: Vec<capsim::Summary> = serde_json::from_str(&text).unwrap();
    (all.remove(0), text)
}

#[test]
fn default_run_output_fits_a_screen_and_gives_every_slo_verdict_in_units() {
    let tmp = scratch("cli/default-run");
    let example = readme_example();
    let out = ok(capsim(&tmp).arg("run").arg(&example));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() <= 40,
        "{} lines on stdout:\n{text}",
        lines.len()
    );
    assert!(!text.contains('\x1b'), "no colours when not a terminal");
    let sc = load(&example);
    let (summary, _) = json_summary(&tmp, &example, &[]);
    assert!(!sc.slos.is_empty());
    // The verdict comes first, then one line per SLO with its value and
    // target in the same unit.
    assert!(
        lines[0].starts_with(&format!("{}: ", sc.name)) && lines[0].contains("FAIL"),
        "{}",
        lines[0]
    );
    for (def, v) in sc.slos.iter().zip(&summary.slo) {
        let unit = slo_unit(def, &summary.metrics);
        let (value, target) = fmt_pair(v.value, v.target, &unit);
        assert!(value.ends_with(" min"), "{value}");
        let want = format!("{}  {value}, target ≤ {target}", slo_words(def));
        let line = lines
            .iter()
            .find(|l| l.contains(&want))
            .unwrap_or_else(|| panic!("no line `{want}` in\n{text}"));
        assert!(line.trim_start().starts_with(v.status.word()));
    }
    // No raw seconds, no zero rows of metrics the run does not have.
    assert!(
        !text.contains("154.6650") && !text.contains("value "),
        "{text}"
    );
    assert!(!text.contains("connections_opened_total"), "{text}");

    // --verbose (or --all) adds the full table after the same verdict.
    let all = stdout(&ok(capsim(&tmp)
        .args(["run", "--all", "--no-store", "--no-report"])
        .arg(&example)));
    assert!(all.starts_with(lines[0]), "{all}");
    assert!(all.contains("connections_opened_total{kind=ssh} total"));
    assert!(all.lines().count() > 100);
}

#[test]
fn quiet_and_colours_as_in_cargo() {
    let tmp = scratch("cli/quiet-colour");
    let example = scenario("build-queue/mmc.toml");
    let run = |args: &[&str], env: Option<(&str, &str)>| {
        let mut c = capsim(&tmp);
        c.args(["run", "--no-store", "--no-report"])
            .args(args)
            .arg(&example);
        c.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        ok(&mut c)
    };
    // Not a terminal: plain text; --color always: ANSI styles; never and
    // NO_COLOR: none.
    assert!(!stdout(&run(&[], None)).contains('\x1b'));
    let always = stdout(&run(&["--color", "always"], None));
    assert!(always.contains("\x1b["), "{always:?}");
    assert!(!stdout(&run(&["--color", "never"], None)).contains('\x1b'));
    assert!(!stdout(&run(&[], Some(("NO_COLOR", "1")))).contains('\x1b'));
    // The text is the same once the styles are gone.
    let plain = stdout(&run(&[], None));
    let mut stripped = String::new();
    let mut chars = always.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            stripped.push(c);
        }
    }
    assert_eq!(stripped, plain);
    // -q: stdout unchanged, nothing on stderr but problems.
    let q = run(&["-q"], None);
    assert_eq!(stdout(&q), plain);
    assert_eq!(stderr(&q), "");
    assert!(!stderr(&run(&[], None)).is_empty());
    // An error is still shown with -q, and coloured only when asked.
    let o = capsim_in(&tmp, &["-q", "validate", "missing.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
}

#[test]
fn long_commands_print_progress_lines_when_stderr_is_not_a_terminal() {
    let tmp = scratch("cli/progress");
    let dir = tmp.path().join("s");
    std::fs::create_dir(&dir).unwrap();
    let model = model_path();
    let spec = QueueSpec {
        name: "queue",
        model: &model,
        c: 2,
        lambda_per_s: 0.01,
        build_time: "{ dist = \"exponential\", mean = \"60s\" }",
        duration_s: 7200.0,
        warmup_s: 0.0,
        bucket_s: 600.0,
        seed: 1,
    };
    write(&dir, "queue.toml", &spec.toml());
    let mut c = capsim(&tmp);
    // Interval 0: a line for every replication (the default is 5 s).
    c.env("CAPSIM_PROGRESS_INTERVAL", "0")
        .args(["batch", "--replications", "3", "--no-store", "--no-report"])
        .arg(&dir);
    let err = stderr(&ok(&mut c));
    let progress: Vec<&str> = err.lines().filter(|l| l.starts_with("batch: ")).collect();
    for k in 1..=3 {
        let want = format!("{k} of 3 replications");
        assert!(
            progress.iter().any(|l| l.contains(&want)),
            "no `{want}` in\n{err}"
        );
    }
    let mut c = capsim(&tmp);
    c.env("CAPSIM_PROGRESS_INTERVAL", "0")
        .args([
            "-q",
            "batch",
            "--replications",
            "3",
            "--no-store",
            "--no-report",
        ])
        .arg(&dir);
    assert_eq!(stderr(&ok(&mut c)), "", "-q silences progress");
}

#[test]
fn csv_files_describe_the_run_and_match_the_store() {
    let tmp = scratch("cli/csv");
    let example = readme_example();
    let prices = repo().join("models/prices/gcp-us-central1.toml");
    ok(capsim(&tmp)
        .args(["run", "--replications", "2", "--prices"])
        .arg(&prices)
        .arg(&example));
    let db = tmp.path().join("reports/capsim.db");
    let list: serde_json::Value = serde_json::from_str(&stdout(&ok(capsim(&tmp)
        .args(["runs", "list", "--format", "json", "--db"])
        .arg(&db))))
    .unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    let sc = load(&example);
    let dir = tmp.path().join("reports").join(&sc.name).join(&id);
    let con = rusqlite::Connection::open(&db).unwrap();

    for (file, before, after) in [
        ("summary.csv", "stat", "value"),
        ("timeseries.csv", "stat", "value"),
    ] {
        let (h, rows) = read_csv(&dir.join(file));
        let col = |n: &str| h.iter().position(|x| x == n).unwrap();
        assert!(!rows.is_empty(), "{file}");
        for r in &rows {
            assert_eq!(r[col("run_id")], id, "{file}");
            assert_eq!(r[col("scenario")], sc.name);
            assert_eq!(r[col("seed")], sc.seed.to_string());
            assert_eq!(r[col("replications")], "2");
        }
        // One column per label key, holding plain strings.
        let labels = &h[col(before) + 1..col(after)];
        for key in ["class", "kind", "replica"] {
            assert!(labels.iter().any(|k| k == key), "{file}: {h:?}");
        }
        for r in &rows {
            for cell in &r[col(before) + 1..col(after)] {
                assert!(
                    !cell.contains(['{', '}', '"', '=', ':']),
                    "{file}: label cell {cell:?}"
                );
            }
        }
        if file == "timeseries.csv" {
            let stored: i64 = con
                .query_row(
                    "SELECT count(*) FROM timeseries WHERE run_id = ?1",
                    [&id],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(rows.len() as i64, stored);
            for r in &rows {
                let t: f64 = r[col("bucket_start_s")].parse().unwrap();
                let (day, tod) = capsim::format::day_and_time(t);
                assert_eq!(
                    (r[col("day")].clone(), r[col("time_of_day")].clone()),
                    (day.to_string(), tod)
                );
            }
        } else {
            let stored: i64 = con
                .query_row(
                    "SELECT count(*) FROM summaries WHERE run_id = ?1",
                    [&id],
                    |r| r.get(0),
                )
                .unwrap();
            let cost_rows: Vec<&Vec<String>> = rows
                .iter()
                .filter(|r| r[col("metric")] == "monthly_cost")
                .collect();
            assert_eq!(rows.len() - cost_rows.len(), stored as usize);
            // The monthly cost: the total, one row per component, in the
            // store too.
            let total: f64 = con
                .query_row("SELECT total FROM costs WHERE run_id = ?1", [&id], |r| {
                    r.get(0)
                })
                .unwrap();
            let whole = cost_rows
                .iter()
                .find(|r| r[col("stat")] == "total" && r[col("component")].is_empty())
                .unwrap();
            assert_eq!(whole[col("value")].parse::<f64>().unwrap(), total);
            assert_eq!(whole[col("unit")], "USD/month");
            let parts: f64 = cost_rows
                .iter()
                .filter(|r| !r[col("component")].is_empty())
                .map(|r| r[col("value")].parse::<f64>().unwrap())
                .sum();
            assert!((parts - total).abs() < 1e-6 * total, "{parts} vs {total}");
            assert!(
                cost_rows
                    .iter()
                    .any(|r| r[col("component")] == "provisioners")
            );
        }
    }
    // summary.json carries the cost as well; `runs show --format json` prints it.
    let json = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["monthly_cost"]["total"].as_f64().unwrap() > 0.0);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&ok(capsim(&tmp)
        .args(["runs", "show", &id[..12], "--format", "json", "--db"])
        .arg(&db))))
    .unwrap();
    assert_eq!(shown[0], v, "the store keeps what summary.json says");
    // `runs delete` takes a unique prefix, as the README says.
    ok(capsim(&tmp)
        .args(["runs", "delete", &id[..12], "--db"])
        .arg(&db));
    let left: i64 = con
        .query_row("SELECT count(*) FROM costs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn a_build_queue_only_run_writes_no_plot_without_data() {
    let tmp = scratch("cli/no-empty-plots");
    // Without coderd: only the build queue has data.
    let only = write(
        tmp.path(),
        "queue-only.toml",
        &format!(
            "extends = {}\nname = \"queue-only\"\n[deployment.coderd]\nreplicas = 0\n",
            toml_str(&scenario("build-queue/working-day.toml"))
        ),
    );
    // With coderd but no users: no connection, no drop, no latency of users.
    let example = readme_example();
    let out = tmp.path().join("out");
    ok(capsim(&tmp)
        .args(["run", "--no-store", "--out"])
        .arg(&out)
        .arg(&only)
        .arg(&example));
    let pngs = |name: &str| -> Vec<String> {
        files(&out.join(name))
            .into_iter()
            .map(|p| p.display().to_string())
            .filter(|p| p.ends_with(".png"))
            .collect()
    };
    assert_eq!(pngs("queue-only"), ["build-queue.png"]);
    let wd = pngs("build-queue-working-day");
    assert!(!wd.contains(&"connections.png".to_string()), "{wd:?}");
    let md = std::fs::read_to_string(out.join("queue-only/report.md")).unwrap();
    assert!(!md.contains("api.png") && !md.contains("connections.png"));
}
