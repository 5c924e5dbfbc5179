//! The deployment model through the real engine: the 2,000-user scale test
//! for one simulated hour, and a 10,000-user working day.
//!
//! `cargo bench --bench model`. Each reports simulated seconds per wall
//! second through divan's item counter (items = simulated seconds).

use capsim::scenario::load_with_overrides;
use divan::counter::ItemsCount;
use std::path::PathBuf;

fn main() {
    divan::main();
}

fn path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn short_in_test_mode(full: &str) -> String {
    // `cargo test --all-targets` runs benches once in test mode: keep that quick.
    if std::env::args().any(|a| a == "--test") {
        "5m".into()
    } else {
        full.into()
    }
}

#[divan::bench(sample_count = 3)]
fn scaletest_2000_users_1h(b: divan::Bencher) {
    let d = short_in_test_mode("60m");
    let s = load_with_overrides(
        &path("scenarios/scale-tests/traffic-2000-users.toml"),
        &[("duration".into(), toml::Value::String(d))],
    )
    .expect("scenario");
    let sim_s = s.duration.as_secs_f64() as usize;
    b.counter(ItemsCount::new(sim_s))
        .bench(|| capsim::simulate(&s, s.seed));
}

#[divan::bench(sample_count = 1)]
fn working_day_10000_users(b: divan::Bencher) {
    let d = short_in_test_mode("24h");
    let s = load_with_overrides(
        &path("benches/scenarios/working-day-10000.toml"),
        &[("duration".into(), toml::Value::String(d))],
    )
    .expect("scenario");
    let sim_s = s.duration.as_secs_f64() as usize;
    b.counter(ItemsCount::new(sim_s))
        .bench(|| capsim::simulate(&s, s.seed));
}
