//! A bandwidth counter track: bytes moved, sampled as GB/s once per window of
//! simulated time, for the trace's counter tracks (`bandwidth.dram`,
//! `bandwidth.sram.<buffer>`).

use std::cell::Cell;
use treta_kernel::timeline::TrackId;
use treta_kernel::{Ctx, SimTime};

/// Window over which bandwidth counters average.
const WINDOW: SimTime = SimTime::from_us(1);

/// Bytes per window on one counter track.
pub(crate) struct BandwidthCounter {
    track: TrackId,
    window_start: Cell<SimTime>,
    window_bytes: Cell<u64>,
}

impl BandwidthCounter {
    /// A counter on the track `bandwidth.<name>`.
    pub(crate) fn new(ctx: &Ctx, name: &str) -> BandwidthCounter {
        BandwidthCounter {
            track: ctx.timeline().track(&format!("bandwidth.{name}")),
            window_start: Cell::new(SimTime::ZERO),
            window_bytes: Cell::new(0),
        }
    }

    /// Adds `bytes` moved at `at`, emitting the finished window's GB/s once `at`
    /// passes it (a window with no traffic reads 0). Costs nothing when the
    /// timeline is off.
    pub(crate) fn add(&self, ctx: &Ctx, at: SimTime, bytes: u64) {
        let tl = ctx.timeline();
        if !tl.enabled() {
            return;
        }
        let start = self.window_start.get();
        if at >= start + WINDOW {
            let gbps = self.window_bytes.get() as f64 / WINDOW.as_secs_f64() / 1e9;
            tl.counter_at(self.track, "GB/s", start, gbps);
            let next = SimTime::from_ps(at.as_ps() / WINDOW.as_ps() * WINDOW.as_ps());
            if next > start + WINDOW {
                tl.counter_at(self.track, "GB/s", start + WINDOW, 0.0);
            }
            self.window_start.set(next);
            self.window_bytes.set(0);
        }
        self.window_bytes.set(self.window_bytes.get() + bytes);
    }
}
