//! Simulated time: integer nanoseconds since the start of the run.
//!
//! One type serves for instants and for spans, like `std::time::Duration`.
//! Integers make event order exact and identical on every machine; a `u64`
//! of nanoseconds covers 584 years.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

/// `x.round() as u64` (halves away from zero, saturating) for every `f64`,
/// without the libm call `round` is on x86-64 before SSE4.1: the
/// truncation, plus one when the rest is at least a half. The rest
/// `x - trunc(x)` is exact, so the result is the same bit for bit (a
/// property test checks it against `round`).
#[inline]
pub fn round_u64(x: f64) -> u64 {
    /// From 2^52 up every `f64` is an integer.
    const INTEGRAL: f64 = 4_503_599_627_370_496.0;
    if !(x >= 0.5) {
        // Below a half, negative or NaN: `round` then `as` give 0.
        return 0;
    }
    if x >= INTEGRAL {
        return x as u64;
    }
    let t = x as i64;
    (t + i64::from(x - t as f64 >= 0.5)) as u64
}

/// A point in, or a span of, simulated time, in nanoseconds.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);
    pub const NANOSECOND: SimTime = SimTime(1);
    pub const MICROSECOND: SimTime = SimTime(1_000);
    pub const MILLISECOND: SimTime = SimTime(1_000_000);
    pub const SECOND: SimTime = SimTime(1_000_000_000);
    pub const MINUTE: SimTime = SimTime(60 * 1_000_000_000);
    pub const HOUR: SimTime = SimTime(3_600 * 1_000_000_000);
    pub const DAY: SimTime = SimTime(86_400 * 1_000_000_000);

    /// From seconds; negative and NaN clamp to zero, huge values saturate.
    pub fn from_secs_f64(s: f64) -> SimTime {
        if !(s > 0.0) {
            return SimTime::ZERO;
        }
        let ns = s * 1e9;
        if ns >= u64::MAX as f64 {
            SimTime::MAX
        } else {
            SimTime(round_u64(ns))
        }
    }
    pub const fn from_secs(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }
    pub const fn from_millis(ms: u64) -> SimTime {
        SimTime(ms * 1_000_000)
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn saturating_sub(self, other: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(other.0))
    }
    pub fn saturating_add(self, other: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(other.0))
    }
    /// Seconds into the simulated day (0 .. 86 400), given that t = 0 is
    /// `day_offset` into a day.
    pub fn time_of_day_s(self, day_offset: SimTime) -> f64 {
        ((self.0 + day_offset.0) % SimTime::DAY.0) as f64 / 1e9
    }
}

impl Add for SimTime {
    type Output = SimTime;
    fn add(self, o: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(o.0))
    }
}
impl AddAssign for SimTime {
    fn add_assign(&mut self, o: SimTime) {
        self.0 = self.0.saturating_add(o.0);
    }
}
impl Sub for SimTime {
    type Output = SimTime;
    fn sub(self, o: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(o.0))
    }
}
impl Mul<u64> for SimTime {
    type Output = SimTime;
    fn mul(self, k: u64) -> SimTime {
        SimTime(self.0.saturating_mul(k))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn conversions_round_trip() {
        assert_eq!(SimTime::from_secs_f64(1.5), SimTime(1_500_000_000));
        assert_eq!(SimTime::from_secs_f64(-3.0), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(f64::NAN), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(1e30), SimTime::MAX);
        assert_eq!(SimTime::MINUTE * 2, SimTime::from_secs(120));
        assert_eq!(
            SimTime::from_secs(10) - SimTime::from_secs(20),
            SimTime::ZERO
        );
        assert_eq!(
            SimTime::from_secs(3_600).time_of_day_s(SimTime::HOUR * 23),
            0.0
        );
    }

    /// `round_u64` is `round` then `as u64`, bit for bit: on every bit
    /// pattern (NaN, infinities, negatives, huge values) and densely around
    /// the halves, where a `floor(x + 0.5)` shortcut would go wrong.
    #[test]
    fn round_u64_is_round() {
        let check = |x: f64| assert_eq!(round_u64(x), x.round() as u64, "{x:e}");
        for x in [
            0.0,
            -0.0,
            0.5,
            0.499_999_999_999_999_94,
            1.5,
            2.5,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.3e18,
            2e19,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -0.5,
            -7.7,
        ] {
            check(x);
        }
        for i in 0..200_000u64 {
            let half = i as f64 + 0.5;
            check(half);
            check(f64::from_bits(half.to_bits() - 1));
            check(f64::from_bits(half.to_bits() + 1));
        }
    }

    proptest::proptest! {
        #[test]
        fn round_u64_is_round_on_any_bits(bits in proptest::num::u64::ANY) {
            let x = f64::from_bits(bits);
            proptest::prop_assert_eq!(round_u64(x), x.round() as u64);
        }

        #[test]
        fn round_u64_is_round_on_times(x in 0.0f64..1e13) {
            proptest::prop_assert_eq!(round_u64(x), x.round() as u64);
        }
    }
}
