//! Bad scenario files: `capsim validate` and `capsim run` exit with code 2
//! and say where (file:line:col), which field (its dotted path) and what
//! was expected; nothing is printed on stdout. Also: `extends` resolves,
//! and every command has `--help`.

use crate::support::{
    Scratch, capsim_in, model_path, scenario, scratch, stderr, stdout, toml_str, write,
};
use clap::CommandFactory;
use std::path::Path;

/// A valid scenario. Line numbers matter: the cases below point at them.
fn good() -> String {
    format!(
        "model = {}
duration = \"1h\"
warmup = \"5m\"

[deployment.provisioners]
count = 2

[[workload.templates]]
name = \"t\"
build_time = {{ dist = \"exponential\", mean = \"60s\" }}
builds = {{ rate = \"10/h\" }}
",
        toml_str(&model_path())
    )
}

/// `good()` with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    let g = good();
    assert!(g.contains(from), "{from:?} not in the good scenario");
    g.replacen(from, to, 1)
}

/// Run `validate` and `run` on `file` in `dir`: both must exit 2, print
/// nothing on stdout, and mention every one of `expect` on stderr.
fn rejects(dir: &Scratch, file: &str, expect: &[&str]) {
    for cmd in [
        vec!["validate", file],
        vec!["run", file, "--format", "json"],
    ] {
        let o = capsim_in(dir, &cmd);
        let err = stderr(&o);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{cmd:?}: exit code; stderr:\n{err}"
        );
        assert_eq!(stdout(&o), "", "{cmd:?}: stdout must stay empty");
        for e in expect {
            assert!(err.contains(e), "{cmd:?}: stderr lacks {e:?}:\n{err}");
        }
    }
}

/// One bad file in its own directory.
fn case(name: &str, text: &str, expect: &[&str]) {
    let dir = scratch(&format!("scenario_errors/{name}"));
    let file = format!("{name}.toml");
    write(&dir, &file, text);
    rejects(&dir, &file, expect);
}

#[test]
fn the_good_scenario_is_good() {
    let dir = scratch("scenario_errors/good");
    write(&dir, "good.toml", &good());
    let o = capsim_in(&dir, &["validate", "good.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("ok: good.toml"));
}

#[test]
fn unknown_field() {
    case(
        "typo",
        &edit("count = 2", "cuont = 2"),
        &[
            "typo.toml:6:1",
            "deployment.provisioners.cuont",
            "unknown field `cuont`",
            "expected one of `count`",
        ],
    );
    case(
        "top-typo",
        &edit("warmup = \"5m\"", "warmpu = \"5m\""),
        &["top-typo.toml:3:1", "warmpu", "unknown field", "`warmup`"],
    );
}

#[test]
fn wrong_type() {
    case(
        "wrong-type",
        &edit("count = 2", "count = \"two\""),
        &[
            "wrong-type.toml:6:1",
            "deployment.provisioners.count",
            "invalid type: string \"two\", expected an integer",
        ],
    );
    case(
        "float-count",
        &edit("count = 2", "count = 2.5"),
        &[
            "float-count.toml:6:1",
            "deployment.provisioners.count",
            "expected an integer",
        ],
    );
    case(
        "bool-duration",
        &edit("duration = \"1h\"", "duration = true"),
        &[
            "bool-duration.toml:2:1",
            "duration",
            "expected a number or a string with a unit",
        ],
    );
    case(
        "dist-as-string",
        &edit(
            "build_time = { dist = \"exponential\", mean = \"60s\" }",
            "build_time = \"60s\"",
        ),
        &[
            "dist-as-string.toml:10:1",
            "workload.templates[0].build_time",
            "expected a distribution as an inline table",
        ],
    );
}

#[test]
fn bad_units() {
    case(
        "parsecs",
        &edit("duration = \"1h\"", "duration = \"5 parsecs\""),
        &[
            "parsecs.toml:2:1",
            "duration",
            "expected a duration such as",
            "unknown unit \"parsecs\"",
        ],
    );
    case(
        "bad-rate",
        &edit("rate = \"10/h\"", "rate = \"10 per hour\""),
        &[
            "bad-rate.toml:11:",
            "workload.templates[0].builds.rate",
            "expected a rate such as",
        ],
    );
    case(
        "bad-size",
        &edit("count = 2", "count = 2\nram = \"2 gigs\""),
        &[
            "bad-size.toml:7:1",
            "deployment.provisioners.ram",
            "expected a size such as",
        ],
    );
    case(
        "bad-time-of-day",
        &edit("warmup = \"5m\"", "warmup = \"5m\"\nstart_time = \"9am\""),
        &[
            "bad-time-of-day.toml:4:1",
            "start_time",
            "expected a time of day",
        ],
    );
}

#[test]
fn counts_that_make_no_sense() {
    case(
        "negative-count",
        &edit("count = 2", "count = -1"),
        &[
            "negative-count.toml:6:1",
            "deployment.provisioners.count",
            "expected an integer >= 0, found -1",
        ],
    );
    case(
        "negative-replicas",
        &format!("{}\n[deployment.coderd]\nreplicas = -2\n", good()),
        &[
            "negative-replicas.toml:14:1",
            "deployment.coderd.replicas",
            "expected an integer >= 0",
        ],
    );
    // Zero daemons is allowed in general (built-in ones may build), but not
    // when a template then has no daemon that can build it.
    case(
        "no-daemons",
        &edit("count = 2", "count = 0"),
        &[
            "no-daemons.toml:8:1",
            "workload.templates[0]",
            "no provisioner daemon can build template \"t\"",
        ],
    );
    case(
        "zero-vcpu",
        &edit("count = 2", "count = 2\nvcpu = 0"),
        &[
            "zero-vcpu.toml:7:1",
            "deployment.provisioners.vcpu",
            "expected a number > 0",
        ],
    );
    case(
        "zero-duration",
        &edit("duration = \"1h\"", "duration = \"0s\""),
        &[
            "zero-duration.toml:2:1",
            "duration",
            "must be greater than zero",
        ],
    );
    case(
        "zero-bucket",
        &edit("warmup = \"5m\"", "warmup = \"5m\"\nbucket = 0"),
        &[
            "zero-bucket.toml:4:1",
            "bucket",
            "must be greater than zero",
        ],
    );
    case(
        "negative-rate",
        &edit("rate = \"10/h\"", "rate = \"-10/h\""),
        &["workload.templates[0].builds.rate", "must not be negative"],
    );
    case(
        "probability",
        &edit("builds = {", "failure_probability = 1.5\nbuilds = {"),
        &[
            "probability.toml:11:1",
            "workload.templates[0].failure_probability",
            "expected a probability in [0, 1], found 1.5",
        ],
    );
}

#[test]
fn distributions() {
    case(
        "p95-below-median",
        &edit(
            "{ dist = \"exponential\", mean = \"60s\" }",
            "{ dist = \"lognormal\", median = \"90s\", p95 = \"30s\" }",
        ),
        &[
            "p95-below-median.toml:10:1",
            "workload.templates[0].build_time",
            "p95 (30) must be greater than the median (90)",
        ],
    );
    case(
        "zero-mean",
        &edit("mean = \"60s\"", "mean = \"0s\""),
        &["workload.templates[0].build_time", "mean must be > 0"],
    );
    case(
        "unknown-dist",
        &edit("\"exponential\"", "\"weibull\""),
        &[
            "unknown-dist.toml:10:16",
            "workload.templates[0].build_time.dist",
            "unknown distribution \"weibull\"; expected one of constant, exponential, lognormal",
        ],
    );
    case(
        "wrong-parameter",
        &edit("mean = \"60s\"", "median = \"60s\""),
        &[
            "workload.templates[0].build_time.median",
            "not a parameter of a exponential distribution (expected mean)",
        ],
    );
    case(
        "missing-parameter",
        &edit(
            "{ dist = \"exponential\", mean = \"60s\" }",
            "{ dist = \"lognormal\", median = \"60s\" }",
        ),
        &[
            "workload.templates[0].build_time.p95",
            "missing required field",
        ],
    );
    case(
        "uniform-reversed",
        &edit(
            "{ dist = \"exponential\", mean = \"60s\" }",
            "{ dist = \"uniform\", min = \"5m\", max = \"1m\" }",
        ),
        &["workload.templates[0].build_time", "must not exceed max"],
    );
    case(
        "empty-empirical",
        &edit(
            "{ dist = \"exponential\", mean = \"60s\" }",
            "{ dist = \"empirical\", values = [] }",
        ),
        &["workload.templates[0].build_time", "at least one value"],
    );
}

#[test]
fn arrivals_and_slos() {
    case(
        "unsorted-profile",
        &edit(
            "{ rate = \"10/h\" }",
            "{ profile = [[\"09:00\", \"5/h\"], [\"08:00\", \"3/h\"]] }",
        ),
        &[
            "unsorted-profile.toml:11:",
            "workload.templates[0].builds.profile",
            "strictly increasing",
        ],
    );
    case(
        "profile-point",
        &edit("{ rate = \"10/h\" }", "{ profile = [[\"09:00\"]] }"),
        &[
            "profile-point.toml:11:",
            "workload.templates[0].builds.profile[0]",
            "expected a [time of day, rate] pair",
        ],
    );
    case(
        "rate-and-profile",
        &edit(
            "{ rate = \"10/h\" }",
            "{ rate = \"10/h\", profile = [[\"09:00\", \"5/h\"]] }",
        ),
        &["workload.templates[0].builds", "either `rate` or `profile`"],
    );
    case(
        "slo-both-bounds",
        &format!(
            "{}\n[[slo]]\nmetric = \"build_queue_wait_seconds\"\nstat = \"p95\"\nmax = \"2m\"\nmin = \"1m\"\n",
            good()
        ),
        &[
            "slo-both-bounds.toml:13:1",
            "slo[0]",
            "exactly one of `max` or `min`",
        ],
    );
}

#[test]
fn warmup_longer_than_the_run() {
    case(
        "long-warmup",
        &edit("warmup = \"5m\"", "warmup = \"2h\""),
        &[
            "long-warmup.toml:3:1",
            "warmup",
            "must be shorter than the run",
        ],
    );
}

#[test]
fn missing_model_file() {
    case(
        "no-model-file",
        &edit(&toml_str(&model_path()), "\"nope/coder.toml\""),
        &[
            "no-model-file.toml:1:1",
            "model",
            "cannot read model file",
            "nope/coder.toml",
        ],
    );
    case(
        "no-model-key",
        &good().lines().skip(1).collect::<Vec<_>>().join("\n"),
        &["no-model-key.toml:1:1", "model", "missing required field"],
    );
}

#[test]
fn toml_syntax_error() {
    case(
        "syntax",
        &edit("count = 2", "count = = 2"),
        &["syntax.toml:6:9", "expected"],
    );
    case(
        "unclosed-string",
        &edit("name = \"t\"", "name = \"t"),
        &["unclosed-string.toml:9:"],
    );
}

#[test]
fn extends_errors() {
    case(
        "ext-missing",
        "extends = \"missing.toml\"\nname = \"x\"\n",
        &[
            "ext-missing.toml:1:1",
            "extends",
            "cannot read base scenario",
            "missing.toml",
        ],
    );
    case(
        "ext-not-a-string",
        "\nextends = 3\n",
        &[
            "ext-not-a-string.toml:2:1",
            "extends",
            "expected a path string",
        ],
    );

    let dir = scratch("scenario_errors/loop");
    write(&dir, "loop-a.toml", "extends = \"loop-b.toml\"\n");
    write(&dir, "loop-b.toml", "# b\nextends = \"loop-a.toml\"\n");
    rejects(
        &dir,
        "loop-a.toml",
        &[
            "loop-b.toml:2:1",
            "extends",
            "extends chain loops: loop-a.toml -> loop-b.toml -> loop-a.toml",
        ],
    );
    write(&dir, "self.toml", "extends = \"self.toml\"\n");
    rejects(&dir, "self.toml", &["self.toml:1:1", "extends chain loops"]);
}

#[test]
fn an_error_in_a_base_is_reported_in_the_base() {
    let dir = scratch("scenario_errors/in-base");
    write(&dir, "bad-base.toml", &edit("count = 2", "count = \"x\""));
    write(
        &dir,
        "child.toml",
        "extends = \"bad-base.toml\"\nname = \"child\"\n[deployment.provisioners]\nvcpu = 2\n",
    );
    rejects(
        &dir,
        "child.toml",
        &[
            "bad-base.toml:6:1",
            "deployment.provisioners.count",
            "expected an integer",
        ],
    );
    // A child that replaces the base's templates is blamed for what its own
    // templates lack, not the base that had it.
    write(&dir, "base.toml", &good());
    write(
        &dir,
        "new-templates.toml",
        "extends = \"base.toml\"\n\n[[workload.templates]]\nname = \"u\"\nbuilds = { rate = \"1/h\" }\n",
    );
    rejects(
        &dir,
        "new-templates.toml",
        &[
            "new-templates.toml:3:1",
            "workload.templates[0].build_time",
            "missing required field",
        ],
    );
}

#[test]
fn several_files_report_every_error_and_run_nothing() {
    let dir = scratch("scenario_errors/several");
    write(&dir, "good.toml", &good());
    write(&dir, "bad1.toml", &edit("count = 2", "count = -1"));
    write(
        &dir,
        "bad2.toml",
        &edit("duration = \"1h\"", "duration = \"1 fortnight\""),
    );
    for cmd in [
        vec!["validate", "good.toml", "bad1.toml", "bad2.toml"],
        vec!["run", "good.toml", "bad1.toml", "bad2.toml"],
    ] {
        let o = capsim_in(&dir, &cmd);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stdout(&o), "", "{cmd:?}: nothing runs when any file is bad");
        let err = stderr(&o);
        assert!(
            err.contains("bad1.toml:6:1") && err.contains("bad2.toml:2:1"),
            "{err}"
        );
    }
}

#[test]
fn extends_makes_a_five_line_what_if() {
    let dir = scratch("scenario_errors/extends");
    let base = format!(
        "abstract = true\nseed = 31\n{}\n[deployment.coderd]\nreplicas = 2\nbuiltin_provisioners = 1\n\n\
         [[slo]]\nmetric = \"build_queue_wait_seconds\"\nstat = \"p95\"\nmax = \"2m\"\n",
        good()
    );
    write(&dir, "base.toml", &base);
    let what_if = write(
        &dir,
        "what-if.toml",
        "# What if we ran 12 external provisioners?\nextends = \"base.toml\"\nname = \"what-if\"\n\
         [deployment.provisioners]\ncount = 12\n",
    );
    let s = capsim::scenario::load(&what_if).unwrap();
    assert_eq!(s.name, "what-if");
    assert!(!s.is_abstract, "`abstract` is not inherited");
    assert_eq!(
        s.deployment.provisioner_groups[0].n_daemons, 12,
        "overridden"
    );
    // Everything else comes from the base.
    assert_eq!(s.seed, 31);
    assert_eq!(s.duration, capsim::engine::SimTime::HOUR);
    assert_eq!(s.warmup, capsim::engine::SimTime::from_secs(300));
    assert_eq!(s.deployment.coderd.n_replicas, 2);
    assert_eq!(s.deployment.coderd.builtin_provisioners_per_replica, 1);
    assert_eq!(s.workload.templates.len(), 1);
    assert_eq!(s.workload.templates[0].name, "t");
    assert_eq!(s.slos.len(), 1);
    assert_eq!(s.model.path, model_path());

    // Running it equals running the same scenario written out in full.
    let full = write(
        &dir,
        "full.toml",
        &base
            .replace("abstract = true\n", "name = \"what-if\"\n")
            .replace("count = 2", "count = 12"),
    );
    let run = |p: &Path| {
        let o = capsim_in(&dir, &["run", p.to_str().unwrap(), "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mut v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v[0]["scenario_sha256"] = serde_json::Value::Null;
        v
    };
    assert_eq!(run(&what_if), run(&full));
}

#[test]
fn every_command_has_help_and_there_is_a_version() {
    let dir = scratch("scenario_errors/help");
    let o = capsim_in(&dir, &["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Usage"));
    let names: Vec<String> = capsim::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(names.contains(&"run".to_string()) && names.contains(&"validate".to_string()));
    for name in &names {
        let o = capsim_in(&dir, &[name, "--help"]);
        assert_eq!(o.status.code(), Some(0), "capsim {name} --help");
        let out = stdout(&o);
        assert!(
            out.contains("Usage: capsim"),
            "capsim {name} --help:\n{out}"
        );
        let o = capsim_in(&dir, &["help", name]);
        assert_eq!(o.status.code(), Some(0), "capsim help {name}");
    }
    let o = capsim_in(&dir, &["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o).trim(),
        format!("capsim {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn exit_codes_for_usage_errors_and_other_failures() {
    let dir = scratch("scenario_errors/exit-codes");
    let mmc = scenario("build-queue/mmc.toml");
    let mmc = mmc.to_str().unwrap();
    // Usage errors are bad input: 2.
    for args in [
        vec!["run"],
        vec!["frobnicate"],
        vec!["run", mmc, "--replications", "0"],
        vec!["run", mmc, "--format", "xml"],
    ] {
        let o = capsim_in(&dir, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    // A scenario path that does not exist is bad input too.
    let o = capsim_in(&dir, &["validate", "scenarios/nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("scenarios/nope.toml"), "{}", stderr(&o));
    // Failing to write the report is another failure: 1.
    let blocker = write(&dir, "a-file", "not a directory");
    let o = capsim_in(
        &dir,
        &["run", mmc, "--out", blocker.join("sub").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn bad_sizing_policy() {
    let with = |body: &str| format!("{}\n[sizing]\n{body}\n", good());
    // good() has 11 lines; [sizing] is line 13, its first key line 14.
    case(
        "sizing-typo",
        &with("min_replicas = 3"),
        &[
            "sizing-typo.toml:14:1",
            "sizing.min_replicas",
            "unknown field",
            "`min_coderd_replicas`",
        ],
    );
    case(
        "sizing-ratio",
        &with("max_coderd_cpu = 80"),
        &[
            "sizing-ratio.toml:14:1",
            "sizing.max_coderd_cpu",
            "expected a CPU ratio in (0, 1], found 80",
        ],
    );
    case(
        "sizing-order",
        &with("min_coderd_replicas = 4\nmax_coderd_replicas = 2"),
        &[
            "sizing-order.toml:15:1",
            "sizing.max_coderd_replicas",
            "at least min_coderd_replicas (4), found 2",
        ],
    );
    case(
        "sizing-ram",
        &with("min_database_ram = \"lots\""),
        &["sizing-ram.toml:14:1", "sizing.min_database_ram"],
    );
}
