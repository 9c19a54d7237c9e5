//! Simulated time: [`SimTime`], an instant or a duration in picoseconds.
//!
//! SystemC's `sc_time` with its default 1 ps resolution, as a plain `u64`: 2^64 ps is
//! about 213 days of simulated time, far beyond any run of a training step. Arithmetic
//! through operators panics on overflow or underflow (like integer arithmetic in debug
//! builds, but in every build, because a wrapped time silently corrupts a schedule);
//! the `checked_*` and `saturating_*` methods never panic.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub, SubAssign};
use std::str::FromStr;

/// A point in simulated time or a duration [ps].
///
/// Instants and durations share one type, as in SystemC, because models constantly
/// move between the two (`now + delay`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

/// Picoseconds in one unit, from the smallest; used by [`SimTime`]'s constructors,
/// `Display` and `FromStr`.
const UNITS: [(&str, u64); 5] = [
    ("ps", 1),
    ("ns", 1_000),
    ("us", 1_000_000),
    ("ms", 1_000_000_000),
    ("s", 1_000_000_000_000),
];

impl SimTime {
    /// Time zero: the start of every simulation, and the empty duration.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time; used as "never" by schedulers.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// A time of `ps` picoseconds.
    #[inline]
    pub const fn from_ps(ps: u64) -> SimTime {
        SimTime(ps)
    }
    /// A time of `ns` nanoseconds. Panics if it does not fit in 64 bits of picoseconds.
    #[inline]
    pub const fn from_ns(ns: u64) -> SimTime {
        Self::scaled(ns, 1_000)
    }
    /// A time of `us` microseconds. Panics if it does not fit.
    pub const fn from_us(us: u64) -> SimTime {
        Self::scaled(us, 1_000_000)
    }
    /// A time of `ms` milliseconds. Panics if it does not fit.
    pub const fn from_ms(ms: u64) -> SimTime {
        Self::scaled(ms, 1_000_000_000)
    }
    /// A time of `s` seconds. Panics if it does not fit.
    pub const fn from_s(s: u64) -> SimTime {
        Self::scaled(s, 1_000_000_000_000)
    }

    const fn scaled(value: u64, ps_per_unit: u64) -> SimTime {
        match value.checked_mul(ps_per_unit) {
            Some(ps) => SimTime(ps),
            None => panic!("SimTime overflow: time does not fit in u64 picoseconds"),
        }
    }

    /// The time in picoseconds.
    #[inline]
    pub const fn as_ps(self) -> u64 {
        self.0
    }
    /// The time in nanoseconds, rounded down.
    #[inline]
    pub const fn as_ns(self) -> u64 {
        self.0 / 1_000
    }
    /// The time in seconds as a float (for reports; lossy above 2^53 ps).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-12
    }
    /// True for time zero.
    #[inline]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + rhs`, or `None` on overflow.
    #[inline]
    pub const fn checked_add(self, rhs: SimTime) -> Option<SimTime> {
        match self.0.checked_add(rhs.0) {
            Some(v) => Some(SimTime(v)),
            None => None,
        }
    }
    /// `self - rhs`, or `None` if `rhs > self`.
    #[inline]
    pub const fn checked_sub(self, rhs: SimTime) -> Option<SimTime> {
        match self.0.checked_sub(rhs.0) {
            Some(v) => Some(SimTime(v)),
            None => None,
        }
    }
    /// `self * n`, or `None` on overflow.
    pub const fn checked_mul(self, n: u64) -> Option<SimTime> {
        match self.0.checked_mul(n) {
            Some(v) => Some(SimTime(v)),
            None => None,
        }
    }
    /// `self + rhs`, clamped at [`SimTime::MAX`].
    pub const fn saturating_add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
    /// `self - rhs`, clamped at zero.
    pub const fn saturating_sub(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(rhs.0))
    }
}

impl Add for SimTime {
    type Output = SimTime;
    /// Panics on overflow (see the module doc for why).
    #[inline]
    fn add(self, rhs: SimTime) -> SimTime {
        match self.checked_add(rhs) {
            Some(t) => t,
            None => panic!("SimTime overflow: {self} + {rhs}"),
        }
    }
}
impl AddAssign for SimTime {
    #[inline]
    fn add_assign(&mut self, rhs: SimTime) {
        *self = *self + rhs;
    }
}
impl Sub for SimTime {
    type Output = SimTime;
    /// Panics when `rhs > self` (a negative time is always a scheduling bug).
    #[inline]
    fn sub(self, rhs: SimTime) -> SimTime {
        match self.checked_sub(rhs) {
            Some(t) => t,
            None => panic!("SimTime underflow: {self} - {rhs}"),
        }
    }
}
impl SubAssign for SimTime {
    fn sub_assign(&mut self, rhs: SimTime) {
        *self = *self - rhs;
    }
}
impl Mul<u64> for SimTime {
    type Output = SimTime;
    /// Panics on overflow.
    fn mul(self, n: u64) -> SimTime {
        match self.checked_mul(n) {
            Some(t) => t,
            None => panic!("SimTime overflow: {self} * {n}"),
        }
    }
}

impl fmt::Display for SimTime {
    /// Exact, in the largest unit that keeps an integer part: `0 s`, `10 ns`,
    /// `1.25 us`, `1.000001 us`. No rounding: every picosecond is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.pad("0 s");
        }
        let (name, scale) = UNITS
            .iter()
            .rev()
            .copied()
            .find(|&(_, scale)| self.0 >= scale)
            .unwrap_or(UNITS[0]);
        let whole = self.0 / scale;
        let frac = self.0 % scale;
        let text = if frac == 0 {
            format!("{whole} {name}")
        } else {
            let digits = scale.ilog10() as usize;
            let frac = format!("{frac:0digits$}");
            format!("{whole}.{} {name}", frac.trim_end_matches('0'))
        };
        f.pad(&text)
    }
}

/// Why a string is not a [`SimTime`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseTimeError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for ParseTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid time {:?}: {} (expected e.g. \"10 ns\", \"1.25us\"; units ps, ns, us, ms, s)",
            self.input, self.reason
        )
    }
}

impl std::error::Error for ParseTimeError {}

impl FromStr for SimTime {
    type Err = ParseTimeError;

    /// Parses `<decimal> <unit>` exactly (no float rounding): `"10 ns"`, `"1.25us"`,
    /// `"0 s"`. A value finer than 1 ps or beyond `u64` picoseconds is an error.
    fn from_str(s: &str) -> Result<SimTime, ParseTimeError> {
        let err = |reason| ParseTimeError {
            input: s.to_string(),
            reason,
        };
        let text = s.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| err("missing unit"))?;
        let (number, unit) = (&text[..split], text[split..].trim());
        let scale = UNITS
            .iter()
            .find(|&&(name, _)| name == unit)
            .map(|&(_, scale)| scale)
            .ok_or_else(|| err("unknown unit"))?;
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(err("missing number"));
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| err("bad number"))?
        };
        let digits = scale.ilog10() as usize;
        let frac_trimmed = frac.trim_end_matches('0');
        if frac_trimmed.len() > digits {
            return Err(err("finer than 1 ps"));
        }
        let frac_ps: u64 = if frac_trimmed.is_empty() {
            0
        } else {
            let v: u64 = frac_trimmed.parse().map_err(|_| err("bad number"))?;
            v * 10u64.pow((digits - frac_trimmed.len()) as u32)
        };
        whole
            .checked_mul(scale)
            .and_then(|ps| ps.checked_add(frac_ps))
            .map(SimTime)
            .ok_or_else(|| err("too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_picks_largest_unit_and_is_exact() {
        assert_eq!(SimTime::ZERO.to_string(), "0 s");
        assert_eq!(SimTime::from_ns(10).to_string(), "10 ns");
        assert_eq!(SimTime::from_ps(1_250_000).to_string(), "1.25 us");
        assert_eq!(SimTime::from_ps(1_000_001).to_string(), "1.000001 us");
        assert_eq!(SimTime::from_ps(999).to_string(), "999 ps");
        assert_eq!(SimTime::from_s(3).to_string(), "3 s");
    }

    #[test]
    fn parse_accepts_display_output_and_rejects_garbage() {
        assert_eq!("1.25 us".parse(), Ok(SimTime::from_ps(1_250_000)));
        assert_eq!("10ns".parse(), Ok(SimTime::from_ns(10)));
        assert_eq!(".5 ns".parse(), Ok(SimTime::from_ps(500)));
        assert!("1.0005 ns".parse::<SimTime>().is_err());
        assert!("10".parse::<SimTime>().is_err());
        assert!("10 parsecs".parse::<SimTime>().is_err());
        assert!("99999999999 s".parse::<SimTime>().is_err());
        assert!(" ns".parse::<SimTime>().is_err());
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(SimTime::MAX.checked_add(SimTime::from_ps(1)), None);
        assert_eq!(SimTime::ZERO.checked_sub(SimTime::from_ps(1)), None);
        assert_eq!(
            SimTime::from_ns(3) - SimTime::from_ns(1),
            SimTime::from_ns(2)
        );
    }

    #[test]
    #[should_panic(expected = "SimTime underflow")]
    fn operator_sub_panics_on_underflow() {
        let _ = SimTime::ZERO - SimTime::from_ps(1);
    }
}
