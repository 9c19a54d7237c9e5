//! Property tests for time arithmetic, parsing and clock conversion.

use proptest::prelude::*;
use treta_kernel::{Clock, SimTime};

proptest! {
    #[test]
    fn display_then_parse_is_identity(ps in any::<u64>()) {
        let t = SimTime::from_ps(ps);
        prop_assert_eq!(t.to_string().parse::<SimTime>(), Ok(t));
    }

    #[test]
    fn checked_add_sub_round_trip(a in any::<u64>(), b in any::<u64>()) {
        let (ta, tb) = (SimTime::from_ps(a), SimTime::from_ps(b));
        match ta.checked_add(tb) {
            Some(sum) => prop_assert_eq!(sum.checked_sub(tb), Some(ta)),
            None => prop_assert!(a.checked_add(b).is_none()),
        }
    }

    #[test]
    fn cycle_start_is_exact_floor(freq in 1u64..=5_000_000_000, n in 0u64..1_000_000_000_000) {
        let c = Clock::from_hz(freq).unwrap();
        let exact = (n as u128 * 1_000_000_000_000u128) / freq as u128;
        prop_assert_eq!(c.cycle_start(n).as_ps() as u128, exact);
    }

    #[test]
    fn cycle_at_inverts_cycle_start(freq in 1_000_000u64..=4_000_000_000, n in 0u64..10_000_000_000) {
        let c = Clock::from_hz(freq).unwrap();
        let start = c.cycle_start(n);
        prop_assert_eq!(c.cycle_at(start), n);
        // Just before the next cycle starts we are still in cycle n.
        let next = c.cycle_start(n + 1);
        prop_assert_eq!(c.cycle_at(next - SimTime::from_ps(1)), n);
        prop_assert!(c.next_edge(start + SimTime::from_ps(1)) == next || next == start + SimTime::from_ps(1));
    }

    #[test]
    fn cycle_at_is_monotonic(freq in 1_000_000u64..=4_000_000_000, a in any::<u32>(), b in any::<u32>()) {
        let c = Clock::from_hz(freq).unwrap();
        let (lo, hi) = (a.min(b) as u64, a.max(b) as u64);
        prop_assert!(c.cycle_at(SimTime::from_ps(lo)) <= c.cycle_at(SimTime::from_ps(hi)));
    }

    #[test]
    fn cycle_lengths_differ_by_at_most_one_ps(freq in 1_000_000u64..=4_000_000_000, n in 0u64..1_000_000_000) {
        // No drift: every cycle is floor(period) or ceil(period) long.
        let c = Clock::from_hz(freq).unwrap();
        let len = c.cycle_start(n + 1) - c.cycle_start(n);
        let floor = c.period_floor();
        prop_assert!(len == floor || len == floor + SimTime::from_ps(1));
    }
}
