//! Outputs around the core: the text table, and the report folder of a run
//! (`summary.json`, `summary.csv`, `timeseries.csv`, PNG plots, `report.md`).

pub mod catalogue;
pub mod cost;
pub mod csv;
pub mod events;
pub mod markdown;
pub mod plot;
pub mod scatter;
pub mod series;
pub mod settings;
pub mod text;

use crate::result::{Replications, RunResult, Summary, find_for_slo};
use crate::scenario::{Scenario, Slo};
use anyhow::Context;
use series::{AggTimeSeries, SeriesFold};
use std::path::Path;

/// The replications of one scenario folded, one at a time and in
/// replication order, into everything its summary, its stored rows and its
/// report need: each [`RunResult`] can be dropped as soon as it is added, so
/// what a run holds does not grow with its replications' time series.
#[derive(Debug, Default)]
pub struct Aggregate {
    replications: Replications,
    series: SeriesFold,
    /// The series the report's figures sum up over time
    /// ([`SeriesLines::cumulative`](catalogue::SeriesLines)), summed up per
    /// replication before they are folded.
    cumulative: SeriesFold,
}

/// An [`Aggregate`] when its last replication is in.
#[derive(Debug)]
pub struct Aggregated {
    pub replications: Replications,
    pub series: AggTimeSeries,
    pub cumulative: AggTimeSeries,
}

impl Aggregate {
    /// Fold `runs` (in replication order).
    pub fn of(runs: &[RunResult]) -> Aggregated {
        let mut a = Aggregate::default();
        for r in runs {
            a.add(r);
        }
        a.finish()
    }

    /// Add the next replication.
    pub fn add(&mut self, run: &RunResult) {
        self.replications.add(run);
        self.series.add(&run.series);
        self.cumulative.add_with(&run.series, |s| {
            catalogue::is_cumulative(&s.name).then(|| series::cumulative(&s.values))
        });
    }

    /// Replications added.
    pub fn len(&self) -> usize {
        self.replications.len()
    }
    pub fn is_empty(&self) -> bool {
        self.replications.is_empty()
    }

    pub fn finish(self) -> Aggregated {
        Aggregated {
            replications: self.replications,
            series: self.series.finish(),
            cumulative: self.cumulative.finish(),
        }
    }
}

/// For each summary statistic, the indices of the SLOs that judge it (the
/// statistic [`find_for_slo`] picks for each SLO).
pub fn slos_by_row(summary: &Summary, slos: &[Slo]) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); summary.metrics.len()];
    for (i, slo) in slos.iter().enumerate() {
        if let Some(m) = find_for_slo(slo, &summary.metrics)
            && let Some(row) = summary.metrics.iter().position(|x| std::ptr::eq(x, m))
        {
            rows[row].push(i);
        }
    }
    rows
}

/// A scenario name made safe as a folder name.
pub fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// Everything a report is made of.
pub struct ReportInput<'a> {
    pub scenario: &'a Scenario,
    pub summary: &'a Summary,
    /// The replications (metrics, notes, marks), in replication order.
    pub replications: &'a Replications,
    pub series: &'a AggTimeSeries,
    /// The series the figures sum up over time, summed up per replication
    /// and then aggregated ([`Aggregated::cumulative`]).
    pub cumulative: &'a AggTimeSeries,
    /// The run's id in the store (or the id it would have had with `--no-store`).
    pub run_id: &'a str,
    /// The run is in the store (`capsim runs show RUN_ID` finds it).
    pub stored: bool,
    pub started_at: &'a str,
    /// The monthly cost ([`crate::cost::cost_of_run`]), or why
    /// there is none; `None` without a price file.
    pub cost: Option<&'a Result<crate::cost::MonthlyCost, String>>,
}

/// The JSON summary contract as `summary.json`, `capsim run --format json`
/// and `capsim runs show --format json` write it: the [`Summary`] and,
/// when a price file applies, its `monthly_cost`.
#[derive(serde::Serialize)]
pub struct RunJson<'a> {
    #[serde(flatten)]
    pub summary: &'a Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_cost: Option<&'a crate::cost::MonthlyCost>,
}

impl<'a> RunJson<'a> {
    pub fn new(
        summary: &'a Summary,
        cost: Option<&'a Result<crate::cost::MonthlyCost, String>>,
    ) -> RunJson<'a> {
        RunJson {
            summary,
            monthly_cost: cost.and_then(|c| c.as_ref().ok()),
        }
    }
}

/// Write the report folder `dir`; returns the files written, in order.
pub fn write_report(dir: &Path, input: &ReportInput) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_string_pretty(&RunJson::new(input.summary, input.cost))? + "\n";
    std::fs::write(dir.join("summary.json"), json)
        .with_context(|| format!("cannot write {}", dir.join("summary.json").display()))?;
    let run = csv::RunColumns {
        run_id: input.run_id,
        scenario: &input.summary.scenario,
        seed: input.summary.seed,
        replications: input.summary.replications,
        start_time_of_day_s: input.scenario.start_time_of_day.as_secs_f64(),
    };
    csv::write_pair(
        dir,
        &run,
        input.summary,
        &input.scenario.slos,
        input.cost.and_then(|c| c.as_ref().ok()),
        input.series,
    )?;
    let plots = plot::write_plots(dir, input)?;
    let md = markdown::report(input, &plots);
    std::fs::write(dir.join("report.md"), md)
        .with_context(|| format!("cannot write {}", dir.join("report.md").display()))?;
    let mut files: Vec<String> = ["summary.json", "summary.csv", "timeseries.csv"]
        .map(String::from)
        .to_vec();
    files.extend(plots.into_iter().map(|p| p.file));
    files.push("report.md".into());
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn folder_names() {
        assert_eq!(safe_name("a/b c"), "a_b_c");
        assert_eq!(safe_name(".."), "_..");
    }
}
