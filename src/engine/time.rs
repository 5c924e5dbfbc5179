//! Simulated time: integer nanoseconds since the start of the run.
//!
//! One type serves for instants and for spans, like `std::time::Duration`.
//! Integers make event order exact and identical on every machine; a `u64`
//! of nanoseconds covers 584 years.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

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
            SimTime(ns.round() as u64)
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
}
