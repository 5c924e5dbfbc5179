//! The rules that let `size` run fewer simulations without changing a
//! verdict: a candidate's replications stop once it misses a check whatever
//! the remaining ones give ([`certain_miss`]), and each resource's lower
//! bound is a binary search that tries its lower end first
//! ([`lower_bound`]) and, with `--growth`, the value the smaller user
//! counts extrapolate to ([`lower_bound_from`], [`guess_rung`]).

use super::{SloCheck, t95_one_sided};

/// The check `c`, judged on the replications run so far, misses its target
/// whatever values the `remaining` replications give (each may also give
/// none): early stopping that cannot change a verdict.
///
/// The check's bound on `N = k + m` values is `mean + t(N) s / sqrt(N)`
/// (one-sided 95% Student t; the mirror image for "at least"). With the `k`
/// known values (mean `mu`, sum of squared deviations `S`) fixed, it is a
/// convex function of the `m` unknown ones, symmetric in them, so its
/// minimum is where they are equal, at `y = mu + d`:
/// `f(d) = mu + a d + c sqrt(s0 + b d^2)` with `a = m / N`,
/// `b = k m / (N (N - 1))`, `s0 = S / (N - 1)`, `c = t(N) / sqrt(N)`.
/// When `c^2 b > a^2` its minimum is `mu + sqrt(s0 (c^2 - a^2 / b))`, never
/// below the known mean (so one known value over the target, of 3
/// replications, fails for certain); otherwise it is unbounded and nothing
/// is certain. The check misses for certain when, for every count `m` of
/// the remaining replications that give a value, that minimum misses the
/// target (a margin of 1e-9 of the target guards rounding).
pub fn certain_miss(c: &SloCheck, remaining: usize) -> bool {
    use crate::scenario::Bound;
    let k = c.n;
    let target = c.target;
    let margin = 1e-9 * target.abs().max(f64::MIN_POSITIVE);
    let misses = |v: f64| match c.bound {
        Bound::AtMost => v > target + margin,
        Bound::AtLeast => v < target - margin,
    };
    let (Some(mu), Some(b95)) = (c.mean, c.bound95) else {
        // No value yet: the others may give any.
        return remaining == 0;
    };
    // The known values' sum of squared deviations, from the bound the check
    // was judged on: h = t(k) sqrt(S / (k - 1) / k).
    let ss = match t95_one_sided(k) {
        Some(t) => {
            let h = (b95 - mu).abs() / t;
            h * h * k as f64 * (k - 1) as f64
        }
        None => 0.0,
    };
    (0..=remaining).all(|m| {
        if m == 0 {
            return misses(b95);
        }
        let n = k + m;
        let Some(t) = t95_one_sided(n) else {
            // One value in all, the unknown one: any.
            return false;
        };
        let (nf, kf, mf) = (n as f64, k as f64, m as f64);
        let c2 = t * t / nf;
        let a = mf / nf;
        let b = kf * mf / (nf * (nf - 1.0));
        let s0 = ss / (nf - 1.0);
        if c2 * b <= a * a * (1.0 + 1e-12) {
            return false;
        }
        let reach = (s0 * (c2 - a * a / b)).sqrt();
        match c.bound {
            Bound::AtMost => misses(mu + reach),
            Bound::AtLeast => misses(mu - reach),
        }
    })
}

/// The smallest rung in `lo..=hi` that is `feasible`, by binary search
/// (feasibility is taken to grow with the rung). `lo_first`: try `lo`
/// itself first (the answer when the lower end already meets every check,
/// as a policy floor often does); when it fails the binary search goes on
/// as without it.
pub fn lower_bound(
    mut lo: usize,
    mut hi: usize,
    lo_first: bool,
    mut feasible: impl FnMut(usize) -> bool,
) -> usize {
    if lo_first && lo < hi && feasible(lo) {
        return lo;
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if feasible(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The smallest rung in `lo..=hi` that is `feasible`, as [`lower_bound`]
/// finds it (feasibility is taken to grow with the rung, and `hi` is taken
/// as feasible without a probe), but probing around a `guess` first: the
/// lower end (`lo_first`), then `guess`, then outwards from it in steps
/// of 1, 2, 4, ... until the answer is bracketed, then by bisection.
///
/// A good guess (a growth point's answer extrapolated from the smaller
/// user counts) finds the answer in two probes beside it, where bisection
/// takes `log2(hi - lo)`; a wrong one costs about twice the probes of its
/// distance. Whatever the guess, the answer is the smallest feasible rung:
/// the same as [`lower_bound`]'s when feasibility is monotone in the rung.
pub fn lower_bound_from(
    lo: usize,
    hi: usize,
    lo_first: bool,
    guess: Option<usize>,
    mut feasible: impl FnMut(usize) -> bool,
) -> usize {
    // Rungs below `a` are known to fail; `b` is known (or taken) to pass.
    let (mut a, mut b) = (lo, hi.max(lo));
    if lo_first && a < b {
        if feasible(a) {
            return a;
        }
        a += 1;
    }
    if let Some(g) = guess.filter(|_| a < b) {
        // A guess at or above `b` passes, below `a` fails, without a probe.
        if g >= b || (g >= a && feasible(g)) {
            let g = g.min(b);
            b = g;
            // Downwards: g - 1, g - 2, g - 4, ... until one fails.
            let mut step = 1;
            while a < b {
                let x = g.saturating_sub(step).max(a);
                if feasible(x) {
                    b = x;
                } else {
                    a = x + 1;
                    break;
                }
                step *= 2;
            }
        } else {
            let g = g.max(a.saturating_sub(1));
            a = a.max(g + 1);
            // Upwards: g + 1, g + 2, g + 4, ... until one passes.
            let mut step = 1;
            while a < b {
                let x = (g + step).min(b - 1);
                if feasible(x) {
                    b = x;
                    break;
                }
                a = x + 1;
                step *= 2;
            }
        }
    }
    while a < b {
        let mid = (a + b) / 2;
        if feasible(mid) {
            b = mid;
        } else {
            a = mid + 1;
        }
    }
    a
}

/// The rung to guess first for a resource at `users`, from its answers at
/// smaller user counts `seen` (users, value; increasing users): the last
/// value scaled by the power law through the last two, `v (n / n1)^k` with
/// `k = ln(v1 / v0) / ln(n1 / n0)` kept in `0..=2` (one point: `k = 1`,
/// in proportion). The smallest rung of `ladder` at least that value;
/// `None` when a value is not positive (nothing to scale).
pub fn guess_rung(ladder: &[f64], seen: &[(u32, f64)], users: u32) -> Option<usize> {
    let &(n1, v1) = seen.last()?;
    if !(v1 > 0.0) || users <= n1 {
        return None;
    }
    let k = match seen.len().checked_sub(2).map(|i| seen[i]) {
        Some((n0, v0)) if v0 > 0.0 && n0 < n1 => {
            ((v1 / v0).ln() / (f64::from(n1) / f64::from(n0)).ln()).clamp(0.0, 2.0)
        }
        Some(_) => return None,
        None => 1.0,
    };
    let v = v1 * (f64::from(users) / f64::from(n1)).powf(k);
    // A rounding margin: 264.0000001 is rung 264.
    let i = ladder.iter().position(|&x| x >= v - 1e-6 * v.abs())?;
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(bound: crate::scenario::Bound, target: f64) -> crate::scenario::Slo {
        crate::scenario::Slo {
            name: "x".into(),
            metric: "x".into(),
            stat: "mean".into(),
            labels: Default::default(),
            bound,
            target,
        }
    }

    fn judged(bound: crate::scenario::Bound, target: f64, xs: &[f64]) -> SloCheck {
        super::super::judge(&slo(bound, target), Default::default(), String::new(), xs)
    }

    #[test]
    fn one_value_over_the_target_of_three_replications_fails_for_certain() {
        use crate::scenario::Bound;
        // f_min with one known value of 3 is the value itself.
        assert!(certain_miss(&judged(Bound::AtMost, 15.0, &[15.1]), 2));
        assert!(!certain_miss(&judged(Bound::AtMost, 15.0, &[15.0]), 2));
        assert!(!certain_miss(&judged(Bound::AtMost, 15.0, &[14.9]), 2));
        assert!(certain_miss(&judged(Bound::AtLeast, 0.5, &[0.49]), 2));
        assert!(!certain_miss(&judged(Bound::AtLeast, 0.5, &[0.51]), 2));
        // Of ten replications one value says nothing: the nine others can
        // pull the bound anywhere.
        assert!(!certain_miss(&judged(Bound::AtMost, 15.0, &[1e6]), 9));
        // Nothing left: the check's own verdict.
        assert!(certain_miss(&judged(Bound::AtMost, 15.0, &[14.0, 17.0]), 0));
        assert!(!certain_miss(
            &judged(Bound::AtMost, 15.0, &[14.0, 14.1]),
            0
        ));
        // No value at all yet: not certain while replications remain.
        assert!(!certain_miss(&judged(Bound::AtMost, 15.0, &[]), 2));
    }

    /// Whenever `certain_miss` says so, no completion of the replications
    /// meets the target: the remaining ones on a grid around the known
    /// values (all but one equal, the one free), or some giving no value.
    #[test]
    fn a_certain_miss_survives_every_completion() {
        use crate::scenario::Bound;
        let grid: Vec<f64> = (-20..=20).map(|i| f64::from(i) * 1.5).collect();
        let mut certain = 0;
        for n in 2..=5usize {
            for k in 1..n {
                for seed in 0..60u64 {
                    // Known values spread deterministically around 10.
                    let xs: Vec<f64> = (0..k)
                        .map(|j| {
                            let h = (seed * 31 + j as u64 * 17) % 97;
                            10.0 + (h as f64 - 48.0) / 8.0
                        })
                        .collect();
                    for &(bound, target) in &[(Bound::AtMost, 9.0), (Bound::AtLeast, 11.0)] {
                        let c = judged(bound, target, &xs);
                        if !certain_miss(&c, n - k) {
                            continue;
                        }
                        certain += 1;
                        let meets = |all: &[f64]| judged(bound, target, all).confident;
                        // Any m of the n - k remaining give a value: pairs
                        // of grid values (others equal) and equal values.
                        for m in 0..=(n - k) {
                            for &y in &grid {
                                for &z in &grid {
                                    let mut all = xs.clone();
                                    all.extend(std::iter::repeat_n(y, m.saturating_sub(1)));
                                    if m > 0 {
                                        all.push(z);
                                    }
                                    assert!(
                                        !meets(&all),
                                        "{xs:?} + {m} values ({y}, {z}) meet {target}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(certain > 30, "the cases must exercise the rule: {certain}");
    }

    /// Whatever the guess, the guided search finds the threshold bisection
    /// does; an exact guess (or one off by one) takes at most three probes
    /// beyond the lower end.
    #[test]
    fn a_guided_search_agrees_with_bisection_for_every_guess() {
        for (lo, hi) in [(0usize, 0usize), (0, 1), (0, 9), (3, 40), (5, 300)] {
            for threshold in lo..=hi {
                let plain = lower_bound(lo, hi, false, |r| r >= threshold);
                assert_eq!(plain, threshold);
                let guesses = (lo.saturating_sub(2)..=hi + 2).map(Some).chain([None]);
                for guess in guesses {
                    for lo_first in [false, true] {
                        let mut probes = Vec::new();
                        let got = lower_bound_from(lo, hi, lo_first, guess, |r| {
                            assert!((lo..=hi).contains(&r), "probe {r} outside {lo}..={hi}");
                            assert!(!probes.contains(&r), "probe {r} twice: {probes:?}");
                            probes.push(r);
                            r >= threshold
                        });
                        assert_eq!(got, threshold, "{lo}..={hi} guess {guess:?}: {probes:?}");
                        if guess.is_some_and(|g| g.abs_diff(threshold) <= 1) {
                            assert!(
                                probes.len() <= 3 + usize::from(lo_first),
                                "{lo}..={hi} guess {guess:?} threshold {threshold}: {probes:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn guesses_scale_the_last_answers_by_their_power_law() {
        let counts: Vec<f64> = (1..=480).map(f64::from).collect();
        // 71 at 1,000 users and 137 at 2,000: k = 0.948, 264.4 at 4,000.
        assert_eq!(
            guess_rung(&counts, &[(1000, 71.0), (2000, 137.0)], 4000).map(|i| counts[i]),
            Some(265.0)
        );
        // One point: in proportion.
        assert_eq!(
            guess_rung(&counts, &[(500, 38.0)], 1000).map(|i| counts[i]),
            Some(76.0)
        );
        // Flat (a policy floor): the same value again.
        assert_eq!(
            guess_rung(&counts, &[(500, 3.0), (1000, 3.0)], 2000).map(|i| counts[i]),
            Some(3.0)
        );
        // Shapes: the smallest rung of at least the value.
        let vcpu = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
        assert_eq!(
            guess_rung(&vcpu, &[(1000, 2.0), (2000, 4.0)], 3000),
            Some(3)
        );
        // Beyond the ladder, nothing scaled, or no more users: no guess.
        assert_eq!(guess_rung(&vcpu, &[(1000, 16.0), (2000, 32.0)], 4000), None);
        assert_eq!(guess_rung(&counts, &[(500, 0.0)], 1000), None);
        assert_eq!(guess_rung(&counts, &[(500, 38.0)], 500), None);
        assert_eq!(guess_rung(&counts, &[], 500), None);
    }

    #[test]
    fn lower_bound_tries_the_lower_end_first_and_agrees_with_bisection() {
        for threshold in 0..=9usize {
            let mut probes = Vec::new();
            let a = lower_bound(0, 9, false, |r| {
                probes.push(r);
                r >= threshold
            });
            let mut first = Vec::new();
            let b = lower_bound(0, 9, true, |r| {
                first.push(r);
                r >= threshold
            });
            assert_eq!((a, b), (threshold, threshold));
            assert_eq!(first[0], 0);
            if threshold == 0 {
                assert_eq!(first, [0], "one probe when the lower end passes");
            } else {
                // The bisection goes on as without the first probe.
                assert_eq!(&first[1..], &probes[..]);
            }
        }
    }
}
