//! What the outputs show, as data: the statistics of the summary tables,
//! the headline rows of `compare.md` and their words, and every figure
//! (which metric, statistic and labels go in which panel, titles, axis
//! quantities, SLO lines) of a run's report, of `capsim compare` and of
//! `capsim size --growth`.
//!
//! The code that draws a figure reads its description here; a new panel or
//! a renamed metric is a change to these tables only. Metric names appear
//! here and nowhere else in `report/` and `compare/`.

/// The statistics shown side by side in `batch-summary.csv`, in the key
/// results of `report.md` and in the first rows of `capsim compare` (every
/// label set of each that a run has).
pub const KEY_METRICS: &[(&str, &[&str])] = &[
    ("build_queue_wait_seconds", &["mean", "p95", "p99"]),
    ("build_queue_wait_probability", &["mean"]),
    ("build_queue_length", &["mean", "max"]),
    ("provisioner_utilization", &["mean"]),
    ("builds_completed_total", &["total"]),
    ("builds_failed_total", &["total"]),
    ("api_latency_seconds", &["p95", "p99"]),
    ("api_requests_per_second", &["mean"]),
    ("coderd_cpu_utilization", &["mean", "max"]),
    ("database_cpu_utilization", &["mean", "max"]),
    ("database_writes_per_second", &["mean"]),
    ("coderd_replicas", &["max"]),
    ("connections_dropped_total", &["total"]),
    ("interruptions_total", &["total"]),
];

/// Every metric in plain words, for people (stdout, `report.md`, plots):
/// `{class}` and `{kind}` read the label of that name (in words, see
/// [`label_words`]); other labels follow in parentheses.
pub const METRIC_WORDS: &[(&str, &str)] = &[
    ("build_queue_wait_seconds", "build queue wait"),
    ("build_queue_wait_probability", "builds that waited"),
    ("build_queue_length", "builds waiting"),
    ("builds_created_total", "builds created"),
    ("builds_started_total", "builds started"),
    ("builds_completed_total", "builds completed"),
    ("builds_failed_total", "builds failed"),
    ("builds_cancelled_total", "builds cancelled"),
    (
        "builds_capacity_failed_total",
        "workspace starts refused (cluster full)",
    ),
    ("provisioner_utilization", "provisioner utilisation"),
    ("provisioner_busy_daemons", "busy provisioner daemons"),
    ("provisioner_daemons", "provisioner daemons"),
    ("provisioner_cpu_cores", "provisioner CPU"),
    ("api_requests_per_second", "{class} API requests"),
    ("api_latency_seconds", "{class} API latency"),
    ("api_errors_total", "API errors"),
    ("api_success_ratio", "{class} API success ratio"),
    ("coderd_available", "coderd available"),
    ("coderd_cpu_utilization", "coderd CPU"),
    ("coderd_cpu_cores", "coderd CPU in use"),
    ("coderd_cpu_busy_seconds_total", "coderd CPU busy time"),
    ("coderd_cpu_work_seconds_total", "coderd CPU work"),
    ("coderd_memory_bytes", "coderd memory"),
    ("coderd_connections", "connections on coderd"),
    ("coderd_websockets", "websockets"),
    ("coderd_replicas", "coderd replicas"),
    ("database_cpu_utilization", "database CPU"),
    ("database_writes_per_second", "database writes"),
    ("database_disk_write_ops_per_second", "database disk writes"),
    ("agent_metadata_calls_per_second", "agent metadata calls"),
    ("agent_metadata_items_per_second", "agent metadata items"),
    ("agent_metadata_bytes_per_second", "agent metadata sent"),
    ("connections_active", "open {kind} connections"),
    ("connections_opened_total", "{kind} connections opened"),
    ("connections_closed_total", "{kind} connections closed"),
    ("connections_dropped_total", "dropped {kind} connections"),
    ("reconnects_total", "{kind} reconnects"),
    ("interruptions_total", "interrupted {kind} sessions"),
    ("user_sessions_total", "user sessions"),
    ("users_present", "users present"),
    ("workspaces_running", "running workspaces"),
    ("proxy_cpu_utilization", "proxy CPU"),
];

/// Statistics in plain words.
pub const STAT_WORDS: &[(&str, &str)] = &[
    ("p50", "median"),
    ("peak", "busiest bucket"),
    ("last", "at the end"),
];

/// Label values in plain words (connection kinds, request classes).
pub const LABEL_WORDS: &[(&str, &str)] = &[
    ("ssh", "SSH"),
    ("ide", "IDE"),
    ("web_terminal", "web terminal"),
    ("app", "app"),
    ("dashboard", "dashboard"),
    ("agent", "agent"),
    ("connect", "connection set-up"),
    ("build", "build"),
    // The sum over every class or kind reads as the metric alone.
    ("total", ""),
    ("all", ""),
];

/// A label value in words (`web_terminal` reads `web terminal`).
pub fn label_words(value: &str) -> &str {
    LABEL_WORDS
        .iter()
        .find(|(k, _)| *k == value)
        .map_or(value, |(_, w)| w)
}

/// A statistic in words (`p50` reads `median`, `peak` `busiest bucket`).
pub fn stat_words(stat: &str) -> &str {
    STAT_WORDS
        .iter()
        .find(|(k, _)| *k == stat)
        .map_or(stat, |(_, w)| w)
}

/// A metric and its labels in words: `dashboard API latency`,
/// `coderd CPU (replica 0)`, `dropped SSH connections`; an unknown metric
/// reads as its name and labels (`x{a=b}`).
pub fn metric_words(metric: &str, labels: &crate::engine::metrics::Labels) -> String {
    let Some((_, words)) = METRIC_WORDS.iter().find(|(m, _)| *m == metric) else {
        return format!("{metric}{}", crate::format::braced(labels));
    };
    let mut text = words.to_string();
    let mut rest = Vec::new();
    for (k, v) in labels {
        let slot = format!("{{{k}}}");
        if text.contains(&slot) {
            text = text.replace(&slot, label_words(v));
        } else {
            rest.push(format!("{} {}", k.replace('_', " "), label_words(v)));
        }
    }
    // Placeholders without a label: the metric over all of them.
    for slot in ["{class} ", "{kind} ", " {kind}"] {
        text = text.replace(slot, "");
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if rest.is_empty() {
        text
    } else {
        format!("{text} ({})", rest.join(", "))
    }
}

/// A statistic of a metric in words: `build queue wait p95`,
/// `coderd CPU (replica 0) busiest bucket`.
pub fn stat_line_words(
    metric: &str,
    stat: &str,
    labels: &crate::engine::metrics::Labels,
) -> String {
    format!("{} {}", metric_words(metric, labels), stat_words(stat))
}

/// A row of [`HEADLINE`]: metric, labels (`*`: every value of the key, summed
/// for totals, else the highest), statistics.
pub type HeadlineRow = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

/// The rows of the short table `capsim run` prints by default: each a
/// metric (every label set of it, or the one `labels` names) and the
/// statistics shown side by side. A row is left out when the run has none
/// of its statistics, or when all of them are 0 and no SLO judges them
/// (a build-queue scenario has no dropped connections to show).
pub const HEADLINE: &[HeadlineRow] = &[
    ("build_queue_wait_seconds", &[], &["mean", "p95", "p99"]),
    ("builds_completed_total", &[], &["total"]),
    ("builds_failed_total", &[], &["total"]),
    ("provisioner_utilization", &[], &["mean", "peak"]),
    (
        "api_latency_seconds",
        &[("class", "dashboard")],
        &["p50", "p95", "p99"],
    ),
    (
        "api_latency_seconds",
        &[("class", "agent")],
        &["p50", "p95", "p99"],
    ),
    (
        "api_latency_seconds",
        &[("class", "connect")],
        &["p50", "p95", "p99"],
    ),
    (
        "api_requests_per_second",
        &[("class", "total")],
        &["mean", "max"],
    ),
    ("api_errors_total", &[], &["total"]),
    (
        "coderd_cpu_utilization",
        &[("replica", "*")],
        &["mean", "peak"],
    ),
    ("database_cpu_utilization", &[], &["mean", "peak"]),
    ("coderd_replicas", &[], &["mean", "max"]),
    ("users_present", &[], &["peak"]),
    ("connections_dropped_total", &[("kind", "*")], &["total"]),
    ("interruptions_total", &[], &["total"]),
];

/// Statistics `capsim compare` shows besides [`KEY_METRICS`]: the busiest
/// bucket of the CPUs.
pub const COMPARE_EXTRA_METRICS: &[(&str, &[&str])] = &[
    ("coderd_cpu_utilization", &["peak"]),
    ("database_cpu_utilization", &["peak"]),
];

/// Metrics that `capsim compare` also sums over `kind`, in a `kind=all` row.
pub const SUM_OVER_KINDS: &[&str] = &["connections_dropped_total"];

/// A row of `capsim compare`: metric, statistic and the exact labels it has.
pub type RowKey = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The rows a manager reads in `compare.md` (after those the SLOs judge).
pub const HEADLINE_ROWS: &[RowKey] = &[
    ("build_queue_wait_seconds", "p95", &[]),
    ("build_queue_wait_seconds", "mean", &[]),
    ("api_latency_seconds", "p95", &[("class", "dashboard")]),
    ("api_latency_seconds", "p95", &[("class", "agent")]),
    ("coderd_cpu_utilization", "peak", &[("replica", "all")]),
    ("database_cpu_utilization", "peak", &[]),
    ("connections_dropped_total", "total", &[("kind", "all")]),
    ("interruptions_total", "total", &[]),
];

/// A row of `compare.md` in plain words, by metric: `{stat}` reads the
/// statistic and `{class}` the row's `class` label. Other metrics read
/// `metric{labels} stat`.
pub const ROW_WORDS: &[(&str, &str)] = &[
    ("build_queue_wait_seconds", "build queue wait ({stat})"),
    ("api_latency_seconds", "{class} API latency ({stat})"),
    ("coderd_cpu_utilization", "coderd CPU in the busiest bucket"),
    (
        "database_cpu_utilization",
        "database CPU in the busiest bucket",
    ),
    ("connections_dropped_total", "dropped connections"),
    ("interruptions_total", "interrupted sessions"),
];

/// A figure: one PNG, its panels one above the other.
#[derive(Clone, Copy, Debug)]
pub struct FigureSpec<L: 'static> {
    pub file: &'static str,
    /// The figure's title; `{scenario}` reads the scenario's name.
    pub title: &'static str,
    /// The x axis: time of day (`None`), or a number with this description.
    pub x_axis: Option<&'static str>,
    pub panels: &'static [PanelSpec<L>],
}

/// A panel: a title, what its y axis shows and where its lines come from.
/// A panel without data is left out, and a figure without panels.
#[derive(Clone, Copy, Debug)]
pub struct PanelSpec<L: 'static> {
    /// `{class}` (or another label key) reads the label value the lines select.
    pub title: &'static str,
    /// What the y axis shows, without the unit (the unit is the metric's).
    pub quantity: &'static str,
    /// The sources of the panel's lines, drawn in this order.
    pub lines: &'static [L],
}

/// The statistics of a metric a run's panel draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stats {
    /// Each of these.
    Each(&'static [&'static str]),
    /// The first of these the run has.
    FirstOf(&'static [&'static str]),
}

/// How a line is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
}

/// Lines of a run's figure: one per series (statistic and label set) of a
/// metric, the mean across replications with its 95% band. Lines are
/// coloured by label set across the figure (by statistic when there are no
/// labels); with labels, statistics after the first are dashed.
#[derive(Clone, Copy, Debug)]
pub struct SeriesLines {
    pub metric: &'static str,
    pub stats: Stats,
    /// Each replication's series is summed up over time before the mean.
    pub cumulative: bool,
    /// Every line's label starts with this word, and every line has this dash.
    pub prefix: Option<(&'static str, Dash)>,
    /// The label of the series without labels (by default the metric's name).
    pub unlabelled: Option<&'static str>,
    /// Draw the scenario's SLOs on this metric and the drawn statistics (the
    /// panel keeps those of its first source that has data).
    pub slos: bool,
}

const fn series(metric: &'static str, stats: Stats) -> SeriesLines {
    SeriesLines {
        metric,
        stats,
        cumulative: false,
        prefix: None,
        unlabelled: None,
        slos: true,
    }
}

/// Which label sets of a metric an overlay line folds together.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LabelSel {
    /// Every label set.
    Any,
    /// Only the series without labels.
    Unlabelled,
    /// The label sets with `key` = `value`.
    Is(&'static str, &'static str),
    /// The label sets with `key` = the value the first SLO on the metric
    /// names, else `default`.
    Judged {
        key: &'static str,
        default: &'static str,
    },
}

/// A line per architecture in a `capsim compare` figure: per bucket, the
/// series of `metric` and `stat` that `labels` selects, folded into one value
/// (`mean`, `total`, `max`), then the mean across replications.
#[derive(Clone, Copy, Debug)]
pub struct ArchLine {
    pub metric: &'static str,
    pub stat: &'static str,
    pub labels: LabelSel,
    pub fold: &'static str,
    /// Each replication's folded series is summed up over time first.
    pub cumulative: bool,
    /// Draw the SLOs on `metric` with this (summary) statistic.
    pub slo_stat: Option<&'static str>,
}

const fn arch(
    metric: &'static str,
    stat: &'static str,
    labels: LabelSel,
    fold: &'static str,
    slo_stat: Option<&'static str>,
) -> ArchLine {
    ArchLine {
        metric,
        stat,
        labels,
        fold,
        cumulative: false,
        slo_stat,
    }
}

/// The resources whose sizes a growth panel draws, by `Resource::name`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Resources {
    Only(&'static str),
    AllBut(&'static str),
}

impl Resources {
    pub fn contains(self, name: &str) -> bool {
        match self {
            Resources::Only(r) => name == r,
            Resources::AllBut(r) => name != r,
        }
    }
}

/// A line of the `capsim size --growth` figure, against the user count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GrowthLine {
    /// The monthly cost of the recommended architecture.
    Cost,
    /// The recommended value of each of these resources, one line each.
    Sizes(Resources),
}

/// Panels whose quantity is one of these draw their y axis on a log scale,
/// so that a 13 ms dashboard p95 and a 3 s reconnect storm both read.
pub const LOG_QUANTITIES: &[&str] = &["latency"];

/// Figures (of a run and of `capsim compare`) that add, beside the whole
/// run, a zoom on the minutes around its main events (replica losses,
/// scale-downs, outages): drops, reconnects, latency and CPU per bucket,
/// where the whole-day view shows a spike one pixel wide.
pub const ZOOM_FIGURES: &[&str] = &["api.png", "api-latency.png", "connections.png", "cpu.png"];

/// Kinds of event a zoom panel is drawn around.
pub const ZOOM_EVENT_KINDS: &[&str] = &["replica-loss", "scale", "outage", "spike"];

/// The figures of a run's report.
pub const RUN_FIGURES: &[FigureSpec<SeriesLines>] = &[
    FigureSpec {
        file: "build-queue.png",
        title: "Build queue",
        x_axis: None,
        panels: &[
            PanelSpec {
                title: "Build queue wait per bucket (p50, p95)",
                quantity: "wait",
                lines: &[series(
                    "build_queue_wait_seconds",
                    Stats::Each(&["p50", "p95"]),
                )],
            },
            PanelSpec {
                title: "Build queue length (time-weighted mean and max per bucket)",
                quantity: "jobs waiting",
                lines: &[series("build_queue_length", Stats::Each(&["mean", "max"]))],
            },
            PanelSpec {
                title: "Provisioner utilisation (busy daemons / daemons)",
                quantity: "utilisation",
                lines: &[series("provisioner_utilization", Stats::Each(&["mean"]))],
            },
        ],
    },
    FigureSpec {
        file: "api.png",
        title: "coderd API",
        x_axis: None,
        panels: &[
            PanelSpec {
                title: "API requests per second by class",
                quantity: "requests",
                lines: &[series(
                    "api_requests_per_second",
                    Stats::FirstOf(&["mean", "rate"]),
                )],
            },
            PanelSpec {
                title: "API latency p50 by class",
                quantity: "latency",
                lines: &[series("api_latency_seconds", Stats::Each(&["p50"]))],
            },
            PanelSpec {
                title: "API latency p95 by class",
                quantity: "latency",
                lines: &[series("api_latency_seconds", Stats::Each(&["p95"]))],
            },
            PanelSpec {
                title: "API latency p99 by class",
                quantity: "latency",
                lines: &[series("api_latency_seconds", Stats::Each(&["p99"]))],
            },
        ],
    },
    FigureSpec {
        file: "connections.png",
        title: "Connections, drops and reconnects",
        x_axis: None,
        panels: &[
            PanelSpec {
                title: "Active connections by kind (mean per bucket)",
                quantity: "connections",
                lines: &[series("connections_active", Stats::Each(&["mean"]))],
            },
            PanelSpec {
                title: "Connection drops (solid) and reconnects (dashed) per bucket, by kind",
                quantity: "connections",
                lines: &[
                    SeriesLines {
                        prefix: Some(("drops", Dash::Solid)),
                        ..series("connections_dropped_total", Stats::Each(&["count"]))
                    },
                    SeriesLines {
                        prefix: Some(("reconnects", Dash::Dashed)),
                        ..series("reconnects_total", Stats::Each(&["count"]))
                    },
                ],
            },
            PanelSpec {
                title: "Cumulative user interruptions (sessions lost)",
                quantity: "interruptions",
                lines: &[SeriesLines {
                    cumulative: true,
                    // The unlabelled series is the total over connection kinds.
                    unlabelled: Some("all kinds"),
                    slos: false,
                    ..series("interruptions_total", Stats::Each(&["count"]))
                }],
            },
        ],
    },
    FigureSpec {
        file: "cpu.png",
        title: "CPU: coderd replicas and database",
        x_axis: None,
        panels: &[
            PanelSpec {
                title: "coderd CPU utilisation per replica (mean per bucket)",
                quantity: "CPU",
                lines: &[series("coderd_cpu_utilization", Stats::Each(&["mean"]))],
            },
            PanelSpec {
                title: "Database CPU utilisation (mean per bucket)",
                quantity: "CPU",
                lines: &[series("database_cpu_utilization", Stats::Each(&["mean"]))],
            },
            PanelSpec {
                title: "coderd replicas (mean per bucket)",
                quantity: "replicas",
                lines: &[series("coderd_replicas", Stats::Each(&["mean"]))],
            },
        ],
    },
];

/// The overlaid figures of `capsim compare` (one line per architecture).
pub const COMPARE_FIGURES: &[FigureSpec<ArchLine>] = &[
    FigureSpec {
        file: "build-queue.png",
        title: "Build queue",
        x_axis: None,
        panels: &[
            PanelSpec {
                title: "Build queue wait p95 per bucket",
                quantity: "wait",
                lines: &[arch(
                    "build_queue_wait_seconds",
                    "p95",
                    LabelSel::Unlabelled,
                    "mean",
                    Some("p95"),
                )],
            },
            PanelSpec {
                title: "Build queue length (mean per bucket)",
                quantity: "jobs waiting",
                lines: &[arch(
                    "build_queue_length",
                    "mean",
                    LabelSel::Unlabelled,
                    "mean",
                    Some("mean"),
                )],
            },
        ],
    },
    FigureSpec {
        file: "api-latency.png",
        title: "coderd API latency",
        x_axis: None,
        panels: &[
            PanelSpec {
                title: "API latency p95 per bucket, {class} requests",
                quantity: "latency",
                lines: &[arch(
                    "api_latency_seconds",
                    "p95",
                    LabelSel::Judged {
                        key: "class",
                        default: "dashboard",
                    },
                    "mean",
                    Some("p95"),
                )],
            },
            PanelSpec {
                title: "API latency p95 per bucket, agent API calls",
                quantity: "latency",
                lines: &[arch(
                    "api_latency_seconds",
                    "p95",
                    LabelSel::Is("class", "agent"),
                    "mean",
                    None,
                )],
            },
            PanelSpec {
                title: "API latency p95 per bucket, connection set-up (reconnect storms show here)",
                quantity: "latency",
                lines: &[arch(
                    "api_latency_seconds",
                    "p95",
                    LabelSel::Is("class", "connect"),
                    "mean",
                    None,
                )],
            },
        ],
    },
    FigureSpec {
        file: "connections.png",
        title: "Connection drops and interruptions",
        x_axis: None,
        panels: &[
            PanelSpec {
                title: "Connections dropped per bucket (all kinds, agents included)",
                quantity: "connections",
                lines: &[arch(
                    "connections_dropped_total",
                    "count",
                    LabelSel::Any,
                    "total",
                    Some("total"),
                )],
            },
            PanelSpec {
                title: "Cumulative user interruptions (sessions lost)",
                quantity: "interruptions",
                lines: &[ArchLine {
                    cumulative: true,
                    ..arch(
                        "interruptions_total",
                        "count",
                        LabelSel::Unlabelled,
                        "total",
                        Some("total"),
                    )
                }],
            },
        ],
    },
    FigureSpec {
        file: "cpu.png",
        title: "CPU: coderd and database",
        x_axis: None,
        panels: &[
            PanelSpec {
                title: "coderd CPU utilisation, mean over replicas (mean per bucket)",
                quantity: "CPU",
                lines: &[arch(
                    "coderd_cpu_utilization",
                    "mean",
                    LabelSel::Any,
                    "mean",
                    Some("mean"),
                )],
            },
            PanelSpec {
                title: "Database CPU utilisation (mean per bucket)",
                quantity: "CPU",
                lines: &[arch(
                    "database_cpu_utilization",
                    "mean",
                    LabelSel::Unlabelled,
                    "mean",
                    Some("mean"),
                )],
            },
        ],
    },
];

/// The figure of `capsim size --growth`: cost and recommended sizes against
/// the user count.
pub const GROWTH_FIGURE: FigureSpec<GrowthLine> = FigureSpec {
    file: "growth.png",
    title: "Growth: {scenario}",
    x_axis: Some("users"),
    panels: &[
        PanelSpec {
            title: "Monthly cost of the recommended architecture",
            quantity: "cost",
            lines: &[GrowthLine::Cost],
        },
        // Provisioner counts run to the hundreds: they get their own panel so
        // that replicas and vCPU stay legible.
        PanelSpec {
            title: "Recommended coderd and database sizes",
            quantity: "size",
            lines: &[GrowthLine::Sizes(Resources::AllBut("provisioners"))],
        },
        PanelSpec {
            title: "Recommended provisioner daemons",
            quantity: "size",
            lines: &[GrowthLine::Sizes(Resources::Only("provisioners"))],
        },
    ],
};

/// A row of `compare.md` in plain words ([`ROW_WORDS`]); `class` is the
/// row's `class` label, `labels` its labels braced.
pub fn row_words(metric: &str, stat: &str, class: &str, labels: &str) -> String {
    let words = match ROW_WORDS.iter().find(|(m, _)| *m == metric) {
        Some((_, w)) => w.replace("{stat}", stat).replace("{class}", class),
        None => format!("{metric}{labels} {stat}"),
    };
    words.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files<L>(figs: &[FigureSpec<L>]) -> Vec<&'static str> {
        figs.iter().map(|f| f.file).collect()
    }

    #[test]
    fn every_figure_has_a_unique_file_and_panels_with_lines() {
        let growth = [GROWTH_FIGURE];
        for names in [files(RUN_FIGURES), files(COMPARE_FIGURES), files(&growth)] {
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "{names:?}");
            assert!(names.iter().all(|f| f.ends_with(".png")), "{names:?}");
        }
        let panels = RUN_FIGURES
            .iter()
            .flat_map(|f| f.panels.iter().map(|p| (p.title, p.lines.len())))
            .chain(
                COMPARE_FIGURES
                    .iter()
                    .flat_map(|f| f.panels.iter().map(|p| (p.title, p.lines.len()))),
            )
            .chain(
                GROWTH_FIGURE
                    .panels
                    .iter()
                    .map(|p| (p.title, p.lines.len())),
            );
        for (title, n) in panels {
            assert!(n > 0 && !title.is_empty(), "{title}");
        }
    }

    #[test]
    fn a_title_placeholder_names_a_label_the_lines_select() {
        for p in COMPARE_FIGURES.iter().flat_map(|f| f.panels) {
            for l in p.lines {
                if let LabelSel::Judged { key, .. } = l.labels {
                    assert!(p.title.contains(&format!("{{{key}}}")), "{}", p.title);
                } else {
                    assert!(!p.title.contains('{'), "{}", p.title);
                }
            }
        }
    }

    #[test]
    fn rows_in_plain_words() {
        assert_eq!(
            row_words("api_latency_seconds", "p95", "agent", "{class=agent}"),
            "agent API latency (p95)"
        );
        assert_eq!(
            row_words("api_latency_seconds", "p95", "", ""),
            "API latency (p95)"
        );
        assert_eq!(
            row_words("build_queue_wait_seconds", "mean", "", ""),
            "build queue wait (mean)"
        );
        assert_eq!(
            row_words("reconnects_total", "total", "", "{kind=ssh}"),
            "reconnects_total{kind=ssh} total"
        );
        assert!(Resources::AllBut("provisioners").contains("coderd_vcpu"));
        assert!(!Resources::Only("provisioners").contains("coderd_vcpu"));
    }
}
