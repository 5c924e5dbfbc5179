//! What the outputs show, as data: the statistics of the summary tables,
//! the headline rows of `compare.md` and their words, and every figure
//! (which metric, statistic and labels go in which panel, titles, axis
//! quantities, SLO lines) of a run's report, of `capsim compare` and of
//! `capsim size --growth`.
//!
//! The code that draws a figure reads its description here; a new panel is
//! a change to these tables only. Metric names are the model's constants
//! (`model::metric_names`, imported as `m`), never spelled again here, in
//! `compare/` or in `prom/` (a tidy test checks).

use crate::model::metric_names as m;

/// The statistics shown side by side in `batch-summary.csv`, in the key
/// results of `report.md` and in the first rows of `capsim compare` (every
/// label set of each that a run has).
pub const KEY_METRICS: &[(&str, &[&str])] = &[
    (m::BUILD_QUEUE_WAIT_SECONDS, &["mean", "p95", "p99"]),
    (m::BUILD_QUEUE_WAIT_PROBABILITY, &["mean"]),
    (m::BUILD_QUEUE_LENGTH, &["mean", "max"]),
    (m::PROVISIONER_UTILIZATION, &["mean"]),
    (m::BUILDS_COMPLETED_TOTAL, &["total"]),
    (m::BUILDS_FAILED_TOTAL, &["total"]),
    (m::API_LATENCY_SECONDS, &["p95", "p99"]),
    (m::API_REQUESTS_PER_SECOND, &["mean"]),
    (m::CODERD_CPU_UTILIZATION, &["mean", "max"]),
    (m::DATABASE_CPU_UTILIZATION, &["mean", "max"]),
    (m::DATABASE_WRITES_PER_SECOND, &["mean"]),
    (m::CODERD_REPLICAS, &["max"]),
    (m::CONNECTIONS_DROPPED_TOTAL, &["total"]),
    (m::INTERRUPTIONS_TOTAL, &["total"]),
    (m::WORKSPACE_START_SECONDS, &["p50", "p95"]),
    (m::WORKSPACE_NODE_WAIT_SECONDS, &["p95"]),
    (m::WORKSPACE_NODE_TIMEOUTS_TOTAL, &["total"]),
    (m::WORKSPACE_NODES, &["mean", "max"]),
];

/// Every metric in plain words, for people (stdout, `report.md`, plots):
/// `{class}` and `{kind}` read the label of that name (in words, see
/// [`label_words`]); other labels follow in parentheses.
pub const METRIC_WORDS: &[(&str, &str)] = &[
    (m::BUILD_QUEUE_WAIT_SECONDS, "build queue wait"),
    (m::BUILD_QUEUE_WAIT_PROBABILITY, "builds that waited"),
    (m::BUILD_QUEUE_LENGTH, "builds waiting"),
    (m::BUILDS_CREATED_TOTAL, "builds created"),
    (m::BUILDS_STARTED_TOTAL, "builds started"),
    (m::BUILDS_COMPLETED_TOTAL, "builds completed"),
    (m::BUILDS_FAILED_TOTAL, "builds failed"),
    (m::BUILDS_CANCELLED_TOTAL, "builds cancelled"),
    (
        m::BUILDS_CAPACITY_FAILED_TOTAL,
        "workspace starts refused (cluster full)",
    ),
    (m::PROVISIONER_UTILIZATION, "provisioner utilisation"),
    (m::PROVISIONER_BUSY_DAEMONS, "busy provisioner daemons"),
    (m::PROVISIONER_DAEMONS, "provisioner daemons"),
    (m::PROVISIONER_CPU_CORES, "provisioner CPU"),
    (m::API_REQUESTS_PER_SECOND, "{class} API requests"),
    (m::API_LATENCY_SECONDS, "{class} API latency"),
    (m::API_ERRORS_TOTAL, "API errors"),
    (m::API_SUCCESS_RATIO, "{class} API success ratio"),
    (m::CODERD_AVAILABLE, "coderd available"),
    (m::CODERD_CPU_UTILIZATION, "coderd CPU"),
    (m::CODERD_CPU_CORES, "coderd CPU in use"),
    (m::CODERD_CPU_BUSY_SECONDS_TOTAL, "coderd CPU busy time"),
    (m::CODERD_CPU_WORK_SECONDS_TOTAL, "coderd CPU work"),
    (m::CODERD_MEMORY_BYTES, "coderd memory"),
    (m::CODERD_CONNECTIONS, "connections on coderd"),
    (m::CODERD_WEBSOCKETS, "websockets"),
    (m::CODERD_REPLICAS, "coderd replicas"),
    (m::DATABASE_CPU_UTILIZATION, "database CPU"),
    (m::DATABASE_WRITES_PER_SECOND, "database writes"),
    (
        m::DATABASE_DISK_WRITE_OPS_PER_SECOND,
        "database disk writes",
    ),
    (m::PERIODIC_DB_QUERIES_TOTAL, "periodic database queries"),
    (m::PERIODIC_DB_CPU_SECONDS_TOTAL, "periodic database CPU"),
    (m::AGENT_METADATA_CALLS_PER_SECOND, "agent metadata calls"),
    (m::AGENT_METADATA_ITEMS_PER_SECOND, "agent metadata items"),
    (m::AGENT_METADATA_BYTES_PER_SECOND, "agent metadata sent"),
    (m::CONNECTIONS_ACTIVE, "open {kind} connections"),
    (m::CONNECTIONS_OPENED_TOTAL, "{kind} connections opened"),
    (m::CONNECTIONS_CLOSED_TOTAL, "{kind} connections closed"),
    (m::CONNECTIONS_DROPPED_TOTAL, "dropped {kind} connections"),
    (m::RECONNECTS_TOTAL, "{kind} reconnects"),
    (m::INTERRUPTIONS_TOTAL, "interrupted {kind} sessions"),
    (m::USER_SESSIONS_TOTAL, "user sessions"),
    (m::USERS_PRESENT, "users present"),
    (m::WORKSPACES_RUNNING, "running workspaces"),
    (m::PROXY_CPU_UTILIZATION, "proxy CPU"),
    (m::WORKSPACE_NODES, "workspace nodes"),
    (m::WORKSPACE_NODE_HOURS_TOTAL, "workspace node-hours"),
    (
        m::WORKSPACE_POOL_CPU_REQUESTED_VCPU,
        "workspace CPU requested",
    ),
    (m::WORKSPACE_POOL_CPU_USED_VCPU, "workspace CPU used"),
    (
        m::WORKSPACE_POOL_MEMORY_REQUESTED_BYTES,
        "workspace memory requested",
    ),
    (m::WORKSPACE_POOL_MEMORY_USED_BYTES, "workspace memory used"),
    (m::WORKSPACE_POOL_UTILIZATION, "node pool utilisation"),
    (
        m::WORKSPACES_WAITING_FOR_NODE,
        "workspaces waiting for a node",
    ),
    (m::WORKSPACE_NODE_WAIT_SECONDS, "wait for a node"),
    (m::WORKSPACE_START_SECONDS, "workspace start time"),
    (
        m::WORKSPACE_NODE_TIMEOUTS_TOTAL,
        "starts failed waiting for a node",
    ),
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
    (m::BUILD_QUEUE_WAIT_SECONDS, &[], &["mean", "p95", "p99"]),
    (m::BUILDS_COMPLETED_TOTAL, &[], &["total"]),
    (m::BUILDS_FAILED_TOTAL, &[], &["total"]),
    (m::PROVISIONER_UTILIZATION, &[], &["mean", "peak"]),
    (
        m::API_LATENCY_SECONDS,
        &[("class", "dashboard")],
        &["p50", "p95", "p99"],
    ),
    (
        m::API_LATENCY_SECONDS,
        &[("class", "agent")],
        &["p50", "p95", "p99"],
    ),
    (
        m::API_LATENCY_SECONDS,
        &[("class", "connect")],
        &["p50", "p95", "p99"],
    ),
    (
        m::API_REQUESTS_PER_SECOND,
        &[("class", "total")],
        &["mean", "max"],
    ),
    (m::API_ERRORS_TOTAL, &[], &["total"]),
    (
        m::CODERD_CPU_UTILIZATION,
        &[("replica", "*")],
        &["mean", "peak"],
    ),
    (m::DATABASE_CPU_UTILIZATION, &[], &["mean", "peak"]),
    (m::CODERD_REPLICAS, &[], &["mean", "max"]),
    (m::USERS_PRESENT, &[], &["peak"]),
    (m::CONNECTIONS_DROPPED_TOTAL, &[("kind", "*")], &["total"]),
    (m::INTERRUPTIONS_TOTAL, &[], &["total"]),
];

/// Statistics `capsim compare` shows besides [`KEY_METRICS`]: the busiest
/// bucket of the CPUs.
pub const COMPARE_EXTRA_METRICS: &[(&str, &[&str])] = &[
    (m::CODERD_CPU_UTILIZATION, &["peak"]),
    (m::DATABASE_CPU_UTILIZATION, &["peak"]),
];

/// Metrics that `capsim compare` also sums over `kind`, in a `kind=all` row.
pub const SUM_OVER_KINDS: &[&str] = &[m::CONNECTIONS_DROPPED_TOTAL];

/// A row of `capsim compare`: metric, statistic and the exact labels it has.
pub type RowKey = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The rows a manager reads in `compare.md` (after those the SLOs judge).
pub const HEADLINE_ROWS: &[RowKey] = &[
    (m::BUILD_QUEUE_WAIT_SECONDS, "p95", &[]),
    (m::BUILD_QUEUE_WAIT_SECONDS, "mean", &[]),
    (m::API_LATENCY_SECONDS, "p95", &[("class", "dashboard")]),
    (m::API_LATENCY_SECONDS, "p95", &[("class", "agent")]),
    (m::CODERD_CPU_UTILIZATION, "peak", &[("replica", "all")]),
    (m::DATABASE_CPU_UTILIZATION, "peak", &[]),
    (m::CONNECTIONS_DROPPED_TOTAL, "total", &[("kind", "all")]),
    (m::INTERRUPTIONS_TOTAL, "total", &[]),
    (m::WORKSPACE_START_SECONDS, "p95", &[]),
    (m::WORKSPACE_NODE_TIMEOUTS_TOTAL, "total", &[]),
];

/// The figure of `capsim size`: every candidate's monthly cost against
/// each SLO's 95% bound (one panel per SLO, then the policy's CPU ceilings),
/// coloured by verdict, with the front and the target
/// (`report::scatter`). `{users}` is set with `--growth`.
pub const CANDIDATES_FIGURE: (&str, &str) = ("candidates{users}.png", "Candidates: {scenario}");
/// The verdicts of a candidate, in the colours' order.
pub const CANDIDATE_VERDICTS: [&str; 5] = [
    "pass",
    "fails SLO",
    "fails policy",
    "fails N-1 drill",
    "saturated",
];

/// A row of `compare.md` in plain words, by metric: `{stat}` reads the
/// statistic and `{class}` the row's `class` label. Other metrics read
/// `metric{labels} stat`.
pub const ROW_WORDS: &[(&str, &str)] = &[
    (m::BUILD_QUEUE_WAIT_SECONDS, "build queue wait ({stat})"),
    (m::API_LATENCY_SECONDS, "{class} API latency ({stat})"),
    (
        m::CODERD_CPU_UTILIZATION,
        "coderd CPU in the busiest bucket",
    ),
    (
        m::DATABASE_CPU_UTILIZATION,
        "database CPU in the busiest bucket",
    ),
    (m::CONNECTIONS_DROPPED_TOTAL, "dropped connections"),
    (m::INTERRUPTIONS_TOTAL, "interrupted sessions"),
    (m::WORKSPACE_START_SECONDS, "workspace start time ({stat})"),
    (
        m::WORKSPACE_NODE_TIMEOUTS_TOTAL,
        "starts failed waiting for a node",
    ),
    (m::WORKSPACE_NODES, "workspace nodes ({stat})"),
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
                    m::BUILD_QUEUE_WAIT_SECONDS,
                    Stats::Each(&["p50", "p95"]),
                )],
            },
            PanelSpec {
                title: "Build queue length (time-weighted mean and max per bucket)",
                quantity: "jobs waiting",
                lines: &[series(m::BUILD_QUEUE_LENGTH, Stats::Each(&["mean", "max"]))],
            },
            PanelSpec {
                title: "Provisioner utilisation (busy daemons / daemons)",
                quantity: "utilisation",
                lines: &[series(m::PROVISIONER_UTILIZATION, Stats::Each(&["mean"]))],
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
                    m::API_REQUESTS_PER_SECOND,
                    Stats::FirstOf(&["mean", "rate"]),
                )],
            },
            PanelSpec {
                title: "API latency p50 by class",
                quantity: "latency",
                lines: &[series(m::API_LATENCY_SECONDS, Stats::Each(&["p50"]))],
            },
            PanelSpec {
                title: "API latency p95 by class",
                quantity: "latency",
                lines: &[series(m::API_LATENCY_SECONDS, Stats::Each(&["p95"]))],
            },
            PanelSpec {
                title: "API latency p99 by class",
                quantity: "latency",
                lines: &[series(m::API_LATENCY_SECONDS, Stats::Each(&["p99"]))],
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
                lines: &[series(m::CONNECTIONS_ACTIVE, Stats::Each(&["mean"]))],
            },
            PanelSpec {
                title: "Connection drops (solid) and reconnects (dashed) per bucket, by kind",
                quantity: "connections",
                lines: &[
                    SeriesLines {
                        prefix: Some(("drops", Dash::Solid)),
                        ..series(m::CONNECTIONS_DROPPED_TOTAL, Stats::Each(&["count"]))
                    },
                    SeriesLines {
                        prefix: Some(("reconnects", Dash::Dashed)),
                        ..series(m::RECONNECTS_TOTAL, Stats::Each(&["count"]))
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
                    ..series(m::INTERRUPTIONS_TOTAL, Stats::Each(&["count"]))
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
                lines: &[series(m::CODERD_CPU_UTILIZATION, Stats::Each(&["mean"]))],
            },
            PanelSpec {
                title: "Database CPU utilisation (mean per bucket)",
                quantity: "CPU",
                lines: &[series(m::DATABASE_CPU_UTILIZATION, Stats::Each(&["mean"]))],
            },
            PanelSpec {
                title: "coderd replicas (mean per bucket)",
                quantity: "replicas",
                lines: &[series(m::CODERD_REPLICAS, Stats::Each(&["mean"]))],
            },
        ],
    },
    NODES_FIGURE,
];

/// Run figures drawn only when the run has the metric (a part of the
/// deployment the figure is about): (file, metric).
pub const FIGURE_REQUIRES: &[(&str, &str)] = &[("nodes.png", m::WORKSPACE_NODES)];

/// The figure of a run with node pools (`nodes.png`): the nodes and their
/// utilisation over the day next to the users present.
const NODES_FIGURE: FigureSpec<SeriesLines> = FigureSpec {
    file: "nodes.png",
    title: "Workspace nodes",
    x_axis: None,
    panels: &[
        PanelSpec {
            title: "Users present and running workspaces (mean per bucket)",
            quantity: "users",
            lines: &[
                SeriesLines {
                    unlabelled: Some("users present"),
                    ..series(m::USERS_PRESENT, Stats::Each(&["mean"]))
                },
                SeriesLines {
                    unlabelled: Some("running workspaces"),
                    ..series(m::WORKSPACES_RUNNING, Stats::Each(&["mean"]))
                },
            ],
        },
        PanelSpec {
            title: "Workspace nodes by pool, starting or ready (mean per bucket)",
            quantity: "nodes",
            lines: &[series(m::WORKSPACE_NODES, Stats::Each(&["mean"]))],
        },
        PanelSpec {
            title: "Node pool utilisation: used CPU or memory over allocatable (mean per bucket)",
            quantity: "utilisation",
            lines: &[series(
                m::WORKSPACE_POOL_UTILIZATION,
                Stats::Each(&["mean"]),
            )],
        },
        PanelSpec {
            title: "Workspace start time (queue wait + build + node wait) per bucket (p50, p95)",
            quantity: "start time",
            lines: &[series(
                m::WORKSPACE_START_SECONDS,
                Stats::Each(&["p50", "p95"]),
            )],
        },
    ],
};

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
                    m::BUILD_QUEUE_WAIT_SECONDS,
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
                    m::BUILD_QUEUE_LENGTH,
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
                    m::API_LATENCY_SECONDS,
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
                    m::API_LATENCY_SECONDS,
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
                    m::API_LATENCY_SECONDS,
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
                    m::CONNECTIONS_DROPPED_TOTAL,
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
                        m::INTERRUPTIONS_TOTAL,
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
                    m::CODERD_CPU_UTILIZATION,
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
                    m::DATABASE_CPU_UTILIZATION,
                    "mean",
                    LabelSel::Unlabelled,
                    "mean",
                    Some("mean"),
                )],
            },
        ],
    },
    FigureSpec {
        file: "nodes.png",
        title: "Workspace nodes",
        x_axis: None,
        panels: &[
            PanelSpec {
                title: "Workspace nodes, all pools (mean per bucket)",
                quantity: "nodes",
                lines: &[arch(
                    m::WORKSPACE_NODES,
                    "mean",
                    LabelSel::Any,
                    "total",
                    None,
                )],
            },
            PanelSpec {
                title: "Workspace start time p95 per bucket (queue wait + build + node wait)",
                quantity: "start time",
                lines: &[arch(
                    m::WORKSPACE_START_SECONDS,
                    "p95",
                    LabelSel::Unlabelled,
                    "mean",
                    Some("p95"),
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

/// Some line of [`RUN_FIGURES`] sums `metric` up over time.
pub fn is_cumulative(metric: &str) -> bool {
    RUN_FIGURES
        .iter()
        .flat_map(|f| f.panels)
        .flat_map(|p| p.lines)
        .any(|l| l.cumulative && l.metric == metric)
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
