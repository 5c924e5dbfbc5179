//! Scenarios shared by the tests of `capsim compare` and `capsim size`.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};

/// A steady-state deployment of one coderd replica of `vcpu` vCPU (64 GB,
/// so never out of memory): `users` users each with a dashboard open all
/// the time, every workspace running, all SSH and IDE traffic peer-to-peer.
/// `extra` is appended (database size, SLOs). Written to `dir/steady.toml`.
pub fn steady_dashboards(
    dir: &Path,
    seed: u64,
    duration: &str,
    users: u32,
    extra: &str,
) -> PathBuf {
    let model = crate::foundation_support::toml_str(&crate::foundation_support::model_path());
    crate::foundation_support::write(
        dir,
        "steady.toml",
        &format!(
            "name = \"steady-dashboards\"\nmodel = {model}\nseed = {seed}\nduration = \"{duration}\"\nwarmup = \"5m\"\nbucket = \"5m\"\n\
             [deployment.coderd]\nreplicas = 1\nvcpu = 1\nram = \"64GB\"\nbuiltin_provisioners = 0\n\
             [deployment.provisioners]\ncount = 20\n\
             [[workload.templates]]\nname = \"t\"\nbuild_time = {{ dist = \"exponential\", mean = \"60s\" }}\n\
             [workload.users]\ncount = {users}\nmode = \"steady\"\nactive_fraction = 1.0\np2p_fraction = 1.0\nworkspaces_running_at_start = true\n\
             [workload.connections.dashboard]\nper_user = 1.0\n{extra}"
        ),
    )
}
