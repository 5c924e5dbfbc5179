//! Engine benchmarks (divan). Run with `cargo bench --bench engine`.
//!
//! - `hold`: the event set alone under the classic hold model (pop the
//!   earliest event, push one at `now + Exp(mean 1 s)`) with 10, 10,000 and
//!   1,000,000 pending events, for every event set of the engine and for a
//!   bare `std::collections::BinaryHeap`, so the ratios show.
//! - `mmc_real`: M/M/c (c = 10, utilisation 0.8) through the real engine and
//!   provisioner model (`scenarios/build-queue/mmc.toml`, 20 h simulated).
//! - `mmc_bare`: the same model as a minimal `BinaryHeap` event loop.
//!
//! Throughput is printed as items/s: hold operations (one pop plus one push)
//! for `hold`, processed events for `mmc_*`.
//!
//! Under `cargo test` divan runs every benchmark once, so the set-up (a
//! million pushes and a short warm-up) must stay cheap.

use capsim::engine::events::{EventSet, HeapEventSet, LadderEventSet};
use capsim::engine::{Dist, SimTime, Streams};

#[path = "support/bare_mmc.rs"]
mod bare_mmc;
use bare_mmc::{MmcParams, mmc_bare};
use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

fn main() {
    divan::main();
}

// ---------------------------------------------------------------------------
// Hold model
// ---------------------------------------------------------------------------

/// A typical small event payload: an entity id, a kind and a word of data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Payload {
    entity: u32,
    kind: u32,
    data: u64,
}

/// `std::collections::BinaryHeap` used directly, with the same packed key.
#[derive(Default)]
struct StdBinaryHeap {
    heap: BinaryHeap<Reverse<(u128, Payload)>>,
    seq: u64,
}

impl EventSet<Payload> for StdBinaryHeap {
    #[inline]
    fn push(&mut self, time: SimTime, priority: u8, event: Payload) {
        let key = capsim::engine::events::pack_key(time, priority, self.seq);
        self.seq += 1;
        self.heap.push(Reverse((key, event)));
    }
    #[inline]
    fn pop(&mut self) -> Option<(SimTime, Payload)> {
        self.heap
            .pop()
            .map(|Reverse((k, e))| (capsim::engine::events::key_time(k), e))
    }
    fn peek_time(&mut self) -> Option<SimTime> {
        self.heap
            .peek()
            .map(|Reverse((k, _))| capsim::engine::events::key_time(*k))
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
}

/// Exp(mean 1 s) increments in nanoseconds, drawn once (so the benchmark
/// times the event set, not the random number generator) and cycled.
struct Gaps {
    table: Vec<u64>,
    i: usize,
}

impl Gaps {
    /// 4096 entries: 32 KiB, small enough to stay in cache.
    const LEN: usize = 4096;
    fn new() -> Gaps {
        let mut rng = Streams::new(1).stream("bench/hold", 0);
        let exp = Dist::exponential(1.0).expect("valid mean");
        let table = (0..Self::LEN)
            .map(|_| SimTime::from_secs_f64(exp.sample(&mut rng)).0)
            .collect();
        Gaps { table, i: 0 }
    }
    #[inline]
    fn next(&mut self) -> u64 {
        self.i = (self.i + 1) & (Self::LEN - 1);
        self.table[self.i]
    }
}

/// `n` hold operations: pop the earliest event, push it again later.
#[inline]
fn hold_ops<Q: EventSet<Payload>>(q: &mut Q, gaps: &mut Gaps, n: usize) {
    for _ in 0..n {
        let (now, mut e) = q.pop().expect("hold keeps the set full");
        e.data = e.data.wrapping_add(1);
        q.push(SimTime(now.0 + gaps.next()), (e.entity & 3) as u8, e);
    }
}

/// Push `pending` events at Exp(1 s) times. These are already the
/// stationary distribution of the residual times under hold
/// (memorylessness), so a short warm-up suffices.
fn fill<Q: EventSet<Payload>>(q: &mut Q, gaps: &mut Gaps, pending: usize) {
    for i in 0..pending {
        let e = Payload {
            entity: i as u32,
            kind: 0,
            data: 0,
        };
        q.push(SimTime(gaps.next()), 0, e);
    }
}

/// Hold operations per benchmark iteration.
const HOLD_OPS: usize = 10_000;

#[divan::bench(
    types = [StdBinaryHeap, HeapEventSet<Payload>, LadderEventSet<Payload>],
    args = [10, 10_000, 1_000_000],
    sample_count = 300,
)]
fn hold<Q: EventSet<Payload> + Default>(bencher: Bencher, pending: usize) {
    let mut q = Q::default();
    let mut gaps = Gaps::new();
    fill(&mut q, &mut gaps, pending);
    hold_ops(&mut q, &mut gaps, pending.min(200_000));
    bencher
        .counter(ItemsCount::new(HOLD_OPS))
        .bench_local(|| hold_ops(&mut q, &mut gaps, HOLD_OPS));
    black_box(q.len());
}

/// Whether divan was started by `cargo bench` (which passes `--bench`)
/// rather than by `cargo test`, which runs every benchmark once.
fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A million pending events over many operations, in one sample. The
/// ladder's cost varies within an epoch (a top-to-rung transfer of every
/// pending event, then cheap operations for about 14 million holds: the
/// pending events span about ln(10^6) = 14 simulated seconds and the clock
/// advances 1 us per hold), so this run spans two epochs, where `hold`
/// samples only the start of one. Skipped (10,000 operations) under
/// `cargo test`.
fn hold_long<Q: EventSet<Payload> + Default>(bencher: Bencher, ops: usize) {
    let ops = if benchmarking() { ops } else { 10_000 };
    let mut q = Q::default();
    let mut gaps = Gaps::new();
    fill(&mut q, &mut gaps, 1_000_000);
    bencher
        .counter(ItemsCount::new(ops))
        .bench_local(|| hold_ops(&mut q, &mut gaps, ops));
    black_box(q.len());
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn hold_long_ladder(bencher: Bencher) {
    hold_long::<LadderEventSet<Payload>>(bencher, 30_000_000);
}

/// The binary heap's cost does not vary over time: fewer operations suffice.
#[divan::bench(sample_count = 1, sample_size = 1)]
fn hold_long_std_binary_heap(bencher: Bencher) {
    hold_long::<StdBinaryHeap>(bencher, 3_000_000);
}

// ---------------------------------------------------------------------------
// M/M/c: real engine and model versus a bare event loop
// ---------------------------------------------------------------------------

/// The M/M/c scenario shortened to 20 simulated hours.
fn mmc_scenario() -> capsim::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/build-queue/mmc.toml");
    capsim::scenario::load_with_overrides(
        &path,
        &[("duration".into(), toml::Value::String("20h".into()))],
    )
    .expect("scenarios/build-queue/mmc.toml loads")
}

#[divan::bench]
fn mmc_real(bencher: Bencher) {
    let s = mmc_scenario();
    let events = capsim::simulate(&s, 1).events_processed;
    bencher
        .counter(ItemsCount::new(events))
        .bench_local(|| capsim::simulate(black_box(&s), black_box(1)));
}

#[divan::bench(name = "mmc_bare")]
fn mmc_bare_bench(bencher: Bencher) {
    let p = MmcParams::from_scenario(&mmc_scenario());
    let events = mmc_bare(&p, 1).events;
    bencher
        .counter(ItemsCount::new(events))
        .bench_local(|| mmc_bare(black_box(&p), black_box(1)).mean_wait_s);
}
