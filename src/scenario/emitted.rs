//! What a run can report, as data: every metric of the summary, its
//! statistics, and its label keys with the values each can take. An SLO is
//! checked against it when a scenario is resolved, so one that can match
//! nothing (`class = "dashbaord"`, `stat = "p95"` on a counter) is an
//! input error naming its line, not a verdict after the run.
//!
//! The model owns the metric names (`model::metric_names`, which serves this
//! table as `catalogue()`); the table lives here, below the model, because
//! the scenario may not depend on the model. A test in the model checks
//! that it lists exactly the metrics [`crate::model::metric_names::ALL`]
//! names, in that order, and that every statistic and label a run produces
//! is in it.

use super::Scenario;

/// Summary statistics of a counter.
pub const COUNTER: &[&str] = &["total", "rate"];
/// Of a rate (events per second, per bucket).
pub const RATE: &[&str] = &["mean", "p50", "max"];
/// Of a gauge or a sampled value.
pub const GAUGE: &[&str] = &["mean", "p50", "peak", "last", "max"];
/// Of a histogram.
pub const HISTOGRAM: &[&str] = &["mean", "p50", "p90", "p95", "p99", "max", "count"];

/// The values a label key can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// These words.
    Words(&'static [&'static str]),
    /// A coderd replica's index: `0`, `1`, ...
    ReplicaIndex,
    /// A template of the scenario's workload, by name.
    Template,
    /// A workspace proxy of the scenario's deployment, by name.
    Proxy,
    /// A node pool of the scenario's deployment, by name.
    Pool,
}

/// One metric of the summary.
#[derive(Clone, Copy, Debug)]
pub struct Emitted {
    pub metric: &'static str,
    pub stats: &'static [&'static str],
    /// Its label keys (a metric reported in total and by a key has both
    /// the series without labels and those with the key).
    pub labels: &'static [(&'static str, Values)],
}

const CLASS: (&str, Values) = (
    "class",
    Values::Words(&["dashboard", "agent", "connect", "build"]),
);
const KIND: (&str, Values) = (
    "kind",
    Values::Words(&["ssh", "ide", "web_terminal", "app", "dashboard", "agent"]),
);
const REPLICA: (&str, Values) = ("replica", Values::ReplicaIndex);
const POOL: (&str, Values) = ("pool", Values::Pool);
const JOB: (&str, Values) = ("job", Values::Words(&["autobuild", "deployment_stats"]));

const fn e(
    metric: &'static str,
    stats: &'static [&'static str],
    labels: &'static [(&'static str, Values)],
) -> Emitted {
    Emitted {
        metric,
        stats,
        labels,
    }
}

/// Every metric of the summary, in the order of README.md's table.
pub const EMITTED: &[Emitted] = &[
    e("build_queue_wait_seconds", HISTOGRAM, &[]),
    e(
        "build_time_seconds",
        HISTOGRAM,
        &[
            ("template", Values::Template),
            ("transition", Values::Words(&["start", "stop"])),
        ],
    ),
    e("build_queue_wait_probability", &["mean"], &[]),
    e("builds_created_total", COUNTER, &[]),
    e("builds_started_total", COUNTER, &[]),
    e("builds_completed_total", COUNTER, &[]),
    e("builds_failed_total", COUNTER, &[]),
    e("builds_cancelled_total", COUNTER, &[]),
    e("builds_capacity_failed_total", COUNTER, &[]),
    e("provisioner_utilization", GAUGE, &[]),
    e("provisioner_busy_daemons", GAUGE, &[]),
    e("provisioner_daemons", GAUGE, &[]),
    e("provisioner_cpu_cores", GAUGE, &[]),
    e("build_queue_length", GAUGE, &[]),
    e(
        "api_requests_per_second",
        RATE,
        &[(
            "class",
            Values::Words(&["dashboard", "agent", "connect", "build", "total"]),
        )],
    ),
    e("api_latency_seconds", HISTOGRAM, &[CLASS]),
    e("api_errors_total", COUNTER, &[CLASS]),
    e("api_success_ratio", &["mean", "min"], &[CLASS]),
    e("coderd_available", GAUGE, &[]),
    e("coderd_cpu_utilization", GAUGE, &[REPLICA]),
    e("coderd_cpu_cores", &["mean", "p50", "peak"], &[]),
    e("coderd_cpu_busy_seconds_total", &["total"], &[REPLICA]),
    e("coderd_cpu_work_seconds_total", &["total"], &[REPLICA]),
    e("coderd_memory_bytes", GAUGE, &[REPLICA]),
    e("coderd_connections", GAUGE, &[REPLICA]),
    e("coderd_websockets", GAUGE, &[]),
    e("coderd_replicas", GAUGE, &[]),
    e("database_cpu_utilization", GAUGE, &[]),
    e("database_writes_per_second", RATE, &[]),
    e("database_disk_write_ops_per_second", RATE, &[]),
    e("periodic_db_queries_total", COUNTER, &[JOB]),
    e("periodic_db_cpu_seconds_total", COUNTER, &[JOB]),
    e("agent_metadata_calls_per_second", RATE, &[]),
    e("agent_metadata_items_per_second", RATE, &[]),
    e("agent_metadata_bytes_per_second", RATE, &[]),
    e("connections_active", GAUGE, &[KIND]),
    e("connections_opened_total", COUNTER, &[KIND]),
    e("connections_closed_total", COUNTER, &[KIND]),
    e("connections_dropped_total", COUNTER, &[KIND]),
    e("reconnects_total", COUNTER, &[KIND]),
    e(
        "interruptions_total",
        COUNTER,
        &[(
            "kind",
            Values::Words(&["ssh", "ide", "web_terminal", "app"]),
        )],
    ),
    e("user_sessions_total", COUNTER, &[]),
    e("users_present", GAUGE, &[]),
    e("workspaces_running", GAUGE, &[]),
    e("proxy_cpu_utilization", GAUGE, &[("proxy", Values::Proxy)]),
    e("workspace_nodes", GAUGE, &[POOL]),
    e("workspace_node_hours_total", &["total"], &[POOL]),
    e("workspace_pool_cpu_requested_vcpu", GAUGE, &[POOL]),
    e("workspace_pool_cpu_used_vcpu", GAUGE, &[POOL]),
    e("workspace_pool_memory_requested_bytes", GAUGE, &[POOL]),
    e("workspace_pool_memory_used_bytes", GAUGE, &[POOL]),
    e("workspace_pool_utilization", GAUGE, &[POOL]),
    e("workspaces_waiting_for_node", GAUGE, &[]),
    e("workspace_node_wait_seconds", HISTOGRAM, &[]),
    e("workspace_start_seconds", HISTOGRAM, &[]),
    e("workspace_node_timeouts_total", COUNTER, &[]),
];

/// The catalogue entry of `metric`.
pub fn find(metric: &str) -> Option<&'static Emitted> {
    EMITTED.iter().find(|e| e.metric == metric)
}

impl Values {
    /// `value` is one this key can take in scenario `s` (`Err`: what it can).
    pub fn check(self, value: &str, s: &ScenarioNames) -> Result<(), String> {
        let one_of = |known: &[&str]| {
            if known.contains(&value) {
                Ok(())
            } else if known.is_empty() {
                Err("this scenario has none".to_string())
            } else {
                Err(format!("expected one of {}", quoted(known)))
            }
        };
        match self {
            Values::Words(w) => one_of(w),
            Values::ReplicaIndex => {
                if value.parse::<u32>().is_ok() && (value == "0" || !value.starts_with('0')) {
                    Ok(())
                } else {
                    Err("expected a replica index (0, 1, ...)".to_string())
                }
            }
            Values::Template => one_of(&s.templates.iter().map(String::as_str).collect::<Vec<_>>()),
            Values::Proxy => one_of(&s.proxies.iter().map(String::as_str).collect::<Vec<_>>()),
            Values::Pool => one_of(&s.pools.iter().map(String::as_str).collect::<Vec<_>>()),
        }
    }
}

/// The names in a scenario that label values can take.
#[derive(Clone, Debug, Default)]
pub struct ScenarioNames {
    pub templates: Vec<String>,
    pub proxies: Vec<String>,
    pub pools: Vec<String>,
}

impl ScenarioNames {
    pub fn of(s: &Scenario) -> ScenarioNames {
        ScenarioNames {
            templates: s
                .workload
                .templates
                .iter()
                .map(|t| t.name.clone())
                .collect(),
            proxies: s
                .deployment
                .proxies
                .iter()
                .map(|p| p.name.clone())
                .collect(),
            pools: s
                .deployment
                .node_pools
                .iter()
                .map(|p| p.name.clone())
                .collect(),
        }
    }
}

/// `"a", "b" or "c"`.
pub fn quoted(words: &[&str]) -> String {
    let q: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    match q.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// The known word closest to `word`, when one is close enough to be a typo.
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), k))
        .filter(|&(d, k)| d <= 2.max(k.len() / 4))
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Where an SLO can match nothing: the field (relative to the SLO:
/// `metric`, `stat`, `labels.KEY`) and what is wrong.
pub fn check_slo(
    metric: &str,
    stat: &str,
    stat_given: bool,
    labels: &std::collections::BTreeMap<String, String>,
    names: &ScenarioNames,
) -> Result<(), (String, String)> {
    let Some(e) = find(metric) else {
        let hint = closest(metric, EMITTED.iter().map(|e| e.metric))
            .map_or(String::new(), |c| format!("; did you mean \"{c}\"?"));
        return Err((
            "metric".into(),
            format!(
                "unknown metric \"{metric}\"{hint} (README.md, \"Metrics\", lists every metric)"
            ),
        ));
    };
    if !e.stats.contains(&stat) {
        let field = if stat_given { "stat" } else { "metric" };
        let given = if stat_given {
            format!("\"{stat}\"")
        } else {
            format!("the default \"{stat}\"")
        };
        return Err((
            field.into(),
            format!(
                "{metric} has no statistic {given}; expected one of {}",
                quoted(e.stats)
            ),
        ));
    }
    for (k, v) in labels {
        let Some(&(_, values)) = e.labels.iter().find(|(key, _)| key == k) else {
            let keys: Vec<&str> = e.labels.iter().map(|(k, _)| *k).collect();
            let expected = if keys.is_empty() {
                format!("{metric} has no labels")
            } else {
                format!("{metric} has only {}", quoted(&keys))
            };
            return Err((
                format!("labels.{k}"),
                format!("unknown label \"{k}\": {expected}"),
            ));
        };
        if let Err(why) = values.check(v, names) {
            let hint = match values {
                Values::Words(w) => closest(v, w.iter().copied()),
                _ => None,
            }
            .map_or(String::new(), |c| format!("; did you mean \"{c}\"?"));
            return Err((
                format!("labels.{k}"),
                format!("{metric} has no {k} \"{v}\": {why}{hint}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(kv: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_slo_that_can_match_nothing_names_the_field() {
        let n = ScenarioNames {
            templates: vec!["docker".into()],
            proxies: vec![],
            pools: vec![],
        };
        let field = |m: &str, s: &str, l: &[(&str, &str)]| {
            check_slo(m, s, true, &labels(l), &n).err().map(|e| e.0)
        };
        assert_eq!(
            field("api_latency_seconds", "p95", &[("class", "agent")]),
            None
        );
        assert_eq!(
            field("api_latncy_seconds", "p95", &[]).as_deref(),
            Some("metric")
        );
        assert_eq!(
            field("builds_failed_total", "p95", &[]).as_deref(),
            Some("stat")
        );
        assert_eq!(
            field("api_latency_seconds", "p95", &[("kind", "ssh")]).as_deref(),
            Some("labels.kind")
        );
        assert_eq!(
            field("api_latency_seconds", "p95", &[("class", "dashbaord")]).as_deref(),
            Some("labels.class")
        );
        assert_eq!(
            field("build_time_seconds", "p95", &[("template", "docker")]),
            None
        );
        assert!(field("build_time_seconds", "p95", &[("template", "k8s")]).is_some());
        assert!(field("proxy_cpu_utilization", "mean", &[("proxy", "eu")]).is_some());
        assert_eq!(
            field("coderd_memory_bytes", "max", &[("replica", "3")]),
            None
        );
        assert!(field("coderd_memory_bytes", "max", &[("replica", "03")]).is_some());
        let (_, msg) = check_slo(
            "api_latency_seconds",
            "p95",
            true,
            &labels(&[("class", "dashbaord")]),
            &n,
        )
        .unwrap_err();
        assert!(msg.contains("did you mean \"dashboard\""), "{msg}");
        // Without `stat`, the default mean is checked and the metric named.
        let e = check_slo("builds_failed_total", "mean", false, &labels(&[]), &n).unwrap_err();
        assert_eq!(e.0, "metric");
        assert!(e.1.contains("default \"mean\""), "{}", e.1);
    }
}
