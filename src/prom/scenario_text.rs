//! The text of an imported scenario: every value with a comment naming the
//! query it comes from, `PLACEHOLDER` where the metrics cannot say.

use super::fit::LognormalFit;
use std::fmt::Write;

/// One template as imported.
pub(crate) struct TemplateOut {
    pub name: String,
    /// Successful START builds over the whole days.
    pub starts: f64,
    pub build: Option<LognormalFit>,
    pub stop: Option<LognormalFit>,
    pub failure_probability: Option<f64>,
}

/// What the import read, ready to write.
pub(crate) struct Derived {
    pub source: String,
    pub name: String,
    pub model: String,
    pub utc_offset_s: f64,
    pub n_days: i64,
    pub step_s: f64,
    /// Day of the week of the first whole day (0 = Monday).
    pub first_weekday: usize,
    pub replicas: f64,
    /// Largest per-instance coderd CPU of a step, vCPU.
    pub per_instance_peak: f64,
    pub vcpu: f64,
    pub daemons: f64,
    /// Successful START builds per whole weekday.
    pub weekday_users: f64,
    pub n_users: f64,
    pub weekend_fraction: Option<f64>,
    pub mean_wait_s: Option<f64>,
    pub mean_build_s: f64,
    /// Users' arrivals, local seconds of day: mean and standard deviation.
    pub start: (f64, f64),
    /// Session length, s: mean and standard deviation.
    pub session: Option<(f64, f64)>,
    /// START builds per weekday by local hour.
    pub hourly_per_weekday: [f64; 24],
    pub metadata_per_agent: Option<f64>,
    /// SSH, IDE and web-terminal sessions per user present.
    pub sessions_per_user: [Option<f64>; 3],
    pub dash_rate_per_user: Option<f64>,
    pub requests_per_action: Option<f64>,
    pub templates: Vec<TemplateOut>,
    pub has_template_failures: bool,
    pub total_starts: f64,
}

/// capsim's default metadata items (the scale-test template), which the
/// import keeps (metrics give items x rate, not the split).
pub(crate) const DEFAULT_METADATA_ITEMS: f64 = 2.0;

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A number with 4 significant digits ([`crate::format::sig4`]) without
/// trailing zeros.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    let s = crate::format::sig4(x);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A duration in seconds as a scenario string.
fn secs(x: f64) -> String {
    format!("\"{}s\"", num(x.max(0.0)))
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn hhmm(tod: f64) -> String {
    crate::format::clock(tod, false)
}

fn shares_text(f: &LognormalFit) -> String {
    f.shares
        .iter()
        .map(|(le, obs, fit)| {
            let le = if le.is_infinite() {
                "+Inf".into()
            } else {
                num(*le)
            };
            format!("{le} {:.0}/{:.0}%", obs * 100.0, fit * 100.0)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The scenario file's text.
pub(crate) fn render(d: &Derived) -> String {
    let mut t = String::new();
    let day0 = d.first_weekday;
    let _ = writeln!(
        t,
        "# Imported by `capsim import prometheus` from {}.",
        d.source
    );
    let _ = writeln!(
        t,
        "# {} whole days (local time = UTC{}{}), step {} s. Each value names the query it comes from",
        d.n_days,
        if d.utc_offset_s < 0.0 { "-" } else { "+" },
        hhmm(d.utc_offset_s.abs()),
        num(d.step_s)
    );
    let _ = writeln!(
        t,
        "# (README, \"Importing from Prometheus\"); PLACEHOLDER marks what metrics cannot say."
    );
    let _ = writeln!(t, "name = {}", toml_str(&d.name));
    let _ = writeln!(
        t,
        "description = {}",
        toml_str(&format!(
            "Imported from Prometheus: {} users on weekdays, {} templates, {} coderd replicas, {} provisioner daemons",
            num(d.n_users),
            d.templates.len(),
            num(d.replicas),
            num(d.daemons)
        ))
    );
    let _ = writeln!(t, "model = {}", toml_str(&d.model));
    let _ = writeln!(t, "seed = 1");
    let _ = writeln!(t, "duration = \"{}d\"", d.n_days);
    let _ = writeln!(t, "bucket = {}", secs(d.step_s));
    let _ = writeln!(t, "start_time = \"00:00\"");
    let _ = writeln!(t);
    let _ = writeln!(t, "[deployment.coderd]");
    let _ = writeln!(
        t,
        "# coderd_cpu: the median number of instances reporting CPU."
    );
    let _ = writeln!(t, "replicas = {}", num(d.replicas));
    let _ = writeln!(
        t,
        "# PLACEHOLDER: metrics do not say a replica's vCPU limit. The busiest instance used {} vCPU",
        num(d.per_instance_peak)
    );
    let _ = writeln!(
        t,
        "# (coderd_cpu, largest step); this is capsim's default 4, or that / 0.8 if larger."
    );
    let _ = writeln!(t, "vcpu = {}", num(d.vcpu));
    let _ = writeln!(
        t,
        "# PLACEHOLDER: ram keeps capsim's default (16GB): metrics here do not say it."
    );
    let _ = writeln!(
        t,
        "# Metrics do not tell built-in from external daemons: all are external below."
    );
    let _ = writeln!(t, "builtin_provisioners = 0");
    let _ = writeln!(t);
    let _ = writeln!(t, "[deployment.provisioners]");
    let _ = writeln!(
        t,
        "# provisioners: the median of sum(coderd_provisionerd_num_daemons). Tags are not in"
    );
    let _ = writeln!(
        t,
        "# the metrics: add them (and groups) if your daemons are tagged."
    );
    let _ = writeln!(t, "count = {}", num(d.daemons));
    let _ = writeln!(t);
    let _ = writeln!(t, "[deployment.database]");
    let _ = writeln!(
        t,
        "# PLACEHOLDER: metrics do not say the database's size; capsim's defaults. Coder's sizing"
    );
    let _ = writeln!(
        t,
        "# rules: 2 vCPU / 8 GB under 1,000 users, 2 more vCPU per 1,000 active users."
    );
    let _ = writeln!(t, "vcpu = 2");
    let _ = writeln!(t, "ram = \"8GB\"");
    let _ = writeln!(t);
    let _ = writeln!(t, "[workload.users]");
    let _ = writeln!(
        t,
        "# builds: {} successful START builds per whole weekday on average = users at work on a",
        num(d.weekday_users)
    );
    let _ = writeln!(
        t,
        "# weekday (all of them active; raise count and lower active_fraction together to model"
    );
    let _ = writeln!(t, "# day-to-day absence).");
    let _ = writeln!(t, "count = {}", num(d.n_users));
    let _ = writeln!(t, "mode = \"calendar\"");
    let _ = writeln!(t, "active_fraction = 1.0");
    match d.weekend_fraction {
        Some(f) => {
            let _ = writeln!(t, "# builds: START builds per weekend day / per weekday.");
            let _ = writeln!(t, "weekend_active_fraction = {}", num(f));
        }
        None => {
            let _ = writeln!(
                t,
                "# builds: no whole weekend day in the period; capsim's default weekend_active_fraction."
            );
        }
    }
    let _ = writeln!(t, "# The weekday of the first whole day of the period.");
    let _ = writeln!(t, "start_day = \"{}\"", WEEKDAYS[day0]);
    let _ = writeln!(
        t,
        "# PLACEHOLDER: a template setting, not a metric; capsim's default (departures below assume it)."
    );
    let _ = writeln!(t, "autostop_after = \"1h\"");
    let _ = writeln!(t);
    let _ = writeln!(t, "[[workload.users.groups]]");
    let _ = writeln!(t, "name = \"imported\"");
    let _ = writeln!(t, "share = 1.0");
    let _ = writeln!(
        t,
        "# builds: weekday START builds by time of day, less the mean queue wait ({} s, queue_wait) and",
        num(d.mean_wait_s.unwrap_or(0.0))
    );
    let _ = writeln!(
        t,
        "# build time ({} s, build_time): mean {}, sd {} min.",
        num(d.mean_build_s),
        hhmm(d.start.0),
        num(d.start.1 / 60.0)
    );
    let _ = writeln!(
        t,
        "# Observed START builds per hour on weekdays (local): {}",
        d.hourly_per_weekday
            .iter()
            .enumerate()
            .filter(|(_, n)| **n >= 0.05)
            .map(|(h, n)| format!("{h:02}h {}", num(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        t,
        "day_start = {{ dist = \"normal\", mean = {}, sd = {} }}",
        secs(d.start.0),
        secs(d.start.1.max(60.0))
    );
    match d.session {
        Some((m, sd)) => {
            let _ = writeln!(
                t,
                "# builds: weekday STOP builds less the stop time and autostop_after, minus the arrivals."
            );
            let _ = writeln!(
                t,
                "session_length = {{ dist = \"normal\", mean = {}, sd = {}, min = \"60s\" }}",
                secs(m),
                secs(sd)
            );
        }
        None => {
            let _ = writeln!(
                t,
                "# builds: too few STOP builds to read session lengths; capsim's default."
            );
        }
    }
    let _ = writeln!(t);
    let _ = writeln!(t, "[workload.agents]");
    match d.metadata_per_agent {
        Some(x) => {
            let interval = (DEFAULT_METADATA_ITEMS / x).max(1.0).round();
            let _ = writeln!(
                t,
                "# metadata: {} items per second stored per agent (workspaces). The split into",
                num(x)
            );
            let _ = writeln!(
                t,
                "# items and interval is not in the metrics: 2 items (capsim's default) at the interval that gives it."
            );
            let _ = writeln!(
                t,
                "metadata = [{{ items = 2, interval = {} }}]",
                secs(interval)
            );
        }
        None => {
            let _ = writeln!(
                t,
                "# metadata: no answer; capsim's default metadata (2 items every 10 s)."
            );
        }
    }
    let conn = |t: &mut String, kind: &str, v: Option<f64>, what: &str| {
        let _ = writeln!(t);
        let _ = writeln!(t, "[workload.connections.{kind}]");
        match v {
            Some(x) => {
                let _ = writeln!(
                    t,
                    "# sessions: {what} per user present (builds), weekday working hours."
                );
                let _ = writeln!(t, "per_user = {}", num(x.min(100.0)));
            }
            None => {
                let _ = writeln!(
                    t,
                    "# sessions: not in the answers; capsim's default per_user."
                );
            }
        }
    };
    conn(&mut t, "ssh", d.sessions_per_user[0], "SSH sessions");
    conn(
        &mut t,
        "ide",
        d.sessions_per_user[1],
        "VS Code and JetBrains sessions",
    );
    conn(
        &mut t,
        "web_terminal",
        d.sessions_per_user[2],
        "reconnecting PTYs",
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "[workload.connections.dashboard]");
    match d.requests_per_action {
        Some(x) => {
            let _ = writeln!(
                t,
                "# api_requests: {} dashboard-class requests per second per user present in working",
                num(d.dash_rate_per_user.unwrap_or(0.0))
            );
            let _ = writeln!(
                t,
                "# hours, with capsim's default 0.5 dashboards per user and an action every 10 s."
            );
            let _ = writeln!(t, "requests_per_action = {}", num(x));
        }
        None => {
            let _ = writeln!(
                t,
                "# api_requests: not in the answers; capsim's default dashboard."
            );
        }
    }
    let _ = writeln!(
        t,
        "# Apps and dashboards per user are not in Coder's metrics: capsim's defaults."
    );
    for tp in &d.templates {
        let _ = writeln!(t);
        let _ = writeln!(t, "[[workload.templates]]");
        let _ = writeln!(t, "name = {}", toml_str(&tp.name));
        let b = tp.build.as_ref().expect("set above");
        let _ = writeln!(
            t,
            "# build_time: lognormal fitted to {} START builds' buckets (le: observed / fitted share): {}",
            num(b.n),
            shares_text(b)
        );
        let _ = writeln!(
            t,
            "build_time = {{ dist = \"lognormal\", median = {}, p95 = {} }}",
            secs(b.median()),
            secs(b.p95())
        );
        match &tp.stop {
            Some(s) => {
                let _ = writeln!(t, "# build_time: STOP builds, {}", shares_text(s));
                let _ = writeln!(
                    t,
                    "stop_time = {{ dist = \"lognormal\", median = {}, p95 = {} }}",
                    secs(s.median()),
                    secs(s.p95())
                );
            }
            None => {
                let _ = writeln!(
                    t,
                    "# build_time: no STOP timings; capsim's default stop_time."
                );
            }
        }
        if let Some(f) = tp.failure_probability {
            let _ = writeln!(
                t,
                "# builds: failed / all START builds{}.",
                if d.has_template_failures {
                    ""
                } else {
                    " (all templates together)"
                }
            );
            let _ = writeln!(t, "failure_probability = {}", num(f));
        }
        if d.templates.len() > 1 {
            let _ = writeln!(t, "# builds: this template's share of START builds.");
            let _ = writeln!(t, "user_share = {}", num(tp.starts / d.total_starts));
        }
    }

    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(32400.4), "32400");
        assert_eq!(num(90.96), "90.96");
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(1.0), "1");
        assert_eq!(hhmm(9.0 * 3600.0 + 59.0 * 60.0 + 50.0), "10:00");
    }
}
