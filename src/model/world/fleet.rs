//! coderd's fleet-wide periodic work (`../shared/data/build-load-evidence.csv`):
//! jobs every replica runs on a timer over the whole fleet, so that their
//! database load grows with the number of workspaces and of replicas.
//!
//! - The autobuild executor (B10): every `autobuild_interval_s`, each ready
//!   replica runs `autobuild_queries_per_workspace` queries per eligible
//!   workspace: a stopped workspace with an autostart schedule, whose next
//!   start the executor works out on every tick (coder/coder#15082; running
//!   workspaces past their deadline are eligible only for the tick that
//!   stops them, which capsim leaves out).
//! - The deployment stats (B11): every `deployment_stats_interval_s`, each
//!   ready replica aggregates the agent stats rows of the last
//!   `deployment_stats_window_s` (GetDeploymentWorkspaceAgentStats): one
//!   query whose database CPU grows with the rows, `connected agents x
//!   window / stats interval`.
//!
//! Each run is one piece of internal work on its replica (coderd CPU, then
//! database CPU), counted in `periodic_db_queries_total{job}` and
//! `periodic_db_cpu_seconds_total{job}`.

use super::*;

/// The periodic jobs, in the order of their metrics (`job` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FleetJob {
    Autobuild,
    DeploymentStats,
}

impl FleetJob {
    pub(super) const ALL: [FleetJob; 2] = [FleetJob::Autobuild, FleetJob::DeploymentStats];

    /// The `job` label.
    pub(super) fn name(self) -> &'static str {
        match self {
            FleetJob::Autobuild => "autobuild",
            FleetJob::DeploymentStats => "deployment_stats",
        }
    }
}

impl World<'_> {
    /// The first tick of each periodic job, one interval after the start.
    pub(super) fn schedule_fleet_work(&mut self) {
        let k = self.costs;
        let a = SimTime::from_secs_f64(k.autobuild_interval_s);
        self.q.push(a, PRIO_CONTROL, Ev::Autobuild);
        let d = SimTime::from_secs_f64(k.deployment_stats_interval_s);
        self.q.push(d, PRIO_CONTROL, Ev::DeploymentStats);
    }

    /// Workspaces the autobuild executor looks at: stopped, with an
    /// autostart schedule (counted as states change: walking every user's
    /// record each tick cost 5% of a 2,000-user day in cache misses).
    fn autobuild_eligible(&self) -> f64 {
        debug_assert_eq!(
            self.autobuild_eligible as usize,
            self.users
                .iter()
                .filter(|x| x.autostart && x.ws == Ws::Stopped)
                .count()
        );
        f64::from(self.autobuild_eligible)
    }

    /// One periodic run on every ready replica: `cpu_ms` of coderd CPU,
    /// then `n_queries` queries with `db_ms` of database CPU.
    fn fleet_run(&mut self, now: SimTime, job: FleetJob, cpu_ms: f64, n_queries: f64, db_ms: f64) {
        for r in 0..self.replicas.len() {
            if !self.replicas[r].ready {
                continue;
            }
            if self.start_internal(now, r as u32, cpu_ms, n_queries, db_ms, 0.0) {
                self.rec
                    .add(self.ids.periodic_queries[job as usize], now, n_queries);
                self.rec
                    .add(self.ids.periodic_db_s[job as usize], now, db_ms / 1e3);
            }
        }
    }

    /// The autobuild executor's tick (B10).
    pub(super) fn autobuild_tick(&mut self, now: SimTime) {
        let k = self.costs;
        let n = self.autobuild_eligible();
        if n > 0.0 {
            let q = n * k.autobuild_queries_per_workspace;
            let cpu = n * k.coderd_cpu_ms_autobuild_workspace;
            self.fleet_run(now, FleetJob::Autobuild, cpu, q, q * k.db_cpu_ms_read_query);
        }
        let next = now + SimTime::from_secs_f64(k.autobuild_interval_s);
        self.q.push(next, PRIO_CONTROL, Ev::Autobuild);
    }

    /// The deployment-stats refresh (B11).
    pub(super) fn deployment_stats_tick(&mut self, now: SimTime) {
        let k = self.costs;
        let stats_s = self.s.workload.agents.stats_interval.as_secs_f64();
        let rows = self.n_connected_agents as f64 * k.deployment_stats_window_s / stats_s;
        if rows > 0.0 {
            let db = rows * k.db_cpu_ms_per_deployment_stats_row;
            self.fleet_run(now, FleetJob::DeploymentStats, 0.0, 1.0, db);
        }
        let next = now + SimTime::from_secs_f64(k.deployment_stats_interval_s);
        self.q.push(next, PRIO_CONTROL, Ev::DeploymentStats);
    }
}
