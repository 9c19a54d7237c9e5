//! Clocks: exact conversion between cycles and [`SimTime`].
//!
//! A clock of frequency `f` Hz starts cycle `n` at `floor(n * 10^12 / f)` ps. Every
//! conversion is computed from `n` directly in 128-bit integers, never by adding a
//! rounded period `n` times, so a non-integer period (898 MHz = 1113.58... ps) never
//! drifts: cycle 10^9 starts exactly where the real clock would put it, to the ps.
//! A clock is pure arithmetic; it schedules nothing, so a model that counts cycles
//! costs no events. The fraction `10^12 / f` is kept reduced, so the common case
//! (a product that fits 64 bits: 898 MHz reduces to 500,000 / 449) divides in 64-bit
//! integers; 128 bits are the fallback, with the same result.

use crate::time::SimTime;
use std::fmt;

const PS_PER_S: u128 = 1_000_000_000_000;

/// A clock domain of a fixed frequency [Hz].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Clock {
    freq_hz: u64,
    /// `10^12 / gcd(10^12, f)`: picoseconds per `den` cycles.
    num: u64,
    /// `f / gcd(10^12, f)`.
    den: u64,
}

/// Why a frequency cannot make a [`Clock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockError {
    /// A frequency of 0 Hz has no cycles.
    ZeroFrequency,
    /// Above 1 THz a cycle is shorter than the 1 ps time resolution.
    AboveTimeResolution {
        /// The requested frequency [Hz].
        freq_hz: u64,
    },
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockError::ZeroFrequency => write!(f, "clock frequency must be above 0 Hz"),
            ClockError::AboveTimeResolution { freq_hz } => write!(
                f,
                "clock frequency {freq_hz} Hz is above 1 THz, finer than the 1 ps time resolution"
            ),
        }
    }
}

impl std::error::Error for ClockError {}

impl Clock {
    /// A clock of `freq_hz` Hz, from 1 Hz to 1 THz.
    pub fn from_hz(freq_hz: u64) -> Result<Clock, ClockError> {
        match freq_hz {
            0 => Err(ClockError::ZeroFrequency),
            f if u128::from(f) > PS_PER_S => Err(ClockError::AboveTimeResolution { freq_hz }),
            f => {
                let g = gcd(PS_PER_S as u64, f);
                Ok(Clock {
                    freq_hz: f,
                    num: PS_PER_S as u64 / g,
                    den: f / g,
                })
            }
        }
    }

    /// A clock of `mhz` MHz (see [`Clock::from_hz`]).
    pub fn from_mhz(mhz: u64) -> Result<Clock, ClockError> {
        mhz.checked_mul(1_000_000)
            .ok_or(ClockError::AboveTimeResolution { freq_hz: u64::MAX })
            .and_then(Clock::from_hz)
    }

    /// The frequency [Hz].
    pub fn freq_hz(&self) -> u64 {
        self.freq_hz
    }

    /// The nominal period, rounded down to whole picoseconds [ps]. For display only:
    /// conversions use the exact frequency.
    pub fn period_floor(&self) -> SimTime {
        SimTime::from_ps((PS_PER_S / u128::from(self.freq_hz)) as u64)
    }

    /// The time at which cycle `n` starts: `floor(n * 10^12 / f)` ps. Saturates at
    /// [`SimTime::MAX`] for cycles beyond the representable range.
    pub fn cycle_start(&self, n: u64) -> SimTime {
        if let Some(p) = n.checked_mul(self.num) {
            return SimTime::from_ps(p / self.den);
        }
        let ps = u128::from(n) * u128::from(self.num) / u128::from(self.den);
        SimTime::from_ps(u64::try_from(ps).unwrap_or(u64::MAX))
    }

    /// The cycle that contains time `t`: the largest `n` with `cycle_start(n) <= t`.
    pub fn cycle_at(&self, t: SimTime) -> u64 {
        // cycle_start(n) <= t  <=>  n * 10^12 / f < t + 1  <=>  n < (t + 1) * f / 10^12,
        // so n = ceil((t + 1) * f / 10^12) - 1, the fraction reduced by the gcd.
        if let Some(p) = t
            .as_ps()
            .checked_add(1)
            .and_then(|p| p.checked_mul(self.den))
        {
            return p.div_ceil(self.num) - 1;
        }
        let p = (u128::from(t.as_ps()) + 1) * u128::from(self.den);
        let n = p.div_ceil(u128::from(self.num)) - 1;
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    /// The start of the first cycle at or after `t` (the next rising edge, or `t` if a
    /// cycle starts exactly there).
    pub fn next_edge(&self, t: SimTime) -> SimTime {
        let n = self.cycle_at(t);
        let start = self.cycle_start(n);
        if start == t {
            start
        } else {
            self.cycle_start(n.saturating_add(1))
        }
    }

    /// The duration of `cycles` cycles counted from cycle 0 [ps]: `cycle_start(cycles)`.
    /// For a span that starts mid-stream use `cycle_start(a + n) - cycle_start(a)`, which
    /// may differ by 1 ps from this for non-integer periods.
    pub fn cycles(&self, cycles: u64) -> SimTime {
        self.cycle_start(cycles)
    }
}

/// Euclid's greatest common divisor (`b` > 0).
fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_period_is_exact() {
        let c = Clock::from_mhz(1000).unwrap();
        assert_eq!(c.cycle_start(7), SimTime::from_ns(7));
        assert_eq!(c.cycle_at(SimTime::from_ps(6999)), 6);
        assert_eq!(c.cycle_at(SimTime::from_ns(7)), 7);
        assert_eq!(c.next_edge(SimTime::from_ps(6001)), SimTime::from_ns(7));
        assert_eq!(c.next_edge(SimTime::from_ns(7)), SimTime::from_ns(7));
    }

    #[test]
    fn non_integer_period_does_not_drift() {
        let c = Clock::from_mhz(898).unwrap();
        // 10^9 cycles at 898 MHz = 10^21 / 898e6 ps = 1113585746102.449... ps.
        assert_eq!(c.cycle_start(1_000_000_000).as_ps(), 1_113_585_746_102);
        assert_eq!(c.period_floor().as_ps(), 1113);
    }

    /// The 64-bit fast path and the 128-bit fallback agree with the plain
    /// 128-bit formula, on both sides of where the product overflows 64 bits.
    #[test]
    fn reduced_fraction_matches_the_plain_formula() {
        for f in [1, 3, 7_000_000, 898_000_000, 999_999_937, 1_000_000_000_000] {
            let c = Clock::from_hz(f).unwrap();
            let edge = u64::MAX / c.num;
            for n in [
                0,
                1,
                12_345,
                edge - 1,
                edge,
                edge.saturating_add(1),
                u64::MAX / 2,
                u64::MAX,
            ] {
                let plain = u128::from(n) * PS_PER_S / u128::from(f);
                let want = u64::try_from(plain).unwrap_or(u64::MAX);
                assert_eq!(c.cycle_start(n).as_ps(), want, "f {f} n {n}");
            }
            let edge = u64::MAX / c.den;
            for t in [
                0,
                1,
                999,
                edge - 2,
                edge - 1,
                edge,
                edge.saturating_add(1),
                u64::MAX - 1,
            ] {
                let num = (u128::from(t) + 1) * u128::from(f);
                let want = u64::try_from(num.div_ceil(PS_PER_S) - 1).unwrap_or(u64::MAX);
                assert_eq!(c.cycle_at(SimTime::from_ps(t)), want, "f {f} t {t}");
            }
        }
    }

    #[test]
    fn rejects_impossible_frequencies() {
        assert_eq!(Clock::from_hz(0), Err(ClockError::ZeroFrequency));
        assert!(Clock::from_hz(2_000_000_000_000).is_err());
        assert!(Clock::from_mhz(u64::MAX).is_err());
    }
}
