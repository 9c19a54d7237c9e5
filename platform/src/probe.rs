//! Activity probes: the SoC's cumulative counters read as the program runs, at
//! the command processor's descriptor completions, turned into energy over an
//! interval by the energy model. Two uses:
//!
//! - **phases** of a training step: each plan entry (`layer3.fwd.q_proj`) ends
//!   when its last descriptor completes (operations run one after another), so
//!   its time and energy are the counters' change since the previous one ended;
//! - the trace's **power** counter track: chip and DRAM power averaged over
//!   windows of at least [`POWER_WINDOW`].

use crate::energy::{self, Activity, EnergyReport};
use crate::preset::PlatformConfig;
use crate::soc::Soc;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use treta_abi::NumberFormat;
use treta_kernel::timeline::TrackId;
use treta_kernel::{Ctx, SimTime};

/// Shortest interval a power sample averages over.
pub const POWER_WINDOW: SimTime = SimTime::from_us(1);

/// The SoC's cumulative activity at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
struct Counters {
    at: SimTime,
    macs: Vec<(NumberFormat, u64)>,
    /// Per SRAM buffer, bytes read plus written.
    sram: Vec<u64>,
    dram_bytes: u64,
    activates: u64,
    refreshes: u64,
    sfu_cycles: u64,
    /// Records already summed into `macs` and `sfu_cycles`.
    gemm_seen: usize,
    sfu_seen: usize,
}

/// Reads counters from the SoC.
struct Reader {
    soc: SocRefs,
    config: PlatformConfig,
}

/// The parts of the SoC a probe reads.
#[derive(Clone)]
struct SocRefs {
    gemm: Rc<treta_models::GemmCore>,
    sfu: Rc<treta_models::Sfu>,
    sram: Rc<treta_models::Sram>,
    dram: Rc<treta_models::Dram>,
}

impl Reader {
    /// `prev` advanced to now: only the engine records added since are summed.
    fn read(&self, prev: &Counters, at: SimTime) -> Counters {
        let mut macs = prev.macs.clone();
        let gemm_seen = self.soc.gemm.with_records(|records| {
            for r in &records[prev.gemm_seen.min(records.len())..] {
                match macs.iter_mut().find(|(f, _)| *f == r.format) {
                    Some(m) => m.1 += r.useful_macs,
                    None => macs.push((r.format, r.useful_macs)),
                }
            }
            records.len()
        });
        let (sfu_cycles, sfu_seen) = self.soc.sfu.with_records(|records| {
            let new: u64 = records[prev.sfu_seen.min(records.len())..]
                .iter()
                .map(|r| r.cycles - r.stall_cycles)
                .sum();
            (prev.sfu_cycles + new, records.len())
        });
        let stats = self.soc.dram.stats();
        Counters {
            at,
            macs,
            sram: self
                .soc
                .sram
                .buffer_stats()
                .iter()
                .map(|b| b.read_bytes + b.write_bytes)
                .collect(),
            dram_bytes: self.soc.dram.read_bytes() + self.soc.dram.write_bytes(),
            activates: stats.misses + stats.conflicts,
            refreshes: stats.refreshes,
            sfu_cycles,
            gemm_seen,
            sfu_seen,
        }
    }

    /// The energy of what happened between `a` and `b`.
    fn energy(&self, a: &Counters, b: &Counters) -> EnergyReport {
        let c = &self.config;
        let activity = Activity {
            seconds: (b.at.saturating_sub(a.at)).as_ps() as f64 * 1e-12,
            macs: b
                .macs
                .iter()
                .map(|&(f, n)| {
                    let before = a.macs.iter().find(|m| m.0 == f).map_or(0, |m| m.1);
                    (f, n - before)
                })
                .collect(),
            sram_bytes: sram_bank_bytes(c)
                .into_iter()
                .zip(
                    b.sram
                        .iter()
                        .enumerate()
                        .map(|(i, b)| b - a.sram.get(i).copied().unwrap_or(0)),
                )
                .collect(),
            sram_capacity: c.sram.bytes,
            dram_bytes: b.dram_bytes - a.dram_bytes,
            dram_activates: b.activates - a.activates,
            dram_refreshes: b.refreshes - a.refreshes,
            bus_bytes: b.dram_bytes - a.dram_bytes,
            sfu_lane_cycles: vec![(
                "all".into(),
                (b.sfu_cycles - a.sfu_cycles) * u64::from(c.sfu.lanes),
            )],
        };
        energy::account(&c.energy, c.energy.dram(c.dram.kind), &activity)
    }
}

/// Useful MACs of every format counted in `c`.
fn total_macs(c: &Counters) -> u64 {
    c.macs.iter().map(|&(_, n)| n).sum()
}

/// The bank size of each SRAM buffer, in address order (what an SRAM byte's
/// energy depends on).
pub fn sram_bank_bytes(config: &PlatformConfig) -> Vec<u64> {
    config
        .sram
        .buffers
        .iter()
        .map(|b| b.bytes / u64::from(b.banks.max(1)))
        .collect()
}

/// One operation of a training step (or one GEMM of a `gemm_list`), timed and
/// costed (`phases[]` in the report).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PhaseReport {
    /// The plan entry (`layer3.fwd.q_proj`, `sgd.layer.attn.wq`, ...).
    pub op: String,
    /// Its engine (`gemm`, `sfu`, `dma`).
    pub engine: String,
    /// When the previous operation ended (the first: time 0) [ps].
    pub start_ps: u64,
    /// When its last descriptor completed [ps].
    pub end_ps: u64,
    /// `end_ps − start_ps`.
    pub time_ps: u64,
    /// DRAM bytes read and written in that interval: the traffic the
    /// operation achieved (its descriptor fetches included, 64 bytes each).
    pub dram_bytes: u64,
    /// GEMM operations (2 per useful MAC) in that interval: with `dram_bytes`
    /// and `time_ps`, the operation's place on the roofline.
    pub ops: u64,
    /// Chip and DRAM energy in that interval [pJ].
    pub energy_pj: f64,
    /// Chip energy only [pJ].
    pub chip_energy_pj: f64,
}

struct State {
    reader: Reader,
    /// Plan entry of each entry's last descriptor id.
    phase_end: HashMap<u32, usize>,
    ops: Vec<(String, String)>,
    phase_from: Counters,
    phases: Vec<PhaseReport>,
    power: Option<(Ctx, TrackId, Counters)>,
}

/// A probe wired to a SoC; [`Probe::phases`] after the run.
pub struct Probe {
    state: Rc<RefCell<State>>,
}

impl Probe {
    /// Watches `soc` as it runs a program whose operations end at `phases`
    /// (id of each one's last descriptor, name, engine; see
    /// `Program::phase_ends`) and, with tracing on, writes power samples on a
    /// `power` track.
    pub fn install(
        ctx: &Ctx,
        soc: &Soc,
        config: &PlatformConfig,
        phases: Vec<(u32, String, String)>,
    ) -> Probe {
        let phase_end = phases
            .iter()
            .enumerate()
            .map(|(i, (id, _, _))| (*id, i))
            .collect();
        let ops = phases
            .into_iter()
            .map(|(_, op, engine)| (op, engine))
            .collect();
        let power = ctx.timeline().enabled().then(|| {
            (
                ctx.clone(),
                ctx.timeline().track("power"),
                Counters::default(),
            )
        });
        let state = Rc::new(RefCell::new(State {
            reader: Reader {
                soc: SocRefs {
                    gemm: soc.gemm.clone(),
                    sfu: soc.sfu.clone(),
                    sram: soc.sram.clone(),
                    dram: soc.dram.clone(),
                },
                config: config.clone(),
            },
            phase_end,
            ops,
            phase_from: Counters::default(),
            phases: Vec::new(),
            power,
        }));
        let watched = state.clone();
        soc.cp.set_completion_hook(Box::new(move |id, at| {
            watched.borrow_mut().completed(id, at);
        }));
        Probe { state }
    }

    /// The phases seen, in order.
    pub fn phases(&self) -> Vec<PhaseReport> {
        self.state.borrow().phases.clone()
    }
}

impl State {
    fn completed(&mut self, id: u32, at: SimTime) {
        let phase = self.phase_end.get(&id).copied();
        let sample_power = self
            .power
            .as_ref()
            .is_some_and(|(_, _, from)| at.saturating_sub(from.at) >= POWER_WINDOW);
        if phase.is_none() && !sample_power {
            return;
        }
        let from = if sample_power {
            self.power.as_ref().map(|p| &p.2)
        } else {
            None
        };
        let base = from.unwrap_or(&self.phase_from);
        let now = self.reader.read(base, at);
        if let Some((ctx, track, last)) = &mut self.power {
            if sample_power {
                let e = self.reader.energy(last, &now);
                let dram = e.average_power_w - e.chip_power_w;
                ctx.timeline()
                    .counter_at(*track, "chip [W]", last.at, e.chip_power_w);
                ctx.timeline().counter_at(*track, "dram [W]", last.at, dram);
                *last = now.clone();
            }
        }
        if let Some(i) = phase {
            let e = self.reader.energy(&self.phase_from, &now);
            let (op, engine) = self.ops.get(i).cloned().unwrap_or_default();
            let start = self.phase_from.at.as_ps();
            self.phases.push(PhaseReport {
                op,
                engine,
                start_ps: start,
                end_ps: at.as_ps(),
                time_ps: at.as_ps() - start,
                dram_bytes: now.dram_bytes - self.phase_from.dram_bytes,
                ops: 2 * (total_macs(&now) - total_macs(&self.phase_from)),
                energy_pj: e.total_pj,
                chip_energy_pj: e.chip_pj,
            });
            self.phase_from = now;
        }
    }
}
