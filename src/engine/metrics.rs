//! Metrics streamed into fixed time buckets.
//!
//! A model registers counters, time-weighted gauges and histograms once, then
//! records into them by id on the hot path. When simulated time crosses a
//! bucket boundary the recorder closes the bucket: it appends one value per
//! series statistic to the time series and resets the bucket's state. Memory
//! is therefore one small state per registered series plus one `f64` per
//! series statistic per bucket: it never holds individual events.
//!
//! Records before the warm-up are discarded: buckets start at the end of the
//! warm-up and the run summary covers `[warmup, end)` only.
//!
//! The run loop moves the recorder's clock once per event ([`Recorder::advance`],
//! or [`Recorder::next_boundary`] and [`Recorder::close_open_bucket`] with
//! [`Recorder::end_warmup`]) before it handles the event: the recording
//! calls themselves (`add`, `tick`, `record`, `set`) neither close buckets
//! nor test the warm-up. What a counter, rate or histogram recorded before
//! the warm-up ended is dropped when it ends, which leaves exactly what
//! discarding each record would have left.

use super::time::SimTime;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

/// Label set of a series (sorted, so output order is deterministic).
pub type Labels = BTreeMap<String, String>;

/// Build a label set from pairs.
pub fn labels<const N: usize>(pairs: [(&str, &str); N]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CounterId(u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GaugeId(u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HistId(u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RateId(u32);
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SampleId(u32);

/// One statistic of one labelled metric, over the whole run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metric {
    pub name: String,
    pub stat: String,
    pub labels: Labels,
    pub value: f64,
    pub unit: String,
}

/// One statistic of one labelled metric, per bucket.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Series {
    pub name: String,
    pub stat: String,
    pub labels: Labels,
    pub unit: String,
    /// One value per bucket; `NaN` where a histogram bucket had no samples.
    pub values: Vec<f64>,
}

/// Per-bucket time series of a run.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimeSeries {
    /// Start of the first bucket (the end of the warm-up), in seconds.
    pub start_s: f64,
    /// Bucket length, in seconds.
    pub bucket_s: f64,
    pub series: Vec<Series>,
}

impl TimeSeries {
    pub fn n_buckets(&self) -> usize {
        self.series.first().map_or(0, |s| s.values.len())
    }
    /// Find a series by name, stat and (a subset of) labels.
    pub fn find(&self, name: &str, stat: &str, labels: &[(&str, &str)]) -> Option<&Series> {
        self.series.iter().find(|s| {
            s.name == name
                && s.stat == stat
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }
}

struct Meta {
    name: String,
    labels: Labels,
    unit: String,
}

struct CounterState {
    meta: Meta,
    bucket: f64,
    total: f64,
    series: [Vec<f64>; 2],
}

/// Gauges summarise as `mean` (time-weighted), `p50` and `peak` (median and
/// largest bucket mean, as a dashboard panel shows them) and `max`
/// (instantaneous) and `last` (the value at the end). Rates: `mean` (over the run), `p50` and `max` of the
/// bucket rates; series `mean` (the rate in each bucket).
struct RateState {
    meta: Meta,
    bucket: f64,
    total: f64,
    series: Vec<f64>,
}

/// A value the model computes once per bucket (e.g. CPU utilisation from
/// busy core-seconds): summary `mean` (bucket-length weighted), `p50`,
/// `peak`, `last`, and `max` (= `peak`); series `mean` and `max`.
struct SampledState {
    meta: Meta,
    current: f64,
    series: Vec<f64>,
}

struct GaugeState {
    meta: Meta,
    value: f64,
    /// Time of the last change or bucket close, whichever is later.
    since: SimTime,
    bucket_integral: f64,
    bucket_max: f64,
    total_integral: f64,
    total_max: f64,
    series: [Vec<f64>; 2],
}

struct HistState {
    meta: Meta,
    /// Upper bounds of the exported buckets, ascending (may be empty).
    bounds: Vec<f64>,
    /// Samples of the open time bucket in `(bounds[i-1], bounds[i]]`
    /// (index `bounds.len()`: above the last bound).
    bin_counts: Vec<u64>,
    /// Per bound, per time bucket: samples `<= bound` (cumulative over
    /// bounds); NaN in a bucket without samples.
    bin_series: Vec<Vec<f64>>,
    /// Per index of `counts`: the bin of every value counted there (no
    /// bound falls within the index's range), or [`MIXED`] where the
    /// value must be compared with the bounds ([`bin_of_index`]).
    bin_of: Vec<u8>,
    /// Samples of the open time bucket, counted per index of `bucket`'s
    /// layout ([`hdr_index`]), and the lowest and highest index counted
    /// (`lo > hi`: none): moved into `bucket` when the time bucket closes,
    /// which then holds exactly what recording each sample would have.
    /// Narrow, so that the few thousand indices a latency spans take
    /// less cache (the increment is the recording's slowest step); a
    /// count that reaches [`Count::MAX`] moves into `bucket` early
    /// ([`HistState::spill`]: the same sum at the close).
    counts: Vec<Count>,
    lo: usize,
    hi: usize,
    /// Samples of the open time bucket (filled from `counts` at its close).
    bucket: Histogram<u64>,
    /// Samples of the closed buckets (the open one is added when it closes).
    total: Histogram<u64>,
    bucket_sum: f64,
    total_sum: f64,
    total_max: f64,
    /// Series: p50, p95, p99, mean, count.
    series: [Vec<f64>; 5],
}

/// Seconds recorded in histograms are stored as integer microseconds.
const HIST_SCALE: f64 = 1e6;

/// A per-index sample count of the open time bucket ([`HistState::counts`]).
type Count = u16;

impl HistState {
    /// Make room for index `i` in `counts` and `bin_of`.
    #[cold]
    fn grow(&mut self, i: usize) {
        let from = self.counts.len();
        self.counts.resize(i + 1, 0);
        if !self.bounds.is_empty() {
            let bounds = &self.bounds;
            self.bin_of
                .extend((from..=i).map(|j| bin_of_index(bounds, j)));
        }
    }

    /// The count at index `i` is full: move it into `bucket` now (the
    /// bucket's close adds the rest; counts add, so `bucket` ends the
    /// same). Auto-resizing histograms only fail on u64 overflow.
    #[cold]
    #[inline(never)]
    fn spill(&mut self, i: usize) {
        let n = std::mem::take(&mut self.counts[i]);
        let _ = self.bucket.record_n(hdr_value(i), u64::from(n));
    }
}

/// [`HistState::bin_of`]'s mark of an index whose values must be compared
/// with the bounds.
const MIXED: u8 = u8::MAX;

/// The exported bin of `value` (seconds): the count of the ascending
/// `bounds` below it, which is its partition point; counted without
/// branches (a dozen bounds: cheaper than a binary search's chain of loads).
fn bin_of_value(bounds: &[f64], value: f64) -> usize {
    bounds.iter().map(|b| usize::from(*b < value)).sum()
}

/// The bin of every value whose microseconds count at index `i`
/// ([`hdr_index`]), or [`MIXED`] if that depends on the value. A value
/// counted at `i > 0` rounds to microseconds `lo..=hi` (the index's
/// range), so it lies within half a microsecond of that range (less the
/// product's relative rounding, 2^-53): a bound more than a microsecond
/// below `lo` is below every such value, one more than a microsecond above
/// `hi` above every one. Index 0 also holds negative and NaN values (no
/// bound is below those); indices from 2^40 us on (12 days) are left to
/// the comparison, as is any index with a bound within its margins.
fn bin_of_index(bounds: &[f64], i: usize) -> u8 {
    let lo = hdr_value(i);
    if lo >= 1 << 40 || bounds.len() >= usize::from(MIXED) {
        return MIXED;
    }
    let hi = hdr_value(i + 1) - 1;
    let below = (lo as f64 - 1.0) / HIST_SCALE;
    let above = (hi as f64 + 1.0) / HIST_SCALE;
    let mut n = 0;
    for b in bounds {
        if *b > above {
            continue;
        }
        if i > 0 && *b < below {
            n += 1;
        } else {
            return MIXED;
        }
    }
    n
}

fn new_hist() -> Histogram<u64> {
    let mut h = Histogram::new(3).expect("3 significant figures is valid");
    h.auto(true);
    h
}

/// `log2` of half the sub-buckets of a histogram of [`new_hist`]'s
/// precision (3 significant figures: 2,048 sub-buckets, lowest
/// discernible value 1, so a unit magnitude of 0).
const HALF_SUB_MAG: u32 = 10;

/// The index of `v`'s count in a histogram made by [`new_hist`]: the
/// same arithmetic as hdrhistogram's own index (bucket from the leading
/// zeros, sub-bucket by a shift), so counting by it and recording the
/// index's lowest value ([`hdr_value`]) fill the histogram's counts
/// exactly as recording each value would (a unit test checks it against
/// the crate).
#[inline]
fn hdr_index(v: u64) -> usize {
    // Leading-zero base: 64 bits less the unit magnitude (0) and the 11
    // bits of the 2,048 sub-buckets.
    let bucket = 53 - (v | ((1 << (HALF_SUB_MAG + 1)) - 1)).leading_zeros();
    let sub = (v >> bucket) as usize;
    ((bucket as usize + 1) << HALF_SUB_MAG) + sub - (1 << HALF_SUB_MAG)
}

/// The lowest value counted at index `i` of [`hdr_index`].
fn hdr_value(i: usize) -> u64 {
    let half = 1usize << HALF_SUB_MAG;
    let bucket = (i >> HALF_SUB_MAG) as i64 - 1;
    let sub = (i & (half - 1)) + half;
    if bucket < 0 {
        (sub - half) as u64
    } else {
        (sub as u64) << bucket
    }
}

/// Streams counters, gauges and histograms into time buckets.
pub struct Recorder {
    warmup: SimTime,
    bucket: SimTime,
    end: SimTime,
    /// Start of the open bucket.
    bucket_start: SimTime,
    counters: Vec<CounterState>,
    rates: Vec<RateState>,
    gauges: Vec<GaugeState>,
    sampled: Vec<SampledState>,
    hists: Vec<HistState>,
    /// Buckets closed so far: a series registered late is padded to this length.
    n_closed: usize,
    /// The warm-up has ended ([`Recorder::end_warmup`]).
    warm: bool,
}

impl Recorder {
    /// A recorder whose buckets of length `bucket` start at `warmup` and
    /// whose last bucket ends at `end` (it may be shorter than the others).
    pub fn new(warmup: SimTime, bucket: SimTime, end: SimTime) -> Recorder {
        assert!(bucket > SimTime::ZERO, "bucket length must be positive");
        Recorder {
            warmup,
            bucket,
            end,
            bucket_start: warmup,
            counters: vec![],
            rates: vec![],
            gauges: vec![],
            sampled: vec![],
            hists: vec![],
            n_closed: 0,
            warm: false,
        }
    }

    fn meta(name: &str, labels: Labels, unit: &str) -> Meta {
        Meta {
            name: name.to_string(),
            labels,
            unit: unit.to_string(),
        }
    }

    pub fn counter(&mut self, name: &str, labels: Labels, unit: &str) -> CounterId {
        self.counters.push(CounterState {
            meta: Self::meta(name, labels, unit),
            bucket: 0.0,
            total: 0.0,
            series: [vec![0.0; self.n_closed], vec![0.0; self.n_closed]],
        });
        CounterId(self.counters.len() as u32 - 1)
    }
    /// A rate metric (`unit` is the unit per second, e.g. `1/s`).
    pub fn rate(&mut self, name: &str, labels: Labels, unit: &str) -> RateId {
        self.rates.push(RateState {
            meta: Self::meta(name, labels, unit),
            bucket: 0.0,
            total: 0.0,
            series: vec![0.0; self.n_closed],
        });
        RateId(self.rates.len() as u32 - 1)
    }
    /// A per-bucket value set by [`Recorder::sample`] before each bucket closes.
    pub fn sampled(&mut self, name: &str, labels: Labels, unit: &str) -> SampleId {
        self.sampled.push(SampledState {
            meta: Self::meta(name, labels, unit),
            current: 0.0,
            series: vec![f64::NAN; self.n_closed],
        });
        SampleId(self.sampled.len() as u32 - 1)
    }

    /// Set the value of the open bucket of a sampled series; NaN means the
    /// thing sampled was absent in the bucket (a series registered late is
    /// NaN before it), and the statistics skip it.
    #[inline]
    pub fn sample(&mut self, id: SampleId, value: f64) {
        self.sampled[id.0 as usize].current = value;
    }

    /// End of the open bucket (the next boundary), or `None` after the last.
    pub fn next_boundary(&self) -> Option<SimTime> {
        (self.bucket_start < self.end).then(|| (self.bucket_start + self.bucket).min(self.end))
    }

    /// Close the open bucket at its end (the next boundary); no-op after the last.
    pub fn close_open_bucket(&mut self) {
        if let Some(b) = self.next_boundary() {
            self.close_bucket(b);
        }
    }

    /// Start of the open bucket.
    pub fn bucket_start(&self) -> SimTime {
        self.bucket_start
    }

    pub fn gauge(&mut self, name: &str, labels: Labels, unit: &str) -> GaugeId {
        self.gauges.push(GaugeState {
            meta: Self::meta(name, labels, unit),
            value: 0.0,
            since: SimTime::ZERO,
            bucket_integral: 0.0,
            bucket_max: 0.0,
            total_integral: 0.0,
            total_max: 0.0,
            series: [vec![0.0; self.n_closed], vec![0.0; self.n_closed]],
        });
        GaugeId(self.gauges.len() as u32 - 1)
    }
    pub fn histogram(&mut self, name: &str, labels: Labels, unit: &str) -> HistId {
        self.histogram_with_bounds(name, labels, unit, &[])
    }

    /// A histogram that also counts, per time bucket, the samples at or below
    /// each of `bounds` (ascending, in the histogram's unit): exact counts, as
    /// a Prometheus histogram's cumulative `le` buckets (`+Inf` is the
    /// `count` series). They come out as series of statistic `bucket` with
    /// an extra label `le`.
    pub fn histogram_with_bounds(
        &mut self,
        name: &str,
        labels: Labels,
        unit: &str,
        bounds: &[f64],
    ) -> HistId {
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]),
            "histogram bounds must be strictly ascending"
        );
        self.hists.push(HistState {
            meta: Self::meta(name, labels, unit),
            bounds: bounds.to_vec(),
            bin_counts: vec![0; bounds.len() + 1],
            bin_series: vec![vec![f64::NAN; self.n_closed]; bounds.len()],
            bin_of: vec![],
            counts: vec![],
            lo: usize::MAX,
            hi: 0,
            bucket: new_hist(),
            total: new_hist(),
            bucket_sum: 0.0,
            total_sum: 0.0,
            total_max: 0.0,
            series: [
                vec![f64::NAN; self.n_closed],
                vec![f64::NAN; self.n_closed],
                vec![f64::NAN; self.n_closed],
                vec![f64::NAN; self.n_closed],
                vec![0.0; self.n_closed],
            ],
        });
        HistId(self.hists.len() as u32 - 1)
    }

    /// Move the recorder's clock to `now`: end the warm-up if `now` is past
    /// it, and close every bucket that ends at or before `now`. Call before
    /// handling each event at `now` (cheap when nothing changes), unless
    /// the caller closes the buckets itself (the run loop, which samples
    /// each bucket before it closes).
    pub fn advance(&mut self, now: SimTime) {
        if !self.warm && now >= self.warmup {
            self.end_warmup();
        }
        while now >= self.bucket_start + self.bucket && self.bucket_start < self.end {
            let close = (self.bucket_start + self.bucket).min(self.end);
            self.close_bucket(close);
        }
    }

    /// The warm-up is over (call once, before anything is recorded at or
    /// after the warm-up's end; later calls do nothing): drop what
    /// counters, rates and histograms recorded before it. Gauges keep
    /// their value (it carries into the first bucket); their time
    /// integrals and maxima start at the warm-up's end by themselves.
    pub fn end_warmup(&mut self) {
        if self.warm {
            return;
        }
        self.warm = true;
        if self.warmup == SimTime::ZERO {
            // Nothing can have been recorded before time 0.
            return;
        }
        for c in &mut self.counters {
            c.bucket = 0.0;
            c.total = 0.0;
        }
        for r in &mut self.rates {
            r.bucket = 0.0;
            r.total = 0.0;
        }
        for h in &mut self.hists {
            h.bin_counts.fill(0);
            h.counts.fill(0);
            // What spilled before the warm-up's end.
            h.bucket.reset();
            h.lo = usize::MAX;
            h.hi = 0;
            h.bucket_sum = 0.0;
            h.total_sum = 0.0;
            h.total_max = 0.0;
        }
    }

    /// Whether a record at `now` lies where the recorder's clock says it
    /// should: before the warm-up's end while it lasts, else in the open
    /// bucket (or after the last one).
    fn in_step(&self, now: SimTime) -> bool {
        if !self.warm {
            // At time 0 with no warm-up: the model's initial state.
            now < self.warmup || self.warmup == SimTime::ZERO
        } else {
            now >= self.warmup
                && (self.bucket_start >= self.end || now < self.bucket_start + self.bucket)
        }
    }

    #[inline]
    pub fn add(&mut self, id: CounterId, now: SimTime, n: f64) {
        debug_assert!(self.in_step(now), "record at {now:?} out of step");
        let c = &mut self.counters[id.0 as usize];
        c.bucket += n;
        c.total += n;
    }

    /// Count `n` events of a rate metric.
    #[inline]
    pub fn tick(&mut self, id: RateId, now: SimTime, n: f64) {
        debug_assert!(self.in_step(now), "record at {now:?} out of step");
        let r = &mut self.rates[id.0 as usize];
        r.bucket += n;
        r.total += n;
    }

    #[inline]
    pub fn inc(&mut self, id: CounterId, now: SimTime) {
        self.add(id, now, 1.0);
    }

    /// Set a gauge to `value` from `now` on.
    #[inline]
    pub fn set(&mut self, id: GaugeId, now: SimTime, value: f64) {
        debug_assert!(self.in_step(now), "record at {now:?} out of step");
        let warm = self.warmup;
        let g = &mut self.gauges[id.0 as usize];
        if now > warm {
            let from = g.since.max(warm);
            let dt = now.saturating_sub(from).as_secs_f64();
            g.bucket_integral += g.value * dt;
            g.total_integral += g.value * dt;
        }
        g.since = now;
        g.value = value;
        if now >= warm {
            g.bucket_max = g.bucket_max.max(value);
            g.total_max = g.total_max.max(value);
        }
    }

    /// Change a gauge by `delta`.
    #[inline]
    pub fn shift(&mut self, id: GaugeId, now: SimTime, delta: f64) {
        let v = self.gauges[id.0 as usize].value + delta;
        self.set(id, now, v);
    }

    /// Record one sample, in the histogram's unit (seconds for latencies).
    #[inline(always)]
    pub fn record(&mut self, id: HistId, now: SimTime, value: f64) {
        debug_assert!(self.in_step(now), "record at {now:?} out of step");
        let h = &mut self.hists[id.0 as usize];
        let v = super::time::round_u64(value.max(0.0) * HIST_SCALE);
        let i = hdr_index(v);
        if i >= h.counts.len() {
            h.grow(i);
        }
        let c = &mut h.counts[i];
        *c += 1;
        if *c == Count::MAX {
            h.spill(i);
        }
        if !h.bounds.is_empty() {
            let b = match h.bin_of[i] {
                MIXED => bin_of_value(&h.bounds, value),
                b => usize::from(b),
            };
            h.bin_counts[b] += 1;
        }
        h.lo = h.lo.min(i);
        h.hi = h.hi.max(i);
        h.bucket_sum += value;
        h.total_sum += value;
        h.total_max = h.total_max.max(value);
    }

    fn close_bucket(&mut self, close: SimTime) {
        let len_s = close
            .saturating_sub(self.bucket_start)
            .as_secs_f64()
            .max(1e-12);
        for c in &mut self.counters {
            c.series[0].push(c.bucket);
            c.series[1].push(c.bucket / len_s);
            c.bucket = 0.0;
        }
        for r in &mut self.rates {
            r.series.push(r.bucket / len_s);
            r.bucket = 0.0;
        }
        for x in &mut self.sampled {
            x.series.push(x.current);
        }
        for g in &mut self.gauges {
            let from = g.since.max(self.bucket_start);
            let dt = close.saturating_sub(from).as_secs_f64();
            g.bucket_integral += g.value * dt;
            g.total_integral += g.value * dt;
            g.since = close;
            g.series[0].push(g.bucket_integral / len_s);
            let bmax = g.bucket_max.max(g.value);
            g.total_max = g.total_max.max(bmax);
            g.series[1].push(bmax);
            g.bucket_integral = 0.0;
            g.bucket_max = g.value;
        }
        for h in &mut self.hists {
            // The bucket's counts into its histogram (auto-resizing
            // histograms only fail on u64 overflow of counts).
            if h.lo <= h.hi {
                for (i, c) in h.counts[h.lo..=h.hi].iter_mut().enumerate() {
                    if *c > 0 {
                        let n = u64::from(std::mem::take(c));
                        let _ = h.bucket.record_n(hdr_value(h.lo + i), n);
                    }
                }
                h.lo = usize::MAX;
                h.hi = 0;
            }
            let n = h.bucket.len();
            let q = |p: f64| {
                if n == 0 {
                    f64::NAN
                } else {
                    h.bucket.value_at_quantile(p) as f64 / HIST_SCALE
                }
            };
            let vals = [
                q(0.5),
                q(0.95),
                q(0.99),
                if n == 0 {
                    f64::NAN
                } else {
                    h.bucket_sum / n as f64
                },
                n as f64,
            ];
            for (s, v) in h.series.iter_mut().zip(vals) {
                s.push(v);
            }
            // Like the quantiles, nothing to report without a sample (NaN):
            // the bucket's `count` says it was 0.
            let mut cumulative = 0;
            for (s, c) in h.bin_series.iter_mut().zip(&mut h.bin_counts) {
                cumulative += *c;
                s.push(if n == 0 { f64::NAN } else { cumulative as f64 });
                *c = 0;
            }
            if let Some(above) = h.bin_counts.last_mut() {
                *above = 0;
            }
            // Every sample reaches `total` here, once: each recorded sample
            // lies in a bucket that closes by `finish`.
            if n > 0 {
                let _ = h.total.add(&h.bucket);
            }
            h.bucket.reset();
            h.bucket_sum = 0.0;
        }
        self.bucket_start = close;
        self.n_closed += 1;
    }

    /// Close the remaining buckets up to the end and return the run summary
    /// and the time series.
    pub fn finish(mut self) -> (Vec<Metric>, TimeSeries) {
        // A run that ends within its warm-up reports none of it.
        self.end_warmup();
        while let Some(b) = self.next_boundary() {
            self.close_bucket(b);
        }
        // Length of each bucket, s: all `bucket` but the last, which ends at
        // `end` (the weights of the sampled series' means).
        let lengths: Vec<f64> = (0..self.n_closed as u64)
            .map(|i| {
                let start = SimTime(self.warmup.0 + self.bucket.0 * i);
                let close = (start + self.bucket).min(self.end);
                close.saturating_sub(start).as_secs_f64().max(1e-12)
            })
            .collect();
        let span_s = self
            .end
            .saturating_sub(self.warmup)
            .as_secs_f64()
            .max(1e-12);
        let mut metrics = Vec::new();
        let mut series = Vec::new();
        let m = |meta: &Meta, stat: &str, value: f64, unit: &str| Metric {
            name: meta.name.clone(),
            stat: stat.to_string(),
            labels: meta.labels.clone(),
            value,
            unit: unit.to_string(),
        };
        let s = |meta: &Meta, stat: &str, values: Vec<f64>, unit: &str| Series {
            name: meta.name.clone(),
            stat: stat.to_string(),
            labels: meta.labels.clone(),
            unit: unit.to_string(),
            values,
        };
        for c in self.counters {
            let rate_unit = format!("{}/s", c.meta.unit);
            metrics.push(m(&c.meta, "total", c.total, &c.meta.unit));
            metrics.push(m(&c.meta, "rate", c.total / span_s, &rate_unit));
            let [count, rate] = c.series;
            series.push(s(&c.meta, "count", count, &c.meta.unit));
            series.push(s(&c.meta, "rate", rate, &rate_unit));
        }
        for r in self.rates {
            metrics.push(m(&r.meta, "mean", r.total / span_s, &r.meta.unit));
            metrics.push(m(&r.meta, "p50", median(&r.series), &r.meta.unit));
            metrics.push(m(
                &r.meta,
                "max",
                r.series.iter().copied().fold(0.0, f64::max),
                &r.meta.unit,
            ));
            series.push(s(&r.meta, "mean", r.series, &r.meta.unit));
        }
        for x in self.sampled {
            // Absent buckets (NaN) count neither in the mean nor its weight.
            let present = || x.series.iter().zip(&lengths).filter(|(v, _)| v.is_finite());
            let total: f64 = present().map(|(_, l)| l).sum();
            // A series with no present bucket has no statistics (NaN), not 0.
            let mean = if total > 0.0 {
                present().map(|(v, l)| v * l).sum::<f64>() / total
            } else {
                f64::NAN
            };
            let peak = present().map(|(v, _)| *v).fold(f64::NAN, f64::max);
            let last = x.series.last().copied().unwrap_or(f64::NAN);
            let u = &x.meta.unit;
            metrics.push(m(&x.meta, "mean", mean, u));
            metrics.push(m(&x.meta, "p50", median(&x.series), u));
            metrics.push(m(&x.meta, "peak", peak, u));
            metrics.push(m(&x.meta, "last", last, u));
            metrics.push(m(&x.meta, "max", peak, u));
            series.push(s(&x.meta, "mean", x.series.clone(), u));
            series.push(s(&x.meta, "max", x.series, u));
        }
        for g in self.gauges {
            metrics.push(m(&g.meta, "mean", g.total_integral / span_s, &g.meta.unit));
            metrics.push(m(&g.meta, "p50", median(&g.series[0]), &g.meta.unit));
            let peak = g.series[0].iter().copied().fold(0.0, f64::max);
            metrics.push(m(&g.meta, "peak", peak, &g.meta.unit));
            metrics.push(m(&g.meta, "last", g.value, &g.meta.unit));
            metrics.push(m(&g.meta, "max", g.total_max, &g.meta.unit));
            let [mean, max] = g.series;
            series.push(s(&g.meta, "mean", mean, &g.meta.unit));
            series.push(s(&g.meta, "max", max, &g.meta.unit));
        }
        for h in self.hists {
            // No sample, no statistic: NaN (the summary's `null`), never 0.
            let n = h.total.len();
            let q = |p: f64| {
                if n == 0 {
                    f64::NAN
                } else {
                    h.total.value_at_quantile(p) as f64 / HIST_SCALE
                }
            };
            let u = h.meta.unit.clone();
            let (mean, max) = if n == 0 {
                (f64::NAN, f64::NAN)
            } else {
                (h.total_sum / n as f64, h.total_max)
            };
            for (stat, v) in [
                ("mean", mean),
                ("p50", q(0.5)),
                ("p90", q(0.9)),
                ("p95", q(0.95)),
                ("p99", q(0.99)),
                ("max", max),
            ] {
                metrics.push(m(&h.meta, stat, v, &u));
            }
            metrics.push(m(&h.meta, "count", n as f64, "1"));
            let [p50, p95, p99, mean, count] = h.series;
            for (stat, v, unit) in [
                ("p50", p50, &u),
                ("p95", p95, &u),
                ("p99", p99, &u),
                ("mean", mean, &u),
            ] {
                series.push(s(&h.meta, stat, v, unit));
            }
            series.push(s(&h.meta, "count", count, "1"));
            for (b, values) in h.bounds.iter().zip(h.bin_series) {
                let mut labels = h.meta.labels.clone();
                labels.insert("le".to_string(), le_label(*b));
                series.push(Series {
                    name: h.meta.name.clone(),
                    stat: "bucket".to_string(),
                    labels,
                    unit: "1".to_string(),
                    values,
                });
            }
        }
        let ts = TimeSeries {
            start_s: self.warmup.as_secs_f64(),
            bucket_s: self.bucket.as_secs_f64(),
            series,
        };
        (metrics, ts)
    }
}

/// A bucket bound as a label value, the way Prometheus's Go client writes
/// it (`0.005`, `1`, `3600`: shortest round-trip form, no trailing `.0`).
pub fn le_label(bound: f64) -> String {
    format!("{bound}")
}

/// Median of the bucket values (NaN when there are none): the typical
/// bucket, as a Grafana panel's median over time would show.
fn median(v: &[f64]) -> f64 {
    let mut x: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if x.is_empty() {
        return f64::NAN;
    }
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 {
        x[n / 2]
    } else {
        (x[n / 2 - 1] + x[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_is_time_weighted_and_warmup_discarded() {
        let mut r = Recorder::new(
            SimTime::from_secs(10),
            SimTime::from_secs(10),
            SimTime::from_secs(30),
        );
        let g = r.gauge("q", Labels::new(), "1");
        for (t, v) in [(0, 100.0), (10, 2.0), (15, 4.0), (20, 0.0)] {
            // The value during the warm-up is not in the mean.
            r.advance(SimTime::from_secs(t));
            r.set(g, SimTime::from_secs(t), v);
        }
        let (m, ts) = r.finish();
        let mean = m.iter().find(|x| x.stat == "mean").unwrap().value;
        assert!(
            (mean - (2.0 * 5.0 + 4.0 * 5.0) / 20.0).abs() < 1e-9,
            "{mean}"
        );
        let s = ts.find("q", "mean", &[]).unwrap();
        assert_eq!(s.values.len(), 2);
        assert!((s.values[0] - 3.0).abs() < 1e-9);
        assert_eq!(s.values[1], 0.0);
    }

    #[test]
    fn counters_and_histograms_per_bucket() {
        let mut r = Recorder::new(
            SimTime::ZERO,
            SimTime::from_secs(60),
            SimTime::from_secs(120),
        );
        let c = r.counter("n", Labels::new(), "1");
        let h = r.histogram("w", Labels::new(), "s");
        for i in 0..100 {
            let t = SimTime::from_secs(i);
            r.advance(t);
            r.inc(c, t);
            r.record(h, t, i as f64 / 100.0);
        }
        let (m, ts) = r.finish();
        assert_eq!(ts.find("n", "count", &[]).unwrap().values, vec![60.0, 40.0]);
        let total = m
            .iter()
            .find(|x| x.name == "n" && x.stat == "total")
            .unwrap()
            .value;
        assert_eq!(total, 100.0);
        let p50 = m
            .iter()
            .find(|x| x.name == "w" && x.stat == "p50")
            .unwrap()
            .value;
        assert!((p50 - 0.49).abs() < 0.01, "{p50}");
        let mean = m
            .iter()
            .find(|x| x.name == "w" && x.stat == "mean")
            .unwrap()
            .value;
        assert!((mean - 0.495).abs() < 1e-9);
    }

    #[test]
    fn bounded_histograms_count_at_or_below_each_bound_per_bucket() {
        let mut r = Recorder::new(
            SimTime::ZERO,
            SimTime::from_secs(10),
            SimTime::from_secs(30),
        );
        let h = r.histogram_with_bounds("w", labels([("k", "a")]), "s", &[0.1, 1.0]);
        // First bucket: 0.05 and 0.1 are <= 0.1 (the bound is inclusive), 0.5 <= 1, 7 above.
        for (t, v) in [(1, 0.05), (2, 0.1), (3, 0.5), (4, 7.0), (15, 1.000001)] {
            // Second bucket (t = 15): one sample just above 1.
            r.advance(SimTime::from_secs(t));
            r.record(h, SimTime::from_secs(t), v);
        }
        let (_, ts) = r.finish();
        let b = |le: &str| {
            ts.find("w", "bucket", &[("k", "a"), ("le", le)])
                .unwrap()
                .values
                .clone()
        };
        // The third bucket has no sample: nothing to report, its count is 0.
        assert_eq!(b("0.1")[..2], [2.0, 0.0]);
        assert_eq!(b("1")[..2], [3.0, 0.0]);
        assert!(b("1")[2].is_nan());
        assert_eq!(
            ts.find("w", "count", &[]).unwrap().values,
            vec![4.0, 1.0, 0.0]
        );
        assert_eq!(le_label(0.005), "0.005");
        assert_eq!(le_label(3600.0), "3600");
    }

    #[test]
    fn a_histogram_without_samples_has_no_statistics() {
        let mut r = Recorder::new(
            SimTime::ZERO,
            SimTime::from_secs(10),
            SimTime::from_secs(20),
        );
        let _ = r.histogram("lat", Labels::new(), "s");
        let (m, _) = r.finish();
        for x in &m {
            if x.stat == "count" {
                assert_eq!(x.value, 0.0);
            } else {
                assert!(
                    x.value.is_nan(),
                    "{} is {} without samples",
                    x.stat,
                    x.value
                );
            }
        }
    }

    #[test]
    fn sampled_series_skip_absent_buckets() {
        let mut r = Recorder::new(
            SimTime::ZERO,
            SimTime::from_secs(10),
            SimTime::from_secs(40),
        );
        let a = r.sampled("u", labels([("replica", "0")]), "ratio");
        r.sample(a, 0.5);
        r.advance(SimTime::from_secs(10));
        // Registered in the second bucket: absent in the first.
        let b = r.sampled("u", labels([("replica", "1")]), "ratio");
        r.sample(a, 0.7);
        r.sample(b, 0.2);
        r.advance(SimTime::from_secs(20));
        // Replica 0 is gone for the rest of the run.
        r.sample(a, f64::NAN);
        r.sample(b, 0.4);
        let (m, ts) = r.finish();
        let stat = |rep: &str, stat: &str| {
            m.iter()
                .find(|x| {
                    x.stat == stat && x.labels.get("replica").map(String::as_str) == Some(rep)
                })
                .unwrap()
                .value
        };
        assert!((stat("0", "mean") - 0.6).abs() < 1e-12);
        assert_eq!(stat("0", "peak"), 0.7);
        assert!(stat("0", "last").is_nan(), "gone at the end: no value");
        assert!((stat("1", "mean") - (0.2 + 0.4 + 0.4) / 3.0).abs() < 1e-12);
        let s0 = ts.find("u", "mean", &[("replica", "0")]).unwrap();
        assert_eq!(s0.values[..2], [0.5, 0.7]);
        assert!(s0.values[2..].iter().all(|v| v.is_nan()));
        assert!(ts.find("u", "mean", &[("replica", "1")]).unwrap().values[0].is_nan());
    }

    #[test]
    fn a_full_count_moves_into_the_bucket_and_still_counts_once() {
        let t = SimTime::from_secs;
        for warmup in [0, 10] {
            let mut r = Recorder::new(t(warmup), t(10), t(warmup + 20));
            let h = r.histogram("w", Labels::new(), "s");
            let fill = |r: &mut Recorder, at: u64| {
                r.record(h, t(at), 0.5);
                // As if `Count::MAX - 1` samples of 0.5 s had been counted:
                // the next one fills the count, which spills.
                let hs = &mut r.hists[h.0 as usize];
                let i = hs.lo;
                hs.counts[i] = Count::MAX - 1;
                r.record(h, t(at), 0.5);
                assert_eq!(r.hists[h.0 as usize].counts[i], 0, "spilled");
                r.record(h, t(at), 0.5);
            };
            if warmup > 0 {
                // Spilled before the warm-up's end: dropped with the rest.
                fill(&mut r, 1);
                r.end_warmup();
            }
            r.advance(t(warmup + 1));
            fill(&mut r, warmup + 1);
            let (_, ts) = r.finish();
            let n = f64::from(Count::MAX) + 1.0;
            assert_eq!(ts.find("w", "count", &[]).unwrap().values, vec![n, 0.0]);
            let p99 = ts.find("w", "p99", &[]).unwrap().values[0];
            assert!((p99 - 0.5).abs() < 1e-3, "{p99}");
        }
    }

    #[test]
    fn records_before_the_warmup_are_dropped_when_it_ends() {
        let t = SimTime::from_secs;
        let mut r = Recorder::new(t(10), t(10), t(30));
        let c = r.counter("n", Labels::new(), "1");
        let x = r.rate("x", Labels::new(), "1/s");
        let h = r.histogram_with_bounds("w", Labels::new(), "s", &[1.0]);
        for (s, v) in [(0, 50.0), (5, 0.5), (12, 2.0), (25, 0.25)] {
            r.advance(t(s));
            r.add(c, t(s), v);
            r.tick(x, t(s), v);
            r.record(h, t(s), v);
        }
        let (m, ts) = r.finish();
        let stat = |name: &str, stat: &str| {
            m.iter()
                .find(|x| x.name == name && x.stat == stat)
                .unwrap()
                .value
        };
        assert_eq!(stat("n", "total"), 2.25);
        assert_eq!(stat("x", "mean"), 2.25 / 20.0);
        assert_eq!(stat("w", "count"), 2.0);
        assert_eq!(stat("w", "max"), 2.0);
        assert_eq!(stat("w", "mean"), 1.125);
        assert_eq!(ts.find("n", "count", &[]).unwrap().values, vec![2.0, 0.25]);
        assert_eq!(ts.find("w", "count", &[]).unwrap().values, vec![1.0, 1.0]);
        assert_eq!(
            ts.find("w", "bucket", &[("le", "1")]).unwrap().values,
            vec![0.0, 1.0]
        );
        // With no warm-up, what the model records at time 0 counts.
        let mut r = Recorder::new(SimTime::ZERO, t(10), t(30));
        let c = r.counter("n", Labels::new(), "1");
        r.inc(c, SimTime::ZERO);
        r.advance(SimTime::ZERO);
        r.inc(c, t(1));
        let (m, _) = r.finish();
        assert_eq!(m[0].value, 2.0);
    }

    #[test]
    fn the_index_is_hdrhistograms_own() {
        let h = new_hist();
        let mut values: Vec<u64> = (0..5000).collect();
        for shift in 0..64 {
            let p = 1u64 << shift;
            values.extend([p - 1, p, p + 1, p.saturating_mul(3) / 2]);
        }
        values.push(u64::MAX);
        for v in values {
            let i = hdr_index(v);
            assert_eq!(hdr_value(i), h.lowest_equivalent(v), "value {v}");
            assert!(i == 0 || hdr_value(i - 1) < hdr_value(i), "value {v}");
        }
    }

    /// Latency bounds of a typical HTTP server histogram, seconds (1 ms to 30 s).
    const LATENCY_BOUNDS_S: [f64; 11] = [
        0.001, 0.005, 0.010, 0.025, 0.050, 0.100, 0.500, 1.0, 5.0, 10.0, 30.0,
    ];

    #[test]
    fn few_indices_need_the_comparison() {
        let bounds = LATENCY_BOUNDS_S;
        // Up to 100 s: each bound's two-microsecond margin spans an index or two.
        let mixed = (1..hdr_index(100_000_000))
            .filter(|i| bin_of_index(&bounds, *i) == MIXED)
            .count();
        assert!(mixed <= 2 * bounds.len(), "{mixed} indices mixed");
        assert_eq!(bin_of_index(&bounds, 0), 0, "no bound at or below 1 us");
    }

    proptest::proptest! {
        /// The bin read from an index's table entry is the bin the
        /// comparison with the bounds gives, near the bounds and far.
        #[test]
        fn the_bin_table_agrees_with_the_bounds(
            near in 0usize..11,
            offset_ulps in -3000i64..3000,
            scale in -9i32..6,
            u in 0.0f64..10.0,
            special in 0usize..8,
        ) {
            let bounds = LATENCY_BOUNDS_S;
            let value = match special {
                0 => f64::from_bits((bounds[near].to_bits() as i64 + offset_ulps) as u64),
                1 => bounds[near] + offset_ulps as f64 * 1e-9,
                2 => u * 10f64.powi(scale),
                3 => -u,
                4 => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, 1e-7, 5e-7][near % 6],
                _ => u * 10f64.powi(scale) + bounds[near],
            };
            let i = hdr_index(super::super::time::round_u64(value.max(0.0) * HIST_SCALE));
            let b = bin_of_index(&bounds, i);
            let exact = bin_of_value(&bounds, value);
            proptest::prop_assert!(b == MIXED || usize::from(b) == exact, "value {value}: table {b}, bounds {exact}");
        }

        /// Counting per index and moving the counts into the histogram at
        /// each bucket's close gives the quantiles of recording each value.
        #[test]
        fn counted_histograms_match_recorded_ones(
            samples in proptest::collection::vec((0u64..40, 0.0f64..1.0, 0i32..8), 1..400),
        ) {
            let mut r = Recorder::new(SimTime::ZERO, SimTime::from_secs(10), SimTime::from_secs(40));
            let id = r.histogram("w", Labels::new(), "s");
            let mut samples = samples;
            samples.sort_by_key(|s| s.0);
            let mut direct = [new_hist(), new_hist(), new_hist(), new_hist()];
            let mut all = new_hist();
            for (t, u, e) in samples {
                // Latencies from a microsecond to hours.
                let v = u * 10f64.powi(e - 5);
                let now = SimTime::from_secs(t);
                r.advance(now);
                r.record(id, now, v);
                let x = super::super::time::round_u64(v * HIST_SCALE);
                direct[(t / 10) as usize].record(x).unwrap();
                all.record(x).unwrap();
            }
            let (m, ts) = r.finish();
            let q = |h: &Histogram<u64>, p: f64| if h.is_empty() {
                f64::NAN
            } else {
                h.value_at_quantile(p) as f64 / HIST_SCALE
            };
            for (stat, p) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
                let got = &ts.find("w", stat, &[]).unwrap().values;
                let want: Vec<f64> = direct.iter().map(|h| q(h, p)).collect();
                proptest::prop_assert_eq!(format!("{got:?}"), format!("{want:?}"));
            }
            for (stat, p) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)] {
                let got = m.iter().find(|x| x.stat == stat).unwrap().value;
                proptest::prop_assert_eq!(got, q(&all, p));
            }
        }
    }
}
