//! `compare --uncertainty N` and `size --uncertainty N`: with zero-width
//! ranges they give the plain results exactly; wider ranges give wider
//! intervals; size over both parts never recommends less than on noise
//! alone (and more where the model's part matters); the outputs do not
//! depend on --jobs.

use crate::support::{capsim, extend, ok, repo, scratch, toml_str, write};
use capsim::compare::size::{self, SizeOptions, SizeResult};
use capsim::compare::uncertainty::{CompareStudy, ConfidenceOver, compare_study};
use capsim::compare::{self, Arch, Estimate, slo_value};
use capsim::cost::PriceList;
use std::path::{Path, PathBuf};

/// The parameter whose range the tests keep: the coderd CPU of a
/// dashboard request, which decides the dashboard API p95 below.
const DASHBOARD: &str = "coderd_cpu_ms_dashboard_request";

/// `models/coder.toml` with every range collapsed to its value, except
/// `keep`, whose range is scaled by `scale` around its value (1 = as
/// shipped); written as `dir/model.toml`.
fn model(dir: &Path, keep: &[&str], scale: f64) -> PathBuf {
    let src = std::fs::read_to_string(repo().join("models/coder.toml")).unwrap();
    let mut doc: toml::Table = src.parse().unwrap();
    let params = doc["params"].as_table_mut().unwrap();
    for (name, p) in params.iter_mut() {
        let p = p.as_table_mut().unwrap();
        let Some(range) = p.get("range").and_then(|r| r.as_array()).cloned() else {
            continue;
        };
        let f = |x: &toml::Value| x.as_float().or(x.as_integer().map(|i| i as f64)).unwrap();
        let v = f(&p["value"]);
        let (lo, hi) = if keep.contains(&name.as_str()) {
            (
                v - scale * (v - f(&range[0])),
                v + scale * (f(&range[1]) - v),
            )
        } else {
            (v, v)
        };
        p.insert(
            "range".into(),
            toml::Value::Array(vec![lo.into(), hi.into()]),
        );
    }
    write(dir, "model.toml", &toml::to_string(&doc).unwrap())
}

/// 200 users with dashboards open on one coderd replica of `vcpu` vCPU,
/// 20 minutes, an SLO on the dashboard API p95 of 60 ms.
fn steady(dir: &Path, name: &str, model: &Path, vcpu: u32) -> PathBuf {
    extend(
        dir,
        name,
        "steady-dashboards.toml",
        &format!(
            "model = {}\nname = \"{name}\"\nseed = 5\nduration = \"20m\"\n\
             [deployment.coderd]\nvcpu = {vcpu}\n\
             [workload.users]\ncount = 200\n\
             [[slo]]\nname = \"API p95 under 60 ms\"\nmetric = \"api_latency_seconds\"\nstat = \"p95\"\n\
             labels = {{ class = \"dashboard\" }}\nmax = \"60ms\"\n",
            toml_str(model)
        ),
    )
}

fn archs(dir: &Path, model: &Path) -> Vec<Arch> {
    [2, 4]
        .iter()
        .map(|&v| {
            let s = capsim::scenario::load(&steady(dir, &format!("v{v}"), model, v)).unwrap();
            Arch {
                name: s.name.clone(),
                scenario: s,
                prices: None,
            }
        })
        .collect()
}

fn study(dir: &Path, model: &Path, sets: usize) -> (compare::Comparison, CompareStudy) {
    let c = compare::compare(archs(dir, model), 5, 3);
    let u = compare_study(&c, sets).unwrap();
    (c, u)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

/// Every range of zero width: every set is the plain comparison (same
/// seeds), so each architecture's mean, SLO bound and verdict are the
/// plain ones, the model's part is 0, and the difference's combined
/// interval is the plain paired interval.
#[test]
fn compare_with_zero_width_ranges_gives_the_plain_comparison() {
    let dir = scratch("uncertainty/compare-zero");
    let m = model(&dir, &[], 0.0);
    let (c, u) = study(&dir, &m, 3);
    assert!(u.parameters.is_empty(), "{:?}", u.parameters);
    assert_eq!(u.parameter_sets, 3);
    for (a, ua) in c.archs.iter().zip(&u.architectures) {
        assert_eq!(ua.statistics.len(), a.slos.len());
        for (s, us) in a.slos.iter().zip(&ua.statistics) {
            let d = &us.decomposition;
            assert!(close(d.mean.unwrap(), s.mean.unwrap()), "{us:?} {s:?}");
            assert_eq!(d.model_var, Some(0.0), "{us:?}");
            assert!(
                close(us.bound95.unwrap(), s.bound95.unwrap()),
                "{us:?} {s:?}"
            );
            assert_eq!(us.holds, Some(s.confident));
            assert_eq!(us.sets_meeting, Some(if s.pass { 3 } else { 0 }));
        }
    }
    let slo = &c.archs[0].scenario.slos[0];
    let per = |a: &compare::ArchResult| -> Vec<Option<f64>> {
        a.runs
            .iter()
            .map(|r| slo_value(slo, r).map(|x| x.0))
            .collect()
    };
    let paired = Estimate::paired(&per(&c.archs[0]), &per(&c.archs[1]));
    let d = &u.differences[0].decomposition;
    assert!(
        close(d.mean.unwrap(), paired.mean.unwrap()),
        "{d:?} {paired:?}"
    );
    assert!(
        close(d.combined_low.unwrap(), paired.ci_low.unwrap()),
        "{d:?} {paired:?}"
    );
    assert!(
        close(d.combined_high.unwrap(), paired.ci_high.unwrap()),
        "{d:?} {paired:?}"
    );
    assert_eq!(d.model_var, Some(0.0));
}

/// The dashboard CPU's range as shipped against a tenth of it: each
/// architecture's combined interval and model part are wider, and so are
/// those of their difference; 4 vCPU beats 2 in every set.
#[test]
fn compare_with_wider_ranges_gives_wider_intervals() {
    let (wide_dir, narrow_dir) = (
        scratch("uncertainty/compare-wide"),
        scratch("uncertainty/compare-narrow"),
    );
    let (_, w) = study(&wide_dir, &model(&wide_dir, &[DASHBOARD], 1.0), 4);
    let (_, n) = study(&narrow_dir, &model(&narrow_dir, &[DASHBOARD], 0.1), 4);
    assert_eq!(w.parameters, [DASHBOARD]);
    for (aw, an) in w.architectures.iter().zip(&n.architectures) {
        let (dw, dn) = (
            &aw.statistics[0].decomposition,
            &an.statistics[0].decomposition,
        );
        assert!(dw.combined_width() > dn.combined_width(), "{dw:?} {dn:?}");
        assert!(dw.model_var > dn.model_var, "{dw:?} {dn:?}");
    }
    let (dw, dn) = (&w.differences[0], &n.differences[0]);
    assert!(
        dw.decomposition.combined_width() > dn.decomposition.combined_width(),
        "{dw:?} {dn:?}"
    );
    assert_eq!((dw.better_in, dw.sets), (4, 4), "{dw:?}");
}

/// The command: the plain comparison first, unchanged, then the study;
/// uncertainty.csv, compare.md and compare.json carry it; --jobs changes
/// nothing.
#[test]
fn compare_command_prints_the_plain_comparison_then_the_study_whatever_the_jobs() {
    let dir = scratch("uncertainty/compare-cli");
    let m = model(&dir, &[DASHBOARD], 1.0);
    let (a, b) = (steady(&dir, "a", &m, 2), steady(&dir, "b", &m, 4));
    let run = |out: &str, extra: &[&str]| {
        let o = ok(capsim(&dir)
            .args(["compare", a.to_str().unwrap(), b.to_str().unwrap()])
            .args(["--replications", "2", "-q", "--out", out])
            .args(extra));
        String::from_utf8(o.stdout).unwrap()
    };
    let plain = run("plain", &[]);
    let one = run("one", &["--uncertainty", "3", "--jobs", "1"]);
    let two = run("two", &["--uncertainty", "3", "--jobs", "2"]);
    assert!(one.starts_with(&plain), "{one}");
    assert!(
        one[plain.len()..].contains("Model uncertainty: 3 parameter sets"),
        "{one}"
    );
    assert!(one.contains("better in 3 of 3 sets"), "{one}");
    assert_eq!(one, two);
    let read = |d: &str, f: &str| std::fs::read_to_string(dir.path().join(d).join(f)).unwrap();
    assert_eq!(
        read("one", "uncertainty.csv"),
        read("two", "uncertainty.csv")
    );
    assert_eq!(read("one", "compare.json"), read("two", "compare.json"));
    assert!(read("one", "uncertainty.csv").lines().count() == 1 + 2 + 1);
    assert!(read("one", "compare.md").contains("## Over the model's uncertainty"));
    let json: serde_json::Value = serde_json::from_str(&read("one", "compare.json")).unwrap();
    assert_eq!(json["uncertainty"]["parameter_sets"], 3);
    assert!(!dir.path().join("plain/uncertainty.csv").exists());
    let plain_json: serde_json::Value =
        serde_json::from_str(&read("plain", "compare.json")).unwrap();
    assert!(plain_json.get("uncertainty").is_none());
}

fn search(model: &Path, dir: &Path, uncertainty: Option<(usize, ConfidenceOver)>) -> SizeResult {
    let p = steady(dir, "s", model, 1);
    let prices = PriceList::load(&repo().join("models/prices/gcp-us-central1.toml")).unwrap();
    let mut o = SizeOptions::new(5, 2);
    o.resources = Some(vec![size::Resource::CoderdVcpu]);
    o.policy = false;
    o.resilience = size::Resilience::None;
    o.uncertainty = uncertainty;
    size::size(&p, vec![], &prices, o).unwrap_or_else(|e| panic!("{e}"))
}

/// Zero-width ranges: the same recommendation, cost and verdicts as the
/// plain search; its checks over both are its plain checks.
#[test]
fn size_with_zero_width_ranges_gives_the_plain_search() {
    let dir = scratch("uncertainty/size-zero");
    let m = model(&dir, &[], 0.0);
    let plain = search(&m, &dir, None);
    let unc = search(&m, &dir, Some((3, ConfidenceOver::Both)));
    let (p, u) = (
        plain.recommended.clone().unwrap(),
        unc.recommended.clone().unwrap(),
    );
    assert_eq!(p.point, u.point);
    assert_eq!(p.cents(), u.cents());
    let verdicts = |r: &SizeResult| -> Vec<(Vec<usize>, &str)> {
        r.evaluated
            .iter()
            .map(|e| (e.point.clone(), e.verdict()))
            .collect()
    };
    assert_eq!(verdicts(&plain), verdicts(&unc));
    let o = u.over_sets.as_ref().unwrap();
    assert!(o.feasible && o.decides);
    for (s, c) in p.slos.iter().zip(&o.verdict.slos) {
        assert!(
            close(c.check.bound95.unwrap(), s.bound95.unwrap()),
            "{c:?} {s:?}"
        );
        assert_eq!(c.model_sd, Some(0.0));
    }
}

/// Where the model's part matters (the dashboard CPU range decides the
/// API p95), judging over both recommends a larger coderd than noise
/// alone, never a smaller one; `--confidence-over noise` keeps the plain
/// recommendation and reports that it fails over both.
#[test]
fn size_over_both_recommends_more_where_the_model_part_matters() {
    let dir = scratch("uncertainty/size-model");
    let m = model(&dir, &[DASHBOARD], 1.0);
    let plain = search(&m, &dir, None);
    let both = search(&m, &dir, Some((4, ConfidenceOver::Both)));
    let noise = search(&m, &dir, Some((4, ConfidenceOver::Noise)));
    let (p, b, n) = (
        plain.recommended.unwrap(),
        both.recommended.unwrap(),
        noise.recommended.unwrap(),
    );
    assert!(b.cents() > p.cents(), "{:?} {:?}", b.values, p.values);
    assert!(b.values[0] > p.values[0]);
    assert_eq!(n.point, p.point);
    let o = n.over_sets.as_ref().unwrap();
    assert!(!o.decides && !o.feasible, "{o:?}");
    assert!(o.verdict.slos[0].model_sd.unwrap() > 0.0);
    // The binding of the coderd shape names the model's part.
    assert_eq!(both.binding[0].kind, "model", "{:?}", both.binding);
}

/// `size --uncertainty` writes the mode and the recommendation's parts in
/// size.json and size.md, the same whatever --jobs.
#[test]
fn size_command_reports_the_mode_and_parts_whatever_the_jobs() {
    let dir = scratch("uncertainty/size-cli");
    let m = model(&dir, &[DASHBOARD], 1.0);
    let p = steady(&dir, "s", &m, 1);
    let prices = repo().join("models/prices/gcp-us-central1.toml");
    let run = |out: &str, jobs: &str| {
        ok(capsim(&dir)
            .args([
                "size",
                p.to_str().unwrap(),
                "--prices",
                prices.to_str().unwrap(),
            ])
            .args([
                "--resources",
                "coderd_vcpu",
                "--policy",
                "none",
                "--resilience",
                "none",
            ])
            .args([
                "--replications",
                "2",
                "--uncertainty",
                "3",
                "-q",
                "--out",
                out,
            ])
            .args(["--jobs", jobs]));
        std::fs::read_to_string(dir.path().join(out).join("size.json")).unwrap()
    };
    let (one, two) = (run("one", "1"), run("two", "2"));
    assert_eq!(one, two);
    let doc: capsim::compare::size_report::SizeJson = serde_json::from_str(&one).unwrap();
    let u = doc.uncertainty.unwrap();
    assert_eq!(u.confidence_over, "both");
    assert_eq!((u.parameter_sets, u.parameters_varied), (3, 1));
    assert_eq!(u.recommendation_holds, Some(true));
    assert!(
        u.checks
            .iter()
            .all(|c| c.noise_sd.is_some() && c.model_sd.is_some())
    );
    let md = std::fs::read_to_string(dir.path().join("one/size.md")).unwrap();
    assert!(md.contains("## Over the model's uncertainty"), "{md}");
}

/// Over both parts, the fast search (early stops on the plain checks) and
/// `--exhaustive` recommend the same, with the same verdicts; the
/// simulations over the parameter sets are counted (each candidate judged
/// over them ran its replications on every set), and the fast search's
/// results and counts are the same on 1 and 2 threads.
#[test]
fn size_over_both_fast_and_exhaustive_agree_and_count_the_sets() {
    let dir = scratch("uncertainty/size-fast");
    let m = model(&dir, &[DASHBOARD], 1.0);
    let sets = 3;
    let run = |exhaustive: bool, threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let p = steady(&dir, "s", &m, 1);
            let prices =
                PriceList::load(&repo().join("models/prices/gcp-us-central1.toml")).unwrap();
            let mut o = SizeOptions::new(5, 3);
            o.resources = Some(vec![size::Resource::CoderdVcpu]);
            o.policy = false;
            o.resilience = size::Resilience::None;
            o.uncertainty = Some((sets, ConfidenceOver::Both));
            o.exhaustive = exhaustive;
            size::size(&p, vec![], &prices, o).unwrap_or_else(|e| panic!("{e}"))
        })
    };
    let (fast, full) = (run(false, 1), run(true, 1));
    let (f, x) = (
        fast.recommended.clone().unwrap(),
        full.recommended.clone().unwrap(),
    );
    assert_eq!(f.point, x.point);
    assert_eq!(f.cents(), x.cents());
    assert_eq!(fast.binding[0].kind, full.binding[0].kind);
    for e in &fast.evaluated {
        let same = full.evaluated.iter().find(|q| q.point == e.point);
        if let Some(q) = same {
            assert_eq!(e.feasible, q.feasible, "{:?}", e.point);
        }
        if e.over_sets.is_some() && e.simulations > 0 {
            assert!(
                e.simulations >= 3 * (1 + sets as u64),
                "{:?}: {} simulations",
                e.point,
                e.simulations
            );
        }
    }
    assert!(fast.evaluated.iter().any(|e| e.over_sets.is_some()));
    assert!(
        fast.simulations >= fast.evaluated.iter().map(|e| e.simulations).sum::<u64>(),
        "{} simulations",
        fast.simulations
    );
    let two = run(false, 2);
    assert_eq!(
        capsim::compare::size_report::to_json(&fast),
        capsim::compare::size_report::to_json(&two)
    );
}
